// TDX launch UAPI (mainline 6.16+, arch/x86/include/uapi/asm/kvm.h and
// Documentation/virt/kvm/x86/intel-tdx.rst), supplied when the headers lack
// it; KVM_X86_TDX_VM was added with it.
#pragma once

#include <linux/kvm.h>
#include <stdint.h>

#ifndef KVM_X86_TDX_VM
#define KVM_X86_TDX_VM 5

// enum kvm_tdx_cmd_id
#define KVM_TDX_CAPABILITIES 0
#define KVM_TDX_INIT_VM 1
#define KVM_TDX_INIT_VCPU 2
#define KVM_TDX_INIT_MEM_REGION 3
#define KVM_TDX_FINALIZE_VM 4
#define KVM_TDX_GET_CPUID 5

struct kvm_tdx_cmd {
	__u32 id;
	__u32 flags;
	__u64 data;
	__u64 hw_error;
};

#define KVM_TDX_MEASURE_MEMORY_REGION (1ULL << 0)

struct kvm_tdx_init_mem_region {
	__u64 source_addr;
	__u64 gpa;
	__u64 nr_pages;
};
#endif

#ifndef KVM_CAP_SPLIT_IRQCHIP
#define KVM_CAP_SPLIT_IRQCHIP 121
#endif

static_assert(sizeof(struct kvm_tdx_cmd) == 24, "struct kvm_tdx_cmd");
static_assert(sizeof(struct kvm_tdx_init_mem_region) == 24, "struct kvm_tdx_init_mem_region");

namespace kvmt::x86 {

// struct kvm_tdx_capabilities and struct kvm_tdx_init_vm up to their
// trailing struct kvm_cpuid2 (whose entries the suite appends itself; the
// field set of the capabilities grew in 6.17 within the same size).
struct TdxCapabilitiesHead {
	uint64_t supported_attrs;
	uint64_t supported_xfam;
	uint64_t kernel_tdvmcallinfo_1_r11;
	uint64_t user_tdvmcallinfo_1_r11;
	uint64_t kernel_tdvmcallinfo_1_r12;
	uint64_t user_tdvmcallinfo_1_r12;
	uint64_t reserved[250];
};
static_assert(sizeof(TdxCapabilitiesHead) == 2048, "kvm_tdx_capabilities before cpuid");

struct TdxInitVmHead {
	uint64_t attributes;
	uint64_t xfam;
	uint64_t mrconfigid[6];
	uint64_t mrowner[6];
	uint64_t mrownerconfig[6];
	uint64_t reserved[12];
};
static_assert(sizeof(TdxInitVmHead) == 256, "kvm_tdx_init_vm before cpuid");

}  // namespace kvmt::x86
