/*
 * backend.h - the tenant lookup behind the front, with two implementations:
 *
 *   tenreg  the library: lock-free reads, lazy builds on its builder threads
 *   rwlock  the obvious alternative: a hash map under a pthread_rwlock, for
 *           the comparison the load test measures (same front, same run)
 *
 * Both answer with tenreg's codes, so the front maps them to HTTP in one
 * place, and both normalize hosts with tenreg_normalize_host, so a host
 * finds the same tenant in either. Admin calls (reload included) are
 * serialized by the caller (the admin thread and SIGHUP's reload, under
 * the reloader's lock, reload.h); resolve is called concurrently by every
 * worker.
 */
#ifndef FRONT_BACKEND_H
#define FRONT_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tenreg.h"

struct demo;

/* Longest host key or pattern text ("*." + a host key), without the NUL. */
#define BACKEND_HOST_MAX (TENREG_HOST_KEY_MAX + 2)

/* What resolve answers: a tenreg code and, for every code but ENOENT and
 * EINVAL, the tenant (copied out of the read section), its health and
 * the host key or pattern that decided (matched_len 0: not told). */
struct answer {
    int code;
    tenreg_health health;
    size_t tenant_len;
    char tenant[TENREG_ID_MAX + 1];
    size_t matched_len;
    char matched[BACKEND_HOST_MAX + 1];
};

typedef int (*backend_each_fn)(void *ctx, const char *tenant_id, tenreg_health h);
typedef int (*backend_host_fn)(void *ctx, const char *host_or_pattern);

/* What the tenreg backend takes from the command line (docs/design.md
 * §8.2-§8.4); the rwlock backend has none of it. */
struct backend_options {
    unsigned flags;                 /* tenreg_config.flags: TENREG_CFG_TRANSIENT_FAILURES */
    uint32_t recheck_interval_ms;   /* tenreg_config.recheck_interval_ms; 0 = off */
    uint32_t build_retry_ms;        /* tenreg_config.build_retry_ms; 0 = a failed build is final */
    bool event_log;                 /* one line on stderr per tenreg event */
};

/* One tenant of a reload (backend.reload): what to do with it. */
enum reload_kind {
    RELOAD_KEEP,        /* leave it exactly as it is (tenreg_batch_keep) */
    RELOAD_ADD_HOSTS,   /* the same registration, with @hosts added */
    RELOAD_REGISTER     /* a new registration of @id (new, or replacing one), with @hosts */
};

struct reload_op {
    enum reload_kind kind;
    const char *id, *url;       /* url: RELOAD_REGISTER */
    bool lazy;                  /* RELOAD_REGISTER */
    const char *const *hosts;   /* extra hosts and patterns */
    size_t nhosts;
};

struct backend {
    const char *name;
    void *impl;
    /* Every worker thread, around its loop. */
    void (*thread_start)(void *impl);
    void (*thread_stop)(void *impl);
    /* Hot path: never builds in place, never waits (TENREG_NOWAIT). */
    void (*resolve)(void *impl, const char *host, size_t len, struct answer *out);
    /* Admin calls. add: eager tenants are validated before it returns
     * (with @await; without it they stay PENDING until their first check:
     * a recheck, or a background one); lazy ones stay PENDING until their
     * first resolve (@await is false for them). *replaced tells whether the
     * id existed. Returns 0 or a tenreg code, nothing changed. */
    int (*add)(void *impl, const char *id, const char *url, bool lazy, bool await,
               bool *replaced);
    int (*remove)(void *impl, const char *id);
    int (*recheck)(void *impl, const char *id);
    int (*health)(void *impl, const char *id, tenreg_health *out);
    int (*foreach)(void *impl, backend_each_fn fn, void *ctx);
    /* A tenant's status (tenreg_status_of's codes). With full_status false
     * (rwlock) only health, lazy, built and hosts are filled: that backend
     * keeps no verdict, reason, failure count or times. */
    int (*status)(void *impl, const char *id, tenreg_status *out);
    bool full_status;
    /* The registry's counters (tenreg_stats_of); NULL: none (rwlock). */
    int (*stats)(void *impl, tenreg_stats *out);
    /* A tenant's extra hosts and "*.NAME" patterns (docs/design.md §8.1),
     * with tenreg_add_host / _remove_host / _foreach_host's codes. add_host
     * and remove_host are NULL where the backend has one host per tenant
     * (rwlock): the admin API answers 501 for the host endpoints then;
     * foreach_host is always set (rwlock: the one host), for the status. */
    int (*add_host)(void *impl, const char *id, const char *host);
    int (*remove_host)(void *impl, const char *id, const char *host);
    int (*foreach_host)(void *impl, const char *id, backend_host_fn fn, void *ctx);
    /*
     * Make the tenants exactly @ops, as one change: every tenant no op
     * names is unregistered, and readers see the old set or the new one,
     * never a mix (tenreg: one tenreg_batch committed with
     * TENREG_BATCH_REPLACE_ALL; rwlock: a new table swapped in under the
     * write lock). Eager tenants it registers get a demo platform and are
     * validated - tenreg: rechecked once the commit is in (a batch
     * registration is pending until then), rwlock: before the swap. Ids
     * must be distinct. Returns 0, or a tenreg code with nothing changed
     * and every platform it made freed again: EEXIST (a host for two
     * tenants), ENOSPC (too many hosts), ENOENT (a kept id is not
     * registered), ENOMEM, EINVAL (an argument; also extra hosts on the
     * rwlock backend); *failed is the op refused when it was recorded,
     * SIZE_MAX when the set as a whole was.
     */
    int (*reload)(void *impl, const struct reload_op *ops, size_t n, size_t *failed);
    void (*destroy)(void *impl);   /* frees every platform */
};

/* Each returns 0 or a tenreg code. */
int backend_tenreg_new(struct demo *demo, size_t expected, const struct backend_options *o,
                       struct backend *out);
int backend_rwlock_new(struct demo *demo, size_t expected, struct backend *out);

/* "unchecked", "valid", "invalid", "check_failed", "build_failed"
 * ("unknown" otherwise): for JSON and log lines. */
const char *backend_verdict_name(tenreg_verdict v);

/* @ns (CLOCK_REALTIME nanoseconds) as "2026-11-27T04:19:00.123456789Z" into
 * @out (at least BACKEND_TIME_MAX bytes). */
#define BACKEND_TIME_MAX 40
void backend_format_time(int64_t ns, char *out, size_t cap);

#endif
