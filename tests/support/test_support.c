#include "test_support.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

unsigned tt_iters(unsigned dflt)
{
    const char *s = getenv("TENREG_STRESS_ITERS");
    if (!s || !*s)
        return dflt;
    unsigned long v = strtoul(s, NULL, 10);
    return v ? (unsigned)v : dflt;
}

void tt_thread_init(void)
{
    tenreg_thread_register();
}

void tt_thread_fini(void)
{
    tenreg_thread_unregister();
}

#define TT_MAGIC 0x7e9e9u

/* Every platform ever made, so that frees can be checked without freeing. */
static pthread_mutex_t tt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tt_platform **tt_all;
static size_t tt_n, tt_cap;

struct tt_platform *tt_platform_new(const char *tenant_id, const char *host)
{
    struct tt_platform *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    p->magic = TT_MAGIC;
    strncpy(p->tenant_id, tenant_id ? tenant_id : "", sizeof(p->tenant_id) - 1);
    strncpy(p->host, host ? host : "", sizeof(p->host) - 1);
    pthread_mutex_lock(&tt_lock);
    if (tt_n == tt_cap) {
        tt_cap = tt_cap ? tt_cap * 2 : 64;
        tt_all = realloc(tt_all, tt_cap * sizeof(*tt_all));
        if (!tt_all)
            abort();
    }
    tt_all[tt_n++] = p;
    pthread_mutex_unlock(&tt_lock);
    return p;
}

void tt_platform_keep(struct tt_platform *p)
{
    pthread_mutex_lock(&tt_lock);
    p->kept = true;
    pthread_mutex_unlock(&tt_lock);
}

void tt_count_free(void *ctx, void *platform)
{
    struct tt_free_counter *c = ctx;
    struct tt_platform *p = platform;
    if (!p || p->magic != TT_MAGIC)
        abort();
    if (atomic_fetch_add(&p->freed, 1) != 0)
        atomic_fetch_add(&c->double_frees, 1);
    atomic_fetch_add(&c->frees, 1);
}

void tt_platforms_release(void)
{
    pthread_mutex_lock(&tt_lock);
    for (size_t i = 0; i < tt_n; i++) {
        free(tt_all[i]->hist);
        free(tt_all[i]);
    }
    free(tt_all);
    tt_all = NULL;
    tt_n = tt_cap = 0;
    pthread_mutex_unlock(&tt_lock);
}

long tt_platforms_made(void)
{
    pthread_mutex_lock(&tt_lock);
    long n = (long)tt_n;
    pthread_mutex_unlock(&tt_lock);
    return n;
}

int tt_validator_verdict(void *ctx, const char *tenant_id, const char *agent_url)
{
    (void)tenant_id;
    (void)agent_url;
    return atomic_load((_Atomic int *)ctx);
}

long long tt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long tt_platforms_not_freed_once(void)
{
    long bad = 0;
    pthread_mutex_lock(&tt_lock);
    for (size_t i = 0; i < tt_n; i++) {
        int freed = atomic_load(&tt_all[i]->freed);
        bool ok = tt_all[i]->kept ? freed == 0 : freed == 1;
        if (!ok && bad < 5)
            fprintf(stderr, "platform %zu (%s, %s%s) freed %d times\n", i, tt_all[i]->tenant_id,
                    tt_all[i]->host, tt_all[i]->kept ? ", refused" : "", freed);
        bad += !ok;
    }
    pthread_mutex_unlock(&tt_lock);
    return bad;
}

/* ---- bounded waits ----------------------------------------------------- */

bool tt_sem_wait_s(sem_t *s, double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ns = ts.tv_nsec + (long long)(seconds * 1e9);
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    for (;;) {
        if (sem_timedwait(s, &ts) == 0)
            return true;
        if (errno != EINTR)
            return false;
    }
}

pid_t tt_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

bool tt_thread_in_futex_wait(pid_t tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool in = false;
    if (fgets(buf, sizeof(buf), f)) {
        /* "<nr> <args...>" while blocked in a system call; "running" or -1 otherwise. */
        char *end;
        long nr = strtol(buf, &end, 10);
        in = end != buf && nr == SYS_futex;
    }
    fclose(f);
    return in;
}

bool tt_wait_futex_sleep(pid_t tid)
{
    long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
    int streak = 0;
    while (tt_now_ns() < deadline) {
        streak = tt_thread_in_futex_wait(tid) ? streak + 1 : 0;
        if (streak >= 2)
            return true;
        usleep(1000);
    }
    return false;
}

static void *bounded_main(void *arg)
{
    struct tt_bounded *b = arg;
    b->tid = tt_gettid();
    sem_post(&b->started);
    b->ret = b->fn(b->arg);
    sem_post(&b->done);
    return NULL;
}

void tt_bounded_start(struct tt_bounded *b, void *(*fn)(void *), void *arg)
{
    b->fn = fn;
    b->arg = arg;
    b->ret = NULL;
    sem_init(&b->done, 0, 0);
    sem_init(&b->started, 0, 0);
    cr_assert_eq(pthread_create(&b->th, NULL, bounded_main, b), 0);
    cr_assert(tt_sem_wait_s(&b->started, TT_WAIT_S), "thread did not start");
}

bool tt_bounded_join(struct tt_bounded *b, double seconds)
{
    if (!tt_sem_wait_s(&b->done, seconds))
        return false; /* left running: the test fails and its process ends */
    pthread_join(b->th, NULL);
    sem_destroy(&b->done);
    sem_destroy(&b->started);
    return true;
}

/* ---- churn ------------------------------------------------------------- */

/* Platforms' publication logs: the writer appends the health a call is
 * about to publish with the platform, before the call. */
#define CHURN_HIST 64          /* a churn platform: replaced long before */
#define ANCHOR_HIST 8192       /* an anchor: rechecked for the whole run */

static void hist_init(struct tt_platform *p, unsigned cap)
{
    p->hist = malloc(cap);
    cr_assert_not_null(p->hist);
    p->hist_cap = cap;
}

static bool hist_full(const struct tt_platform *p, unsigned more)
{
    return atomic_load_explicit(&p->hist_n, memory_order_relaxed) + more > p->hist_cap;
}

static void hist_push(struct tt_platform *p, tenreg_health h)
{
    unsigned n = atomic_load_explicit(&p->hist_n, memory_order_relaxed);
    cr_assert_lt(n, p->hist_cap);
    p->hist[n] = (unsigned char)h;
    atomic_store_explicit(&p->hist_n, n + 1, memory_order_release);
}

static unsigned churn_rand(struct tt_churn *c)
{
    return (unsigned)rand_r(&c->seed);
}

static tenreg_health health_after(tenreg_health from, int verdict)
{
    if (verdict > 0)
        return TENREG_HEALTHY;
    return from == TENREG_HEALTHY ? TENREG_UNVERIFIED : TENREG_DISABLED;
}

static void churn_id(char *buf, size_t cap, bool anchor, unsigned i)
{
    snprintf(buf, cap, "%c%u", anchor ? 'a' : 'c', i);
}

/* The writer's lookup of key @k, compared with the model. */
static void churn_check_key(struct tt_churn *c, unsigned k)
{
    tenreg_resolution r = {0};
    const char *key = c->keys[k];
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(c->reg, key, strlen(key), &r);
    const struct tt_platform *want = NULL;
    tenreg_health want_h = TENREG_PENDING;
    if (k >= c->nhosts) {
        want = c->anchor_plat[k - c->nhosts];
        want_h = c->anchor_health[k - c->nhosts];
    } else if (c->owner[k] >= 0) {
        want = c->plat[c->owner[k]];
        want_h = c->health[c->owner[k]];
    }
    if (want) {
        cr_assert_eq(rc, TENREG_OK, "writer: %s (held by %s) answered %d", key, want->tenant_id, rc);
        cr_assert_eq(r.platform, (void *)want, "writer: %s: platform %p, want %s's (gen %lu)", key,
                     r.platform, want->tenant_id, want->gen);
        cr_assert_str_eq(r.tenant_id, want->tenant_id, "writer: %s", key);
        cr_assert_eq(r.health, want_h, "writer: %s health %d, model %d", key, r.health, want_h);
    } else {
        cr_assert_eq(rc, TENREG_ENOENT, "writer: free host %s answered %d", key, rc);
    }
    tenreg_read_unlock();
    tenreg_quiescent();
}

/* The writer's view of one tenant by id (health_of, resolve_by_id). */
static void churn_check_id(struct tt_churn *c, bool anchor, unsigned i)
{
    char id[16];
    churn_id(id, sizeof(id), anchor, i);
    const struct tt_platform *want = anchor ? c->anchor_plat[i]
                                            : (c->host_of[i] >= 0 ? c->plat[i] : NULL);
    tenreg_health want_h = anchor ? c->anchor_health[i] : c->health[i];
    tenreg_health h = (tenreg_health)-1;
    int rc = tenreg_health_of(c->reg, id, &h);
    cr_assert_eq(rc, want ? TENREG_OK : TENREG_ENOENT, "writer: health_of(%s) = %d", id, rc);
    if (want)
        cr_assert_eq(h, want_h, "writer: health_of(%s) = %d, model %d", id, h, want_h);
    tenreg_resolution r = {0};
    tenreg_read_lock();
    rc = tenreg_resolve_by_id(c->reg, id, TENREG_NOWAIT, &r);
    if (want) {
        cr_assert_eq(rc, TENREG_OK, "writer: resolve_by_id(%s) = %d", id, rc);
        cr_assert_eq(r.platform, (void *)want, "writer: resolve_by_id(%s): wrong platform", id);
        cr_assert_eq(r.health, want_h, "writer: resolve_by_id(%s) health", id);
    } else {
        cr_assert_eq(rc, TENREG_ENOENT, "writer: resolve_by_id(%s) = %d", id, rc);
    }
    tenreg_read_unlock();
    tenreg_quiescent();
}

static void churn_check_count(struct tt_churn *c)
{
    cr_assert_eq(tenreg_count(c->reg), c->count, "count %zu, model %zu", tenreg_count(c->reg),
                 c->count);
}

void tt_churn_sweep(struct tt_churn *c)
{
    for (unsigned k = 0; k < c->nkeys; k++)
        churn_check_key(c, k);
    for (unsigned i = 0; i < c->ntenants; i++)
        churn_check_id(c, false, i);
    for (unsigned i = 0; i < c->nanchors; i++)
        churn_check_id(c, true, i);
    churn_check_count(c);
    c->st.sweeps++;
}

/* register (or re-register) churn tenant @t on host @h. */
static void churn_register(struct tt_churn *c, unsigned t, unsigned h, bool await, int verdict)
{
    char id[16], url[128];
    churn_id(id, sizeof(id), false, t);
    /* The URL in some other form than the key: the key is what counts. */
    switch (churn_rand(c) % 3) {
    case 0:
        snprintf(url, sizeof(url), "https://%s/adcp", c->keys[h]);
        break;
    case 1:
        snprintf(url, sizeof(url), "HTTP://user@%s:8443/x?y", c->keys[h]);
        for (char *s = url + 12; *s && *s != ':'; s++)
            *s = (char)toupper((unsigned char)*s);
        break;
    default:
        snprintf(url, sizeof(url), "%s.", c->keys[h]);
        break;
    }
    struct tt_platform *p = tt_platform_new(id, c->keys[h]);
    p->gen = ++c->gen;
    hist_init(p, CHURN_HIST);
    int holder = c->owner[h];
    int want = (holder >= 0 && holder != (int)t) ? TENREG_EEXIST : TENREG_OK;
    tenreg_health after = await ? health_after(TENREG_PENDING, verdict) : TENREG_PENDING;
    if (want == TENREG_OK) {
        hist_push(p, TENREG_PENDING);
        if (await)
            hist_push(p, after);
    }
    atomic_store(&c->verdict, verdict);
    int rc = tenreg_register(c->reg, id, url, p, await ? TENREG_AWAIT_FIRST_VALIDATION : 0);
    cr_assert_eq(rc, want, "register(%s, %s%s): %d, model says %d (host held by %d)", id, url,
                 await ? ", await" : "", rc, want, holder);
    if (rc != TENREG_OK) {
        tt_platform_keep(p);
        c->st.eexist++;
        churn_check_key(c, h);
        return;
    }
    int old = c->host_of[t];
    if (old < 0)
        c->count++;
    else if (old != (int)h)
        c->owner[old] = -1, c->st.moved++;
    c->host_of[t] = (int)h;
    c->owner[h] = (int)t;
    c->plat[t] = p;
    c->health[t] = after;
    c->st.registered++;
    c->st.awaited += await;
    churn_check_id(c, false, t);
    churn_check_key(c, h);
    if (old >= 0 && old != (int)h)
        churn_check_key(c, (unsigned)old);
    churn_check_count(c);
}

static void churn_unregister(struct tt_churn *c, unsigned t)
{
    char id[16];
    churn_id(id, sizeof(id), false, t);
    int h = c->host_of[t];
    int rc = tenreg_unregister(c->reg, id);
    cr_assert_eq(rc, h >= 0 ? TENREG_OK : TENREG_ENOENT, "unregister(%s): %d", id, rc);
    if (h < 0) {
        c->st.unregister_enoent++;
        return;
    }
    c->owner[h] = -1;
    c->host_of[t] = -1;
    c->count--;
    c->st.unregistered++;
    churn_check_id(c, false, t);
    churn_check_key(c, (unsigned)h);
    churn_check_count(c);
}

static void churn_recheck(struct tt_churn *c, bool anchor, unsigned i, int verdict)
{
    char id[16];
    churn_id(id, sizeof(id), anchor, i);
    struct tt_platform *p = anchor ? c->anchor_plat[i] : (c->host_of[i] >= 0 ? c->plat[i] : NULL);
    if (p && hist_full(p, 1))
        return; /* its log is full: leave it alone */
    tenreg_health *h = anchor ? &c->anchor_health[i] : &c->health[i];
    tenreg_health after = p ? health_after(*h, verdict) : TENREG_PENDING;
    if (p) /* published with @p by this call */
        hist_push(p, after);
    atomic_store(&c->verdict, verdict);
    int rc = tenreg_recheck(c->reg, id);
    int want = !p ? TENREG_ENOENT : (verdict > 0 ? TENREG_OK : TENREG_EVALIDATOR);
    cr_assert_eq(rc, want, "recheck(%s), verdict %d: %d, model says %d", id, verdict, rc, want);
    if (!p) {
        c->st.rechecks_enoent++;
        return;
    }
    *h = after;
    if (rc == TENREG_OK)
        c->st.rechecks_ok++;
    else
        c->st.rechecks_failed++;
    churn_check_id(c, anchor, i);
    churn_check_key(c, anchor ? c->nhosts + i : (unsigned)c->host_of[i]);
}

void tt_churn_init(struct tt_churn *c, unsigned tenants, unsigned hosts, unsigned anchors,
                   unsigned seed)
{
    memset(c, 0, sizeof(*c));
    cr_assert(tenants <= hosts && anchors > 0);
    c->ntenants = tenants;
    c->nhosts = hosts;
    c->nanchors = anchors;
    c->nkeys = hosts + anchors;
    c->seed = seed;
    c->keys = calloc(c->nkeys, sizeof(*c->keys));
    c->anchor_plat = calloc(anchors, sizeof(*c->anchor_plat));
    c->anchor_health = calloc(anchors, sizeof(*c->anchor_health));
    c->host_of = calloc(tenants, sizeof(*c->host_of));
    c->owner = calloc(hosts, sizeof(*c->owner));
    c->health = calloc(tenants, sizeof(*c->health));
    c->plat = calloc(tenants, sizeof(*c->plat));
    cr_assert(c->keys && c->anchor_plat && c->anchor_health && c->host_of && c->owner &&
              c->health && c->plat);
    for (unsigned i = 0; i < hosts; i++) {
        snprintf(c->keys[i], sizeof(c->keys[i]), "seller-%02u.exchange.example", i);
        c->owner[i] = -1;
    }
    for (unsigned i = 0; i < anchors; i++)
        snprintf(c->keys[hosts + i], sizeof(c->keys[0]), "anchor-%02u.exchange.example", i);
    for (unsigned i = 0; i < tenants; i++)
        c->host_of[i] = -1;
    atomic_store(&c->verdict, 1);
    tenreg_config cfg = {.validator = tt_validator_verdict, .validator_ctx = &c->verdict,
                         .platform_free = tt_count_free, .platform_free_ctx = &c->frees,
                         /* A kernel key, as in production: lookups answer
                          * from the host slots (the digest rule); under a
                          * fixed seed they would all compare keys instead. */
                         .hash_seed = 0};
    cr_assert_eq(tenreg_new(&cfg, &c->reg), TENREG_OK);
    /* Churn tenants first, so that the anchors' probe sequences run through
     * slots that the churn will turn into tombstones. */
    for (unsigned t = 0; t < tenants; t++)
        churn_register(c, t, t, false, 1);
    for (unsigned i = 0; i < anchors; i++) {
        char id[16];
        churn_id(id, sizeof(id), true, i);
        struct tt_platform *p = tt_platform_new(id, c->keys[hosts + i]);
        p->gen = ++c->gen;
        hist_init(p, ANCHOR_HIST);
        hist_push(p, TENREG_PENDING);
        hist_push(p, TENREG_HEALTHY);
        cr_assert_eq(tenreg_register(c->reg, id, c->keys[hosts + i], p,
                                     TENREG_AWAIT_FIRST_VALIDATION),
                     TENREG_OK, "anchor %s", id);
        c->anchor_plat[i] = p;
        c->anchor_health[i] = TENREG_HEALTHY;
        c->count++;
    }
    tt_churn_sweep(c);
}

void tt_churn_step(struct tt_churn *c)
{
    unsigned op = churn_rand(c) % 20;
    int verdict = (int)(churn_rand(c) % 3) - 1;
    if (op < 9) {
        unsigned t = churn_rand(c) % c->ntenants;
        unsigned h = churn_rand(c) % c->nhosts;
        /* Half the time the tenant's own host (a plain re-register). */
        if ((op & 1) && c->host_of[t] >= 0)
            h = (unsigned)c->host_of[t];
        churn_register(c, t, h, op < 2, verdict);
    } else if (op < 14) {
        churn_unregister(c, churn_rand(c) % c->ntenants);
    } else if (op < 18) {
        churn_recheck(c, false, churn_rand(c) % c->ntenants, verdict);
    } else {
        churn_recheck(c, true, churn_rand(c) % c->nanchors, verdict);
    }
    if ((++c->steps & 1023) == 0)
        tt_churn_sweep(c);
}

void tt_churn_finish(struct tt_churn *c)
{
    tt_churn_sweep(c);
    const struct tt_churn_stats *s = &c->st;
    cr_log_info("writer: %ld registered (%ld awaited, %ld moved), %ld EEXIST, %ld unregistered, "
                "%ld unregister ENOENT, rechecks %ld ok / %ld failed / %ld ENOENT, %ld sweeps",
                s->registered, s->awaited, s->moved, s->eexist, s->unregistered,
                s->unregister_enoent, s->rechecks_ok, s->rechecks_failed, s->rechecks_enoent,
                s->sweeps);
    long ops = s->registered + s->eexist + s->unregistered + s->unregister_enoent +
               s->rechecks_ok + s->rechecks_failed + s->rechecks_enoent;
    if (ops >= 2000) { /* TENREG_STRESS_ITERS may make a run too short to see everything */
        cr_assert_gt(s->eexist, 0, "no host collision was exercised");
        cr_assert_gt(s->moved, 0, "no host move was exercised");
        cr_assert_gt(s->awaited, 0);
        cr_assert_gt(s->unregistered, 0);
        cr_assert_gt(s->unregister_enoent, 0);
        cr_assert_gt(s->rechecks_ok, 0);
        cr_assert_gt(s->rechecks_failed, 0);
    }
    tenreg_free(c->reg);
    c->reg = NULL;
    cr_assert_eq(atomic_load(&c->frees.double_frees), 0, "a platform was freed twice");
    cr_assert_eq(tt_platforms_not_freed_once(), 0,
                 "a platform was not freed exactly once (or a refused one was freed)");
    free(c->keys);
    free(c->anchor_plat);
    free(c->anchor_health);
    free(c->host_of);
    free(c->owner);
    free(c->health);
    free(c->plat);
}

void tt_churn_reader_init(struct tt_churn_reader *r, const struct tt_churn *c, unsigned seed)
{
    memset(r, 0, sizeof(*r));
    r->seed = seed;
    /* Per key, then per id (churn tenants, then anchors). */
    r->last_gen = calloc(c->nkeys + c->ntenants + c->nanchors, sizeof(*r->last_gen));
    r->last_idx = calloc(c->nkeys + c->ntenants + c->nanchors, sizeof(*r->last_idx));
    cr_assert(r->last_gen && r->last_idx);
}

void tt_churn_reader_fini(struct tt_churn_reader *r)
{
    free(r->last_gen);
    free(r->last_idx);
    r->last_gen = NULL;
    r->last_idx = NULL;
}

/* What a reader may see of a platform it got: alive, of the tenant and host
 * it was registered for, published with this health, and not older than
 * what this reader saw before under the same key (@slot). */
static void reader_check(const struct tt_churn *c, struct tt_churn_reader *rd, unsigned slot,
                         const char *key, const tenreg_resolution *r, const char *how)
{
    const struct tt_platform *p = r->platform;
    if (!key)
        key = r->tenant_id;
    cr_assert_not_null(p, "%s %s: OK without a platform", how, key);
    cr_assert_eq(p->magic, TT_MAGIC, "%s %s: not a platform", how, key);
    cr_assert_eq(atomic_load(&((struct tt_platform *)p)->freed), 0,
                 "%s %s: platform freed while a reader could see it", how, key);
    cr_assert_str_eq(p->tenant_id, r->tenant_id, "%s %s: platform of another tenant", how, key);
    if (slot < c->nkeys)
        cr_assert_str_eq(p->host, key, "%s %s: platform of another host", how, key);
    cr_assert((unsigned)r->health <= TENREG_DISABLED, "%s %s: health %d", how, key, r->health);
    cr_assert_geq(p->gen, rd->last_gen[slot],
                  "%s %s: went back from registration %lu to %lu", how,
                  key, rd->last_gen[slot], p->gen);
    /* Records of one key are seen in the order they were published: match
     * this health with the earliest publication of this platform not
     * before the one matched last time (for the same platform). */
    unsigned n = atomic_load_explicit(&((struct tt_platform *)p)->hist_n, memory_order_acquire);
    unsigned from = p->gen == rd->last_gen[slot] ? rd->last_idx[slot] : 0, i = from;
    while (i < n && p->hist[i] != (unsigned char)r->health)
        i++;
    cr_assert_lt(i, n,
                 "%s %s: health %s was never published with this platform (registration %lu) "
                 "at or after publication %u of %u",
                 how, key, tenreg_health_name(r->health), p->gen, from, n);
    rd->last_gen[slot] = p->gen;
    rd->last_idx[slot] = i;
}

void tt_churn_read_one(const struct tt_churn *c, struct tt_churn_reader *rd, bool use_resolve)
{
    unsigned k = (unsigned)rand_r(&rd->seed) % c->nkeys;
    const char *key = c->keys[k];
    bool anchor = k >= c->nhosts;
    /* Ask in another form than registered. */
    char asked[128];
    int n;
    switch (rand_r(&rd->seed) % 3) {
    case 0:
        n = snprintf(asked, sizeof(asked), "%s", key);
        break;
    case 1:
        n = snprintf(asked, sizeof(asked), "HTTPS://%s:443/x", key);
        for (char *s = asked + 8; *s && *s != ':'; s++)
            *s = (char)toupper((unsigned char)*s);
        break;
    default:
        n = snprintf(asked, sizeof(asked), " %s.:8080\t", key);
        break;
    }
    tenreg_resolution r = {0};
    tenreg_read_lock();
    int rc = use_resolve ? tenreg_resolve(c->reg, asked, (size_t)n, TENREG_NOWAIT, &r)
                         : tenreg_resolve_by_host(c->reg, asked, (size_t)n, &r);
    rd->lookups++;
    if (anchor) {
        cr_assert_eq(rc, TENREG_OK, "anchor %s missed: %d", asked, rc);
        cr_assert_eq(r.platform, (void *)c->anchor_plat[k - c->nhosts], "anchor %s: wrong platform",
                     key);
        rd->anchor_hits++;
    }
    if (rc == TENREG_OK) {
        reader_check(c, rd, k, key, &r, "by host");
        rd->hits++;
        /* The same tenant by id: consistent with itself. */
        unsigned idx;
        cr_assert(sscanf(r.tenant_id + 1, "%u", &idx) == 1, "tenant id %s", r.tenant_id);
        unsigned slot = c->nkeys + (r.tenant_id[0] == 'a' ? c->ntenants + idx : idx);
        char id[16];
        snprintf(id, sizeof(id), "%s", r.tenant_id);
        tenreg_resolution by_id = {0};
        int rc2 = tenreg_resolve_by_id(c->reg, id, TENREG_NOWAIT, &by_id);
        if (anchor)
            cr_assert_eq(rc2, TENREG_OK, "anchor %s by id: %d", id, rc2);
        else
            cr_assert(rc2 == TENREG_OK || rc2 == TENREG_ENOENT, "%s by id: %d", id, rc2);
        if (rc2 == TENREG_OK)
            reader_check(c, rd, slot, NULL, &by_id, "by id");
        else
            cr_assert_null(by_id.platform, "ENOENT with a platform");
    } else {
        cr_assert_eq(rc, TENREG_ENOENT, "eager-only registry answered %d for %s", rc, asked);
        cr_assert_null(r.platform, "ENOENT with a platform");
        rd->misses++;
    }
    tenreg_read_unlock();
}

struct tt_guard tt_guard_new(void)
{
    struct tt_guard g;
    g.page = (size_t)sysconf(_SC_PAGESIZE);
    void *m = mmap(NULL, 2 * g.page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(m, MAP_FAILED, "mmap: %s", strerror(errno));
    g.base = m;
    cr_assert_eq(mprotect(g.base + g.page, g.page, PROT_NONE), 0, "mprotect: %s",
                 strerror(errno));
    return g;
}

const char *tt_guard_place(struct tt_guard *g, const void *p, size_t n)
{
    cr_assert_leq(n, g->page);
    unsigned char *dst = g->base + g->page - n;
    if (n > 0)
        memcpy(dst, p, n);
    return (const char *)dst;
}

void tt_guard_free(struct tt_guard *g)
{
    munmap(g->base, 2 * g->page);
}
