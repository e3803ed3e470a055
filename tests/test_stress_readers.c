/*
 * Stress: reader threads resolve hosts while a writer registers,
 * re-registers (moving hosts), unregisters and rechecks, at least 100k
 * times (TENREG_STRESS_ITERS overrides). The writer keeps an exact model of
 * the registry (tests/support: tt_churn) and checks the return code and
 * health of every call it makes, and looks up what it touched. Readers
 * check every answer: anchor tenants (never removed) always hit with their
 * own platform; any platform belongs to the tenant returned and to the host
 * asked, has not been freed, was published with the health it came with,
 * and is never older than one the same reader saw before for that host or
 * id. Run under ASan and TSan by the CI script, this is also the
 * use-after-free and data-race check of the read side.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

#define NTENANTS 48
#define NHOSTS 96
#define NANCHORS 24
#define NREADERS 2
#define MIN_LOOKUPS 1000 /* each reader, before the writer may stop them */

static struct tt_churn churn;
static _Atomic bool stop;

struct reader {
    pthread_t th;
    struct tt_churn_reader rd;
    _Atomic long lookups;
};

static void *reader_main(void *arg)
{
    struct reader *me = arg;
    tenreg_thread_register();
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        /* Odd lookups through tenreg_resolve (NOWAIT), even ones through
         * the hot path. */
        tt_churn_read_one(&churn, &me->rd, me->rd.lookups & 1);
        atomic_store_explicit(&me->lookups, me->rd.lookups, memory_order_relaxed);
    }
    tenreg_thread_unregister();
    return NULL;
}

Test(stress, readers_see_consistent_answers_under_churn, .timeout = 600)
{
    tt_thread_init();
    tt_churn_init(&churn, NTENANTS, NHOSTS, NANCHORS, 12345);

    static struct reader readers[NREADERS];
    for (int i = 0; i < NREADERS; i++) {
        tt_churn_reader_init(&readers[i].rd, &churn, 777u + (unsigned)i);
        cr_assert_eq(pthread_create(&readers[i].th, NULL, reader_main, &readers[i]), 0);
    }

    unsigned iters = tt_iters(100000);
    for (unsigned it = 0; it < iters; it++)
        tt_churn_step(&churn);
    /* Readers must have looked while the registry changed under them; a
     * short run (TENREG_STRESS_ITERS) keeps churning until they have. */
    long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
    for (int i = 0; i < NREADERS; i++) {
        while (atomic_load(&readers[i].lookups) < MIN_LOOKUPS) {
            cr_assert_lt(tt_now_ns(), deadline, "reader %d made %ld lookups in 10 s", i,
                         atomic_load(&readers[i].lookups));
            tt_churn_step(&churn);
        }
    }
    atomic_store(&stop, true);
    long lookups = 0, hits = 0, misses = 0, anchors = 0;
    for (int i = 0; i < NREADERS; i++) {
        pthread_join(readers[i].th, NULL);
        lookups += readers[i].rd.lookups;
        hits += readers[i].rd.hits;
        misses += readers[i].rd.misses;
        anchors += readers[i].rd.anchor_hits;
        tt_churn_reader_fini(&readers[i].rd);
    }
    cr_log_info("readers: %ld lookups, %ld hits (%ld anchors), %ld misses during %u writer ops",
                lookups, hits, anchors, misses, iters);
    cr_assert_gt(anchors, 0, "readers never looked an anchor up");
    cr_assert_gt(hits - anchors, 0, "readers never saw a churning tenant");
    cr_assert_gt(misses, 0, "readers never missed");

    tt_churn_finish(&churn);
    tt_thread_fini();
    tt_platforms_release();
}
