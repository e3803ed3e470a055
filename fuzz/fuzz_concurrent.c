/*
 * fuzz_concurrent.c - the operations of fuzz_registry_ops from 2-3 threads
 * sharing one registry.
 *
 * The interleaving decides most answers, so there is no model; checked are
 * the properties that hold under every interleaving:
 *   - no crash, no sanitizer report (build it with TENREG_SANITIZE=thread
 *     too: the replay ctest then runs under ThreadSanitizer);
 *   - every return code is one the call may give, and EINVAL exactly for
 *     the bad arguments (they do not depend on timing);
 *   - a resolve that answers 0 hands out a platform of the tenant it names
 *     (out->tenant_id), made for a registration that tenant attempted, not
 *     freed while the read section lasts; other answers carry no platform;
 *   - hosts and patterns (docs/design.md §8.1), added and removed while
 *     readers resolve: an answer's `matched` is the host key asked or a
 *     pattern that matches it (never for an IPv6 key), and the answering
 *     tenant attempted to register or add that very rule before (each
 *     thread records the attempt before the call): a reader never sees a
 *     host half-added or another tenant's answer for it;
 *   - a tenant set up before the threads start ("pinned": agent host
 *     pinned.example, extra host alias.pinned.example, pattern
 *     *.pinned.example) holds its hosts throughout: every resolve also
 *     probes one of them in the same read section and must get pinned's
 *     answer, its platform, HEALTHY and the rule that matches; every
 *     attempt of another tenant to register or add them fails;
 *   - tenreg_foreach_host lists only rules the tenant attempted, no rule
 *     twice, at most TENREG_HOSTS_MAX, its agent URL's key first;
 *   - at most one factory call per lazy registration;
 *   - validators and factories never run inside a read section;
 *   - after the threads are joined, foreach sees tenreg_count() tenants, no
 *     rule belongs to two tenants, and every fz_hosts key and a name under
 *     every pattern resolve exactly as the tenants' foreach_host lists say
 *     (exact key, else longest pattern): no host entry outlived a race
 *     between add_host, remove_host, register and unregister;
 *   - after tenreg_free, every platform the registry owned was freed exactly
 *     once and none of the caller's (a failed register, a failed factory's
 *     decoy) ever; the number of platform_free calls is counted.
 * The first input bytes from the end choose 2 or 3 threads, 1 or 2 builder
 * threads and the validator on or off; operation i runs on thread i % n.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_registry_common.h"

#define MAX_OPS 96
#define MAX_THREADS 3
#define FZ_PINNED FZ_IDS /* tenant index of "pinned" */
#define FZ_TENANTS (FZ_IDS + 1)

/* attempted[][] bits: recorded before the call that may give the rule. */
#define ATTEMPT_ADD 1u
#define ATTEMPT_REGISTER 2u

static const char pinned_id[] = "pinned";

/* Lookups that only "pinned" can answer, whatever the operations do: no
 * fz_hosts key or pattern other than pinned's own matches them better. */
static const struct {
    const char *text, *matched;
} pinned_probes[] = {
    {"pinned.example", "pinned.example"},
    {"HTTPS://Pinned.Example:443/p", "pinned.example"},
    {"alias.pinned.example.", "alias.pinned.example"},
    {"probe.pinned.example", "*.pinned.example"},
    {"a.b.PINNED.example:80", "*.pinned.example"},
};
#define PINNED_PROBES (sizeof(pinned_probes) / sizeof(pinned_probes[0]))

struct state;

struct fctx {
    struct state *st;
    int id, group;
    enum fz_outcome outcome;
    _Atomic int calls;
};

struct state {
    tenreg_t *reg;
    struct fz_pool pool;
    struct fctx *fctxs;
    _Atomic unsigned nfctx;
    int have_validator;
    _Atomic int verdict[FZ_IDS];
    struct fz_op_args ops[MAX_OPS];
    unsigned nops, nthreads;
    pthread_barrier_t start;
    struct fz_plat *pinned; /* pinned's platform */
    /* Per tenant index (pinned last) and fz_rule_id: ATTEMPT_* bits. */
    _Atomic unsigned char attempted[FZ_TENANTS][FZ_RULES];
};

struct worker {
    struct state *st;
    unsigned index;
};

static _Thread_local int in_read_section;

/* Index of a tenant id among the valid ids and pinned, or -1. */
static int tenant_index(const char *id)
{
    if (strcmp(id, pinned_id) == 0)
        return FZ_PINNED;
    return fz_id_index(id);
}

static const char *tenant_name(int i)
{
    return i == FZ_PINNED ? pinned_id : fz_id((unsigned)i);
}

/* Does @rule belong to pinned (so no other tenant can ever take it)? */
static int pinned_rule(const char *rule)
{
    return strcmp(rule, "pinned.example") == 0 || strcmp(rule, "alias.pinned.example") == 0 ||
           strcmp(rule, "*.pinned.example") == 0;
}

static void note_attempt(struct state *st, int tenant, const char *rule, unsigned bit)
{
    int r = fz_rule_id(rule);
    FUZZ_ASSERT_MSG(r >= 0, "rule \"%s\" missing from the rule table", rule);
    atomic_fetch_or(&st->attempted[tenant][r], (unsigned char)bit);
}

static unsigned attempts_of(struct state *st, int tenant, const char *rule)
{
    int r = fz_rule_id(rule);
    return r < 0 ? 0 : atomic_load(&st->attempted[tenant][r]);
}

static int validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    struct state *st = ctx;
    FUZZ_ASSERT_MSG(!in_read_section, "validator called inside a read section");
    int i = tenant_index(tenant_id);
    FUZZ_ASSERT_MSG(i >= 0, "validator for unknown tenant \"%.20s\"", tenant_id);
    if (i == FZ_PINNED)
        return 1;
    int known_url = 0;
    for (size_t h = 0; h < FZ_HOSTS; h++)
        known_url |= fz_hosts[h].group >= 0 && strcmp(agent_url, fz_hosts[h].text) == 0;
    FUZZ_ASSERT_MSG(known_url, "validator saw URL \"%s\"", agent_url);
    return atomic_load(&st->verdict[i]);
}

static int factory(void *ctx, const char *tenant_id, void **platform)
{
    struct fctx *f = ctx;
    FUZZ_ASSERT_MSG(!in_read_section, "factory called inside a read section");
    FUZZ_ASSERT_MSG(strcmp(tenant_id, fz_id((unsigned)f->id)) == 0,
                    "factory of %s called for %s", fz_id((unsigned)f->id), tenant_id);
    int n = atomic_fetch_add(&f->calls, 1) + 1;
    FUZZ_ASSERT_MSG(n == 1, "factory of %s called %d times for one registration", tenant_id, n);
    switch (f->outcome) {
    case FZ_FACTORY_OK: {
        struct fz_plat *p = fz_plat_new(&f->st->pool, f->id, f->group);
        atomic_store(&p->owner, FZ_OWNER_REGISTRY);
        *platform = p;
        return 0;
    }
    case FZ_FACTORY_FAIL:
        return -1;
    case FZ_FACTORY_NULL:
        *platform = NULL;
        return 0;
    default: {
        struct fz_plat *decoy = fz_plat_new(&f->st->pool, f->id, f->group);
        atomic_store(&decoy->owner, FZ_OWNER_CALLER);
        *platform = decoy;
        return -2;
    }
    }
}

static int valid_id(unsigned id)
{
    return id < FZ_IDS;
}

static int is_health(tenreg_health h)
{
    return h == TENREG_PENDING || h == TENREG_HEALTHY || h == TENREG_UNVERIFIED ||
           h == TENREG_DISABLED;
}

/* Checks a resolve's answer; @key: the host key asked, or NULL (by id);
 * @want_id: the id asked, or -1 (by host). Inside the read section. */
static void check_resolution(struct state *st, int rc, const tenreg_resolution *out,
                             const char *key, int want_id, int may_pend, const char *what)
{
    FUZZ_ASSERT_MSG(rc == TENREG_OK || rc == TENREG_ENOENT || rc == TENREG_EDISABLED ||
                    rc == TENREG_EFACTORY || rc == TENREG_EVALIDATOR ||
                    (may_pend && rc == TENREG_EPENDING),
                    "%s: unexpected %s", what, tenreg_err_name(rc));
    if (rc == TENREG_ENOENT) {
        FUZZ_ASSERT_MSG(out->matched == NULL, "%s: ENOENT with matched", what);
        return;
    }
    FUZZ_ASSERT_MSG(out->tenant_id != NULL, "%s: %s without tenant_id", what,
                    tenreg_err_name(rc));
    int id = tenant_index(out->tenant_id);
    FUZZ_ASSERT_MSG(id >= 0, "%s: tenant_id \"%.20s\"", what, out->tenant_id);
    if (want_id >= 0)
        FUZZ_ASSERT_MSG(id == want_id, "%s: asked %s, got %s", what, fz_id((unsigned)want_id),
                        out->tenant_id);
    FUZZ_ASSERT_MSG(is_health(out->health), "%s: health %d", what, (int)out->health);
    if (key == NULL) {
        FUZZ_ASSERT_MSG(out->matched == NULL, "%s: matched set by id", what);
    } else {
        /* Whole or not at all: the rule that decided matches the key, and
         * the tenant answering tried to take that very rule. */
        const char *m = out->matched;
        FUZZ_ASSERT_MSG(m != NULL, "%s: %s without matched", what, tenreg_err_name(rc));
        FUZZ_ASSERT_MSG(strcmp(m, key) == 0 || (fz_is_pattern(m) && fz_pattern_matches(m, key)),
                        "%s: key \"%s\" answered through \"%.80s\"", what, key, m);
        FUZZ_ASSERT_MSG(attempts_of(st, id, m) != 0,
                        "%s: \"%s\" answered by %s through \"%.80s\", which it never tried "
                        "to take", what, key, out->tenant_id, m);
    }
    if (rc != TENREG_OK) {
        FUZZ_ASSERT_MSG(out->platform == NULL, "%s: %s with a platform", what,
                        tenreg_err_name(rc));
        /* The call that started or waited for a failed build answers with
         * the health that build left, DISABLED, even when a recheck has
         * changed it since (corpus: race_recheck_after_failed_build). A
         * later EDISABLED carries the current health, never PENDING. */
        if (rc == TENREG_EFACTORY || rc == TENREG_EVALIDATOR)
            FUZZ_ASSERT_MSG(out->health == TENREG_DISABLED, "%s: %s but %s", what,
                            tenreg_err_name(rc), tenreg_health_name(out->health));
        if (rc == TENREG_EDISABLED)
            FUZZ_ASSERT_MSG(out->health != TENREG_PENDING, "%s: %s but %s", what,
                            tenreg_err_name(rc), tenreg_health_name(out->health));
        if (rc == TENREG_EVALIDATOR)
            FUZZ_ASSERT_MSG(st->have_validator, "%s: EVALIDATOR without a validator", what);
        return;
    }
    FUZZ_ASSERT_MSG(fz_plat_in_pool(&st->pool, out->platform), "%s: platform %p unknown", what,
                    out->platform);
    const struct fz_plat *p = out->platform;
    FUZZ_ASSERT(p->magic == FZ_PLAT_MAGIC);
    FUZZ_ASSERT_MSG(p->id == id, "%s: %s answered with a platform of %s", what, out->tenant_id,
                    tenant_name(p->id));
    FUZZ_ASSERT_MSG(attempts_of(st, id, fz_group_key(p->group)) & ATTEMPT_REGISTER,
                    "%s: %s answered with a platform made for host group %d, which it never "
                    "registered", what, out->tenant_id, p->group);
    FUZZ_ASSERT_MSG(atomic_load(&p->owner) != FZ_OWNER_CALLER,
                    "%s: answered with a platform the registry does not own", what);
    /* Grace period: nothing a reader can still see is freed. */
    FUZZ_ASSERT_MSG(atomic_load(&p->frees) == 0, "%s: platform freed inside a read section",
                    what);
}

/* One of pinned's hosts, in the caller's read section: pinned answers. */
static void probe_pinned(struct state *st, unsigned which)
{
    const char *text = pinned_probes[which % PINNED_PROBES].text;
    const char *want = pinned_probes[which % PINNED_PROBES].matched;
    tenreg_resolution out;
    memset(&out, 0, sizeof(out));
    int rc = tenreg_resolve_by_host(st->reg, text, strlen(text), &out);
    FUZZ_ASSERT_MSG(rc == TENREG_OK, "pinned probe \"%s\": %s", text, tenreg_err_name(rc));
    FUZZ_ASSERT_MSG(out.tenant_id && strcmp(out.tenant_id, pinned_id) == 0,
                    "pinned probe \"%s\": tenant \"%.20s\"", text,
                    out.tenant_id ? out.tenant_id : "(null)");
    FUZZ_ASSERT_MSG(out.matched && strcmp(out.matched, want) == 0,
                    "pinned probe \"%s\": matched \"%.80s\", want \"%s\"", text,
                    out.matched ? out.matched : "(null)", want);
    FUZZ_ASSERT_MSG(out.platform == st->pinned, "pinned probe \"%s\": platform %p, want %p",
                    text, out.platform, (void *)st->pinned);
    FUZZ_ASSERT_MSG(out.health == TENREG_HEALTHY, "pinned probe \"%s\": %s", text,
                    tenreg_health_name(out.health));
    FUZZ_ASSERT_MSG(atomic_load(&st->pinned->frees) == 0, "pinned's platform freed");
}

static void op_register(struct state *st, const struct fz_op_args *a, int lazy)
{
    const struct fz_host *h = &fz_hosts[a->host];
    unsigned flags = 0;
    int bad = 0;
    switch (a->variant) {
    case 0: break;
    case 1: flags = TENREG_AWAIT_FIRST_VALIDATION; break;
    case 2: flags = lazy ? 4u : TENREG_NOWAIT; bad = 1; break;
    default: bad = 1; break;
    }
    bad |= !valid_id(a->id) || h->group < 0;
    struct fz_plat *plat = NULL;
    struct fctx *f = NULL;
    if (!lazy && a->variant != 3)
        plat = fz_plat_new(&st->pool, (int)a->id, h->group);
    if (lazy && a->variant != 3) {
        unsigned i = atomic_fetch_add(&st->nfctx, 1);
        FUZZ_ASSERT(i < MAX_OPS);
        f = &st->fctxs[i];
        f->st = st;
        f->id = (int)a->id;
        f->group = h->group;
        f->outcome = (enum fz_outcome)a->outcome;
        atomic_init(&f->calls, 0);
    }
    if (!bad)
        note_attempt(st, (int)a->id, h->key, ATTEMPT_REGISTER);
    int rc = lazy ? tenreg_register_lazy(st->reg, fz_id(a->id), h->text, f ? factory : NULL, f,
                                         flags)
                  : tenreg_register(st->reg, fz_id(a->id), h->text, plat, flags);
    if (!bad && pinned_rule(h->key))
        FUZZ_ASSERT_MSG(rc == TENREG_EEXIST, "register%s(%s, \"%s\"): %s, but pinned holds it",
                        lazy ? "_lazy" : "", fz_id(a->id), h->text, tenreg_err_name(rc));
    if (bad)
        FUZZ_ASSERT_MSG(rc == TENREG_EINVAL, "register%s(%.20s, \"%s\", variant %u): %s",
                        lazy ? "_lazy" : "", fz_id(a->id), h->text, a->variant,
                        tenreg_err_name(rc));
    else
        FUZZ_ASSERT_MSG(rc == TENREG_OK || rc == TENREG_EEXIST, "register%s(%s, \"%s\"): %s",
                        lazy ? "_lazy" : "", fz_id(a->id), h->text, tenreg_err_name(rc));
    if (plat)
        atomic_store(&plat->owner, rc == TENREG_OK ? FZ_OWNER_REGISTRY : FZ_OWNER_CALLER);
}

static void op_resolve(struct state *st, const struct fz_op_args *a)
{
    const struct fz_host *h = &fz_hosts[a->host];
    size_t len = strlen(h->text);
    char *copy = malloc(len ? len : 1);
    FUZZ_ASSERT(copy != NULL);
    memcpy(copy, h->text, len);
    tenreg_resolution out;
    memset(&out, 0, sizeof(out));
    tenreg_read_lock();
    in_read_section = 1;
    int rc;
    const char *what;
    int may_pend = 1;
    if (a->op == FZ_RESOLVE_BY_HOST) {
        rc = tenreg_resolve_by_host(st->reg, copy, len, &out);
        what = "resolve_by_host";
    } else if (a->op == FZ_RESOLVE_NOWAIT || (a->variant & 1)) {
        rc = tenreg_resolve(st->reg, copy, len, TENREG_NOWAIT, &out);
        what = "resolve NOWAIT";
    } else {
        rc = tenreg_resolve(st->reg, copy, len, 0, &out);
        what = "resolve";
        may_pend = 0;
    }
    in_read_section = 0;
    if (h->group < 0) {
        FUZZ_ASSERT_MSG(rc == TENREG_EINVAL, "%s(\"%s\"): %s", what, h->text,
                        tenreg_err_name(rc));
        FUZZ_ASSERT_MSG(out.matched == NULL, "%s(\"%s\"): EINVAL with matched", what, h->text);
    } else {
        check_resolution(st, rc, &out, h->key, -1, may_pend, what);
    }
    probe_pinned(st, a->raw + a->outcome);
    tenreg_read_unlock();
    free(copy);
}

static void op_resolve_by_id(struct state *st, const struct fz_op_args *a)
{
    unsigned flags = (a->variant & 1) ? TENREG_NOWAIT : 0;
    tenreg_resolution out;
    memset(&out, 0, sizeof(out));
    tenreg_read_lock();
    in_read_section = 1;
    int rc = tenreg_resolve_by_id(st->reg, fz_id(a->id), flags, &out);
    in_read_section = 0;
    if (!valid_id(a->id))
        FUZZ_ASSERT_MSG(rc == TENREG_EINVAL, "resolve_by_id(%.20s): %s", fz_id(a->id),
                        tenreg_err_name(rc));
    else
        check_resolution(st, rc, &out, NULL, (int)a->id, flags != 0, "resolve_by_id");
    probe_pinned(st, a->raw);
    tenreg_read_unlock();
}

struct foreach_ctx {
    unsigned stop_at, calls, seen;
};

static int foreach_fn(void *ctx, const char *tenant_id, tenreg_health h)
{
    struct foreach_ctx *c = ctx;
    FUZZ_ASSERT_MSG(!in_read_section, "foreach callback inside a read section");
    int i = tenant_index(tenant_id);
    FUZZ_ASSERT_MSG(i >= 0, "foreach: unknown tenant \"%.20s\"", tenant_id);
    FUZZ_ASSERT_MSG(!(c->seen & (1u << i)), "foreach: %s twice", tenant_id);
    FUZZ_ASSERT_MSG(is_health(h), "foreach: health %d", (int)h);
    c->seen |= 1u << i;
    c->calls++;
    return c->calls == c->stop_at ? 1000 + (int)c->stop_at : 0;
}

/* ---- hosts and patterns (§8.1) ------------------------------------------ */

/* add_host with the answers it may give under any interleaving. */
static void do_add_host(struct state *st, unsigned id, int null_id, const char *host,
                        const char *canonical)
{
    int bad = null_id || host == NULL || !valid_id(id) || canonical == NULL;
    if (!bad)
        note_attempt(st, (int)id, canonical, ATTEMPT_ADD);
    int rc = tenreg_add_host(st->reg, null_id ? NULL : fz_id(id), host);
    const char *who = null_id ? "(null)" : fz_id(id);
    if (bad)
        FUZZ_ASSERT_MSG(rc == TENREG_EINVAL, "add_host(%.20s, \"%s\"): %s", who,
                        host ? host : "(null)", tenreg_err_name(rc));
    else if (pinned_rule(canonical))
        FUZZ_ASSERT_MSG(rc == TENREG_EEXIST || rc == TENREG_ENOENT || rc == TENREG_ENOSPC,
                        "add_host(%s, \"%s\"): %s, but pinned holds it", who, host,
                        tenreg_err_name(rc));
    else
        FUZZ_ASSERT_MSG(rc == TENREG_OK || rc == TENREG_EEXIST || rc == TENREG_ENOENT ||
                        rc == TENREG_ENOSPC,
                        "add_host(%s, \"%s\"): %s", who, host, tenreg_err_name(rc));
}

static void op_add_host(struct state *st, const struct fz_op_args *a)
{
    char buf[FZ_GEN_CAP];
    const char *canonical;
    int null_id;
    const char *host = fz_host_arg(a, buf, sizeof buf, &canonical, &null_id);
    do_add_host(st, a->id, null_id, host, canonical);
}

static void op_fill_hosts(struct state *st, const struct fz_op_args *a)
{
    char buf[FZ_GEN_CAP];
    for (unsigned k = 0; k < FZ_GEN_HOSTS; k++) {
        unsigned j = (a->raw + k) % FZ_GEN_HOSTS;
        do_add_host(st, a->id, 0, fz_gen_text(j, a->variant, buf, sizeof buf), fz_gen_key(j));
    }
}

static void op_remove_host(struct state *st, const struct fz_op_args *a)
{
    char buf[FZ_GEN_CAP];
    const char *canonical;
    int null_id;
    const char *host = fz_host_arg(a, buf, sizeof buf, &canonical, &null_id);
    int bad = null_id || host == NULL || !valid_id(a->id) || canonical == NULL;
    int rc = tenreg_remove_host(st->reg, null_id ? NULL : fz_id(a->id), host);
    const char *who = null_id ? "(null)" : fz_id(a->id);
    if (bad) {
        FUZZ_ASSERT_MSG(rc == TENREG_EINVAL, "remove_host(%.20s, \"%s\"): %s", who,
                        host ? host : "(null)", tenreg_err_name(rc));
        return;
    }
    /* EINVAL only for the agent URL's own host: a key this tenant tried to
     * register; OK only for a rule it tried to add. */
    unsigned tried = attempts_of(st, (int)a->id, canonical);
    FUZZ_ASSERT_MSG(rc == TENREG_ENOENT || (rc == TENREG_OK && (tried & ATTEMPT_ADD)) ||
                    (rc == TENREG_EINVAL && (tried & ATTEMPT_REGISTER)),
                    "remove_host(%s, \"%s\"): %s (attempts %u)", who, host,
                    tenreg_err_name(rc), tried);
}

/* A foreach_host list under any interleaving (the snapshot of one moment). */
struct hosts_ctx {
    struct state *st;
    int tenant;
    unsigned calls, stop_at;
    int ids[TENREG_HOSTS_MAX];               /* fz_rule_id of each listed rule */
    char rules[TENREG_HOSTS_MAX][TENREG_HOST_KEY_MAX + 3];
};

static int hosts_fn(void *ctx, const char *rule)
{
    struct hosts_ctx *c = ctx;
    FUZZ_ASSERT_MSG(!in_read_section, "foreach_host callback inside a read section");
    FUZZ_ASSERT_MSG(rule != NULL, "foreach_host(%s): NULL", tenant_name(c->tenant));
    FUZZ_ASSERT_MSG(c->calls < TENREG_HOSTS_MAX, "foreach_host(%s): more than %d hosts",
                    tenant_name(c->tenant), TENREG_HOSTS_MAX);
    int r = fz_rule_id(rule);
    unsigned tried = attempts_of(c->st, c->tenant, rule);
    FUZZ_ASSERT_MSG(r >= 0 && tried != 0, "foreach_host(%s): \"%.80s\", never tried",
                    tenant_name(c->tenant), rule);
    if (c->calls == 0)
        FUZZ_ASSERT_MSG(!fz_is_pattern(rule) && (tried & ATTEMPT_REGISTER),
                        "foreach_host(%s): first \"%s\" is not an agent URL's host",
                        tenant_name(c->tenant), rule);
    for (unsigned k = 0; k < c->calls; k++)
        FUZZ_ASSERT_MSG(c->ids[k] != r, "foreach_host(%s): \"%s\" twice",
                        tenant_name(c->tenant), rule);
    c->ids[c->calls] = r;
    snprintf(c->rules[c->calls], sizeof c->rules[0], "%s", rule);
    c->calls++;
    return c->stop_at && c->calls == c->stop_at ? 3000 : 0;
}

static void op_foreach_host(struct state *st, const struct fz_op_args *a)
{
    struct hosts_ctx *c = calloc(1, sizeof(*c));
    FUZZ_ASSERT(c != NULL);
    c->st = st;
    c->tenant = (int)a->id;
    c->stop_at = a->variant;
    int null_fn = a->outcome == 3;
    int rc = tenreg_foreach_host(st->reg, fz_id(a->id), null_fn ? NULL : hosts_fn, c);
    if (null_fn || !valid_id(a->id))
        FUZZ_ASSERT_MSG(rc == TENREG_EINVAL, "foreach_host(%.20s): %s", fz_id(a->id),
                        tenreg_err_name(rc));
    else if (rc == 3000)
        FUZZ_ASSERT_EQ(c->calls, c->stop_at);
    else
        FUZZ_ASSERT_MSG((rc == TENREG_OK && c->calls >= 1) ||
                        (rc == TENREG_ENOENT && c->calls == 0),
                        "foreach_host(%s): %s after %u hosts", fz_id(a->id),
                        tenreg_err_name(rc), c->calls);
    free(c);
}

static void run_op(struct state *st, const struct fz_op_args *a)
{
    int rc;
    switch (a->op) {
    case FZ_REGISTER: op_register(st, a, 0); break;
    case FZ_REGISTER_LAZY: op_register(st, a, 1); break;
    case FZ_UNREGISTER:
        rc = tenreg_unregister(st->reg, fz_id(a->id));
        FUZZ_ASSERT_MSG(valid_id(a->id) ? (rc == TENREG_OK || rc == TENREG_ENOENT)
                                        : rc == TENREG_EINVAL,
                        "unregister(%.20s): %s", fz_id(a->id), tenreg_err_name(rc));
        break;
    case FZ_RECHECK:
        rc = tenreg_recheck(st->reg, fz_id(a->id));
        if (!valid_id(a->id))
            FUZZ_ASSERT_MSG(rc == TENREG_EINVAL, "recheck(%.20s): %s", fz_id(a->id),
                            tenreg_err_name(rc));
        else
            FUZZ_ASSERT_MSG(rc == TENREG_OK || rc == TENREG_ENOENT ||
                            (rc == TENREG_EVALIDATOR && st->have_validator),
                            "recheck(%s): %s", fz_id(a->id), tenreg_err_name(rc));
        break;
    case FZ_RESOLVE:
    case FZ_RESOLVE_BY_HOST:
    case FZ_RESOLVE_NOWAIT: op_resolve(st, a); break;
    case FZ_RESOLVE_BY_ID: op_resolve_by_id(st, a); break;
    case FZ_HEALTH_OF: {
        tenreg_health h = (tenreg_health)99;
        rc = tenreg_health_of(st->reg, fz_id(a->id), &h);
        if (!valid_id(a->id))
            FUZZ_ASSERT_EQ(rc, TENREG_EINVAL);
        else
            FUZZ_ASSERT_MSG(rc == TENREG_ENOENT || (rc == TENREG_OK && is_health(h)),
                            "health_of(%s): %s, %d", fz_id(a->id), tenreg_err_name(rc), (int)h);
        break;
    }
    case FZ_FOREACH: {
        struct foreach_ctx c = {.stop_at = a->variant};
        rc = tenreg_foreach(st->reg, foreach_fn, &c);
        FUZZ_ASSERT_MSG(c.calls <= FZ_TENANTS, "foreach: %u calls", c.calls);
        if (c.stop_at && c.calls == c.stop_at)
            FUZZ_ASSERT_EQ(rc, 1000 + (int)c.stop_at);
        else
            FUZZ_ASSERT_EQ(rc, 0);
        break;
    }
    case FZ_SET_VERDICT:
        atomic_store(&st->verdict[a->id % FZ_IDS], fz_verdict_value(a->outcome));
        break;
    case FZ_ADD_HOST: op_add_host(st, a); break;
    case FZ_REMOVE_HOST: op_remove_host(st, a); break;
    case FZ_FOREACH_HOST: op_foreach_host(st, a); break;
    case FZ_FILL_HOSTS: op_fill_hosts(st, a); break;
    default: break;
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct state *st = w->st;
    tenreg_thread_register();
    pthread_barrier_wait(&st->start);
    for (unsigned i = w->index; i < st->nops; i += st->nthreads)
        run_op(st, &st->ops[i]);
    tenreg_thread_unregister();
    return NULL;
}

/* Registers pinned before the threads start: agent host, extra host and
 * pattern, HEALTHY (its validator always says valid). */
static void setup_pinned(struct state *st)
{
    st->pinned = fz_plat_new(&st->pool, FZ_PINNED, fz_hosts[22].group);
    note_attempt(st, FZ_PINNED, "pinned.example", ATTEMPT_REGISTER);
    note_attempt(st, FZ_PINNED, "alias.pinned.example", ATTEMPT_ADD);
    note_attempt(st, FZ_PINNED, "*.pinned.example", ATTEMPT_ADD);
    FUZZ_ASSERT_EQ(tenreg_register(st->reg, pinned_id, fz_hosts[22].text, st->pinned,
                                   TENREG_AWAIT_FIRST_VALIDATION), TENREG_OK);
    atomic_store(&st->pinned->owner, FZ_OWNER_REGISTRY);
    FUZZ_ASSERT_EQ(tenreg_add_host(st->reg, pinned_id, fz_hosts[23].text), TENREG_OK);
    FUZZ_ASSERT_EQ(tenreg_add_host(st->reg, pinned_id, "*.Pinned.Example."), TENREG_OK);
}

/* Quiescent (threads joined): the tenants' host lists are one consistent
 * state, and lookups agree with it. */
struct final_state {
    struct hosts_ctx lists[FZ_TENANTS];
    int known[FZ_TENANTS];
};

static int final_lookup(const struct final_state *fs, const char *key, const char **matched)
{
    *matched = NULL;
    for (int t = 0; t < FZ_TENANTS; t++)
        for (unsigned k = 0; fs->known[t] && k < fs->lists[t].calls; k++)
            if (strcmp(fs->lists[t].rules[k], key) == 0) {
                *matched = fs->lists[t].rules[k];
                return t;
            }
    int best = -1;
    size_t best_len = 0;
    for (int t = 0; t < FZ_TENANTS; t++)
        for (unsigned k = 0; fs->known[t] && k < fs->lists[t].calls; k++) {
            const char *rule = fs->lists[t].rules[k];
            if (fz_is_pattern(rule) && fz_pattern_matches(rule, key) && strlen(rule) > best_len) {
                best = t;
                best_len = strlen(rule);
                *matched = rule;
            }
        }
    return best;
}

static void final_check_lookup(struct state *st, const struct final_state *fs, const char *key)
{
    const char *want;
    int t = final_lookup(fs, key, &want);
    tenreg_resolution out;
    memset(&out, 0, sizeof(out));
    char text[TENREG_HOST_KEY_MAX + 8];
    fz_key_text(key, text, sizeof text);
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(st->reg, text, strlen(text), &out);
    if (t < 0) {
        FUZZ_ASSERT_MSG(rc == TENREG_ENOENT && out.matched == NULL,
                        "final lookup of \"%s\": %s by %.20s through %.80s, no tenant lists it",
                        key, tenreg_err_name(rc), out.tenant_id ? out.tenant_id : "-",
                        out.matched ? out.matched : "-");
    } else {
        FUZZ_ASSERT_MSG(rc == TENREG_OK || rc == TENREG_EPENDING || rc == TENREG_EDISABLED,
                        "final lookup of \"%s\": %s, %s lists \"%s\"", key,
                        tenreg_err_name(rc), tenant_name(t), want);
        FUZZ_ASSERT_MSG(out.tenant_id && strcmp(out.tenant_id, tenant_name(t)) == 0 &&
                        out.matched && strcmp(out.matched, want) == 0,
                        "final lookup of \"%s\": %.20s through \"%.80s\", lists say %s "
                        "through \"%s\"", key, out.tenant_id ? out.tenant_id : "(null)",
                        out.matched ? out.matched : "(null)", tenant_name(t), want);
        if (rc == TENREG_OK)
            FUZZ_ASSERT(((const struct fz_plat *)out.platform)->id == t);
    }
    tenreg_read_unlock();
}

static void final_check(struct state *st)
{
    struct final_state *fs = calloc(1, sizeof(*fs));
    FUZZ_ASSERT(fs != NULL);
    for (int t = 0; t < FZ_TENANTS; t++) {
        fs->lists[t].st = st;
        fs->lists[t].tenant = t;
        int rc = tenreg_foreach_host(st->reg, tenant_name(t), hosts_fn, &fs->lists[t]);
        FUZZ_ASSERT_MSG(rc == TENREG_OK || rc == TENREG_ENOENT, "final foreach_host(%s): %s",
                        tenant_name(t), tenreg_err_name(rc));
        fs->known[t] = rc == TENREG_OK;
        tenreg_health h;
        FUZZ_ASSERT_EQ(tenreg_health_of(st->reg, tenant_name(t), &h), rc);
        /* The agent URL's key comes first: the one the platform was made for. */
        tenreg_resolution out;
        memset(&out, 0, sizeof(out));
        tenreg_read_lock();
        if (fs->known[t] &&
            tenreg_resolve_by_id(st->reg, tenant_name(t), TENREG_NOWAIT, &out) == TENREG_OK) {
            const char *agent = fz_group_key(((const struct fz_plat *)out.platform)->group);
            FUZZ_ASSERT_MSG(strcmp(fs->lists[t].rules[0], agent) == 0,
                            "%s: first host \"%s\", its platform was made for \"%s\"",
                            tenant_name(t), fs->lists[t].rules[0], agent);
        }
        tenreg_read_unlock();
    }
    /* pinned is untouched. */
    FUZZ_ASSERT(fs->known[FZ_PINNED] && fs->lists[FZ_PINNED].calls == 3);
    FUZZ_ASSERT(strcmp(fs->lists[FZ_PINNED].rules[0], "pinned.example") == 0 &&
                strcmp(fs->lists[FZ_PINNED].rules[1], "alias.pinned.example") == 0 &&
                strcmp(fs->lists[FZ_PINNED].rules[2], "*.pinned.example") == 0);
    /* One owner per rule. */
    for (int t = 0; t < FZ_TENANTS; t++)
        for (int u = t + 1; u < FZ_TENANTS; u++)
            for (unsigned k = 0; fs->known[t] && k < fs->lists[t].calls; k++)
                for (unsigned l = 0; fs->known[u] && l < fs->lists[u].calls; l++)
                    FUZZ_ASSERT_MSG(fs->lists[t].ids[k] != fs->lists[u].ids[l],
                                    "\"%s\" held by both %s and %s", fs->lists[t].rules[k],
                                    tenant_name(t), tenant_name(u));
    /* Lookups: every key of the table, every listed key, a name under every
     * listed pattern. */
    for (size_t i = 0; i < FZ_HOSTS; i++)
        if (fz_hosts[i].key)
            final_check_lookup(st, fs, fz_hosts[i].key);
    for (int t = 0; t < FZ_TENANTS; t++)
        for (unsigned k = 0; fs->known[t] && k < fs->lists[t].calls; k++) {
            char probe[TENREG_HOST_KEY_MAX + 8];
            const char *rule = fs->lists[t].rules[k];
            snprintf(probe, sizeof probe, fz_is_pattern(rule) ? "zq%s" : "%s",
                     fz_is_pattern(rule) ? rule + 1 : rule);
            final_check_lookup(st, fs, probe);
        }
    free(fs);
}

static int count_fn(void *ctx, const char *tenant_id, tenreg_health h)
{
    (void)tenant_id;
    (void)h;
    (*(size_t *)ctx)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_producer p;
    fuzz_producer_init(&p, data, size);
    uint8_t cfg_byte = fuzz_u8_back(&p);

    struct state *st = calloc(1, sizeof(*st));
    FUZZ_ASSERT(st != NULL);
    st->pool.cap = 2 * MAX_OPS + 1;
    st->pool.plats = calloc(st->pool.cap, sizeof(struct fz_plat));
    st->fctxs = calloc(MAX_OPS, sizeof(struct fctx));
    FUZZ_ASSERT(st->pool.plats && st->fctxs);
    atomic_init(&st->pool.used, 0);
    atomic_init(&st->pool.frees, 0);
    atomic_init(&st->nfctx, 0);
    st->have_validator = !(cfg_byte & 1);
    st->nthreads = (cfg_byte & 2) ? 3 : 2;
    for (int i = 0; i < FZ_IDS; i++)
        atomic_init(&st->verdict[i], 1);
    while (st->nops < MAX_OPS && fuzz_producer_remaining(&p) > 0)
        fz_decode_op(&p, &st->ops[st->nops++]);

    tenreg_config cfg = {0};
    cfg.validator = st->have_validator ? validator : NULL;
    cfg.validator_ctx = st;
    cfg.platform_free = fz_plat_free;
    cfg.platform_free_ctx = &st->pool;
    cfg.hash_seed = 7;
    cfg.builder_threads = (cfg_byte & 4) ? 2 : 1;
    FUZZ_ASSERT_EQ(tenreg_new(&cfg, &st->reg), TENREG_OK);
    tenreg_thread_register();
    setup_pinned(st);

    FUZZ_ASSERT(pthread_barrier_init(&st->start, NULL, st->nthreads) == 0);
    pthread_t threads[MAX_THREADS];
    struct worker workers[MAX_THREADS];
    for (unsigned i = 0; i < st->nthreads; i++) {
        workers[i].st = st;
        workers[i].index = i;
        FUZZ_ASSERT(pthread_create(&threads[i], NULL, worker_main, &workers[i]) == 0);
    }
    for (unsigned i = 0; i < st->nthreads; i++)
        FUZZ_ASSERT(pthread_join(threads[i], NULL) == 0);
    pthread_barrier_destroy(&st->start);

    /* Quiescent: admin calls have returned, the count is exact. */
    size_t n = 0;
    FUZZ_ASSERT_EQ(tenreg_foreach(st->reg, count_fn, &n), 0);
    FUZZ_ASSERT_EQ(n, tenreg_count(st->reg));
    FUZZ_ASSERT(n <= FZ_TENANTS);
    final_check(st);
    tenreg_thread_unregister();

    tenreg_free(st->reg);
    fz_pool_check_final(&st->pool);
    free(st->fctxs);
    free(st->pool.plats);
    free(st);
    return 0;
}
