/* backend_tenreg.c - the front's lookup through libtenreg (see backend.h). */
#define _GNU_SOURCE
#include "backend.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo.h"

struct tb {
    tenreg_t *reg;
    struct demo *demo;
};

static void tb_thread_start(void *impl)
{
    tenreg_thread_register();
}

static void tb_thread_stop(void *impl)
{
    tenreg_thread_unregister();
}

static void tb_resolve(void *impl, const char *host, size_t len, struct answer *out)
{
    struct tb *tb = impl;
    tenreg_resolution res;
    /* The tenant id points into an RCU-protected record: copy it before
     * the read section ends. NOWAIT: a cold lazy tenant's build is handed
     * to tenreg's builder threads and this request answers EPENDING. */
    tenreg_read_lock();
    out->code = tenreg_resolve(tb->reg, host, len, TENREG_NOWAIT, &res);
    out->matched_len = 0;
    if (out->code != TENREG_ENOENT && out->code != TENREG_EINVAL) {
        size_t n = strlen(res.tenant_id);
        memcpy(out->tenant, res.tenant_id, n + 1);
        out->tenant_len = n;
        out->health = res.health;
        if (res.matched != NULL && (n = strlen(res.matched)) <= BACKEND_HOST_MAX) {
            memcpy(out->matched, res.matched, n + 1);
            out->matched_len = n;
        }
    }
    tenreg_read_unlock();
}

static int tb_add(void *impl, const char *id, const char *url, bool lazy, bool await,
                  bool *replaced)
{
    struct tb *tb = impl;
    tenreg_health h;
    /* Only admin calls register, one at a time (the caller serializes
     * them: the reloader's lock), so this answer cannot go stale
     * before the register below. */
    *replaced = tenreg_health_of(tb->reg, id, &h) == 0;
    if (lazy)
        return tenreg_register_lazy(tb->reg, id, url, demo_factory, tb->demo, 0);
    void *p = demo_platform_new(tb->demo, id);
    if (p == NULL)
        return TENREG_ENOMEM;
    /* Validate now so an eager tenant answers HEALTHY (or DISABLED) at
     * once instead of staying PENDING until someone (or, with
     * --recheck-interval-ms, a background check) rechecks it. */
    int r = tenreg_register(tb->reg, id, url, p, await ? TENREG_AWAIT_FIRST_VALIDATION : 0);
    if (r != 0)
        demo_platform_free(tb->demo, p);   /* refused: still ours */
    return r;
}

static int tb_remove(void *impl, const char *id)
{
    return tenreg_unregister(((struct tb *)impl)->reg, id);
}

static int tb_recheck(void *impl, const char *id)
{
    return tenreg_recheck(((struct tb *)impl)->reg, id);
}

static int tb_health(void *impl, const char *id, tenreg_health *out)
{
    return tenreg_health_of(((struct tb *)impl)->reg, id, out);
}

static int tb_foreach(void *impl, backend_each_fn fn, void *ctx)
{
    return tenreg_foreach(((struct tb *)impl)->reg, fn, ctx);
}

static int tb_status(void *impl, const char *id, tenreg_status *out)
{
    return tenreg_status_of(((struct tb *)impl)->reg, id, out);
}

static int tb_stats(void *impl, tenreg_stats *out)
{
    return tenreg_stats_of(((struct tb *)impl)->reg, out);
}

static int tb_add_host(void *impl, const char *id, const char *host)
{
    return tenreg_add_host(((struct tb *)impl)->reg, id, host);
}

static int tb_remove_host(void *impl, const char *id, const char *host)
{
    return tenreg_remove_host(((struct tb *)impl)->reg, id, host);
}

static int tb_foreach_host(void *impl, const char *id, backend_host_fn fn, void *ctx)
{
    return tenreg_foreach_host(((struct tb *)impl)->reg, id, fn, ctx);
}

/*
 * One batch, committed with TENREG_BATCH_REPLACE_ALL. A commit that fails
 * leaves every platform of the batch ours: they are freed here. The
 * eager tenants it registered are pending when it returns (a batch
 * registration takes no TENREG_AWAIT_FIRST_VALIDATION): each is rechecked
 * now, as tb_add's await would, so it answers healthy (or disabled) as
 * soon as its check ends - but from the commit until then its hosts
 * answer 503 "unserved".
 */
static int tb_reload(void *impl, const struct reload_op *ops, size_t n, size_t *failed)
{
    struct tb *tb = impl;
    *failed = SIZE_MAX;
    tenreg_batch *bt;
    int r = tenreg_batch_new(tb->reg, &bt);
    if (r != 0)
        return r;
    void **plat = calloc(n ? n : 1, sizeof *plat);
    if (plat == NULL) {
        tenreg_batch_free(bt);
        return TENREG_ENOMEM;
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct reload_op *op = &ops[i];
        if (op->kind == RELOAD_KEEP) {
            r = tenreg_batch_keep(bt, op->id);
        } else if (op->kind == RELOAD_REGISTER && op->lazy) {
            r = tenreg_batch_register_lazy(bt, op->id, op->url, demo_factory, tb->demo);
        } else if (op->kind == RELOAD_REGISTER) {
            plat[i] = demo_platform_new(tb->demo, op->id);
            r = plat[i] == NULL ? TENREG_ENOMEM
                                : tenreg_batch_register(bt, op->id, op->url, plat[i]);
        }
        for (size_t h = 0; r == 0 && op->kind != RELOAD_KEEP && h < op->nhosts; h++)
            r = tenreg_batch_add_host(bt, op->id, op->hosts[h]);
        if (r != 0)
            *failed = i;
    }
    if (r == 0)
        r = tenreg_batch_commit(bt, TENREG_BATCH_REPLACE_ALL);
    tenreg_batch_free(bt);
    for (size_t i = 0; r != 0 && i < n; i++)
        if (plat[i] != NULL)
            demo_platform_free(tb->demo, plat[i]);  /* refused: still ours */
    free(plat);
    if (r != 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if (ops[i].kind == RELOAD_REGISTER && !ops[i].lazy)
            tenreg_recheck(tb->reg, ops[i].id);     /* EVALIDATOR: disabled, as awaited */
    return 0;
}

static void tb_destroy(void *impl)
{
    struct tb *tb = impl;
    tenreg_free(tb->reg);
    free(tb);
}

const char *backend_verdict_name(tenreg_verdict v)
{
    switch (v) {
    case TENREG_UNCHECKED: return "unchecked";
    case TENREG_VALID: return "valid";
    case TENREG_INVALID: return "invalid";
    case TENREG_CHECK_FAILED: return "check_failed";
    case TENREG_BUILD_FAILED: return "build_failed";
    default: return "unknown";
    }
}

void backend_format_time(int64_t ns, char *out, size_t cap)
{
    time_t sec = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    if (frac < 0) {
        sec--;
        frac += 1000000000;
    }
    struct tm tm;
    char day[32];
    if (gmtime_r(&sec, &tm) == NULL || strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(out, cap, "%lld", (long long)ns);
    else
        snprintf(out, cap, "%s.%09ldZ", day, frac);
}

static const char *event_kind_name(tenreg_event_kind k)
{
    switch (k) {
    case TENREG_EV_REGISTERED: return "registered";
    case TENREG_EV_UNREGISTERED: return "unregistered";
    case TENREG_EV_HEALTH: return "health";
    case TENREG_EV_BUILT: return "built";
    case TENREG_EV_BUILD_FAILED: return "build_failed";
    default: return "unknown";
    }
}

/*
 * tenreg's event thread, one event at a time: one line on stderr,
 *   tenreg-front: event health tenant=orca from=healthy to=unverified
 *   verdict=invalid reason="agent said 403" at=2026-11-27T04:19:00.123456789Z
 * (one line). Formatted on the stack and written with one fputs, so lines
 * of other threads (stdio locks the stream) never cut into it; no lock of
 * ours is taken and tenreg is not called.
 */
static void tb_on_event(void *ctx, const tenreg_event *ev)
{
    char reason[2 * TENREG_REASON_MAX + 1];
    size_t n = 0;
    /* tenreg already replaced control bytes; quotes and backslashes are
     * escaped so the value ends where its closing quote is. */
    for (const char *p = ev->reason ? ev->reason : ""; *p && n + 2 < sizeof reason; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            reason[n++] = '\\';
        reason[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    reason[n] = '\0';
    char at[BACKEND_TIME_MAX];
    backend_format_time(ev->at_ns, at, sizeof at);
    char line[TENREG_ID_MAX + sizeof reason + BACKEND_TIME_MAX + 160];
    snprintf(line, sizeof line,
             "tenreg-front: event %s tenant=%s from=%s to=%s verdict=%s reason=\"%s\" at=%s\n",
             event_kind_name(ev->kind), ev->tenant_id, tenreg_health_name(ev->from),
             tenreg_health_name(ev->to), backend_verdict_name(ev->verdict), reason, at);
    fputs(line, stderr);
}

int backend_tenreg_new(struct demo *demo, size_t expected, const struct backend_options *o,
                       struct backend *out)
{
    struct tb *tb = calloc(1, sizeof *tb);
    if (tb == NULL)
        return TENREG_ENOMEM;
    tenreg_config cfg = {
        .validator = demo_validator,
        .validator_ctx = demo,
        .platform_free = demo_platform_free,
        .platform_free_ctx = demo,
        .expected_tenants = expected,
        .builder_threads = 1,
        .flags = o->flags,
        .on_event = o->event_log ? tb_on_event : NULL,
        .recheck_interval_ms = o->recheck_interval_ms,
        .build_retry_ms = o->build_retry_ms,
    };
    int r = tenreg_new(&cfg, &tb->reg);
    if (r != 0) {
        free(tb);
        return r;
    }
    tb->demo = demo;
    *out = (struct backend){
        .name = "tenreg",
        .impl = tb,
        .thread_start = tb_thread_start,
        .thread_stop = tb_thread_stop,
        .resolve = tb_resolve,
        .add = tb_add,
        .remove = tb_remove,
        .recheck = tb_recheck,
        .health = tb_health,
        .foreach = tb_foreach,
        .status = tb_status,
        .full_status = true,
        .stats = tb_stats,
        .add_host = tb_add_host,
        .remove_host = tb_remove_host,
        .foreach_host = tb_foreach_host,
        .reload = tb_reload,
        .destroy = tb_destroy,
    };
    return 0;
}
