// Host-side formatting of guest failures.
#include "test.hh"
#include "test_vm.hh"

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
		  std::string("guest assertion 'seen == want' failed (values 0x10, 0x20, 0xabc)"));
}

KVMT_TEST(ucall_format, no_values)
{
	Ucall uc = {};
	uc.cmd = UCALL_ABORT;
	ASSERT_EQ(format_guest_failure(uc, "ok"), std::string("guest assertion 'ok' failed"));
}

KVMT_TEST(ucall_format, nargs_is_bounded)
{
	Ucall uc = {};
	uc.nargs = 99;
	std::string s = format_guest_failure(uc, "x");
	ASSERT_EQ(s, std::string("guest assertion 'x' failed (values 0x0, 0x0, 0x0, 0x0)"));
}

KVMT_TEST(ucall_format, block_fits_in_one_page)
{
	ASSERT_EQ(alignof(Ucall) % sizeof(Ucall) == 0 || sizeof(Ucall) <= alignof(Ucall), true);
	ASSERT_EQ(4096 % alignof(Ucall), 0u);
}
