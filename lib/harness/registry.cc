// The C++ side of the harness bridge: the registry the KVMT_* macros fill at
// static-initialization time, the body runner the harness calls in its forked
// child, and main().
#include <cstdio>
#include <cstdlib>

#include "harness_glue.h"
#include "fd_census.hh"
#include "harness_options.hh"
#include "strict_mode.hh"
#include "test.hh"

namespace kvmt {
namespace {

struct FixtureDef {
	const char *name;
	std::vector<VariantRef> variants;
	std::vector<const TestDef *> tests;
};

struct Registry {
	std::vector<FixtureDef> fixtures;
	std::vector<ProgramPreamble> preambles;
	std::vector<ProgramPreamble> startups;
};

Registry &registry()
{
	static Registry r;
	return r;
}

FixtureDef *find_fixture(const char *name)
{
	for (FixtureDef &f : registry().fixtures)
		if (std::string(f.name) == name)
			return &f;
	return nullptr;
}

}  // namespace

bool register_fixture(const char *fixture, std::vector<VariantRef> variants)
{
	if (FixtureDef *f = find_fixture(fixture)) {
		if (!variants.empty() && f->variants.empty())
			f->variants = std::move(variants);
		return true;
	}
	registry().fixtures.push_back({fixture, std::move(variants), {}});
	return true;
}

bool register_test(TestDef def)
{
	FixtureDef *f = find_fixture(def.fixture);
	if (!f) {
		registry().fixtures.push_back({def.fixture, {}, {}});
		f = &registry().fixtures.back();
	}
	f->tests.push_back(new TestDef(std::move(def)));
	return true;
}

bool register_preamble(ProgramPreamble fn)
{
	registry().preambles.push_back(fn);
	return true;
}

bool register_startup(ProgramPreamble fn)
{
	registry().startups.push_back(fn);
	return true;
}

static void copy_reason(char *dst, size_t len, const std::string &reason)
{
	// A '#' would end the TAP description early; lab parsers drop what follows.
	std::string clean = reason;
	for (char &c : clean)
		if (c == '#' || c == '\n')
			c = ' ';
	snprintf(dst, len, "%s", clean.c_str());
}

// Whether a positive filter names something that exists: a typo in -r/-t/-f/-v
// would otherwise run nothing and pass.
static bool filter_matches(const HarnessFilter &flt)
{
	for (const FixtureDef &f : registry().fixtures) {
		if (flt.option == 'f' && flt.value == f.name)
			return true;
		for (const VariantRef &v : f.variants)
			if (flt.option == 'v' && flt.value == v.name)
				return true;
		for (const TestDef *t : f.tests) {
			if (flt.option == 't' && flt.value == t->name)
				return true;
			if (flt.option != 'r')
				continue;
			if (f.variants.empty() && flt.value == std::string(f.name) + "." + t->name)
				return true;
			for (const VariantRef &v : f.variants)
				if (flt.value == std::string(f.name) + "." + v.name + "." + t->name)
					return true;
		}
	}
	return false;
}

static bool check_filters(const HarnessOptions &opts, std::string *error)
{
	for (const HarnessFilter &flt : opts.filters)
		if (!filter_matches(flt)) {
			*error = std::string("no test matches -") + flt.option + " '" + flt.value + "' (see -l)";
			return false;
		}
	return true;
}

static int run_body(const TestDef *test, const void *variant_data, char *reason, size_t reason_len)
{
	try {
		test->run(variant_data);
	} catch (const TestSkip &s) {
		if (test_failed()) {  // a failed check stands, whatever follows
			copy_reason(reason, reason_len, "failed, then skipped: " + s.reason);
			return 1;
		}
		if (strict_mode()) {
			copy_reason(reason, reason_len, "strict mode: skip is a failure: " + s.reason);
			return 1;
		}
		copy_reason(reason, reason_len, s.reason);
		return 4;
	} catch (const TestFailure &) {
		return 1;
	} catch (const std::exception &e) {
		fprintf(stderr, "# %s\n", e.what());
		copy_reason(reason, reason_len, e.what());
		return 1;
	}
	return test_failed() ? 1 : 0;
}

// Every fd a test opens is closed when it ends (RAII owns them all), but
// for the process-wide ones the library declared (allow_lasting_fd).
static std::string fds_left_open(const FdSet &before)
{
	return new_fds(before, open_fds());
}

}  // namespace kvmt

extern "C" int glue_run_cxx_test(const void *cxx_test, const void *variant_data, char *reason,
				 size_t reason_len)
{
	using namespace kvmt;
	FdSet before = open_fds();
	int code = run_body(static_cast<const TestDef *>(cxx_test), variant_data, reason, reason_len);
	std::string leaked = fds_left_open(before);
	if (leaked.empty())
		return code;
	fprintf(stderr, "# file descriptors left open by the test: %s\n", leaked.c_str());
	if (code == 1)
		return code;
	copy_reason(reason, reason_len, "file descriptors left open: " + leaked);
	return 1;
}

int main(int argc, char **argv)
{
	using namespace kvmt;
	for (ProgramPreamble fn : registry().startups)
		fn();
	setvbuf(stdout, nullptr, _IOLBF, 0);
	HarnessOptions opts;
	std::string error;
	if (!parse_harness_options(argc, argv, &opts, &error) || !check_filters(opts, &error) ||
	    !run_option_checks(&error)) {
		fprintf(stderr, "%s: %s\n", argv[0], error.c_str());
		return 1; /* KSFT_FAIL, as the harness does for a bad option */
	}

	for (FixtureDef &f : registry().fixtures) {
		glue_fixture *gf = glue_add_fixture(f.name);
		for (const VariantRef &v : f.variants)
			glue_add_variant(gf, v.name.c_str(), v.data);
		for (const TestDef *t : f.tests)
			glue_add_test(gf, t->name, t->timeout, t->termsig, t);
	}

	if (!opts.listing) {
		// The profile lines belong after "TAP version 13" and before the
		// plan; KSFT_TAP_LEVEL tells the harness the header is printed.
		printf("TAP version 13\n");
		setenv("KSFT_TAP_LEVEL", "1", 1);
		for (ProgramPreamble fn : registry().preambles)
			fn();
	}
	return glue_harness_main(argc, argv);
}
