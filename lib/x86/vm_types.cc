// x86 VM types: bit N of KVM_CAP_VM_TYPES offers type N. SEV and SEV-ES
// encrypt memory but have no guest_memfd private memory (no shared/private
// attributes); SW_PROTECTED, SNP and TDX do.
#include "kvm_system.hh"
#include "kvm_uapi.hh"
#include "vm_type.hh"

namespace kvmt {

const std::vector<VmTypeInfo> &arch_vm_types()
{
	static const std::vector<VmTypeInfo> types = {
		{"default", 0, false, false},
		{"sw_protected", 1, true, false},
		{"sev", 2, false, true},
		{"sev_es", 3, false, true},
		{"snp", 4, true, true},
		{"tdx", 5, true, true},
	};
	return types;
}

bool vm_type_offered(const VmTypeInfo &type, std::string *why)
{
	long mask = KvmSystem::get().check_extension(KVM_CAP_VM_TYPES);
	if (type.kvm_type == 0 || (mask & (1L << type.kvm_type)))
		return true;
	*why = std::string("VM type ") + type.name + " (" + std::to_string(type.kvm_type) +
	       ") not offered: KVM_CAP_VM_TYPES=0x" + [mask] {
		       char buf[32];
		       snprintf(buf, sizeof(buf), "%lx", mask);
		       return std::string(buf);
	       }();
	return false;
}

}  // namespace kvmt
