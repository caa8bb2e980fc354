#include "conversion_report.hh"

#include "counters.hh"

namespace bench {

void report_conversion(benchmark::State &state, const BatchTotals &t, uint64_t bytes, FloorFd floor,
		       Mode mode, uint64_t eagain_retries)
{
	report_per_page(state, t, bytes);
	report_ratio(state, "x_floor", t, floor_ns(floor));
	if (mode == Mode::Zero)
		report_ratio(state, "x_memset", t, memset_ns(bytes));
	if (eagain_retries)
		state.counters["eagain_retries"] = static_cast<double>(eagain_retries);
}

}  // namespace bench
