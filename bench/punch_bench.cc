// Hole punching per size, guest_memfd against memfd (shmem): one operation
// is fallocate(PUNCH_HOLE | KEEP_SIZE) over a range whose every page the host
// wrote through its mapping (untimed) just before, so the punch unmaps and
// frees each page.
#include "backing.hh"
#include "bench_sets.hh"
#include "counters.hh"
#include "registry.hh"
#include "sizes.hh"

namespace bench {
namespace {

void punch_hole(benchmark::State &state, BackingKind kind, const BenchSize &size)
{
	uint64_t batch = batch_ops(size.bytes);
	Backing file(kind, batch * size.bytes);
	BatchTotals t = run_batched(
		state, batch, [&](uint64_t n) { file.touch(0, n * size.bytes); },
		[&](uint64_t i) { file.punch(i * size.bytes, size.bytes); });
	report_per_page(state, t, size.bytes);
}

}  // namespace

void register_punch_benchmarks()
{
	for (BackingKind kind : {BackingKind::Gmem, BackingKind::Memfd})
		for (const BenchSize &size : all_sizes()) {
			std::string skip = backing_missing(kind);
			if (skip.empty())
				skip = batch_bound_reason(size.bytes);
			add_benchmark(bench_name({"peer", "punch_hole", backing_name(kind), size.name}), skip,
				      [kind, &size](benchmark::State &state) { punch_hole(state, kind, size); });
		}
}

}  // namespace bench
