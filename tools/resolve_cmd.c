/*
 * resolve_cmd.c - `tenreg resolve --tenants FILE`: Host values on stdin ->
 * tenant, health and the host key or pattern that matched. Every answer and
 * every free is checked against the demo platforms and the line's own host
 * key: a library that hands out another tenant's platform, names a rule
 * that does not match the host, or leaks or double-frees a platform, makes
 * the tool fail (exit 3).
 */

#include "tool.h" /* first: it sets _POSIX_C_SOURCE */

#include <stdlib.h>
#include <string.h>

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
    /* The host key or "*.NAME" pattern that decided (known answers only). */
    char matched[TENREG_HOST_KEY_MAX + 3];
    bool matched_ok;                    /* known: matched fits the line's host */
    bool platform_ok;                   /* code 0: platform is this tenant's */
};

/* Does @matched name a rule that may decide host key @key
 * (docs/design.md §8.1): the key itself, or "*.s" with the key ending in
 * "." s, IPv6 keys never matching a pattern? */
static bool rule_fits(const char *matched, const char *key)
{
    if (strcmp(matched, key) == 0)
        return true;
    if (matched[0] != '*' || matched[1] != '.' || strchr(key, ':') != NULL)
        return false;
    const char *suffix = matched + 1; /* ".s" */
    size_t n = strlen(key), m = strlen(suffix);
    return n > m && strcmp(key + n - m, suffix) == 0;
}

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
    a->matched[0] = '\0';
    a->matched_ok = true;
    if (a->known) {
        snprintf(a->tenant_id, sizeof a->tenant_id, "%s", res.tenant_id);
        a->health = res.health;
        char key[TENREG_HOST_KEY_MAX + 1];
        a->matched_ok = res.matched != NULL &&
                        tenreg_normalize_host(host, len, key, sizeof key, NULL) == 0 &&
                        rule_fits(res.matched, key);
        if (res.matched != NULL)
            snprintf(a->matched, sizeof a->matched, "%s", res.matched);
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
        fprintf(out, "\t%s\t", tenreg_health_name(a->health));
    else
        fprintf(out, "\tERROR %s\t", code_name(a->code));
    if (a->known)
        put_escaped(out, a->matched, strlen(a->matched));
    else
        fputc('-', out);
    fputc('\n', out);
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
        if (!a.matched_ok) {
            rc = runtime_error("resolve answered tenant '%s' with matched '%s', which does not "
                               "match the host", a.tenant_id, a.matched);
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
 * once by the time tenreg_free returns (docs/design.md §2, ownership). */
static int check_platforms_freed(struct demo_env *env)
{
    long made = atomic_load(&env->made), freed = atomic_load(&env->freed);
    if (made != freed)
        return runtime_error("%ld platforms made but %ld freed", made, freed);
    return EXIT_OK;
}

int cmd_resolve(int argc, char **argv)
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
