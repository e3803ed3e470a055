/*
 * main.c - tenreg-bench: the load benchmark of issue 4 (and the wildcard
 * workload of issue 10 with --wildcard).
 *
 * One run = one flavor (this binary is linked against libtenreg, memb, or
 * libtenreg-qsbr as tenreg-bench-qsbr: both export the same names, so they
 * cannot share a binary). With --flavor both (the default of tenreg-bench)
 * the memb binary runs its table, then runs tenreg-bench-qsbr from its own
 * directory with the same flags, and prints that table too (flavors.c).
 *
 * This file is the order of things: the workload, the hot set, the
 * registration timings, the cold set and the batch commits on its registry,
 * the wildcard set, the targets, the report. What each set runs is
 * matrix.c's table.
 */
#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t churn_count(size_t tenants, double frac)
{
    size_t n = (size_t)((double)tenants * frac);
    return n < 1 ? 1 : n;
}

/* Hot set: --tenants tenants, lazy as the workload says, Zipf stream. */
static void hot_set(struct bench_run *run, const struct tset *ts, const struct stream *hs)
{
    const struct bench_cfg *c = &run->cfg;
    struct lazy_acct *acct = acct_new(c->tenants, churn_count(c->tenants, c->churn_frac),
                                      c->factory_us, ts->platforms, hs->n);
    void *tr = registry_measured(run, "hot, mixed", ts, c->tenants, TR_MIXED, acct);
    lazy_warm_up(run, tr, acct, ts, hs, c->tenants);
    struct set_inputs in = {
        .ts = ts, .tenants = c->tenants, .tenreg = tr, .acct = acct, .churn_seed = c->seed + 10};
    in.streams[ST_HOT] = hs;
    matrix_run_set(run, SET_HOT, &in);
    registry_free(run, "hot, mixed", tr);
    acct_free(acct);
}

/* Registration timings: --cold-tenants eager (kept as the cold registry
 * when the cold set runs) and lazy. Returns the cold registry or NULL. */
static void *registrations(struct bench_run *run, const struct tset *ts, bool keep_eager)
{
    const struct bench_cfg *c = &run->cfg;
    if (c->no_reg && !keep_eager)
        return NULL;
    struct lazy_acct *none = acct_new(0, 0, c->factory_us, ts->platforms, 0);
    void *eager = registry_measured(run, "eager", ts, c->cold_tenants, TR_EAGER, none);
    if (!c->no_reg) {
        void *lz = registry_measured(run, "lazy", ts, c->cold_tenants, TR_LAZY, none);
        registry_free(run, "lazy", lz);
    }
    if (!keep_eager) {
        registry_free(run, "eager", eager);
        eager = NULL;
    }
    acct_free(none);
    return eager;
}

/* Cold set: the eager registry, uniform stream; then the batch commits
 * (issue 12) on the same registry. */
static void cold_set(struct bench_run *run, const struct tset *ts, const struct stream *cs,
                     void *cold_tr)
{
    const struct bench_cfg *c = &run->cfg;
    struct set_inputs in = {
        .ts = ts, .tenants = c->cold_tenants, .tenreg = cold_tr, .churn_seed = c->seed + 20};
    in.streams[ST_COLD] = cs;
    matrix_run_set(run, SET_COLD, &in);
    if (!c->no_commits)
        commits_run(run, ts, cs, cold_tr);
    registry_free(run, "eager", cold_tr);
}

static void report(const struct bench_run *run)
{
    if (run->cfg.json)
        report_json(run, stdout);
    else
        report_text(run, stdout);
}

int main(int argc, char **argv)
{
    struct bench_run *run = calloc(1, sizeof(*run));
    if (!run)
        return 1;
    struct bench_cfg *c = &run->cfg;
    options_parse(argc, argv, c);
    run->t_start = bench_now();
#ifdef BENCH_QSBR
    if (strcmp(c->flavor, "qsbr")) {
        fprintf(stderr, "tenreg-bench-qsbr: runs the qsbr flavor only; use tenreg-bench for "
                        "memb or both\n");
        return 2;
    }
#else
    if (!strcmp(c->flavor, "qsbr"))
        return flavors_exec_qsbr(argv);
    bool both = !strcmp(c->flavor, "both");
#endif
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    run->readers = c->readers ? c->readers : (unsigned)(ncpu > 0 ? ncpu : 1);
    sysinfo_start(&run->si);

    size_t nmax = c->tenants > c->cold_tenants ? c->tenants : c->cold_tenants;
    size_t n_unknown = nmax / 16 > 65536 ? nmax / 16 : 65536;
    bench_progress(run, "generating %zu tenants and the streams", nmax);
    struct tset *ts = tset_new(nmax, n_unknown, c->lazy_frac, c->seed);
    struct stream *hs = c->no_hot ? NULL : stream_new(ts, c->tenants, c->zipf_s, c, c->seed + 1);
    struct stream *cs = c->no_cold ? NULL : stream_new(ts, c->cold_tenants, 0, c, c->seed + 2);
    run->hot = hs;
    run->cold = cs;

    if (hs)
        hot_set(run, ts, hs);
    void *cold_tr = registrations(run, ts, cs != NULL);
    if (cs)
        cold_set(run, ts, cs, cold_tr);
    if (c->wildcard)
        wild_run(run, ts);

    sysinfo_end(&run->si);
    targets_compute(run);
    int rc = 0;
#ifndef BENCH_QSBR
    if (both && c->json) {
        /* {"runs": [memb, qsbr]} */
        printf("{\"runs\": [\n");
        report_json(run, stdout);
        char *q = NULL;
        rc = flavors_run_qsbr(argc, argv, &q) == 0 ? 0 : 1;
        if (rc == 0 && q)
            printf(",\n%s", q);
        printf("]}\n");
        free(q);
        both = false;
    } else {
        report(run);
    }
#else
    report(run);
#endif
    stream_free(hs);
    stream_free(cs);
    tset_free(ts);
    free(run);
#ifndef BENCH_QSBR
    /* after freeing the workload: the qsbr run gets the memory */
    if (both) {
        printf("\n");
        fflush(stdout);
        rc = flavors_run_qsbr(argc, argv, NULL) == 0 ? 0 : 1;
    }
#endif
    return rc;
}
