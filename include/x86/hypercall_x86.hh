// KVM hypercalls from x86 guest code, and their exits to userspace.
//
// The guest issues VMCALL (Intel) or VMMCALL (AMD). KVM's "fix hypercall"
// quirk rewrites the other vendor's instruction, but the quirk may be off,
// so the host tells the guest which one to use (set_guest_hypercall_insn).
// KVM_HC_MAP_GPA_RANGE exits to userspace as KVM_EXIT_HYPERCALL once
// KVM_CAP_EXIT_HYPERCALL enables it; values from the kernel's
// arch/x86/include/uapi/asm/kvm_para.h and asm/kvm.h.
#pragma once

#include <linux/kvm_para.h>
#include <stdint.h>

#include <string>

#ifndef KVM_HC_MAP_GPA_RANGE
#define KVM_HC_MAP_GPA_RANGE 12
#endif
#ifndef KVM_MAP_GPA_RANGE_PAGE_SZ_4K
#define KVM_MAP_GPA_RANGE_PAGE_SZ_4K 0
#define KVM_MAP_GPA_RANGE_PAGE_SZ_2M (1 << 0)
#define KVM_MAP_GPA_RANGE_PAGE_SZ_1G (1 << 1)
#endif
#ifndef KVM_MAP_GPA_RANGE_ENCRYPTED
#define KVM_MAP_GPA_RANGE_ENC_STAT(n) ((n) << 4)
#define KVM_MAP_GPA_RANGE_ENCRYPTED KVM_MAP_GPA_RANGE_ENC_STAT(1)
#define KVM_MAP_GPA_RANGE_DECRYPTED KVM_MAP_GPA_RANGE_ENC_STAT(0)
#endif
#ifndef KVM_EXIT_HYPERCALL_LONG_MODE
#define KVM_EXIT_HYPERCALL_LONG_MODE (1ULL << 0)
#endif

namespace kvmt::x86 {

// Hypercall return values as the guest sees them (include/uapi/linux/kvm_para.h).
constexpr uint64_t kKvmEnosys = (uint64_t)-1000;
constexpr uint64_t kKvmEinval = (uint64_t)-22;
constexpr uint64_t kKvmEperm = (uint64_t)-1;

// Guest side: 1 = VMMCALL, 0 = VMCALL. Set by the host before the first run.
extern uint64_t guest_hypercall_vmmcall;

// Guest code only: hypercall nr with up to four arguments (RBX, RCX, RDX,
// RSI); returns RAX.
uint64_t guest_kvm_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);

inline uint64_t guest_map_gpa_range(uint64_t gpa, uint64_t npages, uint64_t attrs)
{
	return guest_kvm_hypercall(KVM_HC_MAP_GPA_RANGE, gpa, npages, attrs, 0);
}

// Guest function of the probe below: MAP_GPA_RANGE(gpa, 1 page, ENCRYPTED),
// then GUEST_SYNC(0, RAX).
void guest_hypercall_probe(uint64_t gpa, uint64_t);

}  // namespace kvmt::x86

// Host side.
struct kvm_run;

namespace kvmt {
class GuestVm;
class Vcpu;
struct VmTypeInfo;
}

namespace kvmt::x86 {

// run->hypercall with the 6.x layout (flags replaced the 32-bit longmode).
struct HypercallExit {
	uint64_t nr;
	uint64_t args[6];
	uint64_t ret;
	uint64_t flags;
};

// The host CPU's vendor string ("AuthenticAMD", "GenuineIntel", ...).
const char *host_cpu_vendor();
// Whether KVM on this host expects VMMCALL: AMD and Hygon; VMCALL otherwise.
bool host_uses_vmmcall();
// Sets guest_hypercall_vmmcall in the guest's copy of the program.
void set_guest_hypercall_insn(GuestVm &tvm);

// Whether a guest's hypercall reaches KVM on this host: runs
// guest_hypercall_probe in a VM of the type with MAP_GPA_RANGE exits on and
// expects KVM_EXIT_HYPERCALL. When the vCPU is still at its hypercall
// instruction after a few seconds (an instruction emulator that rewrites the
// hypercall and re-executes it, never handling it), *why says so.
bool guest_hypercalls_reach_kvm(const VmTypeInfo &type, std::string *why);

// The probe's run: one KVM_RUN of vcpu, interrupted after `seconds` if it
// does not return by itself. True at KVM_EXIT_HYPERCALL; false, with *why,
// when the vCPU is still at a hypercall instruction of the guest code (RIP
// in this program where it was built as VMCALL/VMMCALL, and the guest's
// bytes there VMCALL or VMMCALL). Anything else, a stall elsewhere included,
// throws Error naming RIP and the guest's bytes there.
bool run_to_hypercall_exit(GuestVm &tvm, Vcpu &vcpu, int seconds, std::string *why);

// The last exit as a hypercall exit (valid when exit_reason == KVM_EXIT_HYPERCALL).
HypercallExit hypercall_exit_of(const kvm_run &run);
// The value the guest gets in RAX when the vCPU resumes.
void set_hypercall_return(kvm_run &run, uint64_t ret);

}  // namespace kvmt::x86
