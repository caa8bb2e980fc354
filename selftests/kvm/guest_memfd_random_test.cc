// Seeded random operation sequences on guest_memfd, checked against a model
// (gmem_model.hh) that predicts every result from the contract: the data of
// every byte read, SIGBUS or not per page, errno and error_offset. Only the
// operations the running kernel offers are generated (conversions, with each
// content mode, only with per-gmem attributes). A failure is shrunk to the
// shortest sequence that still fails and printed with the seeds to replay it.
//
// Fixture random (a variant per known VM type):
//   sequences                 GMEM_RANDOM_OPS operations (default 10000) in sequences of 250;
//                             prints the operations per kind and the conversions made per
//                             direction and content mode; when none could be made (no
//                             per-gmem attributes, a VM type without private memory) it
//                             ends as a SKIP naming why, after every other operation matched
//   injected_flip_is_caught   a byte flipped behind the model's back is caught and shrunk
//   broken_oracle_is_caught   a model that forgets what a punch does is caught and shrunk
//
// Environment (include/harness/env_settings.hh): GMEM_SEED, GMEM_RANDOM_OPS, GMEM_REPLAY,
// GMEM_SHRINK_SECONDS, GMEM_INJECT_FAULT, GMEM_TEST_TIMEOUT; GMEM_EXPECT
// (in_place=on: conversions_required(), gmem_ops.hh).
#include <cstdlib>

#include "declared_profile.hh"
#include "env_settings.hh"
#include "gmem_model.hh"
#include "gmem_op_generator.hh"
#include "gmem_ops.hh"
#include "gmem_sequence_runner.hh"
#include "guest_memfd.hh"
#include "harness_options.hh"
#include "profile.hh"
#include "seeded_rng.hh"
#include "sequence_shrinker.hh"
#include "test.hh"
#include "vm.hh"

using namespace kvmt;

KVMT_KVM_PROGRAM();

namespace {

constexpr size_t kSequenceOps = 250;
constexpr const char *kReplayEnv = "GMEM_REPLAY";

// GMEM_REPLAY = "file=shared; op; op; ..." (the file= element is optional).
struct Replay {
	bool init_shared = true;
	std::vector<GmemOp> ops;
};

bool parse_replay(const std::string &text, Replay *r, std::string *error)
{
	std::string rest = text;
	size_t b = rest.find_first_not_of(' ');
	for (const char *init : {"file=shared", "file=private"}) {
		std::string head(init);
		if (b != std::string::npos && rest.compare(b, head.size(), head) == 0) {
			r->init_shared = head == "file=shared";
			rest = rest.substr(b + head.size());
			size_t semi = rest.find(';');
			rest = semi == std::string::npos ? "" : rest.substr(semi + 1);
		}
	}
	if (!parse_sequence(rest, &r->ops, error)) {
		*error = std::string(kReplayEnv) + ": " + *error;
		return false;
	}
	return true;
}

bool check_random_env(std::string *error)
{
	if (!check_gmem_env(error))
		return false;
	Replay r;
	const char *replay = getenv(kReplayEnv);
	return !replay || parse_replay(replay, &r, error);
}

[[maybe_unused]] const bool kEnvChecked = register_option_check(check_random_env);

// Chosen once, before the harness forks a process per test, and printed.
[[maybe_unused]] const bool kSeedPrinted = register_preamble([] {
	printf("# seed: GMEM_SEED=%s\n", seed_text(master_seed()).c_str());
});

// What the running kernel offers a VM of this type, for the model.
struct KernelOffer {
	AttributesFamily family;
	std::string family_evidence;
	uint64_t gmem_flags;
};

KernelOffer kernel_offer(const Vm &vm)
{
	Profile p = detect_profile();
	return {p.family, p.family_evidence, vm.guest_memfd_flags()};
}

GmemModelConfig model_config(const VmTypeInfo &type, const KernelOffer &k, bool init_shared)
{
	GmemModelConfig c;
	c.vm_type = type.name;
	c.family = k.family;
	c.init_shared = init_shared;
	c.guest = !type.needs_launch_flow;
	c.guest_private = type.private_memory;
	c.broken_punch = injected_fault() == InjectedFault::BrokenOracle;
	return c;
}

// A quarter of the sequences use a file created private, when that is offered.
bool pick_init_shared(uint64_t seq_seed, const KernelOffer &k)
{
	bool private_offered = k.gmem_flags & GUEST_MEMFD_FLAG_MMAP;
	return !private_offered || SeededRng(seq_seed).below(4) != 0;
}

RunnerFaults env_faults()
{
	InjectedFault f = injected_fault();
	RunnerFaults r;
	r.flip_byte = f == InjectedFault::FlipByte;
	r.kill_child = f == InjectedFault::KillChild;
	r.hang_guest = f == InjectedFault::GuestHang;
	return r;
}

void log(const std::string &msg)
{
	test_log("random: " + msg);
}

std::string file_text(bool init_shared)
{
	return init_shared ? "file=shared" : "file=private";
}

// A VM type the kernel does not offer skips here; one whose guest_memfd
// cannot be used in place is left to each test (require_usable()), so that sequences
// can hold a declared in-place profile against it.
struct RandomFixture {
	const VmTypeInfo &type;
	Vm vm;
	KernelOffer offer{};
	std::string unusable;  // why this type's guest_memfd cannot be used ("" when it can)
	explicit RandomFixture(const VmTypeVariant &v) : type(*v.type), vm(*v.type)
	{
		try {
			require_guest_memfd(vm, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
		} catch (const TestSkip &s) {
			unusable = s.reason;
			return;
		}
		offer = kernel_offer(vm);
	}
	void require_usable() const
	{
		if (!unusable.empty())
			skip(unusable);
	}
};

// Shrinks a failing sequence and prints the shortest one with its replay line.
ShrinkResult shrink_and_report(const RandomFixture &f, const GmemModelConfig &cfg,
			       RunnerFaults faults, std::vector<GmemOp> failing)
{
	log("shrinking " + std::to_string(failing.size()) + " operations ...");
	ShrinkBudget budget;
	budget.max_seconds = (double)env_number_or_default(kEnvShrinkSeconds);
	ShrinkResult s = shrink_sequence(
		failing,
		[&](const std::vector<GmemOp> &ops) {
			GmemSequenceRunner runner(f.type, cfg, faults);
			return runner.run(ops).has_value();
		},
		budget);
	log("shortest sequence that fails (" + std::to_string(s.ops.size()) + " operation(s), " +
	    std::to_string(s.runs) + " replays" + (s.budget_exhausted ? ", shrink budget exhausted" : "") +
	    "):");
	for (size_t i = 0; i < s.ops.size(); i++)
		log("  " + std::to_string(i) + ": " + op_text(s.ops[i]));
	GmemSequenceRunner again(f.type, cfg, faults);
	if (auto fail = again.run(s.ops))
		log("it fails with: " + fail->op + ": " + fail->what);
	return s;
}

std::string fault_prefix()
{
	InjectedFault f = injected_fault();
	return f == InjectedFault::None ? "" : std::string("GMEM_INJECT_FAULT=") + fault_name(f) + " ";
}

// Prints the failure, its shortest form and how to replay both, then fails
// the test at the caller's line.
[[noreturn]] void report_failure(const RandomFixture &f, const GmemModelConfig &cfg,
				 const std::string &where, const std::vector<GmemOp> &ops,
				 const SequenceFailure &fail, Where caller = Where::here())
{
	bool replaying = getenv(kReplayEnv) != nullptr;
	log("FAIL " + where + ", operation " + std::to_string(fail.op_index) + ": " + fail.op);
	log(fail.what);
	std::vector<GmemOp> prefix(ops.begin(), ops.begin() + fail.op_index + 1);
	ShrinkResult s = shrink_and_report(f, cfg, env_faults(), prefix);
	std::string test = std::string("random.") + f.type.name + ".sequences";
	if (!replaying)
		log("replay the run: GMEM_SEED=" + seed_text(master_seed()) + " GMEM_RANDOM_OPS=" +
		    std::to_string(env_number_or_default(kEnvRandomOps)) + " " + fault_prefix() +
		    "guest_memfd_random_test -r " + test);
	log("replay the shortest: " + std::string(kReplayEnv) + "='" + file_text(cfg.init_shared) +
	    "; " + sequence_text(s.ops) + "' " + fault_prefix() + "guest_memfd_random_test -r " + test);
	record_failure(caller.file, caller.line, "the kernel's results differ from the model's prediction");
	throw TestFailure{};
}

std::string errno_counts(const std::map<int, uint64_t> &counts)
{
	std::string s;
	for (const auto &[err, n] : counts)
		s += (s.empty() ? "" : ", ") + errno_name(err) + " " + std::to_string(n);
	return s.empty() ? "none" : s;
}

void print_conversions(const RandomFixture &f, const RunnerStats &s)
{
	if (!s.ops[static_cast<int>(OpKind::Convert)]) {
		log(std::string("conversions: 0 requested, 0 made (per-gmem attributes: ") + family_name(f.offer.family) +
		    ")");
		return;
	}
	uint64_t either = 0;
	for (const auto &e : s.either_errno)
		either += e.second;
	log("conversions: " + std::to_string(s.converted.total()) + " made (per-gmem attributes: " +
	    family_name(f.offer.family) + "): " + s.converted.text() + "; refused as predicted: " +
	    errno_counts(s.convert_refused) + "; both invalid and of a refused mode " +
	    std::to_string(either) + " (the spec allows EINVAL or EOPNOTSUPP; the kernel answered " +
	    errno_counts(s.either_errno) + ")");
}

// Why the run made no conversion ("" when it made some).
std::string why_no_conversion(const RandomFixture &f, const RunnerStats &s)
{
	if (s.converted.total())
		return "";
	if (f.offer.family == AttributesFamily::None)
		return "no per-gmem attributes (" + f.offer.family_evidence + "): none generated";
	uint64_t requests = s.ops[static_cast<int>(OpKind::Convert)];
	if (!type_converts_in_place(f.type.name))
		return std::string(f.type.name) + " VMs have no private memory: all " +
		       std::to_string(requests) + " requests refused as the contract says (" +
		       errno_counts(s.convert_refused) + ")";
	return "none of the " + std::to_string(requests) + " conversion requests succeeded";
}

// No conversion made (why says why): a failure when the declared profile
// requires conversions of this VM type, else a skip with skip_text.
[[noreturn]] void end_without_conversions(const RandomFixture &f, const std::string &why,
					  const std::string &skip_text)
{
	if (conversions_required() && type_converts_in_place(f.type.name))
		feature_missing(Feature::InPlace, "", "random: no conversion was made: " + why);
	skip(skip_text);
}

// Zero conversions: a SKIP naming why (every other operation matched the
// model), or a failure when a declared profile requires conversions here.
void end_of_conversion_part(const RandomFixture &f, const RunnerStats &s)
{
	std::string none = why_no_conversion(f, s);
	if (!none.empty())
		end_without_conversions(f, none,
					"conversions: " + none + "; every other operation matched the model");
}

void print_offer(const RandomFixture &f)
{
	GmemModelConfig cfg = model_config(f.type, f.offer, true);
	std::string offered, missing;
	for (int k = 0; k < kOpKinds; k++) {
		std::string &list = op_offered(cfg, static_cast<OpKind>(k)) ? offered : missing;
		list += std::string(list.empty() ? "" : " ") + op_kind_name(static_cast<OpKind>(k));
	}
	log("operations: " + offered + (missing.empty() ? "" : "; not offered here: " + missing) +
	    " [per-gmem attributes: " + family_name(f.offer.family) + "; " + f.offer.family_evidence + "]");
}

void print_stats(const RunnerStats &s, size_t sequences)
{
	std::string kinds;
	for (int k = 0; k < kOpKinds; k++)
		if (s.ops[k])
			kinds += std::string(" ") + op_kind_name(static_cast<OpKind>(k)) + " " +
				 std::to_string(s.ops[k]);
	log(std::to_string(s.executed()) + " operations in " + std::to_string(sequences) +
	    " sequences, 0 differences from the model; pages compared byte by byte " +
	    std::to_string(s.pages_compared) + ", SIGBUS predicted " + std::to_string(s.sigbus_checked) +
	    ", errors predicted " + std::to_string(s.errno_checked) + ", skipped (not applicable) " +
	    std::to_string(s.skipped) + ";" + kinds);
}

void run_replay(const RandomFixture &f, const std::string &text)
{
	Replay r;
	std::string error;
	ASSERT_TRUE(parse_replay(text, &r, &error)) << error;
	GmemModelConfig cfg = model_config(f.type, f.offer, r.init_shared);
	log("replaying " + std::to_string(r.ops.size()) + " operations on a " + file_text(r.init_shared) +
	    " guest_memfd");
	GmemSequenceRunner runner(f.type, cfg, env_faults());
	if (auto fail = runner.run(r.ops))
		report_failure(f, cfg, "in the replayed sequence", r.ops, *fail);
	print_stats(runner.stats(), 1);
	print_conversions(f, runner.stats());  // the replayed operations decide; no skip
}

void run_sequences(const RandomFixture &f)
{
	uint64_t seed = master_seed(), total = env_number_or_default(kEnvRandomOps);
	size_t sequences = (total + kSequenceOps - 1) / kSequenceOps;
	log("seed " + seed_text(seed) + ": " + std::to_string(total) + " operations in " +
	    std::to_string(sequences) + " sequences on a " + f.type.name +
	    " VM (replay: GMEM_SEED=" + seed_text(seed) + " GMEM_RANDOM_OPS=" + std::to_string(total) + ")");
	print_offer(f);
	RunnerStats stats;
	for (size_t s = 0; s < sequences; s++) {
		uint64_t seq_seed = derive_seed(seed, s);
		size_t len = std::min<uint64_t>(kSequenceOps, total - s * kSequenceOps);
		GmemModelConfig cfg = model_config(f.type, f.offer, pick_init_shared(seq_seed, f.offer));
		std::vector<GmemOp> ops = generate_ops(cfg, seq_seed, len);
		GmemSequenceRunner runner(f.type, cfg, env_faults());
		std::optional<SequenceFailure> fail = runner.run(ops);
		stats.add(runner.stats());
		if (fail)
			report_failure(f, cfg,
				       "in sequence " + std::to_string(s) + " (sequence seed " +
					       seed_text(seq_seed) + ", " + file_text(cfg.init_shared) + ")",
				       ops, *fail);
	}
	print_stats(stats, sequences);
	print_conversions(f, stats);
	end_of_conversion_part(f, stats);
}


// A fault the runner must catch: a random prefix, then a tail that surely
// exposes it; the failure must shrink to at most max_ops operations.
void fault_is_caught(const RandomFixture &f, GmemModelConfig cfg, RunnerFaults faults,
		     std::vector<GmemOp> tail, size_t max_ops)
{
	uint64_t seed = derive_seed(master_seed(), 1000);
	std::vector<GmemOp> ops = generate_ops(cfg, seed, 60);
	// The tail reaches its page through the host mapping: the prefix may have
	// left it private (then every access SIGBUSes and nothing is exposed).
	if (op_offered(cfg, OpKind::Convert))
		ops.push_back(make_op(OpKind::Convert, tail.front().first, 1));  // to shared, unspecified
	ops.insert(ops.end(), tail.begin(), tail.end());
	log("self-check with seed " + seed_text(master_seed()) + ": " + std::to_string(ops.size()) +
	    " operations, the fault must be caught");
	GmemSequenceRunner runner(f.type, cfg, faults);
	std::optional<SequenceFailure> fail = runner.run(ops);
	ASSERT_TRUE(fail.has_value()) << "the fault went unnoticed in " << ops.size() << " operations";
	log("caught at operation " + std::to_string(fail->op_index) + ": " + fail->op + ": " + fail->what);
	std::vector<GmemOp> prefix(ops.begin(), ops.begin() + fail->op_index + 1);
	ShrinkResult s = shrink_and_report(f, cfg, faults, prefix);
	ASSERT_LE(s.ops.size(), max_ops) << sequence_text(s.ops);
	GmemSequenceRunner replay(f.type, cfg, faults);
	ASSERT_TRUE(replay.run(s.ops).has_value()) << "the shortest sequence passes: " << sequence_text(s.ops);
}

int sequences_timeout()
{
	if (uint64_t t = env_number_or_default(kEnvTestTimeout))
		return (int)t;
	return (int)(120 + env_number_or_default(kEnvRandomOps) / 100 +
		     env_number_or_default(kEnvShrinkSeconds));
}

int self_check_timeout()
{
	uint64_t t = env_number_or_default(kEnvTestTimeout);
	return t ? (int)t : (int)(60 + env_number_or_default(kEnvShrinkSeconds));
}

}  // namespace

KVMT_FIXTURE(random, RandomFixture, VmTypeVariant, vm_type_variants());

// Every result of random operation sequences (data, SIGBUS, errno, error_offset) is the
// one the model of spec sections 3-4 predicts.
KVMT_TEST_F_TIMEOUT(random, sequences, sequences_timeout())
{
	if (!f.unusable.empty())
		end_without_conversions(f, f.unusable, f.unusable);
	if (const char *replay = getenv(kReplayEnv))
		run_replay(f, replay);
	else
		run_sequences(f);
}

// Self-check: a byte flipped behind the model's back is caught and shrunk to two operations.
KVMT_TEST_F_TIMEOUT(random, injected_flip_is_caught, self_check_timeout())
{
	f.require_usable();
	RunnerFaults faults;
	faults.flip_byte = true;
	fault_is_caught(f, model_config(f.type, f.offer, true), faults,
			{make_op(OpKind::HostWrite, 2, 1, 0xf1), make_op(OpKind::HostRead, 2, 1)}, 2);
}

// Self-check: a model that forgets what a punch does is caught and shrunk to at
// most four operations: write, punch, then a read, or a hold and its release
// (the random prefix may expose it either way; both are 1-minimal).
KVMT_TEST_F_TIMEOUT(random, broken_oracle_is_caught, self_check_timeout())
{
	f.require_usable();
	GmemModelConfig cfg = model_config(f.type, f.offer, true);
	cfg.broken_punch = true;
	fault_is_caught(f, cfg, RunnerFaults(),
			{make_op(OpKind::HostWrite, 2, 1, 0xf2), make_op(OpKind::Punch, 2, 1),
			 make_op(OpKind::HostRead, 2, 1)},
			4);
}
