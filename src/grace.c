/*
 * grace.c - the polite grace period of the memb flavor (grace.h says why).
 *
 * The argument is liburcu memb's own (urcu.c, wait_for_readers), with our
 * list of threads instead of its registry:
 *   - first membarrier: every thread whose liburcu counter store (section
 *     begins) came before it is seen in a section by the polls after it;
 *     every section that begins after it sees everything the waiter stored
 *     before the call (the swaps and the epoch bump, or the unlinks);
 *   - the polls: a thread found in a section at the first one is done when
 *     a later one finds it outside (nesting 0) or its count of outermost
 *     section ends moved (acquire, paired with the release in
 *     tenreg__gp_section_ended);
 *   - second membarrier: what those sections read is ordered before what
 *     the waiter does next (it may free it).
 */
#include "grace.h"

#ifndef TENREG_FLAVOR_QSBR

#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

__thread struct tenreg__gp_thread tenreg__gp_me;

static CDS_LIST_HEAD(threads);
/* The list, and one polite wait at a time (the wait's fields). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long n_polite, n_fell_back;
static _Atomic long long polite_max_ns = TENREG__GP_POLITE_MAX_NS;

void tenreg__gp_set_polite_max_ns(long long ns)
{
    atomic_store_explicit(&polite_max_ns, ns, memory_order_relaxed);
}

static pthread_once_t cmd_once = PTHREAD_ONCE_INIT;
static int cmd = -1; /* the membarrier command, -1: none, 0: readers fence */

static void choose_cmd(void)
{
    if (!urcu_memb_has_sys_membarrier) {
        /* liburcu's readers then fence on their own (smp_mb_slave). */
        cmd = 0;
        return;
    }
    long mask = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0);
    if (mask < 0)
        return;
    if ((mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0)
        cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
    else if (mask & MEMBARRIER_CMD_GLOBAL)
        cmd = MEMBARRIER_CMD_GLOBAL;
}

/* A full barrier on every CPU that runs one of our threads. */
static bool barrier_all(void)
{
    if (cmd == 0) {
        cmm_smp_mb();
        return true;
    }
    return syscall(__NR_membarrier, cmd, 0) == 0;
}

void tenreg__gp_join(void)
{
    struct tenreg__gp_thread *me = &tenreg__gp_me;
    if (me->joined)
        return;
    me->ctr = &URCU_TLS(rcu_reader).ctr;
    pthread_mutex_lock(&lock);
    cds_list_add(&me->node, &threads);
    me->joined = true;
    pthread_mutex_unlock(&lock);
}

void tenreg__gp_leave(void)
{
    struct tenreg__gp_thread *me = &tenreg__gp_me;
    if (!me->joined)
        return;
    pthread_mutex_lock(&lock);
    cds_list_del(&me->node);
    me->joined = false;
    pthread_mutex_unlock(&lock);
}

/* Whether @t is inside a section: liburcu's nesting count, read as its
 * wait_for_readers reads it (a volatile load of a word the thread stores
 * with CMM_STORE_SHARED; tsan.supp). */
static bool in_section(const struct tenreg__gp_thread *t)
{
    return (CMM_LOAD_SHARED(*t->ctr) & URCU_GP_CTR_NEST_MASK) != 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Between polls: spin a little (a reader on its CPU leaves its section
 * within a lookup), then yield (one that was preempted needs a CPU), then
 * sleep, twice as long each time up to 1 ms (one that is descheduled for
 * longer: with more threads than CPUs every wake-up of the waiter preempts
 * some reader, so it must not wake often). */
static void back_off(unsigned round)
{
    if (round < 16) {
        for (int i = 0; i < 64; i++)
            caa_cpu_relax();
    } else if (round < 32) {
        sched_yield();
    } else {
        unsigned shift = round - 32 < 6 ? round - 32 : 6;
        struct timespec ts = {0, (long)(16 * 1000) << shift};
        nanosleep(&ts, NULL);
    }
}

bool tenreg__gp_polite(void)
{
    pthread_once(&cmd_once, choose_cmd);
    if (cmd < 0)
        return false;
    pthread_mutex_lock(&lock);
    if (!barrier_all()) {
        pthread_mutex_unlock(&lock);
        return false;
    }
    size_t busy = 0;
    struct tenreg__gp_thread *t;
    cds_list_for_each_entry(t, &threads, node) {
        /* The count first: a section that ends between the two loads
         * then shows as a moved count, never as a missed one. */
        t->seen = atomic_load_explicit(&t->exits, memory_order_acquire);
        t->waiting = t != &tenreg__gp_me && in_section(t);
        busy += t->waiting;
    }
    uint64_t start = busy ? now_ns() : 0;
    uint64_t max_ns = (uint64_t)atomic_load_explicit(&polite_max_ns, memory_order_relaxed);
    for (unsigned round = 0; busy; round++) {
        if ((round >= 32 || round % 16 == 15) && now_ns() - start > max_ns) {
            n_fell_back++;
            pthread_mutex_unlock(&lock);
            return false;
        }
        back_off(round);
        cds_list_for_each_entry(t, &threads, node) {
            if (t->waiting &&
                (atomic_load_explicit(&t->exits, memory_order_acquire) != t->seen || !in_section(t))) {
                t->waiting = false;
                busy--;
            }
        }
    }
    if (!barrier_all()) {
        n_fell_back++;
        pthread_mutex_unlock(&lock);
        return false;
    }
    n_polite++;
    pthread_mutex_unlock(&lock);
    return true;
}

void tenreg__gp_counts(unsigned long *polite, unsigned long *fell_back, size_t *n_joined)
{
    pthread_mutex_lock(&lock);
    *polite = n_polite;
    *fell_back = n_fell_back;
    *n_joined = 0;
    struct tenreg__gp_thread *t;
    cds_list_for_each_entry(t, &threads, node)
        (*n_joined)++;
    pthread_mutex_unlock(&lock);
}

#endif /* !TENREG_FLAVOR_QSBR */
