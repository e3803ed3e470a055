/*
 * report_text.c - the default output: the machine and workload, one row
 * per phase, the lazy check, registration and memory, the ratios, and
 * the targets with met / MISSED.
 */
#include "run.h"
#include "hooks.h"

#include <string.h>

/* Widths of the set and impl columns: the default run's rows fit the
 * minimum; the wildcard set's longer names widen them. */
/* One registry's bytes beyond the id and URL strings, by where they go. */
static void byte_accounting(FILE *out, const struct mem_report *m)
{
    const struct bench_bytes *b = &m->parts;
    double slots = m->slots_per[0] + m->slots_per[1] + m->slots_per[2];
    double record = b->rec_header + b->rec_host + b->rec_id + b->rec_round + b->rec_tail;
    fprintf(out,
            "  %s, B/tenant beyond id + URL: slots %.1f (by_host %.1f, by_id %.1f, patterns %.1f) "
            "+ tenant %.1f (struct %.1f, host key %.1f) + record %.1f (header %.1f, host key %.1f, "
            "id %.1f, rounding %.1f, tail %.1f) + build %.1f (record %.1f, state %.1f, "
            "alignment %.1f) + other %.1f = %.1f\n",
            m->what, slots, m->slots_per[0], m->slots_per[1], m->slots_per[2],
            b->tenant_struct + b->tenant_host, b->tenant_struct, b->tenant_host, record,
            b->rec_header, b->rec_host, b->rec_id, b->rec_round, b->rec_tail,
            b->build_rec + b->build_state + b->build_pad, b->build_rec, b->build_state,
            b->build_pad, m->other_per, m->live_per - m->str2_per);
}

static void column_widths(const struct bench_run *run, int *wset, int *wimpl)
{
    *wset = 4;
    *wimpl = 14;
    for (int i = 0; i < run->nresults; i++) {
        int ls = (int)strlen(run->results[i].set), li = (int)strlen(run->results[i].impl);
        if (ls > *wset)
            *wset = ls;
        if (li > *wimpl)
            *wimpl = li;
    }
}

static void wild_lines(const struct bench_run *run, FILE *out)
{
    const struct wild_report *w = &run->wild;
    if (!w->done)
        return;
    fprintf(out,
            "wildcard: %zu eager tenants, %zu of them hold a pattern '*.NAME' (their host "
            "without its first label; added in %.3f s, %.1f live B each); 'tenreg no-pat' is "
            "the same tenants without patterns\n",
            w->tenants, w->patterns, w->patterns_s, w->live_per_pattern);
    fprintf(out,
            "          streams of %zu Host values, Zipf(%.2f), the decoration above: w-exact "
            "exact hosts only, w-pattern 'x<k>.NAME' only, w-miss4 unknown 4-label hosts only, "
            "wild %.1f%% under a pattern + %.1f%% unknown + the rest exact (%zu distinct "
            "tenants)\n",
            w->n, run->cfg.zipf_s, 100.0 * (double)w->n_pattern / (double)w->n,
            100.0 * (double)w->n_unknown / (double)w->n, w->distinct);
    fprintf(out, "          answers checked before the phases: %llu lookups, %llu wrong%s\n",
            (unsigned long long)w->checked, (unsigned long long)w->wrong,
            w->wrong ? "  WRONG ANSWERS" : " (tenant, answer and matched as expected)");
}

static bool has_batch_rows(const struct bench_run *run)
{
    for (int i = 0; i < run->nresults; i++)
        if (strstr(run->results[i].impl, " batch"))
            return true;
    return false;
}

static void batch_lines(const struct bench_run *run, FILE *out)
{
    const struct bench_cfg *c = &run->cfg;
    if (!has_batch_rows(run))
        return;
    char sync[96];
    if (strcmp(BENCH_FLAVOR, "qsbr"))
        snprintf(sync, sizeof(sync), "one read section per call");
    else
        snprintf(sync, sizeof(sync), "after a call, tenreg_quiescent() once %u lookup(s) passed",
                 c->qs_every);
    fprintf(out,
            "batch: 'tenreg batch' = tenreg_resolve_many, %d consecutive stream entries per call "
            "(%s; EPENDING answers go on to tenreg_resolve NOWAIT, so the lazy builds and answers "
            "are the single reader's); 'floor batch' = floor (a), %d per call, the same "
            "group-prefetch stages; %.3g s per phase, alternated with the readers-only pairs; "
            "their latency columns time one call of %d lookups\n",
            BENCH_BATCH, sync, BENCH_BATCH, c->batch_phase_s, BENCH_BATCH);
    fprintf(out, "       answers checked against single lookups before the phases:");
    for (int i = 0; i < run->nbatch_checks; i++) {
        const struct batch_check *b = &run->batch_checks[i];
        fprintf(out, "%s %s %s %llu, %llu differ%s", i ? ";" : "", b->set, b->impl,
                (unsigned long long)b->checked, (unsigned long long)b->wrong,
                b->wrong ? " WRONG ANSWERS" : "");
    }
    fprintf(out, "\n");
}

static void commit_kind_line(const struct commit_kind *k, FILE *out)
{
    char ops[48], ten[48];
    if (k->ops_min == k->ops_max)
        snprintf(ops, sizeof(ops), "%zu", k->ops_max);
    else
        snprintf(ops, sizeof(ops), "%zu..%zu", k->ops_min, k->ops_max);
    if (k->tenants_min == k->tenants_max)
        snprintf(ten, sizeof(ten), "%zu", k->tenants_max);
    else
        snprintf(ten, sizeof(ten), "%zu..%zu", k->tenants_min, k->tenants_max);
    fprintf(out, "%-8s %15s %8zu %7u %15s %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f\n", k->what, ops,
            k->changed, k->n, ten, k->commit_med, k->commit_max, k->cpu_med, k->build_med,
            k->build_max, k->window_s);
}

/* Issue 12: the batch commits (commits.c). */
static void commit_lines(const struct bench_run *run, FILE *out)
{
    const struct commit_report *r = &run->commits;
    if (!r->done)
        return;
    fprintf(out,
            "\nbatch commits (issue 12), on the cold registry after its rows: %zu tenants when "
            "the phase began, %zu of them unregistered by a setup REPLACE_ALL sync (%.1f ms) to "
            "have ids to register; commits back to back on one thread, every batch of a window "
            "built before it; rows c-10k, c-sync: %d readers on the cold stream "
            "(tenreg_resolve_by_host, %s) during the commits, then as long without\n",
            r->tenants, r->pool, r->setup_ms, COMMIT_READERS,
            strcmp(BENCH_FLAVOR, "qsbr") ? "one read section per lookup"
                                         : "tenreg_quiescent() every N lookups");
    fprintf(out, "%-8s %15s %8s %7s %15s %9s %9s %9s %9s %9s %9s\n", "batch", "ops", "changed",
            "commits", "tenants after", "commit ms", "max ms", "CPU ms", "build ms", "max ms",
            "window s");
    commit_kind_line(&r->small, out);
    commit_kind_line(&r->sync, out);
    fprintf(out,
            "  10k-op: %u moves (registered again with the other URL: another host), %u new "
            "registrations, %u unregistrations, %u add_host, interleaved, each on an id of its "
            "own drawn at random\n",
            r->mix[0], r->mix[1], r->mix[2], r->mix[3]);
    fprintf(out,
            "  sync: TENREG_BATCH_REPLACE_ALL, tenreg_batch_keep for every unchanged id, "
            "tenreg_batch_register (the other URL) for %g%% of the ids, %g%% removed or "
            "registered again; the same ids each time, so it alternates between two sets\n",
            run->cfg.sync_change * 100, run->cfg.sync_change);
    fprintf(out,
            "  commit ms, CPU ms (the committing thread's), build ms: medians (build: recording "
            "the ops, before the window); checked: "
            "tenreg_count after every commit (%llu wrong), every id's hosts after the windows: "
            "%llu answers, %llu wrong%s\n",
            (unsigned long long)r->count_wrong, (unsigned long long)r->checked,
            (unsigned long long)r->wrong, r->wrong || r->count_wrong ? "  WRONG ANSWERS" : "");
    if (r->failed)
        fprintf(out, "  FAILED: %s\n", r->failure);
}

void report_text(const struct bench_run *run, FILE *out)
{
    const struct bench_cfg *c = &run->cfg;
    const struct stream *hs = run->hot, *cs = run->cold;
    const struct sysinfo *si = &run->si;
    const struct lazy_report *lazy = &run->lazy;
    unsigned nr = run->readers;
    int wset, wimpl;
    column_widths(run, &wset, &wimpl);
    fprintf(out, "tenreg-bench %s, flavor %s (libtenreg%s static, registry allocator %s)\n",
            tenreg_version_string(), tenreg_flavor(), strcmp(BENCH_FLAVOR, "qsbr") ? "" : "-qsbr",
            tenreg__allocator_name());
    fprintf(out,
            "machine: %ld CPUs, %s; load average %.2f %.2f %.2f at start, %.2f %.2f %.2f at end\n",
            si->cpus, si->model, si->la_start[0], si->la_start[1], si->la_start[2], si->la_end[0],
            si->la_end[1], si->la_end[2]);
    fprintf(out,
            "workload: hot registry %zu tenants (%.0f%% lazy, factory sleeps %u us, %u builder "
            "threads); cold registry %zu tenants (eager)\n",
            c->tenants, c->lazy_frac * 100, c->factory_us, c->builders, c->cold_tenants);
    const struct stream *s = hs ? hs : cs;
    if (s)
        fprintf(
            out,
            "stream: %zu Host values per set: %.1f%% mixed case, %.1f%% ':443', %.1f%% unknown, "
            "%.1f%% full URLs\n",
            s->n, 100.0 * (double)s->n_mixed / (double)s->n,
            100.0 * (double)s->n_port / (double)s->n, 100.0 * (double)s->n_unknown / (double)s->n,
            100.0 * (double)s->n_url / (double)s->n);
    if (hs)
        fprintf(out, "        hot: Zipf(%.2f) over %zu tenants, %zu distinct drawn; ", c->zipf_s,
                c->tenants, hs->distinct);
    if (cs)
        fprintf(out, "cold: uniform over %zu tenants, %zu distinct drawn", c->cold_tenants,
                cs->distinct);
    fprintf(out, "\n");
    wild_lines(run, out);
    fprintf(
        out,
        "threads: %u readers (tenreg_resolve NOWAIT, %s); writer %.0f ops/s on %.0f%% of the "
        "tenants, woken at most every %.0f us; %.1f s per phase after %.1f s warm-up, best of %u "
        "(floor/tenreg readers-only: alternated %u times, lowest CPU ns/lookup kept)\n",
        nr,
        strcmp(BENCH_FLAVOR, "qsbr") ? "one read section per lookup"
                                     : "tenreg_quiescent() every N lookups",
        c->writer_rate, c->churn_frac * 100, c->writer_tick_us, c->phase_s, c->warmup_s, c->reps,
        run_pair_rounds(c));
    if (!strcmp(BENCH_FLAVOR, "qsbr"))
        fprintf(out, "qsbr: quiescent state every %u lookup(s)\n", c->qs_every);
    batch_lines(run, out);
    fprintf(out,
            "latency: 1 call in %u timed with rdtsc/rdtscp; the timer itself costs %.1f ns "
            "(median, included in the figures below); TSC %.3f GHz\n\n",
            c->sample_every, si->timer_ns, bench_tsc_per_ns);

    fprintf(out, "%-*s %-*s %3s %-6s %10s %-13s %7s %7s %7s %8s %9s %9s %5s %5s %5s %13s %13s\n",
            wset, "set", wimpl, "impl", "thr", "writer", "Mlookup/s", "per thread", "CPUns/l",
            "p50 ns", "p99 ns", "p99.9 ns", "max ns", "writer/s", "ok%", "pend%", "miss%",
            "CPU% rd/wr/bg", "rd sleep/prmt");
    for (int i = 0; i < run->nresults; i++) {
        const struct phase_result *r = &run->results[i];
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
        fprintf(out,
                "%-*s %-*s %3u %-6s %10.2f %-13s %7.0f %7.0f %7.0f %8.0f %9.0f %9s %5.1f %5.2f "
                "%5.1f %13s %13s\n",
                wset, r->set, wimpl, r->impl, r->readers, r->writer ? "yes" : "no",
                r->total_per_s / 1e6, per, r->cpu_ns_per_lookup, r->p50_ns, r->p99_ns, r->p999_ns,
                r->max_ns, wr, 100.0 * (double)r->cnt_ok / ops,
                100.0 * (double)r->cnt_pending / ops, 100.0 * (double)r->cnt_enoent / ops, cpu,
                csw);
    }
    for (int i = 0; i < run->nresults; i++)
        if (run->results[i].writer && run->results[i].writer_errors)
            fprintf(out, "note: %s %s writer: %llu of %llu ops failed\n", run->results[i].set,
                    run->results[i].impl, (unsigned long long)run->results[i].writer_errors,
                    (unsigned long long)run->results[i].writer_ops);
    for (int i = 0; i < run->nresults; i++)
        if (run->results[i].cnt_einval || run->results[i].cnt_other)
            fprintf(out, "note: %s %s: %llu EINVAL, %llu other answers\n", run->results[i].set,
                    run->results[i].impl, (unsigned long long)run->results[i].cnt_einval,
                    (unsigned long long)run->results[i].cnt_other);

    if (lazy->done) {
        bool eq = lazy->factory_calls == lazy->reached && lazy->mismatches == 0;
        fprintf(
            out,
            "\nlazy tenants (hot registry, %llu outside the writer's churn set): first hit by the "
            "readers %llu, factory calls %llu%s\n",
            (unsigned long long)lazy->lazy_tenants, (unsigned long long)lazy->reached,
            (unsigned long long)lazy->factory_calls, eq ? " (equal, tenant by tenant)" : "");
        if (!eq)
            fprintf(out, "      MISMATCH: %llu tenants whose factory calls != (was hit)\n",
                    (unsigned long long)lazy->mismatches);
        fprintf(out,
                "      %llu of those first hits answered EPENDING (the others found the build "
                "already done); + %llu factory calls for the writer's lazy re-registrations; "
                "mean factory time %.0f us; waited %.2f s for queued builds\n",
                (unsigned long long)lazy->first_hits, (unsigned long long)lazy->churn_calls,
                lazy->factory_mean_us, lazy->drain_s);
    }
    if (run->nmem) {
        fprintf(out, "\nregistration and memory (tenreg__live_bytes: tenreg's own arena, requested "
                     "sizes; heap: glibc malloc, outside that arena; RSS: whole process)\n");
        fprintf(out, "%-22s %9s %8s %9s %9s %9s %8s %10s %12s\n", "registry", "tenants", "reg s",
                "free s", "live B/t", "heap B/t", "RSS B/t", "id+URL B/t", "beyond id+URL");
        for (int i = 0; i < run->nmem; i++) {
            const struct mem_report *m = &run->mem[i];
            char fr[16];
            if (m->free_s > 0)
                snprintf(fr, sizeof(fr), "%.3f", m->free_s);
            else
                snprintf(fr, sizeof(fr), "-");
            fprintf(out, "%-22s %9zu %8.3f %9s %9.1f %9.1f %8.1f %10.1f %12.1f\n", m->what, m->n,
                    m->reg_s, fr, m->live_per, m->heap_per, m->rss_per, m->str2_per,
                    m->live_per + m->heap_per - m->str2_per);
        }
        fprintf(out,
                "  (tenreg also stores the host key: %.1f B/tenant of the above; struct "
                "tenreg__tenant is %zu B and a record's header %zu B before their strings)\n",
                run->mem[0].host_per, bench_tenant_struct_size(), bench_record_struct_size());
        for (int i = 0; i < run->nmem; i++)
            byte_accounting(out, &run->mem[i]);
    }

    commit_lines(run, out);

    fprintf(out, "\nratios, same run, same stream (throughput: higher is better for tenreg; cost: "
                 "CPU ns per lookup, lower is better):\n");
    static const char *const sets[] = {"hot", "cold"};
    for (int k = 0; k < 2; k++) {
        const struct phase_result *f = run_find(run, sets[k], "floor (a)", nr, false);
        const struct phase_result *t0 = run_find(run, sets[k], "tenreg", nr, false);
        const struct phase_result *tw = run_find(run, sets[k], "tenreg", nr, true);
        const struct phase_result *rw = run_find(run, sets[k], "rwlock (b)", nr, true);
        const struct phase_result *ur = run_find(run, sets[k], "rculfhash (c)", nr, true);
        if (!t0 && !tw)
            continue;
        fprintf(out, "  %-4s", sets[k]);
        if (f && t0 && f->cpu_ns_per_lookup > 0 && t0->total_per_s > 0)
            fprintf(out, "  readers only: tenreg/floor cost %.2fx, throughput %.2fx;",
                    t0->cpu_ns_per_lookup / f->cpu_ns_per_lookup, t0->total_per_s / f->total_per_s);
        if (tw && rw && rw->total_per_s > 0 && rw->cpu_ns_per_lookup > 0)
            fprintf(out, "  + writer: tenreg/rwlock throughput %.2fx (cost %.2fx)",
                    tw->total_per_s / rw->total_per_s,
                    tw->cpu_ns_per_lookup / rw->cpu_ns_per_lookup);
        if (tw && ur && ur->total_per_s > 0 && ur->cpu_ns_per_lookup > 0)
            fprintf(out, ", tenreg/rculfhash throughput %.2fx (cost %.2fx)",
                    tw->total_per_s / ur->total_per_s,
                    tw->cpu_ns_per_lookup / ur->cpu_ns_per_lookup);
        fprintf(out, "\n");
        const struct phase_result *b = run_find(run, sets[k], "tenreg batch", nr, false);
        const struct phase_result *fb = run_find(run, sets[k], "floor batch", nr, false);
        if (!b || !t0 || !f || !fb || t0->total_per_s <= 0 || f->total_per_s <= 0 ||
            t0->cpu_ns_per_lookup <= 0 || f->cpu_ns_per_lookup <= 0 || fb->cpu_ns_per_lookup <= 0)
            continue;
        fprintf(out,
                "  %-4s  batch of %d: tenreg batch/tenreg throughput %.2fx (cost %.2fx), floor "
                "batch/floor throughput %.2fx (cost %.2fx); tenreg batch/floor batch cost %.2fx\n",
                sets[k], BENCH_BATCH, b->total_per_s / t0->total_per_s,
                b->cpu_ns_per_lookup / t0->cpu_ns_per_lookup, fb->total_per_s / f->total_per_s,
                fb->cpu_ns_per_lookup / f->cpu_ns_per_lookup,
                b->cpu_ns_per_lookup / fb->cpu_ns_per_lookup);
    }

    for (int i = 0; i < run->ntargets; i++) {
        const struct target *t = &run->targets[i];
        if (i == 0 || strcmp(t->source, run->targets[i - 1].source))
            fprintf(out, "\ntargets (%s), from this run:\n", t->source);
        if (!t->have) {
            fprintf(out, "  %-50s %10s\n", t->name, "n/a");
            continue;
        }
        if (t->info) {
            fprintf(out, "  %-50s %9.2f%s  (informational)", t->name, t->value, t->unit);
            if (t->wall_ratio > 0)
                fprintf(out, "  [wall-clock ratio %.2fx]", t->wall_ratio);
            if (t->note[0])
                fprintf(out, "  [%s]", t->note);
            fprintf(out, "\n");
            continue;
        }
        bool ok = target_met(t);
        double by = t->higher_better ? (t->limit / t->value - 1) : (t->value / t->limit - 1);
        fprintf(out, "  %-50s %9.2f%s  (target %s %.2f%s)  %s", t->name, t->value, t->unit,
                t->higher_better ? ">=" : "<=", t->limit, t->unit, ok ? "met" : "MISSED");
        if (!ok)
            fprintf(out, " by %.0f%%", by * 100);
        if (t->wall_ratio > 0)
            fprintf(out, "  [wall-clock ratio %.2fx]", t->wall_ratio);
        if (t->cpu_ratio > 0)
            fprintf(out, "  [CPU ns ratio %.2fx]", t->cpu_ratio);
        if (t->note[0])
            fprintf(out, "  [%s]", t->note);
        fprintf(out, "\n");
    }
    fflush(out);
}
