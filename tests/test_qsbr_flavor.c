/*
 * The QSBR flavor (libtenreg-qsbr): same API, but readers announce
 * quiescent states with tenreg_quiescent() instead of read sections. These
 * tests link libtenreg-qsbr and check what differs: when platforms may be
 * freed, that admin-only threads never hold up reclamation, and that lazy
 * builds and churn behave as in the memb flavor.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

static struct tt_free_counter frees;

static tenreg_t *new_registry(void)
{
    tenreg_config cfg = {.platform_free = tt_count_free, .platform_free_ctx = &frees};
    tenreg_t *reg;
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    return reg;
}

/* Polls for a deferred free, up to 5 s. */
static bool eventually_freed(struct tt_platform *p)
{
    for (int i = 0; i < 500; i++) {
        if (atomic_load(&p->freed))
            return true;
        usleep(10 * 1000);
    }
    return false;
}

/* End of every test, in its body (see TT_TEST): each test frees its
 * registries itself; every platform must have been freed exactly once. */
static void check_frees(void)
{
    cr_assert_eq(atomic_load(&frees.double_frees), 0, "a platform was freed twice");
    cr_assert_eq(tt_platforms_not_freed_once(), 0, "a platform was not freed exactly once");
}

static void teardown(void)
{
    tt_platforms_release();
}

TestSuite(qsbr, .fini = teardown, .timeout = 60);

TT_TEST(check_frees, qsbr, flavor_name)
{
    cr_assert_str_eq(tenreg_flavor(), "qsbr");
}

struct holder {
    tenreg_t *reg;
    pthread_barrier_t got, quiesce, done;
    void *platform;
};

static void *online_reader(void *arg)
{
    struct holder *h = arg;
    tenreg_thread_register(); /* online from here */
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_host(h->reg, "a.example", 9, &r), TENREG_OK);
    h->platform = r.platform;
    tenreg_read_unlock(); /* no-op in QSBR: the platform stays protected */
    pthread_barrier_wait(&h->got);
    pthread_barrier_wait(&h->quiesce);
    cr_assert_eq(atomic_load(&((struct tt_platform *)h->platform)->freed), 0);
    tenreg_quiescent(); /* from here on the reader holds no tenreg pointer */
    pthread_barrier_wait(&h->done);
    tenreg_thread_unregister();
    return NULL;
}

TT_TEST(check_frees, qsbr, platform_lives_until_reader_is_quiescent)
{
    tenreg_t *reg = new_registry();
    struct tt_platform *a = tt_platform_new("a", "");
    cr_assert_eq(tenreg_register(reg, "a", "a.example", a, 0), TENREG_OK);
    struct holder h = {.reg = reg};
    pthread_barrier_init(&h.got, NULL, 2);
    pthread_barrier_init(&h.quiesce, NULL, 2);
    pthread_barrier_init(&h.done, NULL, 2);
    pthread_t th;
    pthread_create(&th, NULL, online_reader, &h);
    pthread_barrier_wait(&h.got);

    cr_assert_eq(tenreg_unregister(reg, "a"), TENREG_OK, "never waits for the reader");
    usleep(100 * 1000);
    cr_assert_eq(atomic_load(&a->freed), 0, "freed before the reader was quiescent");
    pthread_barrier_wait(&h.quiesce);
    pthread_barrier_wait(&h.done);
    cr_assert(eventually_freed(a), "not freed after the quiescent state");
    pthread_join(th, NULL);
    tenreg_free(reg);
    cr_assert_eq(atomic_load(&frees.frees), 1);
}

TT_TEST(check_frees, qsbr, admin_only_thread_does_not_hold_up_reclamation)
{
    /* This thread never registers as a reader: admin calls register it with
     * liburcu on their own and leave it offline between calls. */
    tenreg_t *reg = new_registry();
    struct tt_platform *a = tt_platform_new("a", "");
    cr_assert_eq(tenreg_register(reg, "a", "a.example", a, 0), TENREG_OK);
    cr_assert_eq(tenreg_recheck(reg, "a"), TENREG_OK);
    cr_assert_eq(tenreg_unregister(reg, "a"), TENREG_OK);
    cr_assert(eventually_freed(a));
    tenreg_free(reg);
}

static int slow_factory(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    usleep(20 * 1000);
    *platform = tt_platform_new(tenant_id, "lazy");
    return 0;
}

TT_TEST(check_frees, qsbr, lazy_builds_work_for_online_readers)
{
    tt_thread_init();
    tenreg_t *reg = new_registry();
    cr_assert_eq(tenreg_register_lazy(reg, "a", "a.example", slow_factory, NULL, 0), TENREG_OK);
    tenreg_resolution r;
    cr_assert_eq(tenreg_resolve(reg, "a.example", 9, TENREG_NOWAIT, &r), TENREG_EPENDING);
    cr_assert_eq(tenreg_resolve(reg, "a.example", 9, 0, &r), TENREG_OK);
    cr_assert_not_null(r.platform);
    cr_assert_eq(r.health, TENREG_HEALTHY);
    tenreg_quiescent();
    tenreg_free(reg); /* from an online reader thread: must not deadlock */
    cr_assert_eq(atomic_load(&frees.frees), 1);
    tt_thread_fini();
}

static _Atomic bool stop;
static struct tt_churn churn;

struct qreader {
    pthread_t th;
    struct tt_churn_reader rd;
    _Atomic long lookups;
};

static void *quiescing_reader(void *arg)
{
    struct qreader *me = arg;
    tenreg_thread_register(); /* online from here */
    for (long n = 1; !atomic_load(&stop); n++) {
        tt_churn_read_one(&churn, &me->rd, n & 1);
        atomic_store(&me->lookups, me->rd.lookups);
        if (n % 64 == 0)
            tenreg_quiescent(); /* an event-loop turn */
    }
    tenreg_thread_unregister();
    return NULL;
}

/* The writer (this thread, never a reader: offline between admin calls)
 * keeps an exact model and checks every answer; readers check that anchors
 * always hit and that every platform they see is alive, theirs, published
 * with that health and never older than one seen before (tests/support). */
TT_TEST(check_frees, qsbr, readers_stay_consistent_under_churn, .timeout = 300)
{
    tt_churn_init(&churn, 16, 24, 8, 3);
    static struct qreader rd[2];
    for (int i = 0; i < 2; i++) {
        tt_churn_reader_init(&rd[i].rd, &churn, 7u + (unsigned)i);
        cr_assert_eq(pthread_create(&rd[i].th, NULL, quiescing_reader, &rd[i]), 0);
    }
    unsigned iters = tt_iters(20000) < 20000 ? tt_iters(20000) : 20000;
    for (unsigned i = 0; i < iters; i++)
        tt_churn_step(&churn);
    long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
    for (int i = 0; i < 2; i++)
        while (atomic_load(&rd[i].lookups) < 1000) {
            cr_assert_lt(tt_now_ns(), deadline, "reader %d stalled", i);
            tt_churn_step(&churn);
        }
    atomic_store(&stop, true);
    long hits = 0, anchors = 0;
    for (int i = 0; i < 2; i++) {
        pthread_join(rd[i].th, NULL);
        hits += rd[i].rd.hits;
        anchors += rd[i].rd.anchor_hits;
        tt_churn_reader_fini(&rd[i].rd);
    }
    cr_assert_gt(anchors, 0);
    cr_assert_gt(hits - anchors, 0);
    tt_churn_finish(&churn);
}

static void *quiescent_before_anything(void *arg)
{
    tenreg_t *reg = arg;
    /* Not a reader: announcing a quiescent state must do nothing here,
     * neither corrupt liburcu's view of the thread nor put it online. */
    tenreg_quiescent();
    struct tt_platform *a = tt_platform_new("q", "");
    cr_assert_eq(tenreg_register(reg, "q", "q.example", a, 0), TENREG_OK);
    tenreg_quiescent();
    cr_assert_eq(tenreg_unregister(reg, "q"), TENREG_OK);
    tenreg_quiescent();
    /* The thread is offline between admin calls: the free goes through
     * without any further call from it. */
    cr_assert(eventually_freed(a), "an admin-only thread held up reclamation");
    return NULL;
}

TT_TEST(check_frees, qsbr, quiescent_on_a_thread_that_is_not_a_reader_is_harmless)
{
    tenreg_t *reg = new_registry();
    pthread_t th;
    pthread_create(&th, NULL, quiescent_before_anything, reg);
    pthread_join(th, NULL);
    tenreg_free(reg);
}
