/*
 * Lazy tenants: every lazy row of the health table (DESIGN.md §3), the
 * once-cell (exactly one factory call whatever the number of threads),
 * TENREG_NOWAIT, and builds racing with unregister and re-register.
 */
#include <criterion/criterion.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

enum factory_mode { FACTORY_OK, FACTORY_FAIL, FACTORY_NULL };

struct factory {
    _Atomic int mode;
    _Atomic int calls;
    _Atomic int sleep_us;
    _Atomic bool gated;       /* wait on `release` before returning */
    sem_t entered, release;
    _Atomic(void *) last;
    _Atomic pid_t tid;        /* the thread the last call ran on */
    _Atomic int calls_for_a;  /* calls for tenant "a" */
};

static int test_factory(void *ctx, const char *tenant_id, void **platform)
{
    struct factory *f = ctx;
    atomic_fetch_add(&f->calls, 1);
    if (!strcmp(tenant_id, "a"))
        atomic_fetch_add(&f->calls_for_a, 1);
    atomic_store(&f->tid, tt_gettid());
    if (atomic_load(&f->gated)) {
        sem_post(&f->entered);
        /* Bounded: a test that fails before it opens the gate must not
         * leave the build (and tenreg_free) hanging. */
        tt_sem_wait_s(&f->release, 3 * TT_WAIT_S);
    }
    int us = atomic_load(&f->sleep_us);
    if (us)
        usleep((useconds_t)us);
    switch (atomic_load(&f->mode)) {
    case FACTORY_FAIL:
        return -1;
    case FACTORY_NULL:
        *platform = NULL;
        return 0;
    default:
        *platform = tt_platform_new(tenant_id, "lazy");
        atomic_store(&f->last, *platform);
        return 0;
    }
}

static tenreg_t *reg;
static struct factory fac;
static _Atomic int verdict = 1;
static _Atomic int validations;
static struct tt_free_counter frees;

static int counting_validator(void *ctx, const char *id, const char *url)
{
    atomic_fetch_add(&validations, 1);
    return tt_validator_verdict(ctx, id, url);
}

static void setup_with(unsigned builders)
{
    tt_thread_init();
    memset(&fac, 0, sizeof(fac));
    sem_init(&fac.entered, 0, 0);
    sem_init(&fac.release, 0, 0);
    atomic_store(&verdict, 1);
    atomic_store(&validations, 0);
    atomic_store(&frees.frees, 0);
    atomic_store(&frees.double_frees, 0);
    tenreg_config cfg = {.validator = counting_validator, .validator_ctx = &verdict,
                         .platform_free = tt_count_free, .platform_free_ctx = &frees,
                         .builder_threads = builders};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
}

static void setup(void)
{
    setup_with(1);
}

/* The end of every test, in its body (TT_TEST: Criterion ignores a failed
 * assertion in a .fini): tenreg_free lets running builds finish and frees
 * every platform it owned, built or given, each exactly once. */
static void finish(void)
{
    tenreg_free(reg);
    reg = NULL;
    cr_assert_eq(atomic_load(&frees.double_frees), 0, "a platform was freed twice");
    cr_assert_eq(tt_platforms_not_freed_once(), 0, "a platform was not freed exactly once");
}

static bool slow_gate_open(void);

/* Only what a test that failed early left behind: open the gates first, or
 * tenreg_free would wait for a factory or validator blocked in one. */
static void teardown(void)
{
    atomic_store(&fac.gated, false);
    for (int i = 0; i < 64; i++)
        sem_post(&fac.release);
    slow_gate_open();
    tenreg_free(reg);
    reg = NULL;
    sem_destroy(&fac.entered);
    sem_destroy(&fac.release);
    tt_thread_fini();
    tt_platforms_release();
}

static void lazy(const char *id, const char *url, unsigned flags)
{
    cr_assert_eq(tenreg_register_lazy(reg, id, url, test_factory, &fac, flags), TENREG_OK);
}

static tenreg_health health(const char *id)
{
    tenreg_health h = (tenreg_health)-1;
    cr_assert_eq(tenreg_health_of(reg, id, &h), TENREG_OK);
    return h;
}

/* Blocking or not, by host; copies the answer out of the read section. */
static int resolve(const char *host, unsigned flags, void **platform, tenreg_health *h)
{
    tenreg_resolution r = {0};
    tenreg_read_lock();
    int rc = tenreg_resolve(reg, host, strlen(host), flags, &r);
    if (platform)
        *platform = r.platform;
    if (h)
        *h = r.health;
    tenreg_read_unlock();
    return rc;
}

static int resolve_by_host(const char *host, void **platform)
{
    tenreg_resolution r = {0};
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(reg, host, strlen(host), &r);
    if (platform)
        *platform = r.platform;
    tenreg_read_unlock();
    return rc;
}

TestSuite(lazy, .init = setup, .fini = teardown, .timeout = 60);

/* ---- DESIGN.md §3, lazy rows ------------------------------------------- */

TT_TEST(finish, lazy, register_lazy_is_pending_and_resolve_by_host_never_builds)
{
    lazy("a", "https://a.example/adcp", 0);
    cr_assert_eq(health("a"), TENREG_PENDING);
    void *p = (void *)1;
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_host(reg, "a.example", 9, &r), TENREG_EPENDING);
    cr_assert_str_eq(r.tenant_id, "a", "EPENDING still names the tenant");
    cr_assert_eq(r.health, TENREG_PENDING);
    cr_assert_null(r.platform);
    tenreg_read_unlock();
    cr_assert_eq(resolve_by_host("a.example", &p), TENREG_EPENDING);
    /* Had either lookup queued a build of "a", the one builder thread
     * would run it before the build of "z" queued now (its queue is FIFO):
     * once z is built, a's factory would have run. */
    lazy("z", "z.example", 0);
    cr_assert_eq(resolve("z.example", 0, NULL, NULL), TENREG_OK);
    cr_assert_eq(atomic_load(&fac.calls_for_a), 0, "resolve_by_host started a build");
    cr_assert_eq(atomic_load(&fac.calls), 1);
    cr_assert_eq(resolve_by_host("a.example", &p), TENREG_EPENDING);
}

TT_TEST(finish, lazy, first_resolve_builds_validates_and_caches)
{
    lazy("a", "a.example", 0);
    void *p1, *p2;
    tenreg_health h;
    cr_assert_eq(resolve("A.example:443", 0, &p1, &h), TENREG_OK);
    cr_assert_not_null(p1);
    cr_assert_eq(p1, atomic_load(&fac.last));
    cr_assert_eq(h, TENREG_HEALTHY);
    cr_assert_eq(atomic_load(&validations), 1);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(resolve("a.example", TENREG_NOWAIT, &p2, NULL), TENREG_OK);
        cr_assert_eq(p2, p1);
    }
    cr_assert_eq(resolve_by_host("a.example", &p2), TENREG_OK, "hot path after the build");
    cr_assert_eq(p2, p1);
    cr_assert_eq(atomic_load(&fac.calls), 1, "factory dropped after success");
}

TT_TEST(finish, lazy, resolve_by_id_builds_too)
{
    lazy("a", "a.example", 0);
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_id(reg, "a", 0, &r), TENREG_OK);
    cr_assert_eq(r.health, TENREG_HEALTHY);
    cr_assert_not_null(r.platform);
    tenreg_read_unlock();
    cr_assert_eq(atomic_load(&fac.calls), 1);
}

TT_TEST(finish, lazy, factory_error_disables_and_is_never_retried)
{
    atomic_store(&fac.mode, FACTORY_FAIL);
    lazy("a", "a.example", 0);
    tenreg_health h;
    void *p;
    cr_assert_eq(resolve("a.example", 0, &p, &h), TENREG_EFACTORY, "the building call");
    cr_assert_null(p);
    cr_assert_eq(h, TENREG_DISABLED);
    cr_assert_eq(health("a"), TENREG_DISABLED);
    atomic_store(&fac.mode, FACTORY_OK);
    cr_assert_eq(resolve("a.example", 0, &p, &h), TENREG_EDISABLED, "later calls");
    cr_assert_eq(h, TENREG_DISABLED);
    cr_assert_eq(resolve("a.example", TENREG_NOWAIT, NULL, NULL), TENREG_EDISABLED);
    cr_assert_eq(resolve_by_host("a.example", NULL), TENREG_EDISABLED);
    cr_assert_eq(atomic_load(&fac.calls), 1, "never retried");
    cr_assert_eq(atomic_load(&validations), 0, "no validation after a failed factory");
}

TT_TEST(finish, lazy, factory_null_platform_is_a_failure)
{
    atomic_store(&fac.mode, FACTORY_NULL);
    lazy("a", "a.example", 0);
    cr_assert_eq(resolve("a.example", 0, NULL, NULL), TENREG_EFACTORY);
    cr_assert_eq(health("a"), TENREG_DISABLED);
}

TT_TEST(finish, lazy, validator_invalid_discards_the_platform)
{
    atomic_store(&verdict, 0);
    lazy("a", "a.example", 0);
    tenreg_health h;
    cr_assert_eq(resolve("a.example", 0, NULL, &h), TENREG_EVALIDATOR);
    cr_assert_eq(h, TENREG_DISABLED);
    struct tt_platform *built = atomic_load(&fac.last);
    cr_assert_not_null(built);
    cr_assert_eq(atomic_load(&built->freed), 1, "the built platform is freed at once");
    cr_assert_eq(resolve("a.example", 0, NULL, NULL), TENREG_EDISABLED);
    cr_assert_eq(atomic_load(&fac.calls), 1);
}

TT_TEST(finish, lazy, validator_error_discards_the_platform)
{
    atomic_store(&verdict, -2);
    lazy("a", "a.example", 0);
    cr_assert_eq(resolve("a.example", 0, NULL, NULL), TENREG_EVALIDATOR);
    cr_assert_eq(health("a"), TENREG_DISABLED);
    cr_assert_eq(atomic_load(&((struct tt_platform *)atomic_load(&fac.last))->freed), 1);
}

TT_TEST(finish, lazy, await_first_validation_builds_before_returning)
{
    lazy("a", "a.example", TENREG_AWAIT_FIRST_VALIDATION);
    cr_assert_eq(atomic_load(&fac.calls), 1);
    cr_assert_eq(health("a"), TENREG_HEALTHY);
    void *p;
    cr_assert_eq(resolve_by_host("a.example", &p), TENREG_OK, "pre-warmed: hot path at once");
    cr_assert_eq(p, atomic_load(&fac.last));
}

TT_TEST(finish, lazy, await_with_failing_factory_registers_disabled)
{
    atomic_store(&fac.mode, FACTORY_FAIL);
    cr_assert_eq(tenreg_register_lazy(reg, "a", "a.example", test_factory, &fac,
                                      TENREG_AWAIT_FIRST_VALIDATION),
                 TENREG_OK, "0: it is registered, read its health");
    cr_assert_eq(health("a"), TENREG_DISABLED);
    cr_assert_eq(resolve("a.example", 0, NULL, NULL), TENREG_EDISABLED);
    cr_assert_eq(tenreg_count(reg), 1);
}

TT_TEST(finish, lazy, await_with_invalid_validator_registers_disabled)
{
    atomic_store(&verdict, 0);
    lazy("a", "a.example", TENREG_AWAIT_FIRST_VALIDATION);
    cr_assert_eq(health("a"), TENREG_DISABLED);
    cr_assert_eq(atomic_load(&((struct tt_platform *)atomic_load(&fac.last))->freed), 1);
}

TT_TEST(finish, lazy, register_lazy_again_recovers_after_failure)
{
    atomic_store(&fac.mode, FACTORY_FAIL);
    lazy("a", "a.example", 0);
    cr_assert_eq(resolve("a.example", 0, NULL, NULL), TENREG_EFACTORY);
    atomic_store(&fac.mode, FACTORY_OK);
    lazy("a", "a.example", 0);
    cr_assert_eq(health("a"), TENREG_PENDING);
    void *p;
    cr_assert_eq(resolve("a.example", 0, &p, NULL), TENREG_OK);
    cr_assert_eq(health("a"), TENREG_HEALTHY);
    cr_assert_eq(atomic_load(&fac.calls), 2);
}

TT_TEST(finish, lazy, eager_over_lazy_drops_the_factory)
{
    lazy("a", "a.example", 0);
    void *p = tt_platform_new("a", "eager");
    cr_assert_eq(tenreg_register(reg, "a", "a.example", p, 0), TENREG_OK);
    void *got;
    cr_assert_eq(resolve("a.example", 0, &got, NULL), TENREG_OK);
    cr_assert_eq(got, p);
    cr_assert_eq(atomic_load(&fac.calls), 0, "the replaced factory never runs");
}

TT_TEST(finish, lazy, lazy_over_eager_frees_old_platform_and_builds)
{
    struct tt_platform *old = tt_platform_new("a", "eager");
    cr_assert_eq(tenreg_register(reg, "a", "a.example", old, 0), TENREG_OK);
    lazy("a", "a.example", 0);
    cr_assert_eq(resolve_by_host("a.example", NULL), TENREG_EPENDING);
    void *got;
    cr_assert_eq(resolve("a.example", 0, &got, NULL), TENREG_OK);
    cr_assert_neq(got, (void *)old);
    /* The old platform goes after a grace period; tenreg_free waits for it. */
    tenreg_free(reg);
    reg = NULL;
    cr_assert_eq(atomic_load(&old->freed), 1);
    cr_assert_eq(tenreg_new(NULL, &reg), TENREG_OK);
}

TT_TEST(finish, lazy, unregister_lazy_tenant)
{
    lazy("a", "a.example", 0);
    cr_assert_eq(tenreg_unregister(reg, "a"), TENREG_OK);
    cr_assert_eq(resolve("a.example", 0, NULL, NULL), TENREG_ENOENT);
    cr_assert_eq(atomic_load(&fac.calls), 0);
}

TT_TEST(finish, lazy, recheck_on_unbuilt_lazy_runs_validator_only)
{
    lazy("a", "a.example", 0);
    cr_assert_eq(tenreg_recheck(reg, "a"), TENREG_OK);
    cr_assert_eq(health("a"), TENREG_HEALTHY);
    cr_assert_eq(atomic_load(&fac.calls), 0, "recheck does not build");
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_host(reg, "a.example", 9, &r), TENREG_EPENDING,
                 "healthy but still no platform");
    cr_assert_eq(r.health, TENREG_HEALTHY);
    tenreg_read_unlock();
    cr_assert_eq(resolve("a.example", 0, NULL, NULL), TENREG_OK, "first resolve builds");
    cr_assert_eq(atomic_load(&fac.calls), 1);
}

TT_TEST(finish, lazy, lazy_disabled_by_recheck_is_still_built_by_first_resolve)
{
    lazy("a", "a.example", 0);
    atomic_store(&verdict, 0);
    cr_assert_eq(tenreg_recheck(reg, "a"), TENREG_EVALIDATOR);
    cr_assert_eq(health("a"), TENREG_DISABLED);
    atomic_store(&verdict, 1);
    tenreg_health h;
    cr_assert_eq(resolve("a.example", 0, NULL, &h), TENREG_OK);
    cr_assert_eq(h, TENREG_HEALTHY, "the build's validation decides");
}

TT_TEST(finish, lazy, recheck_cannot_rebuild_a_failed_lazy_tenant)
{
    atomic_store(&fac.mode, FACTORY_FAIL);
    lazy("a", "a.example", 0);
    cr_assert_eq(resolve("a.example", 0, NULL, NULL), TENREG_EFACTORY);
    atomic_store(&fac.mode, FACTORY_OK);
    cr_assert_eq(tenreg_recheck(reg, "a"), TENREG_OK);
    cr_assert_eq(health("a"), TENREG_HEALTHY);
    tenreg_health h;
    cr_assert_eq(resolve("a.example", 0, NULL, &h), TENREG_EDISABLED);
    cr_assert_eq(h, TENREG_HEALTHY);
    cr_assert_eq(atomic_load(&fac.calls), 1);
}

TT_TEST(finish, lazy, recheck_after_build_keeps_platform)
{
    lazy("a", "a.example", 0);
    void *p;
    cr_assert_eq(resolve("a.example", 0, &p, NULL), TENREG_OK);
    atomic_store(&verdict, 0);
    cr_assert_eq(tenreg_recheck(reg, "a"), TENREG_EVALIDATOR);
    void *p2;
    tenreg_health h;
    cr_assert_eq(resolve("a.example", 0, &p2, &h), TENREG_OK);
    cr_assert_eq(p2, p);
    cr_assert_eq(h, TENREG_UNVERIFIED);
}

TT_TEST(finish, lazy, bad_arguments)
{
    cr_assert_eq(tenreg_register_lazy(reg, "a", "a.example", NULL, NULL, 0), TENREG_EINVAL);
    cr_assert_eq(tenreg_register_lazy(reg, "a", "a example", test_factory, &fac, 0),
                 TENREG_EINVAL);
    cr_assert_eq(tenreg_register_lazy(reg, "a", "a.example", test_factory, &fac, 4),
                 TENREG_EINVAL);
    cr_assert_eq(tenreg_count(reg), 0);
    lazy("a", "a.example", 0);
    cr_assert_eq(tenreg_register_lazy(reg, "b", "A.EXAMPLE.", test_factory, &fac, 0),
                 TENREG_EEXIST);
}

/* ---- NOWAIT -------------------------------------------------------------- */

/* Calls made on a thread of their own (tt_bounded), so that a call that
 * waits when it must not fails the test after TT_WAIT_S instead of hanging. */
struct nowait_calls {
    int n;
    int rc[100];
    tenreg_health h;
    long long took_ns;
    pid_t tid;
};

static void *do_nowait_calls(void *arg)
{
    struct nowait_calls *c = arg;
    tenreg_thread_register();
    c->tid = tt_gettid();
    long long t0 = tt_now_ns();
    for (int i = 0; i < c->n; i++)
        c->rc[i] = resolve("a.example", TENREG_NOWAIT, NULL, &c->h);
    c->took_ns = tt_now_ns() - t0;
    tenreg_thread_unregister();
    return NULL;
}

/* Polls the hot path (which never builds) until the platform shows up. */
static int wait_built(const char *host, void **p)
{
    int rc;
    long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
    while ((rc = resolve_by_host(host, p)) == TENREG_EPENDING && tt_now_ns() < deadline)
        usleep(1000);
    return rc;
}

TT_TEST(finish, lazy, nowait_never_waits_for_a_running_build)
{
    /* The factory blocks until the test releases it: a NOWAIT call that
     * waited for the build could not return before the release. */
    atomic_store(&fac.gated, true);
    lazy("a", "a.example", 0);
    /* static: a call left blocked after a failed check must not write to
     * a stack frame that is gone */
    static struct nowait_calls first = {.n = 1}, more = {.n = 100};
    static struct tt_bounded b;
    tt_bounded_start(&b, do_nowait_calls, &first);
    TT_BOUNDED_JOIN(&b, "the NOWAIT call that starts the build waited for it");
    cr_assert_eq(first.rc[0], TENREG_EPENDING, "starts the build");
    cr_assert_eq(first.h, TENREG_PENDING);
    TT_SEM_WAIT(&fac.entered, "the build never started"); /* the builder is inside the factory */
    tt_bounded_start(&b, do_nowait_calls, &more);
    TT_BOUNDED_JOIN(&b, "a NOWAIT call waited for the running build");
    for (int i = 0; i < more.n; i++)
        cr_assert_eq(more.rc[i], TENREG_EPENDING, "call %d: %d", i, more.rc[i]);
    cr_assert_eq(resolve_by_host("a.example", NULL), TENREG_EPENDING);
    sem_post(&fac.release);
    void *p = NULL;
    cr_assert_eq(wait_built("a.example", &p), TENREG_OK, "the builder finished the build by itself");
    cr_assert_eq(p, atomic_load(&fac.last));
    cr_assert_eq(atomic_load(&fac.calls), 1);
}

TT_TEST(finish, lazy, nowait_returns_well_before_a_slow_factory_and_builder_finishes_alone)
{
    /* The slow factory is a gate: it returns only when the test says so,
     * after the NOWAIT call has returned. */
    atomic_store(&fac.gated, true);
    lazy("a", "a.example", 0);
    static struct nowait_calls c = {.n = 1};
    static struct tt_bounded b;
    tt_bounded_start(&b, do_nowait_calls, &c);
    TT_BOUNDED_JOIN(&b, "NOWAIT waited for the factory");
    cr_log_info("NOWAIT on a cold tenant returned EPENDING in %lld ns", c.took_ns);
    cr_assert_eq(c.rc[0], TENREG_EPENDING);
    cr_assert_eq(c.h, TENREG_PENDING);
    TT_SEM_WAIT(&fac.entered, "the build never started");
    cr_assert_neq(atomic_load(&fac.tid), c.tid, "the NOWAIT caller ran the factory itself");
    c.n = 1;
    tt_bounded_start(&b, do_nowait_calls, &c);
    TT_BOUNDED_JOIN(&b, "a second NOWAIT waited for the build");
    cr_assert_eq(c.rc[0], TENREG_EPENDING, "a second NOWAIT while the build runs");
    cr_assert_eq(resolve_by_host("a.example", NULL), TENREG_EPENDING, "built before the factory returned");
    sem_post(&fac.release);
    /* Only the hot path from now on: it never builds, so a platform showing
     * up proves the builder thread finished the build by itself. */
    void *p = NULL;
    cr_assert_eq(wait_built("a.example", &p), TENREG_OK);
    cr_assert_eq(p, atomic_load(&fac.last));
    cr_assert_eq(atomic_load(&fac.calls), 1);
}

/* ---- exactly once -------------------------------------------------------- */

#define RACERS 16

struct race {
    pthread_barrier_t go, done;
    char host[64];
    void *got[RACERS];
    int rc[RACERS];
    _Atomic bool quit;
};

struct racer {
    struct race *race;
    int idx;
};

static void *racer_main(void *arg)
{
    struct racer *me = arg;
    struct race *rc = me->race;
    tenreg_thread_register();
    for (;;) {
        pthread_barrier_wait(&rc->go);
        if (atomic_load(&rc->quit))
            break;
        tenreg_resolution r = {0};
        tenreg_read_lock();
        rc->rc[me->idx] = tenreg_resolve(reg, rc->host, strlen(rc->host), 0, &r);
        rc->got[me->idx] = r.platform;
        tenreg_read_unlock();
        pthread_barrier_wait(&rc->done);
    }
    tenreg_thread_unregister();
    return NULL;
}

static void exactly_once(int rounds, int sleep_us)
{
    static struct race race;
    struct racer racers[RACERS];
    pthread_t th[RACERS];
    memset(&race, 0, sizeof(race));
    pthread_barrier_init(&race.go, NULL, RACERS + 1);
    pthread_barrier_init(&race.done, NULL, RACERS + 1);
    for (int i = 0; i < RACERS; i++) {
        racers[i] = (struct racer){&race, i};
        pthread_create(&th[i], NULL, racer_main, &racers[i]);
    }
    atomic_store(&fac.sleep_us, sleep_us);
    for (int round = 0; round < rounds; round++) {
        char id[32];
        snprintf(id, sizeof(id), "t%d", round);
        snprintf(race.host, sizeof(race.host), "T%d.example:443", round);
        int before = atomic_load(&fac.calls);
        cr_assert_eq(tenreg_register_lazy(reg, id, race.host, test_factory, &fac, 0), TENREG_OK);
        pthread_barrier_wait(&race.go);   /* release all 16 at once */
        pthread_barrier_wait(&race.done);
        cr_assert_eq(atomic_load(&fac.calls) - before, 1, "round %d: %d factory calls", round,
                     atomic_load(&fac.calls) - before);
        for (int i = 0; i < RACERS; i++) {
            cr_assert_eq(race.rc[i], TENREG_OK, "round %d racer %d: %d", round, i, race.rc[i]);
            cr_assert_eq(race.got[i], race.got[0], "round %d: different platforms", round);
        }
        cr_assert_str_eq(((struct tt_platform *)race.got[0])->tenant_id, id);
        if (round % 2)
            cr_assert_eq(tenreg_unregister(reg, id), TENREG_OK);
    }
    atomic_store(&race.quit, true);
    pthread_barrier_wait(&race.go);
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&race.go);
    pthread_barrier_destroy(&race.done);
}

TT_TEST(finish, lazy, exactly_once_fast_factory, .timeout = 120)
{
    exactly_once((int)tt_iters(200) < 200 ? (int)tt_iters(200) : 200, 0);
}

TT_TEST(finish, lazy, exactly_once_slow_factory, .timeout = 120)
{
    exactly_once(200, 2000);
}

static void setup_four_builders(void)
{
    setup_with(4);
}

TestSuite(lazy4, .init = setup_four_builders, .fini = teardown, .timeout = 120);

TT_TEST(finish, lazy4, exactly_once_with_four_builders)
{
    exactly_once(200, 100);
}

/* ---- builds racing with admin calls -------------------------------------- */

/* A blocking tenreg_resolve on a thread of its own (tt_bounded). */
struct waiter {
    struct tt_bounded b;
    sem_t ready;              /* registered, about to resolve */
    const char *host;
    unsigned flags;
    int rc;
    void *platform;
};

static void *wait_resolve(void *arg)
{
    struct waiter *w = arg;
    tenreg_thread_register();
    tenreg_resolution r = {0};
    sem_post(&w->ready);
    tenreg_read_lock();
    w->rc = tenreg_resolve(reg, w->host, strlen(w->host), w->flags, &r);
    w->platform = r.platform;
    tenreg_read_unlock();
    tenreg_thread_unregister();
    return NULL;
}

/* Starts @n waiters on @host and returns once each of them sleeps (on the
 * build's once-cell: the only place a resolve sleeps), so that what the
 * test does next happens while they wait, not before they arrive. */
static void start_waiters(struct waiter *w, int n, const char *host)
{
    for (int i = 0; i < n; i++) {
        w[i].host = host;
        w[i].flags = 0;
        w[i].rc = 99;
        w[i].platform = NULL;
        sem_init(&w[i].ready, 0, 0);
        tt_bounded_start(&w[i].b, wait_resolve, &w[i]);
    }
    for (int i = 0; i < n; i++) {
        TT_SEM_WAIT(&w[i].ready, "waiter did not start");
        TT_WAIT_FUTEX_SLEEP(w[i].b.tid, "a blocking resolve of a building tenant did not wait");
    }
}

static void join_waiters(struct waiter *w, int n)
{
    for (int i = 0; i < n; i++) {
        TT_BOUNDED_JOIN(&w[i].b, "a waiter was not woken");
        sem_destroy(&w[i].ready);
    }
}

static void *do_unregister_a(void *arg)
{
    *(int *)arg = tenreg_unregister(reg, "a");
    return NULL;
}

TT_TEST(finish, lazy, unregister_during_build_frees_result_and_wakes_waiters)
{
    atomic_store(&fac.gated, true);
    lazy("a", "a.example", 0);
    static struct waiter w[3];
    start_waiters(w, 3, "a.example");
    TT_SEM_WAIT(&fac.entered, "the build never started"); /* the factory is running */
    /* The factory stays blocked until the end: an unregister that waited
     * for the build, or waiters that were not woken, cannot return. */
    static struct tt_bounded u;
    static int rc = 99;
    tt_bounded_start(&u, do_unregister_a, &rc);
    TT_BOUNDED_JOIN(&u, "unregister waited for the build");
    cr_assert_eq(rc, TENREG_OK);
    join_waiters(w, 3); /* woken by the unregister, before the factory ends */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(w[i].rc, TENREG_ENOENT, "waiter %d: %d", i, w[i].rc);
    sem_post(&fac.release);
    /* The build's platform is freed (checked by teardown); no zombie. */
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, "a", &h), TENREG_ENOENT);
    cr_assert_eq(tenreg_count(reg), 0);
}

TT_TEST(finish, lazy, reregister_during_build_discards_it_and_waiters_follow)
{
    atomic_store(&fac.gated, true);
    lazy("a", "a.example", 0);
    static struct waiter w[2];
    start_waiters(w, 2, "a.example");
    TT_SEM_WAIT(&fac.entered, "the build never started");
    void *eager = tt_platform_new("a", "eager");
    cr_assert_eq(tenreg_register(reg, "a", "a.example", eager, 0), TENREG_OK);
    join_waiters(w, 2);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(w[i].rc, TENREG_OK, "waiters find the new registration");
        cr_assert_eq(w[i].platform, eager);
    }
    sem_post(&fac.release);
    tenreg_free(reg); /* waits for the build to finish; it must be freed */
    reg = NULL;
    cr_assert_eq(atomic_load(&((struct tt_platform *)atomic_load(&fac.last))->freed), 1);
    cr_assert_eq(tenreg_new(NULL, &reg), TENREG_OK);
}

TT_TEST(finish, lazy, waiters_on_a_failed_build_get_its_code)
{
    atomic_store(&fac.gated, true);
    atomic_store(&fac.mode, FACTORY_FAIL);
    lazy("a", "a.example", 0);
    static struct waiter w[4];
    start_waiters(w, 4, "a.example"); /* all four asleep on the cell */
    TT_SEM_WAIT(&fac.entered, "the build never started");
    sem_post(&fac.release);
    join_waiters(w, 4);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(w[i].rc, TENREG_EFACTORY, "waiter %d: %d", i, w[i].rc);
    cr_assert_eq(resolve("a.example", 0, NULL, NULL), TENREG_EDISABLED, "later callers");
    cr_assert_eq(atomic_load(&fac.calls), 1);
}

TT_TEST(finish, lazy, waiters_on_an_invalid_build_get_evalidator)
{
    atomic_store(&fac.gated, true);
    atomic_store(&verdict, 0);
    lazy("a", "a.example", 0);
    static struct waiter w[3];
    start_waiters(w, 3, "a.example"); /* all three asleep on the cell */
    TT_SEM_WAIT(&fac.entered, "the build never started");
    sem_post(&fac.release);
    join_waiters(w, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(w[i].rc, TENREG_EVALIDATOR);
    cr_assert_eq(resolve("a.example", 0, NULL, NULL), TENREG_EDISABLED);
}

/* A factory that does admin work, as adopters' factories may: it
 * unregisters other tenants (their retirement goes through call_rcu) while
 * its caller sleeps inside a read section. tenreg never waits for a grace
 * period on this path, so this must never deadlock. */
struct admin_factory {
    int round;
};

static int admin_doing_factory(void *ctx, const char *tenant_id, void **platform)
{
    struct admin_factory *af = ctx;
    char id[32], url[64];
    snprintf(id, sizeof(id), "other%d", af->round);
    tenreg_unregister(reg, id);
    snprintf(id, sizeof(id), "other%d", af->round + 1);
    snprintf(url, sizeof(url), "other%d.example", af->round + 1);
    tenreg_register(reg, id, url, tt_platform_new(id, url), 0);
    *platform = tt_platform_new(tenant_id, "lazy");
    return 0;
}

TT_TEST(finish, lazy, blocking_resolve_in_read_section_never_deadlocks, .timeout = 120)
{
    struct admin_factory af = {0};
    cr_assert_eq(tenreg_register(reg, "other0", "other0.example", tt_platform_new("o", ""), 0),
                 TENREG_OK);
    int rounds = (int)tt_iters(1000) < 1000 ? (int)tt_iters(1000) : 1000;
    for (int i = 0; i < rounds; i++) {
        af.round = i;
        char id[32], host[64];
        snprintf(id, sizeof(id), "lazy%d", i);
        snprintf(host, sizeof(host), "lazy%d.example", i);
        cr_assert_eq(tenreg_register_lazy(reg, id, host, admin_doing_factory, &af, 0), TENREG_OK);
        /* Writers in this thread too, with callbacks pending. */
        char junk[32];
        snprintf(junk, sizeof(junk), "junk%d", i);
        cr_assert_eq(tenreg_register(reg, junk, "junk.example", tt_platform_new(junk, ""), 0),
                     TENREG_OK);
        cr_assert_eq(tenreg_unregister(reg, junk), TENREG_OK);
        void *p;
        cr_assert_eq(resolve(host, 0, &p, NULL), TENREG_OK, "round %d", i);
        cr_assert_eq(tenreg_unregister(reg, id), TENREG_OK);
    }
}

/* ---- one tenant's slow recheck does not hold up other tenants' builds ---- */

static sem_t slow_entered, slow_release;
static bool slow_inited;

/* teardown: releases a validator a failed test left blocked. */
static bool slow_gate_open(void)
{
    for (int i = 0; slow_inited && i < 8; i++)
        sem_post(&slow_release);
    return slow_inited;
}

static int slow_for_a(void *ctx, const char *tenant_id, const char *agent_url)
{
    (void)ctx;
    (void)agent_url;
    if (strcmp(tenant_id, "a") == 0) {
        sem_post(&slow_entered);
        tt_sem_wait_s(&slow_release, 3 * TT_WAIT_S); /* bounded: see test_factory */
    }
    return 1;
}

static void *recheck_a(void *arg)
{
    *(int *)arg = tenreg_recheck(reg, "a");
    return NULL;
}

struct resolve_call {
    const char *host;
    int rc;
    void *platform;
};

static void *do_resolve(void *arg)
{
    struct resolve_call *c = arg;
    tenreg_thread_register();
    c->rc = resolve(c->host, 0, &c->platform, NULL);
    tenreg_thread_unregister();
    return NULL;
}

TT_TEST(finish, lazy, slow_recheck_of_one_tenant_does_not_block_other_builds)
{
    /* One builder thread: if it parked behind a's recheck, b could not be
     * built until the recheck ended. */
    tenreg_free(reg);
    sem_init(&slow_entered, 0, 0);
    sem_init(&slow_release, 0, 0);
    slow_inited = true;
    tenreg_config cfg = {.validator = slow_for_a, .platform_free = tt_count_free,
                         .platform_free_ctx = &frees, .builder_threads = 1};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    lazy("a", "a.example", 0);
    lazy("b", "b.example", 0);

    static int recheck_rc = 99;
    static struct tt_bounded rb;
    tt_bounded_start(&rb, recheck_a, &recheck_rc);
    TT_SEM_WAIT(&slow_entered, "the recheck never ran"); /* a's recheck holds a's turnstile */
    cr_assert_eq(resolve("a.example", TENREG_NOWAIT, NULL, NULL), TENREG_EPENDING,
                 "a's build is queued behind its recheck");
    /* b's build is queued after a's, and the one builder takes builds in
     * queue order: it meets a's build first. Had it waited there for a's
     * recheck, b would not be built until the recheck ends, which is
     * after this call must have returned. */
    static struct resolve_call cb = {.host = "b.example", .rc = 99};
    static struct tt_bounded bb;
    tt_bounded_start(&bb, do_resolve, &cb);
    TT_BOUNDED_JOIN(&bb, "b's build waited behind a's recheck");
    cr_assert_eq(cb.rc, TENREG_OK, "b was built while a's recheck still ran");
    cr_assert_eq(resolve("a.example", TENREG_NOWAIT, NULL, NULL), TENREG_EPENDING);
    cr_assert_eq(atomic_load(&fac.calls_for_a), 0, "a's build ran beside its recheck");

    sem_post(&slow_release); /* a's recheck ends and hands a's build back */
    sem_post(&slow_release); /* for the build's own validation of a */
    TT_BOUNDED_JOIN(&rb, "the recheck did not end");
    cr_assert_eq(recheck_rc, TENREG_OK);
    void *pa;
    cr_assert_eq(resolve("a.example", 0, &pa, NULL), TENREG_OK, "a's build ran after all");
    cr_assert_eq(atomic_load(&fac.calls), 2);
    slow_inited = false;
    sem_destroy(&slow_entered);
    sem_destroy(&slow_release);
}
