/*
 * runner.c - one phase: N reader threads on a stream, optionally one writer
 * thread paced at a fixed rate, a warm-up that is not counted, then a timed
 * window (or, for the commit windows, as long as the caller's work takes);
 * per-thread throughput and sampled per-call latency.
 */
#include "bench.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double bench_tsc_per_ns = 1.0;

void bench_tsc_calibrate(void)
{
    double best = 0;
    for (int i = 0; i < 3; i++) {
        double t0 = bench_now();
        uint64_t a = tsc_begin();
        struct timespec d = {0, 40 * 1000 * 1000};
        nanosleep(&d, NULL);
        uint64_t b = tsc_end();
        double t1 = bench_now();
        double r = (double)(b - a) / ((t1 - t0) * 1e9);
        if (i == 0 || r < best)
            best = r;
    }
    bench_tsc_per_ns = best;
}

static double clock_s(clockid_t c)
{
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t bench_timer_overhead_ticks(void)
{
    enum { N = 200001 };
    uint64_t *v = malloc(N * sizeof(uint64_t));
    for (int i = 0; i < N; i++) {
        uint64_t a = tsc_begin();
        uint64_t z = tsc_end();
        v[i] = z - a;
    }
    qsort(v, N, sizeof(uint64_t), cmp_u64);
    uint64_t m = v[N / 2];
    free(v);
    return m;
}

static void pin_self(unsigned cpu)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % (unsigned)n, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

struct writer_ctx {
    struct phase *ph;
    uint64_t ops, errors, n_reg, n_unreg, n_recheck;
    double seconds, cpu_s;
};

/* One op on a churn slot. A slot that is not registered gets registered;
 * a registered one is rechecked (45%), re-registered (35%) or unregistered
 * (20%). In steady state one slot in six is unregistered, and the mix is
 * about 17% register, 37% recheck, 29% re-register, 17% unregister. */
static void writer_op(struct writer_ctx *w)
{
    struct phase *ph = w->ph;
    struct churn *c = ph->churn;
    const struct writer_ops *o = ph->wops;
    uint64_t r = bench_rng(&c->rng);
    uint32_t slot = (uint32_t)((r >> 8) % c->nchurn);
    unsigned pick = (unsigned)(r & 0xff) % 100;
    int rc;
    if (!c->registered[slot]) {
        rc = o->reg(ph->tbl, slot);
        w->n_reg++;
        if (rc == 0)
            c->registered[slot] = 1;
    } else if (pick < 45) {
        rc = o->recheck(ph->tbl, slot);
        w->n_recheck++;
    } else if (pick < 80) {
        rc = o->reg(ph->tbl, slot);
        w->n_reg++;
    } else {
        rc = o->unreg(ph->tbl, slot);
        w->n_unreg++;
        if (rc == 0)
            c->registered[slot] = 0;
    }
    if (rc != 0 && rc != TENREG_EVALIDATOR)
        w->errors++;
    w->ops++;
}

static void *writer_main(void *arg)
{
    struct writer_ctx *w = arg;
    struct phase *ph = w->ph;
    if (ph->wops->thread_begin)
        ph->wops->thread_begin();
    pthread_barrier_wait(&ph->barrier);
    /* Paced by absolute deadlines: op k is due at start + k / rate; the
     * writer sleeps when ahead (at least writer_tick, so a 1 ms tick at
     * 10k ops/s wakes 1,000 times a second and runs ~10 ops per wake-up)
     * and catches up (without bursting more than 100 ops) when behind. */
    double interval = 1.0 / ph->writer_rate;
    int state = PH_WARM;
    double t0 = bench_now(), tm = 0, c0 = 0;
    uint64_t k = 0;
    for (;;) {
        int s = atomic_load_explicit(&ph->state, memory_order_relaxed);
        if (s != state) {
            if (s == PH_MEASURE) {
                w->ops = w->errors = w->n_reg = w->n_unreg = w->n_recheck = 0;
                tm = bench_now();
                c0 = bench_thread_cpu();
                state = s;
            } else if (s == PH_STOP) {
                w->seconds = state == PH_MEASURE ? bench_now() - tm : 0;
                w->cpu_s = state == PH_MEASURE ? bench_thread_cpu() - c0 : 0;
                break;
            }
        }
        double due = t0 + (double)k * interval;
        double now = bench_now();
        if (now < due) {
            /* Sleep to the next op, but at least one tick: ops that fall
             * due within a tick run back to back on one wake-up. */
            struct timespec ts;
            double d = due > now + ph->writer_tick ? due : now + ph->writer_tick;
            ts.tv_sec = (time_t)d;
            ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            continue;
        }
        if (now - due > 100 * interval)
            k = (uint64_t)((now - t0) / interval) - 100;
        writer_op(w);
        if (ph->wops->between_ops)
            ph->wops->between_ops();
        k++;
    }
    if (ph->wops->thread_end)
        ph->wops->thread_end();
    return NULL;
}

static void *reader_trampoline(void *arg)
{
    struct reader_ctx *c = arg;
    if (c->ph->pin)
        pin_self(c->id);
    return c->ph->reader(c);
}

void phase_run(struct phase *ph, struct phase_result *out)
{
    unsigned nr = ph->readers;
    bool has_writer = ph->wops != NULL && ph->writer_rate > 0;
    struct reader_ctx *rc = aligned_alloc(64, sizeof(struct reader_ctx) * nr);
    pthread_t *th = calloc(nr, sizeof(pthread_t));
    pthread_t wth;
    struct writer_ctx wc = {.ph = ph};
    size_t cap = (size_t)(ph->seconds * 40e6 / (double)(ph->sample_mask + 1)) + 1024;

    memset(rc, 0, sizeof(struct reader_ctx) * nr);
    atomic_store(&ph->state, PH_WARM);
    pthread_barrier_init(&ph->barrier, NULL, nr + 1 + (has_writer ? 1 : 0));
    for (unsigned i = 0; i < nr; i++) {
        rc[i].ph = ph;
        rc[i].id = i;
        rc[i].cap = cap;
        rc[i].samples = malloc(cap * sizeof(uint64_t));
        if (pthread_create(&th[i], NULL, reader_trampoline, &rc[i]) != 0) {
            perror("pthread_create");
            exit(1);
        }
    }
    if (has_writer && pthread_create(&wth, NULL, writer_main, &wc) != 0) {
        perror("pthread_create");
        exit(1);
    }
    pthread_barrier_wait(&ph->barrier);
    struct timespec d;
    d.tv_sec = (time_t)ph->warmup;
    d.tv_nsec = (long)((ph->warmup - (double)d.tv_sec) * 1e9);
    nanosleep(&d, NULL);
    /* The CPU split is read here, by this thread, at the same two instants
     * for every thread (pthread_getcpuclockid), so the windows match. */
    unsigned nt = nr + (has_writer ? 1 : 0);
    clockid_t *clk = calloc(nt, sizeof(clockid_t));
    double *tc0 = calloc(nt, sizeof(double)), *tc1 = calloc(nt, sizeof(double));
    for (unsigned i = 0; i < nt; i++)
        pthread_getcpuclockid(i < nr ? th[i] : wth, &clk[i]);
    double pc0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    for (unsigned i = 0; i < nt; i++)
        tc0[i] = clock_s(clk[i]);
    double wall0 = bench_now();
    atomic_store(&ph->state, PH_MEASURE);
    if (ph->during) {
        ph->during(ph->during_arg);
    } else {
        d.tv_sec = (time_t)ph->seconds;
        d.tv_nsec = (long)((ph->seconds - (double)d.tv_sec) * 1e9);
        nanosleep(&d, NULL);
    }
    /* Read before STOP: a thread that saw STOP may have exited before
     * this thread (preempted, e.g. after a commit) reads its clock, which
     * then reads 0. */
    double pc1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    for (unsigned i = 0; i < nt; i++)
        tc1[i] = clock_s(clk[i]);
    double wall = bench_now() - wall0;
    atomic_store(&ph->state, PH_STOP);
    double proc_cpu = pc1 - pc0, rd_cpu = 0, wr_cpu = 0;
    for (unsigned i = 0; i < nt; i++) {
        if (i < nr)
            rd_cpu += tc1[i] - tc0[i];
        else
            wr_cpu = tc1[i] - tc0[i];
    }
    free(clk);
    free(tc0);
    free(tc1);
    for (unsigned i = 0; i < nr; i++)
        pthread_join(th[i], NULL);
    if (has_writer)
        pthread_join(wth, NULL);
    pthread_barrier_destroy(&ph->barrier);

    if (ph->acct && ph->acct->consumed && ph->acct->stream_n == ph->st->n) {
        for (unsigned i = 0; i < nr; i++) {
            if (rc[i].total >= ph->st->n) {
                memset(ph->acct->consumed, 1, ph->st->n);
                break;
            }
            for (uint64_t j = 0; j < rc[i].total; j++)
                ph->acct->consumed[(rc[i].start_pos + j) & ph->st->mask] = 1;
        }
    }
    memset(out, 0, sizeof(*out));
    snprintf(out->set, sizeof(out->set), "%s", ph->set);
    snprintf(out->impl, sizeof(out->impl), "%s", ph->impl);
    out->readers = nr;
    out->writer = has_writer;
    size_t ns = 0;
    double secs = 0;
    for (unsigned i = 0; i < nr; i++) {
        struct reader_ctx *c = &rc[i];
        double r = c->seconds > 0 ? (double)c->ops / c->seconds : 0;
        if (i < 64)
            out->per_thread_per_s[i] = r;
        out->total_per_s += r;
        out->ops += c->ops;
        out->cnt_ok += c->cnt[0];
        out->cnt_enoent += c->cnt[1];
        out->cnt_einval += c->cnt[2];
        out->cnt_pending += c->cnt[4];
        secs += c->seconds;
        ns += c->nsamples;
        out->cpu_readers += c->cpu_s;
        out->vcsw_per_s += c->seconds > 0 ? (double)c->vcsw / c->seconds : 0;
        out->ivcsw_per_s += c->seconds > 0 ? (double)c->ivcsw / c->seconds : 0;
    }
    out->cnt_other = out->ops - out->cnt_ok - out->cnt_enoent - out->cnt_einval - out->cnt_pending;
    out->seconds = secs / nr;
    uint64_t *all = malloc((ns ? ns : 1) * sizeof(uint64_t));
    size_t j = 0;
    for (unsigned i = 0; i < nr; i++) {
        memcpy(all + j, rc[i].samples, rc[i].nsamples * sizeof(uint64_t));
        j += rc[i].nsamples;
        free(rc[i].samples);
    }
    if (ns) {
        qsort(all, ns, sizeof(uint64_t), cmp_u64);
        out->p50_ns = (double)all[ns / 2] / bench_tsc_per_ns;
        out->p99_ns = (double)all[(size_t)((double)ns * 0.99)] / bench_tsc_per_ns;
        out->p999_ns = (double)all[(size_t)((double)ns * 0.999)] / bench_tsc_per_ns;
        out->max_ns = (double)all[ns - 1] / bench_tsc_per_ns;
    }
    out->nsamples = ns;
    free(all);
    if (has_writer) {
        out->writer_ops = wc.ops;
        out->writer_errors = wc.errors;
        out->writer_ops_per_s = wc.seconds > 0 ? (double)wc.ops / wc.seconds : 0;
        out->w_reg = wc.n_reg;
        out->w_unreg = wc.n_unreg;
        out->w_recheck = wc.n_recheck;
    }
    /* Cost per lookup: each reader's own CPU time over its own window. */
    out->cpu_ns_per_lookup = out->ops ? out->cpu_readers * 1e9 / (double)out->ops : 0;
    double other = proc_cpu - rd_cpu - wr_cpu;
    out->cpu_readers = 100 * rd_cpu / wall;
    out->cpu_writer = 100 * wr_cpu / wall;
    out->cpu_other = other > 0 ? 100 * other / wall : 0;
    free(th);
    free(rc);
}
