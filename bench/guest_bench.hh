// Shared by guest_bench.cc and guest_bench_guest.cc (built with guest flags):
// in the guest first-touch benchmark, the guest writes one byte to every page
// of chunk 0, reports with GUEST_SYNC, then chunk 1, ..., and starts over
// after the last chunk.
#pragma once

#include <stdint.h>

namespace bench {

struct GuestTouchPlan {
	uint64_t base;  // guest virtual address of chunk 0
	uint64_t chunk_bytes;
	uint64_t chunks;
};

extern GuestTouchPlan guest_touch_plan;

// Guest function; never returns.
void guest_touch_chunks(uint64_t, uint64_t);

}  // namespace bench
