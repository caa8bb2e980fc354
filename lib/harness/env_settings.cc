#include "env_settings.hh"

#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace kvmt {

namespace {

struct FaultName {
	InjectedFault fault;
	const char *name;
};

const FaultName kFaults[] = {
	{InjectedFault::FlipByte, "byte"},      {InjectedFault::FlipByte, "1"},
	{InjectedFault::BrokenOracle, "oracle"}, {InjectedFault::GuestHang, "hang"},
	{InjectedFault::KillChild, "kill-child"},
};

bool parse_u64(const char *s, uint64_t *v)
{
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	char *end = nullptr;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*v = n;
	return true;
}

}  // namespace

bool env_number(const EnvRange &r, uint64_t *value, std::string *error)
{
	*value = r.def;
	const char *s = getenv(r.name);
	if (!s)
		return true;
	uint64_t v;
	if (parse_u64(s, &v) && v >= r.min && v <= r.max) {
		*value = v;
		return true;
	}
	char range[64];
	snprintf(range, sizeof(range), "%" PRIu64 "..%" PRIu64, r.min, r.max);
	*error = std::string(r.name) + ": '" + s + "' is not a number in " + range;
	return false;
}

uint64_t env_number_or_default(const EnvRange &r)
{
	uint64_t v;
	std::string error;
	return env_number(r, &v, &error) ? v : r.def;
}

bool env_injected_fault(InjectedFault *fault, std::string *error)
{
	*fault = InjectedFault::None;
	const char *s = getenv("GMEM_INJECT_FAULT");
	if (!s || !*s || !strcmp(s, "0"))
		return true;
	for (const FaultName &f : kFaults)
		if (!strcmp(s, f.name)) {
			*fault = f.fault;
			return true;
		}
	*error = std::string("GMEM_INJECT_FAULT: unknown fault '") + s +
		 "' (byte, oracle, hang, kill-child)";
	return false;
}

InjectedFault injected_fault()
{
	InjectedFault f;
	std::string error;
	return env_injected_fault(&f, &error) ? f : InjectedFault::None;
}

const char *fault_name(InjectedFault f)
{
	for (const FaultName &n : kFaults)
		if (n.fault == f)
			return n.name;
	return "none";
}

uint64_t master_seed()
{
	static uint64_t seed = [] {
		uint64_t s = 0;
		std::string error;
		if (getenv(kEnvSeed.name) && env_number(kEnvSeed, &s, &error))
			return s;
		if (getrandom(&s, sizeof(s), 0) != sizeof(s))
			s = (uint64_t)time(nullptr) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
		return s;
	}();
	return seed;
}

std::string seed_text(uint64_t seed)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, seed);
	return buf;
}

bool check_gmem_env(std::string *error)
{
	const EnvRange *ranges[] = {&kEnvStressSeconds, &kEnvStressIterations, &kEnvStressPages,
				    &kEnvStressVcpus,   &kEnvRandomOps,        &kEnvShrinkSeconds,
				    &kEnvTestTimeout,   &kEnvSeed};
	uint64_t v;
	for (const EnvRange *r : ranges)
		if (!env_number(*r, &v, error))
			return false;
	InjectedFault f;
	return env_injected_fault(&f, error);
}

}  // namespace kvmt
