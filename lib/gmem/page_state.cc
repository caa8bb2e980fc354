#include "page_state.hh"

#include "page_size.hh"
#include "sigbus.hh"

namespace kvmt {

const char *page_state_name(PageState s)
{
	return s == PageState::Shared ? "shared" : "private";
}

PageState host_page_state(const uint8_t *page)
{
	return probe(const_cast<uint8_t *>(page), Access::Read).sigbus ? PageState::Private
									: PageState::Shared;
}

// Both ways in: a read, then a write of the byte read (a shared page keeps
// its contents); a page only one of them reaches is in neither state.
static bool page_has_state(uint8_t *page, PageState expected)
{
	ProbeResult read = probe(page, Access::Read);
	ProbeResult write = probe(page, Access::Write, read.value);
	bool want_sigbus = expected == PageState::Private;
	return read.sigbus == want_sigbus && write.sigbus == want_sigbus;
}

int64_t first_state_mismatch(const uint8_t *base, uint64_t first, uint64_t count,
			     PageState expected)
{
	for (uint64_t i = first; i < first + count; i++)
		if (!page_has_state(const_cast<uint8_t *>(base) + i * page_size(), expected))
			return static_cast<int64_t>(i);
	return -1;
}

}  // namespace kvmt
