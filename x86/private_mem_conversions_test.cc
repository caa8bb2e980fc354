// Shared <-> private conversions driven by the guest (KVM_HC_MAP_GPA_RANGE
// exits) and by the host, in both attribute modes, plus the exits a
// mismatch between an access and the memory's state produces.
//
// Fixtures (each with a variant per known x86 VM type):
//   per_vm     the legacy path: per-VM KVM_SET_MEMORY_ATTRIBUTES; private
//              memory is a guest_memfd created with flags 0, shared memory
//              is the memslot's userspace_addr (anonymous memory), so the
//              two are different pages.
//   in_place   per-gmem attributes (KVM_SET_MEMORY_ATTRIBUTES2 on the gmem
//              fd) on an MMAP|INIT_SHARED guest_memfd whose mapping is the
//              memslot's userspace_addr: shared and private are the same
//              pages, so data crosses every conversion.
//   hypercall  the KVM_HC_MAP_GPA_RANGE exit itself: fields, return value,
//              what KVM answers without exiting. Needs no private memory.
//
// A scenario is a host function here and a guest function in
// private_mem_conversions_test_guest.cc, in the same order. Each reads top to
// bottom: the host runs the guest to a named GUEST_SYNC point
// (private_mem_conversions_test.hh), checks what it sees there, and acts.
//
// Above every test, one line says what it checks and cites the contract
// (../shared/spec/gmem-conversion-uapi.md) as "spec <section> <paragraph>".
//
// On a software-protected VM the kind of a guest access (private or shared)
// is taken from the memory's state, so a mismatch can only come from the
// backing: PRIVATE where no guest_memfd backs the GPA. That is what the
// memory_fault_* cases provoke.
#include <sys/mman.h>

#include <functional>
#include <memory>

#include "coco_x86.hh"
#include "guest_memfd.hh"
#include "guest_vm.hh"
#include "hex.hh"
#include "hypercall_x86.hh"
#include "page_size.hh"
#include "pattern.hh"
#include "private_mem_conversions_test.hh"
#include "processor.hh"
#include "profile.hh"
#include "sigbus.hh"
#include "test.hh"
#include "threads.hh"
#include "vm.hh"

using namespace kvmt;
using namespace kvmt::x86;

KVMT_KVM_PROGRAM();

namespace {

// ------------------------------------------------------------ layout
//
// Test memory, in host pages P (kvmt::page_size(), the unit of guest_memfd
// offsets; 4 KiB on x86). One guest_memfd of 16 P backs two memslots; vCPU i
// converts only its own range of 4 P: memslot 1 + i % 2, half i / 2.
// Single-vCPU scenarios use vCPU 0's range.
//
//   GPA - kTestGpaBase                                guest_memfd offset
//    0 P  +-- memslot 1 (8 P) --------------+
//         |  vCPU 0's range (4 P)           |  ---->   0 P
//    4 P  |  vCPU 2's range (4 P)           |  ---->   4 P
//    8 P  +---------------------------------+
//         :  nothing                        :
//   32 P  +-- memslot 2 (8 P) --------------+
//         |  vCPU 1's range (4 P)           |  ---->   8 P
//   36 P  |  vCPU 3's range (4 P)           |  ---->  12 P
//   40 P  +---------------------------------+
//         :  nothing                        :
//   64 P  [  unbacked_gpa(): no memslot     ]
//   96 P  [  plain_gpa(): memslot 3, 1 P of anonymous memory, no guest_memfd ]
//
// A memslot's userspace_addr is the shared side at the same offsets: the gmem's
// own mapping in place, anonymous memory per VM.
// Memslots are apart in GPA space and no GPA equals its gmem offset, so a byte
// read through the wrong binding never matches a pattern (patterns encode the
// gmem offset).
constexpr uint64_t kRangePages = 4;
constexpr int kSlots = 2;
constexpr uint64_t kSlotPages = 2 * kRangePages;
constexpr uint64_t kSlotStridePages = 4 * kSlotPages;
constexpr uint32_t kFirstSlot = 1;
constexpr uint32_t kPlainSlot = kFirstSlot + kSlots;
static_assert(kSlots * kSlotPages / kRangePages == (uint64_t)kMaxScenarioVcpus);

uint64_t page_bytes(uint64_t npages) { return npages * page_size(); }
uint64_t slot_gpa(int slot) { return kTestGpaBase + slot * page_bytes(kSlotStridePages); }
uint64_t range_gpa(int vcpu) { return slot_gpa(vcpu % kSlots) + (vcpu / kSlots) * page_bytes(kRangePages); }
uint64_t range_gmem_offset(int vcpu)
{
	return (vcpu % kSlots) * page_bytes(kSlotPages) + (vcpu / kSlots) * page_bytes(kRangePages);
}
uint64_t unbacked_gpa() { return slot_gpa(kSlots); }
uint64_t plain_gpa() { return slot_gpa(kSlots + 1); }

constexpr uint64_t kSeedHost1 = 0x4801, kSeedGuest1 = 0x6701, kSeedPrivate1 = 0x5001,
		   kSeedHost2 = 0x4802, kSeedPrivate2 = 0x5002;

// Distinct per vCPU, so that a byte from a neighbour's range never matches.
Seeds seeds_of(int vcpu)
{
	uint64_t d = (uint64_t)vcpu << 12;
	return {kSeedHost1 + d, kSeedGuest1 + d, kSeedPrivate1 + d, kSeedHost2 + d, kSeedPrivate2 + d};
}

constexpr uint64_t kEncrypted = KVM_MAP_GPA_RANGE_ENCRYPTED;
constexpr uint64_t kDecrypted = KVM_MAP_GPA_RANGE_DECRYPTED;

// Pages [first, first + n) of a vCPU's range, as the guest half names them.
struct Pages {
	uint64_t gpa;
	uint64_t gmem_offset;
	uint64_t size;
};

Pages pages(const GuestRange &r, uint64_t first, uint64_t n)
{
	return {r.gpa + page_bytes(first), r.gmem_offset + page_bytes(first), page_bytes(n)};
}

Pages whole(const GuestRange &r) { return pages(r, 0, r.npages); }

enum class AttrMode { PerVm, InPlace };
enum class State { Shared, Private };

// ------------------------------------------------------------ the VM

// A VM with kSlots guest_memfd-backed memslots, in one of the two modes.
class ConversionVm {
public:
	ConversionVm(AttrMode mode, const VmTypeInfo &type) : tvm(type), mode_(mode)
	{
		Vm &vm = tvm.vm();
		std::string why;
		if (mode == AttrMode::PerVm)
			require_per_vm_private(vm);
		if (!vm.supports_guest_memfd(&why))
			skip(why);
		uint64_t flags = 0;
		if (mode == AttrMode::InPlace) {
			require_per_gmem_attributes(vm);
			flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
			require_guest_memfd(vm, flags);
			content_flags_ = keep_contents_flags();
		}
		const uint64_t slot_size = page_bytes(kSlotPages);
		gmem_ = std::make_unique<GuestMemfd>(vm, kSlots * slot_size, flags);
		shared_ = mode == AttrMode::PerVm ? Mapping::anonymous(kSlots * slot_size)
						  : gmem_->map();
		for (int i = 0; i < kSlots; i++)
			tvm.add_gmem_slot(kFirstSlot + i, slot_gpa(i), slot_size, gmem_->fd(), i * slot_size,
					  shared_.data() + i * slot_size);
		set_guest_hypercall_insn(tvm);
	}

	GuestVm tvm;

	bool in_place() const { return mode_ == AttrMode::InPlace; }
	GuestMemfd &gmem() { return *gmem_; }

	uint64_t gmem_offset(uint64_t gpa) const
	{
		for (int i = 0; i < kSlots; i++)
			if (gpa >= slot_gpa(i) && gpa < slot_gpa(i) + page_bytes(kSlotPages))
				return i * page_bytes(kSlotPages) + (gpa - slot_gpa(i));
		throw Error("GPA " + hex(gpa) + " is in no test memslot");
	}
	// The host's view of pages: their shared side (anonymous memory per VM,
	// the gmem mapping in place).
	uint8_t *shared_view(const Pages &p) { return shared_.data() + p.gmem_offset; }

	// KVM_SET_MEMORY_ATTRIBUTES(2) for [gpa, gpa + size); 0 or the errno.
	int __convert(uint64_t gpa, uint64_t size, State to)
	{
		uint64_t attrs = to == State::Private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
		if (mode_ == AttrMode::PerVm)
			return tvm.vm().__set_memory_attributes(gpa, size, attrs);
		return gmem_->convert(gmem_offset(gpa), size, attrs, content_flags_).err;
	}
	void convert(uint64_t gpa, uint64_t size, State to)
	{
		int err = __convert(gpa, size, to);
		if (err)
			throw Error(std::string(in_place() ? "KVM_SET_MEMORY_ATTRIBUTES2" : "KVM_SET_MEMORY_ATTRIBUTES") +
				    "(" + hex(gpa) + ", " + hex(size) + ", " +
				    (to == State::Private ? "PRIVATE" : "shared") + "): " + errno_name(err));
	}
	void convert(const Pages &p, State to) { convert(p.gpa, p.size, to); }

private:
	AttrMode mode_;
	uint64_t content_flags_ = 0;
	std::unique_ptr<GuestMemfd> gmem_;
	Mapping shared_;
};

struct PerVmConversions : ConversionVm {
	explicit PerVmConversions(const VmTypeVariant &v) : ConversionVm(AttrMode::PerVm, *v.type) {}
};
struct InPlaceConversions : ConversionVm {
	explicit InPlaceConversions(const VmTypeVariant &v) : ConversionVm(AttrMode::InPlace, *v.type)
	{
	}
};

// ------------------------------------------------------------ host checks

// Every shared byte of p is pattern(seed), or 0 for kZeroes.
void expect_shared(ConversionVm &cv, const Pages &p, uint64_t seed, Where where = Where::here())
{
	const uint8_t *mem = cv.shared_view(p);
	int64_t first_mismatch = seed == kZeroes ? find_nonzero(mem, p.size)
						 : find_pattern_mismatch(mem, p.gmem_offset, p.size, seed);
	const uint64_t i = first_mismatch;
	ASSERT_EQ(first_mismatch, -1)
		<< where << "host: shared byte at gmem offset " << hex(p.gmem_offset + i) << " is "
		<< hex(mem[i]) << ", expected " << hex(seed == kZeroes ? 0 : pattern_byte(seed, p.gmem_offset + i))
		<< (seed == kZeroes ? " (zeroes)" : " (pattern " + hex(seed) + ")");
}

void fill_shared(ConversionVm &cv, const Pages &p, uint64_t seed)
{
	fill_pattern(cv.shared_view(p), p.gmem_offset, p.size, seed);
}

// In place, a private page is unreachable through the host mapping.
void expect_sigbus(ConversionVm &cv, const Pages &p, Where where = Where::here())
{
	EXPECT_EQ(count_sigbus_pages(cv.shared_view(p), p.size, Access::Read), p.size / page_size())
		<< where << "host reads of private pages at gmem offset " << hex(p.gmem_offset);
}

// The host's view of private pages: in place, SIGBUS; per VM, its shared
// side, which are other pages and still hold shared_seed.
void expect_private_hidden(ConversionVm &cv, const Pages &p, uint64_t shared_seed,
			   Where where = Where::here())
{
	if (cv.in_place())
		expect_sigbus(cv, p, where);
	else
		expect_shared(cv, p, shared_seed, where);
}

// ------------------------------------------------------------ sync points

const char *sync_point_name(uint64_t point)
{
	switch (point) {
	case kHostChecks: return "kHostChecks";
	case kHostChecksThenWrites: return "kHostChecksThenWrites";
	case kHostConvertsToPrivate: return "kHostConvertsToPrivate";
	case kHostConvertsToShared: return "kHostConvertsToShared";
	case kHostPunches: return "kHostPunches";
	case kHostChecksWordRead: return "kHostChecksWordRead";
	case kHostChecksWordWritten: return "kHostChecksWordWritten";
	}
	return nullptr;
}

std::string describe_ucall(const Ucall &uc)
{
	switch (uc.cmd) {
	case UCALL_SYNC: {
		const char *name = sync_point_name(uc.args[0]);
		return "GUEST_SYNC(" + (name ? std::string(name) : std::to_string(uc.args[0])) +
		       ") at guest line " + std::to_string(uc.line);
	}
	case UCALL_DONE:
		return "GUEST_DONE";
	default:
		return "ucall " + std::to_string(uc.cmd);
	}
}

void expect_sync_point(const Vcpu &vcpu, const Ucall &uc, SyncPoint point)
{
	if (uc.cmd != UCALL_SYNC || uc.args[0] != point)
		throw Error("vCPU " + std::to_string(vcpu.id()) + ": expected GUEST_SYNC(" +
			    sync_point_name(point) + "), got " + describe_ucall(uc));
}

// ------------------------------------------------------------ a scenario's vCPU

enum class Punch { No, AfterToShared };

// vCPU i running a scenario's guest half on its range (guest_ranges[i]).
// run_to() runs it to the named GUEST_SYNC, serving on the way the
// MAP_GPA_RANGE hypercalls it makes: the host converts what the guest asks
// for (4 KiB pages of its own range only) and, with Punch::AfterToShared,
// punches what became shared.
class ScenarioVcpu {
public:
	ScenarioVcpu(ConversionVm &cv, int i, GuestFn guest, Punch punch = Punch::No)
		: cv_(cv),
		  range_{range_gpa(i), range_gmem_offset(i), kRangePages, seeds_of(i),
			 punch == Punch::AfterToShared},
		  vcpu_(add(cv, i, guest, range_))
	{
	}

	const Seeds &seeds() const { return range_.seeds; }
	bool punched() const { return range_.punched; }
	Pages pages(uint64_t first, uint64_t n) const { return ::pages(range_, first, n); }
	Pages whole() const { return ::whole(range_); }
	int conversions() const { return conversions_; }

	void run_to(SyncPoint point) { expect_sync_point(vcpu_, next_ucall(), point); }
	void run_to_done()
	{
		Ucall uc = next_ucall();
		if (uc.cmd != UCALL_DONE)
			throw Error("vCPU " + std::to_string(vcpu_.id()) + ": expected GUEST_DONE, got " +
				    describe_ucall(uc));
	}

private:
	static Vcpu &add(ConversionVm &cv, int i, GuestFn guest, const GuestRange &range)
	{
		cv.tvm.guest_global(guest_ranges[i]) = range;
		return cv.tvm.add_vcpu(guest, i);
	}

	Ucall next_ucall()
	{
		for (; exits_ < 1000; exits_++) {
			GuestVm::Step st = cv_.tvm.step(vcpu_);
			if (st.err)
				throw Error("vCPU " + std::to_string(vcpu_.id()) + ": KVM_RUN " + errno_name(st.err) +
					    " with " + vcpu_.exit_reason_name());
			if (st.is_ucall)
				return st.ucall;
			kvm_run &run = vcpu_.run_state();
			if (run.exit_reason != KVM_EXIT_HYPERCALL)
				throw Error("vCPU " + std::to_string(vcpu_.id()) + ": unexpected " +
					    vcpu_.exit_reason_name() + ": " + arch::describe_exit(vcpu_));
			serve_map_gpa_range(run);
		}
		throw Error("vCPU " + std::to_string(vcpu_.id()) + " made no progress within 1000 exits");
	}

	void serve_map_gpa_range(kvm_run &run)
	{
		HypercallExit e = hypercall_exit_of(run);
		ASSERT_EQ(e.nr, (uint64_t)KVM_HC_MAP_GPA_RANGE);
		ASSERT_EQ(e.flags, (uint64_t)KVM_EXIT_HYPERCALL_LONG_MODE);
		uint64_t gpa = e.args[0], npages = e.args[1], attrs = e.args[2];
		uint64_t size = npages * kMapGpaRangePage;
		bool valid = (attrs & ~kEncrypted) == KVM_MAP_GPA_RANGE_PAGE_SZ_4K && gpa >= range_.gpa &&
			     npages && gpa + size <= range_.gpa + page_bytes(range_.npages);
		EXPECT_TRUE(valid) << "vCPU " << vcpu_.id() << " asked MAP_GPA_RANGE(" << hex(gpa) << ", "
				   << npages << ", " << hex(attrs) << ") outside its range " << hex(range_.gpa)
				   << " + " << range_.npages << " pages";
		if (!valid) {
			set_hypercall_return(run, kKvmEinval);
			return;
		}
		State to = attrs & kEncrypted ? State::Private : State::Shared;
		cv_.convert(gpa, size, to);
		if (to == State::Shared && range_.punched)
			cv_.gmem().punch_hole(cv_.gmem_offset(gpa), size);
		conversions_++;
		set_hypercall_return(run, 0);
	}

	ConversionVm &cv_;
	const GuestRange range_;
	Vcpu &vcpu_;
	int conversions_ = 0;
	int exits_ = 0;
};

void require_guest_hypercalls(const VmTypeInfo &type)
{
	std::string why;
	if (!guest_hypercalls_reach_kvm(type, &why))
		skip(why);
}

void enable_map_gpa_range_exit(ConversionVm &cv)
{
	require_guest_hypercalls(cv.tvm.vm().type());
	int err = cv.tvm.vm().__enable_cap(KVM_CAP_EXIT_HYPERCALL, 1ULL << KVM_HC_MAP_GPA_RANGE);
	if (err)
		throw Error("KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL, 1 << KVM_HC_MAP_GPA_RANGE): " +
			    errno_name(err));
}

using HostHalf = void (*)(ConversionVm &, ScenarioVcpu &);

// Runs a scenario on nvcpus vCPUs at once, each on its own range and thread.
void run_scenario(ConversionVm &cv, int nvcpus, Punch punch, GuestFn guest, HostHalf host)
{
	std::vector<ScenarioVcpu> vcpus;
	vcpus.reserve(nvcpus);
	for (int i = 0; i < nvcpus; i++)
		vcpus.emplace_back(cv, i, guest, punch);
	kvmt::run_in_threads(nvcpus, [&](int i) { host(cv, vcpus[i]); });
}

// ------------------------------------------------------------ round trips

// The host half of guest_round_trip_per_vm: the shared side is anonymous
// memory, which the guest's private writes never reach.
void round_trip_per_vm(ConversionVm &cv, ScenarioVcpu &g)
{
	const Seeds &s = g.seeds();
	const Pages range = g.whole();

	fill_shared(cv, range, s.host1);
	g.run_to(kHostChecks);  // shared, the guest wrote guest1
	expect_shared(cv, range, s.guest1);
	g.run_to(kHostChecksThenWrites);  // private, the guest wrote private1
	expect_shared(cv, range, s.guest1);
	fill_shared(cv, range, s.host2);
	g.run_to(kHostChecks);  // shared, the guest read host2
	expect_shared(cv, range, s.host2);
	g.run_to(kHostChecks);  // private again
	expect_shared(cv, range, s.host2);
	g.run_to_done();  // shared, the guest read host2
	EXPECT_EQ(g.conversions(), 4);
}

// The host half of guest_round_trip_in_place: one page under both views.
void round_trip_in_place(ConversionVm &cv, ScenarioVcpu &g)
{
	const Seeds &s = g.seeds();
	const Pages range = g.whole();
	const uint64_t private1_unless_punched = g.punched() ? kZeroes : s.private1;

	fill_shared(cv, range, s.host1);
	g.run_to(kHostChecks);  // shared, the guest wrote guest1
	expect_shared(cv, range, s.guest1);
	g.run_to(kHostChecks);  // private, the guest wrote private1
	expect_sigbus(cv, range);
	g.run_to(kHostChecksThenWrites);  // shared again
	expect_shared(cv, range, private1_unless_punched);
	fill_shared(cv, range, s.host2);
	g.run_to(kHostChecks);  // private, the guest read host2
	expect_sigbus(cv, range);
	g.run_to_done();  // shared, the guest read host2_unless_punched
	EXPECT_EQ(g.conversions(), 4);
}

void guest_driven_round_trips(ConversionVm &cv, int nvcpus, Punch punch)
{
	enable_map_gpa_range_exit(cv);
	if (cv.in_place())
		run_scenario(cv, nvcpus, punch, guest_round_trip_in_place, round_trip_in_place);
	else
		run_scenario(cv, nvcpus, punch, guest_round_trip_per_vm, round_trip_per_vm);
}

// Guest-asked conversions take effect; each side reads its page's last write (spec 3 Guest side, Contents).
void guest_driven(ConversionVm &cv) { guest_driven_round_trips(cv, 1, Punch::No); }

// A page punched after going shared reads 0 at its next touch, in either state (spec 3 Truncation).
void guest_driven_punch(ConversionVm &cv) { guest_driven_round_trips(cv, 1, Punch::AfterToShared); }

// 4 vCPUs converting own ranges of one gmem in 2 memslots at once see only their data (spec 3 State).
void guest_driven_4vcpus_2slots(ConversionVm &cv) { guest_driven_round_trips(cv, 4, Punch::No); }

// The same with punches, which free only the punching vCPU's pages (spec 3 State, Truncation).
void guest_driven_4vcpus_2slots_punch(ConversionVm &cv)
{
	guest_driven_round_trips(cv, 4, Punch::AfterToShared);
}

// ------------------------------------------------------------ partial ranges

// The host half of guest_partial_per_vm: private writes never reach the
// anonymous memory, so the shared side holds guest1 throughout.
void partial_per_vm(ConversionVm &cv, ScenarioVcpu &g)
{
	const Seeds &s = g.seeds();
	const Pages range = g.whole();

	fill_shared(cv, range, s.host1);
	g.run_to(kHostChecks);  // shared, the guest wrote guest1
	expect_shared(cv, range, s.guest1);
	g.run_to(kHostChecks);  // page 1 private, holding private1
	expect_shared(cv, range, s.guest1);
	g.run_to(kHostChecks);  // pages 2-3 private, holding private1
	expect_shared(cv, range, s.guest1);
	g.run_to(kHostChecks);  // all shared
	expect_shared(cv, range, s.guest1);
	g.run_to_done();
	EXPECT_EQ(g.conversions(), 5);
}

// The host half of guest_partial_in_place: data stays with its page, private
// pages fault.
void partial_in_place(ConversionVm &cv, ScenarioVcpu &g)
{
	const Seeds &s = g.seeds();
	const Pages range = g.whole(), page0 = g.pages(0, 1), page1 = g.pages(1, 1);
	const Pages pages1_3 = g.pages(1, 3), pages2_3 = g.pages(2, 2);

	fill_shared(cv, range, s.host1);
	g.run_to(kHostChecks);  // shared, the guest wrote guest1
	expect_shared(cv, range, s.guest1);
	g.run_to(kHostChecks);  // page 1 private, holding private1
	expect_shared(cv, page0, s.guest1);
	expect_sigbus(cv, page1);
	expect_shared(cv, pages2_3, s.guest1);
	g.run_to(kHostChecks);  // pages 2-3 private, page 1 shared again
	expect_shared(cv, page0, s.guest1);
	expect_shared(cv, page1, s.private1);
	expect_sigbus(cv, pages2_3);
	g.run_to(kHostChecks);  // all shared
	expect_shared(cv, page0, s.guest1);
	expect_shared(cv, pages1_3, s.private1);
	g.run_to_done();
	EXPECT_EQ(g.conversions(), 5);
}

// Single pages convert alone; a range partly in the target state converts the rest (spec 3 Guest side).
void guest_driven_partial(ConversionVm &cv)
{
	enable_map_gpa_range_exit(cv);
	if (cv.in_place())
		run_scenario(cv, 1, Punch::No, guest_partial_in_place, partial_in_place);
	else
		run_scenario(cv, 1, Punch::No, guest_partial_per_vm, partial_per_vm);
}

// ------------------------------------------------------------ host-driven

// The host half of guest_host_driven_per_vm.
void host_driven_per_vm(ConversionVm &cv, ScenarioVcpu &g)
{
	const Seeds &s = g.seeds();
	const Pages range = g.whole();

	fill_shared(cv, range, s.host1);
	g.run_to(kHostConvertsToPrivate);  // shared, the guest wrote guest1
	expect_shared(cv, range, s.guest1);
	cv.convert(range, State::Private);
	g.run_to(kHostConvertsToShared);  // the guest wrote private1 into the guest_memfd
	expect_shared(cv, range, s.guest1);
	cv.convert(range, State::Shared);
	g.run_to(kHostConvertsToPrivate);  // the guest read guest1
	expect_shared(cv, range, s.guest1);
	cv.convert(range, State::Private);
	g.run_to_done();  // the guest read private1
}

// The host half of guest_host_driven_in_place.
void host_driven_in_place(ConversionVm &cv, ScenarioVcpu &g)
{
	const Seeds &s = g.seeds();
	const Pages range = g.whole();

	fill_shared(cv, range, s.host1);
	g.run_to(kHostConvertsToPrivate);  // shared, the guest wrote guest1
	expect_shared(cv, range, s.guest1);
	cv.convert(range, State::Private);
	g.run_to(kHostConvertsToShared);  // the guest read guest1, wrote private1
	expect_sigbus(cv, range);
	cv.convert(range, State::Shared);
	g.run_to(kHostConvertsToPrivate);  // the guest read private1
	expect_shared(cv, range, s.private1);
	cv.convert(range, State::Private);
	g.run_to_done();  // the guest read private1
}

// Host conversions between guest steps take effect without exits, same data rules (spec 3 Contents).
void host_driven(ConversionVm &cv)
{
	if (cv.in_place())
		run_scenario(cv, 1, Punch::No, guest_host_driven_in_place, host_driven_in_place);
	else
		run_scenario(cv, 1, Punch::No, guest_host_driven_per_vm, host_driven_per_vm);
}

// ------------------------------------------------------------ punch

// Punched private pages stay private and read 0, not shared data; neighbours keep theirs (spec 3 Truncation).
void punch_private_reads_zero(ConversionVm &cv)
{
	ScenarioVcpu g(cv, 0, guest_punch_private);
	const Seeds &s = g.seeds();
	const Pages range = g.whole(), pages1_2 = g.pages(1, 2);

	fill_shared(cv, range, s.host1);
	cv.convert(range, State::Private);
	g.run_to(kHostPunches);  // the guest wrote private1
	expect_private_hidden(cv, range, s.host1);
	cv.gmem().punch_hole(pages1_2.gmem_offset, pages1_2.size);
	g.run_to(kHostChecks);  // the guest read 0 from pages 1-2 and wrote private2 there
	expect_private_hidden(cv, range, s.host1);
	g.run_to_done();  // the guest read private2 from pages 1-2, private1 around them
}

// ------------------------------------------------------------ exits

constexpr uint64_t kWordA = 0x0123456789abcdefULL, kWordB = 0xfedcba9876543210ULL;

// vCPU 0 runs guest_read_then_write(gpa, value) on a page the test maps.
Vcpu &add_word_vcpu(ConversionVm &cv, uint64_t gpa, uint64_t value)
{
	cv.tvm.map_identity(gpa, page_size());
	return cv.tvm.add_vcpu(guest_read_then_write, gpa, value);
}

// Runs the word vCPU to its read; returns the word it read.
uint64_t run_to_word_read(ConversionVm &cv, Vcpu &vcpu)
{
	Ucall uc = cv.tvm.run(vcpu);
	expect_sync_point(vcpu, uc, kHostChecksWordRead);
	return uc.args[1];
}

void run_to_word_written(ConversionVm &cv, Vcpu &vcpu)
{
	expect_sync_point(vcpu, cv.tvm.run(vcpu), kHostChecksWordWritten);
}

// The vCPU's next access exits with KVM_EXIT_MEMORY_FAULT: KVM_RUN fails
// with EFAULT, and the exit names the private page at gpa.
void expect_memory_fault(ConversionVm &cv, Vcpu &vcpu, uint64_t gpa, Where where = Where::here())
{
	GuestVm::Step st = cv.tvm.step(vcpu);
	ASSERT_FALSE(st.is_ucall) << where;
	ASSERT_EQ(Errno(st.err), Errno(EFAULT)) << where;
	ASSERT_EQ(vcpu.exit_reason_name(), exit_reason_name(KVM_EXIT_MEMORY_FAULT)) << where;
	memory_fault_exit mf = memory_fault_of(vcpu.run_state());
	EXPECT_EQ(mf.flags, (uint64_t)KVM_MEMORY_EXIT_FLAG_PRIVATE) << where;
	EXPECT_EQ(mf.gpa, gpa) << where;
	EXPECT_EQ(mf.size, page_size()) << where;
}

// The vCPU's next access is an emulated 8-byte MMIO access at gpa.
kvm_run &expect_mmio(ConversionVm &cv, Vcpu &vcpu, uint64_t gpa, bool is_write, Where where)
{
	GuestVm::Step st = cv.tvm.step(vcpu);
	ASSERT_EQ(Errno(st.err), Errno(0)) << where;
	ASSERT_FALSE(st.is_ucall) << where;
	kvm_run &run = vcpu.run_state();
	ASSERT_EQ(vcpu.exit_reason_name(), exit_reason_name(KVM_EXIT_MMIO)) << where;
	EXPECT_EQ(run.mmio.phys_addr, gpa) << where;
	EXPECT_EQ(run.mmio.len, 8u) << where;
	EXPECT_EQ((bool)run.mmio.is_write, is_write) << where;
	return run;
}

// ... a read, which gets `answer`.
void serve_mmio_read(ConversionVm &cv, Vcpu &vcpu, uint64_t gpa, uint64_t answer,
		     Where where = Where::here())
{
	kvm_run &run = expect_mmio(cv, vcpu, gpa, false, where);
	memcpy(run.mmio.data, &answer, sizeof(answer));
}

// ... a write of `value`.
void expect_mmio_write(ConversionVm &cv, Vcpu &vcpu, uint64_t gpa, uint64_t value,
		       Where where = Where::here())
{
	kvm_run &run = expect_mmio(cv, vcpu, gpa, true, where);
	uint64_t data;
	memcpy(&data, run.mmio.data, sizeof(data));
	EXPECT_EQ(data, value) << where;
}

// A GPA without memslot is shared: guest accesses are MMIO exits with gpa, len, data (spec 3 Guest side).
void mmio_exit_without_memslot(ConversionVm &cv)
{
	const uint64_t gpa = unbacked_gpa();
	Vcpu &vcpu = add_word_vcpu(cv, gpa, kWordB);

	serve_mmio_read(cv, vcpu, gpa, kWordA);
	EXPECT_EQ(run_to_word_read(cv, vcpu), kWordA);
	expect_mmio_write(cv, vcpu, gpa, kWordB);
	run_to_word_written(cv, vcpu);
}

// PRIVATE with no memslot: a memory-fault exit; made shared, the access is MMIO (spec 2, legacy path).
void memory_fault_private_without_memslot(ConversionVm &cv)
{
	const uint64_t gpa = unbacked_gpa();
	Vcpu &vcpu = add_word_vcpu(cv, gpa, kWordB);

	cv.convert(gpa, page_size(), State::Private);
	expect_memory_fault(cv, vcpu, gpa);  // the guest's read
	cv.convert(gpa, page_size(), State::Shared);
	serve_mmio_read(cv, vcpu, gpa, kWordA);  // the same read, resumed
	EXPECT_EQ(run_to_word_read(cv, vcpu), kWordA);
}

// PRIVATE on a memslot without gmem: a memory-fault exit; made shared, it reads the memslot (spec 2, legacy).
void memory_fault_private_on_plain_memslot(ConversionVm &cv)
{
	const uint64_t gpa = plain_gpa();
	Mapping plain = Mapping::anonymous(page_size());
	uint64_t *word = reinterpret_cast<uint64_t *>(plain.data());
	*word = kWordA;
	cv.tvm.vm().set_memslot({kPlainSlot, 0, gpa, page_size(), plain.data(), -1, 0});
	Vcpu &vcpu = add_word_vcpu(cv, gpa, kWordB);

	cv.convert(gpa, page_size(), State::Private);
	expect_memory_fault(cv, vcpu, gpa);  // the guest's read
	cv.convert(gpa, page_size(), State::Shared);
	EXPECT_EQ(run_to_word_read(cv, vcpu), kWordA);  // the same read, resumed
	run_to_word_written(cv, vcpu);
	EXPECT_EQ(*word, kWordB);
}

// Private GPA, memslot deleted: memory-fault exit; memslot back, the guest reads its data (spec 2, legacy).
void memory_fault_memslot_deleted(ConversionVm &cv)
{
	const uint64_t gpa = range_gpa(0);
	Vcpu &vcpu = add_word_vcpu(cv, gpa, kWordB);

	cv.convert(gpa, page_size(), State::Private);
	EXPECT_EQ(run_to_word_read(cv, vcpu), 0u);  // fresh private memory
	run_to_word_written(cv, vcpu);              // kWordB, into the guest_memfd
	Memslot saved{};
	bool found = false;
	for (const Memslot &m : cv.tvm.vm().memslots())
		if (m.slot == kFirstSlot)
			saved = m, found = true;
	ASSERT_TRUE(found);
	cv.tvm.vm().delete_memslot(kFirstSlot);
	expect_memory_fault(cv, vcpu, gpa);  // the guest's next read
	cv.tvm.vm().set_memslot(saved);
	EXPECT_EQ(run_to_word_read(cv, vcpu), kWordB);  // the same read, resumed
	// The shared side never saw it.
	uint64_t shared_word;
	memcpy(&shared_word, cv.shared_view({gpa, cv.gmem_offset(gpa), page_size()}), sizeof(shared_word));
	EXPECT_EQ(shared_word, 0u);
}

// ------------------------------------------------------------ registration

enum Modes { kPerVmOnly, kBothModes };

struct ConversionCase {
	const char *name;
	Modes modes;
	void (*body)(ConversionVm &);
};

#define CONVERSION_CASE(name, modes) {#name, modes, name}

// In the order above; the claims are above each function.
const ConversionCase kConversionCases[] = {
	CONVERSION_CASE(guest_driven, kBothModes),
	CONVERSION_CASE(guest_driven_punch, kBothModes),
	CONVERSION_CASE(guest_driven_partial, kBothModes),
	CONVERSION_CASE(guest_driven_4vcpus_2slots, kBothModes),
	CONVERSION_CASE(guest_driven_4vcpus_2slots_punch, kBothModes),
	CONVERSION_CASE(host_driven, kBothModes),
	CONVERSION_CASE(punch_private_reads_zero, kBothModes),
	CONVERSION_CASE(mmio_exit_without_memslot, kBothModes),
	// Per-gmem attributes make such GPAs shared (spec 3 "Guest side").
	CONVERSION_CASE(memory_fault_private_without_memslot, kPerVmOnly),
	CONVERSION_CASE(memory_fault_private_on_plain_memslot, kPerVmOnly),
	CONVERSION_CASE(memory_fault_memslot_deleted, kPerVmOnly),
};

constexpr int kConversionTimeout = 60;

KVMT_FIXTURE(per_vm, PerVmConversions, VmTypeVariant, vm_type_variants());
KVMT_FIXTURE(in_place, InPlaceConversions, VmTypeVariant, vm_type_variants());

[[maybe_unused]] const bool kConversionCasesRegistered = [] {
	for (const ConversionCase &c : kConversionCases) {
		register_test({"per_vm", c.name, kConversionTimeout, -1, [&c](const void *data) {
				       PerVmConversions f(*static_cast<const VmTypeVariant *>(data));
				       c.body(f);
			       }});
		if (c.modes == kBothModes)
			register_test({"in_place", c.name, kConversionTimeout, -1, [&c](const void *data) {
					       InPlaceConversions f(*static_cast<const VmTypeVariant *>(data));
					       c.body(f);
				       }});
	}
	return true;
}();

// ------------------------------------------------------------ hypercall

// The KVM_HC_MAP_GPA_RANGE exit on its own: any VM type that runs guest code.
struct HypercallVm {
	GuestVm tvm;
	explicit HypercallVm(const VmTypeVariant &v) : tvm(*v.type) { set_guest_hypercall_insn(tvm); }

	int enable_exit() { return tvm.vm().__enable_cap(KVM_CAP_EXIT_HYPERCALL, 1ULL << KVM_HC_MAP_GPA_RANGE); }
	void require_exit()
	{
		long offered = tvm.vm().check_extension(KVM_CAP_EXIT_HYPERCALL);
		if (!(offered & (1L << KVM_HC_MAP_GPA_RANGE)))
			skip("KVM_CAP_EXIT_HYPERCALL does not offer KVM_HC_MAP_GPA_RANGE (" + hex(offered) + ")");
		require_guest_hypercalls(tvm.vm().type());
		int err = enable_exit();
		if (err)
			throw Error("KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL, " + hex(1ULL << KVM_HC_MAP_GPA_RANGE) +
				    "): " + errno_name(err));
	}
	void set_requests(const std::vector<HypercallRequest> &reqs)
	{
		ASSERT_LE(reqs.size(), (size_t)kMaxHypercallRequests);
		for (size_t i = 0; i < reqs.size(); i++)
			tvm.guest_global(hypercall_requests[i]) = reqs[i];
		tvm.guest_global(hypercall_request_count) = reqs.size();
	}
	// Runs the guest until request i's GUEST_SYNC; the request must not exit.
	void expect_no_exit(Vcpu &vcpu, uint64_t i) { tvm.run_to_sync(vcpu, i); }
	// Runs to request i's exit, checks it against the request, answers ret.
	void expect_exit(Vcpu &vcpu, size_t i, const HypercallRequest &r, uint64_t ret)
	{
		GuestVm::Step st = tvm.step(vcpu);
		ASSERT_EQ(Errno(st.err), Errno(0)) << "request " << i;
		if (st.is_ucall)
			throw Error("request " + std::to_string(i) + ": expected KVM_EXIT_HYPERCALL, got ucall " +
				    std::to_string(st.ucall.cmd) + " (stage " + std::to_string(st.ucall.args[0]) + ")");
		kvm_run &run = vcpu.run_state();
		if (run.exit_reason != KVM_EXIT_HYPERCALL)
			throw Error("request " + std::to_string(i) + ": expected KVM_EXIT_HYPERCALL, got " +
				    vcpu.exit_reason_name() + ": " + arch::describe_exit(vcpu));
		HypercallExit e = hypercall_exit_of(run);
		EXPECT_EQ(e.nr, r.nr) << "request " << i;
		EXPECT_EQ(e.args[0], r.args[0]) << "request " << i << ": gpa";
		EXPECT_EQ(e.args[1], r.args[1]) << "request " << i << ": npages";
		EXPECT_EQ(e.args[2], r.args[2]) << "request " << i << ": attributes";
		// A 64-bit guest: KVM sets the long-mode flag and nothing else.
		EXPECT_EQ(e.flags, (uint64_t)KVM_EXIT_HYPERCALL_LONG_MODE) << "request " << i;
		set_hypercall_return(run, ret);
	}
};

KVMT_FIXTURE(hypercall, HypercallVm, VmTypeVariant, vm_type_variants());

// The cap offers MAP_GPA_RANGE; enabling an unoffered bit is EINVAL; 0 turns exits off (spec 2, api.rst).
KVMT_TEST_F(hypercall, cap_offers_map_gpa_range)
{
	long offered = f.tvm.vm().check_extension(KVM_CAP_EXIT_HYPERCALL);
	SKIP_IF(!offered, "KVM_CAP_EXIT_HYPERCALL not offered");
	test_log("KVM_CAP_EXIT_HYPERCALL = " + hex(offered));
	EXPECT_TRUE(offered & (1L << KVM_HC_MAP_GPA_RANGE));
	int unoffered = 0;
	while (offered & (1L << unoffered))
		unoffered++;
	EXPECT_EQ(Errno(f.tvm.vm().__enable_cap(KVM_CAP_EXIT_HYPERCALL, 1ULL << unoffered)), Errno(EINVAL))
		<< "hypercall " << unoffered;
	EXPECT_EQ(Errno(f.enable_exit()), Errno(0));
	EXPECT_EQ(Errno(f.tvm.vm().__enable_cap(KVM_CAP_EXIT_HYPERCALL, 0)), Errno(0));
}

// Each MAP_GPA_RANGE exits with the guest's args and long mode; the answer lands in RAX (spec 3 Guest side).
KVMT_TEST_F(hypercall, map_gpa_range_exits_with_args)
{
	f.require_exit();
	uint64_t base = kTestGpaBase;
	std::vector<HypercallRequest> reqs = {
		{KVM_HC_MAP_GPA_RANGE, {base, 1, kEncrypted, 0}, 0},
		{KVM_HC_MAP_GPA_RANGE, {base + 3 * kMapGpaRangePage, 2, kDecrypted, 0}, kKvmEinval},
		{KVM_HC_MAP_GPA_RANGE,
		 {base + 0x200000, 512, kEncrypted | KVM_MAP_GPA_RANGE_PAGE_SZ_2M, 0},
		 0x5a5a},
	};
	f.set_requests(reqs);
	Vcpu &vcpu = f.tvm.add_vcpu(guest_issue_hypercalls);
	for (size_t i = 0; i < reqs.size(); i++) {
		f.expect_exit(vcpu, i, reqs[i], reqs[i].expect_ret);
		f.tvm.run_to_sync(vcpu, i);
	}
	f.tvm.run_to_done(vcpu);
}

// KVM answers a malformed MAP_GPA_RANGE itself with -KVM_EINVAL, no exit (spec 3 Guest side; hypercalls.rst).
KVMT_TEST_F(hypercall, map_gpa_range_invalid_args_einval)
{
	f.require_exit();
	uint64_t base = kTestGpaBase;
	std::vector<HypercallRequest> reqs = {
		{KVM_HC_MAP_GPA_RANGE, {base + 1, 1, kEncrypted, 0}, kKvmEinval},          // unaligned
		{KVM_HC_MAP_GPA_RANGE, {base, 0, kEncrypted, 0}, kKvmEinval},              // no pages
		{KVM_HC_MAP_GPA_RANGE, {base, ~0ULL, kDecrypted, 0}, kKvmEinval},          // gfn wraps
	};
	f.set_requests(reqs);
	Vcpu &vcpu = f.tvm.add_vcpu(guest_issue_hypercalls);
	for (size_t i = 0; i < reqs.size(); i++)
		f.expect_no_exit(vcpu, i);
	f.tvm.run_to_done(vcpu);
}

// Without KVM_CAP_EXIT_HYPERCALL, MAP_GPA_RANGE returns -KVM_ENOSYS and does not exit (spec 3 Guest side).
KVMT_TEST_F(hypercall, map_gpa_range_without_cap_enosys)
{
	require_guest_hypercalls(f.tvm.vm().type());
	std::vector<HypercallRequest> reqs = {
		{KVM_HC_MAP_GPA_RANGE, {kTestGpaBase, 1, kEncrypted, 0}, kKvmEnosys},
	};
	f.set_requests(reqs);
	Vcpu &vcpu = f.tvm.add_vcpu(guest_issue_hypercalls);
	f.expect_no_exit(vcpu, 0);
	f.tvm.run_to_done(vcpu);
}

}  // namespace
