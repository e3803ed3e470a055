/*
 * impl_tenreg.c - tenreg itself, through its public API only (plus the
 * live-bytes hook in registries.c). Compiled twice: against libtenreg (memb,
 * read sections) and libtenreg-qsbr (BENCH_QSBR: quiescent states).
 */
#include "bench.h"
#include "reader_loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tr {
    tenreg_t *reg;
    const struct tset *ts;
    size_t n;
    enum tr_mode mode;
    struct lazy_acct *acct;
    double pattern_frac;        /* > 0: tenants that wild_holds() hold their pattern */
};

static _Atomic uint64_t platforms_freed;

static void count_free(void *ctx, void *platform)
{
    (void)ctx;
    (void)platform;
    atomic_fetch_add_explicit(&platforms_freed, 1, memory_order_relaxed);
}

uint64_t tr_platforms_freed(void)
{
    return atomic_load(&platforms_freed);
}

/* Always valid, but a real call: the writer's rechecks run adopter code. */
static int validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    (void)ctx;
    return tenant_id[0] != '\0' && agent_url[0] != '\0';
}

static int factory(void *ctx, const char *tenant_id, void **platform)
{
    struct lazy_acct *a = ctx;
    double t0 = bench_now();
    size_t slot = strtoul(tenant_id + 7, NULL, 10); /* "seller-%07zu" */
    if (a->factory_us) {
        struct timespec d = {(time_t)(a->factory_us / 1000000u),
                             (long)(a->factory_us % 1000000u) * 1000L};
        nanosleep(&d, NULL);
    }
    if (slot < a->n) {
        atomic_fetch_add_explicit(&a->calls[slot], 1, memory_order_relaxed);
        if (slot < a->nchurn)
            atomic_fetch_add_explicit(&a->churn_factory_calls, 1, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&a->factory_calls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&a->factory_ns, (uint64_t)((bench_now() - t0) * 1e9),
                              memory_order_relaxed);
    *platform = a->platforms + slot;
    return 0;
}

struct lazy_acct *acct_new(size_t n, size_t nchurn, unsigned factory_us, char *platforms,
                           size_t stream_n)
{
    struct lazy_acct *a = calloc(1, sizeof(*a));
    a->n = n;
    a->nchurn = nchurn;
    a->hit = calloc(n, sizeof(*a->hit));
    a->calls = calloc(n, sizeof(*a->calls));
    a->factory_us = factory_us;
    a->platforms = platforms;
    a->stream_n = stream_n;
    a->consumed = calloc(stream_n ? stream_n : 1, 1);
    return a;
}

void acct_free(struct lazy_acct *a)
{
    if (!a)
        return;
    free((void *)a->hit);
    free((void *)a->calls);
    free(a->consumed);
    free(a);
}

static int reg_one(struct tr *t, size_t i)
{
    const struct tset *ts = t->ts;
    bool lazy = t->mode == TR_LAZY || (t->mode == TR_MIXED && ts->lazy[i]);
    if (lazy)
        return tenreg_register_lazy(t->reg, ts_id(ts, i), ts_url(ts, i), factory, t->acct, 0);
    return tenreg_register(t->reg, ts_id(ts, i), ts_url(ts, i), ts->platforms + i, 0);
}

void *tr_new(const struct tset *ts, size_t n, enum tr_mode mode, struct lazy_acct *acct,
             const struct bench_cfg *cfg, struct impl_build_info *info)
{
    struct tr *t = calloc(1, sizeof(*t));
    tenreg_config c = {0};
    c.validator = validator;
    c.platform_free = count_free;
    c.expected_tenants = n;
    /* The hash key from the kernel, as in production: a key derived from
     * a fixed hash_seed is public, and lookups then compare the key in the
     * record instead of answering from the slot (the digest rule). The
     * workload stays --seed's. */
    c.hash_seed = 0;
    c.builder_threads = cfg->builders;
    t->ts = ts;
    t->n = n;
    t->mode = mode;
    t->acct = acct;
    if (tenreg_new(&c, &t->reg) != 0) {
        fprintf(stderr, "tenreg-bench: tenreg_new failed\n");
        exit(1);
    }
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        int rc = reg_one(t, i);
        if (rc != 0) {
            fprintf(stderr, "tenreg-bench: registering %s: %s\n", ts_id(ts, i),
                    tenreg_strerror(rc));
            exit(1);
        }
    }
    if (info)
        info->seconds = bench_now() - t0;
    return t;
}

static int add_pattern(struct tr *t, size_t i)
{
    char pat[TENREG_HOST_KEY_MAX + 3];
    ts_pattern(t->ts, i, pat);
    return tenreg_add_host(t->reg, ts_id(t->ts, i), pat);
}

size_t tr_add_patterns(void *tbl, double frac, struct impl_build_info *info)
{
    struct tr *t = tbl;
    size_t added = 0;
    double t0 = bench_now();
    for (size_t i = 0; i < t->n; i++) {
        if (!wild_holds(i, frac))
            continue;
        int rc = add_pattern(t, i);
        if (rc != 0) {
            fprintf(stderr, "tenreg-bench: adding a pattern to %s: %s\n", ts_id(t->ts, i),
                    tenreg_strerror(rc));
            exit(1);
        }
        added++;
    }
    if (info)
        info->seconds = bench_now() - t0;
    t->pattern_frac = frac;
    return added;
}

tenreg_t *tr_registry(void *tbl)
{
    return ((struct tr *)tbl)->reg;
}

double tr_free(void *tbl)
{
    struct tr *t = tbl;
    double t0 = bench_now();
    tenreg_free(t->reg);
    double s = bench_now() - t0;
    free(t);
    return s;
}

static inline __attribute__((always_inline)) int tr_lookup(void *tbl, const char *host,
                                                           size_t len, struct reader_ctx *c)
{
    struct tr *t = tbl;
    tenreg_resolution res;
#ifdef BENCH_QSBR
    int rc = tenreg_resolve(t->reg, host, len, TENREG_NOWAIT, &res);
    if (rc == 0)
        c->sink += (uintptr_t)res.platform + (uintptr_t)res.health + (uintptr_t)res.tenant_id;
    if (++c->qs >= c->ph->qs_every) {
        c->qs = 0;
        tenreg_quiescent();
    }
#else
    tenreg_read_lock();
    int rc = tenreg_resolve(t->reg, host, len, TENREG_NOWAIT, &res);
    if (rc == 0)
        c->sink += (uintptr_t)res.platform + (uintptr_t)res.health + (uintptr_t)res.tenant_id;
    tenreg_read_unlock();
#endif
    return rc;
}

void *tr_reader(void *arg)
{
    struct reader_ctx *c = arg;
    tenreg_thread_register();
    reader_loop(c, tr_lookup);
    tenreg_thread_unregister();
    return NULL;
}

/* The batch rows: one tenreg_resolve_many call per BENCH_BATCH stream
 * entries, one read section (memb) or one quiescent-state check (qsbr,
 * counted in lookups) per call. An EPENDING answer goes on to
 * tenreg_resolve(NOWAIT), which hands a lazy tenant's build off as the
 * single-call reader's lookup does: so both readers give the same answers
 * and the lazy check holds for both. */
static inline __attribute__((always_inline)) void
tr_lookup_batch(void *tbl, const tenreg_query *q, int *rc, struct reader_ctx *c)
{
    struct tr *t = tbl;
    tenreg_resolution res[BENCH_BATCH];
#ifndef BENCH_QSBR
    tenreg_read_lock();
#endif
    tenreg_resolve_many(t->reg, q, BENCH_BATCH, res, rc);
    for (int i = 0; i < BENCH_BATCH; i++) {
        if (BENCH_UNLIKELY(rc[i] == TENREG_EPENDING))
            rc[i] = tenreg_resolve(t->reg, q[i].host, q[i].len, TENREG_NOWAIT, &res[i]);
        if (rc[i] == 0)
            c->sink += (uintptr_t)res[i].platform + (uintptr_t)res[i].health +
                       (uintptr_t)res[i].tenant_id;
    }
#ifdef BENCH_QSBR
    c->qs += BENCH_BATCH;
    if (c->qs >= c->ph->qs_every) {
        c->qs = 0;
        tenreg_quiescent();
    }
#else
    tenreg_read_unlock();
#endif
}

void *tr_reader_batch(void *arg)
{
    struct reader_ctx *c = arg;
    tenreg_thread_register();
    reader_loop_batch(c, tr_lookup_batch);
    tenreg_thread_unregister();
    return NULL;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool same_answer(int rc_a, const tenreg_resolution *a, int rc_b,
                        const tenreg_resolution *b)
{
    if (rc_a != rc_b)
        return false;
    if (rc_a == TENREG_ENOENT || rc_a == TENREG_EINVAL)
        return true;
    return same_str(a->tenant_id, b->tenant_id) && a->health == b->health &&
           a->platform == b->platform && same_str(a->matched, b->matched);
}

uint64_t tr_check_batch(void *tbl, const struct stream *st, size_t n, uint64_t *checked)
{
    struct tr *t = tbl;
    uint64_t wrong = 0;
    n -= n % BENCH_BATCH;
    for (size_t j = 0; j < n; j += BENCH_BATCH) {
        tenreg_query q[BENCH_BATCH];
        tenreg_resolution one[BENCH_BATCH], many[BENCH_BATCH], again;
        int rc1[BENCH_BATCH], rcm[BENCH_BATCH];
        for (int i = 0; i < BENCH_BATCH; i++) {
            const struct stream_entry *e = &st->e[j + (size_t)i];
            q[i].host = st->buf + e->off;
            q[i].len = e->len;
        }
        tenreg_read_lock();
        for (int i = 0; i < BENCH_BATCH; i++)
            rc1[i] = tenreg_resolve_by_host(t->reg, q[i].host, q[i].len, &one[i]);
        if (tenreg_resolve_many(t->reg, q, BENCH_BATCH, many, rcm) != 0) {
            tenreg_read_unlock();
            wrong += BENCH_BATCH;
            continue;
        }
        for (int i = 0; i < BENCH_BATCH; i++) {
            if (same_answer(rc1[i], &one[i], rcm[i], &many[i]))
                continue;
            /* A lazy build that ended between the two calls changes the
             * answer; only a difference that stays counts. */
            int rc2 = tenreg_resolve_by_host(t->reg, q[i].host, q[i].len, &again);
            if (same_answer(rc1[i], &one[i], rc2, &again))
                wrong++;
        }
        tenreg_read_unlock();
    }
    *checked = n;
    return wrong;
}

/* A new registration drops the tenant's extra hosts: a pattern holder
 * gets its pattern back at once, as an adopter's admin code would. */
static int w_reg(void *tbl, uint32_t slot)
{
    struct tr *t = tbl;
    int rc = reg_one(t, slot);
    if (rc == 0 && t->pattern_frac > 0 && wild_holds(slot, t->pattern_frac))
        rc = add_pattern(t, slot);
    return rc;
}

static int w_unreg(void *tbl, uint32_t slot)
{
    struct tr *t = tbl;
    return tenreg_unregister(t->reg, ts_id(t->ts, slot));
}

static int w_recheck(void *tbl, uint32_t slot)
{
    struct tr *t = tbl;
    return tenreg_recheck(t->reg, ts_id(t->ts, slot));
}

const struct writer_ops tr_wops = {w_reg, w_unreg, w_recheck, NULL, NULL, NULL};
