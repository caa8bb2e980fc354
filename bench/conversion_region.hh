// A guest_memfd on the VM type with private memory, cut into `chunks` ranges
// of `chunk_bytes`, for the conversion benchmarks: untimed helpers that put
// the file into a known state, and the timed conversion of one chunk through
// KVM_SET_MEMORY_ATTRIBUTES2 on the gmem fd (GuestMemfd::set_attributes).
#pragma once

#include <cstdint>

#include "conversion.hh"
#include "guest_memfd.hh"
#include "mapping.hh"
#include "vm.hh"

namespace bench {

class ConversionRegion {
public:
	// host_mapping: create the gmem with MMAP|INIT_SHARED and map all of it.
	ConversionRegion(uint64_t chunk_bytes, uint64_t chunks, bool host_mapping);

	uint8_t *mapping() const { return map_.data(); }
	uint64_t eagain_retries() const { return retries_; }

	// Untimed: the whole file to d's target state (transient EAGAIN retried),
	// with PRESERVE where offered (no content-mode scrambling in the setup).
	void convert_all(Direction d);
	// Untimed: the first len bytes into state p (punched, allocated, or
	// allocated and written through the host mapping).
	void populate(Population p, uint64_t len);

	// Timed: chunk i to d with the content-mode flags; a transient EAGAIN is
	// retried and counted, any other error throws.
	void convert_chunk(uint64_t i, Direction d, uint64_t flags);
	// One raw attempt on chunk i, no retry.
	kvmt::AttributesResult try_convert(uint64_t i, Direction d, uint64_t flags) const;

private:
	kvmt::Vm vm_;
	kvmt::GuestMemfd gmem_;
	kvmt::Mapping map_;
	uint64_t chunk_;
	uint64_t retries_ = 0;
};

}  // namespace bench
