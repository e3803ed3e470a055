/*
 * fuzz_registry_ops.c - API sequences against a reference model.
 *
 * The input is decoded into up to MAX_OPS operations (fuzz_registry_common.h)
 * on a real registry (one builder thread, fixed hash seed) and on a
 * single-threaded model of docs/design.md §2/§3 written here. After every
 * operation the return code, the health, the tenant id and the platform
 * identity must match the model, and so must the validator and factory
 * call counts. Resolves block (no TENREG_NOWAIT on lazy tenants that are
 * not built), so every build is finished when the call returns and the
 * sequence is deterministic. At the end tenreg_free must have released
 * every platform the registry owned exactly once, and none of the caller's.
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
    int group;              /* host key */
    const char *url;
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

static int model_tenant_of_group(const struct state *st, int group)
{
    for (int i = 0; i < FZ_IDS; i++)
        if (st->m[i].exists && st->m[i].group == group)
            return i;
    return -1;
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

static void check_resolution(const struct state *st, int rc, int expect, int id,
                             const tenreg_resolution *out, const char *what)
{
    FUZZ_ASSERT_MSG(rc == expect, "%s: rc %s, model %s", what, tenreg_err_name(rc),
                    tenreg_err_name(expect));
    if (rc == TENREG_ENOENT || rc == TENREG_EINVAL)
        return;
    const struct mtenant *t = &st->m[id];
    FUZZ_ASSERT_MSG(out->tenant_id && strcmp(out->tenant_id, fz_id((unsigned)id)) == 0,
                    "%s: tenant_id \"%.20s\", model %s", what,
                    out->tenant_id ? out->tenant_id : "(null)", fz_id((unsigned)id));
    FUZZ_ASSERT_MSG(out->health == t->health, "%s: health %s, model %s", what,
                    tenreg_health_name(out->health), tenreg_health_name(t->health));
    if (rc == TENREG_OK) {
        FUZZ_ASSERT_MSG(out->platform == t->platform, "%s: platform %p, model %p", what,
                        out->platform, (void *)t->platform);
        const struct fz_plat *p = out->platform;
        FUZZ_ASSERT(p->magic == FZ_PLAT_MAGIC && p->id == id && p->group == t->group);
        FUZZ_ASSERT_MSG(atomic_load(&p->frees) == 0, "%s: resolved a freed platform", what);
    } else {
        FUZZ_ASSERT_MSG(out->platform == NULL, "%s: %s with platform %p", what,
                        tenreg_err_name(rc), out->platform);
    }
}

static void check_invariants(struct state *st)
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
    int holder = group >= 0 ? model_tenant_of_group(st, group) : -1;
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
    t->url = h->text;
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
    int id = h->group >= 0 ? model_tenant_of_group(st, h->group) : -1;
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
    check_resolution(st, rc, expect, id, &out,
                     op == FZ_RESOLVE ? "resolve" : op == FZ_RESOLVE_BY_HOST ? "resolve_by_host"
                                                                             : "resolve NOWAIT");
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
    check_resolution(st, rc, expect, (int)a->id, &out, "resolve_by_id");
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
    st->pool.cap = 2 * MAX_OPS;
    st->pool.plats = calloc(st->pool.cap, sizeof(struct fz_plat));
    st->fctxs = calloc(MAX_OPS, sizeof(struct fctx));
    FUZZ_ASSERT(st->pool.plats && st->fctxs);
    atomic_init(&st->pool.used, 0);
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
        default: break;
        }
        check_invariants(st);
    }

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
