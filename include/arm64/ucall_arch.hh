// arm64 ucall transport: the guest stores the Ucall's address with one 64-bit
// write to an MMIO page, which has no memslot, so KVM exits with
// KVM_EXIT_MMIO. The page is identity-mapped (GVA = GPA) as device memory.
//
// Its guest-physical address is the last page below 64 GiB: far above the
// system memslot at 0 and the test memory from 1 GiB (kTestGpaBase) up,
// inside the default 40-bit IPA space of KVM_CREATE_VM type 0, and still
// reachable by stage 1 on CPUs whose PARange is only 36 bits.
#pragma once

#include <stdint.h>

#include "processor.hh"

// A macro as well, for the exception vectors' assembly.
#define KVMT_UCALL_MMIO_GPA 0xffffff000

namespace kvmt {

constexpr uint64_t kUcallMmioGpa = KVMT_UCALL_MMIO_GPA;
constexpr uint64_t kUcallMmioSize = kGuestPageSize;  // one page of the guest's tables
// A write of the vector offset here reports an unexpected guest exception;
// the host reads ESR_EL1, FAR_EL1 and ELR_EL1 to describe it.
constexpr uint64_t kExceptionDoorbellGpa = kUcallMmioGpa + 8;

}  // namespace kvmt
