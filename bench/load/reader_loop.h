/*
 * reader_loop.h - the reader thread bodies, compiled into each impl_*.c
 * with that implementation's lookup inlined (always_inline + a constant
 * function pointer), so every implementation runs the very same loop.
 *
 * Each reader walks the shared stream from its own offset. One call in
 * sample_mask + 1 is timed with rdtsc/rdtscp (fenced); the timer's own
 * cost is measured separately and printed. The phase state is polled every
 * 256 lookups: WARM (not counted), MEASURE, STOP.
 *
 * reader_loop() makes one call per lookup; reader_loop_batch() one call
 * per BENCH_BATCH consecutive stream entries (the batch rows). Both count
 * lookups, not calls, and account every answer alike: by code, and a
 * lazy tenant's EPENDING in the lazy accounting. The batch loop times one
 * call in (sample_mask + 1) / BENCH_BATCH, so both time the same share of
 * lookups, and its latency samples are of a whole call.
 */
#ifndef BENCH_READER_LOOP_H
#define BENCH_READER_LOOP_H

#include "bench.h"

/* Returns a tenreg code: 0, TENREG_EPENDING, TENREG_ENOENT, ... */
typedef int (*bench_lookup_fn)(void *tbl, const char *host, size_t len, struct reader_ctx *c);

/* BENCH_BATCH lookups: rc[i] is the tenreg code of q[i]. */
typedef void (*bench_lookup_batch_fn)(void *tbl, const tenreg_query *q, int *rc,
                                      struct reader_ctx *c);

/* The measured window of one reader. */
struct reader_window {
    int state;
    double t0, c0;
    long v0, iv0;
};

/* Polls the phase state (every 256 lookups); returns false at STOP. */
static inline __attribute__((always_inline)) bool reader_poll(struct reader_ctx *c,
                                                              struct reader_window *w,
                                                              uint64_t *cnt)
{
    int s = atomic_load_explicit(&c->ph->state, memory_order_relaxed);
    if (BENCH_LIKELY(s == w->state))
        return true;
    if (s == PH_MEASURE && w->state == PH_WARM) {
        for (int i = 0; i < 16; i++)
            cnt[i] = 0;
        c->nsamples = 0;
        w->t0 = bench_now();
        w->c0 = bench_thread_cpu();
        bench_thread_csw(&w->v0, &w->iv0);
        w->state = PH_MEASURE;
    } else if (s == PH_STOP) {
        if (w->state != PH_MEASURE) {
            /* Never saw the window (preempted throughout): count
             * nothing rather than warm-up lookups. */
            for (int i = 0; i < 16; i++)
                cnt[i] = 0;
            c->nsamples = 0;
        }
        if (w->state == PH_MEASURE) {
            c->seconds = bench_now() - w->t0;
            c->cpu_s = bench_thread_cpu() - w->c0;
            long v1, iv1;
            bench_thread_csw(&v1, &iv1);
            c->vcsw = v1 - w->v0;
            c->ivcsw = iv1 - w->iv0;
        }
        return false;
    }
    return true;
}

static inline __attribute__((always_inline)) void reader_done(struct reader_ctx *c,
                                                              const uint64_t *cnt,
                                                              uint64_t lookups)
{
    c->total = lookups;
    uint64_t ops = 0;
    for (int i = 0; i < 16; i++) {
        c->cnt[i] = cnt[i];
        ops += cnt[i];
    }
    c->ops = ops;
}

static inline size_t reader_start_pos(const struct reader_ctx *c)
{
    const struct stream *st = c->ph->st;
    return ((st->n / c->ph->readers) * c->id + 7919u * c->id) & st->mask;
}

static inline __attribute__((always_inline)) void reader_loop(struct reader_ctx *c,
                                                              bench_lookup_fn lookup)
{
    struct phase *ph = c->ph;
    const struct stream *st = ph->st;
    const struct stream_entry *ent = st->e;
    const char *sbuf = st->buf;
    void *tbl = ph->tbl;
    struct lazy_acct *acct = ph->acct;
    const uint64_t smask = ph->sample_mask;
    size_t pos = reader_start_pos(c);
    uint64_t cnt[16] = {0};
    const uint64_t k0 = (uint64_t)c->id * 17u; /* samples of different threads interleave */
    uint64_t k = k0;
    struct reader_window w = {.state = PH_WARM};
    c->start_pos = pos;

    pthread_barrier_wait(&ph->barrier);
    while (reader_poll(c, &w, cnt)) {
        for (int b = 0; b < 256; b++) {
            const struct stream_entry *e = &ent[pos];
            pos = (pos + 1) & st->mask;
            int rc;
            if (BENCH_UNLIKELY((k++ & smask) == 0)) {
                uint64_t a = tsc_begin();
                rc = lookup(tbl, sbuf + e->off, e->len, c);
                uint64_t z = tsc_end();
                if (c->nsamples < c->cap)
                    c->samples[c->nsamples++] = z - a;
            } else {
                rc = lookup(tbl, sbuf + e->off, e->len, c);
            }
            cnt[(unsigned)(-rc) & 15u]++;
            if (BENCH_UNLIKELY(rc == TENREG_EPENDING))
                acct_pending(acct, e->tenant);
        }
    }
    reader_done(c, cnt, k - k0);
}

static inline __attribute__((always_inline)) void reader_loop_batch(struct reader_ctx *c,
                                                                    bench_lookup_batch_fn lookup)
{
    _Static_assert(256 % BENCH_BATCH == 0, "a poll period holds whole batches");
    struct phase *ph = c->ph;
    const struct stream *st = ph->st;
    const struct stream_entry *ent = st->e;
    const char *sbuf = st->buf;
    void *tbl = ph->tbl;
    struct lazy_acct *acct = ph->acct;
    const uint64_t smask =
        ph->sample_mask + 1 > BENCH_BATCH ? (ph->sample_mask + 1) / BENCH_BATCH - 1 : 0;
    size_t pos = reader_start_pos(c);
    uint64_t cnt[16] = {0};
    uint64_t k = (uint64_t)c->id * 17u; /* calls; samples of different threads interleave */
    uint64_t lookups = 0;
    struct reader_window w = {.state = PH_WARM};
    c->start_pos = pos;

    pthread_barrier_wait(&ph->barrier);
    while (reader_poll(c, &w, cnt)) {
        for (int b = 0; b < 256 / BENCH_BATCH; b++) {
            tenreg_query q[BENCH_BATCH];
            int rc[BENCH_BATCH];
            size_t p0 = pos;
            for (int i = 0; i < BENCH_BATCH; i++) {
                const struct stream_entry *e = &ent[pos];
                pos = (pos + 1) & st->mask;
                q[i].host = sbuf + e->off;
                q[i].len = e->len;
            }
            if (BENCH_UNLIKELY((k++ & smask) == 0)) {
                uint64_t a = tsc_begin();
                lookup(tbl, q, rc, c);
                uint64_t z = tsc_end();
                if (c->nsamples < c->cap)
                    c->samples[c->nsamples++] = z - a;
            } else {
                lookup(tbl, q, rc, c);
            }
            for (int i = 0; i < BENCH_BATCH; i++) {
                cnt[(unsigned)(-rc[i]) & 15u]++;
                if (BENCH_UNLIKELY(rc[i] == TENREG_EPENDING))
                    acct_pending(acct, ent[(p0 + (size_t)i) & st->mask].tenant);
            }
        }
        lookups += 256;
    }
    reader_done(c, cnt, lookups);
}

#endif
