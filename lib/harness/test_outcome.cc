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

void test_log(const std::string &msg)
{
	fprintf(stderr, "# %s\n", msg.c_str());
}

}  // namespace kvmt
