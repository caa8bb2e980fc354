// Host side of guest hypercalls: which instruction the guest must use, and
// the KVM_EXIT_HYPERCALL fields.
#include <cpuid.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errors.hh"
#include "hypercall_x86.hh"
#include "kvm_uapi.hh"
#include "test_vm.hh"
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

void set_guest_hypercall_insn(TestVm &tvm)
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

std::string hex_bytes(const uint8_t *p, int n)
{
	std::string s;
	for (int i = 0; i < n; i++) {
		char buf[4];
		snprintf(buf, sizeof(buf), "%s%02x", i ? " " : "", p[i]);
		s += buf;
	}
	return s;
}

const char *insn_name(const uint8_t *p)
{
	if (p[0] == 0x0f && p[1] == 0x01 && p[2] == 0xc1)
		return "VMCALL";
	if (p[0] == 0x0f && p[1] == 0x01 && p[2] == 0xd9)
		return "VMMCALL";
	return "not a hypercall";
}

}  // namespace

bool guest_hypercalls_reach_kvm(const VmTypeInfo &type, std::string *why)
{
	TestVm tvm(type);
	set_guest_hypercall_insn(tvm);
	int err = tvm.vm().__enable_cap(KVM_CAP_EXIT_HYPERCALL, 1ULL << KVM_HC_MAP_GPA_RANGE);
	if (err)
		throw Error("KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL): " + errno_name(err));
	Vcpu &vcpu = tvm.add_vcpu(guest_hypercall_probe, kTestGpaBase);
	int r, e;
	{
		RunWatchdog watchdog(kProbeSeconds);
		r = ioctl(vcpu.fd(), KVM_RUN, 0);
		e = errno;
	}
	if (r == 0 && vcpu.run_state().exit_reason == KVM_EXIT_HYPERCALL)
		return true;
	kvm_regs regs = {};
	ioctl(vcpu.fd(), KVM_GET_REGS, &regs);
	if (r < 0 && e == EINTR) {
		const uint8_t *insn = static_cast<const uint8_t *>(tvm.gva_to_hva(regs.rip));
		if (insn) {
			*why = std::string("a guest hypercall never reaches KVM here: after ") +
			       std::to_string(kProbeSeconds) + " s the vCPU is still at its hypercall (issued as " +
			       (host_uses_vmmcall() ? "VMMCALL" : "VMCALL") + ", now " + hex_bytes(insn, 3) + " = " +
			       insn_name(insn) +
			       "): the instruction emulator rewrites the hypercall and re-executes it instead of "
			       "handling it";
			return false;
		}
	}
	throw Error("hypercall probe: KVM_RUN " + (r ? errno_name(e) : std::string("0")) + " with " +
		    vcpu.exit_reason_name() + " instead of KVM_EXIT_HYPERCALL");
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
