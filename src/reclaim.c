/*
 * reclaim.c - memb: the registry's reclaim thread, which frees what batch
 * commits retired once a polite grace period has passed (grace.h).
 *
 * A commit that freed its retired records, aliases, slot arrays and swaps
 * itself would wait for a second grace period and run every platform_free
 * before it returned (a tenth to a fifth of a 10k-op commit); handing them
 * to call_rcu would have liburcu's call_rcu thread wait with
 * synchronize_rcu, whose futex wake-ups and membarrier IPIs stall every
 * reader (grace.h). So commits queue them here, and one thread per
 * registry, started by the first commit, waits politely and frees; the
 * commits queued while it waited share its next grace period.
 *
 * If the thread cannot be started, the commit frees them itself, after a
 * grace period of its own (tenreg__rcu_retire_here). tenreg_free stops the
 * thread once no commit can run (after its gate closed): the thread frees
 * what is queued first.
 *
 * QSBR: commits hand them to call_rcu (no IPIs to spare), and none of this
 * is compiled.
 */
#include "internal.h"

#ifndef TENREG_FLAVOR_QSBR

static void *reclaim_main(void *arg)
{
    struct tenreg__reclaim *rc = arg;
    tenreg__rcu_ensure_registered();
    pthread_mutex_lock(&rc->lock);
    for (;;) {
        while (!rc->head && !rc->stop)
            pthread_cond_wait(&rc->cond, &rc->lock);
        struct rcu_head *list = rc->head;
        rc->head = NULL;
        rc->tail = &rc->head;
        if (!list) /* stop, with nothing left */
            break;
        pthread_mutex_unlock(&rc->lock);
        tenreg__rcu_synchronize();
        tenreg__rcu_run_collected(list);
        pthread_mutex_lock(&rc->lock);
    }
    pthread_mutex_unlock(&rc->lock);
    tenreg__rcu_thread_stop();
    return NULL;
}

void tenreg__reclaim_init(struct tenreg__reclaim *rc)
{
    pthread_mutex_init(&rc->lock, NULL);
    pthread_cond_init(&rc->cond, NULL);
    rc->head = NULL;
    rc->tail = &rc->head;
    rc->started = rc->stop = false;
}

bool tenreg__reclaim_queue(struct tenreg__reclaim *rc, struct rcu_head *head,
                           void (*cb)(struct rcu_head *))
{
    pthread_mutex_lock(&rc->lock);
    if (!rc->started && !rc->stop) {
        rc->started = pthread_create(&rc->thread, NULL, reclaim_main, rc) == 0;
    }
    bool queued = rc->started && !rc->stop;
    if (queued) {
        TENREG__TSAN_RELEASE(head);
        head->func = cb;
        head->next.next = NULL;
        *rc->tail = head;
        rc->tail = (struct rcu_head **)&head->next.next;
        pthread_cond_signal(&rc->cond);
    }
    pthread_mutex_unlock(&rc->lock);
    return queued;
}

void tenreg__reclaim_stop(struct tenreg__reclaim *rc)
{
    pthread_mutex_lock(&rc->lock);
    rc->stop = true;
    bool started = rc->started;
    pthread_cond_signal(&rc->cond);
    pthread_mutex_unlock(&rc->lock);
    if (started)
        pthread_join(rc->thread, NULL);
    pthread_cond_destroy(&rc->cond);
    pthread_mutex_destroy(&rc->lock);
}

#endif /* !TENREG_FLAVOR_QSBR */
