/*
 * run.h - the run record of tenreg-bench and the pieces that fill and read
 * it (see bench.h for the list of files).
 *
 * Everything one run measures lives in one struct bench_run, which main.c
 * owns and passes around: the configuration, the machine, the streams, the
 * phase results (one per report row), the lazy accounting, the timed
 * registrations and the targets. No file keeps mutable state of its own.
 */
#ifndef BENCH_RUN_H
#define BENCH_RUN_H

#include "bench.h"
#include "hooks.h"

#include <stdio.h>

/* ---- the machine (sysinfo.c) -------------------------------------------- */

struct sysinfo {
    long cpus;                     /* online CPUs */
    char model[256];               /* /proc/cpuinfo "model name" */
    double la_start[3], la_end[3]; /* load average at start and end */
    double timer_ns;               /* median cost of an empty timed region */
};

/* Fills everything but la_end; calibrates the TSC (bench_tsc_per_ns). */
void sysinfo_start(struct sysinfo *si);
void sysinfo_end(struct sysinfo *si);
/* The process's resident set and glibc heap in use, in bytes. */
double sysinfo_rss_bytes(void);
double sysinfo_heap_bytes(void);

/* ---- what the run records ------------------------------------------------ */

/* The lazy tenants of the hot registry (lazy.c). */
struct lazy_report {
    bool done;
    uint64_t first_hits, factory_calls, churn_calls, mismatches, lazy_tenants, reached;
    double drain_s, factory_mean_us;
};

/* One timed registration (registries.c). */
struct mem_report {
    const char *what; /* "hot, mixed", "eager", "lazy" */
    size_t n;
    double reg_s, free_s;
    double live_per, heap_per, rss_per;
    double str2_per, host_per; /* id + URL strings; host key */
    /* The byte accounting, per tenant: slot arrays (by_host, by_id,
     * patterns), the tenants' and records' parts, and what is left of
     * live_per (the registry itself, anything not per tenant). */
    double slots_per[3];
    struct bench_bytes parts;
    double other_per;
};

/* The wildcard workload's registries (wild.c). */
struct wild_report {
    bool done;
    size_t tenants, patterns;
    double patterns_s;       /* time to add the patterns */
    double live_per_pattern; /* tenreg__live_bytes growth per pattern */
    /* answers checked before the phases, one lookup per case */
    uint64_t checked, wrong; /* wrong tenant, answer or matched */
    /* what the mixed stream ("wild") draws */
    size_t n, n_pattern, n_unknown, distinct;
};

/* The batch-commit phase (commits.c): one kind of batch, committed
 * back to back in its window. */
#define MAX_COMMITS 200
#define COMMIT_READERS 2 /* the figure, whatever --readers says */
struct commit_kind {
    const char *what;        /* "10k-op", "sync" */
    unsigned n;              /* commits made (all of them, unless one failed) */
    unsigned built;          /* batches built */
    size_t ops_min, ops_max; /* ops per batch */
    size_t changed;          /* ids a batch changes (sync: registered or removed), mean */
    double commit_ms[MAX_COMMITS], build_ms[MAX_COMMITS];
    double commit_cpu_ms[MAX_COMMITS]; /* the committing thread's CPU time */
    double commit_med, commit_max, build_med, build_max, cpu_med; /* ms */
    double window_s;         /* the commit window (and its quiet twin) */
    size_t tenants_min, tenants_max; /* tenreg_count after each commit */
};

struct commit_report {
    bool done;
    bool failed;             /* a commit answered non-zero, or a check failed */
    char failure[160];       /* the first thing that failed */
    size_t tenants;          /* the cold registry when the phase began */
    size_t pool;             /* ids the setup sync unregistered, for new registrations */
    double setup_ms;         /* that sync's commit */
    unsigned mix[4];         /* a small batch: moves, new, unregister, add_host */
    struct commit_kind small, sync;
    uint64_t checked, wrong; /* every id's hosts resolved after the phase */
    uint64_t count_wrong;    /* tenreg_count after a commit != the model's */
};

struct target {
    char name[64];
    double value, limit;
    bool higher_better;
    const char *unit;
    bool have;
    double wall_ratio;  /* cost targets: the same ratio from wall-clock throughput */
    double cpu_ratio;   /* throughput targets of the batch rows: the same ratio
                           from CPU ns per lookup (single / batch) */
    bool info;          /* informational: printed, no limit, never met or missed */
    const char *source; /* which issue's list it belongs to (text report headings) */
    char note[72];      /* printed in brackets after the verdict; "" none */
};

/* The batch rows' answers, checked against single lookups (matrix.c). */
struct batch_check {
    char set[16], impl[32];
    uint64_t checked, wrong;
};

#define MAX_PHASES 48
#define MAX_MEM 4
#define MAX_TARGETS 24
#define MAX_BATCH_CHECKS 8

struct bench_run {
    struct bench_cfg cfg;
    double t_start;   /* bench_now() at start, for progress lines */
    unsigned readers; /* reader threads of the N-reader phases */
    struct sysinfo si;
    const struct stream *hot, *cold; /* NULL when the set was skipped */
    struct phase_result results[MAX_PHASES];
    int nresults;
    struct lazy_report lazy;
    struct mem_report mem[MAX_MEM];
    int nmem;
    struct wild_report wild;
    struct commit_report commits;
    struct target targets[MAX_TARGETS];
    int ntargets;
    struct batch_check batch_checks[MAX_BATCH_CHECKS];
    int nbatch_checks;
};

/* ---- run.c -------------------------------------------------------------- */

/* A progress line on stderr, unless --quiet. */
void bench_progress(const struct bench_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends @pr to the results; returns the kept copy. */
const struct phase_result *run_keep(struct bench_run *run, const struct phase_result *pr);
const struct phase_result *run_find(const struct bench_run *run, const char *set, const char *impl,
                                    unsigned readers, bool writer);
/* Alternation rounds of the readers-only comparisons. */
unsigned run_pair_rounds(const struct bench_cfg *cfg);

/* ---- matrix.c ----------------------------------------------------------- */

enum bench_set { SET_HOT, SET_COLD, SET_WILD };

/* The streams a set's cells read; the row's "set" column names them. */
enum bench_stream {
    ST_HOT,
    ST_COLD,
    ST_WILD,     /* wildcard workload, mixed: exact, under a pattern, unknown */
    ST_WEXACT,   /* the same tenants' exact hosts only */
    ST_WPATTERN, /* "x<k>.NAME" under the drawn tenant's pattern only */
    ST_WMISS4,   /* unknown hosts of 4 labels only */
    ST_COUNT
};

/* What the caller provides for one set: its tenreg registries (built,
 * measured, freed by the caller) and its streams. Baselines are built from
 * @ts and freed by the matrix. */
struct set_inputs {
    const struct tset *ts;
    size_t tenants;         /* registry size */
    void *tenreg;           /* the tenreg registry (the wildcard set: with patterns) */
    void *tenreg_plain;     /* the wildcard set: the same tenants without patterns */
    struct lazy_acct *acct; /* hot: the lazy accounting; else NULL */
    const struct stream *streams[ST_COUNT];
    uint64_t churn_seed;
};

/* Runs every cell of the matrix that belongs to @set, in table order, and
 * records a result per row. */
void matrix_run_set(struct bench_run *run, enum bench_set set, const struct set_inputs *in);

/* ---- registries.c ------------------------------------------------------- */

/* Registers @n tenants into a fresh tenreg registry and records the time
 * and bytes per tenant as mem[] entry @what. */
void *registry_measured(struct bench_run *run, const char *what, const struct tset *ts, size_t n,
                        enum tr_mode mode, struct lazy_acct *acct);
/* Frees a registry registry_measured made, recording tenreg_free's time. */
void registry_free(struct bench_run *run, const char *what, void *tr);

/* ---- lazy.c ------------------------------------------------------------- */

/* First hits of the hot set's lazy tenants for --lazy-warm seconds, then a
 * wait for their builds, so the measured phases see the steady state. */
void lazy_warm_up(struct bench_run *run, void *tr, struct lazy_acct *acct, const struct tset *ts,
                  const struct stream *st, size_t n);
/* After the last tenreg phase of the hot set: waits for queued builds and
 * checks factory calls tenant by tenant (run->lazy). */
void lazy_final(struct bench_run *run, struct lazy_acct *a, const struct tset *ts,
                const struct stream *st, size_t n);

/* ---- wild.c ------------------------------------------------------------- */

/* The wildcard workload (--wildcard): two eager registries of --tenants
 * tenants, one with patterns, its four streams, a check of the answers,
 * then the set's cells; frees all of it. */
void wild_run(struct bench_run *run, const struct tset *ts);

/* ---- commits.c ---------------------------------------------------------- */

/* The batch-commit phase (issue 12) on the cold registry @cold_tr (eager,
 * --cold-tenants, after the cold set's rows) with readers on the cold
 * stream @cs: 10k-op commits, REPLACE_ALL syncs, each in a window with a
 * quiet twin; rows c-10k and c-sync, run->commits. Leaves the registry
 * changed (the caller frees it). */
void commits_run(struct bench_run *run, const struct tset *ts, const struct stream *cs,
                 void *cold_tr);

/* ---- targets.c, report_text.c, report_json.c ---------------------------- */

void targets_compute(struct bench_run *run);
bool target_met(const struct target *t);
void report_text(const struct bench_run *run, FILE *out);
void report_json(const struct bench_run *run, FILE *out);

/* ---- options.c ---------------------------------------------------------- */

/* Fills @cfg from the defaults and the flags; exits on a bad flag, and
 * after --help. */
void options_parse(int argc, char **argv, struct bench_cfg *cfg);

/* ---- flavors.c ---------------------------------------------------------- */

#ifndef BENCH_QSBR
/* Runs tenreg-bench-qsbr (next to this binary) with our flags plus
 * --flavor qsbr; its stdout is ours, or captured into *@captured. Returns
 * its exit status, or -1. */
int flavors_run_qsbr(int argc, char **argv, char **captured);
/* --flavor qsbr given to tenreg-bench: execs tenreg-bench-qsbr; returns
 * only on failure. */
int flavors_exec_qsbr(char **argv);
#endif

#endif
