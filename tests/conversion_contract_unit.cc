// The contract table against the spec's own tables, cell by cell
// (../shared/spec/gmem-conversion-uapi.md sections 3 and 4).
#include <cerrno>

#include "conversion_contract.hh"
#include "test.hh"

using namespace kvmt;

namespace {

constexpr auto kTP = Direction::ToPrivate, kTS = Direction::ToShared;
constexpr auto kBefore = LaunchPhase::BeforeFinalize, kAfter = LaunchPhase::AfterFinalize;
constexpr auto kModes = AttributesFamily::ContentModes, kApplied = AttributesFamily::Applied;

// "ok:<content>" or the errno name, for compact expectations.
std::string cell(const char *type, Direction d, ContentMode m, LaunchPhase p, AttributesFamily f)
{
	ContractCell c = contract_cell(type, d, m, p, f);
	if (!c.offered)
		return "not_offered";
	return c.err ? errno_name(c.err) : std::string("ok:") + content_name(c.content);
}

struct Row {
	const char *type;
	const char *to_shared_zero, *to_shared_preserve, *to_private_preserve, *unspecified;
};

// Section 4's table, as printed there (to-private PRESERVE before finalization).
const Row kSpecTable[] = {
	{"sw_protected", "ok:zeroed", "ok:preserved", "ok:preserved", "ok:scrambled"},
	{"snp", "ok:zeroed", "EOPNOTSUPP", "ok:preserved", "ok:unspecified"},
	{"tdx", "ok:zeroed", "EOPNOTSUPP", "ok:preserved", "ok:unspecified"},
	{"default", "EINVAL", "EINVAL", "EINVAL", "EINVAL"},
	{"protected", "ok:zeroed", "ok:preserved", "ok:preserved", "ok:unspecified"},
	{"realm", "EOPNOTSUPP", "EOPNOTSUPP", "EOPNOTSUPP", "ok:unspecified"},
};

}  // namespace

KVMT_TEST(conversion_contract, content_modes_table_of_section_4)
{
	for (const Row &r : kSpecTable) {
		test_log(std::string("row ") + r.type);
		EXPECT_EQ(cell(r.type, kTS, ContentMode::Zero, kBefore, kModes), std::string(r.to_shared_zero));
		EXPECT_EQ(cell(r.type, kTS, ContentMode::Preserve, kBefore, kModes), std::string(r.to_shared_preserve));
		EXPECT_EQ(cell(r.type, kTP, ContentMode::Preserve, kBefore, kModes), std::string(r.to_private_preserve));
		EXPECT_EQ(cell(r.type, kTP, ContentMode::Unspecified, kBefore, kModes), std::string(r.unspecified));
		EXPECT_EQ(cell(r.type, kTS, ContentMode::Unspecified, kBefore, kModes), std::string(r.unspecified));
	}
}

KVMT_TEST(conversion_contract, zero_to_private_always_eopnotsupp)
{
	for (const char *t : {"sw_protected", "snp", "tdx", "protected", "realm"})
		for (LaunchPhase p : {kBefore, kAfter})
			EXPECT_EQ(cell(t, kTP, ContentMode::Zero, p, kModes), std::string("EOPNOTSUPP"));
}

KVMT_TEST(conversion_contract, preserve_to_private_only_before_finalization)
{
	for (const char *t : {"snp", "tdx"}) {
		EXPECT_EQ(cell(t, kTP, ContentMode::Preserve, kBefore, kModes), std::string("ok:preserved"));
		EXPECT_EQ(cell(t, kTP, ContentMode::Preserve, kAfter, kModes), std::string("EOPNOTSUPP"));
	}
	// Types without a launch phase answer the same in both.
	EXPECT_EQ(cell("sw_protected", kTP, ContentMode::Preserve, kAfter, kModes), std::string("ok:preserved"));
}

KVMT_TEST(conversion_contract, applied_family_takes_no_flags)
{
	for (const char *t : {"sw_protected", "snp", "tdx", "default", "protected", "realm"})
		for (Direction d : kDirections)
			for (ContentMode m : {ContentMode::Zero, ContentMode::Preserve})
				EXPECT_EQ(cell(t, d, m, kBefore, kApplied), std::string("EINVAL"));
}

KVMT_TEST(conversion_contract, applied_family_contents)
{
	for (Direction d : kDirections) {
		EXPECT_EQ(cell("sw_protected", d, ContentMode::Unspecified, kBefore, kApplied), std::string("ok:preserved"));
		EXPECT_EQ(cell("snp", d, ContentMode::Unspecified, kBefore, kApplied), std::string("ok:unspecified"));
		EXPECT_EQ(cell("default", d, ContentMode::Unspecified, kBefore, kApplied), std::string("EINVAL"));
		EXPECT_EQ(cell("sev", d, ContentMode::Unspecified, kBefore, kApplied), std::string("EINVAL"));
	}
}

KVMT_TEST(conversion_contract, in_place_off_is_enotty)
{
	for (ContentMode m : {ContentMode::Unspecified, ContentMode::Zero, ContentMode::Preserve})
		EXPECT_EQ(cell("sw_protected", kTS, m, kBefore, AttributesFamily::None), std::string("ENOTTY"));
}

KVMT_TEST(conversion_contract, encrypted_and_destroy_are_kept_as_not_offered)
{
	for (AttributesFamily f : {AttributesFamily::None, kApplied, kModes})
		for (ContentMode m : {ContentMode::Encrypted, ContentMode::Destroy})
			EXPECT_EQ(cell("snp", kTS, m, kBefore, f), std::string("not_offered"));
}

KVMT_TEST(conversion_contract, flag_values)
{
	ASSERT_EQ(content_mode_flags(ContentMode::Unspecified), 0u);
	ASSERT_EQ(content_mode_flags(ContentMode::Zero), 1u);
	ASSERT_EQ(content_mode_flags(ContentMode::Preserve), 2u);
}
