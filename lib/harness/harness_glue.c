/* The only translation unit that includes kselftest_harness.h (its functions
 * are not static, and it is not valid C++). Fixtures, variants and tests are
 * registered by name at run time, exactly as the harness's own macros do in
 * constructors, so names, fork isolation, timeouts and options are the
 * harness's. */
#include <stdlib.h>
#include <sys/prctl.h>
#include "kselftest_harness.h"
#include "harness_glue.h"

/* ==== Harness internals: the one place that names them ===================
 *
 * kselftest_harness.h has no interface for registering tests at run time,
 * so the glue fills the harness's private structures as its TEST_F() macro
 * does. Every harness field and function the glue uses is named in this
 * block and nowhere else, and the checks below stop the build when the
 * header lacks one or changed its type (the Makefile turns the first error
 * into one line). What the glue needs, and since when:
 *
 *   __test_metadata  name, fixture, termsig, timeout, fn(t, variant)   all versions
 *                    exit_code: the KSFT_* code of the test child        6.9 (before:
 *                               passed/skip/step, reason shown on skips only)
 *                    results->reason: diagnostic on the result line      6.1 has it
 *   __fixture_metadata name; __fixture_variant_metadata name, data      all versions
 *   __register_fixture(), __register_fixture_variant(), __register_test()
 *   test_harness_run(argc, argv) with -l -t -T -f -F -v -V -r            6.2 (6.1
 *                               ignores argv: -l would run every test)
 *   KSFT_PASS 0, KSFT_FAIL 1, KSFT_SKIP 4 (kselftest.h): the C++ side's codes
 *
 * Not touched, because they changed: setup_completed (read only by
 * TEST_F()'s teardown; 6.16 replaced it with no_teardown), env and
 * timed_out (gone in 6.16), teardown_fn (6.16; calloc leaves it NULL,
 * which the harness checks). Policy: Linux 6.9 and later. XFAIL_ADD came
 * in the same series as exit_code (6.9), so its absence names the version
 * problem before any field does. scripts/harness_compat_check.sh builds
 * this file against Debian's 6.1 (refused) and 6.12 in CI. */
#ifndef XFAIL_ADD
#error "kselftest_harness.h predates Linux 6.9 (no XFAIL_ADD, no __test_metadata.exit_code): lib/harness/harness_glue.c needs 6.9 or later"
#else

static void *glue_zalloc(size_t size);
struct glue_test;
static int glue_run_test(struct glue_test *g, const void *variant_data, char *reason,
			 size_t reason_len);

#define GLUE_IS(expr, type) _Generic((expr), type: 1, default: 0)
#define GLUE_NEEDS(ok, what)                                                                 \
	_Static_assert(ok, "kselftest_harness.h: " what                                      \
		       " is not what lib/harness/harness_glue.c (for Linux 6.9 or later) uses")
#define GLUE_T ((struct __test_metadata *)0)

typedef void (*glue_harness_fn)(struct __test_metadata *, struct __fixture_variant_metadata *);
GLUE_NEEDS(GLUE_IS(GLUE_T->name, const char *), "__test_metadata.name");
GLUE_NEEDS(GLUE_IS(GLUE_T->fn, glue_harness_fn), "__test_metadata.fn");
GLUE_NEEDS(GLUE_IS(GLUE_T->fixture, struct __fixture_metadata *), "__test_metadata.fixture");
GLUE_NEEDS(GLUE_IS(GLUE_T->termsig, int), "__test_metadata.termsig");
GLUE_NEEDS(GLUE_IS(GLUE_T->timeout, int), "__test_metadata.timeout");
GLUE_NEEDS(GLUE_IS(GLUE_T->exit_code, int), "__test_metadata.exit_code");
GLUE_NEEDS(GLUE_IS(GLUE_T->results->reason, char *) && sizeof(GLUE_T->results->reason) >= 256,
	   "__test_metadata.results->reason");
GLUE_NEEDS(GLUE_IS(((struct __fixture_metadata *)0)->name, const char *), "__fixture_metadata.name");
GLUE_NEEDS(GLUE_IS(((struct __fixture_variant_metadata *)0)->name, const char *),
	   "__fixture_variant_metadata.name");
GLUE_NEEDS(GLUE_IS(((struct __fixture_variant_metadata *)0)->data, const void *),
	   "__fixture_variant_metadata.data");
GLUE_NEEDS(GLUE_IS(&__register_fixture, void (*)(struct __fixture_metadata *)), "__register_fixture()");
GLUE_NEEDS(GLUE_IS(&__register_fixture_variant,
		   void (*)(struct __fixture_metadata *, struct __fixture_variant_metadata *)),
	   "__register_fixture_variant()");
GLUE_NEEDS(GLUE_IS(&__register_test, void (*)(struct __test_metadata *)), "__register_test()");
GLUE_NEEDS(GLUE_IS(&test_harness_run, int (*)(int, char **)), "test_harness_run()");
GLUE_NEEDS(KSFT_PASS == 0 && KSFT_FAIL == 1 && KSFT_SKIP == 4, "KSFT_PASS/KSFT_FAIL/KSFT_SKIP");

struct glue_fixture {
	struct __fixture_metadata meta;
};

struct glue_test {
	struct __test_metadata meta; /* first: the harness hands us this pointer */
	const void *cxx_test;
};

static void glue_register_fixture(struct glue_fixture *f, const char *name)
{
	f->meta.name = name;
	__register_fixture(&f->meta);
}

static void glue_register_variant(struct glue_fixture *f, const char *name, const void *data)
{
	struct __fixture_variant_metadata *v = glue_zalloc(sizeof(*v));

	v->name = name;
	v->data = data;
	__register_fixture_variant(&f->meta, v);
}

/* The harness's fn, in its forked child: the result goes into exit_code,
 * which the child exits with; a reason into the shared results page. */
static void glue_trampoline(struct __test_metadata *t, struct __fixture_variant_metadata *v)
{
	t->exit_code = glue_run_test((struct glue_test *)t, v->data, t->results->reason,
				     sizeof(t->results->reason));
}

static void glue_register_test(struct glue_fixture *f, struct glue_test *g, const char *name,
			       int timeout_s, int termsig)
{
	g->meta.name = name;
	g->meta.fn = glue_trampoline;
	g->meta.fixture = &f->meta;
	g->meta.termsig = termsig;
	g->meta.timeout = timeout_s;
	__register_test(&g->meta);
}

static int glue_run_harness(int argc, char **argv)
{
	return test_harness_run(argc, argv);
}
/* ==== end of harness internals ========================================== */

/* The harness process; a test child must not outlive it. */
static pid_t glue_harness_pid;

static void *glue_zalloc(size_t size)
{
	void *p = calloc(1, size);

	if (!p) {
		fprintf(stderr, "harness glue: out of memory\n");
		exit(KSFT_FAIL);
	}
	return p;
}

struct glue_fixture *glue_add_fixture(const char *name)
{
	struct glue_fixture *f = glue_zalloc(sizeof(*f));

	glue_register_fixture(f, name);
	return f;
}

void glue_add_variant(struct glue_fixture *f, const char *name, const void *data)
{
	glue_register_variant(f, name, data);
}

void glue_add_test(struct glue_fixture *f, const char *name, int timeout_s, int termsig,
		   const void *cxx_test)
{
	struct glue_test *g = glue_zalloc(sizeof(*g));

	g->cxx_test = cxx_test;
	glue_register_test(f, g, name, timeout_s, termsig);
}

static int glue_run_test(struct glue_test *g, const void *variant_data, char *reason,
			 size_t reason_len)
{
	/* The harness runs each test in its own process group, so a runner's
	 * timeout (timeout(1), runner.sh) kills the harness but not a test that
	 * hangs: such a test would be left running. Die with the harness. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != glue_harness_pid)
		_exit(KSFT_FAIL);
	return glue_run_cxx_test(g->cxx_test, variant_data, reason, reason_len);
}

int glue_harness_main(int argc, char **argv)
{
	glue_harness_pid = getpid();
	return glue_run_harness(argc, argv);
}

#endif /* XFAIL_ADD */
