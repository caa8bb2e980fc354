// What a benchmark file needs from this program: registration under stable
// names and the skip convention. Every known benchmark is registered on every
// machine (labs track results by name); one the kernel cannot run is
// registered too and skips with the reason.
//
// Google Benchmark 1.7.1 has no SkipWithMessage, so a skip is SkipWithError
// with a message that starts with "SKIPPED: ": JSON readers see
// error_occurred=true and that prefix (bench/compare and bench/plot treat it
// as a skip, not a failure), and reporters.cc prints it as a skip, once per
// benchmark.
#pragma once

#include <benchmark/benchmark.h>

#include <functional>
#include <initializer_list>
#include <string>

namespace bench {

constexpr const char *kSkipPrefix = "SKIPPED: ";

using Body = std::function<void(benchmark::State &)>;

// A manual-time benchmark. A non-empty skip_reason, or a kvmt::TestSkip the
// body throws, skips it; any other exception (or a failure the library
// recorded) ends it as an error with the message.
void add_benchmark(const std::string &name, const std::string &skip_reason, Body body);

// "convert" "to_private" "4k" -> "convert/to_private/4k"
std::string bench_name(std::initializer_list<std::string> parts);

// One per *_bench.cc; main() calls them in this order, limits first, so that
// the conversion benchmarks' ratios use the limits measured earlier in the run.
void register_limit_benchmarks();
void register_host_benchmarks();
void register_guest_benchmarks();
void register_conversion_benchmarks();
void register_per_vm_conversion_benchmarks();

struct RunOutcome {
	bool failed;   // a benchmark ended with an error
	bool skipped;  // a benchmark skipped
};
// Runs the registered benchmarks with this program's console reporter (and
// its JSON reporter when write_json).
RunOutcome run_benchmarks(bool color, bool write_json);

}  // namespace bench
