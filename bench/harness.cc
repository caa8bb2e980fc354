// gmem_bench: conversion latency of guest_memfd and its peers and limits,
// with Google Benchmark. See bench/README.md.
//
// The command line: this program's own flag, then Google Benchmark's
// (--benchmark_filter, --benchmark_repetitions, ... override the defaults).
//   --results_dir=DIR   JSON goes to DIR/<kernel release>/<UTC time>.json, and
//                       DIR/<kernel release>/latest.json links to it (default: results)
#include "harness.hh"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <vector>

#include "page_size.hh"
#include "strict_mode.hh"
#include "support.hh"
#include "test.hh"
#include "timing.hh"

namespace bench {
namespace {

void skip_run(benchmark::State &state, const std::string &reason)
{
	state.SkipWithError((kSkipPrefix + reason).c_str());
}

void run_body(benchmark::State &state, const std::string &skip_reason, const Body &body)
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
		const std::string &why = kvmt::last_failure();
		state.SkipWithError(why.empty() ? "test library reported a failure" : why.c_str());
	} catch (const std::exception &e) {
		state.SkipWithError(e.what());
	}
}

const char *const kDefaults[] = {
	"--benchmark_repetitions=9",
	"--benchmark_min_time=0.1",
	"--benchmark_display_aggregates_only=true",
	// Repetitions of all benchmarks shuffled: a busy spell of the machine
	// spreads over many benchmarks instead of shifting one median.
	"--benchmark_enable_random_interleaving=true",
	"--benchmark_out_format=json",
};

struct Options {
	std::string results_dir = "results";
	std::string json_path;     // our file; "" when the user chose one or lists
	bool writes_file = false;  // a --benchmark_out, ours or the user's
	bool color = false;        // --benchmark_color (default: auto, a terminal)
	std::vector<std::string> benchmark_args;  // argv[0], defaults, the user's flags
};

bool starts_with(const std::string &s, const char *prefix)
{
	return s.rfind(prefix, 0) == 0;
}

std::string release_dir(const Options &opts)
{
	utsname u;
	return opts.results_dir + "/" + (uname(&u) ? "unknown-kernel" : u.release);
}

std::string utc_stamp()
{
	time_t now = time(nullptr);
	tm t;
	gmtime_r(&now, &t);
	char buf[32];
	strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &t);
	return buf;
}

bool make_dirs(const std::string &path)
{
	for (size_t pos = 1; pos != std::string::npos; pos = path.find('/', pos + 1)) {
		std::string part = path.substr(0, pos);
		if (mkdir(part.c_str(), 0755) && errno != EEXIST)
			return false;
	}
	return !mkdir(path.c_str(), 0755) || errno == EEXIST;
}

void print_usage(const char *argv0)
{
	printf("usage: %s [--results_dir=DIR] [Google Benchmark flags]\n"
	       "  JSON results go to DIR/<kernel release>/<UTC time>.json (default DIR: results),\n"
	       "  unless --benchmark_out=FILE is given. Defaults: 9 repetitions, 0.1 s per\n"
	       "  repetition, repetitions interleaved, aggregates only on the console.\n"
	       "  Google Benchmark's flags follow.\n\n",
	       argv0);
}

// Returns false (after printing why) on a bad flag of ours.
bool parse_options(int argc, char **argv, Options *opts)
{
	std::vector<std::string> user;
	bool no_file_of_ours = false;
	std::string color = "auto";
	for (int i = 1; i < argc; i++) {
		std::string arg = argv[i];
		if (starts_with(arg, "--results_dir=")) {
			opts->results_dir = arg.substr(strlen("--results_dir="));
			if (opts->results_dir.empty()) {
				fprintf(stderr, "%s: --results_dir needs a directory\n", argv[0]);
				return false;
			}
			continue;
		}
		if (starts_with(arg, "--benchmark_color="))
			color = arg.substr(strlen("--benchmark_color="));
		opts->writes_file |= starts_with(arg, "--benchmark_out=");
		// Listing writes no results: no file, and latest.json keeps its target.
		no_file_of_ours |= starts_with(arg, "--benchmark_out=") ||
				   (starts_with(arg, "--benchmark_list_tests") &&
				    arg != "--benchmark_list_tests=false");
		user.push_back(arg);
	}
	opts->benchmark_args = {argv[0]};
	opts->benchmark_args.insert(opts->benchmark_args.end(), std::begin(kDefaults), std::end(kDefaults));
	if (!no_file_of_ours) {
		opts->json_path = release_dir(*opts) + "/" + utc_stamp() + ".json";
		opts->benchmark_args.push_back("--benchmark_out=" + opts->json_path);
		opts->writes_file = true;
	}
	opts->benchmark_args.insert(opts->benchmark_args.end(), user.begin(), user.end());
	// Custom reporters do not get Google Benchmark's color decision.
	opts->color = color == "auto" ? isatty(STDOUT_FILENO) : color == "true" || color == "yes";
	return true;
}

// Creates DIR/<release> when the JSON goes there; false (after saying why) on failure.
bool make_results_dir(const Options &opts)
{
	if (opts.json_path.empty())
		return true;
	std::string dir = release_dir(opts);
	if (make_dirs(dir))
		return true;
	fprintf(stderr, "gmem_bench: cannot create %s: %s\n", dir.c_str(), strerror(errno));
	return false;
}

void link_latest(const Options &opts)
{
	if (opts.json_path.empty())
		return;
	std::string link = release_dir(opts) + "/latest.json";
	std::string target = opts.json_path.substr(opts.json_path.rfind('/') + 1);
	unlink(link.c_str());
	if (symlink(target.c_str(), link.c_str()))
		fprintf(stderr, "# cannot link %s: %s\n", link.c_str(), strerror(errno));
}

void register_all()
{
	register_limit_benchmarks();
	register_host_benchmarks();
	register_guest_benchmarks();
	register_conversion_benchmarks();
	register_per_vm_conversion_benchmarks();
}

void add_context()
{
	benchmark::AddCustomContext("gmem_bench.profile", support().describe());
	benchmark::AddCustomContext("gmem_bench.page_size", std::to_string(kvmt::page_size()));
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

int exit_status(RunOutcome outcome)
{
	if (outcome.failed)
		return 1;
	if (outcome.skipped && kvmt::strict_mode()) {
		printf("# strict mode (GMEM_STRICT): a skip is a failure\n");
		return 1;
	}
	return 0;
}

}  // namespace

void add_benchmark(const std::string &name, const std::string &skip_reason, Body body)
{
	benchmark::RegisterBenchmark(name.c_str(), [skip_reason, body](benchmark::State &state) {
		run_body(state, skip_reason, body);
	})->UseManualTime();
}

std::string bench_name(std::initializer_list<std::string> parts)
{
	std::string name;
	for (const std::string &p : parts)
		name += (name.empty() ? "" : "/") + p;
	return name;
}

}  // namespace bench

using namespace bench;

int main(int argc, char **argv)
{
	if (wants_help(argc, argv))
		print_usage(argv[0]);
	Options opts;
	if (!parse_options(argc, argv, &opts))
		return 1;
	// Google Benchmark takes argv as char**; the strings live in opts.
	std::vector<char *> args;
	for (std::string &a : opts.benchmark_args)
		args.push_back(a.data());
	args.push_back(nullptr);
	int n = static_cast<int>(args.size()) - 1;
	benchmark::Initialize(&n, args.data());
	if (benchmark::ReportUnrecognizedArguments(n, args.data()) || !make_results_dir(opts))
		return 1;
	printf("# profile: %s\n", support().describe().c_str());
	fflush(stdout);
	register_all();
	add_context();
	RunOutcome outcome = run_benchmarks(opts.color, opts.writes_file);
	link_latest(opts);
	if (!opts.json_path.empty())
		printf("# results: %s\n", opts.json_path.c_str());
	return exit_status(outcome);
}
