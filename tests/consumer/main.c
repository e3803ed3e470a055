/*
 * main.c - a tenreg adopter in miniature, built against the installed
 * package (find_package or pkg-config; see tests/consumer/tests.cmake).
 *
 * Registers one tenant, resolves it by a Host header, and prints:
 *   tenant=<id> health=<name> flavor=<memb|qsbr> version=<x.y.z>
 *   malloc=glibc | malloc=other (<object that defines it>)
 *   libtenreg=<file the tenreg code was loaded from, or the executable>
 * The last two lines are what the install tests check: whichever way
 * tenreg is linked, the process keeps glibc's malloc, and the code under
 * test is the installed one.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <tenreg.h>

static const char *object_of(void *addr)
{
    Dl_info info;
    if (addr && dladdr(addr, &info) && info.dli_fname && info.dli_fname[0])
        return info.dli_fname;
    return "?";
}

int main(void)
{
    static int platform = 42;   /* the adopter's object; not freed (no platform_free) */
    tenreg_t *reg = NULL;
    int rc = tenreg_new(NULL, &reg);
    if (rc != TENREG_OK) {
        fprintf(stderr, "tenreg_new: %s\n", tenreg_strerror(rc));
        return 1;
    }
    rc = tenreg_register(reg, "acme", "https://bid.acme.example:8443/openrtb", &platform, 0);
    if (rc != TENREG_OK) {
        fprintf(stderr, "tenreg_register: %s\n", tenreg_strerror(rc));
        tenreg_free(reg);
        return 1;
    }

    static const char host[] = "BID.Acme.Example.:443";
    int ok = 0;
    tenreg_thread_register();
    tenreg_read_lock();
    tenreg_resolution r;
    rc = tenreg_resolve_by_host(reg, host, sizeof(host) - 1, &r);
    if (rc == TENREG_OK && r.platform == &platform) {
        printf("tenant=%s health=%s flavor=%s version=%s\n", r.tenant_id,
               tenreg_health_name(r.health), tenreg_flavor(), tenreg_version_string());
        ok = 1;
    } else {
        fprintf(stderr, "tenreg_resolve_by_host: %s\n", tenreg_strerror(rc));
    }
    tenreg_read_unlock();
    tenreg_quiescent();
    tenreg_thread_unregister();
    tenreg_free(reg);

    /* glibc's malloc, looked up in libc itself, against the one this
     * process actually calls (a leaked jemalloc in libtenreg.a would be
     * linked into the executable and interpose libc's). */
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    void *libc_malloc = libc ? dlsym(libc, "malloc") : NULL;
    void *used_malloc = dlsym(RTLD_DEFAULT, "malloc");
    if (libc_malloc && used_malloc == libc_malloc)
        printf("malloc=glibc\n");
    else
        printf("malloc=other (%s)\n", object_of(used_malloc));
    printf("libtenreg=%s\n", object_of((void *)&tenreg_new));
    if (libc)
        dlclose(libc);
    return ok ? 0 : 1;
}
