#include "profile.hh"

#include <sys/ioctl.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "guest_memfd.hh"
#include "kvm_system.hh"
#include "strict_mode.hh"
#include "test.hh"
#include "vm.hh"

namespace kvmt {

constexpr uint64_t kProbeSize = 4096;

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

static std::string read_parameter(const std::string &name)
{
	std::ifstream in("/sys/module/kvm/parameters/" + name);
	std::string value;
	if (!(in >> value))
		return "";
	return name + "=" + value;
}

// Rules 2 and 3 of the spec's section 2, on one VM type with private memory.
AttributesFamily probe_attributes_family(const VmTypeInfo &type, std::string *evidence)
{
	Vm vm(type);
	int fd = __create_guest_memfd(vm.fd(), kProbeSize, 0);
	if (fd < 0) {
		*evidence = std::string(type.name) + ": KVM_CREATE_GUEST_MEMFD " + errno_name(errno);
		return AttributesFamily::None;
	}
	GuestMemfd gmem(UniqueFd(fd), kProbeSize, 0);
	AttributesResult invalid = gmem.set_attributes(0, 0, KVM_MEMORY_ATTRIBUTE_PRIVATE);
	*evidence = std::string(type.name) + ": size 0 -> " + errno_name(invalid.err);
	if (invalid.err != EINVAL)
		return AttributesFamily::None;
	AttributesResult zero = gmem.set_attributes(0, kProbeSize, 0, kContentZero);
	*evidence += ", to-shared ZERO -> " + (zero.err ? errno_name(zero.err) : "0");
	if (zero.err == 0 || zero.err == EOPNOTSUPP)
		return AttributesFamily::ContentModes;
	return AttributesFamily::Applied;
}

AttributesFamily kernel_attributes_family(std::string *evidence)
{
	for (const VmTypeInfo &t : arch_vm_types()) {
		std::string why;
		if (t.private_memory && vm_type_offered(t, &why))
			return probe_attributes_family(t, evidence);
	}
	*evidence = "no VM type with private memory offered";
	return AttributesFamily::None;
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
		p.family = kernel_attributes_family(&p.family_evidence);
	} catch (const std::exception &e) {
		p.family = AttributesFamily::None;
		p.family_evidence = e.what();
	} catch (const TestSkip &s) {
		p.family = AttributesFamily::None;
		p.family_evidence = s.reason;
	}
	for (const char *param : {"gmem_in_place_conversion", "vm_memory_attributes"}) {
		std::string v = read_parameter(param);
		if (!v.empty())
			p.module_parameters += (p.module_parameters.empty() ? "" : " ") + v;
	}
	if (p.module_parameters.empty())
		p.module_parameters = "none";
	return p;
}

std::string describe_profile(const Profile &p)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "vm_types=0x%lx default_gmem_flags=", p.vm_types_mask);
	return "kernel " + p.kernel_release + " " + buf + gmem_flags_name(p.default_gmem_flags) +
	       " per-gmem attributes=" + family_name(p.family) + " [" + p.family_evidence +
	       "] module parameters: " + p.module_parameters;
}

void kvm_program_preamble()
{
	std::string why;
	int fd = open_kvm(&why);
	if (fd < 0) {
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
