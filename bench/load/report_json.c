/*
 * report_json.c - --json: the run record as one JSON object (with
 * --flavor both, main.c wraps two of them in {"runs": [...]}).
 */
#include "run.h"
#include "hooks.h"

#include <string.h>

static void json_phase(FILE *out, const struct phase_result *r, bool last)
{
    fprintf(out,
            "    {\"set\": \"%s\", \"impl\": \"%s\", \"readers\": %u, \"writer\": %s, "
            "\"seconds\": %.3f, \"lookups_per_s\": %.0f, \"per_thread_per_s\": [",
            r->set, r->impl, r->readers, r->writer ? "true" : "false", r->seconds, r->total_per_s);
    for (unsigned j = 0; j < r->readers && j < 64; j++)
        fprintf(out, "%s%.0f", j ? ", " : "", r->per_thread_per_s[j]);
    fprintf(out,
            "], \"latency_ns\": {\"p50\": %.1f, \"p99\": %.1f, \"p999\": %.1f, \"max\": %.1f, "
            "\"samples\": %zu}, \"answers\": {\"ok\": %llu, \"pending\": %llu, \"enoent\": %llu, "
            "\"einval\": %llu, \"other\": %llu}",
            r->p50_ns, r->p99_ns, r->p999_ns, r->max_ns, r->nsamples, (unsigned long long)r->cnt_ok,
            (unsigned long long)r->cnt_pending, (unsigned long long)r->cnt_enoent,
            (unsigned long long)r->cnt_einval, (unsigned long long)r->cnt_other);
    fprintf(out,
            ", \"cpu_ns_per_lookup\": %.1f, \"reader_sleeps_per_s\": %.1f, "
            "\"reader_preemptions_per_s\": %.1f",
            r->cpu_ns_per_lookup, r->vcsw_per_s, r->ivcsw_per_s);
    fprintf(out, ", \"cpu_pct\": {\"readers\": %.1f, \"writer\": %.1f, \"other\": %.1f}",
            r->cpu_readers, r->cpu_writer, r->cpu_other);
    if (r->writer)
        fprintf(out,
                ", \"writer_stats\": {\"ops_per_s\": %.1f, \"ops\": %llu, \"errors\": %llu, "
                "\"register\": %llu, \"unregister\": %llu, \"recheck\": %llu}",
                r->writer_ops_per_s, (unsigned long long)r->writer_ops,
                (unsigned long long)r->writer_errors, (unsigned long long)r->w_reg,
                (unsigned long long)r->w_unreg, (unsigned long long)r->w_recheck);
    fprintf(out, "}%s\n", last ? "" : ",");
}

static void json_ms(FILE *out, const double *v, unsigned n)
{
    fprintf(out, "[");
    for (unsigned i = 0; i < n; i++)
        fprintf(out, "%s%.3f", i ? ", " : "", v[i]);
    fprintf(out, "]");
}

static void json_commit_kind(FILE *out, const struct commit_kind *k, bool last)
{
    fprintf(out,
            "      {\"what\": \"%s\", \"commits\": %u, \"ops_min\": %zu, \"ops_max\": %zu, "
            "\"changed\": %zu, \"tenants_min\": %zu, \"tenants_max\": %zu, \"window_s\": %.4f, "
            "\"commit_median_ms\": %.3f, \"commit_max_ms\": %.3f, \"build_median_ms\": %.3f, "
            "\"build_max_ms\": %.3f, \"commit_cpu_median_ms\": %.3f, \"commit_ms\": ",
            k->what, k->n, k->ops_min, k->ops_max, k->changed, k->tenants_min, k->tenants_max,
            k->window_s, k->commit_med, k->commit_max, k->build_med, k->build_max, k->cpu_med);
    json_ms(out, k->commit_ms, k->n);
    fprintf(out, ", \"commit_cpu_ms\": ");
    json_ms(out, k->commit_cpu_ms, k->n);
    fprintf(out, ", \"build_ms\": ");
    json_ms(out, k->build_ms, k->built);
    fprintf(out, "}%s\n", last ? "" : ",");
}

/* Issue 12: the batch commits (commits.c). */
static void json_commits(const struct bench_run *run, FILE *out)
{
    const struct commit_report *r = &run->commits;
    if (!r->done)
        return;
    fprintf(out,
            "  \"commits\": {\"readers\": %d, \"tenants\": %zu, \"pool\": %zu, \"setup_ms\": "
            "%.3f, \"mix\": {\"move\": %u, \"new\": %u, \"unregister\": %u, \"add_host\": "
            "%u}, \"sync_change\": %.4f, \"count_wrong\": %llu, \"checked\": %llu, "
            "\"wrong\": %llu, \"failed\": ",
            COMMIT_READERS, r->tenants, r->pool, r->setup_ms, r->mix[0], r->mix[1], r->mix[2], r->mix[3],
            run->cfg.sync_change, (unsigned long long)r->count_wrong,
            (unsigned long long)r->checked, (unsigned long long)r->wrong);
    if (r->failed)
        fprintf(out, "\"%s\"", r->failure);
    else
        fprintf(out, "null");
    fprintf(out, ", \"kinds\": [\n");
    json_commit_kind(out, &r->small, false);
    json_commit_kind(out, &r->sync, true);
    fprintf(out, "  ]},\n");
}

void report_json(const struct bench_run *run, FILE *out)
{
    const struct bench_cfg *c = &run->cfg;
    const struct stream *hs = run->hot, *cs = run->cold;
    const struct sysinfo *si = &run->si;
    const struct lazy_report *lazy = &run->lazy;
    unsigned nr = run->readers;
    fprintf(out,
            "{\n  \"tool\": \"tenreg-bench\", \"version\": \"%s\", \"flavor\": \"%s\", "
            "\"allocator\": \"%s\",\n",
            tenreg_version_string(), tenreg_flavor(), tenreg__allocator_name());
    fprintf(out,
            "  \"machine\": {\"cpus\": %ld, \"model\": \"%s\", \"loadavg_start\": [%.2f, %.2f, "
            "%.2f], \"loadavg_end\": [%.2f, %.2f, %.2f]},\n",
            si->cpus, si->model, si->la_start[0], si->la_start[1], si->la_start[2], si->la_end[0],
            si->la_end[1], si->la_end[2]);
    fprintf(out,
            "  \"config\": {\"tenants\": %zu, \"lazy_frac\": %.3f, \"factory_us\": %u, "
            "\"builders\": %u, \"cold_tenants\": %zu, \"stream\": %zu, \"mixed_case\": %.3f, "
            "\"port443\": %.3f, \"unknown\": %.3f, \"urls\": %.3f, \"zipf\": %.3f, \"seed\": %llu, "
            "\"readers\": %u, \"writer_rate\": %.1f, \"writer_tick_us\": %.1f, \"churn\": %.3f, "
            "\"phase_s\": %.3f, "
            "\"warmup_s\": %.3f, \"reps\": %u, \"pair_reps\": %u, \"sample_every\": %u, "
            "\"qs_every\": %u, "
            "\"pin\": %s, \"batch\": %s, \"batch_size\": %d, \"batch_phase_s\": %.3f, "
            "\"commit_phase\": %s, \"commits\": %u, \"commit_ops\": %zu, \"syncs\": %u, "
            "\"sync_change\": %.4f},\n",
            c->tenants, c->lazy_frac, c->factory_us, c->builders, c->cold_tenants,
            hs   ? hs->n
            : cs ? cs->n
                 : 0,
            c->mixed_case, c->port443, c->unknown, c->urls, c->zipf_s, (unsigned long long)c->seed,
            nr, c->writer_rate, c->writer_tick_us, c->churn_frac, c->phase_s, c->warmup_s, c->reps,
            c->pair_reps, c->sample_every, c->qs_every, c->pin ? "true" : "false",
            c->no_batch ? "false" : "true", BENCH_BATCH, c->batch_phase_s,
            c->no_commits || c->no_cold ? "false" : "true", c->commits, c->commit_ops, c->syncs,
            c->sync_change);
    fprintf(out, "  \"timer\": {\"overhead_ns\": %.2f, \"tsc_ghz\": %.4f},\n", si->timer_ns,
            bench_tsc_per_ns);
    if (hs)
        fprintf(out,
                "  \"hot_stream\": {\"distinct_tenants\": %zu, \"mixed\": %zu, \"port443\": %zu, "
                "\"unknown\": %zu, \"urls\": %zu},\n",
                hs->distinct, hs->n_mixed, hs->n_port, hs->n_unknown, hs->n_url);
    if (cs)
        fprintf(out, "  \"cold_stream\": {\"distinct_tenants\": %zu},\n", cs->distinct);
    if (run->wild.done) {
        const struct wild_report *w = &run->wild;
        fprintf(out,
                "  \"wildcard\": {\"tenants\": %zu, \"patterns\": %zu, \"pattern_share\": %.3f, "
                "\"hit_share\": %.3f, \"patterns_s\": %.4f, \"live_bytes_per_pattern\": %.1f, "
                "\"checked\": %llu, \"wrong\": %llu, \"wild_stream\": {\"n\": %zu, "
                "\"under_pattern\": %zu, \"unknown\": %zu, \"distinct_tenants\": %zu}},\n",
                w->tenants, w->patterns, c->wild_patterns, c->wild_hits, w->patterns_s,
                w->live_per_pattern, (unsigned long long)w->checked, (unsigned long long)w->wrong,
                w->n, w->n_pattern, w->n_unknown, w->distinct);
    }
    if (run->nbatch_checks) {
        fprintf(out, "  \"batch_checks\": [");
        for (int i = 0; i < run->nbatch_checks; i++) {
            const struct batch_check *b = &run->batch_checks[i];
            fprintf(out,
                    "%s{\"set\": \"%s\", \"impl\": \"%s\", \"checked\": %llu, "
                    "\"differ\": %llu}",
                    i ? ", " : "", b->set, b->impl, (unsigned long long)b->checked,
                    (unsigned long long)b->wrong);
        }
        fprintf(out, "],\n");
    }
    fprintf(out, "  \"phases\": [\n");
    for (int i = 0; i < run->nresults; i++)
        json_phase(out, &run->results[i], i == run->nresults - 1);
    fprintf(out, "  ],\n");
    if (lazy->done)
        fprintf(out,
                "  \"lazy\": {\"lazy_tenants\": %llu, \"first_hit\": %llu, \"first_hit_pending\": "
                "%llu, \"factory_calls\": "
                "%llu, \"mismatches\": %llu, \"churn_factory_calls\": %llu, \"factory_mean_us\": "
                "%.1f, \"drain_s\": %.3f, \"equal\": %s},\n",
                (unsigned long long)lazy->lazy_tenants, (unsigned long long)lazy->reached,
                (unsigned long long)lazy->first_hits, (unsigned long long)lazy->factory_calls,
                (unsigned long long)lazy->mismatches, (unsigned long long)lazy->churn_calls,
                lazy->factory_mean_us, lazy->drain_s,
                lazy->factory_calls == lazy->reached && !lazy->mismatches ? "true" : "false");
    json_commits(run, out);
    fprintf(out, "  \"registries\": [\n");
    for (int i = 0; i < run->nmem; i++) {
        const struct mem_report *m = &run->mem[i];
        fprintf(out,
                "    {\"what\": \"%s\", \"tenants\": %zu, \"register_s\": %.4f, \"free_s\": %.4f, "
                "\"live_bytes_per_tenant\": %.1f, \"heap_bytes_per_tenant\": %.1f, "
                "\"rss_bytes_per_tenant\": %.1f, \"id_url_bytes_per_tenant\": %.1f, "
                "\"host_key_bytes_per_tenant\": %.1f, \"beyond_id_url\": %.1f, "
                "\"accounting\": {\"slots_by_host\": %.2f, \"slots_by_id\": %.2f, "
                "\"slots_patterns\": %.2f, \"tenant_struct\": %.2f, \"tenant_host\": %.2f, "
                "\"record_header\": %.2f, \"record_host\": %.2f, \"record_id\": %.2f, "
                "\"record_rounding\": %.2f, \"record_tail\": %.2f, \"build_record\": %.2f, "
                "\"build_state\": %.2f, \"build_alignment\": %.2f, \"other\": %.2f}}%s\n",
                m->what, m->n, m->reg_s, m->free_s, m->live_per, m->heap_per, m->rss_per,
                m->str2_per, m->host_per, m->live_per + m->heap_per - m->str2_per,
                m->slots_per[0], m->slots_per[1], m->slots_per[2], m->parts.tenant_struct,
                m->parts.tenant_host, m->parts.rec_header, m->parts.rec_host, m->parts.rec_id,
                m->parts.rec_round, m->parts.rec_tail, m->parts.build_rec, m->parts.build_state,
                m->parts.build_pad, m->other_per,
                i == run->nmem - 1 ? "" : ",");
    }
    fprintf(out, "  ],\n  \"targets\": [\n");
    for (int i = 0; i < run->ntargets; i++) {
        const struct target *t = &run->targets[i];
        fprintf(out,
                "    {\"name\": \"%s\", \"measured\": %s%.4f, \"limit\": ", t->name, "",
                t->have ? t->value : 0.0);
        if (t->info)
            fprintf(out, "null");
        else
            fprintf(out, "%.4f", t->limit);
        fprintf(out, ", \"unit\": \"%s\", \"higher_is_better\": %s, \"wall_clock_ratio\": %.4f, ",
                t->unit, t->higher_better ? "true" : "false", t->wall_ratio);
        if (t->cpu_ratio > 0)
            fprintf(out, "\"cpu_ns_ratio\": %.4f, ", t->cpu_ratio);
        if (t->info)
            fprintf(out, "\"informational\": true, ");
        if (t->note[0])
            fprintf(out, "\"note\": \"%s\", ", t->note);
        fprintf(out, "\"met\": %s}%s\n",
                t->have && !t->info ? (target_met(t) ? "true" : "false") : "null",
                i == run->ntargets - 1 ? "" : ",");
    }
    fprintf(out, "  ]\n}\n");
    fflush(out);
}
