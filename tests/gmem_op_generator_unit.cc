// Random sequences: the same seed gives the same sequence; only offered
// operations appear; each is applicable where it stands.
#include <set>

#include "gmem_op_generator.hh"
#include "gmem_sequence_runner.hh"
#include "test.hh"

using namespace kvmt;

namespace {

GmemModelConfig config(AttributesFamily family, const char *type = "sw_protected")
{
	GmemModelConfig c;
	c.vm_type = type;
	c.family = family;
	c.guest = true;
	c.guest_private = family != AttributesFamily::None;
	return c;
}

size_t count_kind(const std::vector<GmemOp> &ops, OpKind k)
{
	size_t n = 0;
	for (const GmemOp &op : ops)
		n += op.kind == k;
	return n;
}

}  // namespace

KVMT_TEST(gmem_op_generator, same_seed_same_sequence)
{
	GmemModelConfig c = config(AttributesFamily::None, "default");
	ASSERT_TRUE(generate_ops(c, 42, 250) == generate_ops(c, 42, 250));
	ASSERT_FALSE(generate_ops(c, 42, 250) == generate_ops(c, 43, 250));
	ASSERT_EQ(generate_ops(c, 42, 250).size(), 250u);
}

KVMT_TEST(gmem_op_generator, only_offered_operations)
{
	GmemModelConfig none = config(AttributesFamily::None, "default");
	std::vector<GmemOp> ops = generate_ops(none, 7, 2000);
	ASSERT_EQ(count_kind(ops, OpKind::Convert), 0u);
	for (OpKind k : {OpKind::HostRead, OpKind::HostWrite, OpKind::GuestRead, OpKind::GuestWrite,
			 OpKind::Allocate, OpKind::Punch, OpKind::ForkCheck, OpKind::Hold, OpKind::Release})
		ASSERT_GT(count_kind(ops, k), 0u);
	none.guest = false;
	ops = generate_ops(none, 7, 2000);
	ASSERT_EQ(count_kind(ops, OpKind::GuestRead) + count_kind(ops, OpKind::GuestWrite), 0u);
}

KVMT_TEST(gmem_op_generator, conversions_with_every_offered_mode)
{
	std::vector<GmemOp> ops = generate_ops(config(AttributesFamily::ContentModes), 9, 3000);
	std::set<std::string> seen;
	for (const GmemOp &op : ops)
		if (op.kind == OpKind::Convert)
			seen.insert(std::string(op.to_private ? "p-" : "s-") + mode_name(op.mode));
	for (const char *m : {"p-unspecified", "p-zero", "p-preserve", "s-unspecified", "s-zero", "s-preserve"})
		ASSERT_TRUE(seen.count(m));
	ASSERT_FALSE(seen.count("p-encrypted"));
}

KVMT_TEST(gmem_op_generator, every_operation_applicable_and_writes_unique)
{
	for (AttributesFamily f : {AttributesFamily::None, AttributesFamily::Applied,
				   AttributesFamily::ContentModes}) {
		GmemModelConfig c = config(f);
		std::vector<GmemOp> ops = generate_ops(c, 11, 1000);
		GmemModel m(c);
		std::set<uint64_t> seeds;
		for (const GmemOp &op : ops) {
			ASSERT_TRUE(m.apply(op).applicable);
			if (op.seed)
				ASSERT_TRUE(seeds.insert(op.seed).second);
		}
		ASSERT_EQ(op_text(ops.back()), std::string("hread 0+18"));  // the final sweep
	}
}

KVMT_TEST(gmem_op_generator, bad_inputs_are_part_of_the_mix)
{
	GmemModelConfig c = config(AttributesFamily::Applied);
	std::vector<GmemOp> ops = generate_ops(c, 5, 3000);
	GmemModel m(c);
	size_t einval = 0, eagain = 0;
	for (const GmemOp &op : ops) {
		Prediction p = m.apply(op);
		einval += p.err == EINVAL;
		eagain += p.err == EAGAIN;
	}
	ASSERT_GT(einval, 50u);
	ASSERT_GT(eagain, 0u);
}

KVMT_TEST(gmem_op_generator, flip_target_is_the_last_read_of_written_data)
{
	GmemModelConfig c = config(AttributesFamily::None, "default");
	std::vector<GmemOp> ops;
	std::string error;
	ASSERT_TRUE(parse_sequence("hwrite 3+1 seed=5; hread 3+1; hread 0+2; gread 2+3; punch 3+1; hread 3+1",
				   &ops, &error));
	FlipTarget t = find_flip_target(c, ops);
	ASSERT_TRUE(t.found);
	ASSERT_EQ(t.op_index, 3u);
	ASSERT_EQ(t.page, 3u);
	ops.resize(1);
	ASSERT_FALSE(find_flip_target(c, ops).found);
}
