#include "profile.hh"

#include <sys/ioctl.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <utility>
#include <vector>

#include "declared_profile.hh"
#include "guest_memfd.hh"
#include "kvm_system.hh"
#include "page_size.hh"
#include "strict_mode.hh"
#include "test.hh"
#include "vm.hh"

// The kernel headers the program was built with: the Makefile passes
// KVMT_HEADERS_DESC (KHDR_INCLUDES' directories, or a kernel tree's usr/include).
#ifndef KVMT_HEADERS_DESC
#define KVMT_HEADERS_DESC "project defaults"
#endif

namespace kvmt {

const char *family_name(AttributesFamily f)
{
	switch (f) {
	case AttributesFamily::Applied:
		return "applied (v6+, flags must be 0)";
	case AttributesFamily::ContentModes:
		return "content-modes (RFC v3-v5)";
	case AttributesFamily::None:
		break;
	}
	return "none";
}

// KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES of each family (spec section 2), and
// RFC v4/v5's KVM_CAP_MEMORY_ATTRIBUTES2_FLAGS, which took v8's number.
constexpr long kCapRfcAndV6 = 249, kCapV8 = 250, kCapV13 = 252;
constexpr long kCapRfcContentModes = 250;
constexpr long kPrivateBit = static_cast<long>(KVM_MEMORY_ATTRIBUTE_PRIVATE);

#ifdef KVMT_GMEM_ATTRIBUTES_CAP_FROM_DEFAULTS
constexpr long kHeadersCap = -1;
#else
constexpr long kHeadersCap = KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES;
#endif

const char *series_name(Series s)
{
	switch (s) {
	case Series::Rfc:
		return "RFC v3-v5";
	case Series::V6V7:
		return "v6-v7";
	case Series::V8toV12:
		return "v8..v12";
	case Series::V13:
		return "v13";
	case Series::Unknown:
		return "unidentified";
	case Series::None:
		break;
	}
	return "none";
}

long gmem_attributes_cap(Series s)
{
	switch (s) {
	case Series::Rfc:
	case Series::V6V7:
		return kCapRfcAndV6;
	case Series::V8toV12:
		return kCapV8;
	case Series::V13:
		return kCapV13;
	case Series::None:
	case Series::Unknown:
		break;
	}
	return KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES;
}

// v8's gmem_in_place_conversion (bool) or the RFC postings' inverted
// vm_memory_attributes (1 = per-VM attributes); absent on other kernels.
static void read_mode_parameter(InPlaceMode *m)
{
	for (const char *name : {"gmem_in_place_conversion", "vm_memory_attributes"}) {
		std::ifstream in(std::string("/sys/module/kvm/parameters/") + name);
		std::string value;
		if (!(in >> value))
			continue;
		bool set = value == "Y" || value == "1";
		m->parameter = std::string(name) + "=" + value;
		m->parameter_on = std::string(name) == "gmem_in_place_conversion" ? set : !set;
		return;
	}
}

// A one-page guest_memfd of a fresh VM of this type, and the kernel's answer
// to a size-0 request on it: ENOTTY without per-gmem attributes, EINVAL with
// them (rules 2 and 3 of the spec's section 2). Empty when no gmem.
struct SizeZeroProbe {
	Vm vm;
	std::optional<GuestMemfd> gmem;
	int err = 0;
	std::string evidence;  // "sw_protected: size 0 -> EINVAL"

	explicit SizeZeroProbe(const VmTypeInfo &type) : vm(type)
	{
		int fd = __create_guest_memfd(vm.fd(), page_size(), 0);
		if (fd < 0) {
			evidence = std::string(type.name) + ": KVM_CREATE_GUEST_MEMFD " + errno_name(errno);
			return;
		}
		gmem.emplace(UniqueFd(fd), page_size(), 0);
		err = gmem->set_attributes(0, 0, KVM_MEMORY_ATTRIBUTE_PRIVATE).err;
		evidence = std::string(type.name) + ": size 0 -> " + errno_name(err);
	}
};

// Rule 2 on the DEFAULT VM (a kernel with the mode on answers EINVAL there
// too); on a type with private memory when DEFAULT has no guest_memfd.
static void probe_mode_behaviour(InPlaceMode *m)
{
	for (const VmTypeInfo &t : arch_vm_types()) {
		std::string why;
		if ((&t != &default_vm_type() && !t.private_memory) || !vm_type_offered(t, &why))
			continue;
		SizeZeroProbe probe(t);
		if (!probe.gmem)
			continue;
		m->behaviour = probe.evidence;
		if (probe.err == ENOTTY || probe.err == EINVAL)
			m->behaviour_on = probe.err == EINVAL;
		return;
	}
	m->behaviour = "no VM type can create a guest_memfd";
}

// A cap or module parameter that can be read for what it is (rule 5).
struct Witness {
	std::string what;  // "cap 252 = 0x8 (v13)"
	bool says_on;
};

static std::string cap_reading(long number, long value)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "cap %ld = 0x%lx", number, value);
	return buf;
}

// The headers' number counts either way; a cap of another number only when
// its answer identifies one family, and then it can only say "on". A
// missing module parameter is no witness (v13 normally has none).
static std::vector<Witness> mode_witnesses(const InPlaceMode &m, long headers)
{
	std::vector<Witness> w;
	if (m.parameter_on)
		w.push_back({m.parameter, *m.parameter_on});
	if (headers >= 0)
		w.push_back({cap_reading(headers, m.headers_cap) + " (the headers' number)",
			     (m.headers_cap & kPrivateBit) != 0});
	if (headers != kCapV13 && m.cap252 == kPrivateBit)
		w.push_back({cap_reading(kCapV13, m.cap252) + " (v13)", true});
	if (headers != kCapV8 && m.cap250 == kPrivateBit)
		w.push_back({cap_reading(kCapV8, m.cap250) + " (v8..v12)", true});
	if (headers != kCapRfcAndV6 && m.cap249 == kPrivateBit &&
	    m.cap250 == static_cast<long>(kContentZero | kContentPreserve))
		w.push_back({cap_reading(kCapRfcAndV6, m.cap249) + " with " +
				     cap_reading(kCapRfcContentModes, m.cap250) + " (RFC v4/v5)",
			     true});
	return w;
}

// Behaviour decides; without a guest_memfd to ask, any witness saying on.
void decide_in_place_mode(InPlaceMode *m, long headers_cap_number)
{
	std::vector<Witness> witnesses = mode_witnesses(*m, headers_cap_number);
	bool any_on = false;
	for (const Witness &w : witnesses)
		any_on |= w.says_on;
	m->on = m->behaviour_on.value_or(any_on);
	std::string disagree;
	for (const Witness &w : witnesses)
		if (w.says_on != m->on)
			disagree += (disagree.empty() ? "" : ", ") + w.what +
				    (w.says_on ? " says on" : " says off");
	if (!disagree.empty())
		m->contradiction = disagree + " but " + m->behaviour;
}

static InPlaceMode detect_in_place_mode()
{
	InPlaceMode m;
	KvmSystem &sys = KvmSystem::get();
	m.cap249 = sys.check_extension(kCapRfcAndV6);
	m.cap250 = sys.check_extension(kCapV8);
	m.cap252 = sys.check_extension(kCapV13);
	m.headers_cap = kHeadersCap >= 0 ? sys.check_extension(kHeadersCap) : -1;
	read_mode_parameter(&m);
	probe_mode_behaviour(&m);
	decide_in_place_mode(&m, kHeadersCap);
	return m;
}

const InPlaceMode &in_place_mode()
{
	static const InPlaceMode mode = detect_in_place_mode();
	return mode;
}

std::string describe_in_place_mode(const InPlaceMode &m)
{
	char caps[96];
	snprintf(caps, sizeof(caps), "caps %ld=0x%lx %ld=0x%lx %ld=0x%lx", kCapRfcAndV6, m.cap249,
		 kCapV8, m.cap250, kCapV13, m.cap252);
	std::string headers;
	if (kHeadersCap >= 0 && kHeadersCap != kCapRfcAndV6 && kHeadersCap != kCapV8 && kHeadersCap != kCapV13)
		headers = " " + cap_reading(kHeadersCap, m.headers_cap);
	return std::string(m.on ? "on" : "off") + " [" + caps + headers + ", " +
	       (m.parameter.empty() ? "no module parameter" : m.parameter) + ", " + m.behaviour +
	       "]" + (m.contradiction.empty() ? "" : " CONTRADICTION: " + m.contradiction);
}

std::optional<bool> vm_level_attributes_built(const InPlaceMode &m)
{
	if (!m.on)
		return std::nullopt;
	return !m.parameter.empty();
}

// Rule 3 of the spec's section 2, on one VM type with private memory.
AttributesFamily probe_attributes_family(const VmTypeInfo &type, std::string *evidence)
{
	SizeZeroProbe probe(type);
	*evidence = probe.evidence;
	if (!probe.gmem || probe.err != EINVAL)
		return AttributesFamily::None;
	AttributesResult zero = probe.gmem->set_attributes(0, page_size(), 0, kContentZero);
	*evidence += ", to-shared ZERO -> " + (zero.err ? errno_name(zero.err) : "0");
	if (zero.err == 0 || zero.err == EOPNOTSUPP)
		return AttributesFamily::ContentModes;
	return AttributesFamily::Applied;
}

static AttributesFamily detect_family(std::string *evidence)
{
	if (!in_place_mode().on) {
		*evidence = "in-place mode off";
		return AttributesFamily::None;
	}
	for (const VmTypeInfo &t : arch_vm_types()) {
		std::string why;
		if (t.private_memory && vm_type_offered(t, &why))
			return probe_attributes_family(t, evidence);
	}
	*evidence = "no VM type with private memory to tell content modes";
	return AttributesFamily::Applied;
}

AttributesFamily kernel_attributes_family(std::string *evidence)
{
	static std::string why;
	static const AttributesFamily family = detect_family(&why);
	*evidence = why;
	return family;
}

Series series_by_cap(const InPlaceMode &m, long headers_cap_number, std::string *evidence)
{
	const std::pair<long, Series> known[] = {
		{kCapV13, Series::V13}, {kCapV8, Series::V8toV12}, {kCapRfcAndV6, Series::V6V7}};
	if (headers_cap_number >= 0 && m.headers_cap == kPrivateBit)
		for (const auto &[number, series] : known)
			if (number == headers_cap_number) {
				*evidence = cap_reading(number, m.headers_cap) + ", the headers' number";
				return series;
			}
	for (const auto &[number, series] : known) {
		long value = number == kCapV13 ? m.cap252 : number == kCapV8 ? m.cap250 : m.cap249;
		if (value == kPrivateBit) {
			*evidence = cap_reading(number, value);
			return series;
		}
	}
	*evidence = "no cap of a known revision (249, 250, 252) reports PRIVATE";
	return Series::Unknown;
}

static Series detect_series(std::string *evidence)
{
	const InPlaceMode &m = in_place_mode();
	if (!m.on) {
		*evidence = m.parameter.empty()
				    ? "in-place mode off, no module parameter"
				    : "in-place mode off by " + m.parameter +
					      " (v8..v12 set so, or v13 with CONFIG_KVM_VM_MEMORY_ATTRIBUTES=y)";
		return Series::None;
	}
	std::string family_evidence;
	if (kernel_attributes_family(&family_evidence) == AttributesFamily::ContentModes) {
		*evidence = "content modes: " + family_evidence;
		return Series::Rfc;
	}
	Series s = series_by_cap(m, kHeadersCap, evidence);
	if (s == Series::V6V7 || s == Series::V8toV12 || m.parameter.rfind("vm_memory_attributes", 0) == 0)
		*evidence += ", flags must be 0";
	if (s == Series::V13)
		*evidence += m.parameter.empty() ? ", no module parameter: CONFIG_KVM_VM_MEMORY_ATTRIBUTES=n"
						 : ", " + m.parameter + ": CONFIG_KVM_VM_MEMORY_ATTRIBUTES=y";
	return s;
}

Series kernel_series(std::string *evidence)
{
	static std::string why;
	static const Series series = detect_series(&why);
	*evidence = why;
	return series;
}

Profile detect_profile()
{
	Profile p;
	utsname u;
	uname(&u);
	p.kernel_release = u.release;
	KvmSystem &sys = KvmSystem::get();
	p.vm_types_mask = sys.check_extension(KVM_CAP_VM_TYPES);
	{
		Vm vm(default_vm_type());
		p.default_gmem_flags = vm.guest_memfd_flags();
	}
	try {
		p.in_place = in_place_mode();
		p.family = kernel_attributes_family(&p.family_evidence);
		p.series = kernel_series(&p.series_evidence);
	} catch (const std::exception &e) {
		p.family = AttributesFamily::None;
		p.family_evidence = e.what();
		p.series = Series::None;
	} catch (const TestSkip &s) {
		p.family = AttributesFamily::None;
		p.family_evidence = s.reason;
		p.series = Series::None;
	}
	return p;
}

std::string describe_profile(const Profile &p)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "vm_types=0x%lx default_gmem_flags=", p.vm_types_mask);
	return "kernel " + p.kernel_release + " " + buf + gmem_flags_name(p.default_gmem_flags) +
	       " in-place mode " + describe_in_place_mode(p.in_place) +
	       " per-gmem attributes=" + family_name(p.family) + " [" + p.family_evidence + "]" +
	       " series " + series_name(p.series) + " [" + p.series_evidence + "]" +
	       " headers " KVMT_HEADERS_DESC " (KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES " +
	       std::to_string(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) +
	       (kHeadersCap >= 0 ? ")" : ", the project's default)");
}

void kvm_program_preamble()
{
	std::string why;
	int fd = open_kvm(&why);
	if (fd < 0) {
		// A lab that declared what its machine offers has declared a KVM.
		const std::string &declared = declared_profile().text;
		if (!declared.empty()) {
			printf("1..0 # SKIP %s\nBail out! GMEM_EXPECT='%s' declares KVM features, but %s\n",
			       why.c_str(), declared.c_str(), why.c_str());
			exit(1);
		}
		if (strict_mode()) {
			printf("1..0 # SKIP %s\nBail out! strict mode: %s\n", why.c_str(), why.c_str());
			exit(1);
		}
		printf("1..0 # SKIP %s\n", why.c_str());
		exit(4);
	}
	close(fd);
	try {
		printf("# profile: %s\n", describe_profile(detect_profile()).c_str());
	} catch (const std::exception &e) {
		printf("# profile: detection failed: %s\n", e.what());
	} catch (const TestSkip &s) {
		printf("# profile: detection skipped: %s\n", s.reason.c_str());
	}
	fflush(stdout);
}

}  // namespace kvmt
