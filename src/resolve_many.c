/*
 * resolve_many.c - tenreg_resolve_many: many lookups with their cache
 * misses overlapped (docs/design.md §8.6).
 *
 * A cold lookup is one miss, the slot line, when its slot answers
 * (internal.h, struct tenreg__answer_slot), else two: the slot, then the
 * record it points at. Done one lookup after the other, each miss waits
 * alone.
 * Group prefetching (Chen et al., ICDE'04) runs a group of lookups stage by
 * stage instead, issuing every lookup's load for a stage before using any:
 *   A  normalize, hash under the current array's key (two lookups at a
 *      time, tenreg__hash2), prefetch the home slot;
 *   B  walk the slots (now cached) to the first live entry whose stored
 *      hash matches; take its answer from the slot, or else prefetch the
 *      record or alias it points at;
 *   C  answer from the slot, or compare the key (now cached) and answer.
 * Stage C falls back to the plain lookup for what the group cannot
 * settle: a hash that matched another key (a 64-bit collision of the
 * keyed hash), a miss that the patterns may still answer, an alias (one
 * more dependent load). Every answer is one tenreg_resolve_by_host could
 * give during the call: the array current when the group began, the same
 * orderings of the slots' loads, the same precedence.
 */
#include "internal.h"

#include <string.h>

#include "answer.h"

#define GROUP 16

struct lookup {
    uint64_t hash;                 /* under the group's array's key */
    size_t home;
    tenreg__ent e;                 /* stage B's candidate, or 0 */
    uint64_t answer;               /* its answer word when its slot settles it, or 0 */
    size_t klen;
    int rc;                        /* from normalization */
    char key[TENREG_HOST_KEY_MAX + 1];
};

/* Stage B for one lookup: the first live entry of @l's probe sequence in
 * array @a with its hash, or 0 where the plain lookup would stop (empty
 * slot, or past max_disp), and its answer word when the slot settles the
 * lookup under the digest rule (else 0). Loads and checks as
 * tenreg__table_probe: max_disp relaxed, right before the probe, so that
 * a lookup sees the bound of any entry an earlier lookup of the call saw. */
static inline tenreg__ent first_candidate(const struct tenreg__slots *a, const struct lookup *l,
                                          uint64_t *answer)
{
    size_t mask = a->mask, i = l->home;
    size_t last = (i + atomic_load_explicit(&a->max_disp, memory_order_relaxed)) & mask;
    *answer = 0;
    for (;; i = (i + 1) & mask) {
        const struct tenreg__slot *sl = tenreg__slot_at(a, i);
        tenreg__ent e = atomic_load_explicit(&sl->ent, memory_order_acquire);
        if (!e)
            return 0;
        if (e != TENREG__TOMBSTONE &&
            atomic_load_explicit(&sl->hash, memory_order_acquire) == l->hash) {
            *answer = tenreg__slot_answer(a, sl, e, l->klen);
            return e;
        }
        if (i == last)
            return 0;
    }
}

/* Stage A's end for @l, whose hash in @a is @hash: its home slot, on its
 * way. */
static inline void prefetch_home(const struct tenreg__slots *a, struct lookup *l, uint64_t hash)
{
    l->hash = hash;
    l->home = hash & a->mask;
    __builtin_prefetch(tenreg__slot_at(a, l->home));
}

static void resolve_group(const struct tenreg *reg, const tenreg_query *q, size_t n,
                          tenreg_resolution *out, int *rc, struct lookup *g)
{
    /* A. One array for the group, the one current when it began (a plain
     * lookup that began then would probe it too; readers keep it alive).
     * Pairs with the release of a published array (table.c). */
    const struct tenreg__slots *a = __atomic_load_n(&reg->by_host.cur, __ATOMIC_ACQUIRE);
    struct lookup *pending = NULL; /* normalized, waiting for a second to hash with */
    for (size_t i = 0; i < n; i++) {
        struct lookup *l = &g[i];
        l->rc = q[i].host ? host_key(q[i].host, q[i].len, l->key, &l->klen) : TENREG_EINVAL;
        if (l->rc != TENREG_OK)
            continue;
        if (!pending) {
            pending = l;
            continue;
        }
        uint64_t h[2];
        tenreg__hash2(&a->key, pending->key, pending->klen, l->key, l->klen, h);
        prefetch_home(a, pending, h[0]);
        prefetch_home(a, l, h[1]);
        pending = NULL;
    }
    if (pending)
        prefetch_home(a, pending, tenreg__hash(&a->key, pending->key, pending->klen));
    for (size_t i = 0; i < n; i++) { /* B */
        struct lookup *l = &g[i];
        if (l->rc != TENREG_OK)
            continue;
        l->e = first_candidate(a, l, &l->answer);
        if (l->e && !l->answer)
            __builtin_prefetch((const void *)(l->e & ~TENREG__ENT_ALIAS));
    }
    for (size_t i = 0; i < n; i++) { /* C */
        struct lookup *l = &g[i];
        if (l->rc != TENREG_OK) {
            rc[i] = no_answer(&out[i], l->rc);
            continue;
        }
        tenreg__ent e = l->e;
        if (TENREG__LIKELY(l->answer)) {
            rc[i] = answer_from_slot(&out[i], e, l->answer);
            continue;
        }
        /* No entry has the hash: the array has no such key, and without
         * patterns that is the plain lookup's answer too. */
        if (!e && !atomic_load_explicit(&reg->pattern_labels, memory_order_relaxed)) {
            rc[i] = no_answer(&out[i], TENREG_ENOENT);
            continue;
        }
        /* The candidate is the answer when its key is ours; otherwise the
         * plain lookup settles it (collision, miss, patterns). */
        if (!e || (e & TENREG__ENT_SWAP) ||
            !tenreg__ent_key_is(e, TENREG__KEY_HOST, l->key, l->klen))
            e = tenreg__find_host(reg, l->key, l->klen); /* also a committing swap */
        if (!e) {
            rc[i] = no_answer(&out[i], TENREG_ENOENT);
            continue;
        }
        const struct tenreg__record *rec = tenreg__ent_record(e);
        fill(&out[i], rec);
        out[i].matched = matched_of(e, rec);
        rc[i] = answer(rec);
    }
}

TENREG_API int tenreg_resolve_many(const tenreg_t *reg, const tenreg_query *q, size_t n,
                                   tenreg_resolution *out, int *rc)
{
    if (!reg || (n > 0 && (!q || !out || !rc)))
        return TENREG_EINVAL;
    struct lookup g[GROUP];
    for (size_t i = 0; i < n; i += GROUP)
        resolve_group(reg, q + i, n - i < GROUP ? n - i : GROUP, out + i, rc + i, g);
    return TENREG_OK;
}
