// In-place shared/private conversion of guest_memfd (KVM_SET_MEMORY_ATTRIBUTES2
// on the gmem fd), checked against the contract table for every VM type.
//
// Fixtures (a variant per known VM type):
//   validation  error paths in the documented order; ENOTTY when the mode is off
//   conv        round trips, precision, before-allocation, truncation, other processes
//   held        conversions refused while a page is referenced (one test per holder)
//   content     one test per direction x content mode, as the contract table says
//   guest       a guest on the converted pages; the same page on both sides (PFN)
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <thread>

#include "conversion_contract.hh"
#include "guest_access.hh"
#include "declared_profile.hh"
#include "guest_memfd.hh"
#include "kvm_system.hh"
#include "page_holder.hh"
#include "page_state.hh"
#include "pagemap.hh"
#include "pattern.hh"
#include "peer.hh"
#include "profile.hh"
#include "sigbus.hh"
#include "test.hh"
#include "test_vm.hh"
#include "vm.hh"
#include "hex.hh"

using namespace kvmt;

KVMT_KVM_PROGRAM();

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPages = 1024;  // 4 MiB: two 2 MiB blocks
constexpr uint64_t kSize = kPages * kPage;
constexpr uint64_t kMmap = GUEST_MEMFD_FLAG_MMAP;
constexpr uint64_t kInitShared = GUEST_MEMFD_FLAG_INIT_SHARED;
constexpr uint64_t kPrivate = KVM_MEMORY_ATTRIBUTE_PRIVATE;
constexpr uint64_t kSeedA = 0x5eed, kSeedB = 0xb00c;
constexpr uint32_t kGmemSlot = 1;

std::string result_text(const AttributesResult &r)
{
	return r.err ? errno_name(r.err) + " (error_offset " + hex(r.error_offset) + ")" : "0";
}

void require_private_memory(const VmTypeInfo &type)
{
	if (!type.private_memory)
		skip(std::string("VM type ") + type.name +
		     " has no private memory (its conversions are refused: validation.default_vm_einval)");
}

// An in-place guest_memfd of a VM with private memory, per-gmem attributes on.
struct InPlace {
	std::unique_ptr<Vm> vm;
	std::unique_ptr<TestVm> tvm;  // when guest code can run in this VM type
	std::optional<GuestMemfd> gmem;
	Mapping map;
	AttributesFamily family = AttributesFamily::None;
	std::string type;

	InPlace(const VmTypeVariant &v, uint64_t flags, bool with_guest)
	{
		type = v.type->name;
		if (with_guest && !v.type->needs_launch_flow)
			tvm = std::make_unique<TestVm>(*v.type);
		else
			vm = std::make_unique<Vm>(*v.type);
		require_private_memory(*v.type);
		require_guest_memfd(the_vm(), flags);
		gmem.emplace(the_vm(), kSize, flags);
		AttributesResult probe = gmem->set_attributes(0, 0, kPrivate);
		const InPlaceMode &mode = in_place_mode();
		if (probe.err == ENOTTY && !mode.on)
			feature_missing(Feature::InPlace, "", "in-place mode " + describe_in_place_mode(mode));
		if (probe.err != EINVAL)
			record_failure(__FILE__, __LINE__,
				       "a size-0 request on a " + type + " guest_memfd answers " +
					       errno_name(probe.err) + ", in-place mode " +
					       describe_in_place_mode(mode));
		ASSERT_EQ(errno_name(probe.err), errno_name(EINVAL));
		std::string evidence;
		family = kernel_attributes_family(&evidence);
		map = gmem->map();
		if (tvm)
			tvm->add_gmem_slot(kGmemSlot, kTestGpaBase, kSize, *gmem, 0, map.data());
	}

	Vm &the_vm() { return tvm ? tvm->vm() : *vm; }
	uint8_t *page(uint64_t i) { return map.data() + i * kPage; }

	void require_guest()
	{
		if (!tvm)
			skip(std::string("reading private memory needs guest code, and a ") + type +
			     " VM needs its launch flow to run it");
	}
	GuestAccessPlan &plan() { return tvm->guest_global(guest_access_plans[0]); }
	// One guest round over pages [first, first + count): check against
	// expect (pages in zero_mask must read 0), then write write_seed's pattern.
	void guest_round_at(uint64_t first, uint64_t count, uint64_t expect, uint64_t expect_seed,
			    uint64_t write_seed, uint64_t zero_mask = 0)
	{
		require_guest();
		if (!vcpu)
			vcpu = &tvm->add_vcpu(guest_access_rounds, 0);
		plan() = {kTestGpaBase + first * kPage, count * kPage, first * kPage, expect,
			  expect_seed, zero_mask, write_seed};
		tvm->run_to_sync(*vcpu, 0);
	}
	void guest_round(uint64_t count, uint64_t expect, uint64_t expect_seed, uint64_t write_seed)
	{
		guest_round_at(0, count, expect, expect_seed, write_seed);
	}
	Vcpu *vcpu = nullptr;

	// The guest's view of pages [first, first + count) after a to-private
	// request: the host's pattern where the contract keeps the data.
	void guest_sees_pattern_if_kept(uint64_t first, uint64_t count, uint64_t seed,
					uint64_t zero_mask = 0)
	{
		if (!tvm)
			return;  // snp/tdx: no guest without the launch flow
		Content c = contract_cell(type, Direction::ToPrivate, ContentMode::Unspecified,
					  LaunchPhase::BeforeFinalize, family).content;
		guest_round_at(first, count, c == Content::Preserved ? kExpectPattern : kExpectNothing,
			       seed, 0, zero_mask);
	}

	AttributesResult convert(uint64_t first, uint64_t count, uint64_t attrs, uint64_t flags = 0)
	{
		return gmem->convert(first * kPage, count * kPage, attrs, flags);
	}
	void to(PageState s, uint64_t first, uint64_t count, uint64_t flags = 0)
	{
		AttributesResult r = convert(first, count, s == PageState::Private ? kPrivate : 0, flags);
		if (r.err)
			record_failure(__FILE__, __LINE__,
				       std::string("converting pages ") + std::to_string(first) + "+" +
					       std::to_string(count) + " to " + page_state_name(s) +
					       " failed: " + result_text(r));
		ASSERT_EQ(r.err, 0);
	}
	void expect_state(uint64_t first, uint64_t count, PageState s)
	{
		int64_t bad = first_state_mismatch(map.data(), first, count, s);
		if (bad >= 0)
			record_failure(__FILE__, __LINE__,
				       "page " + std::to_string(bad) + " is not " + page_state_name(s));
		ASSERT_EQ(bad, -1);
	}
	void expect_pattern(uint64_t first, uint64_t count, uint64_t seed)
	{
		int64_t bad = find_pattern_mismatch(page(first), first * kPage, count * kPage, seed);
		if (bad >= 0)
			record_failure(__FILE__, __LINE__,
				       "byte at offset " + hex(first * kPage + bad) + " is " +
					       hex(page(first)[bad]) + ", expected " +
					       hex(pattern_byte(seed, first * kPage + bad)));
		ASSERT_EQ(bad, -1);
	}
	void expect_zero(uint64_t first, uint64_t count)
	{
		int64_t bad = find_nonzero(page(first), count * kPage);
		if (bad >= 0)
			record_failure(__FILE__, __LINE__,
				       "byte at offset " + hex(first * kPage + bad) + " is " +
					       hex(page(first)[bad]) + ", expected 0");
		ASSERT_EQ(bad, -1);
	}
	// Shared pages that held pattern(seed) before a round trip through private.
	void expect_content(uint64_t first, uint64_t count, Content c, uint64_t seed)
	{
		test_log(std::string("contract: contents ") + content_name(c));
		if (c == Content::Preserved)
			expect_pattern(first, count, seed);
		else if (c == Content::Zeroed)
			expect_zero(first, count);
		else if (c == Content::Scrambled)
			expect_scrambled(first, count, seed);
	}
	// Every page lost the pattern and is not simply zero: most of its bytes
	// differ from both (random bytes match either 1 time in 256).
	void expect_scrambled(uint64_t first, uint64_t count, uint64_t seed)
	{
		for (uint64_t i = first; i < first + count; i++) {
			uint64_t kept = 0;
			for (uint64_t b = 0; b < kPage; b++)
				kept += page(i)[b] == 0 || page(i)[b] == pattern_byte(seed, i * kPage + b);
			if (kept > kPage / 2) {
				record_failure(__FILE__, __LINE__,
					       "page " + std::to_string(i) + " is not scrambled: " +
						       std::to_string(kept) + " of its bytes are zero or the old pattern");
				return;
			}
		}
	}
	// What a request in direction d over pages already in its target state
	// leaves: nothing changes in the applied revision (section 3); with
	// content modes the UNSPECIFIED mode applies there too (section 4).
	Content no_op_content(Direction d)
	{
		if (family != AttributesFamily::ContentModes)
			return Content::Preserved;
		return contract_cell(type, d, ContentMode::Unspecified, LaunchPhase::BeforeFinalize,
				     family).content;
	}
	// What a plain (flags 0) round trip leaves, per the contract.
	Content round_trip_content()
	{
		Content to_priv = contract_cell(type, Direction::ToPrivate, ContentMode::Unspecified,
						LaunchPhase::BeforeFinalize, family).content;
		Content to_shared = contract_cell(type, Direction::ToShared, ContentMode::Unspecified,
						  LaunchPhase::BeforeFinalize, family).content;
		if (to_priv == Content::Preserved && to_shared == Content::Preserved)
			return Content::Preserved;
		if (to_priv == Content::Scrambled || to_shared == Content::Scrambled)
			return Content::Scrambled;
		return Content::Unspecified;
	}
};

// ------------------------------------------------------------ validation

struct Validation {
	Vm vm;
	explicit Validation(const VmTypeVariant &v) : vm(*v.type) {}
};

KVMT_FIXTURE(validation, Validation, VmTypeVariant, vm_type_variants());

KVMT_TEST_F(validation, enotty_when_in_place_off)
{
	const InPlaceMode &mode = in_place_mode();
	if (mode.on)
		skip("in-place mode " + describe_in_place_mode(mode));
	uint64_t flags = f.vm.guest_memfd_flags() & kMmap;
	require_guest_memfd(f.vm, flags);
	GuestMemfd gmem(f.vm, kSize, flags);
	for (uint64_t attrs : {kPrivate, (uint64_t)0}) {
		AttributesResult r = gmem.set_attributes(0, kPage, attrs);
		EXPECT_EQ(errno_name(r.err), errno_name(ENOTTY));
	}
	// Even a request that is invalid in every other way.
	AttributesResult r = gmem.set_attributes(1, 0, ~0ULL, ~0ULL);
	EXPECT_EQ(errno_name(r.err), errno_name(ENOTTY));
}

KVMT_TEST_F(validation, default_vm_einval)
{
	if (v.type->private_memory)
		skip(std::string("VM type ") + v.name + " has private memory");
	const InPlaceMode &mode = in_place_mode();
	if (!mode.on)
		skip("in-place mode " + describe_in_place_mode(mode));
	require_guest_memfd(f.vm, kMmap | kInitShared);
	GuestMemfd gmem(f.vm, kSize, kMmap | kInitShared);
	Mapping map = gmem.map();
	fill_pattern(map.data(), 0, kSize, kSeedA);
	for (uint64_t attrs : {kPrivate, (uint64_t)0}) {
		AttributesResult r = gmem.set_attributes(0, kPage, attrs);
		EXPECT_EQ(errno_name(r.err), errno_name(EINVAL));
	}
	EXPECT_EQ(first_state_mismatch(map.data(), 0, kPages, PageState::Shared), -1);
	EXPECT_EQ(find_pattern_mismatch(map.data(), 0, kSize, kSeedA), -1);
}

// A request the kernel must refuse with err, leaving every page shared and intact.
void expect_refused(InPlace &g, gmem_attributes2 req, int err, const std::string &what)
{
	AttributesResult r = g.gmem->__set_attributes(&req);
	if (r.err != err)
		record_failure(__FILE__, __LINE__,
			       what + ": expected " + errno_name(err) + ", got " + result_text(r));
	EXPECT_EQ(errno_name(r.err), errno_name(err));
	g.expect_state(0, kPages, PageState::Shared);
	g.expect_pattern(0, kPages, kSeedA);
}

gmem_attributes2 request(uint64_t offset, uint64_t size, uint64_t attrs = kPrivate)
{
	gmem_attributes2 req = {};
	req.offset = offset;
	req.size = size;
	req.attributes = attrs;
	return req;
}

struct ValidationCase {
	const char *name;
	void (*run)(InPlace &g);
};

const ValidationCase kValidationCases[] = {
	{"bad_pointer_efault",
	 [](InPlace &g) {
		 errno = 0;
		 EXPECT_TRUE(ioctl(g.gmem->fd(), kSetMemoryAttributes2, (void *)8) == -1);
		 EXPECT_EQ(errno_name(errno), errno_name(EFAULT));
		 g.expect_state(0, kPages, PageState::Shared);
	 }},
	{"flags_not_accepted_einval",
	 [](InPlace &g) {
		 // Applied family: any flag. Content-mode family: both modes, or an unknown bit.
		 std::vector<uint64_t> bad = {kContentZero | kContentPreserve, 1ULL << 2, 1ULL << 63};
		 if (g.family == AttributesFamily::Applied)
			 bad = {kContentZero, kContentPreserve, 1ULL << 2, 1ULL << 63};
		 for (uint64_t flags : bad) {
			 gmem_attributes2 req = request(0, kPage, 0);
			 req.flags = flags;
			 expect_refused(g, req, EINVAL, "flags " + hex(flags));
		 }
	 }},
	{"reserved_nonzero_einval",
	 [](InPlace &g) {
		 for (int i = 0; i < 11; i++) {
			 gmem_attributes2 req = request(0, kPage);
			 req.reserved[i] = 1;
			 expect_refused(g, req, EINVAL, "reserved[" + std::to_string(i) + "] = 1");
		 }
	 }},
	{"unknown_attributes_einval",
	 [](InPlace &g) {
		 for (int bit = 0; bit < 64; bit++) {
			 uint64_t other = 1ULL << bit;
			 if (other == kPrivate)
				 continue;
			 expect_refused(g, request(0, kPage, other), EINVAL,
					"attribute bit " + std::to_string(bit));
			 expect_refused(g, request(0, kPage, kPrivate | other), EINVAL,
					"PRIVATE with attribute bit " + std::to_string(bit));
		 }
	 }},
	{"size_zero_einval",
	 [](InPlace &g) { expect_refused(g, request(0, 0), EINVAL, "size 0"); }},
	{"overflow_einval",
	 [](InPlace &g) {
		 expect_refused(g, request(-kPage, 2 * kPage), EINVAL, "offset + size wraps");
		 expect_refused(g, request(kPage, -kPage), EINVAL, "size wraps");
	 }},
	{"unaligned_offset_einval",
	 [](InPlace &g) {
		 for (uint64_t off : {(uint64_t)1, kPage / 2, kPage + 8})
			 expect_refused(g, request(off, kPage), EINVAL, "offset " + hex(off));
	 }},
	{"unaligned_size_einval",
	 [](InPlace &g) {
		 for (uint64_t size : {(uint64_t)1, kPage - 1, kPage + 1})
			 expect_refused(g, request(0, size), EINVAL, "size " + hex(size));
	 }},
	{"beyond_file_size_einval",
	 [](InPlace &g) {
		 expect_refused(g, request(kSize, kPage), EINVAL, "starts at the end");
		 expect_refused(g, request(kSize - kPage, 2 * kPage), EINVAL, "straddles the end");
		 expect_refused(g, request(0, kSize + kPage), EINVAL, "longer than the file");
	 }},
};

[[maybe_unused]] const bool kValidationRegistered = [] {
	for (const ValidationCase &c : kValidationCases)
		register_test({"validation", c.name, kDefaultTestTimeout, -1, [&c](const void *data) {
				       InPlace g(*static_cast<const VmTypeVariant *>(data),
						 kMmap | kInitShared, false);
				       fill_pattern(g.map.data(), 0, kSize, kSeedA);
				       c.run(g);
			       }});
	return true;
}();

// Contract points of section 2 that hold whatever the mode.
// The VM fd has no handler: it answers as to any unknown VM ioctl (ENOTTY
// on x86; arm64's kvm_arch_vm_ioctl answers EINVAL).
KVMT_TEST_F(validation, vm_fd_refuses_attributes2)
{
	errno = 0;
	ASSERT_EQ(ioctl(f.vm.fd(), _IO(KVMIO, 0xfe)), -1);
	int unknown = errno;
	EXPECT_TRUE(unknown == ENOTTY || unknown == EINVAL);
	gmem_attributes2 req = request(0, kPage);
	EXPECT_ERRNO(ioctl(f.vm.fd(), kSetMemoryAttributes2, &req), unknown);
}

KVMT_TEST_F(validation, unknown_gmem_ioctl_enotty)
{
	uint64_t flags = f.vm.guest_memfd_flags() & kMmap;
	require_guest_memfd(f.vm, flags);
	GuestMemfd gmem(f.vm, kSize, flags);
	kvm_memory_attributes vm_req = {0, kPage, kPrivate, 0};
	EXPECT_ERRNO(ioctl(gmem.fd(), KVM_SET_MEMORY_ATTRIBUTES, &vm_req), ENOTTY);
	EXPECT_ERRNO(ioctl(gmem.fd(), _IO(KVMIO, 0xff)), ENOTTY);
}

// MMAP for every type; INIT_SHARED when the mode is on or the type has no
// private memory.
KVMT_TEST_F(validation, gmem_flags_cap_by_type)
{
	uint64_t offered = f.vm.guest_memfd_flags();
	if (!offered)
		skip(std::string("KVM_CAP_GUEST_MEMFD_FLAGS is 0 on ") + v.name +
		     " VMs: the kernel predates guest_memfd mmap (6.18)");
	bool init_shared = in_place_mode().on || !v.type->private_memory;
	EXPECT_EQ(gmem_flags_name(offered & kMmap), gmem_flags_name(kMmap));
	EXPECT_EQ(gmem_flags_name(offered & kInitShared), gmem_flags_name(init_shared ? kInitShared : 0));
}

// The per-gmem attributes cap on the system fd and on this type's VM fd,
// and the three witnesses of the mode agreeing (spec section 2).
KVMT_TEST_F(validation, in_place_caps_agree)
{
	const InPlaceMode &mode = in_place_mode();
	test_log("in-place mode " + describe_in_place_mode(mode));
	EXPECT_EQ(mode.contradiction, std::string());
	std::string evidence;
	AttributesFamily family = kernel_attributes_family(&evidence);
	const DeclaredProfile &declared = declared_profile();
	if (declared.in_place && *declared.in_place != mode.on)
		record_failure(__FILE__, __LINE__,
			       "declared in_place=" + std::string(*declared.in_place ? "on" : "off") +
				       ", found in-place mode " + describe_in_place_mode(mode));
	bool has_modes = family == AttributesFamily::ContentModes;
	if (declared.content_modes && *declared.content_modes != has_modes)
		record_failure(__FILE__, __LINE__,
			       "declared content_modes=" + std::string(*declared.content_modes ? "on" : "none") +
				       ", found per-gmem attributes " + family_name(family) + " [" + evidence + "]");
	long cap = gmem_attributes_cap(family);
	uint64_t want = mode.on && v.type->private_memory ? kPrivate : 0;
	EXPECT_EQ(hex(f.vm.check_extension(cap)), hex(want));
	if (mode.on)
		EXPECT_EQ(hex(KvmSystem::get().check_extension(cap)), hex(kPrivate));
	if (family != AttributesFamily::ContentModes)
		return;
	uint64_t modes = kContentZero | kContentPreserve;
	EXPECT_EQ(hex(KvmSystem::get().check_extension(KVM_CAP_MEMORY_ATTRIBUTES2_FLAGS)), hex(modes));
	if (!v.type->private_memory)
		EXPECT_EQ(hex(f.vm.check_extension(KVM_CAP_MEMORY_ATTRIBUTES2_FLAGS)), hex(0));
	else if (v.name == "sw_protected")
		EXPECT_EQ(hex(f.vm.check_extension(KVM_CAP_MEMORY_ATTRIBUTES2_FLAGS)), hex(modes));
}

// With the mode on, the VM-level attributes give up PRIVATE (section 2).
KVMT_TEST_F(validation, vm_attributes_refuse_private_when_in_place_on)
{
	const InPlaceMode &mode = in_place_mode();
	if (!mode.on)
		skip("in-place mode " + describe_in_place_mode(mode) + " (per_vm rows cover it)");
	EXPECT_EQ(f.vm.check_extension(KVM_CAP_MEMORY_ATTRIBUTES), 0);
	int priv = f.vm.__set_memory_attributes(0, kPage, kPrivate);
	int zero = f.vm.__set_memory_attributes(0, kPage, 0);
	if (priv == ENOTTY) {  // CONFIG_KVM_VM_MEMORY_ATTRIBUTES=n: not built at all
		EXPECT_EQ(errno_name(zero), errno_name(ENOTTY));
		return;
	}
	EXPECT_EQ(errno_name(priv), errno_name(EINVAL));
	EXPECT_EQ(errno_name(zero), errno_name(0));
}

// error_offset is written only on ENOMEM and EAGAIN (section 3).
KVMT_TEST_F(validation, error_offset_untouched)
{
	constexpr uint64_t kSentinel = 0x5e5e5e5e5e5e5e5eULL;
	uint64_t flags = f.vm.guest_memfd_flags() & kMmap;
	require_guest_memfd(f.vm, flags);
	GuestMemfd gmem(f.vm, kSize, flags);
	const InPlaceMode &mode = in_place_mode();
	auto check = [&](gmem_attributes2 *req, int err, const char *what) {
		req->error_offset = kSentinel;
		AttributesResult r = gmem.__set_attributes(req);
		if (r.err != err || req->error_offset != kSentinel)
			record_failure(__FILE__, __LINE__,
				       std::string(what) + ": expected " + errno_name(err) +
					       " with error_offset left at " + hex(kSentinel) +
					       ", got " + errno_name(r.err) + " with " +
					       hex(req->error_offset));
	};
	gmem_attributes2 invalid = request(0, 0);
	check(&invalid, mode.on ? EINVAL : ENOTTY, "size 0");
	// The struct's tail on an inaccessible page: the copy in fails.
	Mapping two = Mapping::anonymous(2 * kPage);
	ASSERT_OK(mprotect(two.data() + kPage, kPage, PROT_NONE));
	auto *torn = reinterpret_cast<gmem_attributes2 *>(two.data() + kPage - 64);
	memset(torn, 0, 64);
	check(torn, mode.on ? EFAULT : ENOTTY, "struct crossing into an unmapped page");
	if (!mode.on || !v.type->private_memory)
		return;
	gmem_attributes2 to_shared = request(0, kPage, 0);  // flags 0 gmem: private
	check(&to_shared, 0, "to shared");
	gmem_attributes2 to_private = request(0, kPage, kPrivate);
	check(&to_private, 0, "to private");
}

// ------------------------------------------------------------ conv

struct Conv : InPlace {
	explicit Conv(const VmTypeVariant &v) : InPlace(v, kMmap | kInitShared, true) {}
};

KVMT_FIXTURE(conv, Conv, VmTypeVariant, vm_type_variants());

KVMT_TEST_F(conv, init_shared_round_trip)
{
	f.expect_state(0, kPages, PageState::Shared);
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.to(PageState::Private, 0, kPages);
	f.expect_state(0, kPages, PageState::Private);
	f.to(PageState::Shared, 0, kPages);
	f.expect_state(0, kPages, PageState::Shared);
	f.expect_content(0, kPages, f.round_trip_content(), kSeedA);
}

KVMT_TEST_F(conv, init_private_round_trip)
{
	InPlace p(v, kMmap, false);
	p.expect_state(0, kPages, PageState::Private);
	p.to(PageState::Shared, 0, kPages);
	p.expect_state(0, kPages, PageState::Shared);
	p.expect_zero(0, kPages);  // never allocated: the first allocation zeroes
	fill_pattern(p.map.data(), 0, kSize, kSeedA);
	p.to(PageState::Private, 0, kPages);
	p.expect_state(0, kPages, PageState::Private);
	p.to(PageState::Shared, 0, kPages);
	p.expect_content(0, kPages, p.round_trip_content(), kSeedA);
}

struct Range {
	const char *name;
	uint64_t first, count;
};

// Page 512 starts the second 2 MiB block.
const Range kPrecisionRanges[] = {
	{"precision_first_page", 0, 1},
	{"precision_last_page", kPages - 1, 1},
	{"precision_one_middle_page", 517, 1},
	{"precision_two_pages", 3, 2},
	{"precision_straddling_2m", 510, 4},
	{"precision_whole_2m_block", 512, 512},
	{"precision_2m_minus_one_page", 1, 511},
};

void check_precision(Conv &f, const Range &r)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.to(PageState::Private, r.first, r.count);
	f.expect_state(0, r.first, PageState::Shared);
	f.expect_state(r.first, r.count, PageState::Private);
	f.expect_state(r.first + r.count, kPages - r.first - r.count, PageState::Shared);
	f.expect_pattern(0, r.first, kSeedA);
	f.expect_pattern(r.first + r.count, kPages - r.first - r.count, kSeedA);
	// The guest too: the range and one page on each side.
	uint64_t lo = r.first ? r.first - 1 : 0;
	uint64_t hi = std::min(r.first + r.count + 1, kPages);
	f.guest_sees_pattern_if_kept(lo, hi - lo, kSeedA);
	f.to(PageState::Shared, r.first, r.count);
	f.expect_state(0, kPages, PageState::Shared);
	f.expect_content(r.first, r.count, f.round_trip_content(), kSeedA);
}

[[maybe_unused]] const bool kPrecisionRegistered = [] {
	for (const Range &r : kPrecisionRanges)
		register_test({"conv", r.name, kDefaultTestTimeout, -1, [&r](const void *data) {
				       Conv f(*static_cast<const VmTypeVariant *>(data));
				       check_precision(f, r);
			       }});
	return true;
}();

KVMT_TEST_F(conv, before_allocation_to_private)
{
	f.to(PageState::Private, 10, 20);
	f.expect_state(10, 20, PageState::Private);
	f.expect_state(0, 10, PageState::Shared);
	f.to(PageState::Shared, 10, 20);
	f.expect_zero(0, 40);
}

KVMT_TEST_F(conv, before_allocation_to_shared)
{
	InPlace p(v, kMmap, false);
	p.to(PageState::Shared, 10, 20);
	p.expect_state(10, 20, PageState::Shared);
	p.expect_state(0, 10, PageState::Private);
	p.expect_state(30, 10, PageState::Private);
	p.expect_zero(10, 20);
	fill_pattern(p.page(10), 10 * kPage, 20 * kPage, kSeedA);
	p.expect_pattern(10, 20, kSeedA);
}

KVMT_TEST_F(conv, mixed_allocated_and_unallocated)
{
	for (uint64_t i = 0; i < 64; i += 2)
		fill_pattern(f.page(i), i * kPage, kPage, kSeedA);
	f.to(PageState::Private, 0, 64);
	f.expect_state(0, 64, PageState::Private);
	// The guest reads the old bytes on allocated pages, 0 on the others.
	f.guest_sees_pattern_if_kept(0, 64, kSeedA, 0xaaaaaaaaaaaaaaaaULL);
	f.to(PageState::Shared, 0, 64);
	for (uint64_t i = 0; i < 64; i += 2) {
		f.expect_content(i, 1, f.round_trip_content(), kSeedA);
		f.expect_zero(i + 1, 1);
	}
}

KVMT_TEST_F(conv, no_op_conversions_succeed)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.to(PageState::Shared, 0, kPages);  // already shared
	f.expect_state(0, kPages, PageState::Shared);
	f.expect_content(0, kPages, f.no_op_content(Direction::ToShared), kSeedA);
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.to(PageState::Private, 100, 8);
	f.to(PageState::Private, 100, 8);  // already private
	f.to(PageState::Private, 96, 16);  // partly private
	f.expect_state(96, 16, PageState::Private);
	f.expect_state(0, 96, PageState::Shared);
	f.expect_pattern(0, 96, kSeedA);
}

KVMT_TEST_F(conv, punch_shared_stays_shared)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.gmem->punch_hole(5 * kPage, 3 * kPage);
	f.expect_state(0, kPages, PageState::Shared);
	f.expect_zero(5, 3);
	f.expect_pattern(0, 5, kSeedA);
	f.expect_pattern(8, kPages - 8, kSeedA);
}

KVMT_TEST_F(conv, punch_private_stays_private)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.to(PageState::Private, 5, 3);
	f.gmem->punch_hole(5 * kPage, 3 * kPage);
	f.expect_state(5, 3, PageState::Private);
	f.to(PageState::Shared, 5, 3);
	f.expect_zero(5, 3);  // the punch freed the pages: fresh ones are zero
	f.expect_pattern(0, 5, kSeedA);
}

KVMT_TEST_F(conv, punch_then_convert)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.gmem->punch_hole(0, 16 * kPage);
	f.to(PageState::Private, 0, 16);
	f.expect_state(0, 16, PageState::Private);
	f.to(PageState::Shared, 0, 16);
	f.expect_zero(0, 16);
	f.expect_pattern(16, kPages - 16, kSeedA);
}

void peer_loses_and_regains_access(Conv &f, Peer::Kind kind)
{
	test_log(std::string("peer: ") + Peer::kind_name(kind));
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	Peer peer(kind, f.gmem->fd());
	ASSERT_EQ(peer.map(kSize).err, 0);
	PeerReply seen = peer.check(0, kSize, kSeedA);
	ASSERT_EQ(seen.sigbus_pages + seen.mismatches, 0u);
	// The same long-lived mapping through several conversions each way:
	// a stale view in the peer would show up in a later round.
	for (uint64_t round = 0; round < 3; round++) {
		uint64_t first = 8 + 16 * round, n = 8;
		test_log("round " + std::to_string(round) + ": pages " + std::to_string(first) + "+8");
		f.to(PageState::Private, first, n);
		EXPECT_EQ(peer.probe(first * kPage, n * kPage, Access::Read).sigbus_pages, n);
		EXPECT_EQ(peer.probe(first * kPage, n * kPage, Access::Write).sigbus_pages, n);
		EXPECT_EQ(peer.probe((first - 8) * kPage, 8 * kPage, Access::Read).sigbus_pages, 0u);
		f.to(PageState::Shared, first, n);
		EXPECT_EQ(peer.probe(first * kPage, n * kPage, Access::Read).sigbus_pages, 0u);
		if (f.round_trip_content() == Content::Preserved) {
			seen = peer.check(first * kPage, n * kPage, kSeedA);
			EXPECT_EQ(seen.mismatches, 0u);
		}
	}
	ASSERT_EQ(peer.finish(), 0);
}

KVMT_TEST_F(conv, forked_child_sigbus_after_conversion)
{
	peer_loses_and_regains_access(f, Peer::Kind::ForkedChild);
}

KVMT_TEST_F(conv, scm_rights_process_sigbus_after_conversion)
{
	peer_loses_and_regains_access(f, Peer::Kind::Unrelated);
}

KVMT_TEST_F(conv, pfn_unchanged_by_round_trip)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	std::optional<uint64_t> before = pfn_of(f.page(7));
	ASSERT_TRUE(before.has_value());
	f.to(PageState::Private, 7, 1);
	f.to(PageState::Shared, 7, 1);
	f.expect_content(7, 1, f.round_trip_content(), kSeedA);
	std::optional<uint64_t> after = pfn_of_touched(f.page(7));
	ASSERT_TRUE(after.has_value());
	ASSERT_EQ(*before, *after);
}

// ------------------------------------------------------------ held

constexpr uint64_t kHeldRange = 16, kHeldPage = 7;

void conversion_refused_while_held(HolderKind kind, const VmTypeVariant &v)
{
	InPlace g(v, kMmap | kInitShared, true);
	test_log(std::string("holder: ") + holder_name(kind));
	fill_pattern(g.map.data(), 0, kSize, kSeedA);
	std::unique_ptr<PageHolder> holder = PageHolder::take(kind, g.page(kHeldPage), kPage);

	AttributesResult bulk = g.convert(0, kHeldRange, kPrivate);
	EXPECT_EQ(errno_name(bulk.err), errno_name(EAGAIN));
	EXPECT_EQ(bulk.error_offset, kHeldPage * kPage);
	// Refused means refused: no page of the range changed state.
	g.expect_state(0, kHeldRange, PageState::Shared);
	g.expect_pattern(0, kHeldRange, kSeedA);

	for (uint64_t i = 0; i < kHeldRange; i++) {
		AttributesResult r = g.convert(i, 1, kPrivate);
		if (i == kHeldPage) {
			EXPECT_EQ(errno_name(r.err), errno_name(EAGAIN));
			EXPECT_EQ(r.error_offset, kHeldPage * kPage);
		} else {
			EXPECT_EQ(errno_name(r.err), errno_name(0));
		}
	}
	g.expect_state(kHeldPage, 1, PageState::Shared);
	g.expect_pattern(kHeldPage, 1, kSeedA);

	// Validation comes before the reference check: a held page does not
	// turn an invalid request into EAGAIN.
	gmem_attributes2 reserved = request(0, kHeldRange * kPage);
	reserved.reserved[0] = 1;
	EXPECT_EQ(errno_name(g.gmem->__set_attributes(&reserved).err), errno_name(EINVAL));
	gmem_attributes2 bad_attrs = request(0, kHeldRange * kPage, kPrivate | 1);
	EXPECT_EQ(errno_name(g.gmem->__set_attributes(&bad_attrs).err), errno_name(EINVAL));
	// To shared takes no reference check: the held range converts back.
	AttributesResult back = g.gmem->set_attributes(0, kHeldRange * kPage, 0);
	EXPECT_EQ(errno_name(back.err), errno_name(0));
	g.expect_state(0, kHeldRange, PageState::Shared);
	fill_pattern(g.map.data(), 0, kHeldRange * kPage, kSeedA);

	holder->release();
	if (kind == HolderKind::ODirect) {
		// Releasing completes the read, which lands in the very page it held:
		// what the holder observed in the pinned page and the mapping agree.
		std::vector<uint8_t> held = holder->contents();
		EXPECT_EQ(find_byte_mismatch(held.data(), kPage, kODirectFill), -1);
		EXPECT_EQ(find_byte_mismatch(g.page(kHeldPage), kPage, kODirectFill), -1);
		fill_pattern(g.page(kHeldPage), kHeldPage * kPage, kPage, kSeedA);
	}
	g.to(PageState::Private, 0, kHeldRange);
	g.expect_state(0, kHeldRange, PageState::Private);
	g.guest_sees_pattern_if_kept(0, kHeldRange, kSeedA);  // the held page's old bytes too
	g.to(PageState::Shared, 0, kHeldRange);
	g.expect_content(0, kHeldRange, g.round_trip_content(), kSeedA);
}

// Runs here too: the holder keeps the old page through a punch.
void holder_keeps_page_through_punch(HolderKind kind, const VmTypeVariant &v)
{
	Vm vm(*v.type);
	require_guest_memfd(vm, kMmap | kInitShared);
	GuestMemfd gmem(vm, kSize, kMmap | kInitShared);
	Mapping map = gmem.map();
	fill_pattern(map.data(), 0, 4 * kPage, kSeedA);
	std::unique_ptr<PageHolder> holder = PageHolder::take(kind, map.data() + kPage, kPage);
	gmem.punch_hole(kPage, kPage);
	ASSERT_EQ(find_nonzero(map.data() + kPage, kPage), -1);
	std::vector<uint8_t> held = holder->contents();
	ASSERT_EQ(held.size(), kPage);
	if (kind == HolderKind::ODirect) {
		// The read landed in the page it pinned (contents() reads that page
		// through a second O_DIRECT request on it), not in the file's fresh one.
		ASSERT_EQ(find_byte_mismatch(held.data(), kPage, kODirectFill), -1);
		ASSERT_EQ(find_nonzero(map.data() + kPage, kPage), -1);
	} else {
		ASSERT_EQ(find_pattern_mismatch(held.data(), kPage, kPage, kSeedA), -1);
	}
	ASSERT_EQ(find_pattern_mismatch(map.data(), 0, kPage, kSeedA), -1);
}

[[maybe_unused]] const bool kHeldRegistered = [] {
	register_fixture("held", erase_variants(conv_variants()));
	for (HolderKind kind : kHolderKinds) {
		// Names live as long as the program.
		const char *blocks = strdup((std::string(holder_name(kind)) + "_blocks_to_private").c_str());
		const char *keeps = strdup((std::string(holder_name(kind)) + "_keeps_page_through_punch").c_str());
		register_test({"held", blocks, 60, -1, [kind](const void *data) {
				       conversion_refused_while_held(
					       kind, *static_cast<const VmTypeVariant *>(data));
			       }});
		register_test({"held", keeps, kDefaultTestTimeout, -1, [kind](const void *data) {
				       holder_keeps_page_through_punch(
					       kind, *static_cast<const VmTypeVariant *>(data));
			       }});
	}
	return true;
}();

// ------------------------------------------------------------ content / guest

struct GuestInPlace : InPlace {
	explicit GuestInPlace(const VmTypeVariant &v) : InPlace(v, kMmap | kInitShared, true) {}
};

// Pages [kContentFirst, +kContentPages): not at offset 0, so that an
// error_offset of 0 cannot pass for the start of the range.
constexpr uint64_t kContentFirst = 3, kContentPages = 8;

// The host side of a to-shared cell: the host's pattern goes private, and
// the requested mode decides what the host reads back. Private contents
// written by the guest make PRESERVE stronger; types whose guests need a
// launch flow (snp, tdx) get the host's own pattern only.
void check_to_shared_cell(GuestInPlace &g, ContentMode m, const ContractCell &cell)
{
	uint64_t first = kContentFirst, n = kContentPages, seed = kSeedA;
	fill_pattern(g.page(first), first * kPage, n * kPage, seed);
	g.to(PageState::Private, first, n);
	if (g.tvm) {
		seed = kSeedB;
		g.guest_round_at(first, n, kExpectNothing, 0, seed);
	}
	AttributesResult r = g.convert(first, n, 0, content_mode_flags(m));
	EXPECT_EQ(errno_name(r.err), errno_name(cell.err));
	if (r.err) {
		if (cell.err == EOPNOTSUPP)
			EXPECT_EQ(hex(r.error_offset), hex(first * kPage));
		g.expect_state(first, n, PageState::Private);
		return;
	}
	g.expect_state(first, n, PageState::Shared);
	g.expect_content(first, n, cell.content, seed);
}

void check_to_private_cell(GuestInPlace &g, ContentMode m, const ContractCell &cell)
{
	uint64_t first = kContentFirst, n = kContentPages, seed = kSeedA;
	fill_pattern(g.page(first), first * kPage, n * kPage, seed);
	AttributesResult r = g.convert(first, n, kPrivate, content_mode_flags(m));
	EXPECT_EQ(errno_name(r.err), errno_name(cell.err));
	if (r.err) {
		if (cell.err == EOPNOTSUPP)
			EXPECT_EQ(hex(r.error_offset), hex(first * kPage));
		g.expect_state(first, n, PageState::Shared);
		g.expect_pattern(first, n, seed);
		return;
	}
	g.expect_state(first, n, PageState::Private);
	if (cell.content == Content::Preserved)
		g.guest_round_at(first, n, kExpectPattern, seed, 0);  // the guest reads the host's bytes
	else if (cell.content == Content::Zeroed)
		g.guest_round_at(first, n, kExpectZero, 0, 0);
	else if (cell.content == Content::Scrambled) {
		// Back with PRESERVE (offered wherever scrambling is): the host sees the scramble.
		g.to(PageState::Shared, first, n, kContentPreserve);
		g.expect_scrambled(first, n, seed);
	}
}

// Contents the next reader must see after converting in direction d with
// mode m, following the contract cell.
void check_content_cell(GuestInPlace &g, Direction d, ContentMode m)
{
	ContractCell cell = contract_cell(g.type, d, m, LaunchPhase::BeforeFinalize, g.family);
	test_log(std::string("contract: ") + g.type + " " + direction_name(d) + " " + mode_name(m) +
		 " " + phase_name(LaunchPhase::BeforeFinalize) + " [" + family_name(g.family) +
		 "]: " + describe_cell(cell));
	if (d == Direction::ToShared)
		check_to_shared_cell(g, m, cell);
	else
		check_to_private_cell(g, m, cell);
}

KVMT_FIXTURE(content, GuestInPlace, VmTypeVariant, vm_type_variants());

// Modes no revision of the UAPI offers (ENCRYPTED, DESTROY) stay in the
// contract table but are not registered as rows that could only skip.
[[maybe_unused]] const bool kContentRegistered = [] {
	for (Direction d : kDirections)
		for (ContentMode m : kContentModes) {
			if (!contract_cell("sw_protected", d, m, LaunchPhase::BeforeFinalize,
					   AttributesFamily::ContentModes).offered)
				continue;
			std::string name = std::string(direction_name(d)) + "_" + mode_name(m);
			register_test({"content", strdup(name.c_str()), 60, -1, [d, m](const void *data) {
					       GuestInPlace g(*static_cast<const VmTypeVariant *>(data));
					       check_content_cell(g, d, m);
				       }});
		}
	return true;
}();

KVMT_FIXTURE(guest, GuestInPlace, VmTypeVariant, vm_type_variants());

uint64_t preserving_flags(const GuestInPlace &g)
{
	return g.family == AttributesFamily::ContentModes ? kContentPreserve : 0;
}

KVMT_TEST_F(guest, reads_and_writes_both_states)
{
	constexpr uint64_t n = 4;
	fill_pattern(f.map.data(), 0, n * kPage, kSeedA);
	f.guest_round(n, kExpectPattern, kSeedA, 0);  // shared: sees the host's data
	f.to(PageState::Private, 0, n, preserving_flags(f));
	f.guest_round(n, kExpectNothing, 0, kSeedB);  // private: writes its own
	f.expect_state(0, n, PageState::Private);     // which the host cannot touch
	f.guest_round(n, kExpectPattern, kSeedB, 0);  // and reads back
	f.to(PageState::Shared, 0, n, preserving_flags(f));
	if (f.family == AttributesFamily::ContentModes || f.type == "sw_protected")
		f.expect_pattern(0, n, kSeedB);  // PRESERVE / SW_PROTECTED keep the data
}

KVMT_TEST_F(guest, same_page_on_both_sides)
{
	fill_pattern(f.map.data(), 0, kPage, kSeedA);
	std::optional<uint64_t> pfn = pfn_of(f.page(0));
	ASSERT_TRUE(pfn.has_value());
	f.to(PageState::Private, 0, 1, preserving_flags(f));
	f.to(PageState::Shared, 0, 1, preserving_flags(f));
	f.guest_round(1, f.round_trip_content() == Content::Preserved ||
				 f.family == AttributesFamily::ContentModes
			 ? kExpectPattern
			 : kExpectNothing,
		      kSeedA, kSeedB);
	f.expect_pattern(0, 1, kSeedB);
	std::optional<uint64_t> again = pfn_of_touched(f.page(0));
	ASSERT_TRUE(again.has_value());
	ASSERT_EQ(*pfn, *again);
}

KVMT_TEST_F(guest, unbacked_gpa_is_mmio_not_memory_fault)
{
	// With per-gmem attributes a GPA without memslot is shared: emulated MMIO.
	f.require_guest();
	f.plan() = {kTestGpaBase + kSize, kPage, 0, kExpectZero, 0, 0, 0};
	f.tvm->map_identity(kTestGpaBase + kSize, kPage);
	Vcpu &vcpu = f.tvm->add_vcpu(guest_access_rounds, 0);
	TestVm::Step st = f.tvm->step(vcpu);
	ASSERT_EQ(st.err, 0);
	ASSERT_FALSE(st.is_ucall);
	ASSERT_EQ(vcpu.exit_reason_name(), exit_reason_name(KVM_EXIT_MMIO));
	ASSERT_EQ(vcpu.run_state().mmio.phys_addr, kTestGpaBase + kSize);
}

// With per-gmem attributes a private GPA whose memslot is gone is shared:
// emulated MMIO, not a memory fault (v8's private_mem_kvm_exits_test).
KVMT_TEST_F(guest, deleted_memslot_is_mmio)
{
	f.require_guest();
	f.to(PageState::Private, 0, 1);
	f.tvm->vm().delete_memslot(kGmemSlot);
	f.plan() = {kTestGpaBase, kPage, 0, kExpectZero, 0, 0, 0};
	Vcpu &vcpu = f.tvm->add_vcpu(guest_access_rounds, 0);
	TestVm::Step st = f.tvm->step(vcpu);
	ASSERT_EQ(errno_name(st.err), errno_name(0));
	ASSERT_FALSE(st.is_ucall);
	ASSERT_EQ(vcpu.exit_reason_name(), exit_reason_name(KVM_EXIT_MMIO));
	ASSERT_EQ(hex(vcpu.run_state().mmio.phys_addr), hex(kTestGpaBase));
}

// The program's contract rows, printed once so a lab log says what applies.
void print_contract_rows()
{
	std::string evidence;
	AttributesFamily family = kernel_attributes_family(&evidence);
	printf("# contract family: %s [%s]\n", family_name(family), evidence.c_str());
	for (const VmTypeInfo &t : arch_vm_types()) {
		std::string why;
		if (!vm_type_offered(t, &why)) {
			printf("# contract %s: every row skipped: %s\n", t.name, why.c_str());
			continue;
		}
		for (Direction d : kDirections)
			for (ContentMode m : kContentModes)
				printf("# contract %s %s %s: %s\n", t.name, direction_name(d), mode_name(m),
				       describe_cell(contract_cell(t.name, d, m, LaunchPhase::BeforeFinalize,
								   family)).c_str());
	}
}

[[maybe_unused]] const bool kRowsRegistered = register_preamble([] {
	try {
		print_contract_rows();
	} catch (const std::exception &e) {
		printf("# contract rows unavailable: %s\n", e.what());
	} catch (const TestSkip &s) {
		printf("# contract rows unavailable: %s\n", s.reason.c_str());
	}
});

}  // namespace
