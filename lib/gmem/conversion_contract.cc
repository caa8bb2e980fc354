#include "conversion_contract.hh"

#include <cerrno>

#include "errors.hh"
#include "kvm_uapi.hh"

namespace kvmt {
namespace {

constexpr ContractCell kOk(Content c) { return {true, 0, c}; }
constexpr ContractCell kFail(int err) { return {true, err, Content::Unspecified}; }
constexpr ContractCell kNotOffered = {false, EINVAL, Content::Unspecified};

bool has_private_memory(const std::string &t)
{
	return t == "sw_protected" || t == "snp" || t == "tdx" || t == "protected" || t == "realm";
}

// Section 4's table (RFC v3..v5). ZERO to private is refused for every type.
ContractCell content_modes_cell(const std::string &t, Direction dir, ContentMode mode,
				LaunchPhase phase)
{
	bool to_shared = dir == Direction::ToShared;
	if (mode == ContentMode::Zero && !to_shared)
		return kFail(EOPNOTSUPP);
	if (mode == ContentMode::Unspecified)
		return kOk(t == "sw_protected" ? Content::Scrambled : Content::Unspecified);
	if (t == "sw_protected" || t == "protected")
		return kOk(mode == ContentMode::Zero ? Content::Zeroed : Content::Preserved);
	if (t == "snp" || t == "tdx") {
		if (mode == ContentMode::Zero)
			return kOk(Content::Zeroed);
		if (to_shared || phase == LaunchPhase::AfterFinalize)
			return kFail(EOPNOTSUPP);
		return kOk(Content::Preserved);
	}
	return kFail(EOPNOTSUPP);  // realm: the key change scrubs, images are copied in
}

}  // namespace

ContractCell contract_cell(const std::string &vm_type, Direction dir, ContentMode mode,
			   LaunchPhase phase, AttributesFamily family)
{
	if (mode == ContentMode::Encrypted || mode == ContentMode::Destroy)
		return kNotOffered;
	if (family == AttributesFamily::None)
		return kFail(ENOTTY);
	// Validation order: flags are checked before the VM type.
	if (family == AttributesFamily::Applied && mode != ContentMode::Unspecified)
		return kFail(EINVAL);
	if (!has_private_memory(vm_type))
		return kFail(EINVAL);
	if (family == AttributesFamily::Applied)
		// KVM writes no contents; SW_PROTECTED keeps them in both directions.
		return kOk(vm_type == "sw_protected" ? Content::Preserved : Content::Unspecified);
	return content_modes_cell(vm_type, dir, mode, phase);
}

uint64_t content_mode_flags(ContentMode mode)
{
	switch (mode) {
	case ContentMode::Zero:
		return kContentZero;
	case ContentMode::Preserve:
		return kContentPreserve;
	default:
		return 0;
	}
}

const char *direction_name(Direction d)
{
	return d == Direction::ToPrivate ? "to_private" : "to_shared";
}

const char *mode_name(ContentMode m)
{
	switch (m) {
	case ContentMode::Unspecified:
		return "unspecified";
	case ContentMode::Zero:
		return "zero";
	case ContentMode::Preserve:
		return "preserve";
	case ContentMode::Encrypted:
		return "encrypted";
	case ContentMode::Destroy:
		return "destroy";
	}
	return "?";
}

const char *phase_name(LaunchPhase p)
{
	return p == LaunchPhase::BeforeFinalize ? "before_finalize" : "after_finalize";
}

const char *content_name(Content c)
{
	switch (c) {
	case Content::Zeroed:
		return "zeroed";
	case Content::Preserved:
		return "preserved";
	case Content::Unspecified:
		return "unspecified";
	case Content::Scrambled:
		return "scrambled";
	}
	return "?";
}

std::string describe_cell(const ContractCell &c)
{
	if (!c.offered)
		return "not offered by any revision";
	if (c.err)
		return errno_name(c.err);
	return std::string("success, contents ") + content_name(c.content);
}

}  // namespace kvmt
