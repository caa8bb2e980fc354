// The first guest instruction: call the test's guest function, then report
// completion, so a guest function may simply return.
#include "guest.hh"
#include "processor.hh"

uint64_t kvmt::host_page_size_for_guest;

extern "C" void kvmt_guest_start(kvmt::GuestFn fn, uint64_t arg0, uint64_t arg1)
{
	fn(arg0, arg1);
	for (;;)
		GUEST_DONE();
}
