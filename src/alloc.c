/*
 * alloc.c - the only allocator calls in tenreg.
 *
 * Registry memory comes from a dedicated jemalloc arena, created once per
 * process: tenant records are small, short-lived under churn and freed from
 * liburcu's call_rcu thread, and keeping them out of the host's malloc
 * arenas avoids cross-thread free traffic there. jemalloc is a private copy
 * linked into libtenreg (see cmake/TenregJemalloc.cmake and
 * scripts/build-jemalloc.sh): every symbol of it is prefixed tenreg_je_ and
 * hidden, it defines no malloc/free, and it uses dynamic TLS (the library
 * can be dlopen()ed), so the host process's malloc is untouched.
 *
 * Sanitizer builds use libc malloc (TENREG_ALLOC_LIBC) so that ASan and TSan
 * see every registry allocation.
 */
#include "internal.h"

#include <stdlib.h>

#ifndef TENREG_ALLOC_LIBC
#include <jemalloc/jemalloc.h>

/*
 * The prefixed jemalloc reads its options from TENREG_JE_MALLOC_CONF, not
 * MALLOC_CONF. tenreg's jemalloc has read MALLOC_CONF so far (bench/README.md:
 * thp:always), so it is passed on as jemalloc's "per-binary" setting
 * (tenreg_je_malloc_conf), which TENREG_JE_MALLOC_CONF still overrides.
 * jemalloc reads its options once, at initialization, which its own
 * constructor in this same library starts; priority 101 runs this one first.
 */
__attribute__((constructor(101))) static void forward_malloc_conf(void)
{
    const char *conf = secure_getenv("MALLOC_CONF");
    if (conf && !tenreg_je_malloc_conf)
        tenreg_je_malloc_conf = conf;
}

static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static int arena_flags;

static void create_arena(void)
{
    unsigned arena;
    size_t sz = sizeof(arena);
    /* Without an arena of its own tenreg still works, in jemalloc's default
     * arenas; only the isolation is lost. */
    if (tenreg_je_mallctl("arenas.create", &arena, &sz, NULL, 0) == 0)
        arena_flags = (int)(MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE);
}
#endif

static void count(struct tenreg *reg, long delta)
{
    if (reg)
        atomic_fetch_add_explicit(&reg->live_bytes, delta, memory_order_relaxed);
}

/* White-box tests make the n-th next allocation fail (-1: never). */
static _Atomic long fail_countdown = -1;

void tenreg__alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

static bool injected_failure(void)
{
    long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (TENREG__LIKELY(n < 0))
        return false;
    return atomic_fetch_sub(&fail_countdown, 1) == 0;
}

void *tenreg__alloc(struct tenreg *reg, size_t size)
{
    if (injected_failure())
        return NULL;
#ifdef TENREG_ALLOC_LIBC
    void *p = malloc(size);
#else
    pthread_once(&arena_once, create_arena);
    void *p = tenreg_je_mallocx(size, arena_flags);
#endif
    if (p)
        count(reg, (long)size);
    return p;
}

void tenreg__dealloc(struct tenreg *reg, void *p, size_t size)
{
    if (!p)
        return;
    count(reg, -(long)size);
#ifdef TENREG_ALLOC_LIBC
    free(p);
#else
    tenreg_je_sdallocx(p, size, arena_flags);
#endif
}

long tenreg__live_bytes(const struct tenreg *reg)
{
    return atomic_load_explicit(&reg->live_bytes, memory_order_relaxed);
}

static _Atomic long left_at_free;

void tenreg__note_left_at_free(long bytes)
{
    atomic_store_explicit(&left_at_free, bytes, memory_order_relaxed);
}

long tenreg__left_at_free(void)
{
    return atomic_load_explicit(&left_at_free, memory_order_relaxed);
}

const char *tenreg__allocator_name(void)
{
#ifdef TENREG_ALLOC_LIBC
    return "libc";
#else
    return "jemalloc";
#endif
}
