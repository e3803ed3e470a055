/*
 * resolve.c - the read side.
 *
 * tenreg_resolve_by_host is the hot path: normalize into a stack buffer,
 * hash, probe the slot array and answer from the slot that has the hash
 * (internal.h, struct tenreg__answer_slot; the record is not read), or
 * else compare the key in the record (or alias) it points at; on a miss,
 * the pattern suffixes (tenreg__find_pattern). No
 * lock, no allocation, no syscall, no adopter code, no store to shared
 * memory. tenreg_resolve adds the once-cell on the cold path of a lazy
 * tenant.
 */
#include "internal.h"

#include <string.h>

#include "answer.h"

/*
 * The pattern rule (docs/design.md §8.1), after the exact key missed:
 * the suffixes after each dot, longest first, each probed only when some
 * pattern has that many labels. At most one probe per label, no lock, no
 * store. An IPv6 key (the only keys with ':') never matches a pattern.
 */
tenreg__ent tenreg__find_pattern(const struct tenreg *reg, const char *key, size_t len)
{
    uint64_t lengths = atomic_load_explicit(&reg->pattern_labels, memory_order_relaxed);
    if (memchr(key, ':', len))
        return 0;
    unsigned rest = 1;
    for (size_t i = 0; i < len; i++)
        rest += key[i] == '.';
    for (const char *dot = memchr(key, '.', len); dot;
         dot = memchr(dot + 1, '.', len - (size_t)(dot + 1 - key))) {
        rest--; /* labels after this dot */
        if (!(lengths & ((uint64_t)1 << (rest < 63 ? rest : 63))))
            continue;
        size_t off = (size_t)(dot + 1 - key);
        tenreg__ent e = tenreg__table_find(&reg->by_pattern, key + off, len - off);
        if (e)
            return e;
    }
    return 0;
}

/* A NULL registry or result: EINVAL, and no stale platform left behind. */
static __attribute__((noinline, cold)) int bad_call(tenreg_resolution *out)
{
    if (out)
        no_answer(out, TENREG_EINVAL);
    return TENREG_EINVAL;
}

TENREG_API int tenreg_resolve_by_host(const tenreg_t *reg, const char *host, size_t len,
                                      tenreg_resolution *out)
{
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen;
    if (TENREG__UNLIKELY(!reg || !out))
        return bad_call(out);
    int rc = host_key(host, len, key, &klen);
    if (TENREG__UNLIKELY(rc != TENREG_OK))
        return no_answer(out, rc);
    uint64_t w;
    tenreg__ent e = tenreg__find_host_answer(reg, key, klen, &w);
    if (!e)
        return no_answer(out, TENREG_ENOENT);
    if (TENREG__LIKELY(w))
        return answer_from_slot(out, e, w);
    const struct tenreg__record *rec = tenreg__ent_record(e);
    fill(out, rec);
    out->matched = matched_of(e, rec);
    return answer(rec);
}

/* Internal answers of resolve_cold besides the public codes. */
#define RESOLVE_RETRY 1  /* the registration went stale: look up again */
#define RESOLVE_WAITED 2 /* slept outside the read section: look up again */

/* What a blocking resolve learnt while it slept outside its read section:
 * the registration it waited on (a reference is held) and its build's
 * final state. */
struct waited {
    struct tenreg__tenant *t;
    uint32_t state;
};

/* The answer for a build this call started or waited for, from its final
 * state and the registration's current record. */
static int answer_build(const struct tenreg__record *rec, uint32_t s, tenreg_resolution *out)
{
    fill(out, rec);
    switch (s) {
    case TENREG__CELL_READY:
        return answer(rec);
    case TENREG__CELL_FAILED_FACTORY:
    case TENREG__CELL_FAILED_VALIDATOR:
        /* The answer is about the build, which left the tenant DISABLED;
         * a recheck that ran since may have changed the current health,
         * not what this build did. */
        out->health = TENREG_DISABLED;
        out->platform = NULL;
        return s == TENREG__CELL_FAILED_FACTORY ? TENREG_EFACTORY : TENREG_EVALIDATOR;
    default: /* STALE: unregistered or replaced while we looked */
        out->platform = NULL;
        return RESOLVE_RETRY;
    }
}

/*
 * The cold path of a lazy tenant that has no platform yet: out of line, so
 * the hot path of every other lookup stays small. Exactly one caller wins
 * EMPTY -> QUEUED and hands the build to a builder thread. The record
 * found holds a reference on its tenant for the rest of this read section.
 */
static __attribute__((noinline)) int resolve_cold(struct tenreg *reg,
                                                  const struct tenreg__record *rec,
                                                  unsigned flags, bool started,
                                                  tenreg_resolution *out, struct waited *w)
{
    struct tenreg__tenant *t = tenreg__record_tenant(rec);
    if (started && (flags & TENREG_NOWAIT))
        return TENREG_EPENDING; /* this call queued a retry (retry_due) */
    uint32_t s = atomic_load_explicit(&t->cell, memory_order_acquire);
    if (s == TENREG__CELL_EMPTY) {
        /* Once tenreg_free has begun no build is queued (the builders
         * are stopping); the tenant stays pending. */
        if (!tenreg__admin_begin(reg))
            return TENREG_EPENDING;
        started = tenreg__cell_move(&t->cell, TENREG__CELL_EMPTY, TENREG__CELL_QUEUED);
        if (started)
            tenreg__builder_submit(reg, t);
        tenreg__admin_end(reg);
        /* A call that hands the build off and may not wait answers
         * EPENDING however fast the builder is. */
        if (started && (flags & TENREG_NOWAIT))
            return TENREG_EPENDING;
        s = atomic_load_explicit(&t->cell, memory_order_acquire);
    }
    if (tenreg__cell_busy(s)) {
        if ((flags & TENREG_NOWAIT) || !tenreg__rcu_may_sleep())
            return TENREG_EPENDING;
        /* Never sleep inside the read section: a factory may wait for a
         * grace period (its own synchronize_rcu, or a resource the old
         * platform's platform_free releases). The reference keeps the
         * tenant, and the futex word in it, alive while we are out. */
        tenreg__tenant_ref(t);
        tenreg__rcu_sleep_begin();
        w->state = tenreg__cell_wait(&t->cell);
        tenreg__rcu_sleep_end();
        w->t = t;
        return RESOLVE_WAITED;
    }
    /* Final already: the build's record was published before the cell
     * moved, and the tenant is alive for this read section. The call that
     * started the build answers for it (like the calls that wait for it);
     * for any other call a failure is an earlier one (EDISABLED). */
    rec = tenreg__tenant_record(t);
    int rc = answer_build(rec, s, out);
    if (!started && (rc == TENREG_EFACTORY || rc == TENREG_EVALIDATOR)) {
        out->health = (tenreg_health)rec->health;
        rc = TENREG_EDISABLED;
    }
    return rc;
}

/*
 * A failed lazy build whose retry time has come (build_retry_ms): one
 * caller wins the move of the once-cell from its failed state back to
 * QUEUED and hands a new build to the builders, taking a turnstile ticket
 * like any build; the others find the cell busy. Returns RETRY_STARTED
 * to the caller that queued it, RETRY_IN_FLIGHT when another caller's
 * attempt is under way (resolve_cold then answers as for a first build),
 * RETRY_NO when the failure stands for now.
 */
enum retry { RETRY_NO, RETRY_IN_FLIGHT, RETRY_STARTED };

static __attribute__((noinline)) enum retry retry_due(struct tenreg *reg,
                                                      const struct tenreg__record *rec)
{
    struct tenreg__tenant *t = tenreg__record_tenant(rec);
    uint32_t s = atomic_load_explicit(&t->cell, memory_order_acquire);
    /* Not failed any more: another caller's attempt is queued, running or
     * done (READY, or STALE): resolve_cold answers from the cell. */
    if (s != TENREG__CELL_FAILED_FACTORY && s != TENREG__CELL_FAILED_VALIDATOR)
        return RETRY_IN_FLIGHT;
    int64_t at = atomic_load_explicit(&t->build->retry_at_ns, memory_order_relaxed);
    if (at == 0 || tenreg__now_ns() < at)
        return RETRY_NO;
    /* Once tenreg_free has begun no build is queued. */
    if (!tenreg__admin_begin(reg))
        return RETRY_NO;
    /* The attempt is this retry time's: taking it (at -> 0) elects one
     * caller even if an earlier attempt failed again in between with the
     * same cell state (an ABA on the cell alone would start an attempt
     * early, or one that arm_retry had cancelled). Then the cell: it is
     * STALE once the registration ended. */
    enum retry r = RETRY_IN_FLIGHT;
    if (atomic_compare_exchange_strong_explicit(&t->build->retry_at_ns, &at, 0, memory_order_relaxed,
                                                memory_order_relaxed) &&
        tenreg__cell_move(&t->cell, s, TENREG__CELL_QUEUED)) {
        tenreg__builder_submit(reg, t);
        r = RETRY_STARTED;
    }
    tenreg__admin_end(reg);
    return r;
}

static int check_flags(unsigned flags)
{
    return (flags & ~TENREG_NOWAIT) ? TENREG_EINVAL : TENREG_OK;
}

/* The record that answers for @key, and what matched (by id: NULL).
 * @first: the entry a host lookup already found (0: none), unless NULL. */
static inline struct tenreg__record *find(const struct tenreg *reg, enum tenreg__table_key table,
                                          const char *key, size_t len, const char **matched,
                                          const tenreg__ent *first)
{
    if (table == TENREG__KEY_ID) {
        *matched = NULL;
        return tenreg__find_id(reg, key, len);
    }
    tenreg__ent e = first ? *first : tenreg__find_host(reg, key, len);
    if (!e)
        return NULL;
    struct tenreg__record *rec = tenreg__ent_record(e);
    *matched = matched_of(e, rec);
    return rec;
}

/*
 * Looks @key up, and again after a stale answer or a sleep. Finding a
 * record of the very registration that went stale means it is being torn
 * down with the registry: answer as if it were already gone. @first: the
 * first lookup's entry when the caller made it (by host), else NULL.
 */
static int resolve_loop(struct tenreg *reg, enum tenreg__table_key table, const char *key,
                        size_t len, unsigned flags, tenreg_resolution *out,
                        const tenreg__ent *first)
{
    const struct tenreg__tenant *stale = NULL;
    struct waited w = {NULL, 0};
    for (;; first = NULL) {
        const char *matched;
        const struct tenreg__record *rec = find(reg, table, key, len, &matched, first);
        int rc;
        if (w.t) {
            /* Back from a sleep: every pointer of the old read section is
             * void; this lookup is the new section's. */
            if (rec && tenreg__record_tenant(rec) == w.t) {
                /* Still registered, so ours is not the last reference. */
                tenreg__tenant_unref_not_last(w.t);
                w.t = NULL;
                out->matched = matched;
                rc = answer_build(tenreg__tenant_record(tenreg__record_tenant(rec)), w.state,
                                  out);
                if (rc == RESOLVE_RETRY)
                    return no_answer(out, TENREG_ENOENT); /* torn down with the registry */
                return rc;
            }
            /* Gone or replaced. Ours may be the last reference, which
             * frees a platform: never inside a read section. */
            tenreg__rcu_sleep_begin();
            tenreg__tenant_unref(w.t);
            tenreg__rcu_sleep_end();
            w.t = NULL;
            stale = NULL; /* a pointer of an ended section: never compared */
            continue;
        }
        if (!rec || tenreg__record_tenant(rec) == stale)
            return no_answer(out, TENREG_ENOENT);
        fill(out, rec);
        out->matched = matched;
        rc = answer(rec);
        enum retry retried = RETRY_NO;
        if (TENREG__UNLIKELY(rc == TENREG_EDISABLED) && reg->cfg.build_retry_ms &&
            (retried = retry_due(reg, rec)) != RETRY_NO)
            rc = TENREG_EPENDING; /* a new attempt is in flight: as a first build */
        if (TENREG__LIKELY(rc != TENREG_EPENDING))
            return rc;
        rc = resolve_cold(reg, rec, flags, retried == RETRY_STARTED, out, &w);
        if (TENREG__LIKELY(rc <= 0))
            return rc;
        if (rc == RESOLVE_RETRY)
            stale = tenreg__record_tenant(rec);
    }
}

TENREG_API int tenreg_resolve(tenreg_t *reg, const char *host, size_t len, unsigned flags,
                              tenreg_resolution *out)
{
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen;
    if (TENREG__UNLIKELY(!reg || !out))
        return bad_call(out);
    no_answer(out, 0);
    if (TENREG__UNLIKELY(check_flags(flags)))
        return TENREG_EINVAL;
    int rc = host_key(host, len, key, &klen);
    if (TENREG__UNLIKELY(rc != TENREG_OK))
        return rc;
    /* A built tenant answers from its slot, as in tenreg_resolve_by_host;
     * everything else goes the long way, from the entry found. */
    uint64_t word;
    tenreg__ent e = tenreg__find_host_answer(reg, key, klen, &word);
    if (TENREG__LIKELY(word)) {
        if (TENREG__LIKELY(answer_from_slot(out, e, word) == TENREG_OK))
            return TENREG_OK;
        /* A build or retry may start from here: only for an entry whose
         * key is ours, not one the digest rule alone vouched for. */
        if (!tenreg__ent_key_is(e, TENREG__KEY_HOST, key, klen))
            return resolve_loop(reg, TENREG__KEY_HOST, key, klen, flags, out, NULL);
    }
    return resolve_loop(reg, TENREG__KEY_HOST, key, klen, flags, out, &e);
}

TENREG_API int tenreg_resolve_by_id(tenreg_t *reg, const char *tenant_id, unsigned flags,
                                    tenreg_resolution *out)
{
    if (TENREG__UNLIKELY(!reg || !out))
        return bad_call(out);
    no_answer(out, 0);
    size_t len;
    if (TENREG__UNLIKELY(check_flags(flags) || tenreg__id_len(tenant_id, &len)))
        return TENREG_EINVAL;
    return resolve_loop(reg, TENREG__KEY_ID, tenant_id, len, flags, out, NULL);
}
