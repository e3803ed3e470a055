/*
 * internal.h - private to tenreg: never installed, never included by
 * consumers. White-box tests may include it.
 *
 * Where everything lives:
 *   normalize.c  host -> key (pure)          hash.c      keyed hash (SipHash-1-3)
 *   alloc.c      the only allocator calls    rcu.c       threads, read sections, flavor
 *   tenant.c     registrations, refcounts    record.c    immutable published records
 *   table.c      the RCU hash tables         turnstile.c per-tenant FIFO of admin work
 *   once_cell.c  lazy build state + futex    builder.c   builder threads and queue
 *   resolve.c    the read side               registry.c  the admin side (public API)
 *   errors.c     names and messages
 */
#ifndef TENREG_INTERNAL_H
#define TENREG_INTERNAL_H

#include "rcu_flavor.h" /* must come first: selects the liburcu flavor */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <urcu/wfcqueue.h>

#include "tenreg.h"
#include "tsan.h"

#define TENREG__LIKELY(x) __builtin_expect(!!(x), 1)
#define TENREG__UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- alloc.c ----------------------------------------------------------- */

/* Registry memory. Sized frees; live bytes are counted per registry so that
 * tenreg_free can prove nothing leaked and the benchmark can report bytes
 * per tenant. @reg may be NULL (not counted). */
void *tenreg__alloc(struct tenreg *reg, size_t size);
void tenreg__dealloc(struct tenreg *reg, void *p, size_t size);
/* Tests only: the allocation after the next @n ones fails (n = 0: the
 * next one; -1: none). */
void tenreg__alloc_fail_after(long n);
/* Live bytes allocated through @reg and not yet freed. */
long tenreg__live_bytes(const struct tenreg *reg);
/* "jemalloc" or "libc": which allocator this build uses. */
const char *tenreg__allocator_name(void);

/* ---- hash.c ------------------------------------------------------------ */

struct tenreg__hash_key {
    uint64_t k0, k1;
};
/* Derives a 128-bit key from @seed, or from getrandom() when @seed is 0.
 * Returns 0 or TENREG_ENOMEM-free errors never: falls back to a mix of
 * clock and address entropy if getrandom is unavailable. */
void tenreg__hash_key_init(struct tenreg__hash_key *key, uint64_t seed);
/* SipHash-1-3 of @len bytes. */
uint64_t tenreg__hash(const struct tenreg__hash_key *key, const void *data, size_t len);

/* ---- rcu.c ------------------------------------------------------------- */

/* Registers the calling thread with liburcu if nobody has (admin calls
 * do it before taking write_lock: a first registration waits for liburcu's
 * registry lock, which grace-period detection holds). */
void tenreg__rcu_ensure_registered(void);
/* Admin paths: registers the calling thread with liburcu on first use
 * (unregistered again when the thread exits) and enters a read-side
 * section (QSBR: comes online). Nestable with the user's read sections. */
void tenreg__rcu_enter(void);
void tenreg__rcu_exit(void);
/* tenreg_free: rcu_barrier, taking a QSBR thread offline around it. */
void tenreg__rcu_barrier(void);
/* call_rcu with the TSan edges of tsan.h; callbacks begin with
 * tenreg__rcu_cb_begin(head) and end with tenreg__rcu_cb_end(). */
void tenreg__call_rcu(struct rcu_head *head, void (*cb)(struct rcu_head *));
static inline void tenreg__rcu_cb_begin(struct rcu_head *head)
{
    (void)head;
    TENREG__TSAN_ACQUIRE(head);
    TENREG__TSAN_ACQUIRE(&tenreg__tsan_grace_period);
}
static inline void tenreg__rcu_cb_end(void)
{
    TENREG__TSAN_RELEASE(&tenreg__tsan_callbacks);
}
/* Builder threads register with tenreg__rcu_ensure_registered() and
 * unregister with this before they exit. */
void tenreg__rcu_thread_stop(void);

/* ---- records (record.c) ------------------------------------------------ */

enum tenreg__record_flags {
    TENREG__REC_BUILD_FAILED = 1u, /* a lazy build failed: EDISABLED */
};

struct tenreg__tenant;

/*
 * Everything a reader needs about a tenant, in one immutable object: the
 * hash-table slots point at records, so a lookup touches the slot array and
 * one record (two cache misses when cold, like a plain open-addressing
 * table). A change of health or platform publishes a new record into both
 * tables and retires the old one with call_rcu; a reader therefore always
 * sees a consistent (tenant id, health, platform) triple.
 *
 * Each record holds a reference on its tenant, so the tenant (and the
 * platform it owns) outlives every record that points at it.
 */
struct tenreg__record {
    /* What a lookup reads, in the record's first cache line with the key. */
    void *platform;                  /* NULL until built (lazy) */
    uint8_t health;                  /* tenreg_health */
    uint8_t flags;                   /* tenreg__record_flags */
    uint8_t host_len;
    uint8_t id_len;
    char strs[];                     /* host key NUL, tenant id NUL, then the tail */
};

/* The cold part of a record, after its strings (8-byte aligned). */
struct tenreg__record_tail {
    struct tenreg__tenant *tenant;   /* the registration: cold paths only */
    struct tenreg__record *record;   /* back to the start, for call_rcu */
    struct rcu_head rcu;
};

static inline size_t tenreg__record_tail_offset(size_t host_len, size_t id_len)
{
    size_t end = sizeof(struct tenreg__record) + host_len + 1 + id_len + 1;
    return (end + 7) & ~(size_t)7;
}
static inline struct tenreg__record_tail *tenreg__record_tail(const struct tenreg__record *r)
{
    return (struct tenreg__record_tail *)((char *)r +
                                          tenreg__record_tail_offset(r->host_len, r->id_len));
}
static inline struct tenreg__tenant *tenreg__record_tenant(const struct tenreg__record *r)
{
    return tenreg__record_tail(r)->tenant;
}
static inline const char *tenreg__record_host(const struct tenreg__record *r)
{
    return r->strs;
}
static inline const char *tenreg__record_id(const struct tenreg__record *r)
{
    return r->strs + r->host_len + 1;
}
/* A record of @t with @t's host key and id; takes no tenant reference until
 * published. NULL on allocation failure. */
struct tenreg__record *tenreg__record_new(struct tenreg__tenant *t, tenreg_health health,
                                          void *platform, unsigned flags);
/* Frees a record no reader ever saw. */
void tenreg__record_drop(struct tenreg__record *rec);
/* Frees a published record after a grace period, then drops its tenant
 * reference. Needs a registered thread. */
void tenreg__record_retire(struct tenreg__record *rec);

/* ---- per-tenant FIFO (turnstile.c) ------------------------------------- */

/* Rechecks, awaited validations and lazy builds of one tenant run one at a
 * time, in arrival order: a ticket lock whose waiters sleep on a futex. Only
 * admin and builder threads ever wait here, never readers. */
struct tenreg__turnstile {
    _Atomic uint32_t next;
    _Atomic uint32_t serving;
};
void tenreg__turnstile_enter(struct tenreg__turnstile *t);
/* Enters only if nobody is inside or waiting; never sleeps. */
bool tenreg__turnstile_try_enter(struct tenreg__turnstile *t);
void tenreg__turnstile_exit(struct tenreg__turnstile *t);

/* ---- once-cell (once_cell.c) ------------------------------------------- */

/* The lazy build state of one registration. Transitions:
 * EMPTY -> QUEUED (one resolver wins the CAS and hands it to a builder)
 * EMPTY|QUEUED -> BUILDING (the thread that runs the factory claims it)
 * BUILDING -> READY | FAILED_FACTORY | FAILED_VALIDATOR (under write_lock)
 * EMPTY|QUEUED|BUILDING -> STALE (the registration was removed)
 * Eager tenants start READY. Waiters sleep on the word with a futex. */
enum tenreg__cell_state {
    TENREG__CELL_EMPTY = 0,
    TENREG__CELL_QUEUED,
    TENREG__CELL_BUILDING,
    TENREG__CELL_READY,
    TENREG__CELL_FAILED_FACTORY,
    TENREG__CELL_FAILED_VALIDATOR,
    TENREG__CELL_STALE,
};
static inline bool tenreg__cell_in_flight(uint32_t s)
{
    return s <= TENREG__CELL_BUILDING;
}
static inline bool tenreg__cell_busy(uint32_t s)
{
    return s == TENREG__CELL_QUEUED || s == TENREG__CELL_BUILDING;
}
/* Sleeps while the cell is QUEUED or BUILDING; returns the final state. */
uint32_t tenreg__cell_wait(_Atomic uint32_t *cell);
/* CAS @from -> @to; wakes all waiters if it succeeds and @to is final. */
bool tenreg__cell_move(_Atomic uint32_t *cell, uint32_t from, uint32_t to);
/* Moves any in-flight state to STALE and wakes waiters; returns whether it did. */
bool tenreg__cell_make_stale(_Atomic uint32_t *cell);

/* ---- tenants (tenant.c) ------------------------------------------------ */

/*
 * One registration of one tenant id: the mutable, admin side. Readers reach
 * it only through record->tenant, on the cold path of a lazy tenant.
 * Lifetime: a reference per record that points at it (published records
 * only), one per admin or builder thread working on it outside a read
 * section. When the last goes, its platform is freed: every record that
 * could show the platform has been through a grace period by then.
 */
struct tenreg__tenant {
    struct tenreg *reg;
    tenreg_factory_fn factory;        /* lazy only; never called twice */
    void *factory_ctx;
    void *platform;                   /* owned platform, set under write_lock */
    struct tenreg__record *rec;       /* current record: written under write_lock,
                                         read with tenreg__tenant_record() */
    struct tenreg__record *build_rec; /* lazy: the record a build publishes,
                                         allocated up front so a build never
                                         fails for memory after its factory ran */
    struct cds_wfcq_node build_node;  /* in the builder queue while QUEUED */
    uint64_t host_hash, id_hash;
    struct tenreg__turnstile turn;
    _Atomic uint32_t refs;
    _Atomic uint32_t cell;            /* enum tenreg__cell_state */
    uint32_t url_len;
    atomic_bool removed;              /* set under write_lock: out of the tables */
    atomic_bool build_deferred;       /* a builder found the turnstile busy */
    bool lazy;
    uint8_t id_len;
    uint8_t host_len;
    char strs[];                      /* host key NUL, id NUL, agent URL NUL */
};

static inline const char *tenreg__tenant_host(const struct tenreg__tenant *t)
{
    return t->strs;
}
static inline const char *tenreg__tenant_id(const struct tenreg__tenant *t)
{
    return t->strs + t->host_len + 1;
}
static inline const char *tenreg__tenant_url(const struct tenreg__tenant *t)
{
    return t->strs + t->host_len + 1 + t->id_len + 1;
}

/* The tenant's current record; inside a read section (or under write_lock). */
static inline struct tenreg__record *tenreg__tenant_record(const struct tenreg__tenant *t)
{
    struct tenreg__record *rec = rcu_dereference(t->rec);
    TENREG__TSAN_ACQUIRE(rec);
    return rec;
}

/* Allocates a tenant (refs = 0) and its first record (PENDING, @platform),
 * plus the build record of a lazy tenant. Returns NULL on allocation failure. */
struct tenreg__tenant *tenreg__tenant_new(struct tenreg *reg, const char *host, size_t host_len,
                                          uint64_t host_hash, const char *id, size_t id_len,
                                          uint64_t id_hash, const char *url, size_t url_len,
                                          void *platform, tenreg_factory_fn factory,
                                          void *factory_ctx);
/* Frees a tenant that was never published, with its records (not its platform). */
void tenreg__tenant_drop(struct tenreg__tenant *t);
void tenreg__tenant_ref(struct tenreg__tenant *t);
/* The last reference frees the platform and the tenant. Never call it
 * under write_lock or inside a read section: it may run platform_free. */
void tenreg__tenant_unref(struct tenreg__tenant *t);
/* Makes @rec the tenant's current record in both tables and retires the
 * previous one. Under write_lock, inside tenreg__rcu_enter. */
void tenreg__tenant_publish(struct tenreg__tenant *t, struct tenreg__record *rec);

/* ---- table.c ----------------------------------------------------------- */

/*
 * An RCU-published open-addressing hash table (linear probing) of records.
 * A slot is the full 64-bit hash and the record pointer, so a probe reads
 * the slot array and touches a record only when the hashes match. Slots go
 * from empty to a record, between records, and to a tombstone; never back
 * to empty while readers may probe the array, so a reader never stops early
 * on a key that is present. Growth, and shedding tombstones, copies the live
 * slots into a new array, publishes it with one pointer store and frees the
 * old one after a grace period. Writers: under the registry's write_lock.
 */
struct tenreg__slot {
    _Atomic uint64_t hash;
    struct tenreg__record *_Atomic rec;   /* NULL: empty; TENREG__TOMBSTONE: deleted */
};

struct tenreg__slots {
    size_t mask;                          /* capacity - 1 (a power of two) */
    struct tenreg *reg;
    struct rcu_head rcu;
    struct tenreg__slot s[];
};

enum tenreg__table_key { TENREG__KEY_HOST, TENREG__KEY_ID };

struct tenreg__table {
    struct tenreg__slots *cur;            /* rcu_dereference() it */
    size_t used;                          /* records + tombstones */
    size_t live;                          /* records */
    enum tenreg__table_key key;
};

#define TENREG__TOMBSTONE ((struct tenreg__record *)(uintptr_t)1)

int tenreg__table_init(struct tenreg *reg, struct tenreg__table *t, enum tenreg__table_key key,
                       size_t expected);
/* Frees the slot array now: no reader may use the table any more. */
void tenreg__table_destroy(struct tenreg *reg, struct tenreg__table *t);

static inline bool tenreg__record_key_is(const struct tenreg__record *r,
                                         enum tenreg__table_key key, const char *s, size_t len)
{
    if (key == TENREG__KEY_HOST)
        return r->host_len == len && memcmp(tenreg__record_host(r), s, len) == 0;
    return r->id_len == len && memcmp(tenreg__record_id(r), s, len) == 0;
}

/* Reader lookup, inside a read section: wait-free, no stores. */
static inline struct tenreg__record *tenreg__table_find(const struct tenreg__table *t,
                                                        uint64_t hash, const char *s, size_t len)
{
    const struct tenreg__slots *a = rcu_dereference(t->cur);
    TENREG__TSAN_ACQUIRE(a);
    for (size_t i = hash & a->mask;; i = (i + 1) & a->mask) {
        struct tenreg__record *r = atomic_load_explicit(&a->s[i].rec, memory_order_acquire);
        if (!r)
            return NULL;
        if (r != TENREG__TOMBSTONE &&
            atomic_load_explicit(&a->s[i].hash, memory_order_relaxed) == hash) {
            TENREG__TSAN_ACQUIRE(r);
            if (tenreg__record_key_is(r, t->key, s, len))
                return r;
        }
    }
}

/* Room for @n more inserts, in two steps so that a change touching both
 * tables can fail with ENOMEM before changing either: prepare allocates a
 * bigger slot array if one is needed (*grown, else NULL), commit moves the
 * records into it and publishes it, abandon frees an unused one. */
int tenreg__table_prepare(struct tenreg *reg, const struct tenreg__table *t, size_t n,
                          struct tenreg__slots **grown);
void tenreg__table_commit(struct tenreg__table *t, struct tenreg__slots *grown);
void tenreg__table_abandon(struct tenreg__slots *grown);
/* Inserts a record whose key is not in the table (room reserved). */
void tenreg__table_insert(struct tenreg__table *t, uint64_t hash, struct tenreg__record *rec);
/* Swaps @old for @rec in @old's slot (same key). */
void tenreg__table_replace(struct tenreg__table *t, uint64_t hash, struct tenreg__record *old,
                           struct tenreg__record *rec);
/* Turns @old's slot into a tombstone. */
void tenreg__table_remove(struct tenreg__table *t, uint64_t hash, struct tenreg__record *old);
/* Calls @fn on every record (under write_lock). */
void tenreg__table_each(const struct tenreg__table *t,
                        void (*fn)(void *ctx, struct tenreg__record *r), void *ctx);

/* ---- builder.c --------------------------------------------------------- */

struct tenreg__builder {
    struct cds_wfcq_head head;
    struct cds_wfcq_tail tail;
    _Atomic uint32_t kicks;           /* futex word: bumped on submit and stop */
    _Atomic bool stopping;
    unsigned nthreads;                /* running */
    unsigned capacity;                /* allocated slots in threads */
    pthread_t *threads;
};

int tenreg__builder_start(struct tenreg *reg, unsigned nthreads);
/* Lets running builds finish, drops queued ones (their cells go STALE),
 * joins the threads. */
void tenreg__builder_stop(struct tenreg *reg);
/* Queues the build of @t (whose cell this thread just moved EMPTY ->
 * QUEUED). Wait-free enqueue plus a futex wake; takes a tenant ref. */
void tenreg__builder_submit(struct tenreg *reg, struct tenreg__tenant *t);
/* Runs the factory and validator of @t if its cell can be claimed from
 * EMPTY or QUEUED; publishes the result. Outside any read section.
 * From a builder thread (@may_wait false) it never waits for the tenant's
 * turnstile: if a recheck holds it, the build is handed to whoever leaves
 * the turnstile (tenreg__tenant_leave). */
void tenreg__build_run(struct tenreg__tenant *t, bool may_wait);
/* Leaves @t's turnstile and re-queues a build that was deferred for it. */
void tenreg__tenant_leave(struct tenreg__tenant *t);

/* ---- the registry ------------------------------------------------------ */

struct tenreg {
    /* read side */
    struct tenreg__table by_host;
    struct tenreg__table by_id;
    struct tenreg__hash_key hkey;
    /* admin side */
    tenreg_config cfg;
    pthread_mutex_t write_lock;       /* table and record mutations; no callback runs under it */
    _Atomic size_t count;
    _Atomic long live_bytes;
    struct tenreg__builder builder;
};

static inline struct tenreg__record *tenreg__find_host(const struct tenreg *reg, const char *key,
                                                       size_t len)
{
    return tenreg__table_find(&reg->by_host, tenreg__hash(&reg->hkey, key, len), key, len);
}

static inline struct tenreg__record *tenreg__find_id(const struct tenreg *reg, const char *id,
                                                     size_t len)
{
    return tenreg__table_find(&reg->by_id, tenreg__hash(&reg->hkey, id, len), id, len);
}

/* registry.c: the validator verdict: 1 valid, 0 invalid, < 0 failed. */
int tenreg__validate(struct tenreg *reg, const struct tenreg__tenant *t);
/* The health a validation moves a tenant to (DESIGN.md §3). */
tenreg_health tenreg__health_after_check(tenreg_health from, int verdict);



#endif /* TENREG_INTERNAL_H */
