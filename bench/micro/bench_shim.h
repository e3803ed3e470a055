/*
 * bench_shim.h - the plain-C side of tenreg-micro. bench_main.cc (the only
 * C++ file) registers google-benchmark cases and calls these; every
 * benchmark body, setup and teardown is here, in C, against the public API.
 */
#ifndef TENREG_BENCH_SHIM_H
#define TENREG_BENCH_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Admin-op batch size: the batches are prepared with the timer paused. */
#define SHIM_BATCH 1024
#define SHIM_MAX_THREADS 8

/* normalize: 0 short host, 1 URL with userinfo and port, 2 bracketed IPv6. */
const char *shim_normalize_label(int which);
size_t shim_normalize(int which);          /* returns the key length */

/* resolve_by_host on a registry of @n eager tenants, built on first use and
 * kept for the rest of the process (shared by 1- and 2-thread runs). */
typedef struct shim_fix shim_fix;
shim_fix *shim_fixture(size_t n);
void shim_reader_begin(void);
void shim_reader_end(void);
/* One read section + tenreg_resolve_by_host of registered host i % n
 * (visited in a scattered order); returns the platform as an integer. */
size_t shim_resolve_hit(shim_fix *f, size_t i);
/* The same with a host no tenant has (ENOENT). */
size_t shim_resolve_miss(shim_fix *f, size_t i);

/* Wildcards (issue 10): a registry of @n eager tenants with hosts
 * "rtb.<word>-<hex>.example.com" (4 labels); with @patterns, every tenth
 * tenant also holds the pattern "*.<word>-<hex>.example.com". Built on
 * first use and kept, like shim_fixture. Each call is one read section +
 * tenreg_resolve_by_host, and aborts on a wrong answer. */
typedef struct shim_wild shim_wild;
shim_wild *shim_wild_fixture(size_t n, int patterns);
/* An exact host of tenant i % n (scattered order); returns the platform. */
size_t shim_wild_exact_hit(shim_wild *f, size_t i);
/* A host @depth labels (1 or 3) under a pattern holder's pattern
 * ("x7.NAME", "a.b.x7.NAME"); needs a fixture with patterns. */
size_t shim_wild_pattern_hit(shim_wild *f, size_t i, int depth);
/* An unknown 4-label host ("nx.<word>-<hex>.example.com", under no
 * pattern): ENOENT. */
size_t shim_wild_miss4(shim_wild *f, size_t i);

/* Admin ops on a fresh registry per benchmark run. */
typedef struct shim_admin shim_admin;
shim_admin *shim_admin_new(size_t prefill, unsigned factory_us);
void shim_admin_free(shim_admin *a);
/* Writes SHIM_BATCH new ids/URLs for @thread (untimed part of a batch). */
void shim_batch_names(shim_admin *a, unsigned thread);
/* Registers the batch (untimed part of unregister / lazy batches). */
void shim_batch_register(shim_admin *a, unsigned thread, int lazy);
int shim_register(shim_admin *a, unsigned thread, size_t j);     /* eager, batch name j */
int shim_unregister(shim_admin *a, unsigned thread, size_t j);
int shim_recheck(shim_admin *a, size_t i);                        /* prefilled tenant i % prefill */
/* First resolve of lazy batch tenant j: NOWAIT (queues the build, EPENDING)
 * or blocking (waits for the builder; returns 0). */
int shim_lazy_first_hit(shim_admin *a, unsigned thread, size_t j, int wait);
/* Waits until every queued build of @a has run (untimed). */
void shim_admin_quiesce(shim_admin *a);

#ifdef __cplusplus
}
#endif

#endif
