/*
 * impl_urcu.c - baseline (c): liburcu's rculfhash used directly, keyed by
 * the host key, with the same normalization and keyed hash as tenreg,
 * presized to one bucket per tenant with CDS_LFHT_AUTO_RESIZE |
 * CDS_LFHT_ACCOUNTING (what tenreg itself used before its own table).
 * A node holds the key inline and an RCU-published record (platform,
 * health); writers publish a new record or node and free
 * the old one with call_rcu, as tenreg does. Unlike tenreg it has one
 * table (no id table), no once-cell, no per-tenant admin state.
 *
 * Compiled against urcu-memb (tenreg-bench) or urcu-qsbr (BENCH_QSBR,
 * tenreg-bench-qsbr), with the read side inlined (_LGPL_SOURCE).
 */
#define _LGPL_SOURCE
#define URCU_API_MAP
#ifdef BENCH_QSBR
#include <urcu/urcu-qsbr.h>
#else
#include <urcu/urcu-memb.h>
#endif
#include <urcu/call-rcu.h>
#include <urcu/rculfhash.h>

#include "bench.h"
#include "hooks.h"
#include "reader_loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct urec {
    void *platform;
    const char *id;
    uint8_t health;
    struct rcu_head rcu;
};

struct unode {
    struct cds_lfht_node node;
    struct urec *rec;
    struct rcu_head rcu;
    uint8_t klen;
    char key[];
};

struct ur_tbl {
    struct cds_lfht *ht;
    struct tenreg__hash_key hk;
    const struct tset *ts;
    size_t n;
};

struct ukey {
    const char *s;
    size_t len;
};

static int match(struct cds_lfht_node *node, const void *arg)
{
    const struct ukey *k = arg;
    const struct unode *u = caa_container_of(node, struct unode, node);
    return u->klen == k->len && memcmp(u->key, k->s, k->len) == 0;
}

static void free_rec_cb(struct rcu_head *h)
{
    free(caa_container_of(h, struct urec, rcu));
}

static void free_node_cb(struct rcu_head *h)
{
    struct unode *u = caa_container_of(h, struct unode, rcu);
    free(u->rec);
    free(u);
}

static struct unode *node_new(struct ur_tbl *t, size_t i, uint64_t *h)
{
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen = bench_key_of(ts_url(t->ts, i), key);
    struct unode *u = malloc(sizeof(*u) + klen + 1);
    struct urec *r = malloc(sizeof(*r));
    r->platform = t->ts->platforms + i;
    r->id = ts_id(t->ts, i);
    r->health = TENREG_PENDING;
    u->rec = r;
    u->klen = (uint8_t)klen;
    memcpy(u->key, key, klen + 1);
    cds_lfht_node_init(&u->node);
    *h = tenreg__hash(&t->hk, key, klen);
    return u;
}

/* Writer side: every update is inside a read-side section, as rculfhash
 * requires; in QSBR the thread is online only for the op. */
static void w_enter(void)
{
#ifdef BENCH_QSBR
    rcu_thread_online();
#endif
    rcu_read_lock();
}

static void w_exit(void)
{
    rcu_read_unlock();
#ifdef BENCH_QSBR
    rcu_thread_offline();
#endif
}

static int w_reg(void *tbl, uint32_t slot)
{
    struct ur_tbl *t = tbl;
    uint64_t h;
    struct unode *u = node_new(t, slot, &h);
    struct ukey k = {u->key, u->klen};
    w_enter();
    struct cds_lfht_node *old = cds_lfht_add_replace(t->ht, h, match, &k, &u->node);
    w_exit();
    if (old)
        call_rcu(&caa_container_of(old, struct unode, node)->rcu, free_node_cb);
    return 0;
}

static int w_unreg(void *tbl, uint32_t slot)
{
    struct ur_tbl *t = tbl;
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen = bench_key_of(ts_url(t->ts, slot), key);
    struct ukey k = {key, klen};
    struct cds_lfht_iter it;
    int rc = TENREG_ENOENT;
    w_enter();
    cds_lfht_lookup(t->ht, tenreg__hash(&t->hk, key, klen), match, &k, &it);
    struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
    if (n && cds_lfht_del(t->ht, n) == 0) {
        call_rcu(&caa_container_of(n, struct unode, node)->rcu, free_node_cb);
        rc = 0;
    }
    w_exit();
    return rc;
}

static int w_recheck(void *tbl, uint32_t slot)
{
    struct ur_tbl *t = tbl;
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen = bench_key_of(ts_url(t->ts, slot), key);
    struct ukey k = {key, klen};
    struct cds_lfht_iter it;
    int rc = TENREG_ENOENT;
    w_enter();
    cds_lfht_lookup(t->ht, tenreg__hash(&t->hk, key, klen), match, &k, &it);
    struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
    if (n) {
        struct unode *u = caa_container_of(n, struct unode, node);
        struct urec *r = malloc(sizeof(*r));
        *r = *u->rec;
        r->health = TENREG_HEALTHY;
        /* One writer: the record cannot change under us. */
        struct urec *old = rcu_xchg_pointer(&u->rec, r);
        call_rcu(&old->rcu, free_rec_cb);
        rc = 0;
    }
    w_exit();
    return rc;
}

static void w_begin(void)
{
    rcu_register_thread();
#ifdef BENCH_QSBR
    rcu_thread_offline();
#endif
}

static void w_end(void)
{
#ifdef BENCH_QSBR
    rcu_thread_online();
#endif
    rcu_unregister_thread();
}

const struct writer_ops ur_wops = {w_reg, w_unreg, w_recheck, w_begin, w_end, NULL};

/* Building and tearing down run on a thread of their own: the main thread
 * is already known to liburcu through tenreg's admin calls, and liburcu
 * must not see one thread registered twice. */
struct ur_job {
    struct ur_tbl *t;
    double seconds;
};

static void *build_main(void *arg)
{
    struct ur_job *j = arg;
    struct ur_tbl *t = j->t;
    w_begin();
    double t0 = bench_now();
    for (size_t i = 0; i < t->n; i++)
        w_reg(t, (uint32_t)i);
    j->seconds = bench_now() - t0;
    w_end();
    return NULL;
}

static void *free_main(void *arg)
{
    struct ur_job *j = arg;
    struct ur_tbl *t = j->t;
    struct cds_lfht_iter it;
    struct unode *u;
    w_begin();
    w_enter();
    cds_lfht_for_each_entry(t->ht, &it, u, node) {
        cds_lfht_del(t->ht, &u->node);
        call_rcu(&u->rcu, free_node_cb);
    }
    w_exit(); /* qsbr: offline again, so rcu_barrier does not wait for us */
    rcu_barrier();
    cds_lfht_destroy(t->ht, NULL);
    w_end();
    return NULL;
}

static void on_thread(void *(*fn)(void *), struct ur_job *j)
{
    pthread_t th;
    if (pthread_create(&th, NULL, fn, j) != 0) {
        perror("pthread_create");
        exit(1);
    }
    pthread_join(th, NULL);
}

void *ur_new(const struct tset *ts, size_t n, uint64_t seed, struct impl_build_info *info)
{
    struct ur_tbl *t = calloc(1, sizeof(*t));
    unsigned long sz = 64;
    while (sz < n && sz < (1ul << 24))
        sz <<= 1;
    t->ht = cds_lfht_new(sz, sz < 1024 ? sz : 1024, 0,
                         CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
    tenreg__hash_key_init(&t->hk, seed);
    t->ts = ts;
    t->n = n;
    struct ur_job j = {t, 0};
    on_thread(build_main, &j);
    if (info)
        info->seconds = j.seconds;
    return t;
}

void ur_free(void *tbl)
{
    struct ur_job j = {tbl, 0};
    on_thread(free_main, &j);
    free(j.t);
}

static inline __attribute__((always_inline)) int ur_lookup(void *tbl, const char *host,
                                                           size_t len, struct reader_ctx *c)
{
    struct ur_tbl *t = tbl;
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen;
    int rc = TENREG_ENOENT;
    rcu_read_lock();
    if (BENCH_UNLIKELY(tenreg_normalize_host(host, len, key, sizeof(key), &klen) != 0)) {
        rc = TENREG_EINVAL;
    } else {
        struct ukey k = {key, klen};
        struct cds_lfht_iter it;
        cds_lfht_lookup(t->ht, tenreg__hash(&t->hk, key, klen), match, &k, &it);
        struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
        if (n) {
            const struct urec *r = rcu_dereference(caa_container_of(n, struct unode, node)->rec);
            c->sink += (uintptr_t)r->platform + r->health + (uintptr_t)r->id;
            rc = 0;
        }
    }
    rcu_read_unlock();
#ifdef BENCH_QSBR
    if (++c->qs >= c->ph->qs_every) {
        c->qs = 0;
        rcu_quiescent_state();
    }
#endif
    return rc;
}

void *ur_reader(void *arg)
{
    rcu_register_thread();
    reader_loop(arg, ur_lookup);
    rcu_unregister_thread();
    return NULL;
}
