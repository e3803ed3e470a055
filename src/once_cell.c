/*
 * once_cell.c - the lazy build state of one registration (the once-cell of
 * docs/design.md §5): one atomic word, moved by CAS, slept on with a futex.
 *
 * Exactly-once comes from the single EMPTY -> QUEUED (or EMPTY -> BUILDING)
 * CAS: whoever wins it owns the build; everyone else waits on the word or,
 * with TENREG_NOWAIT, leaves at once.
 */
#include "internal.h"

#include "futex.h"

uint32_t tenreg__cell_wait(_Atomic uint32_t *cell)
{
    for (;;) {
        uint32_t s = atomic_load_explicit(cell, memory_order_acquire);
        if (!tenreg__cell_busy(s))
            return s;
        tenreg__futex_wait(cell, s);
    }
}

bool tenreg__cell_move(_Atomic uint32_t *cell, uint32_t from, uint32_t to)
{
    if (!atomic_compare_exchange_strong_explicit(cell, &from, to, memory_order_acq_rel,
                                                 memory_order_acquire))
        return false;
    if (!tenreg__cell_in_flight(to))
        tenreg__futex_wake_all(cell);
    return true;
}

bool tenreg__cell_make_stale(_Atomic uint32_t *cell)
{
    uint32_t s = atomic_load_explicit(cell, memory_order_acquire);
    /* A failed cell too: a build retry (resolve.c, retry_due) moves it
     * back to QUEUED, which must fail once the registration has ended. */
    while (tenreg__cell_in_flight(s) || s == TENREG__CELL_FAILED_FACTORY ||
           s == TENREG__CELL_FAILED_VALIDATOR) {
        if (atomic_compare_exchange_weak_explicit(cell, &s, TENREG__CELL_STALE,
                                                  memory_order_acq_rel, memory_order_acquire)) {
            tenreg__futex_wake_all(cell);
            return true;
        }
    }
    return false;
}
