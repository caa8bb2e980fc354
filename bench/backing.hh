// A file whose pages the host maps and touches: a guest_memfd (MMAP |
// INIT_SHARED, on a DEFAULT VM) or, for comparison, a memfd (shmem). The
// peers of a conversion (first-touch faults, hole punching) run on both.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "fd.hh"
#include "mapping.hh"
#include "vm.hh"

namespace bench {

enum class BackingKind { Gmem, Memfd };
const char *backing_name(BackingKind k);  // "gmem", "memfd"
// "" when the kernel offers the kind, else why not.
std::string backing_missing(BackingKind k);

class Backing {
public:
	Backing(BackingKind kind, uint64_t size);

	uint8_t *data() const { return map_.data(); }
	int fd() const { return fd_.get(); }
	// fallocate(PUNCH_HOLE | KEEP_SIZE); throws on failure.
	void punch(uint64_t offset, uint64_t len) const;
	// Writes one byte per page: the first touch faults each page in.
	void touch(uint64_t offset, uint64_t len) const;

private:
	std::unique_ptr<kvmt::Vm> vm_;
	kvmt::UniqueFd fd_;
	kvmt::Mapping map_;
};

}  // namespace bench
