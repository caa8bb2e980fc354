// The host's view of a guest_memfd page's state: a shared page can be read
// through the mapping, a private one raises SIGBUS.
#pragma once

#include <cstdint>
#include <string>

namespace kvmt {

enum class PageState { Shared, Private };
const char *page_state_name(PageState s);

PageState host_page_state(const uint8_t *page);
// First page of [first, first + count) (page indices into base) whose state
// is not expected, or -1. Probes a read and a write of every page.
int64_t first_state_mismatch(const uint8_t *base, uint64_t first, uint64_t count,
			     PageState expected);

}  // namespace kvmt
