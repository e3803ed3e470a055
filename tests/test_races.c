/*
 * Forced races: a validator that blocks until the test releases it, while
 * another thread unregisters or re-registers the tenant, and rechecks of
 * one tenant issued at the same time. Each interleaving is forced with
 * semaphores, not hoped for.
 */
#include <criterion/criterion.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

/* A validator that announces each call, then waits to be released; the
 * verdict of call i is verdicts[i]. */
struct gate {
    sem_t entered, release;
    _Atomic int calls, in_flight, max_in_flight;
    int verdicts[8];
    char ids[8][64];
};

static int gated_validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    struct gate *g = ctx;
    (void)agent_url;
    int i = atomic_fetch_add(&g->calls, 1);
    int now = atomic_fetch_add(&g->in_flight, 1) + 1;
    int max = atomic_load(&g->max_in_flight);
    while (now > max && !atomic_compare_exchange_weak(&g->max_in_flight, &max, now))
        ;
    snprintf(g->ids[i], sizeof(g->ids[i]), "%s", tenant_id);
    sem_post(&g->entered);
    /* Bounded: a test that fails before it opens the gate must not leave
     * the validator (and tenreg_free) hanging. */
    tt_sem_wait_s(&g->release, 3 * TT_WAIT_S);
    atomic_fetch_sub(&g->in_flight, 1);
    return g->verdicts[i];
}

static tenreg_t *reg;
static struct gate gate;
static struct tt_free_counter frees;

static void setup(void)
{
    tt_thread_init();
    memset(&gate, 0, sizeof(gate));
    sem_init(&gate.entered, 0, 0);
    sem_init(&gate.release, 0, 0);
    for (int i = 0; i < 8; i++)
        gate.verdicts[i] = 1;
    tenreg_config cfg = {.validator = gated_validator, .validator_ctx = &gate,
                         .platform_free = tt_count_free, .platform_free_ctx = &frees};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
}

/* The end of every test, in its body (TT_TEST: Criterion ignores a failed
 * assertion in a .fini): every platform given to the registry is freed
 * exactly once by tenreg_free at the latest, also those of registrations
 * whose checks were discarded. */
static void finish(void)
{
    tenreg_free(reg);
    reg = NULL;
    cr_assert_eq(atomic_load(&frees.double_frees), 0, "a platform was freed twice");
    cr_assert_eq(atomic_load(&frees.frees), tt_platforms_made(), "%ld of %ld platforms freed",
                 atomic_load(&frees.frees), tt_platforms_made());
    cr_assert_eq(tt_platforms_not_freed_once(), 0, "a platform was not freed exactly once");
}

/* Only what a test that failed early left behind: open the gate first, or
 * tenreg_free would wait for a validator blocked in it. */
static void teardown(void)
{
    for (int i = 0; i < 64; i++)
        sem_post(&gate.release);
    tenreg_free(reg);
    reg = NULL;
    sem_destroy(&gate.entered);
    sem_destroy(&gate.release);
    tt_thread_fini();
    tt_platforms_release();
}

TestSuite(races, .init = setup, .fini = teardown, .timeout = 30);

/* An admin call on a thread of its own (tt_bounded): the test waits for it
 * with a deadline, so that a call that blocks when it must not fails the
 * test instead of hanging it. Tests keep them static: a call left blocked
 * by a failed check must not write into a stack frame that is gone. */
struct call {
    struct tt_bounded b;
    sem_t ready;              /* registered with RCU, about to make the call */
    const char *id;
    const char *url;
    unsigned flags;
    int rc;
};

/* Registered first, so that a sleep seen after `ready` is the call's own
 * (its turn in the tenant's turnstile), not liburcu's registry lock. */
static void call_prologue(struct call *c)
{
    tenreg_thread_register();
    sem_post(&c->ready);
}

static void *do_recheck(void *arg)
{
    struct call *c = arg;
    call_prologue(c);
    c->rc = tenreg_recheck(reg, c->id);
    tenreg_thread_unregister();
    return NULL;
}

static void *do_register_await(void *arg)
{
    struct call *c = arg;
    call_prologue(c);
    c->rc = tenreg_register(reg, c->id, c->url, tt_platform_new(c->id, c->url), c->flags);
    tenreg_thread_unregister();
    return NULL;
}

static void *do_unregister(void *arg)
{
    struct call *c = arg;
    call_prologue(c);
    c->rc = tenreg_unregister(reg, c->id);
    tenreg_thread_unregister();
    return NULL;
}

static void start(struct call *c, void *(*fn)(void *))
{
    c->rc = 99;
    sem_init(&c->ready, 0, 0);
    tt_bounded_start(&c->b, fn, c);
    TT_SEM_WAIT(&c->ready, "the call's thread did not start");
}

#define JOIN(c_, what_) TT_BOUNDED_JOIN(&(c_)->b, what_)

/* Waits until @c sleeps: queued behind the check that holds the turnstile. */
#define QUEUED(c_) TT_WAIT_FUTEX_SLEEP((c_)->b.tid, #c_ " did not wait for its turn")

static tenreg_health health_or(const char *id, int *rc)
{
    tenreg_health h = (tenreg_health)-1;
    *rc = tenreg_health_of(reg, id, &h);
    return h;
}

static int resolve_rc(const char *host)
{
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(reg, host, strlen(host), &r);
    tenreg_read_unlock();
    return rc;
}

TT_TEST(finish, races, unregister_during_recheck_discards_result)
{
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    gate.verdicts[0] = 0;
    static struct call c = {.id = "a"}, u = {.id = "a"};
    start(&c, do_recheck);
    TT_SEM_WAIT(&gate.entered, "the validator never ran"); /* the validator is running */
    /* It stays blocked until the unregister has returned: an unregister
     * that waited for it could not return. */
    start(&u, do_unregister);
    JOIN(&u, "unregister waited for the validator");
    cr_assert_eq(u.rc, TENREG_OK);
    sem_post(&gate.release);
    JOIN(&c, "the recheck did not end");
    cr_assert_eq(c.rc, TENREG_ENOENT, "a discarded recheck answers ENOENT");
    int rc;
    health_or("a", &rc);
    cr_assert_eq(rc, TENREG_ENOENT, "no zombie entry");
    cr_assert_eq(resolve_rc("a.example"), TENREG_ENOENT);
    cr_assert_eq(tenreg_count(reg), 0);
}

TT_TEST(finish, races, reregister_during_recheck_discards_result)
{
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    gate.verdicts[0] = 0; /* would disable the old registration */
    static struct call c = {.id = "a"};
    start(&c, do_recheck);
    TT_SEM_WAIT(&gate.entered, "no validator ran");
    void *p2 = tt_platform_new("a", "new");
    cr_assert_eq(tenreg_register(reg, "a", "new.a.example", p2, 0), TENREG_OK);
    sem_post(&gate.release);
    JOIN(&c, "the call did not end");
    cr_assert_eq(c.rc, TENREG_ENOENT);
    int rc;
    cr_assert_eq(health_or("a", &rc), TENREG_PENDING, "the new registration is untouched");
    cr_assert_eq(rc, TENREG_OK);
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_host(reg, "new.a.example", 13, &r), TENREG_OK);
    cr_assert_eq(r.platform, p2);
    tenreg_read_unlock();
    cr_assert_eq(resolve_rc("a.example"), TENREG_ENOENT);
}

TT_TEST(finish, races, unregister_during_awaited_validation)
{
    gate.verdicts[0] = 1;
    static struct call c = {.id = "a", .url = "a.example", .flags = TENREG_AWAIT_FIRST_VALIDATION};
    start(&c, do_register_await);
    TT_SEM_WAIT(&gate.entered, "no validator ran");
    static struct call u = {.id = "a"};
    start(&u, do_unregister);
    JOIN(&u, "unregister waited for the awaited validation");
    cr_assert_eq(u.rc, TENREG_OK);
    sem_post(&gate.release);
    JOIN(&c, "the call did not end");
    cr_assert_eq(c.rc, TENREG_OK, "register answers 0: it did register");
    int rc;
    health_or("a", &rc);
    cr_assert_eq(rc, TENREG_ENOENT, "the stale validation resurrected nothing");
    cr_assert_eq(tenreg_count(reg), 0);
}

TT_TEST(finish, races, reregister_during_awaited_validation)
{
    gate.verdicts[0] = 0;
    static struct call c = {.id = "a", .url = "a.example", .flags = TENREG_AWAIT_FIRST_VALIDATION};
    start(&c, do_register_await);
    TT_SEM_WAIT(&gate.entered, "no validator ran");
    static struct call r2 = {.id = "a", .url = "a.example", .flags = 0};
    start(&r2, do_register_await);
    JOIN(&r2, "register waited for the awaited validation of the registration it replaces");
    cr_assert_eq(r2.rc, TENREG_OK);
    sem_post(&gate.release);
    JOIN(&c, "the call did not end");
    cr_assert_eq(c.rc, TENREG_OK);
    int rc;
    cr_assert_eq(health_or("a", &rc), TENREG_PENDING, "invalid verdict was for the old one");
}

TT_TEST(finish, races, concurrent_rechecks_run_one_at_a_time_in_order)
{
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    /* First recheck: invalid (PENDING -> DISABLED); second: valid
     * (-> HEALTHY); third: invalid (HEALTHY -> UNVERIFIED). Only this order
     * ends UNVERIFIED with exactly these return codes. */
    gate.verdicts[0] = 0;
    gate.verdicts[1] = 1;
    gate.verdicts[2] = 0;
    static struct call c1 = {.id = "a"}, c2 = {.id = "a"}, c3 = {.id = "a"};
    start(&c1, do_recheck);
    TT_SEM_WAIT(&gate.entered, "no validator ran");
    start(&c2, do_recheck);
    QUEUED(&c2); /* c2 waits behind c1 */
    start(&c3, do_recheck);
    QUEUED(&c3); /* and c3 behind c2 */
    cr_assert_eq(atomic_load(&gate.calls), 1, "a second validator ran while the first was running");
    int rc;
    cr_assert_eq(health_or("a", &rc), TENREG_PENDING);

    sem_post(&gate.release);
    JOIN(&c1, "the first recheck did not end");
    cr_assert_eq(c1.rc, TENREG_EVALIDATOR);
    cr_assert_eq(health_or("a", &rc), TENREG_DISABLED);

    TT_SEM_WAIT(&gate.entered, "no validator ran");
    sem_post(&gate.release);
    JOIN(&c2, "the second recheck did not end");
    cr_assert_eq(c2.rc, TENREG_OK);

    TT_SEM_WAIT(&gate.entered, "no validator ran");
    sem_post(&gate.release);
    JOIN(&c3, "the third recheck did not end");
    cr_assert_eq(c3.rc, TENREG_EVALIDATOR);
    cr_assert_eq(health_or("a", &rc), TENREG_UNVERIFIED);
    cr_assert_eq(atomic_load(&gate.max_in_flight), 1);
}

TT_TEST(finish, races, rechecks_of_different_tenants_do_not_wait_for_each_other)
{
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    cr_assert_eq(tenreg_register(reg, "b", "b.example", tt_platform_new("b", ""), 0), TENREG_OK);
    static struct call ca = {.id = "a"}, cb = {.id = "b"};
    start(&ca, do_recheck);
    TT_SEM_WAIT(&gate.entered, "no validator ran");
    start(&cb, do_recheck);
    TT_SEM_WAIT(&gate.entered, "b's recheck waited for a's"); /* b's validator runs while a's is blocked */
    cr_assert_eq(atomic_load(&gate.max_in_flight), 2);
    sem_post(&gate.release);
    sem_post(&gate.release);
    JOIN(&ca, "a's recheck did not end");
    JOIN(&cb, "b's recheck did not end");
    cr_assert_eq(ca.rc, TENREG_OK);
    cr_assert_eq(cb.rc, TENREG_OK);
}

TT_TEST(finish, races, readers_and_admin_proceed_while_validator_blocks)
{
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    static struct call c = {.id = "a"};
    start(&c, do_recheck);
    TT_SEM_WAIT(&gate.entered, "no validator ran");
    /* No registry-wide lock is held by a running validator. */
    cr_assert_eq(resolve_rc("a.example"), TENREG_OK);
    cr_assert_eq(tenreg_register(reg, "b", "b.example", tt_platform_new("b", ""), 0), TENREG_OK);
    cr_assert_eq(tenreg_unregister(reg, "b"), TENREG_OK);
    cr_assert_eq(tenreg_count(reg), 1);
    sem_post(&gate.release);
    JOIN(&c, "the call did not end");
    cr_assert_eq(c.rc, TENREG_OK);
}
