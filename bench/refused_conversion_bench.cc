// The refused conversion: convert/refused/to_private/<size> converts a
// shared, host-written range whose last page a pipe holds (vmsplice, the
// library's kvmt::PageHolder: no debug option or io_uring needed), so the
// kernel checks every page and answers EAGAIN with error_offset = that page,
// changing nothing (spec section 3). The state never changes, so there is no
// setup between operations.
#include <cerrno>

#include "bench_sets.hh"
#include "conversion_region.hh"
#include "conversion_report.hh"
#include "errors.hh"
#include "page_holder.hh"
#include "registry.hh"
#include "sizes.hh"
#include "support.hh"

namespace bench {
namespace {

void expect_refusal(const kvmt::AttributesResult &r, uint64_t held_offset)
{
	if (r.err != EAGAIN || r.error_offset != held_offset)
		throw kvmt::Error("to_private over a held page should fail with EAGAIN at offset " +
				  std::to_string(held_offset) + ", got " +
				  (r.err ? kvmt::errno_name(r.err) : std::string("success")) +
				  " at error_offset " + std::to_string(r.error_offset));
}

void refused_conversion(benchmark::State &state, const BenchSize &size)
{
	ConversionRegion region(size.bytes, 1, true);
	region.convert_all(Direction::ToShared);
	region.populate(Population::Mapped, size.bytes);
	uint64_t held = size.bytes - kPage;
	auto holder = kvmt::PageHolder::take(kvmt::HolderKind::Vmsplice, region.mapping() + held, kPage);
	expect_refusal(region.try_convert(0, Direction::ToPrivate, 0), held);
	BatchTotals t = run_unbatched(state, [&](uint64_t) {
		kvmt::AttributesResult r = region.try_convert(0, Direction::ToPrivate, 0);
		if (r.err != EAGAIN)
			expect_refusal(r, held);
	});
	report_conversion(state, t, size.bytes, FloorFd::Gmem, Mode::Unspecified, 0);
}

}  // namespace

void register_refused_conversion_benchmarks()
{
	for (const BenchSize &size : all_sizes()) {
		std::string skip = support().conversion_missing(Direction::ToPrivate, Mode::Unspecified);
		if (skip.empty())
			skip = support().mapping_missing();
		if (skip.empty())
			skip = memory_bound_reason(size.bytes);
		add_benchmark(bench_name({"convert", "refused", "to_private", size.name}), skip,
			      [&size](benchmark::State &state) { refused_conversion(state, size); });
	}
}

}  // namespace bench
