// Option parsing of the test programs (the kselftest harness's options).
#include <vector>

#include "harness_options.hh"
#include "test.hh"

using namespace kvmt;

namespace {

struct Parsed {
	bool ok;
	HarnessOptions opts;
	std::string error;
};

Parsed parse(std::vector<std::string> args)
{
	args.insert(args.begin(), "prog");
	std::vector<char *> argv;
	for (std::string &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	Parsed p;
	p.ok = parse_harness_options((int)args.size(), argv.data(), &p.opts, &p.error);
	return p;
}

}  // namespace

KVMT_TEST(harness_options, none_is_a_run)
{
	Parsed p = parse({});
	ASSERT_TRUE(p.ok);
	ASSERT_FALSE(p.opts.listing);
}

KVMT_TEST(harness_options, list_and_help_skip_the_header)
{
	ASSERT_TRUE(parse({"-l"}).opts.listing);
	ASSERT_TRUE(parse({"-h"}).opts.listing);
}

KVMT_TEST(harness_options, filters_take_values)
{
	Parsed p = parse({"-f", "create", "-v", "default", "-T", "size_zero_einval", "-r", "a.b.c"});
	ASSERT_TRUE(p.ok);
	ASSERT_FALSE(p.opts.listing);
}

KVMT_TEST(harness_options, unknown_option_is_one_line)
{
	Parsed p = parse({"-x"});
	ASSERT_FALSE(p.ok);
	ASSERT_EQ(p.error, std::string("unknown option -x (see -h)"));
}

KVMT_TEST(harness_options, missing_value)
{
	Parsed p = parse({"-t"});
	ASSERT_FALSE(p.ok);
	ASSERT_EQ(p.error, std::string("option -t needs a value (see -h)"));
}

KVMT_TEST(harness_options, stray_argument)
{
	Parsed p = parse({"-l", "extra"});
	ASSERT_FALSE(p.ok);
	ASSERT_EQ(p.error, std::string("unexpected argument 'extra' (see -h)"));
}

KVMT_TEST(harness_options, positive_filters_are_collected)
{
	Parsed p = parse({"-r", "a.b.c", "-T", "x", "-t", "y", "-v", "default", "-f", "create"});
	ASSERT_TRUE(p.ok);
	ASSERT_EQ(p.opts.filters.size(), 4u);
	ASSERT_EQ(p.opts.filters[0].option, 'r');
	ASSERT_EQ(p.opts.filters[0].value, std::string("a.b.c"));
	ASSERT_EQ(p.opts.filters[3].option, 'f');
}
