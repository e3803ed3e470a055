/*
 * Events (docs/design.md §8.3): what each change announces, in the order
 * readers saw the changes, on one registry thread; a callback that calls
 * tenreg neither deadlocks nor reorders; tenreg_free delivers what was
 * published before it; and, under several admin threads and builders
 * changing the same tenants, the event stream replayed gives every
 * tenant's final health.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

#define MAX_EVENTS 200000

struct seen {
    tenreg_event_kind kind;
    char id[32];
    tenreg_health from, to;
    tenreg_verdict verdict;
    char reason[TENREG_REASON_MAX + 1];
    int64_t at_ns;
    pthread_t thread;
};

static struct seen *seen;
static _Atomic int nseen;
static sem_t delivered;
/* Optional behaviour of the callback, per test. */
static void (*on_seen)(const struct seen *s);

static void record_event(void *ctx, const tenreg_event *ev)
{
    (void)ctx;
    int i = atomic_load(&nseen);
    cr_assert_lt(i, MAX_EVENTS);
    struct seen *s = &seen[i];
    s->kind = ev->kind;
    snprintf(s->id, sizeof(s->id), "%s", ev->tenant_id);
    s->from = ev->from;
    s->to = ev->to;
    s->verdict = ev->verdict;
    snprintf(s->reason, sizeof(s->reason), "%s", ev->reason);
    s->at_ns = ev->at_ns;
    s->thread = pthread_self();
    atomic_store(&nseen, i + 1); /* one delivering thread: no race on i */
    if (on_seen)
        on_seen(s);
    sem_post(&delivered);
}

static tenreg_t *reg;
static struct tt_free_counter frees;
static _Atomic int answer = 1;
static const char *said;

static int validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    (void)ctx;
    (void)tenant_id;
    (void)agent_url;
    if (said)
        tenreg_set_reason(said);
    return atomic_load(&answer);
}

static _Atomic int factory_rc;
static int factory(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    if (atomic_load(&factory_rc) < 0) {
        tenreg_set_reason("factory says no");
        return -1;
    }
    *platform = tt_platform_new(tenant_id, "built");
    return 0;
}

static void make(unsigned builders)
{
    tenreg_config cfg = {.validator = validator,
                         .platform_free = tt_count_free, .platform_free_ctx = &frees,
                         .on_event = record_event, .builder_threads = builders};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
}

static void setup(void)
{
    tt_thread_init();
    seen = calloc(MAX_EVENTS, sizeof(*seen));
    atomic_store(&nseen, 0);
    sem_init(&delivered, 0, 0);
    on_seen = NULL;
    said = NULL;
    atomic_store(&answer, 1);
    atomic_store(&factory_rc, 0);
    make(1);
}

static void finish(void)
{
    tenreg_free(reg);
    reg = NULL;
    cr_assert_eq(atomic_load(&frees.double_frees), 0);
    cr_assert_eq(tt_platforms_not_freed_once(), 0);
}

static void teardown(void)
{
    tenreg_free(reg);
    reg = NULL;
    free(seen);
    tt_thread_fini();
    tt_platforms_release();
}

TestSuite(events, .init = setup, .fini = teardown, .timeout = 120);

/* Waits (bounded) until @n events have been delivered in all. */
static void wait_events(int n)
{
    while (atomic_load(&nseen) < n)
        TT_SEM_WAIT(&delivered, "an event that was published");
}

static int build(const char *host)
{
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve(reg, host, strlen(host), 0, &r);
    tenreg_read_unlock();
    return rc;
}

struct want {
    tenreg_event_kind kind;
    const char *id;
    tenreg_health from, to;
    tenreg_verdict verdict;
    const char *reason;
};

#define P TENREG_PENDING
#define H TENREG_HEALTHY
#define U TENREG_UNVERIFIED
#define D TENREG_DISABLED

TT_TEST(finish, events, each_change_announces_itself_in_order)
{
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", ""), 0), TENREG_OK);
    cr_assert_eq(tenreg_recheck(reg, "a"), TENREG_OK);
    cr_assert_eq(tenreg_recheck(reg, "a"), TENREG_OK); /* no change: no event */
    said = "revoked";
    atomic_store(&answer, 0);
    cr_assert_eq(tenreg_recheck(reg, "a"), TENREG_EVALIDATOR);
    said = NULL;
    atomic_store(&answer, 1);
    cr_assert_eq(tenreg_register(reg, "a", "a.example", tt_platform_new("a", "2"), 0), TENREG_OK);
    cr_assert_eq(tenreg_register_lazy(reg, "l", "l.example", factory, NULL, 0), TENREG_OK);
    cr_assert_eq(build("l.example"), TENREG_OK);
    atomic_store(&factory_rc, -1);
    cr_assert_eq(tenreg_register_lazy(reg, "f", "f.example", factory, NULL, 0), TENREG_OK);
    cr_assert_eq(build("f.example"), TENREG_EFACTORY);
    cr_assert_eq(tenreg_unregister(reg, "a"), TENREG_OK);
    cr_assert_eq(tenreg_unregister(reg, "a"), TENREG_ENOENT); /* nothing changed */
    cr_assert_eq(tenreg_register(reg, "b", "a.example", tt_platform_new("b", ""),
                                 TENREG_AWAIT_FIRST_VALIDATION),
                 TENREG_OK);

    static const struct want want[] = {
        {TENREG_EV_REGISTERED, "a", P, P, TENREG_UNCHECKED, ""},
        {TENREG_EV_HEALTH, "a", P, H, TENREG_VALID, ""},
        {TENREG_EV_HEALTH, "a", H, U, TENREG_INVALID, "revoked"},
        {TENREG_EV_REGISTERED, "a", U, P, TENREG_UNCHECKED, ""},
        {TENREG_EV_REGISTERED, "l", P, P, TENREG_UNCHECKED, ""},
        {TENREG_EV_BUILT, "l", P, H, TENREG_VALID, ""},
        {TENREG_EV_HEALTH, "l", P, H, TENREG_VALID, ""},
        {TENREG_EV_REGISTERED, "f", P, P, TENREG_UNCHECKED, ""},
        {TENREG_EV_BUILD_FAILED, "f", P, D, TENREG_BUILD_FAILED, "factory says no"},
        {TENREG_EV_HEALTH, "f", P, D, TENREG_BUILD_FAILED, "factory says no"},
        {TENREG_EV_UNREGISTERED, "a", P, P, TENREG_UNCHECKED, ""},
        {TENREG_EV_REGISTERED, "b", P, P, TENREG_UNCHECKED, ""},
        {TENREG_EV_HEALTH, "b", P, H, TENREG_VALID, ""},
    };
    int n = (int)(sizeof(want) / sizeof(want[0]));
    wait_events(n);
    tenreg_stats st;
    cr_assert_eq(tenreg_stats_of(reg, &st), TENREG_OK);
    cr_assert_eq(st.events, (uint64_t)n);
    cr_assert_eq(st.events_dropped, 0);
    for (int i = 0; i < n; i++) {
        const struct seen *s = &seen[i];
        cr_log_info("%2d kind %d %-2s %-10s -> %-10s verdict %d reason '%s'", i, s->kind, s->id,
                    tenreg_health_name(s->from), tenreg_health_name(s->to), s->verdict,
                    s->reason);
        cr_expect_eq(s->kind, want[i].kind, "event %d", i);
        cr_expect_str_eq(s->id, want[i].id, "event %d", i);
        cr_expect_eq(s->from, want[i].from, "event %d: from", i);
        cr_expect_eq(s->to, want[i].to, "event %d: to", i);
        cr_expect_eq(s->verdict, want[i].verdict, "event %d: verdict", i);
        cr_expect_str_eq(s->reason, want[i].reason, "event %d: reason", i);
        cr_expect_gt(s->at_ns, 0);
        if (i > 0)
            cr_expect_geq(s->at_ns, seen[i - 1].at_ns, "event %d: time goes forward", i);
        cr_expect(pthread_equal(s->thread, seen[0].thread), "one delivering thread");
        cr_expect(!pthread_equal(s->thread, pthread_self()), "not the caller's thread");
    }
}

/* A callback that makes admin calls: on x's registration it rechecks x,
 * registers y and unregisters x; nothing deadlocks, and what it changes
 * comes after what it was told. */
static void reenter(const struct seen *s)
{
    if (s->kind == TENREG_EV_REGISTERED && strcmp(s->id, "x") == 0) {
        int rc = tenreg_recheck(reg, "x");
        cr_assert_eq(rc, TENREG_OK, "recheck from the callback: %s", tenreg_err_name(rc));
        cr_assert_eq(tenreg_register(reg, "y", "y.example", tt_platform_new("y", ""), 0),
                     TENREG_OK);
        tenreg_status st;
        cr_assert_eq(tenreg_status_of(reg, "x", &st), TENREG_OK);
        tenreg_resolution r;
        tenreg_read_lock();
        cr_assert_eq(tenreg_resolve_by_host(reg, "x.example", 9, &r), TENREG_OK);
        tenreg_read_unlock();
        cr_assert_eq(tenreg_unregister(reg, "x"), TENREG_OK);
    }
}

TT_TEST(finish, events, callback_may_call_tenreg)
{
    on_seen = reenter;
    cr_assert_eq(tenreg_register(reg, "x", "x.example", tt_platform_new("x", ""), 0), TENREG_OK);
    wait_events(4);
    cr_assert_eq(seen[0].kind, TENREG_EV_REGISTERED);
    cr_assert_eq(seen[1].kind, TENREG_EV_HEALTH);
    cr_assert_str_eq(seen[1].id, "x");
    cr_assert_eq(seen[2].kind, TENREG_EV_REGISTERED);
    cr_assert_str_eq(seen[2].id, "y");
    cr_assert_eq(seen[3].kind, TENREG_EV_UNREGISTERED);
    cr_assert_eq(seen[3].from, TENREG_HEALTHY);
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, "x", &h), TENREG_ENOENT);
}

/* tenreg_free delivers every event published before it, even when the
 * callback is slow: the first delivery waits at a gate while ten more
 * changes are published, then tenreg_free runs. */
static sem_t gate;
static void slow_first(const struct seen *s)
{
    if (s == &seen[0])
        tt_sem_wait_s(&gate, 3 * TT_WAIT_S);
}

static void *free_registry(void *arg)
{
    (void)arg;
    tenreg_free(reg);
    return NULL;
}

TT_TEST(finish, events, free_delivers_what_was_published_before_it)
{
    sem_init(&gate, 0, 0);
    on_seen = slow_first;
    char id[16];
    for (int i = 0; i < 11; i++) {
        snprintf(id, sizeof(id), "t%d", i);
        cr_assert_eq(tenreg_register(reg, id, id, tt_platform_new(id, ""), 0), TENREG_OK);
    }
    cr_assert_lt(atomic_load(&nseen), 11, "the gate holds the first delivery");
    struct tt_bounded b;
    tt_bounded_start(&b, free_registry, NULL);
    sem_post(&gate);
    TT_BOUNDED_JOIN(&b, "tenreg_free with events queued");
    reg = NULL;
    cr_assert_eq(atomic_load(&nseen), 11, "every event published before tenreg_free");
    for (int i = 0; i < 11; i++)
        cr_assert_eq(seen[i].kind, TENREG_EV_REGISTERED);
    cr_assert_eq(atomic_load(&frees.double_frees), 0);
}

/* ---- ordering under concurrency ------------------------------------------- */

#define TENANTS 6
static atomic_bool stop;

static void *admin_thread(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    char id[16], url[32];
    for (int n = 0; n < (int)tt_iters(3000); n++) {
        seed = seed * 1103515245u + 12345u;
        unsigned x = seed >> 8;
        snprintf(id, sizeof(id), "t%u", x % TENANTS);
        snprintf(url, sizeof(url), "t%u.example", x % TENANTS);
        switch ((x / TENANTS) % 8) {
        case 0:
            (void)tenreg_register(reg, id, url, tt_platform_new(id, url), 0);
            break;
        case 1:
            (void)tenreg_register_lazy(reg, id, url, factory, NULL, 0);
            break;
        case 2:
            (void)tenreg_unregister(reg, id);
            break;
        default:
            (void)tenreg_recheck(reg, id);
            break;
        }
    }
    return NULL;
}

/* Flips the validator's answer and resolves (starting lazy builds). */
static void *chaos_thread(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    tenreg_thread_register();
    char url[32];
    while (!atomic_load(&stop)) {
        seed = seed * 1103515245u + 12345u;
        unsigned x = seed >> 8;
        atomic_store(&answer, (int)(x % 3) - 1);
        atomic_store(&factory_rc, x % 5 == 0 ? -1 : 0);
        snprintf(url, sizeof(url), "t%u.example", (x / 3) % TENANTS);
        tenreg_resolution r;
        tenreg_read_lock();
        (void)tenreg_resolve(reg, url, strlen(url), TENREG_NOWAIT, &r);
        tenreg_read_unlock();
    }
    tenreg_thread_unregister();
    return NULL;
}

TT_TEST(finish, events, replayed_stream_gives_every_final_health)
{
    tenreg_free(reg);
    make(2);
    pthread_t admins[3], chaos;
    cr_assert_eq(pthread_create(&chaos, NULL, chaos_thread, (void *)77), 0);
    for (uintptr_t i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&admins[i], NULL, admin_thread, (void *)(i + 1)), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(admins[i], NULL);
    atomic_store(&stop, true);
    pthread_join(chaos, NULL);
    /* Builds still queued finish (or are discarded) on the builders; a
     * recheck of each tenant, in its turn, comes after all of them. */
    char id[16];
    for (int t = 0; t < TENANTS; t++) {
        snprintf(id, sizeof(id), "t%d", t);
        (void)tenreg_recheck(reg, id);
    }
    tenreg_stats st;
    cr_assert_eq(tenreg_stats_of(reg, &st), TENREG_OK);
    cr_assert_eq(st.events_dropped, 0);
    wait_events((int)st.events);

    /* Replay: each tenant's health, or -1 when not registered. Every
     * event must start from the health the replay says it had. */
    int health[TENANTS];
    for (int t = 0; t < TENANTS; t++)
        health[t] = -1;
    int n = atomic_load(&nseen), kinds[6] = {0};
    for (int i = 0; i < n; i++) {
        const struct seen *s = &seen[i];
        int t = atoi(s->id + 1);
        kinds[s->kind]++;
        switch (s->kind) {
        case TENREG_EV_REGISTERED:
            if (health[t] >= 0)
                cr_assert_eq(s->from, health[t], "event %d: re-registration from", i);
            cr_assert_eq(s->to, TENREG_PENDING);
            health[t] = TENREG_PENDING;
            break;
        case TENREG_EV_UNREGISTERED:
            cr_assert_eq(s->from, health[t], "event %d: unregistered from", i);
            health[t] = -1;
            break;
        case TENREG_EV_HEALTH:
            cr_assert_neq(s->from, s->to, "event %d: HEALTH without a change", i);
            cr_assert_eq(s->from, health[t], "event %d (%s): from %s, replay says %s", i, s->id,
                         tenreg_health_name(s->from), tenreg_health_name(health[t]));
            health[t] = s->to;
            break;
        default: /* BUILT, BUILD_FAILED: the HEALTH event that follows moves it */
            cr_assert_eq(s->from, health[t], "event %d: build from", i);
            if (s->from != s->to)
                cr_assert(i + 1 < n && seen[i + 1].kind == TENREG_EV_HEALTH &&
                              strcmp(seen[i + 1].id, s->id) == 0,
                          "event %d: a build that changed health is followed by HEALTH", i);
            break;
        }
    }
    cr_log_info("%d events: %d registered, %d unregistered, %d health, %d built, %d build failed",
                n, kinds[1], kinds[2], kinds[3], kinds[4], kinds[5]);
    cr_assert_gt(kinds[TENREG_EV_HEALTH], 0);
    cr_assert_gt(kinds[TENREG_EV_UNREGISTERED], 0);
    for (int t = 0; t < TENANTS; t++) {
        snprintf(id, sizeof(id), "t%d", t);
        tenreg_health h;
        int rc = tenreg_health_of(reg, id, &h);
        if (health[t] < 0)
            cr_assert_eq(rc, TENREG_ENOENT, "%s: the events say unregistered", id);
        else
            cr_assert(rc == TENREG_OK && (int)h == health[t], "%s: registry %s, events %s", id,
                      rc ? "absent" : tenreg_health_name(h), tenreg_health_name(health[t]));
    }
}
