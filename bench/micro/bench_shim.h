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
