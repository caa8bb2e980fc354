// Skipping a benchmark the kernel cannot run. Google Benchmark 1.7.1 has no
// SkipWithMessage, so a skip is SkipWithError with a message that starts
// with "SKIPPED: ": JSON readers see error_occurred=true and that prefix
// (bench/compare and bench/plot treat it as a skip, not a failure), and this
// program's reporters print it as a skip, once per benchmark.
#pragma once

#include <benchmark/benchmark.h>

#include <string>

namespace bench {

constexpr const char *kSkipPrefix = "SKIPPED: ";

void skip_run(benchmark::State &state, const std::string &reason);
bool is_skip_message(const std::string &message);
// The reason without the prefix.
std::string skip_reason(const std::string &message);

}  // namespace bench
