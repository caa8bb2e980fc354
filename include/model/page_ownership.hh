// Pages of a guest_memfd shared by concurrent actors (vCPU threads, host
// threads, a hole puncher, forked readers): an actor claims a run of pages,
// checks them against what the previous owner recorded, changes them,
// records what they now hold and who did it, and releases them. Claiming is
// all-or-nothing and lock-free; the release/acquire pair makes the record
// visible to the next owner.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "page_content.hh"

namespace kvmt {

struct PageRecord {
	PageContent content;        // what the page must hold
	int writer = -1;            // the actor that last changed it (-1: nobody)
	const char *how = "fresh";  // how: "guest write", "punch", ...
};

class PageOwnership {
public:
	explicit PageOwnership(uint64_t pages);
	uint64_t pages() const { return pages_; }

	bool claim(uint64_t first, uint64_t count, int actor);
	void release(uint64_t first, uint64_t count, int actor);
	// Only the owner (or anyone once every actor has stopped) may use it.
	PageRecord &record(uint64_t page) { return records_[page]; }

private:
	uint64_t pages_;
	std::unique_ptr<std::atomic<int>[]> owner_;  // -1: free
	std::unique_ptr<PageRecord[]> records_;
};

}  // namespace kvmt
