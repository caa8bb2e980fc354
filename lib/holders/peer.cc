#include "peer.hh"

#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "errors.hh"
#include "page_size.hh"
#include "pattern.hh"
#include "test.hh"

namespace kvmt {
namespace {

constexpr const char *kPeerEnv = "KVMT_PEER_SOCKET";

enum Op : uint32_t { OP_MAP, OP_CHECK, OP_CHECK_ZERO, OP_FILL, OP_PROBE, OP_CLOSE_FD, OP_EXIT };

struct Request {
	uint32_t op;
	uint64_t offset, len, arg;
};

// False when the peer is gone: whether its death shows on this send or on
// the next receive is a race, and both must read the same to the test.
bool send_all(int sock, const void *buf, size_t len)
{
	ssize_t n = send(sock, buf, len, MSG_NOSIGNAL);
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
		return false;
	sys_check(n, "peer: send");
	if (n != (ssize_t)len)
		throw Error("peer: short send");
	return true;
}

bool recv_all(int sock, void *buf, size_t len)
{
	ssize_t n = recv(sock, buf, len, MSG_WAITALL);
	return n == (ssize_t)len;
}

void send_fd(int sock, int fd)
{
	char byte = 0;
	iovec iov = {&byte, 1};
	alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
	msghdr msg = {};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof(control);
	cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	sys_check(sendmsg(sock, &msg, MSG_NOSIGNAL), "sendmsg(SCM_RIGHTS)");
}

int recv_fd(int sock)
{
	char byte;
	iovec iov = {&byte, 1};
	alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
	msghdr msg = {};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = sizeof(control);
	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

// The peer's side: one mapping, requests until OP_EXIT or a closed socket.
struct PeerServer {
	int gmem_fd;
	uint8_t *map = nullptr;
	uint64_t map_len = 0;

	PeerReply handle(const Request &rq)
	{
		PeerReply r = {};
		switch (rq.op) {
		case OP_MAP: {
			void *p = mmap(nullptr, rq.len, PROT_READ | PROT_WRITE, MAP_SHARED, gmem_fd, 0);
			if (p == MAP_FAILED) {
				r.err = errno;
			} else {
				map = static_cast<uint8_t *>(p);
				map_len = rq.len;
			}
			break;
		}
		case OP_CHECK:
		case OP_CHECK_ZERO:
		case OP_FILL:
			each_page(rq, r);
			break;
		case OP_PROBE:
			for (uint64_t off = rq.offset; off < rq.offset + rq.len; off += page_size())
				note_sigbus(r, off, probe(map + off, static_cast<Access>(rq.arg)).sigbus);
			break;
		case OP_CLOSE_FD:
			if (close(gmem_fd))
				r.err = errno;
			gmem_fd = -1;
			break;
		}
		return r;
	}

	static void note_sigbus(PeerReply &r, uint64_t off, bool sigbus)
	{
		if (sigbus && !r.sigbus_pages++ && !r.mismatches)
			r.first_bad = off;
	}

	void each_page(const Request &rq, PeerReply &r)
	{
		for (uint64_t page = rq.offset; page < rq.offset + rq.len; page += page_size()) {
			ProbeResult pr = probe(map + page, Access::Read);
			note_sigbus(r, page, pr.sigbus);
			if (pr.sigbus)
				continue;
			for (uint64_t off = page; off < page + page_size(); off++) {
				if (rq.op == OP_FILL) {
					map[off] = pattern_byte(rq.arg, off);
					continue;
				}
				uint8_t want = rq.op == OP_CHECK ? pattern_byte(rq.arg, off) : 0;
				if (map[off] != want && !r.mismatches++) {
					if (!r.sigbus_pages)
						r.first_bad = off;
					r.expected = want;
					r.seen = map[off];
				}
			}
		}
	}

	[[noreturn]] void serve(int sock)
	{
		Request rq;
		while (recv_all(sock, &rq, sizeof(rq)) && rq.op != OP_EXIT) {
			PeerReply r = handle(rq);
			if (send(sock, &r, sizeof(r), MSG_NOSIGNAL) != sizeof(r))
				_exit(1);
		}
		_exit(0);
	}
};

}  // namespace

[[maybe_unused]] static const bool kServesPeers = register_startup(serve_peer_if_requested);

void serve_peer_if_requested()
{
	const char *env = getenv(kPeerEnv);
	if (!env)
		return;
	int sock = atoi(env);
	int fd = recv_fd(sock);
	if (fd < 0)
		_exit(2);
	PeerServer{fd}.serve(sock);
}

const char *Peer::kind_name(Kind k)
{
	return k == Kind::ForkedChild ? "forked child" : "unrelated process (SCM_RIGHTS)";
}

Peer::Peer(Kind kind, int gmem_fd)
{
	int sv[2];
	sys_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
	sock_.reset(sv[0]);
	fflush(nullptr);
	pid_ = sys_check(fork(), "fork");
	if (pid_ == 0) {
		// Without the test's end of the socket, the peer sees EOF and exits
		// when the test process dies (killed by a timeout, say).
		sock_.reset();
		if (kind == Kind::ForkedChild)
			PeerServer{gmem_fd}.serve(sv[1]);
		// A fresh process image: nothing of the parent's memory or fds but the socket.
		int sock = dup(sv[1]);  // without CLOEXEC
		std::string value = std::to_string(sock);
		setenv(kPeerEnv, value.c_str(), 1);
		close_range(3, sock - 1, 0);
		close_range(sock + 1, ~0U, 0);
		execl("/proc/self/exe", "kvmt-peer", (char *)nullptr);
		_exit(127);
	}
	close(sv[1]);
	if (kind == Kind::Unrelated)
		send_fd(sock_.get(), gmem_fd);
}

PeerReply Peer::call(uint32_t op, uint64_t offset, uint64_t len, uint64_t arg)
{
	Request rq = {op, offset, len, arg};
	PeerReply r;
	if (!send_all(sock_.get(), &rq, sizeof(rq)) || !recv_all(sock_.get(), &r, sizeof(r)))
		throw Error("peer process died (request " + std::to_string(op) + ")");
	return r;
}

PeerReply Peer::map(uint64_t len) { return call(OP_MAP, 0, len, 0); }
PeerReply Peer::check(uint64_t offset, uint64_t len, uint64_t seed) { return call(OP_CHECK, offset, len, seed); }
PeerReply Peer::check_zero(uint64_t offset, uint64_t len) { return call(OP_CHECK_ZERO, offset, len, 0); }

PeerReply Peer::check_content(uint64_t offset, uint64_t len, const PageContent &c)
{
	switch (c.kind) {
	case PageContent::Pattern:
		return check(offset, len, c.seed);
	case PageContent::Zero:
		return check_zero(offset, len);
	case PageContent::Any:
		break;
	}
	return probe(offset, len, Access::Read);
}

PeerReply Peer::fill(uint64_t offset, uint64_t len, uint64_t seed) { return call(OP_FILL, offset, len, seed); }
PeerReply Peer::probe(uint64_t offset, uint64_t len, Access access)
{
	return call(OP_PROBE, offset, len, static_cast<uint64_t>(access));
}
PeerReply Peer::close_fd() { return call(OP_CLOSE_FD, 0, 0, 0); }

int Peer::finish()
{
	if (pid_ < 0)
		return 0;
	Request rq = {OP_EXIT, 0, 0, 0};
	send(sock_.get(), &rq, sizeof(rq), MSG_NOSIGNAL);
	sock_.reset();
	int status = 0;
	waitpid(pid_, &status, 0);
	pid_ = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Peer::~Peer()
{
	if (pid_ > 0) {
		kill(pid_, SIGKILL);
		waitpid(pid_, nullptr, 0);
	}
}

}  // namespace kvmt
