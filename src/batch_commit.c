/*
 * batch_commit.c - tenreg_batch_commit: a batch's ops applied as one change
 * (docs/design.md §8.5, §5.14).
 *
 * Readers must see the whole batch or none of it, across every lookup of a
 * read section, while each slot can only change on its own. So a commit
 * never changes a key's answer in place: under write_lock it
 *
 *   plan      runs the ops in order on a model of the ids they name, checks
 *             the result (ENOENT, EEXIST, ENOSPC) and allocates everything
 *             (swaps, aliases, alias arrays, grown slot arrays, room in the
 *             check heap); any error frees what it took, and nothing changed;
 *   install   puts a swap (internal.h: old entry, new entry, epoch) into the
 *             slot of every key whose answer changes, under the process-wide
 *             epoch lock, then bumps the epoch. A section pinned before the
 *             bump answers every swap's old side, one pinned after it every
 *             new side: each section sees one state, whatever the order in
 *             which it met the slots;
 *
 * then, with write_lock released, waits for a grace period (after which no
 * section pinned before the bump is left), and under write_lock again
 *
 *   finalize  replaces each swap with its new side (or a tombstone), ends
 *             the registrations the batch replaced or unregistered, links the
 *             new ones (counters, checks, events in batch order) and retires
 *             the swaps after another grace period.
 *
 * From install to finalize reg->committing is 1 and every other writer
 * waits in tenreg__write_lock (a commit is linearizable: nothing else
 * changes the tables while they hold swaps). Readers never wait.
 */
#include "batch.h"

#include <string.h>

#include "futex.h"

enum { TAB_ID, TAB_HOST, TAB_PATTERN, N_TABS };

/* The swaps of one commit, retired together after finalize. */
struct swap_block {
    struct rcu_head rcu;
    struct tenreg *reg;
    struct rcu_head *retired;         /* what finalize retired, freed with the block */
    size_t cap;
    struct tenreg__swap s[];
};

/* A key map entry: the swap's index + 1 (0: empty) and the top half of
 * its key's hash, so that a probe touches the swap and its key only when
 * the halves match (each would be a cache miss of its own). */
struct kmap_ent {
    uint32_t swap;
    uint32_t tag;
};

struct plan {
    struct tenreg_batch *b;
    struct tenreg *reg;
    struct swap_block *swaps;
    uint8_t *swap_tab;                /* per swap: its table */
    size_t *slot_at;                  /* per swap: its slot (a hint: tenreg__table_replace_at) */
    uint64_t *swap_hash;              /* per swap: its key's hash (key_hash) */
    /* Every table's key is secret: then the key map hashes each key under
     * its table's key, and install reuses the hashes to find and fill the
     * slots (no key read, no SipHash again). Else the batch's own key. */
    bool tab_keyed;
    struct tenreg__hash_key tab_key[N_TABS];
    size_t n_swaps, swap_cap;
    struct kmap_ent *kmap;            /* (table, key) -> swap */
    size_t kmap_cap;
    struct tenreg__tenant **unnamed;  /* REPLACE_ALL: tenants no op names */
    size_t n_unnamed, cap_unnamed;
    struct tenreg__alias **made;      /* aliases allocated for adds */
    size_t n_made, cap_made;
    size_t inserts[N_TABS];           /* keys no slot holds yet */
    struct tenreg__slots *grown[N_TABS];
    size_t n_new;                     /* registrations the batch links */
};

static struct tenreg__table *table_of(struct tenreg *reg, int tab)
{
    return tab == TAB_ID ? &reg->by_id : tab == TAB_HOST ? &reg->by_host : &reg->by_pattern;
}

static int tab_of_alias(const struct tenreg__alias *al)
{
    return al->pattern ? TAB_PATTERN : TAB_HOST;
}

/* The key @e has in table @tab. */
static const char *ent_key(int tab, tenreg__ent e, size_t *len)
{
    if (tenreg__ent_is_alias(e)) {
        const struct tenreg__alias *al = tenreg__ent_alias(e);
        *len = al->key_len;
        return tenreg__alias_key(al);
    }
    const struct tenreg__record *r = (const struct tenreg__record *)e;
    if (tab == TAB_ID) {
        *len = r->id_len;
        return tenreg__record_id(r);
    }
    *len = r->host_len;
    return tenreg__record_host(r);
}

/* @key's hash for the key map, under a secret key (the map has no probe
 * bound): its table's (tab_keyed) or the batch's. */
static uint64_t key_hash(const struct plan *p, int tab, const char *key, size_t len)
{
    return tenreg__hash(p->tab_keyed ? &p->tab_key[tab] : &p->b->key, key, len);
}

/* Where (@tab, key of hash @h) starts in the key map. The table is part of
 * the key: a pattern's NAME may equal a host key. */
static uint64_t kmap_hash(int tab, uint64_t h)
{
    return h + (uint64_t)tab * 0x9e3779b97f4a7c15u;
}

/* The swap that holds (@tab, @key), or TENREG__NONE. */
static uint32_t kmap_find(const struct plan *p, int tab, const char *key, size_t len, uint64_t h)
{
    h = kmap_hash(tab, h);
    size_t mask = p->kmap_cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t v = p->kmap[i].swap;
        if (!v)
            return TENREG__NONE;
        if (p->kmap[i].tag != (uint32_t)(h >> 32))
            continue;
        const struct tenreg__swap *s = &p->swaps->s[v - 1];
        size_t klen;
        const char *k = ent_key(tab, s->old ? s->old : s->new, &klen);
        if (p->swap_tab[v - 1] == tab && klen == len && memcmp(k, key, len) == 0)
            return v - 1;
    }
}

/* A new swap of (@tab, key of @old or @new) in the key map (room reserved). */
static void swap_add(struct plan *p, int tab, tenreg__ent old, tenreg__ent new, uint64_t h)
{
    uint32_t k = (uint32_t)p->n_swaps++;
    p->swaps->s[k] = (struct tenreg__swap){.old = old, .new = new, .epoch = 0};
    p->swap_tab[k] = (uint8_t)tab;
    p->slot_at[k] = SIZE_MAX;
    p->swap_hash[k] = h;
    h = kmap_hash(tab, h);
    size_t mask = p->kmap_cap - 1, i = h & mask;
    while (p->kmap[i].swap)
        i = (i + 1) & mask;
    p->kmap[i] = (struct kmap_ent){.swap = k + 1, .tag = (uint32_t)(h >> 32)};
    if (!old)
        p->inserts[tab]++;
}

/* Every key of @t leaves: a swap with its entry as the old side. */
static void plan_removal(struct plan *p, struct tenreg__tenant *t)
{
    tenreg__ent rec = tenreg__ent_of_record(t->rec);
    size_t len;
    const char *k = ent_key(TAB_ID, rec, &len);
    swap_add(p, TAB_ID, rec, 0, key_hash(p, TAB_ID, k, len));
    k = ent_key(TAB_HOST, rec, &len);
    swap_add(p, TAB_HOST, rec, 0, key_hash(p, TAB_HOST, k, len));
    for (unsigned i = 0; i < t->n_aliases; i++) {
        tenreg__ent al = tenreg__ent_of_alias(t->aliases[i]);
        int tab = tab_of_alias(t->aliases[i]);
        k = ent_key(tab, al, &len);
        swap_add(p, tab, al, 0, key_hash(p, tab, k, len));
    }
}

enum { ADDED, ALREADY_HELD };

/*
 * (@tab, key of @e) goes to @owner: the new side of the swap of a key that
 * leaves, or a new swap; ALREADY_HELD when @owner holds it already (or the
 * batch gave it to @owner before); TENREG_EEXIST when another tenant would
 * hold it too. @holder_known: who holds the key in the table now, when the
 * caller looked it up already (NULL: look it up).
 */
static int plan_key(struct plan *p, int tab, tenreg__ent e, const struct tenreg__tenant *owner,
                    const tenreg__ent *holder_known)
{
    size_t len;
    const char *k = ent_key(tab, e, &len);
    uint64_t h = key_hash(p, tab, k, len);
    uint32_t s = kmap_find(p, tab, k, len, h);
    if (s != TENREG__NONE) {
        struct tenreg__swap *sw = &p->swaps->s[s];
        if (sw->new)
            return tenreg__ent_owner(sw->new) == owner ? ALREADY_HELD : TENREG_EEXIST;
        sw->new = e;
        return ADDED;
    }
    /* No swap: whoever holds it now keeps it (the exact key only: a
     * pattern of another tenant does not hold a host). */
    tenreg__ent holder = holder_known ? *holder_known : tenreg__table_find(table_of(p->reg, tab), k, len);
    if (holder)
        return tenreg__ent_owner(holder) == owner ? ALREADY_HELD : TENREG_EEXIST;
    swap_add(p, tab, 0, e, h);
    return ADDED;
}

/* The name of batch op @i. */
static struct tenreg__name *name_of_op(const struct tenreg_batch *b, uint32_t i)
{
    return &b->names[b->ops[i].name];
}

/* The name that batch op @i (of b->changes) decides, or NULL when a later
 * op decides it. */
static struct tenreg__name *decided_by(const struct tenreg_batch *b, uint32_t i)
{
    struct tenreg__name *n = name_of_op(b, i);
    return n->decider == i ? n : NULL;
}

/* The name whose adds begin with batch op @i (of b->adds), or NULL. */
static struct tenreg__name *adds_begin_at(const struct tenreg_batch *b, uint32_t i)
{
    struct tenreg__name *n = name_of_op(b, i);
    return n->add_head == i ? n : NULL;
}

/*
 * The keys of the next TENREG__FIND_GROUP new registrations from change
 * *@next on. Their host keys' holders are looked up together, so that
 * their misses overlap (the tables do not change while the plan runs);
 * their ids need no lookup: an id some tenant holds is a name that leaves,
 * whose swap plan_removal made, and find_current found no holder for the
 * others.
 */
static int plan_new_group(struct plan *p, size_t *next)
{
    struct tenreg_batch *b = p->b;
    struct tenreg__tenant *f[TENREG__FIND_GROUP];
    const char *keys[TENREG__FIND_GROUP];
    size_t lens[TENREG__FIND_GROUP], at[TENREG__FIND_GROUP], n = 0, i = *next;
    tenreg__ent held[TENREG__FIND_GROUP];
    for (; i < b->n_changes && n < TENREG__FIND_GROUP; i++) {
        const struct tenreg__name *nm = decided_by(b, b->changes[i]);
        if (!nm || nm->state != TENREG__NAME_NEW)
            continue;
        f[n] = b->fresh[nm->fresh];
        keys[n] = ent_key(TAB_HOST, tenreg__ent_of_record(f[n]->rec), &lens[n]);
        n++;
    }
    *next = i;
    if (n)
        tenreg__table_find_group(&p->reg->by_host, keys, lens, NULL, n, held, at);
    const tenreg__ent none = 0;
    for (size_t k = 0; k < n; k++) {
        tenreg__ent rec = tenreg__ent_of_record(f[k]->rec);
        int rc = plan_key(p, TAB_ID, rec, f[k], &none);
        if (rc == ADDED)
            rc = plan_key(p, TAB_HOST, rec, f[k], &held[k]);
        p->n_new++;
        if (rc != ADDED)
            return rc == ALREADY_HELD ? TENREG_EEXIST : rc;
    }
    return TENREG_OK;
}

/* ---- plan ---------------------------------------------------------------- */

/* How find_current finds a name's holder in by_id. */
enum find_mode {
    FIND_KEYS,        /* hash each id under by_id's key and compare keys */
    FIND_KEYS_HASHED, /* the same with the names' hashes (by_id has the batch's key) */
    FIND_DIGEST,      /* by hash alone, under the digest rule; holders unread */
};

/* The ids of names [@base, @base + return value) (at most a group), their
 * hashes under by_id's key, and their home slots on their way in. */
static size_t load_group(const struct tenreg_batch *b, const struct tenreg__table *by_id,
                         enum find_mode mode, size_t base, const char **keys, size_t *lens,
                         uint64_t *hashes)
{
    size_t n = b->n_names - base < TENREG__FIND_GROUP ? b->n_names - base : TENREG__FIND_GROUP;
    for (size_t k = 0; k < n; k++) {
        keys[k] = tenreg__name_id(b, &b->names[base + k]);
        lens[k] = b->names[base + k].id_len;
        hashes[k] = b->names[base + k].hash;
    }
    if (mode == FIND_KEYS)
        tenreg__table_hash_group(by_id, keys, lens, n, hashes);
    else
        tenreg__table_prefetch_homes(by_id, hashes, n);
    return n;
}

/*
 * Who holds each named id now: by_id lookups of the names, a group at a
 * time so that their misses overlap (a sync names every tenant: this is
 * most of its cost), each group's home slots fetched while the group
 * before it is probed. Each name's commit scratch starts here too, and
 * with @marks the slots the names were found in are marked. FIND_DIGEST
 * leaves every cur NULL (verify_changes sets those that are read).
 */
static size_t scan_names(struct plan *p, enum find_mode mode, uint64_t *marks)
{
    struct tenreg_batch *b = p->b;
    const struct tenreg__table *by_id = &p->reg->by_id;
    size_t named = 0;
    /* Two groups in flight: [g] is probed while [!g]'s slots come in. */
    const char *keys[2][TENREG__FIND_GROUP];
    size_t lens[2][TENREG__FIND_GROUP];
    uint64_t hashes[2][TENREG__FIND_GROUP];
    size_t base = 0, g = 0,
           n = b->n_names ? load_group(b, by_id, mode, 0, keys[0], lens[0], hashes[0]) : 0;
    while (n) {
        size_t at[TENREG__FIND_GROUP];
        tenreg__ent found[TENREG__FIND_GROUP];
        size_t next_n = base + n < b->n_names
                            ? load_group(b, by_id, mode, base + n, keys[!g], lens[!g], hashes[!g])
                            : 0;
        if (mode == FIND_DIGEST) {
            tenreg__table_find_group_by_hash(by_id, hashes[g], n, found, at);
        } else {
            tenreg__table_find_group(by_id, keys[g], lens[g], hashes[g], n, found, at);
            for (size_t k = 0; k < n; k++)
                if (found[k])
                    __builtin_prefetch(tenreg__record_tail((struct tenreg__record *)found[k]));
        }
        for (size_t k = 0; k < n; k++) {
            struct tenreg__record *r = (struct tenreg__record *)found[k];
            struct tenreg__name *nm = &b->names[base + k];
            nm->cur = r && mode != FIND_DIGEST ? tenreg__record_tenant(r) : NULL;
            nm->state = r ? TENREG__NAME_CURRENT : TENREG__NAME_ABSENT;
            nm->decider = nm->fresh = nm->add_head = nm->add_tail = TENREG__NONE;
            nm->arr = NULL;
            nm->arr_n = nm->arr_cap = 0;
            /* Counted per slot: under the digest rule a kept id no tenant
             * has may have found a slot another name found too. */
            uint64_t bit = (uint64_t)1 << (at[k] % 64);
            if (r && marks && !(marks[at[k] / 64] & bit)) {
                marks[at[k] / 64] |= bit;
                named++;
            }
        }
        base += n;
        n = next_n;
        g ^= 1;
    }
    return named;
}

/*
 * After a FIND_DIGEST scan: the holders of the names that a register,
 * unregister or add_host op names (only theirs are read: a name that is
 * only kept needs no more than whether it is held), looked up again with
 * their keys compared. false when one was taken for another id's by its
 * hash alone, the 2^-64 event of the digest rule: then the caller scans
 * again with the keys compared, so that the ops that change a tenant
 * never rely on a hash.
 */
static bool verify_changes(struct plan *p)
{
    struct tenreg_batch *b = p->b;
    const struct tenreg__table *by_id = &p->reg->by_id;
    size_t n_lists[2] = {b->n_changes, b->n_adds};
    const uint32_t *lists[2] = {b->changes, b->adds};
    for (int l = 0; l < 2; l++) {
        for (size_t base = 0; base < n_lists[l]; base += TENREG__FIND_GROUP) {
            size_t n = n_lists[l] - base < TENREG__FIND_GROUP ? n_lists[l] - base : TENREG__FIND_GROUP;
            struct tenreg__name *nm[TENREG__FIND_GROUP];
            const char *keys[TENREG__FIND_GROUP];
            size_t lens[TENREG__FIND_GROUP], at[TENREG__FIND_GROUP];
            uint64_t hashes[TENREG__FIND_GROUP];
            tenreg__ent found[TENREG__FIND_GROUP];
            for (size_t k = 0; k < n; k++) {
                nm[k] = name_of_op(b, lists[l][base + k]);
                keys[k] = tenreg__name_id(b, nm[k]);
                lens[k] = nm[k]->id_len;
                hashes[k] = nm[k]->hash;
            }
            tenreg__table_find_group(by_id, keys, lens, hashes, n, found, at);
            for (size_t k = 0; k < n; k++) {
                /* Under the digest rule the first entry with the name's
                 * hash is the one with its key whenever the table has
                 * it: held by key iff held by hash, or a false match. */
                if ((found[k] != 0) != (nm[k]->state == TENREG__NAME_CURRENT))
                    return false;
                if (found[k])
                    nm[k]->cur = tenreg__record_tenant((struct tenreg__record *)found[k]);
            }
        }
    }
    return true;
}

/*
 * Who holds each named id now (scan_names), and with REPLACE_ALL the
 * tenants no op names: one pass over by_id's slot array, the slots the
 * names were found in marked, touching only the others' records.
 *
 * A sync keeps nearly every tenant, and a kept name only needs to be
 * held: when by_id's key is the batch's and the digest rule holds
 * (tenreg__table_keyed_with), those are found by their hashes alone, one
 * slot line each instead of the slot and two lines of the record. So a
 * keep of an id no tenant has may, with chance 2^-64 per slot probed,
 * keep the tenant whose id has its hash instead of failing with ENOENT
 * (include/tenreg.h, tenreg_batch_keep); every other op's holder is
 * checked by key.
 */
static int find_current(struct plan *p, bool replace_all)
{
    struct tenreg_batch *b = p->b;
    const struct tenreg__table *by_id = &p->reg->by_id;
    size_t cap = tenreg__table_capacity(by_id);
    uint64_t *marks = NULL;
    size_t marks_bytes = (cap + 63) / 64 * sizeof(*marks);
    if (replace_all) {
        marks = tenreg__alloc(p->reg, marks_bytes);
        if (!marks)
            return TENREG_ENOMEM;
        memset(marks, 0, marks_bytes);
    }
    /* By hash alone only where keeps are most of the batch: the others
     * are looked up twice then. */
    bool digest;
    size_t keeps = b->n_ops - b->n_changes - b->n_adds;
    enum find_mode mode = !tenreg__table_keyed_with(by_id, &b->key, &digest) ? FIND_KEYS
                          : digest && keeps > b->n_changes + b->n_adds   ? FIND_DIGEST
                                                                         : FIND_KEYS_HASHED;
    size_t named = scan_names(p, mode, marks);
    if (mode == FIND_DIGEST && !verify_changes(p)) {
        if (marks)
            memset(marks, 0, marks_bytes);
        named = scan_names(p, FIND_KEYS_HASHED, marks);
    }
    if (!marks)
        return TENREG_OK;
    /* Sized for those left out, not for the registry: a sync usually
     * names nearly every tenant. Every tenant named: nothing to collect. */
    p->cap_unnamed = tenreg__table_live(by_id) - named;
    p->unnamed = p->cap_unnamed ? tenreg__alloc(p->reg, p->cap_unnamed * sizeof(*p->unnamed)) : NULL;
    if (p->cap_unnamed && !p->unnamed) {
        p->cap_unnamed = 0;
        tenreg__dealloc(p->reg, marks, marks_bytes);
        return TENREG_ENOMEM;
    }
    for (size_t i = 0; i < cap && p->n_unnamed < p->cap_unnamed; i++) {
        if (marks[i / 64] & ((uint64_t)1 << (i % 64)))
            continue;
        tenreg__ent e = tenreg__table_slot(by_id, i);
        if (e)
            p->unnamed[p->n_unnamed++] = tenreg__record_tenant((struct tenreg__record *)e);
    }
    tenreg__dealloc(p->reg, marks, marks_bytes);
    return TENREG_OK;
}

/* Runs the ops in order on the names (find_current set where they
 * start): each one's final state, the op that decided it and the adds of
 * its final registration. */
static int run_ops(struct tenreg_batch *b)
{
    for (size_t i = 0; i < b->n_ops; i++) {
        struct tenreg__op *op = &b->ops[i];
        struct tenreg__name *n = &b->names[op->name];
        bool present = n->state == TENREG__NAME_CURRENT || n->state == TENREG__NAME_KEPT ||
                       n->state == TENREG__NAME_NEW;
        bool named = n->state == TENREG__NAME_KEPT || n->state == TENREG__NAME_NEW;
        op->next = TENREG__NONE;
        switch (op->kind) {
        case TENREG__OP_REGISTER:
            if (named)
                return TENREG_EEXIST; /* the id registered or kept twice */
            n->state = TENREG__NAME_NEW;
            n->fresh = op->arg;
            n->decider = (uint32_t)i;
            n->add_head = n->add_tail = TENREG__NONE; /* a new registration: its own host only */
            break;
        case TENREG__OP_KEEP:
            if (!present)
                return TENREG_ENOENT;
            if (named)
                return TENREG_EEXIST;
            n->state = TENREG__NAME_KEPT;
            break;
        case TENREG__OP_UNREGISTER:
            if (!present)
                return TENREG_ENOENT;
            n->state = TENREG__NAME_GONE;
            n->decider = (uint32_t)i;
            n->fresh = TENREG__NONE;
            n->add_head = n->add_tail = TENREG__NONE;
            break;
        case TENREG__OP_ADD_HOST:
            if (!present)
                return TENREG_ENOENT;
            if (n->add_tail == TENREG__NONE)
                n->add_head = (uint32_t)i;
            else
                b->ops[n->add_tail].next = (uint32_t)i;
            n->add_tail = (uint32_t)i;
            break;
        }
    }
    return TENREG_OK;
}

/* The registration a name ends with (NULL: none), and whether it leaves. */
static struct tenreg__tenant *final_of(const struct tenreg_batch *b, const struct tenreg__name *n)
{
    if (n->state == TENREG__NAME_NEW)
        return b->fresh[n->fresh];
    if (n->state == TENREG__NAME_CURRENT || n->state == TENREG__NAME_KEPT)
        return n->cur;
    return NULL;
}

static bool leaves(const struct tenreg__name *n)
{
    return n->cur && (n->state == TENREG__NAME_NEW || n->state == TENREG__NAME_GONE);
}

static size_t count_adds(const struct tenreg_batch *b, const struct tenreg__name *n)
{
    size_t k = 0;
    for (uint32_t i = n->add_head; i != TENREG__NONE; i = b->ops[i].next)
        k++;
    return k;
}

/* The swap block, key map and alias list, sized for every key that may change. */
static int alloc_maps(struct plan *p)
{
    struct tenreg_batch *b = p->b;
    size_t keys = 0, adds = 0;
    for (size_t i = 0; i < b->n_changes; i++) {
        const struct tenreg__name *n = decided_by(b, b->changes[i]);
        if (n && leaves(n))
            keys += 2 + n->cur->n_aliases;
        if (n && n->state == TENREG__NAME_NEW)
            keys += 2;
    }
    for (size_t i = 0; i < b->n_adds; i++) {
        const struct tenreg__name *n = adds_begin_at(b, b->adds[i]);
        size_t a = n && final_of(b, n) ? count_adds(b, n) : 0;
        adds += a;
        keys += a;
    }
    for (size_t i = 0; i < p->n_unnamed; i++)
        keys += 2 + p->unnamed[i]->n_aliases;
    if (keys > UINT32_MAX / 4)
        return TENREG_ENOMEM;
    size_t kcap = 16;
    while (kcap < 2 * keys)
        kcap *= 2;
    p->swap_cap = keys ? keys : 1;
    p->swaps = tenreg__alloc(p->reg, sizeof(*p->swaps) + p->swap_cap * sizeof(p->swaps->s[0]));
    if (p->swaps) {
        p->swaps->reg = p->reg;
        p->swaps->retired = NULL;
        p->swaps->cap = p->swap_cap;
    }
    p->swap_tab = tenreg__alloc(p->reg, p->swap_cap);
    p->slot_at = tenreg__alloc(p->reg, p->swap_cap * sizeof(*p->slot_at));
    p->swap_hash = tenreg__alloc(p->reg, p->swap_cap * sizeof(*p->swap_hash));
    p->kmap = tenreg__alloc(p->reg, kcap * sizeof(*p->kmap));
    if (p->kmap)
        p->kmap_cap = kcap;
    p->made = adds ? tenreg__alloc(p->reg, adds * sizeof(*p->made)) : NULL;
    if (p->made)
        p->cap_made = adds;
    if (!p->swaps || !p->swap_tab || !p->slot_at || !p->swap_hash || !p->kmap || (adds && !p->made))
        return TENREG_ENOMEM;
    memset(p->kmap, 0, kcap * sizeof(*p->kmap));
    return TENREG_OK;
}

/* A name's adds: an alias per key its final registration does not hold yet,
 * and the alias array it will have (the present aliases, then the new). */
static int plan_adds(struct plan *p, struct tenreg__name *n)
{
    struct tenreg_batch *b = p->b;
    struct tenreg__tenant *owner = final_of(b, n);
    if (!owner || n->add_head == TENREG__NONE)
        return TENREG_OK;
    size_t have = owner == n->cur ? owner->n_aliases : 0;
    size_t cap = have + count_adds(b, n);
    if (cap > TENREG_HOSTS_MAX - 1)
        cap = TENREG_HOSTS_MAX - 1;
    n->arr = tenreg__alloc(p->reg, (cap ? cap : 1) * sizeof(*n->arr));
    if (!n->arr)
        return TENREG_ENOMEM;
    n->arr_cap = (uint8_t)(cap ? cap : 1);
    if (have)
        memcpy(n->arr, owner->aliases, have * sizeof(*n->arr));
    n->arr_n = (uint8_t)have;
    for (uint32_t i = n->add_head; i != TENREG__NONE; i = b->ops[i].next) {
        const struct tenreg__op *op = &b->ops[i];
        const char *text = b->arena + op->arg;
        if (!op->pattern && op->text_len == owner->host_len &&
            memcmp(text, tenreg__tenant_host(owner), op->text_len) == 0)
            continue; /* its own host: idempotent */
        struct tenreg__alias *al =
            tenreg__alias_new(p->reg, text, op->text_len, op->pattern, owner->rec);
        if (!al)
            return TENREG_ENOMEM;
        int rc = plan_key(p, tab_of_alias(al), tenreg__ent_of_alias(al), owner, NULL);
        if (rc == ALREADY_HELD) {
            tenreg__alias_drop(al);
            continue;
        }
        p->made[p->n_made++] = al;
        if (rc != ADDED)
            return rc;
        if (1u + n->arr_n >= TENREG_HOSTS_MAX)
            return TENREG_ENOSPC;
        n->arr[n->arr_n++] = al;
    }
    return TENREG_OK;
}

/* Everything a commit needs, checked and allocated; on error nothing
 * changed (plan_free gives back what was taken). */
static int plan(struct plan *p, unsigned flags)
{
    struct tenreg_batch *b = p->b;
    p->tab_keyed = true;
    for (int tab = 0; tab < N_TABS; tab++)
        p->tab_keyed &= tenreg__table_secret_key(table_of(p->reg, tab), &p->tab_key[tab]);
    int rc = find_current(p, flags & TENREG_BATCH_REPLACE_ALL);
    if (rc == TENREG_OK)
        rc = run_ops(b);
    if (rc == TENREG_OK)
        rc = alloc_maps(p);
    if (rc != TENREG_OK)
        return rc;
    for (size_t i = 0; i < b->n_changes; i++) {
        const struct tenreg__name *n = decided_by(b, b->changes[i]);
        if (n && leaves(n))
            plan_removal(p, n->cur);
    }
    for (size_t i = 0; i < p->n_unnamed; i++)
        plan_removal(p, p->unnamed[i]);
    for (size_t i = 0; i < b->n_changes && rc == TENREG_OK;)
        rc = plan_new_group(p, &i);
    for (size_t i = 0; i < b->n_adds && rc == TENREG_OK; i++) {
        struct tenreg__name *n = adds_begin_at(b, b->adds[i]);
        if (n)
            rc = plan_adds(p, n);
    }
    for (int tab = 0; tab < N_TABS && rc == TENREG_OK; tab++)
        rc = tenreg__table_prepare(p->reg, table_of(p->reg, tab), p->inserts[tab], &p->grown[tab]);
    /* Last: the heap's room is not given back, so nothing may fail after it. */
    if (rc == TENREG_OK)
        rc = tenreg__sched_reserve_n(p->reg, p->n_new);
    return rc;
}

/* Frees the plan's scratch; after an error also what it allocated for the
 * registry (aliases, alias arrays, grown slot arrays, the swaps). */
static void plan_free(struct plan *p, bool failed)
{
    struct tenreg *reg = p->reg;
    struct tenreg_batch *b = p->b;
    if (failed) {
        for (size_t i = 0; i < p->n_made; i++)
            tenreg__alias_drop(p->made[i]);
        /* Only names with adds got an alias array (plan_adds). */
        for (size_t i = 0; i < b->n_adds; i++) {
            struct tenreg__name *n = name_of_op(b, b->adds[i]);
            if (n->arr)
                tenreg__dealloc(reg, n->arr, n->arr_cap * sizeof(*n->arr));
            n->arr = NULL;
        }
        for (int tab = 0; tab < N_TABS; tab++)
            tenreg__table_abandon(p->grown[tab]);
        if (p->swaps)
            tenreg__dealloc(reg, p->swaps, sizeof(*p->swaps) + p->swap_cap * sizeof(p->swaps->s[0]));
    }
    if (p->swap_tab)
        tenreg__dealloc(reg, p->swap_tab, p->swap_cap);
    if (p->slot_at)
        tenreg__dealloc(reg, p->slot_at, p->swap_cap * sizeof(*p->slot_at));
    if (p->swap_hash)
        tenreg__dealloc(reg, p->swap_hash, p->swap_cap * sizeof(*p->swap_hash));
    if (p->kmap)
        tenreg__dealloc(reg, p->kmap, p->kmap_cap * sizeof(*p->kmap));
    if (p->made)
        tenreg__dealloc(reg, p->made, p->cap_made * sizeof(*p->made));
    if (p->unnamed)
        tenreg__dealloc(reg, p->unnamed, p->cap_unnamed * sizeof(*p->unnamed));
}

/* ---- install, finalize ------------------------------------------------------ */

/* The slot of every swap's old side, a group at a time per table so that
 * their misses overlap: install then stores without probing. Before the
 * epoch lock: nothing may move the entries (write_lock), and an insert of
 * install that re-keys a table only makes the later hints miss. */
static void locate_old_sides(struct plan *p)
{
    for (size_t base = 0; base < p->n_swaps; base += TENREG__FIND_GROUP) {
        size_t end = p->n_swaps - base < TENREG__FIND_GROUP ? p->n_swaps : base + TENREG__FIND_GROUP;
        for (int tab = 0; tab < N_TABS; tab++) {
            tenreg__ent ents[TENREG__FIND_GROUP];
            uint64_t hashes[TENREG__FIND_GROUP];
            size_t idx[TENREG__FIND_GROUP], at[TENREG__FIND_GROUP], n = 0;
            for (size_t i = base; i < end; i++)
                if (p->swap_tab[i] == tab && p->swaps->s[i].old) {
                    ents[n] = p->swaps->s[i].old;
                    hashes[n] = p->swap_hash[i];
                    idx[n++] = i;
                }
            if (!n)
                continue;
            tenreg__table_locate(table_of(p->reg, tab), ents, n, p->tab_keyed ? hashes : NULL,
                                 &p->tab_key[tab], at);
            for (size_t k = 0; k < n; k++)
                p->slot_at[idx[k]] = at[k];
        }
    }
}

static void install(struct plan *p)
{
    struct tenreg *reg = p->reg;
    struct tenreg_batch *b = p->b;
    /* The arrays that growing or re-keying replaces go with the swaps: a
     * call_rcu of their own would have liburcu's call_rcu thread wait for
     * a grace period with synchronize_rcu (grace.h). */
    tenreg__rcu_collect_begin(&p->swaps->retired);
    for (int tab = 0; tab < N_TABS; tab++)
        tenreg__table_commit(table_of(reg, tab), p->grown[tab]);
    /* Pattern bits before the slots that need them (struct tenreg). */
    for (size_t i = 0; i < p->n_made; i++)
        if (p->made[i]->pattern)
            tenreg__count_pattern(reg, p->made[i]->labels, +1);
    /* The first record's reference on each new registration, before any
     * reader can meet the record (a resolve may queue its build at once). */
    for (size_t i = 0; i < b->n_changes; i++) {
        const struct tenreg__name *n = decided_by(b, b->changes[i]);
        if (n && n->state == TENREG__NAME_NEW) {
            struct tenreg__tenant *f = b->fresh[n->fresh];
            tenreg__tenant_ref(f);
            f->registered_at_ns = tenreg__realtime_ns();
        }
    }
    locate_old_sides(p);
    uint64_t epoch = tenreg__epoch_begin();
    for (size_t i = 0; i < p->n_swaps; i++) {
        struct tenreg__swap *sw = &p->swaps->s[i];
        struct tenreg__table *t = table_of(reg, p->swap_tab[i]);
        sw->epoch = epoch;
        /* The slot's release store publishes the swap whole. */
        if (sw->old) {
            p->slot_at[i] = tenreg__table_replace_at(t, p->slot_at[i], sw->old, tenreg__ent_of_swap(sw));
        } else if (p->tab_keyed) {
            struct tenreg__prehash ph = {.hash = p->swap_hash[i], .key = p->tab_key[p->swap_tab[i]]};
            p->slot_at[i] = tenreg__table_insert_prehashed(t, tenreg__ent_of_swap(sw), &ph);
        } else {
            p->slot_at[i] = tenreg__table_insert_at(t, tenreg__ent_of_swap(sw));
        }
    }
    tenreg__epoch_end();
    tenreg__rcu_collect_end();
    /* The alias arrays are the writers' (readers go through slots). */
    for (size_t i = 0; i < b->n_adds; i++) {
        struct tenreg__name *n = adds_begin_at(b, b->adds[i]);
        if (!n || !n->arr)
            continue;
        struct tenreg__tenant *owner = final_of(b, n);
        if (owner->aliases)
            tenreg__dealloc(reg, owner->aliases, owner->alias_cap * sizeof(*owner->aliases));
        owner->aliases = n->arr;
        owner->n_aliases = n->arr_n;
        owner->alias_cap = n->arr_cap;
        n->arr = NULL;
    }
    atomic_store_explicit(&reg->committing, 1, memory_order_relaxed);
}

static void swaps_free_cb(struct rcu_head *head)
{
    tenreg__rcu_cb_begin(head);
    struct swap_block *blk = caa_container_of(head, struct swap_block, rcu);
    /* Records (their last tenant references: platform_free may run) and
     * aliases, after the same grace period as the swaps. */
    tenreg__rcu_run_collected(blk->retired);
    TENREG__DEFERRED(blk->reg, -1);
    tenreg__dealloc(blk->reg, blk, sizeof(*blk) + blk->cap * sizeof(blk->s[0]));
    tenreg__rcu_cb_end();
}

/* The end of @t's registration (replaced or unregistered): its slots went
 * with the swaps. */
static void end_one(struct tenreg *reg, struct tenreg__tenant *t, bool replaced)
{
    tenreg__uncount(reg, t);
    if (!replaced)
        atomic_fetch_sub(&reg->count, 1);
    tenreg__end_registration(t, true);
}

static void link_new(struct tenreg *reg, struct tenreg__tenant *f, bool replaces)
{
    /* Its reference and registration time came with install. */
    tenreg__count_health(reg, -1, TENREG_PENDING);
    reg->counts.lazy_unbuilt += tenreg__tenant_lazy(f);
    if (!replaces)
        atomic_fetch_add(&reg->count, 1);
    tenreg__sched_first(reg, f);
}

/* How many swaps ahead finalize fetches slots: about as many misses as a
 * core keeps in flight. */
#define FINALIZE_AHEAD 16

static void finalize(struct plan *p)
{
    struct tenreg *reg = p->reg;
    struct tenreg_batch *b = p->b;
    /* Everything retired from here on goes with the swaps, after one grace
     * period (tenreg_batch_commit). */
    tenreg__rcu_collect_begin(&p->swaps->retired);
    for (size_t i = 0; i < p->n_swaps; i++) {
        /* A grace period of readers since install: the slots (and the new
         * sides, whose answer by_host's slots take) are misses again, so
         * they are fetched a stretch ahead. */
        if (i + FINALIZE_AHEAD < p->n_swaps) {
            size_t j = i + FINALIZE_AHEAD;
            tenreg__table_prefetch_slot(table_of(reg, p->swap_tab[j]), p->slot_at[j]);
            if (p->swaps->s[j].new)
                __builtin_prefetch((const void *)(p->swaps->s[j].new & ~(TENREG__ENT_ALIAS | TENREG__ENT_SWAP)));
        }
        const struct tenreg__swap *sw = &p->swaps->s[i];
        struct tenreg__table *t = table_of(reg, p->swap_tab[i]);
        /* The slot install put the swap in (nothing moved it since). */
        if (sw->new)
            tenreg__table_replace_at(t, p->slot_at[i], tenreg__ent_of_swap(sw), sw->new);
        else
            tenreg__table_remove_at(t, p->slot_at[i], tenreg__ent_of_swap(sw));
    }
    /* Events in batch order, each at the op that decided its id, with the
     * health the old registration had. */
    for (size_t i = 0; i < b->n_changes; i++) {
        const struct tenreg__name *n = decided_by(b, b->changes[i]);
        if (!n)
            continue;
        struct tenreg__tenant *cur = n->cur;
        tenreg_health from = cur ? (tenreg_health)cur->rec->health : TENREG_PENDING;
        if (n->state == TENREG__NAME_NEW) {
            struct tenreg__tenant *f = b->fresh[n->fresh];
            if (cur)
                end_one(reg, cur, true);
            link_new(reg, f, cur != NULL);
            tenreg__event(reg, TENREG_EV_REGISTERED, f, from, TENREG_PENDING, TENREG_UNCHECKED, "");
            b->fresh[n->fresh] = NULL; /* the registry's now: not an orphan */
        } else if (cur) { /* GONE */
            tenreg__event(reg, TENREG_EV_UNREGISTERED, cur, from, from, TENREG_UNCHECKED, "");
            end_one(reg, cur, false);
        }
    }
    for (size_t i = 0; i < p->n_unnamed; i++) {
        struct tenreg__tenant *t = p->unnamed[i];
        tenreg_health h = (tenreg_health)t->rec->health;
        tenreg__event(reg, TENREG_EV_UNREGISTERED, t, h, h, TENREG_UNCHECKED, "");
        end_one(reg, t, false);
    }
    tenreg__rcu_collect_end();
}

/* Registrations the batch made and unregistered again: never published,
 * now the registry's to free (platform_free, outside any lock). finalize
 * took the published ones out of b->fresh. */
static void free_orphans(struct tenreg_batch *b)
{
    for (size_t i = 0; i < b->n_fresh; i++) {
        struct tenreg__tenant *t = b->fresh[i];
        if (!t)
            continue;
        b->fresh[i] = NULL;
        tenreg__platform_free(b->reg, t->platform);
        tenreg__tenant_drop(t);
    }
}

TENREG_API int tenreg_batch_commit(tenreg_batch *b, unsigned flags)
{
    if (!b || b->committed || (flags & ~TENREG_BATCH_REPLACE_ALL) || tenreg__rcu_inside())
        return TENREG_EINVAL;
    struct tenreg *reg = b->reg;
    if (!tenreg__admin_begin(reg))
        return TENREG_EINVAL;
    struct plan p = {.b = b, .reg = reg};
    tenreg__reclaim_commit_begin(reg);
    tenreg__write_lock(reg);
    tenreg__rcu_enter();
    int rc = plan(&p, flags);
    if (rc == TENREG_OK)
        install(&p);
    tenreg__rcu_exit();
    pthread_mutex_unlock(&reg->write_lock);
    if (rc != TENREG_OK) {
        plan_free(&p, true);
        tenreg__reclaim_commit_end(reg);
        tenreg__admin_end(reg);
        return rc;
    }
    /* No section pinned before the bump is left after this (nor any open
     * when earlier commits queued what they retired: kick their frees). */
    tenreg__rcu_synchronize();
    tenreg__reclaim_kick(reg);
    pthread_mutex_lock(&reg->write_lock); /* the committer: committing is its own */
    tenreg__rcu_enter();
    finalize(&p);
    /* Release: pairs with tenreg__write_lock's acquire load. */
    atomic_store_explicit(&reg->committing, 0, memory_order_release);
    tenreg__futex_wake_all(&reg->committing);
    tenreg__rcu_exit();
    pthread_mutex_unlock(&reg->write_lock);
    /* The swaps and what install and finalize retired: memb, the reclaim
     * thread frees them after a polite grace period (reclaim.c; or this
     * thread, if it cannot start); QSBR hands them to call_rcu. */
    TENREG__DEFERRED(reg, 1);
    tenreg__reclaim_retire(reg, &p.swaps->rcu, swaps_free_cb);
    p.swaps = NULL;
    b->committed = true;
    plan_free(&p, false);
    free_orphans(b);
    tenreg__reclaim_commit_end(reg);
    tenreg__admin_end(reg);
    return TENREG_OK;
}
