// What a page of a guest_memfd must hold, as an oracle predicts it: zeros,
// pattern(seed) (pattern.hh: bytes that encode their gmem offset and the
// generation), or anything (contents the contract leaves unspecified).
// A page is a host page (page_size()).
#pragma once

#include <cstdint>
#include <string>

namespace kvmt {

struct PageContent {
	enum Kind : uint8_t { Zero, Pattern, Any };
	Kind kind = Zero;
	uint64_t seed = 0;  // for Pattern

	static PageContent zero() { return {Zero, 0}; }
	static PageContent pattern(uint64_t seed) { return {Pattern, seed}; }
	static PageContent any() { return {Any, 0}; }
	bool operator==(const PageContent &o) const { return kind == o.kind && seed == o.seed; }
	bool operator!=(const PageContent &o) const { return !(*this == o); }
};

// "zero", "pattern seed 0x1f", "anything"
std::string describe_content(const PageContent &c);

// The byte at gmem offset file_offset of a page holding c (0 for Any).
uint8_t content_byte(const PageContent &c, uint64_t file_offset);

// Writes c into the page that starts at gmem offset file_offset (Any: zeros).
void fill_content(volatile uint8_t *page, uint64_t file_offset, const PageContent &c);

// Index in the page of the first byte that contradicts c, or -1.
int64_t first_content_mismatch(const volatile uint8_t *page, uint64_t file_offset,
			       const PageContent &c);

// "page 4 offset 0x12 (gmem 0x4012): expected 0xab (pattern seed 0x1f), seen 0x00"
std::string describe_byte_mismatch(uint64_t file_offset_of_byte, const PageContent &c,
				   uint8_t seen);

}  // namespace kvmt
