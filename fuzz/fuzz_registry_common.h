/*
 * fuzz_registry_common.h - private to tenreg's fuzz targets: what
 * fuzz_registry_ops.c and fuzz_concurrent.c share.
 *
 * The input is decoded into operations over a few tenant ids and a few
 * hosts. Hosts come in groups: every spelling in one group (case, port,
 * scheme, userinfo, path, trailing dot) normalizes to the same key, so an
 * alias registered by one tenant collides with the others (EEXIST) and a
 * lookup by any spelling finds the tenant. Ids 4 and 5 are invalid (empty,
 * 256 bytes), hosts of group -1 do not normalize.
 *
 * Extra hosts and patterns (docs/design.md §8.1): every entry of fz_hosts
 * also says what tenreg_add_host() makes of it, the canonical host key
 * (`key`, for the entries of a group) or the canonical pattern "*.NAME"
 * (`pattern`: lower-cased, one trailing dot folded; such an entry does not
 * normalize as a host, so its group is -1); neither for the invalid ones.
 * The keys and patterns nest (example.com, a.example.com, b.a.example.com;
 * *.example.com, *.a.example.com, *.b.a.example.com), include a name that
 * only ends like a pattern's NAME (badexample.com), an IPv6 key whose
 * text ends like one (::ffff:127.0.0.1 against *.0.0.1), and a tenant-sized
 * family of generated hosts g0..g63.fill.example (fz_gen_host) so that a
 * tenant can reach TENREG_HOSTS_MAX.
 *
 * Platforms are small heap objects tagged with the tenant and host group
 * they were made for and counting how often platform_free released them,
 * so a target can tell which registration a resolve answered with and that
 * every platform is freed exactly once.
 */
#ifndef TENREG_FUZZ_REGISTRY_COMMON_H
#define TENREG_FUZZ_REGISTRY_COMMON_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_helpers.h"
#include "tenreg.h"

#define FZ_IDS 4       /* valid tenant ids */
#define FZ_ID_CHOICES 6 /* plus "" and a 256-byte id */
#define FZ_GROUPS 17 /* host keys of fz_hosts */

static const char fz_long_id[TENREG_ID_MAX + 2] =
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

static inline const char *fz_id(unsigned i)
{
    static const char *const ids[] = {"t0", "tenant-1", "T2", "t3", ""};
    return i < 5 ? ids[i] : fz_long_id;
}

/* Index of @id among the valid ids, or -1. */
static inline int fz_id_index(const char *id)
{
    for (unsigned i = 0; i < FZ_IDS; i++)
        if (strcmp(id, fz_id(i)) == 0)
            return (int)i;
    return -1;
}

struct fz_host {
    const char *text;
    int group;           /* -1: does not normalize */
    const char *key;     /* its host key (group >= 0), else NULL */
    const char *pattern; /* the canonical "*.NAME" of a valid pattern, else NULL */
};

static const struct fz_host fz_hosts[] = {
    /* The first 16 entries keep their indices: older corpus inputs name
     * them by index. New ones go at the end. */
    {"example.com", 0, "example.com", NULL},
    {"EXAMPLE.com:443", 0, "example.com", NULL},
    {"https://user:pw@Example.COM./path?q=1#f", 0, "example.com", NULL},
    {" example.com:\t", 0, "example.com", NULL},
    {"ads.example.net", 1, "ads.example.net", NULL},
    {"http://ads.example.net:8080/x", 1, "ads.example.net", NULL},
    {"ADS.Example.Net.", 1, "ads.example.net", NULL},
    {"[2001:DB8::0:1]:443", 2, "2001:db8::1", NULL},
    {"http://[2001:db8::1]/", 2, "2001:db8::1", NULL},
    {"127.0.0.1", 3, "127.0.0.1", NULL},
    {"wss://a@b@127.0.0.1:0", 3, "127.0.0.1", NULL},
    {"exa mple.com", -1, NULL, NULL},
    {"[::1%25eth0]", -1, NULL, NULL},
    {"/example.com", -1, NULL, NULL},
    {"2001:db8::1", -1, NULL, NULL},
    {"example.com\r\n", -1, NULL, NULL},
    /* Hosts under the patterns below. */
    {"a.example.com", 4, "a.example.com", NULL},
    {"B.A.Example.com:80", 5, "b.a.example.com", NULL},
    {"http://x.b.a.example.com/", 6, "x.b.a.example.com", NULL},
    {"cdn.ads.example.net", 7, "cdn.ads.example.net", NULL},
    {"[::ffff:7f00:1]", 8, "::ffff:127.0.0.1", NULL},
    {"10.0.0.1", 9, "10.0.0.1", NULL},
    {"pinned.example", 10, "pinned.example", NULL},
    {"https://ALIAS.pinned.example/x", 11, "alias.pinned.example", NULL},
    {"q.pinned.example", 12, "q.pinned.example", NULL},
    {"g0.fill.example", 13, "g0.fill.example", NULL},
    {"G7.Fill.Example.:443", 14, "g7.fill.example", NULL},
    {"x.g7.fill.example", 15, "x.g7.fill.example", NULL},
    {"BadExample.com", 16, "badexample.com", NULL},
    /* Patterns: valid for tenreg_add_host only. */
    {"*.example.com", -1, NULL, "*.example.com"},
    {"*.A.Example.COM.", -1, NULL, "*.a.example.com"},
    {"*.b.a.example.com", -1, NULL, "*.b.a.example.com"},
    {"*.example.net", -1, NULL, "*.example.net"},
    {"*.com", -1, NULL, "*.com"},
    {"*.0.0.1", -1, NULL, "*.0.0.1"},
    {"*.pinned.example", -1, NULL, "*.pinned.example"},
    {"*.Q.pinned.example", -1, NULL, "*.q.pinned.example"},
    {"*.fill.example", -1, NULL, "*.fill.example"},
    {"*.g7.fill.example.", -1, NULL, "*.g7.fill.example"},
    /* Bad patterns (and hosts): EINVAL everywhere. */
    {"*", -1, NULL, NULL},
    {"**.example.com", -1, NULL, NULL},
    {"a.*.example.com", -1, NULL, NULL},
    {"*a.example.com", -1, NULL, NULL},
    {"*.example.com:443", -1, NULL, NULL},
    {"https://*.example.com", -1, NULL, NULL},
    {"*.", -1, NULL, NULL},
    {"*.exa mple.com", -1, NULL, NULL},
    {"*.[2001:db8::1]", -1, NULL, NULL},
    {"*..example.com", -1, NULL, NULL},
    {"*.example.com..", -1, NULL, NULL},
    {"*.example.com/path", -1, NULL, NULL},
    {"*.ffff:127.0.0.1", -1, NULL, NULL},
    {".example.com", -1, NULL, NULL},
};
#define FZ_HOSTS (sizeof(fz_hosts) / sizeof(fz_hosts[0]))

/* The canonical text of an fz_hosts entry for tenreg_add_host(): its key,
 * its pattern, or NULL (EINVAL). */
static inline const char *fz_canonical(const struct fz_host *h)
{
    return h->key ? h->key : h->pattern;
}

/* ---- generated hosts ---------------------------------------------------- */

#define FZ_GEN_HOSTS 64 /* TENREG_HOSTS_MAX of them cannot all fit one tenant */
#define FZ_GEN_CAP 48 /* buffer for fz_gen_text */

/* Key of generated host @j (0..FZ_GEN_HOSTS-1): "g<j>.fill.example". */
#define FZ_GEN(j) "g" #j ".fill.example"
static const char *const fz_gen_keys[FZ_GEN_HOSTS] = {
    FZ_GEN(0), FZ_GEN(1), FZ_GEN(2), FZ_GEN(3), FZ_GEN(4), FZ_GEN(5), FZ_GEN(6), FZ_GEN(7),
    FZ_GEN(8), FZ_GEN(9), FZ_GEN(10), FZ_GEN(11), FZ_GEN(12), FZ_GEN(13), FZ_GEN(14),
    FZ_GEN(15), FZ_GEN(16), FZ_GEN(17), FZ_GEN(18), FZ_GEN(19), FZ_GEN(20), FZ_GEN(21),
    FZ_GEN(22), FZ_GEN(23), FZ_GEN(24), FZ_GEN(25), FZ_GEN(26), FZ_GEN(27), FZ_GEN(28),
    FZ_GEN(29), FZ_GEN(30), FZ_GEN(31), FZ_GEN(32), FZ_GEN(33), FZ_GEN(34), FZ_GEN(35),
    FZ_GEN(36), FZ_GEN(37), FZ_GEN(38), FZ_GEN(39), FZ_GEN(40), FZ_GEN(41), FZ_GEN(42),
    FZ_GEN(43), FZ_GEN(44), FZ_GEN(45), FZ_GEN(46), FZ_GEN(47), FZ_GEN(48), FZ_GEN(49),
    FZ_GEN(50), FZ_GEN(51), FZ_GEN(52), FZ_GEN(53), FZ_GEN(54), FZ_GEN(55), FZ_GEN(56),
    FZ_GEN(57), FZ_GEN(58), FZ_GEN(59), FZ_GEN(60), FZ_GEN(61), FZ_GEN(62), FZ_GEN(63),
};
#undef FZ_GEN

static inline const char *fz_gen_key(unsigned j)
{
    return fz_gen_keys[j % FZ_GEN_HOSTS];
}

/* Generated host @j as given to tenreg_add_host: plain, or as a URL with
 * case, trailing dot and port (the same key). */
static inline const char *fz_gen_text(unsigned j, unsigned spelling, char *buf, size_t cap)
{
    if (spelling & 1)
        snprintf(buf, cap, "HTTP://G%u.Fill.Example.:8080/x", j % FZ_GEN_HOSTS);
    else
        snprintf(buf, cap, "%s", fz_gen_key(j));
    return buf;
}

/* ---- matching rules (docs/design.md §8.1) ------------------------------- */

/* Does pattern "*.s" match host key @key: key ends with "." s, and an IPv6
 * key (it has a ':') never matches. */
static inline int fz_pattern_matches(const char *pattern, const char *key)
{
    if (strchr(key, ':') != NULL)
        return 0;
    const char *dot_s = pattern + 1; /* ".s" */
    size_t n = strlen(key), m = strlen(dot_s);
    return n > m && strcmp(key + n - m, dot_s) == 0;
}

/* The host key of host group @group. */
static inline const char *fz_group_key(int group)
{
    for (size_t i = 0; i < FZ_HOSTS; i++)
        if (fz_hosts[i].group == group)
            return fz_hosts[i].key;
    return NULL;
}

/* A Host value for host key @key: an IPv6 key goes in brackets (bare, it
 * does not normalize). */
static inline const char *fz_key_text(const char *key, char *buf, size_t cap)
{
    snprintf(buf, cap, strchr(key, ':') ? "[%s]" : "%s", key);
    return buf;
}

static inline int fz_is_pattern(const char *rule)
{
    return rule[0] == '*';
}

/* A rule (host key or pattern) the inputs can produce, as a small number:
 * fz_hosts' keys and patterns, then the generated keys; -1 for anything
 * else (a matched string no input could have added). */
#define FZ_RULES (FZ_HOSTS + FZ_GEN_HOSTS)
static inline int fz_rule_id(const char *rule)
{
    /* Hot in fuzz_concurrent: the first byte filters before strcmp. */
    for (size_t i = 0; i < FZ_HOSTS; i++) {
        const char *c = fz_canonical(&fz_hosts[i]);
        if (c && c[0] == rule[0] && strcmp(c, rule) == 0)
            return (int)i; /* the first entry with this text */
    }
    if (rule[0] != 'g')
        return -1;
    unsigned j = 0;
    const char *p = rule + 1;
    while (*p >= '0' && *p <= '9' && j < FZ_GEN_HOSTS)
        j = j * 10 + (unsigned)(*p++ - '0');
    if (j < FZ_GEN_HOSTS && strcmp(fz_gen_key(j), rule) == 0)
        return (int)(FZ_HOSTS + j);
    return -1;
}

/* The text of rule @id (fz_rule_id's inverse): one pointer per rule, so
 * that interned rules compare with ==. */
static inline const char *fz_rule_text(int id)
{
    return id < (int)FZ_HOSTS ? fz_canonical(&fz_hosts[id]) : fz_gen_key((unsigned)id - FZ_HOSTS);
}

/* ---- platforms ---------------------------------------------------------- */

#define FZ_PLAT_MAGIC 0x706c6174u

enum fz_owner {
    FZ_OWNER_NONE = 0,     /* handed to a call whose answer is not known yet */
    FZ_OWNER_REGISTRY = 1, /* platform_free must release it exactly once */
    FZ_OWNER_CALLER = 2,   /* the registry must never release it */
};

struct fz_plat {
    uint32_t magic;
    int id;     /* index of the tenant it was made for */
    int group;  /* host group of the registration it was made for */
    _Atomic int owner;
    _Atomic int frees;
};

struct fz_pool {
    struct fz_plat *plats;
    unsigned cap;
    _Atomic unsigned used;
    _Atomic unsigned frees; /* platform_free calls, all platforms together */
};

static inline struct fz_plat *fz_plat_new(struct fz_pool *pool, int id, int group)
{
    unsigned i = atomic_fetch_add(&pool->used, 1);
    FUZZ_ASSERT_MSG(i < pool->cap, "platform pool exhausted (%u)", pool->cap);
    struct fz_plat *p = &pool->plats[i];
    p->magic = FZ_PLAT_MAGIC;
    p->id = id;
    p->group = group;
    atomic_init(&p->owner, FZ_OWNER_NONE);
    atomic_init(&p->frees, 0);
    return p;
}

static inline int fz_plat_in_pool(const struct fz_pool *pool, const void *p)
{
    const struct fz_plat *q = p;
    return q >= pool->plats && q < pool->plats + atomic_load(&pool->used);
}

/* platform_free callback: ctx is the pool. */
static inline void fz_plat_free(void *ctx, void *platform)
{
    struct fz_pool *pool = ctx;
    FUZZ_ASSERT_MSG(fz_plat_in_pool(pool, platform), "platform_free(%p): not a platform",
                    platform);
    struct fz_plat *p = platform;
    FUZZ_ASSERT(p->magic == FZ_PLAT_MAGIC);
    int owner = atomic_load(&p->owner);
    FUZZ_ASSERT_MSG(owner != FZ_OWNER_CALLER, "registry freed a platform it never owned "
                    "(tenant %d, group %d)", p->id, p->group);
    int n = atomic_fetch_add(&p->frees, 1) + 1;
    FUZZ_ASSERT_MSG(n == 1, "platform of tenant %d (group %d) freed %d times", p->id,
                    p->group, n);
    atomic_fetch_add(&pool->frees, 1);
}

/* After tenreg_free: every platform freed exactly as its owner says. */
static inline void fz_pool_check_final(const struct fz_pool *pool)
{
    unsigned used = atomic_load(&pool->used);
    unsigned owned = 0;
    for (unsigned i = 0; i < used; i++)
        owned += atomic_load(&pool->plats[i].owner) == FZ_OWNER_REGISTRY;
    FUZZ_ASSERT_MSG(atomic_load(&pool->frees) == owned,
                    "%u platform_free calls for %u platforms the registry owned",
                    atomic_load(&pool->frees), owned);
    for (unsigned i = 0; i < used; i++) {
        const struct fz_plat *p = &pool->plats[i];
        int owner = atomic_load(&p->owner);
        int frees = atomic_load(&p->frees);
        FUZZ_ASSERT_MSG(owner != FZ_OWNER_NONE, "platform %u: ownership never settled", i);
        FUZZ_ASSERT_MSG(frees == (owner == FZ_OWNER_REGISTRY ? 1 : 0),
                        "platform %u (tenant %d, group %d, owner %d) freed %d times", i, p->id,
                        p->group, owner, frees);
    }
}

/* ---- operations --------------------------------------------------------- */

enum fz_op {
    FZ_REGISTER,
    FZ_REGISTER_LAZY,
    FZ_UNREGISTER,
    FZ_RECHECK,
    FZ_RESOLVE,
    FZ_RESOLVE_BY_HOST,
    FZ_RESOLVE_BY_ID,
    FZ_HEALTH_OF,
    FZ_FOREACH,
    FZ_SET_VERDICT,
    FZ_RESOLVE_NOWAIT,
    /* §8.1; appended, so that older corpus inputs keep their operations. */
    FZ_ADD_HOST,
    FZ_REMOVE_HOST,
    FZ_FOREACH_HOST,
    FZ_FILL_HOSTS,
    /* §8.5 */
    FZ_BATCH,
    FZ_OPS
};

/* Factory outcomes chosen by the input. */
enum fz_outcome {
    FZ_FACTORY_OK,
    FZ_FACTORY_FAIL,       /* returns -1 */
    FZ_FACTORY_NULL,       /* returns 0 with a NULL platform: a failure */
    FZ_FACTORY_FAIL_DECOY, /* returns -2 but sets *platform: must be ignored */
    FZ_OUTCOMES
};

struct fz_op_args {
    enum fz_op op;
    unsigned id;      /* 0..FZ_ID_CHOICES-1 */
    unsigned host;    /* index into fz_hosts */
    unsigned raw;     /* the host byte itself: picks a generated host */
    unsigned variant; /* flags / NULL-argument choice, 0..3 */
    unsigned outcome; /* factory outcome or validator verdict */
};

/*
 * The host argument of FZ_ADD_HOST / FZ_REMOVE_HOST / FZ_FILL_HOSTS:
 *   variant 0, 1: fz_hosts[host] (key, pattern or invalid);
 *   variant 2:    generated host raw % FZ_GEN_HOSTS, spelled by outcome;
 *   variant 3:    a NULL argument (outcome odd: the tenant id, else the host).
 * Returns the text (NULL for a NULL host) and sets *canonical to what the
 * registry should make of it (NULL: EINVAL) and *null_id.
 */
static inline const char *fz_host_arg(const struct fz_op_args *a, char *buf, size_t cap,
                                      const char **canonical, int *null_id)
{
    *null_id = 0;
    switch (a->variant) {
    case 2:
        *canonical = fz_gen_key(a->raw);
        return fz_gen_text(a->raw, a->outcome, buf, cap);
    case 3:
        *canonical = NULL;
        if (a->outcome & 1) {
            *null_id = 1;
            *canonical = fz_canonical(&fz_hosts[a->host]);
            return fz_hosts[a->host].text;
        }
        return NULL;
    default:
        *canonical = fz_canonical(&fz_hosts[a->host]);
        return fz_hosts[a->host].text;
    }
}

static inline void fz_decode_op(fuzz_producer *p, struct fz_op_args *a)
{
    a->op = (enum fz_op)fuzz_range(p, FZ_OPS);
    uint8_t b = fuzz_u8(p);
    a->id = b % FZ_ID_CHOICES;
    /* Invalid ids are rare (1 in 16), so most operations hit real tenants. */
    if (a->id >= FZ_IDS && (b & 0xF0) != 0)
        a->id = (b >> 4) % FZ_IDS;
    uint8_t h = fuzz_u8(p);
    a->host = h % FZ_HOSTS;
    a->raw = h;
    uint8_t v = fuzz_u8(p);
    a->variant = v & 3;
    a->outcome = (v >> 2) & 3;
}

/* Validator verdicts chosen by the input: valid, invalid, error, valid (>1). */
static inline int fz_verdict_value(unsigned v)
{
    static const int values[] = {1, 0, -1, 7};
    return values[v & 3];
}

#endif
