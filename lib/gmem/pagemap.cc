#include "pagemap.hh"

#include <fcntl.h>
#include <unistd.h>

#include "errors.hh"
#include "fd.hh"
#include "page_size.hh"
#include "test.hh"

namespace kvmt {

std::optional<uint64_t> pfn_of(const void *addr)
{
	constexpr uint64_t kPresent = 1ULL << 63;
	constexpr uint64_t kPfnMask = (1ULL << 55) - 1;
	UniqueFd fd(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
	if (!fd)
		skip("/proc/self/pagemap: " + errno_name(errno));
	uint64_t entry;
	off_t off = reinterpret_cast<uint64_t>(addr) / page_size() * sizeof(entry);
	if (pread(fd.get(), &entry, sizeof(entry), off) != sizeof(entry))
		sys_check(-1, "pread(/proc/self/pagemap)");
	if (!(entry & kPresent))
		return std::nullopt;
	if (!(entry & kPfnMask))
		skip("/proc/self/pagemap hides PFNs (needs CAP_SYS_ADMIN)");
	return entry & kPfnMask;
}

std::optional<uint64_t> pfn_of_touched(const volatile uint8_t *page)
{
	(void)*page;
	return pfn_of(const_cast<const uint8_t *>(page));
}

}  // namespace kvmt
