#include "harness_options.hh"

#include <getopt.h>

#include <cctype>
#include <cstring>
#include <vector>

namespace kvmt {

// The harness's own getopt string (kselftest_harness.h, test_harness_argv_check).
static constexpr const char *kHarnessOptions = "hlF:f:V:v:t:T:r:";

bool parse_harness_options(int argc, char **argv, HarnessOptions *opts, std::string *error)
{
	opterr = 0;
	optind = 1;
	int opt;
	bool ok = true;
	while (ok && (opt = getopt(argc, argv, kHarnessOptions)) != -1) {
		if (opt == 'l' || opt == 'h')
			opts->listing = true;
		if (strchr("rtfv", opt))
			opts->filters.push_back({(char)opt, optarg});
		if (opt != '?')
			continue;
		std::string flag(1, isprint(optopt) ? (char)optopt : '?');
		*error = strchr(kHarnessOptions, optopt) && optopt
				 ? "option -" + flag + " needs a value (see -h)"
				 : "unknown option -" + flag + " (see -h)";
		ok = false;
	}
	if (ok && optind < argc) {
		*error = std::string("unexpected argument '") + argv[optind] + "' (see -h)";
		ok = false;
	}
	optind = 1;
	opterr = 1;
	return ok;
}

static std::vector<OptionCheck> &option_checks()
{
	static std::vector<OptionCheck> checks;
	return checks;
}

bool register_option_check(OptionCheck check)
{
	option_checks().push_back(check);
	return true;
}

bool run_option_checks(std::string *error)
{
	for (OptionCheck check : option_checks())
		if (!check(error))
			return false;
	return true;
}

}  // namespace kvmt
