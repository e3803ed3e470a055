/*
 * rcu.c - thread registration, read sections and flavor glue.
 *
 * Readers register themselves (tenreg_thread_register). A thread that
 * forgot to, and any thread that makes an admin call, is registered on
 * first use, and a thread-exit destructor unregisters it: liburcu must
 * never keep a pointer to the TLS of a thread that is gone, and a read
 * section of an unregistered thread would protect nothing. A thread that
 * liburcu already knows (the adopter registered it, or it is liburcu's own
 * call_rcu thread running a platform_free that calls back into tenreg) is
 * borrowed: tenreg neither registers nor unregisters it.
 *
 * QSBR: a thread that tenreg registered only for admin calls or builds
 * stays offline between them, so that it never holds up grace periods; a
 * tenreg_read_lock on an offline thread brings it online for the section
 * (or a callback's read section would protect nothing). Adopter code that
 * tenreg calls (validators, factories, platform_free) runs offline, the
 * QSBR spelling of "outside any read section".
 */
#include "internal.h"
#include "grace.h"

#include <stdio.h>
#include <stdlib.h>

/* Per thread: how many tenreg_thread_register() calls are open, whether
 * liburcu knows the thread, and whether tenreg registered it itself. */
static __thread unsigned user_regs;
static __thread bool rcu_registered;
static __thread bool borrowed;
/* A kind of section on this thread: its nesting, and (QSBR) whether the
 * outermost one brought the thread online, so that its end takes the
 * thread offline again. The adopter's tenreg_read_lock sections and
 * tenreg's own admin-path sections nest independently. */
struct nest {
    unsigned depth;
    bool went_online;
};
static __thread struct nest reads, admins;

/* Batch epochs (internal.h). The counter has a line of its own: readers
 * load it at every outermost section, commits store it. */
static _Alignas(64) _Atomic uint64_t epoch = 1;
static pthread_mutex_t epoch_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread uint64_t pinned;

/* A read section begins (or, QSBR, begins anew): pin the epoch. Acquire:
 * pairs with the release bump in tenreg__epoch_end, so the swaps of the
 * commit pinned are all visible to this section. Inside the section (after
 * rcu_read_lock, rcu_thread_online or rcu_quiescent_state), so a commit's
 * grace period waits for any section that pinned the epoch before it. */
static inline void pin(void)
{
    pinned = atomic_load_explicit(&epoch, memory_order_acquire);
}

uint64_t tenreg__epoch_pinned(void)
{
    return pinned;
}

uint64_t tenreg__epoch_begin(void)
{
    /* One commit at a time across registries: a section that pins epoch
     * e must find every swap of e installed, so no other commit may bump
     * the counter to e while this one is still installing. */
    pthread_mutex_lock(&epoch_lock);
    return atomic_load_explicit(&epoch, memory_order_relaxed) + 1;
}

void tenreg__epoch_end(void)
{
    atomic_fetch_add_explicit(&epoch, 1, memory_order_release);
    pthread_mutex_unlock(&epoch_lock);
}

/* memb: how deep liburcu's own nesting is (the adopter may have taken
 * rcu_read_lock itself on a borrowed thread). */
#ifndef TENREG_FLAVOR_QSBR
static inline unsigned long urcu_nesting(void)
{
    return URCU_TLS(rcu_reader).ctr & URCU_GP_CTR_NEST_MASK;
}
#endif

/* memb: the polite grace period's list of threads (grace.h). */
#ifdef TENREG_FLAVOR_QSBR
#define GP_JOIN() ((void)0)
#define GP_LEAVE() ((void)0)
#else
#define GP_JOIN() tenreg__gp_join()
#define GP_LEAVE() tenreg__gp_leave()
#endif

#ifdef TENREG__TSAN
char tenreg__tsan_grace_period;
char tenreg__tsan_callbacks;
#endif

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void on_thread_exit(void *arg)
{
    (void)arg;
    GP_LEAVE();
    if (rcu_registered && !borrowed)
        rcu_unregister_thread();
    rcu_registered = false;
    user_regs = 0;
}

static void make_exit_key(void)
{
    if (pthread_key_create(&exit_key, on_thread_exit) != 0)
        abort(); /* only fails when the process is out of keys at start-up */
}

void tenreg__rcu_ensure_registered(void)
{
    if (TENREG__LIKELY(rcu_registered))
        return;
    rcu_registered = true;
    pthread_once(&exit_key_once, make_exit_key);
    /* Any non-NULL value makes the destructor run at thread exit: it
     * unregisters the thread (unless borrowed) and, memb, takes it off the
     * polite grace period's list. */
    pthread_setspecific(exit_key, &rcu_registered);
    if (URCU_TLS(rcu_reader).registered) {
        borrowed = true;
        GP_JOIN();
        return;
    }
    rcu_register_thread();
    GP_JOIN();
#ifdef TENREG_FLAVOR_QSBR
    /* A thread registered only for admin calls (or by a read section it
     * forgot to register for) must not hold up grace periods between
     * them: it stays offline unless inside one. */
    if (user_regs == 0)
        rcu_thread_offline();
#endif
}

TENREG_API void tenreg_thread_register(void)
{
    if (user_regs++ > 0)
        return;
    if (!rcu_registered) {
        tenreg__rcu_ensure_registered();
#ifdef TENREG_FLAVOR_QSBR
        if (!borrowed) {
            rcu_thread_online();
            pin();
        }
#endif
        return;
    }
    /* Registered earlier, implicitly (admin call, read section): liburcu
     * knows it already, so it is not registered a second time. */
#ifdef TENREG_FLAVOR_QSBR
    if (!borrowed && !rcu_read_ongoing()) {
        rcu_thread_online();
        pin();
    }
    /* Now a reader: the sections that brought it online leave it so. */
    reads.went_online = admins.went_online = false;
#endif
}

TENREG_API void tenreg_thread_unregister(void)
{
    if (user_regs == 0 || --user_regs > 0)
        return;
    TENREG__TSAN_RELEASE(&tenreg__tsan_grace_period);
    if (rcu_registered && !borrowed && admins.depth == 0 && reads.depth == 0) {
        GP_LEAVE();
        rcu_unregister_thread();
        rcu_registered = false;
        pthread_setspecific(exit_key, NULL);
    }
}

/* QSBR: brings the thread online if it is not; returns whether it did. */
static inline bool come_online(void)
{
#ifdef TENREG_FLAVOR_QSBR
    if (!rcu_read_ongoing()) {
        rcu_thread_online();
        pin();
        return true;
    }
#endif
    return false;
}

static inline void nest_enter(struct nest *n)
{
    if (TENREG__UNLIKELY(!rcu_registered))
        tenreg__rcu_ensure_registered();
#ifdef TENREG_FLAVOR_QSBR
    if (n->depth == 0)
        n->went_online = come_online(); /* pins when it comes online */
    n->depth++;
    rcu_read_lock();
#else
    bool outermost = reads.depth + admins.depth == 0;
    n->depth++;
    rcu_read_lock();
    if (outermost)
        pin();
#endif
}

static inline void nest_exit(struct nest *n)
{
    TENREG__TSAN_RELEASE(&tenreg__tsan_grace_period);
    rcu_read_unlock();
#ifndef TENREG_FLAVOR_QSBR
    if (urcu_nesting() == 0)
        tenreg__gp_section_ended();
#endif
    if (n->depth > 0)
        n->depth--;
#ifdef TENREG_FLAVOR_QSBR
    if (n->depth == 0 && n->went_online) {
        n->went_online = false;
        rcu_thread_offline();
    }
#endif
}

TENREG_API void tenreg_read_lock(void)
{
    nest_enter(&reads);
}

TENREG_API void tenreg_read_unlock(void)
{
    nest_exit(&reads);
}

TENREG_API void tenreg_quiescent(void)
{
#ifdef TENREG_FLAVOR_QSBR
    /* Only an online reader may announce a quiescent state: on any other
     * thread liburcu would put it online (or corrupt its counter). */
    if (rcu_registered && rcu_read_ongoing()) {
        TENREG__TSAN_RELEASE(&tenreg__tsan_grace_period);
        rcu_quiescent_state();
        pin(); /* a new section begins */
    }
#endif
}

TENREG_API const char *tenreg_flavor(void)
{
    return TENREG__FLAVOR_NAME;
}

void tenreg__rcu_enter(void)
{
    nest_enter(&admins);
}

void tenreg__rcu_exit(void)
{
    nest_exit(&admins);
}

bool tenreg__rcu_may_sleep(void)
{
    if (!rcu_registered || admins.depth != 0)
        return false;
#ifdef TENREG_FLAVOR_QSBR
    /* An online reader, in at most one tenreg_read_lock section. */
    return reads.depth <= 1 && rcu_read_ongoing();
#else
    return reads.depth == 1 && urcu_nesting() == 1;
#endif
}

/* The caller's read-section state while a blocking resolve is out of it:
 * meanwhile the thread counts as outside any section, so that adopter code
 * run there (a platform_free on the last reference) gets read sections of
 * its own that really protect. */
static __thread struct nest slept;

void tenreg__rcu_sleep_begin(void)
{
    TENREG__TSAN_RELEASE(&tenreg__tsan_grace_period);
    slept = reads;
    reads = (struct nest){0};
#ifdef TENREG_FLAVOR_QSBR
    rcu_thread_offline();
#else
    rcu_read_unlock();
    if (urcu_nesting() == 0)
        tenreg__gp_section_ended();
#endif
}

void tenreg__rcu_sleep_end(void)
{
#ifdef TENREG_FLAVOR_QSBR
    rcu_thread_online();
#else
    rcu_read_lock();
#endif
    pin(); /* a new section */
    reads = slept;
}

bool tenreg__rcu_offline_begin(void)
{
#ifdef TENREG_FLAVOR_QSBR
    /* Not only threads tenreg registered: liburcu's call_rcu thread too. */
    if (URCU_TLS(rcu_reader).registered && rcu_read_ongoing()) {
        TENREG__TSAN_RELEASE(&tenreg__tsan_grace_period);
        rcu_thread_offline();
        return true;
    }
#endif
    return false;
}

void tenreg__rcu_offline_end(bool was_online)
{
#ifdef TENREG_FLAVOR_QSBR
    if (was_online) {
        rcu_thread_online();
        pin();
    }
#else
    (void)was_online;
#endif
}

bool tenreg__rcu_free_begin(void)
{
    /* tenreg_free inside a read section: its waits (builders, callbacks)
     * could wait for the caller, and rcu_barrier would free the registry
     * under the caller's feet. Fail loudly instead. */
    bool inside = reads.depth > 0 || admins.depth > 0;
#ifndef TENREG_FLAVOR_QSBR
    inside = inside || rcu_read_ongoing();
#endif
    if (inside) {
        fputs("tenreg: tenreg_free called inside a read section\n", stderr);
        abort();
    }
    /* QSBR: an online reader shutting down must not hold up the grace
     * periods that a build in flight, or a callback, may wait for. */
    return tenreg__rcu_offline_begin();
}

void tenreg__rcu_barrier(void)
{
    tenreg__rcu_ensure_registered();
    /* QSBR: an online thread waiting for callbacks would wait for itself. */
    bool online = tenreg__rcu_offline_begin();
    rcu_barrier();
    tenreg__rcu_offline_end(online);
    TENREG__TSAN_ACQUIRE(&tenreg__tsan_callbacks);
}

/* Where tenreg__call_rcu links the next head while collecting, or NULL. */
static __thread struct rcu_head **collect_tail;

void tenreg__call_rcu(struct rcu_head *head, void (*cb)(struct rcu_head *))
{
    TENREG__TSAN_RELEASE(head);
    if (collect_tail) {
        tenreg__rcu_link(&collect_tail, head, cb);
        return;
    }
    call_rcu(head, cb);
}

void tenreg__rcu_link(struct rcu_head ***tail, struct rcu_head *head,
                      void (*cb)(struct rcu_head *))
{
    head->func = cb;
    head->next.next = NULL;
    **tail = head;
    *tail = (struct rcu_head **)&head->next.next;
}

void tenreg__rcu_collect_begin(struct rcu_head **list)
{
    /* Appends: a list may be collected into more than once. */
    while (*list)
        list = (struct rcu_head **)&(*list)->next.next;
    collect_tail = list;
}

void tenreg__rcu_collect_end(void)
{
    collect_tail = NULL;
}

void tenreg__rcu_run_collected(struct rcu_head *list)
{
    while (list) {
        /* The callback frees the head: read the link first. */
        struct rcu_head *next = (struct rcu_head *)list->next.next;
        list->func(list);
        list = next;
    }
}

void tenreg__rcu_thread_stop(void)
{
    GP_LEAVE();
    if (rcu_registered && !borrowed) {
        rcu_unregister_thread();
        pthread_setspecific(exit_key, NULL);
    }
    rcu_registered = false;
}

bool tenreg__rcu_inside(void)
{
    bool inside = reads.depth > 0 || admins.depth > 0;
#ifndef TENREG_FLAVOR_QSBR
    inside = inside || (rcu_registered && rcu_read_ongoing());
#endif
    return inside;
}

/* Grace periods of tenreg__rcu_synchronize: how many began, and the number
 * of the latest that ended (seq_cst: a mark read after an unlink is older
 * than any grace period that begins after the read). */
static _Atomic uint64_t gp_begun, gp_ended;

uint64_t tenreg__rcu_gp_mark(void)
{
    return atomic_load(&gp_begun);
}

bool tenreg__rcu_gp_covers(uint64_t mark)
{
    return atomic_load(&gp_ended) > mark;
}

void tenreg__rcu_synchronize(void)
{
    tenreg__rcu_ensure_registered();
    uint64_t me = atomic_fetch_add(&gp_begun, 1) + 1;
    /* QSBR: an online thread waiting for a grace period would wait for itself. */
    bool online = tenreg__rcu_offline_begin();
#ifdef TENREG_FLAVOR_QSBR
    synchronize_rcu();
#else
    if (!tenreg__gp_polite())
        synchronize_rcu();
#endif
    tenreg__rcu_offline_end(online);
    /* Grace periods may end out of order (a fallback's): keep the latest. */
    uint64_t seen = atomic_load(&gp_ended);
    while (seen < me && !atomic_compare_exchange_weak(&gp_ended, &seen, me)) {
    }
    /* Every read section that began before the call has ended: what they
     * did happens before what the caller does next (TSan cannot see
     * liburcu's own ordering; tsan.h). */
    TENREG__TSAN_ACQUIRE(&tenreg__tsan_grace_period);
}

void tenreg__rcu_retire_here(struct rcu_head *head, void (*cb)(struct rcu_head *))
{
    TENREG__TSAN_RELEASE(head);
    tenreg__rcu_synchronize();
    cb(head);
}

unsigned tenreg__rcu_read_depth(void)
{
    return reads.depth;
}

bool tenreg__rcu_thread_known(void)
{
    return URCU_TLS(rcu_reader).registered;
}
