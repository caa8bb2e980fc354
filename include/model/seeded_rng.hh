// A small deterministic random number generator (SplitMix64): the same seed
// gives the same sequence with every compiler and library, so a printed seed
// replays a run exactly.
#pragma once

#include <stdint.h>

namespace kvmt {

class SeededRng {
public:
	explicit SeededRng(uint64_t seed) : state_(seed) {}

	uint64_t next()
	{
		uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		return z ^ (z >> 31);
	}
	// Uniform in [0, n) (n > 0; the bias is negligible for small n).
	uint64_t below(uint64_t n) { return next() % n; }
	// Uniform in [lo, hi].
	uint64_t between(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
	// True with probability percent / 100.
	bool chance(unsigned percent) { return below(100) < percent; }

private:
	uint64_t state_;
};

// The seed of the i-th independent stream derived from a master seed.
inline uint64_t derive_seed(uint64_t master, uint64_t i)
{
	return SeededRng(master ^ (i * 0xD1B54A32D192ED03ULL)).next();
}

}  // namespace kvmt
