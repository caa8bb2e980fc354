#include "limits.hh"

#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "guest_memfd.hh"
#include "mapping.hh"
#include "stopwatch.hh"
#include "test.hh"
#include "vm.hh"

namespace bench {
namespace {

std::map<FloorFd, std::vector<double>> g_floor;
std::map<uint64_t, std::vector<double>> g_memset;

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
		kvmt::GuestMemfd gmem(vm, 4096, 0);
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

}  // namespace

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
