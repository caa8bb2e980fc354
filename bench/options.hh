// This program's command line: its own flags, then Google Benchmark's
// (--benchmark_filter, --benchmark_repetitions, ... override the defaults).
//
//   --results_dir=DIR   JSON goes to DIR/<kernel release>/<UTC time>.json, and
//                       DIR/<kernel release>/latest.json links to it (default: results)
//
// Defaults given to Google Benchmark: 9 repetitions, 0.1 s minimum time per
// repetition, the repetitions of all benchmarks interleaved in random order,
// aggregates only on the console, all repetitions in the JSON.
#pragma once

#include <string>
#include <vector>

namespace bench {

struct Options {
	std::string results_dir = "results";
	std::string json_path;     // our file; "" when the user chose one or lists
	bool writes_file = false;  // a --benchmark_out, ours or the user's
	bool color = false;        // --benchmark_color (default: auto, a terminal)
	std::vector<std::string> benchmark_args;  // argv[0], defaults, the user's flags
};

// Returns false (after printing why) on a bad flag of ours.
bool parse_options(int argc, char **argv, Options *opts);
// Creates DIR/<release> when the JSON goes there; false (after saying why) on failure.
bool make_results_dir(const Options &opts);
// Points DIR/<release>/latest.json at the run's file.
void link_latest(const Options &opts);
void print_usage(const char *argv0);

}  // namespace bench
