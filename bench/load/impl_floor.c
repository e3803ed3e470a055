/*
 * impl_floor.c - baseline (a), the floor: an unsynchronized open-addressing
 * table, readers only. Same normalization (tenreg_normalize_host into a
 * stack buffer), same keyed hash (the library's tenreg__hash, SipHash-1-3),
 * same key format, presized to a load factor of at most 1/2.
 *
 * Slots are 16 bytes: the full 64-bit hash and a pointer to the entry, so a
 * probe compares hashes in the slot array and touches the entry (key,
 * platform, health, id) only on a hash match. It is what one would write
 * for a table that never changes; it answers the same (platform, health,
 * tenant id) triple tenreg does.
 *
 * Its batch variant (the "floor batch" rows) looks up BENCH_BATCH hosts
 * per call with the stages of tenreg_resolve_many (group prefetching):
 *   A  normalize, hash, prefetch the home slot;
 *   B  probe (the slots now cached) to the first slot with the hash or an
 *      empty one, prefetch the entry it points at;
 *   C  compare the key (now cached) and answer; a hash that matched
 *      another key goes on probing the plain way.
 */
#include "bench.h"
#include "hooks.h"
#include "reader_loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fentry {
    void *platform;
    const char *id;
    uint8_t health;
    uint8_t klen;
    char key[];
};

struct fslot {
    uint64_t h;
    struct fentry *e;
};

struct floor_tbl {
    struct tenreg__hash_key hk;
    size_t mask;
    struct fslot *slots;
    struct fentry **entries;
    size_t n;
};

void *floor_new(const struct tset *ts, size_t n, uint64_t seed, struct impl_build_info *info)
{
    struct floor_tbl *f = calloc(1, sizeof(*f));
    size_t cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    tenreg__hash_key_init(&f->hk, seed);
    f->mask = cap - 1;
    f->slots = aligned_alloc(64, cap * sizeof(struct fslot));
    memset(f->slots, 0, cap * sizeof(struct fslot));
    f->entries = malloc(n * sizeof(*f->entries));
    f->n = n;
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        char key[TENREG_HOST_KEY_MAX + 1];
        size_t klen = bench_key_of(ts_url(ts, i), key);
        struct fentry *e = malloc(sizeof(*e) + klen + 1);
        e->platform = ts->platforms + i;
        e->id = ts_id(ts, i);
        e->health = TENREG_HEALTHY;
        e->klen = (uint8_t)klen;
        memcpy(e->key, key, klen + 1);
        f->entries[i] = e;
        uint64_t h = tenreg__hash(&f->hk, key, klen);
        size_t p = h & f->mask;
        while (f->slots[p].e)
            p = (p + 1) & f->mask;
        f->slots[p].h = h;
        f->slots[p].e = e;
    }
    if (info)
        info->seconds = bench_now() - t0;
    return f;
}

void floor_free(void *tbl)
{
    struct floor_tbl *f = tbl;
    for (size_t i = 0; i < f->n; i++)
        free(f->entries[i]);
    free(f->entries);
    free(f->slots);
    free(f);
}

static inline __attribute__((always_inline)) int floor_lookup(void *tbl, const char *host,
                                                              size_t len, struct reader_ctx *c)
{
    const struct floor_tbl *f = tbl;
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen;
    int rc = tenreg_normalize_host(host, len, key, sizeof(key), &klen);
    if (BENCH_UNLIKELY(rc != 0))
        return TENREG_EINVAL;
    uint64_t h = tenreg__hash(&f->hk, key, klen);
    for (size_t p = h & f->mask;; p = (p + 1) & f->mask) {
        const struct fslot *s = &f->slots[p];
        if (!s->e)
            return TENREG_ENOENT;
        if (s->h == h && s->e->klen == klen && memcmp(s->e->key, key, klen) == 0) {
            const struct fentry *e = s->e;
            c->sink += (uintptr_t)e->platform + e->health + (uintptr_t)e->id;
            return 0;
        }
    }
}

void *floor_reader(void *arg)
{
    reader_loop(arg, floor_lookup);
    return NULL;
}

/* One batch lookup in flight. */
struct fquery {
    uint64_t h;
    size_t p; /* A: the home slot; B: the slot that stopped the probe */
    size_t klen;
    int rc;
    char key[TENREG_HOST_KEY_MAX + 1];
};

/* rc[i] and e[i] (the entry, for rc 0) of q[i]. */
static inline __attribute__((always_inline)) void
floor_batch(const struct floor_tbl *f, const tenreg_query *q, int *rc, const struct fentry **e)
{
    struct fquery g[BENCH_BATCH];
    for (int i = 0; i < BENCH_BATCH; i++) { /* A */
        struct fquery *l = &g[i];
        l->rc = tenreg_normalize_host(q[i].host, q[i].len, l->key, sizeof(l->key), &l->klen);
        if (BENCH_UNLIKELY(l->rc != 0))
            continue;
        l->h = tenreg__hash(&f->hk, l->key, l->klen);
        l->p = l->h & f->mask;
        __builtin_prefetch(&f->slots[l->p]);
    }
    for (int i = 0; i < BENCH_BATCH; i++) { /* B */
        struct fquery *l = &g[i];
        if (BENCH_UNLIKELY(l->rc != 0))
            continue;
        size_t p = l->p;
        while (f->slots[p].e && f->slots[p].h != l->h)
            p = (p + 1) & f->mask;
        l->p = p;
        if (f->slots[p].e)
            __builtin_prefetch(f->slots[p].e);
    }
    for (int i = 0; i < BENCH_BATCH; i++) { /* C */
        struct fquery *l = &g[i];
        if (BENCH_UNLIKELY(l->rc != 0)) {
            rc[i] = TENREG_EINVAL;
            continue;
        }
        rc[i] = TENREG_ENOENT;
        for (size_t p = l->p; f->slots[p].e; p = (p + 1) & f->mask) {
            const struct fslot *s = &f->slots[p];
            if (s->h == l->h && s->e->klen == l->klen && memcmp(s->e->key, l->key, l->klen) == 0) {
                e[i] = s->e;
                rc[i] = 0;
                break;
            }
        }
    }
}

static inline __attribute__((always_inline)) void
floor_lookup_batch(void *tbl, const tenreg_query *q, int *rc, struct reader_ctx *c)
{
    const struct fentry *e[BENCH_BATCH];
    floor_batch(tbl, q, rc, e);
    for (int i = 0; i < BENCH_BATCH; i++)
        if (rc[i] == 0)
            c->sink += (uintptr_t)e[i]->platform + e[i]->health + (uintptr_t)e[i]->id;
}

void *floor_reader_batch(void *arg)
{
    reader_loop_batch(arg, floor_lookup_batch);
    return NULL;
}

/* floor_lookup's answer, with its entry. */
static int floor_answer(const struct floor_tbl *f, const char *host, size_t len,
                        const struct fentry **out)
{
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen;
    if (tenreg_normalize_host(host, len, key, sizeof(key), &klen) != 0)
        return TENREG_EINVAL;
    uint64_t h = tenreg__hash(&f->hk, key, klen);
    for (size_t p = h & f->mask; f->slots[p].e; p = (p + 1) & f->mask) {
        const struct fslot *s = &f->slots[p];
        if (s->h == h && s->e->klen == klen && memcmp(s->e->key, key, klen) == 0) {
            *out = s->e;
            return 0;
        }
    }
    return TENREG_ENOENT;
}

uint64_t floor_check_batch(void *tbl, const struct stream *st, size_t n, uint64_t *checked)
{
    const struct floor_tbl *f = tbl;
    uint64_t wrong = 0;
    n -= n % BENCH_BATCH;
    for (size_t j = 0; j < n; j += BENCH_BATCH) {
        tenreg_query q[BENCH_BATCH];
        int rc[BENCH_BATCH];
        const struct fentry *e[BENCH_BATCH];
        for (int i = 0; i < BENCH_BATCH; i++) {
            const struct stream_entry *se = &st->e[j + (size_t)i];
            q[i].host = st->buf + se->off;
            q[i].len = se->len;
        }
        floor_batch(f, q, rc, e);
        for (int i = 0; i < BENCH_BATCH; i++) {
            const struct fentry *one = NULL;
            int rc1 = floor_answer(f, q[i].host, q[i].len, &one);
            if (rc1 != rc[i] || (rc1 == 0 && one != e[i]))
                wrong++;
        }
    }
    *checked = n;
    return wrong;
}
