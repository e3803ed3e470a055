/*
 * tenreg_resolve_many (docs/design.md §8.6): every rc[i] and out[i] is what
 * tenreg_resolve_by_host(q[i]) gives, for hits by agent-URL host, extra
 * host and pattern, misses, lazy tenants (EPENDING) and failed builds
 * (EDISABLED), invalid and NULL hosts, URLs, ports and case, in batches of
 * every size around the group size; and the argument checks.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

static tenreg_t *reg;
static struct tt_free_counter frees;

static int failing_factory(void *ctx, const char *id, void **platform)
{
    (void)ctx;
    (void)id;
    (void)platform;
    return -1;
}

static void setup(void)
{
    tt_thread_init();
    tenreg_config cfg = {.platform_free = tt_count_free, .platform_free_ctx = &frees};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    char id[32], h[64];
    for (int i = 0; i < 400; i++) {
        snprintf(id, sizeof(id), "t%d", i);
        snprintf(h, sizeof(h), "t%d.example", i);
        if (i % 10 == 7) {
            cr_assert_eq(tenreg_register_lazy(reg, id, h, failing_factory, NULL, 0), TENREG_OK);
        } else {
            cr_assert_eq(tenreg_register(reg, id, h, tt_platform_new(id, h), 0), TENREG_OK);
        }
        if (i % 3 == 0) {
            snprintf(h, sizeof(h), "alt%d.example.net", i);
            cr_assert_eq(tenreg_add_host(reg, id, h), TENREG_OK);
        }
        if (i % 5 == 0) {
            snprintf(h, sizeof(h), "*.t%d.example", i);
            cr_assert_eq(tenreg_add_host(reg, id, h), TENREG_OK);
        }
    }
    /* t17, t27, ...: failed lazy builds (EDISABLED); t7 stays unbuilt. */
    tenreg_read_lock();
    for (int i = 17; i < 400; i += 10) {
        tenreg_resolution r;
        snprintf(h, sizeof(h), "t%d.example", i);
        cr_assert_eq(tenreg_resolve(reg, h, strlen(h), 0, &r), TENREG_EFACTORY);
    }
    tenreg_read_unlock();
}

static void teardown(void)
{
    tenreg_free(reg);
    reg = NULL;
    tt_thread_fini();
    tt_platforms_release();
}

TestSuite(resolve_many, .init = setup, .fini = teardown, .timeout = 60);

#define NQ 1000
static char hosts[NQ][96];
static tenreg_query q[NQ];

static void make_queries(unsigned seed)
{
    for (int i = 0; i < NQ; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned x = seed >> 8, t = x % 450;
        switch ((x / 450) % 10) {
        case 0: snprintf(hosts[i], sizeof(hosts[i]), "t%u.example", t); break;
        case 1: snprintf(hosts[i], sizeof(hosts[i]), "https://T%u.Example:8443/x?y", t); break;
        case 2: snprintf(hosts[i], sizeof(hosts[i]), "alt%u.example.net", t); break;
        case 3: snprintf(hosts[i], sizeof(hosts[i]), "a.b.t%u.example", t); break;
        case 4: snprintf(hosts[i], sizeof(hosts[i]), "x.t%u.example.", t); break;
        case 5: snprintf(hosts[i], sizeof(hosts[i]), "nobody%u.example", t); break;
        case 6: snprintf(hosts[i], sizeof(hosts[i]), "t%u.example:99999", t); break;
        case 7: snprintf(hosts[i], sizeof(hosts[i]), "[2001:db8::%x]", t); break;
        case 8: snprintf(hosts[i], sizeof(hosts[i]), "bad host %u", t); break;
        default: snprintf(hosts[i], sizeof(hosts[i]), "t%u.example", t % 40); break;
        }
        q[i].host = hosts[i];
        q[i].len = strlen(hosts[i]);
    }
    q[NQ / 2].host = NULL; /* a NULL host in the middle: EINVAL for that one */
    q[NQ / 2].len = 3;
}

static void check_batch(size_t off, size_t n)
{
    static tenreg_resolution out[NQ];
    static int rc[NQ];
    memset(out, 0x5a, sizeof(out));
    memset(rc, 0x5a, sizeof(rc));
    cr_assert_eq(tenreg_resolve_many(reg, q + off, n, out, rc), TENREG_OK);
    for (size_t i = 0; i < n; i++) {
        tenreg_resolution one;
        memset(&one, 0x5a, sizeof(one));
        const tenreg_query *qi = &q[off + i];
        int r1 = tenreg_resolve_by_host(reg, qi->host, qi->len, &one);
        const char *h = qi->host ? qi->host : "(null)";
        cr_assert_eq(rc[i], r1, "%s: many %s, single %s", h, tenreg_err_name(rc[i]),
                     tenreg_err_name(r1));
        cr_assert_eq(out[i].platform, one.platform, "%s", h);
        cr_assert_eq(out[i].matched == NULL, one.matched == NULL, "%s", h);
        if (one.matched)
            cr_assert_str_eq(out[i].matched, one.matched, "%s", h);
        if (r1 != TENREG_ENOENT && r1 != TENREG_EINVAL) {
            cr_assert_str_eq(out[i].tenant_id, one.tenant_id, "%s", h);
            cr_assert_eq(out[i].health, one.health, "%s", h);
        }
    }
}

Test(resolve_many, same_answers_as_single_lookups)
{
    int kinds[16] = {0};
    for (unsigned seed = 1; seed <= 5; seed++) {
        make_queries(seed);
        tenreg_read_lock();
        check_batch(0, NQ);
        /* every size around the group of 16, at odd offsets */
        for (size_t n = 0; n <= 40; n++)
            check_batch(n * 7 % 300, n);
        tenreg_read_unlock();
        for (int i = 0; i < NQ; i++) {
            tenreg_resolution r;
            tenreg_read_lock();
            int rc = tenreg_resolve_by_host(reg, q[i].host, q[i].len, &r);
            tenreg_read_unlock();
            kinds[-rc]++;
        }
    }
    cr_log_info("answers checked: %d OK, %d ENOENT, %d EINVAL, %d EPENDING, %d EDISABLED",
                kinds[0], kinds[-TENREG_ENOENT], kinds[-TENREG_EINVAL], kinds[-TENREG_EPENDING],
                kinds[-TENREG_EDISABLED]);
    cr_assert_gt(kinds[0], 0);
    cr_assert_gt(kinds[-TENREG_ENOENT], 0);
    cr_assert_gt(kinds[-TENREG_EINVAL], 0);
    cr_assert_gt(kinds[-TENREG_EPENDING], 0);
    cr_assert_gt(kinds[-TENREG_EDISABLED], 0);
}

Test(resolve_many, argument_checks)
{
    tenreg_query one = {"t1.example", 10};
    tenreg_resolution out;
    int rc = 77;
    cr_assert_eq(tenreg_resolve_many(NULL, &one, 1, &out, &rc), TENREG_EINVAL);
    cr_assert_eq(tenreg_resolve_many(reg, NULL, 1, &out, &rc), TENREG_EINVAL);
    cr_assert_eq(tenreg_resolve_many(reg, &one, 1, NULL, &rc), TENREG_EINVAL);
    cr_assert_eq(tenreg_resolve_many(reg, &one, 1, &out, NULL), TENREG_EINVAL);
    cr_assert_eq(rc, 77, "nothing written on EINVAL");
    cr_assert_eq(tenreg_resolve_many(reg, NULL, 0, NULL, NULL), TENREG_OK, "n = 0");
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_many(reg, &one, 1, &out, &rc), TENREG_OK);
    cr_assert_eq(rc, TENREG_OK);
    cr_assert_str_eq(out.tenant_id, "t1");
    cr_assert_str_eq(out.matched, "t1.example");
    tenreg_read_unlock();
}
