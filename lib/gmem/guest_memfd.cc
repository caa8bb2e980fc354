#include "guest_memfd.hh"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "declared_profile.hh"
#include "errors.hh"
#include "test.hh"
#include "kvm_uapi.hh"
#include "vm.hh"

namespace kvmt {

int __create_guest_memfd(int vm_fd, uint64_t size, uint64_t flags, uint64_t reserved0)
{
	kvm_create_guest_memfd req = {};
	req.size = size;
	req.flags = flags;
	req.reserved[0] = reserved0;
	return ioctl(vm_fd, KVM_CREATE_GUEST_MEMFD, &req);
}

std::string gmem_flags_name(uint64_t flags)
{
	if (!flags)
		return "0";
	std::string s;
	auto add = [&s](const std::string &part) { s += (s.empty() ? "" : "|") + part; };
	if (flags & GUEST_MEMFD_FLAG_MMAP)
		add("MMAP");
	if (flags & GUEST_MEMFD_FLAG_INIT_SHARED)
		add("INIT_SHARED");
	uint64_t rest = flags & ~(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	if (rest) {
		char buf[32];
		snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)rest);
		add(buf);
	}
	return s;
}

void require_guest_memfd(const Vm &vm, uint64_t flags, Where where)
{
	std::string why;
	if (!vm.supports_guest_memfd(&why))
		skip(why);
	uint64_t offered = vm.guest_memfd_flags();
	if ((flags & offered) != flags) {
		char buf[32];
		snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)offered);
		std::string reason = std::string("VM type ") + vm.type().name +
				     " offers no guest_memfd flags " + gmem_flags_name(flags) +
				     " (KVM_CAP_GUEST_MEMFD_FLAGS=" + buf + ")";
		// INIT_SHARED on a type with private memory comes with the mode.
		bool mode_flag = vm.type().private_memory && (flags & ~offered & GUEST_MEMFD_FLAG_INIT_SHARED);
		if (mode_flag)
			feature_missing(Feature::InPlace, "", reason, where);
		skip(reason);
	}
}

GuestMemfd::GuestMemfd(const Vm &vm, uint64_t size, uint64_t flags) : size_(size), flags_(flags)
{
	int fd = __create_guest_memfd(vm.fd(), size, flags);
	sys_check(fd, "KVM_CREATE_GUEST_MEMFD(size " + std::to_string(size) + ", flags " +
			      gmem_flags_name(flags) + ")");
	fd_.reset(fd);
}

void *GuestMemfd::__map(uint64_t offset, uint64_t len, int prot, int flags) const
{
	return mmap(nullptr, len, prot, flags, fd(), offset);
}

Mapping GuestMemfd::map(uint64_t offset, uint64_t len, int prot) const
{
	if (!len)
		len = size_ - offset;
	void *p = __map(offset, len, prot, MAP_SHARED);
	if (p == MAP_FAILED)
		sys_check(-1, "mmap(guest_memfd, MAP_SHARED)");
	return Mapping(p, len);
}

static int errno_of(int ret)
{
	return ret ? errno : 0;
}

int GuestMemfd::__allocate(uint64_t offset, uint64_t len) const
{
	return errno_of(fallocate(fd(), FALLOC_FL_KEEP_SIZE, offset, len));
}

int GuestMemfd::__punch_hole(uint64_t offset, uint64_t len) const
{
	return errno_of(fallocate(fd(), FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, offset, len));
}

void GuestMemfd::allocate(uint64_t offset, uint64_t len) const
{
	if (int err = __allocate(offset, len))
		throw Error("fallocate(guest_memfd, KEEP_SIZE): " + errno_name(err));
}

void GuestMemfd::punch_hole(uint64_t offset, uint64_t len) const
{
	if (int err = __punch_hole(offset, len))
		throw Error("fallocate(guest_memfd, PUNCH_HOLE): " + errno_name(err));
}

AttributesResult GuestMemfd::__set_attributes(gmem_attributes2 *req) const
{
	int r = ioctl(fd(), kSetMemoryAttributes2, req);
	return {errno_of(r), req->error_offset};
}

AttributesResult GuestMemfd::set_attributes(uint64_t offset, uint64_t size, uint64_t attributes,
					    uint64_t flags) const
{
	gmem_attributes2 req = {};
	req.offset = offset;
	req.size = size;
	req.attributes = attributes;
	req.flags = flags;
	return __set_attributes(&req);
}

AttributesResult GuestMemfd::convert(uint64_t offset, uint64_t size, uint64_t attributes,
				     uint64_t flags, uint64_t *retries,
				     const RefusalCheck &on_refusal) const
{
	AttributesResult r = set_attributes(offset, size, attributes, flags);
	for (int attempt = 1; attempt < kConvertAttempts && r.err == EAGAIN &&
			      (attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE);
	     attempt++) {
		if (on_refusal && !on_refusal(r))
			return r;
		if (retries)
			++*retries;
		// Yield first (benchmarks time this), then give the holder time.
		if (attempt < 10)
			sched_yield();
		else
			usleep(1000);
		r = set_attributes(offset, size, attributes, flags);
	}
	return r;
}

}  // namespace kvmt
