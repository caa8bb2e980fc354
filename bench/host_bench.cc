// The host-side peers of a conversion, guest_memfd (MMAP | INIT_SHARED, on a
// DEFAULT VM) against memfd (shmem), MADV_NOHUGEPAGE on both:
//   peer/host_fault/<gmem|memfd>/<size>: one operation writes one byte to
//     every page of a range whose pages were punched out (untimed) just
//     before, so every write allocates and maps a page;
//   peer/punch_hole/<gmem|memfd>/<size>: one operation is
//     fallocate(PUNCH_HOLE | KEEP_SIZE) over a range whose every page the
//     host wrote (untimed) just before, so the punch unmaps and frees each page.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>

#include "errors.hh"
#include "fd.hh"
#include "guest_memfd.hh"
#include "harness.hh"
#include "mapping.hh"
#include "page_size.hh"
#include "support.hh"
#include "timing.hh"
#include "vm.hh"

namespace bench {
namespace {

enum class BackingKind { Gmem, Memfd };

const char *backing_name(BackingKind k)
{
	return k == BackingKind::Gmem ? "gmem" : "memfd";
}

// A file whose pages the host maps and touches.
class Backing {
public:
	Backing(BackingKind kind, uint64_t size)
	{
		if (kind == BackingKind::Gmem) {
			vm_ = std::make_unique<kvmt::Vm>(kvmt::default_vm_type());
			fd_.reset(kvmt::sys_check(kvmt::__create_guest_memfd(vm_->fd(), size, kInPlaceFlags),
						  "KVM_CREATE_GUEST_MEMFD(MMAP|INIT_SHARED)"));
		} else {
			fd_.reset(kvmt::sys_check(memfd_create("gmem_bench", MFD_CLOEXEC), "memfd_create"));
			kvmt::sys_check(ftruncate(fd_.get(), size), "ftruncate(memfd)");
		}
		void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
		if (p == MAP_FAILED)
			kvmt::sys_check(-1, std::string("mmap(") + backing_name(kind) + ")");
		map_ = kvmt::Mapping(p, size);
		// Base pages on both sides, whatever shmem_enabled says (guest_memfd has no THP).
		madvise(p, size, MADV_NOHUGEPAGE);
	}

	void punch(uint64_t offset, uint64_t len) const
	{
		// Checked without building a message first: this runs inside timed batches.
		if (fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len))
			kvmt::sys_check(-1, "fallocate(PUNCH_HOLE)");
	}

	// One byte per page: the first touch faults each page in.
	void touch(uint64_t offset, uint64_t len) const
	{
		volatile uint8_t *p = map_.data();
		uint64_t page = kvmt::page_size();
		for (uint64_t off = offset; off < offset + len; off += page)
			p[off] = 1;
	}

private:
	std::unique_ptr<kvmt::Vm> vm_;
	kvmt::UniqueFd fd_;
	kvmt::Mapping map_;
};

// The host's free page reporting hands free memory that stays free for a
// while back to the hypervisor, which then faults it in again on the next
// touch, at a cost that varies with the hypervisor's load. Touching and
// freeing as much anonymous memory just before the timed batch (untimed)
// leaves the page allocator with pages the hypervisor backs, so the batch
// times the kernel's fault path.
void warm_page_allocator(uint64_t bytes)
{
	kvmt::Mapping warm = kvmt::Mapping::anonymous(bytes, MAP_PRIVATE | MAP_POPULATE);
}

void host_first_touch(benchmark::State &state, BackingKind kind, const BenchSize &size)
{
	uint64_t batch = batch_ops(size.bytes);
	Backing file(kind, batch * size.bytes);
	BatchTotals t = run_batched(
		state, batch,
		[&](uint64_t n) {
			file.punch(0, n * size.bytes);
			warm_page_allocator(n * size.bytes);
		},
		[&](uint64_t i) { file.touch(i * size.bytes, size.bytes); });
	report_per_page(state, t, size.bytes);
}

void punch_hole(benchmark::State &state, BackingKind kind, const BenchSize &size)
{
	uint64_t batch = batch_ops(size.bytes);
	Backing file(kind, batch * size.bytes);
	BatchTotals t = run_batched(
		state, batch, [&](uint64_t n) { file.touch(0, n * size.bytes); },
		[&](uint64_t i) { file.punch(i * size.bytes, size.bytes); });
	report_per_page(state, t, size.bytes);
}

using HostOp = void (*)(benchmark::State &, BackingKind, const BenchSize &);

void add_family(const char *family, const std::vector<BenchSize> &sizes, HostOp op)
{
	for (BackingKind kind : {BackingKind::Gmem, BackingKind::Memfd})
		for (const BenchSize &size : sizes) {
			std::string skip = kind == BackingKind::Gmem ? support().inplace_missing : "";
			if (skip.empty())
				skip = batch_bound_reason(size.bytes);
			add_benchmark(bench_name({"peer", family, backing_name(kind), size.name}), skip,
				      [op, kind, &size](benchmark::State &state) { op(state, kind, size); });
		}
}

}  // namespace

void register_host_benchmarks()
{
	add_family("host_fault", touch_sizes(), host_first_touch);
	add_family("punch_hole", all_sizes(), punch_hole);
}

}  // namespace bench
