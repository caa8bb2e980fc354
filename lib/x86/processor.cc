// x86-64 long mode: 4-level page tables, flat 64-bit segments, CPUID from
// KVM_GET_SUPPORTED_CPUID (KVM refuses EFER.LME without the LM bit).
#include "processor.hh"

#include <sys/ioctl.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "errors.hh"
#include "cpuinfo_x86.hh"
#include "kvm_system.hh"
#include "page_table_x86.hh"
#include "ucall_arch.hh"
#include "vcpu.hh"

namespace kvmt {

using namespace x86;

PageTables::PageTables(PageAllocator &alloc) : alloc_(alloc), root_(alloc.alloc_page()) {}

void PageTables::map(uint64_t gva, uint64_t gpa)
{
	uint64_t table = root_;
	for (int level = kLevels - 1; level > 0; level--) {
		uint64_t *entries = static_cast<uint64_t *>(alloc_.page_hva(table));
		uint64_t &e = entries[pt_index(gva, level)];
		if (!(e & kPtePresent))
			e = make_pte(alloc_.alloc_page());
		table = pte_address(e);
	}
	uint64_t *leaf = static_cast<uint64_t *>(alloc_.page_hva(table));
	leaf[pt_index(gva, 0)] = make_pte(gpa);
}

std::optional<uint64_t> PageTables::translate(uint64_t gva) const
{
	uint64_t table = root_;
	for (int level = kLevels - 1; level >= 0; level--) {
		const uint64_t *entries = static_cast<const uint64_t *>(alloc_.page_hva(table));
		uint64_t e = entries[pt_index(gva, level)];
		if (!(e & kPtePresent))
			return std::nullopt;
		table = pte_address(e);
	}
	return table | (gva & (kGuestPageSize - 1));
}

namespace arch {

ReservedRange reserved_gpa_range()
{
	return {0, 0};
}

void setup_vm(Vm &, PageTables &) {}

// In C++ the 6.1 header's struct kvm_cpuid2 (with its entries[0]) is 12 bytes,
// which changes the ioctl numbers derived from it; the kernel's struct is 8.
struct cpuid2_header {
	uint32_t nent;
	uint32_t padding;
};
constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, cpuid2_header);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, cpuid2_header);

static void set_cpuid(Vcpu &vcpu)
{
	constexpr int kMaxEntries = 256;
	size_t bytes = sizeof(kvm_cpuid2) + kMaxEntries * sizeof(kvm_cpuid_entry2);
	std::unique_ptr<uint8_t[]> buf(new uint8_t[bytes]());
	auto *cpuid = reinterpret_cast<kvm_cpuid2 *>(buf.get());
	cpuid->nent = kMaxEntries;
	sys_check(ioctl(KvmSystem::get().fd(), kGetSupportedCpuid, cpuid),
		  "KVM_GET_SUPPORTED_CPUID");
	sys_check(ioctl(vcpu.fd(), kSetCpuid2, cpuid), "KVM_SET_CPUID2");
}

static kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code)
{
	kvm_segment s = {};
	s.base = 0;
	s.limit = 0xffffffff;
	s.selector = selector;
	s.type = type;
	s.present = 1;
	s.dpl = 0;
	s.s = 1;
	s.l = code ? 1 : 0;
	s.db = code ? 0 : 1;
	s.g = 1;
	return s;
}

void setup_vcpu(Vcpu &vcpu, const PageTables &tables, uint64_t entry, uint64_t stack_top,
		uint64_t arg0, uint64_t arg1, uint64_t arg2)
{
	set_cpuid(vcpu);

	kvm_sregs sregs;
	sys_check(ioctl(vcpu.fd(), KVM_GET_SREGS, &sregs), "KVM_GET_SREGS");
	sregs.cr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Am | kCr0Pg;
	sregs.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
	sregs.efer = kEferLme | kEferLma;
	sregs.cr3 = tables.root();
	sregs.cs = flat_segment(0x8, 11, true);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(0x10, 3, false);
	sregs.tr = flat_segment(0x18, 11, false);
	sregs.tr.s = 0;
	sregs.tr.limit = 0x67;
	sregs.tr.g = 0;
	sregs.tr.db = 0;
	sys_check(ioctl(vcpu.fd(), KVM_SET_SREGS, &sregs), "KVM_SET_SREGS");

	kvm_regs regs = {};
	regs.rflags = 0x2;
	regs.rip = entry;
	// At a function's first instruction, rsp + 8 is 16-byte aligned.
	regs.rsp = stack_top - 8;
	regs.rdi = arg0;
	regs.rsi = arg1;
	regs.rdx = arg2;
	sys_check(ioctl(vcpu.fd(), KVM_SET_REGS, &regs), "KVM_SET_REGS");
}

std::optional<uint64_t> ucall_exit(Vcpu &vcpu)
{
	const kvm_run &run = vcpu.run_state();
	if (run.exit_reason != KVM_EXIT_IO || run.io.port != kUcallPort)
		return std::nullopt;
	kvm_regs regs;
	sys_check(ioctl(vcpu.fd(), KVM_GET_REGS, &regs), "KVM_GET_REGS");
	return regs.rdi;
}

std::string describe_exit(Vcpu &vcpu)
{
	const kvm_run &run = vcpu.run_state();
	kvm_regs regs = {};
	ioctl(vcpu.fd(), KVM_GET_REGS, &regs);
	char buf[256];
	switch (run.exit_reason) {
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf, sizeof(buf), "suberror %u (1 = emulation failure), rip 0x%llx",
			 run.internal.suberror, (unsigned long long)regs.rip);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf, sizeof(buf), "hardware entry failure reason 0x%llx, rip 0x%llx",
			 (unsigned long long)run.fail_entry.hardware_entry_failure_reason,
			 (unsigned long long)regs.rip);
		break;
	case KVM_EXIT_IO:
		snprintf(buf, sizeof(buf), "port 0x%x, rip 0x%llx", run.io.port,
			 (unsigned long long)regs.rip);
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf, sizeof(buf), "gpa 0x%llx, rip 0x%llx",
			 (unsigned long long)run.mmio.phys_addr, (unsigned long long)regs.rip);
		break;
	default:
		snprintf(buf, sizeof(buf), "rip 0x%llx", (unsigned long long)regs.rip);
	}
	return buf;
}

// A host KVM without VMX/SVM virtualises in software: it runs CPL0 guest
// code in its instruction emulator (../shared/spec/host-kernel.md). Without
// a readable /proc/cpuinfo nothing says so, and the code counts as native.
std::string guest_code_emulated_reason()
{
	std::ifstream in("/proc/cpuinfo");
	if (!in.is_open())
		return "";
	std::ostringstream text;
	text << in.rdbuf();
	return cpuinfo_has_vmx_or_svm(text.str()) ? "" : "no VMX/SVM in /proc/cpuinfo's flags";
}

}  // namespace arch
}  // namespace kvmt
