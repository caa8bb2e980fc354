// The counters of a conversion benchmark: ns_per_page, bytes_per_second,
// x_floor (time over the no-op ioctl on the same kind of fd), x_memset for
// ZERO (time over a memset of the same bytes: zeroing cannot beat it), and
// eagain_retries when transient EAGAINs were retried inside the timing.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>

#include "batch_timer.hh"
#include "conversion.hh"
#include "limits.hh"

namespace bench {

void report_conversion(benchmark::State &state, const BatchTotals &t, uint64_t bytes, FloorFd floor,
		       Mode mode, uint64_t eagain_retries);

}  // namespace bench
