/*
 * rcu.c - thread registration, read sections and flavor glue.
 *
 * Readers register themselves (tenreg_thread_register). Admin calls may come
 * from any thread, so they register it on first use and a thread-exit
 * destructor unregisters it: liburcu must never keep a pointer to the TLS of
 * a thread that is gone.
 */
#include "internal.h"

#include <stdlib.h>

/* Per thread: how many tenreg_thread_register() calls are open, and
 * whether liburcu knows the thread (by the user or by an admin call). */
static __thread unsigned user_regs;
static __thread bool rcu_registered;
/* Admin-path nesting, for QSBR online/offline bookkeeping. */
static __thread unsigned admin_depth;

#ifdef TENREG__TSAN
char tenreg__tsan_grace_period;
char tenreg__tsan_callbacks;
#endif

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void on_thread_exit(void *arg)
{
    (void)arg;
    if (rcu_registered) {
        rcu_unregister_thread();
        rcu_registered = false;
    }
    user_regs = 0;
}

static void make_exit_key(void)
{
    if (pthread_key_create(&exit_key, on_thread_exit) != 0)
        abort(); /* only fails when the process is out of keys at start-up */
}

static void ensure_registered(void)
{
    if (TENREG__LIKELY(rcu_registered))
        return;
    rcu_register_thread();
    rcu_registered = true;
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
#ifdef TENREG_FLAVOR_QSBR
    if (rcu_registered) {
        if (admin_depth == 0)
            rcu_thread_online();
        return;
    }
#endif
    ensure_registered();
}

TENREG_API void tenreg_thread_unregister(void)
{
    if (user_regs == 0 || --user_regs > 0)
        return;
    TENREG__TSAN_RELEASE(&tenreg__tsan_grace_period);
    if (rcu_registered && admin_depth == 0) {
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
    TENREG__TSAN_RELEASE(&tenreg__tsan_grace_period);
    rcu_quiescent_state();
#endif
}

TENREG_API const char *tenreg_flavor(void)
{
    return TENREG__FLAVOR_NAME;
}

void tenreg__rcu_enter(void)
{
    ensure_registered();
#ifdef TENREG_FLAVOR_QSBR
    if (admin_depth++ == 0 && user_regs == 0)
        rcu_thread_online();
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
    if (--admin_depth == 0 && user_regs == 0)
        rcu_thread_offline();
#else
    admin_depth--;
#endif
}

void tenreg__rcu_barrier(void)
{
    ensure_registered();
#ifdef TENREG_FLAVOR_QSBR
    /* An online QSBR thread waiting for callbacks would wait for itself. */
    bool online = user_regs > 0 || admin_depth > 0;
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

void tenreg__rcu_thread_start(void)
{
    ensure_registered();
}

void tenreg__rcu_thread_stop(void)
{
    if (rcu_registered) {
        rcu_unregister_thread();
        rcu_registered = false;
        pthread_setspecific(exit_key, NULL);
    }
}
