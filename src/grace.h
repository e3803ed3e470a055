/*
 * grace.h - the polite grace period of the memb flavor (grace.c).
 *
 * A batch commit waits for grace periods (docs/design.md §5.14). liburcu's
 * synchronize_rcu, when a reader is off its CPU inside a section, sleeps
 * on a futex that every other reader wakes at the end of each of its
 * sections, and issues two membarrier calls (an IPI to every CPU running
 * one of our threads) per wake-up: hundreds per grace period on a loaded
 * machine, each one a stall for every reader. The polite grace period
 * makes the same two membarrier calls as an uncontended synchronize_rcu
 * and, in between, polls the threads tenreg knows, yielding and then
 * sleeping, so that a reader that was off its CPU gets it back.
 *
 * Which threads: every thread that has called tenreg (rcu.c joins it to the
 * list when it first registers, borrowed threads included, and takes it
 * out when it unregisters or exits). A thread that never called tenreg
 * holds no pointer into a registry, so no grace period of ours has to wait
 * for it.
 *
 * What "in a section" means: liburcu's own nesting count of the thread
 * (so an adopter's raw rcu_read_lock counts too), read the way liburcu's
 * wait_for_readers reads it; and, so that a reader whose sections follow
 * each other closely is not missed, a counter of the thread's outermost
 * section ends (tenreg__gp_section_ended, rcu.c). A thread the first poll
 * finds in a section is done once it is seen outside one or its counter
 * moves. Without liburcu's parity flip a thread that only ever runs raw
 * sections back to back might never be seen outside one: after
 * TENREG__GP_POLITE_MAX_NS the wait falls back to synchronize_rcu.
 *
 * QSBR has no IPIs to spare and keeps synchronize_rcu.
 */
#ifndef TENREG_GRACE_H
#define TENREG_GRACE_H

#include "rcu_flavor.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <urcu/list.h>

#ifndef TENREG_FLAVOR_QSBR

/* How long a polite wait polls before it hands over to synchronize_rcu
 * (white-box tests move it with tenreg__gp_set_polite_max_ns). */
#define TENREG__GP_POLITE_MAX_NS (20 * 1000 * 1000)
void tenreg__gp_set_polite_max_ns(long long ns);

struct tenreg__gp_thread {
    struct cds_list_head node;         /* in the list, under its lock */
    const volatile unsigned long *ctr; /* liburcu's nesting and phase word */
    /* Outermost section ends. Written by its thread only; release, paired
     * with the acquire loads of the wait: what the section read happens
     * before whatever the waiter does once it sees the count move. */
    _Atomic unsigned long exits;
    bool joined;
    /* The wait's own, under the list lock. */
    unsigned long seen;
    bool waiting;
};

extern __thread struct tenreg__gp_thread tenreg__gp_me;

/* This thread's outermost section (liburcu nesting back at 0) ended. */
static inline void tenreg__gp_section_ended(void)
{
    unsigned long n = atomic_load_explicit(&tenreg__gp_me.exits, memory_order_relaxed);
    atomic_store_explicit(&tenreg__gp_me.exits, n + 1, memory_order_release);
}

/* Joins / leaves the list (idempotent). Outside any section. */
void tenreg__gp_join(void);
void tenreg__gp_leave(void);

/* Waits for a grace period politely; false when it could not (no usable
 * membarrier, or the wait ran past TENREG__GP_POLITE_MAX_NS): the caller
 * then waits with synchronize_rcu. Outside any section. */
bool tenreg__gp_polite(void);

/* Tests: polite waits that completed, those that fell back, and how many
 * threads the list holds. */
void tenreg__gp_counts(unsigned long *polite, unsigned long *fell_back, size_t *n_joined);

#endif /* !TENREG_FLAVOR_QSBR */

#endif
