// AArch64 stage-1 translation as this suite's guests use it, and the EL1
// register values that turn it on: EL1&0 regime, TTBR0_EL1 only, 4 KiB
// granule, 48-bit virtual addresses, so 4 levels of 512-entry tables (level 0
// is the root, level 3 holds pages). Values follow the Arm ARM (DDI 0487),
// chapter D8 "The AArch64 Virtual Memory System Architecture". Pure
// encodings, so they can be checked on any host.
#pragma once

#include <cstdint>

namespace kvmt::arm64 {

constexpr int kLevels = 4;
constexpr int kVaBits = 48;
constexpr int kPageShift = 12;
constexpr int kBitsPerLevel = 9;
constexpr uint64_t kEntriesPerTable = 1ULL << kBitsPerLevel;

// Descriptor bits 1:0: 0b11 is a table at levels 0-2 and a page at level 3,
// 0b01 is a block at levels 1-2 (reserved elsewhere), bit 0 clear is invalid.
constexpr uint64_t kDescValid = 1ULL << 0;
constexpr uint64_t kDescTypeMask = 3ULL;
constexpr uint64_t kDescTableOrPage = 3ULL;
constexpr uint64_t kDescBlock = 1ULL;

// Lower attributes of block and page descriptors.
constexpr int kDescAttrIndxShift = 2;      // AttrIndx[2:0]: MAIR_EL1 slot
constexpr uint64_t kDescApRwEl1 = 0ULL << 6;  // AP[2:1] = 0b00: EL1 RW, no EL0 access
constexpr uint64_t kDescShInner = 3ULL << 8;  // SH[1:0] = 0b11: Inner Shareable
constexpr uint64_t kDescAf = 1ULL << 10;      // Access flag: no Access flag fault
// Upper attributes.
constexpr uint64_t kDescPxn = 1ULL << 53;
constexpr uint64_t kDescUxn = 1ULL << 54;

// Output address bits 47:12 (no 52-bit output without FEAT_LPA2 and TCR.DS).
constexpr uint64_t kDescAddressMask = 0x0000fffffffff000ULL;

// MAIR_EL1 slots used by the descriptors.
enum class MemType : unsigned {
	kNormal = 0,  // Normal, Inner/Outer Write-Back non-transient, R/W-allocate
	kDevice = 1,  // Device-nGnRE (MMIO)
};
constexpr uint64_t kMairNormalWb = 0xff;
constexpr uint64_t kMairDeviceNgnre = 0x04;
constexpr uint64_t kMairEl1 = kMairNormalWb << (8 * static_cast<unsigned>(MemType::kNormal)) |
			      kMairDeviceNgnre << (8 * static_cast<unsigned>(MemType::kDevice));

// Bits of the address space one entry of a level translates (level 3: a page).
constexpr int level_shift(int level)
{
	return kPageShift + kBitsPerLevel * (kLevels - 1 - level);
}

constexpr uint64_t level_size(int level)
{
	return 1ULL << level_shift(level);
}

// Index into the table of a level (0 = root, VA[47:39]; 3 = VA[20:12]).
constexpr unsigned pt_index(uint64_t va, int level)
{
	return static_cast<unsigned>((va >> level_shift(level)) & (kEntriesPerTable - 1));
}

// Whether TTBR0_EL1 with T0SZ = 16 translates the address at all.
constexpr bool in_ttbr0_range(uint64_t va)
{
	return (va >> kVaBits) == 0;
}

constexpr uint64_t desc_address(uint64_t desc)
{
	return desc & kDescAddressMask;
}

constexpr bool desc_is_valid(uint64_t desc)
{
	return desc & kDescValid;
}

constexpr bool desc_is_table(uint64_t desc, int level)
{
	return level < kLevels - 1 && (desc & kDescTypeMask) == kDescTableOrPage;
}

constexpr bool desc_is_block(uint64_t desc, int level)
{
	return (level == 1 || level == 2) && (desc & kDescTypeMask) == kDescBlock;
}

constexpr bool desc_is_page(uint64_t desc, int level)
{
	return level == kLevels - 1 && (desc & kDescTypeMask) == kDescTableOrPage;
}

constexpr unsigned desc_attr_index(uint64_t desc)
{
	return static_cast<unsigned>((desc >> kDescAttrIndxShift) & 7);
}

// Next-level table; its hierarchical attributes (APTable, XNTable...) stay 0,
// so they restrict nothing.
constexpr uint64_t make_table_desc(uint64_t table_pa)
{
	return (table_pa & kDescAddressMask) | kDescTableOrPage;
}

// A 4 KiB page, EL1 read/write. Normal memory stays executable at EL1 (guest
// code runs from it); device memory is never executable, which also keeps
// speculative instruction fetches away from MMIO.
constexpr uint64_t make_page_desc(uint64_t pa, MemType type)
{
	uint64_t desc = (pa & kDescAddressMask) | kDescTableOrPage |
			(static_cast<uint64_t>(type) << kDescAttrIndxShift) | kDescApRwEl1 |
			kDescShInner | kDescAf;
	if (type == MemType::kDevice)
		desc |= kDescPxn | kDescUxn;
	return desc;
}

// TCR_EL1 fields.
constexpr uint64_t kTcrT0szShift = 0;
constexpr uint64_t kTcrT0sz = 64 - kVaBits;        // 16
constexpr uint64_t kTcrIrgn0Wbwa = 1ULL << 8;      // inner Write-Back Read/Write-Allocate walks
constexpr uint64_t kTcrOrgn0Wbwa = 1ULL << 10;     // outer Write-Back Read/Write-Allocate walks
constexpr uint64_t kTcrSh0Inner = 3ULL << 12;
constexpr uint64_t kTcrTg0_4k = 0ULL << 14;
constexpr uint64_t kTcrT1szShift = 16;
constexpr uint64_t kTcrEpd1 = 1ULL << 23;          // no walks through TTBR1_EL1
constexpr uint64_t kTcrTg1_4k = 2ULL << 30;        // TG1 encodes 4 KiB as 0b10, unlike TG0
constexpr uint64_t kTcrIpsShift = 32;

// TCR_EL1.IPS / ID_AA64MMFR0_EL1.PARange encodings.
constexpr uint64_t kIps32 = 0, kIps36 = 1, kIps40 = 2, kIps42 = 3, kIps44 = 4, kIps48 = 5,
		   kIps52 = 6;

// The output size to program for the CPU's PARange. 52-bit output needs the
// FEAT_LPA2 descriptor format (TCR_EL1.DS), which these tables do not use.
constexpr uint64_t ips_for_parange(uint64_t parange)
{
	return parange > kIps48 ? kIps48 : parange;
}

// TTBR1_EL1 is left unused (EPD1); its size and granule fields still get
// valid values so that no field holds a reserved encoding.
constexpr uint64_t tcr_el1(uint64_t ips)
{
	return kTcrT0sz << kTcrT0szShift | kTcrIrgn0Wbwa | kTcrOrgn0Wbwa | kTcrSh0Inner |
	       kTcrTg0_4k | kTcrT0sz << kTcrT1szShift | kTcrEpd1 | kTcrTg1_4k |
	       (ips & 7) << kTcrIpsShift;
}

// SCTLR_EL1 bits this suite controls.
constexpr uint64_t kSctlrM = 1ULL << 0;     // stage-1 MMU on
constexpr uint64_t kSctlrA = 1ULL << 1;     // alignment checks
constexpr uint64_t kSctlrC = 1ULL << 2;     // data caches
constexpr uint64_t kSctlrI = 1ULL << 12;    // instruction caches
constexpr uint64_t kSctlrWxn = 1ULL << 19;  // writable implies execute-never

// Starts from the vCPU's reset value so that RES1 bits keep the value KVM
// gives them. Alignment checks stay off (compiled code may access unaligned
// normal memory) and so does WXN (guest code lives in writable pages).
constexpr uint64_t sctlr_el1_mmu_on(uint64_t reset_value)
{
	return (reset_value | kSctlrM | kSctlrC | kSctlrI) & ~(kSctlrA | kSctlrWxn);
}

// CPACR_EL1.FPEN = 0b11: FP/SIMD instructions (which libgcc or the compiler
// may use) do not trap at EL1 or EL0.
constexpr uint64_t kCpacrFpenNoTrap = 3ULL << 20;

// PSTATE at entry: EL1 using SP_EL1 (EL1h), D, A, I and F masked.
constexpr uint64_t kPstateModeEl1h = 0x5;
constexpr uint64_t kPstateDaifMasked = 0xfULL << 6;
constexpr uint64_t kPstateEl1hMasked = kPstateModeEl1h | kPstateDaifMasked;

}  // namespace kvmt::arm64
