/*
 * tenreg - command-line front to libtenreg.
 *
 *   tenreg normalize [--hex]          Host values on stdin -> host keys
 *   tenreg resolve --tenants FILE     Host values on stdin -> tenant, health
 *
 * It uses include/tenreg.h only, like any adopter, so it doubles as a check
 * that the public header is enough to write a real consumer. The demo
 * platforms it registers carry their tenant id, and the tool checks every
 * answer and every free against them: a library that hands out another
 * tenant's platform, or leaks or double-frees one, makes it fail (exit 3).
 */
#define _POSIX_C_SOURCE 200809L /* getline, nanosleep */

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h> /* ssize_t */
#include <time.h>

#include "tenreg.h"

enum {
    EXIT_OK = 0,
    EXIT_BAD_FILE = 1, /* the tenants file has bad lines or cannot be read */
    EXIT_USAGE = 2,
    EXIT_RUNTIME = 3   /* out of memory, I/O error, library broke its contract */
};

/* Lets the compiler check the printf-style helpers' arguments. */
#if defined(__GNUC__)
#  define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#  define PRINTF_LIKE(fmt, args)
#endif

#define FACTORY_DELAY_MAX_MS 600000L
/* Longest part of a user string quoted in a message; the rest is "...". */
#define QUOTE_MAX_BYTES 64
#define QUOTE_CAP (QUOTE_MAX_BYTES * 4 + sizeof "...")

static const char usage_text[] =
    "Usage:\n"
    "  tenreg normalize [--hex]\n"
    "  tenreg resolve --tenants FILE [--wait | --nowait] [--factory-delay-ms N]\n"
    "                 [--factory ok|fail] [--validator always|never]\n"
    "  tenreg --help | --version\n"
    "\n"
    "normalize\n"
    "  Reads one input per line from standard input and prints one line per\n"
    "  input: its host key (tenreg_normalize_host), or \"ERROR <CODE>\", where\n"
    "  CODE is the error name without TENREG_ (e.g. \"ERROR EINVAL\").\n"
    "  An input is the raw line without its '\\n'; nothing else is stripped, so\n"
    "  the '\\r' of a CRLF line end is part of the input and makes it invalid,\n"
    "  as any control byte does (normalization trims only surrounding spaces\n"
    "  and tabs). A last line without '\\n' is an input too.\n"
    "  --hex   each line is the input's bytes hex-encoded, so that NUL, CR and\n"
    "          LF can be given (\"00\", \"0d\", \"0a\"; either case; an empty line\n"
    "          is the empty input). A line that is not an even number of hex\n"
    "          digits prints \"ERROR BADHEX\".\n"
    "\n"
    "resolve\n"
    "  Loads the tenants of FILE, then resolves each line of standard input\n"
    "  (a raw Host value or URL, read as for normalize) with tenreg_resolve()\n"
    "  and prints one line:\n"
    "    HOST<TAB>TENANT<TAB>HEALTH        served; HEALTH is pending, healthy,\n"
    "                                      unverified or disabled\n"
    "    HOST<TAB>TENANT<TAB>ERROR <CODE>  known tenant without a platform:\n"
    "                                      EPENDING (not built yet), EFACTORY or\n"
    "                                      EVALIDATOR (the build this line\n"
    "                                      started or waited for failed),\n"
    "                                      EDISABLED (an earlier build failed)\n"
    "    HOST<TAB>-<TAB>ERROR <CODE>       ENOENT (no tenant has this host) or\n"
    "                                      EINVAL (the host does not normalize)\n"
    "  HOST and TENANT are echoed as read, except that '\\' and bytes outside\n"
    "  printable ASCII (tab, CR, NUL, non-ASCII...) are written as \\xHH.\n"
    "\n"
    "  FILE has one tenant per line:  tenant_id,agent_url[,lazy]\n"
    "  Fields are trimmed of spaces and tabs and cannot contain commas (no\n"
    "  quoting). Blank lines and lines whose first non-blank byte is '#' are\n"
    "  ignored; CRLF line ends are accepted. Eager tenants get a demo platform\n"
    "  and are validated while loading, so they start healthy (disabled with\n"
    "  --validator never); lazy tenants get a demo factory and are built by\n"
    "  their first resolve. Every bad line (wrong field count, unknown third\n"
    "  field, empty or over-long id, duplicate id, URL that does not normalize,\n"
    "  host of another tenant) is reported on standard error as\n"
    "  \"FILE:LINE: reason (TENREG_E...)\"; if there is any, nothing is resolved\n"
    "  and the exit status is 1.\n"
    "\n"
    "  --tenants FILE         the tenants file (required)\n"
    "  --wait                 a cold lazy tenant is built before its line is\n"
    "                         printed (the default)\n"
    "  --nowait               resolve with TENREG_NOWAIT: a cold lazy tenant\n"
    "                         prints ERROR EPENDING and is built in the background\n"
    "  --factory-delay-ms N   the demo factory sleeps N ms (0..600000, default 0)\n"
    "  --factory ok|fail      the demo factory succeeds (default) or fails\n"
    "  --validator always|never\n"
    "                         the validator answers valid or invalid (default:\n"
    "                         no validator, which counts as always valid)\n"
    "  When an option is given twice, the last one wins.\n"
    "\n"
    "Exit status: 0 ok, 1 bad tenants file, 2 usage error, 3 runtime failure\n"
    "(out of memory, I/O error, or the library broke its contract).\n";

/* ---- small helpers ------------------------------------------------------ */

PRINTF_LIKE(1, 2) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("tenreg: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'tenreg --help'.\n", stderr);
    return EXIT_USAGE;
}

PRINTF_LIKE(1, 2) static int runtime_error(const char *fmt, ...)
{
    va_list ap;
    fputs("tenreg: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_RUNTIME;
}

/* "EINVAL" for TENREG_EINVAL: the output format names codes without the
 * prefix, and tenreg_err_name() is the one source of the names. */
static const char *code_name(int err)
{
    const char *name = tenreg_err_name(err);
    static const char prefix[] = "TENREG_";
    if (strncmp(name, prefix, sizeof prefix - 1) == 0)
        return name + sizeof prefix - 1;
    return name;
}

static bool byte_is_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '\\';
}

/* Echoes user bytes so that one input stays one output line and one TSV
 * field whatever it contains: an embedded tab, CR or NUL would otherwise
 * break the format the tests and scripts read. */
static void put_escaped(FILE *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (byte_is_plain(c))
            fputc(c, out);
        else
            fprintf(out, "\\x%02X", c);
    }
}

/* As put_escaped, into @dst (QUOTE_CAP bytes), cut after QUOTE_MAX_BYTES
 * input bytes: for messages, where a 10 kB URL helps nobody. */
static const char *quote(char *dst, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = len < QUOTE_MAX_BYTES ? len : QUOTE_MAX_BYTES;
    char *p = dst;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (byte_is_plain(c)) {
            *p++ = (char)c;
        } else {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    if (n < len) {
        memcpy(p, "...", 3);
        p += 3;
    }
    *p = '\0';
    return dst;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes @len hex digits into @out (room for len / 2 bytes) in place-safe
 * order (out may equal in). Returns the byte count, or -1 if @len is odd or
 * a byte is not a hex digit. */
static long hex_decode(const char *in, size_t len, char *out)
{
    if (len % 2 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_value((unsigned char)in[i]);
        int lo = hex_value((unsigned char)in[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (char)(hi << 4 | lo);
    }
    return (long)(len / 2);
}

/* Length of the line getline() returned, without its '\n' (if any). */
static size_t line_length(const char *line, ssize_t n)
{
    size_t len = (size_t)n;
    if (len > 0 && line[len - 1] == '\n')
        len--;
    return len;
}

/* Matches "--name VALUE" and "--name=VALUE" at argv[*i]. Returns 1 and sets
 * *value (advancing *i past a separate value), 0 if argv[*i] is another
 * option, -1 if the value is missing. */
static int option_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

/* ---- normalize ---------------------------------------------------------- */

static void normalize_one(const char *in, size_t len, FILE *out)
{
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t key_len = 0;
    int r = tenreg_normalize_host(in, len, key, sizeof key, &key_len);
    if (r == 0) {
        fwrite(key, 1, key_len, out);
        fputc('\n', out);
    } else {
        fprintf(out, "ERROR %s\n", code_name(r));
    }
}

static int cmd_normalize(int argc, char **argv)
{
    bool hex = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--hex") == 0)
            hex = true;
        else
            return usage_error("normalize: unknown argument '%s'", argv[i]);
    }

    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) != -1) {
        size_t len = line_length(line, n);
        if (hex) {
            long bytes = hex_decode(line, len, line);
            if (bytes < 0) {
                fputs("ERROR BADHEX\n", stdout);
                continue;
            }
            len = (size_t)bytes;
        }
        normalize_one(line, len, stdout);
    }
    int read_failed = ferror(stdin);
    free(line);
    if (read_failed)
        return runtime_error("error reading standard input");
    return EXIT_OK;
}

/* ---- demo platform, factory and validator -------------------------------- */

/*
 * Shared by the demo callbacks, which run on the registry's builder threads
 * and on liburcu's call_rcu thread: hence the atomic counters. It outlives
 * the registry (tenreg_free runs the last frees).
 */
struct demo_env {
    long factory_delay_ms;
    bool factory_fails;
    bool validator_says_valid;
    atomic_long made;
    atomic_long freed;
};

/* A platform that knows its tenant, so that every answer can be checked. */
struct demo_platform {
    unsigned long serial; /* order of creation, for a debugger */
    char tenant_id[];
};

static struct demo_platform *demo_platform_new(struct demo_env *env, const char *tenant_id)
{
    size_t len = strlen(tenant_id);
    struct demo_platform *p = malloc(sizeof *p + len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p->tenant_id, tenant_id, len + 1);
    p->serial = (unsigned long)atomic_fetch_add(&env->made, 1) + 1;
    return p;
}

/* tenreg_free_fn; also used for a platform the registry refused. */
static void demo_platform_free(void *ctx, void *platform)
{
    struct demo_env *env = ctx;
    atomic_fetch_add(&env->freed, 1);
    free(platform);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* tenreg_factory_fn: stands in for an adopter's slow handshake. */
static int demo_factory(void *ctx, const char *tenant_id, void **platform)
{
    struct demo_env *env = ctx;
    if (env->factory_delay_ms > 0)
        sleep_ms(env->factory_delay_ms);
    if (env->factory_fails)
        return -1;
    struct demo_platform *p = demo_platform_new(env, tenant_id);
    if (p == NULL)
        return -1;
    *platform = p;
    return 0;
}

/* tenreg_validator_fn, installed only with --validator. */
static int demo_validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    const struct demo_env *env = ctx;
    (void)tenant_id;
    (void)agent_url;
    return env->validator_says_valid ? 1 : 0;
}

/* ---- tenants file --------------------------------------------------------- */

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
static int load_tenants(tenreg_t *reg, struct demo_env *env, const char *path)
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

/* ---- resolve -------------------------------------------------------------- */

struct resolve_opts {
    const char *tenants_path;
    unsigned flags;
    bool use_validator;
    struct demo_env env;
};

/* What one resolve answered, copied out of the read section. */
struct answer {
    int code;
    bool known;                         /* tenant_id/health are filled */
    tenreg_health health;
    char tenant_id[TENREG_ID_MAX + 1];
    bool platform_ok;                   /* code 0: platform is this tenant's */
};

static void resolve_one(tenreg_t *reg, const char *host, size_t len, unsigned flags,
                        struct answer *a)
{
    tenreg_resolution res = {0};
    tenreg_read_lock();
    a->code = tenreg_resolve(reg, host, len, flags, &res);
    /* res.tenant_id points into the registry and may be reclaimed once the
     * read section ends: copy everything printed before unlocking. */
    a->known = a->code != TENREG_ENOENT && a->code != TENREG_EINVAL && res.tenant_id != NULL;
    a->tenant_id[0] = '\0';
    if (a->known) {
        snprintf(a->tenant_id, sizeof a->tenant_id, "%s", res.tenant_id);
        a->health = res.health;
    }
    a->platform_ok = true;
    if (a->code == 0) {
        const struct demo_platform *p = res.platform;
        a->platform_ok = p != NULL && res.tenant_id != NULL &&
                         strcmp(p->tenant_id, res.tenant_id) == 0;
    }
    tenreg_read_unlock();
}

static void print_answer(FILE *out, const char *host, size_t len, const struct answer *a)
{
    put_escaped(out, host, len);
    fputc('\t', out);
    if (a->known)
        put_escaped(out, a->tenant_id, strlen(a->tenant_id));
    else
        fputc('-', out);
    if (a->code == 0)
        fprintf(out, "\t%s\n", tenreg_health_name(a->health));
    else
        fprintf(out, "\tERROR %s\n", code_name(a->code));
}

static int resolve_stream(tenreg_t *reg, unsigned flags)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = EXIT_OK;
    while ((n = getline(&line, &cap, stdin)) != -1) {
        size_t len = line_length(line, n);
        struct answer a;
        resolve_one(reg, line, len, flags, &a);
        if (a.code == 0 && !a.platform_ok) {
            rc = runtime_error("resolve answered tenant '%s' with a platform that is not its own",
                               a.tenant_id);
            break;
        }
        print_answer(stdout, line, len, &a);
    }
    if (rc == EXIT_OK && ferror(stdin))
        rc = runtime_error("error reading standard input");
    free(line);
    return rc;
}

static int parse_delay(const char *s, long *out)
{
    if (*s == '\0')
        return -1;
    long v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > FACTORY_DELAY_MAX_MS)
            return -1;
    }
    *out = v;
    return 0;
}

static int parse_resolve_args(int argc, char **argv, struct resolve_opts *o)
{
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        int m;
        if ((m = option_value(argc, argv, &i, "--tenants", &v)) != 0) {
            if (m < 0)
                return usage_error("resolve: --tenants needs a FILE");
            o->tenants_path = v;
        } else if ((m = option_value(argc, argv, &i, "--factory-delay-ms", &v)) != 0) {
            if (m < 0 || parse_delay(v, &o->env.factory_delay_ms) != 0)
                return usage_error("resolve: --factory-delay-ms needs a number of ms from 0 to %ld",
                                   FACTORY_DELAY_MAX_MS);
        } else if ((m = option_value(argc, argv, &i, "--factory", &v)) != 0) {
            if (m < 0 || (strcmp(v, "ok") != 0 && strcmp(v, "fail") != 0))
                return usage_error("resolve: --factory needs 'ok' or 'fail'");
            o->env.factory_fails = strcmp(v, "fail") == 0;
        } else if ((m = option_value(argc, argv, &i, "--validator", &v)) != 0) {
            if (m < 0 || (strcmp(v, "always") != 0 && strcmp(v, "never") != 0))
                return usage_error("resolve: --validator needs 'always' or 'never'");
            o->use_validator = true;
            o->env.validator_says_valid = strcmp(v, "always") == 0;
        } else if (strcmp(argv[i], "--wait") == 0) {
            o->flags = 0;
        } else if (strcmp(argv[i], "--nowait") == 0) {
            o->flags = TENREG_NOWAIT;
        } else {
            return usage_error("resolve: unknown argument '%s'", argv[i]);
        }
    }
    if (o->tenants_path == NULL)
        return usage_error("resolve: --tenants FILE is required");
    return EXIT_OK;
}

/* Every platform made must have come back through platform_free exactly
 * once by the time tenreg_free returns (DESIGN.md §2, ownership). */
static int check_platforms_freed(struct demo_env *env)
{
    long made = atomic_load(&env->made), freed = atomic_load(&env->freed);
    if (made != freed)
        return runtime_error("%ld platforms made but %ld freed", made, freed);
    return EXIT_OK;
}

static int cmd_resolve(int argc, char **argv)
{
    struct resolve_opts o = {0};
    atomic_init(&o.env.made, 0);
    atomic_init(&o.env.freed, 0);
    int rc = parse_resolve_args(argc, argv, &o);
    if (rc != EXIT_OK)
        return rc;

    tenreg_config cfg = {
        .platform_free = demo_platform_free,
        .platform_free_ctx = &o.env,
    };
    if (o.use_validator) {
        cfg.validator = demo_validator;
        cfg.validator_ctx = &o.env;
    }
    tenreg_t *reg = NULL;
    int r = tenreg_new(&cfg, &reg);
    if (r != 0)
        return runtime_error("cannot create the registry: %s", tenreg_strerror(r));

    /* The loader's EEXIST messages look hosts up too, so register first. */
    tenreg_thread_register();
    rc = load_tenants(reg, &o.env, o.tenants_path);
    if (rc == EXIT_OK)
        rc = resolve_stream(reg, o.flags);
    tenreg_thread_unregister();
    /* The answers are complete: let them out before the teardown, which
     * may wait for a --nowait build still sleeping in the factory. */
    fflush(stdout);

    /* Joins the builders (a --nowait build may still run) and frees every
     * platform, so the check below sees the final counts. */
    tenreg_free(reg);
    int freed_rc = check_platforms_freed(&o.env);
    return rc != EXIT_OK ? rc : freed_rc;
}

/* ---- main ----------------------------------------------------------------- */

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

/* Output goes through stdio buffers: a full disk or a closed pipe shows up
 * only when they are flushed, and must not be reported as success. */
static int finish_output(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "tenreg: error writing standard output: %s\n", strerror(errno));
        return rc != EXIT_OK ? rc : EXIT_RUNTIME;
    }
    return rc;
}

int main(int argc, char **argv)
{
    int rc;
    if (argc < 2) {
        rc = usage_error("missing command");
    } else if (wants_help(argc, argv) || strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        rc = EXIT_OK;
    } else if (strcmp(argv[1], "--version") == 0) {
        printf("tenreg %s\n", tenreg_version_string());
        rc = EXIT_OK;
    } else if (strcmp(argv[1], "normalize") == 0) {
        rc = cmd_normalize(argc, argv);
    } else if (strcmp(argv[1], "resolve") == 0) {
        rc = cmd_resolve(argc, argv);
    } else {
        rc = usage_error("unknown command '%s'", argv[1]);
    }
    return finish_output(rc);
}
