#include "guest_bench.hh"

#include "guest.hh"
#include "processor.hh"

namespace bench {

GuestTouchPlan guest_touch_plan;

static void touch_chunk(uint64_t base, uint64_t bytes)
{
	volatile uint8_t *p = reinterpret_cast<volatile uint8_t *>(base);
	for (uint64_t off = 0; off < bytes; off += kvmt::kGuestPageSize)
		p[off] = 1;
}

void guest_touch_chunks(uint64_t, uint64_t)
{
	for (;;) {
		uint64_t base = guest_touch_plan.base;
		for (uint64_t c = 0; c < guest_touch_plan.chunks; c++) {
			touch_chunk(base, guest_touch_plan.chunk_bytes);
			base += guest_touch_plan.chunk_bytes;
			GUEST_SYNC(c);
		}
	}
}

}  // namespace bench
