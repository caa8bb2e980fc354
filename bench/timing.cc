#include "timing.hh"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>

#include "guest_memfd.hh"
#include "page_size.hh"
#include "test.hh"
#include "vm.hh"

namespace bench {
namespace {

constexpr uint64_t kBatchBytes = 256 * KiB;
constexpr uint64_t kMaxBatchOps = 64;

std::map<FloorFd, std::vector<double>> g_floor;
std::map<uint64_t, std::vector<double>> g_memset;

// One fd per thread: schedstat of /proc/thread-self is the opening thread's.
int schedstat_fd()
{
	thread_local int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	return fd;
}

double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	size_t n = v.size();
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double measure_floor(FloorFd which)
{
	try {
		kvmt::Vm vm(kvmt::default_vm_type());
		if (which == FloorFd::Vm)
			return bare_noop_ioctl_ns(vm.fd(), KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY2, 100000);
		kvmt::GuestMemfd gmem(vm, kvmt::page_size(), 0);
		return bare_noop_ioctl_ns(gmem.fd(), kNoopIoctl, 0, 100000);
	} catch (const kvmt::TestSkip &) {
	} catch (const std::exception &) {
	}
	return 0;
}

double measure_memset(uint64_t bytes)
{
	kvmt::Mapping buf = memset_buffer(bytes);
	uint64_t reps = std::max<uint64_t>(1, (64ULL << 20) / bytes);
	Stopwatch watch;
	watch.start();
	for (uint64_t i = 0; i < reps; i++) {
		memset(buf.data(), 0, bytes);
		asm volatile("" : : "r"(buf.data()) : "memory");
	}
	return watch.stop() * 1e9 / reps;
}

// 0 when it cannot be measured (no KVM).
double floor_ns(FloorFd which)
{
	if (g_floor[which].empty())
		note_floor_ns(which, measure_floor(which));
	return median(g_floor[which]);
}

double memset_ns(uint64_t bytes)
{
	if (g_memset[bytes].empty())
		note_memset_ns(bytes, measure_memset(bytes));
	return median(g_memset[bytes]);
}

// A ratio to a limit: time per operation over the limit's time for the same
// work; omitted when the limit is unknown (0).
void report_ratio(benchmark::State &state, const char *name, const BatchTotals &t, double limit_ns)
{
	if (limit_ns > 0 && t.ops)
		state.counters[name] = t.ns_per_op() / limit_ns;
}

}  // namespace

const std::vector<BenchSize> &all_sizes()
{
	static const std::vector<BenchSize> sizes = {
		{4 * KiB, "4k"}, {64 * KiB, "64k"}, {2 * MiB, "2m"}, {64 * MiB, "64m"}, {1 * GiB, "1g"},
	};
	return sizes;
}

const std::vector<BenchSize> &touch_sizes()
{
	static const std::vector<BenchSize> sizes(all_sizes().begin(), all_sizes().end() - 1);
	return sizes;
}

const std::vector<BenchSize> &guest_sizes()
{
	static const std::vector<BenchSize> sizes(all_sizes().begin(), all_sizes().begin() + 3);
	return sizes;
}

uint64_t batch_ops(uint64_t bytes)
{
	return std::clamp<uint64_t>(kBatchBytes / bytes, 1, kMaxBatchOps);
}

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

void report_waits(benchmark::State &state, const BatchTotals &t)
{
	double wall = t.seconds + t.waited_seconds;
	state.counters["runq_wait_pct"] = wall > 0 ? t.waited_seconds / wall * 100 : 0;
}

void report_per_page(benchmark::State &state, const BatchTotals &t, uint64_t bytes)
{
	uint64_t pages = bytes / kvmt::page_size();
	state.counters["ns_per_page"] = t.ns_per_op() / (pages ? pages : 1);
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
	report_waits(state, t);
}

void report_conversion(benchmark::State &state, const BatchTotals &t, uint64_t bytes, FloorFd floor,
		       kvmt::ContentMode mode, uint64_t eagain_retries)
{
	report_per_page(state, t, bytes);
	report_ratio(state, "x_floor", t, floor_ns(floor));
	if (mode == kvmt::ContentMode::Zero)
		report_ratio(state, "x_memset", t, memset_ns(bytes));
	if (eagain_retries)
		state.counters["eagain_retries"] = static_cast<double>(eagain_retries);
}

kvmt::Mapping memset_buffer(uint64_t bytes)
{
	kvmt::Mapping buf = kvmt::Mapping::anonymous(bytes, MAP_PRIVATE);
	madvise(buf.data(), bytes, MADV_HUGEPAGE);  // best effort
	memset(buf.data(), 1, bytes);
	return buf;
}

void note_floor_ns(FloorFd which, double ns)
{
	g_floor[which].push_back(ns);
}

void note_memset_ns(uint64_t bytes, double ns)
{
	g_memset[bytes].push_back(ns);
}

void noop_ioctl_once(int fd, unsigned long cmd, unsigned long arg)
{
	ioctl(fd, cmd, arg);
}

double bare_noop_ioctl_ns(int fd, unsigned long cmd, unsigned long arg, uint64_t n)
{
	Stopwatch watch;
	watch.start();
	for (uint64_t i = 0; i < n; i++)
		noop_ioctl_once(fd, cmd, arg);
	return watch.stop() * 1e9 / n;
}

}  // namespace bench
