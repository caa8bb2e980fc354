// Google Benchmark's console and JSON reporters, taught this program's skip
// convention (skip.hh): a skipped benchmark appears once, as a skip with its
// reason, instead of once per repetition as an error. The console reporter
// prints the skips after the results (repetitions are interleaved, so they
// would otherwise be scattered), then a summary: the skips grouped by
// reason, the benchmarks that failed, the harness overhead the no-op ioctl
// benchmarks measured, the noisiest cell of every family (its CV over the
// repetitions, against the project's 5% precision target), and last a line
// of counts that a lab (or the QEMU lane's --bench) reads:
//   # benchmarks: 42 ran, 33 skipped, 0 failed (ran: convert/* 42)
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace bench {

class BenchConsoleReporter : public benchmark::ConsoleReporter {
public:
	// Counters as name=value (columns would repeat their header whenever
	// interleaving changes the counter set); color only when asked.
	explicit BenchConsoleReporter(bool color) : ConsoleReporter(color ? OO_Color : OO_None) {}
	bool ReportContext(const Context &context) override;
	void ReportRuns(const std::vector<Run> &runs) override;
	void Finalize() override;

	bool had_errors() const { return !errors_.empty(); }
	size_t skipped() const { return skipped_.size(); }

private:
	struct Overhead {
		double harness_ns, bare_ns, pct;
		bool aggregate;
	};
	void note_skip(const Run &run);
	void note_overhead(const Run &run);
	void note_cv(const Run &run);
	void print_skips();
	void print_overhead();
	void print_cv();
	void print_counts();

	size_t name_width_ = 40;
	std::map<std::string, std::string> skipped_;  // name -> reason
	std::set<std::string> errors_;
	std::set<std::string> ran_;                   // with a result, in some repetition
	std::map<std::string, Overhead> overhead_;    // noop ioctl benchmark -> figure
	std::map<std::string, std::pair<double, std::string>> worst_cv_;  // family -> CV, cell
};

class BenchJsonReporter : public benchmark::JSONReporter {
public:
	void ReportRuns(const std::vector<Run> &runs) override;

private:
	std::set<std::string> skipped_;
};

}  // namespace bench
