// Host side of guest hypercalls: which instruction the guest must use, and
// the KVM_EXIT_HYPERCALL fields.
#include <cpuid.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "errors.hh"
#include "guest_image.hh"
#include "guest_vm.hh"
#include "hypercall_x86.hh"
#include "kvm_uapi.hh"
#include "vcpu.hh"
#include "vm.hh"

namespace kvmt::x86 {

const char *host_cpu_vendor()
{
	static char vendor[13];
	if (!vendor[0]) {
		unsigned int eax, ebx, ecx, edx;
		__cpuid(0, eax, ebx, ecx, edx);
		memcpy(vendor, &ebx, 4);
		memcpy(vendor + 4, &edx, 4);
		memcpy(vendor + 8, &ecx, 4);
	}
	return vendor;
}

bool host_uses_vmmcall()
{
	const char *v = host_cpu_vendor();
	return !strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine");
}

void set_guest_hypercall_insn(GuestVm &tvm)
{
	tvm.guest_global(guest_hypercall_vmmcall) = host_uses_vmmcall() ? 1 : 0;
}

namespace {

constexpr int kProbeSeconds = 2;
constexpr int kWatchdogSignal = SIGUSR2;

void watchdog_handler(int) {}

// Sends kWatchdogSignal to this thread after `seconds`, so that a KVM_RUN
// that never returns by itself ends with EINTR.
class RunWatchdog {
public:
	explicit RunWatchdog(int seconds)
	{
		struct sigaction sa = {};
		sa.sa_handler = watchdog_handler;  // no SA_RESTART: KVM_RUN returns EINTR
		sigaction(kWatchdogSignal, &sa, &old_);
		sigevent sev = {};
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = kWatchdogSignal;
#ifdef sigev_notify_thread_id
		sev.sigev_notify_thread_id = gettid();
#else
		sev._sigev_un._tid = gettid();
#endif
		if (timer_create(CLOCK_MONOTONIC, &sev, &timer_))
			throw Error("timer_create: " + errno_name(errno));
		itimerspec its = {};
		its.it_value.tv_sec = seconds;
		timer_settime(timer_, 0, &its, nullptr);
	}
	~RunWatchdog()
	{
		timer_delete(timer_);
		sigaction(kWatchdogSignal, &old_, nullptr);
	}

private:
	timer_t timer_;
	struct sigaction old_;
};

constexpr uint8_t kVmcall[3] = {0x0f, 0x01, 0xc1};
constexpr uint8_t kVmmcall[3] = {0x0f, 0x01, 0xd9};
constexpr size_t kHypercallLen = sizeof(kVmcall);

const char *insn_name(const std::vector<uint8_t> &b, const char *missing)
{
	if (b.size() < kHypercallLen)
		return missing;
	if (!memcmp(b.data(), kVmcall, kHypercallLen))
		return "VMCALL";
	if (!memcmp(b.data(), kVmmcall, kHypercallLen))
		return "VMMCALL";
	return "not a hypercall";
}

bool is_hypercall(const std::vector<uint8_t> &b)
{
	return b.size() >= kHypercallLen &&
	       (!memcmp(b.data(), kVmcall, kHypercallLen) || !memcmp(b.data(), kVmmcall, kHypercallLen));
}

// The guest's bytes at gva, each byte translated on its own (an instruction
// may cross a page): fewer than n when the rest is not mapped.
std::vector<uint8_t> guest_bytes(GuestVm &tvm, uint64_t gva, size_t n)
{
	std::vector<uint8_t> b;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = static_cast<const uint8_t *>(tvm.gva_to_hva(gva + i));
		if (!p)
			break;
		b.push_back(*p);
	}
	return b;
}

// The same bytes as this program has them: the guest runs a copy of the
// program's segments at the same addresses, so these are the instruction
// the guest code was built with (empty outside the program).
std::vector<uint8_t> program_bytes(uint64_t gva, size_t n)
{
	const auto *p = reinterpret_cast<const uint8_t *>(gva);
	if (!in_program_image(p, n))
		return {};
	return std::vector<uint8_t>(p, p + n);
}

std::string hex_bytes(const std::vector<uint8_t> &b)
{
	std::string s;
	for (size_t i = 0; i < b.size(); i++) {
		char buf[4];
		snprintf(buf, sizeof(buf), "%s%02x", i ? " " : "", b[i]);
		s += buf;
	}
	return s.empty() ? "none" : s;
}

}  // namespace

bool run_to_hypercall_exit(GuestVm &tvm, Vcpu &vcpu, int seconds, std::string *why)
{
	int r, e;
	{
		RunWatchdog watchdog(seconds);
		r = ioctl(vcpu.fd(), KVM_RUN, 0);
		e = errno;
	}
	if (r == 0 && vcpu.run_state().exit_reason == KVM_EXIT_HYPERCALL)
		return true;
	kvm_regs regs = {};
	sys_check(ioctl(vcpu.fd(), KVM_GET_REGS, &regs), "KVM_GET_REGS after the hypercall probe");
	std::vector<uint8_t> now = guest_bytes(tvm, regs.rip, kHypercallLen);
	std::vector<uint8_t> built = program_bytes(regs.rip, kHypercallLen);
	char rip[32];
	snprintf(rip, sizeof(rip), "RIP 0x%llx", (unsigned long long)regs.rip);
	const char *now_name = insn_name(now, "not mapped in the guest");
	const char *built_name = insn_name(built, "outside the program");
	std::string at = std::string(rip) + " (guest bytes " + hex_bytes(now) + " = " + now_name +
			 "; built as " + hex_bytes(built) + " = " + built_name + ")";
	if (r < 0 && e == EINTR) {
		// Skip only for the stall this probe knows: the vCPU is still at
		// the hypercall instruction of the guest code (the emulator may have
		// rewritten it to the other vendor's one), re-executing it.
		if (is_hypercall(built) && is_hypercall(now)) {
			*why = std::string("a guest hypercall never reaches KVM here: after ") +
			       std::to_string(seconds) + " s the vCPU is still at its hypercall (issued as " +
			       built_name + ", now " + hex_bytes(now) + " = " + now_name +
			       "): the instruction emulator rewrites the hypercall and re-executes it instead of "
			       "handling it";
			return false;
		}
		throw Error("hypercall probe: KVM_RUN still in the guest after " + std::to_string(seconds) +
			    " s, and the vCPU is not at its hypercall instruction: " + at);
	}
	throw Error("hypercall probe: KVM_RUN " + (r ? errno_name(e) : std::string("0")) + " with " +
		    vcpu.exit_reason_name() + " instead of KVM_EXIT_HYPERCALL at " + at);
}

bool guest_hypercalls_reach_kvm(const VmTypeInfo &type, std::string *why)
{
	GuestVm tvm(type);
	set_guest_hypercall_insn(tvm);
	int err = tvm.vm().__enable_cap(KVM_CAP_EXIT_HYPERCALL, 1ULL << KVM_HC_MAP_GPA_RANGE);
	if (err)
		throw Error("KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL): " + errno_name(err));
	Vcpu &vcpu = tvm.add_vcpu(guest_hypercall_probe, kTestGpaBase);
	return run_to_hypercall_exit(tvm, vcpu, kProbeSeconds, why);
}

HypercallExit hypercall_exit_of(const kvm_run &run)
{
	static_assert(sizeof(run.hypercall) == sizeof(HypercallExit), "run->hypercall is 72 bytes");
	HypercallExit e;
	memcpy(&e, &run.hypercall, sizeof(e));
	return e;
}

void set_hypercall_return(kvm_run &run, uint64_t ret)
{
	run.hypercall.ret = ret;
}

}  // namespace kvmt::x86
