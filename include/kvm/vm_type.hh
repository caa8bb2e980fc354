// The VM types the suite knows, per architecture. Every known type is
// registered as a variant on every machine so that result names never depend
// on the hardware; a type the running kernel does not offer skips.
#pragma once

#include <string>
#include <vector>

namespace kvmt {

struct VmTypeInfo {
	const char *name;        // stable result-name component: "sw_protected"
	unsigned long kvm_type;  // the KVM_CREATE_VM argument
	bool private_memory;     // the type has private (guest-only) memory
	bool needs_launch_flow;  // running a guest needs a CoCo launch sequence
};

// All types known for the architecture built for, in a fixed order.
const std::vector<VmTypeInfo> &arch_vm_types();
const VmTypeInfo &vm_type_by_name(const std::string &name);
const VmTypeInfo &default_vm_type();

// Whether the running kernel offers the type; when not, *why says what is missing.
bool vm_type_offered(const VmTypeInfo &type, std::string *why);

// A variant per known VM type: the common parameterisation of the suite.
struct VmTypeVariant {
	std::string name;
	const VmTypeInfo *type;
};
std::vector<VmTypeVariant> vm_type_variants();

}  // namespace kvmt
