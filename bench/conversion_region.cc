#include "conversion_region.hh"

#include <sched.h>

#include <cerrno>

#include "errors.hh"
#include "sizes.hh"
#include "support.hh"

namespace bench {
namespace {

constexpr uint64_t kInPlace = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

// The flags of an untimed setup conversion: PRESERVE where the kernel offers
// it, so that a content-mode kernel does not scramble (UNSPECIFIED) every
// allocated page of the file before each batch; else 0.
uint64_t setup_flags(Direction d)
{
	return support().conversion_missing(d, Mode::Preserve).empty()
		       ? kvmt::content_mode_flags(Mode::Preserve)
		       : 0;
}

[[noreturn]] void conversion_failed(const char *what, uint64_t offset, uint64_t size,
				    const kvmt::AttributesResult &r)
{
	throw kvmt::Error(std::string(what) + " KVM_SET_MEMORY_ATTRIBUTES2(offset " +
			  std::to_string(offset) + ", size " + std::to_string(size) + "): " +
			  kvmt::errno_name(r.err) + ", error_offset " + std::to_string(r.error_offset));
}

}  // namespace

ConversionRegion::ConversionRegion(uint64_t chunk_bytes, uint64_t chunks, bool host_mapping)
	: vm_(private_vm_type()),
	  gmem_(vm_, chunk_bytes * chunks, host_mapping ? kInPlace : 0),
	  chunk_(chunk_bytes)
{
	if (host_mapping)
		map_ = gmem_.map();
}

void ConversionRegion::convert_all(Direction d)
{
	uint64_t size = gmem_.size(), flags = setup_flags(d);
	kvmt::AttributesResult r = gmem_.convert(0, size, target_attributes(d), flags);
	if (r.err)
		conversion_failed("setup:", 0, size, r);
}

void ConversionRegion::populate(Population p, uint64_t len)
{
	if (p == Population::Unallocated) {
		gmem_.punch_hole(0, len);
		return;
	}
	gmem_.allocate(0, len);
	if (p != Population::Mapped)
		return;
	volatile uint8_t *mem = map_.data();
	for (uint64_t off = 0; off < len; off += kPage)
		mem[off] = 1;
}

kvmt::AttributesResult ConversionRegion::try_convert(uint64_t i, Direction d, uint64_t flags) const
{
	return gmem_.set_attributes(i * chunk_, chunk_, target_attributes(d), flags);
}

void ConversionRegion::convert_chunk(uint64_t i, Direction d, uint64_t flags)
{
	kvmt::AttributesResult r = gmem_.convert(i * chunk_, chunk_, target_attributes(d), flags, &retries_);
	if (r.err)
		conversion_failed(direction_name(d), i * chunk_, chunk_, r);
}

}  // namespace bench
