/*
 * main.c - tenreg-bench: the load benchmark of issue 4.
 *
 * One run = one flavor (this binary is linked against libtenreg, memb, or
 * libtenreg-qsbr as tenreg-bench-qsbr: both export the same names, so they
 * cannot share a binary). With --flavor both (the default of tenreg-bench)
 * the memb binary runs its table, then runs tenreg-bench-qsbr from its own
 * directory with the same flags, and prints that table too.
 */
#include "bench.h"
#include "hooks.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- options ------------------------------------------------------------ */

static void defaults(struct bench_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->tenants = 100000;
    c->lazy_frac = 0.20;
    c->factory_us = 1000;
    c->cold_tenants = 1000000;
    c->stream_len = 1u << 20;
    c->mixed_case = 0.30;
    c->port443 = 0.25;
    c->unknown = 0.05;
    c->urls = 0.02;
    c->zipf_s = 1.1;
    c->readers = 0;
    c->writer_rate = 10000;
    c->writer_tick_us = 1000;
    c->churn_frac = 0.10;
    c->phase_s = 2.0;
    c->warmup_s = 0.3;
    c->lazy_warm_s = 1.0;
    c->drain_timeout_s = 30;
    c->builders = 16;
    c->sample_every = 64;
    c->qs_every = 1;
    c->seed = 42;
#ifdef BENCH_QSBR
    c->flavor = "qsbr";
#else
    c->flavor = "both";
#endif
}

static unsigned g_reps = 1;
static unsigned g_pair_reps = 3;

static void usage(FILE *f, const char *prog)
{
    struct bench_cfg d;
    defaults(&d);
    fprintf(f,
            "usage: %s [options]\n"
            "\n"
            "Load benchmark of tenreg (issue 4): reader threads resolve a stream of raw\n"
            "Host values with tenreg_resolve(..., TENREG_NOWAIT) while one writer thread\n"
            "registers, re-registers, unregisters and rechecks at a fixed rate; the same\n"
            "stream runs against three baselines: (a) an unsynchronized open-addressing\n"
            "table (the floor, readers only), (b) a pthread_rwlock hash table, (c) raw\n"
            "liburcu rculfhash. All use tenreg_normalize_host and tenreg's keyed hash.\n"
            "Phases: a hot set (Zipf over the hot registry) and a cold set (uniform over\n"
            "a 1M-tenant registry), then the registration time and bytes per tenant.\n"
            "\n"
            "workload:\n"
            "  --tenants N          hot registry size (default %zu)\n"
            "  --lazy-frac F        share of hot tenants registered lazily (default %.2f)\n"
            "  --factory-us N       lazy factory sleep, microseconds (default %u)\n"
            "  --builders N         tenreg builder threads (default %u)\n"
            "  --cold-tenants N     cold registry size, also the registration-time count (default %zu)\n"
            "  --stream N           Host values per stream, rounded up to 2^k (default %zu)\n"
            "  --mixed-case F       share of Host values in mixed case (default %.2f)\n"
            "  --port443 F          share with ':443' (default %.2f)\n"
            "  --unknown F          share of unknown hosts (default %.2f)\n"
            "  --urls F             share sent as full URLs (default %.2f)\n"
            "  --zipf S             Zipf exponent of the hot set (default %.2f)\n"
            "  --seed N             workload and hash seed (default %llu)\n"
            "threads and time:\n"
            "  --readers N          reader threads, 0 = all cores (default 0)\n"
            "  --writer-rate R      writer ops/s, 0 = no writer (default %.0f)\n"
            "  --writer-tick US     shortest writer sleep: ops due within it run on one\n"
            "                       wake-up (default %.0f; 0 = one sleep per op)\n"
            "  --churn F            share of tenants the writer works on (default %.2f)\n"
            "  --phase S            measured seconds per phase (default %.1f)\n"
            "  --warmup S           uncounted seconds before each phase (default %.1f)\n"
            "  --reps N             run every phase N times, keep the fastest (default 1)\n"
            "  --pair-reps N        floor and tenreg readers-only phases alternate N times;\n"
            "                       each keeps its lowest CPU ns/lookup (default 3)\n"
            "  --lazy-warm S        seconds of first hits before the hot phases (default %.1f)\n"
            "  --drain-timeout S    longest wait for queued lazy builds (default %.0f)\n"
            "  --sample-every N     time one call in N, a power of two (default %u)\n"
            "  --qs-every N         qsbr: tenreg_quiescent() every N lookups (default %u)\n"
            "  --pin                pin reader i to CPU i\n"
            "selection and output:\n"
            "  --flavor F           memb, qsbr or both (default: both for tenreg-bench)\n"
            "  --no-hot, --no-cold, --no-reg   skip the hot phases, the cold phases,\n"
            "                       the 1M registration timing\n"
            "  --quick              a short smoke run (10k/100k tenants, 0.3 s phases)\n"
            "  --json               machine-readable output on stdout\n"
            "  --quiet              no progress lines on stderr\n"
            "  --help               this text\n",
            prog, d.tenants, d.lazy_frac, d.factory_us, d.builders, d.cold_tenants, d.stream_len,
            d.mixed_case, d.port443, d.unknown, d.urls, d.zipf_s, (unsigned long long)d.seed,
            d.writer_rate, d.writer_tick_us, d.churn_frac, d.phase_s, d.warmup_s, d.lazy_warm_s,
            d.drain_timeout_s, d.sample_every, d.qs_every);
}

static double num(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "tenreg-bench: %s wants a number in [%g, %g], got '%s'\n", opt, lo, hi,
                s);
        exit(2);
    }
    return v;
}

enum {
    O_TENANTS = 256, O_LAZY, O_FACTORY, O_BUILDERS, O_COLD, O_STREAM, O_MIXED, O_PORT,
    O_UNKNOWN, O_URLS, O_ZIPF, O_SEED, O_READERS, O_WRATE, O_CHURN, O_PHASE, O_WARMUP, O_REPS,
    O_LWARM, O_DRAIN, O_SAMPLE, O_QS, O_PIN, O_FLAVOR, O_NOHOT, O_NOCOLD, O_NOREG, O_QUICK,
    O_JSON, O_QUIET, O_HELP, O_WTICK, O_PREPS
};

static void parse(int argc, char **argv, struct bench_cfg *c)
{
    static const struct option opts[] = {
        {"tenants", 1, 0, O_TENANTS}, {"lazy-frac", 1, 0, O_LAZY},
        {"factory-us", 1, 0, O_FACTORY}, {"builders", 1, 0, O_BUILDERS},
        {"cold-tenants", 1, 0, O_COLD}, {"stream", 1, 0, O_STREAM},
        {"mixed-case", 1, 0, O_MIXED}, {"port443", 1, 0, O_PORT},
        {"unknown", 1, 0, O_UNKNOWN}, {"urls", 1, 0, O_URLS}, {"zipf", 1, 0, O_ZIPF},
        {"seed", 1, 0, O_SEED}, {"readers", 1, 0, O_READERS},
        {"writer-rate", 1, 0, O_WRATE}, {"writer-tick", 1, 0, O_WTICK}, {"churn", 1, 0, O_CHURN}, {"phase", 1, 0, O_PHASE},
        {"warmup", 1, 0, O_WARMUP}, {"reps", 1, 0, O_REPS}, {"pair-reps", 1, 0, O_PREPS}, {"lazy-warm", 1, 0, O_LWARM},
        {"drain-timeout", 1, 0, O_DRAIN}, {"sample-every", 1, 0, O_SAMPLE},
        {"qs-every", 1, 0, O_QS}, {"pin", 0, 0, O_PIN}, {"flavor", 1, 0, O_FLAVOR},
        {"no-hot", 0, 0, O_NOHOT}, {"no-cold", 0, 0, O_NOCOLD}, {"no-reg", 0, 0, O_NOREG},
        {"quick", 0, 0, O_QUICK}, {"json", 0, 0, O_JSON}, {"quiet", 0, 0, O_QUIET},
        {"help", 0, 0, O_HELP}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        const char *n = optarg;
        switch (o) {
        case O_TENANTS: c->tenants = (size_t)num("--tenants", n, 1, 1 << 24); break;
        case O_LAZY: c->lazy_frac = num("--lazy-frac", n, 0, 1); break;
        case O_FACTORY: c->factory_us = (unsigned)num("--factory-us", n, 0, 1e7); break;
        case O_BUILDERS: c->builders = (unsigned)num("--builders", n, 1, 1024); break;
        case O_COLD: c->cold_tenants = (size_t)num("--cold-tenants", n, 1, 1 << 24); break;
        case O_STREAM: c->stream_len = (size_t)num("--stream", n, 1024, 1 << 24); break;
        case O_MIXED: c->mixed_case = num("--mixed-case", n, 0, 1); break;
        case O_PORT: c->port443 = num("--port443", n, 0, 1); break;
        case O_UNKNOWN: c->unknown = num("--unknown", n, 0, 1); break;
        case O_URLS: c->urls = num("--urls", n, 0, 1); break;
        case O_ZIPF: c->zipf_s = num("--zipf", n, 0, 10); break;
        case O_SEED: c->seed = (uint64_t)num("--seed", n, 1, 9007199254740992.0); break;
        case O_READERS: c->readers = (unsigned)num("--readers", n, 0, 64); break;
        case O_WRATE: c->writer_rate = num("--writer-rate", n, 0, 1e7); break;
        case O_WTICK: c->writer_tick_us = num("--writer-tick", n, 0, 1e6); break;
        case O_CHURN: c->churn_frac = num("--churn", n, 0.0001, 1); break;
        case O_PHASE: c->phase_s = num("--phase", n, 0.01, 3600); break;
        case O_WARMUP: c->warmup_s = num("--warmup", n, 0, 3600); break;
        case O_REPS: g_reps = (unsigned)num("--reps", n, 1, 100); break;
        case O_PREPS: g_pair_reps = (unsigned)num("--pair-reps", n, 1, 100); break;
        case O_LWARM: c->lazy_warm_s = num("--lazy-warm", n, 0, 3600); break;
        case O_DRAIN: c->drain_timeout_s = num("--drain-timeout", n, 0, 3600); break;
        case O_SAMPLE: {
            unsigned v = (unsigned)num("--sample-every", n, 1, 1 << 20);
            if (v & (v - 1)) {
                fprintf(stderr, "tenreg-bench: --sample-every wants a power of two\n");
                exit(2);
            }
            c->sample_every = v;
            break;
        }
        case O_QS: c->qs_every = (unsigned)num("--qs-every", n, 1, 1 << 20); break;
        case O_PIN: c->pin = true; break;
        case O_FLAVOR:
            if (strcmp(n, "memb") && strcmp(n, "qsbr") && strcmp(n, "both")) {
                fprintf(stderr, "tenreg-bench: --flavor wants memb, qsbr or both\n");
                exit(2);
            }
            c->flavor = n;
            break;
        case O_NOHOT: c->no_hot = true; break;
        case O_NOCOLD: c->no_cold = true; break;
        case O_NOREG: c->no_reg = true; break;
        case O_QUICK:
            c->tenants = 10000;
            c->cold_tenants = 100000;
            c->stream_len = 1u << 16;
            c->phase_s = 0.3;
            c->warmup_s = 0.05;
            c->lazy_warm_s = 0.2;
            c->factory_us = 100;
            break;
        case O_JSON: c->json = true; break;
        case O_QUIET: c->quiet = true; break;
        case O_HELP: case 'h': usage(stdout, argv[0]); exit(0);
        default: usage(stderr, argv[0]); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tenreg-bench: unexpected argument '%s'\n", argv[optind]);
        exit(2);
    }
}

/* ---- machine ------------------------------------------------------------ */

static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                p += 2;
                p[strcspn(p, "\n")] = 0;
                snprintf(out, cap, "%s", p);
            }
            break;
        }
    }
    fclose(f);
}

static void loadavg(double v[3])
{
    v[0] = v[1] = v[2] = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &v[0], &v[1], &v[2]) != 3)
            v[0] = v[1] = v[2] = -1;
        fclose(f);
    }
}

static double rss_bytes(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (double)res * (double)sysconf(_SC_PAGESIZE);
}

static double heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (double)mi.uordblks + (double)mi.hblkhd;
}

/* ---- progress ----------------------------------------------------------- */

static struct bench_cfg cfg;
static double t_start;

static void progress(const char *fmt, ...)
{
    if (cfg.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[tenreg-bench %s %6.1fs] ", BENCH_FLAVOR, bench_now() - t_start);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- phases ------------------------------------------------------------- */

#define MAX_PHASES 32
static struct phase_result results[MAX_PHASES];
static int nresults;

static void run_one(const char *set, const char *impl, void *tbl, void *(*reader)(void *),
                    const struct writer_ops *w, struct churn *ch, const struct stream *st,
                    struct lazy_acct *acct, unsigned readers, const char *note,
                    struct phase_result *pr)
{
    progress("%s %-16s %u reader%s%s%s", set, impl, readers, readers == 1 ? "" : "s",
             w && cfg.writer_rate > 0 ? " + writer" : "", note);
    struct phase ph = {0};
    ph.set = set;
    ph.impl = impl;
    ph.tbl = tbl;
    ph.reader = reader;
    ph.wops = w;
    ph.churn = ch;
    ph.st = st;
    ph.acct = acct;
    ph.readers = readers;
    ph.seconds = cfg.phase_s;
    ph.warmup = cfg.warmup_s;
    ph.sample_mask = cfg.sample_every - 1;
    ph.qs_every = cfg.qs_every;
    ph.pin = cfg.pin;
    ph.writer_rate = cfg.writer_rate;
    ph.writer_tick = cfg.writer_tick_us * 1e-6;
    phase_run(&ph, pr);
}

static const struct phase_result *keep(const struct phase_result *pr)
{
    if (nresults == MAX_PHASES)
        abort();
    results[nresults] = *pr;
    return &results[nresults++];
}

/* Best of --reps runs (highest throughput). */
static const struct phase_result *run(const char *set, const char *impl, void *tbl,
                                      void *(*reader)(void *), const struct writer_ops *w,
                                      struct churn *ch, const struct stream *st,
                                      struct lazy_acct *acct, unsigned readers)
{
    struct phase_result best = {0}, pr;
    for (unsigned r = 0; r < g_reps; r++) {
        run_one(set, impl, tbl, reader, w, ch, st, acct, readers,
                g_reps > 1 ? " (repetition)" : "", &pr);
        if (r == 0 || pr.total_per_s > best.total_per_s)
            best = pr;
    }
    return keep(&best);
}

/* The readers-only comparison behind the two cost targets: floor and
 * tenreg alternate --pair-reps times, so a change in machine load hits
 * both alike; each keeps its run with the lowest CPU ns per lookup. */
static void run_pair(const char *set, void *floor_tbl, void *tr_tbl, const struct stream *st,
                     struct lazy_acct *acct, unsigned readers)
{
    struct phase_result bf = {0}, bt = {0}, pr;
    unsigned n = g_pair_reps > g_reps ? g_pair_reps : g_reps;
    for (unsigned r = 0; r < n; r++) {
        char note[32];
        snprintf(note, sizeof(note), " (pair %u/%u)", r + 1, n);
        run_one(set, "floor (a)", floor_tbl, floor_reader, NULL, NULL, st, NULL, readers, note,
                &pr);
        if (r == 0 || pr.cpu_ns_per_lookup < bf.cpu_ns_per_lookup)
            bf = pr;
        run_one(set, "tenreg", tr_tbl, tr_reader, NULL, NULL, st, acct, readers, note, &pr);
        if (r == 0 || pr.cpu_ns_per_lookup < bt.cpu_ns_per_lookup)
            bt = pr;
    }
    keep(&bf);
    keep(&bt);
}

/* ---- lazy accounting and memory ------------------------------------------ */

struct lazy_report {
    bool done;
    uint64_t first_hits, factory_calls, churn_calls, mismatches, lazy_tenants, reached;
    double drain_s, warm_s, factory_mean_us;
};

static struct lazy_report lazy;

/* Waits until every non-churned lazy tenant the readers reached has been
 * built (or the timeout passes). */
static double drain(struct lazy_acct *a, const struct tset *ts, const struct stream *st, size_t n)
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
        if (done == nw || bench_now() - t0 > cfg.drain_timeout_s)
            break;
        struct timespec d = {0, 5 * 1000 * 1000};
        nanosleep(&d, NULL);
    }
    free(want);
    free(seen);
    return bench_now() - t0;
}

static void lazy_final(struct lazy_acct *a, const struct tset *ts, const struct stream *st,
                       size_t n)
{
    lazy.drain_s += drain(a, ts, st, n);
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
    lazy.done = true;
    lazy.first_hits = atomic_load(&a->first_hits);
    lazy.churn_calls = atomic_load(&a->churn_factory_calls);
    lazy.factory_calls = atomic_load(&a->factory_calls) - lazy.churn_calls;
    lazy.mismatches = mism;
    lazy.lazy_tenants = lazy_n;
    lazy.reached = nreached;
    uint64_t all = atomic_load(&a->factory_calls);
    lazy.factory_mean_us = all ? (double)atomic_load(&a->factory_ns) / (double)all / 1e3 : 0;
}

struct mem_report {
    bool done;
    const char *what;
    size_t n;
    double reg_s, free_s;
    double live_per, heap_per, rss_per;
    double str2_per, host_per;
};
static struct mem_report mem[3];
static int nmem;

static double strings_per(const struct tset *ts, size_t n, double *host)
{
    double s2 = 0, h = 0;
    for (size_t i = 0; i < n; i++) {
        s2 += ts->id_len[i] + 1 + ts->url_len[i] + 1;
        h += ts->host_len[i] + 1;
    }
    *host = h / (double)n;
    return s2 / (double)n;
}

/* Registers @n tenants into a fresh registry and records time and memory. */
static void *measured_registry(const char *what, const struct tset *ts, size_t n,
                               enum tr_mode mode, struct lazy_acct *acct)
{
    struct mem_report *m = &mem[nmem++];
    struct impl_build_info info;
    progress("registering %zu tenants (%s)", n, what);
    double heap0 = heap_bytes(), rss0 = rss_bytes();
    void *t = tr_new(ts, n, mode, acct, &cfg, &info);
    tenreg_t *reg = tr_registry(t);
    m->done = true;
    m->what = what;
    m->n = n;
    m->reg_s = info.seconds;
    m->live_per = (double)tenreg__live_bytes(reg) / (double)n;
    m->heap_per = (heap_bytes() - heap0) / (double)n;
    m->rss_per = (rss_bytes() - rss0) / (double)n;
    m->str2_per = strings_per(ts, n, &m->host_per);
    return t;
}

/* ---- output ------------------------------------------------------------- */

static const struct phase_result *find(const char *set, const char *impl, unsigned readers,
                                       bool writer)
{
    for (int i = 0; i < nresults; i++) {
        const struct phase_result *r = &results[i];
        if (!strcmp(r->set, set) && !strcmp(r->impl, impl) && r->readers == readers &&
            r->writer == writer)
            return r;
    }
    return NULL;
}

struct target {
    const char *name;
    double value;
    double limit;
    bool higher_better;
    const char *unit;
    bool have;
};
static struct target targets[8];
static double wall_ratio[8];  /* cost targets: the same ratio from wall-clock throughput */
static int ntargets;

static void add_target(const char *name, bool have, double value, double limit, bool higher,
                       const char *unit)
{
    targets[ntargets++] = (struct target){name, value, limit, higher, unit, have};
}

static char reg_eager_name[64], reg_lazy_name[64];

static void compute_targets(unsigned nr)
{
    snprintf(reg_eager_name, sizeof(reg_eager_name), "register %zu tenants, eager", cfg.cold_tenants);
    snprintf(reg_lazy_name, sizeof(reg_lazy_name), "register %zu tenants, lazy", cfg.cold_tenants);
    const struct phase_result *fh = find("hot", "floor (a)", nr, false);
    const struct phase_result *th = find("hot", "tenreg", nr, false);
    const struct phase_result *fc = find("cold", "floor (a)", nr, false);
    const struct phase_result *tc = find("cold", "tenreg", nr, false);
    const struct phase_result *t1 = find("hot", "tenreg", 1, true);
    const struct phase_result *tn = find("hot", "tenreg", nr, true);
    const struct phase_result *rw = find("hot", "rwlock (b)", nr, true);
    const struct phase_result *ur = find("hot", "rculfhash (c)", nr, true);
    /* Cost per lookup = the readers' CPU time per lookup (robust to CPU
     * taken by other processes); the wall-clock ratio is printed beside. */
    add_target("hot: tenreg CPU ns per lookup / floor (a)", fh && th && fh->cpu_ns_per_lookup > 0,
               fh && th && fh->cpu_ns_per_lookup > 0 ? th->cpu_ns_per_lookup / fh->cpu_ns_per_lookup : 0,
               1.15, false, "x");
    wall_ratio[ntargets - 1] = fh && th && th->total_per_s > 0 ? fh->total_per_s / th->total_per_s : 0;
    add_target("cold: tenreg CPU ns per lookup / floor (a)", fc && tc && fc->cpu_ns_per_lookup > 0,
               fc && tc && fc->cpu_ns_per_lookup > 0 ? tc->cpu_ns_per_lookup / fc->cpu_ns_per_lookup : 0,
               1.10, false, "x");
    wall_ratio[ntargets - 1] = fc && tc && tc->total_per_s > 0 ? fc->total_per_s / tc->total_per_s : 0;
    add_target("hot + writer: N readers / 1 reader throughput",
               nr > 1 && t1 && tn && t1->total_per_s > 0,
               t1 && tn && t1->total_per_s > 0 ? tn->total_per_s / t1->total_per_s : 0, 1.9,
               true, "x");
    add_target("hot + writer: tenreg / rwlock (b) throughput", tn && rw && rw->total_per_s > 0,
               tn && rw && rw->total_per_s > 0 ? tn->total_per_s / rw->total_per_s : 0, 3.0, true,
               "x");
    add_target("hot + writer: tenreg / rculfhash (c) throughput",
               tn && ur && ur->total_per_s > 0,
               tn && ur && ur->total_per_s > 0 ? tn->total_per_s / ur->total_per_s : 0, 1.3,
               true, "x");
    for (int i = 0; i < nmem; i++) {
        if (!strcmp(mem[i].what, "eager"))
            add_target(reg_eager_name, true, mem[i].reg_s, 1.0, false, "s");
        if (!strcmp(mem[i].what, "lazy"))
            add_target(reg_lazy_name, true, mem[i].reg_s, 1.0, false, "s");
    }
    for (int i = 0; i < nmem; i++) {
        if (!strcmp(mem[i].what, "eager"))
            add_target("bytes/tenant beyond id + URL strings (eager)", true,
                       mem[i].live_per + mem[i].heap_per - mem[i].str2_per, 96, false, "B");
    }
}

static bool target_met(const struct target *t)
{
    return t->higher_better ? t->value >= t->limit : t->value <= t->limit;
}

static void print_text(const struct stream *hs, const struct stream *cs, unsigned nr,
                       double ovh_ns, const double la0[3], const double la1[3])
{
    char model[256];
    cpu_model(model, sizeof(model));
    printf("tenreg-bench %s, flavor %s (libtenreg%s static, registry allocator %s)\n",
           tenreg_version_string(), tenreg_flavor(), strcmp(BENCH_FLAVOR, "qsbr") ? "" : "-qsbr",
           tenreg__allocator_name());
    printf("machine: %ld CPUs, %s; load average %.2f %.2f %.2f at start, %.2f %.2f %.2f at end\n",
           sysconf(_SC_NPROCESSORS_ONLN), model, la0[0], la0[1], la0[2], la1[0], la1[1], la1[2]);
    printf("workload: hot registry %zu tenants (%.0f%% lazy, factory sleeps %u us, %u builder "
           "threads); cold registry %zu tenants (eager)\n",
           cfg.tenants, cfg.lazy_frac * 100, cfg.factory_us, cfg.builders, cfg.cold_tenants);
    const struct stream *s = hs ? hs : cs;
    if (s)
        printf("stream: %zu Host values per set: %.1f%% mixed case, %.1f%% ':443', %.1f%% unknown, "
               "%.1f%% full URLs\n",
               s->n, 100.0 * (double)s->n_mixed / (double)s->n,
               100.0 * (double)s->n_port / (double)s->n,
               100.0 * (double)s->n_unknown / (double)s->n,
               100.0 * (double)s->n_url / (double)s->n);
    if (hs)
        printf("        hot: Zipf(%.2f) over %zu tenants, %zu distinct drawn; ", cfg.zipf_s,
               cfg.tenants, hs->distinct);
    if (cs)
        printf("cold: uniform over %zu tenants, %zu distinct drawn", cfg.cold_tenants,
               cs->distinct);
    printf("\n");
    printf("threads: %u readers (tenreg_resolve NOWAIT, %s); writer %.0f ops/s on %.0f%% of the "
           "tenants, woken at most every %.0f us; %.1f s per phase after %.1f s warm-up, best of %u "
           "(floor/tenreg readers-only: alternated %u times, lowest CPU ns/lookup kept)\n",
           nr, strcmp(BENCH_FLAVOR, "qsbr") ? "one read section per lookup"
                                            : "tenreg_quiescent() every N lookups",
           cfg.writer_rate, cfg.churn_frac * 100, cfg.writer_tick_us, cfg.phase_s, cfg.warmup_s, g_reps,
           g_pair_reps > g_reps ? g_pair_reps : g_reps);
    if (!strcmp(BENCH_FLAVOR, "qsbr"))
        printf("qsbr: quiescent state every %u lookup(s)\n", cfg.qs_every);
    printf("latency: 1 call in %u timed with rdtsc/rdtscp; the timer itself costs %.1f ns "
           "(median, included in the figures below); TSC %.3f GHz\n\n",
           cfg.sample_every, ovh_ns, bench_tsc_per_ns);

    printf("%-4s %-14s %3s %-6s %10s %-13s %7s %7s %7s %8s %9s %9s %5s %5s %5s %13s %13s\n", "set",
           "impl", "thr", "writer", "Mlookup/s", "per thread", "CPUns/l", "p50 ns", "p99 ns",
           "p99.9 ns", "max ns", "writer/s", "ok%", "pend%", "miss%", "CPU% rd/wr/bg",
           "rd sleep/prmt");
    for (int i = 0; i < nresults; i++) {
        const struct phase_result *r = &results[i];
        char per[64] = "";
        size_t o = 0;
        for (unsigned j = 0; j < r->readers && j < 4; j++)
            o += (size_t)snprintf(per + o, sizeof(per) - o, "%s%.2f", j ? " " : "",
                                  r->per_thread_per_s[j] / 1e6);
        if (r->readers > 4)
            snprintf(per + o, sizeof(per) - o, " ...");
        char wr[32];
        if (r->writer)
            snprintf(wr, sizeof(wr), "%.0f", r->writer_ops_per_s);
        else
            snprintf(wr, sizeof(wr), "-");
        double ops = r->ops ? (double)r->ops : 1;
        char cpu[32];
        snprintf(cpu, sizeof(cpu), "%.0f/%.0f/%.0f", r->cpu_readers, r->cpu_writer, r->cpu_other);
        char csw[32];
        snprintf(csw, sizeof(csw), "%.0f/%.0f", r->vcsw_per_s, r->ivcsw_per_s);
        printf("%-4s %-14s %3u %-6s %10.2f %-13s %7.0f %7.0f %7.0f %8.0f %9.0f %9s %5.1f %5.2f %5.1f %13s %13s\n",
               r->set, r->impl, r->readers, r->writer ? "yes" : "no", r->total_per_s / 1e6, per,
               r->cpu_ns_per_lookup, r->p50_ns, r->p99_ns, r->p999_ns, r->max_ns, wr, 100.0 * (double)r->cnt_ok / ops,
               100.0 * (double)r->cnt_pending / ops, 100.0 * (double)r->cnt_enoent / ops, cpu, csw);
    }
    for (int i = 0; i < nresults; i++)
        if (results[i].writer && results[i].writer_errors)
            printf("note: %s %s writer: %llu of %llu ops failed\n", results[i].set,
                   results[i].impl, (unsigned long long)results[i].writer_errors,
                   (unsigned long long)results[i].writer_ops);
    for (int i = 0; i < nresults; i++)
        if (results[i].cnt_einval || results[i].cnt_other)
            printf("note: %s %s: %llu EINVAL, %llu other answers\n", results[i].set,
                   results[i].impl, (unsigned long long)results[i].cnt_einval,
                   (unsigned long long)results[i].cnt_other);

    if (lazy.done) {
        bool eq = lazy.factory_calls == lazy.reached && lazy.mismatches == 0;
        printf("\nlazy tenants (hot registry, %llu outside the writer's churn set): first hit by the "
               "readers %llu, factory calls %llu%s\n",
               (unsigned long long)lazy.lazy_tenants, (unsigned long long)lazy.reached,
               (unsigned long long)lazy.factory_calls, eq ? " (equal, tenant by tenant)" : "");
        if (!eq)
            printf("      MISMATCH: %llu tenants whose factory calls != (was hit)\n",
                   (unsigned long long)lazy.mismatches);
        printf("      %llu of those first hits answered EPENDING (the others found the build "
               "already done); + %llu factory calls for the writer's lazy re-registrations; "
               "mean factory time %.0f us; waited %.2f s for queued builds\n",
               (unsigned long long)lazy.first_hits, (unsigned long long)lazy.churn_calls,
               lazy.factory_mean_us, lazy.drain_s);
    }
    if (nmem) {
        printf("\nregistration and memory (tenreg__live_bytes: tenreg's own arena, requested "
               "sizes; heap: glibc malloc, outside that arena; RSS: whole process)\n");
        printf("%-22s %9s %8s %9s %9s %9s %8s %10s %12s\n", "registry", "tenants", "reg s",
               "free s", "live B/t", "heap B/t", "RSS B/t", "id+URL B/t", "beyond id+URL");
        for (int i = 0; i < nmem; i++) {
            const struct mem_report *m = &mem[i];
            char fr[16];
            if (m->free_s > 0)
                snprintf(fr, sizeof(fr), "%.3f", m->free_s);
            else
                snprintf(fr, sizeof(fr), "-");
            printf("%-22s %9zu %8.3f %9s %9.1f %9.1f %8.1f %10.1f %12.1f\n", m->what, m->n,
                   m->reg_s, fr, m->live_per, m->heap_per, m->rss_per, m->str2_per,
                   m->live_per + m->heap_per - m->str2_per);
        }
        printf("  (tenreg also stores the host key: %.1f B/tenant of the above; struct "
               "tenreg__tenant is %zu B, a record %zu B)\n",
               mem[0].host_per, bench_tenant_struct_size(), bench_record_struct_size());
    }

    printf("\nratios, same run, same stream (throughput: higher is better for tenreg; cost: "
           "CPU ns per lookup, lower is better):\n");
    static const char *const sets[] = {"hot", "cold"};
    for (int k = 0; k < 2; k++) {
        const struct phase_result *f = find(sets[k], "floor (a)", nr, false);
        const struct phase_result *t0 = find(sets[k], "tenreg", nr, false);
        const struct phase_result *tw = find(sets[k], "tenreg", nr, true);
        const struct phase_result *rw = find(sets[k], "rwlock (b)", nr, true);
        const struct phase_result *ur = find(sets[k], "rculfhash (c)", nr, true);
        if (!t0 && !tw)
            continue;
        printf("  %-4s", sets[k]);
        if (f && t0 && f->cpu_ns_per_lookup > 0 && t0->total_per_s > 0)
            printf("  readers only: tenreg/floor cost %.2fx, throughput %.2fx;",
                   t0->cpu_ns_per_lookup / f->cpu_ns_per_lookup, t0->total_per_s / f->total_per_s);
        if (tw && rw && rw->total_per_s > 0 && rw->cpu_ns_per_lookup > 0)
            printf("  + writer: tenreg/rwlock throughput %.2fx (cost %.2fx)",
                   tw->total_per_s / rw->total_per_s, tw->cpu_ns_per_lookup / rw->cpu_ns_per_lookup);
        if (tw && ur && ur->total_per_s > 0 && ur->cpu_ns_per_lookup > 0)
            printf(", tenreg/rculfhash throughput %.2fx (cost %.2fx)",
                   tw->total_per_s / ur->total_per_s, tw->cpu_ns_per_lookup / ur->cpu_ns_per_lookup);
        printf("\n");
    }

    printf("\ntargets (issue 4 item 5), from this run:\n");
    for (int i = 0; i < ntargets; i++) {
        const struct target *t = &targets[i];
        if (!t->have) {
            printf("  %-50s %10s\n", t->name, "n/a");
            continue;
        }
        bool ok = target_met(t);
        double by = t->higher_better ? (t->limit / t->value - 1) : (t->value / t->limit - 1);
        printf("  %-50s %9.2f%s  (target %s %.2f%s)  %s", t->name, t->value, t->unit,
               t->higher_better ? ">=" : "<=", t->limit, t->unit, ok ? "met" : "MISSED");
        if (!ok)
            printf(" by %.0f%%", by * 100);
        if (wall_ratio[i] > 0)
            printf("  [wall-clock ratio %.2fx]", wall_ratio[i]);
        printf("\n");
    }
    fflush(stdout);
}

static void json_phase(const struct phase_result *r, bool last)
{
    printf("    {\"set\": \"%s\", \"impl\": \"%s\", \"readers\": %u, \"writer\": %s, "
           "\"seconds\": %.3f, \"lookups_per_s\": %.0f, \"per_thread_per_s\": [",
           r->set, r->impl, r->readers, r->writer ? "true" : "false", r->seconds, r->total_per_s);
    for (unsigned j = 0; j < r->readers && j < 64; j++)
        printf("%s%.0f", j ? ", " : "", r->per_thread_per_s[j]);
    printf("], \"latency_ns\": {\"p50\": %.1f, \"p99\": %.1f, \"p999\": %.1f, \"max\": %.1f, "
           "\"samples\": %zu}, \"answers\": {\"ok\": %llu, \"pending\": %llu, \"enoent\": %llu, "
           "\"einval\": %llu, \"other\": %llu}",
           r->p50_ns, r->p99_ns, r->p999_ns, r->max_ns, r->nsamples,
           (unsigned long long)r->cnt_ok, (unsigned long long)r->cnt_pending,
           (unsigned long long)r->cnt_enoent, (unsigned long long)r->cnt_einval,
           (unsigned long long)r->cnt_other);
    printf(", \"cpu_ns_per_lookup\": %.1f, \"reader_sleeps_per_s\": %.1f, "
           "\"reader_preemptions_per_s\": %.1f",
           r->cpu_ns_per_lookup, r->vcsw_per_s, r->ivcsw_per_s);
    printf(", \"cpu_pct\": {\"readers\": %.1f, \"writer\": %.1f, \"other\": %.1f}",
           r->cpu_readers, r->cpu_writer, r->cpu_other);
    if (r->writer)
        printf(", \"writer_stats\": {\"ops_per_s\": %.1f, \"ops\": %llu, \"errors\": %llu, "
               "\"register\": %llu, \"unregister\": %llu, \"recheck\": %llu}",
               r->writer_ops_per_s, (unsigned long long)r->writer_ops,
               (unsigned long long)r->writer_errors, (unsigned long long)r->w_reg,
               (unsigned long long)r->w_unreg, (unsigned long long)r->w_recheck);
    printf("}%s\n", last ? "" : ",");
}

static void print_json(const struct stream *hs, const struct stream *cs, unsigned nr,
                       double ovh_ns, const double la0[3], const double la1[3])
{
    char model[256];
    cpu_model(model, sizeof(model));
    printf("{\n  \"tool\": \"tenreg-bench\", \"version\": \"%s\", \"flavor\": \"%s\", "
           "\"allocator\": \"%s\",\n",
           tenreg_version_string(), tenreg_flavor(), tenreg__allocator_name());
    printf("  \"machine\": {\"cpus\": %ld, \"model\": \"%s\", \"loadavg_start\": [%.2f, %.2f, "
           "%.2f], \"loadavg_end\": [%.2f, %.2f, %.2f]},\n",
           sysconf(_SC_NPROCESSORS_ONLN), model, la0[0], la0[1], la0[2], la1[0], la1[1], la1[2]);
    printf("  \"config\": {\"tenants\": %zu, \"lazy_frac\": %.3f, \"factory_us\": %u, "
           "\"builders\": %u, \"cold_tenants\": %zu, \"stream\": %zu, \"mixed_case\": %.3f, "
           "\"port443\": %.3f, \"unknown\": %.3f, \"urls\": %.3f, \"zipf\": %.3f, \"seed\": %llu, "
           "\"readers\": %u, \"writer_rate\": %.1f, \"writer_tick_us\": %.1f, \"churn\": %.3f, \"phase_s\": %.3f, "
           "\"warmup_s\": %.3f, \"reps\": %u, \"pair_reps\": %u, \"sample_every\": %u, \"qs_every\": %u, "
           "\"pin\": %s},\n",
           cfg.tenants, cfg.lazy_frac, cfg.factory_us, cfg.builders, cfg.cold_tenants,
           hs ? hs->n : cs ? cs->n : 0, cfg.mixed_case, cfg.port443, cfg.unknown, cfg.urls,
           cfg.zipf_s, (unsigned long long)cfg.seed, nr, cfg.writer_rate, cfg.writer_tick_us, cfg.churn_frac,
           cfg.phase_s, cfg.warmup_s, g_reps, g_pair_reps, cfg.sample_every, cfg.qs_every,
           cfg.pin ? "true" : "false");
    printf("  \"timer\": {\"overhead_ns\": %.2f, \"tsc_ghz\": %.4f},\n", ovh_ns, bench_tsc_per_ns);
    if (hs)
        printf("  \"hot_stream\": {\"distinct_tenants\": %zu, \"mixed\": %zu, \"port443\": %zu, "
               "\"unknown\": %zu, \"urls\": %zu},\n",
               hs->distinct, hs->n_mixed, hs->n_port, hs->n_unknown, hs->n_url);
    if (cs)
        printf("  \"cold_stream\": {\"distinct_tenants\": %zu},\n", cs->distinct);
    printf("  \"phases\": [\n");
    for (int i = 0; i < nresults; i++)
        json_phase(&results[i], i == nresults - 1);
    printf("  ],\n");
    if (lazy.done)
        printf("  \"lazy\": {\"lazy_tenants\": %llu, \"first_hit\": %llu, \"first_hit_pending\": %llu, \"factory_calls\": "
               "%llu, \"mismatches\": %llu, \"churn_factory_calls\": %llu, \"factory_mean_us\": "
               "%.1f, \"drain_s\": %.3f, \"equal\": %s},\n",
               (unsigned long long)lazy.lazy_tenants, (unsigned long long)lazy.reached, (unsigned long long)lazy.first_hits,
               (unsigned long long)lazy.factory_calls, (unsigned long long)lazy.mismatches,
               (unsigned long long)lazy.churn_calls, lazy.factory_mean_us, lazy.drain_s,
               lazy.factory_calls == lazy.reached && !lazy.mismatches ? "true" : "false");
    printf("  \"registries\": [\n");
    for (int i = 0; i < nmem; i++) {
        const struct mem_report *m = &mem[i];
        printf("    {\"what\": \"%s\", \"tenants\": %zu, \"register_s\": %.4f, \"free_s\": %.4f, "
               "\"live_bytes_per_tenant\": %.1f, \"heap_bytes_per_tenant\": %.1f, "
               "\"rss_bytes_per_tenant\": %.1f, \"id_url_bytes_per_tenant\": %.1f, "
               "\"host_key_bytes_per_tenant\": %.1f, \"beyond_id_url\": %.1f}%s\n",
               m->what, m->n, m->reg_s, m->free_s, m->live_per, m->heap_per, m->rss_per,
               m->str2_per, m->host_per, m->live_per + m->heap_per - m->str2_per,
               i == nmem - 1 ? "" : ",");
    }
    printf("  ],\n  \"targets\": [\n");
    for (int i = 0; i < ntargets; i++) {
        const struct target *t = &targets[i];
        printf("    {\"name\": \"%s\", \"measured\": %s%.4f, \"limit\": %.4f, \"unit\": \"%s\", "
               "\"higher_is_better\": %s, \"wall_clock_ratio\": %.4f, \"met\": %s}%s\n",
               t->name, "", t->have ? t->value : 0.0, t->limit, t->unit,
               t->higher_better ? "true" : "false", wall_ratio[i],
               t->have ? (target_met(t) ? "true" : "false") : "null",
               i == ntargets - 1 ? "" : ",");
    }
    printf("  ]\n}\n");
    fflush(stdout);
}

/* ---- both flavors ------------------------------------------------------- */

#ifndef BENCH_QSBR
/* Runs tenreg-bench-qsbr (next to this binary) with our flags plus
 * --flavor qsbr. Text: its table goes straight to our stdout. JSON: its
 * object is captured, and both are printed as {"runs": [memb, qsbr]}. */
static int run_qsbr(int argc, char **argv, char **captured)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);
    if (n <= 0)
        return -1;
    self[n] = 0;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s-qsbr", self);
    if (access(path, X_OK) != 0) {
        fprintf(stderr, "tenreg-bench: %s not found; build it (TENREG_QSBR=ON) or use --flavor "
                        "memb\n", path);
        return -1;
    }
    char **av = calloc((size_t)argc + 3, sizeof(char *));
    int k = 0;
    av[k++] = path;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--flavor")) {
            i++;
            continue;
        }
        if (!strncmp(argv[i], "--flavor=", 9))
            continue;
        av[k++] = argv[i];
    }
    av[k++] = "--flavor";
    av[k++] = "qsbr";
    av[k] = NULL;
    int fd[2] = {-1, -1};
    if (captured && pipe(fd) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (captured) {
            dup2(fd[1], 1);
            close(fd[0]);
            close(fd[1]);
        }
        execv(path, av);
        _exit(127);
    }
    free(av);
    if (pid < 0)
        return -1;
    if (captured) {
        close(fd[1]);
        size_t cap = 1 << 16, len = 0;
        char *buf = malloc(cap);
        ssize_t r;
        while ((r = read(fd[0], buf + len, cap - len - 1)) > 0) {
            len += (size_t)r;
            if (cap - len < 4096)
                buf = realloc(buf, cap *= 2);
        }
        buf[len] = 0;
        close(fd[0]);
        *captured = buf;
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
#endif

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
    defaults(&cfg);
    parse(argc, argv, &cfg);
    t_start = bench_now();
#ifdef BENCH_QSBR
    if (strcmp(cfg.flavor, "qsbr")) {
        fprintf(stderr, "tenreg-bench-qsbr: runs the qsbr flavor only; use tenreg-bench for "
                        "memb or both\n");
        return 2;
    }
#else
    if (!strcmp(cfg.flavor, "qsbr")) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);
        if (n > 0) {
            self[n] = 0;
            strcat(self, "-qsbr");
            argv[0] = self;
            execv(self, argv);
        }
        fprintf(stderr, "tenreg-bench: cannot run tenreg-bench-qsbr\n");
        return 1;
    }
    bool both = !strcmp(cfg.flavor, "both");
#endif
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned nr = cfg.readers ? cfg.readers : (unsigned)(ncpu > 0 ? ncpu : 1);
    double la0[3], la1[3];
    loadavg(la0);

    bench_tsc_calibrate();
    double ovh_ns = (double)bench_timer_overhead_ticks() / bench_tsc_per_ns;

    size_t nmax = cfg.tenants > cfg.cold_tenants ? cfg.tenants : cfg.cold_tenants;
    size_t n_unknown = nmax / 16 > 65536 ? nmax / 16 : 65536;
    progress("generating %zu tenants and the streams", nmax);
    struct tset *ts = tset_new(nmax, n_unknown, cfg.lazy_frac, cfg.seed);
    struct stream *hs = cfg.no_hot ? NULL : stream_new(ts, cfg.tenants, cfg.zipf_s, &cfg, cfg.seed + 1);
    struct stream *cs = cfg.no_cold ? NULL : stream_new(ts, cfg.cold_tenants, 0, &cfg, cfg.seed + 2);

    /* ---- hot set: 100k tenants, Zipf ---- */
    if (hs) {
        size_t nchurn = (size_t)((double)cfg.tenants * cfg.churn_frac);
        if (nchurn < 1)
            nchurn = 1;
        struct lazy_acct *acct = acct_new(cfg.tenants, nchurn, cfg.factory_us, ts->platforms, hs->n);
        void *tr = measured_registry("hot, mixed", ts, cfg.tenants, TR_MIXED, acct);
        struct churn *ch_tr = churn_new(nchurn, cfg.seed + 10);

        /* First hits of the lazy tenants, then wait for their builds, so
         * the measured phases see the steady state. */
        progress("lazy warm-up: %.1f s of first hits", cfg.lazy_warm_s);
        {
            double save = cfg.phase_s;
            cfg.phase_s = cfg.lazy_warm_s;
            struct phase ph = {0};
            struct phase_result pr;
            ph.set = "hot";
            ph.impl = "tenreg warm-up";
            ph.tbl = tr;
            ph.reader = tr_reader;
            ph.st = hs;
            ph.acct = acct;
            ph.readers = nr;
            ph.seconds = cfg.lazy_warm_s;
            ph.warmup = 0;
            ph.sample_mask = cfg.sample_every - 1;
            ph.qs_every = cfg.qs_every;
            phase_run(&ph, &pr);
            cfg.phase_s = save;
            double d = drain(acct, ts, hs, cfg.tenants);
            lazy.drain_s = d;
            progress("lazy warm-up: %llu factory calls, queued builds drained in %.2f s",
                     (unsigned long long)atomic_load(&acct->factory_calls), d);
        }

        void *fl = floor_new(ts, cfg.tenants, cfg.seed, NULL);
        run_pair("hot", fl, tr, hs, acct, nr);
        floor_free(fl);
        if (nr > 1)
            run("hot", "tenreg", tr, tr_reader, &tr_wops, ch_tr, hs, acct, 1);
        run("hot", "tenreg", tr, tr_reader, &tr_wops, ch_tr, hs, acct, nr);
        lazy_final(acct, ts, hs, cfg.tenants);

        void *rw = rw_new(ts, cfg.tenants, cfg.seed, NULL);
        struct churn *ch_rw = churn_new(nchurn, cfg.seed + 10);
        run("hot", "rwlock (b)", rw, rw_reader, &rw_wops, ch_rw, hs, NULL, nr);
        rw_free(rw);
        churn_free(ch_rw);

        void *ur = ur_new(ts, cfg.tenants, cfg.seed, NULL);
        struct churn *ch_ur = churn_new(nchurn, cfg.seed + 10);
        run("hot", "rculfhash (c)", ur, ur_reader, &ur_wops, ch_ur, hs, NULL, nr);
        ur_free(ur);
        churn_free(ch_ur);

        progress("freeing the hot registry");
        mem[0].free_s = tr_free(tr);
        churn_free(ch_tr);
        acct_free(acct);
    }

    /* ---- registration time: 1M eager (kept: the cold registry), 1M lazy ---- */
    void *cold_tr = NULL;
    if (!cfg.no_reg || cs) {
        struct lazy_acct *none = acct_new(0, 0, cfg.factory_us, ts->platforms, 0);
        cold_tr = measured_registry("eager", ts, cfg.cold_tenants, TR_EAGER, none);
        if (!cfg.no_reg) {
            void *lz = measured_registry("lazy", ts, cfg.cold_tenants, TR_LAZY, none);
            progress("freeing the lazy registry");
            mem[nmem - 1].free_s = tr_free(lz);
        }
        if (!cs) {
            mem[nmem - (cfg.no_reg ? 1 : 2)].free_s = tr_free(cold_tr);
            cold_tr = NULL;
        }
        acct_free(none);
    }

    /* ---- cold set: uniform over 1M ---- */
    if (cs) {
        size_t nchurn = (size_t)((double)cfg.cold_tenants * cfg.churn_frac);
        if (nchurn < 1)
            nchurn = 1;
        progress("building the cold baselines");
        void *fl = floor_new(ts, cfg.cold_tenants, cfg.seed, NULL);
        run_pair("cold", fl, cold_tr, cs, NULL, nr);
        floor_free(fl);
        struct churn *ch = churn_new(nchurn, cfg.seed + 20);
        run("cold", "tenreg", cold_tr, tr_reader, &tr_wops, ch, cs, NULL, nr);
        churn_free(ch);

        void *rw = rw_new(ts, cfg.cold_tenants, cfg.seed, NULL);
        ch = churn_new(nchurn, cfg.seed + 20);
        run("cold", "rwlock (b)", rw, rw_reader, &rw_wops, ch, cs, NULL, nr);
        rw_free(rw);
        churn_free(ch);

        void *ur = ur_new(ts, cfg.cold_tenants, cfg.seed, NULL);
        ch = churn_new(nchurn, cfg.seed + 20);
        run("cold", "rculfhash (c)", ur, ur_reader, &ur_wops, ch, cs, NULL, nr);
        ur_free(ur);
        churn_free(ch);
        progress("freeing the cold registry");
        for (int i = 0; i < nmem; i++)
            if (!strcmp(mem[i].what, "eager"))
                mem[i].free_s = tr_free(cold_tr);
    }

    loadavg(la1);
    compute_targets(nr);
#ifndef BENCH_QSBR
    if (both && cfg.json) {
        printf("{\"runs\": [\n");
        print_json(hs, cs, nr, ovh_ns, la0, la1);
        char *q = NULL;
        int rc = run_qsbr(argc, argv, &q);
        if (rc == 0 && q)
            printf(",\n%s", q);
        printf("]}\n");
        free(q);
        stream_free(hs);
        stream_free(cs);
        tset_free(ts);
        return rc == 0 ? 0 : 1;
    }
#endif
    if (cfg.json)
        print_json(hs, cs, nr, ovh_ns, la0, la1);
    else
        print_text(hs, cs, nr, ovh_ns, la0, la1);
    stream_free(hs);
    stream_free(cs);
    tset_free(ts);
#ifndef BENCH_QSBR
    if (both) {
        printf("\n");
        fflush(stdout);
        return run_qsbr(argc, argv, NULL) == 0 ? 0 : 1;
    }
#endif
    return 0;
}
