// The limits: the syscall floor (a no-op ioctl on a guest_memfd fd and on a
// VM fd) and memset bandwidth per size. The no-op ioctl benchmarks also
// measure this program's own overhead: the same ioctl in a bare loop, just
// before and just after the harness loop, gives bare_loop_ns, and
// harness_overhead_pct compares the two.
#include <cstring>

#include "guest_memfd.hh"
#include "harness.hh"
#include "mapping.hh"
#include "page_size.hh"
#include "support.hh"
#include "timing.hh"
#include "vm.hh"

namespace bench {
namespace {

constexpr uint64_t kBareLoopOps = 500000;  // ~25 ms before and after the harness loop

void run_noop_ioctl(benchmark::State &state, FloorFd which, int fd, unsigned long cmd,
		    unsigned long arg)
{
	double before = bare_noop_ioctl_ns(fd, cmd, arg, kBareLoopOps);
	BatchTotals t = run_unbatched(state, [&](uint64_t) { noop_ioctl_once(fd, cmd, arg); });
	double bare = (before + bare_noop_ioctl_ns(fd, cmd, arg, kBareLoopOps)) / 2;
	note_floor_ns(which, t.ns_per_op());
	state.counters["bare_loop_ns"] = bare;
	state.counters["harness_overhead_pct"] = (t.ns_per_op() / bare - 1) * 100;
	report_waits(state, t);
}

void noop_ioctl_gmem(benchmark::State &state)
{
	kvmt::Vm vm(kvmt::default_vm_type());
	kvmt::require_guest_memfd(vm, 0);  // a kernel without guest_memfd skips, not fails
	kvmt::GuestMemfd gmem(vm, kvmt::page_size(), 0);
	run_noop_ioctl(state, FloorFd::Gmem, gmem.fd(), kNoopIoctl, 0);
}

void noop_ioctl_vm(benchmark::State &state)
{
	kvmt::Vm vm(kvmt::default_vm_type());
	run_noop_ioctl(state, FloorFd::Vm, vm.fd(), KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY2);
}

void memset_size(benchmark::State &state, const BenchSize &size)
{
	kvmt::Mapping buf = memset_buffer(size.bytes);
	uint8_t *p = buf.data();
	BatchTotals t = run_unbatched(state, [&](uint64_t) {
		benchmark::DoNotOptimize(p);
		memset(p, 0, size.bytes);
		benchmark::ClobberMemory();
	});
	note_memset_ns(size.bytes, t.ns_per_op());
	report_per_page(state, t, size.bytes);
}

}  // namespace

void register_limit_benchmarks()
{
	const std::string &no_kvm = support().kvm_missing;
	add_benchmark("limit/noop_ioctl/gmem_fd", no_kvm, noop_ioctl_gmem);
	add_benchmark("limit/noop_ioctl/vm_fd", no_kvm, noop_ioctl_vm);
	for (const BenchSize &size : all_sizes())
		add_benchmark(bench_name({"limit", "memset", size.name}), memory_bound_reason(size.bytes),
			      [&size](benchmark::State &state) { memset_size(state, size); });
}

}  // namespace bench
