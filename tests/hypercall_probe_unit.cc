// The x86 hypercall probe skips only for a vCPU that is still at its
// hypercall instruction; a vCPU stalled anywhere else is a failure that
// names RIP and the bytes there. Needs /dev/kvm (skips without it).
#if defined(__x86_64__)

#include <cstdio>
#include <string>

#include "errors.hh"
#include "guest_vm.hh"
#include "hypercall_x86.hh"
#include "test.hh"
#include "vm_type.hh"

using namespace kvmt;

// Guest code: a loop that never exits to the host. Plain assembly, so that
// the host compiler flags of this file put nothing else in it.
extern "C" void kvmt_unit_guest_spin(uint64_t, uint64_t);
asm(".pushsection .text.kvmt_unit_guest_spin,\"ax\",@progbits\n"
    ".globl kvmt_unit_guest_spin\n"
    "kvmt_unit_guest_spin:\n"
    "1:	pause\n"
    "	jmp 1b\n"
    ".popsection\n");

KVMT_TEST(hypercall_probe, stall_away_from_the_hypercall_fails_with_rip_and_bytes)
{
	GuestVm tvm(default_vm_type());
	Vcpu &vcpu = tvm.add_vcpu(kvmt_unit_guest_spin);
	std::string why, error;
	try {
		x86::run_to_hypercall_exit(tvm, vcpu, 1, &why);
	} catch (const Error &e) {
		error = e.what();
	}
	test_log("error: " + error);
	EXPECT_EQ(why, std::string());
	ASSERT_EQ(error.rfind("hypercall probe: KVM_RUN still in the guest after 1 s, and the vCPU is not "
			      "at its hypercall instruction: RIP 0x",
			      0),
		  0u);
	// The loop is "f3 90 eb fc": RIP is at the pause or at the jmp.
	uint64_t spin = reinterpret_cast<uint64_t>(&kvmt_unit_guest_spin);
	char at_pause[96], at_jmp[96];
	snprintf(at_pause, sizeof(at_pause), "RIP 0x%llx (guest bytes f3 90 eb = not a hypercall;",
		 (unsigned long long)spin);
	snprintf(at_jmp, sizeof(at_jmp), "RIP 0x%llx (guest bytes eb fc ", (unsigned long long)spin + 2);
	EXPECT_TRUE(error.find(at_pause) != std::string::npos || error.find(at_jmp) != std::string::npos);
}

// The probe itself: a hypercall exit, or (on a host whose emulator never
// hands the hypercall to KVM) a skip reason naming the instruction; never
// an error.
KVMT_TEST(hypercall_probe, probe_answers_or_names_the_hypercall)
{
	std::string why, error;
	bool reaches = false;
	try {
		reaches = x86::guest_hypercalls_reach_kvm(default_vm_type(), &why);
	} catch (const Error &e) {
		error = e.what();
	}
	test_log(reaches ? "reaches KVM" : "does not reach KVM: " + why + error);
	ASSERT_EQ(error, std::string());
	if (!reaches)
		EXPECT_TRUE(why.find("still at its hypercall (issued as VM") != std::string::npos);
}

#endif
