// Google Benchmark's console and JSON reporters, taught this program's skip
// convention (harness.hh): a skipped benchmark appears once, as a skip with its
// reason, instead of once per repetition as an error. The console reporter
// prints the skips after the results (repetitions are interleaved, so they
// would otherwise be scattered), then a summary: the skips grouped by
// reason, the benchmarks that failed, the harness overhead the no-op ioctl
// benchmarks measured, the noisiest cell of every family (its CV over the
// repetitions, against the project's 5% precision target), and last a line
// of counts that a lab (or the QEMU lane's --bench) reads:
//   # benchmarks: 42 ran, 33 skipped, 0 failed (ran: convert/* 42)
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness.hh"

namespace bench {
namespace {

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

constexpr const char *kOverheadFamily = "limit/noop_ioctl/";
constexpr double kCvTarget = 0.05;

bool is_skip(const benchmark::BenchmarkReporter::Run &run)
{
	return run.error_occurred && run.error_message.rfind(kSkipPrefix, 0) == 0;
}

double counter(const benchmark::BenchmarkReporter::Run &run, const char *name)
{
	auto it = run.counters.find(name);
	return it == run.counters.end() ? 0 : it->second.value;
}

// "convert/to_private/..." -> "convert"
std::string family_of(const std::string &name)
{
	return name.substr(0, name.find('/'));
}

// "peer/punch_hole/memfd/64m" -> "peer/punch_hole"
std::string two_level_family(const std::string &name)
{
	size_t second = name.find('/', name.find('/') + 1);
	return name.substr(0, second);
}

bool BenchConsoleReporter::ReportContext(const Context &context)
{
	name_width_ = context.name_field_width;
	return ConsoleReporter::ReportContext(context);
}

void BenchConsoleReporter::ReportRuns(const std::vector<Run> &runs)
{
	std::vector<Run> shown;
	for (const Run &run : runs) {
		if (is_skip(run)) {
			note_skip(run);
			continue;
		}
		if (run.error_occurred)
			errors_.insert(run.benchmark_name());
		else
			ran_.insert(run.run_name.str());  // an aggregate counts for its benchmark
		note_overhead(run);
		note_cv(run);
		shown.push_back(run);
	}
	if (!shown.empty())
		ConsoleReporter::ReportRuns(shown);
}

void BenchConsoleReporter::note_skip(const Run &run)
{
	skipped_.emplace(run.benchmark_name(), run.error_message.substr(strlen(kSkipPrefix)));
}

void BenchConsoleReporter::note_overhead(const Run &run)
{
	if (run.error_occurred || run.run_name.function_name.rfind(kOverheadFamily, 0) != 0)
		return;
	bool aggregate = run.run_type == Run::RT_Aggregate;
	if (aggregate && run.aggregate_name != "median")
		return;
	Overhead &o = overhead_[run.run_name.function_name];
	if (o.aggregate && !aggregate)
		return;
	o = {run.GetAdjustedRealTime(), counter(run, "bare_loop_ns"),
	     counter(run, "harness_overhead_pct"), aggregate};
}

void BenchConsoleReporter::note_cv(const Run &run)
{
	if (run.error_occurred || run.run_type != Run::RT_Aggregate || run.aggregate_name != "cv")
		return;
	const std::string &name = run.run_name.function_name;
	auto &worst = worst_cv_[two_level_family(name)];
	// A percentage aggregate keeps its ratio (stddev / mean) as the accumulated time.
	double cv = run.real_accumulated_time;
	if (worst.second.empty() || cv > worst.first)
		worst = {cv, name};
}

// One line per family: its noisiest cell, so a lab sees at once whether the
// machine was quiet enough for the medians to be compared.
void BenchConsoleReporter::print_cv()
{
	for (const auto &[family, worst] : worst_cv_) {
		printf("# CV over the repetitions, worst of %s: %.2f%% (%s)", family.c_str(),
		       worst.first * 100, worst.second.c_str());
		if (worst.first > kCvTarget)
			printf(", above the %.0f%% precision target", kCvTarget * 100);
		printf("\n");
	}
}

void BenchConsoleReporter::print_skips()
{
	std::map<std::string, std::map<std::string, int>> by_reason;  // reason -> family -> count
	for (const auto &[name, reason] : skipped_) {
		by_reason[reason][family_of(name)]++;
		printf("%-*s SKIPPED: %s\n", static_cast<int>(name_width_), name.c_str(), reason.c_str());
	}
	if (!skipped_.empty())
		printf("# %zu benchmarks skipped (the kernel cannot run them):\n", skipped_.size());
	for (const auto &[reason, families] : by_reason) {
		std::string which;
		for (const auto &[family, count] : families)
			which += (which.empty() ? "" : ", ") + family + "/* (" + std::to_string(count) + ")";
		printf("#   %s: %s\n", which.c_str(), reason.c_str());
	}
}

void BenchConsoleReporter::print_overhead()
{
	for (const auto &[name, o] : overhead_)
		printf("# harness overhead (%s): %+.2f%% (%s; %.2f ns per no-op ioctl through the "
		       "harness, %.2f ns in a bare loop)\n",
		       name.c_str(), o.pct,
		       o.aggregate ? "median over the repetitions" : "one repetition", o.harness_ns,
		       o.bare_ns);
}

// Other tenants of the machine add noise that the stopwatch cannot remove
// (shared caches, memory bandwidth, kernel locks): say how busy it was.
void print_load()
{
	double load[3];
	if (getloadavg(load, 3) == 3)
		printf("# machine load at the end: %.2f %.2f %.2f (1, 5, 15 min) on %ld CPUs\n", load[0],
		       load[1], load[2], sysconf(_SC_NPROCESSORS_ONLN));
}

// A benchmark counts once however many repetitions it had; one that failed
// in any repetition counts as failed only.
void BenchConsoleReporter::print_counts()
{
	std::map<std::string, int> families;
	size_t ran = 0;
	for (const std::string &name : ran_)
		if (!errors_.count(name)) {
			families[family_of(name)]++;
			ran++;
		}
	std::string which;
	for (const auto &[family, count] : families)
		which += (which.empty() ? "" : ", ") + family + "/* " + std::to_string(count);
	printf("# benchmarks: %zu ran, %zu skipped, %zu failed (ran: %s)\n", ran, skipped_.size(),
	       errors_.size(), which.empty() ? "none" : which.c_str());
}

void BenchConsoleReporter::Finalize()
{
	ConsoleReporter::Finalize();
	print_load();
	print_overhead();
	print_cv();
	print_skips();
	for (const std::string &name : errors_)
		printf("# FAILED: %s\n", name.c_str());
	print_counts();
	fflush(stdout);
}

void BenchJsonReporter::ReportRuns(const std::vector<Run> &runs)
{
	std::vector<Run> kept;
	for (const Run &run : runs)
		if (!is_skip(run) || skipped_.insert(run.benchmark_name()).second)
			kept.push_back(run);
	if (!kept.empty())
		JSONReporter::ReportRuns(kept);
}

}  // namespace

RunOutcome run_benchmarks(bool color, bool write_json)
{
	BenchConsoleReporter console(color);
	BenchJsonReporter json;
	benchmark::RunSpecifiedBenchmarks(&console, write_json ? &json : nullptr);
	benchmark::Shutdown();
	return {console.had_errors(), console.skipped() > 0};
}

}  // namespace bench
