// Building and walking arm64 stage-1 tables that live in guest memory, reached
// through a PageAllocator. PageTables uses it in the arm64 build; being plain
// memory operations it also runs in the unit tests on any host.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>

#include "errors.hh"
#include "page_table_arm64.hh"
#include "processor.hh"

namespace kvmt::arm64 {

static_assert(level_size(kLevels - 1) == kGuestPageSize, "a level-3 entry maps one guest page");

inline uint64_t *table_entries(PageAllocator &alloc, uint64_t table_pa)
{
	return static_cast<uint64_t *>(alloc.page_hva(table_pa));
}

// Maps one guest page, creating the intermediate tables it needs.
inline void map_page(PageAllocator &alloc, uint64_t root, uint64_t va, uint64_t pa, MemType type)
{
	if (!in_ttbr0_range(va)) {
		char buf[96];
		snprintf(buf, sizeof(buf),
			 "guest virtual address 0x%llx is beyond the %d-bit TTBR0 range",
			 (unsigned long long)va, kVaBits);
		throw Error(buf);
	}
	uint64_t table = root;
	for (int level = 0; level < kLevels - 1; level++) {
		uint64_t &desc = table_entries(alloc, table)[pt_index(va, level)];
		if (!desc_is_valid(desc))
			desc = make_table_desc(alloc.alloc_page());
		table = desc_address(desc);
	}
	table_entries(alloc, table)[pt_index(va, kLevels - 1)] = make_page_desc(pa, type);
}

// The output address for va, walking as the MMU would (blocks included).
inline std::optional<uint64_t> translate_va(PageAllocator &alloc, uint64_t root, uint64_t va)
{
	if (!in_ttbr0_range(va))
		return std::nullopt;
	uint64_t table = root;
	for (int level = 0; level < kLevels; level++) {
		uint64_t desc = table_entries(alloc, table)[pt_index(va, level)];
		if (desc_is_block(desc, level) || desc_is_page(desc, level))
			return (desc_address(desc) & ~(level_size(level) - 1)) |
			       (va & (level_size(level) - 1));
		if (!desc_is_table(desc, level))
			return std::nullopt;
		table = desc_address(desc);
	}
	return std::nullopt;
}

}  // namespace kvmt::arm64
