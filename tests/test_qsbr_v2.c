/*
 * Version 2 (docs/design.md §8) in the QSBR flavor (libtenreg-qsbr): extra
 * hosts and patterns, resolve_many, events, background rechecks and build
 * retries, with the test's thread an online reader that announces
 * quiescent states. What differs from memb: a platform replaced through any
 * host is freed only after the readers quiesce; the registry's own threads
 * (events, builders running checks) never hold up a grace period; and
 * teardown with all of them running completes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

static struct tt_free_counter frees;
static _Atomic int answer = 1;
static _Atomic int events_seen;

static void count_event(void *ctx, const tenreg_event *ev)
{
    tenreg_t *reg = *(tenreg_t **)ctx;
    /* A callback that reads and writes the registry, on the event thread. */
    if (ev->kind == TENREG_EV_REGISTERED && strcmp(ev->tenant_id, "e") == 0) {
        tenreg_resolution r;
        tenreg_read_lock();
        (void)tenreg_resolve_by_host(reg, "e.example", 9, &r);
        tenreg_read_unlock();
        (void)tenreg_recheck(reg, "e");
    }
    atomic_fetch_add(&events_seen, 1);
}

static tenreg_t *reg;

static void setup(void)
{
    tt_thread_init(); /* online reader */
    atomic_store(&answer, 1);
    atomic_store(&events_seen, 0);
    tenreg_config cfg = {.validator = tt_validator_verdict, .validator_ctx = &answer,
                         .platform_free = tt_count_free, .platform_free_ctx = &frees,
                         .on_event = count_event, .on_event_ctx = &reg,
                         .recheck_interval_ms = 5, .build_retry_ms = 1, .builder_threads = 2};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
}

static void finish(void)
{
    tenreg_free(reg);
    reg = NULL;
    cr_assert_eq(atomic_load(&frees.double_frees), 0, "a platform was freed twice");
    cr_assert_eq(tt_platforms_not_freed_once(), 0, "a platform was not freed exactly once");
}

static void teardown(void)
{
    tenreg_free(reg);
    reg = NULL;
    tt_thread_fini();
    tt_platforms_release();
}

TestSuite(qsbr_v2, .init = setup, .fini = teardown, .timeout = 60);

/* Polls @cond for up to TT_WAIT_S, announcing quiescent states meanwhile. */
#define WAIT_FOR(cond, what)                                                          \
    do {                                                                              \
        long long deadline_ = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);             \
        while (!(cond)) {                                                             \
            cr_assert_lt(tt_now_ns(), deadline_, "waited 10 s for " what);            \
            tenreg_quiescent();                                                       \
            usleep(1000);                                                             \
        }                                                                             \
    } while (0)

TT_TEST(finish, qsbr_v2, replaced_platform_seen_through_a_pattern_waits_for_quiescence)
{
    struct tt_platform *p1 = tt_platform_new("a", "1");
    cr_assert_eq(tenreg_register(reg, "a", "a.example", p1, 0), TENREG_OK);
    cr_assert_eq(tenreg_add_host(reg, "a", "*.a.example"), TENREG_OK);
    cr_assert_eq(tenreg_add_host(reg, "a", "a2.example"), TENREG_OK);
    tenreg_resolution r;
    cr_assert_eq(tenreg_resolve_by_host(reg, "x.a.example", 11, &r), TENREG_OK);
    cr_assert_eq(r.platform, p1);
    cr_assert_str_eq(r.matched, "*.a.example");
    /* Replaced while this online reader holds p1 (no quiescent state yet). */
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", "2"), 0), TENREG_OK);
    usleep(50000);
    cr_assert_eq(atomic_load(&p1->freed), 0, "freed before the reader quiesced");
    cr_assert_str_eq(((struct tt_platform *)r.platform)->tenant_id, "a");
    cr_assert_eq(tenreg_resolve_by_host(reg, "x.a.example", 11, &r), TENREG_ENOENT,
                 "re-registration dropped the pattern");
    WAIT_FOR(atomic_load(&p1->freed), "the old platform after quiescent states");
}

TT_TEST(finish, qsbr_v2, resolve_many_in_qsbr)
{
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    cr_assert_eq(tenreg_add_host(reg, "a", "*.a.example"), TENREG_OK);
    tenreg_query q[3] = {{"a.example", 9}, {"b.a.example", 11}, {"nope.example", 12}};
    tenreg_resolution out[3];
    int rc[3];
    cr_assert_eq(tenreg_resolve_many(reg, q, 3, out, rc), TENREG_OK);
    cr_assert_eq(rc[0], TENREG_OK);
    cr_assert_eq(rc[1], TENREG_OK);
    cr_assert_str_eq(out[1].matched, "*.a.example");
    cr_assert_eq(rc[2], TENREG_ENOENT);
    tenreg_quiescent();
}

static bool healthy(const char *id)
{
    tenreg_health h = TENREG_PENDING;
    return tenreg_health_of(reg, id, &h) == TENREG_OK && h == TENREG_HEALTHY;
}

TT_TEST(finish, qsbr_v2, events_background_checks_and_retries_keep_grace_periods_going)
{
    /* "e": its REGISTERED event's callback reads and rechecks it. */
    struct tt_platform *p = tt_platform_new("e", "");
    cr_assert_eq(tenreg_register(reg, "e", "e.example", p, 0), TENREG_OK);
    /* Background checks validate an unawaited tenant. */
    cr_assert_eq(tenreg_register(reg, "b", "b.example", tt_platform_new("b", ""), 0), TENREG_OK);
    WAIT_FOR(healthy("b"), "a background check of b");
    /* A platform replaced now is freed while the registry's threads run:
     * none of them holds up the grace period. */
    cr_assert_eq(tenreg_register(reg, "e", "e.example", tt_platform_new("e", "2"), 0), TENREG_OK);
    WAIT_FOR(atomic_load(&p->freed), "the replaced platform");
    WAIT_FOR(atomic_load(&events_seen) >= 4, "the events");
    tenreg_stats st;
    cr_assert_eq(tenreg_stats_of(reg, &st), TENREG_OK);
    cr_assert_gt(st.checks, 1);
}

static _Atomic int builds;
static int flaky(void *ctx, const char *id, void **platform)
{
    (void)ctx;
    if (atomic_fetch_add(&builds, 1) == 0)
        return -1;
    *platform = tt_platform_new(id, "lazy");
    return 0;
}

TT_TEST(finish, qsbr_v2, failed_build_is_retried)
{
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", flaky, NULL, 0), TENREG_OK);
    tenreg_resolution r;
    cr_assert_eq(tenreg_resolve(reg, "l.example", 9, 0, &r), TENREG_EFACTORY);
    WAIT_FOR(tenreg_resolve(reg, "l.example", 9, 0, &r) == TENREG_OK, "the retried build");
    cr_assert_eq(atomic_load(&builds), 2, "one factory call per attempt");
    cr_assert_str_eq(((struct tt_platform *)r.platform)->tenant_id, "l");
}
