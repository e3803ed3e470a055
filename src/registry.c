/*
 * registry.c - the admin side of the public API: create and free a
 * registry, register, unregister, recheck, inspect.
 *
 * Every table or record mutation happens under write_lock (so a record
 * found in a table cannot be retired under the writer's feet), inside a
 * read section of a registered thread (call_rcu needs one), and never calls
 * adopter code: validators and factories run before the lock is taken,
 * platform_free runs from call_rcu after a grace period. Nothing here waits
 * for a grace period, so an admin call may come from any thread, including
 * one a factory depends on.
 */
#include "internal.h"

#include <string.h>

#include "futex.h"

/* ---- arguments ---------------------------------------------------------- */

int tenreg__id_len(const char *id, size_t *len)
{
    if (!id)
        return TENREG_EINVAL;
    *len = strnlen(id, TENREG_ID_MAX + 1);
    return (*len == 0 || *len > TENREG_ID_MAX) ? TENREG_EINVAL : TENREG_OK;
}

/* ---- the teardown gate --------------------------------------------------- */

/*
 * tenreg_free must not race with admin calls that callbacks make (a
 * platform_free that registers, a factory that unregisters): once it has
 * begun they answer EINVAL, and it waits for those already inside. A
 * store-buffering pattern, so seq_cst on both sides: the call increments
 * `active` then loads `closing`; tenreg_free stores `closing` then loads
 * `active`. Either the call sees `closing` or tenreg_free sees the call.
 */
bool tenreg__admin_begin(struct tenreg *reg)
{
    atomic_fetch_add(&reg->active, 1);
    if (TENREG__LIKELY(!atomic_load(&reg->closing)))
        return true;
    tenreg__admin_end(reg);
    return false;
}

void tenreg__admin_end(struct tenreg *reg)
{
    if (atomic_fetch_sub(&reg->active, 1) == 1 && atomic_load(&reg->closing))
        tenreg__futex_wake_all(&reg->active);
}

/* tenreg_free: no admin call may begin, none is left inside. */
static void close_gate(struct tenreg *reg)
{
    atomic_store(&reg->closing, true);
    for (uint32_t n; (n = atomic_load(&reg->active)) != 0;)
        tenreg__futex_wait(&reg->active, n);
}

/* ---- lifecycle ---------------------------------------------------------- */

TENREG_API int tenreg_new(const tenreg_config *cfg, tenreg_t **out)
{
    if (!out)
        return TENREG_EINVAL;
    *out = NULL;
    if (cfg && (cfg->flags & ~TENREG_CFG_TRANSIENT_FAILURES))
        return TENREG_EINVAL; /* an unknown flag: a newer header's, or a mistake */
    struct tenreg *reg = tenreg__alloc(NULL, sizeof(*reg));
    if (!reg)
        return TENREG_ENOMEM;
    memset(reg, 0, sizeof(*reg));
    if (cfg)
        reg->cfg = *cfg;
    atomic_init(&reg->count, 0);
    atomic_init(&reg->live_bytes, 0);
    atomic_init(&reg->active, 0);
    atomic_init(&reg->closing, false);
    tenreg__reclaim_init(reg);
    /* The tables' first key: from hash_seed, else from the kernel; with no
     * kernel randomness there is no registry (no weak seed). */
    struct tenreg__hash_key hkey;
    if (tenreg__hash_key_init(&hkey, reg->cfg.hash_seed) != TENREG_OK ||
        pthread_mutex_init(&reg->write_lock, NULL) != 0) {
        tenreg__dealloc(NULL, reg, sizeof(*reg));
        return TENREG_ENOMEM;
    }
    int rc = tenreg__table_init(reg, &reg->by_host, TENREG__KEY_HOST, reg->cfg.expected_tenants,
                                &hkey);
    if (rc == TENREG_OK)
        rc = tenreg__table_init(reg, &reg->by_id, TENREG__KEY_ID, reg->cfg.expected_tenants,
                                &hkey);
    if (rc == TENREG_OK)
        rc = tenreg__table_init(reg, &reg->by_pattern, TENREG__KEY_PATTERN, 0, &hkey);
    bool builders = false, sched = false;
    if (rc == TENREG_OK) {
        rc = tenreg__sched_init(reg);
        sched = rc == TENREG_OK;
    }
    if (rc == TENREG_OK)
        rc = tenreg__builder_start(reg, reg->cfg.builder_threads ? reg->cfg.builder_threads : 1);
    if (rc == TENREG_OK) {
        builders = true;
        rc = tenreg__events_start(reg);
    }
    if (rc != TENREG_OK) {
        if (builders)
            tenreg__builder_stop(reg);
        if (sched)
            tenreg__sched_destroy(reg);
        /* Any table may be missing; destroy accepts that. */
        tenreg__table_destroy(reg, &reg->by_host);
        tenreg__table_destroy(reg, &reg->by_id);
        tenreg__table_destroy(reg, &reg->by_pattern);
        tenreg__reclaim_stop(reg);
        pthread_mutex_destroy(&reg->write_lock);
        tenreg__dealloc(NULL, reg, sizeof(*reg));
        return rc;
    }
    *out = reg;
    return TENREG_OK;
}

void tenreg__write_lock(struct tenreg *reg)
{
    tenreg__rcu_ensure_registered(); /* not under write_lock: see rcu.c */
    pthread_mutex_lock(&reg->write_lock);
    /* Acquire: pairs with the release store that ends a commit, whose
     * finalize (under this lock too) this writer then follows. */
    while (atomic_load_explicit(&reg->committing, memory_order_acquire)) {
        pthread_mutex_unlock(&reg->write_lock);
        bool online = tenreg__rcu_offline_begin();
        tenreg__futex_wait(&reg->committing, 1);
        tenreg__rcu_offline_end(online);
        pthread_mutex_lock(&reg->write_lock);
    }
}

/* Ends a registration that is already out of the tables (or whose slots
 * were just given to its replacement): its extra hosts and patterns go,
 * no more publishes, its waiters wake, its current record is retired.
 * Under write_lock, inside tenreg__rcu_enter. */
void tenreg__end_registration(struct tenreg__tenant *t, bool aliases_unlinked)
{
    if (aliases_unlinked)
        tenreg__tenant_forget_aliases(t);
    else
        tenreg__tenant_drop_aliases(t);
    atomic_store(&t->removed, true);
    tenreg__sched_forget(t->reg, t); /* no background check of it any more */
    /* Resolvers waiting on its build wake up and look up again; no retry
     * of a failed build can start. */
    tenreg__cell_make_stale(&t->cell);
    tenreg__record_retire(t->rec);
}

void tenreg__uncount(struct tenreg *reg, const struct tenreg__tenant *t)
{
    tenreg__count_health(reg, t->rec->health, -1);
    if (tenreg__tenant_lazy(t) && !t->platform)
        reg->counts.lazy_unbuilt--;
}

/* Takes @rec's registration out of both tables and ends it; @announce:
 * an UNREGISTERED event (not for tenreg_free's teardown). */
static void unlink_record(struct tenreg *reg, struct tenreg__record *rec, bool announce)
{
    struct tenreg__tenant *t = tenreg__record_tenant(rec);
    /* Extra hosts first (table.c's ordering notes): no lookup finds the
     * tenant through one once its own host misses. */
    tenreg__tenant_drop_aliases(t);
    tenreg__table_remove(&reg->by_id, tenreg__ent_of_record(rec));
    tenreg__table_remove(&reg->by_host, tenreg__ent_of_record(rec));
    atomic_fetch_sub(&reg->count, 1);
    tenreg__uncount(reg, t);
    tenreg_health h = (tenreg_health)rec->health;
    tenreg__end_registration(t, false); /* its extra hosts go too: all of it is gone now */
    if (announce)
        tenreg__event(reg, TENREG_EV_UNREGISTERED, t, h, h, TENREG_UNCHECKED, "");
}

static void unlink_each(void *ctx, struct tenreg__record *rec)
{
    /* Out of the tables too, not just retired: nothing looks up a record
     * whose memory the call_rcu callbacks are about to free. */
    unlink_record(ctx, rec, false);
}

TENREG_API void tenreg_free(tenreg_t *reg)
{
    if (!reg)
        return;
    /* Callbacks may still make admin calls: shut them out first, then let
     * the builds in flight finish (their callbacks' admin calls now answer
     * EINVAL), then unlink everything and wait for every callback. */
    bool online = tenreg__rcu_free_begin();
    close_gate(reg);
    /* What commits retired: freed now (no commit runs any more). */
    tenreg__reclaim_stop(reg);
    tenreg__builder_stop(reg);
    /* Every event published before now (and by the builds that just
     * finished) is delivered; teardown itself announces nothing. */
    tenreg__events_stop(reg);
    tenreg__rcu_ensure_registered();
    pthread_mutex_lock(&reg->write_lock);
    tenreg__rcu_enter();
    tenreg__table_each(&reg->by_id, unlink_each, reg);
    tenreg__rcu_exit();
    pthread_mutex_unlock(&reg->write_lock);
    /* Every registration has ended (and left the heap); no builder runs. */
    tenreg__sched_destroy(reg);
    /* Retired records drop the last tenant references from call_rcu, which
     * frees the platforms: wait for all of them. */
    tenreg__rcu_barrier();
    tenreg__table_destroy(reg, &reg->by_host);
    tenreg__table_destroy(reg, &reg->by_id);
    tenreg__table_destroy(reg, &reg->by_pattern);
    tenreg__note_left_at_free(tenreg__live_bytes(reg));
    pthread_mutex_destroy(&reg->write_lock);
    tenreg__dealloc(NULL, reg, sizeof(*reg));
    tenreg__rcu_offline_end(online);
}

/* ---- register ----------------------------------------------------------- */

/* Puts @t's first record into the tables in place of @old's (NULL: a new
 * id), with the hashes add_tenant took of its host key and id. Under
 * write_lock, inside tenreg__rcu_enter. Returns 0, EEXIST or ENOMEM, with
 * nothing changed on error. */
static int link_registration(struct tenreg *reg, struct tenreg__tenant *t,
                             const struct tenreg__prehash *host_h,
                             const struct tenreg__prehash *id_h)
{
    const char *host = tenreg__tenant_host(t), *id = tenreg__tenant_id(t);
    /* The exact key only: a pattern of another tenant does not hold it. */
    tenreg__ent holder = tenreg__table_find_prehashed(&reg->by_host, host, t->host_len, host_h);
    struct tenreg__record *old =
        (struct tenreg__record *)tenreg__table_find_prehashed(&reg->by_id, id, t->id_len, id_h);
    struct tenreg__tenant *prev = old ? tenreg__record_tenant(old) : NULL;
    if (holder && (!prev || tenreg__ent_owner(holder) != prev))
        return TENREG_EEXIST;
    /* The old registration's own host, not one of its extra hosts. */
    bool same_host = holder && !tenreg__ent_is_alias(holder);
    struct tenreg__slots *host_slots, *id_slots = NULL;
    int rc = tenreg__table_prepare(reg, &reg->by_host, same_host ? 0 : 1, &host_slots);
    if (rc == TENREG_OK)
        rc = tenreg__table_prepare(reg, &reg->by_id, old ? 0 : 1, &id_slots);
    if (rc == TENREG_OK)
        rc = tenreg__sched_reserve(reg); /* room in the background-check heap */
    if (rc != TENREG_OK) {
        tenreg__table_abandon(host_slots);
        tenreg__table_abandon(id_slots);
        return rc;
    }
    tenreg__table_commit(&reg->by_host, host_slots);
    tenreg__table_commit(&reg->by_id, id_slots);

    tenreg__ent rec = tenreg__ent_of_record(t->rec);
    tenreg__tenant_ref(t); /* the first record's */
    tenreg__count_health(reg, -1, TENREG_PENDING);
    reg->counts.lazy_unbuilt += tenreg__tenant_lazy(t);
    /* Read before tenreg__end_registration retires it. */
    tenreg_health from = old ? (tenreg_health)old->health : TENREG_PENDING;
    if (old) {
        tenreg__uncount(reg, prev);
        tenreg__table_replace(&reg->by_id, tenreg__ent_of_record(old), rec);
        /* The new registration has its agent URL's host only; the old
         * one's extra hosts go first, as the new host may be one of them. */
        tenreg__tenant_drop_aliases(prev);
        if (same_host) {
            tenreg__table_replace(&reg->by_host, tenreg__ent_of_record(old), rec);
        } else {
            /* The tenant moved: its old host stops resolving, its new one starts. */
            tenreg__table_remove(&reg->by_host, tenreg__ent_of_record(old));
            tenreg__table_insert(&reg->by_host, rec);
        }
        tenreg__end_registration(prev, false);
    } else {
        (void)tenreg__table_insert_prehashed(&reg->by_id, rec, id_h);
        (void)tenreg__table_insert_prehashed(&reg->by_host, rec, host_h);
        atomic_fetch_add(&reg->count, 1);
    }
    /* Queued once the change is visible: the event thread may deliver it
     * at once, and the callback must find what it is told about. */
    tenreg__sched_first(reg, t);
    tenreg__event(reg, TENREG_EV_REGISTERED, t, from, TENREG_PENDING, TENREG_UNCHECKED, "");
    return TENREG_OK;
}

static int add_tenant(struct tenreg *reg, const char *id, const char *url, void *platform,
                      tenreg_factory_fn factory, void *factory_ctx, unsigned flags)
{
    size_t id_len, key_len;
    char key[TENREG_HOST_KEY_MAX + 1];
    if (!reg || !url || (flags & ~TENREG_AWAIT_FIRST_VALIDATION) || tenreg__id_len(id, &id_len))
        return TENREG_EINVAL;
    size_t url_len = strlen(url);
    if (url_len > UINT32_MAX - 1 ||
        tenreg_normalize_host(url, url_len, key, sizeof(key), &key_len) != TENREG_OK)
        return TENREG_EINVAL;

    if (!tenreg__admin_begin(reg))
        return TENREG_EINVAL;
    /* The two slot lines link_registration probes first, fetched while the
     * tenant is built: at a million tenants each is a cache miss, and the
     * two were most of a registration's time. Their hashes serve the
     * lookups and inserts under the lock. */
    struct tenreg__prehash host_h, id_h;
    tenreg__rcu_enter();
    tenreg__table_prehash(&reg->by_host, key, key_len, &host_h);
    tenreg__table_prehash(&reg->by_id, id, id_len, &id_h);
    tenreg__rcu_exit();
    struct tenreg__tenant *t = tenreg__tenant_new(
        reg, key, key_len, id, id_len, url, url_len, platform, factory, factory_ctx);
    if (!t) {
        tenreg__admin_end(reg);
        return TENREG_ENOMEM;
    }
    bool await = flags & TENREG_AWAIT_FIRST_VALIDATION;
    struct tenreg__record *await_rec = NULL;
    if (await && !factory) {
        await_rec = tenreg__record_new(t, TENREG_PENDING, NULL, 0);
        if (!await_rec) {
            tenreg__tenant_drop(t);
            tenreg__admin_end(reg);
            return TENREG_ENOMEM;
        }
    }
    tenreg__write_lock(reg);
    tenreg__rcu_enter();
    int rc = link_registration(reg, t, &host_h, &id_h);
    if (rc == TENREG_OK && await)
        tenreg__tenant_ref(t);
    tenreg__rcu_exit();
    pthread_mutex_unlock(&reg->write_lock);
    if (rc != TENREG_OK) {
        tenreg__record_drop(await_rec);
        tenreg__tenant_drop(t); /* never published; the platform stays the caller's */
        tenreg__admin_end(reg);
        return rc;
    }

    if (await) {
        if (factory) {
            tenreg__build_inline(t);
            /* A resolver may have claimed the build first: wait for it. */
            bool online = tenreg__rcu_offline_begin();
            tenreg__cell_wait(&t->cell);
            tenreg__rcu_offline_end(online);
        } else {
            (void)tenreg__check(reg, t, await_rec); /* 0 whatever the verdict: read health */
        }
        tenreg__tenant_unref(t);
    }
    tenreg__admin_end(reg);
    return TENREG_OK;
}

TENREG_API int tenreg_register(tenreg_t *reg, const char *tenant_id, const char *agent_url,
                               void *platform, unsigned flags)
{
    if (!platform)
        return TENREG_EINVAL;
    return add_tenant(reg, tenant_id, agent_url, platform, NULL, NULL, flags);
}

TENREG_API int tenreg_register_lazy(tenreg_t *reg, const char *tenant_id, const char *agent_url,
                                    tenreg_factory_fn factory, void *factory_ctx,
                                    unsigned flags)
{
    if (!factory)
        return TENREG_EINVAL;
    return add_tenant(reg, tenant_id, agent_url, NULL, factory, factory_ctx, flags);
}

/* ---- unregister, recheck ------------------------------------------------ */

TENREG_API int tenreg_unregister(tenreg_t *reg, const char *tenant_id)
{
    size_t len;
    if (!reg || tenreg__id_len(tenant_id, &len) || !tenreg__admin_begin(reg))
        return TENREG_EINVAL;
    tenreg__write_lock(reg);
    tenreg__rcu_enter();
    struct tenreg__record *rec = tenreg__find_id(reg, tenant_id, len);
    if (rec)
        unlink_record(reg, rec, true);
    tenreg__rcu_exit();
    pthread_mutex_unlock(&reg->write_lock);
    tenreg__admin_end(reg);
    return rec ? TENREG_OK : TENREG_ENOENT;
}

/* Finds @id and takes a reference on its registration, so that it
 * survives the read section. */
static struct tenreg__tenant *get_by_id(struct tenreg *reg, const char *id, size_t len)
{
    tenreg__rcu_enter();
    struct tenreg__record *rec = tenreg__find_id(reg, id, len);
    struct tenreg__tenant *t = rec ? tenreg__record_tenant(rec) : NULL;
    if (t)
        tenreg__tenant_ref(t);
    tenreg__rcu_exit();
    return t;
}

TENREG_API int tenreg_recheck(tenreg_t *reg, const char *tenant_id)
{
    size_t len;
    if (!reg || tenreg__id_len(tenant_id, &len) || !tenreg__admin_begin(reg))
        return TENREG_EINVAL;
    int rc = TENREG_ENOENT;
    struct tenreg__tenant *t = get_by_id(reg, tenant_id, len);
    if (t) {
        rc = TENREG_ENOMEM;
        struct tenreg__record *rec = tenreg__record_new(t, TENREG_PENDING, NULL, 0);
        if (rec)
            rc = tenreg__check(reg, t, rec);
        tenreg__tenant_unref(t);
    }
    tenreg__admin_end(reg);
    return rc;
}

/* ---- inspection --------------------------------------------------------- */

TENREG_API int tenreg_health_of(const tenreg_t *reg, const char *tenant_id, tenreg_health *out)
{
    size_t len;
    if (!reg || !out || tenreg__id_len(tenant_id, &len))
        return TENREG_EINVAL;
    int rc = TENREG_ENOENT;
    tenreg__rcu_enter();
    const struct tenreg__record *rec = tenreg__find_id(reg, tenant_id, len);
    if (rec) {
        *out = (tenreg_health)rec->health;
        rc = TENREG_OK;
    }
    tenreg__rcu_exit();
    return rc;
}

TENREG_API size_t tenreg_count(const tenreg_t *reg)
{
    return reg ? atomic_load(&reg->count) : 0;
}

struct snapshot {
    struct tenreg *reg;
    size_t n, bytes;        /* first pass: sizes */
    size_t i;               /* second pass: fill position */
    uint8_t *health;
    char *ids;              /* NUL-separated */
    char *pos;
};

static void snapshot_size(void *ctx, struct tenreg__record *r)
{
    struct snapshot *s = ctx;
    s->n++;
    s->bytes += (size_t)r->id_len + 1;
}

static void snapshot_fill(void *ctx, struct tenreg__record *r)
{
    struct snapshot *s = ctx;
    s->health[s->i++] = r->health;
    memcpy(s->pos, tenreg__record_id(r), (size_t)r->id_len + 1);
    s->pos += r->id_len + 1;
}

TENREG_API int tenreg_foreach(const tenreg_t *creg,
                              int (*fn)(void *ctx, const char *tenant_id, tenreg_health h),
                              void *ctx)
{
    if (!creg || !fn)
        return TENREG_EINVAL;
    /* The registry is const to the caller; the snapshot's memory is
     * accounted to it all the same. */
    struct tenreg *reg = (struct tenreg *)creg;
    if (!tenreg__admin_begin(reg))
        return TENREG_EINVAL;
    struct snapshot s = {.reg = reg};
    size_t size = 0;
    void *mem = NULL;
    int rc = TENREG_OK;

    /* Under write_lock the set cannot change between the two passes. */
    tenreg__rcu_ensure_registered();
    pthread_mutex_lock(&reg->write_lock);
    tenreg__rcu_enter();
    tenreg__table_each(&reg->by_id, snapshot_size, &s);
    size = s.n + s.bytes + 1;
    mem = tenreg__alloc(reg, size);
    if (mem) {
        s.health = mem;
        s.ids = s.pos = (char *)mem + s.n;
        tenreg__table_each(&reg->by_id, snapshot_fill, &s);
    }
    tenreg__rcu_exit();
    pthread_mutex_unlock(&reg->write_lock);
    /* fn runs on the snapshot, outside the gate, like any caller's code. */
    tenreg__admin_end(reg);
    if (!mem)
        return TENREG_ENOMEM;

    const char *id = s.ids;
    for (size_t i = 0; i < s.n && rc == 0; i++) {
        rc = fn(ctx, id, (tenreg_health)s.health[i]);
        id += strlen(id) + 1;
    }
    tenreg__dealloc(reg, mem, size);
    return rc;
}
