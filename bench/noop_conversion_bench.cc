// The no-op conversion: convert/noop/<direction>/<size> asks for the state
// the whole (allocated) range already has, which must succeed at once
// (spec section 3); no setup between operations.
#include "bench_sets.hh"
#include "conversion_region.hh"
#include "conversion_report.hh"
#include "registry.hh"
#include "sizes.hh"
#include "support.hh"

namespace bench {
namespace {

void noop_conversion(benchmark::State &state, Direction d, const BenchSize &size)
{
	ConversionRegion region(size.bytes, 1, false);
	region.convert_all(d);
	region.populate(Population::Allocated, size.bytes);
	BatchTotals t = run_unbatched(state, [&](uint64_t) { region.convert_chunk(0, d, 0); });
	report_conversion(state, t, size.bytes, FloorFd::Gmem, Mode::Unspecified,
			  region.eagain_retries());
}

}  // namespace

void register_noop_conversion_benchmarks()
{
	for (Direction d : {Direction::ToPrivate, Direction::ToShared})
		for (const BenchSize &size : all_sizes()) {
			std::string skip = support().conversion_missing(d, Mode::Unspecified);
			if (skip.empty())
				skip = memory_bound_reason(size.bytes);
			add_benchmark(bench_name({"convert", "noop", direction_name(d), size.name}), skip,
				      [d, &size](benchmark::State &state) { noop_conversion(state, d, size); });
		}
}

}  // namespace bench
