/*
 * backend_rwlock.c - the comparison baseline: what an adopter without
 * tenreg would write. One hash map (chained, by host key and by id) under a
 * writer-preferring pthread_rwlock; readers take the read lock for each
 * lookup, admin calls the write lock. It keeps tenreg's answers and health
 * rules (docs/design.md §3) so the front answers the same either way:
 *   - hosts are normalized with tenreg_normalize_host;
 *   - eager tenants are validated before they are published;
 *   - a lazy tenant's first resolve queues one build (an atomic flag in the
 *     entry makes it exactly once) for a builder thread, which runs the
 *     factory and validator outside the lock and publishes the result under
 *     the write lock, if the registration it built for is still current
 *     (a generation number says so);
 *   - recheck runs the validator outside the lock, then applies the health
 *     transition if the registration is unchanged.
 * Simplification against tenreg: a recheck and a build of the same tenant
 * are not ordered against each other (the later publish wins); the baseline
 * exists to measure the lookup, not to re-implement that ordering. For the
 * same reason it keeps one host per tenant: no extra hosts or wildcard
 * patterns (docs/design.md §8.1; add_host and remove_host are NULL, so the
 * admin API's host endpoints answer 501 with this backend), and its hot
 * path stays the single exact probe that was measured. Nor does it keep
 * what docs/design.md §8.2-§8.4 and §8.7 add: no verdict, reason, failure
 * count or times in its status, no events, no counters, no background
 * rechecks or build retries (the front refuses those flags with it).
 */
#define _GNU_SOURCE
#include "backend.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "demo.h"

struct entry {
    struct entry *next_host, *next_id;
    uint64_t gen;               /* registration this entry describes */
    tenreg_health health;
    void *platform;             /* NULL: lazy, not built (yet) */
    bool lazy;
    bool build_failed;          /* EDISABLED until registered again */
    bool kept;                  /* rb_reload's mark, under the write lock */
    atomic_bool build_queued;   /* set once by the resolve that queues the build */
    char *id, *url;
    size_t key_len;
    char key[TENREG_HOST_KEY_MAX + 1];
};

struct job {
    struct job *next;
    uint64_t gen;
    char id[];
};

struct rb {
    pthread_rwlock_t lock;
    struct entry **by_host, **by_id;
    size_t mask;                /* buckets - 1 */
    size_t count;
    uint64_t seed, next_gen;
    struct demo *demo;
    /* builder queue */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    struct job *head, **tail;
    bool stop;
    pthread_t builder;
};

/* FNV-1a with a random per-map seed folded in, then a murmur finalizer:
 * cheap for short host keys, and not predictable from outside. */
static uint64_t hash(uint64_t seed, const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static struct entry *find_host(struct rb *rb, const char *key, size_t n)
{
    for (struct entry *e = rb->by_host[hash(rb->seed, key, n) & rb->mask]; e; e = e->next_host)
        if (e->key_len == n && memcmp(e->key, key, n) == 0)
            return e;
    return NULL;
}

static struct entry *find_id(struct rb *rb, const char *id)
{
    for (struct entry *e = rb->by_id[hash(rb->seed, id, strlen(id)) & rb->mask]; e;
         e = e->next_id)
        if (strcmp(e->id, id) == 0)
            return e;
    return NULL;
}

static void unlink_host(struct rb *rb, struct entry *e)
{
    struct entry **pp = &rb->by_host[hash(rb->seed, e->key, e->key_len) & rb->mask];
    while (*pp != e)
        pp = &(*pp)->next_host;
    *pp = e->next_host;
}

static void unlink_id(struct rb *rb, struct entry *e)
{
    struct entry **pp = &rb->by_id[hash(rb->seed, e->id, strlen(e->id)) & rb->mask];
    while (*pp != e)
        pp = &(*pp)->next_id;
    *pp = e->next_id;
}

static void link_host(struct rb *rb, struct entry *e)
{
    struct entry **b = &rb->by_host[hash(rb->seed, e->key, e->key_len) & rb->mask];
    e->next_host = *b;
    *b = e;
}

static void link_id(struct rb *rb, struct entry *e)
{
    struct entry **b = &rb->by_id[hash(rb->seed, e->id, strlen(e->id)) & rb->mask];
    e->next_id = *b;
    *b = e;
}

/* Doubles the tables when the load factor passes 1; write lock held.
 * Failure to grow only costs speed. */
static void maybe_grow(struct rb *rb)
{
    if (rb->count <= rb->mask + 1)
        return;
    size_t n = (rb->mask + 1) * 2;
    struct entry **h = calloc(n, sizeof *h), **i = calloc(n, sizeof *i);
    if (h == NULL || i == NULL) {
        free(h);
        free(i);
        return;
    }
    struct entry **oh = rb->by_host, **oi = rb->by_id;
    size_t old = rb->mask + 1;
    rb->by_host = h;
    rb->by_id = i;
    rb->mask = n - 1;
    for (size_t b = 0; b < old; b++) {
        for (struct entry *e = oh[b], *next; e != NULL; e = next) {
            next = e->next_host;
            link_host(rb, e);
            link_id(rb, e);
        }
    }
    free(oh);
    free(oi);
}

static void entry_free(struct rb *rb, struct entry *e)
{
    if (e->platform != NULL)
        demo_platform_free(rb->demo, e->platform);
    free(e->id);
    free(e->url);
    free(e);
}

static void rb_thread_start(void *impl)
{
}

static void rb_thread_stop(void *impl)
{
}

/* Called with the read lock held; never blocks on the builder. */
static void queue_build(struct rb *rb, struct entry *e)
{
    bool expected = false;
    if (!atomic_compare_exchange_strong(&e->build_queued, &expected, true))
        return;
    size_t n = strlen(e->id) + 1;
    struct job *j = malloc(sizeof *j + n);
    if (j == NULL) {
        atomic_store(&e->build_queued, false);  /* a later resolve retries */
        return;
    }
    j->gen = e->gen;
    memcpy(j->id, e->id, n);
    j->next = NULL;
    pthread_mutex_lock(&rb->qlock);
    *rb->tail = j;
    rb->tail = &j->next;
    pthread_cond_signal(&rb->qcond);
    pthread_mutex_unlock(&rb->qlock);
}

static void rb_resolve(void *impl, const char *host, size_t len, struct answer *out)
{
    struct rb *rb = impl;
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t n;
    if (tenreg_normalize_host(host, len, key, sizeof key, &n) != 0) {
        out->code = TENREG_EINVAL;
        return;
    }
    out->matched_len = 0;       /* one host per tenant: nothing to tell */
    pthread_rwlock_rdlock(&rb->lock);
    struct entry *e = find_host(rb, key, n);
    if (e == NULL) {
        pthread_rwlock_unlock(&rb->lock);
        out->code = TENREG_ENOENT;
        return;
    }
    size_t idn = strlen(e->id);
    memcpy(out->tenant, e->id, idn + 1);
    out->tenant_len = idn;
    out->health = e->health;
    if (e->platform != NULL) {
        out->code = 0;
    } else if (e->build_failed) {
        out->code = TENREG_EDISABLED;
    } else {
        out->code = TENREG_EPENDING;
        queue_build(rb, e);
    }
    pthread_rwlock_unlock(&rb->lock);
}

static void *builder_main(void *arg)
{
    struct rb *rb = arg;
    for (;;) {
        pthread_mutex_lock(&rb->qlock);
        while (rb->head == NULL && !rb->stop)
            pthread_cond_wait(&rb->qcond, &rb->qlock);
        if (rb->stop) {
            pthread_mutex_unlock(&rb->qlock);
            return NULL;
        }
        struct job *j = rb->head;
        rb->head = j->next;
        if (rb->head == NULL)
            rb->tail = &rb->head;
        pthread_mutex_unlock(&rb->qlock);

        /* Factory and validator run with no lock held. */
        void *p = NULL;
        bool ok = demo_factory(rb->demo, j->id, &p) == 0;
        char *url = NULL;
        if (ok) {
            pthread_rwlock_rdlock(&rb->lock);
            struct entry *e = find_id(rb, j->id);
            if (e != NULL && e->gen == j->gen)
                url = strdup(e->url);
            pthread_rwlock_unlock(&rb->lock);
            ok = url != NULL && demo_validator(rb->demo, j->id, url) > 0;
            free(url);
        }
        void *discard = p;
        pthread_rwlock_wrlock(&rb->lock);
        struct entry *e = find_id(rb, j->id);
        if (e != NULL && e->gen == j->gen) {   /* else: stale, drop the result */
            if (ok) {
                e->platform = p;
                e->health = TENREG_HEALTHY;
                discard = NULL;
            } else {
                e->health = TENREG_DISABLED;
                e->build_failed = true;
            }
        }
        pthread_rwlock_unlock(&rb->lock);
        if (discard != NULL)    /* no reader can see it: it was never published */
            demo_platform_free(rb->demo, discard);
        free(j);
    }
}

/* A new entry for @id, not linked; an eager one has its platform and,
 * with @await, its health from the validator (run here, with no lock
 * held, as tenreg's AWAIT_FIRST_VALIDATION runs outside its read side;
 * without @await it stays PENDING until a recheck). NULL with *code set. */
static struct entry *entry_new(struct rb *rb, const char *id, const char *url, bool lazy,
                               bool await, int *code)
{
    size_t id_len = strlen(id);
    *code = TENREG_EINVAL;
    if (id_len == 0 || id_len > TENREG_ID_MAX)
        return NULL;
    struct entry *ne = calloc(1, sizeof *ne);
    *code = TENREG_ENOMEM;
    if (ne == NULL)
        return NULL;
    if (tenreg_normalize_host(url, strlen(url), ne->key, sizeof ne->key, &ne->key_len) != 0) {
        free(ne);
        *code = TENREG_EINVAL;
        return NULL;
    }
    ne->id = strdup(id);
    ne->url = strdup(url);
    ne->lazy = lazy;
    ne->health = TENREG_PENDING;
    if (!lazy)
        ne->platform = demo_platform_new(rb->demo, id);
    if (ne->id == NULL || ne->url == NULL || (!lazy && ne->platform == NULL)) {
        entry_free(rb, ne);
        return NULL;
    }
    if (!lazy && await)
        ne->health = demo_validator(rb->demo, id, url) > 0 ? TENREG_HEALTHY : TENREG_DISABLED;
    *code = 0;
    return ne;
}

static int rb_add(void *impl, const char *id, const char *url, bool lazy, bool await,
                  bool *replaced)
{
    struct rb *rb = impl;
    int code;
    struct entry *ne = entry_new(rb, id, url, lazy, await, &code);
    if (ne == NULL)
        return code;
    pthread_rwlock_wrlock(&rb->lock);
    struct entry *holder = find_host(rb, ne->key, ne->key_len);
    if (holder != NULL && strcmp(holder->id, id) != 0) {
        pthread_rwlock_unlock(&rb->lock);
        entry_free(rb, ne);
        return TENREG_EEXIST;
    }
    struct entry *old = find_id(rb, id);
    *replaced = old != NULL;
    if (old != NULL) {
        unlink_host(rb, old);
        unlink_id(rb, old);
        rb->count--;
    }
    ne->gen = ++rb->next_gen;
    link_host(rb, ne);
    link_id(rb, ne);
    rb->count++;
    maybe_grow(rb);
    pthread_rwlock_unlock(&rb->lock);
    /* Readers copy what they need under the read lock, so once the write
     * lock is released nobody can still use the old entry. */
    if (old != NULL)
        entry_free(rb, old);
    return 0;
}

/* Equal neighbours after sorting: two tenants with one host key (or id). */
static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_duplicate(const char **v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_key);
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i - 1], v[i]) == 0)
            return true;
    return false;
}

/*
 * The whole set as one change: the new entries are made and validated with
 * no lock held, the new table's buckets allocated, the set checked (ids and
 * host keys distinct, every kept id present); then, under the write lock,
 * the kept entries (as they are: health, platform, a build in flight) and
 * the new ones are linked into the new buckets and the tables swapped.
 * A reader holds the read lock for its whole lookup, so it sees the old
 * table or the new one. The entries left behind are freed after the
 * write lock is released, when no reader can hold them. Only the admin
 * caller adds, removes or relinks entries (the builder thread only sets a
 * platform and a health, under the write lock), so the kept entries found
 * under the read lock are still there, with the same key, under the write
 * lock.
 */
static int rb_reload(void *impl, const struct reload_op *ops, size_t n, size_t *failed)
{
    struct rb *rb = impl;
    *failed = SIZE_MAX;
    struct entry **e = calloc(n ? n : 1, sizeof *e);
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    const char **ids = malloc((n ? n : 1) * sizeof *ids);
    struct entry **dead = NULL, **by_host = NULL, **by_id = NULL;
    int code = e != NULL && keys != NULL && ids != NULL ? 0 : TENREG_ENOMEM;
    for (size_t i = 0; code == 0 && i < n; i++) {
        if (ops[i].kind == RELOAD_ADD_HOSTS || ops[i].nhosts > 0)
            code = TENREG_EINVAL;   /* one host per tenant */
        else if (ops[i].kind == RELOAD_REGISTER)
            e[i] = entry_new(rb, ops[i].id, ops[i].url, ops[i].lazy, true, &code);
        if (code != 0)
            *failed = i;
    }
    if (code == 0) {
        pthread_rwlock_rdlock(&rb->lock);
        for (size_t i = 0; code == 0 && i < n; i++) {
            if (ops[i].kind != RELOAD_KEEP)
                continue;
            struct entry *k = find_id(rb, ops[i].id);
            if (k == NULL)
                code = TENREG_ENOENT;
            else
                keys[i] = k->key;
        }
        size_t count = rb->count;
        pthread_rwlock_unlock(&rb->lock);
        for (size_t i = 0; i < n; i++) {
            ids[i] = ops[i].id;
            if (ops[i].kind != RELOAD_KEEP)
                keys[i] = e[i]->key;
        }
        if (code == 0 && (has_duplicate(ids, n) || has_duplicate(keys, n)))
            code = TENREG_EEXIST;
        size_t buckets = rb->mask + 1;
        while (buckets < n * 2 && buckets < ((size_t)1 << 30))
            buckets *= 2;
        if (code == 0) {
            dead = malloc((count ? count : 1) * sizeof *dead);
            by_host = calloc(buckets, sizeof *by_host);
            by_id = calloc(buckets, sizeof *by_id);
            if (dead == NULL || by_host == NULL || by_id == NULL)
                code = TENREG_ENOMEM;
        }
        if (code == 0) {
            size_t ndead = 0;
            pthread_rwlock_wrlock(&rb->lock);
            for (size_t i = 0; i < n; i++)
                if (ops[i].kind == RELOAD_KEEP)
                    (e[i] = find_id(rb, ops[i].id))->kept = true;
            for (size_t b = 0; b <= rb->mask; b++)
                for (struct entry *x = rb->by_id[b]; x != NULL; x = x->next_id)
                    if (!x->kept)
                        dead[ndead++] = x;
            struct entry **oh = rb->by_host, **oi = rb->by_id;
            rb->by_host = by_host;
            rb->by_id = by_id;
            rb->mask = buckets - 1;
            for (size_t i = 0; i < n; i++) {
                if (ops[i].kind != RELOAD_KEEP)
                    e[i]->gen = ++rb->next_gen;
                e[i]->kept = false;
                link_host(rb, e[i]);
                link_id(rb, e[i]);
            }
            rb->count = n;
            pthread_rwlock_unlock(&rb->lock);
            for (size_t i = 0; i < ndead; i++)
                entry_free(rb, dead[i]);
            free(oh);
            free(oi);
            by_host = by_id = NULL;
        }
    }
    if (code != 0 && e != NULL)
        for (size_t i = 0; i < n; i++)
            if (ops[i].kind == RELOAD_REGISTER && e[i] != NULL)
                entry_free(rb, e[i]);   /* never published */
    free(e);
    free(keys);
    free(ids);
    free(dead);
    free(by_host);
    free(by_id);
    return code;
}

static int rb_remove(void *impl, const char *id)
{
    struct rb *rb = impl;
    pthread_rwlock_wrlock(&rb->lock);
    struct entry *e = find_id(rb, id);
    if (e != NULL) {
        unlink_host(rb, e);
        unlink_id(rb, e);
        rb->count--;
    }
    pthread_rwlock_unlock(&rb->lock);
    if (e == NULL)
        return TENREG_ENOENT;
    entry_free(rb, e);
    return 0;
}

static int rb_recheck(void *impl, const char *id)
{
    struct rb *rb = impl;
    pthread_rwlock_rdlock(&rb->lock);
    struct entry *e = find_id(rb, id);
    uint64_t gen = e != NULL ? e->gen : 0;
    char *url = e != NULL ? strdup(e->url) : NULL;
    pthread_rwlock_unlock(&rb->lock);
    if (e == NULL)
        return TENREG_ENOENT;
    if (url == NULL)
        return TENREG_ENOMEM;
    bool valid = demo_validator(rb->demo, id, url) > 0;
    free(url);
    pthread_rwlock_wrlock(&rb->lock);
    e = find_id(rb, id);
    bool current = e != NULL && e->gen == gen;
    if (current) {
        if (valid)
            e->health = TENREG_HEALTHY;
        else
            e->health = e->health == TENREG_HEALTHY ? TENREG_UNVERIFIED : TENREG_DISABLED;
    }
    pthread_rwlock_unlock(&rb->lock);
    if (!current)
        return TENREG_ENOENT;
    return valid ? 0 : TENREG_EVALIDATOR;
}

static int rb_health(void *impl, const char *id, tenreg_health *out)
{
    struct rb *rb = impl;
    pthread_rwlock_rdlock(&rb->lock);
    struct entry *e = find_id(rb, id);
    if (e != NULL)
        *out = e->health;
    pthread_rwlock_unlock(&rb->lock);
    return e != NULL ? 0 : TENREG_ENOENT;
}

/* What this backend keeps of a tenant's status: no verdict, reason,
 * failure count or times (full_status is false). */
static int rb_status(void *impl, const char *id, tenreg_status *out)
{
    struct rb *rb = impl;
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&rb->lock);
    struct entry *e = find_id(rb, id);
    if (e != NULL) {
        out->health = e->health;
        out->lazy = e->lazy;
        out->built = e->platform != NULL;
        out->hosts = 1;
    }
    pthread_rwlock_unlock(&rb->lock);
    return e != NULL ? 0 : TENREG_ENOENT;
}

/* One host per tenant: its agent URL's. */
static int rb_foreach_host(void *impl, const char *id, backend_host_fn fn, void *ctx)
{
    struct rb *rb = impl;
    char key[TENREG_HOST_KEY_MAX + 1];
    pthread_rwlock_rdlock(&rb->lock);
    struct entry *e = find_id(rb, id);
    if (e != NULL)
        memcpy(key, e->key, e->key_len + 1);
    pthread_rwlock_unlock(&rb->lock);
    return e != NULL ? fn(ctx, key) : TENREG_ENOENT;
}

/* Snapshot under the read lock, callbacks outside it (as tenreg_foreach). */
static int rb_foreach(void *impl, backend_each_fn fn, void *ctx)
{
    struct rb *rb = impl;
    pthread_rwlock_rdlock(&rb->lock);
    size_t n = rb->count, k = 0;
    char **ids = malloc((n ? n : 1) * sizeof *ids);
    tenreg_health *hs = malloc((n ? n : 1) * sizeof *hs);
    bool ok = ids != NULL && hs != NULL;
    for (size_t b = 0; ok && b <= rb->mask; b++) {
        for (struct entry *e = rb->by_id[b]; e != NULL; e = e->next_id) {
            hs[k] = e->health;
            if ((ids[k++] = strdup(e->id)) == NULL)
                ok = false;
        }
    }
    pthread_rwlock_unlock(&rb->lock);
    int r = ok ? 0 : TENREG_ENOMEM;
    for (size_t i = 0; i < k && r == 0; i++)
        r = fn(ctx, ids[i], hs[i]);
    for (size_t i = 0; i < k; i++)
        free(ids[i]);
    free(ids);
    free(hs);
    return r;
}

static void rb_destroy(void *impl)
{
    struct rb *rb = impl;
    pthread_mutex_lock(&rb->qlock);
    rb->stop = true;
    pthread_cond_broadcast(&rb->qcond);
    pthread_mutex_unlock(&rb->qlock);
    pthread_join(rb->builder, NULL);
    for (struct job *j = rb->head, *next; j != NULL; j = next) {
        next = j->next;
        free(j);
    }
    for (size_t b = 0; b <= rb->mask; b++) {
        for (struct entry *e = rb->by_id[b], *next; e != NULL; e = next) {
            next = e->next_id;
            entry_free(rb, e);
        }
    }
    free(rb->by_host);
    free(rb->by_id);
    pthread_rwlock_destroy(&rb->lock);
    pthread_mutex_destroy(&rb->qlock);
    pthread_cond_destroy(&rb->qcond);
    free(rb);
}

int backend_rwlock_new(struct demo *demo, size_t expected, struct backend *out)
{
    struct rb *rb = calloc(1, sizeof *rb);
    if (rb == NULL)
        return TENREG_ENOMEM;
    size_t n = 64;
    while (n < expected * 2 && n < ((size_t)1 << 30))
        n *= 2;
    rb->by_host = calloc(n, sizeof *rb->by_host);
    rb->by_id = calloc(n, sizeof *rb->by_id);
    rb->mask = n - 1;
    rb->demo = demo;
    rb->tail = &rb->head;
    if (getrandom(&rb->seed, sizeof rb->seed, 0) != sizeof rb->seed)
        rb->seed = (uint64_t)(uintptr_t)rb * 0x9e3779b97f4a7c15ull;
    /* glibc's default rwlock prefers readers: under a steady request load
     * the admin thread's write lock would starve. Prefer writers. */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&rb->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&rb->qlock, NULL);
    pthread_cond_init(&rb->qcond, NULL);
    if (rb->by_host == NULL || rb->by_id == NULL ||
        pthread_create(&rb->builder, NULL, builder_main, rb) != 0) {
        free(rb->by_host);
        free(rb->by_id);
        free(rb);
        return TENREG_ENOMEM;
    }
    *out = (struct backend){
        .name = "rwlock",
        .impl = rb,
        .thread_start = rb_thread_start,
        .thread_stop = rb_thread_stop,
        .resolve = rb_resolve,
        .add = rb_add,
        .remove = rb_remove,
        .recheck = rb_recheck,
        .health = rb_health,
        .foreach = rb_foreach,
        .status = rb_status,
        .foreach_host = rb_foreach_host,
        .reload = rb_reload,
        .destroy = rb_destroy,
    };
    return 0;
}
