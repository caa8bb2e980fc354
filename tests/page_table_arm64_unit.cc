// arm64 stage-1 encodings against values worked out by hand from the Arm ARM
// (DDI 0487, D8: VMSAv8-64 descriptors, TCR_EL1, MAIR_EL1, SCTLR_EL1), and
// the table walker on tables in plain memory. Runs on any host.
#include "../include/arm64/page_table_arm64.hh"
#include "../include/arm64/page_table_walk_arm64.hh"
#include "fake_page_allocator.hh"
#include "test.hh"
#if defined(__aarch64__)
#include "../include/arm64/ucall_arch.hh"
#endif

using namespace kvmt;
using namespace kvmt::arm64;

namespace {
// VA[47:39] = 1, VA[38:30] = 2, VA[29:21] = 3, VA[20:12] = 4, offset 0x567.
constexpr uint64_t kVa = (1ULL << 39) | (2ULL << 30) | (3ULL << 21) | (4ULL << 12) | 0x567;
static_assert(kVa == 0x0000008080604567ULL, "hand-computed VA");
constexpr uint64_t kPageVa = kVa & ~0xfffULL;
constexpr uint64_t kUnmapped = ~0ULL;

uint64_t walk(FakePageAllocator &alloc, uint64_t root, uint64_t va)
{
	return translate_va(alloc, root, va).value_or(kUnmapped);
}
}  // namespace

KVMT_TEST(page_table_arm64, index_per_level)
{
	EXPECT_EQ(pt_index(kVa, 0), 1u);
	EXPECT_EQ(pt_index(kVa, 1), 2u);
	EXPECT_EQ(pt_index(kVa, 2), 3u);
	EXPECT_EQ(pt_index(kVa, 3), 4u);
	for (int level = 0; level < kLevels; level++)
		EXPECT_EQ(pt_index(0x0000ffffffffffffULL, level), 511u);
	EXPECT_EQ(pt_index(0xfff, 3), 0u);
	EXPECT_EQ(pt_index(0x1000, 3), 1u);
	EXPECT_EQ(pt_index(0x200000, 2), 1u);
	EXPECT_EQ(pt_index(0x40000000, 1), 1u);
	EXPECT_EQ(pt_index(0x8000000000ULL, 0), 1u);
}

KVMT_TEST(page_table_arm64, level_sizes)
{
	EXPECT_EQ(level_shift(0), 39);
	EXPECT_EQ(level_shift(1), 30);
	EXPECT_EQ(level_shift(2), 21);
	EXPECT_EQ(level_shift(3), 12);
	EXPECT_EQ(level_size(1), 1ULL << 30);
	EXPECT_EQ(level_size(2), 2ULL << 20);
	EXPECT_EQ(level_size(3), kGuestPageSize);
	EXPECT_TRUE(in_ttbr0_range(0x0000ffffffffffffULL));
	EXPECT_FALSE(in_ttbr0_range(0x0001000000000000ULL));
	EXPECT_FALSE(in_ttbr0_range(0xffff000000000000ULL));
}

KVMT_TEST(page_table_arm64, table_descriptor)
{
	// Bits[1:0] = 0b11, next-level table address in bits[47:12].
	EXPECT_EQ(make_table_desc(0x1234000), 0x1234003ULL);
	EXPECT_EQ(make_table_desc(0x0000fffffffff000ULL), 0x0000fffffffff003ULL);
	for (int level = 0; level < 3; level++)
		EXPECT_TRUE(desc_is_table(make_table_desc(0x1234000), level));
	// The same bit pattern at level 3 is a page, not a table.
	EXPECT_FALSE(desc_is_table(make_table_desc(0x1234000), 3));
	EXPECT_TRUE(desc_is_page(make_table_desc(0x1234000), 3));
}

KVMT_TEST(page_table_arm64, page_descriptor_normal_memory)
{
	// 0b11 | AttrIndx 0 << 2 | AP 0b00 << 6 | SH 0b11 << 8 | AF << 10.
	uint64_t d = make_page_desc(0x40000000, MemType::kNormal);
	EXPECT_EQ(d, 0x40000703ULL);
	EXPECT_EQ(desc_attr_index(d), 0u);
	EXPECT_EQ((d >> 6) & 3, 0ULL);     // AP: EL1 read/write, no EL0
	EXPECT_EQ((d >> 8) & 3, 3ULL);     // SH: inner shareable
	EXPECT_EQ((d >> 10) & 1, 1ULL);    // AF
	EXPECT_EQ((d >> 53) & 3, 0ULL);    // PXN, UXN clear: code can run from it
	EXPECT_TRUE(desc_is_page(d, 3));
}

KVMT_TEST(page_table_arm64, page_descriptor_device_memory)
{
	// As normal memory, but AttrIndx 1 << 2 and PXN (bit 53) | UXN (bit 54).
	uint64_t d = make_page_desc(0xffffff000ULL, MemType::kDevice);
	EXPECT_EQ(d, 0x0060000ffffff707ULL);
	EXPECT_EQ(desc_attr_index(d), 1u);
	EXPECT_EQ(d & kDescPxn, 1ULL << 53);
	EXPECT_EQ(d & kDescUxn, 1ULL << 54);
}

KVMT_TEST(page_table_arm64, output_address_round_trip)
{
	const uint64_t pas[] = {0, 0x1000, 0x40000000, 0xffffff000ULL, 0x0000fffffffff000ULL};
	for (uint64_t pa : pas) {
		EXPECT_EQ(desc_address(make_page_desc(pa, MemType::kNormal)), pa);
		EXPECT_EQ(desc_address(make_page_desc(pa, MemType::kDevice)), pa);
		EXPECT_EQ(desc_address(make_table_desc(pa)), pa);
	}
	// Attribute bits on both sides of OA[47:12] are not part of the address.
	EXPECT_EQ(desc_address(0xffe0123456789fffULL), 0x0000123456789000ULL);
	EXPECT_EQ(kDescAddressMask, 0x0000fffffffff000ULL);
}

KVMT_TEST(page_table_arm64, mair)
{
	// Attr0 = 0xff (Normal WB RW-allocate), Attr1 = 0x04 (Device-nGnRE).
	EXPECT_EQ(kMairEl1, 0x04ffULL);
	EXPECT_EQ((kMairEl1 >> (8 * static_cast<unsigned>(MemType::kNormal))) & 0xff, 0xffULL);
	EXPECT_EQ((kMairEl1 >> (8 * static_cast<unsigned>(MemType::kDevice))) & 0xff, 0x04ULL);
}

KVMT_TEST(page_table_arm64, tcr)
{
	// T0SZ 16 | IRGN0 01 << 8 | ORGN0 01 << 10 | SH0 11 << 12 | TG0 00 << 14
	// | T1SZ 16 << 16 | EPD1 << 23 | TG1 10 << 30 | IPS 010 << 32.
	uint64_t tcr = tcr_el1(kIps40);
	EXPECT_EQ(tcr, 0x0000000280903510ULL);
	EXPECT_EQ(tcr & 0x3f, 16ULL);
	EXPECT_EQ((tcr >> 8) & 3, 1ULL);
	EXPECT_EQ((tcr >> 10) & 3, 1ULL);
	EXPECT_EQ((tcr >> 12) & 3, 3ULL);
	EXPECT_EQ((tcr >> 14) & 3, 0ULL);
	EXPECT_EQ((tcr >> 7) & 1, 0ULL);   // EPD0: TTBR0 walks enabled
	EXPECT_EQ((tcr >> 23) & 1, 1ULL);
	EXPECT_EQ((tcr >> 32) & 7, 2ULL);
	EXPECT_EQ(tcr_el1(kIps48), 0x0000000580903510ULL);
}

KVMT_TEST(page_table_arm64, ips_from_parange)
{
	EXPECT_EQ(ips_for_parange(0), 0ULL);    // 32 bits
	EXPECT_EQ(ips_for_parange(2), 2ULL);    // 40 bits
	EXPECT_EQ(ips_for_parange(5), 5ULL);    // 48 bits
	EXPECT_EQ(ips_for_parange(6), 5ULL);    // 52 bits needs LPA2 descriptors
}

KVMT_TEST(page_table_arm64, sctlr_pstate_cpacr)
{
	// KVM's SCTLR_EL1 reset value 0x00c50078 plus M (0), C (2), I (12).
	EXPECT_EQ(sctlr_el1_mmu_on(0x00c50078), 0x00c5107dULL);
	// A (1) and WXN (19) end up clear whatever the reset value.
	EXPECT_EQ(sctlr_el1_mmu_on(0x00c50078 | (1 << 1) | (1 << 19)), 0x00c5107dULL);
	EXPECT_EQ(kPstateEl1hMasked, 0x3c5ULL);  // M[3:0] = 0b0101, DAIF set
	EXPECT_EQ(kCpacrFpenNoTrap, 0x300000ULL);
}

KVMT_TEST(page_table_arm64, walk_builds_four_levels)
{
	FakePageAllocator alloc;
	uint64_t root = alloc.alloc_page();
	map_page(alloc, root, kPageVa, 0x40000000, MemType::kNormal);
	ASSERT_EQ(alloc.pages(), 4u);
	// Tables come from the allocator in walk order: L1, L2, L3.
	EXPECT_EQ(alloc.entries(root)[1], alloc.page_gpa(1) | 3);
	EXPECT_EQ(alloc.entries(alloc.page_gpa(1))[2], alloc.page_gpa(2) | 3);
	EXPECT_EQ(alloc.entries(alloc.page_gpa(2))[3], alloc.page_gpa(3) | 3);
	EXPECT_EQ(alloc.entries(alloc.page_gpa(3))[4], 0x40000703ULL);
	for (size_t i = 0; i < alloc.pages(); i++)
		EXPECT_EQ(alloc.used_entries(alloc.page_gpa(i)), 1);
}

KVMT_TEST(page_table_arm64, walk_translates_and_shares_tables)
{
	FakePageAllocator alloc;
	uint64_t root = alloc.alloc_page();
	map_page(alloc, root, kPageVa, 0x40000000, MemType::kNormal);
	EXPECT_EQ(walk(alloc, root, kVa), 0x40000567ULL);
	EXPECT_EQ(walk(alloc, root, kPageVa + 0x1000), kUnmapped);
	EXPECT_EQ(walk(alloc, root, kVa + (1ULL << 39)), kUnmapped);
	EXPECT_EQ(walk(alloc, root, kVa | (1ULL << 48)), kUnmapped);

	// The next page reuses all three tables.
	map_page(alloc, root, kPageVa + 0x1000, 0x7000, MemType::kNormal);
	EXPECT_EQ(alloc.pages(), 4u);
	EXPECT_EQ(walk(alloc, root, kPageVa + 0x1fff), 0x7fffULL);
	// Another 512 GiB slot needs a new L1, L2 and L3 table.
	map_page(alloc, root, 0x0000ff8000000000ULL, 0x9000, MemType::kDevice);
	EXPECT_EQ(alloc.pages(), 7u);
	EXPECT_EQ(alloc.used_entries(root), 2);
	EXPECT_EQ(walk(alloc, root, 0x0000ff8000000008ULL), 0x9008ULL);
	// Remapping replaces the leaf only.
	map_page(alloc, root, kPageVa, 0x50000000, MemType::kNormal);
	EXPECT_EQ(alloc.pages(), 7u);
	EXPECT_EQ(walk(alloc, root, kVa), 0x50000567ULL);
}

KVMT_TEST(page_table_arm64, walk_follows_blocks)
{
	FakePageAllocator alloc;
	uint64_t root = alloc.alloc_page();
	map_page(alloc, root, kPageVa, 0x40000000, MemType::kNormal);
	uint64_t l1 = alloc.page_gpa(1), l2 = alloc.page_gpa(2);
	// A 1 GiB block (bits[1:0] = 0b01) at level 1, output 0x80000000.
	alloc.entries(l1)[7] = 0x80000000ULL | 0x701;
	EXPECT_EQ(walk(alloc, root, (1ULL << 39) | (7ULL << 30) | 0x123456), 0x80123456ULL);
	// A 2 MiB block at level 2, output 0x600000.
	alloc.entries(l2)[5] = 0x600000ULL | 0x701;
	uint64_t va = (1ULL << 39) | (2ULL << 30) | (5ULL << 21) | 0x1abcd;
	EXPECT_EQ(walk(alloc, root, va), 0x61abcdULL);
	// 0b01 is reserved at level 0 and level 3: the walk faults.
	alloc.entries(root)[9] = 0x80000000ULL | 0x701;
	EXPECT_EQ(walk(alloc, root, 9ULL << 39), kUnmapped);
	alloc.entries(alloc.page_gpa(3))[6] = 0x9000ULL | 0x701;
	EXPECT_EQ(walk(alloc, root, kPageVa + 0x2000), kUnmapped);
}

KVMT_TEST(page_table_arm64, map_rejects_addresses_beyond_ttbr0)
{
	FakePageAllocator alloc;
	uint64_t root = alloc.alloc_page();
	bool threw = false;
	try {
		map_page(alloc, root, 1ULL << 48, 0x1000, MemType::kNormal);
	} catch (const Error &) {
		threw = true;
	}
	EXPECT_TRUE(threw);
	EXPECT_EQ(alloc.pages(), 1u);
}

#if defined(__aarch64__)
// The library's own PageTables (this build's): the ucall page is device memory.
KVMT_TEST(page_table_arm64, page_tables_map_mmio_as_device)
{
	FakePageAllocator alloc;
	PageTables tables(alloc);
	tables.map(kPageVa, 0x40000000);
	tables.map(kUcallMmioGpa, kUcallMmioGpa);
	EXPECT_EQ(tables.translate(kVa).value_or(kUnmapped), 0x40000567ULL);
	EXPECT_EQ(tables.translate(kUcallMmioGpa + 8).value_or(kUnmapped), kUcallMmioGpa + 8);
	uint64_t table = tables.root();
	for (int level = 0; level < kLevels - 1; level++)
		table = desc_address(alloc.entries(table)[pt_index(kUcallMmioGpa, level)]);
	EXPECT_EQ(alloc.entries(table)[pt_index(kUcallMmioGpa, 3)],
		  make_page_desc(kUcallMmioGpa, MemType::kDevice));
}
#endif
