/*
 * turnstile.c - per-tenant FIFO for rechecks, awaited validations and lazy
 * builds (DESIGN.md §2: "one at a time, in arrival order").
 *
 * A ticket lock rather than a mutex: arrival order is part of the contract
 * (a later recheck must see the health an earlier one left), and pthread
 * mutexes promise no order. Waiters are admin and builder threads only.
 */
#include "internal.h"

#include "futex.h"

void tenreg__turnstile_enter(struct tenreg__turnstile *t)
{
    uint32_t ticket = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed);
    for (;;) {
        uint32_t now = atomic_load_explicit(&t->serving, memory_order_acquire);
        if (now == ticket)
            return;
        tenreg__futex_wait(&t->serving, now);
    }
}

void tenreg__turnstile_exit(struct tenreg__turnstile *t)
{
    atomic_fetch_add_explicit(&t->serving, 1, memory_order_release);
    /* Every waiter rechecks its own ticket; there are rarely more than one. */
    if (atomic_load_explicit(&t->next, memory_order_relaxed) !=
        atomic_load_explicit(&t->serving, memory_order_relaxed))
        tenreg__futex_wake_all(&t->serving);
}
