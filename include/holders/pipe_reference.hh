// A reference on a user page held by a pipe: vmsplice() takes a reference
// on the pages it splices, which the pipe keeps until it is read or closed.
// The raw form of the vmsplice holder (page_holder.hh), for tests that
// predict the errno (EFAULT on memory that would SIGBUS).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fd.hh"

namespace kvmt {

class PipeReference {
public:
	// 0, or the errno of pipe2/F_SETPIPE_SZ/vmsplice (the reference is then not held).
	int take(void *addr, size_t len);
	// What the reference sees; reading drains the pipe, dropping the reference.
	std::vector<uint8_t> read_back();

private:
	UniqueFd rd_, wr_;
	size_t len_ = 0;
};

}  // namespace kvmt
