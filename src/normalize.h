/*
 * normalize.h - host normalization inside the library (docs/design.md §4):
 * normalize.c has the public call and the general scan, host_key.c the
 * fast paths and the lookups' entry.
 */
#ifndef TENREG_NORMALIZE_H
#define TENREG_NORMALIZE_H

#include <stddef.h>

#include "tenreg.h"

/*
 * tenreg_normalize_host for the lookups: @in to its host key in @key,
 * *@key_len its length. TENREG_EINVAL for anything that is not a host (a
 * key that would not fit is one). Unlike the public call, @key may be
 * written on failure, and on success it need not be NUL-terminated: the
 * lookups go by the length, and skipping the copy into the caller's buffer
 * and the failure contract is a fifth of a lookup's instructions.
 */
int tenreg__host_key(const char *in, size_t len, char key[TENREG_HOST_KEY_MAX + 1], size_t *key_len);

/* A fast path's answer when it cannot decide; never returned to callers. */
#define TENREG__NEEDS_SCAN 2

/*
 * The picked fast path on @p[0..@n): 0 with the key in @key (@key_len
 * bytes, not NUL-terminated; @key has room for 64), TENREG_EINVAL, or
 * TENREG__NEEDS_SCAN for anything it does not decide (host_key.c).
 */
int tenreg__fast_host(const unsigned char *p, size_t n, char key[64], size_t *key_len);

/*
 * The general path (blanks, a scheme, userinfo, a path, IPv6): the key
 * into @out (NUL-terminated, @cap bytes), TENREG_EINVAL or TENREG_ENOSPC.
 * @out may be written on failure.
 */
int tenreg__normalize_scan(const unsigned char *in, size_t len, char *out, size_t cap,
                           size_t *out_len);

/* The fast paths, lowest first (host_key.c). */
enum {
    TENREG__FAST_SCALAR = 0,
    TENREG__FAST_SSE2 = 1,
    TENREG__FAST_AVX2 = 2,
    TENREG__FAST_AVX512 = 3
};

/*
 * Makes every later normalization in the process use @path (the scan
 * only, SSE2, AVX2, AVX-512). Returns the path used before, or -1 (nothing changed)
 * when this CPU or build does not have @path. For tests: not to be called
 * while another thread normalizes.
 */
int tenreg__fast_path_select(int path);

#endif
