// gmem_bench: conversion latency of guest_memfd and its peers and limits,
// with Google Benchmark. See bench/README.md.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>

#include "bench_sets.hh"
#include "options.hh"
#include "reporters.hh"
#include "sizes.hh"
#include "stopwatch.hh"
#include "skip.hh"
#include "strict_mode.hh"
#include "support.hh"

using namespace bench;

namespace {

void register_all()
{
	register_limit_benchmarks();
	register_fault_benchmarks();
	register_punch_benchmarks();
	register_guest_benchmarks();
	register_conversion_benchmarks();
	register_noop_conversion_benchmarks();
	register_refused_conversion_benchmarks();
	register_per_vm_conversion_benchmarks();
}

void add_context()
{
	benchmark::AddCustomContext("gmem_bench.profile", support().describe());
	benchmark::AddCustomContext("gmem_bench.mem_available_mib", std::to_string(mem_available() >> 20));
	benchmark::AddCustomContext(
		"gmem_bench.skip_convention",
		std::string("a skipped benchmark has error_occurred=true and an error_message starting '") +
			kSkipPrefix + "', followed by the reason");
	benchmark::AddCustomContext(
		"gmem_bench.timing",
		"manual time per operation: untimed setup per batch, then up to 64 operations between "
		"two reads of " + Stopwatch::describe());
}

bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

// Google Benchmark takes argv as char**; the strings live in opts.
std::vector<char *> benchmark_argv(Options &opts)
{
	std::vector<char *> args;
	for (std::string &a : opts.benchmark_args)
		args.push_back(a.data());
	args.push_back(nullptr);
	return args;
}

int exit_status(const BenchConsoleReporter &console)
{
	if (console.had_errors())
		return 1;
	if (console.skipped() && kvmt::strict_mode()) {
		printf("# strict mode (GMEM_STRICT): a skip is a failure\n");
		return 1;
	}
	return 0;
}

}  // namespace

int main(int argc, char **argv)
{
	if (wants_help(argc, argv))
		print_usage(argv[0]);
	Options opts;
	if (!parse_options(argc, argv, &opts))
		return 1;
	std::vector<char *> args = benchmark_argv(opts);
	int n = static_cast<int>(args.size()) - 1;
	benchmark::Initialize(&n, args.data());
	if (benchmark::ReportUnrecognizedArguments(n, args.data()) || !make_results_dir(opts))
		return 1;
	printf("# profile: %s\n", support().describe().c_str());
	fflush(stdout);
	register_all();
	add_context();
	BenchConsoleReporter console(opts.color);
	BenchJsonReporter json;
	benchmark::RunSpecifiedBenchmarks(&console, opts.writes_file ? &json : nullptr);
	benchmark::Shutdown();
	link_latest(opts);
	if (!opts.json_path.empty())
		printf("# results: %s\n", opts.json_path.c_str());
	return exit_status(console);
}
