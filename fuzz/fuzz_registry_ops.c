/*
 * fuzz_registry_ops.c - API sequences against a reference model.
 *
 * The input is decoded into up to MAX_OPS operations (fuzz_registry_common.h)
 * on a real registry (one builder thread, fixed hash seed) and on a
 * single-threaded model of docs/design.md §2/§3 and §8.1 written here.
 * After every operation the return code, the health, the tenant id, the
 * platform identity and the host key or pattern that matched must match
 * the model, and so must the validator and factory call counts. The model
 * keeps each tenant's hosts as an ordered list of canonical strings (the
 * agent URL's key first, then extra keys and "*.NAME" patterns in the order
 * they were added): a lookup is an exact key of any tenant, else the
 * longest pattern whose "." NAME ends the key (never an IPv6 key); a
 * registration of the id keeps only its agent URL's key, unregister drops
 * all. After every operation that may change an answer, a lookup of every
 * host key is checked against it; after those that change hosts also each
 * tenant's tenreg_foreach_host() list and a lookup of every key and of a
 * name under every pattern a tenant holds; at the end every fz_hosts
 * spelling too. Resolves block (no TENREG_NOWAIT on lazy tenants that are
 * not built), so every build is finished when the call returns and the
 * sequence is deterministic. At the end tenreg_free must have released
 * every platform the registry owned exactly once, and none of the caller's.
 *
 * A batch op (§8.5) records up to BATCH_MAX ops (register, register_lazy,
 * add_host, unregister, keep; bad arguments refused at once) and commits
 * them, REPLACE_ALL or not; the model runs them in order on a copy of
 * itself and predicts the commit's answer (the first ENOENT or duplicate
 * id in op order, else EEXIST for a host or pattern held twice in the
 * result, ENOSPC past TENREG_HOSTS_MAX; either when both), and on success
 * becomes the copy. Platforms of a failed commit stay the caller's; of a
 * successful one the registry's (freed once, also those registered and
 * unregistered within the batch).
 *
 * Configuration comes from the last bytes: validator on/off, hash seed,
 * expected_tenants.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_registry_common.h"

#define MAX_OPS 96
/* A batch op records up to this many ops. */
#define BATCH_MAX 8

/* One lazy registration's factory: the input chose its outcome. */
struct fctx {
    struct state *st;
    int id, group;
    enum fz_outcome outcome;
    _Atomic int calls;
    struct fz_plat *made; /* what it returned, if it succeeded */
    int model_built;      /* the model ran this registration's build */
};

/* The model of one tenant id. */
struct mtenant {
    int exists;
    int group;              /* host group of the agent URL */
    /* Canonical host keys and patterns, interned (intern_rule: one pointer
     * per rule, compared with ==), hosts[0] the agent URL's key, the others
     * in the order they were added. */
    const char *hosts[TENREG_HOSTS_MAX];
    unsigned nhosts;
    struct fz_plat *platform; /* eager platform, or the built one */
    struct fctx *factory;   /* lazy and not built yet (NULL: eager or dropped) */
    int build_failed;       /* a lazy build failed: EDISABLED until re-registered */
    tenreg_health health;
};

struct state {
    tenreg_t *reg;
    struct fz_pool pool;
    struct fctx *fctxs;
    unsigned nfctx;
    int have_validator;
    int verdict[FZ_IDS];
    /* URL of the registration the validator is about to see, per id. */
    const char *cur_url[FZ_IDS];
    _Atomic int validator_calls;
    int expect_validator_calls;
    struct mtenant m[FZ_IDS];
    /* The main thread runs the factory only for an awaited register_lazy. */
    pthread_t main_thread;
    int awaiting;
};

static _Thread_local int in_read_section;

static int validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    struct state *st = ctx;
    FUZZ_ASSERT_MSG(!in_read_section, "validator called inside a read section");
    int i = fz_id_index(tenant_id);
    FUZZ_ASSERT_MSG(i >= 0, "validator for unknown tenant \"%.20s\"", tenant_id);
    FUZZ_ASSERT_MSG(st->cur_url[i] && strcmp(agent_url, st->cur_url[i]) == 0,
                    "validator of %s saw URL \"%s\", registered \"%s\"", tenant_id, agent_url,
                    st->cur_url[i] ? st->cur_url[i] : "(none)");
    atomic_fetch_add(&st->validator_calls, 1);
    return st->verdict[i];
}

static int factory(void *ctx, const char *tenant_id, void **platform)
{
    struct fctx *f = ctx;
    FUZZ_ASSERT_MSG(!in_read_section, "factory called inside a read section");
    FUZZ_ASSERT_MSG(strcmp(tenant_id, fz_id((unsigned)f->id)) == 0,
                    "factory of %s called for %s", fz_id((unsigned)f->id), tenant_id);
    if (pthread_equal(pthread_self(), f->st->main_thread))
        FUZZ_ASSERT_MSG(f->st->awaiting, "lazy build ran in the resolving thread");
    int n = atomic_fetch_add(&f->calls, 1) + 1;
    FUZZ_ASSERT_MSG(n == 1, "factory of %s called %d times for one registration", tenant_id, n);
    switch (f->outcome) {
    case FZ_FACTORY_OK:
        f->made = fz_plat_new(&f->st->pool, f->id, f->group);
        atomic_store(&f->made->owner, FZ_OWNER_REGISTRY);
        *platform = f->made;
        return 0;
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

/* ---- the model ---------------------------------------------------------- */

static int verdict_of(const struct state *st, int id)
{
    if (!st->have_validator)
        return 1;
    return st->verdict[id] > 0 ? 1 : st->verdict[id];
}

static void count_validation(struct state *st)
{
    if (st->have_validator)
        st->expect_validator_calls++;
}

static tenreg_health after_check(tenreg_health from, int verdict)
{
    if (verdict > 0)
        return TENREG_HEALTHY;
    return from == TENREG_HEALTHY ? TENREG_UNVERIFIED : TENREG_DISABLED;
}

/* The registration goes away: its platform will be freed, its factory is
 * never called any more. */
static void model_retire(struct mtenant *t)
{
    t->exists = 0;
    t->platform = NULL;
    t->factory = NULL;
    t->nhosts = 0;
}

/* A lazy build of @id (the factory already ran in the real registry):
 * returns the code the call that ran it answers. */
static int model_build(struct state *st, int id)
{
    struct mtenant *t = &st->m[id];
    struct fctx *f = t->factory;
    t->factory = NULL;
    f->model_built = 1;
    FUZZ_ASSERT_MSG(atomic_load(&f->calls) == 1, "build of %s: factory called %d times",
                    fz_id((unsigned)id), atomic_load(&f->calls));
    if (f->outcome != FZ_FACTORY_OK) {
        t->health = TENREG_DISABLED;
        t->build_failed = 1;
        return TENREG_EFACTORY;
    }
    count_validation(st);
    FUZZ_ASSERT_MSG(f->made != NULL, "factory of %s expected to have run", fz_id((unsigned)id));
    if (verdict_of(st, id) > 0) {
        t->health = TENREG_HEALTHY;
        t->platform = f->made;
        return TENREG_OK;
    }
    /* Built but invalid: discarded (freed), DISABLED, never retried. */
    t->health = TENREG_DISABLED;
    t->build_failed = 1;
    return TENREG_EVALIDATOR;
}

/* The one pointer of a rule's text (NULL: no input can produce it, so no
 * tenant holds it). */
static const char *intern_rule(const char *rule)
{
    int id = fz_rule_id(rule);
    return id < 0 ? NULL : fz_rule_text(id);
}

/* Index of interned @rule in @t's hosts, or -1. */
static int model_holds(const struct mtenant *t, const char *rule)
{
    if (!t->exists || rule == NULL)
        return -1;
    for (unsigned k = 0; k < t->nhosts; k++)
        if (t->hosts[k] == rule)
            return (int)k;
    return -1;
}

/* The tenant that holds interned host key or pattern @rule, or -1. */
static int model_holder(const struct state *st, const char *rule)
{
    for (int i = 0; i < FZ_IDS; i++)
        if (model_holds(&st->m[i], rule) >= 0)
            return i;
    return -1;
}

/* The interned rule of each fz_hosts group's key, looked up once (the
 * model's lookups are the hot part of this target). */
static const char *group_rule(int group)
{
    static const char *rules[FZ_GROUPS];
    if (!rules[group])
        rules[group] = intern_rule(fz_group_key(group));
    return rules[group];
}

/* Who answers host key @key (§8.1): the tenant holding it exactly, else the
 * one with the longest matching pattern; -1 for none. *matched: the rule.
 * @rule_of_key: the interned rule of @key, NULL when @key is no rule (a
 * name made up under a pattern). */
static int model_lookup(const struct state *st, const char *key, const char *rule_of_key,
                        const char **matched)
{
    *matched = NULL;
    int exact = model_holder(st, rule_of_key);
    if (exact >= 0) {
        *matched = rule_of_key;
        return exact;
    }
    int best = -1;
    size_t best_len = 0;
    for (int i = 0; i < FZ_IDS; i++) {
        const struct mtenant *t = &st->m[i];
        for (unsigned k = 0; t->exists && k < t->nhosts; k++) {
            const char *rule = t->hosts[k];
            if (fz_is_pattern(rule) && strlen(rule) > best_len && fz_pattern_matches(rule, key)) {
                best = i;
                best_len = strlen(rule);
                *matched = rule;
            }
        }
    }
    return best;
}

/* Expected answer of a resolve of tenant @id; @build: may build. */
static int model_resolve_tenant(struct state *st, int id, int build)
{
    struct mtenant *t = &st->m[id];
    if (t->platform)
        return TENREG_OK;
    if (t->build_failed)
        return TENREG_EDISABLED;
    FUZZ_ASSERT(t->factory != NULL);
    return build ? model_build(st, id) : TENREG_EPENDING;
}

static size_t model_count(const struct state *st)
{
    size_t n = 0;
    for (int i = 0; i < FZ_IDS; i++)
        n += (size_t)st->m[i].exists;
    return n;
}

/* ---- checks ------------------------------------------------------------- */

/* @matched: the rule the model says decides (NULL for by-id lookups);
 * @what, @detail: the call, for messages (@detail: "" or the host). */
static void check_resolution(const struct state *st, int rc, int expect, int id,
                             const char *matched, const tenreg_resolution *out,
                             const char *what, const char *detail)
{
    FUZZ_ASSERT_MSG(rc == expect, "%s%s: rc %s, model %s", what, detail, tenreg_err_name(rc),
                    tenreg_err_name(expect));
    if (rc == TENREG_ENOENT || rc == TENREG_EINVAL) {
        FUZZ_ASSERT_MSG(out->matched == NULL, "%s%s: %s with matched %p", what, detail,
                        tenreg_err_name(rc), (const void *)out->matched);
        return;
    }
    if (matched)
        FUZZ_ASSERT_MSG(out->matched && strcmp(out->matched, matched) == 0,
                        "%s%s: matched \"%.80s\", model \"%s\"", what, detail,
                        out->matched ? out->matched : "(null)", matched);
    else
        FUZZ_ASSERT_MSG(out->matched == NULL, "%s%s: matched %p, model NULL", what, detail,
                        (const void *)out->matched);
    const struct mtenant *t = &st->m[id];
    FUZZ_ASSERT_MSG(out->tenant_id && strcmp(out->tenant_id, fz_id((unsigned)id)) == 0,
                    "%s%s: tenant_id \"%.20s\", model %s", what, detail,
                    out->tenant_id ? out->tenant_id : "(null)", fz_id((unsigned)id));
    FUZZ_ASSERT_MSG(out->health == t->health, "%s%s: health %s, model %s", what, detail,
                    tenreg_health_name(out->health), tenreg_health_name(t->health));
    if (rc == TENREG_OK) {
        FUZZ_ASSERT_MSG(out->platform == t->platform, "%s%s: platform %p, model %p", what,
                        detail, out->platform, (void *)t->platform);
        const struct fz_plat *p = out->platform;
        FUZZ_ASSERT(p->magic == FZ_PLAT_MAGIC && p->id == id && p->group == t->group);
        FUZZ_ASSERT_MSG(atomic_load(&p->frees) == 0, "%s%s: resolved a freed platform", what,
                        detail);
    } else {
        FUZZ_ASSERT_MSG(out->platform == NULL, "%s%s: %s with platform %p", what, detail,
                        tenreg_err_name(rc), out->platform);
    }
}

/* ---- host lists and lookups against the model --------------------------- */

/* Removes @t's last extra host through the API, as the model says it must
 * succeed (used from inside a foreach_host callback). */
static void remove_last_extra(struct state *st, int id)
{
    struct mtenant *t = &st->m[id];
    if (t->nhosts < 2)
        return;
    const char *rule = t->hosts[t->nhosts - 1];
    char text[TENREG_HOST_KEY_MAX + 3];
    int rc = tenreg_remove_host(st->reg, fz_id((unsigned)id),
                                fz_is_pattern(rule) ? rule : fz_key_text(rule, text, sizeof text));
    FUZZ_ASSERT_MSG(rc == TENREG_OK, "remove_host(%s, \"%s\") inside foreach_host: %s",
                    fz_id((unsigned)id), rule, tenreg_err_name(rc));
    t->nhosts--;
}

struct list_ctx {
    struct state *st;
    const char *want[TENREG_HOSTS_MAX]; /* the model's list when the call began */
    unsigned n, calls;
    unsigned stop_at; /* 0: never stop */
    int mutate_id;    /* >= 0: remove that tenant's last extra host at the first call */
};

static int list_fn(void *ctx, const char *host_or_pattern)
{
    struct list_ctx *c = ctx;
    FUZZ_ASSERT_MSG(!in_read_section, "foreach_host callback inside a read section");
    FUZZ_ASSERT_MSG(host_or_pattern != NULL, "foreach_host: NULL host");
    FUZZ_ASSERT_MSG(c->calls < c->n, "foreach_host: call %u, model has %u hosts (\"%.80s\")",
                    c->calls + 1, c->n, host_or_pattern);
    FUZZ_ASSERT_MSG(strcmp(host_or_pattern, c->want[c->calls]) == 0,
                    "foreach_host: host %u is \"%.80s\", model \"%s\"", c->calls,
                    host_or_pattern, c->want[c->calls]);
    c->calls++;
    if (c->mutate_id >= 0 && c->calls == 1)
        remove_last_extra(c->st, c->mutate_id);
    return c->stop_at && c->calls == c->stop_at ? 2000 + (int)c->stop_at : 0;
}

static void list_ctx_init(struct list_ctx *c, struct state *st, int id)
{
    memset(c, 0, sizeof(*c));
    c->st = st;
    c->mutate_id = -1;
    const struct mtenant *t = &st->m[id];
    if (!t->exists)
        return;
    c->n = t->nhosts;
    memcpy(c->want, t->hosts, t->nhosts * sizeof(t->hosts[0]));
}

/* Every tenant's foreach_host list, in order. */
static void check_host_lists(struct state *st)
{
    for (int i = 0; i < FZ_IDS; i++) {
        struct list_ctx c;
        list_ctx_init(&c, st, i);
        int rc = tenreg_foreach_host(st->reg, fz_id((unsigned)i), list_fn, &c);
        FUZZ_ASSERT_MSG(rc == (st->m[i].exists ? TENREG_OK : TENREG_ENOENT),
                        "foreach_host(%s): %s", fz_id((unsigned)i), tenreg_err_name(rc));
        FUZZ_ASSERT_MSG(c.calls == c.n, "foreach_host(%s): %u hosts, model %u",
                        fz_id((unsigned)i), c.calls, c.n);
    }
}

/* resolve_by_host of @text (host key @key, NULL: does not normalize; @rule:
 * its interned rule, NULL: none). */
static void check_lookup(struct state *st, const char *text, const char *key, const char *rule)
{
    const char *matched = NULL;
    int id = key ? model_lookup(st, key, rule, &matched) : -1;
    int expect = !key ? TENREG_EINVAL : id < 0 ? TENREG_ENOENT : model_resolve_tenant(st, id, 0);
    tenreg_resolution out;
    memset(&out, 0xEE, sizeof(out));
    tenreg_read_lock();
    in_read_section = 1;
    int rc = tenreg_resolve_by_host(st->reg, text, strlen(text), &out);
    in_read_section = 0;
    check_resolution(st, rc, expect, id, matched, &out, "lookup of ", text);
    tenreg_read_unlock();
}

/* @all: every entry; else one spelling per host key (the resolve
 * operations try every spelling, and the others cannot change). */
static void check_table_lookups(struct state *st, int all)
{
    int seen[FZ_GROUPS] = {0};
    for (size_t i = 0; i < FZ_HOSTS; i++) {
        int g = fz_hosts[i].group;
        if (!all && (g < 0 || seen[g]))
            continue;
        if (g >= 0)
            seen[g] = 1;
        check_lookup(st, fz_hosts[i].text, fz_hosts[i].key, g >= 0 ? group_rule(g) : NULL);
    }
}

/* Every key a tenant holds, and a name one label under every pattern. */
static void check_held_lookups(struct state *st)
{
    for (int i = 0; i < FZ_IDS; i++) {
        const struct mtenant *t = &st->m[i];
        for (unsigned k = 0; t->exists && k < t->nhosts; k++) {
            char probe[TENREG_HOST_KEY_MAX + 8], text[TENREG_HOST_KEY_MAX + 8];
            if (fz_is_pattern(t->hosts[k]))
                snprintf(probe, sizeof probe, "zq%s", t->hosts[k] + 1);
            else
                snprintf(probe, sizeof probe, "%s", t->hosts[k]);
            check_lookup(st, fz_key_text(probe, text, sizeof text), probe,
                         fz_is_pattern(t->hosts[k]) ? NULL : t->hosts[k]);
        }
    }
}

/* Always: a lookup of every host key (one spelling each; keys under
 * patterns included), whose answers builds and rechecks change too. @full
 * (after operations that change hosts): also every tenant's host list and
 * a lookup of every key and of a name under every pattern a tenant holds.
 * @final: every fz_hosts spelling too. */
static void check_invariants(struct state *st, int full, int final)
{
    FUZZ_ASSERT_EQ(tenreg_count(st->reg), model_count(st));
    FUZZ_ASSERT_EQ(atomic_load(&st->validator_calls), st->expect_validator_calls);
    for (int i = 0; i < FZ_IDS; i++) {
        const struct mtenant *t = &st->m[i];
        tenreg_health h = (tenreg_health)99;
        int rc = tenreg_health_of(st->reg, fz_id((unsigned)i), &h);
        FUZZ_ASSERT_MSG(rc == (t->exists ? TENREG_OK : TENREG_ENOENT), "health_of(%s): %s",
                        fz_id((unsigned)i), tenreg_err_name(rc));
        if (t->exists)
            FUZZ_ASSERT_MSG(h == t->health, "health_of(%s): %s, model %s", fz_id((unsigned)i),
                            tenreg_health_name(h), tenreg_health_name(t->health));
        if (t->platform)
            FUZZ_ASSERT_MSG(atomic_load(&t->platform->frees) == 0,
                            "live platform of %s already freed", fz_id((unsigned)i));
    }
    /* A factory runs exactly when the model builds: never for a
     * registration replaced or removed before its first resolve. */
    for (unsigned i = 0; i < st->nfctx; i++)
        FUZZ_ASSERT_MSG(atomic_load(&st->fctxs[i].calls) == st->fctxs[i].model_built,
                        "factory %u: %d calls, model %d", i, atomic_load(&st->fctxs[i].calls),
                        st->fctxs[i].model_built);
    check_table_lookups(st, final);
    if (full) {
        check_host_lists(st);
        check_held_lookups(st);
    }
}

/* ---- operations --------------------------------------------------------- */

static int valid_id(unsigned id)
{
    return id < FZ_IDS;
}

static void op_register(struct state *st, const struct fz_op_args *a, int lazy)
{
    const char *id = fz_id(a->id);
    const struct fz_host *h = &fz_hosts[a->host];
    int bad_arg = 0;
    unsigned flags = 0;
    struct fz_plat *plat = NULL;
    struct fctx *f = NULL;

    switch (a->variant) {
    case 0: flags = 0; break;
    case 1: flags = TENREG_AWAIT_FIRST_VALIDATION; break;
    case 2: flags = lazy ? 4u : TENREG_NOWAIT; bad_arg = 1; break; /* not a register flag */
    default: bad_arg = 1; break;                                      /* NULL platform/factory */
    }
    int group = h->group;
    if (!lazy && a->variant != 3)
        plat = fz_plat_new(&st->pool, (int)a->id, group);
    if (lazy && a->variant != 3) {
        f = &st->fctxs[st->nfctx++];
        f->st = st;
        f->id = (int)a->id;
        f->group = group;
        f->outcome = (enum fz_outcome)a->outcome;
        atomic_init(&f->calls, 0);
        f->made = NULL;
    }

    /* The model's answer. */
    int expect;
    int holder = group >= 0 ? model_holder(st, intern_rule(h->key)) : -1;
    if (bad_arg || !valid_id(a->id) || group < 0)
        expect = TENREG_EINVAL;
    else if (holder >= 0 && holder != (int)a->id)
        expect = TENREG_EEXIST;
    else
        expect = TENREG_OK;

    const char *saved_url = NULL;
    if (valid_id(a->id)) {
        saved_url = st->cur_url[a->id];
        if (expect == TENREG_OK)
            st->cur_url[a->id] = h->text;
    }
    st->awaiting = (flags & TENREG_AWAIT_FIRST_VALIDATION) != 0;
    int rc = lazy ? tenreg_register_lazy(st->reg, id, h->text, f ? factory : NULL, f, flags)
                  : tenreg_register(st->reg, id, h->text, plat, flags);
    st->awaiting = 0;
    FUZZ_ASSERT_MSG(rc == expect, "register%s(%.20s, \"%s\", variant %u): rc %s, model %s",
                    lazy ? "_lazy" : "", id, h->text, a->variant, tenreg_err_name(rc),
                    tenreg_err_name(expect));
    if (plat)
        atomic_store(&plat->owner, rc == TENREG_OK ? FZ_OWNER_REGISTRY : FZ_OWNER_CALLER);
    if (rc != TENREG_OK) {
        if (valid_id(a->id))
            st->cur_url[a->id] = saved_url;
        return;
    }

    struct mtenant *t = &st->m[a->id];
    model_retire(t);
    t->exists = 1;
    t->group = group;
    t->hosts[0] = intern_rule(h->key); /* a new registration: its agent URL's key only */
    t->nhosts = 1;
    t->platform = plat;
    t->factory = f;
    t->build_failed = 0;
    t->health = TENREG_PENDING;
    if (flags & TENREG_AWAIT_FIRST_VALIDATION) {
        if (lazy) {
            (void)model_build(st, (int)a->id);
        } else {
            count_validation(st);
            t->health = after_check(TENREG_PENDING, verdict_of(st, (int)a->id));
        }
    }
}

static void op_unregister(struct state *st, const struct fz_op_args *a)
{
    int rc = tenreg_unregister(st->reg, fz_id(a->id));
    int expect = !valid_id(a->id) ? TENREG_EINVAL
                 : st->m[a->id].exists ? TENREG_OK : TENREG_ENOENT;
    FUZZ_ASSERT_MSG(rc == expect, "unregister(%.20s): rc %s, model %s", fz_id(a->id),
                    tenreg_err_name(rc), tenreg_err_name(expect));
    if (rc == TENREG_OK)
        model_retire(&st->m[a->id]);
}

static void op_recheck(struct state *st, const struct fz_op_args *a)
{
    int rc = tenreg_recheck(st->reg, fz_id(a->id));
    int expect;
    if (!valid_id(a->id)) {
        expect = TENREG_EINVAL;
    } else if (!st->m[a->id].exists) {
        expect = TENREG_ENOENT;
    } else {
        struct mtenant *t = &st->m[a->id];
        int v = verdict_of(st, (int)a->id);
        count_validation(st);
        t->health = after_check(t->health, v);
        expect = v > 0 ? TENREG_OK : TENREG_EVALIDATOR;
    }
    FUZZ_ASSERT_MSG(rc == expect, "recheck(%.20s): rc %s, model %s", fz_id(a->id),
                    tenreg_err_name(rc), tenreg_err_name(expect));
}

/* resolve / resolve_by_host / NOWAIT resolve of a host. */
static void op_resolve_host(struct state *st, const struct fz_op_args *a, enum fz_op op)
{
    const struct fz_host *h = &fz_hosts[a->host];
    size_t len = strlen(h->text);
    unsigned flags = 0;
    int bad_flags = 0;
    if (op == FZ_RESOLVE && a->variant == 3) {
        flags = TENREG_AWAIT_FIRST_VALIDATION; /* not a resolve flag */
        bad_flags = 1;
    }
    const char *matched = NULL;
    int id = h->group >= 0 ? model_lookup(st, h->key, group_rule(h->group), &matched) : -1;
    if (op == FZ_RESOLVE_NOWAIT) {
        /* Only where the answer does not depend on a builder's timing. */
        if (id >= 0 && !st->m[id].platform && !st->m[id].build_failed)
            return;
        flags = TENREG_NOWAIT;
    }

    /* Exact-size copy: the host is not NUL-terminated. */
    char *copy = malloc(len ? len : 1);
    FUZZ_ASSERT(copy != NULL);
    memcpy(copy, h->text, len);
    tenreg_resolution out;
    memset(&out, 0xEE, sizeof(out));

    tenreg_read_lock();
    in_read_section = 1;
    int rc = op == FZ_RESOLVE_BY_HOST ? tenreg_resolve_by_host(st->reg, copy, len, &out)
                                      : tenreg_resolve(st->reg, copy, len, flags, &out);
    in_read_section = 0;

    int expect;
    if (bad_flags || h->group < 0)
        expect = TENREG_EINVAL;
    else if (id < 0)
        expect = TENREG_ENOENT;
    else
        expect = model_resolve_tenant(st, id, op == FZ_RESOLVE);
    check_resolution(st, rc, expect, id, matched, &out,
                     op == FZ_RESOLVE ? "resolve " : op == FZ_RESOLVE_BY_HOST ? "resolve_by_host "
                                                                              : "resolve NOWAIT ",
                     h->text);
    tenreg_read_unlock();
    free(copy);
}

static void op_resolve_by_id(struct state *st, const struct fz_op_args *a)
{
    unsigned flags = a->variant == 3 ? TENREG_AWAIT_FIRST_VALIDATION : 0;
    tenreg_resolution out;
    memset(&out, 0xEE, sizeof(out));
    tenreg_read_lock();
    in_read_section = 1;
    int rc = tenreg_resolve_by_id(st->reg, fz_id(a->id), flags, &out);
    in_read_section = 0;
    int expect;
    if (flags || !valid_id(a->id))
        expect = TENREG_EINVAL;
    else if (!st->m[a->id].exists)
        expect = TENREG_ENOENT;
    else
        expect = model_resolve_tenant(st, (int)a->id, 1);
    check_resolution(st, rc, expect, (int)a->id, NULL, &out, "resolve_by_id ", fz_id(a->id));
    tenreg_read_unlock();
}

static void op_health_of(struct state *st, const struct fz_op_args *a)
{
    tenreg_health h = (tenreg_health)99;
    int rc = tenreg_health_of(st->reg, fz_id(a->id), &h);
    int expect = !valid_id(a->id) ? TENREG_EINVAL
                 : st->m[a->id].exists ? TENREG_OK : TENREG_ENOENT;
    FUZZ_ASSERT_MSG(rc == expect, "health_of(%.20s): rc %s, model %s", fz_id(a->id),
                    tenreg_err_name(rc), tenreg_err_name(expect));
    if (rc == TENREG_OK)
        FUZZ_ASSERT_EQ(h, st->m[a->id].health);
    FUZZ_ASSERT_EQ(tenreg_health_of(st->reg, fz_id(0), NULL), TENREG_EINVAL);
}

struct foreach_ctx {
    struct state *st;
    unsigned stop_at; /* 0: never stop */
    unsigned calls;
    unsigned seen;    /* bit per tenant */
};

static int foreach_fn(void *ctx, const char *tenant_id, tenreg_health h)
{
    struct foreach_ctx *c = ctx;
    FUZZ_ASSERT_MSG(!in_read_section, "foreach callback inside a read section");
    int i = fz_id_index(tenant_id);
    FUZZ_ASSERT_MSG(i >= 0, "foreach: unknown tenant \"%.20s\"", tenant_id);
    FUZZ_ASSERT_MSG(c->st->m[i].exists, "foreach: %s is not registered", tenant_id);
    FUZZ_ASSERT_MSG(!(c->seen & (1u << i)), "foreach: %s twice", tenant_id);
    FUZZ_ASSERT_MSG(h == c->st->m[i].health, "foreach: %s is %s, model %s", tenant_id,
                    tenreg_health_name(h), tenreg_health_name(c->st->m[i].health));
    c->seen |= 1u << i;
    c->calls++;
    return c->calls == c->stop_at ? 1000 + (int)c->stop_at : 0;
}

static void op_foreach(struct state *st, const struct fz_op_args *a)
{
    struct foreach_ctx c = {.st = st, .stop_at = a->variant};
    int rc = tenreg_foreach(st->reg, foreach_fn, &c);
    size_t n = model_count(st);
    if (c.stop_at && c.stop_at <= n) {
        FUZZ_ASSERT_EQ(rc, 1000 + (int)c.stop_at);
        FUZZ_ASSERT_EQ(c.calls, c.stop_at);
    } else {
        FUZZ_ASSERT_EQ(rc, 0);
        FUZZ_ASSERT_EQ(c.calls, n);
    }
    FUZZ_ASSERT_EQ(tenreg_foreach(st->reg, NULL, NULL), TENREG_EINVAL);
}

/* ---- hosts and patterns (§8.1) ------------------------------------------ */

/* The model's answer to add_host(@id, a host whose canonical form is
 * @canonical; NULL: does not normalize / not a pattern); @bad: a NULL or
 * invalid argument. *alt: a second answer the contract allows (when the
 * tenant is full and another tenant holds the host, either check may come
 * first), else the same. */
static int model_add(const struct state *st, int bad, unsigned id, const char *canonical,
                     int *alt)
{
    int expect;
    canonical = canonical ? intern_rule(canonical) : NULL;
    if (bad || !valid_id(id) || canonical == NULL) {
        expect = TENREG_EINVAL;
    } else if (!st->m[id].exists) {
        expect = TENREG_ENOENT;
    } else if (model_holds(&st->m[id], canonical) >= 0) {
        expect = TENREG_OK; /* idempotent, even when full */
    } else {
        int full = st->m[id].nhosts >= TENREG_HOSTS_MAX;
        int holder = model_holder(st, canonical);
        if (holder >= 0) {
            *alt = full ? TENREG_ENOSPC : TENREG_EEXIST;
            return TENREG_EEXIST;
        }
        expect = full ? TENREG_ENOSPC : TENREG_OK;
    }
    *alt = expect;
    return expect;
}

static void model_apply_add(struct state *st, unsigned id, const char *canonical)
{
    struct mtenant *t = &st->m[id];
    canonical = intern_rule(canonical);
    if (model_holds(t, canonical) < 0) {
        FUZZ_ASSERT(t->nhosts < TENREG_HOSTS_MAX);
        t->hosts[t->nhosts++] = canonical;
    }
}

/* add_host of one host argument; returns the rc. */
static int do_add_host(struct state *st, unsigned id, int null_id, const char *host,
                       const char *canonical)
{
    int alt;
    int expect = model_add(st, null_id || host == NULL, id, canonical, &alt);
    int rc = tenreg_add_host(st->reg, null_id ? NULL : fz_id(id), host);
    FUZZ_ASSERT_MSG(rc == expect || rc == alt, "add_host(%.20s, \"%s\"): rc %s, model %s",
                    null_id ? "(null)" : fz_id(id), host ? host : "(null)",
                    tenreg_err_name(rc), tenreg_err_name(expect));
    if (rc == TENREG_OK)
        model_apply_add(st, id, canonical);
    return rc;
}

static void op_add_host(struct state *st, const struct fz_op_args *a)
{
    char buf[FZ_GEN_CAP];
    const char *canonical;
    int null_id;
    const char *host = fz_host_arg(a, buf, sizeof buf, &canonical, &null_id);
    (void)do_add_host(st, a->id, null_id, host, canonical);
}

static void op_remove_host(struct state *st, const struct fz_op_args *a)
{
    char buf[FZ_GEN_CAP];
    const char *canonical;
    int null_id;
    const char *host = fz_host_arg(a, buf, sizeof buf, &canonical, &null_id);
    int expect, at = -1;
    if (null_id || host == NULL || !valid_id(a->id) || canonical == NULL) {
        expect = TENREG_EINVAL;
    } else if (!st->m[a->id].exists) {
        expect = TENREG_ENOENT;
    } else if (st->m[a->id].hosts[0] == intern_rule(canonical)) {
        expect = TENREG_EINVAL; /* the agent URL's own host: re-register to move it */
    } else {
        at = model_holds(&st->m[a->id], intern_rule(canonical));
        expect = at < 0 ? TENREG_ENOENT : TENREG_OK;
    }
    int rc = tenreg_remove_host(st->reg, null_id ? NULL : fz_id(a->id), host);
    FUZZ_ASSERT_MSG(rc == expect, "remove_host(%.20s, \"%s\"): rc %s, model %s",
                    null_id ? "(null)" : fz_id(a->id), host ? host : "(null)",
                    tenreg_err_name(rc), tenreg_err_name(expect));
    if (rc == TENREG_OK) {
        struct mtenant *t = &st->m[a->id];
        memmove(&t->hosts[at], &t->hosts[at + 1],
                (t->nhosts - (unsigned)at - 1) * sizeof(t->hosts[0]));
        t->nhosts--;
    }
}

/* Adds generated hosts from raw on until all FZ_GEN_HOSTS were tried, so a
 * tenant reaches TENREG_HOSTS_MAX (ENOSPC) and a second tenant collides. */
static void op_fill_hosts(struct state *st, const struct fz_op_args *a)
{
    char buf[FZ_GEN_CAP];
    unsigned tries = valid_id(a->id) && st->m[a->id].exists ? FZ_GEN_HOSTS : 1;
    for (unsigned k = 0; k < tries; k++) {
        unsigned j = (a->raw + k) % FZ_GEN_HOSTS;
        const char *host = fz_gen_text(j, a->variant, buf, sizeof buf);
        (void)do_add_host(st, a->id, 0, host, fz_gen_key(j));
    }
}

/* foreach_host with an early stop (variant), a NULL callback (outcome 3),
 * or a callback that removes a host mid-way (outcome 2: the snapshot is
 * still what is listed). */
static void op_foreach_host(struct state *st, const struct fz_op_args *a)
{
    struct list_ctx c;
    int known = valid_id(a->id) && st->m[a->id].exists;
    if (known)
        list_ctx_init(&c, st, (int)a->id);
    else
        memset(&c, 0, sizeof(c));
    c.st = st;
    c.mutate_id = known && a->outcome == 2 ? (int)a->id : -1;
    c.stop_at = a->variant;
    int null_fn = a->outcome == 3;
    int rc = tenreg_foreach_host(st->reg, fz_id(a->id), null_fn ? NULL : list_fn, &c);
    int expect = null_fn || !valid_id(a->id) ? TENREG_EINVAL : !known ? TENREG_ENOENT : 0;
    if (expect == 0 && c.stop_at && c.stop_at <= c.n) {
        FUZZ_ASSERT_EQ(rc, 2000 + (int)c.stop_at);
        FUZZ_ASSERT_EQ(c.calls, c.stop_at);
    } else {
        FUZZ_ASSERT_MSG(rc == expect, "foreach_host(%.20s): rc %s, model %s", fz_id(a->id),
                        tenreg_err_name(rc), tenreg_err_name(expect));
        FUZZ_ASSERT_EQ(c.calls, expect == 0 ? c.n : 0);
    }
}

/* ---- batches (§8.5) ------------------------------------------------------ */

enum { B_ABSENT, B_CURRENT, B_KEPT, B_NEW, B_GONE };

struct batch_model {
    struct mtenant m[FZ_IDS];   /* the result so far */
    int state[FZ_IDS];
    int named[FZ_IDS];
    int overflow[FZ_IDS];       /* adds that found the registration full, */
    const char *over[FZ_IDS][BATCH_MAX]; /* and their rules (a collision too?) */
    const char *url[FZ_IDS];    /* NEW: the agent URL text */
    int first_err;              /* ENOENT or EEXIST of the first failing op, else 0 */
};

static void bm_op(struct batch_model *bm, int kind, unsigned id, const struct fz_host *url,
                  struct fz_plat *plat, struct fctx *f, const char *rule)
{
    int *s = &bm->state[id];
    struct mtenant *t = &bm->m[id];
    int present = *s == B_CURRENT || *s == B_KEPT || *s == B_NEW;
    int named_twice = *s == B_KEPT || *s == B_NEW;
    if (bm->first_err)
        return;
    bm->named[id] = 1;
    switch (kind) {
    case 0: /* register, register_lazy */
        if (named_twice) {
            bm->first_err = TENREG_EEXIST;
            return;
        }
        *s = B_NEW;
        model_retire(t);
        t->exists = 1;
        t->group = url->group;
        t->hosts[0] = intern_rule(url->key);
        t->nhosts = 1;
        t->platform = plat;
        t->factory = f;
        t->build_failed = 0;
        t->health = TENREG_PENDING;
        bm->url[id] = url->text;
        bm->overflow[id] = 0; /* a new registration: its adds start over */
        return;
    case 1: /* keep */
        if (!present)
            bm->first_err = TENREG_ENOENT;
        else if (named_twice)
            bm->first_err = TENREG_EEXIST;
        else
            *s = B_KEPT;
        return;
    case 2: /* unregister */
        if (!present) {
            bm->first_err = TENREG_ENOENT;
            return;
        }
        *s = B_GONE;
        model_retire(t);
        bm->overflow[id] = 0;
        return;
    default: /* add_host */
        if (!present) {
            bm->first_err = TENREG_ENOENT;
            return;
        }
        if (model_holds(t, rule) >= 0)
            return; /* idempotent */
        if (t->nhosts >= TENREG_HOSTS_MAX)
            bm->over[id][bm->overflow[id]++] = rule;
        else
            t->hosts[t->nhosts++] = rule;
        return;
    }
}

/* The commit's answer; *alt: another the contract allows (both a collision
 * and a full tenant: either check may come first). */
static int bm_result(struct batch_model *bm, unsigned flags, int *alt)
{
    if (bm->first_err) {
        *alt = bm->first_err;
        return bm->first_err;
    }
    if (flags & TENREG_BATCH_REPLACE_ALL)
        for (int i = 0; i < FZ_IDS; i++)
            if (!bm->named[i] && bm->m[i].exists)
                model_retire(&bm->m[i]);
    int collision = 0, full = 0, over_collision = 0;
    for (int i = 0; i < FZ_IDS; i++) {
        if (!bm->m[i].exists)
            continue;
        full |= bm->overflow[i] > 0;
        for (unsigned k = 0; k < bm->m[i].nhosts; k++)
            for (int j = i + 1; j < FZ_IDS; j++)
                collision |= model_holds(&bm->m[j], bm->m[i].hosts[k]) >= 0;
        /* A rule that did not fit may be held by another tenant as well:
         * the commit may find that first. */
        for (int k = 0; k < bm->overflow[i]; k++)
            for (int j = 0; j < FZ_IDS; j++)
                over_collision |= j != i && model_holds(&bm->m[j], bm->over[i][k]) >= 0;
    }
    int expect = collision ? TENREG_EEXIST : full ? TENREG_ENOSPC : TENREG_OK;
    *alt = full && (collision || over_collision) ? (collision ? TENREG_ENOSPC : TENREG_EEXIST)
                                                 : expect;
    return expect;
}

static void op_batch(struct state *st, fuzz_producer *p, const struct fz_op_args *a)
{
    tenreg_batch *b;
    FUZZ_ASSERT_EQ(tenreg_batch_new(st->reg, &b), TENREG_OK);
    unsigned flags = (a->variant & 1) ? TENREG_BATCH_REPLACE_ALL : 0;
    unsigned n = 1 + (unsigned)fuzz_range(p, BATCH_MAX);
    struct batch_model *bm = calloc(1, sizeof(*bm));
    FUZZ_ASSERT(bm != NULL);
    memcpy(bm->m, st->m, sizeof(bm->m));
    for (int i = 0; i < FZ_IDS; i++)
        bm->state[i] = st->m[i].exists ? B_CURRENT : B_ABSENT;
    struct fz_plat *plats[BATCH_MAX];
    unsigned nplats = 0;
    for (unsigned k = 0; k < n && fuzz_producer_remaining(p) > 0; k++) {
        struct fz_op_args s;
        fz_decode_op(p, &s);
        int kind = (int)(s.op % 5); /* register, lazy, add_host, unregister, keep */
        const char *id = fz_id(s.id);
        const struct fz_host *h = &fz_hosts[s.host];
        int rc, expect = valid_id(s.id) ? TENREG_OK : TENREG_EINVAL;
        if (kind == 0 || kind == 1) {
            struct fz_plat *plat = NULL;
            struct fctx *f = NULL;
            int null_arg = s.variant == 3;
            if (kind == 0 && !null_arg) {
                plat = plats[nplats++] = fz_plat_new(&st->pool, (int)s.id, h->group);
            } else if (kind == 1 && !null_arg) {
                f = &st->fctxs[st->nfctx++];
                f->st = st;
                f->id = (int)s.id;
                f->group = h->group;
                f->outcome = (enum fz_outcome)s.outcome;
                atomic_init(&f->calls, 0);
                f->made = NULL;
            }
            if (null_arg || h->group < 0)
                expect = TENREG_EINVAL;
            rc = kind == 0 ? tenreg_batch_register(b, id, h->text, plat)
                           : tenreg_batch_register_lazy(b, id, h->text, f ? factory : NULL, f);
            if (rc != TENREG_OK && plat) {
                atomic_store(&plat->owner, FZ_OWNER_CALLER);
                nplats--;
            }
            if (rc == TENREG_OK)
                bm_op(bm, 0, s.id, h, plat, f, NULL);
        } else if (kind == 2) {
            char buf[FZ_GEN_CAP];
            const char *canonical;
            int null_id;
            const char *host = fz_host_arg(&s, buf, sizeof buf, &canonical, &null_id);
            const char *rule = canonical ? intern_rule(canonical) : NULL;
            if (null_id || !host || !rule)
                expect = TENREG_EINVAL;
            rc = tenreg_batch_add_host(b, null_id ? NULL : id, host);
            if (rc == TENREG_OK)
                bm_op(bm, 3, s.id, NULL, NULL, NULL, rule);
        } else {
            rc = kind == 3 ? tenreg_batch_unregister(b, id) : tenreg_batch_keep(b, id);
            if (rc == TENREG_OK)
                bm_op(bm, kind == 3 ? 2 : 1, s.id, NULL, NULL, NULL, NULL);
        }
        FUZZ_ASSERT_MSG(rc == expect, "batch op %d (%.20s): rc %s, model %s", kind, id,
                        tenreg_err_name(rc), tenreg_err_name(expect));
    }
    int alt;
    int expect = bm_result(bm, flags, &alt);
    int rc = tenreg_batch_commit(b, flags);
    FUZZ_ASSERT_MSG(rc == expect || rc == alt, "batch commit (%u ops%s): rc %s, model %s", n,
                    flags ? ", REPLACE_ALL" : "", tenreg_err_name(rc), tenreg_err_name(expect));
    for (unsigned i = 0; i < nplats; i++)
        atomic_store(&plats[i]->owner, rc == TENREG_OK ? FZ_OWNER_REGISTRY : FZ_OWNER_CALLER);
    if (rc == TENREG_OK) {
        memcpy(st->m, bm->m, sizeof(st->m));
        for (int i = 0; i < FZ_IDS; i++)
            if (bm->state[i] == B_NEW && st->m[i].exists)
                st->cur_url[i] = bm->url[i];
        /* Committed once: no second commit, no more ops. */
        FUZZ_ASSERT_EQ(tenreg_batch_commit(b, flags), TENREG_EINVAL);
        FUZZ_ASSERT_EQ(tenreg_batch_keep(b, fz_id(0)), TENREG_EINVAL);
    }
    tenreg_batch_free(b);
    free(bm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int registered;
    if (!registered) {
        tenreg_thread_register();
        registered = 1;
    }

    fuzz_producer p;
    fuzz_producer_init(&p, data, size);
    uint8_t cfg_byte = fuzz_u8_back(&p);

    struct state *st = calloc(1, sizeof(*st));
    FUZZ_ASSERT(st != NULL);
    /* A batch op may make BATCH_MAX platforms or factories. */
    st->pool.cap = (2 + BATCH_MAX) * MAX_OPS;
    st->pool.plats = calloc(st->pool.cap, sizeof(struct fz_plat));
    st->fctxs = calloc(BATCH_MAX * MAX_OPS, sizeof(struct fctx));
    FUZZ_ASSERT(st->pool.plats && st->fctxs);
    atomic_init(&st->pool.used, 0);
    atomic_init(&st->pool.frees, 0);
    atomic_init(&st->validator_calls, 0);
    st->have_validator = !(cfg_byte & 1);
    st->main_thread = pthread_self();
    for (int i = 0; i < FZ_IDS; i++)
        st->verdict[i] = 1;

    tenreg_config cfg = {0};
    cfg.validator = st->have_validator ? validator : NULL;
    cfg.validator_ctx = st;
    cfg.platform_free = fz_plat_free;
    cfg.platform_free_ctx = &st->pool;
    cfg.hash_seed = (cfg_byte & 2) ? 0x5eed5eed5eed5eedULL : 42;
    cfg.expected_tenants = (cfg_byte & 4) ? 1000 : 0;
    cfg.builder_threads = 1;
    FUZZ_ASSERT_EQ(tenreg_new(&cfg, &st->reg), TENREG_OK);

    for (unsigned n = 0; n < MAX_OPS && fuzz_producer_remaining(&p) > 0; n++) {
        struct fz_op_args a;
        fz_decode_op(&p, &a);
        switch (a.op) {
        case FZ_REGISTER: op_register(st, &a, 0); break;
        case FZ_REGISTER_LAZY: op_register(st, &a, 1); break;
        case FZ_UNREGISTER: op_unregister(st, &a); break;
        case FZ_RECHECK: op_recheck(st, &a); break;
        case FZ_RESOLVE:
        case FZ_RESOLVE_BY_HOST:
        case FZ_RESOLVE_NOWAIT: op_resolve_host(st, &a, a.op); break;
        case FZ_RESOLVE_BY_ID: op_resolve_by_id(st, &a); break;
        case FZ_HEALTH_OF: op_health_of(st, &a); break;
        case FZ_FOREACH: op_foreach(st, &a); break;
        case FZ_SET_VERDICT:
            st->verdict[a.id % FZ_IDS] = fz_verdict_value(a.outcome);
            break;
        case FZ_ADD_HOST: op_add_host(st, &a); break;
        case FZ_REMOVE_HOST: op_remove_host(st, &a); break;
        case FZ_FOREACH_HOST: op_foreach_host(st, &a); break;
        case FZ_FILL_HOSTS: op_fill_hosts(st, &a); break;
        case FZ_BATCH: op_batch(st, &p, &a); break;
        default: break;
        }
        /* Lookups after every operation that may change an answer (a
         * blocking resolve may build); all of it after host changes. */
        int full = a.op == FZ_REGISTER || a.op == FZ_REGISTER_LAZY || a.op == FZ_UNREGISTER ||
                   a.op == FZ_ADD_HOST || a.op == FZ_REMOVE_HOST || a.op == FZ_FILL_HOSTS ||
                   a.op == FZ_BATCH ||
                   (a.op == FZ_FOREACH_HOST && a.outcome == 2);
        int reads_only = a.op == FZ_RESOLVE_BY_HOST || a.op == FZ_HEALTH_OF ||
                         a.op == FZ_FOREACH || a.op == FZ_SET_VERDICT ||
                         a.op == FZ_RESOLVE_NOWAIT || a.op == FZ_FOREACH_HOST;
        if (full || !reads_only)
            check_invariants(st, full, 0);
        else
            FUZZ_ASSERT_EQ(tenreg_count(st->reg), model_count(st));
    }
    check_invariants(st, 1, 1);

    tenreg_free(st->reg);
    fz_pool_check_final(&st->pool);
    /* tenreg_free runs no factory: builds the model never ran stay unrun. */
    for (unsigned i = 0; i < st->nfctx; i++)
        FUZZ_ASSERT_EQ(atomic_load(&st->fctxs[i].calls), st->fctxs[i].model_built);
    free(st->fctxs);
    free(st->pool.plats);
    free(st);
    return 0;
}
