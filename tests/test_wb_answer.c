/*
 * Answer slots (white-box; internal.h, struct tenreg__answer_slot, and the
 * digest rule in include/tenreg.h at tenreg_resolve_by_host): by_host's
 * slots carry their entry's platform and health, and a lookup whose hash
 * matches answers from the slot without reading the record, but only
 * while the array's key is secret and no two entries share a hash.
 *
 * To see which path answered, a test changes a record's health byte
 * behind the registry's back (single-threaded, restored before the
 * registry is freed): the slot path still answers the published health,
 * the record path answers the changed byte.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "test_support.h"

static void setup(void)
{
    tt_thread_init();
}

static void teardown(void)
{
    tt_thread_fini();
    tt_platforms_release();
}

TestSuite(answer, .init = setup, .fini = teardown, .timeout = 60);

static _Atomic int verdict = 1;
static struct tt_free_counter frees;

static tenreg_t *registry(uint64_t seed)
{
    tenreg_config cfg = {.hash_seed = seed,
                         .validator = tt_validator_verdict,
                         .validator_ctx = &verdict,
                         .platform_free = tt_count_free,
                         .platform_free_ctx = &frees};
    tenreg_t *reg;
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    return reg;
}

static const struct tenreg__slots *host_array(const tenreg_t *reg)
{
    return __atomic_load_n(&reg->by_host.cur, __ATOMIC_ACQUIRE);
}

/* The slot of @host's entry in by_host's current array. */
static struct tenreg__answer_slot *slot_of_host(const tenreg_t *reg, const char *host)
{
    const struct tenreg__slots *a = host_array(reg);
    uint64_t h = tenreg__hash(&a->key, host, strlen(host));
    for (size_t i = h & a->mask;; i = (i + 1) & a->mask) {
        struct tenreg__slot *sl = tenreg__slot_at(a, i);
        tenreg__ent e = atomic_load(&sl->ent);
        cr_assert_neq(e, 0, "no slot holds %s", host);
        if (e != TENREG__TOMBSTONE && atomic_load(&sl->hash) == h &&
            tenreg__ent_key_is(e, TENREG__KEY_HOST, host, strlen(host)))
            return (struct tenreg__answer_slot *)sl;
    }
}

static struct tenreg__record *record_of_host(const tenreg_t *reg, const char *host)
{
    return (struct tenreg__record *)atomic_load(&slot_of_host(reg, host)->slot.ent);
}

static tenreg_health health_by_host(tenreg_t *reg, const char *host, int *rc)
{
    tenreg_resolution r;
    *rc = tenreg_resolve_by_host(reg, host, strlen(host), &r);
    return r.health;
}

Test(answer, only_by_host_has_answer_slots_and_a_fixed_seed_has_no_digest)
{
    tenreg_t *reg = registry(0);
    cr_assert_eq(host_array(reg)->shift, TENREG__ANSWER_SLOT_SHIFT);
    cr_assert_eq(__atomic_load_n(&reg->by_id.cur, __ATOMIC_ACQUIRE)->shift, TENREG__SLOT_SHIFT);
    cr_assert_eq(__atomic_load_n(&reg->by_pattern.cur, __ATOMIC_ACQUIRE)->shift,
                 TENREG__SLOT_SHIFT);
    cr_assert(host_array(reg)->secret);
    cr_assert(atomic_load(&host_array(reg)->digest));
    tenreg_free(reg);

    reg = registry(42);
    cr_assert_eq(host_array(reg)->shift, TENREG__ANSWER_SLOT_SHIFT);
    cr_assert(!host_array(reg)->secret, "a key derived from hash_seed is public");
    cr_assert(!atomic_load(&host_array(reg)->digest));
    tenreg_free(reg);
}

/* Every read path of @host, with its record's health byte changed to
 * DISABLED: by host they answer @want (the slot's health when the slot
 * answers, DISABLED when the record does); by id always DISABLED. */
static void expect_paths(tenreg_t *reg, const char *id, const char *host, tenreg_health want)
{
    struct tenreg__record *rec = record_of_host(reg, host);
    uint8_t saved = rec->health;
    rec->health = TENREG_DISABLED;
    int rc;
    cr_assert_eq(health_by_host(reg, host, &rc), want);
    cr_assert_eq(rc, TENREG_OK);
    tenreg_resolution r;
    cr_assert_eq(tenreg_resolve(reg, host, strlen(host), TENREG_NOWAIT, &r), TENREG_OK);
    cr_assert_eq(r.health, want);
    tenreg_query q = {host, strlen(host)};
    cr_assert_eq(tenreg_resolve_many(reg, &q, 1, &r, &rc), TENREG_OK);
    cr_assert_eq(rc, TENREG_OK);
    cr_assert_eq(r.health, want);
    cr_assert_str_eq(r.tenant_id, id);
    cr_assert_str_eq(r.matched, host);
    cr_assert_eq(tenreg_resolve_by_id(reg, id, TENREG_NOWAIT, &r), TENREG_OK);
    cr_assert_eq(r.health, TENREG_DISABLED, "by_id has no answer slots: the record answers");
    rec->health = saved;
}

Test(answer, a_hit_answers_from_its_slot_under_a_secret_key_only)
{
    for (int fixed = 0; fixed < 2; fixed++) {
        tenreg_t *reg = registry(fixed ? 42 : 0);
        struct tt_platform *p = tt_platform_new("t1", "a.example");
        cr_assert_eq(tenreg_register(reg, "t1", "https://a.example/mcp", p,
                                     TENREG_AWAIT_FIRST_VALIDATION),
                     TENREG_OK);
        tenreg_read_lock();
        uint64_t w = atomic_load(&slot_of_host(reg, "a.example")->answer);
        cr_assert_eq(w, tenreg__answer_of((tenreg__ent)record_of_host(reg, "a.example")));
        cr_assert_eq((void *)(uintptr_t)(w >> 16), p);
        cr_assert_eq(tenreg__answer_key_len(w), strlen("a.example"));
        tenreg_resolution r;
        cr_assert_eq(tenreg_resolve_by_host(reg, "A.Example:443", 13, &r), TENREG_OK);
        cr_assert_str_eq(r.tenant_id, "t1");
        cr_assert_str_eq(r.matched, "a.example");
        cr_assert_eq(r.platform, p);
        cr_assert_eq(r.health, TENREG_HEALTHY);
        expect_paths(reg, "t1", "a.example", fixed ? TENREG_DISABLED : TENREG_HEALTHY);
        tenreg_read_unlock();
        tenreg_free(reg);
    }
}

static int fail_build;

static int factory(void *ctx, const char *tenant_id, void **platform)
{
    (void)ctx;
    if (fail_build)
        return -1;
    *platform = tt_platform_new(tenant_id, "lazy.example");
    return 0;
}

Test(answer, health_and_builds_reach_the_slot)
{
    tenreg_t *reg = registry(0);
    struct tt_platform *p = tt_platform_new("t1", "a.example");
    cr_assert_eq(tenreg_register(reg, "t1", "https://a.example/", p, TENREG_AWAIT_FIRST_VALIDATION),
                 TENREG_OK);
    atomic_store(&verdict, 0);
    cr_assert_eq(tenreg_recheck(reg, "t1"), TENREG_EVALIDATOR);
    atomic_store(&verdict, 1);
    int rc;
    tenreg_read_lock();
    cr_assert_eq(health_by_host(reg, "a.example", &rc), TENREG_UNVERIFIED);
    cr_assert_eq(rc, TENREG_OK);
    cr_assert_neq(atomic_load(&slot_of_host(reg, "a.example")->answer), 0);
    tenreg_read_unlock();

    /* A lazy tenant: pending, then built; another whose build fails. */
    cr_assert_eq(tenreg_register_lazy(reg, "t2", "https://lazy.example/", factory, NULL, 0), TENREG_OK);
    fail_build = 1;
    cr_assert_eq(tenreg_register_lazy(reg, "t3", "https://broken.example/", factory, NULL, 0), TENREG_OK);
    tenreg_read_lock();
    tenreg_resolution r;
    cr_assert_eq(tenreg_resolve_by_host(reg, "lazy.example", 12, &r), TENREG_EPENDING);
    cr_assert_str_eq(r.tenant_id, "t2");
    cr_assert_null(r.platform);
    cr_assert_neq(atomic_load(&slot_of_host(reg, "lazy.example")->answer), 0,
                  "a pending tenant answers from its slot too");
    cr_assert_eq(tenreg_resolve(reg, "broken.example", 14, 0, &r), TENREG_EFACTORY);
    cr_assert_eq(tenreg_resolve_by_host(reg, "broken.example", 14, &r), TENREG_EDISABLED);
    cr_assert_eq(r.health, TENREG_DISABLED);
    uint64_t w = atomic_load(&slot_of_host(reg, "broken.example")->answer);
    cr_assert(w & TENREG__ANSWER_FAILED);
    fail_build = 0;
    cr_assert_eq(tenreg_resolve(reg, "lazy.example", 12, 0, &r), TENREG_OK);
    struct tt_platform *built = r.platform;
    cr_assert_eq(tenreg_resolve_by_host(reg, "lazy.example", 12, &r), TENREG_OK);
    cr_assert_eq(r.platform, built);
    cr_assert_eq((void *)(uintptr_t)(atomic_load(&slot_of_host(reg, "lazy.example")->answer) >> 16),
                 built);
    tenreg_read_unlock();
    tenreg_free(reg);
}

Test(answer, a_platform_past_48_bits_is_answered_from_the_record)
{
    tenreg_config cfg = {0}; /* no platform_free: the registry never touches it */
    tenreg_t *reg;
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);
    void *odd = (void *)(uintptr_t)0xfe00000000001230ULL;
    cr_assert_eq(tenreg_register(reg, "t1", "https://odd.example/", odd, 0), TENREG_OK);
    tenreg_read_lock();
    cr_assert_eq(atomic_load(&slot_of_host(reg, "odd.example")->answer), 0);
    tenreg_resolution r;
    cr_assert_eq(tenreg_resolve_by_host(reg, "odd.example", 11, &r), TENREG_OK);
    cr_assert_eq(r.platform, odd);
    cr_assert_str_eq(r.tenant_id, "t1");
    tenreg_read_unlock();
    tenreg_free(reg);
}

/* Copies the slot @from into the first empty slot of the probe sequence
 * of @hash in @a, under that hash: a made-up entry with another key's
 * hash. */
static struct tenreg__answer_slot *copy_under(const struct tenreg__slots *a,
                                              const struct tenreg__answer_slot *from,
                                              uint64_t hash)
{
    size_t i = hash & a->mask, d = 0;
    while (atomic_load(&tenreg__slot_at(a, i)->ent) != 0) {
        i = (i + 1) & a->mask;
        d++;
    }
    /* Past max_disp no lookup would reach it (the home slot may be taken:
     * 1 in 64 at the first capacity). */
    struct tenreg__slots *w = (struct tenreg__slots *)a;
    if (d > atomic_load(&w->max_disp))
        atomic_store(&w->max_disp, d);
    struct tenreg__answer_slot *copy = (struct tenreg__answer_slot *)tenreg__slot_at(a, i);
    atomic_store(&copy->slot.hash, hash);
    atomic_store(&copy->answer, atomic_load(&from->answer));
    atomic_store(&copy->slot.ent, atomic_load(&from->slot.ent));
    return copy;
}

/* Takes a made-up slot out again: a tombstone, as the table counts one. */
static void drop_copy(tenreg_t *reg, struct tenreg__answer_slot *copy)
{
    tenreg__write_lock(reg);
    atomic_store(&copy->slot.ent, TENREG__TOMBSTONE);
    reg->by_host.used++;
    pthread_mutex_unlock(&reg->write_lock);
}

/* A host key of another length whose made-up slot has its hash but a's
 * entry (and a's length in the answer word): the slot check does not take
 * it, and the key comparison refuses it. */
Test(answer, a_hash_match_of_another_key_length_is_not_taken)
{
    tenreg_t *reg = registry(0);
    cr_assert_eq(tenreg_register(reg, "ta", "https://a.example/", tt_platform_new("ta", "a.example"),
                                 0),
                 TENREG_OK);
    tenreg_read_lock();
    const struct tenreg__slots *a = host_array(reg);
    struct tenreg__answer_slot *copy =
        copy_under(a, slot_of_host(reg, "a.example"), tenreg__hash(&a->key, "bb.example", 10));
    tenreg_resolution r;
    cr_assert_eq(tenreg_resolve_by_host(reg, "bb.example", 10, &r), TENREG_ENOENT);
    cr_assert_eq(tenreg_resolve(reg, "bb.example", 10, TENREG_NOWAIT, &r), TENREG_ENOENT);
    tenreg_query q = {"bb.example", 10};
    int rc;
    cr_assert_eq(tenreg_resolve_many(reg, &q, 1, &r, &rc), TENREG_OK);
    cr_assert_eq(rc, TENREG_ENOENT);
    tenreg_read_unlock();
    drop_copy(reg, copy);
    tenreg_free(reg);
}

/*
 * Two keys with one hash: the slot check alone would answer either key
 * with whichever entry comes first. No such pair can be found under a
 * secret key, so the test makes one: it copies a's entry into b's probe
 * sequence under b's hash (b's key has a's length). A lookup of b then
 * answers a (the false match the digest rule accepts with probability
 * 2^-64 per probed slot); the registration of b finds the shared hash and
 * ends the digest rule for the array, and both keys answer right again;
 * the next array, after a growth without the copy, has it back.
 */
Test(answer, a_shared_hash_ends_the_digest_rule)
{
    tenreg_t *reg = registry(0);
    struct tt_platform *pa = tt_platform_new("ta", "a.example");
    cr_assert_eq(tenreg_register(reg, "ta", "https://a.example/", pa, 0), TENREG_OK);
    tenreg_read_lock();
    const struct tenreg__slots *a = host_array(reg);
    struct tenreg__answer_slot *copy =
        copy_under(a, slot_of_host(reg, "a.example"), tenreg__hash(&a->key, "b.example", 9));
    tenreg_resolution r;
    cr_assert_eq(tenreg_resolve_by_host(reg, "b.example", 9, &r), TENREG_OK);
    cr_assert_str_eq(r.tenant_id, "ta", "the slot check alone takes a's entry for b");
    tenreg_read_unlock();

    struct tt_platform *pb = tt_platform_new("tb", "b.example");
    cr_assert_eq(tenreg_register(reg, "tb", "https://b.example/", pb, 0), TENREG_OK);
    tenreg_read_lock();
    cr_assert_eq(host_array(reg), a, "no growth yet");
    cr_assert(!atomic_load(&a->digest), "a second entry with b's hash ends the rule");
    cr_assert_eq(tenreg_resolve_by_host(reg, "b.example", 9, &r), TENREG_OK);
    cr_assert_str_eq(r.tenant_id, "tb");
    cr_assert_eq(r.platform, pb);
    cr_assert_eq(tenreg_resolve_by_host(reg, "a.example", 9, &r), TENREG_OK);
    cr_assert_str_eq(r.tenant_id, "ta");
    tenreg_read_unlock();

    /* The copy goes, then enough tenants for the table to grow into a new
     * array. */
    drop_copy(reg, copy);
    for (int k = 0; host_array(reg) == a; k++) {
        char id[16], host[32];
        snprintf(id, sizeof id, "g%d", k);
        snprintf(host, sizeof host, "g%d.example", k);
        cr_assert_eq(tenreg_register(reg, id, host, tt_platform_new(id, host), 0), TENREG_OK);
        cr_assert_lt(k, 1000);
    }
    tenreg_read_lock();
    cr_assert(atomic_load(&host_array(reg)->digest), "the grown array has no shared hash");
    cr_assert_eq(tenreg_resolve_by_host(reg, "a.example", 9, &r), TENREG_OK);
    cr_assert_str_eq(r.tenant_id, "ta");
    cr_assert_eq(r.platform, pa);
    cr_assert_neq(atomic_load(&slot_of_host(reg, "a.example")->answer), 0);
    tenreg_read_unlock();
    tenreg_free(reg);
}
