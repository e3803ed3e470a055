/* reload.c - one change from the loaded tenant set to a new one (see reload.h). */
#define _GNU_SOURCE
#include "reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

void reloader_init(struct reloader *r, struct backend *b, struct demo *demo)
{
    *r = (struct reloader){.b = b, .demo = demo};
    pthread_mutex_init(&r->lock, NULL);
}

void reloader_fini(struct reloader *r)
{
    tenant_set_free(&r->loaded);
    pthread_mutex_destroy(&r->lock);
}

static int cmp_spec(const void *a, const void *b)
{
    return strcmp(((const struct tenant_spec *)a)->id, ((const struct tenant_spec *)b)->id);
}

static struct tenant_spec *find_loaded(struct reloader *r, const char *id)
{
    struct tenant_spec key = {.id = (char *)id};
    if (r->loaded.n == 0)
        return NULL;
    return bsearch(&key, r->loaded.v, r->loaded.n, sizeof key, cmp_spec);
}

void reloader_forget(struct reloader *r, const char *id)
{
    struct tenant_spec *t = find_loaded(r, id);
    if (t == NULL)
        return;
    tenant_spec_free(t);
    size_t i = (size_t)(t - r->loaded.v);
    memmove(t, t + 1, (r->loaded.n - i - 1) * sizeof *t);
    r->loaded.n--;
}

/* Is every string of sorted @a (na) in sorted @b (nb)? */
static bool subset(char *const *a, size_t na, char *const *b, size_t nb)
{
    size_t j = 0;
    for (size_t i = 0; i < na; i++) {
        while (j < nb && strcmp(b[j], a[i]) < 0)
            j++;
        if (j == nb || strcmp(b[j], a[i]) != 0)
            return false;
        j++;
    }
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool holds(const struct tenant_spec *t, const char *key)
{
    return bsearch(&key, t->sorted, t->nkeys, sizeof key, cmp_str) != NULL;
}

struct ids {
    char **v;
    size_t n, cap;
    bool oom;
};

static int collect_id(void *ctx, const char *id, tenreg_health h)
{
    struct ids *l = ctx;
    (void)h;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) {
            l->oom = true;
            return 1;
        }
        l->v = v;
        l->cap = cap;
    }
    if ((l->v[l->n] = strdup(id)) == NULL) {
        l->oom = true;
        return 1;
    }
    l->n++;
    return 0;
}

int reloader_apply(struct reloader *r, struct tenant_set *set, struct reload_summary *sum,
                   size_t *failed)
{
    size_t n = set->n;
    *failed = SIZE_MAX;
    *sum = (struct reload_summary){.tenants = n};
    struct reload_op *ops = calloc(n ? n : 1, sizeof *ops);
    const char **added = NULL;  /* RELOAD_ADD_HOSTS: the hosts it adds, all ops' end to end */
    size_t nadded = 0;
    for (size_t i = 0; i < n; i++)
        nadded += set->v[i].nkeys;
    added = malloc((nadded ? nadded : 1) * sizeof *added);
    char **want = malloc((n ? n : 1) * sizeof *want);
    struct ids cur = {0};
    int code = ops != NULL && added != NULL && want != NULL ? 0 : TENREG_ENOMEM;
    /* Who is registered now (only admin calls change that, and they wait
     * for this lock): those the set does not name are the unregistered. */
    if (code == 0 && (r->b->foreach(r->b->impl, collect_id, &cur) != 0 || cur.oom))
        code = TENREG_ENOMEM;
    size_t a = 0;
    for (size_t i = 0; code == 0 && i < n; i++) {
        const struct tenant_spec *t = &set->v[i];
        const struct tenant_spec *old = find_loaded(r, t->id);
        struct reload_op *op = &ops[i];
        *op = (struct reload_op){.kind = RELOAD_REGISTER, .id = t->id, .url = t->url,
                                 .lazy = t->lazy, .hosts = (const char *const *)t->keys,
                                 .nhosts = t->nkeys};
        want[i] = t->id;
        if (old == NULL || old->lazy != t->lazy || strcmp(old->url, t->url) != 0 ||
            !subset(old->sorted, old->nkeys, t->sorted, t->nkeys)) {
            sum->registered++;
        } else if (old->nkeys == t->nkeys) {
            op->kind = RELOAD_KEEP;
            op->nhosts = 0;
            sum->kept++;
        } else {
            op->kind = RELOAD_ADD_HOSTS;
            op->hosts = &added[a];
            op->nhosts = 0;
            for (size_t k = 0; k < t->nkeys; k++)     /* in the order given */
                if (!holds(old, t->keys[k]))
                    added[a + op->nhosts++] = t->keys[k];
            a += op->nhosts;
            sum->updated++;
        }
    }
    if (code == 0) {
        qsort(want, n, sizeof *want, cmp_str);
        for (size_t i = 0; i < cur.n; i++) {
            if (bsearch(&cur.v[i], want, n, sizeof *want, cmp_str) != NULL) {
                free(cur.v[i]);
                cur.v[i] = NULL;
            } else {
                sum->unregistered++;
            }
        }
        code = r->b->reload(r->b->impl, ops, n, failed);
    }
    if (code == 0) {
        for (size_t i = 0; i < cur.n; i++)
            if (cur.v[i] != NULL)
                demo_forget(r->demo, cur.v[i]);     /* as DELETE /tenants/{id} does */
        tenant_set_free(&r->loaded);
        r->loaded = *set;
        *set = (struct tenant_set){0};
        if (r->loaded.n > 0)
            qsort(r->loaded.v, r->loaded.n, sizeof *r->loaded.v, cmp_spec);
    }
    for (size_t i = 0; i < cur.n; i++)
        free(cur.v[i]);
    free(cur.v);
    free(ops);
    free(added);
    free(want);
    return code;
}

void reload_summary_format(const struct reload_summary *s, char *out, size_t cap)
{
    snprintf(out, cap, "%zu tenants: %zu kept, %zu updated, %zu registered, %zu unregistered",
             s->tenants, s->kept, s->updated, s->registered, s->unregistered);
}
