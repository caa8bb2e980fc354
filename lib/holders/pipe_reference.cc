#include "pipe_reference.hh"

#include <fcntl.h>
#include <sys/uio.h>

#include <cerrno>

#include "errors.hh"

namespace kvmt {

int PipeReference::take(void *addr, size_t len)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return errno;
	rd_.reset(p[0]);
	wr_.reset(p[1]);
	len_ = len;
	int err = 0;
	iovec iov = {addr, len};
	if (fcntl(wr_.get(), F_SETPIPE_SZ, (int)len) < (long)len)
		err = errno;
	else if (vmsplice(wr_.get(), &iov, 1, SPLICE_F_NONBLOCK) != (ssize_t)len)
		err = errno ? errno : EIO;
	if (err) {
		rd_.reset();
		wr_.reset();
	}
	return err;
}

std::vector<uint8_t> PipeReference::read_back()
{
	std::vector<uint8_t> buf(len_);
	size_t got = 0;
	while (got < len_) {
		ssize_t n = read(rd_.get(), buf.data() + got, len_ - got);
		if (n <= 0)
			sys_check(-1, "read(pipe reference)");
		got += n;
	}
	rd_.reset();
	wr_.reset();
	return buf;
}

}  // namespace kvmt
