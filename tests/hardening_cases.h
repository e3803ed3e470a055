/*
 * hardening_cases.h - read-section and callback rules of docs/design.md §2
 * ("Threads and read sections"), written once and compiled against both
 * flavors: tests/test_hardening.c (libtenreg, memb) and
 * tests/test_qsbr_hardening.c (libtenreg-qsbr). The including file defines
 * FLAVOR_SUITE and FLAVOR_THREAD_IS_READING() (whether liburcu counts the
 * calling thread as inside a read section: memb, a read lock is held;
 * QSBR, the thread is online).
 *
 * Every interleaving is forced with semaphores; every wait is bounded, so
 * a regression fails instead of hanging. "Nothing happens within 300 ms"
 * checks can only pass spuriously on broken code, never fail on good code.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tenreg.h"
#include "test_support.h"

#define LONG_MS 5000 /* a wait that must succeed */
#define SHORT_MS 300 /* a wait that must time out */

/* Bounded wait in milliseconds (tests/support). */
static bool sem_wait_ms(sem_t *s, int ms)
{
    return tt_sem_wait_s(s, ms / 1000.0);
}

/* The test's main thread is a reader: in QSBR it must not hold up grace
 * periods while it waits, so it announces quiescent states (an event loop
 * would, between turns). Threads inside a read section use sem_wait_ms. */
static bool main_wait(sem_t *s, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        tenreg_quiescent();
        if (sem_wait_ms(s, 10))
            return true;
    }
    return false;
}

/* A platform that knows whether it was freed, and a free function that
 * also records whether it ran inside a read section. */
struct hp {
    _Atomic int freed;
};
static struct hp plats[64];
static _Atomic int frees;
static _Atomic int frees_reading; /* platform_free ran inside a read section */
static sem_t freed_sem;

static void hp_free(void *ctx, void *p)
{
    (void)ctx;
    if (FLAVOR_THREAD_IS_READING())
        atomic_fetch_add(&frees_reading, 1);
    atomic_fetch_add(&((struct hp *)p)->freed, 1);
    atomic_fetch_add(&frees, 1);
    sem_post(&freed_sem);
}

static tenreg_t *reg;

static void setup(void)
{
    memset(plats, 0, sizeof(plats));
    atomic_store(&frees, 0);
    atomic_store(&frees_reading, 0);
    sem_init(&freed_sem, 0, 0);
    tenreg_thread_register();
}

static void teardown(void)
{
    tenreg_thread_unregister();
}

static tenreg_t *new_reg(tenreg_validator_fn v, void *vctx)
{
    tenreg_config cfg = {.platform_free = hp_free, .validator = v, .validator_ctx = vctx};
    tenreg_t *r = NULL;
    cr_assert_eq(tenreg_new(&cfg, &r), TENREG_OK);
    return r;
}

/* Waits until platform @p has been freed (bounded); false if not. The
 * waiting thread is a reader: in QSBR it announces quiescent states while
 * it waits, as an event loop would between turns. */
static bool wait_freed(struct hp *p, int ms)
{
    for (int waited = 0; atomic_load(&p->freed) == 0; waited += 10) {
        if (waited >= ms)
            return false;
        tenreg_quiescent();
        (void)sem_wait_ms(&freed_sem, 10);
    }
    return true;
}

TestSuite(FLAVOR_SUITE, .init = setup, .fini = teardown, .timeout = 60);

/* ---- defect 1: a blocking resolve never sleeps inside a read section ---- */

/* A factory that waits for a grace period: it needs the platform retired
 * just before the resolve to be freed. With the resolver asleep inside
 * its read section that never happens. */
static int factory_needs_grace_period(void *ctx, const char *id, void **out)
{
    (void)id;
    struct hp *old = ctx;
    if (!wait_freed(old, LONG_MS))
        return -1;
    *out = &plats[1];
    return 0;
}

struct blocking_reader {
    sem_t in_section, go, done;
    int depth;           /* read_lock nesting to resolve at (QSBR: 0 = none) */
    int rc;
    tenreg_health health;
    char id[16];
};

static void *blocking_reader_main(void *arg)
{
    struct blocking_reader *b = arg;
    tenreg_thread_register();
    for (int i = 0; i < b->depth; i++)
        tenreg_read_lock();
    sem_post(&b->in_section);
    if (sem_wait_ms(&b->go, LONG_MS)) {
        tenreg_resolution r;
        b->rc = tenreg_resolve(reg, "lazy.example", 12, 0, &r);
        if (b->rc == TENREG_OK) {
            b->health = r.health;
            strncpy(b->id, r.tenant_id, sizeof(b->id) - 1); /* in the new section */
        }
    }
    for (int i = 0; i < b->depth; i++)
        tenreg_read_unlock();
    tenreg_thread_unregister();
    sem_post(&b->done);
    return NULL;
}

static void run_blocking_reader(int depth)
{
    reg = new_reg(NULL, NULL);
    cr_assert_eq(tenreg_register(reg, "old", "old.example", &plats[0], 0), TENREG_OK);
    cr_assert_eq(tenreg_register_lazy(reg, "lazy", "lazy.example", factory_needs_grace_period,
                                      &plats[0], 0),
                 TENREG_OK);
    struct blocking_reader b = {.depth = depth, .rc = 99};
    sem_init(&b.in_section, 0, 0);
    sem_init(&b.go, 0, 0);
    sem_init(&b.done, 0, 0);
    pthread_t th;
    pthread_create(&th, NULL, blocking_reader_main, &b);
    cr_assert(main_wait(&b.in_section, LONG_MS));
    /* Retired after the reader's section began: its grace period waits
     * for that section. */
    cr_assert_eq(tenreg_unregister(reg, "old"), TENREG_OK);
    sem_post(&b.go);
    cr_assert(main_wait(&b.done, 3 * LONG_MS), "blocking resolve never returned");
    pthread_join(th, NULL);
    cr_assert_eq(b.rc, TENREG_OK, "factory starved of a grace period: rc %d", b.rc);
    cr_assert_eq(b.health, TENREG_HEALTHY);
    cr_assert_str_eq(b.id, "lazy");
    tenreg_free(reg);
    cr_assert_eq(atomic_load(&frees), 2);
}

Test(FLAVOR_SUITE, blocking_resolve_sleeps_outside_its_read_section)
{
    run_blocking_reader(1);
}

/* A factory gated by the test: the resolve must answer before the gate
 * opens (the factory gives up after LONG_MS, so a regression ends). */
static sem_t factory_gate;
static _Atomic int factory_calls;
static int gated_factory(void *ctx, const char *id, void **out)
{
    (void)id;
    atomic_fetch_add(&factory_calls, 1);
    if (!sem_wait_ms(&factory_gate, LONG_MS))
        return -1;
    *out = ctx;
    return 0;
}

Test(FLAVOR_SUITE, nested_read_section_answers_as_nowait)
{
    sem_init(&factory_gate, 0, 0);
    reg = new_reg(NULL, NULL);
    cr_assert_eq(tenreg_register_lazy(reg, "lazy", "lazy.example", gated_factory, &plats[1], 0),
                 TENREG_OK);
    tenreg_resolution r;
    tenreg_read_lock();
    tenreg_read_lock();
    int rc = tenreg_resolve(reg, "lazy.example", 12, 0, &r);
    cr_assert_eq(rc, TENREG_EPENDING, "a depth-2 resolve waited: rc %d", rc);
    cr_assert_str_eq(r.tenant_id, "lazy");
    cr_assert_null(r.platform);
    tenreg_read_unlock();
    tenreg_read_unlock();
    sem_post(&factory_gate);
    tenreg_read_lock();
    rc = tenreg_resolve(reg, "lazy.example", 12, 0, &r); /* depth 1: waits for the build */
    cr_assert_eq(rc, TENREG_OK);
    cr_assert_eq(r.platform, &plats[1]);
    tenreg_read_unlock();
    cr_assert_eq(atomic_load(&factory_calls), 1);
    tenreg_free(reg);
}

/* ---- defect 3: callbacks' read sections protect what they return ---- */

struct cb_probe {
    sem_t in_section, unregistered, checked;
    int rc;
    int freed_while_held; /* the platform was freed inside the section */
};
static struct cb_probe probe;

/* Looks up eager tenant "e" in a read section and holds it while the test
 * unregisters "e" and waits for its free. */
static void hold_e_in_section(void)
{
    tenreg_resolution r;
    tenreg_read_lock();
    probe.rc = tenreg_resolve_by_id(reg, "e", TENREG_NOWAIT, &r);
    sem_post(&probe.in_section);
    if (sem_wait_ms(&probe.unregistered, LONG_MS) && sem_wait_ms(&probe.checked, LONG_MS))
        probe.freed_while_held = probe.rc == TENREG_OK && atomic_load(&((struct hp *)r.platform)->freed);
    tenreg_read_unlock();
}

static int factory_holding_e(void *ctx, const char *id, void **out)
{
    (void)id;
    hold_e_in_section();
    *out = ctx;
    return 0;
}

static int validator_holding_e(void *ctx, const char *id, const char *url)
{
    (void)ctx;
    (void)url;
    if (strcmp(id, "v") == 0)
        hold_e_in_section();
    return 1;
}

static void probe_init(void)
{
    memset(&probe, 0, sizeof(probe));
    probe.rc = 99;
    sem_init(&probe.in_section, 0, 0);
    sem_init(&probe.unregistered, 0, 0);
    sem_init(&probe.checked, 0, 0);
}

/* The callback is inside its section: unregister "e" and make sure its
 * platform is not freed while the section lasts, then that it is freed
 * once it ends. */
static void check_e_protected(void)
{
    cr_assert(main_wait(&probe.in_section, LONG_MS), "callback never ran");
    cr_assert_eq(probe.rc, TENREG_OK);
    cr_assert_eq(tenreg_unregister(reg, "e"), TENREG_OK);
    sem_post(&probe.unregistered);
    bool early = wait_freed(&plats[0], SHORT_MS);
    sem_post(&probe.checked);
    cr_assert(!early, "platform freed under a callback's read section");
    cr_assert(wait_freed(&plats[0], LONG_MS), "platform never freed after the section");
}

Test(FLAVOR_SUITE, factory_read_section_protects)
{
    probe_init();
    reg = new_reg(NULL, NULL);
    cr_assert_eq(tenreg_register(reg, "e", "e.example", &plats[0], 0), TENREG_OK);
    cr_assert_eq(tenreg_register_lazy(reg, "lz", "lz.example", factory_holding_e, &plats[1], 0),
                 TENREG_OK);
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve(reg, "lz.example", 10, TENREG_NOWAIT, &r), TENREG_EPENDING);
    tenreg_read_unlock();
    check_e_protected();
    cr_assert_eq(probe.freed_while_held, 0);
    tenreg_free(reg);
    cr_assert_eq(atomic_load(&frees_reading), 0, "platform_free ran inside a read section");
}

static void *rechecker_main(void *arg)
{
    (void)arg; /* a plain admin thread: never registered as a reader */
    int rc = tenreg_recheck(reg, "v");
    return (void *)(intptr_t)rc;
}

Test(FLAVOR_SUITE, validator_read_section_protects)
{
    probe_init();
    reg = new_reg(validator_holding_e, NULL);
    cr_assert_eq(tenreg_register(reg, "e", "e.example", &plats[0], 0), TENREG_OK);
    cr_assert_eq(tenreg_register(reg, "v", "v.example", &plats[1], 0), TENREG_OK);
    pthread_t th;
    pthread_create(&th, NULL, rechecker_main, NULL);
    check_e_protected();
    void *rc;
    pthread_join(th, &rc);
    cr_assert_eq((intptr_t)rc, TENREG_OK);
    cr_assert_eq(probe.freed_while_held, 0);
    tenreg_free(reg);
    cr_assert_eq(atomic_load(&frees_reading), 0, "platform_free ran inside a read section");
}

Test(FLAVOR_SUITE, platform_free_runs_outside_read_sections)
{
    reg = new_reg(NULL, NULL);
    for (int i = 0; i < 8; i++) {
        char id[8];
        char host[32];
        snprintf(id, sizeof(id), "t%d", i);
        snprintf(host, sizeof(host), "t%d.example", i);
        cr_assert_eq(tenreg_register(reg, id, host, &plats[i], 0), TENREG_OK);
    }
    cr_assert_eq(tenreg_unregister(reg, "t0"), TENREG_OK);
    cr_assert_eq(tenreg_register(reg, "t1", "t1.example", &plats[10], 0), TENREG_OK);
    cr_assert(wait_freed(&plats[0], LONG_MS));
    cr_assert(wait_freed(&plats[1], LONG_MS));
    tenreg_free(reg);
    cr_assert_eq(atomic_load(&frees), 9);
    cr_assert_eq(atomic_load(&frees_reading), 0, "platform_free ran inside a read section");
}

/* ---- defect 5: a thread that forgot tenreg_thread_register ------------- */

struct forgetful {
    sem_t holding, release, done;
    int rc;
};

static void *forgetful_main(void *arg)
{
    struct forgetful *f = arg;
    tenreg_resolution r;
    tenreg_read_lock(); /* no tenreg_thread_register on this thread */
    f->rc = tenreg_resolve_by_host(reg, "e.example", 9, &r);
    sem_post(&f->holding);
    (void)sem_wait_ms(&f->release, LONG_MS);
    tenreg_read_unlock();
    sem_post(&f->done);
    return NULL; /* exits still registered: the registration must end here */
}

Test(FLAVOR_SUITE, read_lock_registers_a_forgetful_thread)
{
    reg = new_reg(NULL, NULL);
    cr_assert_eq(tenreg_register(reg, "e", "e.example", &plats[0], 0), TENREG_OK);
    struct forgetful f = {.rc = 99};
    sem_init(&f.holding, 0, 0);
    sem_init(&f.release, 0, 0);
    sem_init(&f.done, 0, 0);
    pthread_t th;
    pthread_create(&th, NULL, forgetful_main, &f);
    cr_assert(main_wait(&f.holding, LONG_MS));
    cr_assert_eq(f.rc, TENREG_OK);
    cr_assert_eq(tenreg_unregister(reg, "e"), TENREG_OK);
    bool early = wait_freed(&plats[0], SHORT_MS);
    sem_post(&f.release);
    cr_assert(!early, "platform freed under an unregistered thread's read section");
    cr_assert(main_wait(&f.done, LONG_MS));
    pthread_join(th, NULL);
    cr_assert(wait_freed(&plats[0], LONG_MS));
    /* The thread is gone: grace periods must not wait for it (or read its
     * freed TLS). */
    cr_assert_eq(tenreg_register(reg, "e2", "e2.example", &plats[1], 0), TENREG_OK);
    cr_assert_eq(tenreg_unregister(reg, "e2"), TENREG_OK);
    cr_assert(wait_freed(&plats[1], LONG_MS), "grace periods wait for an exited thread");
    tenreg_free(reg);
}

static void *implicit_then_explicit_main(void *arg)
{
    (void)arg;
    tenreg_resolution r;
    tenreg_read_lock(); /* registers implicitly */
    int rc1 = tenreg_resolve_by_host(reg, "e.example", 9, &r);
    tenreg_read_unlock();
    tenreg_thread_register(); /* must not register with liburcu a second time */
    tenreg_thread_register();
    tenreg_read_lock();
    int rc2 = tenreg_resolve_by_host(reg, "e.example", 9, &r);
    tenreg_read_unlock();
    tenreg_thread_unregister();
    tenreg_thread_unregister();
    tenreg_read_lock(); /* and once more, implicitly */
    int rc3 = tenreg_resolve_by_host(reg, "e.example", 9, &r);
    tenreg_read_unlock();
    return (void *)(intptr_t)(rc1 == 0 && rc2 == 0 && rc3 == 0);
}

Test(FLAVOR_SUITE, implicit_registration_then_thread_register)
{
    reg = new_reg(NULL, NULL);
    cr_assert_eq(tenreg_register(reg, "e", "e.example", &plats[0], 0), TENREG_OK);
    for (int i = 0; i < 4; i++) {
        pthread_t th;
        void *ok;
        pthread_create(&th, NULL, implicit_then_explicit_main, NULL);
        pthread_join(th, &ok);
        cr_assert(ok);
    }
    cr_assert_eq(tenreg_register(reg, "e", "e.example", &plats[1], 0), TENREG_OK);
    cr_assert(wait_freed(&plats[0], LONG_MS), "grace periods wait for exited threads");
    tenreg_free(reg);
}

/* ---- defect 6: every non-zero answer leaves out->platform NULL --------- */

static int failing_factory(void *ctx, const char *id, void **out)
{
    (void)ctx;
    (void)id;
    (void)out;
    return -1;
}

#define STALE ((void *)&plats[63])

Test(FLAVOR_SUITE, nonzero_answers_clear_platform)
{
    reg = new_reg(NULL, NULL);
    cr_assert_eq(tenreg_register(reg, "e", "e.example", &plats[0], 0), TENREG_OK);
    cr_assert_eq(tenreg_register_lazy(reg, "p", "p.example", gated_factory, &plats[1], 0),
                 TENREG_OK);
    cr_assert_eq(tenreg_register_lazy(reg, "f", "f.example", failing_factory, NULL, 0),
                 TENREG_OK);
    sem_init(&factory_gate, 0, 0);
    tenreg_resolution r;
    tenreg_read_lock();
    struct {
        const char *what;
        int rc;
        int want;
    } rows[16];
    int n = 0;
#define ROW(expr, w)                                         \
    do {                                                     \
        r.platform = STALE;                                  \
        rows[n].what = #expr;                                \
        rows[n].rc = (expr);                                 \
        rows[n].want = (w);                                  \
        cr_assert_eq(rows[n].rc, rows[n].want, "%s", #expr); \
        cr_assert_null(r.platform, "%s", #expr);             \
        n++;                                                 \
    } while (0)
    ROW(tenreg_resolve_by_host(reg, "nobody.example", 14, &r), TENREG_ENOENT);
    ROW(tenreg_resolve_by_host(reg, "bad host", 8, &r), TENREG_EINVAL);
    ROW(tenreg_resolve_by_host(reg, "p.example", 9, &r), TENREG_EPENDING);
    ROW(tenreg_resolve(reg, "nobody.example", 14, 0, &r), TENREG_ENOENT);
    ROW(tenreg_resolve(reg, "bad host", 8, 0, &r), TENREG_EINVAL);
    ROW(tenreg_resolve(reg, "e.example", 9, 0x80, &r), TENREG_EINVAL);
    ROW(tenreg_resolve(reg, "p.example", 9, TENREG_NOWAIT, &r), TENREG_EPENDING);
    ROW(tenreg_resolve(reg, "f.example", 9, 0, &r), TENREG_EFACTORY);
    ROW(tenreg_resolve(reg, "f.example", 9, 0, &r), TENREG_EDISABLED);
    ROW(tenreg_resolve_by_host(reg, "f.example", 9, &r), TENREG_EDISABLED);
    ROW(tenreg_resolve_by_id(reg, "nobody", 0, &r), TENREG_ENOENT);
    ROW(tenreg_resolve_by_id(reg, "", 0, &r), TENREG_EINVAL);
    ROW(tenreg_resolve_by_id(reg, NULL, 0, &r), TENREG_EINVAL);
    ROW(tenreg_resolve_by_id(reg, "f", TENREG_NOWAIT, &r), TENREG_EDISABLED);
#undef ROW
    r.platform = STALE;
    cr_assert_eq(tenreg_resolve_by_host(reg, "e.example", 9, &r), TENREG_OK);
    cr_assert_eq(r.platform, &plats[0]);
    tenreg_read_unlock();
    sem_post(&factory_gate);
    tenreg_free(reg);
}

/* ---- defect 7: NOWAIT that hands a build off answers EPENDING ---------- */

static int instant_failing_factory(void *ctx, const char *id, void **out)
{
    (void)id;
    (void)out;
    atomic_fetch_add((_Atomic int *)ctx, 1);
    return -1;
}

Test(FLAVOR_SUITE, nowait_handoff_answers_pending_however_fast_the_build)
{
    /* One CPU for this thread and (inherited) for the builder threads:
     * the woken builder tends to run at once, before the resolver looks
     * at the cell again; that is the interleaving this test is after. */
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
    (void)pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
    static _Atomic int calls;
    tenreg_config cfg = {.builder_threads = 2};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    const int rounds = 400;
    int pending = 0, other = 0, last_other = 0;
    for (int i = 0; i < rounds; i++) {
        cr_assert_eq(tenreg_register_lazy(reg, "f", "f.example", instant_failing_factory,
                                          (void *)&calls, 0),
                     TENREG_OK);
        tenreg_resolution r;
        tenreg_read_lock();
        int rc = tenreg_resolve(reg, "f.example", 9, TENREG_NOWAIT, &r);
        tenreg_read_unlock();
        if (rc == TENREG_EPENDING)
            pending++;
        else
            other++, last_other = rc;
        /* Let this round's build end before the next registration. */
        for (int spin = 0; spin < 50000 && atomic_load(&calls) <= i; spin++)
            sched_yield();
    }
    cr_assert_eq(other, 0, "%d of %d hand-offs answered %d instead of EPENDING", other, rounds,
                 last_other);
    cr_assert_eq(pending, rounds);
    tenreg_free(reg);
}

/* ---- tenreg_free by a reader while a build waits for a grace period ---- */

static sem_t in_slow_factory;
static _Atomic int slow_factory_rc = 99;
static int factory_waits_for_old_free(void *ctx, const char *id, void **out)
{
    (void)id;
    sem_post(&in_slow_factory);
    bool freed = wait_freed(&plats[0], LONG_MS); /* a grace period */
    atomic_store(&slow_factory_rc, freed ? 0 : -1);
    if (!freed)
        return -1;
    *out = ctx;
    return 0;
}

Test(FLAVOR_SUITE, free_by_a_reader_lets_a_build_in_flight_finish)
{
    sem_init(&in_slow_factory, 0, 0);
    reg = new_reg(NULL, NULL);
    cr_assert_eq(tenreg_register(reg, "old", "old.example", &plats[0], 0), TENREG_OK);
    cr_assert_eq(tenreg_register_lazy(reg, "lz", "lz.example", factory_waits_for_old_free,
                                      &plats[1], 0),
                 TENREG_OK);
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve(reg, "lz.example", 10, TENREG_NOWAIT, &r), TENREG_EPENDING);
    tenreg_read_unlock();
    cr_assert(main_wait(&in_slow_factory, LONG_MS));
    cr_assert_eq(tenreg_unregister(reg, "old"), TENREG_OK);
    /* Straight into tenreg_free, without a quiescent state: the teardown
     * (which waits for the builder) must not hold up the grace period the
     * factory waits for (QSBR: this reader is online). */
    tenreg_free(reg);
    cr_assert_eq(atomic_load(&slow_factory_rc), 0, "the factory never saw its grace period");
    cr_assert_eq(atomic_load(&frees), 2);
}
