#include "profile.hh"

#include <sys/ioctl.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>

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

long gmem_attributes_cap(AttributesFamily f)
{
	return f == AttributesFamily::ContentModes ? kRfcGmemAttributesCap
						   : KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES;
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

static InPlaceMode detect_in_place_mode()
{
	InPlaceMode m;
	m.system_cap = KvmSystem::get().check_extension(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES);
	read_mode_parameter(&m);
	probe_mode_behaviour(&m);
	bool cap_on = m.system_cap & KVM_MEMORY_ATTRIBUTE_PRIVATE;
	// A cap that does not report PRIVATE proves nothing: the number means
	// another cap in other revisions.
	m.on = cap_on || m.parameter_on.value_or(false);
	if (m.behaviour_on && *m.behaviour_on != m.on)
		m.contradiction = std::string(m.on ? "the cap or module parameter says on"
						   : "neither cap nor module parameter says on") +
				  " but " + m.behaviour;
	else if (m.parameter_on && cap_on && !*m.parameter_on)
		m.contradiction = "the cap reports PRIVATE but " + m.parameter;
	return m;
}

const InPlaceMode &in_place_mode()
{
	static const InPlaceMode mode = detect_in_place_mode();
	return mode;
}

std::string describe_in_place_mode(const InPlaceMode &m)
{
	char cap[64];
	snprintf(cap, sizeof(cap), "system cap %d = 0x%lx", KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES,
		 m.system_cap);
	return std::string(m.on ? "on" : "off") + " [" + cap + ", " +
	       (m.parameter.empty() ? "no module parameter" : m.parameter) + ", " + m.behaviour +
	       "]" + (m.contradiction.empty() ? "" : " CONTRADICTION: " + m.contradiction);
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
	} catch (const std::exception &e) {
		p.family = AttributesFamily::None;
		p.family_evidence = e.what();
	} catch (const TestSkip &s) {
		p.family = AttributesFamily::None;
		p.family_evidence = s.reason;
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
	       " headers " KVMT_HEADERS_DESC " (KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES " +
	       std::to_string(KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES) + ")";
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
