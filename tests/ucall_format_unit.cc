// Host-side formatting of guest failures.
#include "test.hh"
#include "processor.hh"
#include "guest_vm.hh"

using namespace kvmt;

KVMT_TEST(ucall_format, values_are_listed_in_order)
{
	Ucall uc = {};
	uc.cmd = UCALL_ABORT;
	uc.nargs = 3;
	uc.args[0] = 0x10;
	uc.args[1] = 0x20;
	uc.args[2] = 0xabc;
	ASSERT_EQ(format_guest_failure(uc, "seen == want"),
		  std::string("guest: 'seen == want' failed (values 16 (0x10), 32 (0x20), 2748 (0xabc))"));
}

KVMT_TEST(ucall_format, no_values)
{
	Ucall uc = {};
	uc.cmd = UCALL_ABORT;
	ASSERT_EQ(format_guest_failure(uc, "ok"), std::string("guest: 'ok' failed"));
}

KVMT_TEST(ucall_format, nargs_is_bounded)
{
	Ucall uc = {};
	uc.nargs = 99;
	std::string s = format_guest_failure(uc, "x");
	ASSERT_EQ(s, std::string("guest: 'x' failed (values 0, 0, 0, 0)"));
}

// GUEST_ASSERT_EQ(seen, want, "offset 0x%lx", off): both sides, then the context.
KVMT_TEST(ucall_format, context_format_follows_the_values)
{
	Ucall uc = {};
	uc.cmd = UCALL_ABORT;
	uc.fmt = "file offset 0x%lx, page %lu";
	uc.nargs = 4;
	uc.args[0] = 0;
	uc.args[1] = 0x5b;
	uc.args[2] = 0x3007;
	uc.args[3] = 3;
	ASSERT_EQ(format_guest_failure(uc, "seen == want"),
		  std::string("guest: 'seen == want' failed: 0 vs 91 (0x5b); file offset 0x3007, page 3"));
}

KVMT_TEST(ucall_format, block_fits_in_one_page)
{
	ASSERT_EQ(alignof(Ucall) % sizeof(Ucall) == 0 || sizeof(Ucall) <= alignof(Ucall), true);
	ASSERT_EQ(kGuestPageSize % alignof(Ucall), 0u);
}
