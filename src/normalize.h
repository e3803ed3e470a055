/*
 * normalize.h - the read side's entry into normalize.c (docs/design.md §4).
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

#endif
