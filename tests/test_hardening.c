/*
 * test_hardening.c - docs/design.md §2 "Threads and read sections" against
 * libtenreg (memb): the cases of hardening_cases.h, plus teardown.
 */
#define _LGPL_SOURCE
#include <urcu/urcu-memb.h>

#define FLAVOR_SUITE memb
#define FLAVOR_THREAD_IS_READING() urcu_memb_read_ongoing()
#include "hardening_cases.h"

/* ---- defect 4: tenreg_free shuts admin calls out ----------------------- */

static _Atomic bool freeing;
static _Atomic int calls_in_free, calls_not_refused;
static void fresh_free(void *ctx, void *p)
{
    hp_free(ctx, p);
    if (!atomic_load(&freeing))
        return;
    /* Admin calls from a callback that runs during tenreg_free. */
    static struct hp late;
    int rcs[] = {
        tenreg_register(reg, "late", "late.example", &late, 0),
        tenreg_register_lazy(reg, "late2", "late2.example", failing_factory, NULL, 0),
        tenreg_unregister(reg, "t1"),
        tenreg_recheck(reg, "t2"),
    };
    for (size_t i = 0; i < sizeof(rcs) / sizeof(rcs[0]); i++) {
        atomic_fetch_add(&calls_in_free, 1);
        if (rcs[i] != TENREG_EINVAL)
            atomic_fetch_add(&calls_not_refused, 1);
    }
}

Test(memb, admin_calls_during_free_answer_einval)
{
    /* 31 tenants: the next insert would grow the 64-slot tables, whose old
     * arrays the registry would retire after it is gone. */
    tenreg_config cfg = {.platform_free = fresh_free};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    for (int i = 0; i < 31; i++) {
        char id[8], host[32];
        snprintf(id, sizeof(id), "t%d", i);
        snprintf(host, sizeof(host), "t%d.example", i);
        cr_assert_eq(tenreg_register(reg, id, host, &plats[i], 0), TENREG_OK);
    }
    atomic_store(&freeing, true);
    tenreg_free(reg);
    cr_assert_eq(atomic_load(&frees), 31);
    cr_assert_eq(atomic_load(&calls_in_free), 31 * 4);
    cr_assert_eq(atomic_load(&calls_not_refused), 0,
                 "%d admin calls were accepted during tenreg_free", atomic_load(&calls_not_refused));
}
