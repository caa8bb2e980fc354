#include "sequence_shrinker.hh"

#include <algorithm>
#include <chrono>

namespace kvmt {

namespace {

class Shrinker {
public:
	Shrinker(const FailsFn &fails, ShrinkBudget budget)
		: fails_(fails), budget_(budget), start_(std::chrono::steady_clock::now())
	{
	}

	// One replay, unless the budget is spent (then "does not fail").
	bool try_candidate(const std::vector<GmemOp> &ops)
	{
		double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
		if (result_.runs >= budget_.max_runs || elapsed > budget_.max_seconds) {
			result_.budget_exhausted = true;
			return false;
		}
		result_.runs++;
		return fails_(ops);
	}

	// ddmin: remove one of n chunks while the rest still fails.
	void remove_chunks(std::vector<GmemOp> &ops)
	{
		size_t n = 2;
		while (ops.size() >= 2 && !result_.budget_exhausted) {
			size_t chunk = (ops.size() + n - 1) / n;
			bool reduced = false;
			for (size_t start = 0; start < ops.size(); start += chunk) {
				std::vector<GmemOp> candidate(ops.begin(), ops.begin() + start);
				candidate.insert(candidate.end(),
						 ops.begin() + std::min(ops.size(), start + chunk), ops.end());
				if (try_candidate(candidate)) {
					ops = std::move(candidate);
					n = std::max<size_t>(n - 1, 2);
					reduced = true;
					break;
				}
			}
			if (!reduced) {
				if (n >= ops.size())
					break;
				n = std::min(ops.size(), n * 2);
			}
		}
	}

	// Fewer pages per operation: one page, else the front or back half, repeatedly.
	void simplify(std::vector<GmemOp> &ops)
	{
		for (size_t i = 0; i < ops.size() && !result_.budget_exhausted; i++) {
			while (ops[i].count > 1 && !result_.budget_exhausted) {
				uint64_t half = ops[i].count / 2;
				if (!(try_range(ops, i, ops[i].first, 1) ||
				      try_range(ops, i, ops[i].first, ops[i].count - half) ||
				      try_range(ops, i, ops[i].first + half, ops[i].count - half)))
					break;
			}
		}
	}

	bool try_range(std::vector<GmemOp> &ops, size_t i, uint64_t first, uint64_t count)
	{
		std::vector<GmemOp> candidate = ops;
		candidate[i].first = first;
		candidate[i].count = count;
		if (!try_candidate(candidate))
			return false;
		ops = std::move(candidate);
		return true;
	}

	ShrinkResult run(std::vector<GmemOp> ops)
	{
		remove_chunks(ops);
		simplify(ops);
		result_.ops = std::move(ops);
		return result_;
	}

private:
	const FailsFn &fails_;
	ShrinkBudget budget_;
	std::chrono::steady_clock::time_point start_;
	ShrinkResult result_;
};

}  // namespace

ShrinkResult shrink_sequence(std::vector<GmemOp> failing, const FailsFn &fails, ShrinkBudget budget)
{
	return Shrinker(fails, budget).run(std::move(failing));
}

}  // namespace kvmt
