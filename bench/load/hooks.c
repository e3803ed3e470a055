/*
 * hooks.c - white-box glue: the only bench file that includes
 * src/internal.h. Compiled once per flavor (TENREG_FLAVOR_QSBR for the qsbr
 * binary) so the structs match the library it links.
 */
#include "internal.h"

#include "hooks.h"

size_t bench_tenant_struct_size(void)
{
    return sizeof(struct tenreg__tenant);
}

size_t bench_record_struct_size(void)
{
    return sizeof(struct tenreg__record);
}
