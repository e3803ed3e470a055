/*
 * Argument checks of the whole public API: every call of tenreg.h that
 * takes a registry, a tenant id or an output pointer answers TENREG_EINVAL
 * for NULL and changes nothing (same tenants, health and answers, no build
 * started, no platform taken or freed, outputs the caller passed left
 * alone or, for resolves, out->platform NULL). And the one misuse tenreg
 * refuses loudly: tenreg_free inside a read section aborts.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

static tenreg_t *reg;
static struct tt_free_counter frees;
static _Atomic int factory_calls;
static struct tt_platform *pa;

static int counting_factory(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    atomic_fetch_add(&factory_calls, 1);
    *platform = tt_platform_new(tenant_id, "lazy");
    return 0;
}

static void setup(void)
{
    tt_thread_init();
    tenreg_config cfg = {.platform_free = tt_count_free, .platform_free_ctx = &frees};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    pa = tt_platform_new("a", "a.example");
    cr_assert_eq(tenreg_register(reg, "a", "a.example", pa, TENREG_AWAIT_FIRST_VALIDATION),
                 TENREG_OK);
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", counting_factory, NULL, 0),
                 TENREG_OK);
}

static void teardown(void)
{
    tenreg_free(reg);
    reg = NULL;
    tt_thread_fini();
    tt_platforms_release();
}

/* What the registry answers, to compare before and after a refused call. */
static int collect(void *ctx, const char *id, tenreg_health h)
{
    char *s = ctx;
    size_t n = strlen(s);
    snprintf(s + n, 512 - n, "%s=%d;", id, (int)h);
    return 0;
}

static void snapshot(char *buf, size_t cap)
{
    tenreg_health ha = 9, hl = 9;
    int rha = tenreg_health_of(reg, "a", &ha), rhl = tenreg_health_of(reg, "l", &hl);
    tenreg_resolution r = {0};
    tenreg_read_lock();
    int ra = tenreg_resolve_by_host(reg, "a.example", 9, &r);
    void *p = r.platform;
    int rl = tenreg_resolve_by_host(reg, "l.example", 9, &r);
    tenreg_read_unlock();
    char list[512] = "";
    cr_assert_eq(tenreg_foreach(reg, collect, list), 0);
    snprintf(buf, cap, "count=%zu a=%d/%d/%d/%p l=%d/%d/%d frees=%ld list=%s", tenreg_count(reg),
             rha, (int)ha, ra, p, rhl, (int)hl, rl, atomic_load(&frees.frees), list);
}

/* @call must answer EINVAL and change nothing. Resolves are made inside a
 * read section of their own (the snapshots are taken outside: foreach
 * may not run inside one). */
#define REFUSED_(call, lock_, unlock_)                                                       \
    do {                                                                                     \
        char before_[1024], after_[1024];                                                    \
        snapshot(before_, sizeof(before_));                                                  \
        lock_;                                                                               \
        int rc_ = (call);                                                                    \
        unlock_;                                                                             \
        cr_assert_eq(rc_, TENREG_EINVAL, "%s answered %d", #call, rc_);                      \
        snapshot(after_, sizeof(after_));                                                    \
        cr_assert_str_eq(before_, after_, "%s changed the registry", #call);                 \
    } while (0)
#define REFUSED(call) REFUSED_(call, (void)0, (void)0)
#define REFUSED_IN_SECTION(call) REFUSED_(call, tenreg_read_lock(), tenreg_read_unlock())

/* A resolve: EINVAL, nothing changed, and no platform handed out. */
#define REFUSED_RESOLVE(call, r_)                                                            \
    do {                                                                                     \
        (r_).platform = (void *)pa;                                                          \
        REFUSED_IN_SECTION(call);                                                            \
        cr_assert_null((r_).platform, "%s: EINVAL left out->platform set", #call);           \
    } while (0)

TestSuite(api_args, .init = setup, .fini = teardown, .timeout = 30);

static int never_called(void *ctx, const char *id, tenreg_health h)
{
    (void)id;
    (void)h;
    ++*(int *)ctx;
    return 0;
}

/* Every platform handed to a refused call stays the caller's. */
static struct tt_platform *spare(void)
{
    struct tt_platform *p = tt_platform_new("x", "x.example");
    tt_platform_keep(p);
    return p;
}

Test(api_args, admin_calls_with_null_registry_or_id)
{
    REFUSED(tenreg_register(NULL, "x", "x.example", spare(), 0));
    REFUSED(tenreg_register(NULL, "x", "x.example", spare(), TENREG_AWAIT_FIRST_VALIDATION));
    REFUSED(tenreg_register(reg, NULL, "x.example", spare(), 0));
    REFUSED(tenreg_register(reg, NULL, "x.example", spare(), TENREG_AWAIT_FIRST_VALIDATION));
    REFUSED(tenreg_register(reg, "x", NULL, spare(), 0));
    REFUSED(tenreg_register(reg, "a", NULL, spare(), 0)); /* an existing id too */
    REFUSED(tenreg_register(reg, "x", "x.example", NULL, 0));
    REFUSED(tenreg_register(reg, "a", "a.example", NULL, 0));

    REFUSED(tenreg_register_lazy(NULL, "x", "x.example", counting_factory, NULL, 0));
    REFUSED(tenreg_register_lazy(NULL, "x", "x.example", counting_factory, NULL,
                                 TENREG_AWAIT_FIRST_VALIDATION));
    REFUSED(tenreg_register_lazy(reg, NULL, "x.example", counting_factory, NULL, 0));
    REFUSED(tenreg_register_lazy(reg, NULL, "x.example", counting_factory, NULL,
                                 TENREG_AWAIT_FIRST_VALIDATION));
    REFUSED(tenreg_register_lazy(reg, "x", NULL, counting_factory, NULL, 0));
    REFUSED(tenreg_register_lazy(reg, "l", NULL, counting_factory, NULL, 0));
    REFUSED(tenreg_register_lazy(reg, "x", "x.example", NULL, NULL, 0));
    REFUSED(tenreg_register_lazy(reg, "l", "l.example", NULL, NULL, TENREG_AWAIT_FIRST_VALIDATION));

    REFUSED(tenreg_unregister(NULL, "a"));
    REFUSED(tenreg_unregister(reg, NULL));
    REFUSED(tenreg_recheck(NULL, "a"));
    REFUSED(tenreg_recheck(reg, NULL));
    cr_assert_eq(atomic_load(&factory_calls), 0, "a refused call ran a factory");
}

Test(api_args, inspection_with_null_arguments)
{
    tenreg_health h = (tenreg_health)77;
    REFUSED(tenreg_health_of(NULL, "a", &h));
    REFUSED(tenreg_health_of(reg, NULL, &h));
    cr_assert_eq((int)h, 77, "a refused health_of wrote its output");
    REFUSED(tenreg_health_of(reg, "a", NULL));
    REFUSED(tenreg_health_of(NULL, NULL, NULL));

    int calls = 0;
    REFUSED(tenreg_foreach(NULL, never_called, &calls));
    REFUSED(tenreg_foreach(reg, NULL, &calls));
    cr_assert_eq(calls, 0, "a refused foreach called its function");
    cr_assert_eq(tenreg_count(NULL), 0);

    tenreg_t *none = (tenreg_t *)pa; /* must not be touched */
    cr_assert_eq(tenreg_new(NULL, NULL), TENREG_EINVAL);
    tenreg_config cfg = {0};
    cr_assert_eq(tenreg_new(&cfg, NULL), TENREG_EINVAL);
    cr_assert_eq(none, (tenreg_t *)pa);
    tenreg_free(NULL); /* accepted, does nothing */
}

Test(api_args, resolves_with_null_arguments)
{
    tenreg_resolution r;
    REFUSED_RESOLVE(tenreg_resolve_by_host(NULL, "a.example", 9, &r), r);
    REFUSED_RESOLVE(tenreg_resolve_by_host(reg, NULL, 9, &r), r);
    REFUSED_RESOLVE(tenreg_resolve_by_host(reg, NULL, 0, &r), r);
    REFUSED_IN_SECTION(tenreg_resolve_by_host(reg, "a.example", 9, NULL));

    for (unsigned flags = 0; flags <= TENREG_NOWAIT; flags += TENREG_NOWAIT) {
        REFUSED_RESOLVE(tenreg_resolve(NULL, "l.example", 9, flags, &r), r);
        REFUSED_RESOLVE(tenreg_resolve(reg, NULL, 9, flags, &r), r);
        REFUSED_IN_SECTION(tenreg_resolve(reg, "l.example", 9, flags, NULL));
        REFUSED_IN_SECTION(tenreg_resolve(reg, "a.example", 9, flags, NULL));
        REFUSED_RESOLVE(tenreg_resolve_by_id(NULL, "l", flags, &r), r);
        REFUSED_RESOLVE(tenreg_resolve_by_id(reg, NULL, flags, &r), r);
        REFUSED_IN_SECTION(tenreg_resolve_by_id(reg, "l", flags, NULL));
        REFUSED_IN_SECTION(tenreg_resolve_by_id(reg, "a", flags, NULL));
    }
    /* None of them queued a build of the lazy tenant: the one builder takes
     * builds in queue order, so once "z" is built, a build of "l" queued
     * before it would have run too. */
    cr_assert_eq(tenreg_register_lazy(reg, "z", "z.example", counting_factory, NULL, 0), TENREG_OK);
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve(reg, "z.example", 9, 0, &r), TENREG_OK);
    tenreg_read_unlock();
    cr_assert_eq(atomic_load(&factory_calls), 1, "a refused resolve started a build");
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_host(reg, "l.example", 9, &r), TENREG_EPENDING);
    tenreg_read_unlock();
}

Test(api_args, normalize_with_null_arguments)
{
    char out[TENREG_HOST_KEY_MAX + 1] = "untouched";
    size_t len = 12345;
    cr_assert_eq(tenreg_normalize_host(NULL, 9, out, sizeof(out), &len), TENREG_EINVAL);
    cr_assert_eq(len, 12345, "*out_len written on failure");
    cr_assert_str_eq(out, "", "out[0] is NUL after a failure");
    cr_assert_eq(tenreg_normalize_host(NULL, 0, out, sizeof(out), &len), TENREG_EINVAL);
    cr_assert_eq(tenreg_normalize_host("a.example", 9, NULL, 64, &len), TENREG_EINVAL);
    cr_assert_eq(tenreg_normalize_host("a.example", 9, NULL, 0, &len), TENREG_EINVAL);
    cr_assert_eq(len, 12345);
    /* out_len may be NULL. */
    cr_assert_eq(tenreg_normalize_host("A.example", 9, out, sizeof(out), NULL), TENREG_OK);
    cr_assert_str_eq(out, "a.example");
}

/* ---- tenreg_free inside a read section ---------------------------------- */

/* It would free memory the caller may still read; it aborts instead (a
 * forked test: .signal = SIGABRT passes only if the process dies of it). */
Test(api_args, free_inside_read_section_aborts, .signal = SIGABRT)
{
    tenreg_read_lock();
    tenreg_free(reg);
    tenreg_read_unlock();
    cr_log_info("tenreg_free inside a read section returned");
}

Test(api_args, free_inside_nested_read_section_aborts, .signal = SIGABRT)
{
    tenreg_read_lock();
    tenreg_read_lock();
    tenreg_free(reg);
    cr_log_info("tenreg_free inside a nested read section returned");
}

Test(api_args, free_outside_read_section_after_one_does_not_abort)
{
    tenreg_read_lock();
    tenreg_read_unlock();
    tenreg_free(reg);
    reg = NULL;
    cr_assert_eq(atomic_load(&frees.frees), 1, "a's platform");
}
