// x86-64 paging and control-register encodings (4-level, 4 KiB pages).
#pragma once

#include <cstdint>

namespace kvmt::x86 {

constexpr int kLevels = 4;
constexpr uint64_t kPtePresent = 1ULL << 0;
constexpr uint64_t kPteWritable = 1ULL << 1;
constexpr uint64_t kPteUser = 1ULL << 2;
constexpr uint64_t kPteAddressMask = 0x000ffffffffff000ULL;

constexpr uint64_t kCr0Pe = 1ULL << 0, kCr0Mp = 1ULL << 1, kCr0Et = 1ULL << 4,
		   kCr0Ne = 1ULL << 5, kCr0Wp = 1ULL << 16, kCr0Am = 1ULL << 18,
		   kCr0Pg = 1ULL << 31;
constexpr uint64_t kCr4Pae = 1ULL << 5, kCr4Osfxsr = 1ULL << 9, kCr4Osxmmexcpt = 1ULL << 10;
constexpr uint64_t kEferLme = 1ULL << 8, kEferLma = 1ULL << 10;

// Index into the table of a level (0 = page table, 3 = PML4).
constexpr unsigned pt_index(uint64_t gva, int level)
{
	return (gva >> (12 + 9 * level)) & 0x1ff;
}

// Present, writable and user-accessible (so CPL3 guest code can use it too).
constexpr uint64_t make_pte(uint64_t gpa)
{
	return (gpa & kPteAddressMask) | kPtePresent | kPteWritable | kPteUser;
}

constexpr uint64_t pte_address(uint64_t pte)
{
	return pte & kPteAddressMask;
}

}  // namespace kvmt::x86
