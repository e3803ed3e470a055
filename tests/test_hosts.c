/*
 * Several hosts per tenant and wildcard patterns (docs/design.md §8.1):
 * matching precedence as tables (exact vs pattern, nested patterns,
 * trailing dots, case, ports, IPv6), the bad-pattern table, collisions and
 * idempotence, the per-tenant limit, what re-registration and unregister
 * do with extra hosts, that an extra host answers exactly what the
 * tenant's own host does (health, platform, EPENDING, a lazy build), and
 * that every platform is freed exactly once.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

static tenreg_t *reg;
static struct tt_free_counter frees;
static int verdict = 1;

static void setup(void)
{
    tt_thread_init();
    verdict = 1;
    tenreg_config cfg = {.validator = tt_validator_verdict, .validator_ctx = &verdict,
                         .platform_free = tt_count_free, .platform_free_ctx = &frees};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
}

/* In the test body (TT_TEST): every platform the registry took is freed
 * exactly once by tenreg_free, none twice. */
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

TestSuite(hosts, .init = setup, .fini = teardown, .timeout = 60);

static void reg_eager(const char *id, const char *url)
{
    cr_assert_eq(tenreg_register(reg, id, url, tt_platform_new(id, url), 0), TENREG_OK,
                 "register %s %s", id, url);
}

static void add(const char *id, const char *host)
{
    int rc = tenreg_add_host(reg, id, host);
    cr_assert_eq(rc, TENREG_OK, "add_host(%s, %s) = %s", id, host, tenreg_err_name(rc));
}

/* Resolves @host; returns the code and copies the tenant id and what
 * matched ("-" for none) into the caller's buffers. */
static int lookup(const char *host, char *id, char *matched)
{
    tenreg_resolution r;
    memset(&r, 0x5a, sizeof(r));
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(reg, host, strlen(host), &r);
    snprintf(id, 64, "%s", rc == TENREG_OK || rc == TENREG_EPENDING ? r.tenant_id : "-");
    snprintf(matched, 300, "%s", rc == TENREG_OK || rc == TENREG_EPENDING ? r.matched : "-");
    if (rc == TENREG_ENOENT || rc == TENREG_EINVAL) {
        cr_assert_null(r.matched, "%s: no answer, no matched", host);
        cr_assert_null(r.platform);
    }
    tenreg_read_unlock();
    return rc;
}

struct row {
    const char *host;     /* Host value looked up */
    int rc;
    const char *id;       /* "-": none */
    const char *matched;  /* "-": none */
};

static void check_rows(const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char id[64], matched[300];
        int rc = lookup(rows[i].host, id, matched);
        cr_log_info("%-32s %-16s %-8s %s", rows[i].host, tenreg_err_name(rc), id, matched);
        cr_expect_eq(rc, rows[i].rc, "%s: %s, expected %s", rows[i].host, tenreg_err_name(rc),
                     tenreg_err_name(rows[i].rc));
        cr_expect_str_eq(id, rows[i].id, "%s: tenant", rows[i].host);
        cr_expect_str_eq(matched, rows[i].matched, "%s: matched", rows[i].host);
    }
}
#define CHECK_ROWS(rows_) check_rows(rows_, sizeof(rows_) / sizeof(rows_[0]))

TT_TEST(finish, hosts, precedence_table)
{
    reg_eager("acme", "https://acme.example/rtb");
    add("acme", "*.acme.example");
    add("acme", "bid.acme-media.example");
    reg_eager("deep", "deep.example");
    add("deep", "*.b.acme.example");           /* nested under acme's pattern */
    reg_eager("exact", "x.b.acme.example");    /* an exact key under both patterns */
    reg_eager("v6", "[2001:db8::1]");
    add("v6", "*.example");                    /* one label: catches the rest */
    add("v6", "*.0.0.1");                      /* would match ::ffff:10.0.0.1 as text */

    static const struct row rows[] = {
        /* exact keys win over every pattern */
        {"acme.example", TENREG_OK, "acme", "acme.example"},
        {"x.b.acme.example", TENREG_OK, "exact", "x.b.acme.example"},
        {"bid.acme-media.example", TENREG_OK, "acme", "bid.acme-media.example"},
        /* longest matching suffix */
        {"a.acme.example", TENREG_OK, "acme", "*.acme.example"},
        {"a.b.c.acme.example", TENREG_OK, "acme", "*.acme.example"},
        {"b.acme.example", TENREG_OK, "acme", "*.acme.example"},     /* *.b.a needs one more label */
        {"y.b.acme.example", TENREG_OK, "deep", "*.b.acme.example"},
        {"z.y.b.acme.example", TENREG_OK, "deep", "*.b.acme.example"},
        {"deep.example", TENREG_OK, "deep", "deep.example"},
        {"other.example", TENREG_OK, "v6", "*.example"},
        {"q.acme-media.example", TENREG_OK, "v6", "*.example"},
        /* "*.s" needs at least one more label: s itself does not match */
        {"example", TENREG_ENOENT, "-", "-"},
        {"acme.example.org", TENREG_ENOENT, "-", "-"},
        {"xacme.example", TENREG_OK, "v6", "*.example"},             /* not a label boundary */
        /* trailing dots, case, ports, URLs: normalized first (§4) */
        {"A.ACME.Example.", TENREG_OK, "acme", "*.acme.example"},
        {"a.acme.example:8080", TENREG_OK, "acme", "*.acme.example"},
        {"https://Y.B.acme.example:443/path?q", TENREG_OK, "deep", "*.b.acme.example"},
        {"ACME.EXAMPLE.", TENREG_OK, "acme", "acme.example"},
        {"a..acme.example", TENREG_EINVAL, "-", "-"},
        {"a.acme.example:99999", TENREG_EINVAL, "-", "-"},
        /* IPv6 keys: exact only, never a pattern */
        {"[2001:db8::1]:443", TENREG_OK, "v6", "2001:db8::1"},
        {"[2001:db8::2]", TENREG_ENOENT, "-", "-"},
        {"[::ffff:1.2.example]", TENREG_EINVAL, "-", "-"},
        {"[::ffff:10.0.0.1]", TENREG_ENOENT, "-", "-"},
        {"10.0.0.1", TENREG_OK, "v6", "*.0.0.1"},                  /* the IPv4 text does */
    };
    CHECK_ROWS(rows);
}

TT_TEST(finish, hosts, removing_a_pattern_falls_through_to_the_next_rule)
{
    reg_eager("acme", "acme.example");
    add("acme", "*.acme.example");
    reg_eager("deep", "deep.example");
    add("deep", "*.b.acme.example");
    add("deep", "c.acme.example");
    char id[64], m[300];
    cr_assert_eq(lookup("x.b.acme.example", id, m), TENREG_OK);
    cr_assert_str_eq(id, "deep");
    cr_assert_eq(tenreg_remove_host(reg, "deep", "*.B.acme.example."), TENREG_OK);
    cr_assert_eq(lookup("x.b.acme.example", id, m), TENREG_OK);
    cr_assert_str_eq(id, "acme");
    cr_assert_str_eq(m, "*.acme.example");
    cr_assert_eq(lookup("c.acme.example", id, m), TENREG_OK);
    cr_assert_str_eq(id, "deep", "the exact host still wins");
    cr_assert_eq(tenreg_remove_host(reg, "deep", "https://c.acme.example/x"), TENREG_OK);
    cr_assert_eq(lookup("c.acme.example", id, m), TENREG_OK);
    cr_assert_str_eq(id, "acme");
    cr_assert_eq(tenreg_remove_host(reg, "acme", "*.acme.example"), TENREG_OK);
    cr_assert_eq(lookup("c.acme.example", id, m), TENREG_ENOENT);
    cr_assert_eq(lookup("x.b.acme.example", id, m), TENREG_ENOENT);
}

TT_TEST(finish, hosts, bad_patterns_and_hosts_are_einval)
{
    reg_eager("acme", "acme.example");
    static const char *const bad[] = {
        "*", "**.a", "a.*.b", "*a.b", "*.", "*..", "*.a..b", "*.-", /* "*.-": see below */
        "*.acme.example:8080", "*.acme.example:", "http://*.acme.example", "*.acme.example/x",
        "*.user@acme.example", "*.[::1]", "*.[2001:db8::1]", "*.::1", "*.a b", "*.a\tb",
        "*.*.example", "*.ex*ample", ".*.example", "*.acme.example..", "", " ", "a b.example",
        "*.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", /* 64-byte label */
    };
    char id[64], m[300];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (strcmp(bad[i], "*.-") == 0)
            continue; /* "-" is a valid §4 label: checked as a good row below */
        int rc = tenreg_add_host(reg, "acme", bad[i]);
        cr_expect_eq(rc, TENREG_EINVAL, "add_host(\"%s\") = %s", bad[i], tenreg_err_name(rc));
        rc = tenreg_remove_host(reg, "acme", bad[i]);
        cr_expect_eq(rc, TENREG_EINVAL, "remove_host(\"%s\") = %s", bad[i], tenreg_err_name(rc));
    }
    cr_assert_eq(tenreg_add_host(reg, "acme", NULL), TENREG_EINVAL);
    cr_assert_eq(tenreg_add_host(reg, NULL, "b.example"), TENREG_EINVAL);
    cr_assert_eq(tenreg_add_host(reg, "", "b.example"), TENREG_EINVAL);
    cr_assert_eq(tenreg_add_host(NULL, "acme", "b.example"), TENREG_EINVAL);
    cr_assert_eq(tenreg_remove_host(NULL, "acme", "b.example"), TENREG_EINVAL);
    /* nothing of the refused calls was recorded */
    cr_assert_eq(lookup("a.acme.example", id, m), TENREG_ENOENT);
    /* the good spellings: folded and lower-cased */
    add("acme", "*.A.Example.");
    add("acme", "*.-");
    add("acme", "*.x_y.example");
    cr_assert_eq(lookup("q.a.example", id, m), TENREG_OK);
    cr_assert_str_eq(m, "*.a.example");
    cr_assert_eq(lookup("q.-", id, m), TENREG_OK);
    cr_assert_str_eq(m, "*.-");
}

TT_TEST(finish, hosts, collisions_and_idempotence)
{
    reg_eager("a", "a.example");
    reg_eager("b", "b.example");
    struct {
        const char *id, *host;
        int rc;
    } rows[] = {
        {"a", "extra.example", TENREG_OK},
        {"a", "EXTRA.example.", TENREG_OK},            /* idempotent for the owner */
        {"a", "https://extra.example:8443/x", TENREG_OK},
        {"b", "extra.example", TENREG_EEXIST},         /* another tenant's extra host */
        {"b", "a.example", TENREG_EEXIST},             /* another tenant's own host */
        {"a", "a.example", TENREG_OK},                 /* its own host: already held */
        {"a", "*.p.example", TENREG_OK},
        {"a", "*.P.example", TENREG_OK},
        {"b", "*.p.example", TENREG_EEXIST},           /* the same pattern */
        {"b", "q.p.example", TENREG_OK},               /* an exact host under a's pattern */
        {"b", "*.q.p.example", TENREG_OK},             /* a longer pattern under it */
        {"b", "p.example", TENREG_OK},                 /* the pattern's own name: not covered */
        {"zz", "z.example", TENREG_ENOENT},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int rc = tenreg_add_host(reg, rows[i].id, rows[i].host);
        cr_expect_eq(rc, rows[i].rc, "add_host(%s, %s) = %s", rows[i].id, rows[i].host,
                     tenreg_err_name(rc));
    }
    /* registration collides with extra hosts, not with patterns */
    struct tt_platform *p = tt_platform_new("c", "");
    cr_assert_eq(tenreg_register(reg, "c", "extra.example", p, 0), TENREG_EEXIST);
    tt_platform_keep(p);
    reg_eager("c", "r.p.example");
    char id[64], m[300];
    cr_assert_eq(lookup("r.p.example", id, m), TENREG_OK);
    cr_assert_str_eq(id, "c");
    cr_assert_eq(lookup("s.p.example", id, m), TENREG_OK);
    cr_assert_str_eq(id, "a");
    cr_assert_eq(lookup("q.p.example", id, m), TENREG_OK);
    cr_assert_str_eq(id, "b");
    cr_assert_eq(lookup("x.q.p.example", id, m), TENREG_OK);
    cr_assert_str_eq(id, "b");
    /* removal: only what the tenant holds */
    cr_assert_eq(tenreg_remove_host(reg, "b", "extra.example"), TENREG_ENOENT);
    cr_assert_eq(tenreg_remove_host(reg, "b", "*.p.example"), TENREG_ENOENT);
    cr_assert_eq(tenreg_remove_host(reg, "b", "never.example"), TENREG_ENOENT);
    cr_assert_eq(tenreg_remove_host(reg, "a", "a.example"), TENREG_EINVAL, "its own host");
    cr_assert_eq(tenreg_remove_host(reg, "zz", "a.example"), TENREG_ENOENT);
    cr_assert_eq(tenreg_remove_host(reg, "a", "extra.example"), TENREG_OK);
    cr_assert_eq(tenreg_remove_host(reg, "a", "extra.example"), TENREG_ENOENT, "gone");
    cr_assert_eq(lookup("extra.example", id, m), TENREG_ENOENT);
    cr_assert_eq(tenreg_add_host(reg, "b", "extra.example"), TENREG_OK, "free again");
}

static int collect(void *ctx, const char *host)
{
    char *buf = ctx;
    strcat(buf, host);
    strcat(buf, " ");
    return 0;
}

static int stop_at_second(void *ctx, const char *host)
{
    (void)host;
    return ++*(int *)ctx == 2 ? 42 : 0;
}

TT_TEST(finish, hosts, foreach_host_lists_in_order_and_stops)
{
    reg_eager("a", "https://a.example/x");
    add("a", "b.example");
    add("a", "*.c.example");
    add("a", "d.example");
    cr_assert_eq(tenreg_remove_host(reg, "a", "b.example"), TENREG_OK);
    add("a", "b.example");
    char buf[256] = "";
    cr_assert_eq(tenreg_foreach_host(reg, "a", collect, buf), 0);
    cr_assert_str_eq(buf, "a.example *.c.example d.example b.example ");
    int n = 0;
    cr_assert_eq(tenreg_foreach_host(reg, "a", stop_at_second, &n), 42);
    cr_assert_eq(n, 2);
    cr_assert_eq(tenreg_foreach_host(reg, "nobody", collect, buf), TENREG_ENOENT);
    cr_assert_eq(tenreg_foreach_host(reg, "a", NULL, buf), TENREG_EINVAL);
    cr_assert_eq(tenreg_foreach_host(NULL, "a", collect, buf), TENREG_EINVAL);
    cr_assert_eq(tenreg_foreach_host(reg, NULL, collect, buf), TENREG_EINVAL);
}

/* A callback that changes the tenant's hosts while the iteration runs:
 * the snapshot is what the call began with. */
static int add_while_iterating(void *ctx, const char *host)
{
    (void)host;
    int *n = ctx;
    char h[64];
    snprintf(h, sizeof(h), "added%d.example", (*n)++);
    cr_assert_eq(tenreg_add_host(reg, "a", h), TENREG_OK);
    return 0;
}

TT_TEST(finish, hosts, foreach_host_works_on_a_snapshot)
{
    reg_eager("a", "a.example");
    add("a", "b.example");
    int n = 0;
    cr_assert_eq(tenreg_foreach_host(reg, "a", add_while_iterating, &n), 0);
    cr_assert_eq(n, 2, "the two hosts of the snapshot, not the ones added meanwhile");
    char buf[256] = "";
    cr_assert_eq(tenreg_foreach_host(reg, "a", collect, buf), 0);
    cr_assert_str_eq(buf, "a.example b.example added0.example added1.example ");
}

TT_TEST(finish, hosts, per_tenant_limit_is_enospc)
{
    reg_eager("a", "a.example");
    reg_eager("b", "b.example");
    char h[64];
    for (int i = 1; i < TENREG_HOSTS_MAX; i++) {
        snprintf(h, sizeof(h), i % 2 ? "h%d.example" : "*.p%d.example", i);
        add("a", h);
    }
    cr_assert_eq(tenreg_add_host(reg, "a", "one-more.example"), TENREG_ENOSPC);
    cr_assert_eq(tenreg_add_host(reg, "a", "*.one-more.example"), TENREG_ENOSPC);
    cr_assert_eq(tenreg_add_host(reg, "a", "h1.example"), TENREG_OK, "held: still idempotent");
    cr_assert_eq(tenreg_add_host(reg, "b", "one-more.example"), TENREG_OK, "per tenant");
    char id[64], m[300];
    cr_assert_eq(lookup("one-more.example", id, m), TENREG_OK);
    cr_assert_str_eq(id, "b");
    cr_assert_eq(lookup("h63.example", id, m), TENREG_OK);
    cr_assert_str_eq(id, "a");
    cr_assert_eq(lookup("x.p62.example", id, m), TENREG_OK);
    cr_assert_str_eq(m, "*.p62.example");
    cr_assert_eq(tenreg_remove_host(reg, "a", "h1.example"), TENREG_OK);
    add("a", "one-more-a.example");
    int n = -1000; /* stop_at_second never reaches 2 */
    cr_assert_eq(tenreg_foreach_host(reg, "a", stop_at_second, &n), 0);
    cr_assert_eq(n + 1000, TENREG_HOSTS_MAX, "the agent URL's host counts toward the limit");
}

TT_TEST(finish, hosts, reregistration_keeps_only_the_agent_url_host)
{
    reg_eager("a", "a.example");
    add("a", "b.example");
    add("a", "*.w.example");
    reg_eager("other", "o.example");
    /* re-register onto one of its own extra hosts: allowed, the rest goes */
    reg_eager("a", "b.example");
    char id[64], m[300], buf[256] = "";
    cr_assert_eq(lookup("b.example", id, m), TENREG_OK);
    cr_assert_str_eq(id, "a");
    cr_assert_str_eq(m, "b.example");
    cr_assert_eq(lookup("a.example", id, m), TENREG_ENOENT);
    cr_assert_eq(lookup("x.w.example", id, m), TENREG_ENOENT);
    cr_assert_eq(tenreg_foreach_host(reg, "a", collect, buf), 0);
    cr_assert_str_eq(buf, "b.example ");
    /* the dropped hosts are free for another tenant */
    cr_assert_eq(tenreg_add_host(reg, "other", "*.w.example"), TENREG_OK);
    cr_assert_eq(tenreg_add_host(reg, "other", "a.example"), TENREG_OK);
    /* lazy re-registration drops them too */
    add("a", "c.example");
    cr_assert_eq(tenreg_register_lazy(reg, "a", "b.example", NULL, NULL, 0), TENREG_EINVAL);
    cr_assert_eq(lookup("c.example", id, m), TENREG_OK, "a refused call changes nothing");
    cr_assert_eq(tenreg_unregister(reg, "other"), TENREG_OK);
    cr_assert_eq(lookup("x.w.example", id, m), TENREG_ENOENT, "unregister drops patterns");
    cr_assert_eq(lookup("a.example", id, m), TENREG_ENOENT, "unregister drops extra hosts");
    cr_assert_eq(tenreg_add_host(reg, "other", "z.example"), TENREG_ENOENT);
    cr_assert_eq(tenreg_unregister(reg, "a"), TENREG_OK);
    cr_assert_eq(lookup("c.example", id, m), TENREG_ENOENT);
    cr_assert_eq(lookup("b.example", id, m), TENREG_ENOENT);
}

/* ---- every host answers what the tenant's own host answers ------------- */

static _Atomic int builds;
static int lazy_factory(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    atomic_fetch_add(&builds, 1);
    *platform = tt_platform_new(tenant_id, "built");
    return 0;
}

static int failing_factory(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    (void)tenant_id;
    (void)platform;
    atomic_fetch_add(&builds, 1);
    return -1;
}

/* The answer (code, id, health, platform) for @host, or by id when @host
 * is NULL. */
struct answer {
    int rc;
    char id[64];
    tenreg_health health;
    void *platform;
};

static struct answer ask(const char *host, unsigned flags, bool build)
{
    struct answer a = {0};
    tenreg_resolution r;
    tenreg_read_lock();
    a.rc = !build ? tenreg_resolve_by_host(reg, host, strlen(host), &r)
                  : tenreg_resolve(reg, host, strlen(host), flags, &r);
    if (a.rc != TENREG_ENOENT && a.rc != TENREG_EINVAL) {
        snprintf(a.id, sizeof(a.id), "%s", r.tenant_id);
        a.health = r.health;
    }
    a.platform = r.platform;
    tenreg_read_unlock();
    return a;
}

/* Every host of @hosts answers what the first does, by
 * tenreg_resolve_by_host and (unless @by_host_only: it would start a lazy
 * build) by tenreg_resolve with NOWAIT. */
static void same_answers_of(const char *const *hosts, size_t n, const char *what,
                            bool by_host_only)
{
    for (int build = 0; build < (by_host_only ? 1 : 2); build++) {
        struct answer a0 = ask(hosts[0], TENREG_NOWAIT, build);
        for (size_t i = 1; i < n; i++) {
            struct answer a = ask(hosts[i], TENREG_NOWAIT, build);
            cr_assert_eq(a.rc, a0.rc, "%s: %s answers %s, %s answers %s", what, hosts[i],
                         tenreg_err_name(a.rc), hosts[0], tenreg_err_name(a0.rc));
            cr_assert_str_eq(a.id, a0.id, "%s: %s", what, hosts[i]);
            cr_assert_eq(a.health, a0.health, "%s: %s", what, hosts[i]);
            cr_assert_eq(a.platform, a0.platform, "%s: %s", what, hosts[i]);
        }
    }
}
#define same_answers(hosts_, n_, what_) same_answers_of(hosts_, n_, what_, false)

TT_TEST(finish, hosts, every_host_answers_as_the_tenants_own)
{
    static const char *const hosts[] = {"e.example", "e2.example", "x.e.example"};
    reg_eager("e", "e.example");
    add("e", "e2.example");
    add("e", "*.e.example");
    same_answers(hosts, 3, "pending");
    cr_assert_eq(tenreg_recheck(reg, "e"), TENREG_OK);
    same_answers(hosts, 3, "healthy");
    cr_assert_eq(ask("e2.example", 0, false).health, TENREG_HEALTHY);
    verdict = 0;
    cr_assert_eq(tenreg_recheck(reg, "e"), TENREG_EVALIDATOR);
    same_answers(hosts, 3, "unverified");
    cr_assert_eq(ask("x.e.example", 0, false).health, TENREG_UNVERIFIED);
    /* re-registration with a new platform: the remaining host follows */
    struct tt_platform *p2 = tt_platform_new("e", "2");
    cr_assert_eq(tenreg_register(reg, "e", "e.example", p2, 0), TENREG_OK);
    add("e", "e2.example");
    static const char *const two[] = {"e.example", "e2.example"};
    same_answers(two, 2, "re-registered");
    cr_assert_eq(ask("e2.example", 0, false).platform, p2);
}

TT_TEST(finish, hosts, lazy_tenant_builds_once_through_any_host)
{
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", lazy_factory, NULL, 0), TENREG_OK);
    add("l", "l2.example");
    add("l", "*.l.example");
    static const char *const hosts[] = {"l.example", "l2.example", "a.b.l.example"};
    cr_assert_eq(ask("a.l.example", 0, false).rc, TENREG_EPENDING);
    same_answers_of(hosts, 3, "unbuilt", true);
    /* The first tenreg_resolve through the pattern builds it, once. */
    struct answer a = ask("q.l.example", 0, true);
    cr_assert_eq(a.rc, TENREG_OK, "%s", tenreg_err_name(a.rc));
    cr_assert_str_eq(((struct tt_platform *)a.platform)->tenant_id, "l");
    same_answers(hosts, 3, "built");
    cr_assert_eq(ask("l2.example", 0, true).rc, TENREG_OK);
    cr_assert_eq(atomic_load(&builds), 1, "one factory call for every host");
    /* by id: matched is NULL */
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_id(reg, "l", 0, &r), TENREG_OK);
    cr_assert_null(r.matched);
    cr_assert_eq(tenreg_resolve(reg, "z.l.example", 11, 0, &r), TENREG_OK);
    cr_assert_str_eq(r.matched, "*.l.example");
    tenreg_read_unlock();
}

TT_TEST(finish, hosts, failed_lazy_build_is_disabled_through_any_host)
{
    cr_assert_eq(tenreg_register_lazy(reg, "f", "f.example", failing_factory, NULL, 0),
                 TENREG_OK);
    add("f", "*.f.example");
    add("f", "f2.example");
    cr_assert_eq(ask("x.f.example", 0, true).rc, TENREG_EFACTORY);
    static const char *const hosts[] = {"f.example", "f2.example", "x.f.example"};
    same_answers(hosts, 3, "failed build");
    struct answer a = ask("f2.example", 0, true);
    cr_assert_eq(a.rc, TENREG_EDISABLED);
    cr_assert_eq(a.health, TENREG_DISABLED);
    cr_assert_eq(atomic_load(&builds), 1);
}

TT_TEST(finish, hosts, hosts_keep_health_platform_and_lazy_state)
{
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", lazy_factory, NULL, 0), TENREG_OK);
    cr_assert_eq(ask("l.example", 0, true).rc, TENREG_OK);
    cr_assert_eq(tenreg_recheck(reg, "l"), TENREG_OK);
    struct answer before = ask("l.example", 0, false);
    add("l", "l2.example");
    add("l", "*.l2.example");
    cr_assert_eq(tenreg_remove_host(reg, "l", "*.l2.example"), TENREG_OK);
    struct answer after = ask("l.example", 0, false);
    cr_assert_eq(after.rc, TENREG_OK);
    cr_assert_eq(after.health, TENREG_HEALTHY);
    cr_assert_eq(after.platform, before.platform, "no rebuild, same platform");
    cr_assert_eq(atomic_load(&builds), 1);
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, "l", &h), TENREG_OK);
    cr_assert_eq(h, TENREG_HEALTHY);
}

TT_TEST(finish, hosts, many_patterns_and_hosts_across_tenants)
{
    /* 300 tenants, each with two extra hosts and a pattern: the tables
     * grow through all of them and every answer stays right. */
    char id[64], h[96], m[300], got[64];
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof(id), "t%d", i);
        snprintf(h, sizeof(h), "t%d.example", i);
        reg_eager(id, h);
        snprintf(h, sizeof(h), "alt%d.example", i);
        add(id, h);
        snprintf(h, sizeof(h), "alt%d.example.net", i);
        add(id, h);
        snprintf(h, sizeof(h), "*.t%d.example", i);
        add(id, h);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof(id), "t%d", i);
        snprintf(h, sizeof(h), "alt%d.example.net", i);
        cr_assert_eq(lookup(h, got, m), TENREG_OK);
        cr_assert_str_eq(got, id);
        snprintf(h, sizeof(h), "a.b.t%d.example", i);
        cr_assert_eq(lookup(h, got, m), TENREG_OK);
        cr_assert_str_eq(got, id);
        snprintf(h, sizeof(h), "*.t%d.example", i);
        cr_assert_str_eq(m, h);
    }
    cr_assert_eq(lookup("a.b.t300.example", got, m), TENREG_ENOENT);
    for (int i = 0; i < 300; i += 2) {
        snprintf(id, sizeof(id), "t%d", i);
        cr_assert_eq(tenreg_unregister(reg, id), TENREG_OK);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(h, sizeof(h), "x.t%d.example", i);
        cr_assert_eq(lookup(h, got, m), i % 2 ? TENREG_OK : TENREG_ENOENT, "%s", h);
        snprintf(h, sizeof(h), "alt%d.example", i);
        cr_assert_eq(lookup(h, got, m), i % 2 ? TENREG_OK : TENREG_ENOENT, "%s", h);
    }
}
