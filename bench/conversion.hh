// The vocabulary of a conversion benchmark: direction, content mode and
// the state of the pages before the conversion (spec sections 2-4).
#pragma once

#include <cstdint>
#include <vector>

#include "conversion_contract.hh"

namespace bench {

// Direction and content mode are the contract's (include/conversion_contract.hh).
using Direction = kvmt::Direction;
using Mode = kvmt::ContentMode;
using kvmt::direction_name;  // "to_private"
using kvmt::mode_name;       // "unspecified"

// Pages of the range before the conversion: none allocated; allocated
// (fallocate) but not in any host page table; allocated and written through
// the host mapping (to-private only: private pages cannot be host-mapped).
enum class Population { Unallocated, Allocated, Mapped };

const char *population_name(Population p);  // "allocated"

Direction opposite(Direction d);
uint64_t target_attributes(Direction d);  // KVM_MEMORY_ATTRIBUTE_PRIVATE or 0

// Modes that exist for a direction: ZERO only towards shared (the spec makes
// shared -> private with ZERO EOPNOTSUPP on every VM type).
const std::vector<Mode> &modes_for(Direction d);
const std::vector<Population> &populations_for(Direction d);

}  // namespace bench
