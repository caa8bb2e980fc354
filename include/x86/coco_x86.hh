// Pieces the x86 private-memory tests share: which attribute mode the VM
// offers (decided by behaviour, spec section 2), and the vCPU model KVM
// supports (KVM_GET_SUPPORTED_CPUID), which the CoCo launch flows need.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kvmt {
class Vm;
class Vcpu;
}

namespace kvmt::x86 {

// Skips unless the VM has the per-VM PRIVATE attribute (KVM_SET_MEMORY_ATTRIBUTES,
// reported by KVM_CAP_MEMORY_ATTRIBUTES on the VM fd).
void require_per_vm_private(const Vm &vm);

// Skips unless KVM_SET_MEMORY_ATTRIBUTES2 works on a guest_memfd of this VM:
// ENOTTY means per-gmem attributes are off. A VM type without private memory
// must answer EINVAL (anything else fails the test), then skips.
void require_per_gmem_attributes(const Vm &vm);

// How a launch test's memory becomes private: in place (per-gmem attributes
// on an MMAP|INIT_SHARED guest_memfd) or legacy (per-VM attributes, a
// private-only guest_memfd and separate shared memory).
struct AttributeModeVariant {
	std::string name;
	bool in_place;
};
std::vector<AttributeModeVariant> attribute_mode_variants();
// Skips unless the VM offers the mode; returns the guest_memfd flags it takes.
uint64_t require_attribute_mode(const Vm &vm, bool in_place);

// The flags of an in-place conversion that keeps contents: PRESERVE on the
// content-mode revisions (RFC v3-v5), 0 on the applied one (KVM does not
// write page contents during conversion).
uint64_t keep_contents_flags();

// KVM_GET_SUPPORTED_CPUID.
std::vector<kvm_cpuid_entry2> supported_cpuid();
// The entry for (function, index), or nullptr.
const kvm_cpuid_entry2 *find_cpuid(const std::vector<kvm_cpuid_entry2> &entries,
				   uint32_t function, uint32_t index = 0);
// KVM_SET_CPUID2.
void set_vcpu_cpuid(const Vcpu &vcpu, const std::vector<kvm_cpuid_entry2> &entries);

}  // namespace kvmt::x86
