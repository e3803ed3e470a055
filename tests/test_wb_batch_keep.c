/*
 * How a commit finds the tenants a batch names (white-box;
 * src/batch_commit.c, find_current): under a kernel key the batch takes
 * by_id's key, and a sync whose ops are mostly keeps finds the kept ids by
 * their hashes alone (the digest rule); every op that changes a tenant is
 * still looked up by its key.
 *
 * A 64-bit collision cannot be found, so a test makes one: it overwrites
 * the hash a batch recorded for an id no tenant has ("ghost") with the
 * hash of a registered id, which is what a real collision would look like
 * to the commit.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
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

TestSuite(batch_keep, .init = setup, .fini = teardown, .timeout = 60);

static const char *const ids[] = {"x", "y", "z", "w"};

/* A registry of x, y, z, w (hosts NAME.example) under @seed. */
static void registry(uint64_t seed)
{
    tenreg_config cfg = {.hash_seed = seed};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    char url[32];
    for (size_t i = 0; i < 4; i++) {
        snprintf(url, sizeof(url), "%s.example", ids[i]);
        cr_assert_eq(tenreg_register(reg, ids[i], url, tt_platform_new(ids[i], url), 0), TENREG_OK);
    }
}

/* Gives "ghost", named in @b, the hash @b recorded for @as. */
static void forge_ghost(tenreg_batch *b, const char *as)
{
    uint32_t i = tenreg__batch_find(b, "ghost", 5);
    cr_assert_neq(i, TENREG__NONE);
    b->names[i].hash = tenreg__hash(&b->key, as, strlen(as));
}

static bool registered(const char *id)
{
    tenreg_health h;
    int rc = tenreg_health_of(reg, id, &h);
    cr_assert(rc == TENREG_OK || rc == TENREG_ENOENT, "%s: %s", id, tenreg_err_name(rc));
    return rc == TENREG_OK;
}

Test(batch_keep, a_batch_takes_by_ids_key_only_when_it_is_secret)
{
    tenreg_batch *b;
    registry(0);
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    cr_assert(tenreg__hash_key_eq(&b->key, &reg->by_id.cur->key), "by_id's kernel key not taken");
    tenreg_batch_free(b);
    tenreg_free(reg);

    registry(42);
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    cr_assert(!tenreg__hash_key_eq(&b->key, &reg->by_id.cur->key),
              "a key derived from hash_seed is public: the batch needs its own");
    tenreg_batch_free(b);
}

/* Keeps of x and of a ghost with x's hash, REPLACE_ALL: under the digest
 * rule the ghost is taken for x (the accepted false match), and the two
 * names on one slot still leave y, z and w to go; with a fixed seed the
 * keys are compared and the ghost's keep fails. */
static int sync_with_a_ghost(uint64_t seed)
{
    registry(seed);
    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    cr_assert_eq(tenreg_batch_keep(b, "x"), TENREG_OK);
    cr_assert_eq(tenreg_batch_keep(b, "ghost"), TENREG_OK);
    forge_ghost(b, "x");
    int rc = tenreg_batch_commit(b, TENREG_BATCH_REPLACE_ALL);
    tenreg_batch_free(b);
    return rc;
}

Test(batch_keep, a_sync_finds_kept_ids_by_hash_under_a_kernel_key)
{
    cr_assert_eq(sync_with_a_ghost(0), TENREG_OK, "the kept ids were not found by hash");
    cr_assert_eq(tenreg_count(reg), 1, "a tenant no op names stayed");
    cr_assert(registered("x"));
    for (size_t i = 1; i < 4; i++)
        cr_assert(!registered(ids[i]), "%s was not left out", ids[i]);
}

Test(batch_keep, a_sync_compares_keys_under_a_fixed_seed)
{
    cr_assert_eq(sync_with_a_ghost(42), TENREG_ENOENT);
    cr_assert_eq(tenreg_count(reg), 4, "a failed commit changed the registry");
}

/* A sync of keeps (found by hash) with an unregister and a register of
 * ids whose hash a tenant has: each changing op is checked by key. */
Test(batch_keep, ops_that_change_a_tenant_never_rely_on_a_hash)
{
    registry(0);
    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(tenreg_batch_keep(b, ids[i]), TENREG_OK);
    cr_assert_eq(tenreg_batch_unregister(b, "ghost"), TENREG_OK);
    forge_ghost(b, "x");
    cr_assert_eq(tenreg_batch_commit(b, TENREG_BATCH_REPLACE_ALL), TENREG_ENOENT,
                 "the unregister of an id no tenant has was taken for x's");
    tenreg_batch_free(b);
    cr_assert_eq(tenreg_count(reg), 4, "a failed commit changed the registry");

    /* The same keeps, w unregistered by its key and the ghost registered:
     * w goes, the ghost is new, x stays x. */
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(tenreg_batch_keep(b, ids[i]), TENREG_OK);
    cr_assert_eq(tenreg_batch_unregister(b, "w"), TENREG_OK);
    cr_assert_eq(tenreg_batch_register(b, "ghost", "ghost.example",
                                       tt_platform_new("ghost", "ghost.example")),
                 TENREG_OK);
    forge_ghost(b, "x");
    cr_assert_eq(tenreg_batch_commit(b, TENREG_BATCH_REPLACE_ALL), TENREG_OK);
    tenreg_batch_free(b);
    cr_assert_eq(tenreg_count(reg), 4);
    cr_assert(!registered("w"), "w's unregister was lost");
    tenreg_read_lock();
    tenreg_resolution r;
    cr_assert_eq(tenreg_resolve_by_host(reg, "x.example", 9, &r), TENREG_OK);
    cr_assert_str_eq(r.tenant_id, "x");
    cr_assert_eq(tenreg_resolve_by_host(reg, "ghost.example", 13, &r), TENREG_OK);
    cr_assert_str_eq(r.tenant_id, "ghost");
    tenreg_read_unlock();
}

/* Under a kernel key the commit's key map and install use the tables' own
 * keys (the hashes found in the plan fill the slots); under a fixed seed,
 * the batch's key and the keys read again. Both give the same registry. */
Test(batch_keep, moves_adds_and_removals_under_either_key)
{
    const uint64_t seeds[] = {0, 42};
    for (size_t s = 0; s < 2; s++) {
        registry(seeds[s]);
        tenreg_batch *b;
        cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
        cr_assert_eq(tenreg_batch_register(b, "x", "x.moved.example",
                                           tt_platform_new("x", "x.moved.example")),
                     TENREG_OK);
        cr_assert_eq(tenreg_batch_add_host(b, "y", "extra.example"), TENREG_OK);
        cr_assert_eq(tenreg_batch_add_host(b, "y", "*.wild.example"), TENREG_OK);
        cr_assert_eq(tenreg_batch_unregister(b, "z"), TENREG_OK);
        cr_assert_eq(tenreg_batch_register(b, "v", "v.example", tt_platform_new("v", "v.example")),
                     TENREG_OK);
        cr_assert_eq(tenreg_batch_commit(b, 0), TENREG_OK, "seed %llu",
                     (unsigned long long)seeds[s]);
        tenreg_batch_free(b);
        cr_assert_eq(tenreg_count(reg), 4);
        const struct {
            const char *host, *id;
        } want[] = {{"x.moved.example", "x"}, {"extra.example", "y"}, {"a.wild.example", "y"},
                    {"y.example", "y"},       {"v.example", "v"},     {"w.example", "w"},
                    {"x.example", NULL},      {"z.example", NULL}};
        tenreg_read_lock();
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            tenreg_resolution r;
            int rc = tenreg_resolve_by_host(reg, want[i].host, strlen(want[i].host), &r);
            if (want[i].id) {
                cr_assert_eq(rc, TENREG_OK, "%s under seed %llu", want[i].host,
                             (unsigned long long)seeds[s]);
                cr_assert_str_eq(r.tenant_id, want[i].id);
            } else {
                cr_assert_eq(rc, TENREG_ENOENT, "%s still answers", want[i].host);
            }
        }
        tenreg_read_unlock();
        tenreg_free(reg);
        reg = NULL;
    }
}
