#include "blocking_fuse.hh"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "errors.hh"
#include "test.hh"

namespace kvmt {
namespace {

// The FUSE wire protocol (include/uapi/linux/fuse.h), the part a one-file
// filesystem needs.
enum Opcode : uint32_t {
	FUSE_LOOKUP = 1, FUSE_FORGET = 2, FUSE_GETATTR = 3, FUSE_OPEN = 14, FUSE_READ = 15,
	FUSE_WRITE = 16, FUSE_RELEASE = 18, FUSE_GETXATTR = 22, FUSE_FLUSH = 25, FUSE_INIT = 26,
	FUSE_INTERRUPT = 36, FUSE_DESTROY = 38, FUSE_BATCH_FORGET = 42,
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
struct WriteIn {
	uint64_t fh, offset;
	uint32_t size, write_flags;
	uint64_t lock_owner;
	uint32_t flags, padding;
};
struct WriteOut {
	uint32_t size, padding;
};
static_assert(sizeof(InHeader) == 40 && sizeof(Attr) == 88 && sizeof(EntryOut) == 128 &&
		      sizeof(AttrOut) == 104 && sizeof(InitOut) == 64 && sizeof(WriteIn) == 40,
	      "FUSE wire layout");

constexpr uint64_t kRootId = 1, kFileId = 2;
constexpr uint64_t kFileSize = 1 << 20;
// A request as the kernel hands it over: up to 1 MiB of data (max_write is
// 128 KiB) behind its headers, which this room holds.
constexpr size_t kRequestHeaderRoom = 4096;
constexpr size_t kBufferSize = (1 << 20) + kRequestHeaderRoom;
// st_blksize of the file: the I/O size the server suggests, not a page size.
constexpr uint32_t kFileBlockSize = 4096;
// Where the child mounts the filesystem, in its own mount namespace: over a
// directory that exists everywhere, so nothing is created (or left behind)
// in the filesystem the test shares with the rest of the machine.
constexpr const char *kMountDir = "/tmp";

// Between the test and the server child, over a stream socketpair.
enum Command : uint32_t { CMD_COMPLETE = 1, CMD_COMPLETE_TAKE_WRITE = 2 };
struct CommandMsg {
	uint32_t op;
	uint32_t fill;
};
enum Report : uint32_t {
	MSG_READY = 1,      // mounted
	MSG_SETUP_FAILED,   // value = stage, err = errno
	MSG_READ_HELD,      // size, offset of the held READ
	MSG_QUEUED,         // a request is queued behind the held read
	MSG_COMPLETED,      // the held read is answered
	MSG_WRITTEN,        // ... and the WRITE behind it taken: offset, size, then size bytes
	MSG_NOT_WRITE,      // ... and the request behind it was opcode `value`, not a WRITE
	MSG_NOT_HELD,       // a command came while no read was held
	MSG_TIMEOUT,        // (the test's side only) nothing within the timeout
};
enum SetupStage : uint32_t { STAGE_NAMESPACE = 1, STAGE_DEVICE, STAGE_MOUNT };

}  // namespace

struct BlockingFuse::Message {
	uint32_t type;
	int32_t err;
	uint32_t value;
	uint32_t size;
	uint64_t offset;
};

namespace {

// Whole messages both ways; false when the peer is gone.
bool send_full(int sock, const iovec *iov, int n)
{
	msghdr msg = {};
	msg.msg_iov = const_cast<iovec *>(iov);
	msg.msg_iovlen = n;
	size_t want = 0;
	for (int i = 0; i < n; i++)
		want += iov[i].iov_len;
	ssize_t r;
	do
		r = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)want;  // a stream socketpair sends all of it or fails
}

bool recv_full(int sock, void *buf, size_t len)
{
	auto *p = static_cast<uint8_t *>(buf);
	while (len) {
		ssize_t r = recv(sock, p, len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		len -= r;
	}
	return true;
}

Attr attr_of(uint64_t node)
{
	Attr a = {};
	a.ino = node;
	a.nlink = node == kRootId ? 2 : 1;
	a.mode = node == kRootId ? (S_IFDIR | 0755) : (S_IFREG | 0644);
	a.size = node == kRootId ? 0 : kFileSize;
	a.blksize = kFileBlockSize;
	a.uid = geteuid();
	a.gid = getegid();
	return a;
}

// The child. It allocates nothing after fork (the test process may have had
// other threads holding allocator locks): its buffers are mapped here.
class Server {
public:
	Server(int sock) : sock_(sock) {}

	[[noreturn]] void run(pid_t parent)
	{
		// Dies with the test's thread that forked it; if that one is
		// already gone, nothing would ever kill this process.
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		close_range(3, sock_ - 1, 0);
		close_range(sock_ + 1, ~0U, 0);
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, nullptr);
		req_ = map_buffer();
		data_ = map_buffer();
		if (unshare(CLONE_NEWNS) || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr))
			setup_failed(STAGE_NAMESPACE);
		dev_ = open("/dev/fuse", O_RDWR | O_CLOEXEC);
		if (dev_ < 0)
			setup_failed(STAGE_DEVICE);
		char opts[128];
		snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=%u,group_id=%u", dev_,
			 (unsigned)geteuid(), (unsigned)getegid());
		char source[32];  // names the server: "kvmt-fuse.<pid>" in its mountinfo
		snprintf(source, sizeof(source), "kvmt-fuse.%d", (int)getpid());
		if (mount(source, kMountDir, "fuse", MS_NOSUID | MS_NODEV, opts))
			setup_failed(STAGE_MOUNT);
		report(MSG_READY);
		serve();
	}

private:
	static uint8_t *map_buffer()
	{
		void *p = mmap(nullptr, kBufferSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(1);
		return static_cast<uint8_t *>(p);
	}

	void report(uint32_t type, int err = 0, uint32_t value = 0, uint32_t size = 0, uint64_t offset = 0,
		    const void *data = nullptr)
	{
		BlockingFuse::Message m = {type, err, value, size, offset};
		iovec iov[2] = {{&m, sizeof(m)}, {const_cast<void *>(data), data ? size : 0}};
		if (!send_full(sock_, iov, data ? 2 : 1))
			_exit(0);  // the test is gone
	}

	[[noreturn]] void setup_failed(uint32_t stage)
	{
		report(MSG_SETUP_FAILED, errno, stage);
		_exit(0);
	}

	void reply(uint64_t unique, int error, const void *data, size_t len)
	{
		OutHeader h = {static_cast<uint32_t>(sizeof(h) + len), -error, unique};
		iovec iov[2] = {{&h, sizeof(h)}, {const_cast<void *>(data), len}};
		writev(dev_, iov, len ? 2 : 1);
	}

	// One request from /dev/fuse into req_: its length, or 0 when the
	// connection is gone (unmounted or aborted).
	size_t next_request()
	{
		for (;;) {
			ssize_t n = read(dev_, req_, kBufferSize);
			if (n < 0 && errno == EINTR)
				continue;
			return n < (ssize_t)sizeof(InHeader) ? 0 : n;
		}
	}

	void handle(size_t len)
	{
		InHeader h;
		memcpy(&h, req_, sizeof(h));
		const uint8_t *arg = req_ + sizeof(h);
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
			held_ = true;
			read_unique_ = h.unique;
			read_size_ = in.size < kBufferSize ? in.size : kBufferSize;
			queued_ = false;
			report(MSG_READ_HELD, 0, 0, in.size, in.offset);
			break;  // answered on CMD_COMPLETE*
		}
		case FUSE_WRITE: {
			WriteIn in;
			memcpy(&in, arg, sizeof(in));
			WriteOut out = {in.size, 0};
			reply(h.unique, 0, &out, sizeof(out));  // discarded
			break;
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

	void complete(const CommandMsg &c)
	{
		if (!held_) {
			report(MSG_NOT_HELD);
			return;
		}
		memset(data_, c.fill, read_size_);
		reply(read_unique_, 0, data_, read_size_);
		held_ = false;
		if (c.op != CMD_COMPLETE_TAKE_WRITE) {
			report(MSG_COMPLETED);
			return;
		}
		// Taking the request is what makes the kernel copy a WRITE's data
		// from the writer's pages: after the reply above has landed.
		for (;;) {
			size_t n = next_request();
			if (!n)
				_exit(0);
			InHeader h;
			memcpy(&h, req_, sizeof(h));
			if (h.opcode == FUSE_FORGET || h.opcode == FUSE_BATCH_FORGET)
				continue;
			WriteIn in;
			if (h.opcode != FUSE_WRITE || n < sizeof(h) + sizeof(in)) {
				report(MSG_NOT_WRITE, 0, h.opcode);
				handle(n);
				return;
			}
			memcpy(&in, req_ + sizeof(h), sizeof(in));
			uint32_t size = in.size;
			if (size > n - sizeof(h) - sizeof(in))
				size = n - sizeof(h) - sizeof(in);
			report(MSG_WRITTEN, 0, 0, size, in.offset, req_ + sizeof(h) + sizeof(in));
			WriteOut out = {in.size, 0};
			reply(h.unique, 0, &out, sizeof(out));
			return;
		}
	}

	// Serves requests until a READ comes; holds it, reads nothing more from
	// /dev/fuse (a queued request is only reported) until the test completes it.
	[[noreturn]] void serve()
	{
		for (;;) {
			pollfd p[2] = {{sock_, POLLIN, 0}, {dev_, 0, 0}};
			if (!held_ || !queued_)
				p[1].events = POLLIN;
			if (poll(p, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				_exit(1);
			}
			if (p[0].revents) {
				CommandMsg c;
				if (!recv_full(sock_, &c, sizeof(c)))
					_exit(0);  // the test closed its end: unmount by exiting
				complete(c);
				continue;
			}
			if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL))
				_exit(0);  // connection aborted
			if (!(p[1].revents & POLLIN))
				continue;
			if (held_) {
				queued_ = true;
				report(MSG_QUEUED);
				continue;
			}
			size_t n = next_request();
			if (!n)
				_exit(0);
			handle(n);
		}
	}

	int sock_;
	int dev_ = -1;
	uint8_t *req_ = nullptr;
	uint8_t *data_ = nullptr;
	bool held_ = false;
	bool queued_ = false;
	uint64_t read_unique_ = 0;
	uint32_t read_size_ = 0;
};

// Waits up to grace_ms for the child to exit, then kills it; its wait status.
int reap(pid_t pid, int grace_ms)
{
	int status = 0;
	for (int waited = 0;; waited += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return status;
		if (waited >= grace_ms)
			break;
		timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, nullptr);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	return status;
}

std::string status_text(int status)
{
	if (WIFSIGNALED(status))
		return std::string("killed by signal ") + std::to_string(WTERMSIG(status));
	return "exit status " + std::to_string(WEXITSTATUS(status));
}

const char *opcode_name(uint32_t op)
{
	switch (op) {
	case FUSE_LOOKUP:
		return "LOOKUP";
	case FUSE_GETATTR:
		return "GETATTR";
	case FUSE_OPEN:
		return "OPEN";
	case FUSE_READ:
		return "READ";
	case FUSE_RELEASE:
		return "RELEASE";
	case FUSE_GETXATTR:
		return "GETXATTR";
	case FUSE_FLUSH:
		return "FLUSH";
	case FUSE_INTERRUPT:
		return "INTERRUPT";
	}
	return nullptr;
}

}  // namespace

BlockingFuse::BlockingFuse()
{
	int sv[2];
	sys_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
	sock_.reset(sv[0]);
	pid_t parent = getpid();
	fflush(nullptr);
	pid_ = fork();
	if (pid_ < 0) {
		int err = errno;
		close(sv[1]);
		throw Error("fork: " + errno_name(err));
	}
	if (pid_ == 0) {
		sock_.release();  // closed by close_range below, not by a destructor
		Server(sv[1]).run(parent);
	}
	close(sv[1]);
	Message m;
	try {
		m = receive(10000, "the FUSE server to mount");
	} catch (...) {
		abort();
		throw;
	}
	if (m.type == MSG_READY)
		return;
	abort();
	if (m.type == MSG_TIMEOUT)
		throw Error("FUSE server did not mount within 10 s");
	if (m.type != MSG_SETUP_FAILED)
		throw Error("FUSE server: report " + std::to_string(m.type) + " instead of mounting");
	std::string err = errno_name(m.err);
	switch (m.value) {
	case STAGE_NAMESPACE:
		skip("O_DIRECT holder: a private mount namespace needs CAP_SYS_ADMIN (" + err + ")");
	case STAGE_DEVICE:
		skip("O_DIRECT holder: /dev/fuse: " + err + " (needs CONFIG_FUSE_FS)");
	default:
		skip("O_DIRECT holder: mount(fuse): " + err);
	}
}

BlockingFuse::~BlockingFuse()
{
	// Its mount namespace, and the mount in it, go with the server. Killed
	// rather than asked: a process forked by the test meanwhile may hold a
	// copy of our end of the socket, so closing ours need not end its loop.
	abort();
}

std::string BlockingFuse::file_path() const
{
	return "/proc/" + std::to_string(pid_) + "/root" + kMountDir + "/f";
}

void BlockingFuse::abort()
{
	if (pid_ > 0) {
		kill(pid_, SIGKILL);
		reap(pid_, 0);
	}
	pid_ = -1;
	sock_.reset();
}

void BlockingFuse::server_died(const char *waiting_for)
{
	std::string how = "gone";
	if (pid_ > 0)
		how = status_text(reap(pid_, 1000));
	pid_ = -1;
	sock_.reset();
	throw Error(std::string("FUSE server died while the test waited for ") + waiting_for + " (" + how + ")");
}

BlockingFuse::Message BlockingFuse::receive(int timeout_ms, const char *waiting_for)
{
	if (!sock_)
		throw Error(std::string("FUSE server is gone; the test waited for ") + waiting_for);
	pollfd p = {sock_.get(), POLLIN, 0};
	timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		int left = elapsed >= timeout_ms ? 0 : timeout_ms - (int)elapsed;
		int r = poll(&p, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		sys_check(r, "poll(FUSE server socket)");
		if (r == 0)
			return Message{MSG_TIMEOUT, 0, 0, 0, 0};
		break;
	}
	Message m;
	if (!recv_full(sock_.get(), &m, sizeof(m)))
		server_died(waiting_for);
	return m;
}

void BlockingFuse::send_command(uint32_t op, uint8_t fill)
{
	if (!sock_)
		throw Error("FUSE server is gone");
	CommandMsg c = {op, fill};
	iovec iov = {&c, sizeof(c)};
	if (!send_full(sock_.get(), &iov, 1))
		server_died("a command to be taken");
}

std::optional<uint32_t> BlockingFuse::wait_for_read(int timeout_ms)
{
	Message m = receive(timeout_ms, "a READ request");
	if (m.type == MSG_TIMEOUT)
		return std::nullopt;
	if (m.type != MSG_READ_HELD)
		throw Error("FUSE server: report " + std::to_string(m.type) + " instead of a held READ");
	queued_ = false;
	return m.size;
}

bool BlockingFuse::wait_for_queued_request(int timeout_ms)
{
	if (queued_)
		return true;
	Message m = receive(timeout_ms, "a request queued behind the held read");
	if (m.type == MSG_TIMEOUT)
		return false;
	if (m.type != MSG_QUEUED)
		throw Error("FUSE server: report " + std::to_string(m.type) + " instead of a queued request");
	queued_ = true;
	return true;
}

void BlockingFuse::complete_read(uint8_t fill)
{
	send_command(CMD_COMPLETE, fill);
	for (;;) {
		Message m = receive(10000, "the answer to the held read");
		if (m.type == MSG_QUEUED)
			continue;  // reported before our command arrived
		if (m.type == MSG_COMPLETED)
			return;
		if (m.type == MSG_NOT_HELD)
			throw Error("FUSE server holds no READ to complete");
		if (m.type == MSG_TIMEOUT)
			throw Error("FUSE server did not answer the held read within 10 s");
		throw Error("FUSE server: report " + std::to_string(m.type) + " instead of a completed read");
	}
}

BlockingFuse::Write BlockingFuse::complete_read_and_take_write(uint8_t fill)
{
	if (!queued_)
		throw Error("no request is queued behind the held read");
	send_command(CMD_COMPLETE_TAKE_WRITE, fill);
	queued_ = false;
	Message m = receive(10000, "the WRITE queued behind the held read");
	if (m.type == MSG_NOT_HELD)
		throw Error("FUSE server holds no READ to complete");
	if (m.type == MSG_TIMEOUT)
		throw Error("FUSE server did not answer the held read within 10 s");
	if (m.type == MSG_NOT_WRITE) {
		const char *name = opcode_name(m.value);
		throw Error(std::string("the request queued behind the held read is ") +
			    (name ? name : "opcode " + std::to_string(m.value)) + ", not a WRITE");
	}
	if (m.type != MSG_WRITTEN)
		throw Error("FUSE server: report " + std::to_string(m.type) + " instead of the queued WRITE");
	Write w = {m.offset, std::vector<uint8_t>(m.size)};
	if (!recv_full(sock_.get(), w.data.data(), w.data.size()))
		server_died("the data of the queued WRITE");
	return w;
}

}  // namespace kvmt
