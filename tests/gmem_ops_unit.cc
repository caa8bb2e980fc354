// The text form of random-sequence operations: what a failure prints is
// what GMEM_REPLAY reads back.
#include "gmem_ops.hh"
#include "page_size.hh"
#include "test.hh"

using namespace kvmt;

KVMT_TEST(gmem_ops, every_kind_round_trips)
{
	const std::string last_misalign = std::to_string(page_size() - 1);
	const std::string texts[] = {
		"alloc 3+2", "alloc 0+1 misalign=1", "punch 15+4", "hread 0+18",
		"hwrite 2+1 seed=0xf1", "gread 1+8", "gwrite 0+2 seed=0x3c00089", "fork 4+4",
		"hold 7+1", "release", "convert 3+2 to=private mode=unspecified",
		"convert 0+1 to=shared mode=zero misalign=" + last_misalign,
		"convert 1+1 to=shared mode=preserve",
	};
	for (const std::string &t : texts) {
		GmemOp op;
		std::string error;
		ASSERT_TRUE(parse_op(t, &op, &error)) << t << ": " << error;
		ASSERT_EQ(op_text(op), t);
	}
}

KVMT_TEST(gmem_ops, sequence_round_trips)
{
	std::vector<GmemOp> ops;
	std::string error;
	ASSERT_TRUE(parse_sequence(" hwrite 9+1 seed=0xbaf000f8;hread 9+1 ; release;", &ops, &error));
	ASSERT_EQ(ops.size(), 3u);
	ASSERT_EQ(sequence_text(ops), std::string("hwrite 9+1 seed=0xbaf000f8; hread 9+1; release"));
	std::vector<GmemOp> again;
	ASSERT_TRUE(parse_sequence(sequence_text(ops), &again, &error));
	ASSERT_TRUE(again == ops);
}

KVMT_TEST(gmem_ops, bad_text_is_one_line)
{
	const std::string page = std::to_string(page_size());
	struct Case {
		std::string text, error;
	} cases[] = {
		{"frob 1+1", "unknown operation 'frob'"},
		{"hread", "'hread': expected FIRST+COUNT after hread"},
		{"hread 1-2", "'hread 1-2': expected FIRST+COUNT after hread"},
		{"hread -1+2", "'hread -1+2': expected FIRST+COUNT after hread"},
		{"hwrite 1+1", "'hwrite 1+1': needs seed=N (non-zero)"},
		{"hwrite 1+1 seed=0", "'hwrite 1+1 seed=0': bad field 'seed=0'"},
		{"hread 1+1 seed=5", "'hread 1+1 seed=5': bad field 'seed=5'"},
		{"punch 1+1 misalign=" + page,
		 "'punch 1+1 misalign=" + page + "': bad field 'misalign=" + page + "'"},
		{"convert 1+1 to=sideways", "'convert 1+1 to=sideways': bad field 'to=sideways'"},
		{"convert 1+1 mode=fast", "'convert 1+1 mode=fast': bad field 'mode=fast'"},
		{"hread 99999999999999999999999+1", "'hread 99999999999999999999999+1': expected FIRST+COUNT after hread"},
	};
	for (const Case &c : cases) {
		GmemOp op;
		std::string error;
		ASSERT_FALSE(parse_op(c.text, &op, &error)) << c.text;
		ASSERT_EQ(error, c.error);
	}
	std::vector<GmemOp> ops;
	std::string error;
	ASSERT_FALSE(parse_sequence(" ; ;", &ops, &error));
	ASSERT_EQ(error, std::string("no operations"));
}
