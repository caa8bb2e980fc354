#include "page_ownership.hh"

#include "errors.hh"

namespace kvmt {

PageOwnership::PageOwnership(uint64_t pages)
	: pages_(pages), owner_(new std::atomic<int>[pages]), records_(new PageRecord[pages])
{
	for (uint64_t i = 0; i < pages; i++)
		owner_[i].store(-1, std::memory_order_relaxed);
}

bool PageOwnership::claim(uint64_t first, uint64_t count, int actor)
{
	if (first >= pages_ || count > pages_ - first)
		return false;
	for (uint64_t i = first; i < first + count; i++) {
		int expected = -1;
		if (!owner_[i].compare_exchange_strong(expected, actor, std::memory_order_acquire)) {
			release(first, i - first, actor);
			return false;
		}
	}
	return true;
}

void PageOwnership::release(uint64_t first, uint64_t count, int actor)
{
	for (uint64_t i = first; i < first + count; i++) {
		int expected = actor;
		if (!owner_[i].compare_exchange_strong(expected, -1, std::memory_order_release))
			throw Error("page " + std::to_string(i) + " released by actor " +
				    std::to_string(actor) + " but owned by " + std::to_string(expected));
	}
}

}  // namespace kvmt
