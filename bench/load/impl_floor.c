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
