/*
 * status.c - what a tenant's last check or build concluded, and the
 * registry's counters (docs/design.md §8.2, §8.7): tenreg_set_reason,
 * tenreg_status_of, tenreg_stats_of.
 *
 * A reason is said inside a validator or factory, on whatever thread runs
 * it, so it is captured in a thread-local stack of captures that the
 * check or build around the callback pushes (nested checks from inside a
 * callback each get their own). The copy the tenant keeps is made after
 * the callback returns and before write_lock is taken; the status fields
 * change under write_lock, next to the record the outcome publishes.
 */
#include "internal.h"

#include <string.h>
#include <time.h>

static _Thread_local struct tenreg__reason_capture *capturing;

static const char reason_oom[] = "(reason dropped: out of memory)";

void tenreg__reason_begin(struct tenreg__reason_capture *c)
{
    c->text[0] = '\0';
    c->len = 0;
    c->prev = capturing;
    capturing = c;
}

void tenreg__reason_end(struct tenreg__reason_capture *c)
{
    capturing = c->prev;
}

TENREG_API void tenreg_set_reason(const char *reason)
{
    struct tenreg__reason_capture *c = capturing;
    if (!c || !reason)
        return;
    size_t n = strnlen(reason, TENREG_REASON_MAX + 1);
    if (n > TENREG_REASON_MAX) {
        /* Cut before a UTF-8 sequence that would not fit whole. */
        n = TENREG_REASON_MAX;
        while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)reason[i];
        c->text[i] = (b < 0x20 || b == 0x7F) ? '?' : (char)b;
    }
    c->text[n] = '\0';
    c->len = n;
}

char *tenreg__reason_keep(struct tenreg *reg, const struct tenreg__reason_capture *c,
                          tenreg_verdict v)
{
    if (v == TENREG_VALID || c->len == 0)
        return NULL;
    char *p = tenreg__alloc(reg, c->len + 1);
    if (!p)
        return (char *)reason_oom; /* the failure stands; its reason says why it is missing */
    memcpy(p, c->text, c->len + 1);
    return p;
}

void tenreg__reason_free(struct tenreg *reg, char *reason)
{
    if (reason && reason != reason_oom)
        tenreg__dealloc(reg, reason, strlen(reason) + 1);
}

int64_t tenreg__realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

tenreg_verdict tenreg__verdict_of(int validator_answer)
{
    return validator_answer > 0 ? TENREG_VALID
                                : validator_answer == 0 ? TENREG_INVALID : TENREG_CHECK_FAILED;
}

void tenreg__tenant_conclude(struct tenreg__tenant *t, tenreg_verdict v, char *reason)
{
    t->verdict = (uint8_t)v;
    t->failures = v == TENREG_VALID ? 0 : t->failures + 1;
    t->checked_at_ns = tenreg__realtime_ns();
    tenreg__reason_free(t->reg, t->reason);
    t->reason = reason;
}

void tenreg__count_health(struct tenreg *reg, int from, int to)
{
    if (from >= 0)
        reg->counts.health[from]--;
    if (to >= 0)
        reg->counts.health[to]++;
}

TENREG_API int tenreg_status_of(const tenreg_t *creg, const char *tenant_id, tenreg_status *out)
{
    size_t len;
    if (!creg || !out || tenreg__id_len(tenant_id, &len))
        return TENREG_EINVAL;
    struct tenreg *reg = (struct tenreg *)creg;
    int rc = TENREG_ENOENT;
    tenreg__rcu_ensure_registered(); /* not under write_lock: see rcu.c */
    pthread_mutex_lock(&reg->write_lock);
    tenreg__rcu_enter();
    const struct tenreg__record *rec = tenreg__find_id(reg, tenant_id, len);
    if (rec) {
        const struct tenreg__tenant *t = tenreg__record_tenant(rec);
        memset(out, 0, sizeof(*out));
        out->health = (tenreg_health)rec->health;
        out->verdict = (tenreg_verdict)t->verdict;
        out->failures = t->failures;
        out->checked_at_ns = t->checked_at_ns;
        out->registered_at_ns = t->registered_at_ns;
        out->lazy = tenreg__tenant_lazy(t);
        out->built = rec->platform != NULL;
        out->hosts = 1u + t->n_aliases;
        if (t->reason)
            memcpy(out->reason, t->reason, strlen(t->reason) + 1);
        rc = TENREG_OK;
    }
    tenreg__rcu_exit();
    pthread_mutex_unlock(&reg->write_lock);
    return rc;
}

TENREG_API int tenreg_stats_of(const tenreg_t *creg, tenreg_stats *out)
{
    if (!creg || !out)
        return TENREG_EINVAL;
    struct tenreg *reg = (struct tenreg *)creg;
    memset(out, 0, sizeof(*out));
    tenreg__rcu_ensure_registered();
    pthread_mutex_lock(&reg->write_lock);
    out->tenants = atomic_load(&reg->count);
    out->patterns = tenreg__table_live(&reg->by_pattern);
    out->hosts = tenreg__table_live(&reg->by_host);
    for (int h = 0; h < 4; h++)
        out->health[h] = reg->counts.health[h];
    out->lazy_unbuilt = reg->counts.lazy_unbuilt;
    out->checks = reg->counts.checks;
    out->checks_failed = reg->counts.checks_failed;
    out->builds = reg->counts.builds;
    out->builds_failed = reg->counts.builds_failed;
    out->events = reg->counts.events;
    out->events_dropped = reg->counts.events_dropped;
    pthread_mutex_unlock(&reg->write_lock);
    out->deferred = atomic_load_explicit(&reg->deferred, memory_order_relaxed);
    long bytes = tenreg__live_bytes(reg);
    out->bytes = bytes > 0 ? (size_t)bytes : 0;
    return TENREG_OK;
}
