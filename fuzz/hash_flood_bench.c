/*
 * hash_flood_bench.c - target tenreg-hash-flood-bench: lookups when every
 * host collides under an unkeyed hash.
 *
 * Registers N hosts (default 100000) that all share one plain 32-bit
 * FNV-1a value (fnv_collide.h), and, for reference, N random hosts of the
 * same shape and length, in
 * tenreg (SipHash-1-3 with a random per-registry key) and in a plain
 * chained table indexed by unkeyed FNV-1a with as many buckets as hosts.
 * Both normalize the Host first (tenreg_normalize_host), so they differ only
 * in the table. Prints lookups per second of all four, from one run.
 *
 * usage: tenreg-hash-flood-bench [hosts [seconds-per-phase]]
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fnv_collide.h"
#include "tenreg.h"

#define NAME_CAP 128

struct node {
    struct node *next;
    size_t len;
    void *value;
    char key[];
};

struct chain_table {
    struct node **buckets;
    size_t mask;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "tenreg-hash-flood-bench: %s\n", what);
    exit(1);
}

static void chain_init(struct chain_table *t, size_t n)
{
    size_t size = 1;
    while (size < n)
        size <<= 1;
    t->buckets = calloc(size, sizeof(*t->buckets));
    if (!t->buckets)
        die("out of memory");
    t->mask = size - 1;
}

static void chain_insert(struct chain_table *t, const char *key, size_t len, void *value)
{
    struct node *n = malloc(sizeof(*n) + len + 1);
    if (!n)
        die("out of memory");
    n->len = len;
    n->value = value;
    memcpy(n->key, key, len + 1);
    struct node **b = &t->buckets[fnv1a32(key, len) & t->mask];
    n->next = *b;
    *b = n;
}

static void *chain_lookup(const struct chain_table *t, const char *host, size_t hlen)
{
    char key[TENREG_HOST_KEY_MAX + 1];
    size_t len;
    if (tenreg_normalize_host(host, hlen, key, sizeof(key), &len) != TENREG_OK)
        return NULL;
    for (const struct node *n = t->buckets[fnv1a32(key, len) & t->mask]; n; n = n->next)
        if (n->len == len && memcmp(n->key, key, len) == 0)
            return n->value;
    return NULL;
}

static size_t chain_max_len(const struct chain_table *t)
{
    size_t max = 0;
    for (size_t b = 0; b <= t->mask; b++) {
        size_t n = 0;
        for (const struct node *x = t->buckets[b]; x; x = x->next)
            n++;
        if (n > max)
            max = n;
    }
    return max;
}

static void chain_free(struct chain_table *t)
{
    for (size_t b = 0; b <= t->mask; b++) {
        struct node *x = t->buckets[b];
        while (x) {
            struct node *next = x->next;
            free(x);
            x = next;
        }
    }
    free(t->buckets);
}

/* Lookups of names[] in a pseudo-random order for @secs; checks each. */
static double bench_tenreg(tenreg_t *reg, char (*names)[NAME_CAP], const size_t *lens,
                           char *values, size_t n, double secs)
{
    uint64_t done = 0;
    size_t i = 0;
    double t0 = now(), t1;
    do {
        for (int k = 0; k < 64; k++) {
            tenreg_resolution out;
            i = (i + 7919) % n;
            tenreg_read_lock();
            int rc = tenreg_resolve_by_host(reg, names[i], lens[i], &out);
            if (rc != TENREG_OK || out.platform != &values[i])
                die("tenreg lookup answered wrong");
            tenreg_read_unlock();
        }
        done += 64;
        t1 = now();
    } while (t1 - t0 < secs);
    return (double)done / (t1 - t0);
}

static double bench_chain(const struct chain_table *t, char (*names)[NAME_CAP],
                          const size_t *lens, char *values, size_t n, double secs)
{
    uint64_t done = 0;
    size_t i = 0;
    double t0 = now(), t1;
    do {
        i = (i + 7919) % n;
        if (chain_lookup(t, names[i], lens[i]) != &values[i])
            die("chained lookup answered wrong");
        done++;
        t1 = now();
    } while (t1 - t0 < secs);
    return (double)done / (t1 - t0);
}

static tenreg_t *fill_tenreg(char (*names)[NAME_CAP], char *values, size_t n, double *secs)
{
    tenreg_config cfg = {0};
    cfg.expected_tenants = n;
    tenreg_t *reg;
    if (tenreg_new(&cfg, &reg) != TENREG_OK)
        die("tenreg_new failed");
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "t%zu", i);
        int rc = tenreg_register(reg, id, names[i], &values[i], 0);
        if (rc != TENREG_OK) {
            fprintf(stderr, "register %s: %s\n", names[i], tenreg_strerror(rc));
            exit(1);
        }
    }
    *secs = now() - t0;
    return reg;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    double secs = argc > 2 ? strtod(argv[2], NULL) : 1.0;
    if (n < 2 || n > (1u << FNV_MAX_BLOCKS))
        die("hosts must be 2..262144");
    unsigned blocks = 1;
    while ((1ul << blocks) < n)
        blocks++;

    char (*flood)[NAME_CAP] = calloc(n, NAME_CAP);
    char (*plain)[NAME_CAP] = calloc(n, NAME_CAP);
    size_t *flood_len = calloc(n, sizeof(size_t)), *plain_len = calloc(n, sizeof(size_t));
    char *values = calloc(n, 1);
    if (!flood || !plain || !flood_len || !plain_len || !values)
        die("out of memory");

    double t0 = now();
    struct fnv_pairs pairs;
    if (fnv_pairs_init(&pairs, blocks) != 0)
        die("no FNV-1a collisions found");
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++) {
        flood_len[i] = fnv_name(&pairs, (uint32_t)i, flood[i]);
        if (fnv1a32(flood[i], flood_len[i]) != fnv1a32(flood[0], flood_len[0]))
            die("generated hosts do not collide");
        /* Random hosts of the same shape and length: same cost to
         * normalize and hash, so only the table makes a difference. */
        memcpy(plain[i], flood[i], flood_len[i] + 1);
        for (size_t k = 0; k < flood_len[i] - (sizeof(FNV_SUFFIX) - 1); k++) {
            if (plain[i][k] == '.')
                continue;
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            plain[i][k] = (char)('a' + (rng >> 33) % 26);
        }
        plain_len[i] = flood_len[i];
    }
    printf("hosts: %zu colliding (all FNV-1a %08" PRIx32 ", e.g. %s), %zu random; "
           "generated in %.2f s\n", n, fnv1a32(flood[0], flood_len[0]), flood[n - 1], n,
           now() - t0);

    tenreg_thread_register();
    struct {
        const char *what;
        char (*names)[NAME_CAP];
        size_t *lens;
    } sets[2] = {{"random", plain, plain_len}, {"colliding", flood, flood_len}};
    double res[2][2];
    for (int s = 0; s < 2; s++) {
        double reg_secs;
        tenreg_t *reg = fill_tenreg(sets[s].names, values, n, &reg_secs);
        res[s][0] = bench_tenreg(reg, sets[s].names, sets[s].lens, values, n, secs);
        tenreg_free(reg);

        struct chain_table t;
        chain_init(&t, n);
        for (size_t i = 0; i < n; i++)
            chain_insert(&t, sets[s].names[i], sets[s].lens[i], &values[i]);
        size_t longest = chain_max_len(&t);
        res[s][1] = bench_chain(&t, sets[s].names, sets[s].lens, values, n, secs);
        chain_free(&t);
        printf("%-9s hosts: tenreg %12.0f lookups/s (registered in %.2f s) | "
               "unkeyed FNV chained %12.0f lookups/s (longest chain %zu)\n",
               sets[s].what, res[s][0], reg_secs, res[s][1], longest);
    }
    printf("colliding/random: tenreg %.2fx, unkeyed FNV %.5fx; "
           "tenreg/FNV under the flood: %.0fx\n",
           res[1][0] / res[0][0], res[1][1] / res[0][1], res[1][0] / res[1][1]);
    tenreg_thread_unregister();
    free(flood);
    free(plain);
    free(flood_len);
    free(plain_len);
    free(values);
    return 0;
}
