#include "guest_image.hh"

#include <link.h>

#include "processor.hh"

namespace kvmt {

static int collect_main_program(dl_phdr_info *info, size_t, void *data)
{
	auto *segments = static_cast<std::vector<ImageSegment> *>(data);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) &ph = info->dlpi_phdr[i];
		if (ph.p_type != PT_LOAD)
			continue;
		uint64_t start = (info->dlpi_addr + ph.p_vaddr) & ~(kGuestPageSize - 1);
		uint64_t end = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + kGuestPageSize - 1) &
			       ~(kGuestPageSize - 1);
		segments->push_back({start, end - start});
	}
	return 1; /* the first object is the main program */
}

const std::vector<ImageSegment> &program_segments()
{
	static const std::vector<ImageSegment> segments = [] {
		std::vector<ImageSegment> s;
		dl_iterate_phdr(collect_main_program, &s);
		return s;
	}();
	return segments;
}

bool in_program_image(const void *addr, uint64_t len)
{
	uint64_t a = reinterpret_cast<uint64_t>(addr);
	for (const ImageSegment &s : program_segments())
		if (a >= s.vaddr && a + len <= s.vaddr + s.size && a + len >= a)
			return true;
	return false;
}

}  // namespace kvmt
