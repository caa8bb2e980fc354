#include "support.hh"

#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "errors.hh"
#include "guest_memfd.hh"
#include "hex.hh"
#include "kvm_system.hh"
#include "page_size.hh"
#include "test.hh"
#include "timing.hh"
#include "vm.hh"

using kvmt::hex;

namespace bench {
namespace {

template <typename F>
std::string reason_of(F &&probe)
{
	try {
		return probe();
	} catch (const kvmt::TestSkip &s) {
		return s.reason;
	} catch (const std::exception &e) {
		return e.what();
	}
}

std::string probe_inplace()
{
	kvmt::Vm vm(kvmt::default_vm_type());
	kvmt::require_guest_memfd(vm, kInPlaceFlags);
	return "";
}

bool offers_guest_memfd(const kvmt::VmTypeInfo &type)
{
	std::string why;
	if (!kvmt::vm_type_offered(type, &why))
		return false;
	return reason_of([&] {
		       kvmt::Vm vm(type);
		       return vm.supports_guest_memfd(&why) ? std::string() : why;
	       }).empty();
}

// The first offered type with private memory that also has guest_memfd
// (SEV and SEV-ES have encrypted memory but no guest_memfd).
const kvmt::VmTypeInfo *first_private_type()
{
	for (const kvmt::VmTypeInfo &t : kvmt::arch_vm_types())
		if (t.private_memory && offers_guest_memfd(t))
			return &t;
	return nullptr;
}

// The suite's one answer to "is the in-place mode on" (lib/gmem/profile).
std::string probe_attributes(const kvmt::VmTypeInfo &)
{
	const kvmt::InPlaceMode &mode = kvmt::in_place_mode();
	return mode.on ? "" : "no per-gmem memory attributes: in-place mode " +
				      kvmt::describe_in_place_mode(mode);
}

std::string probe_per_vm(const kvmt::VmTypeInfo &type)
{
	kvmt::Vm vm(type);
	long attrs = vm.check_extension(KVM_CAP_MEMORY_ATTRIBUTES);
	if (!(attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE))
		return std::string("KVM_CAP_MEMORY_ATTRIBUTES=") + hex(attrs) + " on " + type.name +
		       " VMs: no per-VM PRIVATE attribute (per-gmem attributes replace it)";
	std::string why;
	if (!vm.supports_guest_memfd(&why))
		return why;
	return "";
}

// The errno of a conversion of a scratch page in direction d with mode m,
// 0 on success; throws when the scratch page cannot be set up.
int scratch_conversion(const kvmt::VmTypeInfo &type, Direction d, Mode m)
{
	uint64_t page = kvmt::page_size();
	kvmt::Vm vm(type);
	kvmt::GuestMemfd gmem(vm, page, 0);
	kvmt::AttributesResult r = gmem.set_attributes(0, page, target_attributes(opposite(d)));
	if (r.err)
		throw kvmt::Error("setting up the scratch page failed: " + kvmt::errno_name(r.err));
	return gmem.set_attributes(0, page, target_attributes(d), kvmt::content_mode_flags(m)).err;
}

std::string probe_mode(const kvmt::VmTypeInfo &type, Direction d, Mode m)
{
	int err = scratch_conversion(type, d, m);
	if (!err)
		return "";
	return std::string("VM type ") + type.name + " answers " + kvmt::errno_name(err) + " to " +
	       direction_name(d) + " with content mode " + mode_name(m);
}

// Rule 3: content modes exist iff a to-shared ZERO request on a scratch page
// succeeds or answers EOPNOTSUPP; EINVAL means the kernel takes no flags.
bool has_content_modes(const kvmt::VmTypeInfo &type)
{
	try {
		int err = scratch_conversion(type, Direction::ToShared, Mode::Zero);
		return err == 0 || err == EOPNOTSUPP;
	} catch (const std::exception &) {
		return false;
	}
}

void detect_modes(Support &s)
{
	bool modes = has_content_modes(*s.private_type);
	for (Direction d : {Direction::ToPrivate, Direction::ToShared})
		for (Mode m : modes_for(d)) {
			std::string key = std::string(direction_name(d)) + "/" + mode_name(m);
			if (m == Mode::Unspecified)
				continue;
			if (!modes)
				s.mode_missing[key] = "kernel takes no content-mode flags (per-gmem "
						      "attributes of the applied revision: flags must be 0)";
			else
				s.mode_missing[key] = reason_of([&] { return probe_mode(*s.private_type, d, m); });
		}
}

void note_no_private_type(Support &s)
{
	std::string none = "a VM type with private memory and guest_memfd: none offered "
			   "(KVM_CAP_VM_TYPES=" +
			   hex(kvmt::KvmSystem::get().check_extension(KVM_CAP_VM_TYPES)) + ")";
	s.attributes_missing = "per-gmem KVM_SET_MEMORY_ATTRIBUTES2 needs " + none;
	s.per_vm_missing = "per-VM KVM_SET_MEMORY_ATTRIBUTES needs " + none;
}

void detect_private_type(Support &s)
{
	const kvmt::VmTypeInfo &type = *s.private_type;
	s.attributes_missing = reason_of([&] { return probe_attributes(type); });
	reason_of([&] {  // private_gmem_flags stays 0 when the VM cannot be created
		kvmt::Vm vm(type);
		s.private_gmem_flags = vm.guest_memfd_flags();
		return std::string();
	});
	s.per_vm_missing = reason_of([&] { return probe_per_vm(type); });
	if (s.attributes_missing.empty())
		detect_modes(s);
}

Support detect()
{
	Support s;
	int fd = kvmt::open_kvm(&s.kvm_missing);
	if (fd < 0) {
		s.inplace_missing = s.attributes_missing = s.per_vm_missing = s.kvm_missing;
		return s;
	}
	close(fd);
	s.profile_missing = reason_of([&] {
		s.profile = kvmt::detect_profile();
		return std::string();
	});
	s.inplace_missing = reason_of(probe_inplace);
	s.private_type = first_private_type();
	if (s.private_type)
		detect_private_type(s);
	else
		note_no_private_type(s);
	return s;
}

}  // namespace

Direction opposite(Direction d)
{
	return d == Direction::ToPrivate ? Direction::ToShared : Direction::ToPrivate;
}

uint64_t target_attributes(Direction d)
{
	return d == Direction::ToPrivate ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
}

const std::vector<Mode> &modes_for(Direction d)
{
	static const std::vector<Mode> to_private = {Mode::Unspecified, Mode::Preserve};
	static const std::vector<Mode> to_shared = {Mode::Unspecified, Mode::Zero, Mode::Preserve};
	return d == Direction::ToPrivate ? to_private : to_shared;
}

std::string Support::conversion_missing(Direction d, Mode m) const
{
	if (!attributes_missing.empty())
		return attributes_missing;
	auto it = mode_missing.find(std::string(direction_name(d)) + "/" + mode_name(m));
	return it == mode_missing.end() ? "" : it->second;
}

std::string Support::mapping_missing() const
{
	if (!attributes_missing.empty())
		return attributes_missing;
	if ((private_gmem_flags & kInPlaceFlags) == kInPlaceFlags)
		return "";
	return std::string("VM type ") + private_type->name + " offers no guest_memfd MMAP|INIT_SHARED "
	       "(KVM_CAP_GUEST_MEMFD_FLAGS=" + hex(private_gmem_flags) + ")";
}

std::string Support::describe() const
{
	if (!kvm_missing.empty())
		return "no KVM: " + kvm_missing;
	if (!profile_missing.empty())
		return "profile detection failed: " + profile_missing;
	return kvmt::describe_profile(profile);
}

const Support &support()
{
	static const Support s = detect();
	return s;
}

const kvmt::VmTypeInfo &private_vm_type()
{
	if (!support().private_type)
		kvmt::skip(support().per_vm_missing);
	return *support().private_type;
}

uint64_t mem_available()
{
	std::ifstream in("/proc/meminfo");
	std::string key;
	uint64_t kib;
	std::string unit;
	while (in >> key >> kib) {
		std::getline(in, unit);
		if (key == "MemAvailable:")
			return kib * KiB;
	}
	return 0;
}

std::string memory_bound_reason(uint64_t footprint)
{
	uint64_t avail = mem_available();
	if (footprint <= avail / 2)
		return "";
	std::ostringstream os;
	os << "needs " << footprint / MiB << " MiB, more than half of MemAvailable ("
	   << avail / MiB << " MiB)";
	return os.str();
}

std::string batch_bound_reason(uint64_t bytes)
{
	return memory_bound_reason(batch_ops(bytes) * bytes);
}

}  // namespace bench
