/*
 * tenreg.h - lock-free multi-tenant registry for latency-critical bidders.
 *
 * Given an HTTP Host header (or an agent URL), tenreg answers which tenant it
 * belongs to, how healthy that tenant is, and what its platform object is,
 * without taking a lock on the read side. Admin threads register, unregister,
 * re-validate and lazily build tenants while readers keep going.
 *
 * This is the only public header. Nothing of liburcu or jemalloc leaks into
 * it. The contract (names, argument orders, error codes) is docs/design.md §2;
 * "docs/design.md §N" below means that file of the source tree, installed
 * as <prefix>/share/doc/tenreg/design.md.
 *
 * Threading vocabulary used in every doc block below:
 *   - "reader thread": a thread that called tenreg_thread_register().
 *   - "read section": the span between tenreg_read_lock() and
 *     tenreg_read_unlock() (memb flavor); in the QSBR flavor, the span
 *     between two tenreg_quiescent() calls of an online reader.
 *   - "admin call": register*, unregister, recheck, add_host, remove_host,
 *     foreach, foreach_host, batch_commit. Any thread may
 *     make one, registered or not, but never from inside a read section.
 *     Admin calls never wait for a grace period, but for one: a batch
 *     commit waits for one, and the admin calls that change the registry
 *     meanwhile wait for that commit to finish. Once tenreg_free() has
 *     begun they answer TENREG_EINVAL.
 */
#ifndef TENREG_H
#define TENREG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ----------------------------------------------------------- */

/* While the major version is 0 a minor release may change the ABI: 0.2
 * appended `matched` to tenreg_resolution, which the library writes, and
 * fields to tenreg_config, which it reads, so a program built against 0.1
 * must be rebuilt. Compare tenreg_version() with TENREG_VERSION_NUMBER. */

#define TENREG_VERSION_MAJOR 0
#define TENREG_VERSION_MINOR 2
#define TENREG_VERSION_PATCH 0
#define TENREG_VERSION_NUMBER \
    (TENREG_VERSION_MAJOR * 10000 + TENREG_VERSION_MINOR * 100 + TENREG_VERSION_PATCH)
#define TENREG_VERSION_STRING "0.2.0"

/* ---- export ------------------------------------------------------------ */

#if defined(TENREG_STATIC)
#  define TENREG_API
#elif defined(_WIN32)
#  if defined(TENREG_BUILDING)
#    define TENREG_API __declspec(dllexport)
#  else
#    define TENREG_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define TENREG_API __attribute__((visibility("default")))
#else
#  define TENREG_API
#endif

/* ---- types ------------------------------------------------------------- */

/** Opaque registry handle; create with tenreg_new(), destroy with tenreg_free(). */
typedef struct tenreg tenreg_t;

typedef enum tenreg_health {
    TENREG_PENDING = 0,     /* registered, not validated yet */
    TENREG_HEALTHY = 1,     /* last validation said valid */
    TENREG_UNVERIFIED = 2,  /* was healthy, last recheck failed */
    TENREG_DISABLED = 3     /* failed validation or failed lazy build */
} tenreg_health;

/*
 * Error codes. Every call returns 0 or one of these negative values. The
 * values are pinned: they never change between releases. One X-macro
 * generates the enum and the tenreg_strerror()/tenreg_err_name() tables.
 *   XX(name, value, message)
 */
#define TENREG_ERRNO_MAP(XX)                                                        \
    XX(ENOENT, -1, "no tenant for this host or id")                                 \
    XX(EINVAL, -2, "invalid argument")                                              \
    XX(ENOMEM, -3, "out of memory; the registry is unchanged")                      \
    XX(EPENDING, -4, "tenant known, platform not built yet")                        \
    XX(EVALIDATOR, -5, "validator said invalid or failed")                          \
    XX(EFACTORY, -6, "platform factory failed")                                     \
    XX(EDISABLED, -7, "tenant known, a failed lazy build left it without platform") \
    XX(ENOSPC, -8, "no room: output buffer too small, or host limit reached")       \
    XX(EEXIST, -9, "host already belongs to another tenant")

enum {
    TENREG_OK = 0,
#define TENREG_ERRNO_ENUM_(name, value, msg) TENREG_##name = (value),
    TENREG_ERRNO_MAP(TENREG_ERRNO_ENUM_)
#undef TENREG_ERRNO_ENUM_
};

/**
 * tenreg_validator_fn - adopter's check that a tenant's agent URL is valid.
 * Returns 1 (or any positive value) for valid, 0 for invalid, < 0 when the
 * check itself failed. Called outside any read section (QSBR flavor:
 * offline) and outside any registry-wide lock: in the admin thread for
 * register/recheck, on a builder thread for lazy builds. A read section it
 * takes with tenreg_read_lock() protects what it resolves, in both flavors.
 *
 * Callbacks (validator, factory, platform_free) may call tenreg, with
 * these exceptions, which would wait for themselves: never tenreg_free();
 * no tenreg_recheck() or TENREG_AWAIT_FIRST_VALIDATION registration of the
 * tenant being checked or built (its checks run one at a time), and from a
 * factory or a build's validation (builder threads) of no tenant at all:
 * its turn may belong to a build still queued behind this one, on the only
 * builder (docs/design.md §5.12); resolves only with TENREG_NOWAIT (a
 * blocking resolve may wait for the very build the callback belongs to).
 * Unregister and plain register are fine.
 */
typedef int (*tenreg_validator_fn)(void *ctx, const char *tenant_id, const char *agent_url);

/**
 * tenreg_factory_fn - adopter's lazy constructor of a tenant's platform.
 * Returns 0 and sets *platform (non-NULL), or < 0 on failure. A return of 0
 * with *platform == NULL counts as a failure. Runs on a builder thread (or in
 * the registering thread for TENREG_AWAIT_FIRST_VALIDATION), outside any
 * read section; exactly once per lazy registration (per attempt with build_retry_ms).
 */
typedef int (*tenreg_factory_fn)(void *ctx, const char *tenant_id, void **platform);

/**
 * tenreg_free_fn - releases a platform the registry owned. Called exactly
 * once per platform, after a grace period (no reader can still see it),
 * never inside a read section (QSBR flavor: offline); usually on liburcu's
 * call_rcu thread.
 */
typedef void (*tenreg_free_fn)(void *ctx, void *platform);

/* ---- status and events (docs/design.md §8.2, §8.3) --------------------- */

/* What the last check or build of a tenant concluded. */
typedef enum tenreg_verdict {
    TENREG_UNCHECKED = 0,    /* no check or build has ended for this registration */
    TENREG_VALID = 1,        /* the validator said valid */
    TENREG_INVALID = 2,      /* the validator said invalid (0) */
    TENREG_CHECK_FAILED = 3, /* the validator could not check (< 0) */
    TENREG_BUILD_FAILED = 4  /* a lazy build's factory failed */
} tenreg_verdict;

/** Longest reason kept, in bytes, without the NUL. */
#define TENREG_REASON_MAX 127

/* A tenant's status, as tenreg_status_of() copies it. */
typedef struct tenreg_status {
    tenreg_health health;
    tenreg_verdict verdict;       /* of the last check or build */
    unsigned failures;            /* consecutive failed checks/builds; 0 after a valid one */
    int64_t checked_at_ns;        /* CLOCK_REALTIME when it ended; 0 = never */
    int64_t registered_at_ns;     /* CLOCK_REALTIME of this registration */
    unsigned lazy;                /* 1: registered with tenreg_register_lazy */
    unsigned built;               /* 1: has a platform (eager, or lazy and built) */
    size_t hosts;                 /* host keys and patterns, the agent URL's included */
    char reason[TENREG_REASON_MAX + 1]; /* what the last failure said, or "" */
} tenreg_status;

/* What changed (docs/design.md §8.3 has the full rules). */
typedef enum tenreg_event_kind {
    TENREG_EV_REGISTERED = 1,   /* a new registration of the id: to = PENDING */
    TENREG_EV_UNREGISTERED = 2, /* from = to = the health it had */
    TENREG_EV_HEALTH = 3,       /* any other change of health (from != to) */
    TENREG_EV_BUILT = 4,        /* a lazy build published its platform */
    TENREG_EV_BUILD_FAILED = 5  /* a lazy build failed (then a HEALTH event) */
} tenreg_event_kind;

typedef struct tenreg_event {
    tenreg_event_kind kind;
    const char *tenant_id;
    tenreg_health from, to;
    tenreg_verdict verdict;     /* the check or build behind it, else TENREG_UNCHECKED */
    const char *reason;         /* "" if none */
    int64_t at_ns;              /* CLOCK_REALTIME when the change became visible */
} tenreg_event;

/**
 * tenreg_event_fn - receives the registry's events, one at a time, in the
 * order the changes became visible to readers, on one thread the registry
 * owns; never inside a read section or under a registry lock. It may call
 * any tenreg function but tenreg_free(). @ev and its strings are valid
 * during the call only.
 */
typedef void (*tenreg_event_fn)(void *ctx, const tenreg_event *ev);

/** tenreg_config.flags: the JS SDK's rules for validator answers (§8.2). */
#define TENREG_CFG_TRANSIENT_FAILURES 1u

/*
 * Configuration. A zeroed struct is a valid default; fields are only ever
 * appended, never reordered.
 */
typedef struct tenreg_config {
    tenreg_validator_fn validator;  void *validator_ctx;     /* NULL: always valid */
    tenreg_free_fn platform_free;   void *platform_free_ctx; /* NULL: not freed */
    size_t expected_tenants;        /* sizing hint, 0 = small default */
    uint64_t hash_seed;             /* 0 = random per registry (getrandom); a fixed
                                     * seed makes host lookups compare keys
                                     * (the digest rule, tenreg_resolve_by_host) */
    unsigned builder_threads;       /* threads that run lazy builds; 0 = 1 */
    /* Version 2 (docs/design.md §8): */
    unsigned flags;                 /* TENREG_CFG_TRANSIENT_FAILURES, else 0 */
    tenreg_event_fn on_event;       /* NULL: no events, no event thread */
    void *on_event_ctx;
    /* Background rechecks (docs/design.md §8.4): every tenant is rechecked
     * about this often on the builder threads, through its turnstile as
     * tenreg_recheck; the first check at a random point of the first
     * interval, later ones every interval +- 10%. 0 = off. */
    uint32_t recheck_interval_ms;
    /* A failed lazy build answers EDISABLED for build_retry_ms x
     * 2^(failures - 1), at most TENREG_BUILD_RETRY_MAX_MS, then the next
     * tenreg_resolve or tenreg_resolve_by_id starts one new build (exactly
     * once, in turnstile order). 0 = a failed build is final (the seed). */
    uint32_t build_retry_ms;
} tenreg_config;

/** The longest wait between two attempts of a failing lazy build. */
#define TENREG_BUILD_RETRY_MAX_MS (60u * 60u * 1000u)

/* What a resolve call answers. Valid until the caller's read section ends. */
typedef struct tenreg_resolution {
    const char *tenant_id;          /* valid until the read section ends */
    tenreg_health health;
    void *platform;                 /* NULL unless the call returned 0 */
    /* The host key or pattern ("*.NAME") that decided the answer; NULL for
     * tenreg_resolve_by_id and for ENOENT/EINVAL. Valid as tenant_id. */
    const char *matched;
} tenreg_resolution;

#define TENREG_AWAIT_FIRST_VALIDATION 1u  /* register*: validate (lazy: build) now */
#define TENREG_NOWAIT                 2u  /* resolve*: never wait for a build */

/** Longest tenant id, in bytes, without the NUL. */
#define TENREG_ID_MAX 255
/** Longest host key, in bytes, without the NUL; a buffer of
 *  TENREG_HOST_KEY_MAX + 1 bytes always suffices for tenreg_normalize_host. */
#define TENREG_HOST_KEY_MAX 253

/* ---- lifecycle --------------------------------------------------------- */

/**
 * tenreg_new - create a registry.
 * @cfg: configuration, copied; NULL means all defaults.
 * @out: receives the handle.
 *
 * Starts the registry's builder threads (cfg->builder_threads, at least 1).
 * With cfg->hash_seed 0 the hash key comes from the kernel (getrandom, else
 * /dev/urandom); there is no weaker fallback.
 * Returns 0, TENREG_EINVAL (out NULL), or TENREG_ENOMEM (nothing created:
 * out of memory, or could not get resources: a thread, or, with hash_seed
 * 0, kernel randomness).
 * Context: any thread, outside a read section.
 */
TENREG_API int tenreg_new(const tenreg_config *cfg, tenreg_t **out);

/**
 * tenreg_free - destroy a registry. NULL is accepted.
 *
 * Lets lazy builds that are running finish (builds still queued are
 * dropped), joins the builder threads, then frees every platform the
 * registry owns through platform_free and waits (rcu_barrier) until every
 * deferred free has run; nothing tenreg queued outlives the call. Once it
 * has begun, admin calls that callbacks make (a platform_free or factory
 * that registers, unregisters, rechecks, iterates) answer TENREG_EINVAL
 * and change nothing; it first waits for admin calls already under way.
 * Nobody else may use @reg during or after the call.
 * Context: outside any read section (memb flavor: inside one it aborts
 * rather than free memory the caller may still read); never from a
 * validator, factory or platform_free callback.
 */
TENREG_API void tenreg_free(tenreg_t *reg);

/* ---- admin calls ------------------------------------------------------- */

/**
 * tenreg_register - register (or re-register) an eager tenant.
 * @tenant_id: 1..TENREG_ID_MAX bytes, NUL-terminated; copied.
 * @agent_url: URL or host whose normalized host (tenreg_normalize_host) is
 *             the tenant's lookup key; copied.
 * @platform:  the adopter's object, non-NULL.
 * @flags:     0 or TENREG_AWAIT_FIRST_VALIDATION.
 *
 * The tenant becomes PENDING with @platform (a previous registration of the
 * same id, eager or lazy, is replaced: its platform is freed after a grace
 * period, its in-flight recheck or build results are discarded). A new URL
 * moves the tenant's host. With TENREG_AWAIT_FIRST_VALIDATION the validator
 * then runs in this thread and the tenant is HEALTHY or DISABLED when the
 * call returns (unless it was replaced or unregistered meanwhile).
 *
 * Returns 0 when the tenant was registered (also when the awaited
 * validation left it DISABLED: read its health); from then on the registry
 * owns @platform. A negative return means nothing changed and @platform is
 * still the caller's: TENREG_EINVAL (NULL or bad argument, unknown flag,
 * id empty or too long, URL that does not normalize), TENREG_EEXIST (the
 * host belongs to another tenant), TENREG_ENOMEM.
 * Context: admin call. Never waits for a grace period or for readers; waits
 * only for earlier rechecks/validations of the same tenant when awaiting.
 */
TENREG_API int tenreg_register(tenreg_t *reg, const char *tenant_id, const char *agent_url,
                               void *platform, unsigned flags);

/**
 * tenreg_register_lazy - register (or re-register) a tenant built on first use.
 * @factory: builds the platform; called at most once for this registration
 *           (with tenreg_config.build_retry_ms: once per attempt after a
 *           failure), on a builder thread, when the first tenreg_resolve()
 *           or tenreg_resolve_by_id() reaches the tenant.
 * @flags:   0 or TENREG_AWAIT_FIRST_VALIDATION (build and validate now, in
 *           this thread, before returning: boot pre-warm).
 *
 * The tenant becomes PENDING without a platform; a previous registration of
 * the same id is replaced as for tenreg_register(). Until the build succeeds
 * tenreg_resolve_by_host() answers TENREG_EPENDING for it.
 * Returns 0 when registered (also when an awaited build failed: read its
 * health), or TENREG_EINVAL, TENREG_EEXIST, TENREG_ENOMEM with nothing
 * changed. Context: admin call.
 */
TENREG_API int tenreg_register_lazy(tenreg_t *reg, const char *tenant_id, const char *agent_url,
                                    tenreg_factory_fn factory, void *factory_ctx,
                                    unsigned flags);

/**
 * tenreg_unregister - remove a tenant.
 *
 * Later lookups of its host and id miss. Its platform is freed after a
 * grace period; a recheck or build in flight for it discards its result (a
 * platform built for it is freed); threads waiting on its build get
 * TENREG_ENOENT. Returns 0, TENREG_ENOENT if unknown, TENREG_EINVAL.
 * Context: admin call; never waits for readers, builds or rechecks (it may
 * be called from the thread a factory depends on).
 */
TENREG_API int tenreg_unregister(tenreg_t *reg, const char *tenant_id);

/**
 * tenreg_recheck - run the validator again and update the tenant's health.
 *
 * Valid: HEALTHY. Invalid or failed: HEALTHY becomes UNVERIFIED, any other
 * health becomes DISABLED. On a lazy tenant that has not been built yet the
 * validator runs alone: health changes, no platform is built (the first
 * tenreg_resolve still builds it). Rechecks, awaited validations and builds
 * of one registration run one at a time, in arrival order (after a
 * re-registration, a check of the old registration may still be running:
 * its result is discarded).
 * Returns 0 (valid), TENREG_EVALIDATOR (invalid or failed; health updated),
 * TENREG_ENOENT (unknown, or unregistered/re-registered while the validator
 * ran: the result is discarded), TENREG_ENOMEM (before the validator ran;
 * nothing changed), TENREG_EINVAL.
 * Context: admin call; the validator runs in this thread.
 */
TENREG_API int tenreg_recheck(tenreg_t *reg, const char *tenant_id);

/**
 * tenreg_health_of - read a tenant's current health.
 * Returns 0 and *out set, TENREG_ENOENT, or TENREG_EINVAL.
 * Context: any thread; registers the thread with RCU if needed. May be
 * called inside or outside a read section.
 */
TENREG_API int tenreg_health_of(const tenreg_t *reg, const char *tenant_id, tenreg_health *out);

/* ---- hosts and patterns (docs/design.md §8.1) --------------------------- */

/** Most host keys and patterns one tenant holds, its agent URL's host
 *  included (tenreg_add_host answers TENREG_ENOSPC past it). */
#define TENREG_HOSTS_MAX 64

/**
 * tenreg_add_host - give a tenant one more host key, or a wildcard pattern.
 * @host: a Host value or URL, normalized like an agent URL (§4); or a
 *        pattern "*.NAME": NAME a §4 name of one or more labels (lower-cased,
 *        one trailing dot folded), no scheme, port, path or IPv6 literal.
 *
 * The host answers exactly what the tenant's own host does (health,
 * platform, EPENDING, lazy build on tenreg_resolve); the tenant keeps its
 * health, platform and lazy state. Lookup precedence: an exact host key
 * always wins; otherwise the longest pattern suffix: "*.s" matches key k iff
 * k ends with "." s (at least one more label), and never an IPv6 key. A
 * host of one tenant under another tenant's pattern is allowed. Extra hosts
 * are not validated (the validator checks the agent URL). A new
 * registration of the id (register*) drops every extra host; so does
 * unregister.
 * Returns 0 (also when the tenant already holds @host: idempotent),
 * TENREG_EEXIST (another tenant holds it; nothing changed), TENREG_ENOENT
 * (unknown tenant), TENREG_ENOSPC (the tenant holds TENREG_HOSTS_MAX),
 * TENREG_EINVAL (NULL, bad id, bad host or pattern), TENREG_ENOMEM
 * (nothing changed).
 * Context: admin call. Readers see the host whole or not at all.
 */
TENREG_API int tenreg_add_host(tenreg_t *reg, const char *tenant_id, const char *host);

/**
 * tenreg_remove_host - take a host key or pattern away from a tenant.
 * @host: as for tenreg_add_host (normalized the same way before matching).
 * Returns 0, TENREG_ENOENT (unknown tenant, or the tenant does not hold
 * @host), TENREG_EINVAL (NULL, bad id or host, or @host is the agent URL's
 * own host: re-register to move that). Later lookups of @host fall through
 * to the next rule (a pattern, or ENOENT). Nothing is allocated.
 * Context: admin call.
 */
TENREG_API int tenreg_remove_host(tenreg_t *reg, const char *tenant_id, const char *host);

/**
 * tenreg_foreach_host - call @fn for each host key and pattern of a tenant:
 * the agent URL's host first, then the others in the order they were added.
 * Works on a snapshot (like tenreg_foreach): @fn runs outside any read
 * section and may call any tenreg function but tenreg_free; the string is
 * valid during the call only. Stops at @fn's first non-zero return and
 * returns it; else 0. TENREG_ENOENT (unknown tenant), TENREG_EINVAL,
 * TENREG_ENOMEM (snapshot not allocated; @fn not called).
 * Context: admin call.
 */
TENREG_API int tenreg_foreach_host(const tenreg_t *reg, const char *tenant_id,
                                   int (*fn)(void *ctx, const char *host_or_pattern), void *ctx);

/* ---- atomic batches (docs/design.md §8.5) -------------------------------- */

/**
 * tenreg_batch - a set of registrations, unregistrations, extra hosts and
 * keeps that tenreg_batch_commit applies as one change.
 *
 * Readers see a batch whole or not at all: every lookup of one read section
 * (between tenreg_read_lock and tenreg_read_unlock; QSBR, between two
 * tenreg_quiescent calls of an online reader) answers from the state before
 * the commit or every one from the state after it. Moving a host between
 * tenants, swapping hosts, loading a whole tenant set or syncing to a
 * desired one therefore never shows a host missing or held twice. (Read
 * sections taken with liburcu's own calls instead of tenreg's still get a
 * consistent answer per lookup, old or new, but not across lookups.)
 *
 * A batch belongs to one registry and is used by one thread at a time; it
 * commits at most once. Its memory counts towards the registry's
 * (tenreg_stats.bytes): free every batch before tenreg_free.
 */
typedef struct tenreg_batch tenreg_batch;

/**
 * tenreg_batch_new - an empty batch for @reg.
 * Returns 0 and *@out, TENREG_EINVAL (NULL), TENREG_ENOMEM.
 * Context: any thread.
 */
TENREG_API int tenreg_batch_new(tenreg_t *reg, tenreg_batch **out);

/**
 * tenreg_batch_register, tenreg_batch_register_lazy - record a registration,
 * as tenreg_register / tenreg_register_lazy would make it (no flags: the new
 * registration is PENDING; a registered id is replaced, dropping its extra
 * hosts and discarding its rechecks and builds in flight).
 * The platform stays the caller's until a commit returns 0.
 *
 * The record ops (these, tenreg_batch_add_host, _unregister, _keep) check
 * their arguments at once: TENREG_EINVAL for NULL, a bad id, URL or host, or
 * a batch that was committed; TENREG_ENOMEM. Then the op is not recorded
 * and the batch is otherwise unchanged (the caller may go on or free it).
 * What depends on the registry (does the id exist, is a host free) is
 * checked at commit. Returns 0 when recorded.
 * Context: the batch's thread; any thread otherwise (no lock is taken).
 */
TENREG_API int tenreg_batch_register(tenreg_batch *b, const char *tenant_id,
                                     const char *agent_url, void *platform);
TENREG_API int tenreg_batch_register_lazy(tenreg_batch *b, const char *tenant_id,
                                          const char *agent_url, tenreg_factory_fn factory,
                                          void *factory_ctx);

/**
 * tenreg_batch_add_host - record an extra host or pattern (as
 * tenreg_add_host) for the registration of @tenant_id at this point of the
 * batch: the registered one, or one the batch registered earlier. A later
 * register of the id in the batch drops it, as tenreg_register would.
 */
TENREG_API int tenreg_batch_add_host(tenreg_batch *b, const char *tenant_id, const char *host);

/** tenreg_batch_unregister - record the end of @tenant_id's registration. */
TENREG_API int tenreg_batch_unregister(tenreg_batch *b, const char *tenant_id);

/**
 * tenreg_batch_keep - name @tenant_id without changing it: it stays exactly
 * as it is (health, platform, a built lazy platform, hosts, rechecks in
 * flight). Only meaningful with TENREG_BATCH_REPLACE_ALL, which
 * unregisters every tenant the batch does not name.
 *
 * When the id table's hash key came from the kernel (hash_seed 0, or the
 * table re-keyed since, as in tenreg_resolve_by_host's digest rule) and
 * the batch was made under that key, a commit whose ops are mostly keeps
 * finds the kept ids by their 64-bit keyed hashes in the id table without
 * comparing the id bytes (one cache miss per kept id instead of three;
 * the digest rule of tenreg_resolve_by_host, with the same bound). A keep
 * of an id no tenant has then fails the commit with TENREG_ENOENT, except
 * with chance 2^-64 per slot probed, when it keeps the tenant whose id has
 * its hash instead (which REPLACE_ALL then leaves registered). Register,
 * unregister and add_host ops always compare ids, and so do keeps while
 * the id table's key is one derived from a fixed hash_seed.
 */
TENREG_API int tenreg_batch_keep(tenreg_batch *b, const char *tenant_id);

/** tenreg_batch_commit flag: also unregister every tenant that no op names. */
#define TENREG_BATCH_REPLACE_ALL 1u

/**
 * tenreg_batch_commit - apply the batch's ops, in order, as one change.
 *
 * The ops run in the order recorded, each on the state the earlier ones
 * left (so unregister then register of an id is a new registration, and a
 * host may move from one tenant to another in either order). The result is
 * checked as a whole, and nothing changes unless all of it holds:
 *  - TENREG_ENOENT: an op names an id that is neither registered nor
 *    registered earlier in the batch (or was unregistered earlier in it);
 *  - TENREG_EEXIST: the result would give one host key or pattern to two
 *    tenants (also a collision that only appears at the end), or an id is
 *    registered or kept twice in the batch;
 *  - TENREG_ENOSPC: a tenant would hold more than TENREG_HOSTS_MAX hosts;
 *  - TENREG_ENOMEM at any allocation;
 *  - TENREG_EINVAL: NULL, unknown @flags, a batch already committed (or
 *    whose commit succeeded), the registry being freed, or a call inside a
 *    read section.
 * After an error the registry is exactly as it was, every platform of the
 * batch is still the caller's, and the batch may be committed again (for
 * instance after the conflicting tenant was unregistered) or freed. After
 * 0 the registry owns the platforms (one registered and unregistered again
 * within the batch is freed with platform_free); events follow, one per
 * change (REGISTERED, UNREGISTERED), in batch order, then the
 * REPLACE_ALL unregistrations.
 *
 * Cost: O(ops), plus one pass over the tenants with REPLACE_ALL; then one
 * grace period, which the caller waits for (the only admin call that does):
 * readers never wait, other admin calls that change the registry wait for
 * the commit to finish (docs/design.md §5.14). A commit is linearizable
 * against single admin calls and other commits. What it replaced goes
 * after a second grace period (platform_free of the tenants it replaced or
 * unregistered included): memb flavor, on the registry's reclaim thread,
 * which the first commit starts (or, if it cannot start, on the calling
 * thread before the commit returns), and the commit's grace periods wait
 * for the reader threads (tenreg_thread_register) without interrupting
 * them (docs/design.md §5.14); QSBR, through call_rcu.
 * Context: admin call, outside any read section; callbacks included.
 */
TENREG_API int tenreg_batch_commit(tenreg_batch *b, unsigned flags);

/**
 * tenreg_batch_free - free a batch (NULL: nothing). Uncommitted (or failed)
 * batches leave their platforms to the caller. Context: any thread.
 */
TENREG_API void tenreg_batch_free(tenreg_batch *b);

/* ---- resolve (hot path) ------------------------------------------------ */

/**
 * tenreg_resolve_by_host - find the tenant of a Host header value or URL.
 * @host, @len: raw bytes (no NUL needed), normalized as tenreg_normalize_host.
 *
 * Wait-free: no lock, no allocation, no syscall, no user callback, no write
 * to shared memory; at most one probe per label of the key (exact key
 * first, then each pattern suffix, longest first). Never builds a lazy
 * platform. out->matched names the host key or pattern that decided.
 * Returns 0 with out filled and out->platform non-NULL whatever the health
 * (gate with tenreg_serves()); TENREG_EPENDING (known, no platform yet),
 * TENREG_EDISABLED (a failed lazy build left it without a platform),
 * TENREG_ENOENT (no tenant has this host), TENREG_EINVAL (host does not
 * normalize, or NULL argument). For every answer but ENOENT and EINVAL,
 * out->tenant_id and out->health are filled.
 * Context: reader thread, inside a read section; *out stays valid until the
 * read section ends.
 *
 * The digest rule (one cache miss per cold hit). The host table's slots
 * hold each tenant's answer next to the 64-bit SipHash-1-3 of its host key,
 * and a lookup whose hash equals a slot's answers from that slot without
 * comparing the key bytes, when the table's hash key came from the kernel
 * (hash_seed 0, or a table re-keyed since). A host that no tenant has can
 * then be taken for one: its hash must equal that of a host key in one of
 * the slots it probes, chance 2^-64 per slot for a key the sender does not
 * know (SipHash is a PRF); a lookup probes one or two slots, so 10^7
 * lookups/s of unknown hosts would make one false match in about 30,000
 * years (at most (probe bound + 1) * 2^-64 per lookup, the bound being
 * 4 log2(capacity): table.c). Two registered hosts with one
 * hash (about n^2 / 2^65 for n hosts) are seen when the second is stored,
 * and that table compares keys from then on. With a fixed hash_seed the
 * key is public and an adversary could search for a colliding host, so
 * every lookup compares the key, at the cost of the record's cache miss.
 * This applies to tenreg_resolve and tenreg_resolve_many alike.
 */
TENREG_API int tenreg_resolve_by_host(const tenreg_t *reg, const char *host, size_t len,
                                      tenreg_resolution *out);

/* One lookup of tenreg_resolve_many: a Host value or URL, raw bytes. */
typedef struct tenreg_query {
    const char *host;
    size_t len;
} tenreg_query;

/**
 * tenreg_resolve_many - @n lookups at once (docs/design.md §8.6).
 * @q:   the hosts; @out, @rc: arrays of @n, filled.
 *
 * rc[i] and out[i] are exactly what tenreg_resolve_by_host(q[i]) would
 * give (while writers change the registry: what it could give during the
 * call; the lookups of a group of 16 probe the host table as it was
 * published when the group began); the point is speed: the lookups go in
 * groups whose cache misses overlap (each stage of every lookup of a group
 * is issued before the next stage of any). Returns 0, or TENREG_EINVAL
 * (NULL @reg, or a NULL array with @n > 0; nothing written then).
 * Context, guarantees: as tenreg_resolve_by_host (wait-free, no store to
 * shared memory; every out[i] valid until the read section ends).
 */
TENREG_API int tenreg_resolve_many(const tenreg_t *reg, const tenreg_query *q, size_t n,
                                   tenreg_resolution *out, int *rc);

/**
 * tenreg_resolve - resolve a host, building a lazy platform on first use.
 * @flags: 0 or TENREG_NOWAIT.
 *
 * A built tenant takes the same wait-free path as tenreg_resolve_by_host().
 * For a lazy tenant not built yet, the first caller hands the build to a
 * builder thread (exactly one factory call across all threads). With
 * TENREG_NOWAIT the call never sleeps: it answers TENREG_EPENDING, always
 * so when it handed the build off, however fast the build ends.
 * Without TENREG_NOWAIT the call waits for the build, but never inside a
 * read section (a factory may itself wait for a grace period): like the
 * kernel's cond_resched_rcu(), it ends the caller's read section, sleeps
 * on the tenant's once-cell (a futex) outside it, and begins a new read
 * section before it returns (QSBR flavor: the thread goes offline while it
 * sleeps). POINTER RULE: a call that waited invalidates every pointer the
 * caller took earlier in that read section (earlier resolutions' tenant_id
 * and platform); only *out, filled in the new section, may be used. It
 * sleeps only in a read section of depth 1 taken with tenreg_read_lock()
 * (QSBR: also in none, on an online reader); nested deeper, it answers as
 * with TENREG_NOWAIT.
 * Returns as tenreg_resolve_by_host(), plus: TENREG_EFACTORY or
 * TENREG_EVALIDATOR when the build this call waited for failed (the tenant
 * is now DISABLED); TENREG_EDISABLED when a build failed earlier (with
 * tenreg_config.build_retry_ms, until its retry time: then this call
 * starts the next attempt and answers as for a first build);
 * TENREG_ENOENT when the tenant was unregistered during the wait;
 * TENREG_EPENDING once tenreg_free has begun (no build is started then).
 * Every answer but 0 leaves out->platform NULL.
 * Context: reader thread, inside a read section (see the pointer rule).
 */
TENREG_API int tenreg_resolve(tenreg_t *reg, const char *host, size_t len, unsigned flags,
                              tenreg_resolution *out);

/**
 * tenreg_resolve_by_id - as tenreg_resolve(), keyed by tenant id.
 * Context: reader thread, inside a read section.
 */
TENREG_API int tenreg_resolve_by_id(tenreg_t *reg, const char *tenant_id, unsigned flags,
                                    tenreg_resolution *out);

/* ---- threads and read sections ----------------------------------------- */

/**
 * tenreg_thread_register - make this thread a reader thread.
 * Call once in every thread that resolves, before its first read section;
 * pair with tenreg_thread_unregister() before the thread exits. Nesting is
 * counted. In the QSBR flavor the thread starts online. A thread the
 * application registered with liburcu itself is used as it is: tenreg
 * never registers or unregisters it, but must know it (memb: batch commits
 * wait for the sections of the threads tenreg knows, liburcu's own
 * rcu_read_lock sections included), so it too calls this first.
 */
TENREG_API void tenreg_thread_register(void);
/** tenreg_thread_unregister - undo tenreg_thread_register(); outside a read section. */
TENREG_API void tenreg_thread_unregister(void);
/**
 * tenreg_read_lock - begin a read section (nestable; pair each with
 * tenreg_read_unlock()).
 *
 * Everything a resolve call returns stays valid until the outermost
 * section ends (but see the pointer rule of tenreg_resolve()). A thread
 * that never called tenreg_thread_register() is registered here, so the
 * section really protects; that registration ends when the thread exits.
 * QSBR flavor: an online reader pays nothing; an offline thread (a
 * validator, factory or platform_free callback, an admin-only thread) is
 * brought online for the section and taken offline again when it ends.
 * Context: any thread.
 */
TENREG_API void tenreg_read_lock(void);
/** tenreg_read_unlock - end the innermost read section begun by tenreg_read_lock(). */
TENREG_API void tenreg_read_unlock(void);
/**
 * tenreg_quiescent - announce that this reader holds no tenreg pointer.
 * QSBR flavor: readers must call it regularly (e.g. once per event-loop
 * turn) or reclamation stalls; on a thread that is not a registered,
 * online reader it does nothing. Memb flavor: no-op.
 */
TENREG_API void tenreg_quiescent(void);
/** tenreg_flavor - "memb" or "qsbr": which library this process linked. */
TENREG_API const char *tenreg_flavor(void);

/* ---- inspection -------------------------------------------------------- */

/**
 * tenreg_foreach - call @fn for every tenant (id, health), in no order.
 *
 * Works on a snapshot taken at the call, so @fn runs outside any read
 * section and may call any tenreg function (except tenreg_free).
 * Stops at @fn's first non-zero return and returns it; returns 0 after the
 * last tenant, TENREG_EINVAL for NULL arguments, TENREG_ENOMEM if the
 * snapshot could not be allocated (then @fn was not called).
 * Context: any thread, outside a read section.
 */
TENREG_API int tenreg_foreach(const tenreg_t *reg,
                              int (*fn)(void *ctx, const char *tenant_id, tenreg_health h),
                              void *ctx);

/**
 * tenreg_status_of - copy a tenant's status (health, verdict and reason of
 * the last check or build, consecutive failures, times, hosts).
 * Returns 0 and *out filled, TENREG_ENOENT, or TENREG_EINVAL (NULL, bad id).
 * Context: any thread, inside or outside a read section, callbacks
 * included. Not a hot-path call: it takes the registry's write lock for
 * the copy (never held while adopter code runs or a grace period passes).
 */
TENREG_API int tenreg_status_of(const tenreg_t *reg, const char *tenant_id, tenreg_status *out);

/**
 * tenreg_set_reason - say why the check or build under way fails.
 * Called by a validator or factory before it returns a failure; recorded
 * with that failure (tenreg_status.reason, events): copied, cut at
 * TENREG_REASON_MAX bytes (never inside a UTF-8 sequence), control bytes
 * replaced by '?'. A valid check clears the reason. Called anywhere else,
 * or with NULL, it does nothing. Never fails: when the copy cannot be
 * allocated the failure is recorded with the reason "(reason dropped: out
 * of memory)".
 * Context: inside a validator or factory callback.
 */
TENREG_API void tenreg_set_reason(const char *reason);

/* Counters (docs/design.md §8.7). */
typedef struct tenreg_stats {
    size_t tenants, hosts, patterns; /* hosts: exact host keys, agent URLs' included */
    size_t health[4];              /* tenants per tenreg_health */
    size_t lazy_unbuilt;           /* lazy tenants without a platform */
    uint64_t checks, checks_failed; /* validator calls that ended; those not valid */
    uint64_t builds, builds_failed; /* factory calls that ended; failed builds (factory or validation) */
    uint64_t events, events_dropped; /* events delivered or queued; dropped for memory */
    size_t deferred;               /* retired objects waiting for a grace period */
    size_t bytes;                  /* the registry's own memory */
} tenreg_stats;

/**
 * tenreg_stats_of - copy the registry's counters.
 * Exact after the admin calls that changed them have returned (checks and
 * builds count when they end, also when their result was discarded).
 * Readers count nothing: the hot path writes no shared memory.
 * Returns 0 or TENREG_EINVAL. Context: any thread, inside or outside a
 * read section.
 */
TENREG_API int tenreg_stats_of(const tenreg_t *reg, tenreg_stats *out);

/** tenreg_count - number of registered tenants (exact after admin calls return). */
TENREG_API size_t tenreg_count(const tenreg_t *reg);

#define TENREG_SERVE(h) (1u << (h))
#define TENREG_SERVE_DEFAULT (TENREG_SERVE(TENREG_HEALTHY) | TENREG_SERVE(TENREG_UNVERIFIED))

/** tenreg_serves - 1 if health @h is in the @serve_states mask, else 0. */
TENREG_API int tenreg_serves(tenreg_health h, unsigned serve_states);

/* ---- host keys --------------------------------------------------------- */

/**
 * tenreg_normalize_host - turn a Host header value or URL into a host key.
 * @in, @len:  raw bytes; NUL is not a terminator but an invalid byte.
 * @out, @cap: output buffer; @cap counts the terminating NUL.
 * @out_len:   receives the key length without the NUL (may be NULL).
 *
 * Rules (docs/design.md §4): trim space/tab; reject any byte <= 0x20 or 0x7F;
 * drop a scheme, path, query, fragment and userinfo; bracketed IPv6 is
 * canonicalized with inet_ntop; a port must be digits <= 65535 and is
 * dropped; one trailing dot is folded; names are 1..253 bytes of
 * [A-Za-z0-9-._] with labels of 1..63 bytes, lower-cased.
 * Returns 0, TENREG_EINVAL (does not normalize, or NULL argument),
 * TENREG_ENOSPC (key length + 1 > @cap; 254 bytes always suffice; checked
 * after validity, so bad input is EINVAL whatever @cap). @out is written only
 * on success; on failure out[0] is set to NUL when @out and @cap allow it,
 * and *@out_len is left alone.
 * Pure: no allocation, no lock, no global state; any thread.
 */
TENREG_API int tenreg_normalize_host(const char *in, size_t len, char *out, size_t cap,
                                     size_t *out_len);

/* ---- names ------------------------------------------------------------- */

/** tenreg_strerror - a static English message for a return code. */
TENREG_API const char *tenreg_strerror(int err);
/** tenreg_err_name - "TENREG_EINVAL" etc.; "TENREG_OK" for 0; "TENREG_EUNKNOWN" otherwise. */
TENREG_API const char *tenreg_err_name(int err);
/** tenreg_health_name - "pending", "healthy", "unverified", "disabled" ("unknown" otherwise). */
TENREG_API const char *tenreg_health_name(tenreg_health h);
/** tenreg_version - TENREG_VERSION_NUMBER of the library actually linked. */
TENREG_API unsigned tenreg_version(void);
/** tenreg_version_string - TENREG_VERSION_STRING of the library actually linked. */
TENREG_API const char *tenreg_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* TENREG_H */
