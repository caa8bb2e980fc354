// Registration of this program's benchmarks under stable names. Every known
// benchmark is registered on every machine (labs track results by name); one
// the kernel cannot run is registered too and skips with the reason.
#pragma once

#include <benchmark/benchmark.h>

#include <functional>
#include <string>

namespace bench {

using Body = std::function<void(benchmark::State &)>;

// A manual-time benchmark. A non-empty skip_reason, or a kvmt::TestSkip the
// body throws, skips it; any other exception (or a failure the library
// recorded) ends it as an error with the message.
benchmark::internal::Benchmark *add_benchmark(const std::string &name, const std::string &skip_reason,
					      Body body);

// "convert" "to_private" "4k" -> "convert/to_private/4k"
std::string bench_name(std::initializer_list<std::string> parts);

}  // namespace bench
