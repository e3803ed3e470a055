/*
 * answer.h - private to the read side (resolve.c, resolve_many.c): how a
 * found record becomes a tenreg_resolution and a return code.
 */
#ifndef TENREG_ANSWER_H
#define TENREG_ANSWER_H

#include "internal.h"
#include "normalize.h"

/* The answer's (id, health, platform) triple; out->matched is the
 * lookup's, set by the callers. */
static inline void fill(tenreg_resolution *out, const struct tenreg__record *rec)
{
    out->tenant_id = tenreg__record_id(rec);
    out->health = (tenreg_health)rec->health;
    out->platform = rec->platform;
}

/* The whole answer from an answer slot's word @w (tenreg__find_host_answer)
 * for plain record @e: the record is not read, only pointers into it
 * computed (its id starts host_len + 1 bytes into its strings, and the
 * word carries host_len). */
static inline int answer_from_slot(tenreg_resolution *out, tenreg__ent e, uint64_t w)
{
    const struct tenreg__record *rec = (const struct tenreg__record *)e;
    out->tenant_id = rec->strs + tenreg__answer_key_len(w) + 1;
    out->matched = rec->strs;
    out->health = (tenreg_health)((w >> 1) & 7);
    out->platform = (void *)(uintptr_t)(w >> 16);
    if (TENREG__LIKELY(out->platform != NULL))
        return TENREG_OK;
    return (w & TENREG__ANSWER_FAILED) ? TENREG_EDISABLED : TENREG_EPENDING;
}

/* The host key or pattern text that found @e. */
static inline const char *matched_of(tenreg__ent e, const struct tenreg__record *rec)
{
    if (TENREG__LIKELY(!tenreg__ent_is_alias(e)))
        return tenreg__record_host(rec);
    return tenreg__ent_alias(e)->text;
}

/* No answer: nothing of an earlier one may be taken for this one. */
static inline int no_answer(tenreg_resolution *out, int rc)
{
    out->platform = NULL;
    out->matched = NULL;
    return rc;
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
    return tenreg__host_key(host, len, key, klen);
}

#endif
