// Conversion latency through KVM_SET_MEMORY_ATTRIBUTES2 on the gmem fd:
// convert/<direction>/<mode>/<pages before>/<size>. One operation converts
// one range; the untimed setup of a batch converts the whole file to the
// opposite state and puts the pages of the batch's ranges into the state the
// name says.
#include "bench_sets.hh"
#include "conversion_region.hh"
#include "conversion_report.hh"
#include "registry.hh"
#include "sizes.hh"
#include "support.hh"

namespace bench {
namespace {

struct ConversionCase {
	Direction direction;
	Mode mode;
	Population population;
	const BenchSize *size;
};

void convert(benchmark::State &state, const ConversionCase &c)
{
	uint64_t bytes = c.size->bytes, batch = batch_ops(bytes);
	ConversionRegion region(bytes, batch, c.population == Population::Mapped);
	BatchTotals t = run_batched(
		state, batch,
		[&](uint64_t n) {
			region.convert_all(opposite(c.direction));
			region.populate(c.population, n * bytes);
		},
		[&](uint64_t i) { region.convert_chunk(i, c.direction, kvmt::content_mode_flags(c.mode)); });
	report_conversion(state, t, bytes, FloorFd::Gmem, c.mode, region.eagain_retries());
}

std::string skip_reason(const ConversionCase &c)
{
	std::string why = support().conversion_missing(c.direction, c.mode);
	if (why.empty() && c.population == Population::Mapped)
		why = support().mapping_missing();
	if (why.empty())
		why = batch_bound_reason(c.size->bytes);
	return why;
}

void add_case(const ConversionCase &c)
{
	std::string name = bench_name({"convert", direction_name(c.direction), mode_name(c.mode),
				       population_name(c.population), c.size->name});
	add_benchmark(name, skip_reason(c), [c](benchmark::State &state) { convert(state, c); });
}

}  // namespace

void register_conversion_benchmarks()
{
	for (Direction d : {Direction::ToPrivate, Direction::ToShared})
		for (Mode m : modes_for(d))
			for (Population p : populations_for(d))
				for (const BenchSize &size : all_sizes())
					add_case({d, m, p, &size});
}

}  // namespace bench
