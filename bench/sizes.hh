// The sizes a benchmark runs at, their stable name components, how many
// operations share one timed batch, and the memory bound.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

constexpr uint64_t kPage = 4096;
constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

struct BenchSize {
	uint64_t bytes;
	const char *name;  // "4k", "64k", "2m", "64m", "1g"
	uint64_t pages() const { return bytes / kPage; }
};

// 4 KiB, 64 KiB, 2 MiB, 64 MiB, 1 GiB: every conversion and punch size.
const std::vector<BenchSize> &all_sizes();
// 4 KiB, 64 KiB, 2 MiB, 64 MiB: sizes whose setup touches every page.
const std::vector<BenchSize> &touch_sizes();
// 4 KiB, 64 KiB, 2 MiB: sizes a CPL0 guest touches (emulated here).
const std::vector<BenchSize> &guest_sizes();

// Operations of `bytes` each that one timed batch holds: small operations
// share one pair of clock reads, so the reads cost < 0.5% of the batch.
uint64_t batch_ops(uint64_t bytes);

// MemAvailable from /proc/meminfo, in bytes (0 when unreadable).
uint64_t mem_available();
// "" when `footprint` bytes fit in half of MemAvailable, else why not.
std::string memory_bound_reason(uint64_t footprint);
// The same for one batch of operations of `bytes` each (batch_ops of them).
std::string batch_bound_reason(uint64_t bytes);

}  // namespace bench
