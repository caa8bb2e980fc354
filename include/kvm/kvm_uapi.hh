// KVM UAPI as this suite needs it. Definitions come from the headers the
// build uses (KHDR_INCLUDES, or the system's); whatever those headers lack is
// supplied here under #ifndef, with the values of the applied series
// (../shared/spec/gmem-conversion-uapi.md, section 2).
#pragma once

#include <linux/kvm.h>
#include <stddef.h>
#include <string.h>
#include <stdint.h>

#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO 232
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES 233
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif
#ifndef KVM_CAP_PRE_FAULT_MEMORY
#define KVM_CAP_PRE_FAULT_MEMORY 236
#endif
#ifndef KVM_CAP_GUEST_MEMFD_FLAGS
#define KVM_CAP_GUEST_MEMFD_FLAGS 244
#endif
// The applied revision's (v13) number. Every revision used its own (RFC v3-v7
// 249, v8-v12 250): lib/gmem/profile.cc knows them all, and the profile says
// whether this one came from the headers the build used.
#ifndef KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES
#define KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES 252
#define KVMT_GMEM_ATTRIBUTES_CAP_FROM_DEFAULTS 1
#endif
// RFC v4/v5 only; the number collides with the applied series' cap above.
#ifndef KVM_CAP_MEMORY_ATTRIBUTES2_FLAGS
#define KVM_CAP_MEMORY_ATTRIBUTES2_FLAGS 250
#endif
#ifndef KVM_CAP_EXIT_HYPERCALL
#define KVM_CAP_EXIT_HYPERCALL 201
#endif
#ifndef KVM_HC_MAP_GPA_RANGE
#define KVM_HC_MAP_GPA_RANGE 12
#endif

#ifndef KVM_MEM_GUEST_MEMFD
#define KVM_MEM_GUEST_MEMFD (1UL << 2)
#endif
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT 39
#endif
#ifndef KVM_MEMORY_EXIT_FLAG_PRIVATE
#define KVM_MEMORY_EXIT_FLAG_PRIVATE (1ULL << 3)
#endif
#ifndef KVM_MEMORY_ATTRIBUTE_PRIVATE
#define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)
#endif

#ifndef GUEST_MEMFD_FLAG_MMAP
#define GUEST_MEMFD_FLAG_MMAP (1ULL << 0)
#endif
#ifndef GUEST_MEMFD_FLAG_INIT_SHARED
#define GUEST_MEMFD_FLAG_INIT_SHARED (1ULL << 1)
#endif

#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif

#ifndef KVM_CREATE_GUEST_MEMFD
struct kvm_create_guest_memfd {
	__u64 size;
	__u64 flags;
	__u64 reserved[6];
};
#define KVM_CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)
#endif

#ifndef KVM_SET_MEMORY_ATTRIBUTES
struct kvm_memory_attributes {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};
#define KVM_SET_MEMORY_ATTRIBUTES _IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
#endif

namespace kvmt {

// The per-gmem request. Field names differ between revisions of the series,
// so the suite keeps its own layout (identical in every revision since RFC v3)
// and only takes the ioctl number from the headers when they have it.
struct gmem_attributes2 {
	uint64_t offset;
	uint64_t size;
	uint64_t attributes;
	uint64_t flags;
	uint64_t error_offset;
	uint64_t reserved[11];
};
static_assert(sizeof(gmem_attributes2) == 128, "kvm_memory_attributes2 is 128 bytes");

#ifdef KVM_SET_MEMORY_ATTRIBUTES2
constexpr unsigned long kSetMemoryAttributes2 = KVM_SET_MEMORY_ATTRIBUTES2;
#else
constexpr unsigned long kSetMemoryAttributes2 = _IOWR(KVMIO, 0xd2, gmem_attributes2);
#endif
static_assert((kSetMemoryAttributes2 & 0xffff) == 0xAED2, "ioctl nr 0xd2 on KVMIO");

// Content modes of RFC v3..v5 (section 4 of the spec).
constexpr uint64_t kContentUnspecified = 0;
constexpr uint64_t kContentZero = 1ULL << 0;
constexpr uint64_t kContentPreserve = 1ULL << 1;

// run->memory_fault, which the system's 6.1 struct kvm_run does not name.
struct memory_fault_exit {
	uint64_t flags;
	uint64_t gpa;
	uint64_t size;
};

inline memory_fault_exit memory_fault_of(const kvm_run &run)
{
	memory_fault_exit e;
	memcpy(&e, &run.hw, sizeof(e));
	return e;
}

}  // namespace kvmt
