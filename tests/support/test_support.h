/* Helpers shared by the Criterion suites (tests/test_*.c). */
#ifndef TENREG_TEST_SUPPORT_H
#define TENREG_TEST_SUPPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "tenreg.h"

/* Iterations for stress loops: TENREG_STRESS_ITERS if set, else @dflt. */
unsigned tt_iters(unsigned dflt);

/* Criterion .init/.fini for every test that touches a registry: registers
 * the test's main thread as a reader (Criterion forks each test, so this
 * cannot live in a constructor). */
void tt_thread_init(void);
void tt_thread_fini(void);

/*
 * A platform the tests can recognise: it records which tenant it was made
 * for, and the counting free function checks each one is freed once.
 */
struct tt_platform {
    unsigned magic;
    char tenant_id[256];
    char host[256];
    _Atomic int freed;
};
struct tt_platform *tt_platform_new(const char *tenant_id, const char *host);

struct tt_free_counter {
    _Atomic long frees;
    _Atomic long double_frees;
};
/* tenreg_free_fn: ctx is a struct tt_free_counter; marks and counts. The
 * platform memory itself is released by tt_platforms_release() at the end,
 * so a double free is detected instead of crashing. */
void tt_count_free(void *ctx, void *platform);
/* Frees every tt_platform made so far (call after tenreg_free). */
void tt_platforms_release(void);
long tt_platforms_made(void);
/* How many platforms made so far have freed != 1. */
long tt_platforms_not_freed_once(void);

/* Validators: ctx points to an int holding the verdict to answer. */
int tt_validator_verdict(void *ctx, const char *tenant_id, const char *agent_url);

/* Monotonic time in nanoseconds. */
long long tt_now_ns(void);

#endif
