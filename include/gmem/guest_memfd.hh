// A guest_memfd: creation with flags, host mappings, allocation and hole
// punching, and per-gmem memory attributes (KVM_SET_MEMORY_ATTRIBUTES2).
// Raw calls (leading __) return what the kernel answered, the others throw
// Error, except the attribute calls, whose answer tests examine (vm.hh).
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <functional>
#include <string>

#include "fd.hh"
#include "kvm_uapi.hh"
#include "mapping.hh"
#include "test.hh"

namespace kvmt {

class Vm;

// KVM_CREATE_GUEST_MEMFD; returns the fd, or -1 with errno set.
int __create_guest_memfd(int vm_fd, uint64_t size, uint64_t flags, uint64_t reserved0 = 0);

// Skips the test unless vm can create a guest_memfd with these flags (fails
// at the caller's line where the declaration promised them).
void require_guest_memfd(const Vm &vm, uint64_t flags, Where where = Where::here());

// "MMAP|INIT_SHARED", "0", or "MMAP|0x10" for unknown bits.
std::string gmem_flags_name(uint64_t flags);

constexpr int kConvertAttempts = 100;

struct AttributesResult {
	int err;               // 0 on success, else the errno
	uint64_t error_offset; // what the kernel wrote back (meaningful on failure)
};

class GuestMemfd {
public:
	GuestMemfd(const Vm &vm, uint64_t size, uint64_t flags);
	// Takes ownership of an existing gmem fd (e.g. received over SCM_RIGHTS).
	GuestMemfd(UniqueFd fd, uint64_t size, uint64_t flags)
		: fd_(std::move(fd)), size_(size), flags_(flags) {}

	int fd() const { return fd_.get(); }
	uint64_t size() const { return size_; }
	uint64_t flags() const { return flags_; }

	// mmap of [offset, offset + len) (len 0 = to the end); throws on failure.
	Mapping map(uint64_t offset = 0, uint64_t len = 0, int prot = PROT_READ | PROT_WRITE) const;
	// Raw mmap: MAP_FAILED with errno on failure; the caller munmaps.
	void *__map(uint64_t offset, uint64_t len, int prot, int flags) const;

	int __allocate(uint64_t offset, uint64_t len) const;
	int __punch_hole(uint64_t offset, uint64_t len) const;
	void allocate(uint64_t offset, uint64_t len) const;
	void punch_hole(uint64_t offset, uint64_t len) const;

	AttributesResult set_attributes(uint64_t offset, uint64_t size, uint64_t attributes,
					uint64_t flags = 0) const;
	// The whole request, for tests that fill reserved fields or odd values.
	AttributesResult __set_attributes(gmem_attributes2 *req) const;
	// Sees each refusal (EAGAIN) before it is retried; false stops the retries.
	using RefusalCheck = std::function<bool(const AttributesResult &)>;
	// set_attributes() under the suite's one retry policy: EAGAIN to private
	// is a transient reference, retried up to kConvertAttempts times; to
	// shared the contract never allows it, so it comes back at once.
	// *retries (when given) counts the EAGAIN answers retried.
	AttributesResult convert(uint64_t offset, uint64_t size, uint64_t attributes,
				 uint64_t flags = 0, uint64_t *retries = nullptr,
				 const RefusalCheck &on_refusal = nullptr) const;

private:
	UniqueFd fd_;
	uint64_t size_;
	uint64_t flags_;
};

}  // namespace kvmt
