// How every benchmark here is timed and what it reports.
//
// The clock is CLOCK_MONOTONIC minus the time the thread spent waiting on a
// run queue (run_delay of /proc/thread-self/schedstat): on a shared 2-CPU
// machine another tenant's build can take half of the wall time; what is
// left is the time the operation ran or slept for its own reasons, which is
// what a lab on an idle machine would see. Without schedstat (no
// CONFIG_SCHED_INFO) it is plain wall time, and Stopwatch::describe() says so.
//
// UseManualTime: a batch's setup runs untimed, then up to `batch` operations
// run back to back between one pair of clock reads. One benchmark iteration
// is one operation, so Google Benchmark's time per iteration is the time per
// operation. Batching keeps the timer's own cost (two clock reads, ~20 ns
// here) out of a 60 ns ioctl.
//
// The limits a conversion is compared with are measured in the same run: the
// syscall floor (a no-op ioctl on a guest_memfd or VM fd) and memset
// bandwidth (what ZERO must at least cost). The limit benchmarks note each
// repetition; a conversion benchmark reads the median so far, or, when a
// filter left the limits out, a short measurement of its own.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "conversion_contract.hh"
#include "kvm_uapi.hh"
#include "mapping.hh"

namespace bench {

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

struct BenchSize {
	uint64_t bytes;
	const char *name;  // "4k", "64k", "2m", "64m", "1g"
};

// 4 KiB, 64 KiB, 2 MiB, 64 MiB, 1 GiB: every conversion and punch size.
const std::vector<BenchSize> &all_sizes();
// 4 KiB, 64 KiB, 2 MiB, 64 MiB: sizes whose setup touches every page.
const std::vector<BenchSize> &touch_sizes();
// 4 KiB, 64 KiB, 2 MiB: sizes a CPL0 guest touches (emulated here).
const std::vector<BenchSize> &guest_sizes();

// Operations of `bytes` each that one timed batch holds: small operations
// share one pair of clock reads, so the reads cost < 0.5% of the batch.
uint64_t batch_ops(uint64_t bytes);

class Stopwatch {
public:
	void start()
	{
		delay0_ = run_delay_ns();
		t0_ = std::chrono::steady_clock::now();
	}
	// Seconds since start(), without run-queue waits; the waits it left out
	// are added to *waited when given.
	double stop(double *waited = nullptr)
	{
		auto t1 = std::chrono::steady_clock::now();
		double wait = (run_delay_ns() - delay0_) * 1e-9;
		double wall = std::chrono::duration<double>(t1 - t0_).count();
		if (wait > wall)
			wait = wall;
		if (waited)
			*waited += wait;
		return wall - wait;
	}

	static std::string describe();

private:
	// Nanoseconds this thread has waited on a run queue (0 without schedstat).
	static uint64_t run_delay_ns();

	std::chrono::steady_clock::time_point t0_;
	uint64_t delay0_ = 0;
};

struct BatchTotals {
	uint64_t ops = 0;
	double seconds = 0;         // timed, without run-queue waits
	double waited_seconds = 0;  // run-queue waits left out
	double ns_per_op() const { return ops ? seconds * 1e9 / ops : 0; }
};

// setup(n) prepares the next n operations; op(i) runs operation i of the
// batch (0 <= i < n). Both throw on failure.
//
// SetIterationTime is called once per batch, on its last iteration, with the
// whole batch's time: benchmark 1.7.1 adds up what it is given, and calling it
// on every iteration would put a library call (2-3 ns) into the timed region
// of the cheapest operations.
template <typename Setup, typename Op>
BatchTotals run_batched(benchmark::State &state, uint64_t batch, Setup &&setup, Op &&op)
{
	BatchTotals totals;
	uint64_t left = static_cast<uint64_t>(state.max_iterations);
	uint64_t i = 0, n = 0;
	Stopwatch watch;
	for ([[maybe_unused]] auto _ : state) {
		if (i == 0) {
			n = std::min(batch, left);
			setup(n);
			watch.start();
		}
		op(i);
		if (++i < n)
			continue;
		double seconds = watch.stop(&totals.waited_seconds);
		state.SetIterationTime(seconds);
		totals.ops += n;
		totals.seconds += seconds;
		left -= n;
		i = 0;
	}
	return totals;
}

// Operations without setup: Google Benchmark's bare loop between one pair of
// clock reads, SetIterationTime once after it (1.7.1 adds it to the run's
// manual time; the loop then carries no bookkeeping of ours, ~0.5 ns less
// per iteration than run_batched, which matters for a 50 ns ioctl).
template <typename Op>
BatchTotals run_unbatched(benchmark::State &state, Op &&op)
{
	BatchTotals totals;
	Stopwatch watch;
	watch.start();
	for ([[maybe_unused]] auto _ : state)
		op(0);
	totals.seconds = watch.stop(&totals.waited_seconds);
	totals.ops = static_cast<uint64_t>(state.iterations());
	state.SetIterationTime(totals.seconds);
	return totals;
}

// runq_wait_pct: how much of the wall time the stopwatch left out because
// other tasks held the CPU (a measure of how busy the machine was).
void report_waits(benchmark::State &state, const BatchTotals &t);
// ns_per_page (host pages), bytes_per_second and runq_wait_pct for
// operations of `bytes` each.
void report_per_page(benchmark::State &state, const BatchTotals &t, uint64_t bytes);

// An ioctl number no KVM file implements: the kernel answers ENOTTY.
constexpr unsigned long kNoopIoctl = _IO(KVMIO, 0xff);

enum class FloorFd { Gmem, Vm };

// report_per_page, then x_floor (time over the no-op ioctl on the same kind
// of fd), x_memset for ZERO (time over a memset of the same bytes: zeroing
// cannot beat it), and eagain_retries when transient EAGAINs were retried
// inside the timing.
void report_conversion(benchmark::State &state, const BatchTotals &t, uint64_t bytes, FloorFd floor,
		       kvmt::ContentMode mode, uint64_t eagain_retries);

// Resident memory for memset: transparent huge pages where the kernel gives
// them, because the kernel zeroes a page through its direct map, which huge
// mappings cover; 4 KiB user mappings would add TLB misses it does not pay.
kvmt::Mapping memset_buffer(uint64_t bytes);

void note_floor_ns(FloorFd which, double ns);
void note_memset_ns(uint64_t bytes, double ns);

// One no-op ioctl. Not inlined: the bare loop below and the harness loop of
// the no-op ioctl benchmarks call the very same code, so comparing them
// measures the loops (this program's overhead), not two layouts of a syscall.
[[gnu::noinline]] void noop_ioctl_once(int fd, unsigned long cmd, unsigned long arg);
// n no-op ioctls in a plain loop, timed by one Stopwatch.
double bare_noop_ioctl_ns(int fd, unsigned long cmd, unsigned long arg, uint64_t n);

}  // namespace bench
