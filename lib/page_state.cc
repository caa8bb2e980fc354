#include "page_state.hh"

#include "processor.hh"
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

int64_t first_state_mismatch(const uint8_t *base, uint64_t first, uint64_t count,
			     PageState expected)
{
	for (uint64_t i = first; i < first + count; i++)
		if (host_page_state(base + i * kGuestPageSize) != expected)
			return static_cast<int64_t>(i);
	return -1;
}

}  // namespace kvmt
