// The peer process as the test sees it when the peer dies.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <string>

#include "errors.hh"
#include "fd.hh"
#include "peer.hh"
#include "test.hh"

using namespace kvmt;

namespace {

std::string call_error(Peer &peer)
{
	try {
		peer.check_zero(0, 0);
	} catch (const Error &e) {
		return e.what();
	}
	return "no error";
}

}  // namespace

// A peer found dead when the request is sent (EPIPE) reads as one found dead
// when the reply is awaited: which of the two happens is a race in the tests.
KVMT_TEST(peer, dead_before_the_request_reads_as_a_dead_peer)
{
	UniqueFd fd(memfd_create("peer_unit", MFD_CLOEXEC));
	ASSERT_TRUE(fd);
	Peer peer(Peer::Kind::ForkedChild, fd.get());
	ASSERT_EQ(peer.check_zero(0, 0).err, 0);
	ASSERT_EQ(kill(peer.pid(), SIGKILL), 0);
	siginfo_t info = {};
	ASSERT_EQ(waitid(P_PID, peer.pid(), &info, WEXITED | WNOWAIT), 0);
	EXPECT_EQ(call_error(peer), std::string("peer process died (request 2)"));
	EXPECT_EQ(peer.finish(), 128 + SIGKILL);
}
