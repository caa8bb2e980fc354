// Settings of the stress and random-sequence programs, taken from the
// environment because run_kselftest.sh passes only argv (and the harness owns
// argv). Each is checked before the harness runs: a bad value ends the
// program with one line and exit 1, like a bad option.
//
//   GMEM_SEED=N              the master seed to replay (default: a fresh one, printed)
//   GMEM_STRESS_SECONDS=S    stress duration per VM type (default 30)
//   GMEM_STRESS_ITERATIONS=N stress operations at most (default 100000000)
//   GMEM_STRESS_PAGES=N      stress guest_memfd size in host pages (default 256)
//   GMEM_STRESS_VCPUS=N      vCPU threads of the stress (default 2)
//   GMEM_RANDOM_OPS=N        random operations per VM type (default 10000)
//   GMEM_REPLAY='op; op'     run this sequence instead of random ones
//   GMEM_SHRINK_SECONDS=S    time the shrinker may take (default 60)
//   GMEM_TEST_TIMEOUT=S      the harness timeout of these tests (default: from the above)
//   GMEM_INJECT_FAULT=F      test-only faults that the tests must catch:
//                            byte (alias 1): one byte of a page flips behind the oracle's back
//                            oracle: the oracle forgets that a punch frees pages
//                            hang: a guest spins forever (the timeout must end it)
//                            kill-child: a forked reader is killed
#pragma once

#include <cstdint>
#include <string>

namespace kvmt {

struct EnvRange {
	const char *name;
	uint64_t min, max, def;
};

constexpr EnvRange kEnvStressSeconds = {"GMEM_STRESS_SECONDS", 1, 86400, 30};
constexpr EnvRange kEnvStressIterations = {"GMEM_STRESS_ITERATIONS", 1, 1ULL << 40, 100000000};
constexpr EnvRange kEnvStressPages = {"GMEM_STRESS_PAGES", 16, 262144, 256};
constexpr EnvRange kEnvStressVcpus = {"GMEM_STRESS_VCPUS", 1, 8, 2};
constexpr EnvRange kEnvRandomOps = {"GMEM_RANDOM_OPS", 1, 100000000, 10000};
constexpr EnvRange kEnvShrinkSeconds = {"GMEM_SHRINK_SECONDS", 0, 3600, 60};
constexpr EnvRange kEnvTestTimeout = {"GMEM_TEST_TIMEOUT", 0, 86400 * 7, 0};
constexpr EnvRange kEnvSeed = {"GMEM_SEED", 0, UINT64_MAX, 0};

// The variable's value (decimal or 0x hex), or its default when unset; false
// with *error ("GMEM_STRESS_SECONDS: '-5' is not a number in 1..86400") when
// set to anything else.
bool env_number(const EnvRange &r, uint64_t *value, std::string *error);
// The value, or the default when unset or invalid (checked before the run).
uint64_t env_number_or_default(const EnvRange &r);

enum class InjectedFault { None, FlipByte, BrokenOracle, GuestHang, KillChild };
bool env_injected_fault(InjectedFault *fault, std::string *error);
InjectedFault injected_fault();  // None when unset or invalid
const char *fault_name(InjectedFault f);

// GMEM_SEED, or one fresh seed per process (so every test of a run uses the same).
uint64_t master_seed();
std::string seed_text(uint64_t seed);  // "0x1234abcd"

// Checks every variable above; registered as an option check by the programs.
bool check_gmem_env(std::string *error);

}  // namespace kvmt
