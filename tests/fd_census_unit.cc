// The per-test fd-leak check: what counts as left open.
#include <unistd.h>

#include "fd.hh"
#include "fd_census.hh"
#include "test.hh"

using namespace kvmt;

// An fd that is new, or reused for another target, is reported; one the
// library declared process-wide is not.
KVMT_TEST(fd_census, new_and_reused_fds_are_reported_lasting_ones_not)
{
	allow_lasting_fd("lasting:[census-test]");
	FdSet before = {{3, "pipe:[1]"}, {4, "pipe:[2]"}};
	FdSet after = {{3, "pipe:[1]"}, {4, "socket:[9]"}, {5, "lasting:[census-test]"},
		       {6, "anon_inode:kvm-vm"}};
	EXPECT_EQ(new_fds(before, after), std::string("fd 4 -> socket:[9], fd 6 -> anon_inode:kvm-vm"));
	EXPECT_EQ(new_fds(before, before), std::string(""));
}

// What the leak check sees in a real process: an fd opened and kept.
KVMT_TEST(fd_census, an_open_fd_is_seen)
{
	FdSet before = open_fds();
	UniqueFd fd(dup(0));
	ASSERT_GE(fd.get(), 0);
	std::string leaked = new_fds(before, open_fds());
	EXPECT_NE(leaked.find("fd " + std::to_string(fd.get()) + " -> "), std::string::npos) << leaked;
}
