/*
 * Table rebuilds (white-box; src/table.c, tenreg__table_prepare): a table
 * whose live entries stay just under half its slots, with hosts moving
 * (each move a tombstone and an insert), is rebuilt at most once per
 * capacity/8 inserts, not every time its last free slots are used up.
 * A rebuild is seen as a new slot array (allocated while the one it
 * replaces is still there, so never at the same address) with the same
 * key; one with a fresh key is a re-key for the probe bound, rare with a
 * kernel key, and not counted.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "internal.h"
#include "test_support.h"

static tenreg_t *reg;

static void setup(void)
{
    tt_thread_init();
}

static void teardown(void)
{
    tenreg_free(reg);
    reg = NULL;
    tt_thread_fini();
    tt_platforms_release();
}

TestSuite(table_growth, .init = setup, .fini = teardown, .timeout = 60);

static void move(int i, int version)
{
    char id[16], url[48];
    snprintf(id, sizeof(id), "t%d", i);
    snprintf(url, sizeof(url), "t%d.v%d.example", i, version);
    cr_assert_eq(tenreg_register(reg, id, url, tt_platform_new(id, url), 0), TENREG_OK);
}

Test(table_growth, a_rebuild_under_churn_leaves_room_for_capacity_over_8_inserts)
{
    enum { LIVE = 508, MOVES = 600 };
    tenreg_config cfg = {.hash_seed = 0};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    for (int i = 0; i < LIVE; i++)
        move(i, 0);
    const struct tenreg__table *t = &reg->by_host;
    cr_assert_eq(tenreg__table_capacity(t), 1024, "the setup expects 508 of 1024 slots live");
    cr_assert_eq(t->live, LIVE);

    size_t rebuilds = 0, since = 0, room_needed = 0;
    for (int m = 0; m < MOVES; m++) {
        const struct tenreg__slots *before = t->cur;
        struct tenreg__hash_key key = before->key;
        size_t cap = tenreg__table_capacity(t);
        move(m % LIVE, 1 + m / LIVE);
        since++;
        if (t->cur != before && tenreg__hash_key_eq(&t->cur->key, &key)) {
            cr_assert_geq(since, room_needed, "rebuilt after %zu inserts, under %zu: capacity %zu",
                          since, room_needed, cap);
            rebuilds++;
            since = 0;
            room_needed = tenreg__table_capacity(t) / 8;
        }
        cr_assert_eq(t->live, LIVE);
    }
    cr_assert_geq(rebuilds, 1, "the churn never filled the table: the test tests nothing");
    tenreg_read_lock();
    tenreg_resolution r;
    cr_assert_eq(tenreg_resolve_by_host(reg, "t0.v2.example", 13, &r), TENREG_OK);
    cr_assert_str_eq(r.tenant_id, "t0");
    tenreg_read_unlock();
}

/* Growth needs no room of its own (it doubles at least): a batch that
 * loads 450 tenants into an empty registry gets the 1024 slots that hold
 * them under half, not 2048. */
Test(table_growth, a_growing_rebuild_is_sized_for_what_it_holds)
{
    tenreg_config cfg = {.hash_seed = 0};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    char id[16], url[48];
    for (int i = 0; i < 450; i++) {
        snprintf(id, sizeof(id), "t%d", i);
        snprintf(url, sizeof(url), "t%d.example", i);
        cr_assert_eq(tenreg_batch_register(b, id, url, tt_platform_new(id, url)), TENREG_OK);
    }
    cr_assert_eq(tenreg_batch_commit(b, 0), TENREG_OK);
    tenreg_batch_free(b);
    cr_assert_eq(tenreg__table_capacity(&reg->by_host), 1024);
    cr_assert_eq(tenreg__table_capacity(&reg->by_id), 1024);
}
