// A one-file FUSE filesystem served by a thread of this process, whose reads
// wait until the test lets them finish. An O_DIRECT read from that file into
// a page keeps the page pinned for as long as the read is in flight. Mounted
// in a private mount namespace, so the mount ends with the process.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "fd.hh"

namespace kvmt {

class BlockingFuse {
public:
	// Skips the test when FUSE or mounting is unavailable.
	BlockingFuse();
	~BlockingFuse();
	BlockingFuse(const BlockingFuse &) = delete;
	BlockingFuse &operator=(const BlockingFuse &) = delete;

	std::string file_path() const { return dir_ + "/f"; }
	// Blocks until a READ request has arrived (true) or timeout_ms passed.
	bool wait_for_read(int timeout_ms);
	// Answers the pending read with len bytes of fill.
	void complete_read(uint8_t fill);

private:
	void serve();
	void reply(uint64_t unique, int error, const void *data, size_t len);
	void handle(const uint8_t *req, size_t len);

	UniqueFd dev_;
	std::string dir_;
	std::thread server_;
	std::mutex lock_;
	std::condition_variable cond_;
	bool read_pending_ = false;
	uint64_t read_unique_ = 0;
	uint32_t read_size_ = 0;
};

}  // namespace kvmt
