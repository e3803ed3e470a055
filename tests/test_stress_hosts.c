/*
 * Extra hosts and patterns added and removed while readers resolve
 * (docs/design.md §8.1). Anchor tenants hold an extra host and a pattern
 * for the whole run; a writer churns the extra hosts, nested patterns and
 * registrations of other tenants, with an exact model that predicts every
 * return code. Two readers check every answer as it comes:
 *   - a host an anchor holds throughout always answers that anchor, with
 *     the host or pattern it holds as `matched`;
 *   - an answer is whole: the platform belongs to the tenant answered, was
 *     not freed, and `matched` is the key itself or "*." + one of its
 *     proper suffixes;
 * and at the end the writer compares every host with the model, and every
 * platform is freed exactly once. Background rechecks (every 2 ms) change
 * the anchors' health all along, and a lazy tenant whose factory fails
 * every other time is retried (build_retry_ms 1) under the readers.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

#define ANCHORS 3
#define CHURNERS 6
#define POOL 24 /* host and pattern names the churners fight over: (ANCHORS + 1) x 3 x 2 */

static tenreg_t *reg;
static struct tt_free_counter frees;
static _Atomic int verdict = 1;
static atomic_bool stop;

/* The pool: even entries are exact hosts, odd ones patterns; some sit under
 * an anchor's pattern "*.a<i>.example", some under nothing. */
static char pool[POOL][64];
static int owner[POOL]; /* churner, or -1 */
static bool registered[CHURNERS];

static void pool_init(void)
{
    for (int k = 0; k < POOL; k++) {
        int b = k / 6, j = k / 2 % 3; /* base: a0, a1, a2, then under no anchor */
        char base[32];
        if (b == ANCHORS)
            snprintf(base, sizeof(base), "pool.example");
        else
            snprintf(base, sizeof(base), "a%d.example", b);
        snprintf(pool[k], sizeof(pool[k]), k % 2 == 0 ? "h%d.%s" : "*.p%d.%s", j, base);
        owner[k] = -1;
    }
    /* Duplicates in the pool (same text at two indexes) would break the
     * model: the names above are distinct by construction; check it. */
    for (int i = 0; i < POOL; i++)
        for (int j = i + 1; j < POOL; j++)
            cr_assert_str_neq(pool[i], pool[j]);
}

/* Whether @key ends with "." + @suffix. */
static bool under(const char *key, const char *suffix)
{
    size_t k = strlen(key), s = strlen(suffix);
    return k > s + 1 && key[k - s - 1] == '.' && strcmp(key + k - s, suffix) == 0;
}

/* Hosts readers look up: the anchors' held ones, then hosts the pool's
 * exact entries and patterns may cover. */
static const char *const probes[] = {
    "xa0.example", "xa1.example", "xa2.example",                  /* anchors' extra hosts */
    "q.r.a0.example", "q.r.a1.example", "deep.q.a2.example",      /* anchors' patterns only */
    "h0.a0.example", "h1.a1.example", "h2.a2.example", "h0.pool.example", "h1.pool.example",
    "x.p0.a0.example", "x.p1.a1.example", "y.x.p2.a2.example", "x.p0.pool.example",
    "x.p1.pool.example", "p1.pool.example", "c0.example", "c3.example",
};
#define NPROBES (sizeof(probes) / sizeof(probes[0]))
#define HELD_PROBES 6

/* The lazy tenant: every other build fails; retries come 1 ms after. */
static _Atomic int lazy_builds;
static int flaky_factory(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    if (atomic_fetch_add(&lazy_builds, 1) % 2 == 0)
        return -1;
    *platform = tt_platform_new(tenant_id, "lazy");
    return 0;
}

static void check_whole(const char *key, const tenreg_resolution *r)
{
    const struct tt_platform *p = r->platform;
    cr_assert_not_null(r->matched, "%s: an answer has matched", key);
    cr_assert(strcmp(r->matched, key) == 0 ||
                  (strncmp(r->matched, "*.", 2) == 0 && under(key, r->matched + 2)),
              "%s: matched %s is neither the key nor a pattern over it", key, r->matched);
    cr_assert_not_null(p);
    cr_assert_str_eq(p->tenant_id, r->tenant_id, "%s: platform of another tenant", key);
    cr_assert_eq(atomic_load(&((struct tt_platform *)p)->freed), 0, "%s: platform freed", key);
}

static void *reader(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg, n = 0;
    tenreg_thread_register();
    while (!atomic_load(&stop)) {
        seed = seed * 1103515245u + 12345u;
        unsigned i = (seed >> 8) % NPROBES;
        const char *key = probes[i];
        tenreg_resolution r;
        tenreg_read_lock();
        if (n % 64 == 0) {
            /* The lazy tenant, built and retried under the readers. */
            int lrc = tenreg_resolve(reg, "lazy.example", 12, TENREG_NOWAIT, &r);
            cr_assert(lrc == TENREG_OK || lrc == TENREG_EPENDING || lrc == TENREG_EDISABLED,
                      "lazy: %s", tenreg_err_name(lrc));
            if (lrc == TENREG_OK)
                check_whole("lazy.example", &r);
        }
        if (n % 128 == 0) {
            /* A batch of every probe: each answer checked like a single one. */
            tenreg_query qs[NPROBES];
            tenreg_resolution rs[NPROBES];
            int rcs[NPROBES];
            for (size_t j = 0; j < NPROBES; j++)
                qs[j] = (tenreg_query){probes[j], strlen(probes[j])};
            cr_assert_eq(tenreg_resolve_many(reg, qs, NPROBES, rs, rcs), TENREG_OK);
            for (size_t j = 0; j < NPROBES; j++) {
                if (j < HELD_PROBES) {
                    char id[8];
                    snprintf(id, sizeof(id), "A%u", (unsigned)(j % ANCHORS));
                    cr_assert_eq(rcs[j], TENREG_OK, "batch: %s", probes[j]);
                    cr_assert_str_eq(rs[j].tenant_id, id, "batch: %s", probes[j]);
                }
                if (rcs[j] == TENREG_OK)
                    check_whole(probes[j], &rs[j]);
                else
                    cr_assert_eq(rcs[j], TENREG_ENOENT, "batch: %s", probes[j]);
            }
        }
        int rc = tenreg_resolve_by_host(reg, key, strlen(key), &r);
        if (i < HELD_PROBES) {
            char id[8], held[32];
            snprintf(id, sizeof(id), "A%u", i % ANCHORS);
            snprintf(held, sizeof(held), i < ANCHORS ? "xa%u.example" : "*.a%u.example",
                     i % ANCHORS);
            cr_assert_eq(rc, TENREG_OK, "%s, held throughout: %s", key, tenreg_err_name(rc));
            cr_assert_str_eq(r.tenant_id, id, "%s: another tenant's answer", key);
            cr_assert_str_eq(r.matched, held, "%s", key);
        }
        if (rc == TENREG_OK)
            check_whole(key, &r);
        else
            cr_assert_eq(rc, TENREG_ENOENT, "%s: %s", key, tenreg_err_name(rc));
        tenreg_read_unlock();
        n++;
    }
    tenreg_thread_unregister();
    return (void *)(uintptr_t)n;
}

static void churner_id(char *buf, unsigned c)
{
    snprintf(buf, 8, "C%u", c % 100);
}

static void writer_step(unsigned *seed, long *counts)
{
    *seed = *seed * 1103515245u + 12345u;
    unsigned x = *seed >> 8;
    int c = (int)(x % CHURNERS), k = (int)((x / CHURNERS) % POOL);
    unsigned op = (x / CHURNERS / POOL) % 16;
    char id[8], url[32];
    churner_id(id, (unsigned)c);
    if (op < 7) { /* add */
        int want = !registered[c] ? TENREG_ENOENT
                   : owner[k] >= 0 && owner[k] != c ? TENREG_EEXIST
                                                    : TENREG_OK;
        int rc = tenreg_add_host(reg, id, pool[k]);
        cr_assert_eq(rc, want, "add_host(%s, %s) = %s", id, pool[k], tenreg_err_name(rc));
        if (rc == TENREG_OK)
            owner[k] = c;
        counts[rc == TENREG_OK ? 0 : rc == TENREG_EEXIST ? 1 : 2]++;
    } else if (op < 12) { /* remove */
        int want = registered[c] && owner[k] == c ? TENREG_OK : TENREG_ENOENT;
        int rc = tenreg_remove_host(reg, id, pool[k]);
        cr_assert_eq(rc, want, "remove_host(%s, %s) = %s", id, pool[k], tenreg_err_name(rc));
        if (rc == TENREG_OK)
            owner[k] = -1;
        counts[3]++;
    } else if (op < 14) { /* (re-)register: only the agent URL's host stays */
        snprintf(url, sizeof(url), "c%d.example", c);
        cr_assert_eq(tenreg_register(reg, id, url, tt_platform_new(id, url), 0), TENREG_OK);
        registered[c] = true;
        for (int j = 0; j < POOL; j++)
            if (owner[j] == c)
                owner[j] = -1;
        counts[4]++;
    } else if (op == 14) {
        int rc = tenreg_unregister(reg, id);
        cr_assert_eq(rc, registered[c] ? TENREG_OK : TENREG_ENOENT);
        registered[c] = false;
        for (int j = 0; j < POOL; j++)
            if (owner[j] == c)
                owner[j] = -1;
        counts[5]++;
    } else { /* anchors' health changes: new records behind their aliases */
        char aid[8];
        snprintf(aid, sizeof(aid), "A%u", x % ANCHORS);
        atomic_store(&verdict, (int)(x & 1));
        (void)tenreg_recheck(reg, aid);
        counts[6]++;
    }
}

/* What the model says @key answers: a churner's or an anchor's id, or "". */
static void expected(const char *key, char *id)
{
    id[0] = '\0';
    for (int k = 0; k < POOL; k += 2)
        if (owner[k] >= 0 && strcmp(pool[k], key) == 0) {
            churner_id(id, (unsigned)owner[k]);
            return;
        }
    for (int c = 0; c < CHURNERS; c++) {
        char url[32];
        snprintf(url, sizeof(url), "c%d.example", c);
        if (registered[c] && strcmp(url, key) == 0) {
            churner_id(id, (unsigned)c);
            return;
        }
    }
    for (int a = 0; a < ANCHORS; a++) {
        char held[32];
        snprintf(held, sizeof(held), "xa%d.example", a);
        if (strcmp(held, key) == 0) {
            snprintf(id, 8, "A%d", a);
            return;
        }
    }
    size_t best = 0;
    for (int k = 1; k < POOL; k += 2)
        if (owner[k] >= 0 && under(key, pool[k] + 2) && strlen(pool[k]) > best) {
            best = strlen(pool[k]);
            churner_id(id, (unsigned)owner[k]);
        }
    for (int a = 0; a < ANCHORS; a++) {
        char name[32];
        snprintf(name, sizeof(name), "a%d.example", a);
        if (under(key, name) && strlen(name) + 2 > best) {
            best = strlen(name) + 2;
            snprintf(id, 8, "A%d", a);
        }
    }
}

static void sweep(void)
{
    for (size_t i = 0; i < NPROBES; i++) {
        char want[8], got[64] = "";
        expected(probes[i], want);
        tenreg_resolution r;
        tenreg_read_lock();
        int rc = tenreg_resolve_by_host(reg, probes[i], strlen(probes[i]), &r);
        if (rc == TENREG_OK)
            snprintf(got, sizeof(got), "%s", r.tenant_id);
        tenreg_read_unlock();
        cr_assert_str_eq(got, want, "%s: registry says '%s', model '%s'", probes[i], got, want);
    }
}

Test(stress, hosts_and_patterns_change_under_readers, .timeout = 300)
{
    tt_thread_init();
    tenreg_config cfg = {.validator = tt_validator_verdict, .validator_ctx = &verdict,
                         .platform_free = tt_count_free, .platform_free_ctx = &frees,
                         .builder_threads = 2, .recheck_interval_ms = 2, .build_retry_ms = 1};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    pool_init();
    cr_assert_eq(tenreg_register_lazy(reg, "L", "lazy.example", flaky_factory, NULL, 0),
                 TENREG_OK);
    for (int a = 0; a < ANCHORS; a++) {
        char id[8], h[32];
        snprintf(id, sizeof(id), "A%d", a);
        snprintf(h, sizeof(h), "anchor%d.example", a);
        cr_assert_eq(tenreg_register(reg, id, h, tt_platform_new(id, h), 0), TENREG_OK);
        snprintf(h, sizeof(h), "xa%d.example", a);
        cr_assert_eq(tenreg_add_host(reg, id, h), TENREG_OK);
        snprintf(h, sizeof(h), "*.a%d.example", a);
        cr_assert_eq(tenreg_add_host(reg, id, h), TENREG_OK);
    }
    pthread_t th[2];
    for (uintptr_t i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, reader, (void *)(i + 7)), 0);
    unsigned seed = 12345, steps = tt_iters(300000);
    long counts[7] = {0};
    for (unsigned s = 0; s < steps; s++) {
        writer_step(&seed, counts);
        if (s % 4096 == 0)
            sweep();
    }
    sweep();
    atomic_store(&stop, true);
    long lookups = 0;
    for (int i = 0; i < 2; i++) {
        void *n;
        pthread_join(th[i], &n);
        lookups += (long)(uintptr_t)n;
    }
    cr_log_info("%u steps: %ld added, %ld eexist, %ld enoent, %ld removes, %ld registers, "
                "%ld unregisters, %ld rechecks; %ld lookups",
                steps, counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6],
                lookups);
    cr_assert_gt(counts[0], 0);
    cr_assert_gt(counts[1], 0, "no collision was ever tried");
    cr_assert_gt(lookups, 0);
    tenreg_stats st;
    cr_assert_eq(tenreg_stats_of(reg, &st), TENREG_OK);
    cr_log_info("background: %llu checks, %llu builds (%llu failed)",
                (unsigned long long)st.checks, (unsigned long long)st.builds,
                (unsigned long long)st.builds_failed);
    cr_assert_gt(st.checks, (uint64_t)counts[6], "no background check ran");
    cr_assert_geq(st.builds, 2, "the failed lazy build was never retried");
    tenreg_free(reg);
    reg = NULL;
    cr_assert_eq(atomic_load(&frees.double_frees), 0, "a platform was freed twice");
    cr_assert_eq(tt_platforms_not_freed_once(), 0, "a platform was not freed exactly once");
    tt_thread_fini();
    tt_platforms_release();
}
