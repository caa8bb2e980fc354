// SEV / SEV-SNP launch UAPI as the SNP tests need it. The system's headers
// (Debian's 6.1) have KVM_MEMORY_ENCRYPT_OP, struct kvm_sev_cmd and the
// SEV-only commands; KVM_SEV_INIT2 (6.10) and the SNP commands (6.11) come
// from arch/x86/include/uapi/asm/kvm.h of the kernel and are supplied here
// when the headers lack them. KVM_X86_SEV_VM and KVM_X86_SNP_VM were added
// with them, so they tell which headers are new enough.
#pragma once

#include <linux/kvm.h>
#include <stdint.h>

#ifndef KVM_X86_SEV_VM
#define KVM_X86_SEV_VM 2
#define KVM_X86_SEV_ES_VM 3
// enum sev_cmd_id, after KVM_SEV_SEND_CANCEL (21).
#define KVM_SEV_INIT2 22

struct kvm_sev_init {
	__u64 vmsa_features;
	__u32 flags;
	__u16 ghcb_version;
	__u16 pad1;
	__u32 pad2[8];
};
#endif

#ifndef KVM_X86_SNP_VM
#define KVM_X86_SNP_VM 4
#define KVM_SEV_SNP_LAUNCH_START 100
#define KVM_SEV_SNP_LAUNCH_UPDATE 101
#define KVM_SEV_SNP_LAUNCH_FINISH 102

struct kvm_sev_snp_launch_start {
	__u64 policy;
	__u8 gosvw[16];
	__u16 flags;
	__u8 pad0[6];
	__u64 pad1[4];
};

#define KVM_SEV_SNP_PAGE_TYPE_NORMAL 0x1
#define KVM_SEV_SNP_PAGE_TYPE_ZERO 0x3
#define KVM_SEV_SNP_PAGE_TYPE_UNMEASURED 0x4
#define KVM_SEV_SNP_PAGE_TYPE_SECRETS 0x5
#define KVM_SEV_SNP_PAGE_TYPE_CPUID 0x6

struct kvm_sev_snp_launch_update {
	__u64 gfn_start;
	__u64 uaddr;
	__u64 len;
	__u8 type;
	__u8 pad0;
	__u16 flags;
	__u32 pad1;
	__u64 pad2[4];
};

#define KVM_SEV_SNP_ID_BLOCK_SIZE 96
#define KVM_SEV_SNP_ID_AUTH_SIZE 4096
#define KVM_SEV_SNP_FINISH_DATA_SIZE 32

struct kvm_sev_snp_launch_finish {
	__u64 id_block_uaddr;
	__u64 id_auth_uaddr;
	__u8 id_block_en;
	__u8 auth_key_en;
	__u8 vcek_disabled;
	__u8 host_data[KVM_SEV_SNP_FINISH_DATA_SIZE];
	__u8 pad0[3];
	__u16 flags;
	__u64 pad1[4];
};
#endif

static_assert(sizeof(struct kvm_sev_cmd) == 24, "struct kvm_sev_cmd");
static_assert(sizeof(struct kvm_sev_init) == 48, "struct kvm_sev_init");
static_assert(sizeof(struct kvm_sev_snp_launch_start) == 64, "struct kvm_sev_snp_launch_start");
static_assert(sizeof(struct kvm_sev_snp_launch_update) == 64, "struct kvm_sev_snp_launch_update");
static_assert(sizeof(struct kvm_sev_snp_launch_finish) == 88, "struct kvm_sev_snp_launch_finish");

namespace kvmt::x86 {

constexpr const char *kSevDevice = "/dev/sev";

// SNP guest policy bits KVM checks (arch/x86/kvm/svm/sev.c): SMT must be
// allowed and bit 17 is reserved-must-be-one.
constexpr uint64_t kSnpPolicySmt = 1ULL << 16;
constexpr uint64_t kSnpPolicyReservedMbo = 1ULL << 17;

// Firmware status codes (include/uapi/linux/psp-sev.h, enum sev_ret_code).
constexpr uint32_t kSevRetSuccess = 0;
constexpr uint32_t kSevRetInvalidParam = 0x16;

// The SNP CPUID page (SEV-SNP firmware ABI, "CPUID reporting"; the guest
// kernel's struct snp_cpuid_table): up to 64 functions, each with its inputs
// and the values the guest will see.
struct SnpCpuidFunction {
	uint32_t eax_in;
	uint32_t ecx_in;
	uint64_t xcr0_in;
	uint64_t xss_in;
	uint32_t eax;
	uint32_t ebx;
	uint32_t ecx;
	uint32_t edx;
	uint64_t reserved;
};
constexpr int kSnpCpuidMaxFunctions = 64;
struct SnpCpuidTable {
	uint32_t count;
	uint32_t reserved1;
	uint64_t reserved2;
	SnpCpuidFunction fn[kSnpCpuidMaxFunctions];
};
static_assert(sizeof(SnpCpuidFunction) == 48, "SNP CPUID function entry");
static_assert(sizeof(SnpCpuidTable) == 16 + 64 * 48, "SNP CPUID table");

}  // namespace kvmt::x86
