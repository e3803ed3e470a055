/*
 * test_wb_turnstile.c - a lazy build keeps the place in its tenant's
 * turnstile that it took when it was queued (white-box: reads the ticket
 * counters to know when a thread has queued up).
 *
 * Order: with recheck R1 running, a build queued, then recheck R2, the
 * callbacks run R1, factory (+ its validation), R2 — never R1, R2, factory.
 * Starvation: rechecks looping on two threads never run ahead of a build
 * queued before them.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <semaphore.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "test_support.h"

#define LONG_MS 5000

static bool sem_wait_ms(sem_t *s, int ms)
{
    return tt_sem_wait_s(s, ms / 1000.0);
}

static tenreg_t *reg;
static int platform;

/* The registration of @id; the tenant outlives the section as long as the
 * test does not unregister it. */
static struct tenreg__tenant *tenant_of(const char *id)
{
    tenreg_read_lock();
    struct tenreg__record *rec = tenreg__find_id(reg, id, strlen(id));
    struct tenreg__tenant *t = rec ? tenreg__record_tenant(rec) : NULL;
    tenreg_read_unlock();
    return t;
}

static bool wait_next(struct tenreg__tenant *t, uint32_t want)
{
    for (int i = 0; i < LONG_MS; i++) {
        if (atomic_load(&t->turn.next) == want)
            return true;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return false;
}

/* ---- order ---------------------------------------------------------------- */

static char log_buf[16];
static _Atomic int log_len;
static sem_t r1_in, r1_gate, checks_done;

static void log_event(char c)
{
    int i = atomic_fetch_add(&log_len, 1);
    if (i < (int)sizeof(log_buf) - 1)
        log_buf[i] = c;
}

static int ordered_validator(void *ctx, const char *id, const char *url)
{
    (void)ctx;
    (void)id;
    (void)url;
    bool first = atomic_load(&log_len) == 0;
    log_event('V');
    if (first) {
        sem_post(&r1_in);
        /* Longer than any wait of the test: R1 must not leave by itself. */
        (void)sem_wait_ms(&r1_gate, 4 * LONG_MS);
    }
    return 1;
}

static int logging_factory(void *ctx, const char *id, void **out)
{
    (void)ctx;
    (void)id;
    log_event('F');
    *out = &platform;
    return 0;
}

static void *rechecker(void *arg)
{
    (void)arg;
    int rc = tenreg_recheck(reg, "t");
    sem_post(&checks_done);
    return (void *)(intptr_t)rc;
}

static void init(void)
{
    tenreg_thread_register();
}
static void fini(void)
{
    tenreg_thread_unregister();
}

TestSuite(turnstile, .init = init, .fini = fini, .timeout = 60);

Test(turnstile, build_runs_between_the_checks_around_its_queueing)
{
    memset(log_buf, 0, sizeof(log_buf));
    sem_init(&r1_in, 0, 0);
    sem_init(&r1_gate, 0, 0);
    sem_init(&checks_done, 0, 0);
    tenreg_config cfg = {.validator = ordered_validator};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    cr_assert_eq(tenreg_register_lazy(reg, "t", "t.example", logging_factory, NULL, 0), TENREG_OK);
    struct tenreg__tenant *t = tenant_of("t");
    cr_assert_not_null(t);

    pthread_t r1, r2;
    pthread_create(&r1, NULL, rechecker, NULL);
    cr_assert(sem_wait_ms(&r1_in, LONG_MS), "R1 never ran its validator");
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve(reg, "t.example", 9, TENREG_NOWAIT, &r), TENREG_EPENDING);
    tenreg_read_unlock();
    /* R1 holds ticket 0, the build took 1 when it was queued. */
    cr_assert(wait_next(t, 2), "the queued build took no ticket (next = %u)",
              atomic_load(&t->turn.next));
    pthread_create(&r2, NULL, rechecker, NULL);
    cr_assert(wait_next(t, 3), "R2 never queued up");
    sem_post(&r1_gate);
    cr_assert(sem_wait_ms(&checks_done, LONG_MS) && sem_wait_ms(&checks_done, LONG_MS));
    void *rc1, *rc2;
    pthread_join(r1, &rc1);
    pthread_join(r2, &rc2);
    cr_assert_eq((intptr_t)rc1, TENREG_OK);
    cr_assert_eq((intptr_t)rc2, TENREG_OK);
    /* R1's validator, the factory and its validation, R2's validator. */
    cr_assert_str_eq(log_buf, "VFVV", "callbacks ran as %s", log_buf);
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve(reg, "t.example", 9, 0, &r), TENREG_OK);
    cr_assert_eq(r.platform, &platform);
    tenreg_read_unlock();
    tenreg_free(reg);
}

/* ---- rechecks in a loop cannot starve a build ------------------------------ */

static _Atomic bool built, stop;
static _Atomic uint32_t cutoff = UINT32_MAX; /* first ticket taken after the build's */
static _Atomic int late_checks_before_build, checks;
static struct tenreg__tenant *looped;

static int counting_validator(void *ctx, const char *id, const char *url)
{
    (void)ctx;
    (void)id;
    (void)url;
    /* Inside its turn: `serving` is this check's ticket. */
    uint32_t ticket = atomic_load(&looped->turn.serving);
    if (ticket >= atomic_load(&cutoff) && !atomic_load(&built))
        atomic_fetch_add(&late_checks_before_build, 1);
    atomic_fetch_add(&checks, 1);
    return 1;
}

static int marking_factory(void *ctx, const char *id, void **out)
{
    (void)ctx;
    (void)id;
    atomic_store(&built, true);
    *out = &platform;
    return 0;
}

static void *looping_rechecker(void *arg)
{
    (void)arg;
    int n = 0;
    while (!atomic_load(&stop) && n++ < 200000)
        (void)tenreg_recheck(reg, "t");
    return NULL;
}

Test(turnstile, looping_rechecks_do_not_jump_a_queued_build)
{
    tenreg_config cfg = {.validator = counting_validator};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    cr_assert_eq(tenreg_register_lazy(reg, "t", "t.example", marking_factory, NULL, 0), TENREG_OK);
    looped = tenant_of("t");
    pthread_t a, b;
    pthread_create(&a, NULL, looping_rechecker, NULL);
    pthread_create(&b, NULL, looping_rechecker, NULL);
    while (atomic_load(&checks) < 100) /* both loops are going */
        sched_yield();
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve(reg, "t.example", 9, TENREG_NOWAIT, &r), TENREG_EPENDING);
    tenreg_read_unlock();
    /* Every ticket from here on was taken after the build was queued. */
    atomic_store(&cutoff, atomic_load(&looped->turn.next));
    tenreg_read_lock();
    int rc = tenreg_resolve(reg, "t.example", 9, 0, &r); /* waits for the build */
    tenreg_read_unlock();
    atomic_store(&stop, true);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    cr_assert_eq(rc, TENREG_OK);
    cr_assert(atomic_load(&built));
    cr_assert_eq(atomic_load(&late_checks_before_build), 0,
                 "%d rechecks queued after the build ran before it",
                 atomic_load(&late_checks_before_build));
    tenreg_free(reg);
}
