/*
 * reader_loop.h - the reader thread body, compiled into each impl_*.c with
 * that implementation's lookup inlined (always_inline + a constant function
 * pointer), so every implementation runs the very same loop.
 *
 * Each reader walks the shared stream from its own offset. One call in
 * sample_mask + 1 is timed with rdtsc/rdtscp (fenced); the timer's own
 * cost is measured separately and printed. The phase state is polled every
 * 256 lookups: WARM (not counted), MEASURE, STOP.
 */
#ifndef BENCH_READER_LOOP_H
#define BENCH_READER_LOOP_H

#include "bench.h"

/* Returns a tenreg code: 0, TENREG_EPENDING, TENREG_ENOENT, ... */
typedef int (*bench_lookup_fn)(void *tbl, const char *host, size_t len, struct reader_ctx *c);

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
    size_t pos = ((st->n / ph->readers) * c->id + 7919u * c->id) & st->mask;
    uint64_t cnt[16] = {0};
    const uint64_t k0 = (uint64_t)c->id * 17u; /* samples of different threads interleave */
    uint64_t k = k0;
    c->start_pos = pos;
    int state = PH_WARM;
    double t0 = 0, c0 = 0;
    long v0 = 0, iv0 = 0;

    pthread_barrier_wait(&ph->barrier);
    for (;;) {
        int s = atomic_load_explicit(&ph->state, memory_order_relaxed);
        if (BENCH_UNLIKELY(s != state)) {
            if (s == PH_MEASURE && state == PH_WARM) {
                for (int i = 0; i < 16; i++)
                    cnt[i] = 0;
                c->nsamples = 0;
                t0 = bench_now();
                c0 = bench_thread_cpu();
                bench_thread_csw(&v0, &iv0);
                state = PH_MEASURE;
            } else if (s == PH_STOP) {
                if (state != PH_MEASURE) {
                    /* Never saw the window (preempted throughout): count
                     * nothing rather than warm-up lookups. */
                    for (int i = 0; i < 16; i++)
                        cnt[i] = 0;
                    c->nsamples = 0;
                }
                if (state == PH_MEASURE) {
                    c->seconds = bench_now() - t0;
                    c->cpu_s = bench_thread_cpu() - c0;
                    long v1, iv1;
                    bench_thread_csw(&v1, &iv1);
                    c->vcsw = v1 - v0;
                    c->ivcsw = iv1 - iv0;
                }
                break;
            }
        }
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
    c->total = k - k0;
    uint64_t ops = 0;
    for (int i = 0; i < 16; i++) {
        c->cnt[i] = cnt[i];
        ops += cnt[i];
    }
    c->ops = ops;
}

#endif
