// Errors of the library: a failed system call the test did not expect is an
// Error (the test fails with its message); errno values print by name.
#pragma once

#include <ostream>
#include <stdexcept>
#include <string>

namespace kvmt {

struct Error : std::runtime_error {
	using std::runtime_error::runtime_error;
};

// "EINVAL", or "errno 1234" for a value glibc does not name.
std::string errno_name(int err);
// "-1 (EINVAL: Invalid argument)" or "0" for a call's return value.
std::string result_text(long ret, int err);

// An errno value that compares as a number and prints as its name, so that
// EXPECT_EQ(Errno(r.err), Errno(EINVAL)) reports "EAGAIN vs EINVAL".
struct Errno {
	int value;
	explicit Errno(int v) : value(v) {}
	bool operator==(const Errno &o) const { return value == o.value; }
	bool operator!=(const Errno &o) const { return value != o.value; }
};
std::ostream &operator<<(std::ostream &os, const Errno &e);

// "exit status 3" or "killed by signal 9", from a waitpid() status.
std::string wait_status_text(int status);

// Throws Error("<what>: <errno name>") when ret is -1.
long sys_check(long ret, const std::string &what);

}  // namespace kvmt
