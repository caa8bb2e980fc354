// How a test body reports its outcome: skip, failed checks, diagnostics.
// Kept apart from the harness registry and main() so that programs with a
// main of their own (the benchmarks) link the library without them.
#include <cstdio>

#include "test.hh"

namespace kvmt {
namespace {
bool g_failed = false;
std::string g_last_failure;
}  // namespace

void skip(const std::string &reason)
{
	throw TestSkip{reason};
}

void record_failure(const char *file, int line, const std::string &what)
{
	g_failed = true;
	g_last_failure = std::string(file) + ":" + std::to_string(line) + ": " + what;
	fprintf(stderr, "# %s\n", g_last_failure.c_str());
}

bool test_failed()
{
	return g_failed;
}

std::string last_failure()
{
	return g_last_failure;
}

void FailedCheck::operator=(const Context &context) const
{
	std::string line = what;
	if (std::string extra = context.text(); !extra.empty())
		line += ": " + extra;
	if (const auto &caller = context.caller())
		record_failure(caller->file, caller->line,
			       line + " (checked at " + file + ":" + std::to_string(this->line) + ")");
	else
		record_failure(file, this->line, line);
	if (fatal)
		throw TestFailure{};
}

std::optional<std::string> errno_mismatch(const std::function<long()> &call, int err,
					  const char *expr)
{
	errno = 0;
	long ret = call();
	int got = errno;
	if (ret == -1 && got == err)
		return std::nullopt;
	return std::string(expr) + " should fail with " + errno_name(err) + ", got " +
	       result_text(ret, got);
}

std::optional<std::string> call_failure(const std::function<long()> &call, const char *expr)
{
	errno = 0;
	long ret = call();
	int got = errno;
	if (ret >= 0)
		return std::nullopt;
	return std::string(expr) + " should succeed, got " + result_text(ret, got);
}

void test_log(const std::string &msg)
{
	fprintf(stderr, "# %s\n", msg.c_str());
}

}  // namespace kvmt
