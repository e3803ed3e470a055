/*
 * turnstile.c - per-tenant FIFO for rechecks, awaited validations and lazy
 * builds (docs/design.md, "Per-tenant order").
 *
 * A ticket lock rather than a mutex: arrival order is part of the contract
 * (a later recheck must see the health an earlier one left), and pthread
 * mutexes promise no order. Admin threads take a ticket when they arrive and
 * sleep on a futex until it is served. A lazy build takes its ticket when it
 * is queued (tenreg__builder_submit), so it keeps its place behind the
 * checks that arrived before it and ahead of those that arrive after; but a
 * builder thread never sleeps here (one slow validator must not hold up
 * other tenants' builds): if its build's turn has not come, it parks the
 * build and the thread whose exit serves that ticket queues it again.
 */
#include "internal.h"

#include "futex.h"

uint32_t tenreg__turnstile_ticket(struct tenreg__turnstile *t)
{
    return atomic_fetch_add(&t->next, 1);
}

void tenreg__tenant_enter(struct tenreg__tenant *t)
{
    uint32_t ticket = tenreg__turnstile_ticket(&t->turn);
    for (;;) {
        uint32_t now = atomic_load(&t->turn.serving);
        if (now == ticket)
            return;
        tenreg__futex_wait(&t->turn.serving, now);
    }
}

/*
 * The parking handshake is a store-buffering pattern, so every access below
 * is seq_cst: the builder stores `build->parked` then loads `serving`; the
 * leaving thread increments `serving` then loads `build->parked`. At least
 * one of them sees the other's store, and the exchange on `build->parked`
 * picks exactly one of them to run (or queue) the build.
 */
static bool turn_or_park(struct tenreg__tenant *t, _Atomic uint32_t *ticket_word,
                         atomic_bool *parked)
{
    uint32_t ticket = atomic_load_explicit(ticket_word, memory_order_relaxed);
    if (atomic_load(&t->turn.serving) == ticket)
        return true;
    atomic_store(parked, true);
    if (atomic_load(&t->turn.serving) != ticket)
        return false; /* the thread that serves it will queue it again */
    return atomic_exchange(parked, false);
}

bool tenreg__build_turn(struct tenreg__tenant *t)
{
    return turn_or_park(t, &t->build->ticket, &t->build->parked);
}

bool tenreg__check_turn(struct tenreg__tenant *t)
{
    return turn_or_park(t, &t->check_ticket, &t->check_parked);
}

void tenreg__tenant_leave(struct tenreg__tenant *t)
{
    uint32_t now = atomic_fetch_add(&t->turn.serving, 1) + 1;
    /* Always wake: deciding from a load of `next` whether anyone waits is
     * a store-buffering race on weakly ordered CPUs (the load may pass the
     * increment and miss a waiter that is about to sleep). This is an admin
     * path; one syscall is cheap next to a validator. */
    tenreg__futex_wake_all(&t->turn.serving);
    struct tenreg__build *b = t->build; /* fixed for the tenant's life */
    if (b && atomic_load(&b->parked) &&
        atomic_load_explicit(&b->ticket, memory_order_relaxed) == now &&
        atomic_exchange(&b->parked, false))
        tenreg__builder_requeue(t->reg, t);
    /* A parked background check (schedule.c): the same handshake. */
    else if (atomic_load(&t->check_parked) &&
             atomic_load_explicit(&t->check_ticket, memory_order_relaxed) == now &&
             atomic_exchange(&t->check_parked, false))
        tenreg__sched_requeue(t->reg, t);
}
