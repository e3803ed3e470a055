/*
 * wild.c - the wildcard workload of issue 10 (--wildcard).
 *
 * Two eager registries of the same --tenants tenants: "tenreg" where a
 * share (--wild-patterns, 10%) of them also hold the pattern "*.NAME",
 * NAME being their host without its first label, and "tenreg no-pat"
 * without any pattern. Four streams, Zipf over the tenants like the hot
 * set and decorated like it (case, ':443', URLs):
 *   w-exact    the tenants' own hosts only
 *   w-pattern  "x<k>.NAME" under a pattern holder's pattern only
 *   w-miss4    unknown hosts of exactly 4 labels only
 *   wild       --wild-hits (20%) under a pattern, --unknown unknown, the
 *              rest exact
 * The targets compare w-exact on both registries, w-pattern with w-exact,
 * and w-miss4 on both; before any phase, a sample of every stream is
 * resolved once and its answer checked (tenant, code and matched).
 */
#include "run.h"
#include "hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What entry @e of a wildcard stream must answer: 0 with the tenant's id
 * and @matched, or ENOENT. */
static bool answer_ok(tenreg_t *reg, const struct tset *ts, const struct stream *st,
                      const struct stream_entry *e, bool has_patterns)
{
    char want[TENREG_HOST_KEY_MAX + 3];
    bool hit = e->tenant != STREAM_UNKNOWN && (!(e->kind & 8) || has_patterns);
    if (hit && (e->kind & 8))
        ts_pattern(ts, e->tenant, want);
    else if (hit)
        snprintf(want, sizeof(want), "%s", ts_host(ts, e->tenant));
    tenreg_resolution res;
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(reg, st->buf + e->off, e->len, &res);
    bool ok = hit ? rc == 0 && !strcmp(res.tenant_id, ts_id(ts, e->tenant)) && res.matched &&
                        !strcmp(res.matched, want)
                  : rc == TENREG_ENOENT;
    tenreg_read_unlock();
    return ok;
}

static void check(struct wild_report *w, void *tr, const struct tset *ts, const struct stream *st,
                  bool has_patterns)
{
    tenreg_t *reg = tr_registry(tr);
    size_t n = st->n < 65536 ? st->n : 65536;
    for (size_t i = 0; i < n; i++) {
        w->checked++;
        if (!answer_ok(reg, ts, st, &st->e[i], has_patterns))
            w->wrong++;
    }
}

void wild_run(struct bench_run *run, const struct tset *ts)
{
    const struct bench_cfg *c = &run->cfg;
    struct wild_report *w = &run->wild;
    size_t n = c->tenants;
    size_t holders = 0;
    for (size_t i = 0; i < n; i++)
        holders += wild_holds(i, c->wild_patterns);
    if (!holders) {
        fprintf(stderr, "tenreg-bench: --wild-patterns %g gives none of %zu tenants a pattern\n",
                c->wild_patterns, n);
        exit(2);
    }

    bench_progress(run, "wildcard: registering %zu tenants twice, %zu patterns", n, holders);
    void *plain = tr_new(ts, n, TR_EAGER, NULL, c, NULL);
    void *pat = tr_new(ts, n, TR_EAGER, NULL, c, NULL);
    long live0 = tenreg__live_bytes(tr_registry(pat));
    struct impl_build_info info;
    w->tenants = n;
    w->patterns = tr_add_patterns(pat, c->wild_patterns, &info);
    w->patterns_s = info.seconds;
    w->live_per_pattern =
        (double)(tenreg__live_bytes(tr_registry(pat)) - live0) / (double)w->patterns;

    bench_progress(run, "wildcard: generating its streams");
    const struct stream_mix exact = {.holders = c->wild_patterns};
    const struct stream_mix under = {.pattern = 1, .holders = c->wild_patterns};
    const struct stream_mix miss4 = {.miss4 = true};
    const struct stream_mix mixed = {
        .unknown = c->unknown, .pattern = c->wild_hits, .holders = c->wild_patterns};
    struct set_inputs in = {
        .ts = ts, .tenants = n, .tenreg = pat, .tenreg_plain = plain, .churn_seed = c->seed + 30};
    struct stream *s_exact = stream_new_mix(ts, n, c->zipf_s, c, &exact, c->seed + 31);
    struct stream *s_under = stream_new_mix(ts, n, c->zipf_s, c, &under, c->seed + 32);
    struct stream *s_miss4 = stream_new_mix(ts, n, c->zipf_s, c, &miss4, c->seed + 33);
    struct stream *s_mixed = stream_new_mix(ts, n, c->zipf_s, c, &mixed, c->seed + 34);
    in.streams[ST_WEXACT] = s_exact;
    in.streams[ST_WPATTERN] = s_under;
    in.streams[ST_WMISS4] = s_miss4;
    in.streams[ST_WILD] = s_mixed;
    w->n = s_mixed->n;
    w->n_pattern = s_mixed->n_pattern;
    w->n_unknown = s_mixed->n_unknown;
    w->distinct = s_mixed->distinct;

    bench_progress(run, "wildcard: checking answers");
    check(w, pat, ts, s_exact, true);
    check(w, plain, ts, s_exact, false);
    check(w, pat, ts, s_under, true);
    check(w, plain, ts, s_under, false);
    check(w, pat, ts, s_miss4, true);
    check(w, plain, ts, s_miss4, false);
    check(w, pat, ts, s_mixed, true);
    if (w->wrong)
        fprintf(stderr, "tenreg-bench: wildcard: %llu of %llu answers wrong\n",
                (unsigned long long)w->wrong, (unsigned long long)w->checked);
    w->done = true;

    matrix_run_set(run, SET_WILD, &in);

    bench_progress(run, "wildcard: freeing its registries");
    tr_free(pat);
    tr_free(plain);
    stream_free(s_exact);
    stream_free(s_under);
    stream_free(s_miss4);
    stream_free(s_mixed);
}
