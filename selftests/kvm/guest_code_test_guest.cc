#include "guest.hh"
#include "guest_code_test.hh"

namespace kvmt {

void guest_sync_stages(uint64_t first, uint64_t count)
{
	for (uint64_t i = 0; i < count; i++)
		GUEST_SYNC(first + i, (first + i) * 3, ~(first + i));
}

uint64_t guest_counter = 7;

void guest_bump_counter(uint64_t by, uint64_t)
{
	guest_counter += by;
	GUEST_SYNC(0, guest_counter);
}

}  // namespace kvmt
