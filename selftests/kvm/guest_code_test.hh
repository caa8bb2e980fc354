// Guest functions of guest_code_test.
#pragma once

#include <stdint.h>

namespace kvmt {
// GUEST_SYNC(first + i, (first + i) * 3, ~(first + i)) for i < count.
void guest_sync_stages(uint64_t first, uint64_t count);
// Adds by to the guest's copy of guest_counter and syncs its value.
extern uint64_t guest_counter;
void guest_bump_counter(uint64_t by, uint64_t);
}  // namespace kvmt
