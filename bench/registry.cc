#include "registry.hh"

#include <exception>

#include "skip.hh"
#include "test.hh"

namespace bench {

static void run_body(benchmark::State &state, const std::string &skip_reason, const Body &body)
{
	if (!skip_reason.empty()) {
		skip_run(state, skip_reason);
		return;
	}
	try {
		body(state);
	} catch (const kvmt::TestSkip &s) {
		skip_run(state, s.reason);
	} catch (const kvmt::TestFailure &) {
		state.SkipWithError(kvmt::last_failure().empty() ? "test library reported a failure" : kvmt::last_failure().c_str());
	} catch (const std::exception &e) {
		state.SkipWithError(e.what());
	}
}

benchmark::internal::Benchmark *add_benchmark(const std::string &name, const std::string &skip_reason,
					      Body body)
{
	auto *b = benchmark::RegisterBenchmark(
		name.c_str(),
		[skip_reason, body](benchmark::State &state) { run_body(state, skip_reason, body); });
	return b->UseManualTime();
}

std::string bench_name(std::initializer_list<std::string> parts)
{
	std::string name;
	for (const std::string &p : parts)
		name += (name.empty() ? "" : "/") + p;
	return name;
}

}  // namespace bench
