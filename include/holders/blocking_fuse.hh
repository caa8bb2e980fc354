// A one-file FUSE filesystem whose reads wait until the test lets them finish.
// An O_DIRECT read from that file into a page keeps the page referenced for as
// long as the read is in flight.
//
// The server is a child process, not a thread of the test: a process blocked
// in a FUSE request that its own thread should answer cannot be killed (the
// request waits uninterruptibly once the server has taken it, and the server
// thread's /dev/fuse fd lives as long as the blocked thread). The child dies
// with the thread that created it (PR_SET_PDEATHSIG, SIGKILL); its exit
// closes /dev/fuse, which aborts the connection and fails every request in
// flight. It mounts the filesystem in a mount namespace of its own, so the
// mount exists only while the child does; the test reaches the file through
// /proc/<child>/root. Requests and answers between the two go over a
// socketpair.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fd.hh"

namespace kvmt {

class BlockingFuse {
public:
	// Skips the test when FUSE or mounting is unavailable. Create it in the
	// thread that outlives it (the test's): the server dies with that thread.
	BlockingFuse();
	~BlockingFuse();
	BlockingFuse(const BlockingFuse &) = delete;
	BlockingFuse &operator=(const BlockingFuse &) = delete;

	// The file (1 MiB, read-write, its writes are discarded), as this process reaches it.
	std::string file_path() const;
	pid_t server_pid() const { return pid_; }

	// Blocks until a READ request has arrived and returns its size, or nullopt
	// after timeout_ms. From then on the server leaves further requests queued
	// in the kernel, unread, until the read is completed: anything else done on
	// the filesystem meanwhile waits (killably: the server has not taken it).
	std::optional<uint32_t> wait_for_read(int timeout_ms);
	// Whether another request has been queued behind the held read (within
	// timeout_ms). A queued O_DIRECT request already references its pages.
	bool wait_for_queued_request(int timeout_ms);
	// Answers the held read with its full length of fill; later reads are held again.
	void complete_read(uint8_t fill);
	struct Write {
		uint64_t offset;
		std::vector<uint8_t> data;
	};
	// complete_read(fill), then takes the request queued behind the read,
	// which must be a WRITE: the kernel copies its data from the writer's
	// pages only now, so data is what those pages hold after the read landed.
	// Throws Error when no request was queued or it was not a WRITE.
	Write complete_read_and_take_write(uint8_t fill);
	// Kills the server: every request in flight fails (ENOTCONN or ECONNABORTED).
	void abort();

	struct Message;  // the server's reports on the socket (lib/holders/blocking_fuse.cc)

private:
	Message receive(int timeout_ms, const char *waiting_for);
	void send_command(uint32_t op, uint8_t fill);
	[[noreturn]] void server_died(const char *waiting_for);

	UniqueFd sock_;
	pid_t pid_ = -1;
	bool queued_ = false;
};

}  // namespace kvmt
