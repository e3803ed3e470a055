/*
 * The once-cell (white-box): exactly one winner per transition, whatever
 * the number of threads that race for it, first on the bare cell
 * (tenreg__cell_move), then through the API: one factory call and one
 * submit to the builder queue per registration, however many resolvers
 * reach a cold tenant at once. The builder's claim() only checks that a
 * build has not begun, so two submits of one registration would still
 * give one factory call: the submits are counted (every submit bumps the
 * builder's kick counter) rather than inferred from the factory.
 *
 * Racers are released together by a spinning barrier (threads that are
 * already running, not woken one by one), round after round.
 */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "test_support.h"

#define RACERS 8

/* A reusable spinning barrier: every racer arrives, then all leave at
 * once. The last to arrive sets a release time a little ahead, and every
 * racer spins on the clock until then: the racers that are on a CPU at
 * that moment leave within a clock tick of each other, instead of one
 * cache-line transfer apart. */
struct spin_barrier {
    _Atomic unsigned arrived;
    _Atomic unsigned generation;
    _Atomic long long release_ns;
    unsigned n;
};

static void spin_wait(struct spin_barrier *b)
{
    unsigned gen = atomic_load(&b->generation);
    if (atomic_fetch_add(&b->arrived, 1) + 1 == b->n) {
        atomic_store(&b->arrived, 0);
        atomic_store(&b->release_ns, tt_now_ns() + 50000);
        atomic_store(&b->generation, gen + 1);
    } else {
        long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
        for (unsigned spins = 0; atomic_load(&b->generation) == gen; spins++) {
            if (spins % 64 == 63) {
                sched_yield(); /* more racers than cores: let the others arrive */
                cr_assert_lt(tt_now_ns(), deadline, "a racer never arrived");
            }
        }
    }
    long long at = atomic_load(&b->release_ns);
    while (tt_now_ns() < at)
        ;
}

/* ---- the bare cell ------------------------------------------------------ */

struct cell_race {
    _Atomic uint32_t cell;
    _Atomic int winners;
    _Atomic bool quit;
    uint32_t from, to;
    struct spin_barrier start;
    sem_t go, done;
};

static struct cell_race cellrace;

static void *cell_racer(void *arg)
{
    (void)arg;
    for (;;) {
        if (!tt_sem_wait_s(&cellrace.go, TT_WAIT_S))
            return NULL; /* the test failed and stopped posting */
        if (atomic_load(&cellrace.quit))
            return NULL;
        spin_wait(&cellrace.start);
        if (tenreg__cell_move(&cellrace.cell, cellrace.from, cellrace.to))
            atomic_fetch_add(&cellrace.winners, 1);
        sem_post(&cellrace.done);
    }
}

/* @rounds rounds of RACERS threads moving one cell from @from to @to. */
static void race_cell(unsigned rounds, uint32_t from, uint32_t to)
{
    pthread_t th[RACERS];
    memset(&cellrace, 0, sizeof(cellrace));
    cellrace.from = from;
    cellrace.to = to;
    cellrace.start.n = RACERS;
    sem_init(&cellrace.go, 0, 0);
    sem_init(&cellrace.done, 0, 0);
    for (int i = 0; i < RACERS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, cell_racer, NULL), 0);
    for (unsigned r = 0; r < rounds; r++) {
        atomic_store(&cellrace.cell, from);
        atomic_store(&cellrace.winners, 0);
        for (int i = 0; i < RACERS; i++)
            sem_post(&cellrace.go);
        for (int i = 0; i < RACERS; i++)
            TT_SEM_WAIT(&cellrace.done, "a racer did not finish its round");
        cr_assert_eq(atomic_load(&cellrace.winners), 1, "round %u: %d threads moved the cell %u -> %u",
                     r, atomic_load(&cellrace.winners), from, to);
        cr_assert_eq(atomic_load(&cellrace.cell), to);
    }
    atomic_store(&cellrace.quit, true);
    for (int i = 0; i < RACERS; i++)
        sem_post(&cellrace.go);
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    sem_destroy(&cellrace.go);
    sem_destroy(&cellrace.done);
}

static unsigned cell_rounds(void)
{
    /* A move that is not one atomic step shows up within tens of rounds. */
    unsigned n = tt_iters(5000);
    return n < 5000 ? n : 5000;
}

TestSuite(once_cell, .timeout = 120);

Test(once_cell, one_resolver_queues_the_build)
{
    race_cell(cell_rounds(), TENREG__CELL_EMPTY, TENREG__CELL_QUEUED);
}

Test(once_cell, one_builder_claims_the_build)
{
    race_cell(cell_rounds() / 4, TENREG__CELL_QUEUED, TENREG__CELL_BUILDING);
}

Test(once_cell, moves_from_another_state_fail)
{
    _Atomic uint32_t cell = TENREG__CELL_READY;
    cr_assert(!tenreg__cell_move(&cell, TENREG__CELL_EMPTY, TENREG__CELL_QUEUED));
    cr_assert_eq(atomic_load(&cell), TENREG__CELL_READY, "a failed move changed the cell");
    atomic_store(&cell, TENREG__CELL_BUILDING);
    cr_assert(!tenreg__cell_move(&cell, TENREG__CELL_QUEUED, TENREG__CELL_BUILDING));
    cr_assert(tenreg__cell_move(&cell, TENREG__CELL_BUILDING, TENREG__CELL_READY));
    cr_assert_eq(tenreg__cell_wait(&cell), TENREG__CELL_READY, "a final state never waits");
    cr_assert(!tenreg__cell_make_stale(&cell), "a final state does not go stale");
    atomic_store(&cell, TENREG__CELL_QUEUED);
    cr_assert(tenreg__cell_make_stale(&cell));
    cr_assert_eq(atomic_load(&cell), TENREG__CELL_STALE);
}

/* ---- through the API ---------------------------------------------------- */

static tenreg_t *reg;
static struct tt_free_counter frees;
static _Atomic int factory_calls;

static int counting_factory(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    atomic_fetch_add(&factory_calls, 1);
    *platform = tt_platform_new(tenant_id, "lazy");
    return 0;
}

struct api_race {
    char host[64];
    unsigned flags;
    int rc[RACERS];
    void *platform[RACERS];
    _Atomic bool quit;
    struct spin_barrier start;
    sem_t go, done;
};

static struct api_race ar;

static void *api_racer(void *arg)
{
    int me = (int)(intptr_t)arg;
    tenreg_thread_register();
    for (;;) {
        if (!tt_sem_wait_s(&ar.go, TT_WAIT_S) || atomic_load(&ar.quit))
            break;
        spin_wait(&ar.start);
        tenreg_resolution r = {0};
        tenreg_read_lock();
        ar.rc[me] = tenreg_resolve(reg, ar.host, strlen(ar.host), ar.flags, &r);
        ar.platform[me] = r.platform;
        tenreg_read_unlock();
        sem_post(&ar.done);
    }
    tenreg_thread_unregister();
    return NULL;
}

static void race_api(unsigned rounds, unsigned builders, unsigned flags)
{
    tt_thread_init();
    tenreg_config cfg = {.platform_free = tt_count_free, .platform_free_ctx = &frees,
                         .builder_threads = builders};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    memset(&ar, 0, sizeof(ar));
    ar.flags = flags;
    ar.start.n = RACERS;
    sem_init(&ar.go, 0, 0);
    sem_init(&ar.done, 0, 0);
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, api_racer, (void *)(intptr_t)i), 0);

    for (unsigned r = 0; r < rounds; r++) {
        char id[32];
        snprintf(id, sizeof(id), "t%u", r);
        snprintf(ar.host, sizeof(ar.host), "T%u.example:443", r);
        cr_assert_eq(tenreg_register_lazy(reg, id, ar.host, counting_factory, NULL, 0), TENREG_OK);
        int calls0 = atomic_load(&factory_calls);
        uint32_t kicks0 = atomic_load(&reg->builder.kicks);
        for (int i = 0; i < RACERS; i++)
            sem_post(&ar.go);
        for (int i = 0; i < RACERS; i++)
            TT_SEM_WAIT(&ar.done, "a resolver did not return");
        /* NOWAIT rounds: this thread waits for the build (a blocking resolve
         * queues nothing more: the cell is not EMPTY any more). */
        tenreg_resolution res = {0};
        tenreg_read_lock();
        cr_assert_eq(tenreg_resolve(reg, ar.host, strlen(ar.host), 0, &res), TENREG_OK,
                     "round %u", r);
        void *built = res.platform;
        tenreg_read_unlock();
        uint32_t submits = atomic_load(&reg->builder.kicks) - kicks0;
        cr_assert_eq(submits, 1, "round %u: %u submits to the builders for one registration", r,
                     submits);
        cr_assert_eq(atomic_load(&factory_calls) - calls0, 1, "round %u: %d factory calls", r,
                     atomic_load(&factory_calls) - calls0);
        for (int i = 0; i < RACERS; i++) {
            if (flags & TENREG_NOWAIT) {
                cr_assert(ar.rc[i] == TENREG_EPENDING || ar.rc[i] == TENREG_OK,
                          "round %u racer %d: %d", r, i, ar.rc[i]);
                cr_assert_eq(ar.platform[i], ar.rc[i] == TENREG_OK ? built : NULL);
            } else {
                cr_assert_eq(ar.rc[i], TENREG_OK, "round %u racer %d: %d", r, i, ar.rc[i]);
                cr_assert_eq(ar.platform[i], built, "round %u: different platforms", r);
            }
        }
        cr_assert_str_eq(((struct tt_platform *)built)->tenant_id, id);
        if (r % 2)
            cr_assert_eq(tenreg_unregister(reg, id), TENREG_OK);
    }
    atomic_store(&ar.quit, true);
    for (int i = 0; i < RACERS; i++)
        sem_post(&ar.go);
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    sem_destroy(&ar.go);
    sem_destroy(&ar.done);
    tenreg_free(reg);
    reg = NULL;
    cr_assert_eq(atomic_load(&frees.double_frees), 0);
    cr_assert_eq(tt_platforms_not_freed_once(), 0, "a built platform was not freed exactly once");
    tt_thread_fini();
    tt_platforms_release();
}

static unsigned api_rounds(void)
{
    unsigned n = tt_iters(2000);
    return n < 2000 ? n : 2000;
}

Test(once_cell, blocking_resolvers_one_factory_call_one_submit)
{
    race_api(api_rounds(), 1, 0);
}

Test(once_cell, nowait_resolvers_one_factory_call_one_submit)
{
    race_api(api_rounds(), 1, TENREG_NOWAIT);
}

Test(once_cell, four_builders_one_factory_call_one_submit)
{
    race_api(api_rounds() / 2, 4, 0);
}
