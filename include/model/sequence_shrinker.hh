// Shrinks a failing operation sequence to a short one that still fails:
// delta debugging (drop chunks, then single operations), then simpler
// operations (one page instead of several). Every candidate is replayed
// from scratch by the caller's predicate, within a budget of replays and time.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "gmem_ops.hh"

namespace kvmt {

struct ShrinkBudget {
	size_t max_runs = 400;
	double max_seconds = 60;
};

struct ShrinkResult {
	std::vector<GmemOp> ops;
	size_t runs = 0;
	bool budget_exhausted = false;
};

using FailsFn = std::function<bool(const std::vector<GmemOp> &)>;

// failing must fail; the result fails too and is 1-minimal unless the budget ran out.
ShrinkResult shrink_sequence(std::vector<GmemOp> failing, const FailsFn &fails,
			     ShrinkBudget budget = ShrinkBudget());

}  // namespace kvmt
