// What the running kernel and machine let this program measure, decided
// once at start by behaviour (spec section 2: a VM type with private memory,
// then ENOTTY versus EINVAL to a size-0 KVM_SET_MEMORY_ATTRIBUTES2; content
// modes by a scratch conversion), and the vocabulary of a conversion. Each
// *_missing string is "" when supported, else the skip reason printed for
// every benchmark that needs it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "conversion_contract.hh"
#include "kvm_uapi.hh"
#include "profile.hh"
#include "vm_type.hh"

namespace bench {

// A guest_memfd the host can map, shared at creation: the in-place setup.
constexpr uint64_t kInPlaceFlags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

// Direction and content mode are the contract's (conversion_contract.hh).
using Direction = kvmt::Direction;
using Mode = kvmt::ContentMode;
using kvmt::direction_name;  // "to_private"
using kvmt::mode_name;       // "unspecified"

// Pages of the range before the conversion: none allocated; allocated
// (fallocate) but not in any host page table; allocated and written through
// the host mapping (to-private only: private pages cannot be host-mapped).
enum class Population { Unallocated, Allocated, Mapped };

Direction opposite(Direction d);
uint64_t target_attributes(Direction d);  // KVM_MEMORY_ATTRIBUTE_PRIVATE or 0
// Modes that exist for a direction: ZERO only towards shared (the spec makes
// shared -> private with ZERO EOPNOTSUPP on every VM type).
const std::vector<Mode> &modes_for(Direction d);

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

// MemAvailable from /proc/meminfo, in bytes (0 when unreadable).
uint64_t mem_available();
// "" when `footprint` bytes fit in half of MemAvailable, else why not.
std::string memory_bound_reason(uint64_t footprint);
// The same for one batch of operations of `bytes` each (batch_ops of them).
std::string batch_bound_reason(uint64_t bytes);

}  // namespace bench
