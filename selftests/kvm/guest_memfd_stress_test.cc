// Stress: concurrent actors on one in-place guest_memfd, every byte checked
// against what the operations imply. vCPU threads check and write pages from
// guest code, host threads through the mapping, a hole puncher frees pages,
// forked readers check (and sometimes write) from another process, and where
// the kernel offers per-gmem attributes a converter takes pages through
// private and back while the vCPUs fault on their neighbours. Each actor
// claims a run of pages, checks it against what the last owner recorded,
// changes it and records the result. A mismatch prints the page, offset,
// expected and seen bytes, who last changed the page, and the seed.
//
// What a page must hold comes from the contract (conversion_contract.hh), never
// from what the kernel returned: after a conversion whose contents the
// contract leaves unspecified (or scrambled) every actor only checks that the
// page reads without SIGBUS.
//
// Fixture stress (a variant per known VM type):
//   mixed                     every actor for GMEM_STRESS_SECONDS (default 30); prints
//                             the operations per kind and the conversions made per
//                             direction and mode; when no conversion was possible
//                             (no per-gmem attributes, a VM type without private
//                             memory) it ends as a SKIP naming why, after the other
//                             actors ran and passed
//   injected_flip_is_caught   2 s with a byte flipped behind the actors' back: must be caught
//
// Environment (include/harness/env_settings.hh): GMEM_SEED, GMEM_STRESS_SECONDS,
// GMEM_STRESS_ITERATIONS, GMEM_STRESS_PAGES, GMEM_STRESS_VCPUS,
// GMEM_INJECT_FAULT (byte, oracle, hang, kill-child), GMEM_TEST_TIMEOUT;
// GMEM_EXPECT (in_place=on: conversions_required(), gmem_ops.hh).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "conversion_contract.hh"
#include "declared_profile.hh"
#include "env_settings.hh"
#include "gmem_ops.hh"
#include "guest_memfd.hh"
#include "guest_pages.hh"
#include "guest_vm.hh"
#include "harness_options.hh"
#include "page_ownership.hh"
#include "page_size.hh"
#include "peer.hh"
#include "profile.hh"
#include "seeded_rng.hh"
#include "sigbus.hh"
#include "test.hh"

using namespace kvmt;

KVMT_KVM_PROGRAM();

namespace {

constexpr uint32_t kGmemSlot = 1;
constexpr uint64_t kFlipOffset = 0x123;
constexpr int kHostThreads = 2;
constexpr int kHostBase = 100, kPuncher = 200, kForker = 300, kConverter = 400;

[[maybe_unused]] const bool kEnvChecked = register_option_check(check_gmem_env);
[[maybe_unused]] const bool kSeedPrinted = register_preamble([] {
	printf("# seed: GMEM_SEED=%s\n", seed_text(master_seed()).c_str());
});

struct StressSettings {
	double seconds;
	uint64_t iterations, pages;
	int vcpus;
	uint64_t seed;
	InjectedFault fault;

	static StressSettings from_env()
	{
		return {(double)env_number_or_default(kEnvStressSeconds),
			env_number_or_default(kEnvStressIterations),
			env_number_or_default(kEnvStressPages),
			(int)env_number_or_default(kEnvStressVcpus), master_seed(), injected_fault()};
	}
};

std::string actor_name(int id)
{
	if (id < 0)
		return "the final sweep";
	if (id < kHostBase)
		return "vCPU " + std::to_string(id);
	if (id < kPuncher)
		return "host thread " + std::to_string(id - kHostBase);
	if (id == kPuncher)
		return "hole puncher";
	if (id == kForker)
		return "forked reader";
	if (id == kConverter)
		return "converter";
	return "nobody";
}

struct Counters {
	std::atomic<uint64_t> guest{0}, host{0}, punch{0}, allocate{0}, fork{0}, fork_writes{0},
		convert{0}, convert_eagain{0}, pages_checked{0}, pages_unspecified{0};
	ConversionCounts converted;  // the converter's alone; read after it stopped
};

// Which content modes the contract lets a conversion use, per direction.
struct ConversionPlan {
	bool offered = false;
	std::string why;
	AttributesFamily family = AttributesFamily::None;
	std::vector<ContentMode> to_private, to_shared;
};

ConversionPlan conversion_plan(const VmTypeInfo &type)
{
	ConversionPlan c;
	Profile p = detect_profile();
	c.family = p.family;
	if (p.family == AttributesFamily::None)
		c.why = "no per-gmem attributes (" + p.family_evidence + ")";
	if (!type.private_memory)
		c.why += std::string(c.why.empty() ? "" : "; ") + type.name +
			 " VMs have no private memory (EINVAL by the contract)";
	if (!c.why.empty())
		return c;
	for (ContentMode m : kContentModes) {
		auto ok = [&](Direction d) {
			return contract_cell(type.name, d, m, LaunchPhase::BeforeFinalize, p.family).err == 0;
		};
		if (ok(Direction::ToPrivate))
			c.to_private.push_back(m);
		if (ok(Direction::ToShared))
			c.to_shared.push_back(m);
	}
	c.offered = !c.to_private.empty() && !c.to_shared.empty();
	if (!c.offered)
		c.why = std::string("the contract offers ") + type.name +
			" VMs no content mode in one of the directions";
	return c;
}

std::string memory_text(uint64_t bytes)
{
	return "not enough memory for a " + std::to_string(bytes >> 20) + " MiB guest_memfd";
}

// Skips when the guest_memfd would take more than half of MemAvailable.
void require_memory(uint64_t bytes)
{
	FILE *f = fopen("/proc/meminfo", "r");
	unsigned long long kb = 0;
	char line[128];
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	if (kb && bytes / 1024 > kb / 2)
		skip(memory_text(bytes) + ": MemAvailable is " + std::to_string(kb >> 10) + " MiB");
}

class Stress {
public:
	Stress(const VmTypeInfo &type, StressSettings s)
		: type_(type), s_(s), tvm_(type), pages_(s.pages), plan_(conversion_plan(type))
	{
		uint64_t flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
		require_guest_memfd(tvm_.vm(), flags);
		uint64_t bytes = s.pages * page_size();
		require_memory(bytes);
		gmem_ = std::make_unique<GuestMemfd>(tvm_.vm(), bytes, flags);
		void *p = gmem_->__map(0, bytes, PROT_READ | PROT_WRITE, MAP_SHARED);
		if (p == MAP_FAILED && errno == ENOMEM)
			skip(memory_text(bytes) + ": mmap: ENOMEM (Cannot allocate memory)");
		if (p == MAP_FAILED)
			sys_check(-1, "mmap(guest_memfd)");
		map_ = Mapping(p, bytes);
		tvm_.add_gmem_slot(kGmemSlot, kTestGpaBase, bytes, gmem_->fd(), 0, map_.data());
		for (int i = 0; i < s.vcpus; i++)
			guests_.push_back(std::make_unique<GuestPages>(tvm_, i, kTestGpaBase));
	}

	// Runs every actor until the time or the iterations are up (or a
	// failure), then checks every page once more. Returns the failure, if any.
	std::string run()
	{
		log("seed " + seed_text(s_.seed) + " (replay: GMEM_SEED=" + seed_text(s_.seed) + "), " +
		    std::to_string(s_.pages) + " pages, " + std::to_string(s_.vcpus) + " vCPUs, " +
		    std::to_string(kHostThreads) + " host threads, puncher, forked reader, conversions " +
		    (plan_.offered ? "on" : "off: " + plan_.why) + ", up to " + std::to_string((int)s_.seconds) + " s");
		auto start = std::chrono::steady_clock::now();
		std::vector<std::thread> threads;
		for (int i = 0; i < s_.vcpus; i++)
			threads.emplace_back(&Stress::actor, this, i, [this, i] { vcpu_actor(i); });
		for (int i = 0; i < kHostThreads; i++)
			threads.emplace_back(&Stress::actor, this, kHostBase + i, [this, i] { host_actor(kHostBase + i); });
		threads.emplace_back(&Stress::actor, this, kPuncher, [this] { punch_actor(); });
		threads.emplace_back(&Stress::actor, this, kForker, [this] { fork_actor(); });
		if (plan_.offered)
			threads.emplace_back(&Stress::actor, this, kConverter, [this] { convert_actor(); });
		wait_until(start + std::chrono::milliseconds((int64_t)(s_.seconds * 1000)));
		for (std::thread &t : threads)
			t.join();
		took_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
		if (failure_.empty())
			actor(-1, [this] { final_sweep(); });
		print_counts();
		print_conversions();
		return failure_;
	}

	// Why the run made no conversion ("" when it made some).
	std::string why_no_conversion() const
	{
		if (n_.converted.total())
			return "";
		if (!plan_.offered)
			return plan_.why;
		char buf[96];
		snprintf(buf, sizeof(buf), "none succeeded in %.1f s (%llu operations)", took_,
			 (unsigned long long)ops_.load());
		return buf;
	}

private:
	static void log(const std::string &msg) { test_log("stress: " + msg); }

	bool stopping() const { return stop_.load() || ops_.load() >= s_.iterations; }

	void wait_until(std::chrono::steady_clock::time_point deadline)
	{
		while (!stopping() && std::chrono::steady_clock::now() < deadline)
			std::this_thread::sleep_for(std::chrono::milliseconds(20));
		stop_ = true;
	}

	// Records the first failure and stops every actor; returns false.
	bool fail(int actor, const std::string &when, const std::string &what)
	{
		std::lock_guard<std::mutex> lock(fail_mu_);
		if (failure_.empty())
			failure_ = actor_name(actor) + " " + when + ": " + what + "; GMEM_SEED=" +
				   seed_text(s_.seed);
		stop_ = true;
		return false;
	}

	void actor(int id, const std::function<void()> &body)
	{
		try {
			body();
		} catch (const std::exception &e) {
			fail(id, "stopped", e.what());
		} catch (const TestFailure &) {
			fail(id, "stopped", "guest assertion failed");
		} catch (const TestSkip &sk) {
			fail(id, "stopped", "cannot run: " + sk.reason);
		}
	}

	uint8_t *page(uint64_t i) { return map_.data() + i * page_size(); }
	uint64_t new_seed(int actor) { return ((uint64_t)(actor + 1) << 40) | ++generation_; }

	bool claim_run(SeededRng &rng, int actor, uint64_t max, uint64_t *first, uint64_t *count)
	{
		while (!stopping()) {
			*count = rng.between(1, max);
			*first = rng.below(s_.pages - *count + 1);
			if (pages_.claim(*first, *count, actor))
				return true;
			std::this_thread::yield();
		}
		return false;
	}

	void done(uint64_t first, uint64_t count, int actor)
	{
		pages_.release(first, count, actor);
		ops_++;
	}

	std::string last_change(uint64_t p)
	{
		const PageRecord &r = pages_.record(p);
		return "; the page was last changed by " + actor_name(r.writer) + " (" + r.how + ")";
	}

	bool byte_mismatch(int actor, const char *when, uint64_t off, const PageContent &c, uint8_t seen)
	{
		return fail(actor, when, describe_byte_mismatch(off, c, seen) + last_change(off / page_size()));
	}

	bool host_verify(uint64_t first, uint64_t count, int actor, const char *when)
	{
		for (uint64_t p = first; p < first + count; p++) {
			if (probe(page(p), Access::Read).sigbus)
				return fail(actor, when, "page " + std::to_string(p) + ": SIGBUS on a shared page" +
								 last_change(p));
			const PageContent &c = pages_.record(p).content;
			int64_t bad = first_content_mismatch(page(p), p * page_size(), c);
			if (bad >= 0)
				return byte_mismatch(actor, when, p * page_size() + bad, c, page(p)[bad]);
			count_checked(c);
		}
		return true;
	}

	// Pages whose contents the contract leaves unspecified are read, not compared.
	void count_checked(const PageContent &c)
	{
		if (c.kind == PageContent::Any)
			n_.pages_unspecified++;
		else
			n_.pages_checked++;
	}

	void record(uint64_t first, uint64_t count, PageContent c, int actor, const char *how)
	{
		for (uint64_t p = first; p < first + count; p++)
			pages_.record(p) = {c, actor, how};
	}

	bool guest_pass(GuestPages &g, uint64_t first, uint64_t count, int actor,
			std::optional<PageContent> write)
	{
		std::vector<PageContent> expect;
		for (uint64_t p = first; p < first + count; p++)
			expect.push_back(pages_.record(p).content);
		GuestPagesResult r = g.run(first, count, expect, write);
		if (r.mismatch)
			return byte_mismatch(actor, "checking from the guest", r.file_offset, r.expected, r.seen);
		for (const PageContent &c : expect)
			count_checked(c);
		return true;
	}

	void vcpu_actor(int i)
	{
		SeededRng rng(derive_seed(s_.seed, i));
		if (s_.fault == InjectedFault::GuestHang && i == 0)
			guests_[i]->hang_next_round();
		uint64_t first, count;
		while (claim_run(rng, i, kGuestOpsMaxPages, &first, &count)) {
			std::optional<PageContent> write;
			if (rng.chance(75))
				write = PageContent::pattern(new_seed(i));
			if (!guest_pass(*guests_[i], first, count, i, write))
				return pages_.release(first, count, i);
			if (write)
				record(first, count, *write, i, "guest write");
			n_.guest++;
			done(first, count, i);
		}
	}

	void host_actor(int id)
	{
		SeededRng rng(derive_seed(s_.seed, id));
		uint64_t first, count;
		while (claim_run(rng, id, 16, &first, &count)) {
			if (!host_verify(first, count, id, "checking before writing"))
				return pages_.release(first, count, id);
			if (rng.chance(75)) {
				PageContent w = PageContent::pattern(new_seed(id));
				for (uint64_t p = first; p < first + count; p++)
					fill_content(page(p), p * page_size(), w);
				record(first, count, w, id, "host write");
				if (s_.fault == InjectedFault::FlipByte && !flipped_.exchange(true))
					page(first)[kFlipOffset] ^= 0x5a;  // behind every actor's back
			}
			n_.host++;
			done(first, count, id);
		}
	}

	void punch_actor()
	{
		SeededRng rng(derive_seed(s_.seed, kPuncher));
		uint64_t first, count;
		while (claim_run(rng, kPuncher, 8, &first, &count)) {
			if (!host_verify(first, count, kPuncher, "checking before punching"))
				return pages_.release(first, count, kPuncher);
			if (rng.chance(15)) {
				gmem_->allocate(first * page_size(), count * page_size());  // keeps the data
				n_.allocate++;
			} else {
				gmem_->punch_hole(first * page_size(), count * page_size());
				if (s_.fault != InjectedFault::BrokenOracle)
					record(first, count, PageContent::zero(), kPuncher, "punch");
				n_.punch++;
				if (rng.chance(30) && !host_verify(first, count, kPuncher, "checking after punching"))
					return pages_.release(first, count, kPuncher);
			}
			done(first, count, kPuncher);
			std::this_thread::sleep_for(std::chrono::microseconds(300));
		}
	}

	// The child checks what the record promises: a pattern or zeros byte by
	// byte; contents the contract leaves unspecified only for reading.
	bool peer_check(Peer &peer, uint64_t p)
	{
		const PageContent &c = pages_.record(p).content;
		PeerReply r = peer.check_content(p * page_size(), page_size(), c);
		if (r.err || r.sigbus_pages)
			return fail(kForker, "checking", "page " + std::to_string(p) + ": " +
							  (r.err ? errno_name(r.err) : "SIGBUS on a shared page") +
							  last_change(p));
		if (r.mismatches)
			return byte_mismatch(kForker, "checking", r.first_bad, c, r.seen);
		count_checked(c);
		return true;
	}

	// One forked child checks a run of pages and sometimes writes them.
	bool fork_round(SeededRng &rng, uint64_t first, uint64_t count)
	{
		Peer peer(Peer::Kind::ForkedChild, gmem_->fd());
		try {
			if (PeerReply m = peer.map(s_.pages * page_size()); m.err)
				return fail(kForker, "mapping", errno_name(m.err));
			if (s_.fault == InjectedFault::KillChild && !killed_.exchange(true))
				kill(peer.pid(), SIGKILL);
			for (uint64_t p = first; p < first + count; p++)
				if (!peer_check(peer, p))
					return false;
			if (rng.chance(30)) {
				PageContent w = PageContent::pattern(new_seed(kForker));
				PeerReply r = peer.fill(first * page_size(), count * page_size(), w.seed);
				if (r.err || r.sigbus_pages)
					return fail(kForker, "writing", "SIGBUS or error in the child");
				record(first, count, w, kForker, "write from a forked child");
				n_.fork_writes++;
			}
		} catch (const Error &e) {
			int status = peer.finish();
			return fail(kForker, "checking", std::string("the child died: ") + e.what() +
								 " (exit status " + std::to_string(status) + ")");
		}
		if (int status = peer.finish())
			return fail(kForker, "finishing", "the child exited with status " + std::to_string(status));
		return true;
	}

	void fork_actor()
	{
		SeededRng rng(derive_seed(s_.seed, kForker));
		uint64_t first, count;
		while (claim_run(rng, kForker, 16, &first, &count)) {
			if (!fork_round(rng, first, count))
				return pages_.release(first, count, kForker);
			n_.fork++;
			done(first, count, kForker);
			std::this_thread::sleep_for(std::chrono::milliseconds(2));
		}
	}

	// EAGAIN is allowed to-private only (transient references, retried by
	// GuestMemfd::convert), each with an error_offset inside the range and
	// no page changed.
	bool convert(uint64_t first, uint64_t count, bool to_private, ContentMode mode)
	{
		uint64_t attrs = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
		uint64_t offset = first * page_size(), size = count * page_size();
		Direction direction = to_private ? Direction::ToPrivate : Direction::ToShared;
		auto what = [&](int err) {
			return std::string(direction_name(direction)) + " " + mode_name(mode) + ": " +
			       errno_name(err);
		};
		bool refusals_ok = true;
		auto check_refusal = [&](const AttributesResult &r) {
			if (r.error_offset % page_size() || r.error_offset < offset ||
			    r.error_offset >= offset + size)
				refusals_ok = fail(kConverter, "converting", what(r.err) + " with error_offset " +
									     seed_text(r.error_offset) + " outside the range");
			else
				refusals_ok = host_verify(first, count, kConverter,
							  "checking after a refused conversion");
			n_.convert_eagain++;
			return refusals_ok;
		};
		AttributesResult r =
			gmem_->convert(offset, size, attrs, content_mode_flags(mode), nullptr, check_refusal);
		if (!refusals_ok)
			return false;
		if (!r.err) {
			n_.converted.add(direction, mode);
			return true;
		}
		if (r.err == EAGAIN && to_private)
			return fail(kConverter, "converting", "EAGAIN " + std::to_string(kConvertAttempts) +
							       " times while nothing holds the pages");
		return fail(kConverter, "converting", what(r.err) + ", which the contract does not allow here");
	}

	PageContent round_trip(const PageContent &before, ContentMode to_priv, ContentMode to_shared)
	{
		auto cell = [&](Direction d, ContentMode m) {
			return contract_cell(type_.name, d, m, LaunchPhase::BeforeFinalize, plan_.family).content;
		};
		Content back = cell(Direction::ToShared, to_shared);
		if (back == Content::Zeroed)
			return PageContent::zero();
		if (back == Content::Preserved && cell(Direction::ToPrivate, to_priv) == Content::Preserved)
			return before;
		return PageContent::any();
	}

	bool convert_round(SeededRng &rng, uint64_t first, uint64_t count)
	{
		ContentMode mp = plan_.to_private[rng.below(plan_.to_private.size())];
		ContentMode ms = plan_.to_shared[rng.below(plan_.to_shared.size())];
		if (!host_verify(first, count, kConverter, "checking before converting") ||
		    !convert(first, count, true, mp))
			return false;
		for (uint64_t p = first; p < first + count; p++)
			if (!probe(page(p), Access::Read).sigbus)
				return fail(kConverter, "checking a private page", "page " + std::to_string(p) +
								 ": the host read it without SIGBUS");
		if (!convert(first, count, false, ms))
			return false;
		for (uint64_t p = first; p < first + count; p++)
			pages_.record(p) = {round_trip(pages_.record(p).content, mp, ms), kConverter,
					    "conversion round trip"};
		n_.convert++;
		return host_verify(first, count, kConverter, "checking after converting back");
	}

	void convert_actor()
	{
		SeededRng rng(derive_seed(s_.seed, kConverter));
		uint64_t first, count;
		while (claim_run(rng, kConverter, 8, &first, &count)) {
			if (!convert_round(rng, first, count))
				return pages_.release(first, count, kConverter);
			done(first, count, kConverter);
		}
	}

	void final_sweep()
	{
		if (!host_verify(0, s_.pages, -1, "checking from the host"))
			return;
		for (uint64_t p = 0; p < s_.pages; p += kGuestOpsMaxPages)
			if (!guest_pass(*guests_[0], p, std::min(kGuestOpsMaxPages, s_.pages - p), -1,
					std::nullopt))
				return;
	}

	void print_counts()
	{
		char buf[64];
		snprintf(buf, sizeof(buf), "%.1f s", took_);
		log(std::string(buf) + ", " + std::to_string(ops_.load()) + " operations: guest " +
		    std::to_string(n_.guest) + ", host " + std::to_string(n_.host) + ", punch " +
		    std::to_string(n_.punch) + ", allocate " + std::to_string(n_.allocate) +
		    ", forked readers " + std::to_string(n_.fork) + " (writes " +
		    std::to_string(n_.fork_writes) + "), conversion round trips " +
		    std::to_string(n_.convert) + " (EAGAIN retried " + std::to_string(n_.convert_eagain) +
		    "); pages checked byte by byte " + std::to_string(n_.pages_checked) +
		    (failure_.empty() ? ", no mismatch" : ", stopped at the first mismatch"));
	}

	void print_conversions()
	{
		std::string unspecified = "; pages only read, their contents unspecified by the contract: " +
					  std::to_string(n_.pages_unspecified);
		if (!plan_.offered) {
			log("conversions: 0 made: " + plan_.why + unspecified);
			return;
		}
		log("conversions: " + std::to_string(n_.converted.total()) + " made (per-gmem attributes: " +
		    family_name(plan_.family) + "): " + n_.converted.text() + "; EAGAIN retried " +
		    std::to_string(n_.convert_eagain) + unspecified);
	}

	const VmTypeInfo &type_;
	StressSettings s_;
	GuestVm tvm_;
	std::unique_ptr<GuestMemfd> gmem_;
	Mapping map_;
	std::vector<std::unique_ptr<GuestPages>> guests_;
	PageOwnership pages_;
	ConversionPlan plan_;
	std::atomic<bool> stop_{false}, flipped_{false}, killed_{false};
	std::atomic<uint64_t> ops_{0}, generation_{0};
	std::mutex fail_mu_;
	std::string failure_;
	Counters n_;
	double took_ = 0;
};

struct StressFixture {
	const VmTypeInfo &type;
	explicit StressFixture(const VmTypeVariant &v) : type(*v.type)
	{
		std::string why;
		if (!vm_type_offered(type, &why))
			feature_missing(Feature::VmType, type.name, why);  // a skip unless declared
	}
};

int mixed_timeout()
{
	uint64_t t = env_number_or_default(kEnvTestTimeout);
	return t ? (int)t : (int)env_number_or_default(kEnvStressSeconds) + 60;
}

}  // namespace

KVMT_FIXTURE(stress, StressFixture, VmTypeVariant, vm_type_variants());

// No conversion made (why says why): a failure when the declared profile
// requires conversions of this VM type, else a skip with skip_text.
[[noreturn]] static void end_without_conversions(const VmTypeInfo &type, const std::string &why,
						 const std::string &skip_text)
{
	if (conversions_required() && type_converts_in_place(type.name))
		feature_missing(Feature::InPlace, "", "stress: no conversion was made: " + why);
	skip(skip_text);
}

// Every byte of every page holds what the last operation on it implies, whatever the
// actors do concurrently (guest, host, punch, fork and conversions with spec 3-4 contents).
KVMT_TEST_F_TIMEOUT(stress, mixed, mixed_timeout())
{
	std::optional<Stress> stress;
	try {
		stress.emplace(f.type, StressSettings::from_env());
	} catch (const TestSkip &s) {  // no in-place guest_memfd here, or not enough memory
		end_without_conversions(f.type, s.reason, s.reason);
	}
	std::string failure = stress->run();
	ASSERT_TRUE(failure.empty()) << "stress: " << failure;
	// The other actors ran and passed; without a conversion that part did not run.
	std::string none = stress->why_no_conversion();
	if (!none.empty())
		end_without_conversions(f.type, none, "conversions: " + none + "; every other actor ran and passed");
}

// Self-check: a byte flipped behind the actors' back is caught and named by its offset.
KVMT_TEST_F_TIMEOUT(stress, injected_flip_is_caught, 60)
{
	StressSettings s = StressSettings::from_env();
	s.seconds = 2;
	s.fault = InjectedFault::FlipByte;
	std::string failure = Stress(f.type, s).run();
	test_log("stress: the injected flip must be caught: " + (failure.empty() ? "NOT CAUGHT" : failure));
	ASSERT_FALSE(failure.empty());
	ASSERT_TRUE(failure.find("offset 0x123") != std::string::npos) << failure;
}
