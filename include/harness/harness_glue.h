/* The C side of the bridge to kselftest_harness.h, which only compiles as C.
 * lib/harness/harness_glue.c is the one translation unit that includes the
 * harness, and the one place that knows its internals (which harness
 * versions it supports is said there); the C++ registry
 * (lib/harness/registry.cc) registers fixtures, variants and tests
 * through these calls, and the harness calls back into C++ to run a body. */
#ifndef KVMT_HARNESS_GLUE_H
#define KVMT_HARNESS_GLUE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct glue_fixture;

struct glue_fixture *glue_add_fixture(const char *name);
void glue_add_variant(struct glue_fixture *f, const char *name, const void *data);
void glue_add_test(struct glue_fixture *f, const char *name, int timeout_s, int termsig,
		   const void *cxx_test);
/* Runs the harness; never returns (the harness exits with the kselftest code). */
int glue_harness_main(int argc, char **argv);

/* Defined by the C++ side: runs one test in the harness's forked child and
 * returns its KSFT_* code; a skip or failure reason goes into reason. */
int glue_run_cxx_test(const void *cxx_test, const void *variant_data, char *reason,
		      size_t reason_len);

#ifdef __cplusplus
}
#endif

#endif
