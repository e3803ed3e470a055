/* Helpers shared by the Criterion suites (tests/test_*.c). */
#ifndef TENREG_TEST_SUPPORT_H
#define TENREG_TEST_SUPPORT_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tenreg.h"

/* A readable page followed by a PROT_NONE one: tt_guard_place puts @n
 * bytes right before the unmapped page, so a read past them faults. */
struct tt_guard {
    unsigned char *base;
    size_t page;
};
struct tt_guard tt_guard_new(void);
/* Copies @p[0..@n) (@n at most a page) to the end of the readable page. */
const char *tt_guard_place(struct tt_guard *g, const void *p, size_t n);
void tt_guard_free(struct tt_guard *g);

/* xorshift64: the tests' reproducible random numbers; *@state nonzero. */
static inline uint64_t tt_xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Iterations for stress loops: TENREG_STRESS_ITERS if set, else @dflt. */
unsigned tt_iters(unsigned dflt);

/* Criterion .init/.fini for every test that touches a registry: registers
 * the test's main thread as a reader (Criterion forks each test, so this
 * cannot live in a constructor). */
void tt_thread_init(void);
void tt_thread_fini(void);

/*
 * Checks that must count. Criterion 2.4.1 reports a test whose .fini fails
 * a cr_assert (or even abort()s) as passed (Snaipe/Criterion#211, #242), so
 * a suite's ownership and "freed exactly once" checks cannot live in its
 * .fini. A test declared with
 *
 *     TT_TEST(end_fn, suite, name [, .timeout = ..., ...]) { body }
 *
 * is a Criterion Test(suite, name, ...) that runs @end_fn right after its
 * body returns, inside the test, where a failed assertion fails the test in
 * every build (Criterion and the TSan runner alike). The suite's .fini then
 * only releases what a test that failed early left behind.
 */
#define TT_TEST(end_, ...) TT_TEST_AT_(end_, __LINE__, __VA_ARGS__)
#define TT_TEST_AT_(end_, line_, ...) TT_TEST_AT__(end_, line_, __VA_ARGS__)
#define TT_TEST_AT__(end_, line_, ...)                                              \
    static void tt_body_##line_(void);                                              \
    Test(__VA_ARGS__)                                                               \
    {                                                                               \
        tt_body_##line_();                                                          \
        end_();                                                                     \
    }                                                                               \
    static void tt_body_##line_(void)

/*
 * A platform the tests can recognise: it records which tenant it was made
 * for, and the counting free function checks each one is freed once.
 */
struct tt_platform {
    unsigned magic;
    char tenant_id[256];
    char host[256];
    _Atomic int freed;
    bool kept;                  /* refused by the registry: the caller's (never freed) */
    /* tt_churn: the number of the registration it was made for, and every
     * health it was published with, in order (appended before publishing). */
    unsigned long gen;
    unsigned char *hist;
    unsigned hist_cap;
    _Atomic unsigned hist_n;
};
struct tt_platform *tt_platform_new(const char *tenant_id, const char *host);
/* The registry refused @p (a negative return): it stays the caller's and
 * must never be freed by the registry. */
void tt_platform_keep(struct tt_platform *p);

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
/* How many platforms made so far were not freed exactly once (kept ones:
 * were freed at all). */
long tt_platforms_not_freed_once(void);

/* Validators: ctx points to an int holding the verdict to answer. */
int tt_validator_verdict(void *ctx, const char *tenant_id, const char *agent_url);

/* Monotonic time in nanoseconds. */
long long tt_now_ns(void);

/* ---- bounded waits ----------------------------------------------------- */

/* How long a test waits for something that must happen before it fails
 * (instead of hanging until the suite's timeout). Generous: 2 loaded cores
 * and sanitizers. */
#define TT_WAIT_S 10.0

/* sem_timedwait for up to @seconds; false on timeout. */
bool tt_sem_wait_s(sem_t *s, double seconds);
/* Waits on @s for up to TT_WAIT_S and fails the test on timeout. */
#define TT_SEM_WAIT(s_, what_)                                                     \
    cr_assert(tt_sem_wait_s((s_), TT_WAIT_S), "waited 10 s on " #s_ ": " what_)

/* The calling thread's kernel id. */
pid_t tt_gettid(void);
/* Whether thread @tid of this process is asleep in a futex wait (where
 * tenreg's once-cell, turnstile and builder queue sleep). */
bool tt_thread_in_futex_wait(pid_t tid);
/* Waits up to TT_WAIT_S until @tid sleeps in a futex wait (twice in a row,
 * 1 ms apart); returns false on timeout. */
bool tt_wait_futex_sleep(pid_t tid);
#define TT_WAIT_FUTEX_SLEEP(tid_, what_)                                           \
    cr_assert(tt_wait_futex_sleep(tid_), "thread " #tid_ " never went to sleep: " what_)

/* A call run on its own thread, so that the test can wait for it with a
 * deadline: a call that blocks when it must not fails the test instead of
 * hanging it. */
struct tt_bounded {
    pthread_t th;
    sem_t done;
    pid_t tid;
    sem_t started;
    void *(*fn)(void *);
    void *arg;
    void *ret;
};
void tt_bounded_start(struct tt_bounded *b, void *(*fn)(void *), void *arg);
/* Waits up to @seconds for the call to return; joins it if it did. */
bool tt_bounded_join(struct tt_bounded *b, double seconds);
#define TT_BOUNDED_JOIN(b_, what_)                                                 \
    cr_assert(tt_bounded_join((b_), TT_WAIT_S), #b_ " still blocked after 10 s: " what_)

/* ---- churn: a writer with an exact model, readers that check against it -- */

/*
 * A registry of eager tenants churned by one writer thread: churn tenants
 * c<i> register on, move among and unregister from a pool of hosts (host
 * collisions are refused with EEXIST), and anchor tenants a<i> are
 * registered once and never removed (only rechecked), so that a reader must
 * always find them. The writer keeps an exact model of the registry and
 * predicts every return code and health; platforms carry the number of the
 * registration they were made for (gen) and the list of healths they were
 * published with, appended before each publication, so that a reader can
 * check that the health it got was published together with that platform,
 * and that what it sees under one host or id never goes back in time.
 */
struct tt_churn_stats {
    long registered, moved, eexist, awaited, unregistered, unregister_enoent;
    long rechecks_ok, rechecks_failed, rechecks_enoent, sweeps;
};

struct tt_churn {
    tenreg_t *reg;
    unsigned ntenants, nhosts, nanchors, nkeys; /* keys: hosts, then anchors' hosts */
    char (*keys)[64];                           /* host keys */
    struct tt_platform **anchor_plat;
    tenreg_health *anchor_health;
    /* the writer's model */
    int *host_of;                               /* churn tenant -> host, or -1 */
    int *owner;                                 /* host -> churn tenant, or -1 */
    tenreg_health *health;                      /* churn tenant */
    struct tt_platform **plat;                  /* churn tenant */
    size_t count;
    unsigned long gen, steps;
    unsigned seed;
    _Atomic int verdict;
    struct tt_free_counter frees;
    struct tt_churn_stats st;
};

struct tt_churn_reader {
    unsigned long *last_gen;                    /* per key, then per id: newest gen seen */
    unsigned *last_idx;                         /* and the index in its hist of what was seen */
    unsigned seed;
    long lookups, hits, misses, anchor_hits;
};

/* Creates the registry (a validator answering c->verdict, tt_count_free)
 * and registers every churn tenant once (so that anchors land behind
 * tombstones-to-be), then the anchors. From the writer thread. */
void tt_churn_init(struct tt_churn *c, unsigned tenants, unsigned hosts, unsigned anchors,
                   unsigned seed);
/* One random admin call, its return code and health checked against the
 * model, then the hosts it touched looked up by the writer. */
void tt_churn_step(struct tt_churn *c);
/* The writer looks up every host and id and compares with the model. */
void tt_churn_sweep(struct tt_churn *c);
/* A final sweep, tenreg_free, every platform freed exactly once; fails if
 * the run never exercised collisions, moves, misses. */
void tt_churn_finish(struct tt_churn *c);

void tt_churn_reader_init(struct tt_churn_reader *r, const struct tt_churn *c, unsigned seed);
void tt_churn_reader_fini(struct tt_churn_reader *r);
/* One lookup (by host, and by id on a hit) in a read section of its own,
 * checked; in QSBR the caller is an online reader. @use_resolve picks
 * tenreg_resolve(NOWAIT) instead of tenreg_resolve_by_host. */
void tt_churn_read_one(const struct tt_churn *c, struct tt_churn_reader *r, bool use_resolve);

#endif
