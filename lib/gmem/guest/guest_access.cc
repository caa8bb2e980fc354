#include "guest_access.hh"

#include "guest.hh"
#include "pattern.hh"
#include "processor.hh"

namespace kvmt {

GuestAccessPlan guest_access_plans[kMaxGuestPlans];

// Page by page: zero_mask counts host pages, as guest_memfd does.
static void check_plan(const GuestAccessPlan &p)
{
	const volatile uint8_t *mem = reinterpret_cast<const volatile uint8_t *>(p.gva);
	uint64_t page_size = host_page_size_for_guest;
	for (uint64_t start = 0, page = 0; start < p.len; start += page_size, page++) {
		bool zero_page = p.expect == kExpectZero || (page < 64 && ((p.zero_mask >> page) & 1));
		uint64_t end = p.len - start < page_size ? p.len : start + page_size;
		for (uint64_t i = start; i < end; i++) {
			uint8_t want = zero_page ? 0 : pattern_byte(p.expect_seed, p.file_offset + i);
			uint8_t seen = mem[i];
			GUEST_ASSERT_EQ(seen, want, "file offset 0x%lx", p.file_offset + i);
		}
	}
}

void guest_access_rounds(uint64_t plan_index, uint64_t)
{
	for (;;) {
		const GuestAccessPlan &p = guest_access_plans[plan_index];
		if (p.expect != kExpectNothing)
			check_plan(p);
		if (p.write_seed) {
			volatile uint8_t *mem = reinterpret_cast<volatile uint8_t *>(p.gva);
			for (uint64_t i = 0; i < p.len; i++)
				mem[i] = pattern_byte(p.write_seed, p.file_offset + i);
		}
		GUEST_SYNC(plan_index);
	}
}

}  // namespace kvmt
