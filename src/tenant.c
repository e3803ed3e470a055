/*
 * tenant.c - one registration of one tenant id: its strings, its current
 * record, its once-cell and turnstile, and its lifetime.
 *
 * Lifetime: every published record holds a reference, and so does every
 * admin or builder thread that works on the tenant outside a read section
 * (taken inside the read section that found it, where a record still
 * holds one). Unregister or replacement retires the current record; once
 * it and every older record have gone through a grace period and the
 * holders are done, the last reference frees the platform and the tenant.
 */
#include "internal.h"

#include <stddef.h>

#include <stdlib.h>

static size_t strings_end(size_t host_len, size_t id_len, size_t url_len)
{
    /* From strs, not sizeof: the struct's tail padding holds string bytes. */
    return offsetof(struct tenreg__tenant, strs) + host_len + 1 + id_len + 1 + url_len + 1;
}

/* A lazy tenant's build state follows its strings, 8-byte aligned. */
static size_t build_offset(size_t host_len, size_t id_len, size_t url_len)
{
    size_t a = _Alignof(struct tenreg__build);
    return (strings_end(host_len, id_len, url_len) + a - 1) / a * a;
}

static size_t tenant_size(size_t host_len, size_t id_len, size_t url_len, bool lazy)
{
    return lazy ? build_offset(host_len, id_len, url_len) + sizeof(struct tenreg__build)
                : strings_end(host_len, id_len, url_len);
}

struct tenreg__tenant *tenreg__tenant_new(struct tenreg *reg, const char *host, size_t host_len,
                                          const char *id, size_t id_len,
                                          const char *url, size_t url_len,
                                          void *platform, tenreg_factory_fn factory,
                                          void *factory_ctx)
{
    bool lazy = factory != NULL;
    struct tenreg__tenant *t = tenreg__alloc(reg, tenant_size(host_len, id_len, url_len, lazy));
    if (!t)
        return NULL;
    memset(t, 0, offsetof(struct tenreg__tenant, strs));
    t->reg = reg;
    if (lazy) {
        struct tenreg__build *b =
            (struct tenreg__build *)((char *)t + build_offset(host_len, id_len, url_len));
        memset(b, 0, sizeof(*b));
        b->tenant = t;
        b->factory = factory;
        b->factory_ctx = factory_ctx;
        atomic_init(&b->retry_at_ns, 0);
        atomic_init(&b->ticket, 0);
        atomic_init(&b->parked, false);
        t->build = b;
    }
    t->platform = platform;
    t->host_len = (uint8_t)host_len;
    t->id_len = (uint8_t)id_len;
    t->url_len = (uint32_t)url_len;
    atomic_init(&t->refs, 0);
    atomic_init(&t->cell, lazy ? TENREG__CELL_EMPTY : TENREG__CELL_READY);
    atomic_init(&t->removed, false);
    t->registered_at_ns = tenreg__realtime_ns();
    t->sched_idx = UINT32_MAX;

    char *p = t->strs;
    memcpy(p, host, host_len);
    p[host_len] = '\0';
    p += host_len + 1;
    memcpy(p, id, id_len);
    p[id_len] = '\0';
    p += id_len + 1;
    memcpy(p, url, url_len);
    p[url_len] = '\0';

    t->rec = tenreg__record_new(t, TENREG_PENDING, platform, 0);
    if (lazy)
        t->build->rec = tenreg__record_new(t, TENREG_PENDING, NULL, 0);
    if (!t->rec || (lazy && !t->build->rec)) {
        tenreg__tenant_drop(t);
        return NULL;
    }
    return t;
}

static void tenant_dealloc(struct tenreg__tenant *t)
{
    /* The aliases themselves went with the registration's end
     * (tenreg__tenant_drop_aliases); only an unpublished tenant gets here
     * with the array, and then it is empty. */
    if (t->aliases)
        tenreg__dealloc(t->reg, t->aliases, t->alias_cap * sizeof(t->aliases[0]));
    tenreg__reason_free(t->reg, t->reason);
    if (t->build)
        tenreg__record_drop(t->build->rec);
    tenreg__dealloc(t->reg, t, tenant_size(t->host_len, t->id_len, t->url_len, tenreg__tenant_lazy(t)));
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
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    tenreg__platform_free(t->reg, t->platform);
    tenant_dealloc(t);
}

void tenreg__tenant_unref_not_last(struct tenreg__tenant *t)
{
    uint32_t before = atomic_fetch_sub_explicit(&t->refs, 1, memory_order_release);
    if (before <= 1)
        abort(); /* a tenreg bug: the caller's read section still sees a record of t */
}

void tenreg__platform_free(struct tenreg *reg, void *platform)
{
    if (!platform || !reg->cfg.platform_free)
        return;
    /* QSBR: liburcu runs call_rcu callbacks online; adopter code runs
     * offline, as it runs outside read sections in the memb flavor. */
    bool online = tenreg__rcu_offline_begin();
    reg->cfg.platform_free(reg->cfg.platform_free_ctx, platform);
    tenreg__rcu_offline_end(online);
}

void tenreg__tenant_publish(struct tenreg__tenant *t, struct tenreg__record *rec)
{
    struct tenreg *reg = t->reg;
    struct tenreg__record *old = t->rec;
    tenreg__tenant_ref(t); /* the new record's */
    tenreg__count_health(reg, old->health, rec->health);
    tenreg__table_replace(&reg->by_host, tenreg__ent_of_record(old), tenreg__ent_of_record(rec));
    tenreg__table_replace(&reg->by_id, tenreg__ent_of_record(old), tenreg__ent_of_record(rec));
    /* Release: pairs with the acquire load in tenreg__ent_record, so a
     * lookup through an extra host or pattern sees the new record whole.
     * A reader may meet the old record through one host and the new one
     * through another for a moment, as with by_host and by_id. */
    for (unsigned i = 0; i < t->n_aliases; i++)
        atomic_store_explicit(&t->aliases[i]->rec, rec, memory_order_release);
    /* rcu_assign_pointer, spelled as the C11 release store it is; pairs
     * with the acquire load of tenreg__tenant_record. The slots were
     * published first (release stores in tenreg__table_replace). */
    __atomic_store_n(&t->rec, rec, __ATOMIC_RELEASE);
    tenreg__record_retire(old);
}
