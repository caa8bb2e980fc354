// The shrinker against predicates with a known smallest failing sequence.
#include "gmem_ops.hh"
#include "sequence_shrinker.hh"
#include "test.hh"

using namespace kvmt;

namespace {

std::vector<GmemOp> reads(size_t n)
{
	std::vector<GmemOp> ops(n);
	for (size_t i = 0; i < n; i++) {
		ops[i].kind = OpKind::HostRead;
		ops[i].first = i;
		ops[i].count = 4;
	}
	return ops;
}

// Fails when an op covering page a comes before one covering page b.
bool covers(const GmemOp &op, uint64_t page)
{
	return op.first <= page && page < op.first + op.count;
}

}  // namespace

KVMT_TEST(sequence_shrinker, finds_the_two_operations_that_matter)
{
	FailsFn fails = [](const std::vector<GmemOp> &ops) {
		for (size_t i = 0; i < ops.size(); i++)
			for (size_t j = i + 1; j < ops.size(); j++)
				if (ops[i].first == 17 && ops[j].first == 120)
					return true;
		return false;
	};
	ShrinkResult r = shrink_sequence(reads(200), fails);
	ASSERT_EQ(r.ops.size(), 2u);
	ASSERT_EQ(r.ops[0].first, 17u);
	ASSERT_EQ(r.ops[1].first, 120u);
	ASSERT_FALSE(r.budget_exhausted);
	ASSERT_LT(r.runs, 200u);
}

KVMT_TEST(sequence_shrinker, narrows_ranges_to_the_page_that_matters)
{
	FailsFn fails = [](const std::vector<GmemOp> &ops) {
		for (const GmemOp &op : ops)
			if (covers(op, 6))
				return true;
		return false;
	};
	std::vector<GmemOp> ops = reads(1);
	ops[0].first = 0;
	ops[0].count = 16;
	ShrinkResult r = shrink_sequence(ops, fails);
	ASSERT_EQ(r.ops.size(), 1u);
	ASSERT_EQ(r.ops[0].count, 1u);
	ASSERT_EQ(r.ops[0].first, 6u);
}

KVMT_TEST(sequence_shrinker, stops_at_the_budget)
{
	size_t calls = 0;
	FailsFn fails = [&](const std::vector<GmemOp> &) {
		calls++;
		return false;
	};
	ShrinkBudget budget;
	budget.max_runs = 5;
	ShrinkResult r = shrink_sequence(reads(100), fails, budget);
	ASSERT_EQ(r.runs, 5u);
	ASSERT_EQ(calls, 5u);
	ASSERT_TRUE(r.budget_exhausted);
	ASSERT_EQ(r.ops.size(), 100u);
}
