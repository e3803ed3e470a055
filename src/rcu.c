/*
 * rcu.c - thread registration, read sections and flavor glue.
 *
 * Readers register themselves (tenreg_thread_register). Admin calls may come
 * from any thread, so they register it on first use and a thread-exit
 * destructor unregisters it: liburcu must never keep a pointer to the TLS of
 * a thread that is gone. A thread that liburcu already knows (the adopter
 * registered it, or it is liburcu's own call_rcu thread running a
 * platform_free that calls back into tenreg) is borrowed: tenreg neither
 * registers nor unregisters it, and leaves its QSBR online state as found.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

/* Per thread: how many tenreg_thread_register() calls are open, whether
 * liburcu knows the thread, and whether tenreg registered it itself. */
static __thread unsigned user_regs;
static __thread bool rcu_registered;
static __thread bool borrowed;
/* Admin-path nesting; QSBR: whether the thread was online when the
 * outermost admin section began. */
static __thread unsigned admin_depth;
#ifdef TENREG_FLAVOR_QSBR
static __thread bool admin_was_online;
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
    if (URCU_TLS(rcu_reader).registered) {
        borrowed = true;
        return;
    }
    rcu_register_thread();
    pthread_once(&exit_key_once, make_exit_key);
    /* Any non-NULL value makes the destructor run at thread exit. */
    pthread_setspecific(exit_key, &rcu_registered);
#ifdef TENREG_FLAVOR_QSBR
    /* A thread registered only for admin calls must not hold up grace
     * periods between calls: it stays offline unless inside one. */
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
        if (!borrowed)
            rcu_thread_online();
#endif
        return;
    }
#ifdef TENREG_FLAVOR_QSBR
    /* Registered earlier by an admin call, and offline since. */
    if (!borrowed && admin_depth == 0)
        rcu_thread_online();
#endif
}

TENREG_API void tenreg_thread_unregister(void)
{
    if (user_regs == 0 || --user_regs > 0)
        return;
    TENREG__TSAN_RELEASE(&tenreg__tsan_grace_period);
    if (rcu_registered && !borrowed && admin_depth == 0) {
        rcu_unregister_thread();
        rcu_registered = false;
        pthread_setspecific(exit_key, NULL);
    }
}

TENREG_API void tenreg_read_lock(void)
{
    rcu_read_lock();
}

TENREG_API void tenreg_read_unlock(void)
{
    TENREG__TSAN_RELEASE(&tenreg__tsan_grace_period);
    rcu_read_unlock();
}

TENREG_API void tenreg_quiescent(void)
{
#ifdef TENREG_FLAVOR_QSBR
    /* Only an online reader may announce a quiescent state: on any other
     * thread liburcu would put it online (or corrupt its counter). */
    if (rcu_registered && rcu_read_ongoing()) {
        TENREG__TSAN_RELEASE(&tenreg__tsan_grace_period);
        rcu_quiescent_state();
    }
#endif
}

TENREG_API const char *tenreg_flavor(void)
{
    return TENREG__FLAVOR_NAME;
}

void tenreg__rcu_enter(void)
{
    tenreg__rcu_ensure_registered();
#ifdef TENREG_FLAVOR_QSBR
    if (admin_depth++ == 0) {
        admin_was_online = rcu_read_ongoing();
        if (!admin_was_online)
            rcu_thread_online();
    }
#else
    admin_depth++;
#endif
    rcu_read_lock();
}

void tenreg__rcu_exit(void)
{
    TENREG__TSAN_RELEASE(&tenreg__tsan_grace_period);
    rcu_read_unlock();
#ifdef TENREG_FLAVOR_QSBR
    if (--admin_depth == 0 && !admin_was_online)
        rcu_thread_offline();
#else
    admin_depth--;
#endif
}

void tenreg__rcu_barrier(void)
{
    tenreg__rcu_ensure_registered();
#ifndef TENREG_FLAVOR_QSBR
    /* tenreg_free inside a read section: liburcu's rcu_barrier would
     * return at once and the registry would be freed under the caller's
     * feet. Fail loudly instead of reading freed memory later. */
    if (rcu_read_ongoing()) {
        fputs("tenreg: tenreg_free called inside a read section\n", stderr);
        abort();
    }
#endif
#ifdef TENREG_FLAVOR_QSBR
    /* An online QSBR thread waiting for callbacks would wait for itself. */
    bool online = rcu_read_ongoing();
    if (online)
        rcu_thread_offline();
    rcu_barrier();
    if (online)
        rcu_thread_online();
#else
    rcu_barrier();
#endif
    TENREG__TSAN_ACQUIRE(&tenreg__tsan_callbacks);
}

void tenreg__call_rcu(struct rcu_head *head, void (*cb)(struct rcu_head *))
{
    TENREG__TSAN_RELEASE(head);
    call_rcu(head, cb);
}

void tenreg__rcu_thread_stop(void)
{
    if (rcu_registered && !borrowed) {
        rcu_unregister_thread();
        pthread_setspecific(exit_key, NULL);
    }
    rcu_registered = false;
}
