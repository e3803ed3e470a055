/*
 * impl_rwlock.c - baseline (b): a chained hash table behind one
 * pthread_rwlock_t, what a C programmer would write first. Same
 * normalization and keyed hash as tenreg; both are computed before the
 * lock is taken (the best case for this design). Presized to one bucket per
 * tenant. The lock prefers writers (glibc's default prefers readers and
 * would starve the writer under two busy readers).
 *
 * Writer ops mirror tenreg's: register/re-register replace the entry under
 * the write lock, unregister unlinks it, recheck rewrites its health. Freed
 * memory is released after the write lock is dropped.
 */
#include "bench.h"
#include "hooks.h"
#include "reader_loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rnode {
    struct rnode *next;
    uint64_t h;
    void *platform;
    const char *id;
    uint8_t health;
    uint8_t klen;
    char key[];
};

struct rw_tbl {
    pthread_rwlock_t lock;
    struct tenreg__hash_key hk;
    size_t mask;
    struct rnode **b;
    const struct tset *ts;
    size_t n;
};

static struct rnode *node_new(struct rw_tbl *t, size_t i)
{
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen = bench_key_of(ts_url(t->ts, i), key);
    struct rnode *nd = malloc(sizeof(*nd) + klen + 1);
    nd->next = NULL;
    nd->h = tenreg__hash(&t->hk, key, klen);
    nd->platform = t->ts->platforms + i;
    nd->id = ts_id(t->ts, i);
    nd->health = TENREG_PENDING;
    nd->klen = (uint8_t)klen;
    memcpy(nd->key, key, klen + 1);
    return nd;
}

/* Under the write lock: the link that points at the node with @nd's key. */
static struct rnode **find_link(struct rw_tbl *t, uint64_t h, const char *key, size_t klen)
{
    struct rnode **l = &t->b[h & t->mask];
    while (*l && !((*l)->h == h && (*l)->klen == klen && memcmp((*l)->key, key, klen) == 0))
        l = &(*l)->next;
    return l;
}

/* Inserts or replaces; returns the replaced node (to free) or NULL. */
static struct rnode *put(struct rw_tbl *t, struct rnode *nd)
{
    struct rnode **l = find_link(t, nd->h, nd->key, nd->klen);
    struct rnode *old = *l;
    if (old) {
        nd->next = old->next;
        *l = nd;
        return old;
    }
    nd->next = t->b[nd->h & t->mask];
    t->b[nd->h & t->mask] = nd;
    return NULL;
}

void *rw_new(const struct tset *ts, size_t n, uint64_t seed, struct impl_build_info *info)
{
    struct rw_tbl *t = calloc(1, sizeof(*t));
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&t->lock, &a);
    pthread_rwlockattr_destroy(&a);
    tenreg__hash_key_init(&t->hk, seed);
    size_t cap = 16;
    while (cap < n)
        cap <<= 1;
    t->mask = cap - 1;
    t->b = calloc(cap, sizeof(*t->b));
    t->ts = ts;
    t->n = n;
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        struct rnode *nd = node_new(t, i);
        pthread_rwlock_wrlock(&t->lock);
        struct rnode *old = put(t, nd);
        pthread_rwlock_unlock(&t->lock);
        free(old);
    }
    if (info)
        info->seconds = bench_now() - t0;
    return t;
}

void rw_free(void *tbl)
{
    struct rw_tbl *t = tbl;
    for (size_t i = 0; i <= t->mask; i++) {
        struct rnode *nd = t->b[i];
        while (nd) {
            struct rnode *nx = nd->next;
            free(nd);
            nd = nx;
        }
    }
    free(t->b);
    pthread_rwlock_destroy(&t->lock);
    free(t);
}

static inline __attribute__((always_inline)) int rw_lookup(void *tbl, const char *host,
                                                           size_t len, struct reader_ctx *c)
{
    struct rw_tbl *t = tbl;
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen;
    if (BENCH_UNLIKELY(tenreg_normalize_host(host, len, key, sizeof(key), &klen) != 0))
        return TENREG_EINVAL;
    uint64_t h = tenreg__hash(&t->hk, key, klen);
    int rc = TENREG_ENOENT;
    pthread_rwlock_rdlock(&t->lock);
    for (const struct rnode *nd = t->b[h & t->mask]; nd; nd = nd->next) {
        if (nd->h == h && nd->klen == klen && memcmp(nd->key, key, klen) == 0) {
            c->sink += (uintptr_t)nd->platform + nd->health + (uintptr_t)nd->id;
            rc = 0;
            break;
        }
    }
    pthread_rwlock_unlock(&t->lock);
    return rc;
}

void *rw_reader(void *arg)
{
    reader_loop(arg, rw_lookup);
    return NULL;
}

static int w_reg(void *tbl, uint32_t slot)
{
    struct rw_tbl *t = tbl;
    struct rnode *nd = node_new(t, slot);
    pthread_rwlock_wrlock(&t->lock);
    struct rnode *old = put(t, nd);
    pthread_rwlock_unlock(&t->lock);
    free(old);
    return 0;
}

static int w_unreg(void *tbl, uint32_t slot)
{
    struct rw_tbl *t = tbl;
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen = bench_key_of(ts_url(t->ts, slot), key);
    uint64_t h = tenreg__hash(&t->hk, key, klen);
    pthread_rwlock_wrlock(&t->lock);
    struct rnode **l = find_link(t, h, key, klen);
    struct rnode *old = *l;
    if (old)
        *l = old->next;
    pthread_rwlock_unlock(&t->lock);
    free(old);
    return old ? 0 : TENREG_ENOENT;
}

static int w_recheck(void *tbl, uint32_t slot)
{
    struct rw_tbl *t = tbl;
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen = bench_key_of(ts_url(t->ts, slot), key);
    uint64_t h = tenreg__hash(&t->hk, key, klen);
    pthread_rwlock_wrlock(&t->lock);
    struct rnode *nd = *find_link(t, h, key, klen);
    if (nd)
        nd->health = TENREG_HEALTHY;
    pthread_rwlock_unlock(&t->lock);
    return nd ? 0 : TENREG_ENOENT;
}

const struct writer_ops rw_wops = {w_reg, w_unreg, w_recheck, NULL, NULL, NULL};
