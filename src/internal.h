/*
 * internal.h - private to tenreg: never installed, never included by
 * consumers. White-box tests may include it.
 *
 * Where everything lives:
 *   normalize.c  host -> key (pure)          hash.c      keyed hash (SipHash-1-3)
 *   alloc.c      the only allocator calls    rcu.c       threads, read sections, flavor
 *   tenant.c     registrations, refcounts    record.c    immutable published records
 *   table.c      the RCU hash tables         turnstile.c per-tenant FIFO of admin work
 *   alias.c      extra hosts, patterns       hosts.c     add/remove/foreach_host
 *   status.c     status, reasons, counters   events.c    the event thread
 *   schedule.c   clock, background checks
 *   once_cell.c  lazy build state + futex    builder.c   builder threads and queue
 *   resolve.c    the read side               registry.c  the admin side (public API)
 *   batch.c      recording a batch's ops     batch_commit.c  applying them as one change
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
/* tenreg_free records what was still allocated through the registry when
 * it had freed everything (0, unless something leaked); tests read it. */
void tenreg__note_left_at_free(long bytes);
long tenreg__left_at_free(void);
/* "jemalloc" or "libc": which allocator this build uses. */
const char *tenreg__allocator_name(void);

/* ---- hash.c ------------------------------------------------------------ */

struct tenreg__hash_key {
    uint64_t k0, k1;
};
/* Derives a 128-bit key from @seed, or takes one from the kernel when @seed
 * is 0 (getrandom, retried on EINTR; /dev/urandom where getrandom is
 * unavailable). Returns TENREG_OK, or TENREG_ENOMEM when @seed is 0 and no
 * kernel randomness could be had: there is no weak fallback. */
int tenreg__hash_key_init(struct tenreg__hash_key *key, uint64_t seed);
static inline bool tenreg__hash_key_eq(const struct tenreg__hash_key *a,
                                       const struct tenreg__hash_key *b)
{
    return a->k0 == b->k0 && a->k1 == b->k1;
}
/* SipHash-1-3 of @len bytes. */
uint64_t tenreg__hash(const struct tenreg__hash_key *key, const void *data, size_t len);
/* tenreg__hash of @a and of @b into out[0] and out[1], computed side by
 * side (hash.c: twice the instruction-level parallelism of one). */
void tenreg__hash2(const struct tenreg__hash_key *key, const void *a, size_t alen, const void *b,
                   size_t blen, uint64_t out[2]);

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
/* tenreg_free, first: aborts inside a read section; QSBR: takes an online
 * thread offline for the whole teardown (returns whether it did; end it
 * with tenreg__rcu_offline_end). */
bool tenreg__rcu_free_begin(void);
/* tenreg_free: rcu_barrier, taking a QSBR thread offline around it. */
void tenreg__rcu_barrier(void);
/* call_rcu with the TSan edges of tsan.h; callbacks begin with
 * tenreg__rcu_cb_begin(head) and end with tenreg__rcu_cb_end(). */
void tenreg__call_rcu(struct rcu_head *head, void (*cb)(struct rcu_head *));
/* A batch commit retires thousands of objects at once; one call_rcu each
 * would have liburcu's call_rcu thread run a grace period per handful of
 * them (memb: a membarrier IPI to every reader's CPU each time). Between
 * _begin and _end, tenreg__call_rcu on this thread only links @head at the
 * end of *@list (NULL-terminated; its node is not in liburcu's queue, so it
 * is ours to link);
 * whoever owns the list hands it to one call_rcu of its own, whose
 * callback calls tenreg__rcu_run_collected. */
void tenreg__rcu_collect_begin(struct rcu_head **list);
void tenreg__rcu_collect_end(void);
void tenreg__rcu_run_collected(struct rcu_head *list);
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
/* Objects a registry handed to call_rcu and not yet freed (stats): +1 at
 * retire, -1 in the callback. Relaxed: a count, ordering nothing. */
#define TENREG__DEFERRED(reg_, d_) \
    atomic_fetch_add_explicit(&(reg_)->deferred, (size_t)(d_), memory_order_relaxed)

/* Builder threads register with tenreg__rcu_ensure_registered() and
 * unregister with this before they exit. */
void tenreg__rcu_thread_stop(void);
/* Whether a blocking resolve on this thread may sleep: memb, inside
 * exactly one read section (tenreg_read_lock depth 1, liburcu nesting 1);
 * QSBR, an online reader in at most one. Never inside an admin section. */
bool tenreg__rcu_may_sleep(void);
/* Around a sleep of a blocking resolve (only when tenreg__rcu_may_sleep):
 * ends the caller's read section (QSBR: goes offline) and begins a new
 * one. Every pointer read in the old section is void after _end. */
void tenreg__rcu_sleep_begin(void);
void tenreg__rcu_sleep_end(void);
/* Around adopter code and admin waits: QSBR takes an online thread offline
 * (returns whether it did) and _end brings it back; memb: nothing. */
bool tenreg__rcu_offline_begin(void);
void tenreg__rcu_offline_end(bool was_online);
/* Tests: tenreg_read_lock nesting of this thread; whether liburcu knows it. */
unsigned tenreg__rcu_read_depth(void);
bool tenreg__rcu_thread_known(void);
/* Whether this thread is inside a read section (tenreg's or, memb, the
 * adopter's own rcu_read_lock). */
bool tenreg__rcu_inside(void);
/* Waits for a grace period (memb: polite first, grace.h; QSBR:
 * synchronize_rcu): outside any read section,
 * holding no lock that a reader or writer may wait for (QSBR: offline for
 * the wait). Only batch commits wait for one (docs/design.md §5.14). */
void tenreg__rcu_synchronize(void);
/* A mark of now, and whether a tenreg__rcu_synchronize that began after
 * the mark was taken has ended (every section open at the mark is over). */
uint64_t tenreg__rcu_gp_mark(void);
bool tenreg__rcu_gp_covers(uint64_t mark);
/* memb: waits for a grace period (tenreg__rcu_synchronize) and runs @cb
 * on @head here: the reclaim thread's fallback (reclaim.c). Same
 * conditions as tenreg__rcu_synchronize. */
void tenreg__rcu_retire_here(struct rcu_head *head, void (*cb)(struct rcu_head *));
/* Links @head (to be run as @cb) at *@tail, a NULL-terminated list of
 * heads that no liburcu queue holds, and moves *@tail to its end. */
void tenreg__rcu_link(struct rcu_head ***tail, struct rcu_head *head,
                      void (*cb)(struct rcu_head *));

/* Batch epochs (docs/design.md §5.14). A process-wide counter, bumped once
 * by every batch commit; each thread pins its value when a read section
 * begins (memb: its outermost tenreg_read_lock or admin section; QSBR:
 * coming online, tenreg_quiescent), so that every lookup of one section
 * answers a commit's swap entries the same way: the new side iff the pin
 * is at least the swap's epoch. Acquire at the pin, release at the bump:
 * a section that pins a commit's epoch sees every swap that commit
 * installed before it. */
uint64_t tenreg__epoch_pinned(void);
/* Takes the process-wide epoch lock and returns the epoch the caller's
 * swaps get; _end bumps the counter to it (release) and unlocks. */
uint64_t tenreg__epoch_begin(void);
void tenreg__epoch_end(void);

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
    size_t end = offsetof(struct tenreg__record, strs) + host_len + 1 + id_len + 1;
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
 * time, in arrival order: a ticket lock. Admin threads sleep on a futex for
 * their turn; builder threads never sleep here (tenreg__build_turn). */
struct tenreg__turnstile {
    _Atomic uint32_t next;
    _Atomic uint32_t serving;
};
/* Takes the next ticket without waiting (a build, when it is queued). */
uint32_t tenreg__turnstile_ticket(struct tenreg__turnstile *t);
/* Admin threads: takes a ticket and sleeps until it is served. Outside any
 * read section (QSBR: offline). */
void tenreg__tenant_enter(struct tenreg__tenant *t);
/* Builder threads: whether the queued build's ticket (t->build->ticket) is
 * being served. If not, the build is parked, never waited for: whoever
 * serves its ticket queues it again (tenreg__builder_requeue). */
bool tenreg__build_turn(struct tenreg__tenant *t);
/* Builder threads: the same for a background check (t->check_ticket). */
bool tenreg__check_turn(struct tenreg__tenant *t);
/* Ends the turn of whoever holds the turnstile, and queues a parked build
 * or check whose ticket this serves. */
void tenreg__tenant_leave(struct tenreg__tenant *t);

/* ---- once-cell (once_cell.c) ------------------------------------------- */

/* The lazy build state of one registration. Transitions:
 * EMPTY -> QUEUED (one resolver wins the CAS and hands it to a builder)
 * EMPTY|QUEUED -> BUILDING (the thread that runs the factory claims it)
 * BUILDING -> READY | FAILED_FACTORY | FAILED_VALIDATOR (under write_lock)
 * EMPTY|QUEUED|BUILDING|FAILED_* -> STALE (the registration was removed)
 * FAILED_* -> QUEUED (build_retry_ms: a retry, resolve.c retry_due)
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
/* Moves any state but READY (in flight, or failed: no retry may start)
 * to STALE and wakes waiters; returns whether it did. */
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
/*
 * What only a lazy registration needs: its build. It lives in the tenant's
 * own allocation, after the strings (tenreg__tenant.build), so an eager
 * tenant does not carry it and a lazy one costs no extra allocation.
 */
struct tenreg__build {
    struct tenreg__tenant *tenant;    /* back from the builder queue's node */
    tenreg_factory_fn factory;        /* called once per attempt; NULL: never again */
    void *factory_ctx;
    struct tenreg__record *rec;       /* the record a build publishes, allocated
                                         up front so a build never fails for
                                         memory after its factory ran */
    struct cds_wfcq_node node;        /* in the builder queue while QUEUED */
    /* A failed build may be tried again from this tenreg__now_ns() on (0:
     * never). Stored under write_lock; resolvers take an attempt with a
     * CAS to 0 (resolve.c, retry_due). */
    _Atomic int64_t retry_at_ns;
    _Atomic uint32_t ticket;          /* the queued build's turnstile ticket */
    atomic_bool parked;               /* its turn had not come: see turnstile.c */
};

struct tenreg__tenant {
    /* Pointers and 64-bit fields first, then 32-bit, then bytes: no
     * padding between them (bench/README.md counts the bytes). */
    struct tenreg *reg;
    struct tenreg__build *build;      /* lazy only (NULL: eager); fixed at creation */
    void *platform;                   /* owned platform, set under write_lock */
    struct tenreg__record *rec;       /* current record: written under write_lock,
                                         read with tenreg__tenant_record() */
    struct cds_wfcq_node check_node;  /* a parked background check, ready again */
    struct tenreg__alias **aliases;   /* extra hosts and patterns, in the order
                                         added; under write_lock only */
    /* What the last check or build concluded (docs/design.md §8.2); under
     * write_lock, set with the record the outcome publishes. */
    int64_t registered_at_ns, checked_at_ns;
    char *reason;                     /* NULL: none; see status.c */
    struct tenreg__turnstile turn;
    _Atomic uint32_t check_ticket;    /* a background check's ticket */
    _Atomic uint32_t refs;
    _Atomic uint32_t cell;            /* enum tenreg__cell_state */
    uint32_t sched_idx;               /* its background-check entry, or UINT32_MAX;
                                         under sched.lock */
    uint32_t failures;
    uint32_t url_len;
    atomic_bool check_parked;         /* its turn had not come: see turnstile.c */
    atomic_bool removed;              /* set under write_lock: out of the tables */
    uint8_t verdict;                  /* tenreg_verdict */
    uint8_t n_aliases, alias_cap;
    uint8_t id_len;
    uint8_t host_len;
    char strs[];                      /* host key NUL, id NUL, agent URL NUL */
};

/* Whether @t is a lazy registration (it has a build). */
static inline bool tenreg__tenant_lazy(const struct tenreg__tenant *t)
{
    return t->build != NULL;
}

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

/* The tenant's current record; inside a read section (or under write_lock).
 * An acquire load (stronger than rcu_dereference's dependency ordering on
 * weakly ordered CPUs, the same on x86), so that TSan sees the pairing with
 * tenreg__tenant_publish. */
static inline struct tenreg__record *tenreg__tenant_record(const struct tenreg__tenant *t)
{
    return __atomic_load_n(&t->rec, __ATOMIC_ACQUIRE);
}

/* Allocates a tenant (refs = 0) and its first record (PENDING, @platform),
 * plus the build record of a lazy tenant. Returns NULL on allocation failure. */
struct tenreg__tenant *tenreg__tenant_new(struct tenreg *reg, const char *host, size_t host_len,
                                          const char *id, size_t id_len,
                                          const char *url, size_t url_len,
                                          void *platform, tenreg_factory_fn factory,
                                          void *factory_ctx);
/* Takes every extra host and pattern of @t out of its table and retires
 * it (unregister, replacement). Under write_lock, inside tenreg__rcu_enter. */
void tenreg__tenant_drop_aliases(struct tenreg__tenant *t);
/* The same for aliases whose slots are already gone (a batch's swaps). */
void tenreg__tenant_forget_aliases(struct tenreg__tenant *t);
/* hosts.c: the pattern counts behind pattern_labels; +1 before a
 * pattern's slot is stored, -1 after its tombstone. Under write_lock. */
void tenreg__count_pattern(struct tenreg *reg, unsigned labels, int delta);
/* hosts.c: a host argument, normalized: a host key, or "*." + a normalized
 * name (a pattern, keyed by the name). */
struct tenreg__host_arg {
    char text[2 + TENREG_HOST_KEY_MAX + 1];
    size_t len;
    bool pattern;
};
/* Parses @host as tenreg_add_host does: 0 or TENREG_EINVAL. */
int tenreg__parse_host(const char *host, struct tenreg__host_arg *h);
/* Frees a tenant that was never published, with its records (not its platform). */
void tenreg__tenant_drop(struct tenreg__tenant *t);
void tenreg__tenant_ref(struct tenreg__tenant *t);
/* The last reference frees the platform and the tenant. Never call it
 * under write_lock or inside a read section: it may run platform_free. */
void tenreg__tenant_unref(struct tenreg__tenant *t);
/* Drops a reference that cannot be the last (a published record of @t is
 * still reachable in this read section); never runs platform_free. */
void tenreg__tenant_unref_not_last(struct tenreg__tenant *t);
/* Calls the adopter's platform_free on @platform (NULL: nothing), offline
 * in QSBR, never inside a read section. */
void tenreg__platform_free(struct tenreg *reg, void *platform);
/* Makes @rec the tenant's current record in both tables and in its
 * aliases, and retires the previous one. Under write_lock, inside
 * tenreg__rcu_enter. */
void tenreg__tenant_publish(struct tenreg__tenant *t, struct tenreg__record *rec);

/* ---- aliases (alias.c) ------------------------------------------------- */

/*
 * A host key or pattern of a tenant besides its agent URL's host
 * (docs/design.md §8.1). The host table's slot for an extra host, and the
 * pattern table's slot for a pattern, point at an alias (tagged, see
 * tenreg__ent below); the alias points at its tenant's current record.
 * Immutable once published except @rec, which tenreg__tenant_publish moves
 * to every new record of the tenant (release; readers load it acquire in
 * tenreg__ent_record), so a lookup through an alias answers exactly what a
 * lookup of the tenant's own host does. Freed by call_rcu once out of its
 * table.
 */
struct tenreg__alias {
    struct tenreg__record *_Atomic rec; /* the owner's current record */
    struct tenreg *reg;
    struct rcu_head rcu;
    uint8_t key_len;                    /* of the lookup key (pattern: NAME) */
    uint8_t pattern;                    /* 1: text is "*." NAME, the key NAME */
    uint8_t labels;                     /* pattern: labels of NAME */
    char text[];                        /* host key or "*.NAME", NUL */
};

static inline const char *tenreg__alias_key(const struct tenreg__alias *al)
{
    return al->text + (al->pattern ? 2 : 0);
}
/* An alias of @text (a normalized host key, or "*." + a normalized name
 * when @pattern) pointing at @rec; NULL on allocation failure. */
struct tenreg__alias *tenreg__alias_new(struct tenreg *reg, const char *text, size_t len,
                                        bool pattern, struct tenreg__record *rec);
/* Frees an alias no reader ever saw. */
void tenreg__alias_drop(struct tenreg__alias *al);
/* Frees a published alias after a grace period. */
void tenreg__alias_retire(struct tenreg__alias *al);

/* ---- table.c ----------------------------------------------------------- */

/*
 * Table entries: a record (its key is the record's host or id), or an alias
 * tagged with TENREG__ENT_ALIAS (its key is the alias's), or, only while a
 * batch commits, a swap tagged with TENREG__ENT_SWAP. 0 is an empty slot,
 * TENREG__TOMBSTONE a deleted one. Records, aliases and swaps are 8-byte
 * aligned, so the tags never collide with a pointer bit.
 */
typedef uintptr_t tenreg__ent;
#define TENREG__TOMBSTONE ((tenreg__ent)1)
#define TENREG__ENT_ALIAS ((tenreg__ent)2)
#define TENREG__ENT_SWAP ((tenreg__ent)4)

/*
 * A key a batch commit changes (batch_commit.c): its slot holds the swap
 * from the commit's install to its finalize, a grace period later, and
 * answers @old to read sections pinned before @epoch, @new to the others
 * (either may be 0: the key absent on that side). Both sides are plain
 * records or aliases with the same key. Immutable once installed; freed
 * with its commit's array after another grace period.
 */
struct tenreg__swap {
    tenreg__ent old, new;
    uint64_t epoch;
};
static inline const struct tenreg__swap *tenreg__ent_swap(tenreg__ent e)
{
    return (const struct tenreg__swap *)(e & ~TENREG__ENT_SWAP);
}
static inline tenreg__ent tenreg__ent_of_swap(const struct tenreg__swap *s)
{
    return (tenreg__ent)s | TENREG__ENT_SWAP;
}
/* The side of a swap this thread's read section answers (table.c). */
tenreg__ent tenreg__swap_pick(tenreg__ent e);

static inline tenreg__ent tenreg__ent_of_record(const struct tenreg__record *r)
{
    return (tenreg__ent)r;
}
static inline tenreg__ent tenreg__ent_of_alias(const struct tenreg__alias *al)
{
    return (tenreg__ent)al | TENREG__ENT_ALIAS;
}
static inline bool tenreg__ent_is_alias(tenreg__ent e)
{
    return (e & TENREG__ENT_ALIAS) != 0;
}
static inline struct tenreg__alias *tenreg__ent_alias(tenreg__ent e)
{
    return (struct tenreg__alias *)(e & ~TENREG__ENT_ALIAS);
}
/* The record an entry answers with. Acquire: pairs with the release
 * stores of alias->rec (tenreg__alias_new's publication through the slot,
 * tenreg__tenant_publish). */
static inline struct tenreg__record *tenreg__ent_record(tenreg__ent e)
{
    if (TENREG__LIKELY(!tenreg__ent_is_alias(e)))
        return (struct tenreg__record *)e;
    return atomic_load_explicit(&tenreg__ent_alias(e)->rec, memory_order_acquire);
}

/*
 * An RCU-published open-addressing hash table (linear probing) of entries.
 * A slot is the full 64-bit hash and the entry, so a probe reads the slot
 * array and touches a record (or alias) only when the hashes match. Slots go
 * from empty to a record, between records, and to a tombstone; never back
 * to empty while readers may probe the array, so a reader never stops early
 * on a key that is present. Growth, shedding tombstones and re-keying copy
 * the live slots into a new array, publish it with one pointer store and
 * free the old one after a grace period. Writers: under the registry's
 * write_lock.
 *
 * Bounded probes (docs/design.md §5). Each array has its own SipHash key and
 * max_disp, the largest displacement (slots past its home slot) of any
 * record ever stored in it. A lookup reads at most max_disp + 1 slots, so a
 * miss never walks a long cluster to its end. Writers keep max_disp within
 * tenreg__table_disp_bound(capacity), O(log capacity): an insert that would
 * break it re-keys the array with fresh kernel randomness (never derived
 * from hash_seed, so knowing the seed does not help an attacker). That is
 * best-effort: when it cannot be done (no memory, no randomness) the insert
 * goes in anyway, max_disp tells readers the truth, and the next insert
 * tries again.
 */
struct tenreg__slot {
    _Atomic uint64_t hash;
    _Atomic tenreg__ent ent;              /* 0: empty; TENREG__TOMBSTONE: deleted */
};

/*
 * by_host's slots also carry their entry's answer, so that a cold lookup
 * is one cache miss (the slot line) instead of two (the slot, then the
 * record): the answer word of a plain record is its platform, health and
 * build-failed flag (tenreg__answer_of), stored before the entry, and a
 * lookup that finds the entry by its hash answers from the slot without
 * touching the record. The key is not compared then: the 64-bit keyed
 * hash stands for it (the digest rule, docs/design.md §8.6, and the
 * header's tenreg_resolve_by_host). 32 bytes: two slots a line, none
 * straddles one.
 *
 * The slot's three words change one by one, so a reader checks what it
 * read (tenreg__table_probe): the entry (acquire), the hash and the
 * answer (acquire), then the entry again (relaxed). Writers store the
 * hash, then the answer, then the entry, each with release (store_at,
 * tenreg__table_replace_at). If the second load of the entry gives the
 * first, the hash and answer read in between are that entry's: a slot
 * reused for another key went through a tombstone, stored before the new
 * hash and answer, and a reader that read either of those (acquire) reads
 * the tombstone or a later entry the second time. A record is never put
 * back in a slot it left, so no ABA. The one in-place change of a plain
 * record for another, a new record of the same registration or a
 * re-registration of the same id and host (registry.c, tenant.c), has
 * the same id and key: its answer word paired with the old record's
 * pointer is still one consistent (id, health, platform) triple.
 */
struct tenreg__answer_slot {
    struct tenreg__slot slot;
    _Atomic uint64_t answer;              /* 0: none; else tenreg__answer_of */
    uint64_t unused;
};

/* log2 of the slot sizes. */
#define TENREG__SLOT_SHIFT 4
#define TENREG__ANSWER_SLOT_SHIFT 5
_Static_assert(sizeof(struct tenreg__slot) == 1u << TENREG__SLOT_SHIFT, "16-byte slots");
_Static_assert(sizeof(struct tenreg__answer_slot) == 1u << TENREG__ANSWER_SLOT_SHIFT,
               "32-byte answer slots");

struct tenreg__slots {
    /* What a lookup reads, first: */
    size_t mask;                          /* capacity - 1 (a power of two) */
    /* Only grows while the array is published. Writers store a raised
     * value before the release store of the record into its slot (table.c,
     * store_at); readers load it relaxed (tenreg__table_find_counted). */
    _Atomic size_t max_disp;
    struct tenreg__hash_key key;          /* set before the array is published */
    struct tenreg *reg;
    struct rcu_head rcu;
    uint8_t shift;                        /* TENREG__SLOT_SHIFT or TENREG__ANSWER_SLOT_SHIFT */
    uint8_t secret;                       /* 1: the key came from the kernel */
    /* 1 while a matching hash may stand for the key (by_host, by_id): the
     * array's key is secret (from the kernel, not from a fixed hash_seed)
     * and no two of its entries have had the same hash. by_host's readers
     * answer from its answer slots then; a batch commit finds by_id's kept
     * ids by their hashes (batch_commit.c, find_current). A
     * writer lowers it (relaxed) before the release store of an entry
     * whose hash another entry has; readers load it after the entry
     * (acquire), so one that sees such an entry sees 0. Never raised. */
    _Atomic uint8_t digest;
    /* Slot i is at slot_mem + (i << shift): tenreg__slot_at. A 64-byte
     * header: no slot straddles a line. */
    _Alignas(16) unsigned char slot_mem[];
};

static inline struct tenreg__slot *tenreg__slot_at(const struct tenreg__slots *a, size_t i)
{
    /* Via void *: slot_mem is 16-byte aligned and every slot a multiple of 16. */
    return (struct tenreg__slot *)(void *)(a->slot_mem + (i << a->shift));
}

/* The answer word of entry @e: nonzero only for a plain record whose
 * platform pointer fits in 48 bits (every user-space pointer with 48-bit
 * virtual addresses, x86-64's and AArch64's usual; any other value is
 * answered from the record). Bits: 0 set, 1-3 health, 4 build failed,
 * 8-15 the host key's length (a lookup takes the slot only for a key of
 * that length, so its tenant_id, computed from it, is the record's own
 * even on a false match), 16-63 platform. */
#define TENREG__ANSWER_SET 1u
#define TENREG__ANSWER_FAILED 0x10u
static inline unsigned tenreg__answer_key_len(uint64_t w)
{
    return (unsigned)(w >> 8) & 0xffu;
}
static inline uint64_t tenreg__answer_of(tenreg__ent e)
{
    if (e <= TENREG__TOMBSTONE || (e & (TENREG__ENT_ALIAS | TENREG__ENT_SWAP)))
        return 0;
    const struct tenreg__record *r = (const struct tenreg__record *)e;
    uint64_t p = (uint64_t)(uintptr_t)r->platform;
    if (p >> 48)
        return 0;
    return p << 16 | (uint64_t)r->host_len << 8 | (uint64_t)r->health << 1 |
           ((r->flags & TENREG__REC_BUILD_FAILED) ? TENREG__ANSWER_FAILED : 0) | TENREG__ANSWER_SET;
}

/* What a record entry is keyed by; alias entries always by their own key
 * (the pattern table holds aliases only). */
enum tenreg__table_key { TENREG__KEY_HOST, TENREG__KEY_ID, TENREG__KEY_PATTERN };

struct tenreg__table {
    /* Loaded with __atomic_load_n(ACQUIRE), stored with __ATOMIC_RELEASE:
     * the array's header and the slots filled before publication come with
     * it. Writers replace it only under write_lock. */
    struct tenreg__slots *cur;
    size_t used;                          /* entries + tombstones */
    size_t live;                          /* entries */
    enum tenreg__table_key key;
};

/* The first array uses @hkey (from hash_seed: deterministic when that is
 * fixed); arrays re-keyed for the probe bound draw theirs from the kernel. */
int tenreg__table_init(struct tenreg *reg, struct tenreg__table *t, enum tenreg__table_key key,
                       size_t expected, const struct tenreg__hash_key *hkey);
/* Frees the slot array now: no reader may use the table any more. */
void tenreg__table_destroy(struct tenreg *reg, struct tenreg__table *t);

static inline bool tenreg__record_key_is(const struct tenreg__record *r,
                                         enum tenreg__table_key key, const char *s, size_t len)
{
    if (key == TENREG__KEY_HOST)
        return r->host_len == len && memcmp(tenreg__record_host(r), s, len) == 0;
    return r->id_len == len && memcmp(tenreg__record_id(r), s, len) == 0;
}

static inline bool tenreg__ent_key_is(tenreg__ent e, enum tenreg__table_key key, const char *s,
                                      size_t len)
{
    if (TENREG__LIKELY(!(e & (TENREG__ENT_ALIAS | TENREG__ENT_SWAP))))
        return tenreg__record_key_is((const struct tenreg__record *)e, key, s, len);
    if (e & TENREG__ENT_SWAP) {
        /* Both sides have the key; at least one side is there. */
        const struct tenreg__swap *sw = tenreg__ent_swap(e);
        e = sw->old ? sw->old : sw->new;
        if (!tenreg__ent_is_alias(e))
            return tenreg__record_key_is((const struct tenreg__record *)e, key, s, len);
    }
    const struct tenreg__alias *al = tenreg__ent_alias(e);
    return al->key_len == len && memcmp(tenreg__alias_key(al), s, len) == 0;
}

/* The answer word of slot @sl of @a, whose entry @e (loaded acquire) has
 * the lookup's hash (loaded acquire), for a key of @len bytes: nonzero
 * when the slot settles the lookup under the digest rule, after the check
 * of struct tenreg__answer_slot (the entry again after the answer); 0
 * when the key must be compared. Answer slots only. */
static inline __attribute__((always_inline)) uint64_t
tenreg__slot_answer(const struct tenreg__slots *a, const struct tenreg__slot *sl, tenreg__ent e,
                    size_t len)
{
    if ((e & (TENREG__ENT_ALIAS | TENREG__ENT_SWAP)) ||
        !atomic_load_explicit(&a->digest, memory_order_relaxed))
        return 0;
    uint64_t w = atomic_load_explicit(&((const struct tenreg__answer_slot *)sl)->answer,
                                      memory_order_acquire);
    if (w == 0 || tenreg__answer_key_len(w) != len ||
        atomic_load_explicit(&sl->ent, memory_order_relaxed) != e)
        return 0;
    return w;
}

/* The probe of array @a (t's current one, loaded acquire) for @s, whose
 * hash under @a's key is @hash: see tenreg__table_find_counted. With
 * @answer (by_host's answer slots), an entry found by its hash alone under
 * the digest rule comes back with its answer word in *@answer, its key
 * not compared and its record not touched; any other comes back with
 * *@answer 0, its key compared as without @answer. */
static inline __attribute__((always_inline)) tenreg__ent
tenreg__table_probe(const struct tenreg__table *t, const struct tenreg__slots *a, const char *s,
                    size_t len, uint64_t hash, size_t *probes, uint64_t *answer)
{
    size_t mask = a->mask;
    /* Relaxed: a writer raises max_disp before the release store that puts
     * a record at that displacement (table.c, store_at), so a thread that
     * has seen the record, or happens after one that has, loads a max_disp
     * that reaches it. A lookup racing the insert finds the record or not,
     * as it would without the bound. */
    size_t i = hash & mask;
    size_t last = (i + atomic_load_explicit(&a->max_disp, memory_order_relaxed)) & mask;
    for (;; i = (i + 1) & mask) {
        if (probes)
            ++*probes;
        const struct tenreg__slot *sl = tenreg__slot_at(a, i);
        /* Pairs with the release store of the entry (table.c: store_at,
         * tenreg__table_replace): its contents and the slot's hash are
         * visible. The hash (acquire): the answer slots' check below. */
        tenreg__ent e = atomic_load_explicit(&sl->ent, memory_order_acquire);
        if (!e)
            return 0;
        if (e != TENREG__TOMBSTONE && atomic_load_explicit(&sl->hash, memory_order_acquire) == hash) {
            if (answer) {
                uint64_t w = tenreg__slot_answer(a, sl, e, len);
                if (TENREG__LIKELY(w != 0)) {
                    *answer = w;
                    return e;
                }
            }
            if (tenreg__ent_key_is(e, t->key, s, len)) {
                if (answer)
                    *answer = 0;
                /* A key a batch is committing: the side this section sees
                 * (0: absent there, and no other slot has the key). */
                return TENREG__UNLIKELY(e & TENREG__ENT_SWAP) ? tenreg__swap_pick(e) : e;
            }
        }
        if (i == last)
            return 0; /* no entry of this array sits further from home */
    }
}

/* The lookup: the entry whose key is @s, or 0. Also counts the slots it
 * reads into *@probes when @probes is not NULL (white-box tests; everything
 * else passes NULL, which the compiler folds away). Inside a read section,
 * or under write_lock: wait-free (at most max_disp + 1 slots), no stores to
 * shared memory. */
static inline __attribute__((always_inline)) tenreg__ent
tenreg__table_find_counted(const struct tenreg__table *t, const char *s, size_t len,
                           size_t *probes)
{
    /* Pairs with the release stores of t->cur in table.c (publish): the
     * key, mask and the slots copied in before publication are visible.
     * The key is the array's own, so the hash always fits the array. */
    const struct tenreg__slots *a = __atomic_load_n(&t->cur, __ATOMIC_ACQUIRE);
    return tenreg__table_probe(t, a, s, len, tenreg__hash(&a->key, s, len), probes, NULL);
}

/* Reader lookup, inside a read section: wait-free, no stores. */
static inline __attribute__((always_inline)) tenreg__ent
tenreg__table_find(const struct tenreg__table *t, const char *s, size_t len)
{
    return tenreg__table_find_counted(t, s, len, NULL);
}

/* Writers (under write_lock, no commit's swaps in the table): looks up
 * @n <= TENREG__FIND_GROUP keys at once, overlapping their cache misses
 * (all hashes and home slots first, then the probes, then the key
 * checks). @hashes: the keys' hashes under the current array's key, when
 * the caller has them (tenreg__table_hash_group), else NULL. out[i]: the
 * entry whose key is keys[i], or 0; at[i]: its slot in the current array. */
#define TENREG__FIND_GROUP 16
void tenreg__table_find_group(const struct tenreg__table *t, const char *const *keys,
                              const size_t *lens, const uint64_t *hashes, size_t n,
                              tenreg__ent *out, size_t *at);
/* A key's hash under the array key it was taken with: a writer hashes a
 * key (and starts fetching its home slot) before it takes write_lock, and
 * uses the hash under the lock unless a re-key changed the key meanwhile. */
struct tenreg__prehash {
    uint64_t hash;
    struct tenreg__hash_key key;
};
/* Hashes @s under the current array's key into *@ph and prefetches its
 * home slot. Inside a read section. */
void tenreg__table_prehash(const struct tenreg__table *t, const char *s, size_t len,
                           struct tenreg__prehash *ph);
/* The hash of @s under @a's key: @ph's when it was taken with that key. */
static inline uint64_t tenreg__prehash_for(const struct tenreg__slots *a,
                                           const struct tenreg__prehash *ph, const char *s,
                                           size_t len)
{
    if (tenreg__hash_key_eq(&ph->key, &a->key))
        return ph->hash;
    return tenreg__hash(&a->key, s, len);
}
/* Writers: tenreg__table_find and tenreg__table_insert_at with @s's (or
 * @e's key's) prehash. */
static inline tenreg__ent tenreg__table_find_prehashed(const struct tenreg__table *t,
                                                       const char *s, size_t len,
                                                       const struct tenreg__prehash *ph)
{
    const struct tenreg__slots *a = __atomic_load_n(&t->cur, __ATOMIC_ACQUIRE);
    return tenreg__table_probe(t, a, s, len, tenreg__prehash_for(a, ph, s, len), NULL, NULL);
}
size_t tenreg__table_insert_prehashed(struct tenreg__table *t, tenreg__ent e,
                                      const struct tenreg__prehash *ph);
/* Writers: the hashes of @n <= TENREG__FIND_GROUP keys under the current
 * array's key, for a tenreg__table_find_group that follows (nothing may
 * re-key the table in between), their home slots prefetched: a writer one
 * group ahead of its lookups. */
void tenreg__table_hash_group(const struct tenreg__table *t, const char *const *keys,
                              const size_t *lens, size_t n, uint64_t *hashes);

/* Writers: whether the current array's key is @key (hashes taken with it
 * fit the array), and in *@digest whether a matching hash stands for the
 * key in it (the digest rule: the key is secret and no two entries have
 * had one hash), so that tenreg__table_find_group_by_hash may answer. */
bool tenreg__table_keyed_with(const struct tenreg__table *t, const struct tenreg__hash_key *key,
                              bool *digest);
/* Writers, after tenreg__table_keyed_with (nothing may change the table
 * in between): for each of @n <= TENREG__FIND_GROUP hashes, the first
 * entry with that hash (out[i], or 0) and its slot (at[i]), without
 * loading any entry's key: under the digest rule it is the entry of the
 * key the hash was taken of, or (chance 2^-64 per slot probed, for a key
 * the table does not hold) of another key. */
void tenreg__table_find_group_by_hash(const struct tenreg__table *t, const uint64_t *hashes,
                                      size_t n, tenreg__ent *out, size_t *at);
/* Writers: starts fetching slot @i of the current array (i <= mask; a
 * hint for tenreg__table_replace_at and _remove_at), to write it. */
void tenreg__table_prefetch_slot(const struct tenreg__table *t, size_t i);
/* Writers: starts fetching the home slots of @n hashes taken with the
 * current array's key, a group ahead of their lookups. */
void tenreg__table_prefetch_homes(const struct tenreg__table *t, const uint64_t *hashes, size_t n);
/* Any thread (a section of its own inside): the key of the table's
 * current array when it came from the kernel (true: hash_seed 0, or the
 * table re-keyed since), else false (a key derived from hash_seed, which a
 * batch must not take: it is public). */
bool tenreg__table_secret_key(const struct tenreg__table *t, struct tenreg__hash_key *key);

/* The entry in slot @i of the current array (0: empty or a tombstone);
 * i < tenreg__table_capacity(). Writers only. */
tenreg__ent tenreg__table_slot(const struct tenreg__table *t, size_t i);

/* Room for @n more inserts, in two steps so that a change touching both
 * tables can fail with ENOMEM before changing either: prepare allocates a
 * bigger slot array if one is needed (*grown, else NULL), commit moves the
 * records into it and publishes it, abandon frees an unused one. */
int tenreg__table_prepare(struct tenreg *reg, const struct tenreg__table *t, size_t n,
                          struct tenreg__slots **grown);
void tenreg__table_commit(struct tenreg__table *t, struct tenreg__slots *grown);
void tenreg__table_abandon(struct tenreg__slots *grown);
/* The calls below take entries, not hashes: the table hashes their keys
 * with its current array's key, which a re-key may change. */
/* Inserts an entry whose key is not in the table (room reserved). Never
 * fails: the re-key the probe bound may ask for is best-effort. */
void tenreg__table_insert(struct tenreg__table *t, tenreg__ent e);
/* Swaps @old for @e in @old's slot (same key). */
void tenreg__table_replace(struct tenreg__table *t, tenreg__ent old, tenreg__ent e);
/* Turns @old's slot into a tombstone. */
void tenreg__table_remove(struct tenreg__table *t, tenreg__ent old);
/* The same, for a writer that will come back to the slot (a batch commit:
 * install, then finalize): _insert_at and _replace_at return the slot's
 * index (SIZE_MAX: unknown, the insert re-keyed the table); _replace_at and
 * _remove_at take such an index as a hint, checked against the slot's
 * entry, and find the slot by hashing when it does not hold @old. */
size_t tenreg__table_insert_at(struct tenreg__table *t, tenreg__ent e);
/* The slots of @n <= TENREG__FIND_GROUP entries the table holds, their
 * misses overlapped, into @at (SIZE_MAX: not found). @hashes: their keys'
 * hashes under @key, used while that is the current array's key (else,
 * or NULL, each key is read and hashed). Writers only. */
void tenreg__table_locate(const struct tenreg__table *t, const tenreg__ent *ents, size_t n,
                          const uint64_t *hashes, const struct tenreg__hash_key *key, size_t *at);
size_t tenreg__table_replace_at(struct tenreg__table *t, size_t hint, tenreg__ent old, tenreg__ent e);
void tenreg__table_remove_at(struct tenreg__table *t, size_t hint, tenreg__ent old);
/* Calls @fn on every record of a table of records only (by_id; under
 * write_lock); a swap counts as the side this section sees. */
void tenreg__table_each(const struct tenreg__table *t,
                        void (*fn)(void *ctx, struct tenreg__record *r), void *ctx);
/* Entries in the table (under write_lock). */
size_t tenreg__table_live(const struct tenreg__table *t);
/* The displacement writers keep every record of an array of @capacity
 * slots within (table.c has the measurements behind it); a lookup then
 * reads at most tenreg__table_disp_bound(capacity) + 1 slots. */
size_t tenreg__table_disp_bound(size_t capacity);
/* White-box tests (under write_lock or with no writer): the most slots any
 * lookup, hit or miss, can read in the current array, computed from its
 * slots and max_disp; the current array's capacity and max_disp. */
size_t tenreg__table_max_probe(const struct tenreg__table *t);
size_t tenreg__table_capacity(const struct tenreg__table *t);
size_t tenreg__table_max_disp(const struct tenreg__table *t);
/* The bytes of the current array, header and slots (white-box tests, the
 * bench's byte accounting). */
size_t tenreg__table_bytes(const struct tenreg__table *t);

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
 * QUEUED): takes its turnstile ticket and a tenant reference, then a
 * wait-free enqueue and a futex wake. Any thread, even a reader inside a
 * read section: it never sleeps, allocates or runs adopter code. */
void tenreg__builder_submit(struct tenreg *reg, struct tenreg__tenant *t);
/* Queues a parked build again (its ticket and reference travel with it). */
void tenreg__builder_requeue(struct tenreg *reg, struct tenreg__tenant *t);
/* TENREG_AWAIT_FIRST_VALIDATION of a lazy tenant: runs its build in the
 * calling admin thread, in its turn (a build already queued by a resolver
 * runs first and this one finds the cell claimed). Outside any read
 * section. */
void tenreg__build_inline(struct tenreg__tenant *t);

/* ---- status.c ---------------------------------------------------------- */

/* A reason said with tenreg_set_reason while a check or build runs adopter
 * code on this thread; pushed around the callback (nested checks nest). */
struct tenreg__reason_capture {
    char text[TENREG_REASON_MAX + 1];
    size_t len;
    struct tenreg__reason_capture *prev;
};
void tenreg__reason_begin(struct tenreg__reason_capture *c);
void tenreg__reason_end(struct tenreg__reason_capture *c);
/* The copy a tenant keeps of a failure's reason (outside write_lock): NULL
 * for a valid verdict or no reason, a static text when out of memory. */
char *tenreg__reason_keep(struct tenreg *reg, const struct tenreg__reason_capture *c,
                          tenreg_verdict v);
void tenreg__reason_free(struct tenreg *reg, char *reason);
tenreg_verdict tenreg__verdict_of(int validator_answer);
int64_t tenreg__realtime_ns(void);
/* Records a check's or build's outcome in @t (takes @reason). Under
 * write_lock, with the record it publishes. */
void tenreg__tenant_conclude(struct tenreg__tenant *t, tenreg_verdict v, char *reason);

/* Counters behind tenreg_stats_of that writers keep under write_lock. */
struct tenreg__counts {
    size_t health[4];
    size_t lazy_unbuilt;
    uint64_t checks, checks_failed, builds, builds_failed;
    uint64_t events, events_dropped;
};
/* A tenant left health @from (-1: none) for @to (-1: none). Under write_lock. */
void tenreg__count_health(struct tenreg *reg, int from, int to);

/* ---- the background-check heap (schedule.c) ----------------------------- */

struct tenreg__sched_entry {
    int64_t due_ns;                   /* tenreg__now_ns() */
    struct tenreg__tenant *t;         /* no reference: see schedule.c */
};
struct tenreg__sched {
    pthread_mutex_t lock;             /* the heap, n, cap, inflight, rng */
    struct tenreg__sched_entry *heap;
    size_t n, cap;
    size_t inflight;                  /* popped entries a builder will push back */
    uint64_t rng;
    struct cds_wfcq_head ready_head;  /* parked checks whose turn came */
    struct cds_wfcq_tail ready_tail;
};

/* ---- events.c ---------------------------------------------------------- */

struct tenreg__events {
    struct cds_wfcq_head head;        /* queued under write_lock, in visibility order */
    struct cds_wfcq_tail tail;
    _Atomic uint32_t kicks;           /* futex word: bumped on enqueue and stop */
    atomic_bool stopping;
    bool running;
    pthread_t thread;
};
/* Starts the event thread when cfg.on_event is set. 0 or TENREG_ENOMEM. */
int tenreg__events_start(struct tenreg *reg);
/* Delivers everything queued, then joins the thread. */
void tenreg__events_stop(struct tenreg *reg);
/* Queues one event (no-op without on_event); a failed allocation is
 * counted and dropped. Under write_lock, at the change it reports. */
void tenreg__event(struct tenreg *reg, tenreg_event_kind kind, const struct tenreg__tenant *t,
                   int from, int to, tenreg_verdict verdict, const char *reason);

/* ---- the registry ------------------------------------------------------ */

#ifndef TENREG_FLAVOR_QSBR
/* memb: what batch commits retired, freed by the registry's reclaim thread
 * after a grace period (reclaim.c). */
struct tenreg__reclaim {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct rcu_head *head, **tail;   /* queued, under lock */
    uint64_t newest_mark;            /* tenreg__rcu_gp_mark at the last queue */
    _Atomic unsigned commits;        /* in progress: one will kick soon */
    pthread_t thread;
    bool started, stop;              /* under lock */
};
#endif
struct tenreg;
/* The batch commit's side of it (reclaim.c; QSBR: only _retire does
 * anything, with call_rcu). _init in tenreg_new; _stop in tenreg_free once
 * no commit can run (it frees what is queued), or when tenreg_new fails. */
void tenreg__reclaim_init(struct tenreg *reg);
void tenreg__reclaim_stop(struct tenreg *reg);
/* Around a commit, so that the thread waits for its grace period. */
void tenreg__reclaim_commit_begin(struct tenreg *reg);
void tenreg__reclaim_commit_end(struct tenreg *reg);
/* A commit's grace period has ended: what was queued before it may go. */
void tenreg__reclaim_kick(struct tenreg *reg);
/* @head (the swaps, and what was collected with them) for @cb after a grace
 * period: queued for the thread; if it cannot be started, freed here after
 * one (tenreg__rcu_retire_here). Outside any section, no lock held. */
void tenreg__reclaim_retire(struct tenreg *reg, struct rcu_head *head,
                            void (*cb)(struct rcu_head *));


struct tenreg {
    /* read side */
    struct tenreg__table by_host;     /* host keys: records and extra-host aliases */
    struct tenreg__table by_id;       /* tenant ids: records */
    struct tenreg__table by_pattern;  /* pattern names (no "*."): aliases */
    /* Bit min(n, 63) set while some pattern's NAME has n labels: a lookup
     * that misses its exact key probes only the suffixes with a pattern of
     * their length, and none when no pattern is registered. Raised
     * (relaxed) before the release store of the pattern's slot, lowered
     * after its tombstone; loaded relaxed by readers (resolve.c): a reader
     * that skips a suffix skips it as a lookup before the add would. */
    _Atomic uint64_t pattern_labels;
    /* admin side */
    tenreg_config cfg;
    pthread_mutex_t write_lock;       /* table and record mutations; no callback runs under it */
    size_t patterns_by_labels[64];    /* under write_lock: the counts behind pattern_labels */
    struct tenreg__counts counts;     /* under write_lock (status.c) */
    _Atomic size_t deferred;          /* call_rcu'd, not yet freed: tenreg__deferred */
    struct tenreg__events events;
    struct tenreg__sched sched;
    _Atomic size_t count;
    _Atomic long live_bytes;
    struct tenreg__builder builder;
#ifndef TENREG_FLAVOR_QSBR
    struct tenreg__reclaim reclaim;   /* reclaim.c */
#endif
    /* Teardown gate (registry.c): admin calls in progress, and whether
     * tenreg_free has begun; a futex word that tenreg_free sleeps on. */
    _Atomic uint32_t active;
    atomic_bool closing;
    /* 1 from a batch commit's install to its finalize (batch_commit.c):
     * the tables hold swaps, which no other writer may touch. Changed
     * under write_lock; a futex word tenreg__write_lock sleeps on. */
    _Atomic uint32_t committing;
};

/* registry.c: write_lock for a writer that changes the tables, records or
 * tenants: registers the thread, locks, and while a batch commit waits for
 * its grace period (committing), unlocks and sleeps until it is done
 * (QSBR: offline). Readers' calls that take write_lock only to copy
 * (status_of, stats_of) lock it plainly. Unlock with pthread_mutex_unlock. */
void tenreg__write_lock(struct tenreg *reg);
/* registry.c: the end of a registration whose slots are gone (or were
 * handed to its replacement). @aliases_unlinked: its extra hosts' slots
 * are gone too (a batch's swaps took them); else they are taken out here.
 * Under write_lock, inside tenreg__rcu_enter. */
void tenreg__end_registration(struct tenreg__tenant *t, bool aliases_unlinked);
/* registry.c: a registration leaves the counters (replaced or unregistered). */
void tenreg__uncount(struct tenreg *reg, const struct tenreg__tenant *t);

/* registry.c: a tenant id argument of 1..TENREG_ID_MAX bytes; sets *@len
 * and returns 0, or TENREG_EINVAL. */
int tenreg__id_len(const char *id, size_t *len);

/* The registration an entry belongs to. Under write_lock, where an
 * alias's record is its tenant's current one. */
static inline struct tenreg__tenant *tenreg__ent_owner(tenreg__ent e)
{
    return tenreg__record_tenant(tenreg__ent_record(e));
}

/* registry.c: every admin call (and a resolve that queues a build) runs
 * between these. _begin fails once tenreg_free has begun; tenreg_free
 * waits until every call that got in has left. */
bool tenreg__admin_begin(struct tenreg *reg);
void tenreg__admin_end(struct tenreg *reg);

/* resolve.c: the pattern rule of a host lookup whose exact key missed
 * (out of line: the exact hit stays small). */
tenreg__ent tenreg__find_pattern(const struct tenreg *reg, const char *key, size_t len);

/* The entry that answers for host key @key (exact key first, then the
 * longest pattern), or 0. Inside a read section, or under write_lock. */
static inline __attribute__((always_inline)) tenreg__ent
tenreg__find_host(const struct tenreg *reg, const char *key, size_t len)
{
    tenreg__ent e = tenreg__table_find(&reg->by_host, key, len);
    if (TENREG__LIKELY(e) ||
        !atomic_load_explicit(&reg->pattern_labels, memory_order_relaxed))
        return e;
    return tenreg__find_pattern(reg, key, len);
}

/* tenreg__find_host, for the read side: with *@answer nonzero the entry
 * is a plain record answered from its slot (tenreg__table_probe), which
 * the caller must not read. */
static inline __attribute__((always_inline)) tenreg__ent
tenreg__find_host_answer(const struct tenreg *reg, const char *key, size_t len, uint64_t *answer)
{
    *answer = 0;
    /* Acquire: as tenreg__table_find_counted. */
    const struct tenreg__slots *a = __atomic_load_n(&reg->by_host.cur, __ATOMIC_ACQUIRE);
    tenreg__ent e = tenreg__table_probe(&reg->by_host, a, key, len,
                                        tenreg__hash(&a->key, key, len), NULL, answer);
    if (TENREG__LIKELY(e) ||
        !atomic_load_explicit(&reg->pattern_labels, memory_order_relaxed))
        return e;
    return tenreg__find_pattern(reg, key, len);
}

static inline struct tenreg__record *tenreg__find_id(const struct tenreg *reg, const char *id,
                                                     size_t len)
{
    return (struct tenreg__record *)tenreg__table_find(&reg->by_id, id, len);
}

/* ---- check.c ----------------------------------------------------------- */

/* The validator's verdict on @t: 1 valid, 0 invalid, < 0 failed. Runs
 * adopter code: outside any read section (QSBR: offline). */
int tenreg__validate(struct tenreg *reg, const struct tenreg__tenant *t);
/* The health a validation moves a tenant to: docs/design.md §3, or with
 * TENREG_CFG_TRANSIENT_FAILURES in @flags the rules of §8.2. */
tenreg_health tenreg__health_after_check(tenreg_health from, int verdict, unsigned flags);
/* Recheck or awaited validation of @t in its turn: runs the validator and
 * publishes the health it leads to in @rec (allocated by the caller before
 * anything happened; consumed). Returns 0 (valid), TENREG_EVALIDATOR, or
 * TENREG_ENOENT (the registration is gone: result discarded). Admin thread,
 * outside any read section; holds a tenant reference. */
int tenreg__check(struct tenreg *reg, struct tenreg__tenant *t, struct tenreg__record *rec);
/* The same, by a thread that already holds @t's turnstile (and leaves it). */
int tenreg__check_in_turn(struct tenreg *reg, struct tenreg__tenant *t, struct tenreg__record *rec);

/* ---- schedule.c -------------------------------------------------------- */

/* CLOCK_MONOTONIC in ns, or the time a white-box test set. */
int64_t tenreg__now_ns(void);
/* Tests: makes tenreg__now_ns answer @ns (0: the real clock again). */
void tenreg__clock_fake(int64_t ns);
int tenreg__sched_init(struct tenreg *reg);
/* After the builders stopped and drained the ready queue: frees the heap. */
void tenreg__sched_destroy(struct tenreg *reg);
/* The end of @t's registration: its entry leaves the heap. Under
 * write_lock, after `removed` is set, before its record is retired. */
void tenreg__sched_forget(struct tenreg *reg, struct tenreg__tenant *t);
/* Teardown (builder_stop, single-threaded): gives up the turn of one ready
 * check, if any, and drops its reference. */
void tenreg__sched_drain_ready(struct tenreg *reg);
bool tenreg__sched_ready_empty(struct tenreg *reg);
/* Room for one more entry (registration, before any change): 0/ENOMEM. */
int tenreg__sched_reserve(struct tenreg *reg);
/* Room for @n more (a batch's registrations). */
int tenreg__sched_reserve_n(struct tenreg *reg, size_t n);
/* A new registration's first check, at a random point of the first
 * interval (room reserved). Under write_lock. */
void tenreg__sched_first(struct tenreg *reg, struct tenreg__tenant *t);
/* Builder threads, with no build to run: runs one ready or due check and
 * returns 0, or returns the ns until the next one is due (-1: none). */
int64_t tenreg__sched_work(struct tenreg *reg);
/* turnstile.c: a parked check's turn came; queue it (its reference
 * travels with it). */
void tenreg__sched_requeue(struct tenreg *reg, struct tenreg__tenant *t);
/* Tests: how many entries the heap holds, their due times copied into
 * @out (up to @cap, heap order); wake the builders. */
size_t tenreg__sched_due_times(struct tenreg *reg, int64_t *out, size_t cap);
void tenreg__sched_kick(struct tenreg *reg);

#endif /* TENREG_INTERNAL_H */
