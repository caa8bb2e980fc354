// A PageAllocator over plain host memory, so page tables can be built and
// walked in unit tests without a VM. Pages get consecutive "guest-physical"
// addresses from base_gpa, in allocation order.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "errors.hh"
#include "processor.hh"

namespace kvmt {

class FakePageAllocator : public PageAllocator {
public:
	explicit FakePageAllocator(uint64_t base_gpa = 0x100000) : base_(base_gpa) {}

	uint64_t alloc_page() override
	{
		pages_.push_back(std::make_unique<Page>());
		return base_ + (pages_.size() - 1) * kGuestPageSize;
	}

	void *page_hva(uint64_t gpa) override
	{
		uint64_t index = (gpa - base_) / kGuestPageSize;
		if (gpa < base_ || gpa % kGuestPageSize || index >= pages_.size())
			throw Error("page_hva(0x" + to_hex(gpa) + "): not a page of this allocator");
		return pages_[index]->bytes;
	}

	size_t pages() const { return pages_.size(); }
	uint64_t page_gpa(size_t index) const { return base_ + index * kGuestPageSize; }
	uint64_t *entries(uint64_t gpa) { return static_cast<uint64_t *>(page_hva(gpa)); }

	// How many of the 512 entries of a table page are non-zero.
	int used_entries(uint64_t gpa)
	{
		int n = 0;
		for (int i = 0; i < 512; i++)
			n += entries(gpa)[i] != 0;
		return n;
	}

private:
	struct alignas(kGuestPageSize) Page {
		uint8_t bytes[kGuestPageSize] = {};
	};

	static std::string to_hex(uint64_t v)
	{
		char buf[20];
		snprintf(buf, sizeof(buf), "%llx", (unsigned long long)v);
		return buf;
	}

	uint64_t base_;
	std::vector<std::unique_ptr<Page>> pages_;
};

}  // namespace kvmt
