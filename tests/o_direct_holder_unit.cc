// The O_DIRECT page holder and its FUSE server child: what contents() sees,
// and that nothing outlives the test when it is killed with a read in flight.
// Needs root and FUSE (skips like the holder does without them); uses memfd
// pages, which a punch replaces the way it replaces guest_memfd pages.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "blocking_fuse.hh"
#include "errors.hh"
#include "fd.hh"
#include "mapping.hh"
#include "page_holder.hh"
#include "page_size.hh"
#include "pattern.hh"
#include "test.hh"

using namespace kvmt;

namespace {

constexpr uint64_t kSeed = 0x0d1ec7;

struct MemfdPages {
	UniqueFd fd;
	Mapping map;
	explicit MemfdPages(size_t pages)
	{
		fd.reset(static_cast<int>(sys_check(memfd_create("o_direct_unit", MFD_CLOEXEC), "memfd_create")));
		sys_check(ftruncate(fd.get(), pages * page_size()), "ftruncate");
		void *p = mmap(nullptr, pages * page_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
		if (p == MAP_FAILED)
			sys_check(-1, "mmap(memfd)");
		map = Mapping(p, pages * page_size());
		fill_pattern(map.data(), 0, pages * page_size(), kSeed);
	}
	uint8_t *page(size_t i) { return map.data() + i * page_size(); }
	void punch(size_t i)
	{
		sys_check(fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, i * page_size(), page_size()),
			  "fallocate(PUNCH_HOLE)");
	}
};

int64_t find_not(const uint8_t *p, size_t len, uint8_t value)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != value)
			return static_cast<int64_t>(i);
	return -1;
}

std::string read_text(const std::string &path)
{
	std::ifstream in(path);
	std::stringstream s;
	s << in.rdbuf();
	return s.str();
}

// The process's state letter from /proc/<pid>/stat ('Z' for a zombie), or
// 0 when there is no such process any more.
char process_state(pid_t pid)
{
	std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
	size_t paren = stat.rfind(')');
	return paren == std::string::npos || paren + 2 >= stat.size() ? 0 : stat[paren + 2];
}

bool dead(pid_t pid)
{
	char s = process_state(pid);
	return s == 0 || s == 'Z' || s == 'X';
}

double now_s()
{
	timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

// Processes whose mount table holds the mount named `source`.
std::string processes_with_mount(const std::string &source)
{
	std::string found;
	DIR *d = opendir("/proc");
	if (!d)
		return "opendir(/proc) failed";
	while (dirent *e = readdir(d)) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		std::string mi = read_text(std::string("/proc/") + e->d_name + "/mountinfo");
		if (mi.find(" " + source + " ") != std::string::npos)
			found += std::string(found.empty() ? "" : ", ") + e->d_name;
	}
	closedir(d);
	return found;
}

// What a forked child saw: the reason it skipped, or "" when it did not.
std::string skip_reason_in_child(void (*setup)())
{
	int p[2];
	sys_check(pipe2(p, O_CLOEXEC), "pipe2");
	fflush(nullptr);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		std::string said = "no skip";
		try {
			setup();
			BlockingFuse fuse;
		} catch (const TestSkip &s) {
			said = s.reason;
		} catch (const std::exception &e) {
			said = std::string("error: ") + e.what();
		}
		if (write(p[1], said.data(), said.size()) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	std::string said;
	char buf[512];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		said.append(buf, n);
	close(p[0]);
	waitpid(pid, nullptr, 0);
	return said;
}

}  // namespace

// After a punch the caller's mapping shows the file's new page; contents()
// reports the page the read pinned, which is where the read landed.
KVMT_TEST(o_direct_holder, contents_are_the_pinned_page_after_a_punch)
{
	MemfdPages m(2);
	std::unique_ptr<PageHolder> h = PageHolder::take(HolderKind::ODirect, m.page(1), page_size());
	m.punch(1);
	ASSERT_EQ(find_not(m.page(1), page_size(), 0), -1);
	std::vector<uint8_t> held = h->contents();
	ASSERT_EQ(held.size(), page_size());
	EXPECT_EQ(find_not(held.data(), page_size(), kODirectFill), -1);
	EXPECT_EQ(find_not(m.page(1), page_size(), 0), -1);  // the new page: the read did not land there
	EXPECT_EQ(find_pattern_mismatch(m.page(0), 0, page_size(), kSeed), -1);
	h->release();
}

// Without a punch the read lands in the caller's page, and contents() says so.
KVMT_TEST(o_direct_holder, contents_match_the_mapping_without_a_punch)
{
	MemfdPages m(1);
	std::unique_ptr<PageHolder> h = PageHolder::take(HolderKind::ODirect, m.page(0), page_size());
	EXPECT_EQ(find_pattern_mismatch(m.page(0), 0, page_size(), kSeed), -1);  // the read is held
	std::vector<uint8_t> held = h->contents();
	EXPECT_EQ(find_not(held.data(), page_size(), kODirectFill), -1);
	EXPECT_EQ(find_not(m.page(0), page_size(), kODirectFill), -1);
}

// The observation can fail: the WRITE taken behind the read reports the
// writer's pages, so when the read lands in other pages, what is reported
// is those other pages' bytes, not the fill.
KVMT_TEST(o_direct_holder, a_read_that_lands_elsewhere_is_not_reported_as_landed)
{
	BlockingFuse fuse;
	UniqueFd file(open(fuse.file_path().c_str(), O_RDWR | O_DIRECT | O_CLOEXEC));
	ASSERT_TRUE(file);
	Mapping buf = Mapping::anonymous(3 * page_size());
	fill_pattern(buf.data(), 0, 3 * page_size(), kSeed);
	ASSERT_EQ(pwrite(file.get(), buf.data() + 2 * page_size(), page_size(), 0), (ssize_t)page_size());  // warm-up
	ssize_t read_done = -1, write_done = -1;
	std::thread reader([&] { read_done = pread(file.get(), buf.data(), page_size(), 0); });
	std::optional<uint32_t> size = fuse.wait_for_read(5000);
	if (!size) {
		fuse.abort();
		reader.join();
		ASSERT_TRUE(size.has_value());
	}
	EXPECT_EQ(*size, page_size());
	std::thread writer([&] { write_done = pwrite(file.get(), buf.data() + page_size(), page_size(), 2 * page_size()); });
	bool queued = fuse.wait_for_queued_request(5000);
	BlockingFuse::Write w = {};
	std::string error;
	if (queued) {
		try {
			w = fuse.complete_read_and_take_write(kODirectFill);
		} catch (const Error &e) {
			error = e.what();
		}
	}
	if (!queued || !error.empty())
		fuse.abort();
	reader.join();
	writer.join();
	ASSERT_TRUE(queued);
	ASSERT_EQ(error, std::string());
	EXPECT_EQ(read_done, (ssize_t)page_size());
	EXPECT_EQ(write_done, (ssize_t)page_size());
	EXPECT_EQ(find_not(buf.data(), page_size(), kODirectFill), -1);  // where the read landed
	ASSERT_EQ(w.data.size(), page_size());
	EXPECT_EQ(w.offset, 2 * page_size());
	EXPECT_EQ(find_pattern_mismatch(w.data.data(), page_size(), page_size(), kSeed), -1);
}

// A server that dies mid-read fails the read; it does not hang the test.
KVMT_TEST(o_direct_holder, server_death_fails_the_read_in_flight)
{
	BlockingFuse fuse;
	UniqueFd file(open(fuse.file_path().c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC));
	ASSERT_TRUE(file);
	Mapping buf = Mapping::anonymous(page_size());
	ssize_t done = 0;
	int err = 0;
	std::thread reader([&] {
		done = pread(file.get(), buf.data(), page_size(), 0);
		err = errno;
	});
	std::optional<uint32_t> size = fuse.wait_for_read(5000);
	ASSERT_EQ(kill(fuse.server_pid(), SIGKILL), 0);
	reader.join();
	ASSERT_TRUE(size.has_value());
	EXPECT_EQ(done, -1);
	EXPECT_TRUE(err == ENOTCONN || err == ECONNABORTED);
	std::string error;
	try {
		fuse.complete_read(kODirectFill);
	} catch (const Error &e) {
		error = e.what();
	}
	EXPECT_EQ(error.rfind("FUSE server died while the test waited for", 0), 0u);
}

// The harness's timeout SIGKILLs a test whose read is in flight: the test
// process dies, the server dies with it, and its mount with its namespace.
KVMT_TEST(o_direct_holder, nothing_outlives_a_sigkilled_test)
{
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	fflush(nullptr);
	pid_t test = fork();
	if (test == 0) {
		close(p[0]);
		std::string said;
		std::unique_ptr<MemfdPages> m;
		std::unique_ptr<PageHolder> h;  // never released
		try {
			m = std::make_unique<MemfdPages>(1);
			h = PageHolder::take(HolderKind::ODirect, m->page(0), page_size());
			said = "held " + read_text("/proc/self/task/" + std::to_string(getpid()) + "/children");
		} catch (const TestSkip &s) {
			said = "skip " + s.reason;
		} catch (const std::exception &e) {
			said = std::string("error ") + e.what();
		} catch (...) {
			said = "error (a failed check: " + last_failure() + ")";
		}
		if (write(p[1], said.data(), said.size()) < 0 || said.rfind("held", 0) != 0)
			_exit(1);
		for (;;)
			pause();  // with the read in flight: the holder is never released
	}
	close(p[1]);
	char buf[256] = {};
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	std::string said(buf, n > 0 ? n : 0);
	if (said.rfind("skip ", 0) == 0) {
		waitpid(test, nullptr, 0);
		skip(said.substr(5));
	}
	if (said.rfind("held ", 0) != 0) {
		kill(test, SIGKILL);
		waitpid(test, nullptr, 0);
		ASSERT_EQ(said, std::string("held <server pid>"));
	}
	pid_t server = std::stoi(said.substr(5));
	std::string source = "kvmt-fuse." + std::to_string(server);
	test_log("test process " + std::to_string(test) + ", FUSE server " + std::to_string(server) +
		 " (mount " + source + " seen by processes " + processes_with_mount(source) + ")");
	EXPECT_NE(read_text("/proc/" + std::to_string(server) + "/mountinfo").find(" " + source + " "),
		  std::string::npos);
	EXPECT_EQ(read_text("/proc/self/mountinfo").find("kvmt-fuse"), std::string::npos);

	double start = now_s();
	ASSERT_EQ(kill(test, SIGKILL), 0);
	int status = 0;
	pid_t r = 0;
	while ((r = waitpid(test, &status, WNOHANG)) == 0 && now_s() - start < 10) {
		timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, nullptr);
	}
	if (r != test) {
		// Unkillable: a thread waits for a FUSE answer that never comes.
		std::string state(1, process_state(test));
		kill(server, SIGKILL);
		waitpid(test, &status, 0);
		ASSERT_EQ(std::string("test process state ") + state + " 10 s after SIGKILL",
			  std::string("test process reaped"));
	}
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	while (!dead(server) && now_s() - start < 10) {
		timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, nullptr);
	}
	test_log("test process reaped and server dead " + std::to_string(now_s() - start) +
		 " s after SIGKILL");
	EXPECT_TRUE(dead(server));
	EXPECT_EQ(processes_with_mount(source), std::string());
}

// The skip reasons of the hostile-environment rows, from the server child.
KVMT_TEST(o_direct_holder, skip_reasons)
{
	if (geteuid() != 0)
		skip("needs root (to drop it)");
	EXPECT_EQ(skip_reason_in_child([] {
			  if (setgroups(0, nullptr) || setgid(65534) || setuid(65534))
				  throw Error("dropping root: " + errno_name(errno));
		  }),
		  std::string("O_DIRECT holder: a private mount namespace needs CAP_SYS_ADMIN (EPERM)"));
	EXPECT_EQ(skip_reason_in_child([] {
			  if (unshare(CLONE_NEWNS) || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) ||
			      mount("none", "/dev", "tmpfs", 0, nullptr))
				  throw Error("hiding /dev: " + errno_name(errno));
		  }),
		  std::string("O_DIRECT holder: /dev/fuse: ENOENT (needs CONFIG_FUSE_FS)"));
}
