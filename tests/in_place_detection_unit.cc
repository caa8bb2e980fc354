// Rule 5 of the spec's section 2 on the answers of each family's kernels
// (../shared/spec/gmem-conversion-uapi.md; the reference kernels' READMEs
// measured them): a correct kernel of any family, built with its headers or
// with the project's defaults, gives no contradiction and the right family;
// a kernel whose witnesses disagree with its behaviour is contradictory.
#include <optional>
#include <string>

#include "profile.hh"
#include "test.hh"

using namespace kvmt;

namespace {

constexpr long kP = 0x8;           // KVM_MEMORY_ATTRIBUTE_PRIVATE
constexpr long kZeroPreserve = 0x3;
constexpr long kDefaults = -1;     // built without the kernel's headers

struct Kernel {
	const char *name;
	long cap249, cap250, cap252;
	const char *parameter;  // "" when absent
	std::optional<bool> parameter_on;
	std::optional<bool> behaviour_on;
};

const Kernel kV13 = {"v13 bzImage", 0, 0, kP, "", std::nullopt, true};
const Kernel kV13VmattrOff = {"v13 vmattr, mode off", 0, 0, 0, "gmem_in_place_conversion=N", false, false};
const Kernel kV13VmattrOn = {"v13 vmattr =1", 0, 0, kP, "gmem_in_place_conversion=Y", true, true};
const Kernel kV13Rfc = {"v13 bzImage content modes", kP, kZeroPreserve, kP, "", std::nullopt, true};
const Kernel kV8 = {"v8", 0, kP, 0, "gmem_in_place_conversion=Y", true, true};
const Kernel kV8Off = {"v8 =0", 0, 0, 0, "gmem_in_place_conversion=N", false, false};
const Kernel kRfcV5 = {"RFC v5", kP, kZeroPreserve, 0, "vm_memory_attributes=N", true, true};
const Kernel kMainline = {"6.18", 0, 0, 0, "", std::nullopt, false};

// The kernel's readings as detection sees them; headers: the number the
// build took from the kernel's headers, or kDefaults.
InPlaceMode decided(const Kernel &k, long headers)
{
	InPlaceMode m{};
	m.cap249 = k.cap249;
	m.cap250 = k.cap250;
	m.cap252 = k.cap252;
	m.headers_cap = headers == 249 ? k.cap249 : headers == 250 ? k.cap250 : headers == 252 ? k.cap252 : -1;
	m.parameter = k.parameter;
	m.parameter_on = k.parameter_on;
	m.behaviour = k.behaviour_on ? (*k.behaviour_on ? "size 0 -> EINVAL" : "size 0 -> ENOTTY") : "no gmem";
	m.behaviour_on = k.behaviour_on;
	decide_in_place_mode(&m, headers);
	return m;
}

void expect_consistent(const Kernel &k, long headers, bool on, Where where = Where::here())
{
	InPlaceMode m = decided(k, headers);
	EXPECT_EQ(m.on, on) << where << k.name << ", headers " << headers;
	EXPECT_EQ(m.contradiction, std::string()) << where << k.name << ", headers " << headers;
}

void expect_contradiction(Kernel k, long headers, Where where = Where::here())
{
	EXPECT_NE(decided(k, headers).contradiction, std::string()) << where << k.name << ", headers " << headers;
}

std::string built_name(std::optional<bool> built)
{
	return !built ? "mode off" : *built ? "built" : "not built";
}

Series series_of(const Kernel &k, long headers)
{
	std::string evidence;
	return series_by_cap(decided(k, headers), headers, &evidence);
}

}  // namespace

KVMT_TEST(in_place_detection, correct_kernels_without_their_headers)
{
	expect_consistent(kV13, kDefaults, true);
	expect_consistent(kV13VmattrOff, kDefaults, false);
	expect_consistent(kV13VmattrOn, kDefaults, true);
	expect_consistent(kV13Rfc, kDefaults, true);
	expect_consistent(kV8, kDefaults, true);
	expect_consistent(kV8Off, kDefaults, false);
	expect_consistent(kRfcV5, kDefaults, true);
	expect_consistent(kMainline, kDefaults, false);
}

KVMT_TEST(in_place_detection, correct_kernels_with_their_headers)
{
	expect_consistent(kV13, 252, true);
	expect_consistent(kV13VmattrOff, 252, false);
	expect_consistent(kV13VmattrOn, 252, true);
	expect_consistent(kV13Rfc, 252, true);
	expect_consistent(kV8, 250, true);
	expect_consistent(kV8Off, 250, false);
	expect_consistent(kRfcV5, 249, true);
}

KVMT_TEST(in_place_detection, a_missing_parameter_is_no_witness)
{
	InPlaceMode m = decided(kV13, kDefaults);
	EXPECT_TRUE(m.on) << "v13 without a module parameter, size 0 -> EINVAL";
	EXPECT_EQ(built_name(vm_level_attributes_built(m)), std::string("not built"));
	EXPECT_EQ(built_name(vm_level_attributes_built(decided(kV13VmattrOn, kDefaults))), std::string("built"));
	EXPECT_EQ(built_name(vm_level_attributes_built(decided(kV13VmattrOff, kDefaults))), std::string("mode off"));
}

KVMT_TEST(in_place_detection, contradictory_kernels)
{
	Kernel param_on_enotty = kV8;
	param_on_enotty.behaviour_on = false;
	expect_contradiction(param_on_enotty, kDefaults);
	Kernel v13_cap_on_enotty = kV13;
	v13_cap_on_enotty.behaviour_on = false;
	expect_contradiction(v13_cap_on_enotty, kDefaults);
	Kernel param_off_einval = kV13VmattrOff;
	param_off_einval.behaviour_on = true;
	expect_contradiction(param_off_einval, kDefaults);
	// The headers' number counts either way: 0 there while the mode is on.
	Kernel v13_cap_zero = kV13;
	v13_cap_zero.cap252 = 0;
	expect_contradiction(v13_cap_zero, 252);
	// A cap of another number that answers 0 says nothing (250 is PPC's in v13).
	expect_consistent(v13_cap_zero, kDefaults, true);
	// No guest_memfd to ask: witnesses that disagree among themselves.
	Kernel no_gmem = kV8;
	no_gmem.behaviour_on = std::nullopt;
	no_gmem.parameter = "gmem_in_place_conversion=N";
	no_gmem.parameter_on = false;
	expect_contradiction(no_gmem, kDefaults);
}

KVMT_TEST(in_place_detection, series_by_cap)
{
	EXPECT_EQ(static_cast<int>(series_of(kV13, kDefaults)), static_cast<int>(Series::V13));
	EXPECT_EQ(static_cast<int>(series_of(kV13VmattrOn, 252)), static_cast<int>(Series::V13));
	EXPECT_EQ(static_cast<int>(series_of(kV8, kDefaults)), static_cast<int>(Series::V8toV12));
	EXPECT_EQ(static_cast<int>(series_of(kV8, 250)), static_cast<int>(Series::V8toV12));
	Kernel v6 = {"v6", kP, 0, 0, "vm_memory_attributes=N", true, true};
	EXPECT_EQ(static_cast<int>(series_of(v6, 249)), static_cast<int>(Series::V6V7));
	Kernel v14 = {"a later revision with another number", 0, 0, 0, "", std::nullopt, true};
	EXPECT_EQ(static_cast<int>(series_of(v14, kDefaults)), static_cast<int>(Series::Unknown));
	EXPECT_EQ(gmem_attributes_cap(Series::V13), 252);
	EXPECT_EQ(gmem_attributes_cap(Series::V8toV12), 250);
	EXPECT_EQ(gmem_attributes_cap(Series::Rfc), 249);
}
