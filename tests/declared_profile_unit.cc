// GMEM_EXPECT: what a lab declares its machine offers.
#include "declared_profile.hh"
#include "test.hh"

using namespace kvmt;

namespace {

struct Parsed {
	bool ok;
	DeclaredProfile p;
	std::string error;
};

Parsed parse(const std::string &text)
{
	Parsed r;
	r.ok = parse_declared_profile(text, &r.p, &r.error);
	return r;
}

}  // namespace

KVMT_TEST(declared_profile, empty_declares_nothing)
{
	Parsed r = parse("");
	ASSERT_TRUE(r.ok);
	ASSERT_FALSE(r.p.vm_types.has_value());
	ASSERT_FALSE(r.p.in_place.has_value());
	ASSERT_FALSE(r.p.holders.has_value());
	ASSERT_FALSE(r.p.content_modes.has_value());
}

KVMT_TEST(declared_profile, every_word)
{
	Parsed r = parse("vm_types=default,sw_protected in_place=on  holders=io_uring,gup_test "
			 "content_modes=none");
	ASSERT_TRUE(r.ok);
	ASSERT_EQ(r.p.vm_types->size(), 2u);
	ASSERT_TRUE(r.p.vm_types->count("sw_protected"));
	ASSERT_TRUE(*r.p.in_place);
	ASSERT_TRUE(r.p.holders->count("gup_test"));
	ASSERT_FALSE(r.p.holders->count("vmsplice"));
	ASSERT_FALSE(*r.p.content_modes);
}

KVMT_TEST(declared_profile, mistakes_are_one_line)
{
	ASSERT_EQ(parse("in_place=yes").error,
		  std::string("GMEM_EXPECT: in_place: 'yes' is neither on nor off"));
	ASSERT_EQ(parse("holders=dma").error,
		  std::string("GMEM_EXPECT: holders: unknown name 'dma' (gup_test,io_uring,o_direct,vmsplice)"));
	ASSERT_EQ(parse("vm_types=default,pkvm").ok, false);
	ASSERT_EQ(parse("inplace=on").error,
		  std::string("GMEM_EXPECT: unknown word 'inplace=on' (vm_types=, in_place=, holders=, content_modes=)"));
	ASSERT_EQ(parse("content_modes=off").error,
		  std::string("GMEM_EXPECT: content_modes: 'off' is neither on nor none"));
}
