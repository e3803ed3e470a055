/*
 * The polite grace period of the memb flavor (src/grace.h), white-box:
 *   - it waits for a tenreg_read_lock section that was open when it began,
 *     and for an adopter's raw rcu_read_lock section on a reader thread
 *     (tenreg_thread_register), and completes politely once they end;
 *   - a reader whose sections follow each other with no gap does not hold
 *     it up (its count of section ends moves);
 *   - past the polite wait's bound it hands over to synchronize_rcu,
 *     which still waits for the section;
 *   - threads leave its list when they exit;
 *   - what a batch commit replaced is freed after a grace period by the
 *     reclaim thread, not the committer, and tenreg_free drains it.
 * Each wait is bounded; a test forces its interleaving with semaphores.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "grace.h"
#include "internal.h"
#include "test_support.h"

static sem_t in, release, out;
static _Atomic bool gp_done, stop;
static tenreg_t *reg;

static void setup(void)
{
    sem_init(&in, 0, 0);
    sem_init(&release, 0, 0);
    sem_init(&out, 0, 0);
    atomic_store(&gp_done, false);
    atomic_store(&stop, false);
    tenreg__gp_set_polite_max_ns(10LL * 1000 * 1000 * 1000); /* > any wait here */
    cr_assert_eq(tenreg_new(NULL, &reg), TENREG_OK);
}

static void teardown(void)
{
    tenreg__gp_set_polite_max_ns(TENREG__GP_POLITE_MAX_NS);
    tenreg_free(reg);
}

TestSuite(grace, .init = setup, .fini = teardown, .timeout = 60);

static void counts(unsigned long *polite, unsigned long *fell_back)
{
    size_t threads;
    tenreg__gp_counts(polite, fell_back, &threads);
}

static void *commit_thread(void *b)
{
    return (void *)(intptr_t)tenreg_batch_commit(b, 0);
}

static void *grace_period(void *arg)
{
    (void)arg;
    tenreg__rcu_synchronize();
    atomic_store(&gp_done, true);
    return NULL;
}

/* Holds a section (tenreg's, or raw liburcu) until released. */
static void *hold_section(void *raw)
{
    if (raw) {
        rcu_register_thread(); /* the adopter's own registration: tenreg borrows it */
        tenreg_thread_register();
        rcu_read_lock();
    } else {
        tenreg_thread_register();
        tenreg_read_lock();
    }
    sem_post(&in);
    tt_sem_wait_s(&release, TT_WAIT_S);
    if (raw) {
        rcu_read_unlock();
        tenreg_thread_unregister();
        rcu_unregister_thread();
    } else {
        tenreg_read_unlock();
        tenreg_thread_unregister();
    }
    sem_post(&out);
    return NULL;
}

/* The grace period must not end while the section is open; it ends
 * politely once the section does. */
static void check_waits_for(bool raw)
{
    unsigned long p0, f0, p1, f1;
    counts(&p0, &f0);
    pthread_t reader;
    cr_assert_eq(pthread_create(&reader, NULL, hold_section, raw ? &reader : NULL), 0);
    TT_SEM_WAIT(&in, "the reader's section");
    struct tt_bounded gp;
    tt_bounded_start(&gp, grace_period, NULL);
    usleep(20 * 1000);
    cr_assert(!atomic_load(&gp_done), "the grace period ended inside a section open at its start");
    sem_post(&release);
    TT_BOUNDED_JOIN(&gp, "the grace period after the section ended");
    TT_SEM_WAIT(&out, "the reader's end");
    pthread_join(reader, NULL);
    counts(&p1, &f1);
    cr_expect_eq(p1, p0 + 1, "polite waits %lu -> %lu", p0, p1);
    cr_expect_eq(f1, f0, "fallbacks %lu -> %lu", f0, f1);
}

Test(grace, waits_for_a_tenreg_section)
{
    check_waits_for(false);
}

Test(grace, waits_for_a_raw_rcu_section)
{
    check_waits_for(true);
}

static void *back_to_back(void *arg)
{
    (void)arg;
    tenreg_thread_register();
    tenreg_resolution r;
    sem_post(&in);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        tenreg_read_lock();
        (void)tenreg_resolve_by_host(reg, "x.example", 9, &r);
        tenreg_read_unlock();
    }
    tenreg_thread_unregister();
    return NULL;
}

Test(grace, back_to_back_sections_do_not_hold_it_up)
{
    unsigned long p0, f0, p1, f1;
    pthread_t readers[2];
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(pthread_create(&readers[i], NULL, back_to_back, NULL), 0);
        TT_SEM_WAIT(&in, "a reader's start");
    }
    counts(&p0, &f0);
    for (int i = 0; i < 50; i++) {
        struct tt_bounded gp;
        atomic_store(&gp_done, false);
        tt_bounded_start(&gp, grace_period, NULL);
        TT_BOUNDED_JOIN(&gp, "a grace period with readers in back-to-back sections");
    }
    counts(&p1, &f1);
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(readers[i], NULL);
    cr_expect_eq(p1, p0 + 50, "polite waits %lu -> %lu", p0, p1);
    cr_expect_eq(f1, f0, "fallbacks %lu -> %lu", f0, f1);
}

Test(grace, falls_back_to_synchronize_rcu_and_still_waits)
{
    tenreg__gp_set_polite_max_ns(2LL * 1000 * 1000);
    unsigned long p0, f0, p1, f1;
    counts(&p0, &f0);
    pthread_t reader;
    cr_assert_eq(pthread_create(&reader, NULL, hold_section, NULL), 0);
    TT_SEM_WAIT(&in, "the reader's section");
    struct tt_bounded gp;
    tt_bounded_start(&gp, grace_period, NULL);
    long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
    do {
        counts(&p1, &f1);
        usleep(1000);
    } while (f1 == f0 && tt_now_ns() < deadline);
    cr_assert_eq(f1, f0 + 1, "the polite wait never handed over");
    usleep(20 * 1000);
    cr_assert(!atomic_load(&gp_done), "synchronize_rcu ended inside the section");
    sem_post(&release);
    TT_BOUNDED_JOIN(&gp, "synchronize_rcu after the section ended");
    TT_SEM_WAIT(&out, "the reader's end");
    pthread_join(reader, NULL);
    counts(&p1, &f1);
    cr_expect_eq(p1, p0, "no polite wait completed");
}

static pthread_barrier_t joined, leave;

static void *join_and_exit(void *arg)
{
    (void)arg;
    tenreg_read_lock(); /* registers the thread until it exits */
    tenreg_resolution r;
    (void)tenreg_resolve_by_host(reg, "x.example", 9, &r);
    tenreg_read_unlock();
    pthread_barrier_wait(&joined);
    pthread_barrier_wait(&leave);
    return NULL; /* the thread-exit destructor takes it off the list */
}

Test(grace, exiting_threads_leave_the_list)
{
    enum { N = 16 };
    size_t t0, t1, t2;
    unsigned long p, f;
    /* The registry's builder thread joins when it starts: wait for it, so
     * that only this test's threads come and go. */
    long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
    do {
        tenreg__gp_counts(&p, &f, &t0);
    } while (t0 == 0 && tt_now_ns() < deadline && usleep(1000) == 0);
    cr_assert_eq(t0, 1, "threads on the list before the test: %zu (the builder)", t0);
    pthread_barrier_init(&joined, NULL, N + 1);
    pthread_barrier_init(&leave, NULL, N + 1);
    pthread_t th[N];
    for (int i = 0; i < N; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, join_and_exit, NULL), 0);
    pthread_barrier_wait(&joined);
    tenreg__gp_counts(&p, &f, &t1);
    pthread_barrier_wait(&leave);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    tenreg__gp_counts(&p, &f, &t2);
    cr_expect_eq(t1, t0 + N, "threads on the list: %zu, then %zu with %d more", t0, t1, N);
    cr_expect_eq(t2, t0, "threads on the list after they exited: %zu (was %zu)", t2, t0);
    struct tt_bounded gp;
    tt_bounded_start(&gp, grace_period, NULL);
    TT_BOUNDED_JOIN(&gp, "a grace period after the threads left");
}

static _Atomic int freed;
static _Atomic bool freed_on_committer;
static pthread_t committer;

static void count_free(void *ctx, void *platform)
{
    (void)ctx;
    (void)platform;
    if (pthread_equal(pthread_self(), committer))
        atomic_store(&freed_on_committer, true);
    atomic_fetch_add(&freed, 1);
}

/* What a commit replaced is freed after a grace period by the reclaim
 * thread (src/reclaim.c), not by the committing thread, and not before a
 * section that was open during the commit ends. */
Test(grace, commit_retires_to_the_reclaim_thread)
{
    tenreg_free(reg);
    tenreg_config cfg = {.platform_free = count_free};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    static int plat[2];
    cr_assert_eq(tenreg_register(reg, "a", "https://a.example", &plat[0], 0), TENREG_OK);
    cr_assert_eq(tenreg_register(reg, "b", "https://b.example", &plat[1], 0), TENREG_OK);
    pthread_t reader;
    cr_assert_eq(pthread_create(&reader, NULL, hold_section, NULL), 0);
    TT_SEM_WAIT(&in, "the reader's section");
    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    cr_assert_eq(tenreg_batch_unregister(b, "a"), TENREG_OK);
    cr_assert_eq(tenreg_batch_unregister(b, "b"), TENREG_OK);
    atomic_store(&freed, 0);
    committer = pthread_self();
    /* The commit's first grace period waits for the reader: commit on a
     * bounded thread, and let the reader go once it waits. */
    struct tt_bounded c;
    tt_bounded_start(&c, commit_thread, b);
    usleep(20 * 1000);
    cr_assert_eq(atomic_load(&freed), 0, "freed inside an open section");
    sem_post(&release);
    TT_BOUNDED_JOIN(&c, "the commit after the section ended");
    cr_assert_eq((intptr_t)c.ret, TENREG_OK);
    long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
    while (atomic_load(&freed) < 2 && tt_now_ns() < deadline)
        usleep(1000);
    cr_expect_eq(atomic_load(&freed), 2, "platforms freed: %d", atomic_load(&freed));
    cr_expect(!atomic_load(&freed_on_committer), "freed on the committing thread");
    TT_SEM_WAIT(&out, "the reader's end");
    pthread_join(reader, NULL);
    tenreg_stats st;
    cr_assert_eq(tenreg_stats_of(reg, &st), TENREG_OK);
    cr_expect_eq(st.deferred, 0, "deferred frees left: %zu", (size_t)st.deferred);
    tenreg_batch_free(b);
}

/* tenreg_free frees what the reclaim thread still has queued. */
Test(grace, free_drains_the_reclaim_thread)
{
    tenreg_free(reg);
    tenreg_config cfg = {.platform_free = count_free};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    static int plat[64];
    char id[16], url[64];
    atomic_store(&freed, 0);
    for (int round = 0; round < 8; round++) {
        tenreg_batch *b;
        cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
        for (int i = 0; i < 8; i++) {
            snprintf(id, sizeof id, "t%d", i);
            snprintf(url, sizeof url, "https://t%d.r%d.example", i, round);
            cr_assert_eq(tenreg_batch_register(b, id, url, &plat[round * 8 + i]), TENREG_OK);
        }
        cr_assert_eq(tenreg_batch_commit(b, 0), TENREG_OK);
        tenreg_batch_free(b);
    }
    tenreg_free(reg);
    reg = NULL;
    /* 7 rounds replaced (by the reclaim thread, some maybe still queued at
     * tenreg_free), the 8th unregistered by tenreg_free: 64 in all. */
    cr_expect_eq(atomic_load(&freed), 64, "platforms freed: %d of 64", atomic_load(&freed));
    cr_assert_eq(tenreg_new(NULL, &reg), TENREG_OK); /* for the suite's .fini */
}
