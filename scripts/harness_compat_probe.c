/* A tiny harness program for scripts/harness_compat_check.sh: it registers,
 * through lib/harness/harness_glue.c built against the harness under test,
 * one fixture with two variants and one test per result the glue hands to
 * the harness (pass, skip with a reason, failure with a reason, the expected
 * signal, a timeout), so that the check sees every field the glue writes at
 * work. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "harness_glue.h"

struct probe_test {
	int code;	/* KSFT_* code returned to the glue */
	int signal;	/* raised instead of returning, when not 0 */
	int sleep_s;	/* slept first (longer than the timeout) */
	const char *what;
};

static const struct probe_test t_pass = { 0, 0, 0, NULL };
static const struct probe_test t_skip = { 4, 0, 0, "skipped" };
static const struct probe_test t_fail = { 1, 0, 0, "failed" };
static const struct probe_test t_signal = { 1, SIGUSR1, 0, NULL };
static const struct probe_test t_timeout = { 0, 0, 5, NULL };

int glue_run_cxx_test(const void *cxx_test, const void *variant_data, char *reason,
		      size_t reason_len)
{
	const struct probe_test *t = cxx_test;

	if (t->sleep_s)
		sleep(t->sleep_s);
	if (t->signal)
		raise(t->signal);
	if (t->what)
		snprintf(reason, reason_len, "%s in %s", t->what, (const char *)variant_data);
	return t->code;
}

int main(int argc, char **argv)
{
	struct glue_fixture *f = glue_add_fixture("compat");

	glue_add_variant(f, "one", "one");
	glue_add_variant(f, "two", "two");
	glue_add_test(f, "pass", 30, -1, &t_pass);
	glue_add_test(f, "skip", 30, -1, &t_skip);
	glue_add_test(f, "fail", 30, -1, &t_fail);
	glue_add_test(f, "signal", 30, SIGUSR1, &t_signal);
	glue_add_test(f, "timeout", 1, -1, &t_timeout);
	return glue_harness_main(argc, argv);
}
