/*
 * loaded_jemalloc.h - whether a shared jemalloc is mapped into the process
 * (which would mean linking tenreg brought one in, and with it a replaced
 * malloc). Header-only: the dlopen test links nothing of the test support.
 */
#ifndef TENREG_TEST_LOADED_JEMALLOC_H
#define TENREG_TEST_LOADED_JEMALLOC_H

#include <link.h>
#include <stdio.h>
#include <string.h>

/* dl_iterate_phdr callback: copies the first object named *jemalloc* into
 * @data (512 bytes) and stops. */
static inline int tt_find_jemalloc(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    if (info->dlpi_name && strstr(info->dlpi_name, "jemalloc")) {
        snprintf(data, 512, "%s", info->dlpi_name);
        return 1;
    }
    return 0;
}

#endif
