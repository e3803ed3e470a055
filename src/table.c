/*
 * table.c - the two RCU hash tables of records: host key -> record and
 * tenant id -> record (see struct tenreg__slots in internal.h).
 *
 * Why not liburcu's rculfhash: a lookup there walks a split-ordered list
 * through a bucket node, the tenant's node and, behind a function pointer,
 * the key, and then loads the tenant's record: four dependent cache misses
 * when cold, where a plain open-addressing table has two. Here the slot
 * holds the hash and points straight at the immutable record that has the
 * key, health and platform (bench/README.md has the measurements).
 *
 * Readers (tenreg__table_find, inline in internal.h) take no lock and store
 * nothing. Writers hold write_lock, so they never race each other; they
 * only ever store a whole record pointer into a slot (after its hash), and
 * replace the whole array by publishing a new one.
 */
#include "internal.h"

#include <stdlib.h>
#include <sys/mman.h>

/* Load factor at most 1/2 (records and tombstones): with linear probing a
 * miss then reads about 2.5 slots, a hit 1.5. */
/* Largest table: 2^40 slots (16 TiB) is far past any real registry and
 * keeps the arithmetic below from overflowing. */
#define SLOTS_MAX ((size_t)1 << 40)

static size_t capacity_for(size_t n)
{
    if (n > SLOTS_MAX / 2 - 1)
        return 0;
    size_t cap = 64;
    while (cap < 2 * n + 2)
        cap <<= 1;
    return cap;
}

/* A lookup into a big registry misses the TLB as well as the cache: with
 * the slot array on 2 MiB pages the page walk mostly hits (measured:
 * cold-set lookups on 1M tenants ~4% cheaper). Advice only; errors are
 * ignored, and small arrays stay on normal pages. */
static void advise_huge_pages(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (bytes < 2 * huge)
        return;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

static struct tenreg__slots *slots_new(struct tenreg *reg, size_t cap)
{
    if (cap == 0)
        return NULL;
    size_t bytes = sizeof(struct tenreg__slots) + cap * sizeof(struct tenreg__slot);
    struct tenreg__slots *a = tenreg__alloc(reg, bytes);
    if (!a)
        return NULL;
    advise_huge_pages(a, bytes);
    memset(a, 0, bytes); /* every slot empty: hash 0, rec NULL */
    a->mask = cap - 1;
    a->reg = reg;
    return a;
}

static void slots_free(struct tenreg__slots *a)
{
    tenreg__dealloc(a->reg, a,
                    sizeof(struct tenreg__slots) + (a->mask + 1) * sizeof(struct tenreg__slot));
}

static void slots_free_cb(struct rcu_head *head)
{
    tenreg__rcu_cb_begin(head);
    slots_free(caa_container_of(head, struct tenreg__slots, rcu));
    tenreg__rcu_cb_end();
}

int tenreg__table_init(struct tenreg *reg, struct tenreg__table *t, enum tenreg__table_key key,
                       size_t expected)
{
    t->key = key;
    t->used = t->live = 0;
    /* A sizing hint past what the table can hold is treated as none. */
    t->cur = slots_new(reg, capacity_for(capacity_for(expected) ? expected : 0));
    return t->cur ? TENREG_OK : TENREG_ENOMEM;
}

void tenreg__table_destroy(struct tenreg *reg, struct tenreg__table *t)
{
    (void)reg;
    if (t->cur)
        slots_free(t->cur);
    t->cur = NULL;
}

/* Writer-side probe for the slot holding @rec. */
static struct tenreg__slot *slot_of(const struct tenreg__table *t, uint64_t hash,
                                    const struct tenreg__record *rec)
{
    struct tenreg__slots *a = t->cur;
    for (size_t i = hash & a->mask;; i = (i + 1) & a->mask) {
        struct tenreg__record *r = atomic_load_explicit(&a->s[i].rec, memory_order_relaxed);
        if (r == rec)
            return &a->s[i];
        if (!r)
            abort(); /* a record the table does not hold: a tenreg bug */
    }
}

/* Stores @rec in the first free slot of its probe sequence; returns
 * whether that slot was empty (rather than a tombstone). */
static bool put(struct tenreg__slots *a, uint64_t hash, struct tenreg__record *rec)
{
    for (size_t i = hash & a->mask;; i = (i + 1) & a->mask) {
        struct tenreg__record *r = atomic_load_explicit(&a->s[i].rec, memory_order_relaxed);
        if (!r || r == TENREG__TOMBSTONE) {
            /* Hash first: a reader that sees the record sees its hash. */
            atomic_store_explicit(&a->s[i].hash, hash, memory_order_relaxed);
            atomic_store_explicit(&a->s[i].rec, rec, memory_order_release);
            return r == NULL;
        }
    }
}

int tenreg__table_prepare(struct tenreg *reg, const struct tenreg__table *t, size_t n,
                          struct tenreg__slots **grown)
{
    *grown = NULL;
    if (t->used + n <= (t->cur->mask + 1) / 2)
        return TENREG_OK;
    /* Sized for the live records, so a table full of tombstones shrinks
     * back instead of growing. */
    *grown = slots_new(reg, capacity_for(t->live + n));
    return *grown ? TENREG_OK : TENREG_ENOMEM;
}

void tenreg__table_abandon(struct tenreg__slots *grown)
{
    if (grown)
        slots_free(grown); /* never published */
}

void tenreg__table_commit(struct tenreg__table *t, struct tenreg__slots *a)
{
    if (!a)
        return;
    struct tenreg__slots *old = t->cur;
    for (size_t i = 0; i <= old->mask; i++) {
        struct tenreg__record *r = atomic_load_explicit(&old->s[i].rec, memory_order_relaxed);
        if (r && r != TENREG__TOMBSTONE)
            put(a, atomic_load_explicit(&old->s[i].hash, memory_order_relaxed), r);
    }
    TENREG__TSAN_RELEASE(a);
    __atomic_store_n(&t->cur, a, __ATOMIC_RELEASE); /* rcu_assign_pointer */
    t->used = t->live;
    /* Readers still probing the old array see a consistent, older view. */
    tenreg__call_rcu(&old->rcu, slots_free_cb);
}

void tenreg__table_insert(struct tenreg__table *t, uint64_t hash, struct tenreg__record *rec)
{
    TENREG__TSAN_RELEASE(rec);
    if (put(t->cur, hash, rec))
        t->used++;
    t->live++;
}

void tenreg__table_replace(struct tenreg__table *t, uint64_t hash, struct tenreg__record *old,
                           struct tenreg__record *rec)
{
    TENREG__TSAN_RELEASE(rec);
    atomic_store_explicit(&slot_of(t, hash, old)->rec, rec, memory_order_release);
}

void tenreg__table_remove(struct tenreg__table *t, uint64_t hash, struct tenreg__record *old)
{
    atomic_store_explicit(&slot_of(t, hash, old)->rec, TENREG__TOMBSTONE, memory_order_release);
    t->live--;
}

void tenreg__table_each(const struct tenreg__table *t,
                        void (*fn)(void *ctx, struct tenreg__record *r), void *ctx)
{
    const struct tenreg__slots *a = t->cur;
    for (size_t i = 0; i <= a->mask; i++) {
        struct tenreg__record *r = atomic_load_explicit(&a->s[i].rec, memory_order_relaxed);
        if (r && r != TENREG__TOMBSTONE)
            fn(ctx, r);
    }
}
