/*
 * Status, reasons, transient failures and counters (docs/design.md §8.2,
 * §8.7): every field of tenreg_status after each row of the §3 health
 * table and each lazy row; the transition table under both rule sets;
 * tenreg_set_reason's copy, cut and clean-up; tenreg_stats_of exact after
 * each admin call.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

static tenreg_t *reg;
static struct tt_free_counter frees;

/* The validator answers `answer` and says `said` (unless NULL). */
static _Atomic int answer = 1;
static const char *said;
static int saying_validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    (void)ctx;
    (void)tenant_id;
    (void)agent_url;
    if (said)
        tenreg_set_reason(said);
    return atomic_load(&answer);
}

static void make(unsigned flags)
{
    tenreg_free(reg);
    tenreg_config cfg = {.validator = saying_validator,
                         .platform_free = tt_count_free, .platform_free_ctx = &frees,
                         .flags = flags};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
}

static void setup(void)
{
    tt_thread_init();
    atomic_store(&answer, 1);
    said = NULL;
    make(0);
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

TestSuite(status, .init = setup, .fini = teardown, .timeout = 60);

static tenreg_status status(const char *id)
{
    tenreg_status st;
    memset(&st, 0x5a, sizeof(st));
    cr_assert_eq(tenreg_status_of(reg, id, &st), TENREG_OK, "status_of(%s)", id);
    return st;
}

static const char *verdict_name(tenreg_verdict v)
{
    static const char *const names[] = {"unchecked", "valid", "invalid", "check_failed",
                                        "build_failed"};
    return (unsigned)v < 5 ? names[v] : "?";
}

/* Moves "t" to @h by a short path of rechecks (validator saying nothing). */
static void reach(tenreg_health h)
{
    const char *keep = said;
    said = NULL;
    cr_assert_eq(tenreg_register(reg, "t", "t.example", tt_platform_new("t", ""), 0), TENREG_OK);
    if (h != TENREG_PENDING) {
        atomic_store(&answer, h == TENREG_DISABLED ? 0 : 1);
        tenreg_recheck(reg, "t");
        if (h == TENREG_UNVERIFIED) {
            atomic_store(&answer, -1); /* healthy -> unverified under both rule sets */
            tenreg_recheck(reg, "t");
        }
    }
    cr_assert_eq(status("t").health, h);
    said = keep;
}

TT_TEST(finish, status, fresh_registration)
{
    cr_assert_eq(tenreg_register(reg, "e", "https://e.example/x", tt_platform_new("e", ""), 0),
                 TENREG_OK);
    cr_assert_eq(tenreg_add_host(reg, "e", "*.e.example"), TENREG_OK);
    tenreg_status st = status("e");
    cr_assert_eq(st.health, TENREG_PENDING);
    cr_assert_eq(st.verdict, TENREG_UNCHECKED);
    cr_assert_eq(st.failures, 0);
    cr_assert_eq(st.checked_at_ns, 0);
    cr_assert_gt(st.registered_at_ns, 1600000000LL * 1000000000LL, "CLOCK_REALTIME");
    cr_assert_eq(st.lazy, 0);
    cr_assert_eq(st.built, 1);
    cr_assert_eq(st.hosts, 2);
    cr_assert_str_eq(st.reason, "");
    tenreg_status none;
    cr_assert_eq(tenreg_status_of(reg, "nobody", &none), TENREG_ENOENT);
    cr_assert_eq(tenreg_status_of(reg, NULL, &none), TENREG_EINVAL);
    cr_assert_eq(tenreg_status_of(reg, "e", NULL), TENREG_EINVAL);
    cr_assert_eq(tenreg_status_of(NULL, "e", &none), TENREG_EINVAL);
    /* inside a read section too */
    tenreg_read_lock();
    cr_assert_eq(tenreg_status_of(reg, "e", &none), TENREG_OK);
    tenreg_read_unlock();
}

/* One row: from @from, a recheck answering @ans (saying @reason) leads to
 * health @to with verdict @v; @fails: consecutive failures after it. */
struct status_row {
    unsigned flags;
    tenreg_health from;
    int ans;
    const char *reason;
    tenreg_health to;
    tenreg_verdict v;
    unsigned fails;
    const char *kept;
};

static void run_rows(const struct status_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct status_row *r = &rows[i];
        make(r->flags);
        reach(r->from);
        unsigned fails0 = status("t").failures;
        said = r->reason;
        atomic_store(&answer, r->ans);
        int rc = tenreg_recheck(reg, "t");
        said = NULL;
        tenreg_status st = status("t");
        cr_log_info("%-10s %-10s answer %2d reason %-10s -> %-10s %-12s failures %u reason '%s'",
                    r->flags ? "transient" : "seed", tenreg_health_name(r->from), r->ans,
                    r->reason ? r->reason : "-", tenreg_health_name(st.health),
                    verdict_name(st.verdict), st.failures, st.reason);
        cr_expect_eq(rc, r->ans > 0 ? TENREG_OK : TENREG_EVALIDATOR, "row %zu", i);
        cr_expect_eq(st.health, r->to, "row %zu: health %s, expected %s", i,
                     tenreg_health_name(st.health), tenreg_health_name(r->to));
        cr_expect_eq(st.verdict, r->v, "row %zu: verdict %s", i, verdict_name(st.verdict));
        cr_expect_eq(st.failures, r->fails == 99 ? fails0 + 1 : r->fails, "row %zu: failures %u",
                     i, st.failures);
        cr_expect_str_eq(st.reason, r->kept, "row %zu", i);
        cr_expect_gt(st.checked_at_ns, 0, "row %zu: checked_at set", i);
        cr_expect_geq(st.checked_at_ns, st.registered_at_ns, "row %zu", i);
        cr_expect_eq(st.built, 1);
        cr_expect_eq(st.lazy, 0);
        cr_expect_eq(st.hosts, 1);
    }
}

/* 99 in fails: one more than before the row. */
TT_TEST(finish, status, seed_rules_table)
{
    static const struct status_row rows[] = {
        {0, TENREG_PENDING, 1, NULL, TENREG_HEALTHY, TENREG_VALID, 0, ""},
        {0, TENREG_PENDING, 0, "no such seller", TENREG_DISABLED, TENREG_INVALID, 1,
         "no such seller"},
        {0, TENREG_PENDING, -1, "timeout", TENREG_DISABLED, TENREG_CHECK_FAILED, 1, "timeout"},
        {0, TENREG_HEALTHY, 1, "ignored when valid", TENREG_HEALTHY, TENREG_VALID, 0, ""},
        {0, TENREG_HEALTHY, 0, "revoked", TENREG_UNVERIFIED, TENREG_INVALID, 1, "revoked"},
        {0, TENREG_HEALTHY, -1, NULL, TENREG_UNVERIFIED, TENREG_CHECK_FAILED, 1, ""},
        {0, TENREG_UNVERIFIED, 1, NULL, TENREG_HEALTHY, TENREG_VALID, 0, ""},
        {0, TENREG_UNVERIFIED, 0, "still bad", TENREG_DISABLED, TENREG_INVALID, 99, "still bad"},
        {0, TENREG_UNVERIFIED, -1, "dns", TENREG_DISABLED, TENREG_CHECK_FAILED, 99, "dns"},
        {0, TENREG_DISABLED, 1, NULL, TENREG_HEALTHY, TENREG_VALID, 0, ""},
        {0, TENREG_DISABLED, 0, "x", TENREG_DISABLED, TENREG_INVALID, 99, "x"},
        {0, TENREG_DISABLED, -1, "y", TENREG_DISABLED, TENREG_CHECK_FAILED, 99, "y"},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

TT_TEST(finish, status, transient_rules_table)
{
    const unsigned T = TENREG_CFG_TRANSIENT_FAILURES;
    const struct status_row rows[] = {
        {T, TENREG_PENDING, 1, NULL, TENREG_HEALTHY, TENREG_VALID, 0, ""},
        {T, TENREG_PENDING, 0, "bad", TENREG_DISABLED, TENREG_INVALID, 1, "bad"},
        {T, TENREG_PENDING, -1, "timeout", TENREG_PENDING, TENREG_CHECK_FAILED, 1, "timeout"},
        {T, TENREG_HEALTHY, 1, NULL, TENREG_HEALTHY, TENREG_VALID, 0, ""},
        {T, TENREG_HEALTHY, 0, "revoked", TENREG_DISABLED, TENREG_INVALID, 1, "revoked"},
        {T, TENREG_HEALTHY, -1, "timeout", TENREG_UNVERIFIED, TENREG_CHECK_FAILED, 1, "timeout"},
        {T, TENREG_UNVERIFIED, 1, NULL, TENREG_HEALTHY, TENREG_VALID, 0, ""},
        {T, TENREG_UNVERIFIED, 0, "bad", TENREG_DISABLED, TENREG_INVALID, 99, "bad"},
        {T, TENREG_UNVERIFIED, -1, "again", TENREG_UNVERIFIED, TENREG_CHECK_FAILED, 99, "again"},
        {T, TENREG_DISABLED, 1, NULL, TENREG_HEALTHY, TENREG_VALID, 0, ""},
        {T, TENREG_DISABLED, 0, "x", TENREG_DISABLED, TENREG_INVALID, 99, "x"},
        {T, TENREG_DISABLED, -1, "y", TENREG_DISABLED, TENREG_CHECK_FAILED, 99, "y"},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* With the transient rules, UNVERIFIED is reached by an answer < 0. */
TT_TEST(finish, status, transient_rules_reach_unverified_from_healthy_only)
{
    make(TENREG_CFG_TRANSIENT_FAILURES);
    cr_assert_eq(tenreg_register(reg, "t", "t.example", tt_platform_new("t", ""), 0), TENREG_OK);
    atomic_store(&answer, -1);
    cr_assert_eq(tenreg_recheck(reg, "t"), TENREG_EVALIDATOR);
    cr_assert_eq(status("t").health, TENREG_PENDING, "could not check: stays pending");
    cr_assert_eq(status("t").failures, 1);
    atomic_store(&answer, 1);
    cr_assert_eq(tenreg_recheck(reg, "t"), TENREG_OK);
    atomic_store(&answer, -1);
    cr_assert_eq(tenreg_recheck(reg, "t"), TENREG_EVALIDATOR);
    cr_assert_eq(tenreg_recheck(reg, "t"), TENREG_EVALIDATOR);
    tenreg_status st = status("t");
    cr_assert_eq(st.health, TENREG_UNVERIFIED);
    cr_assert_eq(st.failures, 2);
}

/* ---- lazy rows ----------------------------------------------------------- */

static _Atomic int factory_rc;
static const char *factory_said;
static int lazy_factory(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    if (factory_said)
        tenreg_set_reason(factory_said);
    if (atomic_load(&factory_rc) < 0)
        return -1;
    *platform = tt_platform_new(tenant_id, "built");
    return 0;
}

static int build(const char *host)
{
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve(reg, host, strlen(host), 0, &r);
    tenreg_read_unlock();
    return rc;
}

TT_TEST(finish, status, lazy_rows)
{
    struct {
        int factory, ans;
        const char *fsaid, *vsaid;
        int rc;
        tenreg_health to;
        tenreg_verdict v;
        unsigned built;
        const char *reason;
    } rows[] = {
        {0, 1, NULL, NULL, TENREG_OK, TENREG_HEALTHY, TENREG_VALID, 1, ""},
        {-1, 1, "db down", NULL, TENREG_EFACTORY, TENREG_DISABLED, TENREG_BUILD_FAILED, 0,
         "db down"},
        {0, 0, NULL, "bad url", TENREG_EVALIDATOR, TENREG_DISABLED, TENREG_INVALID, 0, "bad url"},
        {0, -1, "factory note", "timeout", TENREG_EVALIDATOR, TENREG_DISABLED,
         TENREG_CHECK_FAILED, 0, "timeout"},
        {0, -1, "factory only", NULL, TENREG_EVALIDATOR, TENREG_DISABLED, TENREG_CHECK_FAILED, 0,
         "factory only"},
    };
    for (unsigned flags = 0; flags <= TENREG_CFG_TRANSIENT_FAILURES; flags++) {
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
            make(flags);
            atomic_store(&factory_rc, rows[i].factory);
            atomic_store(&answer, rows[i].ans);
            factory_said = rows[i].fsaid;
            said = rows[i].vsaid;
            cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", lazy_factory, NULL, 0),
                         TENREG_OK);
            tenreg_status st = status("l");
            cr_assert_eq(st.lazy, 1);
            cr_assert_eq(st.built, 0);
            cr_assert_eq(st.verdict, TENREG_UNCHECKED);
            cr_assert_eq(build("l.example"), rows[i].rc, "row %zu", i);
            st = status("l");
            cr_log_info("lazy flags %u: factory %2d answer %2d -> %-9s %-12s built %u reason '%s'",
                        flags, rows[i].factory, rows[i].ans, tenreg_health_name(st.health),
                        verdict_name(st.verdict), st.built, st.reason);
            cr_expect_eq(st.health, rows[i].to, "row %zu", i);
            cr_expect_eq(st.verdict, rows[i].v, "row %zu: %s", i, verdict_name(st.verdict));
            cr_expect_eq(st.built, rows[i].built, "row %zu", i);
            cr_expect_eq(st.failures, rows[i].rc == TENREG_OK ? 0u : 1u, "row %zu", i);
            cr_expect_str_eq(st.reason, rows[i].reason, "row %zu", i);
            cr_expect_gt(st.checked_at_ns, 0);
        }
    }
    factory_said = NULL;
    said = NULL;
}

/* A recheck of an unbuilt lazy tenant validates without building. */
TT_TEST(finish, status, recheck_of_unbuilt_lazy_tenant)
{
    atomic_store(&factory_rc, 0);
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", lazy_factory, NULL, 0), TENREG_OK);
    said = "soft";
    atomic_store(&answer, 0);
    cr_assert_eq(tenreg_recheck(reg, "l"), TENREG_EVALIDATOR);
    tenreg_status st = status("l");
    cr_assert_eq(st.built, 0);
    cr_assert_eq(st.verdict, TENREG_INVALID);
    cr_assert_str_eq(st.reason, "soft");
    said = NULL;
    atomic_store(&answer, 1);
    cr_assert_eq(tenreg_recheck(reg, "l"), TENREG_OK);
    st = status("l");
    cr_assert_str_eq(st.reason, "", "a valid check clears the reason");
    cr_assert_eq(st.failures, 0);
}

/* ---- tenreg_set_reason: a copy, cut, cleaned ------------------------------ */

static char caller_buf[512];
static int buffer_validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    (void)ctx;
    (void)tenant_id;
    (void)agent_url;
    tenreg_set_reason(caller_buf);
    memset(caller_buf, 'Z', 16); /* the registry must have copied it */
    return 0;
}

TT_TEST(finish, status, reason_is_copied_cut_and_cleaned)
{
    tenreg_free(reg);
    tenreg_config cfg = {.validator = buffer_validator,
                         .platform_free = tt_count_free, .platform_free_ctx = &frees};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    cr_assert_eq(tenreg_register(reg, "t", "t.example", tt_platform_new("t", ""), 0), TENREG_OK);

    snprintf(caller_buf, sizeof(caller_buf), "line1\nline2\ttab\x7f" "end\x01");
    cr_assert_eq(tenreg_recheck(reg, "t"), TENREG_EVALIDATOR);
    cr_assert_str_eq(status("t").reason, "line1?line2?tab?end?");

    /* 200 bytes: cut at 127 */
    memset(caller_buf, 'a', 200);
    caller_buf[200] = '\0';
    cr_assert_eq(tenreg_recheck(reg, "t"), TENREG_EVALIDATOR);
    tenreg_status st = status("t");
    cr_assert_eq(strlen(st.reason), TENREG_REASON_MAX);
    cr_assert_eq(st.reason[0], 'a', "copied before the caller overwrote it");

    /* a 2-byte UTF-8 sequence straddling byte 127 is dropped whole */
    memset(caller_buf, 'b', 126);
    memcpy(caller_buf + 126, "\xc3\xa9" "tail", 7);
    cr_assert_eq(tenreg_recheck(reg, "t"), TENREG_EVALIDATOR);
    st = status("t");
    cr_assert_eq(strlen(st.reason), 126, "cut before the sequence, not inside it");
    /* and one that fits is kept */
    memset(caller_buf, 'b', 125);
    memcpy(caller_buf + 125, "\xc3\xa9", 3);
    cr_assert_eq(tenreg_recheck(reg, "t"), TENREG_EVALIDATOR);
    cr_assert_str_eq(status("t").reason + 125, "\xc3\xa9");
}

TT_TEST(finish, status, set_reason_outside_a_callback_does_nothing)
{
    tenreg_set_reason("stray");
    tenreg_set_reason(NULL);
    cr_assert_eq(tenreg_register(reg, "t", "t.example", tt_platform_new("t", ""), 0), TENREG_OK);
    atomic_store(&answer, 0);
    cr_assert_eq(tenreg_recheck(reg, "t"), TENREG_EVALIDATOR);
    cr_assert_str_eq(status("t").reason, "", "a stray reason is not picked up later");
}

/* ---- counters -------------------------------------------------------------- */

static void expect_stats(size_t tenants, size_t hosts, size_t patterns, const size_t health[4],
                         size_t unbuilt, uint64_t checks, uint64_t failed, uint64_t builds,
                         uint64_t builds_failed)
{
    tenreg_stats s;
    cr_assert_eq(tenreg_stats_of(reg, &s), TENREG_OK);
    cr_expect_eq(s.tenants, tenants, "tenants %zu", s.tenants);
    cr_expect_eq(s.hosts, hosts, "hosts %zu", s.hosts);
    cr_expect_eq(s.patterns, patterns, "patterns %zu", s.patterns);
    for (int h = 0; h < 4; h++)
        cr_expect_eq(s.health[h], health[h], "health[%s] %zu, expected %zu",
                     tenreg_health_name((tenreg_health)h), s.health[h], health[h]);
    cr_expect_eq(s.lazy_unbuilt, unbuilt, "lazy_unbuilt %zu", s.lazy_unbuilt);
    cr_expect_eq(s.checks, checks, "checks %llu", (unsigned long long)s.checks);
    cr_expect_eq(s.checks_failed, failed, "checks_failed %llu",
                 (unsigned long long)s.checks_failed);
    cr_expect_eq(s.builds, builds);
    cr_expect_eq(s.builds_failed, builds_failed);
    cr_expect_gt(s.bytes, 0);
}

TT_TEST(finish, status, stats_are_exact_after_each_call)
{
    expect_stats(0, 0, 0, (size_t[4]){0, 0, 0, 0}, 0, 0, 0, 0, 0);
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    cr_assert_eq(tenreg_register(reg, "b", "b.example", tt_platform_new("b", ""), 0), TENREG_OK);
    atomic_store(&factory_rc, 0);
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", lazy_factory, NULL, 0), TENREG_OK);
    expect_stats(3, 3, 0, (size_t[4]){3, 0, 0, 0}, 1, 0, 0, 0, 0);
    cr_assert_eq(tenreg_add_host(reg, "a", "a2.example"), TENREG_OK);
    cr_assert_eq(tenreg_add_host(reg, "a", "*.a.example"), TENREG_OK);
    expect_stats(3, 4, 1, (size_t[4]){3, 0, 0, 0}, 1, 0, 0, 0, 0);
    cr_assert_eq(tenreg_recheck(reg, "a"), TENREG_OK);
    atomic_store(&answer, 0);
    cr_assert_eq(tenreg_recheck(reg, "b"), TENREG_EVALIDATOR);
    expect_stats(3, 4, 1, (size_t[4]){1, 1, 0, 1}, 1, 2, 1, 0, 0);
    cr_assert_eq(tenreg_recheck(reg, "a"), TENREG_EVALIDATOR);
    expect_stats(3, 4, 1, (size_t[4]){1, 0, 1, 1}, 1, 3, 2, 0, 0);
    atomic_store(&answer, 1);
    cr_assert_eq(build("l.example"), TENREG_OK);
    expect_stats(3, 4, 1, (size_t[4]){0, 1, 1, 1}, 0, 4, 2, 1, 0);
    /* re-registration: the old registration's counts go, its hosts too */
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", "2"), 0), TENREG_OK);
    expect_stats(3, 3, 0, (size_t[4]){1, 1, 0, 1}, 0, 4, 2, 1, 0);
    cr_assert_eq(tenreg_unregister(reg, "l"), TENREG_OK);
    cr_assert_eq(tenreg_unregister(reg, "b"), TENREG_OK);
    expect_stats(1, 1, 0, (size_t[4]){1, 0, 0, 0}, 0, 4, 2, 1, 0);
    atomic_store(&factory_rc, -1);
    cr_assert_eq(tenreg_register_lazy(reg, "f", "f.example", lazy_factory, NULL, 0), TENREG_OK);
    cr_assert_eq(build("f.example"), TENREG_EFACTORY);
    expect_stats(2, 2, 0, (size_t[4]){1, 0, 0, 1}, 1, 4, 2, 2, 1);
    cr_assert_eq(tenreg_stats_of(NULL, &(tenreg_stats){0}), TENREG_EINVAL);
    cr_assert_eq(tenreg_stats_of(reg, NULL), TENREG_EINVAL);
    tenreg_stats s;
    cr_assert_eq(tenreg_stats_of(reg, &s), TENREG_OK);
    cr_assert_gt(s.deferred, 0, "retired records wait for a grace period");
}
