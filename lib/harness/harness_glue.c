/* The only translation unit that includes kselftest_harness.h (its functions
 * are not static, and it is not valid C++). Fixtures, variants and tests are
 * registered by name at run time, exactly as the harness's own macros do in
 * constructors, so names, fork isolation, timeouts and options are the
 * harness's. */
#include <stdlib.h>
#include <sys/prctl.h>
#include "kselftest_harness.h"
#include "harness_glue.h"

/* The harness process; a test child must not outlive it. */
static pid_t glue_harness_pid;

struct glue_fixture {
	struct __fixture_metadata meta;
};

struct glue_test {
	struct __test_metadata meta; /* first: the harness hands us this pointer */
	const void *cxx_test;
};

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

	f->meta.name = name;
	__register_fixture(&f->meta);
	return f;
}

void glue_add_variant(struct glue_fixture *f, const char *name, const void *data)
{
	struct __fixture_variant_metadata *v = glue_zalloc(sizeof(*v));

	v->name = name;
	v->data = data;
	__register_fixture_variant(&f->meta, v);
}

static void glue_trampoline(struct __test_metadata *t, struct __fixture_variant_metadata *v)
{
	struct glue_test *g = (struct glue_test *)t;

	/* The harness runs each test in its own process group, so a runner's
	 * timeout (timeout(1), runner.sh) kills the harness but not a test that
	 * hangs: such a test would be left running. Die with the harness. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != glue_harness_pid)
		_exit(KSFT_FAIL);
	t->exit_code = glue_run_cxx_test(g->cxx_test, v->data, t->results->reason,
					 sizeof(t->results->reason));
	t->setup_completed = true;
}

void glue_add_test(struct glue_fixture *f, const char *name, int timeout_s, int termsig,
		   const void *cxx_test)
{
	struct glue_test *g = glue_zalloc(sizeof(*g));

	g->meta.name = name;
	g->meta.fn = glue_trampoline;
	g->meta.fixture = &f->meta;
	g->meta.termsig = termsig;
	g->meta.timeout = timeout_s;
	g->cxx_test = cxx_test;
	__register_test(&g->meta);
}

int glue_harness_main(int argc, char **argv)
{
	glue_harness_pid = getpid();
	return test_harness_run(argc, argv);
}
