// How every benchmark here is timed (UseManualTime): a batch's setup runs
// untimed, then up to `batch` operations run back to back between one pair
// of clock reads. One benchmark iteration is one operation, so Google
// Benchmark's time per iteration is the time per operation.
//
// SetIterationTime is called once per batch, on its last iteration, with the
// whole batch's time: benchmark 1.7.1 adds up what it is given, and calling it
// on every iteration would put a library call (2-3 ns) into the timed region
// of the cheapest operations. Batching is what keeps the timer's own cost
// (two clock reads, ~20 ns here) out of a 60 ns ioctl. The clock is the
// Stopwatch's: wall time minus the waits for a CPU that other tasks caused.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>

#include "stopwatch.hh"

namespace bench {

struct BatchTotals {
	uint64_t ops = 0;
	double seconds = 0;         // timed, without run-queue waits
	double waited_seconds = 0;  // run-queue waits left out
	double ns_per_op() const { return ops ? seconds * 1e9 / ops : 0; }
};

// setup(n) prepares the next n operations; op(i) runs operation i of the
// batch (0 <= i < n). Both throw on failure.
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

}  // namespace bench
