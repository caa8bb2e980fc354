#include "blocking_fuse.hh"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "errors.hh"
#include "test.hh"

namespace kvmt {
namespace {

// The FUSE wire protocol (include/uapi/linux/fuse.h), the part a one-file
// read-only filesystem needs.
enum Opcode : uint32_t {
	FUSE_LOOKUP = 1, FUSE_FORGET = 2, FUSE_GETATTR = 3, FUSE_OPEN = 14, FUSE_READ = 15,
	FUSE_RELEASE = 18, FUSE_FLUSH = 25, FUSE_INIT = 26, FUSE_INTERRUPT = 36,
	FUSE_DESTROY = 38, FUSE_BATCH_FORGET = 42,
};
struct InHeader {
	uint32_t len, opcode;
	uint64_t unique, nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen, padding;
};
struct OutHeader {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};
struct Attr {
	uint64_t ino, size, blocks, atime, mtime, ctime;
	uint32_t atimensec, mtimensec, ctimensec, mode, nlink, uid, gid, rdev, blksize, flags;
};
struct EntryOut {
	uint64_t nodeid, generation, entry_valid, attr_valid;
	uint32_t entry_valid_nsec, attr_valid_nsec;
	Attr attr;
};
struct AttrOut {
	uint64_t attr_valid;
	uint32_t attr_valid_nsec, dummy;
	Attr attr;
};
struct OpenOut {
	uint64_t fh;
	uint32_t open_flags, padding;
};
struct InitIn {
	uint32_t major, minor, max_readahead, flags;
};
struct InitOut {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write, time_gran;
	uint16_t max_pages, map_alignment;
	uint32_t flags2;
	uint32_t unused[7];
};
struct ReadIn {
	uint64_t fh, offset;
	uint32_t size;
};
static_assert(sizeof(InHeader) == 40 && sizeof(Attr) == 88 && sizeof(EntryOut) == 128 &&
		      sizeof(AttrOut) == 104 && sizeof(InitOut) == 64,
	      "FUSE wire layout");

constexpr uint64_t kRootId = 1, kFileId = 2;
constexpr uint64_t kFileSize = 1 << 20;
constexpr size_t kBufferSize = (1 << 20) + 4096;

Attr attr_of(uint64_t node)
{
	Attr a = {};
	a.ino = node;
	a.nlink = node == kRootId ? 2 : 1;
	a.mode = node == kRootId ? (S_IFDIR | 0755) : (S_IFREG | 0644);
	a.size = node == kRootId ? 0 : kFileSize;
	a.blksize = 4096;
	return a;
}

}  // namespace

BlockingFuse::BlockingFuse()
{
	if (unshare(CLONE_NEWNS) || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr))
		skip("O_DIRECT holder: a private mount namespace needs CAP_SYS_ADMIN (" +
		     errno_name(errno) + ")");
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		skip("O_DIRECT holder: /dev/fuse: " + errno_name(errno) + " (needs CONFIG_FUSE_FS)");
	dev_.reset(fd);
	char tmpl[] = "/tmp/kvmt-fuse-XXXXXX";
	if (!mkdtemp(tmpl))
		sys_check(-1, "mkdtemp");
	dir_ = tmpl;
	std::string opts = "fd=" + std::to_string(fd) + ",rootmode=40000,user_id=0,group_id=0";
	if (mount("kvmt-fuse", dir_.c_str(), "fuse", MS_NOSUID | MS_NODEV, opts.c_str())) {
		int err = errno;
		rmdir(dir_.c_str());
		skip("O_DIRECT holder: mount(fuse): " + errno_name(err));
	}
	server_ = std::thread([this] { serve(); });
}

BlockingFuse::~BlockingFuse()
{
	umount2(dir_.c_str(), MNT_DETACH);
	dev_.reset();  // aborts the connection: the server's read fails and it returns
	if (server_.joinable())
		server_.join();
	rmdir(dir_.c_str());
}

void BlockingFuse::reply(uint64_t unique, int error, const void *data, size_t len)
{
	OutHeader h = {static_cast<uint32_t>(sizeof(h) + len), -error, unique};
	iovec iov[2] = {{&h, sizeof(h)}, {const_cast<void *>(data), len}};
	writev(dev_.get(), iov, len ? 2 : 1);
}

void BlockingFuse::handle(const uint8_t *req, size_t len)
{
	InHeader h;
	memcpy(&h, req, sizeof(h));
	const uint8_t *arg = req + sizeof(h);
	switch (h.opcode) {
	case FUSE_INIT: {
		InitIn in;
		memcpy(&in, arg, sizeof(in));
		InitOut out = {};
		out.major = 7;
		out.minor = 31;
		out.max_readahead = in.max_readahead;
		out.max_write = 128 * 1024;
		out.time_gran = 1;
		reply(h.unique, 0, &out, sizeof(out));
		break;
	}
	case FUSE_LOOKUP: {
		if (len < sizeof(h) + 2 || strcmp(reinterpret_cast<const char *>(arg), "f")) {
			reply(h.unique, ENOENT, nullptr, 0);
			break;
		}
		EntryOut out = {};
		out.nodeid = kFileId;
		out.attr = attr_of(kFileId);
		reply(h.unique, 0, &out, sizeof(out));
		break;
	}
	case FUSE_GETATTR: {
		AttrOut out = {};
		out.attr = attr_of(h.nodeid);
		reply(h.unique, 0, &out, sizeof(out));
		break;
	}
	case FUSE_OPEN: {
		OpenOut out = {};
		reply(h.unique, 0, &out, sizeof(out));
		break;
	}
	case FUSE_READ: {
		ReadIn in;
		memcpy(&in, arg, sizeof(in));
		std::lock_guard<std::mutex> g(lock_);
		read_pending_ = true;
		read_unique_ = h.unique;
		read_size_ = in.size;
		cond_.notify_all();
		break;  // answered by complete_read()
	}
	case FUSE_RELEASE:
	case FUSE_FLUSH:
		reply(h.unique, 0, nullptr, 0);
		break;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		break;  // no reply expected
	default:
		reply(h.unique, ENOSYS, nullptr, 0);
	}
}

void BlockingFuse::serve()
{
	std::vector<uint8_t> buf(kBufferSize);
	for (;;) {
		ssize_t n = read(dev_.get(), buf.data(), buf.size());
		if (n < 0 && errno == EINTR)
			continue;
		if (n < (ssize_t)sizeof(InHeader))
			return;  // unmounted or aborted
		handle(buf.data(), n);
	}
}

bool BlockingFuse::wait_for_read(int timeout_ms)
{
	std::unique_lock<std::mutex> g(lock_);
	return cond_.wait_for(g, std::chrono::milliseconds(timeout_ms), [this] { return read_pending_; });
}

void BlockingFuse::complete_read(uint8_t fill)
{
	std::lock_guard<std::mutex> g(lock_);
	if (!read_pending_)
		return;
	std::vector<uint8_t> data(read_size_, fill);
	reply(read_unique_, 0, data.data(), data.size());
	read_pending_ = false;
}

}  // namespace kvmt
