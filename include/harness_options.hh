// The command-line options every kselftest harness program takes, checked
// before the harness runs so that a bad one ends with one line.
#pragma once

#include <string>

namespace kvmt {

struct HarnessOptions {
	bool listing = false;  // -l or -h: no TAP header, no profile
};

// False with *error set ("unknown option -x (see -h)") when argv is invalid.
bool parse_harness_options(int argc, char **argv, HarnessOptions *opts, std::string *error);

}  // namespace kvmt
