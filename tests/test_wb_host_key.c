/*
 * The fast paths of host normalization (white-box, src/host_key.c): the
 * scalar scan, SSE2, AVX2 and AVX-512 (each where the CPU has it) must
 * give the same answer, rc and key, on every input, through both entries
 * (tenreg_normalize_host and the lookups' tenreg__host_key), and no
 * vector path may read past the input's length. tenreg__fast_path_select picks the path for the whole
 * process; the scan alone (TENREG__FAST_SCALAR) is the reference, as the
 * fast paths hand it everything they do not decide.
 *
 * The inputs are drawn around the vector paths' edges: lengths 1..72
 * (the paths take 16..64 bytes; under 16 a copied group), names with
 * dots at every place, upper case, '-' and '_', ports of 0..7 digits
 * (65535, 65536, 99999, leading zeros), trailing dots, and now and then
 * a byte the fast paths must not decide (a blank, '/', '@', '[', a byte
 * >= 0x80, NUL).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "normalize.h"
#include "test_support.h"

#define DRAWS 400000
#define MAX_IN 72

struct answer {
    int rc;
    size_t len;
    char key[TENREG_HOST_KEY_MAX + 1];
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    return tt_xorshift(&rng);
}

/* One input of at most MAX_IN bytes into @buf; returns its length. */
static size_t draw(char *buf)
{
    static const char name[] = "abcxyzABCXYZ0189-_";
    static const char odd[] = " \t/@[]?#%:\x80\xff";
    size_t n = 1 + next() % MAX_IN, i = 0;
    size_t port = next() % 4 == 0 ? next() % 8 : 0;
    size_t name_n = n > port + 1 && port ? n - port - 1 : n;
    while (i < name_n) {
        uint64_t r = next() % 100;
        if (r < 12)
            buf[i++] = '.';
        else if (r < 14)
            buf[i++] = odd[next() % (sizeof(odd) - 1)];
        else if (r < 15)
            buf[i++] = '\0';
        else
            buf[i++] = name[next() % (sizeof(name) - 1)];
    }
    if (port && i < n) {
        static const char *const ports[] = {"443", "65535", "65536", "99999", "00000", "8080"};
        buf[i++] = ':';
        if (next() % 2) {
            const char *p = ports[next() % (sizeof(ports) / sizeof(ports[0]))];
            for (size_t j = 0; p[j] && i < n; j++)
                buf[i++] = p[j];
        }
        while (i < n)
            buf[i++] = (char)('0' + next() % 10);
    }
    return i;
}

static struct answer public_answer(const char *in, size_t len)
{
    struct answer a;
    memset(&a, 0, sizeof(a));
    a.rc = tenreg_normalize_host(in, len, a.key, sizeof(a.key), &a.len);
    return a;
}

static struct answer lookup_answer(const char *in, size_t len)
{
    struct answer a;
    memset(&a, 0, sizeof(a));
    a.rc = tenreg__host_key(in, len, a.key, &a.len);
    if (a.rc == 0)
        memset(a.key + a.len, 0, sizeof(a.key) - a.len); /* need not be terminated */
    return a;
}

static const char *path_name(int path)
{
    return path == TENREG__FAST_AVX512 ? "avx512"
           : path == TENREG__FAST_AVX2 ? "avx2"
           : path == TENREG__FAST_SSE2 ? "sse2"
                                       : "scalar";
}

/* The paths this build and CPU have, after the scan: returns how many. */
static int vector_paths(int *paths)
{
    int n = 0;
    for (int p = TENREG__FAST_SSE2; p <= TENREG__FAST_AVX512; p++) {
        int before = tenreg__fast_path_select(p);
        if (before >= 0) {
            paths[n++] = p;
            tenreg__fast_path_select(before);
        }
    }
    return n;
}

static void expect_same(const struct answer *want, const struct answer *got, const char *in,
                        size_t len, const char *entry, int path)
{
    if (want->rc == got->rc && (want->rc != 0 || (want->len == got->len &&
                                                  memcmp(want->key, got->key, want->len) == 0)))
        return;
    char shown[4 * MAX_IN + 1];
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        k += (size_t)snprintf(shown + k, sizeof(shown) - k, c > 0x20 && c < 0x7f ? "%c" : "\\x%02x",
                              c);
    }
    cr_expect(false,
              "%s, %s path, \"%s\" (%zu bytes): rc %d key \"%.*s\", the scan: rc %d key \"%.*s\"",
              entry, path_name(path), shown, len, got->rc, (int)got->len, got->key, want->rc,
              (int)want->len, want->key);
}

/*
 * @in through the scan, then through every path of @paths[0..@npaths),
 * both entries compared with the scan's answers. With @accepted, adds to
 * accepted[p] whether path p accepted @in itself (not handed to the
 * scan). Returns whether the scan accepted @in.
 */
static bool compare_paths(const char *in, size_t len, const int *paths, int npaths,
                          size_t *accepted)
{
    cr_assert_geq(tenreg__fast_path_select(TENREG__FAST_SCALAR), 0);
    struct answer want_pub = public_answer(in, len);
    struct answer want_key = lookup_answer(in, len);
    for (int p = 0; p < npaths; p++) {
        cr_assert_geq(tenreg__fast_path_select(paths[p]), 0);
        struct answer got = public_answer(in, len);
        expect_same(&want_pub, &got, in, len, "tenreg_normalize_host", paths[p]);
        got = lookup_answer(in, len);
        expect_same(&want_key, &got, in, len, "tenreg__host_key", paths[p]);
        if (accepted) {
            char key[64];
            size_t kl;
            accepted[p] += tenreg__fast_host((const unsigned char *)in, len, key, &kl) == 0;
        }
    }
    return want_key.rc == 0;
}

static void restore_best(void)
{
    int paths[3];
    int n = vector_paths(paths);
    if (n > 0)
        tenreg__fast_path_select(paths[n - 1]);
}

TestSuite(host_key, .fini = restore_best, .timeout = 120);

/* SSE2 is part of x86-64, so there the test always has a vector path to
 * compare; AVX2 and AVX-512 where the CPU has them (printed). */
Test(host_key, paths_available)
{
    int paths[3];
    int n = vector_paths(paths);
#if defined(__x86_64__)
    cr_assert_geq(n, 1, "x86-64 always has the SSE2 path");
    cr_assert_eq(paths[0], TENREG__FAST_SSE2);
#endif
    for (int i = 0; i < n; i++)
        cr_log_info("fast path here: %s", path_name(paths[i]));
    cr_expect_eq(tenreg__fast_path_select(TENREG__FAST_AVX512 + 1), -1);
    cr_expect_eq(tenreg__fast_path_select(-1), -1);
}

Test(host_key, every_path_answers_as_the_scan)
{
    int paths[3];
    int npaths = vector_paths(paths);
    char in[MAX_IN];
    size_t total = 0, scan_ok = 0;
    size_t accepted[3] = {0, 0, 0}; /* by each path itself, not handed to the scan */

    for (int d = 0; d < DRAWS; d++) {
        size_t len = draw(in);
        scan_ok += compare_paths(in, len, paths, npaths, accepted);
        total++;
    }
    /* Each path must accept most of what the scan accepts by itself:
     * otherwise the comparison above would only compare the scan with
     * itself. */
    for (int p = 0; p < npaths; p++) {
        cr_expect_gt(accepted[p], scan_ok / 2, "%s accepted %zu itself, the scan %zu",
                     path_name(paths[p]), accepted[p], scan_ok);
        cr_log_info("%s: %zu of the %zu the scan accepts, by itself", path_name(paths[p]),
                    accepted[p], scan_ok);
    }
    cr_log_info("%zu inputs, %d vector paths", total, npaths);
}

/* Every length at its edges: names of n bytes ending exactly at a
 * PROT_NONE page, each with a dot, a ':' (then digits), an upper-case
 * byte or a digit at every place, through every path. A read of in[len]
 * faults. */
Test(host_key, never_reads_past_len)
{
    struct tt_guard g = tt_guard_new();
    int paths[3];
    int npaths = vector_paths(paths);
    size_t checked = 0;

    for (size_t n = 1; n <= 66; n++) {
        for (size_t at = 0; at < n; at++) {
            for (int v = 0; v < 4; v++) {
                char host[66];
                memset(host, 'a', n);
                host[at] = v == 0 ? '.' : v == 1 ? ':' : v == 2 ? 'Q' : '5';
                if (v == 1)
                    memset(host + at + 1, '7', n - at - 1);
                compare_paths(tt_guard_place(&g, host, n), n, paths, npaths, NULL);
                checked += (size_t)npaths;
            }
        }
    }
    tt_guard_free(&g);
    cr_log_info("%zu inputs at a guard page", checked);
}

/* The port rule on the masks: at most five digits, at most 65535, and
 * nothing but digits after the ':'. */
Test(host_key, ports_at_the_edges)
{
    static const struct {
        const char *in;
        const char *want; /* NULL: EINVAL */
    } cases[] = {
        {"abcdefghijklmnop.example:65535", "abcdefghijklmnop.example"},
        {"abcdefghijklmnop.example:65536", NULL},
        {"abcdefghijklmnop.example:99999", NULL},
        {"abcdefghijklmnop.example:00000", "abcdefghijklmnop.example"},
        {"abcdefghijklmnop.example:000443", "abcdefghijklmnop.example"}, /* to the scan */
        {"abcdefghijklmnop.example:", "abcdefghijklmnop.example"},
        {"abcdefghijklmnop.example:4a3", NULL},
        {"abcdefghijklmnop.example:443/", "abcdefghijklmnop.example"},
        {"ABCDEFGHIJKLMNOP.EXAMPLE.:443", "abcdefghijklmnop.example"},
        {"abcdefghijklmnop.example..:443", NULL},
        {":443abcdefghijklmnopqrstuvwxyz", NULL},
        /* Under 16 bytes (a copied group; AVX-512: one masked load). */
        {"A.b:65535", "a.b"},
        {"a.b:65536", NULL},
        {"a.b.:80", "a.b"},
        {"a..b:80", NULL},
        /* Over 32 (two groups), the port in the second. */
        {"abcdefghijklmnopqrstuvwxyz.EXAMPLE.com:65535", "abcdefghijklmnopqrstuvwxyz.example.com"},
        {"abcdefghijklmnopqrstuvwxyz.example.com:65536", NULL},
        {"abcdefghijklmnopqrstuvwxyz.example.com.:1", "abcdefghijklmnopqrstuvwxyz.example.com"},
        {"abcdefghijklmnopqrstuvwxyz.example..com:1", NULL},
    };
    int paths[4] = {TENREG__FAST_SCALAR};
    int npaths = 1 + vector_paths(paths + 1);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int p = 0; p < npaths; p++) {
            cr_assert_geq(tenreg__fast_path_select(paths[p]), 0);
            struct answer got = lookup_answer(cases[i].in, strlen(cases[i].in));
            if (!cases[i].want) {
                cr_expect_eq(got.rc, TENREG_EINVAL, "%s, %s path: rc %d", cases[i].in,
                             path_name(paths[p]), got.rc);
                continue;
            }
            cr_expect_eq(got.rc, 0, "%s, %s path: rc %d", cases[i].in, path_name(paths[p]),
                         got.rc);
            cr_expect(got.len == strlen(cases[i].want) &&
                          memcmp(got.key, cases[i].want, got.len) == 0,
                      "%s, %s path: key \"%.*s\"", cases[i].in, path_name(paths[p]),
                      (int)got.len, got.key);
        }
    }
}
