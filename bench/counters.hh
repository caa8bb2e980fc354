// The counters every benchmark of a sized operation reports.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "batch_timer.hh"

namespace bench {

// ns_per_page, bytes_per_second and runq_wait_pct for operations of `bytes` each.
void report_per_page(benchmark::State &state, const BatchTotals &t, uint64_t bytes);
// runq_wait_pct: how much of the wall time the stopwatch left out because
// other tasks held the CPU (a measure of how busy the machine was).
void report_waits(benchmark::State &state, const BatchTotals &t);
// A ratio to a limit ("x_floor", "x_memset"): time per operation over the
// limit's time for the same work; omitted when the limit is unknown (0).
void report_ratio(benchmark::State &state, const std::string &name, const BatchTotals &t,
		  double limit_ns);

}  // namespace bench
