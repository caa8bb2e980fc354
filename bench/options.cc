#include "options.hh"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace bench {
namespace {

const char *const kDefaults[] = {
	"--benchmark_repetitions=9",
	"--benchmark_min_time=0.1",
	"--benchmark_display_aggregates_only=true",
	// Repetitions of all benchmarks shuffled: a busy spell of the machine
	// spreads over many benchmarks instead of shifting one median.
	"--benchmark_enable_random_interleaving=true",
	"--benchmark_out_format=json",
};

bool starts_with(const std::string &s, const char *prefix)
{
	return s.rfind(prefix, 0) == 0;
}

std::string kernel_release()
{
	utsname u;
	return uname(&u) ? "unknown-kernel" : u.release;
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

std::string release_dir(const Options &opts)
{
	return opts.results_dir + "/" + kernel_release();
}

}  // namespace

void print_usage(const char *argv0)
{
	printf("usage: %s [--results_dir=DIR] [Google Benchmark flags]\n"
	       "  JSON results go to DIR/<kernel release>/<UTC time>.json (default DIR: results),\n"
	       "  unless --benchmark_out=FILE is given. Defaults: 9 repetitions, 0.1 s per\n"
	       "  repetition, repetitions interleaved, aggregates only on the console.\n"
	       "  Google Benchmark's flags follow.\n\n",
	       argv0);
}

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

}  // namespace bench
