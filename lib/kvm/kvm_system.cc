#include "kvm_system.hh"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "fd_census.hh"
#include "kvm_uapi.hh"
#include "test.hh"

namespace kvmt {

[[maybe_unused]] static const bool kKvmHandleLasts = allow_lasting_fd(kKvmDevice);

int open_kvm(std::string *why)
{
	int fd = open(kKvmDevice, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		*why = std::string(kKvmDevice) + " unavailable: " + errno_name(errno) + " (" +
		       strerror(errno) + ")";
		return -1;
	}
	int version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		*why = "KVM API version " + std::to_string(version) + ", expected " +
		       std::to_string(KVM_API_VERSION);
		close(fd);
		return -1;
	}
	return fd;
}

KvmSystem &KvmSystem::get()
{
	static KvmSystem *sys;
	if (!sys) {
		std::string why;
		int fd = open_kvm(&why);
		if (fd < 0)
			skip(why);
		sys = new KvmSystem(fd);
	}
	return *sys;
}

long KvmSystem::check_extension(long cap) const
{
	long r = ioctl(fd(), KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

long KvmSystem::vcpu_mmap_size() const
{
	return sys_check(ioctl(fd(), KVM_GET_VCPU_MMAP_SIZE, 0), "KVM_GET_VCPU_MMAP_SIZE");
}

}  // namespace kvmt
