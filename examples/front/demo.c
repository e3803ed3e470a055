/* demo.c - demonstration validator, factory and platform (see demo.h). */
#define _GNU_SOURCE
#include "demo.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tenreg.h"

#define FLAG_BUCKETS 1024

struct flag {
    struct flag *next;
    bool valid, check_failed, factory_ok;
    char *valid_reason, *factory_reason;    /* NULL: none */
    char id[];
};

struct demo {
    unsigned delay_ms;
    pthread_mutex_t lock;
    struct flag *buckets[FLAG_BUCKETS];
    atomic_uint_fast64_t created, freed;
};

struct platform {
    uint64_t magic;             /* catches a double or foreign free */
    char tenant_id[];
};

#define PLATFORM_MAGIC 0x666f6e7450666d31ull

static size_t bucket_of(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return (size_t)(h % FLAG_BUCKETS);
}

struct demo *demo_new(unsigned factory_delay_ms)
{
    struct demo *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->delay_ms = factory_delay_ms;
    pthread_mutex_init(&d->lock, NULL);
    return d;
}

void demo_free(struct demo *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < FLAG_BUCKETS; i++) {
        struct flag *f = d->buckets[i];
        while (f != NULL) {
            struct flag *next = f->next;
            free(f->valid_reason);
            free(f->factory_reason);
            free(f);
            f = next;
        }
    }
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* Finds (or, with @create, adds) the flags of @id; call with the lock held. */
static struct flag *flag_of(struct demo *d, const char *id, bool create)
{
    struct flag **head = &d->buckets[bucket_of(id)];
    for (struct flag *f = *head; f != NULL; f = f->next)
        if (strcmp(f->id, id) == 0)
            return f;
    if (!create)
        return NULL;
    size_t n = strlen(id) + 1;
    struct flag *f = malloc(sizeof *f + n);
    if (f == NULL)
        return NULL;
    memcpy(f->id, id, n);
    f->valid = f->factory_ok = true;
    f->check_failed = false;
    f->valid_reason = f->factory_reason = NULL;
    f->next = *head;
    *head = f;
    return f;
}

/* A copy of @reason (NULL stays NULL); false when it cannot be made. */
static bool copy_reason(const char *reason, char **out)
{
    *out = NULL;
    if (reason == NULL)
        return true;
    size_t n = strnlen(reason, DEMO_REASON_MAX);
    if ((*out = malloc(n + 1)) == NULL)
        return false;
    memcpy(*out, reason, n);
    (*out)[n] = '\0';
    return true;
}

bool demo_set_valid(struct demo *d, const char *id, bool valid, bool check_failed,
                    const char *reason)
{
    char *r;
    if (!copy_reason(reason, &r))
        return false;
    pthread_mutex_lock(&d->lock);
    struct flag *f = flag_of(d, id, true);
    if (f != NULL) {
        f->valid = valid;
        f->check_failed = check_failed;
        free(f->valid_reason);
        f->valid_reason = r;
    }
    pthread_mutex_unlock(&d->lock);
    if (f == NULL)
        free(r);
    return f != NULL;
}

bool demo_set_factory_ok(struct demo *d, const char *id, bool ok, const char *reason)
{
    char *r;
    if (!copy_reason(reason, &r))
        return false;
    pthread_mutex_lock(&d->lock);
    struct flag *f = flag_of(d, id, true);
    if (f != NULL) {
        f->factory_ok = ok;
        free(f->factory_reason);
        f->factory_reason = r;
    }
    pthread_mutex_unlock(&d->lock);
    if (f == NULL)
        free(r);
    return f != NULL;
}

void demo_forget(struct demo *d, const char *id)
{
    pthread_mutex_lock(&d->lock);
    struct flag **pp = &d->buckets[bucket_of(id)];
    for (; *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->id, id) == 0) {
            struct flag *f = *pp;
            *pp = f->next;
            free(f->valid_reason);
            free(f->factory_reason);
            free(f);
            break;
        }
    }
    pthread_mutex_unlock(&d->lock);
}

int demo_validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    struct demo *d = ctx;
    char reason[DEMO_REASON_MAX + 1];
    pthread_mutex_lock(&d->lock);
    struct flag *f = flag_of(d, tenant_id, false);
    int answer = f == NULL || f->valid ? 1 : f->check_failed ? -1 : 0;
    bool say = answer <= 0 && f->valid_reason != NULL;
    if (say)
        snprintf(reason, sizeof reason, "%s", f->valid_reason);
    pthread_mutex_unlock(&d->lock);
    /* Outside our lock; a no-op when tenreg did not call us (rwlock). */
    if (say)
        tenreg_set_reason(reason);
    return answer;
}

void *demo_platform_new(struct demo *d, const char *tenant_id)
{
    size_t n = strlen(tenant_id) + 1;
    struct platform *p = malloc(sizeof *p + n);
    if (p == NULL)
        return NULL;
    p->magic = PLATFORM_MAGIC;
    memcpy(p->tenant_id, tenant_id, n);
    atomic_fetch_add(&d->created, 1);
    return p;
}

int demo_factory(void *ctx, const char *tenant_id, void **platform)
{
    struct demo *d = ctx;
    if (d->delay_ms > 0) {
        struct timespec ts = {d->delay_ms / 1000, (long)(d->delay_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    char reason[DEMO_REASON_MAX + 1];
    pthread_mutex_lock(&d->lock);
    struct flag *f = flag_of(d, tenant_id, false);
    bool ok = f == NULL || f->factory_ok;
    bool say = !ok && f->factory_reason != NULL;
    if (say)
        snprintf(reason, sizeof reason, "%s", f->factory_reason);
    pthread_mutex_unlock(&d->lock);
    if (!ok) {
        if (say)
            tenreg_set_reason(reason);
        return -1;
    }
    *platform = demo_platform_new(d, tenant_id);
    return *platform != NULL ? 0 : -1;
}

void demo_platform_free(void *ctx, void *platform)
{
    struct demo *d = ctx;
    struct platform *p = platform;
    if (p->magic != PLATFORM_MAGIC)
        abort();                /* double free or not ours: fail loudly */
    p->magic = 0;
    free(p);
    atomic_fetch_add(&d->freed, 1);
}

void demo_platform_counts(struct demo *d, uint64_t *created, uint64_t *freed)
{
    *created = atomic_load(&d->created);
    *freed = atomic_load(&d->freed);
}
