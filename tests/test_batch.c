/*
 * Atomic batches (docs/design.md §8.5): ops checked as they are added, a
 * commit applying them in order as one change (host swaps and moves that
 * single calls cannot make), keep and REPLACE_ALL, events in batch order,
 * platforms' ownership, every bad batch leaving the registry exactly as it
 * was (tenants, health, hosts, what lookups answer, the registry's bytes),
 * and, with forced interleavings, that a read section spanning a commit
 * sees only the old state and that admin calls wait for the commit.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

static tenreg_t *reg;
static struct tt_free_counter frees;
static int verdict = 1;

/* Events, as "KIND id" lines. */
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static char ev_log[8192];
static _Atomic int ev_count;

static void on_event(void *ctx, const tenreg_event *ev)
{
    (void)ctx;
    pthread_mutex_lock(&ev_lock);
    size_t n = strlen(ev_log);
    snprintf(ev_log + n, sizeof(ev_log) - n, "%s %s\n",
             ev->kind == TENREG_EV_REGISTERED     ? "REG"
             : ev->kind == TENREG_EV_UNREGISTERED ? "UNREG"
                                                  : "OTHER",
             ev->tenant_id);
    pthread_mutex_unlock(&ev_lock);
    atomic_fetch_add(&ev_count, 1);
}

static void setup(void)
{
    tt_thread_init();
    verdict = 1;
    ev_log[0] = '\0';
    atomic_store(&ev_count, 0);
    tenreg_config cfg = {.validator = tt_validator_verdict, .validator_ctx = &verdict,
                         .platform_free = tt_count_free, .platform_free_ctx = &frees,
                         .on_event = on_event};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
}

static void finish(void)
{
    tenreg_free(reg);
    reg = NULL;
    cr_assert_eq(atomic_load(&frees.double_frees), 0, "a platform was freed twice");
    cr_assert_eq(tt_platforms_not_freed_once(), 0, "a platform was not freed exactly once");
}

static void teardown(void)
{
    tenreg_free(reg);
    reg = NULL;
    tt_thread_fini();
    tt_platforms_release();
}

TestSuite(batch, .init = setup, .fini = teardown, .timeout = 60);

static struct tt_platform *plat(const char *id)
{
    return tt_platform_new(id, "");
}

static void reg_eager(const char *id, const char *url)
{
    cr_assert_eq(tenreg_register(reg, id, url, plat(id), 0), TENREG_OK, "register %s", id);
}

static int make_platform(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    *platform = plat(tenant_id);
    return 0;
}

/* The tenant that answers @host ("-": none) and its platform. */
static const char *owner_of(const char *host, char *buf, void **platform)
{
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(reg, host, strlen(host), &r);
    snprintf(buf, 64, "%s", rc == TENREG_OK || rc == TENREG_EPENDING ? r.tenant_id : "-");
    if (platform)
        *platform = r.platform;
    tenreg_read_unlock();
    return buf;
}

#define ASSERT_OWNER(host_, want_)                                                 \
    do {                                                                           \
        char b_[64];                                                               \
        cr_assert_str_eq(owner_of((host_), b_, NULL), (want_), "owner of %s", (host_)); \
    } while (0)

/* ---- a snapshot of everything a batch could change ----------------------- */

struct snap {
    char text[16384];
    size_t len;
};

static int snap_host(void *ctx, const char *h)
{
    struct snap *s = ctx;
    s->len += (size_t)snprintf(s->text + s->len, sizeof(s->text) - s->len, " %s", h);
    return 0;
}

static int snap_tenant(void *ctx, const char *id, tenreg_health h)
{
    struct snap *s = ctx;
    tenreg_status st;
    cr_assert_eq(tenreg_status_of(reg, id, &st), TENREG_OK);
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve_by_id(reg, id, TENREG_NOWAIT, &r);
    void *p = r.platform;
    tenreg_read_unlock();
    s->len += (size_t)snprintf(s->text + s->len, sizeof(s->text) - s->len,
                               "%s h=%d built=%d rc=%d p=%p hosts:", id, (int)h, st.built, rc, p);
    cr_assert_eq(tenreg_foreach_host(reg, id, snap_host, s), 0);
    s->len += (size_t)snprintf(s->text + s->len, sizeof(s->text) - s->len, "\n");
    return 0;
}

static int cmp_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Tenants (sorted), their health, build state, platform and hosts, the
 * registry's live bytes. */
static void take_snap(struct snap *out)
{
    struct snap raw = {.len = 0};
    raw.text[0] = '\0';
    cr_assert_eq(tenreg_foreach(reg, snap_tenant, &raw), 0);
    char *lines[256];
    size_t n = 0;
    for (char *tok = strtok(raw.text, "\n"); tok && n < 256; tok = strtok(NULL, "\n"))
        lines[n++] = tok;
    qsort(lines, n, sizeof(lines[0]), cmp_lines);
    out->len = 0;
    out->text[0] = '\0';
    for (size_t i = 0; i < n; i++)
        out->len += (size_t)snprintf(out->text + out->len, sizeof(out->text) - out->len, "%s\n",
                                     lines[i]);
    /* The bytes once everything retired earlier is freed (call_rcu runs
     * on its own time) and every event delivered (the event thread frees
     * each one after its callback): the same twice, 2 ms apart. */
    tenreg_stats st;
    size_t last = (size_t)-1;
    long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
    for (;;) {
        cr_assert_eq(tenreg_stats_of(reg, &st), TENREG_OK);
        bool settled = st.deferred == 0 && (uint64_t)atomic_load(&ev_count) == st.events;
        if ((settled && st.bytes == last) || tt_now_ns() > deadline)
            break;
        last = settled ? st.bytes : (size_t)-1;
        usleep(2000);
    }
    cr_assert_eq(st.deferred, 0, "retired objects never freed");
    out->len += (size_t)snprintf(out->text + out->len, sizeof(out->text) - out->len,
                                 "tenants=%zu hosts=%zu patterns=%zu bytes=%zu\n", st.tenants,
                                 st.hosts, st.patterns, st.bytes);
}

/* A registry with some of everything: eager tenants with extra hosts and a
 * pattern, one healthy, one unverified, a built lazy tenant. */
static void populate(void)
{
    reg_eager("a", "https://a.example");
    reg_eager("b", "https://b.example");
    reg_eager("c", "https://c.example");
    cr_assert_eq(tenreg_add_host(reg, "a", "a2.example"), TENREG_OK);
    cr_assert_eq(tenreg_add_host(reg, "b", "*.b.example"), TENREG_OK);
    cr_assert_eq(tenreg_recheck(reg, "a"), TENREG_OK);
    verdict = -1;
    cr_assert_eq(tenreg_recheck(reg, "c"), TENREG_EVALIDATOR);
    verdict = 1;
    cr_assert_eq(tenreg_register_lazy(reg, "l", "https://l.example", make_platform, NULL,
                                      TENREG_AWAIT_FIRST_VALIDATION),
                 TENREG_OK);
}

/* ---- ops ----------------------------------------------------------------- */

TT_TEST(finish, batch, ops_are_checked_as_added)
{
    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(NULL, &b), TENREG_EINVAL);
    cr_assert_eq(tenreg_batch_new(reg, NULL), TENREG_EINVAL);
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    char long_id[300];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    struct tt_platform *p = plat("n");
    const struct {
        int rc;
        const char *what;
    } bad[] = {
        {tenreg_batch_register(NULL, "n", "n.example", p), "NULL batch"},
        {tenreg_batch_register(b, NULL, "n.example", p), "NULL id"},
        {tenreg_batch_register(b, "", "n.example", p), "empty id"},
        {tenreg_batch_register(b, long_id, "n.example", p), "long id"},
        {tenreg_batch_register(b, "n", NULL, p), "NULL url"},
        {tenreg_batch_register(b, "n", "http://bad host/", p), "bad url"},
        {tenreg_batch_register(b, "n", "n.example", NULL), "NULL platform"},
        {tenreg_batch_register_lazy(b, "n", "n.example", NULL, NULL), "NULL factory"},
        {tenreg_batch_add_host(b, "n", NULL), "NULL host"},
        {tenreg_batch_add_host(b, "n", "*"), "bare *"},
        {tenreg_batch_add_host(b, "n", "a.*.b"), "inner *"},
        {tenreg_batch_add_host(b, "n", "*.a.b:80"), "pattern with a port"},
        {tenreg_batch_add_host(b, NULL, "x.example"), "add_host NULL id"},
        {tenreg_batch_unregister(b, ""), "unregister empty id"},
        {tenreg_batch_keep(b, NULL), "keep NULL id"},
        {tenreg_batch_commit(NULL, 0), "commit NULL"},
        {tenreg_batch_commit(b, 2u), "unknown flag"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(bad[i].rc, TENREG_EINVAL, "%s: %s", bad[i].what, tenreg_err_name(bad[i].rc));
    /* None of them was recorded: the batch is one registration. */
    cr_assert_eq(tenreg_batch_register(b, "n", "https://n.example", p), TENREG_OK);
    cr_assert_eq(tenreg_batch_commit(b, 0), TENREG_OK);
    cr_assert_eq(tenreg_count(reg), 1);
    ASSERT_OWNER("n.example", "n");
    /* Committed once: no more ops, no second commit. */
    struct tt_platform *q = plat("m");
    cr_assert_eq(tenreg_batch_register(b, "m", "m.example", q), TENREG_EINVAL);
    cr_assert_eq(tenreg_batch_keep(b, "n"), TENREG_EINVAL);
    cr_assert_eq(tenreg_batch_commit(b, 0), TENREG_EINVAL);
    tt_platform_keep(q);
    tenreg_batch_free(b);
    tenreg_batch_free(NULL);
}

TT_TEST(finish, batch, load_registers_everything_pending_with_events_in_order)
{
    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    cr_assert_eq(tenreg_batch_register(b, "t1", "https://t1.example", plat("t1")), TENREG_OK);
    cr_assert_eq(tenreg_batch_register_lazy(b, "t2", "https://t2.example/agent", make_platform, NULL),
                 TENREG_OK);
    cr_assert_eq(tenreg_batch_add_host(b, "t2", "T2-alt.example."), TENREG_OK);
    cr_assert_eq(tenreg_batch_add_host(b, "t1", "*.t1.example"), TENREG_OK);
    cr_assert_eq(tenreg_batch_register(b, "t3", "t3.example:8443", plat("t3")), TENREG_OK);
    cr_assert_eq(tenreg_count(reg), 0, "nothing before the commit");
    cr_assert_eq(tenreg_batch_commit(b, 0), TENREG_OK);
    tenreg_batch_free(b);
    cr_assert_eq(tenreg_count(reg), 3);
    ASSERT_OWNER("t1.example", "t1");
    ASSERT_OWNER("x.t1.example", "t1");
    ASSERT_OWNER("t2-alt.example", "t2");
    ASSERT_OWNER("t3.example", "t3");
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, "t1", &h), TENREG_OK);
    cr_assert_eq(h, TENREG_PENDING);
    /* The lazy one builds on first use, through its extra host too. */
    tenreg_resolution r;
    tenreg_read_lock();
    cr_assert_eq(tenreg_resolve(reg, "t2-alt.example", 14, 0, &r), TENREG_OK);
    cr_assert_str_eq(((struct tt_platform *)r.platform)->tenant_id, "t2");
    tenreg_read_unlock();
    tenreg_stats st;
    cr_assert_eq(tenreg_stats_of(reg, &st), TENREG_OK);
    cr_assert_eq(st.health[TENREG_PENDING], 2);
    cr_assert_eq(st.health[TENREG_HEALTHY], 1);
    cr_assert_eq(st.patterns, 1);
    tenreg_free(reg); /* delivers every event */
    reg = NULL;
    cr_assert(strncmp(ev_log, "REG t1\nREG t2\nREG t3\n", 21) == 0, "events: %s", ev_log);
}

TT_TEST(finish, batch, swaps_and_moves_that_single_calls_cannot_make)
{
    reg_eager("a", "https://a.example");
    reg_eager("b", "https://b.example");
    /* One call at a time: the second registration collides. */
    struct tt_platform *p = plat("a");
    cr_assert_eq(tenreg_register(reg, "a", "https://b.example", p, 0), TENREG_EEXIST);
    tt_platform_keep(p);
    tenreg_batch *bt;
    cr_assert_eq(tenreg_batch_new(reg, &bt), TENREG_OK);
    cr_assert_eq(tenreg_batch_register(bt, "a", "https://b.example", plat("a")), TENREG_OK);
    cr_assert_eq(tenreg_batch_register(bt, "b", "https://a.example", plat("b")), TENREG_OK);
    cr_assert_eq(tenreg_batch_commit(bt, 0), TENREG_OK);
    tenreg_batch_free(bt);
    ASSERT_OWNER("a.example", "b");
    ASSERT_OWNER("b.example", "a");
    cr_assert_eq(tenreg_count(reg), 2);
    /* A move to a new tenant in the same change, unregister first. */
    cr_assert_eq(tenreg_batch_new(reg, &bt), TENREG_OK);
    cr_assert_eq(tenreg_batch_unregister(bt, "a"), TENREG_OK);
    cr_assert_eq(tenreg_batch_register(bt, "n", "https://b.example", plat("n")), TENREG_OK);
    cr_assert_eq(tenreg_batch_add_host(bt, "b", "extra.example"), TENREG_OK);
    cr_assert_eq(tenreg_batch_commit(bt, 0), TENREG_OK);
    tenreg_batch_free(bt);
    ASSERT_OWNER("b.example", "n");
    ASSERT_OWNER("extra.example", "b");
    cr_assert_eq(tenreg_count(reg), 2);
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, "a", &h), TENREG_ENOENT);
}

TT_TEST(finish, batch, keep_and_replace_all_sync_to_a_desired_set)
{
    populate();
    reg_eager("x", "https://x.example");
    char buf[64];
    void *pa, *pl;
    owner_of("a.example", buf, &pa);
    owner_of("l.example", buf, &pl);
    cr_assert_not_null(pl, "the lazy tenant was built");

    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    cr_assert_eq(tenreg_batch_keep(b, "a"), TENREG_OK);
    cr_assert_eq(tenreg_batch_keep(b, "l"), TENREG_OK);
    cr_assert_eq(tenreg_batch_add_host(b, "b", "b2.example"), TENREG_OK); /* names b */
    cr_assert_eq(tenreg_batch_register(b, "n", "https://n.example", plat("n")), TENREG_OK);
    cr_assert_eq(tenreg_batch_commit(b, TENREG_BATCH_REPLACE_ALL), TENREG_OK);
    tenreg_batch_free(b);

    /* Kept: exactly as they were. */
    void *pa2, *pl2;
    cr_assert_str_eq(owner_of("a.example", buf, &pa2), "a");
    cr_assert_eq(pa2, pa);
    ASSERT_OWNER("a2.example", "a");
    cr_assert_str_eq(owner_of("l.example", buf, &pl2), "l");
    cr_assert_eq(pl2, pl, "the built lazy platform survives");
    tenreg_status st;
    cr_assert_eq(tenreg_status_of(reg, "a", &st), TENREG_OK);
    cr_assert_eq(st.health, TENREG_HEALTHY);
    cr_assert_eq(st.hosts, 2);
    cr_assert_eq(tenreg_status_of(reg, "l", &st), TENREG_OK);
    cr_assert(st.built);
    /* Named by an add: kept too, with the new host. */
    ASSERT_OWNER("b2.example", "b");
    ASSERT_OWNER("q.b.example", "b");
    ASSERT_OWNER("n.example", "n");
    /* Not named: unregistered in the same change. */
    ASSERT_OWNER("c.example", "-");
    ASSERT_OWNER("x.example", "-");
    cr_assert_eq(tenreg_count(reg), 4);
    tenreg_free(reg);
    reg = NULL;
    /* One event per change: the registration, then the unnamed ones (in
     * table order), after everything the set-up announced. */
    const char *tail = strstr(ev_log, "REG x\n");
    cr_assert_not_null(tail, "events: %s", ev_log);
    tail += strlen("REG x\n");
    cr_assert(strcmp(tail, "REG n\nUNREG c\nUNREG x\n") == 0 ||
                  strcmp(tail, "REG n\nUNREG x\nUNREG c\n") == 0,
              "events after the set-up: %s", tail);
}

TT_TEST(finish, batch, registered_and_unregistered_in_one_batch_is_freed)
{
    struct tt_platform *p = plat("t");
    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    cr_assert_eq(tenreg_batch_register(b, "t", "t.example", p), TENREG_OK);
    cr_assert_eq(tenreg_batch_add_host(b, "t", "t2.example"), TENREG_OK);
    cr_assert_eq(tenreg_batch_unregister(b, "t"), TENREG_OK);
    cr_assert_eq(tenreg_batch_commit(b, 0), TENREG_OK);
    tenreg_batch_free(b);
    cr_assert_eq(atomic_load(&p->freed), 1, "the registry owned it and freed it");
    cr_assert_eq(tenreg_count(reg), 0);
    ASSERT_OWNER("t2.example", "-");
}

TT_TEST(finish, batch, abandoned_batch_leaves_platforms_to_the_caller)
{
    tenreg_batch *b;
    struct tt_platform *p = plat("t");
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    cr_assert_eq(tenreg_batch_register(b, "t", "t.example", p), TENREG_OK);
    tenreg_batch_free(b);
    tt_platform_keep(p);
    cr_assert_eq(atomic_load(&p->freed), 0);
    cr_assert_eq(tenreg_count(reg), 0);
}

/* ---- bad batches change nothing ------------------------------------------ */

enum step_kind { REG, LAZY, ADD, UNREG, KEEP, END };
struct step {
    enum step_kind kind;
    const char *id, *arg;
};

static const struct {
    const char *what;
    int rc;
    unsigned flags;
    struct step steps[6];
} bad_batches[] = {
    {"an id registered twice", TENREG_EEXIST, 0,
     {{REG, "n", "n.example"}, {REG, "n", "n2.example"}, {END, 0, 0}}},
    {"an id kept twice", TENREG_EEXIST, 0, {{KEEP, "a", 0}, {KEEP, "a", 0}, {END, 0, 0}}},
    {"kept, then registered", TENREG_EEXIST, 0,
     {{KEEP, "a", 0}, {REG, "a", "a9.example"}, {END, 0, 0}}},
    {"an op on an id unregistered earlier", TENREG_ENOENT, 0,
     {{UNREG, "a", 0}, {ADD, "a", "z.example"}, {END, 0, 0}}},
    {"unregistered twice", TENREG_ENOENT, 0, {{UNREG, "b", 0}, {UNREG, "b", 0}, {END, 0, 0}}},
    {"keep of an unknown id", TENREG_ENOENT, TENREG_BATCH_REPLACE_ALL,
     {{KEEP, "a", 0}, {KEEP, "nobody", 0}, {END, 0, 0}}},
    {"add_host on an unknown id", TENREG_ENOENT, 0, {{ADD, "nobody", "z.example"}, {END, 0, 0}}},
    {"a new tenant on a kept tenant's host", TENREG_EEXIST, 0,
     {{REG, "n", "https://a2.example"}, {END, 0, 0}}},
    {"two new tenants on one host", TENREG_EEXIST, 0,
     {{REG, "n", "q.example"}, {REG, "m", "q.example"}, {END, 0, 0}}},
    {"a collision that only appears at the end", TENREG_EEXIST, 0,
     {{REG, "n", "q.example"}, {UNREG, "c", 0}, {ADD, "a", "*.b.example"}, {END, 0, 0}}},
    {"an extra host of another tenant", TENREG_EEXIST, 0,
     {{ADD, "c", "a2.example"}, {END, 0, 0}}},
    {"a valid part before a bad one", TENREG_ENOENT, TENREG_BATCH_REPLACE_ALL,
     {{REG, "n", "n.example"}, {LAZY, "m", "m.example"}, {KEEP, "a", 0}, {UNREG, "gone", 0},
      {END, 0, 0}}},
};

/* Records @steps into a new batch; its platforms are marked as the
 * caller's (a bad batch must never free them). */
static tenreg_batch *record(const struct step *steps)
{
    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    for (const struct step *s = steps; s->kind != END; s++) {
        int rc = TENREG_EINVAL;
        struct tt_platform *p;
        switch (s->kind) {
        case REG:
            p = plat(s->id);
            tt_platform_keep(p);
            rc = tenreg_batch_register(b, s->id, s->arg, p);
            break;
        case LAZY:
            rc = tenreg_batch_register_lazy(b, s->id, s->arg, make_platform, NULL);
            break;
        case ADD:
            rc = tenreg_batch_add_host(b, s->id, s->arg);
            break;
        case UNREG:
            rc = tenreg_batch_unregister(b, s->id);
            break;
        case KEEP:
            rc = tenreg_batch_keep(b, s->id);
            break;
        case END:
            break;
        }
        cr_assert_eq(rc, TENREG_OK, "recording %s %s", s->id, s->arg ? s->arg : "");
    }
    return b;
}

TT_TEST(finish, batch, every_bad_batch_leaves_the_registry_as_it_was)
{
    populate();
    struct snap before, after;
    take_snap(&before);
    for (size_t i = 0; i < sizeof(bad_batches) / sizeof(bad_batches[0]); i++) {
        tenreg_batch *b = record(bad_batches[i].steps);
        int rc = tenreg_batch_commit(b, bad_batches[i].flags);
        cr_expect_eq(rc, bad_batches[i].rc, "%s: %s", bad_batches[i].what, tenreg_err_name(rc));
        tenreg_batch_free(b);
        take_snap(&after);
        if (strcmp(after.text, before.text) != 0)
            fprintf(stderr, "before:\n%safter:\n%s", before.text, after.text);
        cr_assert_str_eq(after.text, before.text, "%s changed the registry", bad_batches[i].what);
    }
    ASSERT_OWNER("q.example", "-");
    ASSERT_OWNER("n.example", "-");
}

TT_TEST(finish, batch, host_limit_is_enospc_and_a_failed_commit_can_be_retried)
{
    reg_eager("a", "a.example");
    reg_eager("h", "held.example");
    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    char host[64];
    for (int i = 0; i < TENREG_HOSTS_MAX; i++) { /* one more than a tenant may hold */
        snprintf(host, sizeof(host), "h%d.a.example", i);
        cr_assert_eq(tenreg_batch_add_host(b, "a", host), TENREG_OK);
    }
    struct snap before, after;
    take_snap(&before);
    cr_assert_eq(tenreg_batch_commit(b, 0), TENREG_ENOSPC);
    take_snap(&after);
    cr_assert_str_eq(after.text, before.text);
    tenreg_batch_free(b);

    /* EEXIST, then the holder goes, then the same batch commits. */
    struct tt_platform *p = plat("n");
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    cr_assert_eq(tenreg_batch_register(b, "n", "held.example", p), TENREG_OK);
    cr_assert_eq(tenreg_batch_commit(b, 0), TENREG_EEXIST);
    cr_assert_eq(atomic_load(&p->freed), 0);
    cr_assert_eq(tenreg_unregister(reg, "h"), TENREG_OK);
    cr_assert_eq(tenreg_batch_commit(b, 0), TENREG_OK);
    tenreg_batch_free(b);
    ASSERT_OWNER("held.example", "n");
}

/* ---- forced interleavings ------------------------------------------------- */

struct span {
    sem_t looked_first, go_second, done;
    char first[64], second[64];
};

/* A read section that spans a commit: looks up one host, waits (inside the
 * section) until the commit is visible to new sections, looks up the other. */
static void *spanning_reader(void *arg)
{
    struct span *s = arg;
    tenreg_thread_register();
    tenreg_read_lock();
    tenreg_resolution r;
    int rc = tenreg_resolve_by_host(reg, "one.example", 11, &r);
    snprintf(s->first, sizeof(s->first), "%s", rc == TENREG_OK ? r.tenant_id : "-");
    sem_post(&s->looked_first);
    bool go = tt_sem_wait_s(&s->go_second, TT_WAIT_S);
    rc = tenreg_resolve_by_host(reg, "two.example", 11, &r);
    snprintf(s->second, sizeof(s->second), "%s", go && rc == TENREG_OK ? r.tenant_id : "-");
    tenreg_read_unlock();
    tenreg_thread_unregister();
    sem_post(&s->done);
    return NULL;
}

struct commit_call {
    tenreg_batch *b;
    int rc;
};

static void *run_commit(void *arg)
{
    struct commit_call *c = arg;
    c->rc = tenreg_batch_commit(c->b, 0);
    return NULL;
}

static void *run_unregister(void *arg)
{
    *(int *)arg = tenreg_unregister(reg, "other");
    return NULL;
}

TT_TEST(finish, batch, a_section_spanning_a_commit_sees_only_the_old_state, .timeout = 60)
{
    reg_eager("x", "https://one.example");
    reg_eager("y", "https://two.example");
    reg_eager("other", "https://other.example");
    struct span s;
    sem_init(&s.looked_first, 0, 0);
    sem_init(&s.go_second, 0, 0);
    sem_init(&s.done, 0, 0);
    pthread_t reader;
    pthread_create(&reader, NULL, spanning_reader, &s);
    TT_SEM_WAIT(&s.looked_first, "the reader's first lookup");

    tenreg_batch *b;
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    cr_assert_eq(tenreg_batch_register(b, "x", "https://two.example", plat("x")), TENREG_OK);
    cr_assert_eq(tenreg_batch_register(b, "y", "https://one.example", plat("y")), TENREG_OK);
    struct commit_call cc = {b, 1};
    struct tt_bounded commit;
    tt_bounded_start(&commit, run_commit, &cc);
    /* New sections see the swap as soon as it is installed ... */
    char buf[64];
    long long deadline = tt_now_ns() + (long long)(TT_WAIT_S * 1e9);
    while (strcmp(owner_of("one.example", buf, NULL), "y") != 0 && tt_now_ns() < deadline)
        usleep(100);
    cr_assert_str_eq(buf, "y", "the commit never became visible");
    ASSERT_OWNER("two.example", "x");
    /* ... while the commit waits for the spanning section to end, and an
     * admin call that changes the registry waits for the commit. */
    cr_assert(!tt_bounded_join(&commit, 0.2), "the commit did not wait for the old section");
    int unreg_rc = 1;
    struct tt_bounded unreg;
    tt_bounded_start(&unreg, run_unregister, &unreg_rc);
    TT_WAIT_FUTEX_SLEEP(unreg.tid, "unregister waits for the commit");
    cr_assert_eq(unreg_rc, 1, "unregister returned during the commit");
    /* The spanning section's second lookup: still the old state. */
    sem_post(&s.go_second);
    TT_SEM_WAIT(&s.done, "the reader's end");
    pthread_join(reader, NULL);
    cr_assert_str_eq(s.first, "x");
    cr_assert_str_eq(s.second, "y", "a section saw part of the new state");
    TT_BOUNDED_JOIN(&commit, "the commit after the old section ended");
    cr_assert_eq(cc.rc, TENREG_OK);
    TT_BOUNDED_JOIN(&unreg, "unregister after the commit");
    cr_assert_eq(unreg_rc, TENREG_OK);
    tenreg_batch_free(b);
    ASSERT_OWNER("one.example", "y");
    ASSERT_OWNER("two.example", "x");
    ASSERT_OWNER("other.example", "-");
}

TT_TEST(finish, batch, commit_inside_a_read_section_is_einval)
{
    tenreg_batch *b;
    struct tt_platform *p = plat("t");
    cr_assert_eq(tenreg_batch_new(reg, &b), TENREG_OK);
    cr_assert_eq(tenreg_batch_register(b, "t", "t.example", p), TENREG_OK);
    tenreg_read_lock();
    cr_assert_eq(tenreg_batch_commit(b, 0), TENREG_EINVAL);
    tenreg_read_unlock();
    cr_assert_eq(tenreg_count(reg), 0);
    cr_assert_eq(tenreg_batch_commit(b, 0), TENREG_OK);
    tenreg_batch_free(b);
}

/* ---- races ------------------------------------------------------------------ */

static _Atomic bool race_stop;

/* Commits that swap the hosts of @prefix's five tenants round a ring. */
struct committer {
    const char *prefix;
    unsigned rounds;
    int failures;
};

static int commit_ring(const char *prefix, unsigned shift)
{
    tenreg_batch *b;
    if (tenreg_batch_new(reg, &b) != TENREG_OK)
        return TENREG_ENOMEM;
    int rc = TENREG_OK;
    for (unsigned i = 0; i < 5 && rc == TENREG_OK; i++) {
        char id[32], url[64];
        snprintf(id, sizeof(id), "%s%u", prefix, i);
        snprintf(url, sizeof(url), "%s%u.example", prefix, (i + shift) % 5);
        rc = tenreg_batch_register(b, id, url, plat(id));
    }
    if (rc == TENREG_OK)
        rc = tenreg_batch_commit(b, 0);
    tenreg_batch_free(b);
    return rc;
}

static void *committer(void *arg)
{
    struct committer *c = arg;
    for (unsigned r = 1; r <= c->rounds; r++)
        c->failures += commit_ring(c->prefix, r) != TENREG_OK;
    return NULL;
}

static void *single_calls(void *arg)
{
    int *failures = arg;
    for (unsigned r = 0; !atomic_load(&race_stop); r++) {
        char url[32];
        snprintf(url, sizeof(url), "s%u.example", r % 3);
        *failures += tenreg_register(reg, "s", url, plat("s"), 0) != TENREG_OK;
        *failures += tenreg_add_host(reg, "s", "s-extra.example") != TENREG_OK;
        if (r % 2)
            *failures += tenreg_unregister(reg, "s") != TENREG_OK;
    }
    return NULL;
}

/* Within one section, the five hosts of a ring map to its five tenants by
 * one rotation. */
static void *ring_reader(void *arg)
{
    long *bad = arg;
    tenreg_thread_register();
    while (!atomic_load(&race_stop)) {
        tenreg_read_lock();
        for (int ring = 0; ring < 2; ring++) {
            const char *prefix = ring ? "q" : "p";
            int shift = -1;
            for (unsigned h = 0; h < 5; h++) {
                char host[32];
                snprintf(host, sizeof(host), "%s%u.example", prefix, h);
                tenreg_resolution r;
                if (tenreg_resolve_by_host(reg, host, strlen(host), &r) != TENREG_OK) {
                    ++*bad;
                    continue;
                }
                int owner = r.tenant_id[1] - '0';
                int s = (int)((h + 5 - (unsigned)owner) % 5); /* host = owner + shift */
                if (shift >= 0 && s != shift)
                    ++*bad;
                shift = s;
            }
        }
        tenreg_read_unlock();
    }
    tenreg_thread_unregister();
    return NULL;
}

TT_TEST(finish, batch, commits_and_single_calls_interleave_linearizably, .timeout = 120)
{
    cr_assert_eq(commit_ring("p", 0), TENREG_OK);
    cr_assert_eq(commit_ring("q", 0), TENREG_OK);
    atomic_store(&race_stop, false);
    struct committer c1 = {"p", tt_iters(150), 0}, c2 = {"q", tt_iters(150), 0};
    int single_failures = 0;
    long bad[2] = {0, 0};
    pthread_t t1, t2, ts, r1, r2;
    pthread_create(&r1, NULL, ring_reader, &bad[0]);
    pthread_create(&r2, NULL, ring_reader, &bad[1]);
    pthread_create(&ts, NULL, single_calls, &single_failures);
    pthread_create(&t1, NULL, committer, &c1);
    pthread_create(&t2, NULL, committer, &c2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    atomic_store(&race_stop, true);
    pthread_join(ts, NULL);
    pthread_join(r1, NULL);
    pthread_join(r2, NULL);
    cr_assert_eq(c1.failures + c2.failures, 0, "a commit failed");
    cr_assert_eq(single_failures, 0, "a single call failed");
    cr_assert_eq(bad[0] + bad[1], 0, "a reader saw a ring half rotated");
    /* Each ring ends at its last rotation. */
    char host[32], want[8];
    for (int ring = 0; ring < 2; ring++) {
        unsigned last = ring ? c2.rounds : c1.rounds;
        for (unsigned i = 0; i < 5; i++) {
            snprintf(host, sizeof(host), "%s%u.example", ring ? "q" : "p", (i + last) % 5);
            snprintf(want, sizeof(want), "%s%u", ring ? "q" : "p", i);
            ASSERT_OWNER(host, want);
        }
    }
}

/* Adopter code that commits: a validator (recheck's admin thread) whose
 * batch replaces the very tenant under check, and a platform_free on
 * liburcu's call_rcu thread. */
static sem_t freed_commit_done;
static _Atomic int freed_commit_rc = 1;

static int validator_that_commits(void *ctx, const char *tenant_id, const char *agent_url)
{
    (void)ctx;
    (void)agent_url;
    if (strcmp(tenant_id, "v") != 0)
        return 1;
    tenreg_batch *b;
    if (tenreg_batch_new(reg, &b) != TENREG_OK)
        return -1;
    int rc = tenreg_batch_register(b, "v", "v2.example", plat("v"));
    if (rc == TENREG_OK)
        rc = tenreg_batch_commit(b, 0);
    tenreg_batch_free(b);
    return rc == TENREG_OK ? 1 : -1;
}

static void free_that_commits(void *ctx, void *platform)
{
    struct tt_platform *p = platform;
    tt_count_free(ctx, platform);
    if (strcmp(p->tenant_id, "trigger") != 0)
        return;
    tenreg_batch *b;
    int rc = tenreg_batch_new(reg, &b);
    if (rc == TENREG_OK)
        rc = tenreg_batch_register(b, "from-free", "from-free.example", plat("from-free"));
    if (rc == TENREG_OK)
        rc = tenreg_batch_commit(b, 0);
    tenreg_batch_free(b);
    atomic_store(&freed_commit_rc, rc);
    sem_post(&freed_commit_done);
}

TT_TEST(finish, batch, callbacks_may_commit)
{
    tenreg_free(reg);
    tenreg_config cfg = {.validator = validator_that_commits,
                         .platform_free = free_that_commits, .platform_free_ctx = &frees};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    sem_init(&freed_commit_done, 0, 0);
    reg_eager("v", "v.example");
    /* The check's result is discarded: the batch replaced the tenant. */
    cr_assert_eq(tenreg_recheck(reg, "v"), TENREG_ENOENT);
    ASSERT_OWNER("v2.example", "v");
    ASSERT_OWNER("v.example", "-");
    tenreg_health h;
    cr_assert_eq(tenreg_health_of(reg, "v", &h), TENREG_OK);
    cr_assert_eq(h, TENREG_PENDING);
    reg_eager("trigger", "trigger.example");
    cr_assert_eq(tenreg_unregister(reg, "trigger"), TENREG_OK);
    TT_SEM_WAIT(&freed_commit_done, "the commit made by platform_free");
    cr_assert_eq(atomic_load(&freed_commit_rc), TENREG_OK);
    ASSERT_OWNER("from-free.example", "from-free");
}
