// Host first-touch fault per page, guest_memfd against memfd (shmem): one
// operation writes one byte to every page of a range whose pages were
// punched out (untimed) just before, so every write allocates and maps a page.
#include <sys/mman.h>

#include "backing.hh"
#include "mapping.hh"
#include "bench_sets.hh"
#include "counters.hh"
#include "registry.hh"
#include "sizes.hh"

namespace bench {
namespace {

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

}  // namespace

void register_fault_benchmarks()
{
	for (BackingKind kind : {BackingKind::Gmem, BackingKind::Memfd})
		for (const BenchSize &size : touch_sizes()) {
			std::string skip = backing_missing(kind);
			if (skip.empty())
				skip = batch_bound_reason(size.bytes);
			add_benchmark(bench_name({"peer", "host_fault", backing_name(kind), size.name}), skip,
				      [kind, &size](benchmark::State &state) {
					      host_first_touch(state, kind, size);
				      });
		}
}

}  // namespace bench
