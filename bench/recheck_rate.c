/*
 * recheck_rate.c - tenreg-recheck-rate: issue 11's figures for background
 * rechecks (docs/design.md §8.4).
 *
 * 1. Check rate over time: --tenants eager tenants (default 1M) in a
 *    registry with recheck_interval_ms = --interval-ms (default 60000), a
 *    validator that only counts, per --bucket-ms window, the checks that
 *    ran. Printed: checks per second in each window for --seconds (default
 *    1.5 intervals: the first interval, where each tenant's first check
 *    falls at a random point, and half of the second, where checks come
 *    every interval +- 10%), with the mean, the spread (min, max, stddev
 *    over the windows) and the largest window against the mean. Flat means
 *    every window near tenants / interval.
 * 2. Cost to readers: --readers threads resolve random registered hosts in
 *    the same registry, first with no background checks (a twin registry,
 *    same tenants, interval 0) for --reader-seconds, then in the checking
 *    registry during the measurement of 1. Printed: lookups per second per
 *    reader, both ways, and their ratio.
 *
 *   tenreg-recheck-rate [--tenants N] [--interval-ms MS] [--seconds S]
 *                       [--bucket-ms MS] [--readers R] [--reader-seconds S]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tenreg.h"

#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define MAX_BUCKETS 100000
static _Atomic unsigned long buckets[MAX_BUCKETS];
static double t_start, bucket_s;
static _Atomic bool counting;

static int counting_validator(void *ctx, const char *tenant_id, const char *agent_url)
{
    (void)ctx;
    (void)tenant_id;
    (void)agent_url;
    if (atomic_load_explicit(&counting, memory_order_relaxed)) {
        long b = (long)((now_s() - t_start) / bucket_s);
        if (b >= 0 && b < MAX_BUCKETS)
            atomic_fetch_add_explicit(&buckets[b], 1, memory_order_relaxed);
    }
    return 1;
}

static char (*hosts)[48];
static unsigned long ntenants;
static tenreg_t *reader_reg;
static _Atomic bool readers_stop;

struct reader {
    pthread_t th;
    unsigned long lookups;
    unsigned seed;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    tenreg_thread_register();
    unsigned long n = 0, x = r->seed;
    while (!atomic_load_explicit(&readers_stop, memory_order_relaxed)) {
        tenreg_read_lock();
        for (int i = 0; i < 256; i++) {
            x = x * 6364136223846793005ul + 1442695040888963407ul;
            const char *h = hosts[(x >> 33) % ntenants];
            tenreg_resolution res;
            if (tenreg_resolve_by_host(reader_reg, h, strlen(h), &res) != TENREG_OK)
                abort();
        }
        tenreg_read_unlock();
        n += 256;
    }
    r->lookups = n;
    tenreg_thread_unregister();
    return NULL;
}

/* Lookups per second per reader over @seconds against @reg. */
static double run_readers(tenreg_t *reg, unsigned nreaders, double seconds)
{
    struct reader *rs = calloc(nreaders, sizeof(*rs));
    reader_reg = reg;
    atomic_store(&readers_stop, false);
    for (unsigned i = 0; i < nreaders; i++) {
        rs[i].seed = 7 + i;
        pthread_create(&rs[i].th, NULL, reader_main, &rs[i]);
    }
    double t0 = now_s();
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&readers_stop, true);
    unsigned long total = 0;
    for (unsigned i = 0; i < nreaders; i++) {
        pthread_join(rs[i].th, NULL);
        total += rs[i].lookups;
    }
    double dt = now_s() - t0;
    free(rs);
    return nreaders ? (double)total / dt / nreaders : 0;
}

static int dummy_platform;

static tenreg_t *make_registry(uint32_t interval_ms)
{
    tenreg_config cfg = {.validator = counting_validator,
                         .expected_tenants = ntenants,
                         .recheck_interval_ms = interval_ms};
    tenreg_t *reg;
    if (tenreg_new(&cfg, &reg) != TENREG_OK) {
        fprintf(stderr, "tenreg_new failed\n");
        exit(1);
    }
    char id[32];
    for (unsigned long i = 0; i < ntenants; i++) {
        snprintf(id, sizeof(id), "t%lu", i);
        if (tenreg_register(reg, id, hosts[i], &dummy_platform, 0) != TENREG_OK) {
            fprintf(stderr, "register %s failed\n", id);
            exit(1);
        }
    }
    return reg;
}

int main(int argc, char **argv)
{
    unsigned long interval_ms = 60000, bucket_ms = 1000;
    double seconds = -1, reader_seconds = 10;
    unsigned nreaders = 1;
    ntenants = 1000000;
    static const struct option opts[] = {
        {"tenants", required_argument, 0, 't'}, {"interval-ms", required_argument, 0, 'i'},
        {"seconds", required_argument, 0, 's'}, {"bucket-ms", required_argument, 0, 'b'},
        {"readers", required_argument, 0, 'r'}, {"reader-seconds", required_argument, 0, 'R'},
        {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 't': ntenants = strtoul(optarg, NULL, 10); break;
        case 'i': interval_ms = strtoul(optarg, NULL, 10); break;
        case 's': seconds = atof(optarg); break;
        case 'b': bucket_ms = strtoul(optarg, NULL, 10); break;
        case 'r': nreaders = (unsigned)atoi(optarg); break;
        case 'R': reader_seconds = atof(optarg); break;
        default:
            fprintf(stderr, "usage: %s [--tenants N] [--interval-ms MS] [--seconds S] "
                            "[--bucket-ms MS] [--readers R] [--reader-seconds S]\n", argv[0]);
            return 2;
        }
    }
    if (ntenants == 0 || interval_ms == 0 || bucket_ms == 0)
        return 2;
    if (seconds < 0)
        seconds = 1.5 * (double)interval_ms / 1000;
    bucket_s = (double)bucket_ms / 1000;
    long nb = (long)(seconds / bucket_s);
    if (nb < 1 || nb > MAX_BUCKETS)
        return 2;
    hosts = calloc(ntenants, sizeof(*hosts));
    for (unsigned long i = 0; i < ntenants; i++)
        snprintf(hosts[i], sizeof(hosts[i]), "t%lu.bid.example", i);

    /* Readers without background checks, on a twin registry. */
    tenreg_t *quiet = make_registry(0);
    double base = run_readers(quiet, nreaders, reader_seconds);
    tenreg_free(quiet);

    t_start = now_s();
    atomic_store(&counting, true);
    double t_reg = now_s();
    tenreg_t *reg = make_registry((uint32_t)interval_ms);
    t_reg = now_s() - t_reg;
    /* Readers run during the measurement, to its end. */
    double left = seconds - (now_s() - t_start);
    double with = run_readers(reg, nreaders, left > 0 ? left : 0);
    atomic_store(&counting, false);

    printf("tenreg-recheck-rate: %lu tenants, interval %lu ms, %.0f s in %lu ms windows "
           "(registration took %.2f s, inside the first window(s))\n",
           ntenants, interval_ms, seconds, bucket_ms, t_reg);
    double expect = (double)ntenants / ((double)interval_ms / 1000);
    double sum = 0, sq = 0, mn = 1e300, mx = 0;
    long first = (long)ceil(t_reg / bucket_s); /* windows after registration ended */
    long used = 0;
    for (long b = 0; b < nb; b++) {
        double rate = (double)atomic_load(&buckets[b]) / bucket_s;
        printf("  window %4ld  [%7.1f s]  %9.0f checks/s%s\n", b, (double)b * bucket_s, rate,
               b < first ? "  (registration still running)" : "");
        if (b < first)
            continue;
        sum += rate;
        sq += rate * rate;
        mn = rate < mn ? rate : mn;
        mx = rate > mx ? rate : mx;
        used++;
    }
    if (used > 0) {
        double mean = sum / (double)used;
        double sd = sqrt(fmax(0, sq / (double)used - mean * mean));
        printf("check rate over %ld windows: mean %.0f/s (tenants/interval = %.0f/s), "
               "min %.0f, max %.0f, stddev %.0f (%.1f%% of the mean); max/mean %.3f\n",
               used, mean, expect, mn, mx, sd, 100 * sd / mean, mx / mean);
    }
    printf("readers (%u): %.2f M lookups/s each without background checks, %.2f M with; "
           "ratio %.3f\n", nreaders, base / 1e6, with / 1e6, base > 0 ? with / base : 0);
    tenreg_stats st;
    tenreg_stats_of(reg, &st);
    printf("stats: %zu tenants, %llu checks (%llu failed)\n", st.tenants,
           (unsigned long long)st.checks, (unsigned long long)st.checks_failed);
    tenreg_free(reg);
    free(hosts);
    return 0;
}
