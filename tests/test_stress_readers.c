/*
 * Stress: reader threads resolve hosts while a writer registers,
 * re-registers (moving hosts), unregisters and rechecks, at least 100k
 * times (TENREG_STRESS_ITERS overrides). Every answer a reader gets must be
 * consistent: the platform belongs to the tenant id returned and to the host
 * asked, and it has not been freed while the reader can still see it. Run
 * under ASan and TSan by the CI script, this is also the use-after-free and
 * data-race check of the read side.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

#define NTENANTS 48
#define NHOSTS 96
#define NREADERS 2

static tenreg_t *reg;
static struct tt_free_counter frees;
static _Atomic int verdict = 1;
static _Atomic bool stop;
static char hosts[NHOSTS][64];

struct reader_stats {
    long lookups, hits, pending, misses;
};

static void check_hit(const char *asked_key, const tenreg_resolution *r)
{
    const struct tt_platform *p = r->platform;
    cr_assert_not_null(p);
    cr_assert_eq(atomic_load(&((struct tt_platform *)p)->freed), 0,
                 "platform freed while a reader could see it");
    cr_assert_str_eq(p->tenant_id, r->tenant_id, "platform of another tenant");
    cr_assert_str_eq(p->host, asked_key, "platform of another host");
    cr_assert(r->health >= TENREG_PENDING && r->health <= TENREG_DISABLED);
}

static void *reader(void *arg)
{
    struct reader_stats *st = arg;
    unsigned seed = (unsigned)(uintptr_t)arg;
    tenreg_thread_register();
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        int i = (int)(rand_r(&seed) % NHOSTS);
        /* Ask in a different form than registered: upper case plus port. */
        char asked[80], key[TENREG_HOST_KEY_MAX + 1];
        int n = snprintf(asked, sizeof(asked), "HTTPS://%s:443/x", hosts[i]);
        size_t klen;
        cr_assert_eq(tenreg_normalize_host(asked, (size_t)n, key, sizeof(key), &klen), 0);
        tenreg_resolution r;
        tenreg_read_lock();
        int rc = (i & 1) ? tenreg_resolve_by_host(reg, asked, (size_t)n, &r)
                         : tenreg_resolve(reg, asked, (size_t)n, TENREG_NOWAIT, &r);
        if (rc == TENREG_OK) {
            check_hit(key, &r);
            /* The same tenant by id: consistent with itself. */
            tenreg_resolution by_id;
            int rc2 = tenreg_resolve_by_id(reg, r.tenant_id, TENREG_NOWAIT, &by_id);
            cr_assert(rc2 == TENREG_OK || rc2 == TENREG_ENOENT, "by id: %d", rc2);
            if (rc2 == TENREG_OK) {
                cr_assert_str_eq(((struct tt_platform *)by_id.platform)->tenant_id,
                                 by_id.tenant_id);
                cr_assert_eq(((struct tt_platform *)by_id.platform)->freed, 0);
            }
            st->hits++;
        } else {
            cr_assert_eq(rc, TENREG_ENOENT, "eager-only registry answered %d", rc);
            st->misses++;
        }
        tenreg_read_unlock();
        st->lookups++;
    }
    tenreg_thread_unregister();
    return NULL;
}

static void write_ops(unsigned iters)
{
    unsigned seed = 12345;
    long ok = 0, eexist = 0, unreg = 0, rechecks = 0;
    for (unsigned it = 0; it < iters; it++) {
        char id[16];
        int t = (int)(rand_r(&seed) % NTENANTS);
        snprintf(id, sizeof(id), "t%d", t);
        unsigned op = rand_r(&seed) % 10;
        if (op < 5) { /* register or re-register, maybe moving the host */
            const char *h = hosts[rand_r(&seed) % NHOSTS];
            char url[96];
            snprintf(url, sizeof(url), "https://%s/adcp", h);
            struct tt_platform *p = tt_platform_new(id, h);
            int rc = tenreg_register(reg, id, url, p, (op == 0) ? TENREG_AWAIT_FIRST_VALIDATION : 0);
            cr_assert(rc == TENREG_OK || rc == TENREG_EEXIST, "register: %d", rc);
            if (rc == TENREG_OK)
                ok++;
            else
                eexist++, atomic_store(&p->freed, 1); /* never the registry's */
        } else if (op < 7) {
            int rc = tenreg_unregister(reg, id);
            cr_assert(rc == TENREG_OK || rc == TENREG_ENOENT);
            unreg += rc == TENREG_OK;
        } else {
            atomic_store(&verdict, (int)(rand_r(&seed) % 3) - 1);
            int rc = tenreg_recheck(reg, id);
            cr_assert(rc == TENREG_OK || rc == TENREG_EVALIDATOR || rc == TENREG_ENOENT);
            rechecks++;
        }
    }
    cr_log_info("writer: %ld registered, %ld EEXIST, %ld unregistered, %ld rechecks", ok, eexist,
                unreg, rechecks);
    cr_assert_gt(ok, 0);
    cr_assert_gt(eexist, 0, "no host collision was exercised");
}

Test(stress, readers_see_consistent_answers_under_churn, .timeout = 600)
{
    tt_thread_init();
    for (int i = 0; i < NHOSTS; i++)
        snprintf(hosts[i], sizeof(hosts[i]), "seller-%02d.exchange.example", i);
    tenreg_config cfg = {.validator = tt_validator_verdict, .validator_ctx = &verdict,
                         .platform_free = tt_count_free, .platform_free_ctx = &frees};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);

    pthread_t th[NREADERS];
    struct reader_stats st[NREADERS];
    memset(st, 0, sizeof(st));
    for (int i = 0; i < NREADERS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, reader, &st[i]), 0);

    unsigned iters = tt_iters(100000);
    write_ops(iters);
    atomic_store(&stop, true);
    long lookups = 0, hits = 0;
    for (int i = 0; i < NREADERS; i++) {
        pthread_join(th[i], NULL);
        lookups += st[i].lookups;
        hits += st[i].hits;
    }
    cr_log_info("readers: %ld lookups, %ld hits during %u writer ops", lookups, hits, iters);
    cr_assert_gt(hits, 0, "readers never saw a tenant");
    cr_assert_gt(lookups - hits, 0, "readers never missed");

    tenreg_free(reg);
    cr_assert_eq(atomic_load(&frees.double_frees), 0);
    /* Every platform made was freed exactly once by the registry, or refused
     * (and marked by the writer). */
    cr_assert_eq(tt_platforms_not_freed_once(), 0);
    tt_thread_fini();
    tt_platforms_release();
}
