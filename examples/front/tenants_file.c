/* tenants_file.c - the tenants file (see tenants_file.h). */
#define _GNU_SOURCE
#include "tenants_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

/* Bad lines, reported in line order once the whole file is read. */
struct line_error {
    unsigned long line;
    char *msg;
};

struct errors {
    struct line_error *v;
    size_t n, cap;
    bool oom;
};

static void add_error(struct errors *e, unsigned long line, const char *fmt, ...)
{
    char msg[2 * TENREG_ID_MAX + 4 * BACKEND_HOST_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        struct line_error *v = realloc(e->v, cap * sizeof *v);
        if (v == NULL) {
            e->oom = true;
            return;
        }
        e->v = v;
        e->cap = cap;
    }
    if ((e->v[e->n].msg = strdup(msg)) == NULL) {
        e->oom = true;
        return;
    }
    e->v[e->n++].line = line;
}

static int cmp_error(const void *a, const void *b)
{
    const struct line_error *x = a, *y = b;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Prints and frees them, in line order (at most one error is recorded
 * per line, so qsort, not stable, cannot swap two of one line). */
static void report(struct errors *e, const char *path)
{
    if (e->n > 1)
        qsort(e->v, e->n, sizeof *e->v, cmp_error);
    for (size_t i = 0; i < e->n; i++) {
        fprintf(stderr, "%s:%lu: %s\n", path, e->v[i].line, e->v[i].msg);
        free(e->v[i].msg);
    }
    if (e->oom)
        fprintf(stderr, "%s: out of memory: not every bad line is listed\n", path);
    free(e->v);
    *e = (struct errors){0};
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

#define FORMAT "'tenant_id,agent_url[,lazy][,host=HOST]...'"

/* One line into @set, or one error. */
static void parse_line(struct tenant_set *set, bool extra_hosts, unsigned long no, char *line,
                       size_t len, struct errors *e)
{
    if (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
    if (memchr(line, '\0', len) != NULL) {
        add_error(e, no, "line contains a NUL byte");
        return;
    }
    char *s = trim(line);
    if (*s == '\0' || *s == '#')
        return;
    size_t n = 1;
    for (const char *p = s; (p = strchr(p, ',')) != NULL; p++)
        n++;
    char **f = malloc(n * sizeof *f);
    if (f == NULL) {
        e->oom = true;
        return;
    }
    n = 0;
    for (char *p = s;;) {
        char *comma = strchr(p, ',');
        f[n++] = p;
        if (comma == NULL)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    for (size_t i = 0; i < n; i++)
        f[i] = trim(f[i]);
    bool lazy = false;
    const char **hosts = (const char **)f + 2;  /* host= values, compacted in place */
    size_t nhosts = 0;
    if (n < 2) {
        add_error(e, no, "expected " FORMAT ", found %zu field%s", n, n == 1 ? "" : "s");
        goto out;
    }
    for (size_t i = 2; i < n; i++) {
        if (strcmp(f[i], "lazy") == 0) {
            if (lazy) {
                add_error(e, no, "'lazy' is given twice");
                goto out;
            }
            lazy = true;
        } else if (strncmp(f[i], "host=", 5) == 0) {
            hosts[nhosts++] = trim(f[i] + 5);
        } else {
            add_error(e, no, "unknown field %zu '%s' (only 'lazy' and 'host=HOST' are allowed)",
                      i + 1, f[i]);
            goto out;
        }
    }
    if (!admin_valid_id(f[0], strlen(f[0]))) {
        add_error(e, no, "tenant id must be %s", admin_id_rule);
        goto out;
    }
    if (nhosts > 0 && !extra_hosts) {
        add_error(e, no, "host= needs --backend tenreg (this backend keeps one host per tenant)");
        goto out;
    }
    size_t bad;
    int r = tenant_set_add(set, f[0], f[1], lazy, hosts, nhosts, no, &bad);
    if (r == TENREG_EINVAL && bad != SIZE_MAX)
        add_error(e, no, "bad host '%s': must be a host, a URL or a *.NAME pattern", hosts[bad]);
    else if (r != 0)
        add_error(e, no, "cannot register '%s' (%s): %s", f[0], f[1], tenreg_strerror(r));
out:
    free(f);
}

struct problems {
    const struct tenant_set *set;
    struct errors *e;
};

static void on_problem(void *ctx, const struct set_problem *p)
{
    struct problems *q = ctx;
    const struct tenant_spec *t = &q->set->v[p->entry], *o = &q->set->v[p->other];
    if (p->code == 0)
        add_error(q->e, t->where, "tenant id '%s' is defined twice", t->id);
    else if (p->code == TENREG_EEXIST)
        add_error(q->e, t->where,
                  "cannot register '%s' (%s): its host '%s' belongs to an earlier tenant "
                  "('%s', line %lu)", t->id, t->url, p->key, o->id, o->where);
    else
        add_error(q->e, t->where, "'%s' would hold %zu hosts and patterns, more than %d",
                  t->id, p->count, TENREG_HOSTS_MAX);
}

int tenants_file_load(struct reloader *r, const char *path, struct reload_summary *sum)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        fprintf(stderr, "tenreg-front: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct tenant_set set = {0};
    struct errors e = {0};
    struct problems q = {&set, &e};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long no = 0;
    bool ok = true;
    while ((n = getline(&line, &cap, fp)) != -1)
        parse_line(&set, r->b->add_host != NULL, ++no, line, (size_t)n, &e);
    if (ferror(fp)) {
        fprintf(stderr, "tenreg-front: error reading %s\n", path);
        ok = false;
    }
    free(line);
    fclose(fp);
    if (tenant_set_dup_ids(&set, on_problem, &q) < 0)
        e.oom = true;
    if (e.n > 0 || e.oom || !ok) {
        /* Name every line the set would refuse too, as a load would. */
        if (tenant_set_conflicts(&set, on_problem, &q) < 0)
            e.oom = true;
        size_t bad = e.n;
        report(&e, path);
        tenant_set_free(&set);
        if (bad > 0)
            fprintf(stderr, "tenreg-front: %s: %zu bad line%s\n", path, bad, bad == 1 ? "" : "s");
        return -1;
    }
    size_t failed;
    int code = reloader_apply(r, &set, sum, &failed);
    if (code != 0) {
        /* The backend refused the set: say which lines, then why. */
        if (failed != SIZE_MAX)
            add_error(&e, set.v[failed].where, "cannot register '%s' (%s): %s",
                      set.v[failed].id, set.v[failed].url, tenreg_strerror(code));
        else if ((code == TENREG_EEXIST || code == TENREG_ENOSPC) &&
                 tenant_set_conflicts(&set, on_problem, &q) < 0)
            e.oom = true;
        report(&e, path);
        fprintf(stderr, "tenreg-front: %s: the tenant set was refused: %s (%s)\n",
                path, tenreg_strerror(code), tenreg_err_name(code));
    }
    tenant_set_free(&set);
    return code == 0 ? 0 : -1;
}
