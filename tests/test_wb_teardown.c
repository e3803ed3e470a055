/*
 * test_wb_teardown.c - tenreg_free against callbacks that are still
 * running (white-box: waits for the registry's `closing` flag to know that
 * tenreg_free has begun).
 *
 * A factory in flight when tenreg_free begins finishes its build; every
 * admin call it makes after that answers EINVAL and changes nothing; the
 * platform it built is freed exactly once, before tenreg_free returns.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <semaphore.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "test_support.h"

#define LONG_MS 5000

static bool sem_wait_ms(sem_t *s, int ms)
{
    return tt_sem_wait_s(s, ms / 1000.0);
}

static tenreg_t *reg;
static sem_t in_factory, gate, freed_done;
static int built, other;
static _Atomic int frees_built, frees_other, rc_register = 99, rc_unregister = 99, rc_lazy = 99;

static void counting_free(void *ctx, void *p)
{
    (void)ctx;
    atomic_fetch_add(p == &built ? &frees_built : &frees_other, 1);
}

static int failing(void *ctx, const char *id, void **out)
{
    (void)ctx;
    (void)id;
    (void)out;
    return -1;
}

static int late_factory(void *ctx, const char *id, void **out)
{
    (void)ctx;
    (void)id;
    sem_post(&in_factory);
    if (!sem_wait_ms(&gate, LONG_MS))
        return -1;
    atomic_store(&rc_register, tenreg_register(reg, "late", "late.example", &other, 0));
    atomic_store(&rc_unregister, tenreg_unregister(reg, "e"));
    atomic_store(&rc_lazy, tenreg_register_lazy(reg, "late2", "late2.example", failing, NULL, 0));
    *out = &built;
    return 0;
}

static void *freer(void *arg)
{
    (void)arg;
    tenreg_free(reg);
    sem_post(&freed_done);
    return NULL;
}

Test(teardown, factory_in_flight_when_free_begins, .timeout = 60)
{
    sem_init(&in_factory, 0, 0);
    sem_init(&gate, 0, 0);
    sem_init(&freed_done, 0, 0);
    tenreg_config cfg = {.platform_free = counting_free};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    static int e;
    cr_assert_eq(tenreg_register(reg, "e", "e.example", &e, 0), TENREG_OK);
    cr_assert_eq(tenreg_register_lazy(reg, "lz", "lz.example", late_factory, NULL, 0), TENREG_OK);
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve(reg, "lz.example", 10, TENREG_NOWAIT, &r), TENREG_EPENDING);
    tenreg_read_unlock();
    cr_assert(sem_wait_ms(&in_factory, LONG_MS));

    pthread_t th;
    pthread_create(&th, NULL, freer, NULL);
    bool closing = false;
    for (int i = 0; i < LONG_MS && !closing; i++) {
        closing = atomic_load(&reg->closing);
        struct timespec ms = {0, 1000000};
        if (!closing)
            nanosleep(&ms, NULL);
    }
    cr_assert(closing, "tenreg_free never began");
    sem_post(&gate);
    cr_assert(sem_wait_ms(&freed_done, 2 * LONG_MS), "tenreg_free never returned");
    pthread_join(th, NULL);
    cr_assert_eq(atomic_load(&rc_register), TENREG_EINVAL);
    cr_assert_eq(atomic_load(&rc_unregister), TENREG_EINVAL);
    cr_assert_eq(atomic_load(&rc_lazy), TENREG_EINVAL);
    cr_assert_eq(atomic_load(&frees_built), 1, "the platform built during free: %d frees",
                 atomic_load(&frees_built));
    cr_assert_eq(atomic_load(&frees_other), 1, "only e's own platform: %d",
                 atomic_load(&frees_other));
}
