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
 * registry, started by the first commit, frees them once a grace period
 * has passed. Usually that is the next commit's own (it kicks the thread
 * after it): on 2 cores with busy readers every extra waiter's polls and
 * wake-ups preempt a reader, so commits back to back need no grace period
 * but their own. When no commit is in progress (or none kicks within
 * RECLAIM_WAIT_MS), the thread waits for one itself (politely), for
 * everything queued.
 *
 * If the thread cannot be started, the commit frees them itself, after a
 * grace period of its own (tenreg__rcu_retire_here). tenreg_free stops the
 * thread once no commit can run (after its gate closed): the thread frees
 * what is queued first.
 *
 * QSBR: commits hand them to call_rcu (no IPIs to spare); the calls below
 * do nothing else.
 */
#include "internal.h"

#include <errno.h>
#include <time.h>

#ifndef TENREG_FLAVOR_QSBR

/* While a commit is in progress the thread waits for its grace period
 * (a 1M-tenant sync plans for ~0.5 s on 2 busy cores), up to
 * RECLAIM_WAIT_MS; when none is, one slice, then a grace period of its own:
 * a lone commit's frees are not held back. */
#define RECLAIM_SLICE_MS 5
#define RECLAIM_WAIT_MS 1000

static void deadline_in_ms(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += ms * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

static void *reclaim_main(void *arg)
{
    struct tenreg__reclaim *rc = arg;
    tenreg__rcu_ensure_registered();
    pthread_mutex_lock(&rc->lock);
    for (;;) {
        while (!rc->head && !rc->stop)
            pthread_cond_wait(&rc->cond, &rc->lock);
        if (!rc->head) /* stop, with nothing left */
            break;
        /* Wait for a grace period that began after the newest queued, a
         * commit's if one is in progress: sleep until it kicks (after its
         * grace period, or as it ends), since each wake-up of this thread
         * may preempt a reader. */
        bool idle_slept = false;
        while (!rc->stop && !tenreg__rcu_gp_covers(rc->newest_mark)) {
            bool idle = atomic_load_explicit(&rc->commits, memory_order_relaxed) == 0;
            if (idle && idle_slept)
                break;
            struct timespec until;
            deadline_in_ms(&until, idle ? RECLAIM_SLICE_MS : RECLAIM_WAIT_MS);
            int w = pthread_cond_timedwait(&rc->cond, &rc->lock, &until);
            if (w == ETIMEDOUT && !idle)
                break; /* a commit that takes that long: wait on our own */
            idle_slept = idle_slept || (idle && w == ETIMEDOUT);
        }
        struct rcu_head *list = rc->head;
        bool covered = tenreg__rcu_gp_covers(rc->newest_mark);
        rc->head = NULL;
        rc->tail = &rc->head;
        pthread_mutex_unlock(&rc->lock);
        if (covered) /* by another thread's wait, which TSan did not see end */
            TENREG__TSAN_ACQUIRE(&tenreg__tsan_grace_period);
        else
            tenreg__rcu_synchronize();
        tenreg__rcu_run_collected(list);
        pthread_mutex_lock(&rc->lock);
    }
    pthread_mutex_unlock(&rc->lock);
    tenreg__rcu_thread_stop();
    return NULL;
}

void tenreg__reclaim_init(struct tenreg *reg)
{
    struct tenreg__reclaim *rc = &reg->reclaim;
    pthread_mutex_init(&rc->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&rc->cond, &attr);
    pthread_condattr_destroy(&attr);
    rc->newest_mark = 0;
    atomic_init(&rc->commits, 0);
    rc->head = NULL;
    rc->tail = &rc->head;
    rc->started = rc->stop = false;
}

/* Queues @head; false when the thread could not be started. */
static bool queue(struct tenreg__reclaim *rc, struct rcu_head *head, void (*cb)(struct rcu_head *))
{
    pthread_mutex_lock(&rc->lock);
    if (!rc->started && !rc->stop)
        rc->started = pthread_create(&rc->thread, NULL, reclaim_main, rc) == 0;
    bool queued = rc->started && !rc->stop;
    if (queued) {
        TENREG__TSAN_RELEASE(head);
        tenreg__rcu_link(&rc->tail, head, cb);
        /* After the unlinks (finalize): a grace period that begins after
         * this mark covers them. */
        rc->newest_mark = tenreg__rcu_gp_mark();
        pthread_cond_signal(&rc->cond);
    }
    pthread_mutex_unlock(&rc->lock);
    return queued;
}

void tenreg__reclaim_retire(struct tenreg *reg, struct rcu_head *head,
                            void (*cb)(struct rcu_head *))
{
    if (!queue(&reg->reclaim, head, cb))
        tenreg__rcu_retire_here(head, cb);
}

void tenreg__reclaim_kick(struct tenreg *reg)
{
    struct tenreg__reclaim *rc = &reg->reclaim;
    pthread_mutex_lock(&rc->lock);
    if (rc->head)
        pthread_cond_signal(&rc->cond);
    pthread_mutex_unlock(&rc->lock);
}

void tenreg__reclaim_commit_begin(struct tenreg *reg)
{
    atomic_fetch_add_explicit(&reg->reclaim.commits, 1, memory_order_relaxed);
}

void tenreg__reclaim_commit_end(struct tenreg *reg)
{
    atomic_fetch_sub_explicit(&reg->reclaim.commits, 1, memory_order_relaxed);
    tenreg__reclaim_kick(reg); /* the thread may stop waiting for one */
}

void tenreg__reclaim_stop(struct tenreg *reg)
{
    struct tenreg__reclaim *rc = &reg->reclaim;
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

#else /* QSBR: no thread; what commits retire goes to call_rcu */

void tenreg__reclaim_init(struct tenreg *reg) { (void)reg; }
void tenreg__reclaim_stop(struct tenreg *reg) { (void)reg; }
void tenreg__reclaim_commit_begin(struct tenreg *reg) { (void)reg; }
void tenreg__reclaim_commit_end(struct tenreg *reg) { (void)reg; }
void tenreg__reclaim_kick(struct tenreg *reg) { (void)reg; }

void tenreg__reclaim_retire(struct tenreg *reg, struct rcu_head *head,
                            void (*cb)(struct rcu_head *))
{
    (void)reg;
    tenreg__call_rcu(head, cb);
}

#endif /* !TENREG_FLAVOR_QSBR */
