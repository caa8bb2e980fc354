// In-place shared/private conversion of guest_memfd (KVM_SET_MEMORY_ATTRIBUTES2
// on the gmem fd), checked against the contract table for every VM type.
// Section numbers (§N) are those of ../shared/spec/gmem-conversion-uapi.md.
//
// Fixtures (a variant per known VM type):
//   validation  error paths in the documented order; ENOTTY when the mode is off
//   conv        round trips, precision, before-allocation, truncation, other processes
//   held        conversions refused while a page is referenced (two tests per holder)
//   content     one test per direction x content mode, as the contract table says
//   guest       a guest on the converted pages; the same page on both sides (PFN)
//   gmem_only   a guest on a gmem without MMAP whose memslot's userspace_addr is
//               other memory: with the mode on, guest faults still use the gmem
//
// Helpers named require_* end the test when their check fails (ASSERT);
// helpers that check on their caller's behalf take `Where where` last, so a
// failure names the caller's line.
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conversion_contract.hh"
#include "decoy_memory.hh"
#include "guest_access.hh"
#include "declared_profile.hh"
#include "guest_memfd.hh"
#include "guest_pages.hh"
#include "kvm_system.hh"
#include "page_holder.hh"
#include "page_size.hh"
#include "page_state.hh"
#include "pagemap.hh"
#include "pattern.hh"
#include "peer.hh"
#include "profile.hh"
#include "sigbus.hh"
#include "step_rendezvous.hh"
#include "test.hh"
#include "guest_vm.hh"
#include "vm.hh"
#include "hex.hh"

using namespace kvmt;

KVMT_KVM_PROGRAM();

namespace {

// The host's page size: the unit of offsets, sizes, conversions and punches.
const uint64_t kPage = page_size();
// The file: 4 MiB, two 2 MiB blocks (a 2 MiB folio each where the gmem has them).
constexpr uint64_t k2M = 2ULL << 20;
constexpr uint64_t kSize = 2 * k2M;
const uint64_t kBlockPages = k2M / kPage;  // 512 with 4 KiB pages
const uint64_t kPages = kSize / kPage;
constexpr uint64_t kMmap = GUEST_MEMFD_FLAG_MMAP;
constexpr uint64_t kInitShared = GUEST_MEMFD_FLAG_INIT_SHARED;
constexpr uint64_t kPrivate = KVM_MEMORY_ATTRIBUTE_PRIVATE;
constexpr uint64_t kSeedA = 0x5eed, kSeedB = 0xb00c;
constexpr uint32_t kGmemSlot = 1;

PageState other_state(PageState s)
{
	return s == PageState::Shared ? PageState::Private : PageState::Shared;
}

// Whether page i (of the host's page size) of base is in state s: a read
// and a write probe.
bool page_in_state(const uint8_t *base, uint64_t i, PageState s)
{
	return first_state_mismatch(base + i * kPage, 0, 1, s) < 0;
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
	std::unique_ptr<GuestVm> tvm;  // when guest code can run in this VM type
	std::optional<GuestMemfd> gmem;
	Mapping map;
	AttributesFamily family = AttributesFamily::None;
	std::string type;

	InPlace(const VmTypeVariant &v, uint64_t flags, bool with_guest)
	{
		type = v.type->name;
		if (with_guest && !v.type->needs_launch_flow)
			tvm = std::make_unique<GuestVm>(*v.type);
		else
			vm = std::make_unique<Vm>(*v.type);
		require_private_memory(*v.type);
		require_guest_memfd(the_vm(), flags);
		gmem.emplace(the_vm(), kSize, flags);
		AttributesResult probe = gmem->set_attributes(0, 0, kPrivate);
		const InPlaceMode &mode = in_place_mode();
		if (probe.err == ENOTTY && !mode.on)
			feature_missing(Feature::InPlace, "", "in-place mode " + describe_in_place_mode(mode));
		ASSERT_EQ(Errno(probe.err), Errno(EINVAL))
			<< "a size-0 request on a " << type << " guest_memfd, in-place mode "
			<< describe_in_place_mode(mode);
		std::string evidence;
		family = kernel_attributes_family(&evidence);
		map = gmem->map();
		if (tvm)
			tvm->add_gmem_slot(kGmemSlot, kTestGpaBase, kSize, gmem->fd(), 0, map.data());
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

	// What the guest must read of pages that went private holding the host's
	// pattern: that pattern where the contract keeps the data.
	GuestExpect kept_by_to_private()
	{
		Content c = contract_cell(type, Direction::ToPrivate, ContentMode::Unspecified,
					  LaunchPhase::BeforeFinalize, family).content;
		return c == Content::Preserved ? kExpectPattern : kExpectNothing;
	}
	// The guest's view of pages [first, first + count) after a to-private
	// request: the host's pattern where the contract keeps the data.
	void guest_sees_pattern_if_kept(uint64_t first, uint64_t count, uint64_t seed,
					uint64_t zero_mask = 0)
	{
		if (!tvm)
			return;  // snp/tdx: no guest without the launch flow
		guest_round_at(first, count, kept_by_to_private(), seed, 0, zero_mask);
	}

	AttributesResult convert(uint64_t first, uint64_t count, uint64_t attrs, uint64_t flags = 0)
	{
		return gmem->convert(first * kPage, count * kPage, attrs, flags);
	}
	// Converts pages [first, first + count) to s; a failure ends the test.
	void to(PageState s, uint64_t first, uint64_t count, uint64_t flags = 0,
		Where where = Where::here())
	{
		AttributesResult r = convert(first, count, s == PageState::Private ? kPrivate : 0, flags);
		ASSERT_EQ(Errno(r.err), Errno(0))
			<< where << "converting pages " << first << "+" << count << " to "
			<< page_state_name(s) << " (flags " << hex(flags) << "), error_offset "
			<< hex(r.error_offset);
	}
	void require_state(uint64_t first, uint64_t count, PageState s, Where where = Where::here())
	{
		for (uint64_t i = first; i < first + count; i++)
			ASSERT_TRUE(page_in_state(map.data(), i, s))
				<< where << "page " << i << " is not " << page_state_name(s) << " (pages "
				<< first << "+" << count << ")";
	}
	void require_pattern(uint64_t first, uint64_t count, uint64_t seed, Where where = Where::here())
	{
		int64_t mismatch = find_pattern_mismatch(page(first), first * kPage, count * kPage, seed);
		uint64_t off = first * kPage + mismatch;  // meaningful only on a mismatch
		ASSERT_LT(mismatch, 0) << where << "page " << off / kPage << ", offset " << hex(off)
				       << ": byte " << hex(page(first)[mismatch]) << ", expected "
				       << hex(pattern_byte(seed, off)) << " (pattern " << hex(seed)
				       << " over pages " << first << "+" << count << ")";
	}
	void require_zero(uint64_t first, uint64_t count, Where where = Where::here())
	{
		int64_t nonzero = find_nonzero(page(first), count * kPage);
		uint64_t off = first * kPage + nonzero;  // meaningful only on a mismatch
		ASSERT_LT(nonzero, 0) << where << "page " << off / kPage << ", offset " << hex(off)
				      << ": byte " << hex(page(first)[nonzero]) << ", expected 0 (pages "
				      << first << "+" << count << ")";
	}
	// Shared pages that held pattern(seed) before a round trip through private.
	void require_content(uint64_t first, uint64_t count, Content c, uint64_t seed,
			     Where where = Where::here())
	{
		test_log(std::string("contract: contents ") + content_name(c));
		if (c == Content::Preserved)
			require_pattern(first, count, seed, where);
		else if (c == Content::Zeroed)
			require_zero(first, count, where);
		else if (c == Content::Scrambled)
			require_scrambled(first, count, seed, where);
	}
	// Every page lost the pattern and is not simply zero: most of its bytes
	// differ from both (random bytes match either 1 time in 256).
	void require_scrambled(uint64_t first, uint64_t count, uint64_t seed, Where where = Where::here())
	{
		for (uint64_t i = first; i < first + count; i++) {
			uint64_t kept = 0;
			for (uint64_t b = 0; b < kPage; b++)
				kept += page(i)[b] == 0 || page(i)[b] == pattern_byte(seed, i * kPage + b);
			ASSERT_LE(kept, kPage / 2)
				<< where << "page " << i << " is not scrambled: " << kept
				<< " of its bytes are zero or the old pattern " << hex(seed);
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

// §3 validation 1: mode off → every request answers ENOTTY, even one invalid in every way.
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
		EXPECT_EQ(Errno(r.err), Errno(ENOTTY)) << "attributes " << hex(attrs);
	}
	// Even a request that is invalid in every other way.
	AttributesResult r = gmem.set_attributes(1, 0, ~0ULL, ~0ULL);
	EXPECT_EQ(Errno(r.err), Errno(ENOTTY)) << "offset 1, size 0, every attribute and flag bit";
}

// §3 validation 5: no private memory → EINVAL both ways, every page shared and intact.
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
		EXPECT_EQ(Errno(r.err), Errno(EINVAL)) << "attributes " << hex(attrs);
	}
	for (uint64_t i = 0; i < kPages; i++)
		ASSERT_TRUE(page_in_state(map.data(), i, PageState::Shared))
			<< "page " << i << " after the refused requests";
	EXPECT_EQ(find_pattern_mismatch(map.data(), 0, kSize, kSeedA), -1);
}

// A request the kernel must refuse with err, leaving every page shared and
// intact: a wrong errno is recorded and the test goes on, a changed page ends it.
void check_refused(InPlace &g, gmem_attributes2 req, int err, const std::string &what,
		   Where where = Where::here())
{
	AttributesResult r = g.gmem->__set_attributes(&req);
	EXPECT_EQ(Errno(r.err), Errno(err)) << where << what << ", error_offset " << hex(r.error_offset);
	g.require_state(0, kPages, PageState::Shared, where);
	g.require_pattern(0, kPages, kSeedA, where);
}

gmem_attributes2 request(uint64_t offset, uint64_t size, uint64_t attrs = kPrivate)
{
	gmem_attributes2 req = {};
	req.offset = offset;
	req.size = size;
	req.attributes = attrs;
	return req;
}

// Each row runs on an in-place gmem (MMAP|INIT_SHARED, every page holding kSeedA's pattern).
struct ValidationCase {
	const char *name;
	void (*run)(InPlace &g);
};

const ValidationCase kValidationCases[] = {
	// §3 validation 2: a bad user pointer → EFAULT, nothing changed.
	{"bad_pointer_efault",
	 [](InPlace &g) {
		 EXPECT_ERRNO(ioctl(g.gmem->fd(), kSetMemoryAttributes2, (void *)8), EFAULT);
		 g.require_state(0, kPages, PageState::Shared);
	 }},
	// §3 validation 3, §4: flags the revision does not take → EINVAL.
	{"flags_not_accepted_einval",
	 [](InPlace &g) {
		 // Applied family: any flag. Content-mode family: both modes, or an unknown bit.
		 std::vector<uint64_t> bad = {kContentZero | kContentPreserve, 1ULL << 2, 1ULL << 63};
		 if (g.family == AttributesFamily::Applied)
			 bad = {kContentZero, kContentPreserve, 1ULL << 2, 1ULL << 63};
		 for (uint64_t flags : bad) {
			 gmem_attributes2 req = request(0, kPage, 0);
			 req.flags = flags;
			 check_refused(g, req, EINVAL, "flags " + hex(flags));
		 }
	 }},
	// §3 validation 4: any non-zero reserved word → EINVAL.
	{"reserved_nonzero_einval",
	 [](InPlace &g) {
		 for (int i = 0; i < 11; i++) {
			 gmem_attributes2 req = request(0, kPage);
			 req.reserved[i] = 1;
			 check_refused(g, req, EINVAL, "reserved[" + std::to_string(i) + "] = 1");
		 }
	 }},
	// §3 validation 6: attributes other than 0 / PRIVATE → EINVAL.
	{"unknown_attributes_einval",
	 [](InPlace &g) {
		 for (int bit = 0; bit < 64; bit++) {
			 uint64_t other = 1ULL << bit;
			 if (other == kPrivate)
				 continue;
			 check_refused(g, request(0, kPage, other), EINVAL,
				       "attribute bit " + std::to_string(bit));
			 check_refused(g, request(0, kPage, kPrivate | other), EINVAL,
				       "PRIVATE with attribute bit " + std::to_string(bit));
		 }
	 }},
	// §3 validation 7: size 0 → EINVAL.
	{"size_zero_einval",
	 [](InPlace &g) { check_refused(g, request(0, 0), EINVAL, "size 0"); }},
	// §3 validation 7: offset + size wraps → EINVAL.
	{"overflow_einval",
	 [](InPlace &g) {
		 check_refused(g, request(-kPage, 2 * kPage), EINVAL, "offset + size wraps");
		 check_refused(g, request(kPage, -kPage), EINVAL, "size wraps");
	 }},
	// §3 validation 8: an offset not page-aligned → EINVAL.
	{"unaligned_offset_einval",
	 [](InPlace &g) {
		 for (uint64_t off : {(uint64_t)1, kPage / 2, kPage + 8})
			 check_refused(g, request(off, kPage), EINVAL, "offset " + hex(off));
	 }},
	// §3 validation 8: a size not page-aligned → EINVAL.
	{"unaligned_size_einval",
	 [](InPlace &g) {
		 for (uint64_t size : {(uint64_t)1, kPage - 1, kPage + 1})
			 check_refused(g, request(0, size), EINVAL, "size " + hex(size));
	 }},
	// §3 validation 9: a range starting at or ending beyond the file's end → EINVAL.
	{"beyond_file_size_einval",
	 [](InPlace &g) {
		 check_refused(g, request(kSize, kPage), EINVAL, "starts at the end");
		 check_refused(g, request(kSize - kPage, 2 * kPage), EINVAL, "straddles the end");
		 check_refused(g, request(0, kSize + kPage), EINVAL, "longer than the file");
	 }},
};

// §3 validation 2-9: each row's invalid request gets its errno and changes nothing.
KVMT_TEST_F_TABLE(validation, kValidationCases, ValidationCase, c)
{
	InPlace g(v, kMmap | kInitShared, false);
	fill_pattern(g.map.data(), 0, kSize, kSeedA);
	c.run(g);
}

// §2: the VM fd answers ATTRIBUTES2 as any unknown VM ioctl (x86 ENOTTY, arm64 EINVAL).
KVMT_TEST_F(validation, vm_fd_refuses_attributes2)
{
	errno = 0;
	ASSERT_EQ(ioctl(f.vm.fd(), _IO(KVMIO, 0xfe)), -1);
	int unknown = errno;
	EXPECT_TRUE(unknown == ENOTTY || unknown == EINVAL) << "unknown VM ioctl: " << Errno(unknown);
	gmem_attributes2 req = request(0, kPage);
	EXPECT_ERRNO(ioctl(f.vm.fd(), kSetMemoryAttributes2, &req), unknown);
}

// §2: other ioctls on the gmem fd, the VM-level SET_MEMORY_ATTRIBUTES too, answer ENOTTY.
KVMT_TEST_F(validation, unknown_gmem_ioctl_enotty)
{
	uint64_t flags = f.vm.guest_memfd_flags() & kMmap;
	require_guest_memfd(f.vm, flags);
	GuestMemfd gmem(f.vm, kSize, flags);
	kvm_memory_attributes vm_req = {0, kPage, kPrivate, 0};
	EXPECT_ERRNO(ioctl(gmem.fd(), KVM_SET_MEMORY_ATTRIBUTES, &vm_req), ENOTTY);
	EXPECT_ERRNO(ioctl(gmem.fd(), _IO(KVMIO, 0xff)), ENOTTY);
}

// §2: GUEST_MEMFD_FLAGS: MMAP for every type, INIT_SHARED if mode on or no private memory.
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

// §2, §4: the attributes caps (system, VM fd), modes cap and declared profile fit the mode.
KVMT_TEST_F(validation, in_place_caps_agree)
{
	const InPlaceMode &mode = in_place_mode();
	test_log("in-place mode " + describe_in_place_mode(mode));
	EXPECT_EQ(mode.contradiction, std::string());
	std::string evidence;
	AttributesFamily family = kernel_attributes_family(&evidence);
	const DeclaredProfile &declared = declared_profile();
	if (declared.in_place)
		EXPECT_EQ(*declared.in_place, mode.on)
			<< "declared in_place=" << (*declared.in_place ? "on" : "off")
			<< ", found in-place mode " << describe_in_place_mode(mode);
	bool has_modes = family == AttributesFamily::ContentModes;
	if (declared.content_modes)
		EXPECT_EQ(*declared.content_modes, has_modes)
			<< "declared content_modes=" << (*declared.content_modes ? "on" : "none")
			<< ", found per-gmem attributes " << family_name(family) << " [" << evidence << "]";
	std::string series_evidence;
	Series series = kernel_series(&series_evidence);
	test_log(std::string("series ") + series_name(series) + " [" + series_evidence + "]");
	long cap = gmem_attributes_cap(series);
	long priv = static_cast<long>(kPrivate);
	EXPECT_EQ(f.vm.check_extension(cap), mode.on && v.type->private_memory ? priv : 0L)
		<< "cap " << cap << " on the VM fd";
	if (mode.on)
		EXPECT_EQ(KvmSystem::get().check_extension(cap), priv) << "cap " << cap << " on the system fd";
	if (family != AttributesFamily::ContentModes)
		return;
	long modes = static_cast<long>(kContentZero | kContentPreserve);
	EXPECT_EQ(KvmSystem::get().check_extension(KVM_CAP_MEMORY_ATTRIBUTES2_FLAGS), modes)
		<< "on the system fd";
	if (!v.type->private_memory)
		EXPECT_EQ(f.vm.check_extension(KVM_CAP_MEMORY_ATTRIBUTES2_FLAGS), 0L) << "on the VM fd";
	else if (v.name == "sw_protected")
		EXPECT_EQ(f.vm.check_extension(KVM_CAP_MEMORY_ATTRIBUTES2_FLAGS), modes) << "on the VM fd";
}

// Skips unless the mode is on and the VM-level attributes ioctl is (built)
// as the row expects; the module parameter tells which (spec section 2).
void require_vm_level_attributes_built(bool built)
{
	const InPlaceMode &mode = in_place_mode();
	std::optional<bool> is_built = vm_level_attributes_built(mode);
	if (!is_built)
		skip("in-place mode " + describe_in_place_mode(mode) + " (per_vm rows cover it)");
	if (*is_built != built)
		skip(std::string("the per-VM option is ") + (*is_built ? "built (" + mode.parameter + ")"
								   : "not built (no module parameter)") +
		     ": vm_attributes_" + (built ? "enotty_without_per_vm_option" : "refuse_private_when_in_place_on") +
		     " covers it");
}

// §2: mode on, per-VM option built → MEMORY_ATTRIBUTES cap 0; VM-level attributes refuse PRIVATE, take 0.
KVMT_TEST_F(validation, vm_attributes_refuse_private_when_in_place_on)
{
	require_vm_level_attributes_built(true);
	EXPECT_EQ(f.vm.check_extension(KVM_CAP_MEMORY_ATTRIBUTES), 0);
	EXPECT_EQ(Errno(f.vm.__set_memory_attributes(0, kPage, kPrivate)), Errno(EINVAL)) << "attributes PRIVATE";
	EXPECT_EQ(Errno(f.vm.__set_memory_attributes(0, kPage, 0)), Errno(0)) << "attributes 0";
}

// §2: v13 without CONFIG_KVM_VM_MEMORY_ATTRIBUTES (no module parameter): the VM-level ioctl is not built.
KVMT_TEST_F(validation, vm_attributes_enotty_without_per_vm_option)
{
	require_vm_level_attributes_built(false);
	EXPECT_EQ(KvmSystem::get().check_extension(KVM_CAP_MEMORY_ATTRIBUTES), 0) << "on the system fd";
	EXPECT_EQ(f.vm.check_extension(KVM_CAP_MEMORY_ATTRIBUTES), 0) << "on the VM fd";
	EXPECT_EQ(Errno(f.vm.__set_memory_attributes(0, kPage, kPrivate)), Errno(ENOTTY)) << "attributes PRIVATE";
	EXPECT_EQ(Errno(f.vm.__set_memory_attributes(0, kPage, 0)), Errno(ENOTTY)) << "attributes 0";
}

// §3: error_offset stays untouched on EINVAL, EFAULT, ENOTTY and success.
KVMT_TEST_F(validation, error_offset_untouched)
{
	constexpr uint64_t kSentinel = 0x5e5e5e5e5e5e5e5eULL;
	uint64_t flags = f.vm.guest_memfd_flags() & kMmap;
	require_guest_memfd(f.vm, flags);
	GuestMemfd gmem(f.vm, kSize, flags);
	const InPlaceMode &mode = in_place_mode();
	auto check = [&](gmem_attributes2 *req, int err, const char *what, Where where = Where::here()) {
		req->error_offset = kSentinel;
		AttributesResult r = gmem.__set_attributes(req);
		EXPECT_EQ(Errno(r.err), Errno(err)) << where << what;
		EXPECT_EQ(req->error_offset, kSentinel) << where << what << ": error_offset must stay untouched";
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

// The state a guest_memfd is created in: one test body, a row per state.
struct InitialState {
	const char *name;
	PageState init;
};

// f itself when init is shared (MMAP|INIT_SHARED), else a second guest_memfd
// created without INIT_SHARED (all private), kept in created_private.
InPlace &gmem_created(Conv &f, const VmTypeVariant &v, PageState init,
		      std::optional<InPlace> &created_private)
{
	if (init == PageState::Shared)
		return f;
	return created_private.emplace(v, kMmap, false);
}

const InitialState kRoundTrips[] = {
	{"init_shared_round_trip", PageState::Shared},
	{"init_private_round_trip", PageState::Private},
};

// §3: created shared or private, the whole file converts both ways; contents per contract.
KVMT_TEST_F_TABLE(conv, kRoundTrips, InitialState, row)
{
	std::optional<InPlace> created_private;
	InPlace &g = gmem_created(f, v, row.init, created_private);
	g.require_state(0, kPages, row.init);
	if (row.init == PageState::Private) {
		g.to(PageState::Shared, 0, kPages);
		g.require_state(0, kPages, PageState::Shared);
		g.require_zero(0, kPages);  // never allocated: the first allocation zeroes
	}
	fill_pattern(g.map.data(), 0, kSize, kSeedA);
	g.to(PageState::Private, 0, kPages);
	g.require_state(0, kPages, PageState::Private);
	g.to(PageState::Shared, 0, kPages);
	g.require_state(0, kPages, PageState::Shared);
	g.require_content(0, kPages, g.round_trip_content(), kSeedA);
}

// A page index or a page count in the file: whole 2 MiB blocks plus (or
// minus) pages, so that the ranges keep their shape whatever the page size.
struct Span {
	uint64_t blocks;
	int64_t pages;
	uint64_t in_pages() const { return blocks * kBlockPages + pages; }
};

struct Range {
	const char *name;
	Span first, count;
};

// The 4 MiB file is two 2 MiB blocks of B pages each (B = 2 MiB / page size,
// 512 with 4 KiB pages); each row converts its '#' pages:
//
//                               0  3                 B-2B    B+5            2B-1
//                               |----------------------||----------------------|
//                                  first 2 MiB block       second 2 MiB block
// precision_first_page          #
// precision_last_page                                                          #
// precision_one_middle_page                                  #
// precision_two_pages              ##
// precision_straddling_2m                             ####
// precision_whole_2m_block                              ########################
// precision_2m_minus_one_page    #######################
const Range kPrecisionRanges[] = {
	{"precision_first_page", {0, 0}, {0, 1}},
	{"precision_last_page", {2, -1}, {0, 1}},
	{"precision_one_middle_page", {1, 5}, {0, 1}},
	{"precision_two_pages", {0, 3}, {0, 2}},
	{"precision_straddling_2m", {1, -2}, {0, 4}},
	{"precision_whole_2m_block", {1, 0}, {1, 0}},
	{"precision_2m_minus_one_page", {0, 1}, {1, -1}},
};

// §3, §5 indexing: a conversion changes only its range, not the rest of its 2 MiB block.
KVMT_TEST_F_TABLE(conv, kPrecisionRanges, Range, r)
{
	uint64_t first = r.first.in_pages(), count = r.count.in_pages();
	uint64_t end = first + count;
	test_log("pages " + std::to_string(first) + "+" + std::to_string(count) + " of " +
		 std::to_string(kPages));
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.to(PageState::Private, first, count);
	f.require_state(0, first, PageState::Shared);
	f.require_state(first, count, PageState::Private);
	f.require_state(end, kPages - end, PageState::Shared);
	f.require_pattern(0, first, kSeedA);
	f.require_pattern(end, kPages - end, kSeedA);
	// The guest too: the range and one page on each side.
	uint64_t lo = first ? first - 1 : 0;
	uint64_t hi = std::min(end + 1, kPages);
	f.guest_sees_pattern_if_kept(lo, hi - lo, kSeedA);
	f.to(PageState::Shared, first, count);
	f.require_state(0, kPages, PageState::Shared);
	f.require_content(first, count, f.round_trip_content(), kSeedA);
}

const InitialState kBeforeAllocation[] = {
	{"before_allocation_to_private", PageState::Shared},
	{"before_allocation_to_shared", PageState::Private},
};

// §3: a conversion before allocation is recorded, the rest keeps its state, shared pages read 0.
KVMT_TEST_F_TABLE(conv, kBeforeAllocation, InitialState, row)
{
	std::optional<InPlace> created_private;
	InPlace &g = gmem_created(f, v, row.init, created_private);
	PageState converted = other_state(row.init);
	g.to(converted, 10, 20);
	g.require_state(10, 20, converted);
	g.require_state(0, 10, row.init);
	g.require_state(30, 10, row.init);
	if (converted == PageState::Private) {
		g.to(PageState::Shared, 10, 20);
		g.require_zero(0, 40);  // every page shared again, none allocated before
	} else {
		g.require_zero(10, 20);
	}
	fill_pattern(g.page(10), 10 * kPage, 20 * kPage, kSeedA);
	g.require_pattern(10, 20, kSeedA);
}

// §5 unallocated_folios: one request over allocated and unallocated pages: old bytes vs 0.
KVMT_TEST_F(conv, mixed_allocated_and_unallocated)
{
	for (uint64_t i = 0; i < 64; i += 2)
		fill_pattern(f.page(i), i * kPage, kPage, kSeedA);
	f.to(PageState::Private, 0, 64);
	f.require_state(0, 64, PageState::Private);
	// The guest reads the old bytes on allocated pages, 0 on the others.
	f.guest_sees_pattern_if_kept(0, 64, kSeedA, 0xaaaaaaaaaaaaaaaaULL);
	f.to(PageState::Shared, 0, 64);
	for (uint64_t i = 0; i < 64; i += 2) {
		f.require_content(i, 1, f.round_trip_content(), kSeedA);
		f.require_zero(i + 1, 1);
	}
}

// §3 validation 10: a range already (partly) in the target state converts; nothing else moves.
KVMT_TEST_F(conv, no_op_conversions_succeed)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.to(PageState::Shared, 0, kPages);  // already shared
	f.require_state(0, kPages, PageState::Shared);
	f.require_content(0, kPages, f.no_op_content(Direction::ToShared), kSeedA);
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.to(PageState::Private, 36, 8);
	f.to(PageState::Private, 36, 8);   // already private
	f.to(PageState::Private, 32, 16);  // partly private
	f.require_state(32, 16, PageState::Private);
	f.require_state(0, 32, PageState::Shared);
	f.require_state(48, kPages - 48, PageState::Shared);
	f.require_pattern(0, 32, kSeedA);
	f.require_pattern(48, kPages - 48, kSeedA);
}

// §3 truncation: a punch frees shared pages (0 on the next touch) and leaves them shared.
KVMT_TEST_F(conv, punch_shared_stays_shared)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.gmem->punch_hole(5 * kPage, 3 * kPage);
	f.require_state(0, kPages, PageState::Shared);
	f.require_zero(5, 3);
	f.require_pattern(0, 5, kSeedA);
	f.require_pattern(8, kPages - 8, kSeedA);
}

// §3 truncation: a punch leaves private pages private; converted back, they read 0.
KVMT_TEST_F(conv, punch_private_stays_private)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.to(PageState::Private, 5, 3);
	f.gmem->punch_hole(5 * kPage, 3 * kPage);
	f.require_state(5, 3, PageState::Private);
	f.to(PageState::Shared, 5, 3);
	f.require_zero(5, 3);  // the punch freed the pages: fresh ones are zero
	f.require_pattern(0, 5, kSeedA);
}

// §3 truncation: punched pages convert both ways and read 0; the pages after them keep their data.
KVMT_TEST_F(conv, punch_then_convert)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	f.gmem->punch_hole(0, 16 * kPage);
	f.to(PageState::Private, 0, 16);
	f.require_state(0, 16, PageState::Private);
	f.to(PageState::Shared, 0, 16);
	f.require_zero(0, 16);
	f.require_pattern(16, kPages - 16, kSeedA);
}

// A peer process's long-lived mapping of the gmem: SIGBUS on the pages while
// they are private, in every round, and their bytes again once shared.
void peer_loses_and_regains_access(Conv &f, Peer::Kind kind, Where where = Where::here())
{
	test_log(std::string("peer: ") + Peer::kind_name(kind));
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	Peer peer(kind, f.gmem->fd());
	ASSERT_EQ(Errno(peer.map(kSize).err), Errno(0)) << where << "the peer's mmap";
	PeerReply seen = peer.check(0, kSize, kSeedA);
	ASSERT_EQ(seen.sigbus_pages + seen.mismatches, 0u)
		<< where << "the peer's first look, first bad offset " << hex(seen.first_bad);
	// The same long-lived mapping through several conversions each way:
	// a stale view in the peer would show up in a later round.
	for (uint64_t round = 0; round < 3; round++) {
		uint64_t first = 8 + 16 * round, n = 8;
		test_log("round " + std::to_string(round) + ": pages " + std::to_string(first) + "+8");
		f.to(PageState::Private, first, n);
		EXPECT_EQ(peer.probe(first * kPage, n * kPage, Access::Read).sigbus_pages, n)
			<< where << "round " << round << ": peer reads private pages " << first << "+" << n;
		EXPECT_EQ(peer.probe(first * kPage, n * kPage, Access::Write).sigbus_pages, n)
			<< where << "round " << round << ": peer writes private pages " << first << "+" << n;
		EXPECT_EQ(peer.probe((first - 8) * kPage, 8 * kPage, Access::Read).sigbus_pages, 0u)
			<< where << "round " << round << ": peer reads shared pages " << first - 8 << "+8";
		f.to(PageState::Shared, first, n);
		EXPECT_EQ(peer.probe(first * kPage, n * kPage, Access::Read).sigbus_pages, 0u)
			<< where << "round " << round << ": peer reads pages " << first << "+" << n
			<< " shared again";
		if (f.round_trip_content() == Content::Preserved) {
			seen = peer.check(first * kPage, n * kPage, kSeedA);
			EXPECT_EQ(seen.mismatches, 0u)
				<< where << "round " << round << ": peer's bytes of pages " << first << "+"
				<< n << " after the round trip, first bad offset " << hex(seen.first_bad);
		}
	}
	ASSERT_EQ(peer.finish(), 0) << where << "the peer's exit";
}

// §3 host access: a forked child's mapping SIGBUSes on private pages, reads them shared again.
KVMT_TEST_F(conv, forked_child_sigbus_after_conversion)
{
	peer_loses_and_regains_access(f, Peer::Kind::ForkedChild);
}

// §3 host access: the same for an unrelated process given the gmem fd over SCM_RIGHTS.
KVMT_TEST_F(conv, scm_rights_process_sigbus_after_conversion)
{
	peer_loses_and_regains_access(f, Peer::Kind::Unrelated);
}

// §5 (false pass seen in review): a round trip keeps the page's PFN: the conversion is in place.
KVMT_TEST_F(conv, pfn_unchanged_by_round_trip)
{
	fill_pattern(f.map.data(), 0, kSize, kSeedA);
	std::optional<uint64_t> before = pfn_of(f.page(7));
	ASSERT_TRUE(before.has_value());
	f.to(PageState::Private, 7, 1);
	f.to(PageState::Shared, 7, 1);
	f.require_content(7, 1, f.round_trip_content(), kSeedA);
	std::optional<uint64_t> after = pfn_of_touched(f.page(7));
	ASSERT_TRUE(after.has_value());
	ASSERT_EQ(*before, *after);
}

// ------------------------------------------------------------ forked_accesses

// The turns of forked_accesses; the parent takes the odd ones.
enum ForkedStep : int {
	kPagesWritten = 1,      // pages 0-1 shared, holding their latest bytes
	kChildReadShared,       // the child read them
	kPageOnePrivate,        // page 1 private, page 0 rewritten
	kChildProbedPrivate,    // the child probed both pages
	kPageOneSharedAgain,    // page 1 shared again
	kChildReadSharedAgain,  // the child read it; it exits next
};

// The child's checks, one bit of its exit status each.
enum ChildCheckBit : unsigned {
	kFirstShared = 1u << 0,
	kFirstBytes = 1u << 1,
	kPrivateReadSigbus = 1u << 2,
	kPrivateWriteSigbus = 1u << 3,
	kNeighbourShared = 1u << 4,
	kSharedAgain = 1u << 5,
	kSharedAgainBytes = 1u << 6,
	kChildLostTurn = 1u << 7,
};
struct ChildCheck {
	unsigned bit;
	const char *what;
};
const ChildCheck kChildChecks[] = {
	{kFirstShared, "pages 0-1 were not shared before any conversion"},
	{kFirstBytes, "pages 0-1 did not hold the parent's latest bytes before any conversion"},
	{kPrivateReadSigbus, "a read of private page 1 did not SIGBUS"},
	{kPrivateWriteSigbus, "a write to private page 1 did not SIGBUS"},
	{kNeighbourShared, "page 0, still shared, was not readable with the latest bytes while page 1 was private"},
	{kSharedAgain, "page 1 was not shared again after the conversion back"},
	{kSharedAgainBytes, "page 1 did not hold the bytes the round trip keeps"},
	{kChildLostTurn, "its wait for the parent failed (see its '# forked child:' line)"},
};

// Which pattern each page holds after each parent turn, fixed before the
// fork: the guest rewrites the pages where it runs in this VM type.
struct ForkedSeeds {
	uint64_t shared;        // pages 0-1 before any conversion
	uint64_t private_page;  // page 1 while private
	uint64_t neighbour;     // page 0 while page 1 is private
	bool kept;              // page 1 holds private_page again once shared (contract)
};

constexpr uint64_t kSeedC = 0xc0de, kSeedD = 0xd00d;

ForkedSeeds forked_seeds(Conv &f)
{
	bool kept = f.round_trip_content() == Content::Preserved;
	if (f.tvm)
		return {kSeedB, kSeedC, kSeedD, kept};
	return {kSeedA, kSeedA, kSeedD, kept};
}

bool holds_pattern(const uint8_t *map, uint64_t first, uint64_t count, uint64_t seed)
{
	return find_pattern_mismatch(map + first * kPage, first * kPage, count * kPage, seed) < 0;
}

unsigned bit_unless(bool ok, unsigned bit)
{
	return ok ? 0 : bit;
}

// The child's turns; returns the bits of its failed checks.
unsigned forked_child_turns(uint8_t *map, StepRendezvous &steps, const ForkedSeeds &s)
{
	unsigned failed = 0;
	try {
		steps.await_parent(kPagesWritten, "pages 0-1 written");
		bool shared = first_state_mismatch(map, 0, 2, PageState::Shared) < 0;
		failed |= bit_unless(shared, kFirstShared);
		failed |= bit_unless(shared && holds_pattern(map, 0, 2, s.shared), kFirstBytes);
		steps.set(kChildReadShared);

		steps.await_parent(kPageOnePrivate, "page 1 private");
		failed |= bit_unless(probe(map + kPage, Access::Read).sigbus, kPrivateReadSigbus);
		failed |= bit_unless(probe(map + kPage, Access::Write, 0x5a).sigbus, kPrivateWriteSigbus);
		failed |= bit_unless(page_in_state(map, 0, PageState::Shared) &&
					     holds_pattern(map, 0, 1, s.neighbour), kNeighbourShared);
		steps.set(kChildProbedPrivate);

		steps.await_parent(kPageOneSharedAgain, "page 1 shared again");
		bool again = page_in_state(map, 1, PageState::Shared);
		failed |= bit_unless(again, kSharedAgain);
		failed |= bit_unless(!s.kept || (again && holds_pattern(map, 1, 1, s.private_page)),
				     kSharedAgainBytes);
		steps.set(kChildReadSharedAgain);
	} catch (const std::exception &e) {
		fprintf(stderr, "# forked child: %s\n", e.what());
		failed |= kChildLostTurn;
	}
	return failed;
}

// A forked child that exits with what body() returns (255 if it throws) and
// never outlives the test: killed and reaped when the test ends first.
class ForkedChild {
public:
	explicit ForkedChild(const std::function<int()> &body)
	{
		fflush(nullptr);
		pid_ = sys_check(fork(), "fork");
		if (pid_ == 0) {
			int status = 255;
			try {
				status = body();
			} catch (...) {
			}
			_exit(status);
		}
	}
	~ForkedChild()
	{
		if (pid_ > 0) {
			kill(pid_, SIGKILL);
			waitpid(pid_, nullptr, 0);
		}
	}
	ForkedChild(const ForkedChild &) = delete;
	ForkedChild &operator=(const ForkedChild &) = delete;

	pid_t pid() const { return pid_; }
	int reap() { return *reap_with(0); }
	// The wait status once the child has exited; nullopt while it runs.
	std::optional<int> reap_if_exited() { return reap_with(WNOHANG); }

private:
	std::optional<int> reap_with(int options)
	{
		int status = 0;
		if (sys_check(waitpid(pid_, &status, options), "waitpid(forked child)") == 0)
			return std::nullopt;
		pid_ = -1;
		return status;
	}

	pid_t pid_ = -1;
};

void expect_child_passed(int status, Where where = Where::here())
{
	ASSERT_TRUE(WIFEXITED(status)) << where << "forked child: " << wait_status_text(status);
	unsigned failed = WEXITSTATUS(status);
	for (const ChildCheck &c : kChildChecks)
		EXPECT_FALSE(failed & c.bit) << where << "forked child: " << c.what;
}

// A child that exited instead of taking its turn: its checks say why.
void await_child_turn(StepRendezvous &steps, ForkedChild &child, int step, const char *what)
{
	try {
		steps.await_child(step, what, child.pid());
	} catch (const Error &) {
		if (std::optional<int> status = child.reap_if_exited())
			expect_child_passed(*status);
		throw;
	}
}

void write_shared_pages(Conv &f, const ForkedSeeds &s)
{
	fill_pattern(f.page(0), 0, 2 * kPage, kSeedA);
	if (f.tvm)
		f.guest_round_at(0, 2, kExpectPattern, kSeedA, s.shared);
}

void make_page_one_private(Conv &f, const ForkedSeeds &s)
{
	f.to(PageState::Private, 1, 1);
	// Not fatal: what the child sees of the page is the point of the test.
	EXPECT_TRUE(page_in_state(f.map.data(), 1, PageState::Private)) << "the parent's page 1";
	if (!f.tvm) {
		fill_pattern(f.page(0), 0, kPage, s.neighbour);
		return;
	}
	f.guest_round_at(1, 1, f.kept_by_to_private(), s.shared, s.private_page);
	f.guest_round_at(0, 1, kExpectPattern, s.shared, s.neighbour);
}

// §3 host access, §5 forked_accesses: a child living through the conversions sees every state change.
KVMT_TEST_F(conv, forked_accesses)
{
	ForkedSeeds seeds = forked_seeds(f);
	StepRendezvous steps;
	ForkedChild child([&] { return int(forked_child_turns(f.map.data(), steps, seeds)); });
	write_shared_pages(f, seeds);
	steps.set(kPagesWritten);
	await_child_turn(steps, child, kChildReadShared, "the child read pages 0-1 shared");
	make_page_one_private(f, seeds);
	steps.set(kPageOnePrivate);
	await_child_turn(steps, child, kChildProbedPrivate, "the child probed private page 1");
	f.to(PageState::Shared, 1, 1);
	steps.set(kPageOneSharedAgain);
	await_child_turn(steps, child, kChildReadSharedAgain, "the child read page 1 shared again");
	expect_child_passed(child.reap());
}

// ------------------------------------------------------------ held

// Each test builds the guest_memfd it needs from the variant.
struct Held {
	explicit Held(const VmTypeVariant &) {}
};

KVMT_FIXTURE(held, Held, VmTypeVariant, vm_type_variants());

constexpr uint64_t kHeldRange = 16, kHeldPage = 7;

// <holder>_blocks_to_private. §3 shared → private: a held page makes to-private fail with
// EAGAIN at that page, nothing changed; validation comes first, to shared takes no reference
// check, and once released the range converts.
void conversion_refused_while_held(HolderKind kind, const VmTypeVariant &v,
				   Where where = Where::here())
{
	InPlace g(v, kMmap | kInitShared, true);
	test_log(std::string("holder: ") + holder_name(kind));
	fill_pattern(g.map.data(), 0, kSize, kSeedA);
	std::unique_ptr<PageHolder> holder = PageHolder::take(kind, g.page(kHeldPage), kPage);

	AttributesResult bulk = g.convert(0, kHeldRange, kPrivate);
	EXPECT_EQ(Errno(bulk.err), Errno(EAGAIN))
		<< where << "pages 0+" << kHeldRange << " to private, page " << kHeldPage << " held";
	EXPECT_EQ(bulk.error_offset, kHeldPage * kPage)
		<< where << "error_offset of pages 0+" << kHeldRange << " to private";
	// Refused means refused: no page of the range changed state.
	g.require_state(0, kHeldRange, PageState::Shared);
	g.require_pattern(0, kHeldRange, kSeedA);

	for (uint64_t i = 0; i < kHeldRange; i++) {
		AttributesResult r = g.convert(i, 1, kPrivate);
		if (i == kHeldPage) {
			EXPECT_EQ(Errno(r.err), Errno(EAGAIN)) << where << "page " << i << " (held) to private";
			EXPECT_EQ(r.error_offset, kHeldPage * kPage)
				<< where << "page " << i << " (held) to private: error_offset";
		} else {
			EXPECT_EQ(Errno(r.err), Errno(0)) << where << "page " << i << " to private";
		}
	}
	g.require_state(kHeldPage, 1, PageState::Shared);
	g.require_pattern(kHeldPage, 1, kSeedA);

	// Validation comes before the reference check: a held page does not
	// turn an invalid request into EAGAIN.
	gmem_attributes2 reserved = request(0, kHeldRange * kPage);
	reserved.reserved[0] = 1;
	EXPECT_EQ(Errno(g.gmem->__set_attributes(&reserved).err), Errno(EINVAL))
		<< where << "reserved[0] = 1 over the held range";
	gmem_attributes2 bad_attrs = request(0, kHeldRange * kPage, kPrivate | 1);
	EXPECT_EQ(Errno(g.gmem->__set_attributes(&bad_attrs).err), Errno(EINVAL))
		<< where << "attribute bit 0 over the held range";
	// To shared takes no reference check: the held range converts back.
	AttributesResult back = g.gmem->set_attributes(0, kHeldRange * kPage, 0);
	EXPECT_EQ(Errno(back.err), Errno(0)) << where << "the held range to shared";
	g.require_state(0, kHeldRange, PageState::Shared);
	fill_pattern(g.map.data(), 0, kHeldRange * kPage, kSeedA);

	holder->release();
	if (kind == HolderKind::ODirect) {
		// Releasing completes the read, which lands in the very page it held:
		// what the holder observed in the pinned page and the mapping agree.
		std::vector<uint8_t> held = holder->contents();
		EXPECT_EQ(find_byte_mismatch(held.data(), kPage, kODirectFill), -1)
			<< where << "the O_DIRECT holder's view of page " << kHeldPage;
		EXPECT_EQ(find_byte_mismatch(g.page(kHeldPage), kPage, kODirectFill), -1)
			<< where << "the mapping's view of page " << kHeldPage;
		fill_pattern(g.page(kHeldPage), kHeldPage * kPage, kPage, kSeedA);
	}
	g.to(PageState::Private, 0, kHeldRange);
	g.require_state(0, kHeldRange, PageState::Private);
	g.guest_sees_pattern_if_kept(0, kHeldRange, kSeedA);  // the held page's old bytes too
	g.to(PageState::Shared, 0, kHeldRange);
	g.require_content(0, kHeldRange, g.round_trip_content(), kSeedA);
}

// <holder>_keeps_page_through_punch. §3 truncation: a punch frees the file's page; the holder
// keeps the old one and its data, the mapping gets a fresh zero page. Runs with the mode off too.
void holder_keeps_page_through_punch(HolderKind kind, const VmTypeVariant &v,
				     Where where = Where::here())
{
	Vm vm(*v.type);
	require_guest_memfd(vm, kMmap | kInitShared);
	GuestMemfd gmem(vm, kSize, kMmap | kInitShared);
	Mapping map = gmem.map();
	fill_pattern(map.data(), 0, 4 * kPage, kSeedA);
	std::unique_ptr<PageHolder> holder = PageHolder::take(kind, map.data() + kPage, kPage);
	gmem.punch_hole(kPage, kPage);
	ASSERT_EQ(find_nonzero(map.data() + kPage, kPage), -1)
		<< where << "the punched page 1 in the mapping";
	std::vector<uint8_t> held = holder->contents();
	ASSERT_EQ(held.size(), kPage) << where << "bytes the holder kept";
	if (kind == HolderKind::ODirect) {
		// The read landed in the page it pinned (contents() reads that page
		// through a second O_DIRECT request on it), not in the file's fresh one.
		ASSERT_EQ(find_byte_mismatch(held.data(), kPage, kODirectFill), -1)
			<< where << "the O_DIRECT holder's page";
		ASSERT_EQ(find_nonzero(map.data() + kPage, kPage), -1)
			<< where << "the punched page 1 after the O_DIRECT read completed";
	} else {
		ASSERT_EQ(find_pattern_mismatch(held.data(), kPage, kPage, kSeedA), -1)
			<< where << "the holder's page";
	}
	ASSERT_EQ(find_pattern_mismatch(map.data(), 0, kPage, kSeedA), -1)
		<< where << "page 0, next to the punch";
}

enum class HeldCheck { BlocksToPrivate, KeepsPageThroughPunch };

struct HeldRow {
	std::string name;  // <holder>_blocks_to_private, <holder>_keeps_page_through_punch
	HolderKind kind;
	HeldCheck check;
	int timeout;
};

std::vector<HeldRow> held_rows()
{
	std::vector<HeldRow> rows;
	for (HolderKind kind : kHolderKinds) {
		rows.push_back({std::string(holder_name(kind)) + "_blocks_to_private", kind,
				HeldCheck::BlocksToPrivate, 60});
		rows.push_back({std::string(holder_name(kind)) + "_keeps_page_through_punch", kind,
				HeldCheck::KeepsPageThroughPunch, kDefaultTestTimeout});
	}
	return rows;
}

const std::vector<HeldRow> kHeldRows = held_rows();

// §3: per holder, the two claims of the functions above (refused while held; punch and holder).
KVMT_TEST_F_TABLE(held, kHeldRows, HeldRow, row)
{
	if (row.check == HeldCheck::BlocksToPrivate)
		conversion_refused_while_held(row.kind, v);
	else
		holder_keeps_page_through_punch(row.kind, v);
}

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
void check_to_shared_cell(GuestInPlace &g, ContentMode m, const ContractCell &cell,
			  Where where = Where::here())
{
	uint64_t first = kContentFirst, n = kContentPages, seed = kSeedA;
	fill_pattern(g.page(first), first * kPage, n * kPage, seed);
	g.to(PageState::Private, first, n);
	if (g.tvm) {
		seed = kSeedB;
		g.guest_round_at(first, n, kExpectNothing, 0, seed);
	}
	AttributesResult r = g.convert(first, n, 0, content_mode_flags(m));
	EXPECT_EQ(Errno(r.err), Errno(cell.err)) << where << "to shared, mode " << mode_name(m);
	if (r.err) {
		if (cell.err == EOPNOTSUPP)
			EXPECT_EQ(r.error_offset, first * kPage)
				<< where << "error_offset of the refused mode " << mode_name(m);
		g.require_state(first, n, PageState::Private);
		return;
	}
	g.require_state(first, n, PageState::Shared);
	g.require_content(first, n, cell.content, seed);
}

void check_to_private_cell(GuestInPlace &g, ContentMode m, const ContractCell &cell,
			   Where where = Where::here())
{
	uint64_t first = kContentFirst, n = kContentPages, seed = kSeedA;
	fill_pattern(g.page(first), first * kPage, n * kPage, seed);
	AttributesResult r = g.convert(first, n, kPrivate, content_mode_flags(m));
	EXPECT_EQ(Errno(r.err), Errno(cell.err)) << where << "to private, mode " << mode_name(m);
	if (r.err) {
		if (cell.err == EOPNOTSUPP)
			EXPECT_EQ(r.error_offset, first * kPage)
				<< where << "error_offset of the refused mode " << mode_name(m);
		g.require_state(first, n, PageState::Shared);
		g.require_pattern(first, n, seed);
		return;
	}
	g.require_state(first, n, PageState::Private);
	if (cell.content == Content::Preserved)
		g.guest_round_at(first, n, kExpectPattern, seed, 0);  // the guest reads the host's bytes
	else if (cell.content == Content::Zeroed)
		g.guest_round_at(first, n, kExpectZero, 0, 0);
	else if (cell.content == Content::Scrambled) {
		// Back with PRESERVE (offered wherever scrambling is): the host sees the scramble.
		g.to(PageState::Shared, first, n, kContentPreserve);
		g.require_scrambled(first, n, seed);
	}
}

KVMT_FIXTURE(content, GuestInPlace, VmTypeVariant, vm_type_variants());

struct ContentRow {
	std::string name;  // <direction>_<mode>, e.g. to_shared_zero
	Direction direction;
	ContentMode mode;
};

// Modes no revision of the UAPI offers (ENCRYPTED, DESTROY) stay in the
// contract table but get no row that could only skip.
std::vector<ContentRow> offered_content_rows()
{
	std::vector<ContentRow> rows;
	for (Direction d : kDirections)
		for (ContentMode m : kContentModes)
			if (contract_cell("sw_protected", d, m, LaunchPhase::BeforeFinalize,
					  AttributesFamily::ContentModes).offered)
				rows.push_back({std::string(direction_name(d)) + "_" + mode_name(m), d, m});
	return rows;
}

const std::vector<ContentRow> kContentRows = offered_content_rows();

// §4: a conversion with the row's direction and mode gets the cell's errno and contents.
KVMT_TEST_F_TABLE_TIMEOUT(content, kContentRows, ContentRow, row, 60)
{
	ContractCell cell = contract_cell(f.type, row.direction, row.mode, LaunchPhase::BeforeFinalize,
					  f.family);
	test_log(std::string("contract: ") + f.type + " " + direction_name(row.direction) + " " +
		 mode_name(row.mode) + " " + phase_name(LaunchPhase::BeforeFinalize) + " [" +
		 family_name(f.family) + "]: " + describe_cell(cell));
	if (row.direction == Direction::ToShared)
		check_to_shared_cell(f, row.mode, cell);
	else
		check_to_private_cell(f, row.mode, cell);
}

KVMT_FIXTURE(guest, GuestInPlace, VmTypeVariant, vm_type_variants());

uint64_t preserving_flags(const GuestInPlace &g)
{
	return g.family == AttributesFamily::ContentModes ? kContentPreserve : 0;
}

// §3 guest side: the guest reads and writes both states; private pages are closed to the host.
KVMT_TEST_F(guest, reads_and_writes_both_states)
{
	constexpr uint64_t n = 4;
	fill_pattern(f.map.data(), 0, n * kPage, kSeedA);
	f.guest_round(n, kExpectPattern, kSeedA, 0);  // shared: sees the host's data
	f.to(PageState::Private, 0, n, preserving_flags(f));
	f.guest_round(n, kExpectNothing, 0, kSeedB);  // private: writes its own
	f.require_state(0, n, PageState::Private);    // which the host cannot touch
	f.guest_round(n, kExpectPattern, kSeedB, 0);  // and reads back
	f.to(PageState::Shared, 0, n, preserving_flags(f));
	if (f.family == AttributesFamily::ContentModes || f.type == "sw_protected")
		f.require_pattern(0, n, kSeedB);  // PRESERVE / SW_PROTECTED keep the data
}

// §5: the host and the guest hit the same page: the guest's write reaches the host, the PFN stays.
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
	f.require_pattern(0, 1, kSeedB);
	std::optional<uint64_t> again = pfn_of_touched(f.page(0));
	ASSERT_TRUE(again.has_value());
	ASSERT_EQ(*pfn, *again);
}

// §3 guest side: a GPA without memslot is shared: emulated MMIO, not a memory fault.
KVMT_TEST_F(guest, unbacked_gpa_is_mmio_not_memory_fault)
{
	f.require_guest();
	f.plan() = {kTestGpaBase + kSize, kPage, 0, kExpectZero, 0, 0, 0};
	f.tvm->map_identity(kTestGpaBase + kSize, kPage);
	Vcpu &vcpu = f.tvm->add_vcpu(guest_access_rounds, 0);
	GuestVm::Step st = f.tvm->step(vcpu);
	ASSERT_EQ(Errno(st.err), Errno(0));
	ASSERT_FALSE(st.is_ucall);
	ASSERT_EQ(vcpu.exit_reason_name(), exit_reason_name(KVM_EXIT_MMIO));
	ASSERT_EQ(vcpu.run_state().mmio.phys_addr, kTestGpaBase + kSize);
}

// §3 guest side, §5: a private GPA whose memslot was deleted is shared: MMIO, not a fault.
KVMT_TEST_F(guest, deleted_memslot_is_mmio)
{
	f.require_guest();
	f.to(PageState::Private, 0, 1);
	f.tvm->vm().delete_memslot(kGmemSlot);
	f.plan() = {kTestGpaBase, kPage, 0, kExpectZero, 0, 0, 0};
	Vcpu &vcpu = f.tvm->add_vcpu(guest_access_rounds, 0);
	GuestVm::Step st = f.tvm->step(vcpu);
	ASSERT_EQ(Errno(st.err), Errno(0));
	ASSERT_FALSE(st.is_ucall);
	ASSERT_EQ(vcpu.exit_reason_name(), exit_reason_name(KVM_EXIT_MMIO));
	ASSERT_EQ(vcpu.run_state().mmio.phys_addr, kTestGpaBase);
}

// ---------------------------------------------------------------- gmem_only

constexpr uint64_t kGmemOnlyPages = 4;  // one guest page-ops round (kGuestOpsMaxPages)

// A guest on a guest_memfd created without MMAP (all private, no host
// mapping) whose memslot's userspace_addr is decoy memory.
struct GmemOnlyGuest {
	GuestVm tvm;
	DecoyMemory decoy;
	std::optional<GuestMemfd> gmem;
	AttributesFamily family = AttributesFamily::None;

	explicit GmemOnlyGuest(const VmTypeVariant &v) : tvm(*v.type), decoy(kGmemOnlyPages * kPage)
	{
		require_private_memory(*v.type);
		const InPlaceMode &mode = in_place_mode();
		if (!mode.on)
			feature_missing(Feature::InPlace, "",
					"only the in-place mode makes a memslot of a gmem without MMAP "
					"guest_memfd-only (v13): in-place mode " + describe_in_place_mode(mode));
		require_native_guest_code("a guest_memfd-only memslot");
		require_guest_memfd(tvm.vm(), 0);
		gmem.emplace(tvm.vm(), kGmemOnlyPages * kPage, 0);
		std::string evidence;
		family = kernel_attributes_family(&evidence);
		tvm.add_gmem_slot(kGmemSlot, kTestGpaBase, kGmemOnlyPages * kPage, gmem->fd(), 0,
				  decoy.hva());
	}

	// Converts every page to s (PRESERVE where the family has content modes).
	void to(PageState s, Where where = Where::here())
	{
		uint64_t flags = family == AttributesFamily::ContentModes ? kContentPreserve : 0;
		AttributesResult r = gmem->convert(0, kGmemOnlyPages * kPage,
						   s == PageState::Private ? kPrivate : 0, flags);
		ASSERT_EQ(Errno(r.err), Errno(0)) << where << "converting every page to " << page_state_name(s);
	}
};

KVMT_FIXTURE(gmem_only, GmemOnlyGuest, VmTypeVariant, vm_type_variants());

// §3 guest side (guest_memfd-only memslots, v13): with the mode on, the shared pages of a gmem
// without MMAP are the gmem's to the guest, whatever its memslot's userspace_addr points at.
KVMT_TEST_F(gmem_only, shared_pages_ignore_userspace_addr)
{
	GuestPages guest(f.tvm, 0, kTestGpaBase);
	std::vector<PageContent> fresh(kGmemOnlyPages, PageContent::zero());
	std::vector<PageContent> own(kGmemOnlyPages, PageContent::pattern(kSeedB));
	f.to(PageState::Shared);
	GuestPagesResult r = guest.run(0, kGmemOnlyPages, fresh, PageContent::pattern(kSeedB));
	ASSERT_FALSE(r.mismatch) << "fresh shared pages: " << describe_guest_read(r);
	std::string change = f.decoy.first_change();
	ASSERT_TRUE(change.empty()) << change;

	// SW_PROTECTED keeps data across conversions (§3 "Contents").
	f.to(PageState::Private);
	f.to(PageState::Shared);
	r = guest.run(0, kGmemOnlyPages, own, std::nullopt);
	ASSERT_FALSE(r.mismatch) << "after a round trip through private: " << describe_guest_read(r);
	change = f.decoy.first_change();
	ASSERT_TRUE(change.empty()) << change;
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
