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
 * Platforms are small heap objects tagged with the tenant and host group
 * they were made for and counting how often platform_free released them,
 * so a target can tell which registration a resolve answered with and that
 * every platform is freed exactly once.
 */
#ifndef TENREG_FUZZ_REGISTRY_COMMON_H
#define TENREG_FUZZ_REGISTRY_COMMON_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_helpers.h"
#include "tenreg.h"

#define FZ_IDS 4       /* valid tenant ids */
#define FZ_ID_CHOICES 6 /* plus "" and a 256-byte id */
#define FZ_GROUPS 4

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
    int group; /* -1: does not normalize */
};

static const struct fz_host fz_hosts[] = {
    {"example.com", 0},
    {"EXAMPLE.com:443", 0},
    {"https://user:pw@Example.COM./path?q=1#f", 0},
    {" example.com:\t", 0},
    {"ads.example.net", 1},
    {"http://ads.example.net:8080/x", 1},
    {"ADS.Example.Net.", 1},
    {"[2001:DB8::0:1]:443", 2},
    {"http://[2001:db8::1]/", 2},
    {"127.0.0.1", 3},
    {"wss://a@b@127.0.0.1:0", 3},
    {"exa mple.com", -1},
    {"[::1%25eth0]", -1},
    {"/example.com", -1},
    {"2001:db8::1", -1},
    {"example.com\r\n", -1},
};
#define FZ_HOSTS (sizeof(fz_hosts) / sizeof(fz_hosts[0]))

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
}

/* After tenreg_free: every platform freed exactly as its owner says. */
static inline void fz_pool_check_final(const struct fz_pool *pool)
{
    unsigned used = atomic_load(&pool->used);
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
    unsigned variant; /* flags / NULL-argument choice, 0..3 */
    unsigned outcome; /* factory outcome or validator verdict */
};

static inline void fz_decode_op(fuzz_producer *p, struct fz_op_args *a)
{
    a->op = (enum fz_op)fuzz_range(p, FZ_OPS);
    uint8_t b = fuzz_u8(p);
    a->id = b % FZ_ID_CHOICES;
    /* Invalid ids are rare (1 in 16), so most operations hit real tenants. */
    if (a->id >= FZ_IDS && (b & 0xF0) != 0)
        a->id = (b >> 4) % FZ_IDS;
    a->host = fuzz_range(p, FZ_HOSTS);
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
