/*
 * run.c - the run record: phase results kept in report order and found
 * again by row (set, impl, readers, writer); progress lines on stderr.
 */
#include "run.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void bench_progress(const struct bench_run *run, const char *fmt, ...)
{
    if (run->cfg.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[tenreg-bench %s %6.1fs] ", BENCH_FLAVOR, bench_now() - run->t_start);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const struct phase_result *run_keep(struct bench_run *run, const struct phase_result *pr)
{
    if (run->nresults == MAX_PHASES)
        abort();
    run->results[run->nresults] = *pr;
    return &run->results[run->nresults++];
}

const struct phase_result *run_find(const struct bench_run *run, const char *set, const char *impl,
                                    unsigned readers, bool writer)
{
    for (int i = 0; i < run->nresults; i++) {
        const struct phase_result *r = &run->results[i];
        if (!strcmp(r->set, set) && !strcmp(r->impl, impl) && r->readers == readers &&
            r->writer == writer)
            return r;
    }
    return NULL;
}

unsigned run_pair_rounds(const struct bench_cfg *cfg)
{
    return cfg->pair_reps > cfg->reps ? cfg->pair_reps : cfg->reps;
}
