#include "page_holder.hh"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#include "blocking_fuse.hh"
#include "declared_profile.hh"
#include "errors.hh"
#include "fd.hh"
#include "mapping.hh"
#include "page_size.hh"
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

static std::set<std::string> holder_names()
{
	std::set<std::string> names;
	for (HolderKind k : kHolderKinds)
		names.insert(holder_name(k));
	return names;
}
[[maybe_unused]] static const bool kNamesDeclared =
	register_declared_names(Feature::Holder, holder_names);

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

// An O_DIRECT read pins its destination pages until the FUSE server answers
// it, which it does only in contents() or release().
//
// contents() reports what the read really wrote into the pages it pinned.
// The caller's mapping cannot tell: after a punch it shows the file's new
// page, not the pinned one the read completes into. Neither can a second,
// private anonymous page in the same read: it shows that the read completed
// and wrote where its iovec said, but nothing about the held page. So the
// constructor queues a second O_DIRECT request behind the read, a WRITE from
// the same pages to the same file, before it returns (before any punch): it
// references the very pages the read pinned. FUSE copies a write's data out
// of its pages only when the server takes the request, and the server takes
// it after answering the read: the data is what is in the pinned pages once
// the read landed. Had the read landed anywhere else (in the file's new page,
// say, or in no page at all), the data is what the pages held before (the
// caller's bytes, not the fill); a read that did not complete in full throws.
// Both references are O_DIRECT requests in flight, so what refuses a
// conversion is still O_DIRECT alone: a reference of another kind (a
// vmsplice of the page, say) would observe the page as well, but would
// refuse the conversion by itself, and the o_direct rows would pass with no
// O_DIRECT reference at all.
constexpr size_t kODirectMaxHeld = 128 * 1024;  // one FUSE request (32 pages, max_write)
constexpr uint64_t kODirectObserveOffset = 512 * 1024;  // where the observing WRITE goes

// Runs one O_DIRECT transfer in a thread of its own, which takes no signals
// (a signal would queue a FUSE INTERRUPT behind the held read).
class DirectIo {
public:
	template <typename Fn>
	void start(Fn fn)
	{
		thread_ = std::thread([this, fn] {
			sigset_t all;
			sigfillset(&all);
			pthread_sigmask(SIG_BLOCK, &all, nullptr);
			done_ = fn();
			err_ = errno;
		});
	}
	bool started() const { return thread_.joinable(); }
	void join()
	{
		if (thread_.joinable())
			thread_.join();
	}
	std::string result() const { return result_text(done_, err_); }
	bool complete(size_t len) const { return done_ == (ssize_t)len; }

private:
	std::thread thread_;
	ssize_t done_ = -1;
	int err_ = 0;
};

class ODirectHolder : public PageHolder {
public:
	ODirectHolder(void *addr, size_t len) : addr_(addr), len_(len)
	{
		if (len == 0 || len > kODirectMaxHeld)
			throw Error("O_DIRECT holder: " + std::to_string(len) + " bytes; it holds 1.." +
				    std::to_string(kODirectMaxHeld) + " (one FUSE request)");
		int fd = open(fuse_.file_path().c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
		if (fd < 0)
			sys_check(-1, "open(FUSE file, O_DIRECT)");
		file_.reset(fd);
		try {
			start();
		} catch (...) {
			finish();
			throw;
		}
	}
	~ODirectHolder() override { finish(); }
	HolderKind kind() const override { return HolderKind::ODirect; }
	std::vector<uint8_t> contents() override
	{
		finish();
		if (!problem_.empty())
			throw Error("O_DIRECT holder: " + problem_);
		if (!read_.complete(len_))
			throw Error("O_DIRECT read: " + read_.result());
		if (!write_.complete(len_))
			throw Error("O_DIRECT write observing the held pages: " + write_.result());
		if (observed_.offset != kODirectObserveOffset || observed_.data.size() != len_)
			throw Error("O_DIRECT holder: the observing WRITE reached the server as " +
				    std::to_string(observed_.data.size()) + " bytes at " +
				    std::to_string(observed_.offset) + ", not " + std::to_string(len_) +
				    " at " + std::to_string(kODirectObserveOffset));
		return observed_.data;
	}
	void release() override { finish(); }

private:
	void start()
	{
		// A first write from a page of our own lets the kernel send whatever
		// else a write asks the server first (GETXATTR for file_remove_privs,
		// say), so that the request queued behind the held read is the WRITE.
		Mapping scratch = Mapping::anonymous(page_size());
		memset(scratch.data(), 0, page_size());
		if (pwrite(file_.get(), scratch.data(), page_size(), kODirectObserveOffset) !=
		    (ssize_t)page_size())
			sys_check(-1, "pwrite(FUSE file, O_DIRECT)");
		int fd = file_.get();
		read_.start([fd, this] { return pread(fd, addr_, len_, 0); });
		std::optional<uint32_t> size = fuse_.wait_for_read(5000);
		if (!size)
			throw Error("O_DIRECT read never reached the FUSE server");
		read_held_ = true;
		if (*size != len_)
			throw Error("O_DIRECT read reached the FUSE server as " + std::to_string(*size) +
				    " bytes, not " + std::to_string(len_));
		write_.start([fd, this] { return pwrite(fd, addr_, len_, kODirectObserveOffset); });
		if (!fuse_.wait_for_queued_request(5000))
			throw Error("the O_DIRECT write observing the held pages never reached the FUSE server");
		write_queued_ = true;
	}

	// Lets the read land (and takes the observing write); never throws. When
	// the protocol fails, killing the server fails every request in flight,
	// so the threads always end.
	void finish() noexcept
	{
		if (finished_)
			return;
		finished_ = true;
		try {
			if (write_queued_)
				observed_ = fuse_.complete_read_and_take_write(kODirectFill);
			else if (read_held_)
				fuse_.complete_read(kODirectFill);
			else if (read_.started())
				fuse_.abort();
		} catch (const std::exception &e) {
			problem_ = e.what();
			fuse_.abort();
		}
		read_.join();
		write_.join();
	}

	void *addr_;
	size_t len_;
	BlockingFuse fuse_;  // outlives the file and the transfers
	UniqueFd file_;
	DirectIo read_, write_;
	bool read_held_ = false, write_queued_ = false, finished_ = false;
	BlockingFuse::Write observed_ = {};
	std::string problem_;
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
