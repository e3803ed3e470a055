/*
 * tenants_file.c - loads tenants file lines into a registry and reports
 * every bad line with its number:
 *
 *   tenant_id,agent_url[,[lazy][,host]...]
 *
 * The third field is "lazy" or empty (eager); each field after it is one
 * more host of the tenant for tenreg_add_host(): a Host value or URL, or a
 * wildcard pattern "*.NAME" (docs/design.md §8.1). main.c's usage text is
 * the user's documentation of the format.
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
    unsigned long last_bad_line; /* a line with several mistakes counts once */
    bool out_of_memory;
};

/* Fields of one line: id, URL, the flag field, then up to TENREG_HOSTS_MAX
 * extra hosts (one more than a tenant can hold, so that the library's own
 * ENOSPC names the host that did not fit). */
#define FIELDS_MAX (3 + TENREG_HOSTS_MAX)
#define FORMAT "tenant_id,agent_url[,[lazy][,host]...]"

PRINTF_LIKE(4, 5)
static void report(struct loader *ld, unsigned long line, int err, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%lu: ", ld->path, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (%s)\n", tenreg_err_name(err));
    if (line != ld->last_bad_line) {
        ld->bad_lines++;
        ld->last_bad_line = line;
    }
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

/* Looks for the tenant whose hosts (tenreg_foreach_host: keys and
 * patterns as the registry spells them) include one string. */
struct holder_search {
    const tenreg_t *reg;
    const char *wanted;
    char *owner;
    size_t cap;
};

static int is_wanted(void *ctx, const char *host_or_pattern)
{
    const struct holder_search *s = ctx;
    return strcmp(host_or_pattern, s->wanted) == 0;
}

static int search_tenant(void *ctx, const char *tenant_id, tenreg_health health)
{
    (void)health;
    struct holder_search *s = ctx;
    if (tenreg_foreach_host(s->reg, tenant_id, is_wanted, s) != 1)
        return 0;
    snprintf(s->owner, s->cap, "%s", tenant_id);
    return 1;
}

/* Names the tenant that holds host key or pattern @canonical ("" if none
 * does). Iterating works on snapshots, outside any read section. */
static void holder_of(const tenreg_t *reg, const char *canonical, char *owner, size_t cap)
{
    struct holder_search s = {.reg = reg, .wanted = canonical, .owner = owner, .cap = cap};
    owner[0] = '\0';
    (void)tenreg_foreach(reg, search_tenant, &s);
}

/* "*.NAME" as the registry keeps it: lower-cased, one trailing dot folded
 * (only called for a pattern the registry accepted). */
static void canonical_pattern(const char *pattern, char *out, size_t cap)
{
    size_t n = strlen(pattern);
    if (n > 0 && pattern[n - 1] == '.')
        n--;
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++) {
        char c = pattern[i];
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[n] = '\0';
}

/* "host 'k' already belongs to tenant 'o' of line N", for an EEXIST. */
static void report_taken(struct loader *ld, unsigned long line, const char *kind,
                         const char *canonical)
{
    char owner[TENREG_ID_MAX + 1];
    char q[QUOTE_CAP], q_owner[QUOTE_CAP];
    holder_of(ld->reg, canonical, owner, sizeof owner);
    const char *shown = quote(q, canonical, strlen(canonical));
    if (owner[0] == '\0')
        report(ld, line, TENREG_EEXIST, "%s '%s' already belongs to another tenant", kind, shown);
    else
        report(ld, line, TENREG_EEXIST, "%s '%s' already belongs to tenant '%s' of line %lu",
               kind, shown, quote(q_owner, owner, strlen(owner)), loaded_line_of(ld, owner));
}

static void report_register_failure(struct loader *ld, unsigned long line, int r,
                                    const char *id, const char *key)
{
    char q[QUOTE_CAP];
    if (r != TENREG_EEXIST) {
        report(ld, line, r, "cannot register tenant '%s': %s", quote(q, id, strlen(id)),
               tenreg_strerror(r));
        return;
    }
    report_taken(ld, line, "host", key);
}

static bool is_pattern(const char *host)
{
    return host[0] == '*';
}

/* One extra host or pattern of a registered tenant. */
static void load_extra_host(struct loader *ld, unsigned long line, const char *id,
                            const char *host)
{
    char q[QUOTE_CAP], q_id[QUOTE_CAP];
    if (*host == '\0') {
        report(ld, line, TENREG_EINVAL, "empty host field");
        return;
    }
    int r = tenreg_add_host(ld->reg, id, host);
    if (r == 0)
        return;
    const char *shown = quote(q, host, strlen(host));
    if (r == TENREG_EINVAL && is_pattern(host)) {
        report(ld, line, r, "pattern '%s' is not '*.NAME' with NAME a host name", shown);
    } else if (r == TENREG_EINVAL) {
        report(ld, line, r, "host '%s' does not normalize", shown);
    } else if (r == TENREG_EEXIST && is_pattern(host)) {
        char canonical[TENREG_HOST_KEY_MAX + 3];
        canonical_pattern(host, canonical, sizeof canonical);
        report_taken(ld, line, "pattern", canonical);
    } else if (r == TENREG_EEXIST) {
        char key[TENREG_HOST_KEY_MAX + 1];
        if (tenreg_normalize_host(host, strlen(host), key, sizeof key, NULL) != 0)
            snprintf(key, sizeof key, "%s", host); /* cannot happen: it was not EINVAL */
        report_taken(ld, line, "host", key);
    } else if (r == TENREG_ENOSPC) {
        report(ld, line, r, "cannot add '%s': tenant '%s' already holds %d hosts and patterns",
               shown, quote(q_id, id, strlen(id)), TENREG_HOSTS_MAX);
    } else {
        report(ld, line, r, "cannot add '%s' to tenant '%s': %s", shown,
               quote(q_id, id, strlen(id)), tenreg_strerror(r));
    }
}

/* Registers one tenant line's fields; reports what is wrong with them. */
static void load_tenant(struct loader *ld, unsigned long line, char **fields, size_t n_fields)
{
    char q[QUOTE_CAP];
    const char *id = fields[0], *url = fields[1];
    bool lazy = false;

    if (n_fields >= 3 && fields[2][0] != '\0') {
        if (strcmp(fields[2], "lazy") != 0) {
            report(ld, line, TENREG_EINVAL,
                   "unknown third field '%s', expected 'lazy' or an empty field",
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
        report_register_failure(ld, line, r, id, key);
        return;
    }
    if (!remember_tenant(ld, id, line))
        report(ld, line, TENREG_ENOMEM, "out of memory");
    for (size_t i = 3; i < n_fields; i++)
        load_extra_host(ld, line, id, fields[i]);
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
    char *fields[FIELDS_MAX];
    size_t n = split_fields(s, fields, FIELDS_MAX);
    if (n < 2) {
        report(ld, line, TENREG_EINVAL, "expected '" FORMAT "', found 1 field");
        return;
    }
    if (n > FIELDS_MAX) {
        report(ld, line, TENREG_ENOSPC,
               "%zu extra hosts: a tenant holds at most %d hosts and patterns, its agent "
               "URL's included", n - 3, TENREG_HOSTS_MAX);
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
