// The vocabulary of a conversion benchmark: direction, content mode and
// the state of the pages before the conversion (spec sections 2-4).
#pragma once

#include <cstdint>
#include <vector>

namespace bench {

enum class Direction { ToPrivate, ToShared };
enum class Mode { Unspecified, Zero, Preserve };
// Pages of the range before the conversion: none allocated; allocated
// (fallocate) but not in any host page table; allocated and written through
// the host mapping (to-private only: private pages cannot be host-mapped).
enum class Population { Unallocated, Allocated, Mapped };

const char *direction_name(Direction d);  // "to_private"
const char *mode_name(Mode m);            // "unspecified"
const char *population_name(Population p);  // "allocated"

Direction opposite(Direction d);
uint64_t target_attributes(Direction d);  // KVM_MEMORY_ATTRIBUTE_PRIVATE or 0
uint64_t mode_flags(Mode m);              // the flags field of the request

// Modes that exist for a direction: ZERO only towards shared (the spec makes
// shared -> private with ZERO EOPNOTSUPP on every VM type).
const std::vector<Mode> &modes_for(Direction d);
const std::vector<Population> &populations_for(Direction d);

}  // namespace bench
