/*
 * Out of memory (white-box): every admin call, made to fail at each of its
 * allocations in turn, answers TENREG_ENOMEM and leaves the registry
 * exactly as it was: same tenants, same health, same answers, same memory,
 * and the caller keeps its platform. Uses tenreg__alloc_fail_after.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "test_support.h"

static struct tt_free_counter frees;
static _Atomic int calls_made;

static int counting_factory(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    atomic_fetch_add(&calls_made, 1);
    *platform = tt_platform_new(tenant_id, "lazy");
    return 0;
}

static _Atomic int validations;
static int counting_validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    (void)ctx;
    (void)tenant_id;
    (void)agent_url;
    atomic_fetch_add(&validations, 1);
    return 1;
}

static tenreg_t *reg;

static void setup(void)
{
    tt_thread_init();
    tenreg_config cfg = {.validator = counting_validator,
                         .platform_free = tt_count_free, .platform_free_ctx = &frees,
                         .expected_tenants = 8};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", counting_factory, NULL, 0),
                 TENREG_OK);
}

/* The end of every test, in its body (TT_TEST: Criterion ignores a failed
 * assertion in a .fini): every platform, given or built, that a call
 * answering ENOMEM did not take, and every one it did take afterwards,
 * is freed exactly once. */
static void finish(void)
{
    tenreg__alloc_fail_after(-1);
    tenreg_free(reg);
    reg = NULL;
    cr_assert_eq(atomic_load(&frees.double_frees), 0, "a platform was freed twice");
    cr_assert_eq(tt_platforms_not_freed_once(), 0, "a platform was not freed exactly once");
}

static void teardown(void)
{
    tenreg__alloc_fail_after(-1);
    tenreg_free(reg);
    reg = NULL;
    tt_thread_fini();
    tt_platforms_release();
}

TestSuite(enomem, .init = setup, .fini = teardown, .timeout = 60);

static int append_host(void *ctx, const char *host)
{
    strcat(ctx, host);
    strcat(ctx, " ");
    return 0;
}

/* What the registry answers, as a string, to compare before and after. */
static void snapshot(char *buf, size_t cap)
{
    tenreg_health ha = 9, hl = 9, hm = 9;
    tenreg_resolution r;
    tenreg_health_of(reg, "a", &ha);
    tenreg_health_of(reg, "l", &hl);
    int rhm = tenreg_health_of(reg, "m", &hm);
    tenreg_read_lock();
    int ra = tenreg_resolve_by_host(reg, "a.example", 9, &r);
    void *pa = ra == 0 ? r.platform : NULL;
    int rb = tenreg_resolve_by_host(reg, "b.example", 9, &r);
    int rl = tenreg_resolve_by_host(reg, "l.example", 9, &r);
    int rm = tenreg_resolve_by_host(reg, "m.example", 9, &r);
    tenreg_read_unlock();
    /* a's hosts and patterns, and what two hosts they may cover answer */
    char hosts[512] = "";
    int rh = tenreg_foreach_host(reg, "a", append_host, hosts);
    tenreg_read_lock();
    int rx = tenreg_resolve_by_host(reg, "x.w.example", 11, &r);
    const char *mx = rx == 0 ? r.matched : "-";
    int ry = tenreg_resolve_by_host(reg, "a2.example", 10, &r);
    snprintf(buf, cap, "count=%zu a=%d/%d/%p l=%d/%d b=%d m=%d/%d/%d hosts=%d:%s x=%d:%s y=%d",
             tenreg_count(reg), (int)ha, ra, pa, (int)hl, rl, rb, rhm, (int)hm, rm, rh, hosts, rx,
             mx, ry);
    tenreg_read_unlock();
}

/* Runs @op with its k-th allocation failing, for k = 0, 1, ... until it
 * succeeds; every failure must be ENOMEM with nothing changed. */
#define EVERY_FAILURE_POINT(op_expr, undo)                                                  \
    do {                                                                                    \
        for (long k = 0;; k++) {                                                            \
            char before[1024], after[1024];                                                 \
            tenreg__rcu_barrier();                                                          \
            snapshot(before, sizeof(before));                                               \
            long bytes = tenreg__live_bytes(reg);                                           \
            int v0_ = validations, f0_ = calls_made;                                        \
            tenreg__alloc_fail_after(k);                                                    \
            int rc = (op_expr);                                                             \
            tenreg__alloc_fail_after(-1);                                                   \
            if (rc != TENREG_ENOMEM) {                                                      \
                cr_assert(k > 0, "never failed: no allocation in " #op_expr);               \
                cr_log_info("%s: %ld failure points, then %d", #op_expr, k, rc);            \
                undo;                                                                       \
                break;                                                                      \
            }                                                                               \
            tenreg__rcu_barrier();                                                          \
            snapshot(after, sizeof(after));                                                 \
            cr_assert_str_eq(before, after, "k=%ld: %s changed the registry", k, #op_expr); \
            cr_assert_eq(tenreg__live_bytes(reg), bytes, "k=%ld: memory changed", k);       \
            cr_assert_eq(validations, v0_, "k=%ld: validator ran before ENOMEM", k);        \
            cr_assert_eq(calls_made, f0_, "k=%ld: factory ran before ENOMEM", k);          \
            cr_assert_lt(k, 20, "ENOMEM forever");                                          \
        }                                                                                   \
    } while (0)

TT_TEST(finish, enomem, register_new_tenant)
{
    struct tt_platform *p = tt_platform_new("b", "");
    EVERY_FAILURE_POINT(tenreg_register(reg, "b", "b.example", p, 0), (void)0);
    cr_assert_eq(tenreg_count(reg), 3);
}

TT_TEST(finish, enomem, register_replacing_a_tenant)
{
    struct tt_platform *p = tt_platform_new("a", "2");
    EVERY_FAILURE_POINT(tenreg_register(reg, "a", "a2.example", p, 0), (void)0);
    cr_assert_eq(tenreg_count(reg), 2);
}

TT_TEST(finish, enomem, register_awaiting_validation)
{
    struct tt_platform *p = tt_platform_new("b", "");
    EVERY_FAILURE_POINT(tenreg_register(reg, "b", "b.example", p, TENREG_AWAIT_FIRST_VALIDATION),
                        (void)0);
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, "b", &h), TENREG_OK);
    cr_assert_eq(h, TENREG_HEALTHY, "an awaited registration that succeeded was validated");
}

TT_TEST(finish, enomem, register_lazy)
{
    EVERY_FAILURE_POINT(tenreg_register_lazy(reg, "m", "m.example", counting_factory, NULL, 0),
                        (void)0);
}

/* Boot pre-warm: the build and its validation run in this call; failing
 * at any of its allocations must come before the factory runs. */
TT_TEST(finish, enomem, register_lazy_awaiting_first_build)
{
    int f0 = calls_made, v0 = validations;
    EVERY_FAILURE_POINT(tenreg_register_lazy(reg, "m", "m.example", counting_factory, NULL,
                                             TENREG_AWAIT_FIRST_VALIDATION),
                        (void)0);
    cr_assert_eq(calls_made, f0 + 1, "one factory call, by the call that succeeded");
    cr_assert_eq(validations, v0 + 1);
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, "m", &h), TENREG_OK);
    cr_assert_eq(h, TENREG_HEALTHY, "an awaited build that succeeded was validated");
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_host(reg, "m.example", 9, &r), TENREG_OK, "built at once");
    cr_assert_str_eq(((struct tt_platform *)r.platform)->tenant_id, "m");
    tenreg_read_unlock();
    cr_assert_eq(tenreg_count(reg), 3);
}

TT_TEST(finish, enomem, register_lazy_awaiting_first_build_replacing_a_tenant)
{
    int f0 = calls_made;
    EVERY_FAILURE_POINT(tenreg_register_lazy(reg, "l", "l2.example", counting_factory, NULL,
                                             TENREG_AWAIT_FIRST_VALIDATION),
                        (void)0);
    cr_assert_eq(calls_made, f0 + 1);
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, "l", &h), TENREG_OK);
    cr_assert_eq(h, TENREG_HEALTHY);
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_host(reg, "l2.example", 10, &r), TENREG_OK);
    cr_assert_eq(tenreg_resolve_by_host(reg, "l.example", 9, &r), TENREG_ENOENT, "the host moved");
    tenreg_read_unlock();
    cr_assert_eq(tenreg_count(reg), 2);
}

TT_TEST(finish, enomem, recheck)
{
    EVERY_FAILURE_POINT(tenreg_recheck(reg, "a"), (void)0);
}

static int count_cb(void *ctx, const char *id, tenreg_health h)
{
    (void)id;
    (void)h;
    ++*(int *)ctx;
    return 0;
}

TT_TEST(finish, enomem, foreach)
{
    int n = 0;
    EVERY_FAILURE_POINT(tenreg_foreach(reg, count_cb, &n), (void)0);
    cr_assert_eq(n, 2, "fn not called on ENOMEM, called for each tenant after");
}

TT_TEST(finish, enomem, growing_the_tables)
{
    /* expected_tenants = 8 gives 64 slots, grown past 32 entries: with
     * 2 + 30 tenants, the next registration needs bigger slot arrays. */
    char id[16], url[32];
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof(id), "g%d", i);
        snprintf(url, sizeof(url), "g%d.example", i);
        cr_assert_eq(tenreg_register(reg, id, url, tt_platform_new(id, ""), 0), TENREG_OK);
    }
    struct tt_platform *p = tt_platform_new("g30", "");
    long bytes_before = tenreg__live_bytes(reg);
    EVERY_FAILURE_POINT(tenreg_register(reg, "g30", "g30.example", p, 0), (void)0);
    cr_assert_eq(tenreg_count(reg), 33);
    cr_assert_gt(tenreg__live_bytes(reg) - bytes_before, 2 * 64 * 16, "the slot arrays did not grow");
}

TT_TEST(finish, enomem, new_registry)
{
    tenreg_t *r2 = NULL;
    for (long k = 0;; k++) {
        tenreg__alloc_fail_after(k);
        int rc = tenreg_new(NULL, &r2);
        tenreg__alloc_fail_after(-1);
        if (rc == TENREG_OK)
            break;
        cr_assert_eq(rc, TENREG_ENOMEM);
        cr_assert_null(r2);
        cr_assert_lt(k, 20);
    }
    tenreg_free(r2);
}

/* ---- hosts and patterns (docs/design.md §8.1) --------------------------- */

TT_TEST(finish, enomem, add_host)
{
    EVERY_FAILURE_POINT(tenreg_add_host(reg, "a", "a2.example"), (void)0);
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_host(reg, "a2.example", 10, &r), TENREG_OK);
    cr_assert_str_eq(r.tenant_id, "a");
    tenreg_read_unlock();
}

TT_TEST(finish, enomem, add_pattern)
{
    EVERY_FAILURE_POINT(tenreg_add_host(reg, "a", "*.w.example"), (void)0);
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_host(reg, "x.w.example", 11, &r), TENREG_OK);
    cr_assert_str_eq(r.matched, "*.w.example");
    tenreg_read_unlock();
}

/* The fifth alias needs a bigger alias array, the 33rd entry of the
 * pattern table a bigger slot array: both are failure points. */
TT_TEST(finish, enomem, add_host_growing_the_alias_array_and_the_table)
{
    char h[32];
    for (int i = 0; i < 4; i++) {
        snprintf(h, sizeof(h), "*.p%d.example", i);
        cr_assert_eq(tenreg_add_host(reg, "a", h), TENREG_OK);
    }
    for (int i = 0; i < 28; i++) {
        char id[16];
        snprintf(id, sizeof(id), "g%d", i);
        snprintf(h, sizeof(h), "g%d.example", i);
        cr_assert_eq(tenreg_register(reg, id, h, tt_platform_new(id, ""), 0), TENREG_OK);
        snprintf(h, sizeof(h), "*.g%d.example", i);
        cr_assert_eq(tenreg_add_host(reg, id, h), TENREG_OK);
    }
    EVERY_FAILURE_POINT(tenreg_add_host(reg, "a", "*.w.example"), (void)0);
}

TT_TEST(finish, enomem, foreach_host)
{
    cr_assert_eq(tenreg_add_host(reg, "a", "*.w.example"), TENREG_OK);
    char hosts[512] = "";
    EVERY_FAILURE_POINT(tenreg_foreach_host(reg, "a", append_host, hosts), (void)0);
    cr_assert_str_eq(hosts, "a.example *.w.example ", "fn not called on ENOMEM");
}

TT_TEST(finish, enomem, register_replacing_a_tenant_with_extra_hosts)
{
    cr_assert_eq(tenreg_add_host(reg, "a", "*.w.example"), TENREG_OK);
    cr_assert_eq(tenreg_add_host(reg, "a", "a2.example"), TENREG_OK);
    struct tt_platform *p = tt_platform_new("a", "2");
    EVERY_FAILURE_POINT(tenreg_register(reg, "a", "a2.example", p, 0), (void)0);
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_host(reg, "x.w.example", 11, &r), TENREG_ENOENT);
    cr_assert_eq(tenreg_resolve_by_host(reg, "a2.example", 10, &r), TENREG_OK);
    cr_assert_eq(r.platform, p);
    tenreg_read_unlock();
}

/* remove_host allocates nothing: it cannot fail for memory. */
TT_TEST(finish, enomem, remove_host_allocates_nothing)
{
    cr_assert_eq(tenreg_add_host(reg, "a", "*.w.example"), TENREG_OK);
    tenreg__alloc_fail_after(0);
    int rc = tenreg_remove_host(reg, "a", "*.w.example");
    tenreg__alloc_fail_after(-1);
    cr_assert_eq(rc, TENREG_OK);
}

/* ---- what cannot fail: reasons and events (docs/design.md §8.2, §8.3) --- */

static const char *ev_said;
static int saying_validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    (void)ctx;
    (void)tenant_id;
    (void)agent_url;
    tenreg_set_reason(ev_said);
    return 0;
}

static _Atomic int events_seen;
static void count_event(void *ctx, const tenreg_event *ev)
{
    (void)ctx;
    (void)ev;
    atomic_fetch_add(&events_seen, 1);
}

/* The check's outcome stands when its reason cannot be copied: the
 * reason says so. Allocations of a recheck: its record, then the reason. */
TT_TEST(finish, enomem, reason_copy_out_of_memory)
{
    tenreg_t *r2;
    tenreg_config cfg = {.validator = saying_validator};
    cr_assert_eq(tenreg_new(&cfg, &r2), TENREG_OK);
    static int plat;
    cr_assert_eq(tenreg_register(r2, "t", "t.example", &plat, 0), TENREG_OK);
    ev_said = "the real reason";
    tenreg__alloc_fail_after(1);
    int rc = tenreg_recheck(r2, "t");
    tenreg__alloc_fail_after(-1);
    cr_assert_eq(rc, TENREG_EVALIDATOR, "the check happened");
    tenreg_status st;
    cr_assert_eq(tenreg_status_of(r2, "t", &st), TENREG_OK);
    cr_assert_eq(st.health, TENREG_DISABLED);
    cr_assert_eq(st.verdict, TENREG_INVALID);
    cr_assert_str_eq(st.reason, "(reason dropped: out of memory)");
    /* and the next failure's reason is kept again */
    cr_assert_eq(tenreg_recheck(r2, "t"), TENREG_EVALIDATOR);
    cr_assert_eq(tenreg_status_of(r2, "t", &st), TENREG_OK);
    cr_assert_str_eq(st.reason, "the real reason");
    tenreg_free(r2);
}

/* An event that cannot be allocated is counted and dropped; the change
 * stands. Allocations of a first registration: tenant, record, event. */
TT_TEST(finish, enomem, event_dropped_for_memory)
{
    tenreg_t *r2;
    tenreg_config cfg = {.on_event = count_event};
    cr_assert_eq(tenreg_new(&cfg, &r2), TENREG_OK);
    static int plat;
    tenreg__alloc_fail_after(2);
    int rc = tenreg_register(r2, "t", "t.example", &plat, 0);
    tenreg__alloc_fail_after(-1);
    cr_assert_eq(rc, TENREG_OK, "the registration stands");
    tenreg_stats st;
    cr_assert_eq(tenreg_stats_of(r2, &st), TENREG_OK);
    cr_assert_eq(st.events_dropped, 1);
    cr_assert_eq(st.events, 0);
    cr_assert_eq(st.tenants, 1);
    cr_assert_eq(tenreg_unregister(r2, "t"), TENREG_OK);
    tenreg_free(r2); /* delivers the UNREGISTERED event */
    cr_assert_eq(atomic_load(&events_seen), 1);
}
