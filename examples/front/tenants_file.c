/* tenants_file.c - startup CSV loader (see tenants_file.h). */
#define _GNU_SOURCE
#include "tenants_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Returns true if the line is fine (loaded or ignorable). */
static bool load_line(struct backend *b, const char *path, unsigned long no, char *line,
                      size_t len, long *loaded)
{
    if (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
    if (memchr(line, '\0', len) != NULL) {
        fprintf(stderr, "%s:%lu: line contains a NUL byte\n", path, no);
        return false;
    }
    char *s = trim(line);
    if (*s == '\0' || *s == '#')
        return true;
    char *f[3];
    size_t n = 0;
    for (char *p = s;; n++) {
        char *comma = strchr(p, ',');
        if (n < 3)
            f[n] = p;
        if (comma == NULL) {
            n++;
            break;
        }
        *comma = '\0';
        p = comma + 1;
    }
    if (n < 2 || n > 3) {
        fprintf(stderr, "%s:%lu: expected 'tenant_id,agent_url[,lazy]', found %zu field%s\n",
                path, no, n, n == 1 ? "" : "s");
        return false;
    }
    for (size_t i = 0; i < n; i++)
        f[i] = trim(f[i]);
    bool lazy = n == 3;
    if (lazy && strcmp(f[2], "lazy") != 0) {
        fprintf(stderr, "%s:%lu: unknown third field '%s' (only 'lazy' is allowed)\n", path,
                no, f[2]);
        return false;
    }
    if (!admin_valid_id(f[0], strlen(f[0]))) {
        fprintf(stderr, "%s:%lu: tenant id must be %s\n", path, no, admin_id_rule);
        return false;
    }
    tenreg_health h;
    if (b->health(b->impl, f[0], &h) == 0) {
        /* The registry would re-register (move) a repeated id; in a file
         * that is a copy-paste slip. */
        fprintf(stderr, "%s:%lu: tenant id '%s' is defined twice\n", path, no, f[0]);
        return false;
    }
    bool replaced;
    int r = b->add(b->impl, f[0], f[1], lazy, !lazy, &replaced);
    if (r != 0) {
        fprintf(stderr, "%s:%lu: cannot register '%s' (%s): %s\n", path, no, f[0], f[1],
                r == TENREG_EEXIST ? "its host belongs to an earlier tenant"
                                   : tenreg_strerror(r));
        return false;
    }
    (*loaded)++;
    return true;
}

long tenants_file_load(struct backend *b, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        fprintf(stderr, "tenreg-front: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long no = 0;
    long loaded = 0;
    bool ok = true;
    while ((n = getline(&line, &cap, fp)) != -1)
        ok &= load_line(b, path, ++no, line, (size_t)n, &loaded);
    if (ferror(fp)) {
        fprintf(stderr, "tenreg-front: error reading %s\n", path);
        ok = false;
    }
    free(line);
    fclose(fp);
    return ok ? loaded : -1;
}
