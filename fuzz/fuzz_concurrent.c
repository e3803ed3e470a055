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
 *     (out->tenant_id) made for the host group asked, not freed while the
 *     read section lasts; other answers carry no platform;
 *   - at most one factory call per lazy registration;
 *   - validators and factories never run inside a read section;
 *   - after the threads are joined, foreach sees tenreg_count() tenants;
 *   - after tenreg_free, every platform the registry owned was freed exactly
 *     once and none of the caller's (a failed register, a failed factory's
 *     decoy) ever.
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
};

struct worker {
    struct state *st;
    unsigned index;
};

static _Thread_local int in_read_section;

static int validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    struct state *st = ctx;
    FUZZ_ASSERT_MSG(!in_read_section, "validator called inside a read section");
    int i = fz_id_index(tenant_id);
    FUZZ_ASSERT_MSG(i >= 0, "validator for unknown tenant \"%.20s\"", tenant_id);
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

/* Checks a resolve's answer; @group: the host group asked, or -1 (by id);
 * @want_id: the id asked, or -1 (by host). Inside the read section. */
static void check_resolution(const struct state *st, int rc, const tenreg_resolution *out,
                             int group, int want_id, int may_pend, const char *what)
{
    FUZZ_ASSERT_MSG(rc == TENREG_OK || rc == TENREG_ENOENT || rc == TENREG_EDISABLED ||
                    rc == TENREG_EFACTORY || rc == TENREG_EVALIDATOR ||
                    (may_pend && rc == TENREG_EPENDING),
                    "%s: unexpected %s", what, tenreg_err_name(rc));
    if (rc == TENREG_ENOENT)
        return;
    FUZZ_ASSERT_MSG(out->tenant_id != NULL, "%s: %s without tenant_id", what,
                    tenreg_err_name(rc));
    int id = fz_id_index(out->tenant_id);
    FUZZ_ASSERT_MSG(id >= 0, "%s: tenant_id \"%.20s\"", what, out->tenant_id);
    if (want_id >= 0)
        FUZZ_ASSERT_MSG(id == want_id, "%s: asked %s, got %s", what, fz_id((unsigned)want_id),
                        out->tenant_id);
    FUZZ_ASSERT_MSG(is_health(out->health), "%s: health %d", what, (int)out->health);
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
                    fz_id((unsigned)p->id));
    if (group >= 0)
        FUZZ_ASSERT_MSG(p->group == group, "%s: host group %d answered with a platform of "
                        "group %d", what, group, p->group);
    FUZZ_ASSERT_MSG(atomic_load(&p->owner) != FZ_OWNER_CALLER,
                    "%s: answered with a platform the registry does not own", what);
    /* Grace period: nothing a reader can still see is freed. */
    FUZZ_ASSERT_MSG(atomic_load(&p->frees) == 0, "%s: platform freed inside a read section",
                    what);
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
    int rc = lazy ? tenreg_register_lazy(st->reg, fz_id(a->id), h->text, f ? factory : NULL, f,
                                         flags)
                  : tenreg_register(st->reg, fz_id(a->id), h->text, plat, flags);
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
    if (h->group < 0)
        FUZZ_ASSERT_MSG(rc == TENREG_EINVAL, "%s(\"%s\"): %s", what, h->text,
                        tenreg_err_name(rc));
    else
        check_resolution(st, rc, &out, h->group, -1, may_pend, what);
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
        check_resolution(st, rc, &out, -1, (int)a->id, flags != 0, "resolve_by_id");
    tenreg_read_unlock();
}

struct foreach_ctx {
    unsigned stop_at, calls, seen;
};

static int foreach_fn(void *ctx, const char *tenant_id, tenreg_health h)
{
    struct foreach_ctx *c = ctx;
    FUZZ_ASSERT_MSG(!in_read_section, "foreach callback inside a read section");
    int i = fz_id_index(tenant_id);
    FUZZ_ASSERT_MSG(i >= 0, "foreach: unknown tenant \"%.20s\"", tenant_id);
    FUZZ_ASSERT_MSG(!(c->seen & (1u << i)), "foreach: %s twice", tenant_id);
    FUZZ_ASSERT_MSG(is_health(h), "foreach: health %d", (int)h);
    c->seen |= 1u << i;
    c->calls++;
    return c->calls == c->stop_at ? 1000 + (int)c->stop_at : 0;
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
        FUZZ_ASSERT_MSG(c.calls <= FZ_IDS, "foreach: %u calls", c.calls);
        if (c.stop_at && c.calls == c.stop_at)
            FUZZ_ASSERT_EQ(rc, 1000 + (int)c.stop_at);
        else
            FUZZ_ASSERT_EQ(rc, 0);
        break;
    }
    case FZ_SET_VERDICT:
        atomic_store(&st->verdict[a->id % FZ_IDS], fz_verdict_value(a->outcome));
        break;
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
    st->pool.cap = 2 * MAX_OPS;
    st->pool.plats = calloc(st->pool.cap, sizeof(struct fz_plat));
    st->fctxs = calloc(MAX_OPS, sizeof(struct fctx));
    FUZZ_ASSERT(st->pool.plats && st->fctxs);
    atomic_init(&st->pool.used, 0);
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
    FUZZ_ASSERT(n <= FZ_IDS);

    tenreg_free(st->reg);
    fz_pool_check_final(&st->pool);
    free(st->fctxs);
    free(st->pool.plats);
    free(st);
    return 0;
}
