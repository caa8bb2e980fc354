// arm64 EL1 setup: stage-1 tables (4 KiB granule, 48-bit VA) with the MMU
// and caches on from the first instruction, registers set through
// KVM_SET_ONE_REG, ucall by MMIO, and exception vectors that turn a guest
// fault into an exit the host can describe.
#include "processor.hh"

#include <sys/ioctl.h>

#include <stddef.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "errors.hh"
#include "page_table_walk_arm64.hh"
#include "ucall_arch.hh"
#include "vcpu.hh"
#include "vm.hh"

extern "C" const char kvmt_exception_vectors[];

namespace kvmt {

using namespace arm64;

PageTables::PageTables(PageAllocator &alloc) : alloc_(alloc), root_(alloc.alloc_page()) {}

// The memory type follows the physical address: the reserved MMIO page is
// device memory wherever it is mapped, everything else is normal memory.
void PageTables::map(uint64_t gva, uint64_t gpa)
{
	arch::ReservedRange mmio = arch::reserved_gpa_range();
	MemType type = gpa - mmio.base < mmio.size ? MemType::kDevice : MemType::kNormal;
	map_page(alloc_, root_, gva, gpa, type);
}

std::optional<uint64_t> PageTables::translate(uint64_t gva) const
{
	return translate_va(alloc_, root_, gva);
}

namespace arch {

// The argument structs of these ioctls have no flexible array, so C++ sees
// the same sizes as the kernel (unlike x86's kvm_cpuid2); checked here.
static_assert(KVM_ARM_PREFERRED_TARGET == 0x8020aeafUL, "struct kvm_vcpu_init is 32 bytes");
static_assert(KVM_ARM_VCPU_INIT == 0x4020aeaeUL, "struct kvm_vcpu_init is 32 bytes");
static_assert(KVM_GET_ONE_REG == 0x4010aeabUL, "struct kvm_one_reg is 16 bytes");
static_assert(KVM_SET_ONE_REG == 0x4010aeacUL, "struct kvm_one_reg is 16 bytes");

namespace {

constexpr uint64_t core_reg(size_t offset)
{
	return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | (offset / sizeof(uint32_t));
}

constexpr uint64_t x_reg(int n)
{
	return core_reg(offsetof(kvm_regs, regs.regs) + n * sizeof(uint64_t));
}

constexpr uint64_t kRegPc = core_reg(offsetof(kvm_regs, regs.pc));
constexpr uint64_t kRegPstate = core_reg(offsetof(kvm_regs, regs.pstate));
constexpr uint64_t kRegSpEl1 = core_reg(offsetof(kvm_regs, sp_el1));
constexpr uint64_t kRegElrEl1 = core_reg(offsetof(kvm_regs, elr_el1));

constexpr uint64_t kRegSctlrEl1 = ARM64_SYS_REG(3, 0, 1, 0, 0);
constexpr uint64_t kRegCpacrEl1 = ARM64_SYS_REG(3, 0, 1, 0, 2);
constexpr uint64_t kRegTtbr0El1 = ARM64_SYS_REG(3, 0, 2, 0, 0);
constexpr uint64_t kRegTcrEl1 = ARM64_SYS_REG(3, 0, 2, 0, 2);
constexpr uint64_t kRegEsrEl1 = ARM64_SYS_REG(3, 0, 5, 2, 0);
constexpr uint64_t kRegFarEl1 = ARM64_SYS_REG(3, 0, 6, 0, 0);
constexpr uint64_t kRegMairEl1 = ARM64_SYS_REG(3, 0, 10, 2, 0);
constexpr uint64_t kRegVbarEl1 = ARM64_SYS_REG(3, 0, 12, 0, 0);
constexpr uint64_t kRegIdAa64mmfr0El1 = ARM64_SYS_REG(3, 0, 0, 7, 0);

int __get_reg(Vcpu &vcpu, uint64_t id, uint64_t *value)
{
	kvm_one_reg reg = {id, reinterpret_cast<uint64_t>(value)};
	return ioctl(vcpu.fd(), KVM_GET_ONE_REG, &reg) ? errno : 0;
}

uint64_t get_reg(Vcpu &vcpu, uint64_t id, const char *name)
{
	uint64_t value = 0;
	if (int err = __get_reg(vcpu, id, &value))
		throw Error(std::string("KVM_GET_ONE_REG(") + name + "): " + errno_name(err));
	return value;
}

void set_reg(Vcpu &vcpu, uint64_t id, uint64_t value, const char *name)
{
	kvm_one_reg reg = {id, reinterpret_cast<uint64_t>(&value)};
	sys_check(ioctl(vcpu.fd(), KVM_SET_ONE_REG, &reg),
		  std::string("KVM_SET_ONE_REG(") + name + ")");
}

// "pc 0x..." when the register can be read (a protected vCPU's may not).
std::string reg_text(Vcpu &vcpu, uint64_t id, const char *name)
{
	uint64_t value = 0;
	char buf[64];
	if (int err = __get_reg(vcpu, id, &value))
		snprintf(buf, sizeof(buf), "%s unreadable (%s)", name, errno_name(err).c_str());
	else
		snprintf(buf, sizeof(buf), "%s 0x%llx", name, (unsigned long long)value);
	return buf;
}

const char *exception_class_name(unsigned ec)
{
	switch (ec) {
	case 0x00: return "unknown reason (e.g. undefined instruction)";
	case 0x07: return "SVE/SIMD/FP access";
	case 0x15: return "SVC";
	case 0x16: return "HVC";
	case 0x17: return "SMC";
	case 0x18: return "trapped MSR/MRS";
	case 0x21: return "instruction abort at EL1";
	case 0x22: return "PC alignment fault";
	case 0x25: return "data abort at EL1";
	case 0x26: return "SP alignment fault";
	case 0x2f: return "SError";
	case 0x3c: return "BRK";
	default: return "see the Arm ARM, ESR_EL1.EC";
	}
}

std::string describe_guest_exception(Vcpu &vcpu, uint64_t vector)
{
	static const char *const kFrom[] = {"current EL with SP_EL0", "current EL with SP_ELx",
					    "lower EL, AArch64", "lower EL, AArch32"};
	static const char *const kKind[] = {"synchronous", "IRQ", "FIQ", "SError"};
	uint64_t esr = 0;
	bool have_esr = __get_reg(vcpu, kRegEsrEl1, &esr) == 0;
	char buf[256];
	snprintf(buf, sizeof(buf), "guest exception through vector 0x%llx (%s, %s): ",
		 (unsigned long long)vector, kKind[(vector >> 7) & 3], kFrom[(vector >> 9) & 3]);
	std::string s = buf;
	if (have_esr) {
		unsigned ec = static_cast<unsigned>((esr >> 26) & 0x3f);
		snprintf(buf, sizeof(buf), "ESR_EL1 0x%llx (EC 0x%x: %s), ", (unsigned long long)esr,
			 ec, exception_class_name(ec));
		s += buf;
	} else {
		s += reg_text(vcpu, kRegEsrEl1, "ESR_EL1") + ", ";
	}
	return s + reg_text(vcpu, kRegFarEl1, "FAR_EL1") + ", " +
	       reg_text(vcpu, kRegElrEl1, "ELR_EL1");
}

}  // namespace

ReservedRange reserved_gpa_range()
{
	return {kUcallMmioGpa, kUcallMmioSize};
}

void setup_vm(Vm &, PageTables &tables)
{
	tables.map(kUcallMmioGpa, kUcallMmioGpa);
}

void setup_vcpu(Vcpu &vcpu, const PageTables &tables, uint64_t entry, uint64_t stack_top,
		uint64_t arg0, uint64_t arg1, uint64_t arg2)
{
	kvm_vcpu_init init = {};
	sys_check(ioctl(vcpu.vm().fd(), KVM_ARM_PREFERRED_TARGET, &init),
		  "KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	sys_check(ioctl(vcpu.fd(), KVM_ARM_VCPU_INIT, &init), "KVM_ARM_VCPU_INIT");

	uint64_t mmfr0 = 0;
	uint64_t ips = __get_reg(vcpu, kRegIdAa64mmfr0El1, &mmfr0) == 0
			       ? ips_for_parange(mmfr0 & 0xf)
			       : kIps40;
	uint64_t sctlr = sctlr_el1_mmu_on(get_reg(vcpu, kRegSctlrEl1, "SCTLR_EL1"));

	set_reg(vcpu, kRegMairEl1, kMairEl1, "MAIR_EL1");
	set_reg(vcpu, kRegTcrEl1, tcr_el1(ips), "TCR_EL1");
	set_reg(vcpu, kRegTtbr0El1, tables.root(), "TTBR0_EL1");
	set_reg(vcpu, kRegCpacrEl1, kCpacrFpenNoTrap, "CPACR_EL1");
	set_reg(vcpu, kRegVbarEl1, reinterpret_cast<uint64_t>(kvmt_exception_vectors), "VBAR_EL1");
	set_reg(vcpu, kRegSctlrEl1, sctlr, "SCTLR_EL1");

	// stack_top is page-aligned, as AAPCS64 wants SP 16-byte aligned.
	set_reg(vcpu, kRegSpEl1, stack_top, "SP_EL1");
	set_reg(vcpu, kRegPstate, kPstateEl1hMasked, "PSTATE");
	set_reg(vcpu, kRegPc, entry, "PC");
	set_reg(vcpu, x_reg(0), arg0, "X0");
	set_reg(vcpu, x_reg(1), arg1, "X1");
	set_reg(vcpu, x_reg(2), arg2, "X2");
}

std::optional<uint64_t> ucall_exit(Vcpu &vcpu)
{
	const kvm_run &run = vcpu.run_state();
	if (run.exit_reason != KVM_EXIT_MMIO || !run.mmio.is_write ||
	    run.mmio.phys_addr != kUcallMmioGpa || run.mmio.len != sizeof(uint64_t))
		return std::nullopt;
	uint64_t gva;
	memcpy(&gva, run.mmio.data, sizeof(gva));
	return gva;
}

std::string describe_exit(Vcpu &vcpu)
{
	const kvm_run &run = vcpu.run_state();
	std::string pc = reg_text(vcpu, kRegPc, "pc");
	char buf[256];
	switch (run.exit_reason) {
	case KVM_EXIT_MMIO:
		if (run.mmio.is_write && run.mmio.phys_addr == kExceptionDoorbellGpa &&
		    run.mmio.len == sizeof(uint64_t)) {
			uint64_t vector;
			memcpy(&vector, run.mmio.data, sizeof(vector));
			return describe_guest_exception(vcpu, vector);
		}
		snprintf(buf, sizeof(buf), "MMIO %s of %u bytes at gpa 0x%llx, ",
			 run.mmio.is_write ? "write" : "read", run.mmio.len,
			 (unsigned long long)run.mmio.phys_addr);
		return buf + pc;
	case KVM_EXIT_ARM_NISV:
		snprintf(buf, sizeof(buf),
			 "data abort KVM cannot emulate (no valid syndrome): "
			 "ESR ISS 0x%llx, fault IPA 0x%llx, ",
			 (unsigned long long)run.arm_nisv.esr_iss,
			 (unsigned long long)run.arm_nisv.fault_ipa);
		return buf + pc;
	case KVM_EXIT_SYSTEM_EVENT:
		snprintf(buf, sizeof(buf), "system event type %u (1 = shutdown, 2 = reset, 3 = crash), ",
			 run.system_event.type);
		return buf + pc;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf, sizeof(buf), "hardware entry failure reason 0x%llx, ",
			 (unsigned long long)run.fail_entry.hardware_entry_failure_reason);
		return buf + pc;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf, sizeof(buf), "suberror %u, ", run.internal.suberror);
		return buf + pc;
	default:
		return pc;
	}
}

// KVM on arm64 runs guests only with the virtualisation extensions.
std::string guest_code_emulated_reason()
{
	return "";
}

}  // namespace arch
}  // namespace kvmt
