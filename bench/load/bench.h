/*
 * bench.h - shared declarations of tenreg-bench, the load benchmark.
 *
 * The pieces (run.h declares the ones above the line):
 *   main.c         the order of things: workload, sets, targets, report
 *   options.c      flags -> struct bench_cfg
 *   sysinfo.c      the machine: CPU model, load average, RSS, heap, timer
 *   run.c          the run record: phase results kept, found; progress lines
 *   matrix.c       the impl x set table, and running one set's cells of it
 *   registries.c   timed registrations and their bytes per tenant
 *   lazy.c         the lazy warm-up and the factory-call accounting
 *   wild.c         the wildcard workload: pattern holders, its registries
 *   commits.c      the batch commits (issue 12): 10k-op batches, REPLACE_ALL
 *                  syncs, readers during and without them
 *   targets.c      the targets, computed from the run record
 *   report_text.c  the table (default output)
 *   report_json.c  --json
 *   flavors.c      --flavor both / qsbr: running tenreg-bench-qsbr
 *   ----
 *   workload.c     tenant names, ids, URLs; the Host streams (Zipf / uniform)
 *   runner.c       reader and writer threads, one phase, latency sampling
 *   impl_*.c       what is measured: tenreg and the three baselines
 *   hooks.c        white-box glue: the tenreg internals the bench reads (hooks.h)
 *
 * Every implementation gets the same stream, the same normalization
 * (tenreg_normalize_host) and the same keyed hash (the library's
 * tenreg__hash), and its reader loop is compiled from reader_loop.h with
 * its lookup inlined, so no implementation pays an indirect call the
 * others do not. The batch rows (tenreg_resolve_many, the floor's batch
 * variant) use that file's batch loop: one call per BENCH_BATCH entries.
 */
#ifndef BENCH_H
#define BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tenreg.h"

#ifdef BENCH_QSBR
#define BENCH_FLAVOR "qsbr"
#else
#define BENCH_FLAVOR "memb"
#endif

#define BENCH_LIKELY(x) __builtin_expect(!!(x), 1)
#define BENCH_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- configuration ------------------------------------------------------ */

struct bench_cfg {
    size_t tenants;          /* hot registry size */
    double lazy_frac;        /* share of hot tenants registered lazily */
    unsigned factory_us;     /* lazy factory sleep */
    size_t cold_tenants;     /* cold registry size; also the registration-time count */
    size_t stream_len;       /* hosts per stream, rounded up to a power of two */
    double mixed_case, port443, unknown, urls;
    double zipf_s;
    unsigned readers;        /* reader threads; 0 = all cores */
    double writer_rate;      /* writer ops/s */
    double writer_tick_us;   /* shortest writer sleep */
    double churn_frac;       /* share of tenants the writer works on */
    double phase_s, warmup_s, lazy_warm_s, drain_timeout_s;
    double batch_phase_s;    /* measured seconds of a batch row's phase */
    bool no_batch;           /* skip the batch rows (issue 13) */
    unsigned builders;       /* tenreg builder threads */
    unsigned sample_every;   /* time one call in this many (power of two) */
    unsigned qs_every;       /* qsbr: tenreg_quiescent() every this many lookups */
    uint64_t seed;
    unsigned reps;           /* run every phase this many times, keep the fastest */
    unsigned pair_reps;      /* alternated readers-only phases: rounds */
    bool json, quiet, pin, no_cold, no_hot, no_reg;
    bool no_commits;         /* skip the batch-commit phase (issue 12) */
    unsigned commits;        /* 10k-op commits in their window */
    unsigned syncs;          /* REPLACE_ALL syncs in theirs */
    size_t commit_ops;       /* ops of one small batch (10,000) */
    double sync_change;      /* share of the tenants a sync changes (0.01) */
    bool wildcard;           /* run the wildcard workload (issue 10) */
    double wild_patterns;    /* share of its tenants that hold a pattern */
    double wild_hits;        /* share of its mixed stream under a pattern */
    const char *flavor;      /* memb, qsbr or both */
};

/* ---- workload (workload.c) ---------------------------------------------- */

/* Tenants 0..n-1 and an unknown-host pool. Strings live in one buffer. */
struct tset {
    size_t n, n_unknown;
    char *buf;
    uint32_t *host_off, *id_off, *url_off; /* n + n_unknown hosts; n ids, urls */
    uint8_t *host_len, *id_len, *url_len;
    uint8_t *lazy;                         /* 1 if tenant i is lazy (hot registry) */
    char *platforms;                       /* platform of tenant i = platforms + i */
};

static inline const char *ts_host(const struct tset *ts, size_t i)
{
    return ts->buf + ts->host_off[i];
}
static inline const char *ts_id(const struct tset *ts, size_t i)
{
    return ts->buf + ts->id_off[i];
}
static inline const char *ts_url(const struct tset *ts, size_t i)
{
    return ts->buf + ts->url_off[i];
}

struct tset *tset_new(size_t n, size_t n_unknown, double lazy_frac, uint64_t seed);
void tset_free(struct tset *ts);

#define STREAM_UNKNOWN UINT32_MAX

struct stream_entry {
    uint32_t off;     /* into stream buf */
    uint32_t tenant;  /* STREAM_UNKNOWN for unknown hosts */
    uint16_t len;
    uint16_t kind;    /* bit 0 mixed case, bit 1 :443, bit 2 URL, bit 3 under a pattern */
};

struct stream {
    size_t n, mask;
    char *buf;
    struct stream_entry *e;
    /* what was drawn, for the report */
    size_t n_mixed, n_port, n_url, n_unknown, n_pattern;
    size_t distinct;  /* distinct tenants drawn */
};

/* Draws from tenants 0..domain-1: Zipf(s) over ranks mapped to tenants by
 * a fixed random permutation when s > 0, uniform when s == 0. A share
 * cfg->unknown of the entries are unknown hosts. */
struct stream *stream_new(const struct tset *ts, size_t domain, double zipf_s,
                          const struct bench_cfg *cfg, uint64_t seed);

/* The wildcard workload's streams: what the entries that are not unknown
 * hosts are. The drawn tenant is the same Zipf draw as stream_new's. */
struct stream_mix {
    double unknown;         /* share of unknown hosts (from the unknown pool) */
    double pattern;         /* share of "x<k>.NAME" under the drawn tenant's
                               pattern (redrawn until it holds one) */
    bool miss4;             /* every entry: an unknown host of exactly 4 labels */
    double holders;         /* share of tenants that hold a pattern (wild_holds) */
};
struct stream *stream_new_mix(const struct tset *ts, size_t domain, double zipf_s,
                              const struct bench_cfg *cfg, const struct stream_mix *mix,
                              uint64_t seed);
void stream_free(struct stream *st);

/* Whether tenant @i holds a pattern when a share @frac of tenants do: an
 * even spread, so every stretch of tenant indices (the writer's churn set,
 * 0..nchurn-1, too) holds its share. */
static inline bool wild_holds(size_t i, double frac)
{
    return (size_t)((double)(i + 1) * frac) > (size_t)((double)i * frac);
}
/* The pattern of tenant @i: "*." and its host without the first label
 * ("rtb.acme-3k.co.uk" -> "*.acme-3k.co.uk"): unique per tenant, and no
 * other tenant's host lies under it. @out holds TENREG_HOST_KEY_MAX + 3. */
size_t ts_pattern(const struct tset *ts, size_t i, char *out);

uint64_t bench_rng(uint64_t *state);
double bench_now(void);                 /* CLOCK_MONOTONIC seconds */
double bench_thread_cpu(void);          /* CLOCK_THREAD_CPUTIME_ID seconds */
void bench_thread_csw(long *vol, long *invol); /* getrusage(RUSAGE_THREAD) */

/* ---- timing ------------------------------------------------------------- */

static inline uint64_t tsc_begin(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t tsc_end(void)
{
    uint32_t lo, hi, aux;
    __asm__ volatile("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi), "=c"(aux)::"memory");
    return ((uint64_t)hi << 32) | lo;
}
extern double bench_tsc_per_ns;
void bench_tsc_calibrate(void);
/* Median of an empty timed region, in ticks. */
uint64_t bench_timer_overhead_ticks(void);

/* ---- lazy accounting ---------------------------------------------------- */

/* Per-tenant counters of the hot tenreg registry: the factory counts its
 * calls per tenant, readers mark a lazy tenant's first EPENDING. Tenants
 * the writer churns (index < nchurn) are re-registered, so they are
 * counted apart: for every other lazy tenant, factory calls must equal
 * "was hit" exactly. */
struct lazy_acct {
    size_t n, nchurn;
    _Atomic uint8_t *hit;
    _Atomic uint32_t *calls;
    _Atomic uint64_t first_hits;        /* non-churned tenants */
    _Atomic uint64_t factory_calls;     /* all */
    _Atomic uint64_t churn_factory_calls;
    _Atomic uint64_t factory_ns;        /* time spent inside factories */
    unsigned factory_us;
    char *platforms;
    uint8_t *consumed;                  /* stream entries some reader looked up */
    size_t stream_n;
};

static inline void acct_pending(struct lazy_acct *a, uint32_t tenant)
{
    if (!a || tenant == STREAM_UNKNOWN || tenant < a->nchurn || tenant >= a->n)
        return;
    if (atomic_load_explicit(&a->hit[tenant], memory_order_relaxed))
        return;
    if (atomic_exchange_explicit(&a->hit[tenant], 1, memory_order_relaxed) == 0)
        atomic_fetch_add_explicit(&a->first_hits, 1, memory_order_relaxed);
}

/* ---- phases (runner.c) -------------------------------------------------- */

enum { PH_WARM = 0, PH_MEASURE = 1, PH_STOP = 2 };

struct phase;

struct reader_ctx {
    struct phase *ph;
    unsigned id;
    unsigned qs;                /* qsbr: lookups since the last quiescent state */
    size_t start_pos;           /* first stream entry this reader looked up */
    uint64_t total;             /* lookups done, warm-up included */
    uintptr_t sink;             /* keeps results alive */
    uint64_t cnt[16];           /* by -rc */
    uint64_t ops;
    double seconds;
    double cpu_s;               /* this thread's CPU time in the window */
    long vcsw, ivcsw;           /* context switches in the window: voluntary
                                   (the thread slept, e.g. on a lock) and
                                   involuntary (preempted by other work) */
    uint64_t *samples;
    size_t nsamples, cap;
    char pad[64];
};

/* What the writer thread does to a table; slot = tenant index. Each
 * returns a tenreg code (0 when the op did what it said). */
struct writer_ops {
    int (*reg)(void *tbl, uint32_t slot);        /* (re-)register, kind of tset->lazy */
    int (*unreg)(void *tbl, uint32_t slot);
    int (*recheck)(void *tbl, uint32_t slot);
    void (*thread_begin)(void);
    void (*thread_end)(void);
    void (*between_ops)(void);                    /* qsbr: quiescent state */
};

/* The writer's view of a table: which churn slots are registered now. */
struct churn {
    size_t nchurn;
    uint8_t *registered;
    uint64_t rng;
};
struct churn *churn_new(size_t nchurn, uint64_t seed);
void churn_free(struct churn *c);

struct phase {
    const char *set;            /* "hot" / "cold" */
    const char *impl;           /* display name */
    void *tbl;
    void *(*reader)(void *);    /* thread body: reader_loop() with the impl's lookup */
    const struct writer_ops *wops;
    struct churn *churn;
    const struct stream *st;
    struct lazy_acct *acct;
    unsigned readers;
    double seconds, warmup;
    unsigned sample_mask, qs_every;
    bool pin, quiet;
    _Atomic int state;
    pthread_barrier_t barrier;
    double writer_rate;
    double writer_tick;         /* shortest writer sleep, seconds */
    /* NULL: the measured window lasts @seconds. Else this runs on the
     * thread that called phase_run, the window lasts as long as it does,
     * and @seconds only sizes the latency sample buffers (the commit
     * windows, commits.c). */
    void (*during)(void *arg);
    void *during_arg;
};

struct phase_result {
    char set[16], impl[32];
    unsigned readers;
    bool writer;
    double seconds;
    double total_per_s;
    double per_thread_per_s[64];
    uint64_t ops, cnt_ok, cnt_pending, cnt_enoent, cnt_einval, cnt_other;
    double p50_ns, p99_ns, p999_ns, max_ns;
    size_t nsamples;
    double writer_ops_per_s;
    uint64_t writer_ops, writer_errors;
    uint64_t w_reg, w_unreg, w_recheck;
    /* CPU used in the measured window, in % of one core: the readers, the
     * writer thread, and everything else (call_rcu, builders, other). */
    double cpu_readers, cpu_writer, cpu_other;
    double cpu_ns_per_lookup;   /* readers' CPU time / lookups: cost per lookup */
    double vcsw_per_s, ivcsw_per_s; /* readers' context switches per second */
};

void phase_run(struct phase *ph, struct phase_result *out);

/* ---- implementations ---------------------------------------------------- */

/* Hosts per call in the batch rows (tenreg_resolve_many, the floor's
 * batch variant). */
#define BENCH_BATCH 16

/* Each *_check_batch resolves the first @n (rounded down to whole
 * batches) entries of @st with the batch lookup and with the single one,
 * and returns how many answers differ; *@checked = the entries checked. */

struct impl_build_info {
    double seconds;            /* time to insert all tenants */
};

/* tenreg (impl_tenreg.c) */
enum tr_mode { TR_MIXED, TR_EAGER, TR_LAZY }; /* TR_MIXED: lazy as tset->lazy says */
void *tr_new(const struct tset *ts, size_t n, enum tr_mode mode, struct lazy_acct *acct,
             const struct bench_cfg *cfg, struct impl_build_info *info);
tenreg_t *tr_registry(void *tbl);
/* Adds the pattern (ts_pattern) of every tenant that wild_holds(i, frac);
 * from then on the writer's registrations of those tenants add it again
 * (a new registration drops extra hosts). Returns the patterns added;
 * exits on an error. */
size_t tr_add_patterns(void *tbl, double frac, struct impl_build_info *info);
/* Returns the seconds tenreg_free took. */
double tr_free(void *tbl);
void *tr_reader(void *arg);
void *tr_reader_batch(void *arg); /* tenreg_resolve_many, BENCH_BATCH per call */
uint64_t tr_check_batch(void *tbl, const struct stream *st, size_t n, uint64_t *checked);
extern const struct writer_ops tr_wops;
struct lazy_acct *acct_new(size_t n, size_t nchurn, unsigned factory_us, char *platforms,
                           size_t stream_n);
void acct_free(struct lazy_acct *a);
/* Platforms freed through platform_free so far (all registries). */
uint64_t tr_platforms_freed(void);

/* (a) floor: unsynchronized open addressing (impl_floor.c) */
void *floor_new(const struct tset *ts, size_t n, uint64_t seed, struct impl_build_info *info);
void floor_free(void *tbl);
void *floor_reader(void *arg);
void *floor_reader_batch(void *arg); /* BENCH_BATCH per call, group prefetching */
uint64_t floor_check_batch(void *tbl, const struct stream *st, size_t n, uint64_t *checked);

/* (b) pthread_rwlock chained table (impl_rwlock.c) */
void *rw_new(const struct tset *ts, size_t n, uint64_t seed, struct impl_build_info *info);
void rw_free(void *tbl);
void *rw_reader(void *arg);
extern const struct writer_ops rw_wops;

/* (c) raw liburcu rculfhash (impl_urcu.c) */
void *ur_new(const struct tset *ts, size_t n, uint64_t seed, struct impl_build_info *info);
void ur_free(void *tbl);
void *ur_reader(void *arg);
extern const struct writer_ops ur_wops;

/* Normalizes @url into @key (TENREG_HOST_KEY_MAX + 1 bytes); aborts on
 * failure: every generated URL normalizes. */
size_t bench_key_of(const char *url, char *key);

#endif
