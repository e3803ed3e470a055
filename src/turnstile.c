/*
 * turnstile.c - per-tenant FIFO for rechecks, awaited validations and lazy
 * builds (DESIGN.md §2: "one at a time, in arrival order").
 *
 * A ticket lock rather than a mutex: arrival order is part of the contract
 * (a later recheck must see the health an earlier one left), and pthread
 * mutexes promise no order. Waiters are admin threads only; builder
 * threads never wait here (tenreg__turnstile_try_enter), so one slow
 * validator cannot hold up other tenants' builds.
 */
#include "internal.h"

#include "futex.h"

void tenreg__turnstile_enter(struct tenreg__turnstile *t)
{
    uint32_t ticket = atomic_fetch_add(&t->next, 1);
    for (;;) {
        uint32_t now = atomic_load(&t->serving);
        if (now == ticket)
            return;
        tenreg__futex_wait(&t->serving, now);
    }
}

bool tenreg__turnstile_try_enter(struct tenreg__turnstile *t)
{
    uint32_t now = atomic_load(&t->serving);
    uint32_t expected = now;
    /* Take the next ticket only if it is the one being served. */
    return atomic_compare_exchange_strong(&t->next, &expected, now + 1);
}

void tenreg__turnstile_exit(struct tenreg__turnstile *t)
{
    atomic_fetch_add(&t->serving, 1);
    /* Always wake: deciding from a load of `next` whether anyone waits is
     * a store-buffering race on weakly ordered CPUs (the load may pass the
     * increment and miss a waiter that is about to sleep). This is an admin
     * path; one syscall is cheap next to a validator. */
    tenreg__futex_wake_all(&t->serving);
}
