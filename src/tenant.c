/*
 * tenant.c - one registration of one tenant id: its strings, its current
 * record, its once-cell and turnstile, and its lifetime.
 *
 * Lifetime: the tables hold one reference. Unregister or replacement takes
 * the tenant out of both tables under write_lock and retires it: after a
 * grace period (no reader can still reach it) its record and platform are
 * freed and the tables' reference is dropped. Admin and builder threads that
 * work on a tenant outside a read section hold their own reference, taken
 * inside the read section that found it, so it cannot reach zero before the
 * grace period has ended.
 */
#include "internal.h"

#include <string.h>

static size_t tenant_size(size_t host_len, size_t id_len, size_t url_len)
{
    return sizeof(struct tenreg__tenant) + host_len + 1 + id_len + 1 + url_len + 1;
}

struct tenreg__tenant *tenreg__tenant_new(struct tenreg *reg, const char *host, size_t host_len,
                                          const char *id, size_t id_len, const char *url,
                                          size_t url_len, void *platform,
                                          tenreg_factory_fn factory, void *factory_ctx)
{
    struct tenreg__tenant *t = tenreg__alloc(reg, tenant_size(host_len, id_len, url_len));
    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    t->reg = reg;
    t->lazy = factory != NULL;
    t->factory = factory;
    t->factory_ctx = factory_ctx;
    t->platform = platform;
    t->host_len = (uint8_t)host_len;
    t->id_len = (uint8_t)id_len;
    t->url_len = (uint32_t)url_len;

    char *p = t->strs;
    memcpy(p, host, host_len);
    p[host_len] = '\0';
    p += host_len + 1;
    memcpy(p, id, id_len);
    p[id_len] = '\0';
    p += id_len + 1;
    memcpy(p, url, url_len);
    p[url_len] = '\0';
    t->agent_url = p;

    t->rec = tenreg__record_new(reg, TENREG_PENDING, platform, 0);
    if (t->lazy)
        t->build_rec = tenreg__record_new(reg, TENREG_PENDING, NULL, 0);
    if (!t->rec || (t->lazy && !t->build_rec)) {
        tenreg__tenant_drop(t);
        return NULL;
    }
    atomic_init(&t->refs, 1);
    atomic_init(&t->cell, t->lazy ? TENREG__CELL_EMPTY : TENREG__CELL_READY);
    atomic_init(&t->removed, false);
    cds_lfht_node_init(&t->host_node);
    cds_lfht_node_init(&t->id_node);
    return t;
}

static void tenant_dealloc(struct tenreg__tenant *t)
{
    tenreg__record_drop(t->build_rec);
    tenreg__dealloc(t->reg, t, tenant_size(t->host_len, t->id_len, t->url_len));
}

void tenreg__tenant_drop(struct tenreg__tenant *t)
{
    tenreg__record_drop(t->rec);
    tenant_dealloc(t);
}

void tenreg__tenant_ref(struct tenreg__tenant *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void tenreg__tenant_unref(struct tenreg__tenant *t)
{
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        tenant_dealloc(t);
}

static void tenant_retire_cb(struct rcu_head *head)
{
    tenreg__rcu_cb_begin(head);
    struct tenreg__tenant *t = caa_container_of(head, struct tenreg__tenant, rcu);
    const tenreg_config *cfg = &t->reg->cfg;

    /* Nothing publishes on a removed tenant, so rec and platform are final. */
    tenreg__record_drop(t->rec);
    t->rec = NULL;
    if (t->platform && cfg->platform_free)
        cfg->platform_free(cfg->platform_free_ctx, t->platform);
    t->platform = NULL;
    tenreg__tenant_unref(t);
    tenreg__rcu_cb_end();
}

void tenreg__tenant_retire(struct tenreg__tenant *t)
{
    tenreg__call_rcu(&t->rcu, tenant_retire_cb);
}

void tenreg__tenant_publish(struct tenreg__tenant *t, struct tenreg__record *rec)
{
    struct tenreg__record *old = t->rec;
    TENREG__TSAN_RELEASE(rec);
    /* rcu_assign_pointer, spelled as the C11 release store it is, so that
     * TSan sees an atomic store pair with rcu_dereference's load. */
    __atomic_store_n(&t->rec, rec, __ATOMIC_RELEASE);
    if (old)
        tenreg__record_retire(old);
}
