// What the running kernel offers, detected by behaviour (spec section 2) and
// printed once per program as "# profile: ..." so a lab log says what was tested.
#pragma once

#include <cstdint>
#include <string>

#include "vm_type.hh"

namespace kvmt {

enum class AttributesFamily {
	None,          // no per-gmem attributes (ENOTTY, or no VM type with private memory)
	Applied,       // v6+: per-gmem attributes, flags must be 0
	ContentModes,  // RFC v3..v5: flags carry ZERO / PRESERVE
};
const char *family_name(AttributesFamily f);

struct Profile {
	std::string kernel_release;
	long vm_types_mask;             // KVM_CAP_VM_TYPES (0 on arm64)
	uint64_t default_gmem_flags;    // KVM_CAP_GUEST_MEMFD_FLAGS on a default VM
	AttributesFamily family;
	std::string family_evidence;    // which VM type and answer decided it
	std::string module_parameters;  // vm_memory_attributes / gmem_in_place_conversion
};

// Rules 2 and 3 of the spec's section 2 on a scratch guest_memfd of a VM of
// this type (which must have private memory); *evidence says what answered.
AttributesFamily probe_attributes_family(const VmTypeInfo &type, std::string *evidence);

// The running kernel's family, probed on the first offered VM type with
// private memory (the mode is module-wide); None when there is none.
AttributesFamily kernel_attributes_family(std::string *evidence);

// Needs /dev/kvm; a VM type that cannot be probed counts as offering nothing.
Profile detect_profile();
std::string describe_profile(const Profile &p);

// Program preamble of every KVM test program: prints the profile, or ends
// the program with a single skip line when /dev/kvm is unusable.
void kvm_program_preamble();

}  // namespace kvmt

#define KVMT_KVM_PROGRAM()                                            \
	[[maybe_unused]] static const bool kvmt_preamble_registered = \
		kvmt::register_preamble(kvmt::kvm_program_preamble)
