// What the running kernel lets this program measure, decided once at start
// by behaviour (spec section 2: a VM type with private memory, then ENOTTY
// versus EINVAL to a size-0 KVM_SET_MEMORY_ATTRIBUTES2; content modes by a
// scratch conversion). Each *_missing string is "" when supported, else the
// skip reason printed for every benchmark that needs it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "conversion.hh"
#include "profile.hh"
#include "vm_type.hh"

namespace bench {

struct Support {
	std::string kvm_missing;      // /dev/kvm
	kvmt::Profile profile;        // the library's profile, printed and put in the JSON
	std::string profile_missing;  // why detect_profile() failed
	std::string inplace_missing;  // DEFAULT VM guest_memfd with MMAP|INIT_SHARED
	// The first offered type with private memory and guest_memfd.
	const kvmt::VmTypeInfo *private_type = nullptr;
	uint64_t private_gmem_flags = 0;  // KVM_CAP_GUEST_MEMFD_FLAGS of private_type
	std::string attributes_missing;   // per-gmem KVM_SET_MEMORY_ATTRIBUTES2
	std::string per_vm_missing;       // per-VM KVM_SET_MEMORY_ATTRIBUTES with PRIVATE
	std::map<std::string, std::string> mode_missing;  // "to_shared/zero" -> reason

	// Why a per-gmem conversion in this direction and mode cannot run ("" if it can).
	std::string conversion_missing(Direction d, Mode m) const;
	// Why a conversion benchmark that needs a host mapping cannot run.
	std::string mapping_missing() const;
	// One line for the log and the JSON context.
	std::string describe() const;
};

const Support &support();
// The type conversions run on; skips (with per_vm_missing's reason) when none.
const kvmt::VmTypeInfo &private_vm_type();

}  // namespace bench
