/*
 * Probe bound (white-box, DESIGN.md §5 "Probes stay short even when the
 * seed is known"): with a fixed hash_seed anyone can compute the tables'
 * first key, so these tests craft hosts with tenreg__hash under that key
 * that all share one home slot, or fill consecutive home slots, of the
 * host table (without the bound: one cluster of 640 slots that every miss
 * homing in it walks to its end). Whatever the hosts, no lookup, hit or
 * miss, may read more than tenreg__table_disp_bound(capacity) + 1 slots,
 * every host still resolves to its tenant, a re-key that cannot allocate
 * leaves the registration done and the lookups right, and the registry's
 * memory comes back. A hash a registration took before a re-key is not
 * used after it.
 */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "test_support.h"

#define SEED 0x5eed0f10adULL
#define NHOSTS 640
#define NABSENT 64

struct crafted {
    char host[48];
    char id[24];
    struct tt_platform *plat;
};

static struct crafted hosts[NHOSTS + 8];
static struct crafted absent[NABSENT];
static unsigned counter;

static void setup(void)
{
    tt_thread_init();
    counter = 0;
}

static void teardown(void)
{
    tenreg__alloc_fail_after(-1);
    tt_thread_fini();
    tt_platforms_release();
}

TestSuite(probe, .init = setup, .fini = teardown, .timeout = 120);

static struct tenreg__hash_key seed_key(void)
{
    struct tenreg__hash_key k;
    cr_assert_eq(tenreg__hash_key_init(&k, SEED), TENREG_OK);
    return k;
}

/* @n hosts whose home under the seed's key in a table of @mask + 1 slots
 * is @home (same_home), or @home + j for the j-th (consecutive). Host keys
 * are already normalized, so the registry hashes exactly these bytes. */
static void craft(struct crafted *out, size_t n, size_t mask, size_t home, bool same_home)
{
    struct tenreg__hash_key k = seed_key();
    for (size_t j = 0; j < n; j++) {
        size_t want = (same_home ? home : home + j) & mask;
        for (;;) {
            int len = snprintf(out[j].host, sizeof(out[j].host), "h%u.flood.example", counter++);
            if ((tenreg__hash(&k, out[j].host, (size_t)len) & mask) == want)
                break;
        }
        snprintf(out[j].id, sizeof(out[j].id), "t%zu", j);
        out[j].plat = NULL;
    }
}

static tenreg_t *new_registry(size_t expected)
{
    tenreg_config cfg = {.hash_seed = SEED, .expected_tenants = expected};
    tenreg_t *reg;
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    /* The first key is the seed's: what an attacker who knows it computes. */
    struct tenreg__hash_key k = seed_key();
    cr_assert(tenreg__hash_key_eq(&reg->by_host.cur->key, &k));
    return reg;
}

static bool has_seed_key(const struct tenreg__table *t)
{
    struct tenreg__hash_key k = seed_key();
    return tenreg__hash_key_eq(&t->cur->key, &k);
}

static size_t bound_of(const struct tenreg__table *t)
{
    return tenreg__table_disp_bound(tenreg__table_capacity(t)) + 1;
}

/* The longest lookup either table allows is within the bound. */
static void assert_bounded(tenreg_t *reg, const char *when)
{
    size_t hp = tenreg__table_max_probe(&reg->by_host), hb = bound_of(&reg->by_host);
    size_t ip = tenreg__table_max_probe(&reg->by_id), ib = bound_of(&reg->by_id);
    cr_assert_leq(hp, hb, "%s: a host lookup may read %zu slots (bound %zu, capacity %zu)", when,
                  hp, hb, tenreg__table_capacity(&reg->by_host));
    cr_assert_leq(ip, ib, "%s: an id lookup may read %zu slots (bound %zu)", when, ip, ib);
}

static void register_host(tenreg_t *reg, struct crafted *c)
{
    c->plat = tt_platform_new(c->id, c->host);
    cr_assert_eq(tenreg_register(reg, c->id, c->host, c->plat, 0), TENREG_OK, "%s", c->host);
}

/* Every registered host resolves to its tenant and platform, reading no
 * more slots than the bound; every absent crafted host misses within it. */
static void assert_lookups(tenreg_t *reg, size_t n)
{
    size_t hb = bound_of(&reg->by_host);
    tenreg_read_lock();
    for (size_t j = 0; j < n; j++) {
        tenreg_resolution r;
        cr_assert_eq(tenreg_resolve_by_host(reg, hosts[j].host, strlen(hosts[j].host), &r),
                     TENREG_OK, "%s", hosts[j].host);
        cr_assert_str_eq(r.tenant_id, hosts[j].id);
        cr_assert_eq(r.platform, hosts[j].plat);
        size_t probes = 0;
        cr_assert_not_null(tenreg__table_find_counted(&reg->by_host, hosts[j].host,
                                                      strlen(hosts[j].host), &probes));
        cr_assert_leq(probes, hb, "hit on %s read %zu slots", hosts[j].host, probes);
    }
    for (size_t j = 0; j < NABSENT; j++) {
        tenreg_resolution r;
        cr_assert_eq(tenreg_resolve_by_host(reg, absent[j].host, strlen(absent[j].host), &r),
                     TENREG_ENOENT);
        size_t probes = 0;
        cr_assert_null(tenreg__table_find_counted(&reg->by_host, absent[j].host,
                                                  strlen(absent[j].host), &probes));
        cr_assert_leq(probes, hb, "miss on %s read %zu slots", absent[j].host, probes);
    }
    tenreg_read_unlock();
}

static long table_bytes(tenreg_t *reg)
{
    return (long)(tenreg__table_bytes(&reg->by_host) + tenreg__table_bytes(&reg->by_id));
}

/* Unregisters everything and checks that what is left is the registry's
 * bare tables, as right after tenreg_new (plus what their growth added),
 * then frees it. */
static void assert_memory_returns(tenreg_t *reg, long baseline, long baseline_tables, size_t n)
{
    for (size_t j = 0; j < n; j++)
        cr_assert_eq(tenreg_unregister(reg, hosts[j].id), TENREG_OK);
    tenreg__rcu_barrier(); /* retired records, tenants and old slot arrays */
    tenreg__rcu_barrier();
    cr_assert_eq(tenreg__live_bytes(reg), baseline - baseline_tables + table_bytes(reg),
                 "live %ld, baseline %ld", tenreg__live_bytes(reg), baseline);
    tenreg_free(reg);
}

/* 640 hosts with one home slot in every table of up to 2048 slots, through
 * the growth of the default-sized table: without the bound each lookup
 * homing there walks a cluster of 640 slots. */
Test(probe, same_home_hosts_stay_within_bound, .timeout = 120)
{
    craft(hosts, NHOSTS, 2047, 77, true);
    craft(absent, NABSENT, 2047, 77, true);
    tenreg_t *reg = new_registry(0);
    long baseline = tenreg__live_bytes(reg), baseline_tables = table_bytes(reg);
    for (size_t j = 0; j < NHOSTS; j++) {
        register_host(reg, &hosts[j]);
        assert_bounded(reg, hosts[j].host);
    }
    cr_assert_eq(tenreg__table_capacity(&reg->by_host), 2048);
    /* The bound was kept by re-keying away from the seed's key. */
    cr_assert(!has_seed_key(&reg->by_host), "the host table still uses the seed's key");
    assert_lookups(reg, NHOSTS);
    assert_memory_returns(reg, baseline, baseline_tables, NHOSTS);
}

/* 640 hosts on consecutive home slots: every displacement is small, so no
 * re-key is needed, but a miss homing at the start of the run would walk
 * all 640 slots to the next empty one if the reader did not stop after
 * max_disp + 1. */
Test(probe, consecutive_homes_stop_misses_at_max_disp, .timeout = 120)
{
    tenreg_t *reg = new_registry(1000); /* 2048 slots from the start: no growth */
    cr_assert_eq(tenreg__table_capacity(&reg->by_host), 2048);
    craft(hosts, NHOSTS, 2047, 300, false);
    craft(absent, NABSENT, 2047, 300, true); /* all homed at the run's start */
    long baseline = tenreg__live_bytes(reg), baseline_tables = table_bytes(reg);
    for (size_t j = 0; j < NHOSTS; j++)
        register_host(reg, &hosts[j]);
    assert_bounded(reg, "after all");
    cr_assert(has_seed_key(&reg->by_host), "no re-key was needed");
    size_t md = tenreg__table_max_disp(&reg->by_host);
    cr_assert_leq(md, 1, "consecutive homes, inserted in order: displacement %zu", md);
    cr_assert_leq(tenreg__table_max_probe(&reg->by_host), md + 1);
    assert_lookups(reg, NHOSTS);
    assert_memory_returns(reg, baseline, baseline_tables, NHOSTS);
}

/* The re-key is best-effort: when its allocation fails the registration
 * still succeeds, max_disp tells readers the truth (lookups stay right),
 * and the next insert re-keys. */
Test(probe, rekey_without_memory_still_registers, .timeout = 120)
{
    tenreg_t *reg = new_registry(1000);
    size_t cap = tenreg__table_capacity(&reg->by_host);
    size_t d = tenreg__table_disp_bound(cap);
    craft(hosts, d + 3, cap - 1, 5, true);
    craft(absent, NABSENT, cap - 1, 5, true);
    long baseline = tenreg__live_bytes(reg), baseline_tables = table_bytes(reg);
    /* Displacements 0..d: just within the bound, still the seed's key. */
    for (size_t j = 0; j <= d; j++)
        register_host(reg, &hosts[j]);
    cr_assert_eq(tenreg__table_max_disp(&reg->by_host), d);
    cr_assert(has_seed_key(&reg->by_host));
    assert_bounded(reg, "at the bound");

    /* The next one lands at d + 1: fail its allocations one by one. The
     * tenant's own allocations fail the call with nothing changed; the
     * first one that does not is the re-key's. */
    struct crafted *c = &hosts[d + 1];
    c->plat = tt_platform_new(c->id, c->host);
    int rc = TENREG_ENOMEM;
    long n;
    for (n = 0; n < 8 && rc == TENREG_ENOMEM; n++) {
        tenreg__alloc_fail_after(n);
        rc = tenreg_register(reg, c->id, c->host, c->plat, 0);
        tenreg__alloc_fail_after(-1);
        if (rc == TENREG_ENOMEM)
            cr_assert_eq(tenreg_count(reg), d + 1, "ENOMEM changed nothing");
    }
    cr_assert_eq(rc, TENREG_OK, "registered with allocation %ld failing", n - 1);
    cr_assert_eq(tenreg__table_max_disp(&reg->by_host), d + 1,
                 "the failed allocation was the re-key's: the record went in at d + 1");
    cr_assert(has_seed_key(&reg->by_host), "no re-key happened");
    cr_assert_eq(tenreg_count(reg), d + 2);
    /* Readers honour the real max_disp: every host resolves. */
    tenreg_read_lock();
    for (size_t j = 0; j <= d + 1; j++) {
        tenreg_resolution r;
        cr_assert_eq(tenreg_resolve_by_host(reg, hosts[j].host, strlen(hosts[j].host), &r),
                     TENREG_OK, "%s", hosts[j].host);
        cr_assert_str_eq(r.tenant_id, hosts[j].id);
        cr_assert_eq(r.platform, hosts[j].plat);
    }
    tenreg_read_unlock();
    cr_assert_leq(tenreg__table_max_probe(&reg->by_host), d + 2);

    /* With memory back, the next insert re-keys and the bound holds. */
    register_host(reg, &hosts[d + 2]);
    cr_assert(!has_seed_key(&reg->by_host), "the next insert re-keyed");
    assert_bounded(reg, "after the re-key");
    assert_lookups(reg, d + 3);
    assert_memory_returns(reg, baseline, baseline_tables, d + 3);
}

/* Ordinary hosts under a random key: within the bound, all resolve. */
Test(probe, random_key_hosts_within_bound, .timeout = 120)
{
    tenreg_config cfg = {0};
    tenreg_t *reg;
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    for (size_t j = 0; j < 3000; j++) {
        char host[48], id[24];
        snprintf(host, sizeof(host), "seller-%zu.example.com", j);
        snprintf(id, sizeof(id), "s%zu", j);
        cr_assert_eq(tenreg_register(reg, id, host, tt_platform_new(id, host), 0), TENREG_OK);
    }
    assert_bounded(reg, "3000 hosts");
    tenreg_read_lock();
    for (size_t j = 0; j < 3000; j++) {
        char host[48], id[24];
        snprintf(host, sizeof(host), "seller-%zu.example.com", j);
        snprintf(id, sizeof(id), "s%zu", j);
        tenreg_resolution r;
        cr_assert_eq(tenreg_resolve_by_host(reg, host, strlen(host), &r), TENREG_OK);
        cr_assert_str_eq(r.tenant_id, id);
    }
    tenreg_read_unlock();
    tenreg_free(reg);
}

/* Re-keys while a reader resolves: a host registered before the reader
 * started resolves on every lookup, through every re-key and growth. Each
 * round crafts hosts against the table's current key and capacity (as if
 * the attacker had learnt it), so every round forces a re-key. */
static _Atomic bool stop_reader;
static _Atomic long reader_lookups, reader_wrong;
#define NSTABLE 100

static void *reader_main(void *arg)
{
    tenreg_t *reg = arg;
    tenreg_thread_register();
    while (!atomic_load(&stop_reader)) {
        for (size_t j = 0; j < NSTABLE; j++) {
            tenreg_resolution r;
            tenreg_read_lock();
            int rc = tenreg_resolve_by_host(reg, hosts[j].host, strlen(hosts[j].host), &r);
            if (rc != TENREG_OK || strcmp(r.tenant_id, hosts[j].id) != 0)
                atomic_fetch_add(&reader_wrong, 1);
            tenreg_read_unlock();
            atomic_fetch_add_explicit(&reader_lookups, 1, memory_order_relaxed);
        }
    }
    tenreg_thread_unregister();
    return NULL;
}

Test(probe, rekeys_under_a_reader, .timeout = 240)
{
    craft(hosts, NSTABLE, 2047, 9, true);
    tenreg_t *reg = new_registry(0);
    for (size_t j = 0; j < NSTABLE; j++)
        register_host(reg, &hosts[j]);
    atomic_store(&stop_reader, false);
    atomic_store(&reader_lookups, 0);
    atomic_store(&reader_wrong, 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, reader_main, reg), 0);
    long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
    while (atomic_load(&reader_lookups) < NSTABLE && tt_now_ns() < deadline)
        sched_yield(); /* the reader is under way before the first re-key */
    cr_assert_geq(atomic_load(&reader_lookups), NSTABLE);

    for (int round = 0; round < 8; round++) {
        /* This thread is the only writer: the current array is stable
         * between its calls. Each flood host is crafted against the key
         * and capacity of that moment: a growth in the middle of a round
         * (the floods' tombstones count towards it) would otherwise spread
         * the hosts crafted for the smaller array and leave the round
         * without a re-key (1 run in ~100 before). */
        struct tenreg__hash_key k = reg->by_host.cur->key, now = k;
        struct crafted *c = &hosts[NSTABLE];
        size_t n = 0;
        while (tenreg__hash_key_eq(&now, &k)) {
            size_t cap = tenreg__table_capacity(&reg->by_host);
            cr_assert_lt(n, NHOSTS - NSTABLE, "round %d: %zu hosts, no re-key", round, n);
            for (;;) {
                int len = snprintf(c[n].host, sizeof(c[n].host), "r%u.flood.example", counter++);
                if ((tenreg__hash(&k, c[n].host, (size_t)len) & (cap - 1)) == 1000 % cap)
                    break;
            }
            snprintf(c[n].id, sizeof(c[n].id), "r%d-%zu", round, n);
            register_host(reg, &c[n]);
            assert_bounded(reg, c[n].host);
            n++;
            now = reg->by_host.cur->key;
        }
        /* Within the bound of the largest array plus the hosts that went
         * before a growth: a re-key came when the bound was passed. */
        cr_assert_leq(n, 3 * (tenreg__table_disp_bound(tenreg__table_capacity(&reg->by_host)) + 2),
                      "round %d: %zu hosts before the re-key", round, n);
        for (size_t j = 0; j < n; j++)
            cr_assert_eq(tenreg_unregister(reg, c[j].id), TENREG_OK);
    }
    atomic_store(&stop_reader, true);
    pthread_join(th, NULL);
    cr_assert_gt(atomic_load(&reader_lookups), 0);
    cr_assert_eq(atomic_load(&reader_wrong), 0, "a stable host failed to resolve during re-keys");
    tenreg_free(reg);
}

/* A registration hashes its keys before it takes write_lock (registry.c,
 * tenreg__table_prehash); a re-key may come in between. A hash taken under
 * the old key is then not used: the lookup still finds the key, and a
 * registration made after the re-key resolves. */
Test(probe, prehash_from_before_a_rekey, .timeout = 120)
{
    craft(hosts, 8, 2047, 5, false);
    tenreg_t *reg = new_registry(1000); /* 2048 slots: room for the flood without growth */
    for (size_t j = 0; j < 8; j++)
        register_host(reg, &hosts[j]);
    struct tenreg__prehash ph;
    tenreg__rcu_enter();
    tenreg__table_prehash(&reg->by_host, hosts[0].host, strlen(hosts[0].host), &ph);
    tenreg__rcu_exit();

    /* Hosts all homed at one slot under the current key: the insert past
     * the bound re-keys the table. */
    struct tenreg__hash_key k = reg->by_host.cur->key;
    size_t cap = tenreg__table_capacity(&reg->by_host), n = tenreg__table_disp_bound(cap) + 2;
    struct crafted *c = &hosts[8];
    cr_assert_leq(n, NHOSTS - 8);
    for (size_t j = 0; j < n; j++) {
        for (;;) {
            int len = snprintf(c[j].host, sizeof(c[j].host), "p%u.flood.example", counter++);
            if ((tenreg__hash(&k, c[j].host, (size_t)len) & (cap - 1)) == 700 % cap)
                break;
        }
        snprintf(c[j].id, sizeof(c[j].id), "p%zu", j);
        register_host(reg, &c[j]);
    }
    cr_assert_eq(tenreg__table_capacity(&reg->by_host), cap, "the table grew instead");
    cr_assert(!tenreg__hash_key_eq(&reg->by_host.cur->key, &ph.key), "no re-key happened");

    tenreg__rcu_enter();
    tenreg__ent e = tenreg__table_find_prehashed(&reg->by_host, hosts[0].host,
                                                 strlen(hosts[0].host), &ph);
    tenreg__rcu_exit();
    cr_assert(e != 0, "a stale prehash missed %s", hosts[0].host);
    cr_assert_str_eq(tenreg__record_id(tenreg__ent_record(e)), hosts[0].id);
    tenreg_read_lock();
    for (size_t j = 0; j < 8 + n; j++) {
        tenreg_resolution r;
        cr_assert_eq(tenreg_resolve_by_host(reg, hosts[j].host, strlen(hosts[j].host), &r),
                     TENREG_OK, "%s", hosts[j].host);
        cr_assert_str_eq(r.tenant_id, hosts[j].id);
    }
    tenreg_read_unlock();
    tenreg_free(reg);
}
