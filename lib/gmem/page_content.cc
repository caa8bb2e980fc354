#include "page_content.hh"

#include <cstdio>

#include "hex.hh"
#include "page_size.hh"
#include "pattern.hh"

namespace kvmt {

std::string describe_content(const PageContent &c)
{
	switch (c.kind) {
	case PageContent::Zero:
		return "zero";
	case PageContent::Pattern:
		return "pattern seed " + hex(c.seed);
	case PageContent::Any:
		break;
	}
	return "anything";
}

uint8_t content_byte(const PageContent &c, uint64_t file_offset)
{
	return c.kind == PageContent::Pattern ? pattern_byte(c.seed, file_offset) : 0;
}

void fill_content(volatile uint8_t *page, uint64_t file_offset, const PageContent &c)
{
	if (c.kind == PageContent::Pattern) {
		fill_pattern(page, file_offset, page_size(), c.seed);
		return;
	}
	for (uint64_t i = 0; i < page_size(); i++)
		page[i] = 0;
}

int64_t first_content_mismatch(const volatile uint8_t *page, uint64_t file_offset,
			       const PageContent &c)
{
	switch (c.kind) {
	case PageContent::Zero:
		return find_nonzero(page, page_size());
	case PageContent::Pattern:
		return find_pattern_mismatch(page, file_offset, page_size(), c.seed);
	case PageContent::Any:
		break;
	}
	return -1;
}

std::string describe_byte_mismatch(uint64_t file_offset_of_byte, const PageContent &c, uint8_t seen)
{
	char buf[160];
	snprintf(buf, sizeof(buf), "page %llu offset 0x%llx (gmem 0x%llx): expected 0x%02x (%s), seen 0x%02x",
		 (unsigned long long)(file_offset_of_byte / page_size()),
		 (unsigned long long)(file_offset_of_byte % page_size()),
		 (unsigned long long)file_offset_of_byte, content_byte(c, file_offset_of_byte),
		 describe_content(c).c_str(), seen);
	return buf;
}

}  // namespace kvmt
