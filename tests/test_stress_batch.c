/*
 * A batch is one change to readers (docs/design.md §8.5): a writer commits
 * batches that swap hosts between tenants, again and again, while reader
 * threads look several of them up in one read section. Each batch
 * re-registers every tenant with platforms numbered by the batch, and swaps
 *   - the agent URL hosts of A and B,
 *   - the extra hosts of X and Y,
 *   - the patterns of P and Q,
 * so within one section a reader must find each host exactly once, never
 * two hosts of a pair on one tenant, never one missing, and every answer
 * from the same batch (same number). Counts of sections, of sections that
 * ran across a commit, and of both states seen are logged and asserted.
 * Also built as test_qsbr_batch (TT_QSBR): sections between quiescent
 * states of online readers. Runs in the ASan and TSan builds too.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

#ifndef TT_BATCH_SUITE
#define TT_BATCH_SUITE stress_batch
#endif

#define READERS 3

static tenreg_t *reg;
static struct tt_free_counter frees;
static _Atomic bool stop;
static _Atomic unsigned long committed; /* batches committed so far */

struct reader_stats {
    long sections, across, violations, state[2];
    char first_violation[256];
};

static void setup(void)
{
    tt_thread_init();
    atomic_store(&stop, false);
    atomic_store(&committed, 0);
    tenreg_config cfg = {.platform_free = tt_count_free, .platform_free_ctx = &frees};
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
}

static void teardown(void)
{
    tenreg_free(reg);
    reg = NULL;
    tt_thread_fini();
    tt_platforms_release();
}

/* Through a macro, so that TT_BATCH_SUITE is expanded before Criterion
 * (or the TSan runner) pastes it. */
#define TT_SUITE_(...) TestSuite(__VA_ARGS__)
TT_SUITE_(TT_BATCH_SUITE, .init = setup, .fini = teardown, .timeout = 600);

static int build(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    *platform = tt_platform_new(tenant_id, "l.example");
    return 0;
}

/* The batch that makes state @n (0 or 1 alternately), platforms numbered @n. */
static int commit_state(unsigned long n)
{
    bool odd = n & 1;
    tenreg_batch *b;
    if (tenreg_batch_new(reg, &b) != TENREG_OK)
        return TENREG_ENOMEM;
    const char *ids[] = {"A", "B", "X", "Y", "P", "Q"};
    const char *urls[2][6] = {
        {"a.example", "b.example", "x.example", "y.example", "p.example", "q.example"},
        {"b.example", "a.example", "x.example", "y.example", "p.example", "q.example"}};
    for (int i = 0; i < 6; i++) {
        struct tt_platform *p = tt_platform_new(ids[i], urls[odd][i]);
        p->gen = n;
        int rc = tenreg_batch_register(b, ids[i], urls[odd][i], p);
        cr_assert_eq(rc, TENREG_OK);
    }
    /* A lazy tenant too: readers queue its builds while commits replace it. */
    cr_assert_eq(tenreg_batch_register_lazy(b, "L", "l.example", build, NULL), TENREG_OK);
    cr_assert_eq(tenreg_batch_add_host(b, odd ? "Y" : "X", "e1.example"), TENREG_OK);
    cr_assert_eq(tenreg_batch_add_host(b, odd ? "X" : "Y", "e2.example"), TENREG_OK);
    cr_assert_eq(tenreg_batch_add_host(b, odd ? "Q" : "P", "*.w1.example"), TENREG_OK);
    cr_assert_eq(tenreg_batch_add_host(b, odd ? "P" : "Q", "*.w2.example"), TENREG_OK);
    int rc = tenreg_batch_commit(b, TENREG_BATCH_REPLACE_ALL);
    tenreg_batch_free(b);
    return rc;
}

/* Host pairs and the tenant each host has in state 0 (state 1: the other). */
static const struct {
    const char *host, *owner0, *owner1;
} checks[] = {
    {"a.example", "A", "B"},   {"b.example", "B", "A"},   {"e1.example", "X", "Y"},
    {"e2.example", "Y", "X"},  {"s.w1.example", "P", "Q"}, {"s.w2.example", "Q", "P"},
};
#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

static void violation(struct reader_stats *st, const char *host, const char *what, long x, long y)
{
    if (st->violations++ == 0)
        snprintf(st->first_violation, sizeof(st->first_violation), "%s: %s (%ld, %ld)", host,
                 what, x, y);
}

static void *reader(void *arg)
{
    struct reader_stats *st = arg;
    unsigned seed = (unsigned)(uintptr_t)arg;
    tenreg_thread_register();
    tenreg_query q[NCHECKS];
    tenreg_resolution out[NCHECKS];
    int rcs[NCHECKS];
    while (!atomic_load(&stop)) {
        unsigned long c0 = atomic_load(&committed);
        tenreg_read_lock();
        long gen = -1, state = -1;
        /* Lookups one by one in a random order, or all at once. */
        bool many = (rand_r(&seed) & 3) == 0;
        unsigned start = (unsigned)rand_r(&seed) % NCHECKS;
        if (many) {
            for (size_t i = 0; i < NCHECKS; i++)
                q[i] = (tenreg_query){checks[i].host, strlen(checks[i].host)};
            tenreg_resolve_many(reg, q, NCHECKS, out, rcs);
        }
        for (size_t k = 0; k < NCHECKS; k++) {
            size_t i = (start + k) % NCHECKS;
            tenreg_resolution one, *r = many ? &out[i] : &one;
            int rc = many ? rcs[i]
                          : tenreg_resolve_by_host(reg, checks[i].host, strlen(checks[i].host),
                                                   &one);
            if (rc != TENREG_OK) {
                violation(st, checks[i].host, "missing: rc", rc, 0);
                continue;
            }
            long s = strcmp(r->tenant_id, checks[i].owner0) == 0   ? 0
                     : strcmp(r->tenant_id, checks[i].owner1) == 0 ? 1
                                                                   : 2;
            long g = (long)((struct tt_platform *)r->platform)->gen;
            if (s == 2 || (long)(g & 1) != s)
                violation(st, checks[i].host, "owner and platform disagree: state, gen", s, g);
            if (state >= 0 && (s != state || g != gen))
                violation(st, checks[i].host, "two states in one section", s, state);
            state = s;
            gen = g;
        }
        tenreg_resolution lz;
        int lrc = tenreg_resolve(reg, "l.example", 9, TENREG_NOWAIT, &lz);
        if (lrc != TENREG_OK && lrc != TENREG_EPENDING)
            violation(st, "l.example", "lazy tenant: rc", lrc, 0);
        tenreg_read_unlock();
        tenreg_quiescent(); /* QSBR: the section ends here; memb: nothing */
        st->sections++;
        st->across += atomic_load(&committed) != c0;
        if (state == 0 || state == 1)
            st->state[state]++;
    }
    tenreg_thread_unregister();
    return NULL;
}

static void nothing(void) {}

TT_TEST(nothing, TT_BATCH_SUITE, host_swaps_are_one_change_to_readers)
{
    int rc0 = commit_state(0);
    cr_assert_eq(rc0, TENREG_OK, "first commit: %s", tenreg_err_name(rc0));
    atomic_store(&committed, 1);
    struct reader_stats st[READERS];
    memset(st, 0, sizeof(st));
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++)
        pthread_create(&th[i], NULL, reader, &st[i]);
    unsigned commits = tt_iters(400);
    for (unsigned long n = 1; n <= commits; n++) {
        int rc = commit_state(n);
        cr_assert_eq(rc, TENREG_OK, "commit %lu: %s", n, tenreg_err_name(rc));
        atomic_store(&committed, n + 1);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < READERS; i++)
        pthread_join(th[i], NULL);
    long sections = 0, across = 0, seen[2] = {0, 0};
    for (int i = 0; i < READERS; i++) {
        cr_expect_eq(st[i].violations, 0, "reader %d: %ld violations, first: %s", i,
                     st[i].violations, st[i].first_violation);
        sections += st[i].sections;
        across += st[i].across;
        seen[0] += st[i].state[0];
        seen[1] += st[i].state[1];
    }
    cr_log_info("%u commits, %ld sections (%ld across a commit), state 0 seen %ld, state 1 %ld",
                commits, sections, across, seen[0], seen[1]);
    printf("batch atomicity: %u commits, %d readers, %ld sections (%ld across a commit), "
           "0 violations expected; states seen %ld / %ld\n",
           commits, READERS, sections, across, seen[0], seen[1]);
    cr_assert_gt(seen[0], 0, "readers never saw state 0");
    cr_assert_gt(seen[1], 0, "readers never saw state 1");
    cr_assert_gt(across, 0, "no section ran across a commit: the test proved nothing");
    tenreg_free(reg);
    reg = NULL;
    cr_assert_eq(atomic_load(&frees.double_frees), 0);
    cr_assert_eq(tt_platforms_not_freed_once(), 0, "a platform was not freed exactly once");
}
