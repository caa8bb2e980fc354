// The command-line options every kselftest harness program takes, checked
// before the harness runs so that a bad one ends with one line.
#pragma once

#include <string>
#include <vector>

namespace kvmt {

struct HarnessFilter {
	char option;        // 'r', 't', 'f' or 'v': must match some registered name
	std::string value;
};

struct HarnessOptions {
	bool listing = false;  // -l or -h: no TAP header, no profile
	std::vector<HarnessFilter> filters;
};

// False with *error set ("unknown option -x (see -h)") when argv is invalid.
bool parse_harness_options(int argc, char **argv, HarnessOptions *opts, std::string *error);

// Settings a program takes from the environment (run_kselftest.sh passes only
// argv, which the harness owns) are checked with argv: a program registers a
// check at static-initialization time; main() runs them all after argv.
using OptionCheck = bool (*)(std::string *error);
bool register_option_check(OptionCheck check);
// False with *error from the first check that fails.
bool run_option_checks(std::string *error);

}  // namespace kvmt
