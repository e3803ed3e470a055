/*
 * Eager tenants: every eager row of the health table (DESIGN.md §3), the
 * return contract of the resolve calls, host collisions and moves, and the
 * argument checks of the admin calls.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

static tenreg_t *reg;
static _Atomic int verdict = 1;
static struct tt_free_counter frees;

static void setup(void)
{
    tt_thread_init();
    atomic_store(&verdict, 1);
    tenreg_config cfg = {
        .validator = tt_validator_verdict, .validator_ctx = &verdict,
        .platform_free = tt_count_free, .platform_free_ctx = &frees,
        .hash_seed = 42,
    };
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
}

/* The end of every test, in its body (TT_TEST: Criterion ignores a failed
 * assertion in a .fini): the registry goes, and with it every platform it
 * owned, each exactly once; refused ones stay the caller's. */
static void finish(void)
{
    tenreg_free(reg);
    reg = NULL;
    cr_assert_eq(atomic_load(&frees.double_frees), 0, "a platform was freed twice");
    cr_assert_eq(tt_platforms_not_freed_once(), 0, "a platform was not freed exactly once");
}

/* Only what a test that failed early left behind. */
static void teardown(void)
{
    tenreg_free(reg);
    reg = NULL;
    tt_thread_fini();
    tt_platforms_release();
}

static tenreg_health health(const char *id)
{
    tenreg_health h = (tenreg_health)-1;
    cr_assert_eq(tenreg_health_of(reg, id, &h), TENREG_OK, "health_of(%s)", id);
    return h;
}

static void *reg_eager(const char *id, const char *url, unsigned flags)
{
    void *p = tt_platform_new(id, url);
    cr_assert_eq(tenreg_register(reg, id, url, p, flags), TENREG_OK, "register %s", id);
    return p;
}

/* Resolves @host inside a read section; copies out what the test checks. */
static int resolve_host(const char *host, char *id_out, tenreg_health *h, void **platform)
{
    tenreg_resolution r = {0};
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(reg, host, strlen(host), &r);
    if (id_out)
        strcpy(id_out, (rc == TENREG_OK || rc == TENREG_EPENDING || rc == TENREG_EDISABLED)
                           ? r.tenant_id : "");
    if (h)
        *h = r.health;
    if (platform)
        *platform = r.platform;
    tenreg_read_unlock();
    return rc;
}

/* ---- register ----------------------------------------------------------- */

TestSuite(health, .init = setup, .fini = teardown, .timeout = 30);

TT_TEST(finish, health, register_makes_pending_and_resolvable)
{
    void *p = reg_eager("acme", "https://Sales.Acme.example:443/adcp", 0);
    cr_assert_eq(health("acme"), TENREG_PENDING);
    char id[256];
    tenreg_health h;
    void *got;
    cr_assert_eq(resolve_host("sales.acme.example", id, &h, &got), TENREG_OK);
    cr_assert_str_eq(id, "acme");
    cr_assert_eq(h, TENREG_PENDING);
    cr_assert_eq(got, p, "an eager tenant resolves to its platform at once");
    cr_assert_eq(tenreg_count(reg), 1);
}

TT_TEST(finish, health, register_await_valid_becomes_healthy)
{
    reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    cr_assert_eq(health("acme"), TENREG_HEALTHY);
}

TT_TEST(finish, health, register_await_invalid_becomes_disabled_but_registered)
{
    atomic_store(&verdict, 0);
    void *p = reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    cr_assert_eq(health("acme"), TENREG_DISABLED);
    /* Still registered, still resolvable: the caller gates with serves(). */
    tenreg_health h;
    void *got;
    cr_assert_eq(resolve_host("ACME.example", NULL, &h, &got), TENREG_OK);
    cr_assert_eq(got, p);
    cr_assert_eq(h, TENREG_DISABLED);
    cr_assert_eq(tenreg_serves(h, TENREG_SERVE_DEFAULT), 0);
}

TT_TEST(finish, health, register_await_validator_error_becomes_disabled)
{
    atomic_store(&verdict, -5);
    reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    cr_assert_eq(health("acme"), TENREG_DISABLED);
}

TT_TEST(finish, health, reregister_resets_to_pending_and_replaces_platform)
{
    void *p1 = reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    cr_assert_eq(health("acme"), TENREG_HEALTHY);
    void *p2 = reg_eager("acme", "acme.example", 0);
    cr_assert_eq(health("acme"), TENREG_PENDING, "any -> PENDING on register");
    void *got;
    cr_assert_eq(resolve_host("acme.example", NULL, NULL, &got), TENREG_OK);
    cr_assert_eq(got, p2);
    cr_assert_neq(p1, p2);
    cr_assert_eq(tenreg_count(reg), 1);
}

TT_TEST(finish, health, reregister_from_disabled_resets_to_pending)
{
    atomic_store(&verdict, 0);
    reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    cr_assert_eq(health("acme"), TENREG_DISABLED);
    reg_eager("acme", "acme.example", 0);
    cr_assert_eq(health("acme"), TENREG_PENDING);
}

/* ---- recheck ------------------------------------------------------------ */

TT_TEST(finish, health, recheck_valid_from_pending_is_healthy)
{
    reg_eager("acme", "acme.example", 0);
    cr_assert_eq(tenreg_recheck(reg, "acme"), TENREG_OK);
    cr_assert_eq(health("acme"), TENREG_HEALTHY);
}

TT_TEST(finish, health, recheck_valid_from_unverified_is_healthy)
{
    reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    atomic_store(&verdict, 0);
    cr_assert_eq(tenreg_recheck(reg, "acme"), TENREG_EVALIDATOR);
    cr_assert_eq(health("acme"), TENREG_UNVERIFIED);
    atomic_store(&verdict, 1);
    cr_assert_eq(tenreg_recheck(reg, "acme"), TENREG_OK);
    cr_assert_eq(health("acme"), TENREG_HEALTHY);
}

TT_TEST(finish, health, recheck_valid_from_disabled_is_healthy)
{
    atomic_store(&verdict, 0);
    reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    cr_assert_eq(health("acme"), TENREG_DISABLED);
    atomic_store(&verdict, 7); /* any positive verdict means valid */
    cr_assert_eq(tenreg_recheck(reg, "acme"), TENREG_OK);
    cr_assert_eq(health("acme"), TENREG_HEALTHY);
}

TT_TEST(finish, health, recheck_valid_from_healthy_stays_healthy)
{
    reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    cr_assert_eq(tenreg_recheck(reg, "acme"), TENREG_OK);
    cr_assert_eq(health("acme"), TENREG_HEALTHY);
}

TT_TEST(finish, health, recheck_invalid_from_healthy_is_unverified)
{
    reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    atomic_store(&verdict, 0);
    cr_assert_eq(tenreg_recheck(reg, "acme"), TENREG_EVALIDATOR);
    cr_assert_eq(health("acme"), TENREG_UNVERIFIED);
}

TT_TEST(finish, health, recheck_error_from_healthy_is_unverified)
{
    reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    atomic_store(&verdict, -1);
    cr_assert_eq(tenreg_recheck(reg, "acme"), TENREG_EVALIDATOR);
    cr_assert_eq(health("acme"), TENREG_UNVERIFIED);
}

TT_TEST(finish, health, recheck_invalid_from_pending_is_disabled)
{
    reg_eager("acme", "acme.example", 0);
    atomic_store(&verdict, 0);
    cr_assert_eq(tenreg_recheck(reg, "acme"), TENREG_EVALIDATOR);
    cr_assert_eq(health("acme"), TENREG_DISABLED);
}

TT_TEST(finish, health, recheck_invalid_from_unverified_is_disabled)
{
    reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    atomic_store(&verdict, 0);
    cr_assert_eq(tenreg_recheck(reg, "acme"), TENREG_EVALIDATOR);
    cr_assert_eq(health("acme"), TENREG_UNVERIFIED);
    cr_assert_eq(tenreg_recheck(reg, "acme"), TENREG_EVALIDATOR);
    cr_assert_eq(health("acme"), TENREG_DISABLED);
}

TT_TEST(finish, health, recheck_error_from_disabled_stays_disabled)
{
    atomic_store(&verdict, 0);
    reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    atomic_store(&verdict, -3);
    cr_assert_eq(tenreg_recheck(reg, "acme"), TENREG_EVALIDATOR);
    cr_assert_eq(health("acme"), TENREG_DISABLED);
}

TT_TEST(finish, health, recheck_keeps_the_platform)
{
    void *p = reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    atomic_store(&verdict, 0);
    cr_assert_eq(tenreg_recheck(reg, "acme"), TENREG_EVALIDATOR);
    void *got;
    tenreg_health h;
    cr_assert_eq(resolve_host("acme.example", NULL, &h, &got), TENREG_OK);
    cr_assert_eq(got, p);
    cr_assert_eq(h, TENREG_UNVERIFIED);
    cr_assert_eq(tenreg_serves(h, TENREG_SERVE_DEFAULT), 1, "unverified is served by default");
}

/* ---- unregister --------------------------------------------------------- */

TT_TEST(finish, health, unregister_makes_lookups_miss)
{
    reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    cr_assert_eq(tenreg_unregister(reg, "acme"), TENREG_OK);
    cr_assert_eq(resolve_host("acme.example", NULL, NULL, NULL), TENREG_ENOENT);
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, "acme", &h), TENREG_ENOENT);
    cr_assert_eq(tenreg_recheck(reg, "acme"), TENREG_ENOENT);
    cr_assert_eq(tenreg_unregister(reg, "acme"), TENREG_ENOENT);
    cr_assert_eq(tenreg_count(reg), 0);
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_id(reg, "acme", 0, &r), TENREG_ENOENT);
    tenreg_read_unlock();
}

TT_TEST(finish, health, unregister_frees_the_host_for_another_tenant)
{
    reg_eager("acme", "acme.example", 0);
    cr_assert_eq(tenreg_unregister(reg, "acme"), TENREG_OK);
    reg_eager("beta", "https://acme.example/", 0);
    char id[256];
    cr_assert_eq(resolve_host("acme.example", id, NULL, NULL), TENREG_OK);
    cr_assert_str_eq(id, "beta");
}

/* ---- hosts -------------------------------------------------------------- */

TT_TEST(finish, health, host_collision_is_refused_and_changes_nothing)
{
    void *pa = reg_eager("acme", "https://acme.example", 0);
    void *pb = tt_platform_new("beta", "x");
    cr_assert_eq(tenreg_register(reg, "beta", "http://ACME.example:8080/other", pb, 0),
                 TENREG_EEXIST);
    tt_platform_keep(pb);
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, "beta", &h), TENREG_ENOENT);
    void *got;
    char id[256];
    cr_assert_eq(resolve_host("acme.example", id, NULL, &got), TENREG_OK);
    cr_assert_str_eq(id, "acme");
    cr_assert_eq(got, pa);
    cr_assert_eq(tenreg_count(reg), 1);
    tenreg_free(reg);
    reg = NULL;
    /* Refused: the platform stayed the caller's and was never freed. */
    cr_assert_eq(((struct tt_platform *)pb)->freed, 0);
    cr_assert_eq(((struct tt_platform *)pa)->freed, 1);
    cr_assert_eq(tenreg_new(NULL, &reg), TENREG_OK);
}

TT_TEST(finish, health, collision_by_replacing_tenant_is_refused_too)
{
    reg_eager("acme", "acme.example", 0);
    void *pb = reg_eager("beta", "beta.example", TENREG_AWAIT_FIRST_VALIDATION);
    void *pb2 = tt_platform_new("beta", "x");
    cr_assert_eq(tenreg_register(reg, "beta", "acme.example", pb2, 0), TENREG_EEXIST);
    tt_platform_keep(pb2);
    /* beta is untouched: same host, health and platform. */
    cr_assert_eq(health("beta"), TENREG_HEALTHY);
    void *got;
    cr_assert_eq(resolve_host("beta.example", NULL, NULL, &got), TENREG_OK);
    cr_assert_eq(got, pb);
}

TT_TEST(finish, health, reregister_with_new_url_moves_the_host)
{
    reg_eager("acme", "old.acme.example", 0);
    void *p2 = reg_eager("acme", "https://new.acme.example/adcp", 0);
    cr_assert_eq(resolve_host("old.acme.example", NULL, NULL, NULL), TENREG_ENOENT);
    void *got;
    char id[256];
    cr_assert_eq(resolve_host("NEW.acme.example:443", id, NULL, &got), TENREG_OK);
    cr_assert_str_eq(id, "acme");
    cr_assert_eq(got, p2);
    /* The old host is free again. */
    reg_eager("beta", "old.acme.example", 0);
    cr_assert_eq(tenreg_count(reg), 2);
}

TT_TEST(finish, health, every_host_form_finds_the_tenant)
{
    reg_eager("v6", "http://user:pw@[2001:DB8::0:1]:8443/x", 0);
    reg_eager("acme", "https://Sales.Acme.example./adcp?x=1#f", 0);
    const char *forms[] = {"sales.acme.example", "SALES.ACME.EXAMPLE:443",
                           "sales.acme.example.", " sales.acme.example\t",
                           "https://u@sales.acme.example:8080/p?q#f"};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        char id[256];
        cr_assert_eq(resolve_host(forms[i], id, NULL, NULL), TENREG_OK, "%s", forms[i]);
        cr_assert_str_eq(id, "acme", "%s", forms[i]);
    }
    char id[256];
    cr_assert_eq(resolve_host("[2001:db8::1]", id, NULL, NULL), TENREG_OK);
    cr_assert_str_eq(id, "v6");
}

TT_TEST(finish, health, resolve_by_host_bad_input)
{
    reg_eager("acme", "acme.example", 0);
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve_by_host(reg, "acme.example\r\n", 14, &r), TENREG_EINVAL);
    cr_assert_eq(tenreg_resolve_by_host(reg, "acme\0.example", 13, &r), TENREG_EINVAL);
    cr_assert_eq(tenreg_resolve_by_host(reg, "", 0, &r), TENREG_EINVAL);
    cr_assert_eq(tenreg_resolve_by_host(reg, NULL, 3, &r), TENREG_EINVAL);
    cr_assert_eq(tenreg_resolve_by_host(reg, "acme.example", 12, NULL), TENREG_EINVAL);
    cr_assert_eq(tenreg_resolve_by_host(NULL, "acme.example", 12, &r), TENREG_EINVAL);
    cr_assert_eq(tenreg_resolve_by_host(reg, "other.example", 13, &r), TENREG_ENOENT);
    /* Only len bytes count: "acme.example" followed by junk. */
    cr_assert_eq(tenreg_resolve_by_host(reg, "acme.example\r\nX: y", 12, &r), TENREG_OK);
    cr_assert_eq(tenreg_resolve(reg, "acme.example", 12, 0x80, &r), TENREG_EINVAL);
    cr_assert_eq(tenreg_resolve_by_id(reg, "acme", 0x80, &r), TENREG_EINVAL);
    tenreg_read_unlock();
}

TT_TEST(finish, health, resolve_and_resolve_by_id_on_eager_tenants)
{
    void *p = reg_eager("acme", "acme.example", TENREG_AWAIT_FIRST_VALIDATION);
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve(reg, "Acme.Example:443", 16, 0, &r), TENREG_OK);
    cr_assert_eq(r.platform, p);
    cr_assert_eq(tenreg_resolve(reg, "acme.example", 12, TENREG_NOWAIT, &r), TENREG_OK);
    cr_assert_eq(r.platform, p);
    cr_assert_eq(tenreg_resolve_by_id(reg, "acme", TENREG_NOWAIT, &r), TENREG_OK);
    cr_assert_str_eq(r.tenant_id, "acme");
    cr_assert_eq(r.health, TENREG_HEALTHY);
    cr_assert_eq(r.platform, p);
    cr_assert_eq(tenreg_resolve_by_id(reg, "nobody", 0, &r), TENREG_ENOENT);
    cr_assert_eq(tenreg_resolve_by_id(reg, "", 0, &r), TENREG_EINVAL);
    tenreg_read_unlock();
}

/* ---- validator modes ---------------------------------------------------- */

TT_TEST(finish, health, null_validator_is_always_valid)
{
    tenreg_t *r2;
    cr_assert_eq(tenreg_new(NULL, &r2), TENREG_OK);
    int plat;
    cr_assert_eq(tenreg_register(r2, "acme", "acme.example", &plat, TENREG_AWAIT_FIRST_VALIDATION),
                 TENREG_OK);
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(r2, "acme", &h), TENREG_OK);
    cr_assert_eq(h, TENREG_HEALTHY);
    cr_assert_eq(tenreg_recheck(r2, "acme"), TENREG_OK);
    tenreg_free(r2); /* no platform_free: the platform is left alone */
}

struct seen {
    char id[256];
    char url[512];
    int calls;
};

static int recording_validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    struct seen *s = ctx;
    snprintf(s->id, sizeof(s->id), "%s", tenant_id);
    snprintf(s->url, sizeof(s->url), "%s", agent_url);
    s->calls++;
    return 1;
}

TT_TEST(finish, health, validator_gets_id_and_original_url)
{
    struct seen s = {0};
    tenreg_config cfg = {.validator = recording_validator, .validator_ctx = &s};
    tenreg_t *r2;
    cr_assert_eq(tenreg_new(&cfg, &r2), TENREG_OK);
    int plat;
    cr_assert_eq(tenreg_register(r2, "acme", "https://Sales.Acme.example/adcp", &plat, 0),
                 TENREG_OK);
    cr_assert_eq(s.calls, 0, "without AWAIT the validator does not run at register");
    cr_assert_eq(tenreg_recheck(r2, "acme"), TENREG_OK);
    cr_assert_eq(s.calls, 1);
    cr_assert_str_eq(s.id, "acme");
    cr_assert_str_eq(s.url, "https://Sales.Acme.example/adcp");
    tenreg_free(r2);
}

/* ---- arguments ---------------------------------------------------------- */

TT_TEST(finish, health, admin_calls_reject_bad_arguments_and_change_nothing)
{
    int plat;
    char long_id[300];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    char max_id[TENREG_ID_MAX + 1];
    memset(max_id, 'b', TENREG_ID_MAX);
    max_id[TENREG_ID_MAX] = '\0';

    cr_assert_eq(tenreg_register(NULL, "a", "a.example", &plat, 0), TENREG_EINVAL);
    cr_assert_eq(tenreg_register(reg, NULL, "a.example", &plat, 0), TENREG_EINVAL);
    cr_assert_eq(tenreg_register(reg, "", "a.example", &plat, 0), TENREG_EINVAL);
    cr_assert_eq(tenreg_register(reg, long_id, "a.example", &plat, 0), TENREG_EINVAL);
    cr_assert_eq(tenreg_register(reg, "a", NULL, &plat, 0), TENREG_EINVAL);
    cr_assert_eq(tenreg_register(reg, "a", "a.example", NULL, 0), TENREG_EINVAL);
    cr_assert_eq(tenreg_register(reg, "a", "a.example", &plat, 0x10), TENREG_EINVAL);
    cr_assert_eq(tenreg_register(reg, "a", "bad host.example", &plat, 0), TENREG_EINVAL);
    cr_assert_eq(tenreg_register(reg, "a", "/just/a/path", &plat, 0), TENREG_EINVAL);
    cr_assert_eq(tenreg_register(reg, "a", "a.example", &plat, TENREG_NOWAIT), TENREG_EINVAL);
    cr_assert_eq(tenreg_count(reg), 0, "nothing half-registered");

    cr_assert_eq(tenreg_register(reg, max_id, "max.example", tt_platform_new("m", "m"), 0),
                 TENREG_OK, "a 255-byte id is fine");
    cr_assert_eq(tenreg_unregister(reg, NULL), TENREG_EINVAL);
    cr_assert_eq(tenreg_unregister(reg, ""), TENREG_EINVAL);
    cr_assert_eq(tenreg_unregister(NULL, "a"), TENREG_EINVAL);
    cr_assert_eq(tenreg_recheck(reg, NULL), TENREG_EINVAL);
    cr_assert_eq(tenreg_recheck(reg, long_id), TENREG_EINVAL);
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, max_id, NULL), TENREG_EINVAL);
    cr_assert_eq(tenreg_health_of(NULL, max_id, &h), TENREG_EINVAL);
    cr_assert_eq(tenreg_new(NULL, NULL), TENREG_EINVAL);
    cr_assert_eq(tenreg_count(NULL), 0);
    tenreg_free(NULL);
}

/* ---- inspection --------------------------------------------------------- */

struct collected {
    int n;
    char ids[8][32];
    tenreg_health h[8];
    int stop_after;
};

static int collect(void *ctx, const char *id, tenreg_health h)
{
    struct collected *c = ctx;
    snprintf(c->ids[c->n], sizeof(c->ids[0]), "%s", id);
    c->h[c->n] = h;
    c->n++;
    return c->n == c->stop_after ? 77 : 0;
}

TT_TEST(finish, health, foreach_lists_every_tenant_with_health)
{
    reg_eager("a", "a.example", 0);
    reg_eager("b", "b.example", TENREG_AWAIT_FIRST_VALIDATION);
    reg_eager("c", "c.example", 0);
    struct collected c = {0};
    cr_assert_eq(tenreg_foreach(reg, collect, &c), 0);
    cr_assert_eq(c.n, 3);
    int seen = 0;
    for (int i = 0; i < c.n; i++) {
        if (!strcmp(c.ids[i], "b")) {
            cr_assert_eq(c.h[i], TENREG_HEALTHY);
            seen |= 2;
        } else {
            cr_assert_eq(c.h[i], TENREG_PENDING);
            seen |= !strcmp(c.ids[i], "a") ? 1 : 4;
        }
    }
    cr_assert_eq(seen, 7);

    struct collected stop = {.stop_after = 2};
    cr_assert_eq(tenreg_foreach(reg, collect, &stop), 77, "returns fn's first non-zero");
    cr_assert_eq(stop.n, 2);
    cr_assert_eq(tenreg_foreach(reg, NULL, NULL), TENREG_EINVAL);
}

static int unregister_from_callback(void *ctx, const char *id, tenreg_health h)
{
    (void)h;
    return tenreg_unregister(ctx, id) == TENREG_OK ? 0 : 1;
}

TT_TEST(finish, health, foreach_callback_may_call_admin_functions)
{
    reg_eager("a", "a.example", 0);
    reg_eager("b", "b.example", 0);
    cr_assert_eq(tenreg_foreach(reg, unregister_from_callback, reg), 0);
    cr_assert_eq(tenreg_count(reg), 0);
}

/* ---- names -------------------------------------------------------------- */

TT_TEST(finish, health, serves_and_names)
{
    cr_assert_eq(tenreg_serves(TENREG_HEALTHY, TENREG_SERVE_DEFAULT), 1);
    cr_assert_eq(tenreg_serves(TENREG_UNVERIFIED, TENREG_SERVE_DEFAULT), 1);
    cr_assert_eq(tenreg_serves(TENREG_PENDING, TENREG_SERVE_DEFAULT), 0);
    cr_assert_eq(tenreg_serves(TENREG_DISABLED, TENREG_SERVE_DEFAULT), 0);
    cr_assert_eq(tenreg_serves(TENREG_PENDING, TENREG_SERVE(TENREG_PENDING)), 1);
    cr_assert_eq(tenreg_serves(TENREG_HEALTHY, TENREG_SERVE(TENREG_PENDING)), 0);
    cr_assert_eq(tenreg_serves((tenreg_health)9, ~0u), 0);
    cr_assert_str_eq(tenreg_health_name(TENREG_PENDING), "pending");
    cr_assert_str_eq(tenreg_health_name(TENREG_HEALTHY), "healthy");
    cr_assert_str_eq(tenreg_health_name(TENREG_UNVERIFIED), "unverified");
    cr_assert_str_eq(tenreg_health_name(TENREG_DISABLED), "disabled");
    cr_assert_str_eq(tenreg_health_name((tenreg_health)9), "unknown");
    cr_assert_str_eq(tenreg_err_name(TENREG_EEXIST), "TENREG_EEXIST");
    cr_assert_str_eq(tenreg_err_name(0), "TENREG_OK");
    cr_assert_str_eq(tenreg_err_name(-100), "TENREG_EUNKNOWN");
    cr_assert_eq(TENREG_ENOENT, -1);
    cr_assert_eq(TENREG_EEXIST, -9);
    for (int e = -9; e <= 0; e++)
        cr_assert_str_neq(tenreg_strerror(e), "unknown error", "code %d", e);
    cr_assert_str_eq(tenreg_strerror(5), "unknown error");
    cr_assert_eq(tenreg_version(), TENREG_VERSION_NUMBER);
    cr_assert_str_eq(tenreg_version_string(), TENREG_VERSION_STRING);
    cr_assert_str_eq(tenreg_flavor(), "memb");
}
