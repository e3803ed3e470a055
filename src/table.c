/*
 * table.c - the two RCU hash tables: host key -> tenant, tenant id ->
 * tenant. liburcu's rculfhash: lookups are wait-free for readers; every
 * mutation here runs under the registry's write_lock, so uniqueness checks
 * and the mutations that follow them are atomic with respect to each other.
 */
#include "internal.h"

#include <string.h>

struct key {
    const char *s;
    size_t len;
};

static int match_host(struct cds_lfht_node *node, const void *arg)
{
    const struct key *k = arg;
    const struct tenreg__tenant *t = caa_container_of(node, struct tenreg__tenant, host_node);
    TENREG__TSAN_ACQUIRE(t);
    return t->host_len == k->len && memcmp(tenreg__tenant_host(t), k->s, k->len) == 0;
}

static int match_id(struct cds_lfht_node *node, const void *arg)
{
    const struct key *k = arg;
    const struct tenreg__tenant *t = caa_container_of(node, struct tenreg__tenant, id_node);
    TENREG__TSAN_ACQUIRE(t);
    return t->id_len == k->len && memcmp(tenreg__tenant_id(t), k->s, k->len) == 0;
}

static unsigned long table_size_for(size_t expected)
{
    unsigned long n = 64;
    /* Split-ordered buckets: aim for about one tenant per bucket. */
    while (n < expected && n < (1ul << 24))
        n <<= 1;
    return n;
}

int tenreg__tables_init(struct tenreg *reg, size_t expected)
{
    unsigned long n = table_size_for(expected);
    int flags = CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING;
    reg->by_host = cds_lfht_new(n, n < 1024 ? n : 1024, 0, flags, NULL);
    reg->by_id = cds_lfht_new(n, n < 1024 ? n : 1024, 0, flags, NULL);
    if (!reg->by_host || !reg->by_id) {
        tenreg__tables_destroy(reg);
        return TENREG_ENOMEM;
    }
    return TENREG_OK;
}

void tenreg__tables_destroy(struct tenreg *reg)
{
    if (reg->by_host)
        cds_lfht_destroy(reg->by_host, NULL);
    if (reg->by_id)
        cds_lfht_destroy(reg->by_id, NULL);
    reg->by_host = reg->by_id = NULL;
}

static struct cds_lfht_node *lookup(struct cds_lfht *ht, const struct tenreg__hash_key *hk,
                                    cds_lfht_match_fct match, const char *s, size_t len,
                                    struct cds_lfht_iter *it)
{
    struct key k = {s, len};
    cds_lfht_lookup(ht, tenreg__hash(hk, s, len), match, &k, it);
    return cds_lfht_iter_get_node(it);
}

struct tenreg__tenant *tenreg__find_host(const struct tenreg *reg, const char *key, size_t len)
{
    struct cds_lfht_iter it;
    struct cds_lfht_node *n = lookup(reg->by_host, &reg->hkey, match_host, key, len, &it);
    return n ? caa_container_of(n, struct tenreg__tenant, host_node) : NULL;
}

struct tenreg__tenant *tenreg__find_id(const struct tenreg *reg, const char *id, size_t len)
{
    struct cds_lfht_iter it;
    struct cds_lfht_node *n = lookup(reg->by_id, &reg->hkey, match_id, id, len, &it);
    return n ? caa_container_of(n, struct tenreg__tenant, id_node) : NULL;
}

static unsigned long host_hash(const struct tenreg *reg, const struct tenreg__tenant *t)
{
    return tenreg__hash(&reg->hkey, tenreg__tenant_host(t), t->host_len);
}

static unsigned long id_hash(const struct tenreg *reg, const struct tenreg__tenant *t)
{
    return tenreg__hash(&reg->hkey, tenreg__tenant_id(t), t->id_len);
}

void tenreg__table_insert(struct tenreg *reg, struct tenreg__tenant *t)
{
    TENREG__TSAN_RELEASE(t);
    cds_lfht_add(reg->by_id, id_hash(reg, t), &t->id_node);
    cds_lfht_add(reg->by_host, host_hash(reg, t), &t->host_node);
}

void tenreg__table_replace(struct tenreg *reg, struct tenreg__tenant *old,
                           struct tenreg__tenant *t)
{
    struct cds_lfht_iter it;
    struct key k = {tenreg__tenant_id(t), t->id_len};
    TENREG__TSAN_RELEASE(t);

    /* One atomic swap per table: a reader finds the old or the new
     * registration, never neither. */
    cds_lfht_lookup(reg->by_id, id_hash(reg, t), match_id, &k, &it);
    cds_lfht_replace(reg->by_id, &it, id_hash(reg, t), match_id, &k, &t->id_node);

    if (old->host_len == t->host_len &&
        memcmp(tenreg__tenant_host(old), tenreg__tenant_host(t), t->host_len) == 0) {
        struct key hk = {tenreg__tenant_host(t), t->host_len};
        cds_lfht_lookup(reg->by_host, host_hash(reg, t), match_host, &hk, &it);
        cds_lfht_replace(reg->by_host, &it, host_hash(reg, t), match_host, &hk, &t->host_node);
    } else {
        /* The tenant moved: its old host stops resolving, its new one starts. */
        cds_lfht_del(reg->by_host, &old->host_node);
        cds_lfht_add(reg->by_host, host_hash(reg, t), &t->host_node);
    }
}

void tenreg__table_remove(struct tenreg *reg, struct tenreg__tenant *t)
{
    cds_lfht_del(reg->by_id, &t->id_node);
    cds_lfht_del(reg->by_host, &t->host_node);
}

void tenreg__table_each(const struct tenreg *reg,
                        void (*fn)(void *ctx, struct tenreg__tenant *t), void *ctx)
{
    struct cds_lfht_iter it;
    /* Not cds_lfht_for_each_entry: it applies container_of to the NULL that
     * ends the walk, which is undefined behaviour (UBSan says so). */
    for (cds_lfht_first(reg->by_id, &it); cds_lfht_iter_get_node(&it); cds_lfht_next(reg->by_id, &it))
    {
        struct tenreg__tenant *t =
            caa_container_of(cds_lfht_iter_get_node(&it), struct tenreg__tenant, id_node);
        TENREG__TSAN_ACQUIRE(t);
        fn(ctx, t);
    }
}
