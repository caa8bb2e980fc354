// arm64 VM types. arm64 has no KVM_CAP_VM_TYPES: the KVM_CREATE_VM argument
// holds the IPA size in bits 7:0 (0 = the default 40 bits) and machine-type
// flags above them, and a kernel refuses flags it does not know with EINVAL.
// So a type is offered when KVM_CREATE_VM accepts it; the capability of the
// series is reported alongside, never trusted alone (cap numbers have moved
// between revisions and collide with mainline ones).
//
// - protected: KVM_VM_TYPE_ARM_PROTECTED = 1 << 31, the pKVM ABI of the
//   Android Common Kernel, which mainline adopted (the 2022 upstream posting
//   used 1 << 8). Android advertises it with KVM_CAP_ARM_PROTECTED_VM =
//   0xffbadab1, an out-of-tree number. Creation fails unless the host booted
//   with kvm-arm.mode=protected.
// - realm: KVM_VM_TYPE_ARM_REALM = 1 << 30 and KVM_CAP_ARM_RMI = 249 from
//   "arm64: Support for Arm CCA in KVM" v14 (May 2026). Earlier revisions used
//   type 1 << 8 with KVM_CAP_ARM_RMI 247 (v12) / 248 (v13), and before the
//   RME -> RMI rename KVM_CAP_ARM_RME 240 (v8-v10) or 300 (up to v7).
//
// Both need a launch flow to run guest code. A realm is built through the
// RMM (populate, activate, RECs, in-kernel irqchip only). A protected vCPU
// starts from a reset state where the host sets only PC and X0, and the host
// cannot read guest pages (the Ucall block on the guest stack) until the guest
// shares them with the MEM_SHARE hypercall; this program's guest entry does
// neither. Memory-only tests still run on both.
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>

#include "errors.hh"
#include "kvm_system.hh"
#include "kvm_uapi.hh"
#include "vm_type.hh"
#include "hex.hh"

namespace kvmt {

namespace {

constexpr unsigned long kVmTypeArmProtected = 1UL << 31;
constexpr unsigned long kVmTypeArmRealm = 1UL << 30;
constexpr long kCapArmProtectedVm = 0xffbadab1L;
constexpr long kCapArmRmi = 249;

// 0 when KVM_CREATE_VM accepts the type (the VM is closed again), else errno.
int create_vm_errno(unsigned long type)
{
	static std::map<unsigned long, int> results;
	auto it = results.find(type);
	if (it != results.end())
		return it->second;
	int fd;
	do {
		fd = ioctl(KvmSystem::get().fd(), KVM_CREATE_VM, type);
	} while (fd < 0 && errno == EINTR);
	int err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	results[type] = err;
	return err;
}

}  // namespace

const std::vector<VmTypeInfo> &arch_vm_types()
{
	static const std::vector<VmTypeInfo> types = {
		{"default", 0, false, false},
		{"protected", kVmTypeArmProtected, true, true},
		{"realm", kVmTypeArmRealm, true, true},
	};
	return types;
}

bool vm_type_offered(const VmTypeInfo &type, std::string *why)
{
	if (type.kvm_type == 0)
		return true;
	int err = create_vm_errno(type.kvm_type);
	if (!err)
		return true;
	std::string created =
		"KVM_CREATE_VM(" + hex(type.kvm_type) + ") fails with " + errno_name(err);
	if (type.kvm_type == kVmTypeArmProtected) {
		long cap = KvmSystem::get().check_extension(kCapArmProtectedVm);
		*why = "pKVM protected VMs not offered: " + created +
		       ", KVM_CAP_ARM_PROTECTED_VM=" + std::to_string(cap) +
		       " (needs a kernel with protected VMs booted with kvm-arm.mode=protected)";
	} else if (type.kvm_type == kVmTypeArmRealm) {
		long cap = KvmSystem::get().check_extension(kCapArmRmi);
		*why = "CCA realms not offered: " + created + ", KVM_CAP_ARM_RMI(" +
		       std::to_string(kCapArmRmi) + ")=" + std::to_string(cap) +
		       " (needs the Arm CCA KVM series and an RMM)";
	} else {
		*why = std::string("VM type ") + type.name + " not offered: " + created;
	}
	return false;
}

}  // namespace kvmt
