/*
 * matrix.c - the impl x set matrix: which implementation runs on which
 * set's stream, with or without the writer, as one table; and the loop
 * that runs one set's cells and records a report row for each.
 *
 * A run of consecutive "paired" cells is the readers-only comparison
 * behind the cost targets: its cells alternate --pair-reps times, so a
 * change in machine load hits them alike, and each keeps its run with the
 * lowest CPU ns per lookup. Every other cell runs --reps times and keeps
 * its highest throughput.
 *
 * Baseline tables are built from the set's tenants before the set's first
 * cell that reads them and freed after its last; tenreg registries come
 * from the caller (they are measured and checked there). A writer's view
 * of the churn set lives as long as the table it churns.
 *
 * The batch rows (issue 13) read the table of their single-call impl
 * ("owner") with BENCH_BATCH lookups per call, for --batch-phase seconds.
 * Before a set's first cell, the answers of each batch impl it runs are
 * checked against the single lookups' on the start of its stream.
 */
#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum impl_id {
    IM_TENREG,
    IM_TENREG_PLAIN,
    IM_FLOOR,
    IM_RWLOCK,
    IM_URCU,
    IM_TENREG_BATCH,
    IM_FLOOR_BATCH,
    IM_COUNT
};

static const struct impl_desc {
    const char *name; /* the report's "impl" column */
    /* baselines: build and free a table of the set's tenants; NULL: the
     * caller's tenreg registry */
    void *(*make)(const struct tset *ts, size_t n, uint64_t seed, struct impl_build_info *info);
    void (*destroy)(void *tbl);
    void *(*reader)(void *arg);
    const struct writer_ops *wops; /* NULL: cannot have a writer */
    enum impl_id owner;            /* whose table it reads: itself, or the
                                      single-call impl of a batch one */
    /* batch impls: the answer check (see bench.h); NULL: a single-call impl */
    uint64_t (*check)(void *tbl, const struct stream *st, size_t n, uint64_t *checked);
} impls[IM_COUNT] = {
    [IM_TENREG] = {"tenreg", NULL, NULL, tr_reader, &tr_wops, IM_TENREG, NULL},
    [IM_TENREG_PLAIN] = {"tenreg no-pat", NULL, NULL, tr_reader, &tr_wops, IM_TENREG_PLAIN, NULL},
    [IM_FLOOR] = {"floor (a)", floor_new, floor_free, floor_reader, NULL, IM_FLOOR, NULL},
    [IM_RWLOCK] = {"rwlock (b)", rw_new, rw_free, rw_reader, &rw_wops, IM_RWLOCK, NULL},
    [IM_URCU] = {"rculfhash (c)", ur_new, ur_free, ur_reader, &ur_wops, IM_URCU, NULL},
    [IM_TENREG_BATCH] = {"tenreg batch", NULL, NULL, tr_reader_batch, NULL, IM_TENREG,
                         tr_check_batch},
    [IM_FLOOR_BATCH] = {"floor batch", NULL, NULL, floor_reader_batch, NULL, IM_FLOOR,
                        floor_check_batch},
};

/* The report's "set" column: the stream a row read. */
static const char *const stream_names[ST_COUNT] = {
    [ST_HOT] = "hot",        [ST_COLD] = "cold",          [ST_WILD] = "wild",
    [ST_WEXACT] = "w-exact", [ST_WPATTERN] = "w-pattern", [ST_WMISS4] = "w-miss4",
};
static const char *const set_names[] = {"hot", "cold", "wildcard"};

enum {
    C_PAIRED = 1,     /* readers only, alternated with the neighbouring paired cells */
    C_WRITER = 2,     /* + the writer thread */
    C_ONE_READER = 4, /* 1 reader instead of all (skipped when all is 1) */
};

static const struct cell {
    enum bench_set set;
    enum bench_stream stream;
    enum impl_id impl;
    unsigned how;
} matrix[] = {
    /* issue 4: tenreg against the floor (cost), then against the
     * baselines under the writer (throughput); issue 13: the batch rows
     * alternate with the single-call ones they are compared with */
    {SET_HOT, ST_HOT, IM_FLOOR, C_PAIRED},
    {SET_HOT, ST_HOT, IM_TENREG, C_PAIRED},
    {SET_HOT, ST_HOT, IM_FLOOR_BATCH, C_PAIRED},
    {SET_HOT, ST_HOT, IM_TENREG_BATCH, C_PAIRED},
    {SET_HOT, ST_HOT, IM_TENREG, C_WRITER | C_ONE_READER},
    {SET_HOT, ST_HOT, IM_TENREG, C_WRITER},
    {SET_HOT, ST_HOT, IM_RWLOCK, C_WRITER},
    {SET_HOT, ST_HOT, IM_URCU, C_WRITER},
    {SET_COLD, ST_COLD, IM_FLOOR, C_PAIRED},
    {SET_COLD, ST_COLD, IM_TENREG, C_PAIRED},
    {SET_COLD, ST_COLD, IM_FLOOR_BATCH, C_PAIRED},
    {SET_COLD, ST_COLD, IM_TENREG_BATCH, C_PAIRED},
    {SET_COLD, ST_COLD, IM_TENREG, C_WRITER},
    {SET_COLD, ST_COLD, IM_RWLOCK, C_WRITER},
    {SET_COLD, ST_COLD, IM_URCU, C_WRITER},
    /* issue 10: tenreg only (the baselines have no patterns). The
     * targets' three ratios alternate as one group: exact hits with and
     * without patterns registered, hits under a pattern, 4-label misses
     * with and without; then the mixed stream, with and without the
     * writer. */
    {SET_WILD, ST_WEXACT, IM_TENREG_PLAIN, C_PAIRED},
    {SET_WILD, ST_WEXACT, IM_TENREG, C_PAIRED},
    {SET_WILD, ST_WPATTERN, IM_TENREG, C_PAIRED},
    {SET_WILD, ST_WMISS4, IM_TENREG_PLAIN, C_PAIRED},
    {SET_WILD, ST_WMISS4, IM_TENREG, C_PAIRED},
    {SET_WILD, ST_WILD, IM_TENREG, 0},
    {SET_WILD, ST_WILD, IM_TENREG, C_WRITER},
};
#define NCELLS ((int)(sizeof(matrix) / sizeof(matrix[0])))

struct set_state {
    struct bench_run *run;
    const struct set_inputs *in;
    enum bench_set set;
    /* by owner impl */
    void *tbl[IM_COUNT];
    struct churn *churn[IM_COUNT];
    int last[IM_COUNT]; /* index of the set's last cell reading it, -1: none */
};

static bool cell_runs(const struct set_state *s, const struct cell *c)
{
    return c->set == s->set && !((c->how & C_ONE_READER) && s->run->readers <= 1) &&
           !(impls[c->impl].check && s->run->cfg.no_batch);
}

static void *table(struct set_state *s, enum impl_id im)
{
    const struct set_inputs *in = s->in;
    if (!s->tbl[im]) {
        if (im == IM_TENREG) {
            s->tbl[im] = in->tenreg;
        } else if (im == IM_TENREG_PLAIN) {
            s->tbl[im] = in->tenreg_plain;
        } else {
            bench_progress(s->run, "building %s for the %s set", impls[im].name, set_names[s->set]);
            s->tbl[im] = impls[im].make(in->ts, in->tenants, s->run->cfg.seed, NULL);
        }
    }
    return s->tbl[im];
}

static struct churn *churn_of(struct set_state *s, enum impl_id im)
{
    if (!s->churn[im]) {
        size_t nchurn = (size_t)((double)s->in->tenants * s->run->cfg.churn_frac);
        s->churn[im] = churn_new(nchurn < 1 ? 1 : nchurn, s->in->churn_seed);
    }
    return s->churn[im];
}

/* After the set's last cell of @im: the lazy check (after the last tenreg
 * phase, before the baselines take the CPU), the table, the churn view. */
static void release(struct set_state *s, enum impl_id im, const struct cell *c)
{
    const struct set_inputs *in = s->in;
    if (im == IM_TENREG && in->acct)
        lazy_final(s->run, in->acct, in->ts, in->streams[c->stream], in->tenants);
    if (impls[im].destroy && s->tbl[im])
        impls[im].destroy(s->tbl[im]);
    s->tbl[im] = NULL;
    churn_free(s->churn[im]);
    s->churn[im] = NULL;
}

/* Batch answers against single ones, on the start of the cell's stream;
 * recorded once per (stream, impl). */
static void check_batch(struct set_state *s, const struct cell *c)
{
    const struct impl_desc *d = &impls[c->impl];
    const char *set = stream_names[c->stream];
    struct bench_run *run = s->run;
    for (int i = 0; i < run->nbatch_checks; i++)
        if (!strcmp(run->batch_checks[i].set, set) && !strcmp(run->batch_checks[i].impl, d->name))
            return;
    if (run->nbatch_checks == MAX_BATCH_CHECKS)
        abort();
    struct batch_check *bc = &run->batch_checks[run->nbatch_checks++];
    const struct stream *st = s->in->streams[c->stream];
    snprintf(bc->set, sizeof(bc->set), "%s", set);
    snprintf(bc->impl, sizeof(bc->impl), "%s", d->name);
    bench_progress(run, "%s %s: checking batch answers against single lookups", set, d->name);
    bc->wrong = d->check(table(s, d->owner), st, st->n < 65536 ? st->n : 65536, &bc->checked);
    if (bc->wrong)
        fprintf(stderr, "tenreg-bench: %s %s: %llu of %llu batch answers differ from single "
                        "lookups\n",
                set, d->name, (unsigned long long)bc->wrong, (unsigned long long)bc->checked);
}

static void run_one(struct set_state *s, const struct cell *c, const char *note,
                    struct phase_result *pr)
{
    const struct bench_cfg *cfg = &s->run->cfg;
    const struct impl_desc *d = &impls[c->impl];
    bool writer = (c->how & C_WRITER) && d->wops;
    unsigned readers = (c->how & C_ONE_READER) ? 1 : s->run->readers;
    struct phase ph = {0};
    ph.set = stream_names[c->stream];
    ph.impl = d->name;
    ph.tbl = table(s, d->owner);
    ph.reader = d->reader;
    ph.wops = writer ? d->wops : NULL;
    ph.churn = writer ? churn_of(s, d->owner) : NULL;
    ph.st = s->in->streams[c->stream];
    ph.acct = d->owner == IM_TENREG ? s->in->acct : NULL;
    ph.readers = readers;
    ph.seconds = d->check ? cfg->batch_phase_s : cfg->phase_s;
    ph.warmup = cfg->warmup_s;
    ph.sample_mask = cfg->sample_every - 1;
    ph.qs_every = cfg->qs_every;
    ph.pin = cfg->pin;
    ph.writer_rate = cfg->writer_rate;
    ph.writer_tick = cfg->writer_tick_us * 1e-6;
    bench_progress(s->run, "%s %-16s %u reader%s%s%s", ph.set, ph.impl, readers,
                   readers == 1 ? "" : "s", writer && cfg->writer_rate > 0 ? " + writer" : "",
                   note);
    phase_run(&ph, pr);
}

/* Best of --reps runs (highest throughput). */
static void run_best(struct set_state *s, const struct cell *c)
{
    unsigned reps = s->run->cfg.reps;
    struct phase_result best = {0}, pr;
    for (unsigned r = 0; r < reps; r++) {
        run_one(s, c, reps > 1 ? " (repetition)" : "", &pr);
        if (r == 0 || pr.total_per_s > best.total_per_s)
            best = pr;
    }
    run_keep(s->run, &best);
}

/* Cells @first..@end-1 alternate; each keeps its lowest CPU ns per lookup. */
static void run_paired(struct set_state *s, int first, int end)
{
    struct phase_result best[NCELLS], pr;
    unsigned n = run_pair_rounds(&s->run->cfg);
    for (unsigned r = 0; r < n; r++) {
        char note[32];
        snprintf(note, sizeof(note), " (pair %u/%u)", r + 1, n);
        for (int i = first; i < end; i++) {
            if (!cell_runs(s, &matrix[i]))
                continue;
            run_one(s, &matrix[i], note, &pr);
            if (r == 0 || pr.cpu_ns_per_lookup < best[i].cpu_ns_per_lookup)
                best[i] = pr;
        }
    }
    for (int i = first; i < end; i++)
        if (cell_runs(s, &matrix[i]))
            run_keep(s->run, &best[i]);
}

void matrix_run_set(struct bench_run *run, enum bench_set set, const struct set_inputs *in)
{
    struct set_state s = {.run = run, .in = in, .set = set};
    for (int im = 0; im < IM_COUNT; im++)
        s.last[im] = -1;
    for (int i = 0; i < NCELLS; i++)
        if (cell_runs(&s, &matrix[i]))
            s.last[impls[matrix[i].impl].owner] = i;
    for (int i = 0; i < NCELLS; i++)
        if (cell_runs(&s, &matrix[i]) && impls[matrix[i].impl].check)
            check_batch(&s, &matrix[i]);

    for (int i = 0; i < NCELLS;) {
        const struct cell *c = &matrix[i];
        if (!cell_runs(&s, c)) {
            i++;
            continue;
        }
        int end = i + 1;
        if (c->how & C_PAIRED) {
            while (end < NCELLS && matrix[end].set == set && (matrix[end].how & C_PAIRED))
                end++;
            run_paired(&s, i, end);
        } else {
            run_best(&s, c);
        }
        for (int j = i; j < end; j++) {
            enum impl_id owner = impls[matrix[j].impl].owner;
            if (cell_runs(&s, &matrix[j]) && s.last[owner] == j)
                release(&s, owner, &matrix[j]);
        }
        i = end;
    }
}
