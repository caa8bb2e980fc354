#include "backing.hh"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>

#include "errors.hh"
#include "guest_memfd.hh"
#include "sizes.hh"
#include "support.hh"

namespace bench {

constexpr uint64_t kInPlace = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

const char *backing_name(BackingKind k)
{
	return k == BackingKind::Gmem ? "gmem" : "memfd";
}

std::string backing_missing(BackingKind k)
{
	return k == BackingKind::Gmem ? support().inplace_missing : "";
}

Backing::Backing(BackingKind kind, uint64_t size)
{
	if (kind == BackingKind::Gmem) {
		vm_ = std::make_unique<kvmt::Vm>(kvmt::default_vm_type());
		fd_.reset(kvmt::sys_check(kvmt::__create_guest_memfd(vm_->fd(), size, kInPlace),
					  "KVM_CREATE_GUEST_MEMFD(MMAP|INIT_SHARED)"));
	} else {
		fd_.reset(kvmt::sys_check(memfd_create("gmem_bench", MFD_CLOEXEC), "memfd_create"));
		kvmt::sys_check(ftruncate(fd_.get(), size), "ftruncate(memfd)");
	}
	void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
	if (p == MAP_FAILED)
		kvmt::sys_check(-1, std::string("mmap(") + backing_name(kind) + ")");
	map_ = kvmt::Mapping(p, size);
	// 4 KiB pages on both sides, whatever shmem_enabled says (guest_memfd has no THP).
	madvise(p, size, MADV_NOHUGEPAGE);
}

void Backing::punch(uint64_t offset, uint64_t len) const
{
	// Checked without building a message first: this runs inside timed batches.
	if (fallocate(fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len))
		kvmt::sys_check(-1, "fallocate(PUNCH_HOLE)");
}

void Backing::touch(uint64_t offset, uint64_t len) const
{
	volatile uint8_t *p = data();
	for (uint64_t off = offset; off < offset + len; off += kPage)
		p[off] = 1;
}

}  // namespace bench
