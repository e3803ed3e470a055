/* tenant_set.c - a whole tenant set and its set-wide checks (see tenant_set.h). */
#define _GNU_SOURCE
#include "tenant_set.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool tenant_host_form(const char *host, char *out, size_t cap)
{
    size_t n = strlen(host), klen;
    if (n >= 2 && host[0] == '*' && host[1] == '.') {
        for (size_t i = 2; i < n; i++) {
            char c = host[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_'))
                return false;
        }
        if (n == 2 || cap < 3 ||
            tenreg_normalize_host(host + 2, n - 2, out + 2, cap - 2, &klen) != 0)
            return false;
        out[0] = '*';
        out[1] = '.';
        return true;
    }
    return tenreg_normalize_host(host, n, out, cap, &klen) == 0;
}

void tenant_spec_free(struct tenant_spec *t)
{
    free(t->id);
    free(t->url);
    for (size_t i = 0; i < t->nkeys; i++)
        free(t->keys[i]);
    free(t->keys);
    free(t->sorted);
}

void tenant_set_free(struct tenant_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        tenant_spec_free(&s->v[i]);
    free(s->v);
    *s = (struct tenant_set){0};
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int tenant_set_add(struct tenant_set *s, const char *id, const char *url, bool lazy,
                   const char *const *hosts, size_t nhosts, unsigned long where,
                   size_t *bad_host)
{
    struct tenant_spec t = {.lazy = lazy, .where = where};
    *bad_host = SIZE_MAX;
    if (tenreg_normalize_host(url, strlen(url), t.key, sizeof t.key, NULL) != 0)
        return TENREG_EINVAL;
    for (size_t i = 0; i < nhosts; i++) {
        char k[BACKEND_HOST_MAX + 1];
        if (!tenant_host_form(hosts[i], k, sizeof k)) {
            *bad_host = i;
            return TENREG_EINVAL;
        }
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct tenant_spec *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return TENREG_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    t.id = strdup(id);
    t.url = strdup(url);
    t.keys = malloc((nhosts ? nhosts : 1) * sizeof *t.keys);
    t.sorted = malloc((nhosts ? nhosts : 1) * sizeof *t.sorted);
    bool ok = t.id != NULL && t.url != NULL && t.keys != NULL && t.sorted != NULL;
    /* First occurrence of each stored form, the agent URL's host left out
     * (tenreg holds it already; adding it again changes nothing). */
    for (size_t i = 0; ok && i < nhosts; i++) {
        char k[BACKEND_HOST_MAX + 1];
        tenant_host_form(hosts[i], k, sizeof k);
        bool seen = strcmp(k, t.key) == 0;
        for (size_t j = 0; !seen && j < t.nkeys; j++)
            seen = strcmp(t.keys[j], k) == 0;
        if (seen)
            continue;
        if ((t.keys[t.nkeys] = strdup(k)) == NULL)
            ok = false;
        else
            t.nkeys++;
    }
    if (!ok) {
        tenant_spec_free(&t);
        return TENREG_ENOMEM;
    }
    memcpy(t.sorted, t.keys, t.nkeys * sizeof *t.keys);
    if (t.nkeys > 1)
        qsort(t.sorted, t.nkeys, sizeof *t.sorted, cmp_str);
    s->v[s->n++] = t;
    return 0;
}

/* (string, entry) pairs sorted by string, then entry: the first of a run
 * of equal strings is the earliest entry. */
struct pair {
    const char *s;
    size_t entry;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c != 0 ? c : x->entry < y->entry ? -1 : x->entry > y->entry;
}

long tenant_set_dup_ids(struct tenant_set *s, set_problem_fn fn, void *ctx)
{
    struct pair *p = malloc((s->n ? s->n : 1) * sizeof *p);
    size_t *first = malloc((s->n ? s->n : 1) * sizeof *first);
    if (p == NULL || first == NULL) {
        free(p);
        free(first);
        return -1;
    }
    for (size_t i = 0; i < s->n; i++) {
        p[i] = (struct pair){s->v[i].id, i};
        first[i] = SIZE_MAX;
    }
    qsort(p, s->n, sizeof *p, cmp_pair);
    for (size_t i = 1; i < s->n; i++)
        if (strcmp(p[i].s, p[i - 1].s) == 0)
            first[p[i].entry] = first[p[i - 1].entry] != SIZE_MAX ? first[p[i - 1].entry]
                                                                  : p[i - 1].entry;
    long n = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (first[i] == SIZE_MAX)
            continue;
        s->v[i].skip = true;
        struct set_problem pr = {.entry = i, .code = 0, .other = first[i]};
        fn(ctx, &pr);
        n++;
    }
    free(p);
    free(first);
    return n;
}

long tenant_set_conflicts(const struct tenant_set *s, set_problem_fn fn, void *ctx)
{
    size_t total = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!s->v[i].skip)
            total += 1 + s->v[i].nkeys;
    struct pair *p = malloc((total ? total : 1) * sizeof *p);
    struct set_problem *pr = malloc((s->n ? s->n : 1) * sizeof *pr);
    if (p == NULL || pr == NULL) {
        free(p);
        free(pr);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct tenant_spec *t = &s->v[i];
        pr[i] = (struct set_problem){.entry = i, .code = 0};
        if (t->skip)
            continue;
        p[k++] = (struct pair){t->key, i};
        for (size_t j = 0; j < t->nkeys; j++)
            p[k++] = (struct pair){t->keys[j], i};
        if (1 + t->nkeys > TENREG_HOSTS_MAX)
            pr[i] = (struct set_problem){.entry = i, .code = TENREG_ENOSPC,
                                         .count = 1 + t->nkeys};
    }
    qsort(p, k, sizeof *p, cmp_pair);
    /* Each entry's hosts are distinct, so equal neighbours are two entries;
     * the run's first is the earliest holder. */
    for (size_t i = 1, run = 0; i < k; i++) {
        if (strcmp(p[i].s, p[run].s) != 0) {
            run = i;
            continue;
        }
        struct set_problem *q = &pr[p[i].entry];
        if (q->code == 0 || (q->code == TENREG_EEXIST && p[run].entry < q->other))
            *q = (struct set_problem){.entry = p[i].entry, .code = TENREG_EEXIST,
                                      .other = p[run].entry, .key = p[i].s};
    }
    long n = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (pr[i].code == 0)
            continue;
        fn(ctx, &pr[i]);
        n++;
    }
    free(p);
    free(pr);
    return n;
}
