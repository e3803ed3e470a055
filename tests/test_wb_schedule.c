/*
 * Background rechecks and build retries (docs/design.md §8.4), white-box:
 * the clock is tenreg__clock_fake's, so no test sleeps for an interval;
 * builders are woken with tenreg__sched_kick after the clock moves.
 *   - first checks spread over the first interval, later ones every
 *     interval +- 10%;
 *   - a tenant registered without awaiting is validated by its first
 *     background check;
 *   - a background check waits its turn behind a recheck in progress, and
 *     is discarded when the tenant goes meanwhile;
 *   - a failed lazy build answers EDISABLED for build_retry_ms x
 *     2^(failures - 1), capped, then exactly one new build starts.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "test_support.h"

#define MS 1000000LL
static const int64_t T0 = 1000000 * MS; /* any fixed point of the fake clock */

static tenreg_t *reg;
static struct tt_free_counter frees;

/* A validator that counts its calls and, when gated, blocks on the gate. */
static _Atomic int calls, in_flight, max_in_flight;
static _Atomic bool gated;
static sem_t entered, release;
static char order[16][16];

static int validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    (void)ctx;
    (void)agent_url;
    int i = atomic_fetch_add(&calls, 1);
    if (i < 16)
        snprintf(order[i], sizeof(order[i]), "%s", tenant_id);
    int now = atomic_fetch_add(&in_flight, 1) + 1;
    if (now > atomic_load(&max_in_flight))
        atomic_store(&max_in_flight, now);
    if (atomic_load(&gated)) {
        sem_post(&entered);
        tt_sem_wait_s(&release, 3 * TT_WAIT_S);
    }
    atomic_fetch_sub(&in_flight, 1);
    return 1;
}

static void make(uint32_t interval_ms, uint32_t retry_ms, unsigned builders)
{
    tenreg_config cfg = {.validator = validator,
                         .platform_free = tt_count_free, .platform_free_ctx = &frees,
                         .recheck_interval_ms = interval_ms, .build_retry_ms = retry_ms,
                         .builder_threads = builders};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
}

static void setup(void)
{
    tt_thread_init();
    tenreg__clock_fake(T0);
    atomic_store(&calls, 0);
    atomic_store(&in_flight, 0);
    atomic_store(&max_in_flight, 0);
    atomic_store(&gated, false);
    sem_init(&entered, 0, 0);
    sem_init(&release, 0, 0);
}

static void finish(void)
{
    tenreg_free(reg);
    reg = NULL;
    tenreg__clock_fake(0);
    cr_assert_eq(atomic_load(&frees.double_frees), 0, "a platform was freed twice");
    cr_assert_eq(tt_platforms_not_freed_once(), 0, "a platform was not freed exactly once");
}

static void teardown(void)
{
    atomic_store(&gated, false);
    for (int i = 0; i < 4; i++)
        sem_post(&release);
    tenreg_free(reg);
    reg = NULL;
    tenreg__clock_fake(0);
    tt_thread_fini();
    tt_platforms_release();
}

TestSuite(schedule, .init = setup, .fini = teardown, .timeout = 120);

static void reg_eager(const char *id)
{
    char url[64];
    snprintf(url, sizeof(url), "%s.example", id);
    cr_assert_eq(tenreg_register(reg, id, url, tt_platform_new(id, url), 0), TENREG_OK);
}

static void advance(int64_t ns)
{
    tenreg__clock_fake(tenreg__now_ns() + ns);
    tenreg__sched_kick(reg);
}

/* Waits (bounded) until the validator has been called @n times. */
static void wait_calls(int n, const char *what)
{
    long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
    while (atomic_load(&calls) < n) {
        cr_assert_lt(tt_now_ns(), deadline, "waited 10 s for %s (%d of %d calls)", what,
                     atomic_load(&calls), n);
        tenreg__sched_kick(reg);
        usleep(1000);
    }
}

/* Waits (bounded) until the heap holds @n entries. */
static void wait_heap(size_t n, const char *what)
{
    int64_t due[4];
    long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
    size_t have;
    while ((have = tenreg__sched_due_times(reg, due, 4)) != n) {
        cr_assert_lt(tt_now_ns(), deadline, "waited 10 s for %s (%zu entries, want %zu)", what,
                     have, n);
        usleep(1000);
    }
}

TT_TEST(finish, schedule, first_checks_spread_over_the_first_interval)
{
    make(1000, 0, 1);
    enum { N = 4000, BUCKETS = 10 };
    char id[16];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "t%d", i);
        reg_eager(id);
    }
    static int64_t due[N];
    size_t n = tenreg__sched_due_times(reg, due, N);
    /* The clock has not moved: only checks due at T0 exactly could run. */
    cr_assert_geq(n, (size_t)N - 8);
    int hist[BUCKETS] = {0};
    for (size_t i = 0; i < n; i++) {
        cr_assert(due[i] >= T0 && due[i] < T0 + 1000 * MS, "due %lld outside the interval",
                  (long long)(due[i] - T0));
        hist[(due[i] - T0) * BUCKETS / (1000 * MS)]++;
    }
    for (int b = 0; b < BUCKETS; b++) {
        cr_log_info("first checks in [%3d, %3d) ms: %d", b * 100, b * 100 + 100, hist[b]);
        /* 400 expected per bucket; binomial sd ~19: 5 sd is 95 */
        cr_assert(hist[b] > 300 && hist[b] < 500, "bucket %d has %d: not spread", b, hist[b]);
    }
}

TT_TEST(finish, schedule, unawaited_tenant_is_validated_then_rechecked_every_interval)
{
    make(1000, 0, 1);
    reg_eager("t");
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, "t", &h), TENREG_OK);
    cr_assert_eq(h, TENREG_PENDING);
    advance(1001 * MS);
    wait_calls(1, "the first background check");
    wait_heap(1, "the check to be scheduled again");
    cr_assert_eq(tenreg_health_of(reg, "t", &h), TENREG_OK);
    cr_assert_eq(h, TENREG_HEALTHY, "validated by its first background check");
    int64_t due, now = tenreg__now_ns();
    cr_assert_eq(tenreg__sched_due_times(reg, &due, 1), 1);
    cr_assert(due >= now + 900 * MS && due <= now + 1100 * MS, "next check %lld ms from now",
              (long long)((due - now) / MS));
    /* not before it is due */
    advance(due - now - 1);
    usleep(20000);
    cr_assert_eq(atomic_load(&calls), 1, "checked before it was due");
    advance(2);
    wait_calls(2, "the second background check");
}

TT_TEST(finish, schedule, later_checks_every_interval_plus_minus_ten_percent)
{
    make(1000, 0, 2);
    enum { N = 500 };
    char id[16];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "t%d", i);
        reg_eager(id);
    }
    advance(1000 * MS);
    wait_calls(N, "every first check");
    wait_heap(N, "every check scheduled again");
    static int64_t due[N];
    int64_t now = tenreg__now_ns(), lo = INT64_MAX, hi = 0;
    cr_assert_eq(tenreg__sched_due_times(reg, due, N), N);
    for (int i = 0; i < N; i++) {
        cr_assert(due[i] >= now + 900 * MS && due[i] <= now + 1100 * MS, "due in %lld ms",
                  (long long)((due[i] - now) / MS));
        lo = due[i] < lo ? due[i] : lo;
        hi = due[i] > hi ? due[i] : hi;
    }
    cr_log_info("second checks from +%lld to +%lld ms", (long long)((lo - now) / MS),
                (long long)((hi - now) / MS));
    cr_assert_gt(hi - lo, 150 * MS, "spread over the +-10%% window, not bunched");
}

static void *manual_recheck(void *arg)
{
    return (void *)(intptr_t)tenreg_recheck(reg, arg);
}

TT_TEST(finish, schedule, background_check_waits_its_turn)
{
    make(1000, 0, 1);
    reg_eager("t");
    atomic_store(&gated, true);
    struct tt_bounded b;
    tt_bounded_start(&b, manual_recheck, "t");
    TT_SEM_WAIT(&entered, "the manual recheck's validator");
    /* The background check comes due while the recheck holds the turn:
     * the builder pops it, finds the turn taken and parks it. */
    advance(1001 * MS);
    wait_heap(0, "the builder to take the due check");
    usleep(20000);
    cr_assert_eq(atomic_load(&calls), 1, "the background check ran beside the recheck");
    atomic_store(&gated, false);
    sem_post(&release);
    TT_BOUNDED_JOIN(&b, "the manual recheck");
    cr_assert_eq((intptr_t)b.ret, TENREG_OK);
    wait_calls(2, "the parked background check, after the recheck");
    cr_assert_eq(atomic_load(&max_in_flight), 1, "one check of a tenant at a time");
    wait_heap(1, "the next background check");
}

TT_TEST(finish, schedule, unregister_discards_a_parked_check)
{
    make(1000, 0, 1);
    reg_eager("t");
    atomic_store(&gated, true);
    struct tt_bounded b;
    tt_bounded_start(&b, manual_recheck, "t");
    TT_SEM_WAIT(&entered, "the manual recheck's validator");
    advance(1001 * MS);
    wait_heap(0, "the builder to take the due check");
    cr_assert_eq(tenreg_unregister(reg, "t"), TENREG_OK);
    atomic_store(&gated, false);
    sem_post(&release);
    TT_BOUNDED_JOIN(&b, "the manual recheck");
    cr_assert_eq((intptr_t)b.ret, TENREG_ENOENT, "its result is discarded");
    /* The parked check gets its turn, finds the registration gone, and
     * neither validates nor comes back. */
    usleep(50000);
    advance(5000 * MS);
    usleep(20000);
    cr_assert_eq(atomic_load(&calls), 1, "a check of an unregistered tenant ran");
    int64_t due;
    cr_assert_eq(tenreg__sched_due_times(reg, &due, 1), 0, "a zombie entry was scheduled");
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, "t", &h), TENREG_ENOENT);
}

TT_TEST(finish, schedule, reregistration_drops_the_old_schedule)
{
    make(1000, 0, 1);
    reg_eager("t");
    reg_eager("t");
    reg_eager("t");
    advance(1001 * MS);
    wait_calls(1, "the current registration's check");
    wait_heap(1, "one entry left: the stale ones are dropped when due");
    usleep(20000);
    cr_assert_eq(atomic_load(&calls), 1, "stale registrations were checked");
}

/* ---- build retries ------------------------------------------------------- */

static _Atomic int factory_calls, fail_first;
static int flaky_factory(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    if (atomic_fetch_add(&factory_calls, 1) < atomic_load(&fail_first)) {
        tenreg_set_reason("not yet");
        return -1;
    }
    *platform = tt_platform_new(tenant_id, "built");
    return 0;
}

static int resolve(unsigned flags)
{
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve(reg, "l.example", 9, flags, &r);
    tenreg_read_unlock();
    return rc;
}

static int64_t retry_in(void)
{
    struct tenreg__record *rec = tenreg__find_id(reg, "l", 1);
    int64_t at = atomic_load(&tenreg__record_tenant(rec)->build->retry_at_ns);
    return at ? at - tenreg__now_ns() : -1;
}

struct resolver {
    sem_t *go;
    int rc;
};

static void *resolver_main(void *arg)
{
    struct resolver *r = arg;
    tenreg_thread_register();
    tt_sem_wait_s(r->go, TT_WAIT_S);
    r->rc = resolve(0);
    tenreg_thread_unregister();
    return NULL;
}

TT_TEST(finish, schedule, failed_build_backs_off_then_builds_exactly_once)
{
    make(0, 100, 2);
    atomic_store(&factory_calls, 0);
    atomic_store(&fail_first, 2);
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", flaky_factory, NULL, 0), TENREG_OK);
    cr_assert_eq(resolve(0), TENREG_EFACTORY);
    cr_assert_eq(retry_in(), 100 * MS, "first wait: build_retry_ms");
    advance(99 * MS);
    cr_assert_eq(resolve(0), TENREG_EDISABLED);
    cr_assert_eq(resolve(TENREG_NOWAIT), TENREG_EDISABLED);
    cr_assert_eq(atomic_load(&factory_calls), 1, "retried early");
    advance(1 * MS);
    cr_assert_eq(resolve(0), TENREG_EFACTORY, "the call that retried waited for it");
    cr_assert_eq(atomic_load(&factory_calls), 2);
    cr_assert_eq(retry_in(), 200 * MS, "second wait: twice as long");
    tenreg_status st;
    cr_assert_eq(tenreg_status_of(reg, "l", &st), TENREG_OK);
    cr_assert_eq(st.failures, 2);
    cr_assert_eq(st.verdict, TENREG_BUILD_FAILED);
    cr_assert_str_eq(st.reason, "not yet");
    advance(199 * MS);
    cr_assert_eq(resolve(0), TENREG_EDISABLED);
    advance(1 * MS);
    /* Eight resolvers at once: one factory call. */
    sem_t go;
    sem_init(&go, 0, 0);
    struct resolver rs[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        rs[i].go = &go;
        cr_assert_eq(pthread_create(&th[i], NULL, resolver_main, &rs[i]), 0);
    }
    for (int i = 0; i < 8; i++)
        sem_post(&go);
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(rs[i].rc, TENREG_OK, "resolver %d: %s", i, tenreg_err_name(rs[i].rc));
    }
    cr_assert_eq(atomic_load(&factory_calls), 3, "exactly one factory call for the attempt");
    cr_assert_eq(tenreg_status_of(reg, "l", &st), TENREG_OK);
    cr_assert_eq(st.failures, 0);
    cr_assert_eq(st.built, 1);
    cr_assert_eq(st.health, TENREG_HEALTHY);
    cr_assert_eq(retry_in(), -1, "no retry pending once built");
}

TT_TEST(finish, schedule, retry_wait_is_capped)
{
    make(0, 1000, 1);
    atomic_store(&factory_calls, 0);
    atomic_store(&fail_first, 1000);
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", flaky_factory, NULL, 0), TENREG_OK);
    int64_t expect = 1000 * MS;
    for (int i = 0; i < 16; i++) {
        cr_assert_eq(resolve(0), TENREG_EFACTORY, "attempt %d", i);
        cr_assert_eq(retry_in(), expect, "attempt %d: wait %lld ms", i,
                     (long long)(retry_in() / MS));
        advance(expect);
        expect = expect * 2 > (int64_t)TENREG_BUILD_RETRY_MAX_MS * MS
                     ? (int64_t)TENREG_BUILD_RETRY_MAX_MS * MS
                     : expect * 2;
    }
    cr_assert_eq(atomic_load(&factory_calls), 16);
}

TT_TEST(finish, schedule, no_retry_without_build_retry_ms)
{
    make(0, 0, 1);
    atomic_store(&factory_calls, 0);
    atomic_store(&fail_first, 1);
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", flaky_factory, NULL, 0), TENREG_OK);
    cr_assert_eq(resolve(0), TENREG_EFACTORY);
    advance(1000000 * MS);
    cr_assert_eq(resolve(0), TENREG_EDISABLED);
    cr_assert_eq(atomic_load(&factory_calls), 1, "the seed: a failed build is final");
}

/* A registration in a registry with background checks also needs room in
 * the heap: ENOMEM there leaves nothing changed. */
TT_TEST(finish, schedule, registration_enomem_includes_the_heap)
{
    make(1000, 0, 1);
    long faults = 0;
    for (long k = 0;; k++) {
        long bytes = tenreg__live_bytes(reg);
        struct tt_platform *p = tt_platform_new("t", "");
        tenreg__alloc_fail_after(k);
        int rc = tenreg_register(reg, "t", "t.example", p, 0);
        tenreg__alloc_fail_after(-1);
        if (rc == TENREG_OK)
            break;
        faults++;
        tt_platform_keep(p);
        cr_assert_eq(rc, TENREG_ENOMEM);
        cr_assert_eq(tenreg_count(reg), 0);
        cr_assert_eq(tenreg__live_bytes(reg), bytes, "k=%ld: memory changed", k);
        int64_t due;
        cr_assert_eq(tenreg__sched_due_times(reg, &due, 1), 0, "k=%ld: scheduled anyway", k);
        cr_assert_lt(k, 20);
    }
    cr_assert_geq(faults, 3, "tenant, record, heap");
    int64_t due;
    cr_assert_eq(tenreg__sched_due_times(reg, &due, 1), 1);
}

/* The record a retry would publish is allocated when the failure is
 * published; without it the failure is final (never a partial retry). The
 * failing build makes no other registry allocation: no reason, no events. */
static int failing_factory(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    (void)tenant_id;
    (void)platform;
    atomic_fetch_add(&factory_calls, 1);
    return -1;
}

TT_TEST(finish, schedule, retry_without_memory_makes_the_failure_final)
{
    make(0, 100, 1);
    atomic_store(&factory_calls, 0);
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", failing_factory, NULL, 0),
                 TENREG_OK);
    tenreg__alloc_fail_after(0);
    int rc = resolve(0);
    tenreg__alloc_fail_after(-1);
    cr_assert_eq(rc, TENREG_EFACTORY);
    cr_assert_eq(retry_in(), -1, "no retry armed without its record");
    advance(1000 * MS);
    cr_assert_eq(resolve(0), TENREG_EDISABLED);
    cr_assert_eq(atomic_load(&factory_calls), 1);
    tenreg_status st;
    cr_assert_eq(tenreg_status_of(reg, "l", &st), TENREG_OK);
    cr_assert_eq(st.health, TENREG_DISABLED);
    cr_assert_eq(st.failures, 1);
}

/* ---- regressions found in review ---------------------------------------- */

static void *unregister_l(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)tenreg_unregister(reg, "l");
}

/* A resolver that found the failed registration, in its read section, must
 * not be able to start a retry once the registration has ended: the end
 * moves a failed cell to STALE, so the retry's CAS fails (it used to queue
 * a build that never settled, and its blocking caller slept for ever). */
TT_TEST(finish, schedule, ended_registration_cannot_start_a_retry)
{
    make(0, 100, 1);
    atomic_store(&factory_calls, 0);
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", failing_factory, NULL, 0),
                 TENREG_OK);
    cr_assert_eq(resolve(0), TENREG_EFACTORY);
    advance(1000 * MS); /* the retry is due */
    tenreg_read_lock();
    struct tenreg__tenant *t = tenreg__record_tenant(tenreg__find_id(reg, "l", 1));
    cr_assert_eq(atomic_load(&t->cell), TENREG__CELL_FAILED_FACTORY);
    struct tt_bounded b;
    tt_bounded_start(&b, unregister_l, NULL);
    TT_BOUNDED_JOIN(&b, "unregister");
    cr_assert_eq((intptr_t)b.ret, TENREG_OK);
    cr_assert_eq(atomic_load(&t->cell), TENREG__CELL_STALE, "a failed cell outlived its registration");
    cr_assert(!tenreg__cell_move(&t->cell, TENREG__CELL_FAILED_FACTORY, TENREG__CELL_QUEUED));
    tenreg_read_unlock();
    cr_assert_eq(atomic_load(&factory_calls), 1);
}

/* The heap entry holds no reference: with rechecks every hour, a replaced
 * platform is still freed after a grace period, not an hour later. */
TT_TEST(finish, schedule, heap_entry_does_not_keep_a_replaced_platform)
{
    make(3600 * 1000, 0, 1);
    struct tt_platform *p1 = tt_platform_new("t", "1");
    cr_assert_eq(tenreg_register(reg, "t", "t.example", p1, 0), TENREG_OK);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(tenreg_register(reg, "t", "t.example", tt_platform_new("t", "n"), 0),
                     TENREG_OK);
    tenreg__rcu_barrier();
    cr_assert_eq(atomic_load(&p1->freed), 1, "the replaced platform waits for its check");
    int64_t due[4];
    cr_assert_eq(tenreg__sched_due_times(reg, due, 4), 1, "one entry: the current registration's");
    cr_assert_eq(tenreg_unregister(reg, "t"), TENREG_OK);
    cr_assert_eq(tenreg__sched_due_times(reg, due, 4), 0, "unregister takes it out");
}

/* Teardown with a chain of parked work on one tenant: a background check
 * parked behind a recheck, a build parked behind it, and the builder busy
 * elsewhere when the recheck ends and tenreg_free begins. Every turn is
 * given up in order (ASan's leak check would see a tenant left behind);
 * tenreg_free returns. */
static sem_t u_entered, u_release;
static int gated_factory(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    sem_post(&u_entered);
    tt_sem_wait_s(&u_release, 3 * TT_WAIT_S);
    *platform = tt_platform_new(tenant_id, "u");
    return 0;
}

static void *free_it(void *arg)
{
    (void)arg;
    tenreg_free(reg);
    return NULL;
}

TT_TEST(finish, schedule, teardown_gives_up_every_parked_turn)
{
    make(1000, 0, 1);
    sem_init(&u_entered, 0, 0);
    sem_init(&u_release, 0, 0);
    atomic_store(&factory_calls, 0);
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", failing_factory, NULL, 0),
                 TENREG_OK);
    struct tenreg__tenant *t;
    tenreg_read_lock();
    t = tenreg__record_tenant(tenreg__find_id(reg, "l", 1));
    tenreg_read_unlock();
    /* ticket 0: a recheck, held in the validator */
    atomic_store(&gated, true);
    struct tt_bounded rb;
    tt_bounded_start(&rb, manual_recheck, "l");
    TT_SEM_WAIT(&entered, "the recheck's validator");
    /* ticket 1: the background check, parked */
    advance(1001 * MS);
    wait_heap(0, "the builder to take the due check");
    long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
    while (!atomic_load(&t->check_parked))
        cr_assert_lt(tt_now_ns(), deadline, "the check never parked");
    /* ticket 2: a build, parked */
    cr_assert_eq(resolve(TENREG_NOWAIT), TENREG_EPENDING);
    while (!atomic_load(&t->build->parked))
        cr_assert_lt(tt_now_ns(), deadline, "the build never parked");
    /* the only builder, busy with another tenant's build */
    cr_assert_eq(tenreg_register_lazy(reg, "u", "u.example", gated_factory, NULL, 0), TENREG_OK);
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve(reg, "u.example", 9, TENREG_NOWAIT, &r), TENREG_EPENDING);
    tenreg_read_unlock();
    TT_SEM_WAIT(&u_entered, "u's factory");
    /* the recheck ends: the parked check's turn comes, onto the ready queue */
    atomic_store(&gated, false);
    sem_post(&release);
    TT_BOUNDED_JOIN(&rb, "the recheck");
    struct tt_bounded fb;
    tt_bounded_start(&fb, free_it, NULL);
    usleep(20000);
    sem_post(&u_release);
    TT_BOUNDED_JOIN(&fb, "tenreg_free with parked turns");
    reg = NULL;
    cr_assert_eq(tenreg__left_at_free(), 0, "tenreg_free left %ld bytes behind (a parked turn)",
                 tenreg__left_at_free());
    cr_assert_eq(atomic_load(&factory_calls), 0, "a parked build ran during teardown");
}
