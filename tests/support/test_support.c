#include "test_support.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    for (size_t i = 0; i < tt_n; i++)
        free(tt_all[i]);
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
    for (size_t i = 0; i < tt_n; i++)
        bad += atomic_load(&tt_all[i]->freed) != 1;
    pthread_mutex_unlock(&tt_lock);
    return bad;
}
