/*
 * registries.c - timed registrations: a fresh tenreg registry of n
 * tenants, its registration time, and its bytes per tenant three ways
 * (tenreg's own arena, the glibc heap, the process RSS) against the id and
 * URL strings every registry must hold. One mem_report per registry.
 */
#include "run.h"
#include "hooks.h"

#include <stdlib.h>
#include <string.h>

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

/* Where the live bytes went, per tenant (bench/README.md, "Bytes per
 * tenant"): each tenant's allocations as tenreg sizes them, the slot
 * arrays, and the remainder. */
static void account(struct mem_report *m, const struct tset *ts, size_t n, enum tr_mode mode,
                    tenreg_t *reg)
{
    memset(&m->parts, 0, sizeof(m->parts));
    for (size_t i = 0; i < n; i++) {
        bool lazy = mode == TR_LAZY || (mode == TR_MIXED && ts->lazy[i]);
        bench_bytes_add(&m->parts, ts->host_len[i], ts->id_len[i], ts->url_len[i], lazy);
    }
    double *p = &m->parts.tenant_struct, sum = 0;
    for (size_t k = 0; k < sizeof(m->parts) / sizeof(double); k++) {
        p[k] /= (double)n;
        sum += p[k];
    }
    bench_slot_bytes(reg, m->slots_per);
    for (int k = 0; k < 3; k++) {
        m->slots_per[k] /= (double)n;
        sum += m->slots_per[k];
    }
    m->other_per = m->live_per - m->str2_per - sum;
}

void *registry_measured(struct bench_run *run, const char *what, const struct tset *ts, size_t n,
                        enum tr_mode mode, struct lazy_acct *acct)
{
    if (run->nmem == MAX_MEM)
        abort();
    struct mem_report *m = &run->mem[run->nmem++];
    struct impl_build_info info;
    bench_progress(run, "registering %zu tenants (%s)", n, what);
    double heap0 = sysinfo_heap_bytes(), rss0 = sysinfo_rss_bytes();
    void *t = tr_new(ts, n, mode, acct, &run->cfg, &info);
    tenreg_t *reg = tr_registry(t);
    m->what = what;
    m->n = n;
    m->reg_s = info.seconds;
    m->live_per = (double)tenreg__live_bytes(reg) / (double)n;
    m->heap_per = (sysinfo_heap_bytes() - heap0) / (double)n;
    m->rss_per = (sysinfo_rss_bytes() - rss0) / (double)n;
    m->str2_per = strings_per(ts, n, &m->host_per);
    account(m, ts, n, mode, reg);
    return t;
}

void registry_free(struct bench_run *run, const char *what, void *tr)
{
    bench_progress(run, "freeing the %s registry", what);
    double s = tr_free(tr);
    for (int i = 0; i < run->nmem; i++)
        if (!strcmp(run->mem[i].what, what))
            run->mem[i].free_s = s;
}
