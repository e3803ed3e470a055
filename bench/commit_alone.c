/*
 * commit_alone.c - tenreg-commit-alone: batch commits with nothing else
 * running, to separate a commit's own cost from what sharing 2 cores with
 * readers adds (the load benchmark's commit phase, bench/load/commits.c):
 *
 *   build-bench/bench/tenreg-commit-alone [tenants [hash_seed]]
 *
 * (defaults 1000000 and 0: a kernel key, as in production and the load
 * benchmark; a fixed seed makes the commits compare every kept id's key).
 * Loads @tenants eager tenants with one batch, then times three
 * REPLACE_ALL syncs that keep 99% and register 1% with another URL, and
 * five 10k-op batches of re-registrations (moves). Prints each commit's wall
 * time and the time to record its ops.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tenreg.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int platform;

static int check(int rc, const char *what)
{
    if (rc != TENREG_OK) {
        fprintf(stderr, "%s: %s\n", what, tenreg_err_name(rc));
        exit(1);
    }
    return rc;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000000;
    unsigned long long seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 0;
    if (n < 100) {
        fprintf(stderr, "usage: %s [tenants >= 100 [hash_seed]]\n", argv[0]);
        return 2;
    }
    tenreg_t *reg;
    tenreg_config cfg = {.expected_tenants = (size_t)n, .hash_seed = seed};
    check(tenreg_new(&cfg, &reg), "tenreg_new");
    char id[32], url[64];
    tenreg_batch *b;
    check(tenreg_batch_new(reg, &b), "batch_new");
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "t%d", i);
        snprintf(url, sizeof url, "https://t%d.bid.example", i);
        check(tenreg_batch_register(b, id, url, &platform), "batch_register");
    }
    double t0 = now_ms();
    check(tenreg_batch_commit(b, 0), "load commit");
    printf("load of %d tenants in one batch: %.1f ms\n", n, now_ms() - t0);
    tenreg_batch_free(b);

    for (int r = 0; r < 3; r++) {
        check(tenreg_batch_new(reg, &b), "batch_new");
        double tb = now_ms();
        for (int i = 0; i < n; i++) {
            snprintf(id, sizeof id, "t%d", i);
            if (i % 100 == r) {
                snprintf(url, sizeof url, "https://t%d.v%d.example", i, r);
                check(tenreg_batch_register(b, id, url, &platform), "batch_register");
            } else {
                check(tenreg_batch_keep(b, id), "batch_keep");
            }
        }
        double tc = now_ms();
        check(tenreg_batch_commit(b, TENREG_BATCH_REPLACE_ALL), "sync commit");
        printf("REPLACE_ALL sync %d, 1%% changed: commit %.1f ms (recording %.1f ms)\n", r,
               now_ms() - tc, tc - tb);
        tenreg_batch_free(b);
    }

    for (int r = 0; r < 5; r++) {
        check(tenreg_batch_new(reg, &b), "batch_new");
        for (int i = 0; i < 10000; i++) {
            int k = (int)(((long)i * 7919 + r) % n);
            snprintf(id, sizeof id, "t%d", k);
            snprintf(url, sizeof url, "https://t%d.w%d.example", k, r);
            check(tenreg_batch_register(b, id, url, &platform), "batch_register");
        }
        double tc = now_ms();
        check(tenreg_batch_commit(b, 0), "10k commit");
        printf("10k-op batch %d (moves): commit %.1f ms\n", r, now_ms() - tc);
        tenreg_batch_free(b);
    }
    tenreg_free(reg);
    return 0;
}
