/*
 * options.c - tenreg-bench's flags: the defaults, --help, and parsing into
 * struct bench_cfg (the only place that knows a flag's name).
 */
#include "run.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    c->batch_phase_s = -1; /* half of --phase */
    c->warmup_s = 0.3;
    c->lazy_warm_s = 1.0;
    c->drain_timeout_s = 30;
    c->builders = 16;
    c->sample_every = 64;
    c->qs_every = 1;
    c->seed = 42;
    c->reps = 1;
    c->pair_reps = 3;
    c->wild_patterns = 0.10;
    c->wild_hits = 0.20;
    c->commits = 20;
    c->syncs = 5;
    c->commit_ops = 10000;
    c->sync_change = 0.01;
#ifdef BENCH_QSBR
    c->flavor = "qsbr";
#else
    c->flavor = "both";
#endif
}

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
            "Batch rows (issue 13): tenreg_resolve_many and the floor's batch variant,\n"
            "16 hosts per call, readers only, next to the single-call rows.\n"
            "Batch commits (issue 12), after the cold rows on the cold registry: 10k-op\n"
            "batches and REPLACE_ALL syncs changing 1%%, committed back to back while two\n"
            "readers resolve the cold stream, and the same readers without commits.\n"
            "\n"
            "workload:\n"
            "  --tenants N          hot registry size (default %zu)\n"
            "  --lazy-frac F        share of hot tenants registered lazily (default %.2f)\n"
            "  --factory-us N       lazy factory sleep, microseconds (default %u)\n"
            "  --builders N         tenreg builder threads (default %u)\n"
            "  --cold-tenants N     cold registry size, also the registration-time count (default "
            "%zu)\n"
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
            "  --batch-phase S      measured seconds of a batch row (tenreg_resolve_many and\n"
            "                       the floor's batch variant, %d hosts per call; they\n"
            "                       alternate with the readers-only pairs; default: half\n"
            "                       of --phase)\n"
            "  --no-batch           skip the batch rows and their targets\n"
            "batch commits (issue 12; on the cold registry, so not with --no-cold):\n"
            "  --commits N          10k-op commits in their window (default %u)\n"
            "  --commit-ops N       ops per batch of that window (default %zu; at most\n"
            "                       a fifth of --cold-tenants)\n"
            "  --syncs N            REPLACE_ALL syncs in theirs (default %u)\n"
            "  --sync-change F      share of the tenants a sync changes (default %.2f)\n"
            "  --no-commits         skip the batch commits and their targets\n"
            "  --lazy-warm S        seconds of first hits before the hot phases (default %.1f)\n"
            "  --drain-timeout S    longest wait for queued lazy builds (default %.0f)\n"
            "  --sample-every N     time one call in N, a power of two (default %u)\n"
            "  --qs-every N         qsbr: tenreg_quiescent() every N lookups (default %u)\n"
            "  --pin                pin reader i to CPU i\n"
            "wildcard workload (issue 10; off unless --wildcard):\n"
            "  --wildcard           also run it: two eager registries of --tenants tenants,\n"
            "                       one where a share of the tenants hold a pattern\n"
            "                       '*.NAME' (their host without its first label), one\n"
            "                       without; streams of exact hits, hits under a pattern\n"
            "                       ('x<k>.NAME'), 4-label unknown hosts, and a mix\n"
            "  --wild-patterns F    share of its tenants holding a pattern (default %.2f)\n"
            "  --wild-hits F        share of the mixed stream under a pattern (default %.2f)\n"
            "selection and output:\n"
            "  --flavor F           memb, qsbr or both (default: both for tenreg-bench)\n"
            "  --no-hot, --no-cold, --no-reg   skip the hot phases, the cold phases,\n"
            "                       the 1M registration timing\n"
            "  --quick              a short smoke run (10k/100k tenants, 0.3 s phases, 5\n"
            "                       commits and 3 syncs)\n"
            "  --json               machine-readable output on stdout\n"
            "  --quiet              no progress lines on stderr\n"
            "  --help               this text\n",
            prog, d.tenants, d.lazy_frac, d.factory_us, d.builders, d.cold_tenants, d.stream_len,
            d.mixed_case, d.port443, d.unknown, d.urls, d.zipf_s, (unsigned long long)d.seed,
            d.writer_rate, d.writer_tick_us, d.churn_frac, d.phase_s, d.warmup_s, BENCH_BATCH,
            d.commits, d.commit_ops, d.syncs, d.sync_change, d.lazy_warm_s, d.drain_timeout_s,
            d.sample_every, d.qs_every, d.wild_patterns, d.wild_hits);
}

static double num(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "tenreg-bench: %s wants a number in [%g, %g], got '%s'\n", opt, lo, hi, s);
        exit(2);
    }
    return v;
}

enum {
    O_TENANTS = 256,
    O_LAZY,
    O_FACTORY,
    O_BUILDERS,
    O_COLD,
    O_STREAM,
    O_MIXED,
    O_PORT,
    O_UNKNOWN,
    O_URLS,
    O_ZIPF,
    O_SEED,
    O_READERS,
    O_WRATE,
    O_CHURN,
    O_PHASE,
    O_WARMUP,
    O_REPS,
    O_LWARM,
    O_DRAIN,
    O_SAMPLE,
    O_QS,
    O_PIN,
    O_FLAVOR,
    O_NOHOT,
    O_NOCOLD,
    O_NOREG,
    O_QUICK,
    O_JSON,
    O_QUIET,
    O_HELP,
    O_WTICK,
    O_PREPS,
    O_WILD,
    O_WPAT,
    O_WHITS,
    O_BPHASE,
    O_NOBATCH,
    O_COMMITS,
    O_COPS,
    O_SYNCS,
    O_SCHANGE,
    O_NOCOMMITS
};

void options_parse(int argc, char **argv, struct bench_cfg *c)
{
    static const struct option opts[] = {{"tenants", 1, 0, O_TENANTS},
                                         {"lazy-frac", 1, 0, O_LAZY},
                                         {"factory-us", 1, 0, O_FACTORY},
                                         {"builders", 1, 0, O_BUILDERS},
                                         {"cold-tenants", 1, 0, O_COLD},
                                         {"stream", 1, 0, O_STREAM},
                                         {"mixed-case", 1, 0, O_MIXED},
                                         {"port443", 1, 0, O_PORT},
                                         {"unknown", 1, 0, O_UNKNOWN},
                                         {"urls", 1, 0, O_URLS},
                                         {"zipf", 1, 0, O_ZIPF},
                                         {"seed", 1, 0, O_SEED},
                                         {"readers", 1, 0, O_READERS},
                                         {"writer-rate", 1, 0, O_WRATE},
                                         {"writer-tick", 1, 0, O_WTICK},
                                         {"churn", 1, 0, O_CHURN},
                                         {"phase", 1, 0, O_PHASE},
                                         {"warmup", 1, 0, O_WARMUP},
                                         {"reps", 1, 0, O_REPS},
                                         {"pair-reps", 1, 0, O_PREPS},
                                         {"batch-phase", 1, 0, O_BPHASE},
                                         {"no-batch", 0, 0, O_NOBATCH},
                                         {"commits", 1, 0, O_COMMITS},
                                         {"commit-ops", 1, 0, O_COPS},
                                         {"syncs", 1, 0, O_SYNCS},
                                         {"sync-change", 1, 0, O_SCHANGE},
                                         {"no-commits", 0, 0, O_NOCOMMITS},
                                         {"lazy-warm", 1, 0, O_LWARM},
                                         {"drain-timeout", 1, 0, O_DRAIN},
                                         {"sample-every", 1, 0, O_SAMPLE},
                                         {"qs-every", 1, 0, O_QS},
                                         {"pin", 0, 0, O_PIN},
                                         {"flavor", 1, 0, O_FLAVOR},
                                         {"no-hot", 0, 0, O_NOHOT},
                                         {"no-cold", 0, 0, O_NOCOLD},
                                         {"no-reg", 0, 0, O_NOREG},
                                         {"quick", 0, 0, O_QUICK},
                                         {"json", 0, 0, O_JSON},
                                         {"quiet", 0, 0, O_QUIET},
                                         {"wildcard", 0, 0, O_WILD},
                                         {"wild-patterns", 1, 0, O_WPAT},
                                         {"wild-hits", 1, 0, O_WHITS},
                                         {"help", 0, 0, O_HELP},
                                         {0, 0, 0, 0}};
    defaults(c);
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
        case O_REPS: c->reps = (unsigned)num("--reps", n, 1, 100); break;
        case O_PREPS: c->pair_reps = (unsigned)num("--pair-reps", n, 1, 100); break;
        case O_BPHASE: c->batch_phase_s = num("--batch-phase", n, 0.01, 3600); break;
        case O_NOBATCH: c->no_batch = true; break;
        case O_COMMITS: c->commits = (unsigned)num("--commits", n, 1, MAX_COMMITS); break;
        case O_COPS: c->commit_ops = (size_t)num("--commit-ops", n, 5, 1 << 22); break;
        case O_SYNCS: c->syncs = (unsigned)num("--syncs", n, 1, MAX_COMMITS); break;
        case O_SCHANGE: c->sync_change = num("--sync-change", n, 0.0001, 0.5); break;
        case O_NOCOMMITS: c->no_commits = true; break;
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
            c->commits = 5;
            c->syncs = 3;
            break;
        case O_WILD: c->wildcard = true; break;
        case O_WPAT: c->wild_patterns = num("--wild-patterns", n, 0.0001, 1); break;
        case O_WHITS: c->wild_hits = num("--wild-hits", n, 0, 1); break;
        case O_JSON: c->json = true; break;
        case O_QUIET: c->quiet = true; break;
        case O_HELP:
        case 'h': usage(stdout, argv[0]); exit(0);
        default: usage(stderr, argv[0]); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tenreg-bench: unexpected argument '%s'\n", argv[optind]);
        exit(2);
    }
    if (c->batch_phase_s < 0)
        c->batch_phase_s = c->phase_s / 2;
}
