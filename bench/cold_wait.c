/*
 * cold_wait.c - tenreg-cold-wait: issue 3's figure. How long does a thread
 * that resolves a cold lazy tenant (blocking tenreg_resolve, no NOWAIT)
 * wait beyond the factory's own time?
 *
 * For each of --builds cold tenants, one caller thread calls
 * tenreg_resolve(host, 0) inside a read section; the factory sleeps
 * --sleep-us and measures its own duration from inside (first to last
 * instruction). overhead = caller's total wait - factory's own time, split
 * into handoff (caller start -> factory start: once-cell CAS, enqueue,
 * builder wake-up) and return (factory end -> caller back: validator,
 * publish, futex wake, caller wake-up). Builds run one after another, so
 * each measures an idle registry; --concurrent N starts N cold tenants at
 * once (N callers, one per tenant) to see queueing on the builder threads.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tenreg.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

struct slot {
    double f_start, f_end;     /* inside the factory */
    double c_start, c_end;     /* around the caller's tenreg_resolve */
    int rc;
    char host[64], id[32];
};

static struct slot *slots;
static unsigned sleep_us = 2000;
static char platform_byte;

static int factory(void *ctx, const char *tenant_id, void **platform)
{
    struct slot *s = ctx;
    (void)tenant_id;
    s->f_start = now_ns();
    struct timespec d = {(time_t)(sleep_us / 1000000u), (long)(sleep_us % 1000000u) * 1000L};
    nanosleep(&d, NULL);
    *platform = &platform_byte;
    s->f_end = now_ns();
    return 0;
}

static tenreg_t *g_reg;

static void *call_one(void *arg)
{
    struct slot *s = arg;
    tenreg_resolution res;
    tenreg_thread_register();
    tenreg_read_lock();
    s->c_start = now_ns();
    s->rc = tenreg_resolve(g_reg, s->host, strlen(s->host), 0, &res);
    s->c_end = now_ns();
    tenreg_read_unlock();
    tenreg_thread_unregister();
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tenreg-cold-wait [--builds N] [--sleep-us N] [--builders N] [--concurrent N] "
            "[--json]\n"
            "  --builds N      cold lazy tenants to resolve (default 1000)\n"
            "  --sleep-us N    factory sleep, microseconds (default 2000)\n"
            "  --builders N    tenreg builder threads (default 1)\n"
            "  --concurrent N  cold tenants resolved at once, one caller each (default 1)\n"
            "  --json          machine-readable output\n"
            "Reports caller wait - factory's own time (median, p99, max), split into handoff\n"
            "(caller start -> factory start) and return (factory end -> caller back).\n");
}

int main(int argc, char **argv)
{
    unsigned builds = 1000, builders = 1, conc = 1;
    int json = 0;
    static const struct option opts[] = {{"builds", 1, 0, 'b'}, {"sleep-us", 1, 0, 's'},
                                         {"builders", 1, 0, 't'}, {"concurrent", 1, 0, 'c'},
                                         {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'b': builds = (unsigned)strtoul(optarg, NULL, 10); break;
        case 's': sleep_us = (unsigned)strtoul(optarg, NULL, 10); break;
        case 't': builders = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'c': conc = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (builds == 0 || conc == 0 || builders == 0) {
        usage(stderr);
        return 2;
    }

    tenreg_config cfg = {0};
    cfg.expected_tenants = builds;
    cfg.builder_threads = builders;
    if (tenreg_new(&cfg, &g_reg) != 0) {
        fprintf(stderr, "tenreg-cold-wait: tenreg_new failed\n");
        return 1;
    }
    slots = calloc(builds, sizeof(*slots));
    for (unsigned i = 0; i < builds; i++) {
        struct slot *s = &slots[i];
        snprintf(s->id, sizeof(s->id), "cold-%u", i);
        snprintf(s->host, sizeof(s->host), "seller-%u.cold-wait.example.com", i);
        char url[96];
        snprintf(url, sizeof(url), "https://%s/a2a", s->host);
        if (tenreg_register_lazy(g_reg, s->id, url, factory, s, 0) != 0) {
            fprintf(stderr, "tenreg-cold-wait: register_lazy failed\n");
            return 1;
        }
    }

    /* Warm the code paths (and the builder thread) on a tenant of its own. */
    {
        struct slot w = {0};
        snprintf(w.id, sizeof(w.id), "warm");
        snprintf(w.host, sizeof(w.host), "warm.cold-wait.example.com");
        tenreg_register_lazy(g_reg, w.id, "https://warm.cold-wait.example.com", factory, &w, 0);
        call_one(&w);
    }

    pthread_t *th = calloc(conc, sizeof(pthread_t));
    double t0 = now_ns();
    for (unsigned i = 0; i < builds; i += conc) {
        unsigned k = builds - i < conc ? builds - i : conc;
        if (k == 1) {
            call_one(&slots[i]); /* in this thread: no thread start in the figure */
            continue;
        }
        for (unsigned j = 0; j < k; j++)
            pthread_create(&th[j], NULL, call_one, &slots[i + j]);
        for (unsigned j = 0; j < k; j++)
            pthread_join(th[j], NULL);
    }
    double wall = (now_ns() - t0) / 1e9;

    double *over = malloc(builds * sizeof(double));
    double *hand = malloc(builds * sizeof(double));
    double *ret = malloc(builds * sizeof(double));
    double *fact = malloc(builds * sizeof(double));
    unsigned bad = 0;
    for (unsigned i = 0; i < builds; i++) {
        struct slot *s = &slots[i];
        if (s->rc != 0)
            bad++;
        fact[i] = (s->f_end - s->f_start) / 1e3;
        over[i] = ((s->c_end - s->c_start) - (s->f_end - s->f_start)) / 1e3;
        hand[i] = (s->f_start - s->c_start) / 1e3;
        ret[i] = (s->c_end - s->f_end) / 1e3;
    }
    qsort(over, builds, sizeof(double), cmp_d);
    qsort(hand, builds, sizeof(double), cmp_d);
    qsort(ret, builds, sizeof(double), cmp_d);
    qsort(fact, builds, sizeof(double), cmp_d);

    double la[3] = {-1, -1, -1};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &la[0], &la[1], &la[2]) != 3)
            la[0] = -1;
        fclose(f);
    }
    if (json) {
        printf("{\"tool\": \"tenreg-cold-wait\", \"flavor\": \"%s\", \"builds\": %u, "
               "\"sleep_us\": %u, \"builders\": %u, \"concurrent\": %u, \"failed\": %u, "
               "\"wall_s\": %.3f, \"loadavg\": [%.2f, %.2f, %.2f],\n"
               " \"factory_us\": {\"median\": %.2f, \"p99\": %.2f},\n"
               " \"overhead_us\": {\"min\": %.2f, \"median\": %.2f, \"p99\": %.2f, \"max\": %.2f},\n"
               " \"handoff_us\": {\"median\": %.2f, \"p99\": %.2f},\n"
               " \"return_us\": {\"median\": %.2f, \"p99\": %.2f}}\n",
               tenreg_flavor(), builds, sleep_us, builders, conc, bad, wall, la[0], la[1], la[2],
               pct(fact, builds, .5), pct(fact, builds, .99), over[0], pct(over, builds, .5),
               pct(over, builds, .99), over[builds - 1], pct(hand, builds, .5),
               pct(hand, builds, .99), pct(ret, builds, .5), pct(ret, builds, .99));
    } else {
        printf("tenreg-cold-wait: %u cold lazy builds, factory sleeps %u us, %u builder "
               "thread(s), %u at a time, flavor %s; load average %.2f\n",
               builds, sleep_us, builders, conc, tenreg_flavor(), la[0]);
        printf("  factory's own time           median %9.1f us   p99 %9.1f us\n",
               pct(fact, builds, .5), pct(fact, builds, .99));
        printf("  wait beyond the factory      median %9.1f us   p99 %9.1f us   min %.1f  max "
               "%.1f us\n",
               pct(over, builds, .5), pct(over, builds, .99), over[0], over[builds - 1]);
        printf("    handoff (call -> factory)  median %9.1f us   p99 %9.1f us\n",
               pct(hand, builds, .5), pct(hand, builds, .99));
        printf("    return (factory -> caller) median %9.1f us   p99 %9.1f us\n",
               pct(ret, builds, .5), pct(ret, builds, .99));
        if (bad)
            printf("  %u resolves did not answer 0\n", bad);
    }
    tenreg_free(g_reg);
    free(th);
    free(slots);
    free(over);
    free(hand);
    free(ret);
    free(fact);
    return bad ? 1 : 0;
}
