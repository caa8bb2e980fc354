// The host's page size: the unit of guest_memfd offsets, sizes, conversions
// and hole punching (4 KiB on x86; 4, 16 or 64 KiB on arm64 hosts). Guest
// page tables use the architecture's kGuestPageSize instead.
#pragma once

#include <cstdint>

namespace kvmt {

uint64_t page_size();

}  // namespace kvmt
