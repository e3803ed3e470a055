/*
 * table.c - the RCU hash tables: host key -> record or alias (an extra
 * host), tenant id -> record, pattern name -> alias (see struct
 * tenreg__slots and tenreg__ent in internal.h).
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
 * only ever store a whole entry (a record or alias pointer) into a slot
 * (after its hash, and after raising the array's max_disp), and replace
 * the whole array by publishing a new one. Load factor at most 1/2 (entries and tombstones):
 * with linear probing a miss then reads about 2.5 slots, a hit 1.5.
 *
 * Probe bound (docs/design.md §5). Tenants may choose their hosts and hash_seed
 * may be fixed, so whoever knows the seed can pick hosts that share a home
 * slot or fill consecutive ones. Every array therefore has its own key and
 * max_disp (internal.h), readers stop after max_disp + 1 slots, and writers
 * keep max_disp <= disp_bound(capacity) = DISP_PER_DOUBLING * log2(capacity):
 * an insert that would go past it (or finds the array already past it)
 * re-keys the table with fresh kernel randomness, which an attacker cannot
 * aim at; growth that rehashes past it re-keys the same way.
 *
 * The constant, measured (SipHash-1-3 of distinct host names under random
 * keys, linear probing filled to load exactly 1/2, the most an array holds
 * before it grows; "P" is the share of fills whose largest displacement
 * went past 4*log2(capacity), i.e. of random key sets that re-key once):
 *
 *   capacity  keys   fills  mean max  worst   4*log2  P(> 4*log2)
 *   2^6       32     1e5     4.0      26      24      1e-5
 *   2^8       128    1e5     7.2      37      32      5e-5
 *   2^10      512    1e5    11.1      50      40      1.1e-4
 *   2^11      1k     1e5    13.2      68      44      7e-5
 *   2^12      2k     1e5    15.4      65      48      1e-4
 *   2^14      8k     1e4    20.2      54      56      0
 *   2^16      32k    1e4    25.3      67      64      1e-4
 *   2^18      128k   300    30.8      55      72      0
 *   2^20      512k   300    36.0      57      80      0
 *   2^21      1M     20     38.5      54      84      0
 *   2^22      2M     20     43.4      58      88      0
 *   2^23      4M     20     45.3      64      92      0
 *
 * (Past 3*log2: ~1.5e-3 of fills from 2^9 to 2^16; past 5*log2: 1e-5 at
 * 2^11 and 2^12, none elsewhere.) Arrays grow at load 1/2 to load 1/4
 * (a rebuild that does not grow leaves at most 3/8), where
 * the tail is far thinner (churn from load 1/4 until tombstones bring the
 * array to 1/2: worst 26 over 1e5 fills up to 2^12 slots), so a random key
 * set re-keys about once in 10^4 doublings, and a re-key costs one pass
 * over the array. A lookup therefore reads at most 4*log2(capacity) + 1
 * slots (25 at the minimum of 64 slots, 93 at 8M) whatever hosts are
 * registered, as long as re-keys find memory and kernel randomness (when
 * one cannot, max_disp + 1 until the next insert's re-key succeeds); in
 * practice max_disp + 1, and a miss still stops at the first empty slot.
 */

/*
 * Ordering: what each admin call changes, in which order, and what a reader
 * may see in between. Every change below happens under write_lock, inside
 * the writer's read section; a reader sees each slot, and each record,
 * whole (one pointer), never a half-written one.
 *
 *   register, new id     [grow: publish new arrays (t->cur)], insert into
 *                        by_id, then into by_host. In between: the id
 *                        resolves, the host not yet (ENOENT by host).
 *   register, same id    by_id slot -> new record, then the host: the same
 *                        slot replaced, or (moved host) the old key's slot
 *                        tombstoned and the new key inserted; then the old
 *                        registration ends (removed, cell STALE, record
 *                        retired). In between: by host the old record
 *                        (old health, old platform: still valid, it is
 *                        freed only after a grace period); for a moved
 *                        host, for a moment neither the old key nor the
 *                        new one.
 *   unregister           by_id slot tombstoned, then by_host; then the
 *                        registration ends. In between: found by host,
 *                        not by id.
 *   publish (recheck,    by_host slot -> new record, by_id slot -> it, each
 *   build)               alias->rec -> it, then tenant->rec -> it, then the
 *                        old record retired. In between: one host or table
 *                        shows the new health, another the old; each answer
 *                        is a consistent (id, health, platform) triple.
 *   add_host             [grow], the alias filled, [pattern: its length's
 *                        bit raised in pattern_labels], then its slot
 *                        stored. Readers find all of it or nothing.
 *   remove_host          the alias's slot tombstoned, [pattern: the bit
 *                        lowered when it was the last of its length], then
 *                        the alias retired. register (same id) and
 *                        unregister do this for every alias of the old
 *                        registration before its own host changes.
 *   grow / re-key        a new array filled from the old, then published
 *                        with one store; the old one freed by call_rcu.
 *                        Readers on the old array see the older view.
 *
 * Publish/subscribe pairs (release at the writer, acquire at the reader):
 *   slot->ent            store_at, tenreg__table_replace/_remove (release)
 *                        <-> tenreg__table_probe (acquire); the slot's
 *                        hash and (answer slots) answer word are stored
 *                        with release before it and loaded with acquire
 *                        after it, then the entry again: the answer
 *                        slots' check (internal.h, struct
 *                        tenreg__answer_slot).
 *   slots->digest        lowered relaxed in store_at before the release of
 *                        an entry whose hash another entry has <-> loaded
 *                        relaxed after the entry's acquire in
 *                        tenreg__table_probe.
 *   alias->rec           tenreg__tenant_publish (release; the first value
 *                        travels with the slot's release) <->
 *                        tenreg__ent_record (acquire).
 *   pattern_labels       raised relaxed before a pattern's slot release,
 *                        lowered relaxed after its tombstone <-> loaded
 *                        relaxed by tenreg__find_host (like max_disp).
 *   slots->max_disp      raised relaxed in store_at before the release of
 *                        the slot it covers <-> loaded relaxed in
 *                        tenreg__table_find_counted (see there).
 *   table->cur           publish (release) <-> tenreg__table_find_counted,
 *                        cur_of (acquire): the array's key, mask and the
 *                        slots filled before publication come with it.
 *   tenant->rec          tenreg__tenant_publish (release) <->
 *                        tenreg__tenant_record (acquire).
 *   tenant->cell         tenreg__cell_move (acq_rel CAS; a build's record is
 *                        published before its cell turns final) <->
 *                        resolve_cold, tenreg__cell_wait (acquire).
 *   retire -> free       tenreg__call_rcu <-> the callback, after a grace
 *                        period (liburcu; the only edges annotated for TSan).
 * Who may wait for whom (locks, turnstiles, futexes, grace periods):
 * docs/design.md §5.12.
 */
#include "internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>

#define DISP_PER_DOUBLING 4
/* Fresh keys tried at one capacity before a re-key doubles it. */
#define REKEY_TRIES 4

/* Largest table: 2^40 slots (16 TiB) is far past any real registry and
 * keeps the arithmetic below from overflowing. */
#define SLOTS_MAX ((size_t)1 << 40)

_Static_assert(offsetof(struct tenreg__slots, slot_mem) % 64 == 0, "slots start on a line boundary");

size_t tenreg__table_disp_bound(size_t capacity)
{
    return (size_t)DISP_PER_DOUBLING * (size_t)__builtin_ctzll((unsigned long long)capacity);
}

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

static size_t slots_bytes(size_t cap, unsigned shift)
{
    return sizeof(struct tenreg__slots) + (cap << shift);
}

/* by_host answers from its slots (struct tenreg__answer_slot). */
static unsigned shift_for(const struct tenreg__table *t)
{
    return t->key == TENREG__KEY_HOST ? TENREG__ANSWER_SLOT_SHIFT : TENREG__SLOT_SHIFT;
}

/* Gives @t's array @a @key; @secret: it came from the kernel. Before @a is
 * filled. */
static void set_key(const struct tenreg__table *t, struct tenreg__slots *a,
                    const struct tenreg__hash_key *key, bool secret)
{
    a->key = *key;
    a->secret = secret;
    /* The digest rule holds in an empty array with a secret key; store_at
     * lowers it when two entries come to share a hash. Nothing reads it
     * for patterns, so their stores skip the upkeep (hash_taken). */
    atomic_store_explicit(&a->digest, secret && t->key != TENREG__KEY_PATTERN,
                          memory_order_relaxed);
}

/* An empty array of @cap slots for @t; its key is the caller's to set. */
static struct tenreg__slots *slots_new(struct tenreg *reg, const struct tenreg__table *t, size_t cap)
{
    if (cap == 0 || cap > SLOTS_MAX)
        return NULL;
    size_t bytes = slots_bytes(cap, shift_for(t));
    struct tenreg__slots *a = tenreg__alloc(reg, bytes);
    if (!a)
        return NULL;
    advise_huge_pages(a, bytes);
    memset(a, 0, bytes); /* every slot empty: hash 0, entry 0; max_disp 0 */
    a->mask = cap - 1;
    a->shift = (uint8_t)shift_for(t);
    a->reg = reg;
    return a;
}

static void slots_free(struct tenreg__slots *a)
{
    tenreg__dealloc(a->reg, a, slots_bytes(a->mask + 1, a->shift));
}

static void slots_free_cb(struct rcu_head *head)
{
    tenreg__rcu_cb_begin(head);
    struct tenreg__slots *a = caa_container_of(head, struct tenreg__slots, rcu);
    TENREG__DEFERRED(a->reg, -1);
    slots_free(a);
    tenreg__rcu_cb_end();
}

/* Writers' view of the current array (they alone replace it). */
static struct tenreg__slots *cur_of(const struct tenreg__table *t)
{
    return __atomic_load_n(&t->cur, __ATOMIC_ACQUIRE);
}

static size_t max_disp_of(const struct tenreg__slots *a)
{
    return atomic_load_explicit(&a->max_disp, memory_order_relaxed);
}

/* Makes @a the current array. Release: pairs with the acquire load of
 * t->cur in tenreg__table_find_counted, so a reader that sees @a sees its
 * key, mask, max_disp and every slot filled before this store. */
static void publish(struct tenreg__table *t, struct tenreg__slots *a)
{
    __atomic_store_n(&t->cur, a, __ATOMIC_RELEASE);
}

/* The hash of @e's key (an alias's own; a record's host or id, as the
 * table is) under @a's key. */
static uint64_t hash_of(const struct tenreg__table *t, const struct tenreg__slots *a,
                        tenreg__ent e)
{
    if (e & TENREG__ENT_SWAP) { /* its sides' key */
        const struct tenreg__swap *sw = tenreg__ent_swap(e);
        e = sw->old ? sw->old : sw->new;
    }
    if (tenreg__ent_is_alias(e)) {
        const struct tenreg__alias *al = tenreg__ent_alias(e);
        return tenreg__hash(&a->key, tenreg__alias_key(al), al->key_len);
    }
    const struct tenreg__record *rec = (const struct tenreg__record *)e;
    if (t->key == TENREG__KEY_HOST)
        return tenreg__hash(&a->key, tenreg__record_host(rec), rec->host_len);
    return tenreg__hash(&a->key, tenreg__record_id(rec), rec->id_len);
}

int tenreg__table_init(struct tenreg *reg, struct tenreg__table *t, enum tenreg__table_key key,
                       size_t expected, const struct tenreg__hash_key *hkey)
{
    t->key = key;
    t->used = t->live = 0;
    /* A sizing hint past what the table can hold is treated as none. */
    struct tenreg__slots *a = slots_new(reg, t, capacity_for(capacity_for(expected) ? expected : 0));
    if (a)
        set_key(t, a, hkey, reg->cfg.hash_seed == 0);
    publish(t, a);
    return a ? TENREG_OK : TENREG_ENOMEM;
}

void tenreg__table_destroy(struct tenreg *reg, struct tenreg__table *t)
{
    (void)reg;
    struct tenreg__slots *a = cur_of(t);
    if (a)
        slots_free(a);
    publish(t, NULL);
}

/* Writer-side probe for the slot holding @e. */
static struct tenreg__slot *slot_of(const struct tenreg__table *t, tenreg__ent e)
{
    struct tenreg__slots *a = cur_of(t);
    size_t i = hash_of(t, a, e) & a->mask;
    for (size_t d = 0;; d++, i = (i + 1) & a->mask) {
        tenreg__ent x = atomic_load_explicit(&tenreg__slot_at(a, i)->ent, memory_order_relaxed);
        if (x == e)
            return tenreg__slot_at(a, i);
        if (!x || d > max_disp_of(a))
            abort(); /* an entry the table does not hold: a tenreg bug */
    }
}

/* The first free slot (empty or tombstone) of @hash's probe sequence in
 * @a; *@disp receives its displacement from the home slot. */
static size_t free_slot(const struct tenreg__slots *a, uint64_t hash, size_t *disp)
{
    size_t i = hash & a->mask, d = 0;
    for (;; d++, i = (i + 1) & a->mask) {
        tenreg__ent x = atomic_load_explicit(&tenreg__slot_at(a, i)->ent, memory_order_relaxed);
        if (!x || x == TENREG__TOMBSTONE)
            break;
    }
    *disp = d;
    return i;
}

/* Whether a live entry of @a has @hash. All entries with @hash's home
 * slot sit before the first empty slot from there (slots never go back to
 * empty in an array), so the walk stops at it. */
static bool hash_taken(const struct tenreg__slots *a, uint64_t hash)
{
    for (size_t i = hash & a->mask;; i = (i + 1) & a->mask) {
        const struct tenreg__slot *sl = tenreg__slot_at(a, i);
        tenreg__ent x = atomic_load_explicit(&sl->ent, memory_order_relaxed);
        if (!x)
            return false;
        if (x != TENREG__TOMBSTONE && atomic_load_explicit(&sl->hash, memory_order_relaxed) == hash)
            return true;
    }
}

/* Stores @e in slot @i, at displacement @d from its home, with @answer
 * (tenreg__answer_of(@e): answer slots only); returns whether the slot
 * was empty (rather than a tombstone). */
static bool store_at(struct tenreg__slots *a, size_t i, size_t d, uint64_t hash, tenreg__ent e,
                     uint64_t answer)
{
    struct tenreg__slot *sl = tenreg__slot_at(a, i);
    bool was_empty = atomic_load_explicit(&sl->ent, memory_order_relaxed) == 0;
    /* A second entry with this hash: a matching hash no longer stands for
     * the key in this array. Before the entry's release store, which
     * readers load before the flag. */
    if (atomic_load_explicit(&a->digest, memory_order_relaxed) && hash_taken(a, hash))
        atomic_store_explicit(&a->digest, 0, memory_order_relaxed);
    /* max_disp first, then the hash, [the answer,] then the entry, each
     * with release: a reader's acquire load of the entry
     * (tenreg__table_probe) pairs with the last, so whoever sees the entry
     * sees all of it (and the record or alias behind it), and so does
     * every later lookup ordered after that one; the hash's and the
     * answer's are the answer slots' check (struct tenreg__answer_slot):
     * a reader that reads them reads the tombstone this slot may have
     * held before. */
    if (d > max_disp_of(a))
        atomic_store_explicit(&a->max_disp, d, memory_order_relaxed);
    atomic_store_explicit(&sl->hash, hash, memory_order_release);
    if (a->shift == TENREG__ANSWER_SLOT_SHIFT)
        atomic_store_explicit(&((struct tenreg__answer_slot *)sl)->answer, answer,
                              memory_order_release);
    atomic_store_explicit(&sl->ent, e, memory_order_release);
    return was_empty;
}

/* The answer word @e has in @a's slots (0 in plain slots). */
static uint64_t answer_for(const struct tenreg__slots *a, tenreg__ent e)
{
    return a->shift == TENREG__ANSWER_SLOT_SHIFT ? tenreg__answer_of(e) : 0;
}

/* Puts the live entries of @old, and @extra unless 0, into the empty,
 * unpublished array @a under @a's key. */
static void fill(const struct tenreg__table *t, struct tenreg__slots *a,
                 const struct tenreg__slots *old, tenreg__ent extra)
{
    bool same_key = tenreg__hash_key_eq(&a->key, &old->key);
    for (size_t j = 0; j <= old->mask; j++) {
        tenreg__ent r = atomic_load_explicit(&tenreg__slot_at(old, j)->ent, memory_order_relaxed);
        if (!r || r == TENREG__TOMBSTONE)
            continue;
        const struct tenreg__slot *from = tenreg__slot_at(old, j);
        uint64_t hash = same_key ? atomic_load_explicit(&from->hash, memory_order_relaxed)
                                 : hash_of(t, a, r);
        /* Both arrays are @t's, so both or neither have answers. */
        uint64_t answer = a->shift == TENREG__ANSWER_SLOT_SHIFT
                              ? atomic_load_explicit(&((const struct tenreg__answer_slot *)from)->answer,
                                                     memory_order_relaxed)
                              : 0;
        size_t d, i = free_slot(a, hash, &d);
        store_at(a, i, d, hash, r, answer);
    }
    if (extra) {
        uint64_t hash = hash_of(t, a, extra);
        size_t d, i = free_slot(a, hash, &d);
        store_at(a, i, d, hash, extra, answer_for(a, extra));
    }
}

/* fill(), and while the result breaks the bound, again under fresh kernel
 * keys, up to REKEY_TRIES of them. Returns whether @a ends within the
 * bound; *@no_random is set when the kernel gave no randomness. */
static bool fill_bounded(const struct tenreg__table *t, struct tenreg__slots *a,
                         const struct tenreg__slots *old, tenreg__ent extra,
                         bool *no_random)
{
    size_t bound = tenreg__table_disp_bound(a->mask + 1);
    fill(t, a, old, extra);
    for (int k = 0; max_disp_of(a) > bound && k < REKEY_TRIES; k++) {
        struct tenreg__hash_key key;
        if (tenreg__hash_key_init(&key, 0) != TENREG_OK) {
            *no_random = true;
            break;
        }
        memset(a->slot_mem, 0, (a->mask + 1) << a->shift);
        atomic_store_explicit(&a->max_disp, 0, memory_order_relaxed);
        set_key(t, a, &key, true);
        fill(t, a, old, extra);
    }
    return max_disp_of(a) <= bound;
}

/* Replaces the current array by one of the same capacity (or, when
 * REKEY_TRIES fresh keys all break the bound, which random keys practically
 * never do, twice it) that holds its live records and @extra under a fresh
 * kernel key, and publishes it. Best-effort: returns false, with nothing
 * changed, when memory or randomness is missing or no key kept the bound. */
static bool rekey(struct tenreg__table *t, tenreg__ent extra)
{
    struct tenreg__slots *old = cur_of(t);
    size_t cap = old->mask + 1;
    for (int doubled = 0; doubled < 2; doubled++, cap <<= 1) {
        struct tenreg__hash_key key;
        if (tenreg__hash_key_init(&key, 0) != TENREG_OK)
            return false;
        struct tenreg__slots *a = slots_new(old->reg, t, cap);
        if (!a)
            return false;
        set_key(t, a, &key, true);
        bool no_random = false;
        if (fill_bounded(t, a, old, extra, &no_random)) {
            publish(t, a);
            /* Readers still probing the old array see a consistent, older view. */
            TENREG__DEFERRED(old->reg, 1);
            tenreg__call_rcu(&old->rcu, slots_free_cb);
            return true;
        }
        slots_free(a); /* never published */
        if (no_random)
            return false;
    }
    return false;
}

int tenreg__table_prepare(struct tenreg *reg, const struct tenreg__table *t, size_t n,
                          struct tenreg__slots **grown)
{
    *grown = NULL;
    if (t->used + n <= (cur_of(t)->mask + 1) / 2)
        return TENREG_OK;
    /* Sized for the live records, so a table full of tombstones shrinks
     * back instead of growing; but a rebuild that does not grow the table
     * leaves room for an eighth of its slots more: a table that stays just
     * under half full of live entries would otherwise be rebuilt at the
     * same size every time its few free slots are used up (measured: a
     * 1M-tenant registry under churn, one 64 MB rebuild per 10,000 host
     * inserts, 150 ms each). So at least capacity/8 inserts come between
     * two such rebuilds: O(1) per insert. (Growth needs no such room: it
     * at least doubles, so it happens O(log n) times; a batch that loads
     * 1M tenants into an empty registry gets 2^21 slots, not 2^22.) */
    size_t want = t->live + n, cap = capacity_for(want);
    if (cap && cap <= cur_of(t)->mask + 1 && want > cap / 8 * 3 && capacity_for(2 * want))
        cap = capacity_for(2 * want);
    *grown = slots_new(reg, t, cap);
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
    struct tenreg__slots *old = cur_of(t);
    /* The key stays (a fixed hash_seed stays deterministic) unless the
     * rehash breaks the bound; then fill_bounded re-keys in place, in the
     * unpublished array, and if even that fails the array goes out with
     * its real max_disp and the next insert tries again. */
    set_key(t, a, &old->key, old->secret);
    bool no_random = false;
    (void)fill_bounded(t, a, old, 0, &no_random);
    publish(t, a);
    t->used = t->live;
    /* Readers still probing the old array see a consistent, older view. */
    TENREG__DEFERRED(old->reg, 1);
    tenreg__call_rcu(&old->rcu, slots_free_cb);
}

/* Inserts @rec, whose key's hash under @a's key is @hash. */
static size_t insert_hashed(struct tenreg__table *t, struct tenreg__slots *a, tenreg__ent rec,
                            uint64_t hash)
{
    size_t d, i = free_slot(a, hash, &d);
    size_t bound = tenreg__table_disp_bound(a->mask + 1);
    /* Past the bound, or already past it after an earlier re-key could not
     * be done: re-key now, with @rec in the new array. */
    if (TENREG__UNLIKELY(d > bound || max_disp_of(a) > bound) && rekey(t, rec)) {
        t->live++;
        t->used = t->live;
        return SIZE_MAX;
    }
    if (store_at(a, i, d, hash, rec, answer_for(a, rec)))
        t->used++;
    t->live++;
    return i;
}

size_t tenreg__table_insert_at(struct tenreg__table *t, tenreg__ent rec)
{
    struct tenreg__slots *a = cur_of(t);
    return insert_hashed(t, a, rec, hash_of(t, a, rec));
}

size_t tenreg__table_insert_prehashed(struct tenreg__table *t, tenreg__ent e,
                                      const struct tenreg__prehash *ph)
{
    struct tenreg__slots *a = cur_of(t);
    return insert_hashed(t, a, e,
                         tenreg__hash_key_eq(&ph->key, &a->key) ? ph->hash : hash_of(t, a, e));
}

void tenreg__table_insert(struct tenreg__table *t, tenreg__ent rec)
{
    (void)tenreg__table_insert_at(t, rec);
}

/* @e's slot: at @hint if the current array holds it there (an entry is in
 * one slot only, so that is its slot whatever happened since the hint was
 * taken), else found by hashing its key. */
static struct tenreg__slot *slot_hinted(const struct tenreg__table *t, size_t hint, tenreg__ent e)
{
    struct tenreg__slots *a = cur_of(t);
    if (hint <= a->mask && atomic_load_explicit(&tenreg__slot_at(a, hint)->ent, memory_order_relaxed) == e)
        return tenreg__slot_at(a, hint);
    return slot_of(t, e);
}

void tenreg__table_locate(const struct tenreg__table *t, const tenreg__ent *ents, size_t n,
                          const uint64_t *hashes, const struct tenreg__hash_key *key, size_t *at)
{
    const struct tenreg__slots *a = cur_of(t);
    size_t mask = a->mask, md = max_disp_of(a), next[TENREG__FIND_GROUP];
    if (hashes && !tenreg__hash_key_eq(key, &a->key))
        hashes = NULL;
    /* Each entry's key is a miss of its own, and hashing one takes long
     * enough that the next miss would not start behind it: all at once. */
    if (!hashes)
        for (size_t k = 0; k < n; k++)
            __builtin_prefetch((const void *)(ents[k] & ~(TENREG__ENT_ALIAS | TENREG__ENT_SWAP)));
    for (size_t k = 0; k < n; k++) {
        next[k] = (hashes ? hashes[k] : hash_of(t, a, ents[k])) & mask;
        __builtin_prefetch(tenreg__slot_at(a, next[k]));
    }
    for (size_t k = 0; k < n; k++) {
        at[k] = SIZE_MAX;
        size_t i = next[k];
        for (size_t d = 0; d <= md; d++, i = (i + 1) & mask) {
            tenreg__ent x = atomic_load_explicit(&tenreg__slot_at(a, i)->ent, memory_order_relaxed);
            if (x == ents[k]) {
                at[k] = i;
                break;
            }
            if (!x)
                break;
        }
    }
}

size_t tenreg__table_replace_at(struct tenreg__table *t, size_t hint, tenreg__ent old, tenreg__ent e)
{
    struct tenreg__slots *a = cur_of(t);
    struct tenreg__slot *s = slot_hinted(t, hint, old);
    /* The answer, then the entry, with release: the answer slots' check
     * (struct tenreg__answer_slot). A plain record replaces another in
     * place only for the same id and key (registry.c, tenant.c); a
     * commit's go through a swap. */
    if (a->shift == TENREG__ANSWER_SLOT_SHIFT)
        atomic_store_explicit(&((struct tenreg__answer_slot *)s)->answer, tenreg__answer_of(e),
                              memory_order_release);
    /* Release: pairs with the reader's acquire load of the slot. */
    atomic_store_explicit(&s->ent, e, memory_order_release);
    return (size_t)((unsigned char *)s - a->slot_mem) >> a->shift;
}

void tenreg__table_replace(struct tenreg__table *t, tenreg__ent old, tenreg__ent e)
{
    (void)tenreg__table_replace_at(t, SIZE_MAX, old, e);
}

void tenreg__table_remove_at(struct tenreg__table *t, size_t hint, tenreg__ent old)
{
    atomic_store_explicit(&slot_hinted(t, hint, old)->ent, TENREG__TOMBSTONE, memory_order_release);
    t->live--;
}

void tenreg__table_remove(struct tenreg__table *t, tenreg__ent old)
{
    tenreg__table_remove_at(t, SIZE_MAX, old);
}

/* Writers: the first live entry with @hash from slot @i, at displacement
 * @d from its home, on (0: none before an empty slot or past displacement
 * @md); *@at: the slot it is in (else where the walk stopped). */
static tenreg__ent next_with_hash(const struct tenreg__slots *a, size_t i, size_t d, size_t md,
                                  uint64_t hash, size_t *at)
{
    for (; d <= md; d++, i = (i + 1) & a->mask) {
        tenreg__ent e = atomic_load_explicit(&tenreg__slot_at(a, i)->ent, memory_order_relaxed);
        if (!e)
            break;
        if (e != TENREG__TOMBSTONE &&
            atomic_load_explicit(&tenreg__slot_at(a, i)->hash, memory_order_relaxed) == hash) {
            *at = i;
            return e;
        }
    }
    *at = i;
    return 0;
}

void tenreg__table_find_group(const struct tenreg__table *t, const char *const *keys,
                              const size_t *lens, const uint64_t *hashes, size_t n,
                              tenreg__ent *out, size_t *at)
{
    const struct tenreg__slots *a = cur_of(t);
    size_t mask = a->mask, md = max_disp_of(a);
    uint64_t hash[TENREG__FIND_GROUP];
    size_t next[TENREG__FIND_GROUP];
    for (size_t k = 0; k < n; k++) {
        hash[k] = hashes ? hashes[k] : tenreg__hash(&a->key, keys[k], lens[k]);
        next[k] = hash[k] & mask;
        __builtin_prefetch(tenreg__slot_at(a, next[k]));
    }
    /* The first entry with the key's hash: its record is fetched while the
     * other keys probe. */
    for (size_t k = 0; k < n; k++) {
        out[k] = next_with_hash(a, next[k], 0, md, hash[k], &at[k]);
        if (out[k]) {
            /* A record's key and, a line on, the tail with its tenant
             * (what every caller reads next): both misses at once. */
            const char *obj = (const char *)(out[k] & ~(TENREG__ENT_ALIAS | TENREG__ENT_SWAP));
            __builtin_prefetch(obj);
            __builtin_prefetch(obj + 64);
        }
    }
    /* The key check; on the rare equal hash of another key, probe on. */
    for (size_t k = 0; k < n; k++)
        while (out[k] && !tenreg__ent_key_is(out[k], t->key, keys[k], lens[k])) {
            size_t d = (at[k] - (hash[k] & mask)) & mask;
            out[k] = next_with_hash(a, (at[k] + 1) & mask, d + 1, md, hash[k], &at[k]);
        }
}

void tenreg__table_prehash(const struct tenreg__table *t, const char *s, size_t len,
                           struct tenreg__prehash *ph)
{
    const struct tenreg__slots *a = cur_of(t);
    ph->key = a->key;
    ph->hash = tenreg__hash(&a->key, s, len);
    __builtin_prefetch(tenreg__slot_at(a, ph->hash & a->mask));
}

void tenreg__table_hash_group(const struct tenreg__table *t, const char *const *keys,
                              const size_t *lens, size_t n, uint64_t *hashes)
{
    const struct tenreg__slots *a = cur_of(t);
    for (size_t k = 0; k < n; k++) {
        hashes[k] = tenreg__hash(&a->key, keys[k], lens[k]);
        __builtin_prefetch(tenreg__slot_at(a, hashes[k] & a->mask));
    }
}

bool tenreg__table_keyed_with(const struct tenreg__table *t, const struct tenreg__hash_key *key,
                              bool *digest)
{
    const struct tenreg__slots *a = cur_of(t);
    *digest = atomic_load_explicit(&a->digest, memory_order_relaxed);
    return tenreg__hash_key_eq(&a->key, key);
}

void tenreg__table_find_group_by_hash(const struct tenreg__table *t, const uint64_t *hashes,
                                      size_t n, tenreg__ent *out, size_t *at)
{
    const struct tenreg__slots *a = cur_of(t);
    size_t mask = a->mask, md = max_disp_of(a);
    tenreg__table_prefetch_homes(t, hashes, n);
    for (size_t k = 0; k < n; k++)
        out[k] = next_with_hash(a, hashes[k] & mask, 0, md, hashes[k], &at[k]);
}

void tenreg__table_prefetch_slot(const struct tenreg__table *t, size_t i)
{
    const struct tenreg__slots *a = cur_of(t);
    if (i <= a->mask)
        __builtin_prefetch(tenreg__slot_at(a, i), 1);
}

void tenreg__table_prefetch_homes(const struct tenreg__table *t, const uint64_t *hashes, size_t n)
{
    const struct tenreg__slots *a = cur_of(t);
    for (size_t k = 0; k < n; k++)
        __builtin_prefetch(tenreg__slot_at(a, hashes[k] & a->mask));
}

bool tenreg__table_secret_key(const struct tenreg__table *t, struct tenreg__hash_key *key)
{
    /* A writer may replace the array (and free this one after a grace
     * period): read it inside a section. */
    tenreg__rcu_enter();
    const struct tenreg__slots *a = cur_of(t);
    bool secret = a->secret;
    if (secret)
        *key = a->key;
    tenreg__rcu_exit();
    return secret;
}

tenreg__ent tenreg__table_slot(const struct tenreg__table *t, size_t i)
{
    tenreg__ent e = atomic_load_explicit(&tenreg__slot_at(cur_of(t), i)->ent, memory_order_relaxed);
    return e == TENREG__TOMBSTONE ? 0 : e;
}

tenreg__ent tenreg__swap_pick(tenreg__ent e)
{
    const struct tenreg__swap *sw = tenreg__ent_swap(e);
    /* The swap came with the slot's acquire load; the pin was taken when
     * this thread's section began (rcu.c): every lookup of the section
     * picks the same side of every swap of one commit. */
    return tenreg__epoch_pinned() >= sw->epoch ? sw->new : sw->old;
}

void tenreg__table_each(const struct tenreg__table *t,
                        void (*fn)(void *ctx, struct tenreg__record *r), void *ctx)
{
    const struct tenreg__slots *a = cur_of(t);
    for (size_t i = 0; i <= a->mask; i++) {
        tenreg__ent e = atomic_load_explicit(&tenreg__slot_at(a, i)->ent, memory_order_acquire);
        if (TENREG__UNLIKELY(e & TENREG__ENT_SWAP))
            e = tenreg__swap_pick(e);
        if (e && e != TENREG__TOMBSTONE && !tenreg__ent_is_alias(e))
            fn(ctx, (struct tenreg__record *)e);
    }
}

size_t tenreg__table_live(const struct tenreg__table *t)
{
    return t->live;
}

size_t tenreg__table_capacity(const struct tenreg__table *t)
{
    return cur_of(t)->mask + 1;
}

size_t tenreg__table_bytes(const struct tenreg__table *t)
{
    const struct tenreg__slots *a = cur_of(t);
    return slots_bytes(a->mask + 1, a->shift);
}

size_t tenreg__table_max_disp(const struct tenreg__table *t)
{
    return max_disp_of(cur_of(t));
}

size_t tenreg__table_max_probe(const struct tenreg__table *t)
{
    /* A lookup whose home is slot i reads the slots up to and including
     * the first empty one, but at most max_disp + 1 of them. Walk the ring
     * backwards from an empty slot (there is one: load <= 1/2), carrying
     * the distance to the next empty slot. */
    const struct tenreg__slots *a = cur_of(t);
    size_t cap = a->mask + 1, limit = max_disp_of(a) + 1, e = 0;
    while (e < cap && atomic_load_explicit(&tenreg__slot_at(a, e)->ent, memory_order_relaxed) != 0)
        e++;
    if (e == cap)
        return limit < cap ? limit : cap;
    size_t run = 0, worst = 0;
    for (size_t k = 0; k < cap; k++) {
        size_t i = (e - k) & a->mask;
        bool empty = atomic_load_explicit(&tenreg__slot_at(a, i)->ent, memory_order_relaxed) == 0;
        run = empty ? 1 : run + 1;
        size_t probes = run < limit ? run : limit;
        if (probes > worst)
            worst = probes;
    }
    return worst;
}
