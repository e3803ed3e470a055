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
    sem_wait(&g->release);
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

static void teardown(void)
{
    tenreg_free(reg);
    cr_expect_eq(atomic_load(&frees.double_frees), 0);
    cr_expect_eq(atomic_load(&frees.frees), tt_platforms_made(), "every platform freed once");
    sem_destroy(&gate.entered);
    sem_destroy(&gate.release);
    tt_thread_fini();
    tt_platforms_release();
}

TestSuite(races, .init = setup, .fini = teardown, .timeout = 30);

struct call {
    pthread_t th;
    const char *id;
    const char *url;
    unsigned flags;
    int rc;
};

static void *do_recheck(void *arg)
{
    struct call *c = arg;
    c->rc = tenreg_recheck(reg, c->id);
    return NULL;
}

static void *do_register_await(void *arg)
{
    struct call *c = arg;
    c->rc = tenreg_register(reg, c->id, c->url, tt_platform_new(c->id, c->url), c->flags);
    return NULL;
}

static void start(struct call *c, void *(*fn)(void *))
{
    cr_assert_eq(pthread_create(&c->th, NULL, fn, c), 0);
}

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

Test(races, unregister_during_recheck_discards_result)
{
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    gate.verdicts[0] = 0;
    struct call c = {.id = "a"};
    start(&c, do_recheck);
    sem_wait(&gate.entered); /* the validator is running */
    long long t0 = tt_now_ns();
    cr_assert_eq(tenreg_unregister(reg, "a"), TENREG_OK);
    cr_assert_lt(tt_now_ns() - t0, 50 * 1000000LL, "unregister waited for the validator");
    sem_post(&gate.release);
    pthread_join(c.th, NULL);
    cr_assert_eq(c.rc, TENREG_ENOENT, "a discarded recheck answers ENOENT");
    int rc;
    health_or("a", &rc);
    cr_assert_eq(rc, TENREG_ENOENT, "no zombie entry");
    cr_assert_eq(resolve_rc("a.example"), TENREG_ENOENT);
    cr_assert_eq(tenreg_count(reg), 0);
}

Test(races, reregister_during_recheck_discards_result)
{
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    gate.verdicts[0] = 0; /* would disable the old registration */
    struct call c = {.id = "a"};
    start(&c, do_recheck);
    sem_wait(&gate.entered);
    void *p2 = tt_platform_new("a", "new");
    cr_assert_eq(tenreg_register(reg, "a", "new.a.example", p2, 0), TENREG_OK);
    sem_post(&gate.release);
    pthread_join(c.th, NULL);
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

Test(races, unregister_during_awaited_validation)
{
    gate.verdicts[0] = 1;
    struct call c = {.id = "a", .url = "a.example", .flags = TENREG_AWAIT_FIRST_VALIDATION};
    start(&c, do_register_await);
    sem_wait(&gate.entered);
    cr_assert_eq(tenreg_unregister(reg, "a"), TENREG_OK);
    sem_post(&gate.release);
    pthread_join(c.th, NULL);
    cr_assert_eq(c.rc, TENREG_OK, "register answers 0: it did register");
    int rc;
    health_or("a", &rc);
    cr_assert_eq(rc, TENREG_ENOENT, "the stale validation resurrected nothing");
    cr_assert_eq(tenreg_count(reg), 0);
}

Test(races, reregister_during_awaited_validation)
{
    gate.verdicts[0] = 0;
    struct call c = {.id = "a", .url = "a.example", .flags = TENREG_AWAIT_FIRST_VALIDATION};
    start(&c, do_register_await);
    sem_wait(&gate.entered);
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", "2"), 0), TENREG_OK);
    sem_post(&gate.release);
    pthread_join(c.th, NULL);
    cr_assert_eq(c.rc, TENREG_OK);
    int rc;
    cr_assert_eq(health_or("a", &rc), TENREG_PENDING, "invalid verdict was for the old one");
}

Test(races, concurrent_rechecks_run_one_at_a_time_in_order)
{
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    /* First recheck: invalid (PENDING -> DISABLED); second: valid
     * (-> HEALTHY); third: invalid (HEALTHY -> UNVERIFIED). Only this order
     * ends UNVERIFIED with exactly these return codes. */
    gate.verdicts[0] = 0;
    gate.verdicts[1] = 1;
    gate.verdicts[2] = 0;
    struct call c1 = {.id = "a"}, c2 = {.id = "a"}, c3 = {.id = "a"};
    start(&c1, do_recheck);
    sem_wait(&gate.entered);
    start(&c2, do_recheck);
    usleep(50 * 1000); /* c2 is queued behind c1 by now */
    start(&c3, do_recheck);
    usleep(50 * 1000);
    cr_assert_eq(atomic_load(&gate.calls), 1, "a second validator ran while the first was running");
    int rc;
    cr_assert_eq(health_or("a", &rc), TENREG_PENDING);

    sem_post(&gate.release);
    pthread_join(c1.th, NULL);
    cr_assert_eq(c1.rc, TENREG_EVALIDATOR);
    cr_assert_eq(health_or("a", &rc), TENREG_DISABLED);

    sem_wait(&gate.entered);
    sem_post(&gate.release);
    pthread_join(c2.th, NULL);
    cr_assert_eq(c2.rc, TENREG_OK);

    sem_wait(&gate.entered);
    sem_post(&gate.release);
    pthread_join(c3.th, NULL);
    cr_assert_eq(c3.rc, TENREG_EVALIDATOR);
    cr_assert_eq(health_or("a", &rc), TENREG_UNVERIFIED);
    cr_assert_eq(atomic_load(&gate.max_in_flight), 1);
}

Test(races, rechecks_of_different_tenants_do_not_wait_for_each_other)
{
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    cr_assert_eq(tenreg_register(reg, "b", "b.example", tt_platform_new("b", ""), 0), TENREG_OK);
    struct call ca = {.id = "a"}, cb = {.id = "b"};
    start(&ca, do_recheck);
    sem_wait(&gate.entered);
    start(&cb, do_recheck);
    sem_wait(&gate.entered); /* b's validator runs while a's is blocked */
    cr_assert_eq(atomic_load(&gate.max_in_flight), 2);
    sem_post(&gate.release);
    sem_post(&gate.release);
    pthread_join(ca.th, NULL);
    pthread_join(cb.th, NULL);
    cr_assert_eq(ca.rc, TENREG_OK);
    cr_assert_eq(cb.rc, TENREG_OK);
}

Test(races, readers_and_admin_proceed_while_validator_blocks)
{
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    struct call c = {.id = "a"};
    start(&c, do_recheck);
    sem_wait(&gate.entered);
    /* No registry-wide lock is held by a running validator. */
    cr_assert_eq(resolve_rc("a.example"), TENREG_OK);
    cr_assert_eq(tenreg_register(reg, "b", "b.example", tt_platform_new("b", ""), 0), TENREG_OK);
    cr_assert_eq(tenreg_unregister(reg, "b"), TENREG_OK);
    cr_assert_eq(tenreg_count(reg), 1);
    sem_post(&gate.release);
    pthread_join(c.th, NULL);
    cr_assert_eq(c.rc, TENREG_OK);
}
