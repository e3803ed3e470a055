/*
 * bench_shim.c - benchmark bodies of tenreg-micro, in C (see bench_shim.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_shim.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tenreg.h"

/* ---- normalize ---------------------------------------------------------- */

static const char *const norm_in[] = {
    "Ads.Example.com",
    "https://user:pa55@Seller-42.Example-Media.co.uk:8443/openrtb2/auction?src=hb#x",
    "[2001:DB8::0:1]:443",
};

const char *shim_normalize_label(int which)
{
    static const char *const labels[] = {"short host", "URL+userinfo+port", "IPv6"};
    return labels[which];
}

size_t shim_normalize(int which)
{
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t klen = 0;
    const char *in = norm_in[which];
    if (tenreg_normalize_host(in, strlen(in), key, sizeof(key), &klen) != 0)
        abort();
    return klen + (unsigned char)key[0];
}

/* ---- resolve fixtures --------------------------------------------------- */

struct shim_fix {
    size_t n;
    tenreg_t *reg;
    char *hosts;          /* n hosts, 48 bytes each */
    uint8_t *host_len;
    char *miss;           /* MISS_N unknown hosts */
    uint8_t *miss_len;
    char *platforms;
};

#define FIX_STRIDE 48
#define MISS_N 4096
#define MAX_FIX 8

static pthread_mutex_t fix_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_fix *fixes[MAX_FIX];
static int nfixes;

static void free_fixtures(void)
{
    for (int i = 0; i < nfixes; i++) {
        tenreg_free(fixes[i]->reg);
        free(fixes[i]->hosts);
        free(fixes[i]->host_len);
        free(fixes[i]->miss);
        free(fixes[i]->miss_len);
        free(fixes[i]->platforms);
        free(fixes[i]);
    }
    nfixes = 0;
}

/* Seller-like host of index i, lower case, 25..40 bytes. */
static int host_of(char *out, size_t cap, const char *kind, size_t i)
{
    static const char *const words[] = {"northwind", "acme-media", "globex", "initech-news",
                                        "umbrella", "stark-sports", "wayne", "hooli-games"};
    return snprintf(out, cap, "%s.%s-%zx.example.com", kind, words[i % 8], i * 2654435761u);
}

shim_fix *shim_fixture(size_t n)
{
    pthread_mutex_lock(&fix_lock);
    for (int i = 0; i < nfixes; i++) {
        if (fixes[i]->n == n) {
            pthread_mutex_unlock(&fix_lock);
            return fixes[i];
        }
    }
    if (nfixes == MAX_FIX)
        abort();
    struct shim_fix *f = calloc(1, sizeof(*f));
    f->n = n;
    f->hosts = malloc(n * FIX_STRIDE);
    f->host_len = malloc(n);
    f->miss = malloc(MISS_N * FIX_STRIDE);
    f->miss_len = malloc(MISS_N);
    f->platforms = malloc(n);
    tenreg_config cfg = {0};
    cfg.expected_tenants = n;
    cfg.hash_seed = 42;
    if (tenreg_new(&cfg, &f->reg) != 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        char *h = f->hosts + i * FIX_STRIDE;
        f->host_len[i] = (uint8_t)host_of(h, FIX_STRIDE, "rtb", i);
        char id[32];
        snprintf(id, sizeof(id), "t%zu", i);
        if (tenreg_register(f->reg, id, h, f->platforms + i, 0) != 0)
            abort();
    }
    for (size_t i = 0; i < MISS_N; i++)
        f->miss_len[i] = (uint8_t)host_of(f->miss + i * FIX_STRIDE, FIX_STRIDE, "nx", i);
    if (nfixes == 0)
        atexit(free_fixtures);
    fixes[nfixes++] = f;
    pthread_mutex_unlock(&fix_lock);
    return f;
}

void shim_reader_begin(void)
{
    tenreg_thread_register();
}

void shim_reader_end(void)
{
    tenreg_thread_unregister();
}

size_t shim_resolve_hit(shim_fix *f, size_t i)
{
    /* A scattered walk (odd multiplier mod n): consecutive lookups touch
     * unrelated tenants, as requests for different sellers do. */
    size_t k = (i * 0x9E3779B1u) % f->n;
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(f->reg, f->hosts + k * FIX_STRIDE, f->host_len[k], &r);
    size_t v = rc == 0 ? (size_t)(uintptr_t)r.platform : 0;
    tenreg_read_unlock();
    if (rc != 0)
        abort();
    return v;
}

size_t shim_resolve_miss(shim_fix *f, size_t i)
{
    size_t k = i & (MISS_N - 1);
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(f->reg, f->miss + k * FIX_STRIDE, f->miss_len[k], &r);
    tenreg_read_unlock();
    if (rc != TENREG_ENOENT)
        abort();
    return (size_t)-rc;
}

/* ---- wildcards ---------------------------------------------------------- */

struct shim_wild {
    size_t n, nholders;
    int patterns;
    tenreg_t *reg;
    char *hosts;          /* n exact hosts */
    uint8_t *host_len;
    char *under[2];       /* per holder: 1 and 3 labels under its pattern */
    uint8_t *under_len[2];
    char *miss;           /* MISS_N unknown 4-label hosts */
    uint8_t *miss_len;
    char *platforms;
};

#define WILD_STRIDE 64
#define WILD_EVERY 10     /* tenant i holds a pattern iff i % WILD_EVERY == 0 */

static struct shim_wild *wilds[MAX_FIX];
static int nwilds;

static void free_wilds(void)
{
    for (int i = 0; i < nwilds; i++) {
        struct shim_wild *f = wilds[i];
        tenreg_free(f->reg);
        free(f->hosts);
        free(f->host_len);
        for (int d = 0; d < 2; d++) {
            free(f->under[d]);
            free(f->under_len[d]);
        }
        free(f->miss);
        free(f->miss_len);
        free(f->platforms);
        free(f);
    }
    nwilds = 0;
}

shim_wild *shim_wild_fixture(size_t n, int patterns)
{
    pthread_mutex_lock(&fix_lock);
    for (int i = 0; i < nwilds; i++) {
        if (wilds[i]->n == n && wilds[i]->patterns == patterns) {
            pthread_mutex_unlock(&fix_lock);
            return wilds[i];
        }
    }
    if (nwilds == MAX_FIX)
        abort();
    struct shim_wild *f = calloc(1, sizeof(*f));
    f->n = n;
    f->patterns = patterns;
    f->nholders = (n + WILD_EVERY - 1) / WILD_EVERY;
    f->hosts = malloc(n * WILD_STRIDE);
    f->host_len = malloc(n);
    for (int d = 0; d < 2; d++) {
        f->under[d] = malloc(f->nholders * WILD_STRIDE);
        f->under_len[d] = malloc(f->nholders);
    }
    f->miss = malloc(MISS_N * WILD_STRIDE);
    f->miss_len = malloc(MISS_N);
    f->platforms = malloc(n);
    tenreg_config cfg = {0};
    cfg.expected_tenants = n;
    cfg.hash_seed = 42;
    if (tenreg_new(&cfg, &f->reg) != 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        char *h = f->hosts + i * WILD_STRIDE;
        f->host_len[i] = (uint8_t)host_of(h, WILD_STRIDE, "rtb", i);
        char id[32];
        snprintf(id, sizeof(id), "t%zu", i);
        if (tenreg_register(f->reg, id, h, f->platforms + i, 0) != 0)
            abort();
        if (i % WILD_EVERY)
            continue;
        const char *name = strchr(h, '.') + 1;
        size_t k = i / WILD_EVERY;
        f->under_len[0][k] = (uint8_t)snprintf(f->under[0] + k * WILD_STRIDE, WILD_STRIDE,
                                               "x7.%s", name);
        f->under_len[1][k] = (uint8_t)snprintf(f->under[1] + k * WILD_STRIDE, WILD_STRIDE,
                                               "a.b.x7.%s", name);
        if (patterns) {
            char pat[WILD_STRIDE];
            snprintf(pat, sizeof(pat), "*.%s", name);
            if (tenreg_add_host(f->reg, id, pat) != 0)
                abort();
        }
    }
    /* indices past the tenants': under no pattern */
    for (size_t i = 0; i < MISS_N; i++)
        f->miss_len[i] = (uint8_t)host_of(f->miss + i * WILD_STRIDE, WILD_STRIDE, "nx", n + i);
    if (nwilds == 0)
        atexit(free_wilds);
    wilds[nwilds++] = f;
    pthread_mutex_unlock(&fix_lock);
    return f;
}

size_t shim_wild_exact_hit(shim_wild *f, size_t i)
{
    size_t k = (i * 0x9E3779B1u) % f->n;
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(f->reg, f->hosts + k * WILD_STRIDE, f->host_len[k], &r);
    size_t v = rc == 0 ? (size_t)(uintptr_t)r.platform : 0;
    tenreg_read_unlock();
    if (rc != 0)
        abort();
    return v;
}

size_t shim_wild_pattern_hit(shim_wild *f, size_t i, int depth)
{
    int d = depth == 3;
    size_t k = (i * 0x9E3779B1u) % f->nholders;
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(f->reg, f->under[d] + k * WILD_STRIDE, f->under_len[d][k],
                                    &r);
    size_t v = rc == 0 && r.matched ? (size_t)(uintptr_t)r.platform : 0;
    tenreg_read_unlock();
    if (!v)
        abort();
    return v;
}

size_t shim_wild_miss4(shim_wild *f, size_t i)
{
    size_t k = i & (MISS_N - 1);
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(f->reg, f->miss + k * WILD_STRIDE, f->miss_len[k], &r);
    tenreg_read_unlock();
    if (rc != TENREG_ENOENT)
        abort();
    return (size_t)-rc;
}

/* ---- admin -------------------------------------------------------------- */

struct batch {
    size_t seq;                        /* batches made by this thread */
    char id[SHIM_BATCH][32];
    char url[SHIM_BATCH][80];
    char host[SHIM_BATCH][64];
    uint8_t host_len[SHIM_BATCH];
};

struct shim_admin {
    tenreg_t *reg;
    size_t prefill;
    char (*pre_id)[32];
    unsigned factory_us;
    _Atomic uint64_t built;
    _Atomic uint64_t queued;
    struct batch *b[SHIM_MAX_THREADS];
    char platform;
};

static int factory(void *ctx, const char *tenant_id, void **platform)
{
    struct shim_admin *a = ctx;
    (void)tenant_id;
    if (a->factory_us) {
        struct timespec d = {0, (long)a->factory_us * 1000L};
        nanosleep(&d, NULL);
    }
    *platform = &a->platform;
    atomic_fetch_add(&a->built, 1);
    return 0;
}

static int validator(void *ctx, const char *id, const char *url)
{
    (void)ctx;
    return id[0] && url[0];
}

shim_admin *shim_admin_new(size_t prefill, unsigned factory_us)
{
    struct shim_admin *a = calloc(1, sizeof(*a));
    tenreg_config cfg = {0};
    cfg.validator = validator;
    cfg.expected_tenants = prefill > 65536 ? prefill : 65536;
    cfg.hash_seed = 42;
    if (tenreg_new(&cfg, &a->reg) != 0)
        abort();
    a->prefill = prefill;
    a->factory_us = factory_us;
    a->pre_id = malloc((prefill ? prefill : 1) * sizeof(*a->pre_id));
    for (size_t i = 0; i < prefill; i++) {
        char url[80];
        snprintf(a->pre_id[i], sizeof(a->pre_id[i]), "pre-%zu", i);
        host_of(url, sizeof(url), "pre", i);
        if (tenreg_register(a->reg, a->pre_id[i], url, &a->platform, 0) != 0)
            abort();
    }
    for (unsigned t = 0; t < SHIM_MAX_THREADS; t++)
        a->b[t] = calloc(1, sizeof(struct batch));
    return a;
}

void shim_admin_quiesce(shim_admin *a)
{
    while (atomic_load(&a->built) < atomic_load(&a->queued)) {
        struct timespec d = {0, 100 * 1000};
        nanosleep(&d, NULL);
    }
}

void shim_admin_free(shim_admin *a)
{
    tenreg_free(a->reg);
    for (unsigned t = 0; t < SHIM_MAX_THREADS; t++)
        free(a->b[t]);
    free(a->pre_id);
    free(a);
}

void shim_batch_names(shim_admin *a, unsigned thread)
{
    struct batch *b = a->b[thread % SHIM_MAX_THREADS];
    size_t base = b->seq++ * SHIM_BATCH;
    for (size_t j = 0; j < SHIM_BATCH; j++) {
        snprintf(b->id[j], sizeof(b->id[j]), "th%u-%zu", thread, base + j);
        char kind[16];
        snprintf(kind, sizeof(kind), "th%u", thread);
        b->host_len[j] = (uint8_t)host_of(b->host[j], sizeof(b->host[j]), kind, base + j);
        snprintf(b->url[j], sizeof(b->url[j]), "https://%s/a2a", b->host[j]);
    }
}

int shim_register(shim_admin *a, unsigned thread, size_t j)
{
    struct batch *b = a->b[thread % SHIM_MAX_THREADS];
    return tenreg_register(a->reg, b->id[j], b->url[j], &a->platform, 0);
}

void shim_batch_register(shim_admin *a, unsigned thread, int lazy)
{
    struct batch *b = a->b[thread % SHIM_MAX_THREADS];
    shim_batch_names(a, thread);
    for (size_t j = 0; j < SHIM_BATCH; j++) {
        int rc = lazy ? tenreg_register_lazy(a->reg, b->id[j], b->url[j], factory, a, 0)
                      : tenreg_register(a->reg, b->id[j], b->url[j], &a->platform, 0);
        if (rc != 0)
            abort();
    }
}

int shim_unregister(shim_admin *a, unsigned thread, size_t j)
{
    struct batch *b = a->b[thread % SHIM_MAX_THREADS];
    return tenreg_unregister(a->reg, b->id[j]);
}

int shim_recheck(shim_admin *a, size_t i)
{
    return tenreg_recheck(a->reg, a->pre_id[i % a->prefill]);
}

int shim_lazy_first_hit(shim_admin *a, unsigned thread, size_t j, int wait)
{
    struct batch *b = a->b[thread % SHIM_MAX_THREADS];
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve(a->reg, b->host[j], b->host_len[j], wait ? 0 : TENREG_NOWAIT, &r);
    tenreg_read_unlock();
    if (rc == TENREG_EPENDING || rc == 0)
        atomic_fetch_add(&a->queued, 1);
    return rc;
}
