// The physical frame behind a host virtual address, from /proc/self/pagemap
// (needs CAP_SYS_ADMIN; otherwise the kernel reports PFN 0).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kvmt {

// The PFN of the page mapped at addr, or nullopt when not present;
// skips the test when PFNs are hidden (not root).
std::optional<uint64_t> pfn_of(const void *addr);
// The same after a read of the page, so that a page whose host mapping a
// conversion zapped is mapped again (nothing else may have touched it).
std::optional<uint64_t> pfn_of_touched(const volatile uint8_t *page);

}  // namespace kvmt
