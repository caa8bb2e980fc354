#include "counters.hh"

#include "sizes.hh"

namespace bench {

void report_per_page(benchmark::State &state, const BatchTotals &t, uint64_t bytes)
{
	uint64_t pages = bytes / kPage;
	state.counters["ns_per_page"] = t.ns_per_op() / (pages ? pages : 1);
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
	report_waits(state, t);
}

void report_waits(benchmark::State &state, const BatchTotals &t)
{
	double wall = t.seconds + t.waited_seconds;
	state.counters["runq_wait_pct"] = wall > 0 ? t.waited_seconds / wall * 100 : 0;
}

void report_ratio(benchmark::State &state, const std::string &name, const BatchTotals &t,
		  double limit_ns)
{
	if (limit_ns > 0 && t.ops)
		state.counters[name] = t.ns_per_op() / limit_ns;
}

}  // namespace bench
