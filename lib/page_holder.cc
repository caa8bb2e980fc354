#include "page_holder.hh"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#include "blocking_fuse.hh"
#include "declared_profile.hh"
#include "errors.hh"
#include "fd.hh"
#include "test.hh"

namespace kvmt {

const char *holder_name(HolderKind k)
{
	switch (k) {
	case HolderKind::IoUring:
		return "io_uring";
	case HolderKind::Vmsplice:
		return "vmsplice";
	case HolderKind::ODirect:
		return "o_direct";
	case HolderKind::GupTest:
		return "gup_test";
	}
	return "?";
}

namespace {

// The pipe keeps a reference on every page spliced into it until read.
class VmspliceHolder : public PageHolder {
public:
	VmspliceHolder(void *addr, size_t len) : len_(len)
	{
		int p[2];
		sys_check(pipe2(p, O_CLOEXEC), "pipe2");
		rd_.reset(p[0]);
		wr_.reset(p[1]);
		if (fcntl(wr_.get(), F_SETPIPE_SZ, (int)len) < (long)len)
			sys_check(-1, "F_SETPIPE_SZ");
		iovec iov = {addr, len};
		if (vmsplice(wr_.get(), &iov, 1, 0) != (ssize_t)len)
			sys_check(-1, "vmsplice");
	}
	HolderKind kind() const override { return HolderKind::Vmsplice; }
	std::vector<uint8_t> contents() override
	{
		std::vector<uint8_t> buf(len_);
		if (read(rd_.get(), buf.data(), len_) != (ssize_t)len_)
			sys_check(-1, "read(pipe)");
		return buf;  // reading drained the pipe: the reference is gone
	}
	void release() override
	{
		rd_.reset();
		wr_.reset();
	}

private:
	size_t len_;
	UniqueFd rd_, wr_;
};

// Long-term pin (FOLL_LONGTERM) through CONFIG_GUP_TEST's debugfs file.
struct PinLongtermTest {
	uint64_t addr;
	uint64_t size;
	uint32_t flags;
};
constexpr unsigned long kPinStart = _IOW('g', 7, PinLongtermTest);
constexpr unsigned long kPinStop = _IO('g', 8);
constexpr unsigned long kPinRead = _IOW('g', 9, uint64_t);
constexpr uint32_t kPinUseWrite = 1;
constexpr const char *kGupTestPath = "/sys/kernel/debug/gup_test";

class GupTestHolder : public PageHolder {
public:
	GupTestHolder(void *addr, size_t len) : len_(len)
	{
		int fd = open(kGupTestPath, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			skip(std::string("gup_test holder: ") + kGupTestPath + ": " + errno_name(errno) +
			     " (needs CONFIG_GUP_TEST and debugfs)");
		fd_.reset(fd);
		PinLongtermTest args = {reinterpret_cast<uint64_t>(addr), len, kPinUseWrite};
		sys_check(ioctl(fd_.get(), kPinStart, &args), "gup_test PIN_LONGTERM_TEST_START");
		pinned_ = true;
	}
	~GupTestHolder() override { release(); }
	HolderKind kind() const override { return HolderKind::GupTest; }
	std::vector<uint8_t> contents() override
	{
		std::vector<uint8_t> buf(len_);
		uint64_t user = reinterpret_cast<uint64_t>(buf.data());
		sys_check(ioctl(fd_.get(), kPinRead, &user), "gup_test PIN_LONGTERM_TEST_READ");
		return buf;
	}
	void release() override
	{
		if (pinned_)
			ioctl(fd_.get(), kPinStop);
		pinned_ = false;
		fd_.reset();
	}

private:
	size_t len_;
	UniqueFd fd_;
	bool pinned_ = false;
};

// An O_DIRECT read pins its destination pages until the I/O completes; the
// FUSE server holds the read until release().
class ODirectHolder : public PageHolder {
public:
	ODirectHolder(void *addr, size_t len) : len_(len)
	{
		int fd = open(fuse_.file_path().c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (fd < 0)
			sys_check(-1, "open(FUSE file, O_DIRECT)");
		file_.reset(fd);
		reader_ = std::thread([this, addr] {
			done_ = pread(file_.get(), addr, len_, 0);
			err_ = errno;
		});
		if (!fuse_.wait_for_read(5000)) {
			release();
			throw Error("O_DIRECT read never reached the FUSE server");
		}
	}
	~ODirectHolder() override { release(); }
	HolderKind kind() const override { return HolderKind::ODirect; }
	std::vector<uint8_t> contents() override
	{
		release();
		if (done_ != (ssize_t)len_)
			throw Error("O_DIRECT read: " + result_text(done_, err_));
		return std::vector<uint8_t>(len_, kODirectFill);
	}
	void release() override
	{
		fuse_.complete_read(kODirectFill);
		if (reader_.joinable())
			reader_.join();
	}

private:
	size_t len_;
	BlockingFuse fuse_;
	UniqueFd file_;
	std::thread reader_;
	ssize_t done_ = -1;
	int err_ = 0;
};

#ifdef HAVE_LIBURING
// Registered buffers stay pinned until unregistered (or the ring is closed).
class IoUringHolder : public PageHolder {
public:
	IoUringHolder(void *addr, size_t len) : addr_(addr), len_(len)
	{
		int r = io_uring_queue_init(4, &ring_, 0);
		if (r)
			skip("io_uring holder: io_uring_queue_init: " + errno_name(-r) +
			     (r == -ENOMEM ? " (RLIMIT_MEMLOCK too small for the ring)"
					   : " (io_uring disabled? see /proc/sys/kernel/io_uring_disabled)"));
		ring_ready_ = true;
		iovec iov = {addr, len};
		r = io_uring_register_buffers(&ring_, &iov, 1);
		if (r == -ENOMEM)
			skip("io_uring holder: io_uring_register_buffers: ENOMEM (RLIMIT_MEMLOCK too small)");
		if (r)
			throw Error("io_uring_register_buffers: " + errno_name(-r));
		registered_ = true;
	}
	~IoUringHolder() override
	{
		release();
		if (ring_ready_)
			io_uring_queue_exit(&ring_);
	}
	HolderKind kind() const override { return HolderKind::IoUring; }
	// Writes the registered buffer to a memfd with WRITE_FIXED and reads that back.
	std::vector<uint8_t> contents() override
	{
		UniqueFd out(sys_check(memfd_create("kvmt-holder", MFD_CLOEXEC), "memfd_create"));
		io_uring_sqe *sqe = io_uring_get_sqe(&ring_);
		io_uring_prep_write_fixed(sqe, out.get(), addr_, len_, 0, 0);
		io_uring_submit(&ring_);
		io_uring_cqe *cqe;
		int r = io_uring_wait_cqe(&ring_, &cqe);
		if (r)
			throw Error("io_uring_wait_cqe: " + errno_name(-r));
		int res = cqe->res;
		io_uring_cqe_seen(&ring_, cqe);
		if (res != (int)len_)
			throw Error("io_uring WRITE_FIXED: " + (res < 0 ? errno_name(-res) : std::to_string(res)));
		std::vector<uint8_t> buf(len_);
		if (pread(out.get(), buf.data(), len_, 0) != (ssize_t)len_)
			sys_check(-1, "pread(memfd)");
		return buf;
	}
	void release() override
	{
		if (registered_)
			io_uring_unregister_buffers(&ring_);
		registered_ = false;
	}

private:
	void *addr_;
	size_t len_;
	io_uring ring_;
	bool ring_ready_ = false;
	bool registered_ = false;
};
#endif

}  // namespace

static std::unique_ptr<PageHolder> take_holder(HolderKind kind, void *addr, size_t len)
{
	switch (kind) {
	case HolderKind::Vmsplice:
		return std::make_unique<VmspliceHolder>(addr, len);
	case HolderKind::GupTest:
		return std::make_unique<GupTestHolder>(addr, len);
	case HolderKind::ODirect:
		return std::make_unique<ODirectHolder>(addr, len);
	case HolderKind::IoUring:
#ifdef HAVE_LIBURING
		return std::make_unique<IoUringHolder>(addr, len);
#else
		skip("io_uring holder: built without liburing (install the target's liburing-dev)");
#endif
	}
	throw Error("unknown holder");
}

std::unique_ptr<PageHolder> PageHolder::take(HolderKind kind, void *addr, size_t len)
{
	try {
		return take_holder(kind, addr, len);
	} catch (const TestSkip &s) {
		feature_missing(Feature::Holder, holder_name(kind), s.reason);
	}
}

}  // namespace kvmt
