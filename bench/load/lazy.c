/*
 * lazy.c - the hot registry's lazy tenants: a warm-up of first hits before
 * the measured phases, and the check after them that every lazy tenant a
 * reader reached was built exactly once and no other (the writer's churn
 * set counted apart, since it re-registers).
 */
#include "run.h"

#include <stdlib.h>
#include <time.h>

/* Waits until every non-churned lazy tenant the readers reached has been
 * built (or the timeout passes). */
static double drain(const struct bench_run *run, struct lazy_acct *a, const struct tset *ts,
                    const struct stream *st, size_t n)
{
    double t0 = bench_now();
    uint32_t *want = malloc(n * sizeof(uint32_t));
    uint8_t *seen = calloc(n, 1);
    size_t nw = 0;
    for (size_t j = 0; j < st->n; j++) {
        uint32_t t = st->e[j].tenant;
        if (a->consumed[j] && t != STREAM_UNKNOWN && t < n && t >= a->nchurn && ts->lazy[t] &&
            !seen[t]) {
            seen[t] = 1;
            want[nw++] = t;
        }
    }
    for (;;) {
        size_t done = 0;
        for (size_t i = 0; i < nw; i++)
            done += atomic_load_explicit(&a->calls[want[i]], memory_order_relaxed) > 0;
        if (done == nw || bench_now() - t0 > run->cfg.drain_timeout_s)
            break;
        struct timespec d = {0, 5 * 1000 * 1000};
        nanosleep(&d, NULL);
    }
    free(want);
    free(seen);
    return bench_now() - t0;
}

void lazy_warm_up(struct bench_run *run, void *tr, struct lazy_acct *acct, const struct tset *ts,
                  const struct stream *st, size_t n)
{
    const struct bench_cfg *cfg = &run->cfg;
    bench_progress(run, "lazy warm-up: %.1f s of first hits", cfg->lazy_warm_s);
    struct phase ph = {0};
    struct phase_result pr;
    ph.set = "hot";
    ph.impl = "tenreg warm-up";
    ph.tbl = tr;
    ph.reader = tr_reader;
    ph.st = st;
    ph.acct = acct;
    ph.readers = run->readers;
    ph.seconds = cfg->lazy_warm_s;
    ph.warmup = 0;
    ph.sample_mask = cfg->sample_every - 1;
    ph.qs_every = cfg->qs_every;
    phase_run(&ph, &pr);
    double d = drain(run, acct, ts, st, n);
    run->lazy.drain_s = d;
    bench_progress(run, "lazy warm-up: %llu factory calls, queued builds drained in %.2f s",
                   (unsigned long long)atomic_load(&acct->factory_calls), d);
}

void lazy_final(struct bench_run *run, struct lazy_acct *a, const struct tset *ts,
                const struct stream *st, size_t n)
{
    struct lazy_report *lazy = &run->lazy;
    lazy->drain_s += drain(run, a, ts, st, n);
    /* Which lazy tenants did the readers reach? Those of the stream entries
     * they looked up. With the writer's churn set aside, each of them must
     * have been built exactly once, and no other lazy tenant at all. */
    uint8_t *reached = calloc(n, 1);
    for (size_t j = 0; j < st->n; j++) {
        uint32_t t = st->e[j].tenant;
        if (a->consumed[j] && t != STREAM_UNKNOWN && t < n)
            reached[t] = 1;
    }
    uint64_t mism = 0, lazy_n = 0, nreached = 0;
    for (size_t i = a->nchurn; i < n; i++) {
        if (!ts->lazy[i])
            continue;
        lazy_n++;
        nreached += reached[i];
        if (atomic_load(&a->calls[i]) != (uint32_t)reached[i])
            mism++;
    }
    free(reached);
    lazy->done = true;
    lazy->first_hits = atomic_load(&a->first_hits);
    lazy->churn_calls = atomic_load(&a->churn_factory_calls);
    lazy->factory_calls = atomic_load(&a->factory_calls) - lazy->churn_calls;
    lazy->mismatches = mism;
    lazy->lazy_tenants = lazy_n;
    lazy->reached = nreached;
    uint64_t all = atomic_load(&a->factory_calls);
    lazy->factory_mean_us = all ? (double)atomic_load(&a->factory_ns) / (double)all / 1e3 : 0;
}
