/*
 * dlopen_load.c - a program that does NOT link tenreg loads a built
 * libtenreg*.so with dlopen(), the way a plugin host or an interpreter does,
 * and uses it.
 *
 *   dlopen_load <path to libtenreg.so or libtenreg-qsbr.so> <memb|qsbr>
 *
 * Checks:
 *   - dlopen succeeds (a library with initial-exec TLS, FLAGS STATIC_TLS,
 *     fails here with "cannot allocate memory in static TLS block");
 *   - the entry points resolve with dlsym and come from that file, and
 *     tenreg_flavor() is the expected one;
 *   - a real round trip: register, resolve (also from a second thread,
 *     whose TLS the loaded library only meets after dlopen), unregister,
 *     count, free;
 *   - dlclose() and load again, three times; the second thread, which used
 *     the library, exits only after dlclose. The threads and thread-exit
 *     destructors the library (its jemalloc, liburcu's call_rcu threads)
 *     left behind must still find their code: libtenreg.so is NODELETE;
 *   - the process's malloc is still glibc's (dlsym/dladdr), no jemalloc
 *     entry point is reachable, no libjemalloc is loaded. Sanitizer builds
 *     (TENREG_DLOPEN_SANITIZED): malloc is the sanitizer's, so only "not
 *     from the tenreg library" is checked.
 * Only tenreg.h's types and constants are used; every function comes from
 * dlsym. Exit status 0 when everything holds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT, dl_iterate_phdr */
#endif
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tenreg.h>
#include "loaded_jemalloc.h"

#ifndef TENREG_DLOPEN_SANITIZED
#define TENREG_DLOPEN_SANITIZED 0
#endif

static int failures;

#define CHECK(cond, ...)                                         \
    do {                                                         \
        if (!(cond)) {                                           \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                        \
            fputc('\n', stderr);                                 \
            failures++;                                          \
        }                                                        \
    } while (0)

/* The library's entry points, from dlsym. */
static struct {
    int (*new_)(const tenreg_config *, tenreg_t **);
    void (*free_)(tenreg_t *);
    int (*register_)(tenreg_t *, const char *, const char *, void *, unsigned);
    int (*unregister)(tenreg_t *, const char *);
    int (*resolve_by_host)(const tenreg_t *, const char *, size_t, tenreg_resolution *);
    int (*resolve)(tenreg_t *, const char *, size_t, unsigned, tenreg_resolution *);
    void (*thread_register)(void);
    void (*thread_unregister)(void);
    void (*read_lock)(void);
    void (*read_unlock)(void);
    void (*quiescent)(void);
    const char *(*flavor)(void);
    const char *(*strerror_)(int);
    size_t (*count)(const tenreg_t *);
    const char *(*version_string)(void);
} api;

static const char *object_of(const void *addr)
{
    Dl_info info;
    if (addr && dladdr(addr, &info) && info.dli_fname && info.dli_fname[0])
        return info.dli_fname;
    return "?";
}

static void *sym(void *h, const char *name, const char *path)
{
    void *p = dlsym(h, name);
    CHECK(p != NULL, "dlsym(%s): %s", name, dlerror());
    if (p)
        CHECK(strcmp(object_of(p), path) == 0, "%s comes from %s, not %s", name, object_of(p),
              path);
    return p;
}

#define TENANTS 500
static int platforms[TENANTS];

static void tenant_names(int i, char *id, size_t idcap, char *url, size_t urlcap)
{
    snprintf(id, idcap, "tenant-%04d", i);
    snprintf(url, urlcap, "https://T%04d.Bidders.example/openrtb2/auction", i);
}

/* The worker is done with the library; it exits when main lets it. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int worker_done, worker_may_exit;

/* A second thread: registers the tenants (registry memory allocated from a
 * thread that did not exist at dlopen), then resolves each of them. */
static void *worker(void *arg)
{
    tenreg_t *reg = arg;
    long bad = 0;
    char id[64], url[128], host[64];
    for (int i = 0; i < TENANTS; i++) {
        tenant_names(i, id, sizeof(id), url, sizeof(url));
        int rc = api.register_(reg, id, url, &platforms[i], 0);
        if (rc != TENREG_OK) {
            fprintf(stderr, "worker: register %s: %s\n", id, api.strerror_(rc));
            bad++;
        }
    }
    api.thread_register();
    for (int i = 0; i < TENANTS; i++) {
        int n = snprintf(host, sizeof(host), "t%04d.bidders.EXAMPLE.", i);
        tenreg_resolution r;
        api.read_lock();
        int rc = api.resolve(reg, host, (size_t)n, TENREG_NOWAIT, &r);
        if (rc != TENREG_OK || r.platform != &platforms[i])
            bad++;
        api.read_unlock();
        api.quiescent();
    }
    api.thread_unregister();
    pthread_mutex_lock(&mu);
    worker_done = 1;
    pthread_cond_broadcast(&cv);
    while (!worker_may_exit)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return (void *)bad;
}

/* One load: dlopen, use, check, dlclose. 0 when every check held. */
static int one_round(const char *path, const char *flavor, int round)
{
    int failures_before = failures;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "FAIL: dlopen(%s) (load %d): %s\n", path, round + 1, dlerror());
        return 1;
    }

    /* (memcpy: ISO C has no conversion from void * to a function pointer.) */
#define LOAD(field, name)                                     \
    do {                                                      \
        void *p_ = sym(h, name, path);                        \
        _Static_assert(sizeof(api.field) == sizeof p_, name); \
        memcpy(&api.field, &p_, sizeof p_);                   \
    } while (0)
    LOAD(new_, "tenreg_new");
    LOAD(free_, "tenreg_free");
    LOAD(register_, "tenreg_register");
    LOAD(unregister, "tenreg_unregister");
    LOAD(resolve_by_host, "tenreg_resolve_by_host");
    LOAD(resolve, "tenreg_resolve");
    LOAD(thread_register, "tenreg_thread_register");
    LOAD(thread_unregister, "tenreg_thread_unregister");
    LOAD(read_lock, "tenreg_read_lock");
    LOAD(read_unlock, "tenreg_read_unlock");
    LOAD(quiescent, "tenreg_quiescent");
    LOAD(flavor, "tenreg_flavor");
    LOAD(strerror_, "tenreg_strerror");
    LOAD(count, "tenreg_count");
    LOAD(version_string, "tenreg_version_string");
#undef LOAD
    if (failures != failures_before)
        return 1;
    CHECK(strcmp(api.flavor(), flavor) == 0, "tenreg_flavor() is %s, expected %s", api.flavor(),
          flavor);

    /* Round trip in this thread. */
    static int acme;
    tenreg_t *reg = NULL;
    int rc = api.new_(NULL, &reg);
    CHECK(rc == TENREG_OK && reg, "tenreg_new: %s", api.strerror_(rc));
    if (!reg)
        return 1;
    rc = api.register_(reg, "acme", "https://bid.acme.example/openrtb", &acme, 0);
    CHECK(rc == TENREG_OK, "register acme: %s", api.strerror_(rc));

    api.thread_register();
    static const char host[] = "BID.Acme.Example.:443";
    tenreg_resolution r;
    api.read_lock();
    rc = api.resolve_by_host(reg, host, sizeof(host) - 1, &r);
    CHECK(rc == TENREG_OK, "resolve_by_host(%s): %s", host, api.strerror_(rc));
    if (rc == TENREG_OK) {
        CHECK(strcmp(r.tenant_id, "acme") == 0, "tenant_id %s, expected acme", r.tenant_id);
        CHECK(r.platform == &acme, "wrong platform");
    }
    static const char unknown[] = "nobody.example";
    rc = api.resolve_by_host(reg, unknown, sizeof(unknown) - 1, &r);
    CHECK(rc == TENREG_ENOENT, "resolve_by_host(%s) = %d, expected ENOENT", unknown, rc);
    api.read_unlock();
    api.quiescent();

    /* A thread created after dlopen registers and resolves too. */
    pthread_t t;
    worker_done = worker_may_exit = 0;
    if (pthread_create(&t, NULL, worker, reg) != 0) {
        fprintf(stderr, "FAIL: pthread_create\n");
        return 1;
    }
    pthread_mutex_lock(&mu);
    while (!worker_done)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    CHECK(api.count(reg) == TENANTS + 1, "tenreg_count = %zu, expected %d", api.count(reg),
          TENANTS + 1);
    for (int i = 0; i < TENANTS; i += 2) {
        char id[64], url[128];
        tenant_names(i, id, sizeof(id), url, sizeof(url));
        rc = api.unregister(reg, id);
        CHECK(rc == TENREG_OK, "unregister %s: %s", id, api.strerror_(rc));
    }
    CHECK(api.count(reg) == TENANTS / 2 + 1, "tenreg_count = %zu after unregister",
          api.count(reg));
    api.read_lock();
    rc = api.resolve_by_host(reg, "t0000.bidders.example", 21, &r);
    CHECK(rc == TENREG_ENOENT, "unregistered tenant resolves (%d)", rc);
    rc = api.resolve_by_host(reg, "t0001.bidders.example", 21, &r);
    CHECK(rc == TENREG_OK && r.platform == &platforms[1], "tenant-0001: %s", api.strerror_(rc));
    api.read_unlock();
    api.quiescent();
    api.thread_unregister();
    api.free_(reg);

    /* The process's allocator is untouched. */
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    CHECK(libc != NULL, "libc.so.6 is not loaded: %s", dlerror());
    static const char *const alloc_fns[] = { "malloc", "free", "calloc", "realloc",
                                             "posix_memalign", "aligned_alloc" };
    for (size_t i = 0; libc && i < sizeof(alloc_fns) / sizeof(alloc_fns[0]); i++) {
        void *in_use = dlsym(RTLD_DEFAULT, alloc_fns[i]);
        const char *obj = object_of(in_use);
        CHECK(in_use != NULL, "no %s in the process", alloc_fns[i]);
        CHECK(strcmp(obj, path) != 0, "%s comes from %s", alloc_fns[i], path);
        if (!TENREG_DLOPEN_SANITIZED) {
            CHECK(in_use == dlsym(libc, alloc_fns[i]), "%s is %s's, not glibc's", alloc_fns[i],
                  obj);
            CHECK(strstr(obj, "libc.so") != NULL, "%s comes from %s, not libc.so", alloc_fns[i],
                  obj);
        }
    }
    if (libc)
        dlclose(libc);
    static const char *const jemalloc_fns[] = {
        "mallocx", "sdallocx", "mallctl", "je_mallocx", "je_mallctl",
        "tenreg_je_mallocx", "tenreg_je_sdallocx", "tenreg_je_mallctl", "tenreg_je_malloc",
    };
    for (size_t i = 0; i < sizeof(jemalloc_fns) / sizeof(jemalloc_fns[0]); i++) {
        void *p = dlsym(h, jemalloc_fns[i]);
        CHECK(p == NULL, "%s is reachable through %s (from %s)", jemalloc_fns[i], path,
              object_of(p));
        p = dlsym(RTLD_DEFAULT, jemalloc_fns[i]);
        CHECK(p == NULL, "%s is visible in the process (from %s)", jemalloc_fns[i],
              object_of(p));
    }
    char found[512] = "";
    CHECK(dl_iterate_phdr(tt_find_jemalloc, found) == 0, "%s is loaded", found);

    /* Unload while the worker, which used the library, still runs; then
     * let it exit (its thread-exit destructors run now). */
    CHECK(dlclose(h) == 0, "dlclose: %s", dlerror());
    pthread_mutex_lock(&mu);
    worker_may_exit = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    void *bad = NULL;
    pthread_join(t, &bad);
    CHECK(bad == NULL, "worker thread: %ld failed register/resolve calls", (long)bad);
    return failures != failures_before;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <libtenreg*.so> <memb|qsbr>\n", argv[0]);
        return 2;
    }
    const char *path = argv[1], *flavor = argv[2];

    /* Nothing of tenreg may be in the process before dlopen. */
    CHECK(dlsym(RTLD_DEFAULT, "tenreg_new") == NULL, "tenreg_new is already linked in (%s)",
          object_of(dlsym(RTLD_DEFAULT, "tenreg_new")));

    enum { LOADS = 3 };
    for (int round = 0; round < LOADS; round++) {
        if (one_round(path, flavor, round) != 0) {
            fprintf(stderr, "load %d of %d failed; %d check(s) failed\n", round + 1, LOADS,
                    failures);
            return 1;
        }
    }
    printf("ok: dlopen(%s) %d times: register/resolve round trip in 2 threads, dlclose; "
           "malloc is %s\n",
           path, LOADS, TENREG_DLOPEN_SANITIZED ? "not tenreg's" : "glibc's");
    return failures != 0;
}
