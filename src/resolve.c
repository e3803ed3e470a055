/*
 * resolve.c - the read side.
 *
 * tenreg_resolve_by_host is the hot path: normalize into a stack buffer,
 * hash, probe the slot array, compare the key in the record it points at. No lock, no allocation,
 * no syscall, no adopter code, no store to shared memory. tenreg_resolve
 * adds the once-cell on the cold path of a lazy tenant.
 */
#include "internal.h"

#include <string.h>

/* Internal: the tenant this call looked at was removed; look up again. */
#define RESOLVE_RETRY 1

static inline void fill(tenreg_resolution *out, const struct tenreg__record *rec)
{
    out->tenant_id = tenreg__record_id(rec);
    out->health = (tenreg_health)rec->health;
    out->platform = rec->platform;
}

/* Answer from the record alone: 0, EPENDING or EDISABLED. */
static inline int answer(const struct tenreg__record *rec)
{
    if (TENREG__LIKELY(rec->platform != NULL))
        return TENREG_OK;
    return (rec->flags & TENREG__REC_BUILD_FAILED) ? TENREG_EDISABLED : TENREG_EPENDING;
}

static inline int host_key(const char *host, size_t len, char *key, size_t *klen)
{
    int rc = tenreg_normalize_host(host, len, key, TENREG_HOST_KEY_MAX + 1, klen);
    return rc == TENREG_ENOSPC ? TENREG_EINVAL : rc;
}

TENREG_API int tenreg_resolve_by_host(const tenreg_t *reg, const char *host, size_t len,
                                      tenreg_resolution *out)
{
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen;
    if (TENREG__UNLIKELY(!reg || !out))
        return TENREG_EINVAL;
    int rc = host_key(host, len, key, &klen);
    if (TENREG__UNLIKELY(rc != TENREG_OK))
        return rc;
    const struct tenreg__record *rec = tenreg__find_host(reg, key, klen);
    if (!rec)
        return TENREG_ENOENT;
    fill(out, rec);
    return answer(rec);
}

/* The cold path of a lazy tenant that has no platform yet: out of line, so
 * the hot path of every other lookup stays small. */
static __attribute__((noinline)) int resolve_cold(struct tenreg *reg,
                                                  const struct tenreg__record *rec,
                                                  unsigned flags, tenreg_resolution *out)
{
    /* Cold lazy tenant. Exactly one caller wins EMPTY -> QUEUED and hands
     * the build to a builder thread. The record holds a reference on its
     * tenant and stays alive for our read section, so the tenant does too. */
    struct tenreg__tenant *t = tenreg__record_tenant(rec);
    uint32_t s = atomic_load_explicit(&t->cell, memory_order_acquire);
    /* The call that starts a build answers for it, like the calls that wait
     * for it, even when the build is over before it looks again. */
    bool waited = false;
    if (s == TENREG__CELL_EMPTY) {
        if (tenreg__cell_move(&t->cell, TENREG__CELL_EMPTY, TENREG__CELL_QUEUED)) {
            tenreg__builder_submit(reg, t);
            waited = true;
        }
        s = atomic_load_explicit(&t->cell, memory_order_acquire);
    }
    if (tenreg__cell_busy(s)) {
        if (flags & TENREG_NOWAIT)
            return TENREG_EPENDING;
        /* Sleeping inside the caller's read section only delays
         * reclamation: no build path ever waits for a grace period. */
        s = tenreg__cell_wait(&t->cell);
        waited = true;
    }
    /* The record is published before the cell moves, so it is current. */
    rec = tenreg__tenant_record(t);
    fill(out, rec);
    switch (s) {
    case TENREG__CELL_READY:
        return answer(rec);
    case TENREG__CELL_FAILED_FACTORY:
    case TENREG__CELL_FAILED_VALIDATOR:
        if (!waited)
            return TENREG_EDISABLED;
        /* The answer is about the build this call started or waited for,
         * which left the tenant DISABLED; a recheck that ran since may have
         * changed the current health, not what this build did. */
        out->health = TENREG_DISABLED;
        return s == TENREG__CELL_FAILED_FACTORY ? TENREG_EFACTORY : TENREG_EVALIDATOR;
    default: /* STALE: unregistered or replaced while we looked */
        out->platform = NULL;
        return RESOLVE_RETRY;
    }
}

static inline int resolve_record(struct tenreg *reg, const struct tenreg__record *rec,
                                 unsigned flags, tenreg_resolution *out)
{
    fill(out, rec);
    int rc = answer(rec);
    if (TENREG__LIKELY(rc != TENREG_EPENDING))
        return rc;
    return resolve_cold(reg, rec, flags, out);
}

static int check_flags(unsigned flags)
{
    return (flags & ~TENREG_NOWAIT) ? TENREG_EINVAL : TENREG_OK;
}

/* Looks @key up again after a stale answer. Finding a record of the very
 * registration that went stale means it is being torn down with the
 * registry: answer as if it were already gone. */
static inline int resolve_loop(struct tenreg *reg, const struct tenreg__table *table, const char *key,
                        size_t len, unsigned flags, tenreg_resolution *out)
{
    uint64_t hash = tenreg__hash(&reg->hkey, key, len);
    const struct tenreg__tenant *prev = NULL;
    for (;;) {
        const struct tenreg__record *rec = tenreg__table_find(table, hash, key, len);
        if (!rec || tenreg__record_tenant(rec) == prev)
            return TENREG_ENOENT;
        int rc = resolve_record(reg, rec, flags, out);
        if (TENREG__LIKELY(rc != RESOLVE_RETRY))
            return rc;
        prev = tenreg__record_tenant(rec);
    }
}

TENREG_API int tenreg_resolve(tenreg_t *reg, const char *host, size_t len, unsigned flags,
                              tenreg_resolution *out)
{
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen;
    if (TENREG__UNLIKELY(!reg || !out || check_flags(flags)))
        return TENREG_EINVAL;
    int rc = host_key(host, len, key, &klen);
    if (TENREG__UNLIKELY(rc != TENREG_OK))
        return rc;
    return resolve_loop(reg, &reg->by_host, key, klen, flags, out);
}

TENREG_API int tenreg_resolve_by_id(tenreg_t *reg, const char *tenant_id, unsigned flags,
                                    tenreg_resolution *out)
{
    if (TENREG__UNLIKELY(!reg || !out || !tenant_id || check_flags(flags)))
        return TENREG_EINVAL;
    size_t len = strnlen(tenant_id, TENREG_ID_MAX + 1);
    if (len == 0 || len > TENREG_ID_MAX)
        return TENREG_EINVAL;
    return resolve_loop(reg, &reg->by_id, tenant_id, len, flags, out);
}
