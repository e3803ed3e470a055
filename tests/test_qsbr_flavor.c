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

static void teardown(void)
{
    cr_expect_eq(atomic_load(&frees.double_frees), 0);
    tt_platforms_release();
}

TestSuite(qsbr, .fini = teardown, .timeout = 60);

Test(qsbr, flavor_name)
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

Test(qsbr, platform_lives_until_reader_is_quiescent)
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

Test(qsbr, admin_only_thread_does_not_hold_up_reclamation)
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

Test(qsbr, lazy_builds_work_for_online_readers)
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
static tenreg_t *churn_reg;

static void *quiescing_reader(void *arg)
{
    long *hits = arg;
    tenreg_thread_register();
    unsigned seed = 7;
    for (long n = 0; !atomic_load(&stop); n++) {
        char host[32];
        int len = snprintf(host, sizeof(host), "t%u.example", rand_r(&seed) % 16);
        tenreg_resolution r;
        if (tenreg_resolve_by_host(churn_reg, host, (size_t)len, &r) == TENREG_OK) {
            const struct tt_platform *p = r.platform;
            cr_assert_eq(atomic_load(&((struct tt_platform *)p)->freed), 0);
            cr_assert_str_eq(p->tenant_id, r.tenant_id);
            (*hits)++;
        }
        if (n % 64 == 0)
            tenreg_quiescent(); /* an event-loop turn */
    }
    tenreg_thread_unregister();
    return NULL;
}

Test(qsbr, readers_stay_consistent_under_churn, .timeout = 300)
{
    churn_reg = new_registry();
    pthread_t th[2];
    long hits[2] = {0, 0};
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, quiescing_reader, &hits[i]);
    unsigned seed = 3;
    unsigned iters = tt_iters(20000) < 20000 ? tt_iters(20000) : 20000;
    for (unsigned i = 0; i < iters; i++) {
        char id[16], url[32];
        unsigned t = rand_r(&seed) % 16;
        snprintf(id, sizeof(id), "t%u", t);
        snprintf(url, sizeof(url), "t%u.example", t);
        if (rand_r(&seed) % 3)
            cr_assert_eq(tenreg_register(churn_reg, id, url, tt_platform_new(id, url), 0),
                         TENREG_OK);
        else
            tenreg_unregister(churn_reg, id);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    cr_assert_gt(hits[0] + hits[1], 0);
    tenreg_free(churn_reg);
    cr_assert_eq(tt_platforms_not_freed_once(), 0);
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

Test(qsbr, quiescent_on_a_thread_that_is_not_a_reader_is_harmless)
{
    tenreg_t *reg = new_registry();
    pthread_t th;
    pthread_create(&th, NULL, quiescent_before_anything, reg);
    pthread_join(th, NULL);
    tenreg_free(reg);
}
