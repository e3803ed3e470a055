/*
 * tenants_file.c - loads `tenant_id,agent_url[,lazy]` lines into a registry
 * and reports every bad line with its number.
 */

#include "tool.h" /* first: it sets _POSIX_C_SOURCE */

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Where each loaded tenant came from, for "already defined on line N". */
struct loaded_tenant {
    char *id;
    unsigned long line;
};

struct loader {
    tenreg_t *reg;
    struct demo_env *env;
    const char *path;
    struct loaded_tenant *loaded;
    size_t n_loaded, cap_loaded;
    unsigned long bad_lines;
    bool out_of_memory;
};

PRINTF_LIKE(4, 5)
static void report(struct loader *ld, unsigned long line, int err, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%lu: ", ld->path, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (%s)\n", tenreg_err_name(err));
    ld->bad_lines++;
    if (err == TENREG_ENOMEM)
        ld->out_of_memory = true;
}

static unsigned long loaded_line_of(const struct loader *ld, const char *tenant_id)
{
    for (size_t i = 0; i < ld->n_loaded; i++)
        if (strcmp(ld->loaded[i].id, tenant_id) == 0)
            return ld->loaded[i].line;
    return 0;
}

static bool remember_tenant(struct loader *ld, const char *tenant_id, unsigned long line)
{
    if (ld->n_loaded == ld->cap_loaded) {
        size_t cap = ld->cap_loaded ? ld->cap_loaded * 2 : 16;
        struct loaded_tenant *grown = realloc(ld->loaded, cap * sizeof *grown);
        if (grown == NULL)
            return false;
        ld->loaded = grown;
        ld->cap_loaded = cap;
    }
    char *id = strdup(tenant_id);
    if (id == NULL)
        return false;
    ld->loaded[ld->n_loaded++] = (struct loaded_tenant){.id = id, .line = line};
    return true;
}

static void loader_release(struct loader *ld)
{
    for (size_t i = 0; i < ld->n_loaded; i++)
        free(ld->loaded[i].id);
    free(ld->loaded);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static char *trim(char *s)
{
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Splits @s at every comma into at most @max trimmed fields; returns the
 * number of fields there are (which may exceed @max: then nothing is split). */
static size_t split_fields(char *s, char **fields, size_t max)
{
    size_t count = 1;
    for (const char *p = s; *p != '\0'; p++)
        count += *p == ',';
    if (count > max)
        return count;
    for (size_t i = 0; i < count; i++) {
        char *comma = strchr(s, ',');
        if (comma != NULL)
            *comma = '\0';
        fields[i] = trim(s);
        if (comma != NULL)
            s = comma + 1;
    }
    return count;
}

/* Names the tenant that holds @url's host, for an EEXIST message. The
 * lookup needs a read section; the id is copied before it ends. */
static void owner_of_host(tenreg_t *reg, const char *url, char *owner, size_t cap)
{
    tenreg_resolution res = {0};
    owner[0] = '\0';
    tenreg_read_lock();
    int r = tenreg_resolve_by_host(reg, url, strlen(url), &res);
    if (r != TENREG_ENOENT && r != TENREG_EINVAL && res.tenant_id != NULL)
        snprintf(owner, cap, "%s", res.tenant_id);
    tenreg_read_unlock();
}

static void report_register_failure(struct loader *ld, unsigned long line, int r,
                                    const char *id, const char *url, const char *key)
{
    char q[QUOTE_CAP];
    if (r != TENREG_EEXIST) {
        report(ld, line, r, "cannot register tenant '%s': %s", quote(q, id, strlen(id)),
               tenreg_strerror(r));
        return;
    }
    char owner[TENREG_ID_MAX + 1];
    char q_owner[QUOTE_CAP];
    owner_of_host(ld->reg, url, owner, sizeof owner);
    report(ld, line, r, "host '%s' already belongs to tenant '%s' of line %lu", key,
           quote(q_owner, owner, strlen(owner)), loaded_line_of(ld, owner));
}

/* Registers one tenant line's fields; reports what is wrong with them. */
static void load_tenant(struct loader *ld, unsigned long line, char **fields, size_t n_fields)
{
    char q[QUOTE_CAP];
    const char *id = fields[0], *url = fields[1];
    bool lazy = false;

    if (n_fields == 3) {
        if (strcmp(fields[2], "lazy") != 0) {
            report(ld, line, TENREG_EINVAL, "unknown third field '%s', expected 'lazy'",
                   quote(q, fields[2], strlen(fields[2])));
            return;
        }
        lazy = true;
    }
    size_t id_len = strlen(id);
    if (id_len == 0) {
        report(ld, line, TENREG_EINVAL, "empty tenant id");
        return;
    }
    if (id_len > TENREG_ID_MAX) {
        report(ld, line, TENREG_EINVAL, "tenant id is %zu bytes, longer than %d", id_len,
               TENREG_ID_MAX);
        return;
    }
    /* The registry would silently re-register (and move) a repeated id;
     * in a file that is a copy-paste slip, so say so. */
    tenreg_health health;
    if (tenreg_health_of(ld->reg, id, &health) == 0) {
        report(ld, line, TENREG_EEXIST, "tenant id '%s' already defined on line %lu",
               quote(q, id, id_len), loaded_line_of(ld, id));
        return;
    }
    char key[TENREG_HOST_KEY_MAX + 1];
    int r = tenreg_normalize_host(url, strlen(url), key, sizeof key, NULL);
    if (r != 0) {
        report(ld, line, r, "agent URL '%s' does not normalize", quote(q, url, strlen(url)));
        return;
    }

    if (lazy) {
        r = tenreg_register_lazy(ld->reg, id, url, demo_factory, ld->env, 0);
    } else {
        struct demo_platform *p = demo_platform_new(ld->env, id);
        if (p == NULL) {
            report(ld, line, TENREG_ENOMEM, "cannot allocate a platform");
            return;
        }
        /* Validate now, so the table starts HEALTHY (or DISABLED) rather
         * than PENDING until some recheck nobody makes in a one-shot tool. */
        r = tenreg_register(ld->reg, id, url, p, TENREG_AWAIT_FIRST_VALIDATION);
        if (r != 0)
            demo_platform_free(ld->env, p); /* refused: still ours */
    }
    if (r != 0) {
        report_register_failure(ld, line, r, id, url, key);
        return;
    }
    if (!remember_tenant(ld, id, line))
        report(ld, line, TENREG_ENOMEM, "out of memory");
}

static void load_line(struct loader *ld, unsigned long line, char *buf, size_t len)
{
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    if (memchr(buf, '\0', len) != NULL) {
        report(ld, line, TENREG_EINVAL, "line contains a NUL byte");
        return;
    }
    buf[len] = '\0';
    char *s = trim(buf);
    if (*s == '\0' || *s == '#')
        return;
    char *fields[3];
    size_t n = split_fields(s, fields, 3);
    if (n < 2 || n > 3) {
        report(ld, line, TENREG_EINVAL,
               "expected 'tenant_id,agent_url[,lazy]', found %zu field%s", n, n == 1 ? "" : "s");
        return;
    }
    load_tenant(ld, line, fields, n);
}

/* Reads the whole file, reporting every bad line. Returns EXIT_OK,
 * EXIT_BAD_FILE or EXIT_RUNTIME. */
int load_tenants(tenreg_t *reg, struct demo_env *env, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "tenreg: cannot open %s: %s\n", path, strerror(errno));
        return EXIT_BAD_FILE;
    }
    struct loader ld = {.reg = reg, .env = env, .path = path};
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long line = 0;
    while ((n = getline(&buf, &cap, f)) != -1)
        load_line(&ld, ++line, buf, line_length(buf, n));
    int read_failed = ferror(f);
    free(buf);
    fclose(f);
    loader_release(&ld);

    if (read_failed) {
        fprintf(stderr, "tenreg: error reading %s\n", path);
        return EXIT_BAD_FILE;
    }
    if (ld.out_of_memory)
        return EXIT_RUNTIME;
    if (ld.bad_lines > 0) {
        fprintf(stderr, "tenreg: %s: %lu bad line%s, nothing resolved\n", path, ld.bad_lines,
                ld.bad_lines == 1 ? "" : "s");
        return EXIT_BAD_FILE;
    }
    return EXIT_OK;
}
