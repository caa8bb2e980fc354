// The machinery every guest test stands on, with no guest_memfd involved:
// guest code of this binary runs in a VM of each type (the architecture's
// processor setup, page tables and ucall), reads and writes plain memslots,
// keeps its own copy of the program's globals, and runs on several vCPUs.
#include "guest_access.hh"
#include "guest_code_test.hh"
#include "guest_vm.hh"
#include "mapping.hh"
#include "page_size.hh"
#include "pattern.hh"
#include "profile.hh"
#include "test.hh"
#include "threads.hh"

using namespace kvmt;

KVMT_KVM_PROGRAM();

namespace {

constexpr uint64_t kPages = 8;  // the test memslot, in host pages (memslots are page-aligned)
constexpr uint32_t kSlot = 1;

uint64_t slot_size()
{
	return kPages * page_size();
}

struct GuestCode {
	GuestVm tvm;
	Mapping mem = Mapping::anonymous(slot_size(), MAP_SHARED);
	explicit GuestCode(const VmTypeVariant &v) : tvm(*v.type)
	{
		tvm.add_memory_slot(kSlot, kTestGpaBase, slot_size(), mem.data());
	}
};

KVMT_FIXTURE(guest_code, GuestCode, VmTypeVariant, vm_type_variants());

// GUEST_SYNC hands the host its stage and values in order, and GUEST_DONE ends the guest.
KVMT_TEST_F(guest_code, sync_carries_stage_and_values)
{
	Vcpu &vcpu = f.tvm.add_vcpu(guest_sync_stages, 10, 3);
	for (uint64_t stage = 10; stage < 13; stage++) {
		Ucall uc = f.tvm.run_to_sync(vcpu, stage);
		ASSERT_EQ(uc.nargs, 3u) << "stage " << stage;
		ASSERT_EQ(uc.args[1], stage * 3) << "stage " << stage;
		ASSERT_EQ(uc.args[2], ~stage) << "stage " << stage;
	}
	f.tvm.run_to_done(vcpu);
}

// The guest works on its own copy of the program's globals, which the host can read and set.
KVMT_TEST_F(guest_code, guest_globals_are_the_guests_own)
{
	f.tvm.guest_global(guest_counter) = 100;
	Vcpu &vcpu = f.tvm.add_vcpu(guest_bump_counter, 5);
	Ucall uc = f.tvm.run_to_sync(vcpu, 0);
	ASSERT_EQ(uc.args[1], 105u);
	ASSERT_EQ(f.tvm.guest_global(guest_counter), 105u);
	ASSERT_EQ(guest_counter, 7u);  // the host's copy is untouched
}

// Guest code reads what the host wrote to a plain memslot, and the host what the guest wrote.
KVMT_TEST_F(guest_code, reads_and_writes_a_memslot)
{
	fill_pattern(f.mem.data(), 0, slot_size(), 0x11);
	GuestAccessPlan &plan = f.tvm.guest_global(guest_access_plans[0]);
	plan = {kTestGpaBase, slot_size(), 0, kExpectPattern, 0x11, 0, 0x22};
	Vcpu &vcpu = f.tvm.add_vcpu(guest_access_rounds, 0);
	f.tvm.run_to_sync(vcpu, 0);
	ASSERT_EQ(find_pattern_mismatch(f.mem.data(), 0, slot_size(), 0x22), -1);
}

// Four vCPUs in threads run guest code at once, each on its own pages.
KVMT_TEST_F(guest_code, vcpus_in_threads)
{
	constexpr int kVcpus = 4;
	const uint64_t bytes_each = slot_size() / kVcpus;
	for (int i = 0; i < kVcpus; i++) {
		f.tvm.guest_global(guest_access_plans[i]) = {kTestGpaBase + i * bytes_each, bytes_each,
							     i * bytes_each, kExpectZero, 0, 0, 0x30u + i};
		f.tvm.add_vcpu(guest_access_rounds, i);
	}
	run_in_threads(kVcpus, [&](int i) { f.tvm.run_to_sync(f.tvm.vcpu(i), i); });
	for (int i = 0; i < kVcpus; i++)
		EXPECT_EQ(find_pattern_mismatch(f.mem.data() + i * bytes_each, i * bytes_each, bytes_each,
						0x30u + i),
			  -1)
			<< "vCPU " << i;
}

}  // namespace
