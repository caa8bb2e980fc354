#include "vm.hh"

#include <sys/ioctl.h>

#include <cerrno>

#include "errors.hh"
#include "kvm_system.hh"
#include "test.hh"
#include "declared_profile.hh"
#include "vcpu.hh"

namespace kvmt {

Vm::Vm(const VmTypeInfo &type) : type_(&type)
{
	std::string why;
	if (!vm_type_offered(type, &why))
		feature_missing(Feature::VmType, type.name, why);
	int fd;
	do {
		fd = ioctl(KvmSystem::get().fd(), KVM_CREATE_VM, type.kvm_type);
	} while (fd < 0 && errno == EINTR);
	sys_check(fd, std::string("KVM_CREATE_VM(") + type.name + ")");
	fd_.reset(fd);
}

Vm::~Vm() = default;

long Vm::check_extension(long cap) const
{
	long r = ioctl(fd(), KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

int Vm::__set_memslot(const Memslot &s)
{
	kvm_userspace_memory_region2 region = {};
	region.slot = s.slot;
	region.flags = s.flags | (s.gmem_fd >= 0 ? KVM_MEM_GUEST_MEMFD : 0);
	region.guest_phys_addr = s.gpa;
	region.memory_size = s.size;
	region.userspace_addr = reinterpret_cast<uint64_t>(s.hva);
	region.guest_memfd = s.gmem_fd >= 0 ? s.gmem_fd : 0;
	region.guest_memfd_offset = s.gmem_offset;
	if (ioctl(fd(), KVM_SET_USER_MEMORY_REGION2, &region))
		return errno;
	for (auto it = slots_.begin(); it != slots_.end(); ++it)
		if (it->slot == s.slot) {
			slots_.erase(it);
			break;
		}
	if (s.size)
		slots_.push_back(s);
	return 0;
}

void Vm::set_memslot(const Memslot &s)
{
	if (int err = __set_memslot(s))
		throw Error("KVM_SET_USER_MEMORY_REGION2(slot " + std::to_string(s.slot) + "): " +
			    errno_name(err));
}

void Vm::delete_memslot(uint32_t slot)
{
	set_memslot({slot, 0, 0, 0, nullptr, -1, 0});
}

void *Vm::gpa_to_hva(uint64_t gpa) const
{
	for (const Memslot &s : slots_)
		if (gpa >= s.gpa && gpa - s.gpa < s.size)
			return static_cast<uint8_t *>(s.hva) + (gpa - s.gpa);
	return nullptr;
}

int Vm::__enable_cap(uint32_t cap, uint64_t arg0)
{
	kvm_enable_cap req = {};
	req.cap = cap;
	req.args[0] = arg0;
	return ioctl(fd(), KVM_ENABLE_CAP, &req) ? errno : 0;
}

int Vm::__set_memory_attributes(uint64_t gpa, uint64_t size, uint64_t attributes)
{
	kvm_memory_attributes req = {};
	req.address = gpa;
	req.size = size;
	req.attributes = attributes;
	return ioctl(fd(), KVM_SET_MEMORY_ATTRIBUTES, &req) ? errno : 0;
}

uint64_t Vm::guest_memfd_flags() const
{
	return check_extension(KVM_CAP_GUEST_MEMFD_FLAGS);
}

bool Vm::supports_guest_memfd(std::string *why) const
{
	if (check_extension(KVM_CAP_GUEST_MEMFD) > 0)
		return true;
	*why = std::string("no guest_memfd for VM type ") + type_->name +
	       " (KVM_CAP_GUEST_MEMFD=0)";
	return false;
}

std::unique_ptr<Vcpu> Vm::create_vcpu(int id)
{
	return std::make_unique<Vcpu>(*this, id);
}

}  // namespace kvmt
