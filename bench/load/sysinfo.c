/*
 * sysinfo.c - the machine a run measured on: CPU count and model, load
 * average at start and end, the timer's own cost; and the process's RSS
 * and glibc heap, for the bytes-per-tenant columns.
 */
#include "run.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                p += 2;
                p[strcspn(p, "\n")] = 0;
                snprintf(out, cap, "%s", p);
            }
            break;
        }
    }
    fclose(f);
}

static void loadavg(double v[3])
{
    v[0] = v[1] = v[2] = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &v[0], &v[1], &v[2]) != 3)
            v[0] = v[1] = v[2] = -1;
        fclose(f);
    }
}

void sysinfo_start(struct sysinfo *si)
{
    memset(si, 0, sizeof(*si));
    si->cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_model(si->model, sizeof(si->model));
    loadavg(si->la_start);
    bench_tsc_calibrate();
    si->timer_ns = (double)bench_timer_overhead_ticks() / bench_tsc_per_ns;
}

void sysinfo_end(struct sysinfo *si)
{
    loadavg(si->la_end);
}

double sysinfo_rss_bytes(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (double)res * (double)sysconf(_SC_PAGESIZE);
}

double sysinfo_heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (double)mi.uordblks + (double)mi.hblkhd;
}
