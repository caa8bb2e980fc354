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

// The revision families of the series that a kernel's answers can identify
// (spec section 2, rule 5): each numbered KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES
// its own way, and the number of one family means something else in another.
enum class Series {
	None,     // per-gmem attributes off: which revision (if any) is not told
	Rfc,      // RFC v3-v5: content modes in flags, cap 249
	V6V7,     // v6, v7: flags must be 0, cap 249
	V8toV12,  // v8..v12: cap 250
	V13,      // v13, the applied revision: cap 252
	Unknown,  // per-gmem attributes on, but no known cap reports PRIVATE
};
const char *series_name(Series s);
// The family's KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES; the headers' number
// (or the project's default) when the family is not known.
long gmem_attributes_cap(Series s);

// Whether per-gmem attributes ("in-place mode") are on: decided by the
// kernel's answer to a size-0 request on a guest_memfd (rule 2); the module
// parameter (where it exists) and the caps that can be read for what they
// are (rule 5) are witnesses, and one that disagrees is a contradiction.
// Detected once per process.
struct InPlaceMode {
	long cap249, cap250, cap252;       // on /dev/kvm
	long headers_cap;                  // the headers' number's answer, -1 without headers
	std::string parameter;             // "gmem_in_place_conversion=Y", "" when absent
	std::optional<bool> parameter_on;
	std::string behaviour;             // "default: size 0 -> EINVAL"
	std::optional<bool> behaviour_on;  // nullopt: no guest_memfd to ask
	bool on;
	std::string contradiction;         // what disagrees; empty when all agree
};
const InPlaceMode &in_place_mode();
// "on [caps 249=0x0 250=0x0 252=0x8, no module parameter, default: size 0 -> EINVAL]"
std::string describe_in_place_mode(const InPlaceMode &m);
// Rule 5 on m's readings (caps, parameter, behaviour): sets m->on and
// m->contradiction. headers_cap_number: the headers' number of the cap, -1
// when the build took the project's default.
void decide_in_place_mode(InPlaceMode *m, long headers_cap_number);
// With the mode on and no content modes: the family whose cap reports
// PRIVATE (the headers' number first), Unknown when none does.
Series series_by_cap(const InPlaceMode &m, long headers_cap_number, std::string *evidence);
// Whether the VM-level KVM_SET_MEMORY_ATTRIBUTES is built beside per-gmem
// attributes: only with a module parameter (v13 without
// CONFIG_KVM_VM_MEMORY_ATTRIBUTES has neither). nullopt when the mode is off.
std::optional<bool> vm_level_attributes_built(const InPlaceMode &m);

struct Profile {
	std::string kernel_release;
	long vm_types_mask;             // KVM_CAP_VM_TYPES (0 on arm64)
	uint64_t default_gmem_flags;    // KVM_CAP_GUEST_MEMFD_FLAGS on a default VM
	InPlaceMode in_place;
	AttributesFamily family;
	std::string family_evidence;    // which VM type and answer decided it
	Series series;
	std::string series_evidence;    // which answers identified it
};

// Rules 2 and 3 of the spec's section 2 on a scratch guest_memfd of a VM of
// this type (which must have private memory); *evidence says what answered.
AttributesFamily probe_attributes_family(const VmTypeInfo &type, std::string *evidence);

// The running kernel's family: None when the in-place mode is off, else
// rule 3 on the first offered VM type with private memory (the mode is
// module-wide); Applied when no such type can tell. Detected once per process.
AttributesFamily kernel_attributes_family(std::string *evidence);
// The running kernel's revision family, from the mode, the family and the
// caps (rule 5). Detected once per process.
Series kernel_series(std::string *evidence);

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
