/*
 * hash_flood_test.c - white-box test of the keyed host hash (src/hash.c),
 * registered as ctest hash_seeds_differ.
 *
 * hash.c is internal (hidden in libtenreg.so), so this test compiles it in.
 * It shows that:
 *   - registries with different hash_seed values hash the same key
 *     differently, and the same seed gives the same hash (the key is
 *     derived from the seed as tenreg_new derives it);
 *   - seed 0 draws a fresh random key per registry;
 *   - 4096 hosts that all share one plain FNV-1a value (one bucket of any
 *     unkeyed FNV table) spread over 1024 buckets under either seed, with
 *     different hosts sharing a bucket under the two seeds.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fnv_collide.h"
#include "fuzz_helpers.h"
#include "internal.h"

#define NAMES 4096
#define BUCKETS 1024

static char names[NAMES][128];
static size_t lens[NAMES];

static unsigned max_load(const struct tenreg__hash_key *k, unsigned *bucket0_first)
{
    static unsigned load[BUCKETS];
    memset(load, 0, sizeof(load));
    unsigned max = 0;
    *bucket0_first = NAMES;
    for (unsigned i = 0; i < NAMES; i++) {
        unsigned b = (unsigned)(tenreg__hash(k, names[i], lens[i]) & (BUCKETS - 1));
        if (++load[b] > max)
            max = load[b];
        if (b == 0 && *bucket0_first == NAMES)
            *bucket0_first = i;
    }
    return max;
}

int main(void)
{
    struct fnv_pairs pairs;
    FUZZ_ASSERT_MSG(fnv_pairs_init(&pairs, 12) == 0, "no FNV collisions found");
    uint32_t fnv = 0;
    for (unsigned i = 0; i < NAMES; i++) {
        lens[i] = fnv_name(&pairs, i, names[i]);
        uint32_t h = fnv1a32(names[i], lens[i]);
        if (i == 0)
            fnv = h;
        /* The premise: one unkeyed bucket for all of them. */
        FUZZ_ASSERT_MSG(h == fnv, "%s: FNV %08" PRIx32 " != %08" PRIx32, names[i], h, fnv);
        FUZZ_ASSERT(i == 0 || strcmp(names[i], names[i - 1]) != 0);
    }
    printf("%u hosts with FNV-1a %08" PRIx32 ", e.g. %s\n", NAMES, fnv, names[NAMES - 1]);

    struct tenreg__hash_key k1, k2, k1b, r1, r2;
    tenreg__hash_key_init(&k1, 1);
    tenreg__hash_key_init(&k2, 2);
    tenreg__hash_key_init(&k1b, 1);
    FUZZ_ASSERT(k1.k0 != k2.k0 || k1.k1 != k2.k1);
    FUZZ_ASSERT(k1.k0 == k1b.k0 && k1.k1 == k1b.k1);

    /* Same key, different seeds: different hashes; same seed: same hash. */
    unsigned same = 0;
    for (unsigned i = 0; i < NAMES; i++) {
        uint64_t a = tenreg__hash(&k1, names[i], lens[i]);
        uint64_t b = tenreg__hash(&k2, names[i], lens[i]);
        FUZZ_ASSERT_MSG(a == tenreg__hash(&k1b, names[i], lens[i]), "seed 1 not deterministic");
        same += a == b;
    }
    FUZZ_ASSERT_MSG(same == 0, "%u keys hash alike under seeds 1 and 2", same);
    const char *key = "example.com";
    printf("seed 1: %016" PRIx64 "  seed 2: %016" PRIx64 "  (\"%s\")\n",
           tenreg__hash(&k1, key, strlen(key)), tenreg__hash(&k2, key, strlen(key)), key);

    /* Seed 0: random per registry. */
    FUZZ_ASSERT_MSG(tenreg__hash_key_init(&r1, 0) == 0 && tenreg__hash_key_init(&r2, 0) == 0,
                    "no kernel randomness");
    FUZZ_ASSERT_MSG(r1.k0 != r2.k0 || r1.k1 != r2.k1, "seed 0 gave the same key twice");

    /* The FNV flood spreads: mean load 4; a flood would put 4096 in one. */
    unsigned first1, first2;
    unsigned m1 = max_load(&k1, &first1), m2 = max_load(&k2, &first2);
    printf("max bucket load of %u FNV-colliding hosts in %u buckets: seed 1 %u, seed 2 %u "
           "(unkeyed FNV: %u)\n", NAMES, BUCKETS, m1, m2, NAMES);
    FUZZ_ASSERT_MSG(m1 <= 20 && m2 <= 20, "keyed hash flooded: max load %u / %u", m1, m2);
    FUZZ_ASSERT_MSG(first1 != first2, "bucket 0 starts with the same host under both seeds");
    printf("OK\n");
    return 0;
}
