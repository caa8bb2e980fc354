#include "stopwatch.hh"

#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>

namespace bench {
namespace {

// One fd per thread: schedstat of /proc/thread-self is the opening thread's.
int schedstat_fd()
{
	thread_local int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	return fd;
}

}  // namespace

uint64_t Stopwatch::run_delay_ns()
{
	char buf[96];
	int fd = schedstat_fd();
	ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	uint64_t exec_ns = 0, delay_ns = 0;
	if (sscanf(buf, "%" SCNu64 " %" SCNu64, &exec_ns, &delay_ns) != 2)
		return 0;
	return delay_ns;
}

std::string Stopwatch::describe()
{
	if (schedstat_fd() < 0)
		return "CLOCK_MONOTONIC (no /proc/thread-self/schedstat: run-queue waits included)";
	return "CLOCK_MONOTONIC minus run-queue wait (run_delay of /proc/thread-self/schedstat)";
}

}  // namespace bench
