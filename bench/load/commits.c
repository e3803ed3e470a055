/*
 * commits.c - the batch-commit phase (issue 12, "Cost"): what a
 * tenreg_batch_commit costs on the cold registry (--cold-tenants eager
 * tenants, 1M, after the cold set's rows), and what it costs the readers.
 *
 * The bench keeps a model of the registry: per tenant of the workload,
 * whether it is registered, which of its two agent URLs it has (its own,
 * or "https://agent.NAME/v2", NAME = its host without the first label),
 * and whether it holds the extra host "edge.NAME". Every batch is built
 * from the model, which follows it. Generated hosts never begin with the
 * label "agent" or "edge" and NAME is unique per tenant, so no other
 * tenant ever holds one of these hosts: every op is valid by construction
 * and every commit must answer 0.
 *
 * Setup (not measured): tenreg_health_of tells which ids the cold set's
 * writer left registered; one REPLACE_ALL sync keeps them but for an
 * evenly spread pool of as many ids as a small batch registers, which it
 * unregisters, so that the small batches always find ids to register.
 *
 * Two kinds of batch, each committed back to back in a window of its own:
 *   10k-op  --commit-ops ops (10,000), each on an id of its own drawn at
 *           random, interleaved move, move, new, unregister, add_host:
 *           40% moves (a registered id registered again with its other
 *           URL: a new host, the old one released, its extra host
 *           dropped), 20% new registrations (an id not registered), 20%
 *           unregistrations, 20% tenreg_batch_add_host of "edge.NAME" to a
 *           registered id without one. The registry keeps its size.
 *   sync    TENREG_BATCH_REPLACE_ALL to a desired set --sync-change (1%)
 *           off the registry: tenreg_batch_keep for every registered id
 *           that does not change, tenreg_batch_register with its other
 *           URL for the 1% that do (always the same 1%, so the syncs
 *           alternate between two desired sets), and a fixed 1% of that
 *           share of ids removed (not named: REPLACE_ALL unregisters them)
 *           or, the next time, registered again.
 * A window's batches are all built before it (the "build" column, timed
 * apart), so the window holds nothing but the commits; each commit is
 * timed alone. Committed batches are freed after the window.
 *
 * Readers: two threads (the figure, whatever --readers says)
 * resolve the cold stream (uniform over the cold tenants) with
 * tenreg_resolve_by_host, one read section per lookup (qsbr:
 * tenreg_quiescent every --qs-every lookups), sampled like every other row
 * (reader_loop.h, one call in --sample-every). Each commit window is
 * followed by a quiet twin as long as it, the same readers without
 * commits; deferred frees are drained before each window. Rows: c-10k and
 * c-sync, "tenreg commits" and "tenreg quiet".
 *
 * Checks: tenreg_count after every commit against the model; after the
 * windows, every id's hosts: its host answers it (or ENOENT when not
 * registered), its other host ENOENT, its extra host it.
 */
#include "run.h"
#include "reader_loop.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { M_REG = 1, M_ALT = 2, M_EDGE = 4 };  /* model bits per tenant */
enum { S_NONE = 0, S_CHANGE = 1, S_FLIP = 2 }; /* what a sync does to an id */

struct cm {
    struct bench_run *run;
    const struct tset *ts;
    tenreg_t *reg;
    size_t n;
    uint8_t *st;        /* M_* */
    uint8_t *sync_mark; /* S_* */
    uint32_t *stamp;    /* == epoch: the batch being built names it */
    uint32_t *absent;   /* scratch: ids not registered */
    uint32_t epoch;
    uint64_t rng;
    size_t registered;  /* in the model */
    /* the window's batches, built before it */
    tenreg_batch **b;
    size_t *expect;     /* the model's count after batch i */
    unsigned nb;
    unsigned flags;
    struct commit_kind *kind;
};

/* ---- the readers ---------------------------------------------------------- */

static inline __attribute__((always_inline)) int cm_lookup(void *tbl, const char *host,
                                                           size_t len, struct reader_ctx *c)
{
    tenreg_resolution res;
#ifdef BENCH_QSBR
    int rc = tenreg_resolve_by_host(tbl, host, len, &res);
    if (rc == 0)
        c->sink += (uintptr_t)res.platform + (uintptr_t)res.health + (uintptr_t)res.tenant_id;
    if (++c->qs >= c->ph->qs_every) {
        c->qs = 0;
        tenreg_quiescent();
    }
#else
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(tbl, host, len, &res);
    if (rc == 0)
        c->sink += (uintptr_t)res.platform + (uintptr_t)res.health + (uintptr_t)res.tenant_id;
    tenreg_read_unlock();
#endif
    return rc;
}

static void *cm_reader(void *arg)
{
    struct reader_ctx *c = arg;
    tenreg_thread_register();
    reader_loop(c, cm_lookup);
    tenreg_thread_unregister();
    return NULL;
}

/* ---- hosts and URLs --------------------------------------------------------- */

static const char *name_of(const struct tset *ts, size_t i)
{
    return strchr(ts_host(ts, i), '.') + 1; /* every generated host has 3+ labels */
}

/* @out: TENREG_HOST_KEY_MAX + 1 bytes */
static void host_of(const struct tset *ts, size_t i, bool alt, char *out)
{
    if (alt)
        snprintf(out, TENREG_HOST_KEY_MAX + 1, "agent.%s", name_of(ts, i));
    else
        snprintf(out, TENREG_HOST_KEY_MAX + 1, "%s", ts_host(ts, i));
}

#define URL_MAX (TENREG_HOST_KEY_MAX + 32)
static void url_of(const struct tset *ts, size_t i, bool alt, char *out)
{
    if (alt)
        snprintf(out, URL_MAX, "https://agent.%s/v2", name_of(ts, i));
    else
        snprintf(out, URL_MAX, "%s", ts_url(ts, i));
}

static void edge_of(const struct tset *ts, size_t i, char *out)
{
    snprintf(out, TENREG_HOST_KEY_MAX + 1, "edge.%s", name_of(ts, i));
}

/* ---- recording, on the model ------------------------------------------------ */

/* A record op cannot fail here but for memory: that ends the run. */
static void rec(int rc, const char *op, const char *id)
{
    if (rc == 0)
        return;
    fprintf(stderr, "tenreg-bench: commits: recording %s %s: %s\n", op, id, tenreg_strerror(rc));
    exit(1);
}

static tenreg_batch *batch_new(struct cm *m)
{
    tenreg_batch *b;
    rec(tenreg_batch_new(m->reg, &b), "a new batch", "");
    return b;
}

static void op_register(struct cm *m, tenreg_batch *b, size_t i, bool alt)
{
    char url[URL_MAX];
    url_of(m->ts, i, alt, url);
    rec(tenreg_batch_register(b, ts_id(m->ts, i), url, m->ts->platforms + i), "register",
        ts_id(m->ts, i));
    if (!(m->st[i] & M_REG))
        m->registered++;
    m->st[i] = M_REG | (alt ? M_ALT : 0);
    m->stamp[i] = m->epoch;
}

static void op_unregister(struct cm *m, tenreg_batch *b, size_t i)
{
    rec(tenreg_batch_unregister(b, ts_id(m->ts, i)), "unregister", ts_id(m->ts, i));
    m->st[i] &= M_ALT;
    m->registered--;
    m->stamp[i] = m->epoch;
}

static void op_edge(struct cm *m, tenreg_batch *b, size_t i)
{
    char h[TENREG_HOST_KEY_MAX + 1];
    edge_of(m->ts, i, h);
    rec(tenreg_batch_add_host(b, ts_id(m->ts, i), h), "add_host", ts_id(m->ts, i));
    m->st[i] |= M_EDGE;
    m->stamp[i] = m->epoch;
}

/* A random id that has every bit of @need, none of @without, and that the
 * batch does not name yet; SIZE_MAX when 64 x n draws found none. */
static size_t pick(struct cm *m, uint8_t need, uint8_t without)
{
    for (size_t k = 0; k < 64 * m->n; k++) {
        size_t i = (size_t)(bench_rng(&m->rng) % m->n);
        if ((m->st[i] & need) == need && !(m->st[i] & without) && m->stamp[i] != m->epoch)
            return i;
    }
    return SIZE_MAX;
}

static size_t pick_registered(struct cm *m)
{
    size_t i = pick(m, M_REG, 0);
    if (i == SIZE_MAX) {
        fprintf(stderr, "tenreg-bench: commits: no registered id left for a batch\n");
        exit(1);
    }
    return i;
}

/* --commit-ops ops: move, move, new, unregister, add_host, again. */
static tenreg_batch *build_small(struct cm *m, size_t ops)
{
    m->epoch++;
    size_t nabs = 0;
    for (size_t i = 0; i < m->n; i++)
        if (!(m->st[i] & M_REG))
            m->absent[nabs++] = (uint32_t)i;
    size_t knew = 0;
    tenreg_batch *b = batch_new(m);
    for (size_t j = 0; j < ops; j++) {
        unsigned kind = (unsigned)(j % 5);
        if (kind == 2 && knew < nabs) { /* an id not registered (setup made enough) */
            size_t r = knew + (size_t)(bench_rng(&m->rng) % (nabs - knew));
            uint32_t t = m->absent[r];
            m->absent[r] = m->absent[knew];
            m->absent[knew++] = t;
            op_register(m, b, t, m->st[t] & M_ALT);
            continue;
        }
        size_t i = kind == 4 ? pick(m, M_REG, M_EDGE) : SIZE_MAX;
        if (i != SIZE_MAX) {
            op_edge(m, b, i);
        } else if (kind == 3) {
            op_unregister(m, b, pick_registered(m));
        } else { /* a move; also instead of a new id or an extra host when none is left */
            i = pick_registered(m);
            op_register(m, b, i, !(m->st[i] & M_ALT));
        }
    }
    return b;
}

/* REPLACE_ALL to the desired set: the model with the S_CHANGE ids on their
 * other URL and the S_FLIP ids' registration flipped. *@ops: its ops,
 * *@changed: the ids it changes. */
static tenreg_batch *build_sync(struct cm *m, size_t *ops, size_t *changed)
{
    m->epoch++;
    tenreg_batch *b = batch_new(m);
    size_t k = 0, ch = 0;
    for (size_t i = 0; i < m->n; i++) {
        uint8_t s = m->st[i];
        if (m->sync_mark[i] == S_FLIP) {
            ch++;
            if (s & M_REG) { /* not named: the commit unregisters it */
                m->st[i] = s & M_ALT;
                m->registered--;
            } else {
                op_register(m, b, i, s & M_ALT);
                k++;
            }
        } else if (s & M_REG) {
            if (m->sync_mark[i] == S_CHANGE) {
                op_register(m, b, i, !(s & M_ALT));
                ch++;
            } else {
                rec(tenreg_batch_keep(b, ts_id(m->ts, i)), "keep", ts_id(m->ts, i));
            }
            k++;
        }
    }
    *ops = k;
    *changed = ch;
    return b;
}

/* ---- windows ---------------------------------------------------------------- */

static void failed(struct cm *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failed(struct cm *m, const char *fmt, ...)
{
    struct commit_report *r = &m->run->commits;
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    fprintf(stderr, "tenreg-bench: commits: %s\n", what);
    if (!r->failed) {
        r->failed = true;
        snprintf(r->failure, sizeof(r->failure), "%s", what);
    }
}

/* The commit window: every batch, back to back, each timed alone. */
static void commit_all(void *arg)
{
    struct cm *m = arg;
    struct commit_kind *k = m->kind;
    for (unsigned i = 0; i < m->nb; i++) {
        double c0 = bench_thread_cpu(), t0 = bench_now();
        int rc = tenreg_batch_commit(m->b[i], m->flags);
        double t1 = bench_now(), c1 = bench_thread_cpu();
        if (rc != 0) {
            /* the later batches were built on this one's result */
            failed(m, "%s commit %u of %u answered %s (%s)", k->what, i + 1, m->nb,
                   tenreg_err_name(rc), tenreg_strerror(rc));
            return;
        }
        size_t cnt = tenreg_count(m->reg);
        k->commit_cpu_ms[k->n] = (c1 - c0) * 1e3;
        k->commit_ms[k->n++] = (t1 - t0) * 1e3;
        if (cnt < k->tenants_min || !k->tenants_min)
            k->tenants_min = cnt;
        if (cnt > k->tenants_max)
            k->tenants_max = cnt;
        if (cnt != m->expect[i]) {
            m->run->commits.count_wrong++;
            failed(m, "%s commit %u: tenreg_count %zu, the model says %zu", k->what, i + 1,
                   cnt, m->expect[i]);
        }
    }
}

/* Waits (at most 10 s) until the registry has no deferred frees left. */
static void settle(struct cm *m)
{
    double t0 = bench_now();
    tenreg_stats s;
    while (tenreg_stats_of(m->reg, &s) == 0 && s.deferred > 0 && bench_now() - t0 < 10) {
        struct timespec d = {0, 5 * 1000 * 1000};
        nanosleep(&d, NULL);
    }
}

static void window(struct cm *m, const char *set, const char *impl, double seconds,
                   void (*during)(void *), struct phase_result *pr)
{
    const struct bench_cfg *cfg = &m->run->cfg;
    struct phase ph = {0};
    ph.set = set;
    ph.impl = impl;
    ph.tbl = m->reg;
    ph.reader = cm_reader;
    ph.st = m->run->cold;
    ph.readers = COMMIT_READERS;
    ph.seconds = seconds;
    ph.warmup = cfg->warmup_s;
    ph.sample_mask = cfg->sample_every - 1;
    ph.qs_every = cfg->qs_every;
    ph.pin = cfg->pin;
    ph.during = during;
    ph.during_arg = m;
    settle(m);
    bench_progress(m->run, "%s %-16s %u readers%s", set, impl, COMMIT_READERS,
                   during ? " + commits back to back" : "");
    phase_run(&ph, pr);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void med_max(const double *v, unsigned n, double *med, double *max)
{
    double s[MAX_COMMITS];
    if (!n) {
        *med = *max = 0;
        return;
    }
    memcpy(s, v, n * sizeof(double));
    qsort(s, n, sizeof(double), cmp_double);
    *med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    *max = s[n - 1];
}

/* One kind: build @nb batches, then the commit window and its quiet twin. */
static void run_kind(struct cm *m, struct commit_kind *k, bool sync, unsigned nb, size_t ops)
{
    const char *set = sync ? "c-sync" : "c-10k";
    m->b = calloc(nb, sizeof(*m->b));
    m->expect = calloc(nb, sizeof(*m->expect));
    m->nb = nb;
    m->flags = sync ? TENREG_BATCH_REPLACE_ALL : 0;
    m->kind = k;
    bench_progress(m->run, "commits: building %u %s batches", nb, k->what);
    size_t changed = 0;
    for (unsigned i = 0; i < nb; i++) {
        double t0 = bench_now();
        size_t o = ops, ch = ops;
        m->b[i] = sync ? build_sync(m, &o, &ch) : build_small(m, ops);
        k->build_ms[i] = (bench_now() - t0) * 1e3;
        m->expect[i] = m->registered;
        if (i == 0 || o < k->ops_min)
            k->ops_min = o;
        if (o > k->ops_max)
            k->ops_max = o;
        changed += ch;
    }
    k->changed = changed / nb;
    k->built = nb;
    struct phase_result busy, quiet;
    window(m, set, "tenreg commits", 10, commit_all, &busy); /* 10 s: sizes the samples */
    k->window_s = busy.seconds;
    window(m, set, "tenreg quiet", busy.seconds, NULL, &quiet);
    run_keep(m->run, &busy);
    run_keep(m->run, &quiet);
    med_max(k->commit_ms, k->n, &k->commit_med, &k->commit_max);
    med_max(k->build_ms, nb, &k->build_med, &k->build_max);
    double cpu_max;
    med_max(k->commit_cpu_ms, k->n, &k->cpu_med, &cpu_max);
    bench_progress(m->run, "commits: %s: %u commits, median %.1f ms (CPU %.1f ms), max %.1f ms",
                   k->what, k->n, k->commit_med, k->cpu_med, k->commit_max);
    for (unsigned i = 0; i < nb; i++)
        tenreg_batch_free(m->b[i]);
    free(m->b);
    free(m->expect);
    m->b = NULL;
    m->expect = NULL;
}

/* Every id's hosts against the model; one read section per id. */
static void check_all(struct cm *m)
{
    struct commit_report *r = &m->run->commits;
    for (size_t i = 0; i < m->n; i++) {
        uint8_t s = m->st[i];
        char h[3][TENREG_HOST_KEY_MAX + 1];
        host_of(m->ts, i, s & M_ALT, h[0]);   /* its host */
        host_of(m->ts, i, !(s & M_ALT), h[1]); /* its other host */
        edge_of(m->ts, i, h[2]);
        bool want[3] = {(s & M_REG) != 0, false, (s & M_REG) && (s & M_EDGE)};
        tenreg_read_lock();
        for (int j = 0; j < 3; j++) {
            tenreg_resolution res;
            int rc = tenreg_resolve_by_host(m->reg, h[j], strlen(h[j]), &res);
            bool ok = want[j] ? rc == 0 && !strcmp(res.tenant_id, ts_id(m->ts, i))
                              : rc == TENREG_ENOENT;
            r->checked++;
            if (!ok && r->wrong++ < 5)
                fprintf(stderr,
                        "tenreg-bench: commits: %s (%s) answers %s%s%s, the model says %s\n",
                        h[j], ts_id(m->ts, i), tenreg_err_name(rc), rc == 0 ? " " : "",
                        rc == 0 ? res.tenant_id : "", want[j] ? ts_id(m->ts, i) : "ENOENT");
        }
        tenreg_read_unlock();
    }
}

void commits_run(struct bench_run *run, const struct tset *ts, const struct stream *cs,
                 void *cold_tr)
{
    const struct bench_cfg *c = &run->cfg;
    struct commit_report *r = &run->commits;
    struct cm m = {.run = run, .ts = ts, .reg = tr_registry(cold_tr), .n = c->cold_tenants};
    (void)cs;
    m.rng = c->seed + 40;
    m.st = calloc(m.n, 1);
    m.sync_mark = calloc(m.n, 1);
    m.stamp = calloc(m.n, sizeof(*m.stamp));
    m.absent = malloc(m.n * sizeof(*m.absent));
    if (!m.st || !m.sync_mark || !m.stamp || !m.absent) {
        fprintf(stderr, "tenreg-bench: commits: out of memory\n");
        exit(1);
    }
    size_t ops = c->commit_ops < m.n / 5 ? c->commit_ops : m.n / 5;
    r->small.what = "10k-op";
    r->sync.what = "sync";
    r->mix[0] = (unsigned)(ops / 5 * 2 + (ops % 5 > 0) + (ops % 5 > 1));
    r->mix[1] = (unsigned)(ops / 5 + (ops % 5 > 2));
    r->mix[2] = (unsigned)(ops / 5 + (ops % 5 > 3));
    r->mix[3] = (unsigned)(ops / 5);

    /* What the cold set left registered: its writer's churn set changed. */
    bench_progress(run, "commits: reading the cold registry's ids; the setup sync");
    for (size_t i = 0; i < m.n; i++) {
        tenreg_health h;
        if (tenreg_health_of(m.reg, ts_id(ts, i), &h) == 0) {
            m.st[i] = M_REG;
            m.registered++;
        }
        uint64_t s = (c->seed + 41) ^ ((uint64_t)i * 0x9e3779b97f4a7c15ULL);
        double u = (double)(bench_rng(&s) >> 11) * 0x1p-53;
        m.sync_mark[i] = u < c->sync_change / 100 ? S_FLIP : u < c->sync_change ? S_CHANGE : S_NONE;
    }
    r->tenants = m.registered;
    /* The pool: as many ids as a small batch registers, evenly spread. */
    size_t pool = ops / 5 ? ops / 5 : 1, stride = m.n / pool;
    m.epoch++;
    tenreg_batch *setup = batch_new(&m);
    for (size_t i = 0; i < m.n; i++) {
        if (!(m.st[i] & M_REG))
            continue;
        if (i % stride == stride / 2 && i / stride < pool) {
            m.st[i] = 0;
            m.registered--;
            r->pool++;
        } else {
            rec(tenreg_batch_keep(setup, ts_id(ts, i)), "keep", ts_id(ts, i));
        }
    }
    double t0 = bench_now();
    int rc = tenreg_batch_commit(setup, TENREG_BATCH_REPLACE_ALL);
    r->setup_ms = (bench_now() - t0) * 1e3;
    tenreg_batch_free(setup);
    if (rc != 0)
        failed(&m, "the setup sync answered %s (%s)", tenreg_err_name(rc),
               tenreg_strerror(rc));
    else if (tenreg_count(m.reg) != m.registered)
        failed(&m, "after the setup sync tenreg_count is %zu, the model says %zu",
               tenreg_count(m.reg), m.registered);

    if (!r->failed)
        run_kind(&m, &r->small, false, c->commits, ops);
    if (!r->failed)
        run_kind(&m, &r->sync, true, c->syncs, 0);
    if (!r->failed) {
        bench_progress(run, "commits: checking every id's hosts");
        check_all(&m);
        if (r->wrong)
            failed(&m, "%llu of %llu host answers differ from the model",
                   (unsigned long long)r->wrong, (unsigned long long)r->checked);
    }
    r->done = true;
    free(m.st);
    free(m.sync_mark);
    free(m.stamp);
    free(m.absent);
}
