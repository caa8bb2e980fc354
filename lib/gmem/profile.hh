// What the running kernel offers, detected by behaviour (spec section 2) and
// printed once per program as "# profile: ..." so a lab log says what was tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "vm_type.hh"

namespace kvmt {

enum class AttributesFamily {
	None,          // no per-gmem attributes (ENOTTY, or no VM type with private memory)
	Applied,       // v6+: per-gmem attributes, flags must be 0
	ContentModes,  // RFC v3..v5: flags carry ZERO / PRESERVE
};
const char *family_name(AttributesFamily f);

// KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES of a family: the headers' number for
// the applied revision, RFC v3-v5's 249 for the content-mode family.
constexpr long kRfcGmemAttributesCap = 249;
long gmem_attributes_cap(AttributesFamily f);

// Whether per-gmem attributes ("in-place mode") are on: decided by the
// system-fd cap and the module parameter, cross-checked by behaviour on a
// DEFAULT VM's guest_memfd (spec section 2). Detected once per process.
struct InPlaceMode {
	long system_cap;                   // KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES on /dev/kvm
	std::string parameter;             // "gmem_in_place_conversion=Y", "" when absent
	std::optional<bool> parameter_on;
	std::string behaviour;             // "default: size 0 -> EINVAL"
	std::optional<bool> behaviour_on;  // nullopt: no guest_memfd to ask
	bool on;
	std::string contradiction;         // what disagrees; empty when all agree
};
const InPlaceMode &in_place_mode();
// "on [cap 250 = 0x8, gmem_in_place_conversion=Y, default: size 0 -> EINVAL]"
std::string describe_in_place_mode(const InPlaceMode &m);

struct Profile {
	std::string kernel_release;
	long vm_types_mask;             // KVM_CAP_VM_TYPES (0 on arm64)
	uint64_t default_gmem_flags;    // KVM_CAP_GUEST_MEMFD_FLAGS on a default VM
	InPlaceMode in_place;
	AttributesFamily family;
	std::string family_evidence;    // which VM type and answer decided it
};

// Rules 2 and 3 of the spec's section 2 on a scratch guest_memfd of a VM of
// this type (which must have private memory); *evidence says what answered.
AttributesFamily probe_attributes_family(const VmTypeInfo &type, std::string *evidence);

// The running kernel's family: None when the in-place mode is off, else
// rule 3 on the first offered VM type with private memory (the mode is
// module-wide); Applied when no such type can tell. Detected once per process.
AttributesFamily kernel_attributes_family(std::string *evidence);

// Needs /dev/kvm; a VM type that cannot be probed counts as offering nothing.
Profile detect_profile();
std::string describe_profile(const Profile &p);

// Program preamble of every KVM test program: prints the profile, or, when
// /dev/kvm is unusable, ends the program with a skip line (exit 4), or with
// Bail out! (exit 1) when GMEM_EXPECT or strict mode says it must be usable.
void kvm_program_preamble();

}  // namespace kvmt

#define KVMT_KVM_PROGRAM()                                            \
	[[maybe_unused]] static const bool kvmt_preamble_registered = \
		kvmt::register_preamble(kvmt::kvm_program_preamble)
