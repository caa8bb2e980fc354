// A VM of a given type: its fd, memslots (KVM_SET_USER_MEMORY_REGION2),
// per-VM memory attributes, guest_memfd creation and vCPUs.
//
// The library's naming of kernel calls: a function named __foo is the raw
// call. It never throws and returns what the kernel answered: 0 or the errno
// for an ioctl or fallocate wrapper, the fd (or pointer) with errno set when
// the call creates one (-1, MAP_FAILED), or a struct holding the errno and
// what the kernel wrote back. foo without the underscores is for callers that
// expect success: it throws Error naming the call and the errno; the
// exceptions are calls whose errno is the answer tests examine, which return
// it in their result (GuestMemfd::set_attributes, convert).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fd.hh"
#include "kvm_uapi.hh"
#include "vm_type.hh"

namespace kvmt {

class Vcpu;

struct Memslot {
	uint32_t slot;
	uint32_t flags;
	uint64_t gpa;
	uint64_t size;
	void *hva;             // userspace_addr (may be a gmem mapping)
	int gmem_fd;           // -1 without KVM_MEM_GUEST_MEMFD
	uint64_t gmem_offset;
};

class Vm {
public:
	// Creates the VM; skips the test when the kernel does not offer the type.
	explicit Vm(const VmTypeInfo &type);
	~Vm();
	Vm(const Vm &) = delete;
	Vm &operator=(const Vm &) = delete;

	int fd() const { return fd_.get(); }
	const VmTypeInfo &type() const { return *type_; }
	// KVM_CHECK_EXTENSION on the VM fd (0 when absent).
	long check_extension(long cap) const;

	// Raw KVM_SET_USER_MEMORY_REGION2: 0 or the errno.
	int __set_memslot(const Memslot &slot);
	void set_memslot(const Memslot &slot);
	void delete_memslot(uint32_t slot);
	const std::vector<Memslot> &memslots() const { return slots_; }
	// Host address behind a guest physical address, or nullptr.
	void *gpa_to_hva(uint64_t gpa) const;

	// KVM_ENABLE_CAP on the VM fd: 0 or the errno.
	int __enable_cap(uint32_t cap, uint64_t arg0);

	// Per-VM KVM_SET_MEMORY_ATTRIBUTES (legacy path): 0 or the errno.
	int __set_memory_attributes(uint64_t gpa, uint64_t size, uint64_t attributes);

	// Supported guest_memfd creation flags (KVM_CAP_GUEST_MEMFD_FLAGS; 0 before 6.18).
	uint64_t guest_memfd_flags() const;
	// Whether this VM can create a guest_memfd; *why when not.
	bool supports_guest_memfd(std::string *why) const;

	std::unique_ptr<Vcpu> create_vcpu(int id);

private:
	const VmTypeInfo *type_;
	UniqueFd fd_;
	std::vector<Memslot> slots_;
};

}  // namespace kvmt
