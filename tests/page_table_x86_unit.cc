// x86-64 4-level paging encodings against values worked out by hand from the
// Intel SDM (vol. 3A, 4.5 "4-Level Paging"), and, in the x86 build, the
// library's PageTables on tables in plain memory.
#include "../include/x86/page_table_x86.hh"
#include "fake_page_allocator.hh"
#include "test.hh"

using namespace kvmt;
using namespace kvmt::x86;

namespace {
// PML4 index 1 (VA[47:39]), PDPT 2 (VA[38:30]), PD 3 (VA[29:21]), PT 4
// (VA[20:12]), offset 0x567.
constexpr uint64_t kVa = (1ULL << 39) | (2ULL << 30) | (3ULL << 21) | (4ULL << 12) | 0x567;
static_assert(kVa == 0x0000008080604567ULL, "hand-computed VA");
constexpr uint64_t kPageVa = kVa & ~0xfffULL;
constexpr uint64_t kUnmapped = ~0ULL;
}  // namespace

KVMT_TEST(page_table_x86, index_per_level)
{
	// Level 3 is the PML4, level 0 the page table.
	EXPECT_EQ(pt_index(kVa, 3), 1u);
	EXPECT_EQ(pt_index(kVa, 2), 2u);
	EXPECT_EQ(pt_index(kVa, 1), 3u);
	EXPECT_EQ(pt_index(kVa, 0), 4u);
	for (int level = 0; level < kLevels; level++)
		EXPECT_EQ(pt_index(0x0000ffffffffffffULL, level), 511u);
	EXPECT_EQ(pt_index(0x1000, 0), 1u);
	EXPECT_EQ(pt_index(0x200000, 1), 1u);
	EXPECT_EQ(pt_index(0x40000000, 2), 1u);
	EXPECT_EQ(pt_index(0x8000000000ULL, 3), 1u);
	// Canonical sign-extension bits 63:48 do not leak into the PML4 index.
	EXPECT_EQ(pt_index(0xffff800000000000ULL, 3), 256u);
}

KVMT_TEST(page_table_x86, pte_bits)
{
	// P (bit 0) | R/W (bit 1) | U/S (bit 2) over the address.
	EXPECT_EQ(kPtePresent, 1ULL);
	EXPECT_EQ(kPteWritable, 2ULL);
	EXPECT_EQ(kPteUser, 4ULL);
	EXPECT_EQ(make_pte(0x40000000), 0x40000007ULL);
	EXPECT_EQ(make_pte(0x000ffffffffff000ULL), 0x000ffffffffff007ULL);
	// Offset bits and bits above 51 are not part of the entry's address.
	EXPECT_EQ(make_pte(0x1234567), 0x1234007ULL);
	EXPECT_EQ(make_pte(0xfff0000000001000ULL), 0x1007ULL);
}

KVMT_TEST(page_table_x86, address_mask)
{
	EXPECT_EQ(kPteAddressMask, 0x000ffffffffff000ULL);
	// XD (bit 63), Accessed (5), Dirty (6) and the flags are stripped.
	EXPECT_EQ(pte_address(0x8000000040000067ULL), 0x40000000ULL);
	const uint64_t pas[] = {0, 0x1000, 0x40000000, 0x000ffffffffff000ULL};
	for (uint64_t pa : pas)
		EXPECT_EQ(pte_address(make_pte(pa)), pa);
}

KVMT_TEST(page_table_x86, control_registers)
{
	EXPECT_EQ(kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Am | kCr0Pg, 0x80050033ULL);
	EXPECT_EQ(kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt, 0x620ULL);
	EXPECT_EQ(kEferLme | kEferLma, 0x500ULL);
}

#if defined(__x86_64__)
KVMT_TEST(page_table_x86, page_tables_walk)
{
	FakePageAllocator alloc;
	PageTables tables(alloc);
	ASSERT_EQ(tables.root(), alloc.page_gpa(0));
	tables.map(kPageVa, 0x40000000);
	ASSERT_EQ(alloc.pages(), 4u);
	// Tables come from the allocator in walk order: PDPT, PD, PT.
	EXPECT_EQ(alloc.entries(alloc.page_gpa(0))[1], alloc.page_gpa(1) | 7);
	EXPECT_EQ(alloc.entries(alloc.page_gpa(1))[2], alloc.page_gpa(2) | 7);
	EXPECT_EQ(alloc.entries(alloc.page_gpa(2))[3], alloc.page_gpa(3) | 7);
	EXPECT_EQ(alloc.entries(alloc.page_gpa(3))[4], 0x40000007ULL);
	for (size_t i = 0; i < alloc.pages(); i++)
		EXPECT_EQ(alloc.used_entries(alloc.page_gpa(i)), 1);

	EXPECT_EQ(tables.translate(kVa).value_or(kUnmapped), 0x40000567ULL);
	EXPECT_EQ(tables.translate(kPageVa + 0x1000).value_or(kUnmapped), kUnmapped);
	EXPECT_EQ(tables.translate(kVa + (1ULL << 39)).value_or(kUnmapped), kUnmapped);

	tables.map(kPageVa + 0x1000, 0x7000);
	EXPECT_EQ(alloc.pages(), 4u);
	EXPECT_EQ(tables.translate(kPageVa + 0x1fff).value_or(kUnmapped), 0x7fffULL);
	tables.map(0x00007f8000000000ULL, 0x9000);
	EXPECT_EQ(alloc.pages(), 7u);
	EXPECT_EQ(tables.translate(0x00007f8000000008ULL).value_or(kUnmapped), 0x9008ULL);
}
#endif
