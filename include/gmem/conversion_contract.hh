// The conversion contract as data: for a VM type, direction, content mode and
// launch phase, what KVM_SET_MEMORY_ATTRIBUTES2 must do, in each revision
// family of the series (../shared/spec/gmem-conversion-uapi.md, sections 3-4).
// A new revision of the series is an edit of lib/gmem/conversion_contract.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "profile.hh"

namespace kvmt {

enum class Direction { ToPrivate, ToShared };
enum class ContentMode { Unspecified, Zero, Preserve, Encrypted, Destroy };
enum class LaunchPhase { BeforeFinalize, AfterFinalize };
enum class Content { Zeroed, Preserved, Unspecified, Scrambled };

constexpr Direction kDirections[] = {Direction::ToPrivate, Direction::ToShared};
constexpr ContentMode kContentModes[] = {ContentMode::Unspecified, ContentMode::Zero,
					 ContentMode::Preserve, ContentMode::Encrypted,
					 ContentMode::Destroy};

struct ContractCell {
	bool offered;     // false: no revision of the UAPI has this mode
	int err;          // 0: the conversion succeeds; else its errno
	Content content;  // what the next reader sees, when err == 0
};

// vm_type is a VmTypeInfo name ("sw_protected", "snp", "protected", ...).
ContractCell contract_cell(const std::string &vm_type, Direction dir, ContentMode mode,
			   LaunchPhase phase, AttributesFamily family);

// The flags value of a mode (0 for modes no UAPI defines).
uint64_t content_mode_flags(ContentMode mode);

const char *direction_name(Direction d);   // "to_private"
const char *mode_name(ContentMode m);      // "zero"
const char *phase_name(LaunchPhase p);     // "before_finalize"
const char *content_name(Content c);       // "preserved"
// "success, contents preserved" / "EOPNOTSUPP" / "not offered"
std::string describe_cell(const ContractCell &c);

}  // namespace kvmt
