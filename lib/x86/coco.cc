#include "coco_x86.hh"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "declared_profile.hh"
#include "errors.hh"
#include "guest_memfd.hh"
#include "kvm_system.hh"
#include "kvm_uapi.hh"
#include "profile.hh"
#include "test.hh"
#include "vcpu.hh"
#include "vm.hh"
#include "hex.hh"

namespace kvmt::x86 {

namespace {

// In C++ the 6.1 header's struct kvm_cpuid2 (with its entries[0]) has a
// different size than the kernel's 8 bytes, which changes the ioctl numbers.
struct cpuid2_header {
	uint32_t nent;
	uint32_t padding;
};
constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, cpuid2_header);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, cpuid2_header);
// How far KVM_GET_SUPPORTED_CPUID's buffer grows before giving up (a count).
constexpr uint32_t kMaxCpuidEntries = 4096;

}  // namespace

void require_per_vm_private(const Vm &vm)
{
	long attrs = vm.check_extension(KVM_CAP_MEMORY_ATTRIBUTES);
	if (!(attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE))
		skip(std::string("no per-VM PRIVATE attribute for VM type ") + vm.type().name +
		     " (KVM_CAP_MEMORY_ATTRIBUTES=" + hex(attrs) + ")");
}

void require_per_gmem_attributes(const Vm &vm)
{
	const InPlaceMode &mode = in_place_mode();
	if (!mode.on)
		feature_missing(Feature::InPlace, "", "in-place mode " + describe_in_place_mode(mode));
	if (!vm.type().private_memory)
		skip(std::string("VM type ") + vm.type().name +
		     " has no private memory (its conversions are refused with EINVAL)");
}

std::vector<AttributeModeVariant> attribute_mode_variants()
{
	return {{"in_place", true}, {"legacy", false}};
}

uint64_t require_attribute_mode(const Vm &vm, bool in_place)
{
	if (!in_place) {
		require_per_vm_private(vm);
		std::string why;
		if (!vm.supports_guest_memfd(&why))
			skip(why);
		return 0;
	}
	require_per_gmem_attributes(vm);
	uint64_t flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	require_guest_memfd(vm, flags);
	return flags;
}

uint64_t keep_contents_flags()
{
	return detect_profile().family == AttributesFamily::ContentModes ? kContentPreserve : 0;
}

std::vector<kvm_cpuid_entry2> supported_cpuid()
{
	for (uint32_t n = 64; n <= kMaxCpuidEntries; n *= 2) {
		size_t bytes = sizeof(cpuid2_header) + n * sizeof(kvm_cpuid_entry2);
		std::unique_ptr<uint8_t[]> buf(new uint8_t[bytes]());
		auto *head = reinterpret_cast<cpuid2_header *>(buf.get());
		head->nent = n;
		if (ioctl(KvmSystem::get().fd(), kGetSupportedCpuid, head) == 0) {
			auto *e = reinterpret_cast<kvm_cpuid_entry2 *>(head + 1);
			return std::vector<kvm_cpuid_entry2>(e, e + head->nent);
		}
		if (errno != E2BIG)
			sys_check(-1, "KVM_GET_SUPPORTED_CPUID");
	}
	throw Error("KVM_GET_SUPPORTED_CPUID: more than " + std::to_string(kMaxCpuidEntries) +
		    " entries");
}

const kvm_cpuid_entry2 *find_cpuid(const std::vector<kvm_cpuid_entry2> &entries, uint32_t function,
				   uint32_t index)
{
	for (const kvm_cpuid_entry2 &e : entries)
		if (e.function == function &&
		    (!(e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e.index == index))
			return &e;
	return nullptr;
}

void set_vcpu_cpuid(const Vcpu &vcpu, const std::vector<kvm_cpuid_entry2> &entries)
{
	size_t bytes = sizeof(cpuid2_header) + entries.size() * sizeof(kvm_cpuid_entry2);
	std::unique_ptr<uint8_t[]> buf(new uint8_t[bytes]());
	auto *head = reinterpret_cast<cpuid2_header *>(buf.get());
	head->nent = entries.size();
	memcpy(head + 1, entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
	sys_check(ioctl(vcpu.fd(), kSetCpuid2, head), "KVM_SET_CPUID2");
}

}  // namespace kvmt::x86
