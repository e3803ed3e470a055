/*
 * test_malloc_isolation.c - linking libtenreg.so leaves the host process's
 * malloc alone (DESIGN.md §5 "Memory", STYLE.md point 7).
 *
 * tenreg takes its own memory from a private copy of jemalloc linked into
 * libtenreg.so with its symbols hidden (tenreg's own build of it, with every
 * symbol prefixed tenreg_je_: scripts/build-jemalloc.sh). An unprefixed
 * jemalloc whose symbols leaked would replace malloc for the whole process.
 * This suite shows, in the running process:
 *   - malloc, free, calloc, realloc, ... resolve (RTLD_DEFAULT) to glibc's,
 *     the very addresses libc.so.6 itself exports;
 *   - no jemalloc entry point (mallocx, mallctl, ...) is visible, neither
 *     process-wide nor through libtenreg.so's own handle, and no libjemalloc
 *     is loaded;
 *   - the registry works (new, register, resolve, free);
 *   - jemalloc builds: the registry's memory really is off glibc's heap
 *     (glibc's mallinfo2 barely moves while tenants with large records are
 *     registered); libc-allocator builds: it is on glibc's heap, which shows
 *     the measure can see it.
 * The static library is checked by tests/consumer (cmake_static and
 * pkgconfig_static print and assert "malloc=glibc") and by
 * tests/check_exports.cmake (its only global symbols are tenreg_*).
 *
 * Sanitizer builds: ASan/TSan interpose malloc themselves and tenreg uses
 * libc malloc there (TENREG_ALLOCATOR=libc). The suite then asserts that the
 * process's malloc is the sanitizer runtime's (not glibc's, not tenreg's),
 * and leaves out the glibc heap measurement, which the sanitizer's own
 * allocator makes meaningless.
 *
 * TENREG_TEST_JEMALLOC (0/1) comes from tests/CMakeLists.txt.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT, mallinfo2 */
#endif
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <link.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"
#include "loaded_jemalloc.h"

#ifndef TENREG_TEST_JEMALLOC
#error "tests/CMakeLists.txt defines TENREG_TEST_JEMALLOC for this test"
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* The allocator entry points glibc exports, which a leaked allocator would
 * interpose. */
static const char *const libc_alloc_fns[] = {
    "malloc",  "free",     "calloc",         "realloc",  "posix_memalign",
    "aligned_alloc", "memalign", "valloc", "malloc_usable_size",
};

/* jemalloc's own API, unprefixed and with tenreg's prefix: none of it may be
 * visible outside libtenreg.so. */
static const char *const jemalloc_fns[] = {
    "mallocx", "rallocx", "xallocx", "sallocx", "dallocx", "sdallocx", "nallocx",
    "mallctl", "mallctlnametomib", "mallctlbymib", "malloc_stats_print",
    "je_malloc", "je_mallocx", "je_mallctl",
    "tenreg_je_malloc", "tenreg_je_free", "tenreg_je_mallocx", "tenreg_je_sdallocx",
    "tenreg_je_mallctl", "tenreg_je_malloc_conf",
};

static void *libc_handle(void)
{
    void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    cr_assert_not_null(h, "libc.so.6 is not loaded: %s", dlerror());
    return h;
}

static const char *object_of(const void *addr)
{
    Dl_info info;
    if (addr && dladdr(addr, &info) && info.dli_fname && info.dli_fname[0])
        return info.dli_fname;
    return "?";
}

/* libtenreg.so's path, from one of its functions. */
static const char *libtenreg_path(void)
{
    union { int (*fn)(const tenreg_config *, tenreg_t **); void *p; } u = { tenreg_new };
    return object_of(u.p);
}

TestSuite(malloc_isolation, .timeout = 60);

Test(malloc_isolation, tenreg_is_a_shared_library_here)
{
    /* Otherwise the rest of the suite would test nothing about the .so. */
    const char *path = libtenreg_path();
    cr_assert(strstr(path, "libtenreg") != NULL && strstr(path, ".so") != NULL,
              "tenreg_new comes from %s, not libtenreg.so", path);
}

#if !SANITIZED
Test(malloc_isolation, process_allocator_is_glibc)
{
    void *libc = libc_handle();
    for (size_t i = 0; i < sizeof(libc_alloc_fns) / sizeof(libc_alloc_fns[0]); i++) {
        const char *name = libc_alloc_fns[i];
        void *from_libc = dlsym(libc, name);
        void *in_use = dlsym(RTLD_DEFAULT, name);
        cr_assert_not_null(from_libc, "libc.so.6 has no %s", name);
        cr_expect_eq(in_use, from_libc, "%s resolves to %s, not glibc's", name,
                     object_of(in_use));
    }
    /* The address this test itself calls. */
    union { void *(*fn)(size_t); void *p; } m = { malloc };
    cr_expect_eq(m.p, dlsym(libc, "malloc"), "malloc here is %s's", object_of(m.p));
    dlclose(libc);
}
#else
Test(malloc_isolation, process_allocator_is_the_sanitizers)
{
    void *libc = libc_handle();
    const char *tenreg_so = libtenreg_path();
    for (size_t i = 0; i < 4; i++) {   /* malloc, free, calloc, realloc */
        const char *name = libc_alloc_fns[i];
        void *in_use = dlsym(RTLD_DEFAULT, name);
        const char *obj = object_of(in_use);
        cr_assert_not_null(in_use);
        cr_expect_neq(in_use, dlsym(libc, name),
                      "%s is glibc's: the sanitizer should interpose it", name);
        cr_expect(strcmp(obj, tenreg_so) != 0, "%s comes from libtenreg.so", name);
        /* gcc: libasan.so / libtsan.so; clang: the runtime is linked into
         * the executable, whose dladdr name is the program's path. */
        cr_expect(strstr(obj, "san") != NULL || strstr(obj, "test_malloc_isolation") != NULL,
                  "%s comes from %s, not a sanitizer runtime", name, obj);
    }
    dlclose(libc);
}
#endif

Test(malloc_isolation, no_jemalloc_symbol_is_visible)
{
    const char *tenreg_so = libtenreg_path();
    /* dlsym on libtenreg.so's handle searches it and its dependencies. */
    void *self = dlopen(tenreg_so, RTLD_NOW | RTLD_NOLOAD);
    cr_assert_not_null(self, "cannot reopen %s: %s", tenreg_so, dlerror());
    for (size_t i = 0; i < sizeof(jemalloc_fns) / sizeof(jemalloc_fns[0]); i++) {
        const char *name = jemalloc_fns[i];
        void *p = dlsym(RTLD_DEFAULT, name);
        cr_expect_null(p, "%s is visible in the process (from %s)", name, object_of(p));
        p = dlsym(self, name);
        cr_expect_null(p, "%s is reachable through libtenreg.so (from %s)", name, object_of(p));
    }
    dlclose(self);
}

Test(malloc_isolation, no_libjemalloc_is_loaded)
{
    char found[512] = "";
    cr_expect_eq(dl_iterate_phdr(tt_find_jemalloc, found), 0, "%s is loaded", found);
}

Test(malloc_isolation, registry_works, .init = tt_thread_init, .fini = tt_thread_fini)
{
    static int platform;
    tenreg_t *reg = NULL;
    cr_assert_eq(tenreg_new(NULL, &reg), TENREG_OK);
    cr_assert_eq(tenreg_register(reg, "acme", "https://bid.acme.example/openrtb", &platform, 0),
                 TENREG_OK);
    static const char host[] = "Bid.ACME.example.:443";
    tenreg_resolution r;
    tenreg_read_lock();
    int rc = tenreg_resolve_by_host(reg, host, sizeof(host) - 1, &r);
    cr_expect_eq(rc, TENREG_OK, "resolve: %s", tenreg_strerror(rc));
    if (rc == TENREG_OK) {
        cr_expect_str_eq(r.tenant_id, "acme");
        cr_expect_eq(r.platform, &platform);
    }
    tenreg_read_unlock();
    tenreg_free(reg);
}

#if !SANITIZED
/* Bytes in use on glibc's heap (arena chunks plus mmapped chunks). */
static size_t glibc_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/*
 * Each tenant has a 255-byte id and a ~300-byte agent URL, both copied into
 * its record, so the registry holds well over TENANTS * 555 bytes. With
 * jemalloc none of that is on glibc's heap; what may be (liburcu's own
 * bookkeeping, such as its per-thread call_rcu state) stays far under
 * TENANTS * 128 bytes.
 */
#define TENANTS 4000

Test(malloc_isolation, registry_memory_is_off_the_glibc_heap, .init = tt_thread_init,
     .fini = tt_thread_fini, .timeout = 120)
{
    static int platform;
    tenreg_config cfg = { .expected_tenants = TENANTS };
    tenreg_t *reg = NULL;
    cr_assert_eq(tenreg_new(&cfg, &reg), TENREG_OK);

    char id[TENREG_ID_MAX + 1];
    char url[400];
    char path[281];
    memset(path, 'p', sizeof(path) - 1);
    path[sizeof(path) - 1] = '\0';

    size_t before = glibc_in_use();
    for (int i = 0; i < TENANTS; i++) {
        int n = snprintf(id, sizeof(id), "tenant-%06d-", i);
        memset(id + n, 'x', TENREG_ID_MAX - (size_t)n);
        id[TENREG_ID_MAX] = '\0';
        snprintf(url, sizeof(url), "https://t%06d.bidders.example/%s", i, path);
        int rc = tenreg_register(reg, id, url, &platform, 0);
        cr_assert_eq(rc, TENREG_OK, "register %d: %s", i, tenreg_strerror(rc));
    }
    size_t after = glibc_in_use();
    cr_assert_eq(tenreg_count(reg), TENANTS);
    long grown = (long)after - (long)before;
    cr_log_info("glibc heap grew by %ld bytes for %d tenants (%.1f bytes/tenant), allocator %s",
                grown, TENANTS, (double)grown / TENANTS, TENREG_TEST_JEMALLOC ? "jemalloc" : "libc");
#if TENREG_TEST_JEMALLOC
    cr_expect_lt(grown, (long)TENANTS * 128,
                 "glibc's heap grew by %ld bytes: registry memory is not coming from jemalloc",
                 grown);
#else
    /* Control: with TENREG_ALLOCATOR=libc the same records are on glibc's
     * heap, and the measure sees them. */
    cr_expect_gt(grown, (long)TENANTS * 555,
                 "glibc's heap grew by only %ld bytes with the libc allocator", grown);
#endif
    tenreg_free(reg);
}
#endif
