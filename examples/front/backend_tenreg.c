/* backend_tenreg.c - the front's lookup through libtenreg (see backend.h). */
#include "backend.h"

#include <stdlib.h>
#include <string.h>

#include "demo.h"

struct tb {
    tenreg_t *reg;
    struct demo *demo;
};

static void tb_thread_start(void *impl)
{
    tenreg_thread_register();
}

static void tb_thread_stop(void *impl)
{
    tenreg_thread_unregister();
}

static void tb_resolve(void *impl, const char *host, size_t len, struct answer *out)
{
    struct tb *tb = impl;
    tenreg_resolution res;
    /* The tenant id points into an RCU-protected record: copy it before
     * the read section ends. NOWAIT: a cold lazy tenant's build is handed
     * to tenreg's builder threads and this request answers EPENDING. */
    tenreg_read_lock();
    out->code = tenreg_resolve(tb->reg, host, len, TENREG_NOWAIT, &res);
    out->matched_len = 0;
    if (out->code != TENREG_ENOENT && out->code != TENREG_EINVAL) {
        size_t n = strlen(res.tenant_id);
        memcpy(out->tenant, res.tenant_id, n + 1);
        out->tenant_len = n;
        out->health = res.health;
        if (res.matched != NULL && (n = strlen(res.matched)) <= BACKEND_HOST_MAX) {
            memcpy(out->matched, res.matched, n + 1);
            out->matched_len = n;
        }
    }
    tenreg_read_unlock();
}

static int tb_add(void *impl, const char *id, const char *url, bool lazy, bool *replaced)
{
    struct tb *tb = impl;
    tenreg_health h;
    /* Only the admin thread registers, so this answer cannot go stale
     * before the register below. */
    *replaced = tenreg_health_of(tb->reg, id, &h) == 0;
    if (lazy)
        return tenreg_register_lazy(tb->reg, id, url, demo_factory, tb->demo, 0);
    void *p = demo_platform_new(tb->demo, id);
    if (p == NULL)
        return TENREG_ENOMEM;
    /* Validate now so an eager tenant answers HEALTHY (or DISABLED) at
     * once instead of staying PENDING until someone rechecks it. */
    int r = tenreg_register(tb->reg, id, url, p, TENREG_AWAIT_FIRST_VALIDATION);
    if (r != 0)
        demo_platform_free(tb->demo, p);   /* refused: still ours */
    return r;
}

static int tb_remove(void *impl, const char *id)
{
    return tenreg_unregister(((struct tb *)impl)->reg, id);
}

static int tb_recheck(void *impl, const char *id)
{
    return tenreg_recheck(((struct tb *)impl)->reg, id);
}

static int tb_health(void *impl, const char *id, tenreg_health *out)
{
    return tenreg_health_of(((struct tb *)impl)->reg, id, out);
}

static int tb_foreach(void *impl, backend_each_fn fn, void *ctx)
{
    return tenreg_foreach(((struct tb *)impl)->reg, fn, ctx);
}

static int tb_add_host(void *impl, const char *id, const char *host)
{
    return tenreg_add_host(((struct tb *)impl)->reg, id, host);
}

static int tb_remove_host(void *impl, const char *id, const char *host)
{
    return tenreg_remove_host(((struct tb *)impl)->reg, id, host);
}

static int tb_foreach_host(void *impl, const char *id, backend_host_fn fn, void *ctx)
{
    return tenreg_foreach_host(((struct tb *)impl)->reg, id, fn, ctx);
}

static void tb_destroy(void *impl)
{
    struct tb *tb = impl;
    tenreg_free(tb->reg);
    free(tb);
}

int backend_tenreg_new(struct demo *demo, size_t expected, struct backend *out)
{
    struct tb *tb = calloc(1, sizeof *tb);
    if (tb == NULL)
        return TENREG_ENOMEM;
    tenreg_config cfg = {
        .validator = demo_validator,
        .validator_ctx = demo,
        .platform_free = demo_platform_free,
        .platform_free_ctx = demo,
        .expected_tenants = expected,
        .builder_threads = 1,
    };
    int r = tenreg_new(&cfg, &tb->reg);
    if (r != 0) {
        free(tb);
        return r;
    }
    tb->demo = demo;
    *out = (struct backend){
        .name = "tenreg",
        .impl = tb,
        .thread_start = tb_thread_start,
        .thread_stop = tb_thread_stop,
        .resolve = tb_resolve,
        .add = tb_add,
        .remove = tb_remove,
        .recheck = tb_recheck,
        .health = tb_health,
        .foreach = tb_foreach,
        .add_host = tb_add_host,
        .remove_host = tb_remove_host,
        .foreach_host = tb_foreach_host,
        .destroy = tb_destroy,
    };
    return 0;
}
