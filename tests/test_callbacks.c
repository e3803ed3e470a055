/*
 * Callbacks and threads that liburcu already knows: a platform_free (run by
 * liburcu's call_rcu thread) that calls back into tenreg, and an
 * application thread registered with liburcu directly. tenreg must borrow
 * such threads as they are, never register them a second time.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>
#define _LGPL_SOURCE
#include <urcu/urcu-memb.h>

#include "test_support.h"

static tenreg_t *reg;
static _Atomic int frees_seen;
static _Atomic int health_rc_in_free = 99;
static _Atomic bool tearing_down; /* nobody may use a registry tenreg_free is freeing */

/* platform_free that looks a tenant up: runs on the call_rcu thread. */
static void looking_free(void *ctx, void *platform)
{
    (void)ctx;
    (void)platform;
    tenreg_health h;
    if (!atomic_load(&tearing_down))
        atomic_store(&health_rc_in_free, tenreg_health_of(reg, "keep", &h));
    atomic_fetch_add(&frees_seen, 1);
}

TestSuite(callbacks, .timeout = 30);

Test(callbacks, platform_free_may_call_tenreg)
{
    static int pa, pk;
    tenreg_config cfg = {.platform_free = looking_free};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    cr_assert_eq(tenreg_register(reg, "keep", "keep.example", &pk, 0), TENREG_OK);
    cr_assert_eq(tenreg_register(reg, "a", "a.example", &pa, 0), TENREG_OK);
    cr_assert_eq(tenreg_unregister(reg, "a"), TENREG_OK);
    for (int i = 0; i < 500 && atomic_load(&frees_seen) == 0; i++)
        usleep(10 * 1000);
    cr_assert_eq(atomic_load(&frees_seen), 1, "platform not freed within 5 s");
    cr_assert_eq(atomic_load(&health_rc_in_free), TENREG_OK);
    atomic_store(&tearing_down, true);
    tenreg_free(reg);
    cr_assert_eq(atomic_load(&frees_seen), 2);
}

static void *urcu_registered_thread(void *arg)
{
    (void)arg;
    urcu_memb_register_thread(); /* the application's own registration */
    static int p;
    cr_assert_eq(tenreg_register(reg, "t", "t.example", &p, TENREG_AWAIT_FIRST_VALIDATION),
                 TENREG_OK);
    tenreg_thread_register(); /* borrowed: no second registration */
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_host(reg, "t.example", 9, &r), TENREG_OK);
    tenreg_read_unlock();
    tenreg_thread_unregister(); /* leaves the application's registration alone */
    cr_assert_eq(tenreg_unregister(reg, "t"), TENREG_OK);
    urcu_memb_read_lock(); /* still registered with liburcu */
    urcu_memb_read_unlock();
    urcu_memb_unregister_thread();
    return NULL;
}

Test(callbacks, application_registered_thread_is_borrowed)
{
    cr_assert_eq(tenreg_new(NULL, &reg), TENREG_OK);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, urcu_registered_thread, NULL), 0);
    pthread_join(th, NULL);
    cr_assert_eq(tenreg_count(reg), 0);
    tenreg_free(reg);
}
