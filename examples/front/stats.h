/*
 * stats.h - per-worker response counters.
 *
 * Each worker writes only its own slot (relaxed load + store, no locked
 * instruction on the hot path) and the admin thread sums them for
 * GET /stats; a slot is padded to its own cache lines so workers never
 * share one. The load test uses the sums to count 503s by reason.
 */
#ifndef FRONT_STATS_H
#define FRONT_STATS_H

#include <stdatomic.h>
#include <stdint.h>

enum stat {
    ST_200, ST_400, ST_404, ST_405, ST_413, ST_431, ST_500, ST_501, ST_505,
    ST_503_UNSERVED,    /* known, has a platform, health not served */
    ST_503_EPENDING,    /* known, lazy build not done */
    ST_503_EDISABLED,   /* an earlier lazy build failed */
    ST_503_EFACTORY,    /* the build this request waited for failed */
    ST_503_EVALIDATOR,
    ST_COUNT
};

extern const char *const stat_names[ST_COUNT];

struct stats_slot {
    _Alignas(128) atomic_uint_fast64_t n[ST_COUNT];
};

static inline void stat_inc(struct stats_slot *s, enum stat k)
{
    /* Single writer: a relaxed read-modify-write without a lock prefix. */
    atomic_store_explicit(&s->n[k], atomic_load_explicit(&s->n[k], memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

#endif
