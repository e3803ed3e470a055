/*
 * Batches out of memory (white-box): a commit made to fail at each of its
 * allocations in turn answers TENREG_ENOMEM and leaves the registry exactly
 * as it was (tenants, health, hosts, answers, live bytes), with every
 * platform still the caller's, until the attempt that succeeds; the same
 * for recording each kind of op (the op is not recorded; nothing leaks). Also: a commit
 * installs swaps that a section pinned before it answers with the old side,
 * and a batch recorded before by_id was re-keyed commits right.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "test_support.h"

static tenreg_t *reg;
static struct tt_free_counter frees;

static int make_platform(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    *platform = tt_platform_new(tenant_id, "lazy");
    return 0;
}

static void setup(void)
{
    tt_thread_init();
    tenreg_config cfg = {.platform_free = tt_count_free, .platform_free_ctx = &frees,
                         .expected_tenants = 4};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
}

static void finish(void)
{
    tenreg__alloc_fail_after(-1);
    tenreg_free(reg);
    reg = NULL;
    cr_assert_eq(atomic_load(&frees.double_frees), 0, "a platform was freed twice");
    cr_assert_eq(tt_platforms_not_freed_once(), 0, "a platform was not freed exactly once");
}

static void teardown(void)
{
    tenreg__alloc_fail_after(-1);
    tenreg_free(reg);
    reg = NULL;
    tt_thread_fini();
    tt_platforms_release();
}

TestSuite(wb_batch, .init = setup, .fini = teardown, .timeout = 120);

static int append(void *ctx, const char *s)
{
    strcat(ctx, " ");
    strcat(ctx, s);
    return 0;
}

static int append_tenant(void *ctx, const char *id, tenreg_health h)
{
    char *buf = ctx;
    char line[600];
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve_by_id(reg, id, TENREG_NOWAIT, &r);
    snprintf(line, 100, "\n%s h=%d rc=%d p=%p:", id, (int)h, rc, rc == 0 ? r.platform : NULL);
    tenreg_read_unlock();
    cr_assert_eq(tenreg_foreach_host(reg, id, append, line), 0);
    cr_assert_lt(strlen(buf) + strlen(line), 16000);
    strcat(buf, line);
    return 0;
}

/* Every tenant with its health, platform and hosts (foreach order is the
 * table's: the same while nothing changes), and what some hosts answer. */
static void snapshot(char *buf)
{
    buf[0] = '\0';
    cr_assert_eq(tenreg_foreach(reg, append_tenant, buf), 0);
    const char *probe[] = {"t0.example", "t1.example", "new.example", "x.w0.example",
                           "moved.example", "extra.example"};
    for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
        tenreg_resolution r;
        tenreg_read_lock();
        int rc = tenreg_resolve_by_host(reg, probe[i], strlen(probe[i]), &r);
        char line[200];
        snprintf(line, sizeof(line), "\n%s -> %s", probe[i], rc == 0 ? r.tenant_id : "-");
        tenreg_read_unlock();
        strcat(buf, line);
    }
}

/* 24 eager tenants t<i> (t0..t3 with an extra host and a pattern) and a
 * built lazy one. */
static void populate(void)
{
    char id[16], url[64], host[64];
    for (int i = 0; i < 24; i++) {
        snprintf(id, sizeof(id), "t%d", i);
        snprintf(url, sizeof(url), "https://t%d.example", i);
        cr_assert_eq(tenreg_register(reg, id, url, tt_platform_new(id, ""), 0), TENREG_OK);
        if (i < 4) {
            snprintf(host, sizeof(host), "alt%d.example", i);
            cr_assert_eq(tenreg_add_host(reg, id, host), TENREG_OK);
            snprintf(host, sizeof(host), "*.w%d.example", i);
            cr_assert_eq(tenreg_add_host(reg, id, host), TENREG_OK);
        }
    }
    cr_assert_eq(tenreg_register_lazy(reg, "lz", "lz.example", make_platform, NULL,
                                      TENREG_AWAIT_FIRST_VALIDATION),
                 TENREG_OK);
}

/* A batch with every kind of op and enough new keys to grow the tables. */
static tenreg_batch *mixed_batch(struct tt_platform **plats, size_t *n_plats)
{
    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    *n_plats = 0;
    char id[16], url[64];
    for (int i = 0; i < 40; i++) { /* new tenants: the tables grow */
        snprintf(id, sizeof(id), "n%d", i);
        snprintf(url, sizeof(url), "n%d.example", i);
        struct tt_platform *p = plats[(*n_plats)++] = tt_platform_new(id, "");
        cr_assert_eq(tenreg_batch_register(b, id, url, p), TENREG_OK);
    }
    struct tt_platform *p = plats[(*n_plats)++] = tt_platform_new("t0", "");
    cr_assert_eq(tenreg_batch_register(b, "t0", "moved.example", p), TENREG_OK); /* a move */
    cr_assert_eq(tenreg_batch_add_host(b, "t0", "*.w1.example"), TENREG_OK);
    cr_assert_eq(tenreg_batch_unregister(b, "t1"), TENREG_OK); /* frees *.w1 for t0 */
    cr_assert_eq(tenreg_batch_add_host(b, "t2", "extra.example"), TENREG_OK);
    cr_assert_eq(tenreg_batch_add_host(b, "t2", "*.deep.w2.example"), TENREG_OK);
    cr_assert_eq(tenreg_batch_keep(b, "lz"), TENREG_OK);
    cr_assert_eq(tenreg_batch_register_lazy(b, "nl", "nl.example", make_platform, NULL),
                 TENREG_OK);
    for (int i = 3; i < 20; i++) { /* t20..t23 are not named: REPLACE_ALL drops them */
        snprintf(id, sizeof(id), "t%d", i);
        if (i != 3)
            cr_assert_eq(tenreg_batch_keep(b, id), TENREG_OK);
    }
    cr_assert_eq(tenreg_batch_add_host(b, "t3", "t3b.example"), TENREG_OK); /* names t3 */
    return b;
}

TT_TEST(finish, wb_batch, commit_fails_cleanly_at_every_allocation)
{
    populate();
    struct tt_platform *plats[64];
    size_t n_plats;
    tenreg_batch *b = mixed_batch(plats, &n_plats);
    static char before[16384], after[16384];
    long k;
    for (k = 0;; k++) {
        tenreg__rcu_barrier();
        snapshot(before);
        long bytes = tenreg__live_bytes(reg);
        tenreg__alloc_fail_after(k);
        int rc = tenreg_batch_commit(b, TENREG_BATCH_REPLACE_ALL);
        tenreg__alloc_fail_after(-1);
        if (rc != TENREG_ENOMEM) {
            cr_assert_eq(rc, TENREG_OK, "k=%ld: %s", k, tenreg_err_name(rc));
            break;
        }
        tenreg__rcu_barrier();
        snapshot(after);
        cr_assert_str_eq(after, before, "k=%ld: a failed commit changed the registry", k);
        cr_assert_eq(tenreg__live_bytes(reg), bytes, "k=%ld: memory changed", k);
        for (size_t i = 0; i < n_plats; i++)
            cr_assert_eq(atomic_load(&plats[i]->freed), 0, "k=%ld: a platform was freed", k);
        cr_assert_lt(k, 400, "ENOMEM forever");
    }
    cr_log_info("commit: %ld failure points, then OK", k);
    cr_assert_geq(k, 10, "the sweep reached only %ld allocations", k);
    tenreg_batch_free(b);
    /* And the result is the one intended. */
    snapshot(after);
    cr_assert(strstr(after, "moved.example -> t0"), "%s", after);
    cr_assert(strstr(after, "x.w0.example -> -"), "t0's old pattern went: %s", after);
    cr_assert(strstr(after, "extra.example -> t2"), "%s", after);
    cr_assert(strstr(after, "t1.example -> -"), "%s", after);
    cr_assert_eq(tenreg_count(reg), 40 + 1 /* t0 */ + 1 /* t2 */ + 17 /* t3..t19 */ + 2);
}

TT_TEST(finish, wb_batch, recording_fails_cleanly_at_every_allocation)
{
    populate();
    tenreg__rcu_barrier(); /* the set-up's retired records are gone */
    long at_start = tenreg__live_bytes(reg);
    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    int kinds = 5, total = 0;
    for (int round = 0; round < 40; round++) { /* enough ops to grow every array */
        for (int kind = 0; kind < kinds; kind++) {
            char id[16];
            snprintf(id, sizeof(id), "r%d_%d", round, kind);
            struct tt_platform *p = tt_platform_new(id, "");
            for (long k = 0;; k++) {
                size_t ops = b->n_ops, names = b->n_names, arena = b->arena_len;
                tenreg__alloc_fail_after(k);
                int rc = kind == 0   ? tenreg_batch_register(b, id, "r.example", p)
                         : kind == 1 ? tenreg_batch_register_lazy(b, id, "r.example", make_platform, NULL)
                         : kind == 2 ? tenreg_batch_add_host(b, id, "*.r.example")
                         : kind == 3 ? tenreg_batch_keep(b, id)
                                     : tenreg_batch_unregister(b, id);
                tenreg__alloc_fail_after(-1);
                if (rc == TENREG_OK)
                    break;
                cr_assert_eq(rc, TENREG_ENOMEM);
                total++;
                cr_assert_eq(b->n_ops, ops, "a failed op was recorded");
                cr_assert_eq(b->n_names, names, "a failed op left a name");
                cr_assert_eq(b->arena_len, arena, "a failed op left its strings");
                cr_assert_lt(k, 20);
            }
            /* Never the registry's: unused, or in a batch freed uncommitted. */
            tt_platform_keep(p);
        }
    }
    cr_assert_geq(total, 40, "only %d failure points", total);
    /* Arrays may have grown before a later allocation failed: room, not
     * a leak. Everything goes with the batch. */
    tenreg_batch_free(b);
    tenreg__rcu_barrier();
    cr_assert_eq(tenreg__live_bytes(reg), at_start, "the batch leaked");
}

TT_TEST(finish, wb_batch, swaps_answer_by_the_pinned_epoch)
{
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    tenreg_read_lock();
    tenreg__rcu_enter();
    struct tenreg__record *rec = tenreg__find_id(reg, "a", 1);
    tenreg__rcu_exit();
    struct tenreg__swap sw = {.old = tenreg__ent_of_record(rec), .new = 0,
                              .epoch = tenreg__epoch_pinned() + 1};
    cr_assert_eq(tenreg__swap_pick(tenreg__ent_of_swap(&sw)), sw.old, "pinned before: old");
    sw.epoch = tenreg__epoch_pinned();
    cr_assert_eq(tenreg__swap_pick(tenreg__ent_of_swap(&sw)), 0, "pinned at: new");
    tenreg_read_unlock();
}

/* A batch's id index takes by_id's kernel key (test_wb_batch_keep.c), and
 * a commit that finds by_id under another key hashes the names under that
 * one: after a re-key of by_id between recording and commit, every kept
 * id is still found, the moved one moves and the ids no op names go. */
TT_TEST(finish, wb_batch, commit_after_by_id_rekey)
{
    enum { N = 70 }; /* by_id at 256 slots, with room for the flood below */
    char id[32], url[64];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "k%d", i);
        snprintf(url, sizeof(url), "k%d.example", i);
        cr_assert_eq(tenreg_register(reg, id, url, tt_platform_new(id, url), 0), TENREG_OK);
    }
    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    cr_assert_eq(tenreg_batch_register(b, "k0", "k0.moved.example",
                                       tt_platform_new("k0", "k0.moved.example")),
                 TENREG_OK);
    for (int i = 1; i < N; i++) {
        snprintf(id, sizeof(id), "k%d", i);
        cr_assert_eq(tenreg_batch_keep(b, id), TENREG_OK);
    }
    struct tenreg__hash_key recorded = reg->by_id.cur->key;
    cr_assert(tenreg__hash_key_eq(&b->key, &recorded), "the index has a key of its own");

    /* Ids that all home at one slot of by_id under its key: an insert past
     * the probe bound re-keys the table (table.c). */
    struct tenreg__hash_key k = reg->by_id.cur->key;
    size_t cap = tenreg__table_capacity(&reg->by_id), flood = tenreg__table_disp_bound(cap) + 2;
    cr_assert_eq(cap, 256);
    unsigned c = 0;
    char first[32] = "";
    for (size_t j = 0; j < flood; j++) {
        int len;
        do
            len = snprintf(id, sizeof(id), "flood%u", c++);
        while ((tenreg__hash(&k, id, (size_t)len) & (cap - 1)) != 7);
        snprintf(url, sizeof(url), "f%u.example", c);
        cr_assert_eq(tenreg_register(reg, id, url, tt_platform_new(id, url), 0), TENREG_OK);
        if (!first[0])
            snprintf(first, sizeof(first), "%s", id);
    }
    cr_assert_eq(tenreg__table_capacity(&reg->by_id), cap, "by_id grew: the flood missed");
    cr_assert(!tenreg__hash_key_eq(&reg->by_id.cur->key, &recorded), "by_id was not re-keyed");

    cr_assert_eq(tenreg_batch_commit(b, TENREG_BATCH_REPLACE_ALL), TENREG_OK);
    tenreg_batch_free(b);
    cr_assert_eq(tenreg_count(reg), N, "the flood was not left out");
    tenreg_read_lock();
    tenreg_resolution r;
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "k%d", i);
        cr_assert_eq(tenreg_resolve_by_id(reg, id, TENREG_NOWAIT, &r), TENREG_OK, "%s lost", id);
        cr_assert_str_eq(r.tenant_id, id);
    }
    cr_assert_eq(tenreg_resolve_by_host(reg, "k0.moved.example", 16, &r), TENREG_OK);
    cr_assert_str_eq(r.tenant_id, "k0");
    cr_assert_eq(tenreg_resolve_by_host(reg, "k0.example", 10, &r), TENREG_ENOENT);
    cr_assert_eq(tenreg_resolve_by_id(reg, first, TENREG_NOWAIT, &r), TENREG_ENOENT, "%s stayed", first);
    tenreg_read_unlock();
}
