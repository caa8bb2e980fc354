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
// On a software-protected VM the kind of a guest access (private or shared)
// is taken from the memory's state, so a mismatch can only come from the
// backing: PRIVATE where no guest_memfd backs the GPA. That is what the
// memory_fault_* cases provoke.
#include <sys/mman.h>

#include <functional>
#include <memory>

#include "coco_x86.hh"
#include "guest_memfd.hh"
#include "hypercall_x86.hh"
#include "pattern.hh"
#include "private_mem_conversions.hh"
#include "processor.hh"
#include "profile.hh"
#include "sigbus.hh"
#include "test.hh"
#include "test_vm.hh"
#include "threads.hh"
#include "vm.hh"
#include "hex.hh"

using namespace kvmt;
using namespace kvmt::x86;

KVMT_KVM_PROGRAM();

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kRangePages = 4;  // each vCPU's range
constexpr uint64_t kRangeSize = kRangePages * kPage;
constexpr int kSlots = 2;
constexpr uint64_t kSlotPages = 2 * kRangePages;  // two vCPU ranges per memslot
constexpr uint64_t kSlotSize = kSlotPages * kPage;
// Memslots are not adjacent in guest-physical space and their GPAs are not
// their gmem offsets, so a byte read through the wrong binding never matches
// a pattern (patterns encode the gmem offset).
constexpr uint64_t kSlotStride = 4 * kSlotSize;
constexpr uint32_t kFirstSlot = 1;
constexpr uint32_t kExtraSlot = kFirstSlot + kSlots;
// A guest-physical page no memslot covers.
constexpr uint64_t kUnbackedGpa = kTestGpaBase + kSlots * kSlotStride;
// A page backed by a memslot without guest_memfd.
constexpr uint64_t kPlainGpa = kUnbackedGpa + kSlotStride;

constexpr uint64_t kSeedHost1 = 0x4801, kSeedGuest1 = 0x6701, kSeedPrivate1 = 0x5001,
		   kSeedHost2 = 0x4802, kSeedPrivate2 = 0x5002;

constexpr uint64_t kEncrypted = KVM_MAP_GPA_RANGE_ENCRYPTED;
constexpr uint64_t kDecrypted = KVM_MAP_GPA_RANGE_DECRYPTED;

enum class AttrMode { PerVm, InPlace };

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
		gmem_ = std::make_unique<GuestMemfd>(vm, kSlots * kSlotSize, flags);
		shared_ = mode == AttrMode::PerVm ? Mapping::anonymous(kSlots * kSlotSize)
						  : gmem_->map();
		for (int i = 0; i < kSlots; i++)
			tvm.add_gmem_slot(kFirstSlot + i, slot_gpa(i), kSlotSize, *gmem_,
					  i * kSlotSize, shared_.data() + i * kSlotSize);
		set_guest_hypercall_insn(tvm);
	}

	TestVm tvm;

	bool in_place() const { return mode_ == AttrMode::InPlace; }
	GuestMemfd &gmem() { return *gmem_; }

	static uint64_t slot_gpa(int slot) { return kTestGpaBase + slot * kSlotStride; }
	// vCPU i works on its own range: memslot i % kSlots, half i / kSlots.
	static uint64_t range_gpa(int i) { return slot_gpa(i % kSlots) + (i / kSlots) * kRangeSize; }
	static uint64_t range_offset(int i)
	{
		return (i % kSlots) * kSlotSize + (i / kSlots) * kRangeSize;
	}
	uint64_t gmem_offset(uint64_t gpa) const
	{
		for (int i = 0; i < kSlots; i++)
			if (gpa >= slot_gpa(i) && gpa < slot_gpa(i) + kSlotSize)
				return i * kSlotSize + (gpa - slot_gpa(i));
		throw Error("GPA " + hex(gpa) + " is in no test memslot");
	}
	// The host's view of the shared side of a range (anonymous memory, or
	// the gmem mapping in place).
	uint8_t *shared_hva(uint64_t gpa) { return shared_.data() + gmem_offset(gpa); }

	// KVM_SET_MEMORY_ATTRIBUTES(2) for [gpa, gpa + size); 0 or the errno.
	int __convert(uint64_t gpa, uint64_t size, bool to_private)
	{
		uint64_t attrs = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
		if (mode_ == AttrMode::PerVm)
			return tvm.vm().__set_memory_attributes(gpa, size, attrs);
		return gmem_->convert(gmem_offset(gpa), size, attrs, content_flags_).err;
	}
	void convert(uint64_t gpa, uint64_t size, bool to_private)
	{
		int err = __convert(gpa, size, to_private);
		if (err)
			throw Error(std::string(in_place() ? "KVM_SET_MEMORY_ATTRIBUTES2" : "KVM_SET_MEMORY_ATTRIBUTES") +
				    "(" + hex(gpa) + ", " + hex(size) + ", " + (to_private ? "PRIVATE" : "shared") +
				    "): " + errno_name(err));
	}

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

void expect_shared_pattern(ConversionVm &cv, uint64_t gpa, uint64_t npages, uint64_t seed)
{
	const uint8_t *p = cv.shared_hva(gpa);
	uint64_t off = cv.gmem_offset(gpa);
	int64_t bad = seed ? find_pattern_mismatch(p, off, npages * kPage, seed)
			   : find_nonzero(p, npages * kPage);
	if (bad >= 0)
		record_failure(__FILE__, __LINE__,
			       "host: shared byte at gmem offset " + hex(off + bad) + " is " + hex(p[bad]) +
				       ", expected " + hex(seed ? pattern_byte(seed, off + bad) : 0));
	ASSERT_EQ(bad, -1);
}

void fill_shared(ConversionVm &cv, uint64_t gpa, uint64_t npages, uint64_t seed)
{
	fill_pattern(cv.shared_hva(gpa), cv.gmem_offset(gpa), npages * kPage, seed);
}

// In place, a private page is unreachable through the host mapping.
void expect_host_sigbus(ConversionVm &cv, uint64_t gpa, uint64_t npages)
{
	EXPECT_EQ(count_sigbus_pages(cv.shared_hva(gpa), npages * kPage, Access::Read), npages);
}

// ------------------------------------------------------------ scripts

class ScriptBuilder {
public:
	ScriptBuilder(uint64_t gpa, uint64_t file_offset)
	{
		s_.gpa = gpa;
		s_.file_offset = file_offset;
	}
	ScriptBuilder &check(uint64_t first, uint64_t n, uint64_t seed) { return add(kOpCheck, first, n, seed); }
	ScriptBuilder &check_all(uint64_t seed) { return check(0, kRangePages, seed); }
	ScriptBuilder &write(uint64_t first, uint64_t n, uint64_t seed) { return add(kOpWrite, first, n, seed); }
	ScriptBuilder &write_all(uint64_t seed) { return write(0, kRangePages, seed); }
	ScriptBuilder &map(uint64_t first, uint64_t n, bool to_private)
	{
		return add(kOpMap, first, n, to_private ? kEncrypted : kDecrypted);
	}
	ScriptBuilder &map_all(bool to_private) { return map(0, kRangePages, to_private); }
	ScriptBuilder &sync(uint64_t stage) { return add(kOpSync, 0, 0, stage); }
	ConversionScript build() const { return s_; }

private:
	ScriptBuilder &add(uint64_t kind, uint64_t first, uint64_t n, uint64_t arg)
	{
		if (n_ + 1 >= kMaxConversionOps)
			throw Error("conversion script longer than " + std::to_string(kMaxConversionOps) + " steps");
		s_.ops[n_++] = {kind, first, n, arg};
		return *this;
	}
	ConversionScript s_{};
	int n_ = 0;
};

struct Seeds {
	uint64_t host1, guest1, private1, host2;
	// Distinct per vCPU, so that a byte from a neighbour's range never matches.
	static Seeds of(int i)
	{
		uint64_t d = (uint64_t)i << 12;
		return {kSeedHost1 + d, kSeedGuest1 + d, kSeedPrivate1 + d, kSeedHost2 + d};
	}
};

// ------------------------------------------------------------ driving a vCPU

// Runs one vCPU to GUEST_DONE, serving its MAP_GPA_RANGE hypercalls on its
// own range and its GUEST_SYNCs through on_sync.
struct VcpuDriver {
	ConversionVm &cv;
	Vcpu &vcpu;
	uint64_t gpa = 0, npages = 0;  // the range the vCPU may convert
	bool punch_after_to_shared = false;
	std::function<void(uint64_t stage)> on_sync = {};
	int conversions = 0;
	int expected_syncs = 0;  // GUEST_SYNCs the script has; all must be seen
	int syncs = 0;

	void handle_map_gpa_range(kvm_run &run)
	{
		HypercallExit e = hypercall_exit_of(run);
		ASSERT_EQ(e.nr, (uint64_t)KVM_HC_MAP_GPA_RANGE);
		ASSERT_EQ(e.flags, (uint64_t)KVM_EXIT_HYPERCALL_LONG_MODE);
		uint64_t req_gpa = e.args[0], req_pages = e.args[1], attrs = e.args[2];
		// The guest only converts 4 KiB pages of its own range.
		bool valid = (attrs & ~kEncrypted) == KVM_MAP_GPA_RANGE_PAGE_SZ_4K && req_gpa >= gpa &&
			     req_pages && req_gpa + req_pages * kPage <= gpa + npages * kPage;
		if (!valid) {
			record_failure(__FILE__, __LINE__,
				       "vCPU " + std::to_string(vcpu.id()) + " asked MAP_GPA_RANGE(" + hex(req_gpa) +
					       ", " + std::to_string(req_pages) + ", " + hex(attrs) +
					       ") outside its range " + hex(gpa) + "+" + std::to_string(npages));
			set_hypercall_return(run, kKvmEinval);
			return;
		}
		bool to_private = attrs & kEncrypted;
		cv.convert(req_gpa, req_pages * kPage, to_private);
		if (!to_private && punch_after_to_shared)
			cv.gmem().punch_hole(cv.gmem_offset(req_gpa), req_pages * kPage);
		conversions++;
		set_hypercall_return(run, 0);
	}

	void run_to_done()
	{
		for (int exits = 0; exits < 1000; exits++) {
			TestVm::Step st = cv.tvm.step(vcpu);
			kvm_run &run = vcpu.run_state();
			if (st.err) {
				throw Error("vCPU " + std::to_string(vcpu.id()) + ": KVM_RUN " + errno_name(st.err) +
					    " with " + vcpu.exit_reason_name());
			}
			if (st.is_ucall) {
				if (st.ucall.cmd == UCALL_DONE) {
					ASSERT_EQ(syncs, expected_syncs);
					return;
				}
				if (st.ucall.cmd == UCALL_SYNC) {
					syncs++;
					if (on_sync)
						on_sync(st.ucall.args[0]);
					continue;
				}
				throw Error("unexpected ucall " + std::to_string(st.ucall.cmd));
			}
			if (run.exit_reason == KVM_EXIT_HYPERCALL) {
				handle_map_gpa_range(run);
				continue;
			}
			throw Error("vCPU " + std::to_string(vcpu.id()) + ": unexpected " + vcpu.exit_reason_name() +
				    ": " + arch::describe_exit(vcpu));
		}
		throw Error("vCPU " + std::to_string(vcpu.id()) + " did not finish within 1000 exits");
	}
};

// Adds vCPU i running `script` and returns its driver.
VcpuDriver make_driver(ConversionVm &cv, int i, const ConversionScript &script)
{
	cv.tvm.guest_global(conversion_scripts[i]) = script;
	Vcpu &vcpu = cv.tvm.add_vcpu(guest_run_conversion_script, i);
	VcpuDriver d{cv, vcpu};
	d.gpa = script.gpa;
	d.npages = kRangePages;
	for (const ConversionOp &op : script.ops)
		d.expected_syncs += op.kind == kOpSync;
	return d;
}

// Several drivers, each on its own thread; failures are collected.
void run_in_threads(std::vector<VcpuDriver> &drivers)
{
	kvmt::run_in_threads((int)drivers.size(), [&](int i) { drivers[i].run_to_done(); });
}


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

// ------------------------------------------------------------ round trip

// The guest's round trip over its whole range: write while shared, convert
// to private, write private data, back to shared, check what the host wrote,
// and once more. The expectations are the contract's for each mode:
//   per_vm    private and shared are different pages; fresh private memory
//             reads 0; private data survives a trip through shared unless
//             the private backing was punched.
//   in_place  one page: data survives every conversion (SW_PROTECTED;
//             PRESERVE on content-mode kernels) unless punched.
ConversionScript round_trip_script(const ConversionVm &cv, int i, const Seeds &s, bool punch)
{
	ScriptBuilder b(ConversionVm::range_gpa(i), ConversionVm::range_offset(i));
	b.check_all(s.host1).write_all(s.guest1).sync(1);
	b.map_all(true).check_all(cv.in_place() ? s.guest1 : 0).write_all(s.private1).sync(2);
	uint64_t after_shared = cv.in_place() ? (punch ? 0 : s.private1) : s.host2;
	b.map_all(false).check_all(after_shared).sync(3);
	uint64_t private_again = cv.in_place() ? s.host2 : (punch ? 0 : s.private1);
	b.map_all(true).check_all(private_again).sync(4);
	b.map_all(false).check_all(cv.in_place() ? (punch ? 0 : s.host2) : s.host2);
	return b.build();
}

void round_trip_host_side(ConversionVm &cv, VcpuDriver &d, const Seeds &s, bool punch)
{
	uint64_t gpa = d.gpa;
	fill_shared(cv, gpa, kRangePages, s.host1);
	d.punch_after_to_shared = punch;
	d.on_sync = [&cv, gpa, s, punch](uint64_t stage) {
		switch (stage) {
		case 1:  // the host sees the guest's shared writes
			expect_shared_pattern(cv, gpa, kRangePages, s.guest1);
			break;
		case 2:
			if (cv.in_place()) {
				expect_host_sigbus(cv, gpa, kRangePages);
			} else {
				// The guest's private writes went to the guest_memfd.
				expect_shared_pattern(cv, gpa, kRangePages, s.guest1);
				fill_shared(cv, gpa, kRangePages, s.host2);
			}
			break;
		case 3:
			if (cv.in_place()) {
				// The same page: the guest's private data, now shared.
				expect_shared_pattern(cv, gpa, kRangePages, punch ? 0 : s.private1);
				fill_shared(cv, gpa, kRangePages, s.host2);
			} else {
				expect_shared_pattern(cv, gpa, kRangePages, s.host2);
			}
			break;
		case 4:
			if (cv.in_place())
				expect_host_sigbus(cv, gpa, kRangePages);
			else
				expect_shared_pattern(cv, gpa, kRangePages, s.host2);
			break;
		default:
			ASSERT_EQ(stage, 0u);
		}
	};
}

void guest_driven_round_trips(ConversionVm &cv, int vcpus, bool punch)
{
	enable_map_gpa_range_exit(cv);
	std::vector<VcpuDriver> drivers;
	std::vector<Seeds> seeds;
	for (int i = 0; i < vcpus; i++)
		seeds.push_back(Seeds::of(i));
	for (int i = 0; i < vcpus; i++) {
		drivers.push_back(make_driver(cv, i, round_trip_script(cv, i, seeds[i], punch)));
	}
	for (int i = 0; i < vcpus; i++)
		round_trip_host_side(cv, drivers[i], seeds[i], punch);
	run_in_threads(drivers);
	for (const VcpuDriver &d : drivers)
		EXPECT_EQ(d.conversions, 4);
}

// ------------------------------------------------------------ partial ranges

// Conversions of single pages and sub-ranges, and a request over a range
// that is partly in the target state already.
void guest_driven_partial(ConversionVm &cv)
{
	enable_map_gpa_range_exit(cv);
	const Seeds s = Seeds::of(0);
	ScriptBuilder b(ConversionVm::range_gpa(0), ConversionVm::range_offset(0));
	b.check_all(s.host1).write_all(s.guest1).sync(1);
	if (!cv.in_place()) {
		b.map(1, 1, true).check(0, 1, s.guest1).check(1, 1, 0).check(2, 2, s.guest1);
		b.write(1, 1, s.private1).sync(2);
		b.map(2, 2, true).check(0, 1, s.guest1).check(1, 1, s.private1).check(2, 2, 0);
		b.write(2, 2, s.private1);
		b.map(1, 1, false).check(0, 2, s.guest1).check(2, 2, s.private1).sync(3);
		b.map(0, 4, false).check_all(s.guest1).sync(4);
		// Back to private: page 0's private side was never written.
		b.map(0, 4, true).check(0, 1, 0).check(1, 3, s.private1);
	} else {
		b.map(1, 1, true).check_all(s.guest1).write(1, 1, s.private1).sync(2);
		b.map(2, 2, true).check(0, 1, s.guest1).check(1, 1, s.private1).check(2, 2, s.guest1);
		b.write(2, 2, s.private1);
		b.map(1, 1, false).check(0, 1, s.guest1).check(1, 3, s.private1).sync(3);
		b.map(0, 4, false).check(0, 1, s.guest1).check(1, 3, s.private1).sync(4);
		b.map(0, 4, true).check(0, 1, s.guest1).check(1, 3, s.private1);
	}
	VcpuDriver d = make_driver(cv, 0, b.build());
	uint64_t gpa = d.gpa;
	fill_shared(cv, gpa, kRangePages, s.host1);
	d.on_sync = [&cv, gpa, s](uint64_t stage) {
		auto page = [gpa](uint64_t i) { return gpa + i * kPage; };
		if (!cv.in_place()) {
			// Private writes never reach the anonymous memory.
			expect_shared_pattern(cv, gpa, kRangePages, s.guest1);
			return;
		}
		switch (stage) {
		case 1:
			expect_shared_pattern(cv, gpa, kRangePages, s.guest1);
			break;
		case 2:  // only page 1 is private
			expect_shared_pattern(cv, page(0), 1, s.guest1);
			expect_host_sigbus(cv, page(1), 1);
			expect_shared_pattern(cv, page(2), 2, s.guest1);
			break;
		case 3:  // pages 2-3 are private
			expect_shared_pattern(cv, page(0), 1, s.guest1);
			expect_shared_pattern(cv, page(1), 1, s.private1);
			expect_host_sigbus(cv, page(2), 2);
			break;
		case 4:
			expect_shared_pattern(cv, page(0), 1, s.guest1);
			expect_shared_pattern(cv, page(1), 3, s.private1);
			break;
		}
	};
	d.run_to_done();
	EXPECT_EQ(d.conversions, 5);
}

// ------------------------------------------------------------ host-driven

// The host converts between the guest's steps (no hypercalls).
void host_driven(ConversionVm &cv)
{
	const Seeds s = Seeds::of(0);
	ScriptBuilder b(ConversionVm::range_gpa(0), ConversionVm::range_offset(0));
	b.check_all(s.host1).write_all(s.guest1).sync(1);
	b.check_all(cv.in_place() ? s.guest1 : 0).write_all(s.private1).sync(2);
	b.check_all(cv.in_place() ? s.private1 : s.guest1).sync(3);
	b.check_all(s.private1);
	VcpuDriver d = make_driver(cv, 0, b.build());
	uint64_t gpa = d.gpa;
	fill_shared(cv, gpa, kRangePages, s.host1);
	d.on_sync = [&cv, gpa, s](uint64_t stage) {
		switch (stage) {
		case 1:
			expect_shared_pattern(cv, gpa, kRangePages, s.guest1);
			cv.convert(gpa, kRangeSize, true);
			break;
		case 2:
			if (cv.in_place())
				expect_host_sigbus(cv, gpa, kRangePages);
			else
				expect_shared_pattern(cv, gpa, kRangePages, s.guest1);
			cv.convert(gpa, kRangeSize, false);
			break;
		case 3:
			expect_shared_pattern(cv, gpa, kRangePages, cv.in_place() ? s.private1 : s.guest1);
			cv.convert(gpa, kRangeSize, true);
			break;
		}
	};
	d.run_to_done();
}

// ------------------------------------------------------------ punch

// Punching private memory frees its pages, not their state: the guest reads
// zeros from a private page afterwards, not the shared side's data.
void punch_private(ConversionVm &cv)
{
	const Seeds s = Seeds::of(0);
	ScriptBuilder b(ConversionVm::range_gpa(0), ConversionVm::range_offset(0));
	b.write_all(s.private1).sync(1);
	b.check(0, 1, s.private1).check(1, 2, 0).check(3, 1, s.private1);
	b.write(1, 2, kSeedPrivate2).sync(2);
	b.check(0, 1, s.private1).check(1, 2, kSeedPrivate2).check(3, 1, s.private1);
	VcpuDriver d = make_driver(cv, 0, b.build());
	uint64_t gpa = d.gpa;
	fill_shared(cv, gpa, kRangePages, s.host1);
	cv.convert(gpa, kRangeSize, true);
	d.on_sync = [&cv, gpa, s](uint64_t stage) {
		if (cv.in_place())
			expect_host_sigbus(cv, gpa, kRangePages);
		else
			expect_shared_pattern(cv, gpa, kRangePages, s.host1);
		if (stage == 1)
			cv.gmem().punch_hole(cv.gmem_offset(gpa) + kPage, 2 * kPage);
	};
	d.run_to_done();
}

// ------------------------------------------------------------ exits

// vCPU 0 runs guest_read_then_write(gpa, value) on a page the test maps.
Vcpu &add_word_vcpu(ConversionVm &cv, uint64_t gpa, uint64_t value)
{
	cv.tvm.map_identity(gpa, kPage);
	return cv.tvm.add_vcpu(guest_read_then_write, gpa, value);
}

void expect_memory_fault(Vcpu &vcpu, int err, uint64_t gpa)
{
	kvm_run &run = vcpu.run_state();
	ASSERT_EQ(errno_name(err), errno_name(EFAULT));
	ASSERT_EQ(vcpu.exit_reason_name(), exit_reason_name(KVM_EXIT_MEMORY_FAULT));
	memory_fault_exit mf = memory_fault_of(run);
	EXPECT_EQ(hex(mf.flags), hex(KVM_MEMORY_EXIT_FLAG_PRIVATE));
	EXPECT_EQ(hex(mf.gpa), hex(gpa));
	EXPECT_EQ(mf.size, kPage);
}

Ucall expect_sync(ConversionVm &cv, Vcpu &vcpu, uint64_t stage)
{
	return cv.tvm.run_to_sync(vcpu, stage);
}

// An emulated MMIO access of 8 bytes at gpa; a read gets `value`.
void serve_mmio(ConversionVm &cv, Vcpu &vcpu, uint64_t gpa, bool is_write, uint64_t value)
{
	TestVm::Step st = cv.tvm.step(vcpu);
	ASSERT_EQ(errno_name(st.err), errno_name(0));
	ASSERT_FALSE(st.is_ucall);
	kvm_run &run = vcpu.run_state();
	ASSERT_EQ(vcpu.exit_reason_name(), exit_reason_name(KVM_EXIT_MMIO));
	EXPECT_EQ(hex(run.mmio.phys_addr), hex(gpa));
	EXPECT_EQ(run.mmio.len, 8u);
	EXPECT_EQ((bool)run.mmio.is_write, is_write);
	if (is_write) {
		uint64_t data;
		memcpy(&data, run.mmio.data, sizeof(data));
		EXPECT_EQ(hex(data), hex(value));
	} else {
		memcpy(run.mmio.data, &value, sizeof(value));
	}
}

constexpr uint64_t kWordA = 0x0123456789abcdefULL, kWordB = 0xfedcba9876543210ULL;

// A GPA without memslot is shared: accesses are emulated MMIO.
void mmio_without_memslot(ConversionVm &cv)
{
	Vcpu &vcpu = add_word_vcpu(cv, kUnbackedGpa, kWordB);
	serve_mmio(cv, vcpu, kUnbackedGpa, false, kWordA);
	EXPECT_EQ(hex(expect_sync(cv, vcpu, 1).args[1]), hex(kWordA));
	serve_mmio(cv, vcpu, kUnbackedGpa, true, kWordB);
	expect_sync(cv, vcpu, 2);
}

// PRIVATE on a GPA without memslot: a memory fault; converted to shared, the
// access completes as MMIO.
void memory_fault_without_memslot(ConversionVm &cv)
{
	Vcpu &vcpu = add_word_vcpu(cv, kUnbackedGpa, kWordB);
	cv.convert(kUnbackedGpa, kPage, true);
	TestVm::Step st = cv.tvm.step(vcpu);
	ASSERT_FALSE(st.is_ucall);
	expect_memory_fault(vcpu, st.err, kUnbackedGpa);
	cv.convert(kUnbackedGpa, kPage, false);
	serve_mmio(cv, vcpu, kUnbackedGpa, false, kWordA);
	EXPECT_EQ(hex(expect_sync(cv, vcpu, 1).args[1]), hex(kWordA));
}

// PRIVATE on a memslot without guest_memfd: a memory fault; converted to
// shared, the guest reads the memslot's memory and its write lands there.
void memory_fault_plain_memslot(ConversionVm &cv)
{
	Mapping plain = Mapping::anonymous(kPage);
	uint64_t *word = reinterpret_cast<uint64_t *>(plain.data());
	*word = kWordA;
	cv.tvm.vm().set_memslot({kExtraSlot, 0, kPlainGpa, kPage, plain.data(), -1, 0});
	Vcpu &vcpu = add_word_vcpu(cv, kPlainGpa, kWordB);
	cv.convert(kPlainGpa, kPage, true);
	TestVm::Step st = cv.tvm.step(vcpu);
	ASSERT_FALSE(st.is_ucall);
	expect_memory_fault(vcpu, st.err, kPlainGpa);
	cv.convert(kPlainGpa, kPage, false);
	EXPECT_EQ(hex(expect_sync(cv, vcpu, 1).args[1]), hex(kWordA));
	expect_sync(cv, vcpu, 2);
	EXPECT_EQ(hex(*word), hex(kWordB));
}

// A private GPA whose guest_memfd memslot was deleted: a memory fault; with
// the memslot back, the guest reads the private data it wrote before.
void memory_fault_memslot_deleted(ConversionVm &cv)
{
	uint64_t gpa = ConversionVm::range_gpa(0);
	Vcpu &vcpu = add_word_vcpu(cv, gpa, kWordB);
	cv.convert(gpa, kPage, true);
	EXPECT_EQ(hex(expect_sync(cv, vcpu, 1).args[1]), hex(0));  // fresh private memory
	expect_sync(cv, vcpu, 2);  // wrote kWordB
	Memslot saved;
	for (const Memslot &m : cv.tvm.vm().memslots())
		if (m.slot == kFirstSlot)
			saved = m;
	cv.tvm.vm().delete_memslot(kFirstSlot);
	TestVm::Step st = cv.tvm.step(vcpu);
	ASSERT_FALSE(st.is_ucall);
	expect_memory_fault(vcpu, st.err, gpa);
	cv.tvm.vm().set_memslot(saved);
	EXPECT_EQ(hex(expect_sync(cv, vcpu, 1).args[1]), hex(kWordB));
	// The shared side never saw it.
	uint64_t shared_word;
	memcpy(&shared_word, cv.shared_hva(gpa), sizeof(shared_word));
	EXPECT_EQ(hex(shared_word), hex(0));
}

// ------------------------------------------------------------ registration

struct ConversionCase {
	const char *name;
	bool per_vm, in_place;
	std::function<void(ConversionVm &)> body;
};

const ConversionCase kConversionCases[] = {
	{"guest_driven", true, true, [](ConversionVm &cv) { guest_driven_round_trips(cv, 1, false); }},
	{"guest_driven_punch", true, true, [](ConversionVm &cv) { guest_driven_round_trips(cv, 1, true); }},
	{"guest_driven_partial", true, true, guest_driven_partial},
	{"guest_driven_4vcpus_2slots", true, true,
	 [](ConversionVm &cv) { guest_driven_round_trips(cv, 4, false); }},
	{"guest_driven_4vcpus_2slots_punch", true, true,
	 [](ConversionVm &cv) { guest_driven_round_trips(cv, 4, true); }},
	{"host_driven", true, true, host_driven},
	{"punch_private_reads_zero", true, true, punch_private},
	{"mmio_exit_without_memslot", true, true, mmio_without_memslot},
	{"memory_fault_private_without_memslot", true, false, memory_fault_without_memslot},
	{"memory_fault_private_on_plain_memslot", true, false, memory_fault_plain_memslot},
	{"memory_fault_memslot_deleted", true, false, memory_fault_memslot_deleted},
};

constexpr int kConversionTimeout = 60;

KVMT_FIXTURE(per_vm, PerVmConversions, VmTypeVariant, vm_type_variants());
KVMT_FIXTURE(in_place, InPlaceConversions, VmTypeVariant, vm_type_variants());

[[maybe_unused]] const bool kConversionCasesRegistered = [] {
	for (const ConversionCase &c : kConversionCases) {
		if (c.per_vm)
			register_test({"per_vm", c.name, kConversionTimeout, -1, [&c](const void *data) {
					       PerVmConversions f(*static_cast<const VmTypeVariant *>(data));
					       c.body(f);
				       }});
		if (c.in_place)
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
	TestVm tvm;
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
	void expect_exit(Vcpu &vcpu, const HypercallRequest &r, uint64_t ret)
	{
		TestVm::Step st = tvm.step(vcpu);
		ASSERT_EQ(errno_name(st.err), errno_name(0));
		if (st.is_ucall)
			throw Error("expected KVM_EXIT_HYPERCALL, got ucall " + std::to_string(st.ucall.cmd) +
				    " (stage " + std::to_string(st.ucall.args[0]) + ")");
		kvm_run &run = vcpu.run_state();
		if (run.exit_reason != KVM_EXIT_HYPERCALL)
			throw Error("expected KVM_EXIT_HYPERCALL, got " + vcpu.exit_reason_name() + ": " +
				    arch::describe_exit(vcpu));
		HypercallExit e = hypercall_exit_of(run);
		EXPECT_EQ(e.nr, r.nr);
		EXPECT_EQ(hex(e.args[0]), hex(r.args[0]));
		EXPECT_EQ(e.args[1], r.args[1]);
		EXPECT_EQ(hex(e.args[2]), hex(r.args[2]));
		// A 64-bit guest: KVM sets the long-mode flag and nothing else.
		EXPECT_EQ(hex(e.flags), hex(KVM_EXIT_HYPERCALL_LONG_MODE));
		set_hypercall_return(run, ret);
	}
};

KVMT_FIXTURE(hypercall, HypercallVm, VmTypeVariant, vm_type_variants());

KVMT_TEST_F(hypercall, cap_offers_map_gpa_range)
{
	long offered = f.tvm.vm().check_extension(KVM_CAP_EXIT_HYPERCALL);
	SKIP_IF(!offered, "KVM_CAP_EXIT_HYPERCALL not offered");
	test_log("KVM_CAP_EXIT_HYPERCALL = " + hex(offered));
	EXPECT_TRUE(offered & (1L << KVM_HC_MAP_GPA_RANGE));
	// Enabling exits for a hypercall KVM does not offer: EINVAL.
	int unoffered = 0;
	while (offered & (1L << unoffered))
		unoffered++;
	EXPECT_EQ(errno_name(f.tvm.vm().__enable_cap(KVM_CAP_EXIT_HYPERCALL, 1ULL << unoffered)),
		  errno_name(EINVAL));
	EXPECT_EQ(errno_name(f.enable_exit()), errno_name(0));
	// 0 turns every exit off again.
	EXPECT_EQ(errno_name(f.tvm.vm().__enable_cap(KVM_CAP_EXIT_HYPERCALL, 0)), errno_name(0));
}

KVMT_TEST_F(hypercall, map_gpa_range_exits_with_args)
{
	f.require_exit();
	uint64_t base = kTestGpaBase;
	// The host's answer lands in the guest's RAX, whatever it is.
	std::vector<HypercallRequest> reqs = {
		{KVM_HC_MAP_GPA_RANGE, {base, 1, kEncrypted, 0}, 0},
		{KVM_HC_MAP_GPA_RANGE, {base + 3 * kPage, 2, kDecrypted, 0}, kKvmEinval},
		{KVM_HC_MAP_GPA_RANGE,
		 {base + 0x200000, 512, kEncrypted | KVM_MAP_GPA_RANGE_PAGE_SZ_2M, 0},
		 0x5a5a},
	};
	f.set_requests(reqs);
	Vcpu &vcpu = f.tvm.add_vcpu(guest_issue_hypercalls);
	for (size_t i = 0; i < reqs.size(); i++) {
		f.expect_exit(vcpu, reqs[i], reqs[i].expect_ret);
		f.tvm.run_to_sync(vcpu, i);
	}
	f.tvm.run_to_done(vcpu);
}

KVMT_TEST_F(hypercall, map_gpa_range_invalid_args_einval)
{
	f.require_exit();
	uint64_t base = kTestGpaBase;
	// KVM answers these itself: -KVM_EINVAL, no exit.
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
