/*
 * hooks.c - white-box glue: the only bench file that includes
 * src/internal.h. Compiled once per flavor (TENREG_FLAVOR_QSBR for the qsbr
 * binary) so the structs match the library it links.
 */
#include "internal.h"

#include "hooks.h"

size_t bench_tenant_struct_size(void)
{
    return offsetof(struct tenreg__tenant, strs);
}

size_t bench_record_struct_size(void)
{
    return offsetof(struct tenreg__record, strs);
}

void bench_bytes_add(struct bench_bytes *acc, size_t host_len, size_t id_len, size_t url_len,
                     bool lazy)
{
    size_t tail = tenreg__record_tail_offset(host_len, id_len);
    size_t unrounded = offsetof(struct tenreg__record, strs) + host_len + 1 + id_len + 1;
    size_t record = tail + sizeof(struct tenreg__record_tail);
    acc->tenant_struct += (double)offsetof(struct tenreg__tenant, strs);
    acc->tenant_host += (double)(host_len + 1);
    acc->rec_header += (double)offsetof(struct tenreg__record, strs);
    acc->rec_host += (double)(host_len + 1);
    acc->rec_id += (double)(id_len + 1);
    acc->rec_round += (double)(tail - unrounded);
    acc->rec_tail += (double)sizeof(struct tenreg__record_tail);
    if (lazy) {
        size_t end = offsetof(struct tenreg__tenant, strs) + host_len + 1 + id_len + 1 + url_len + 1;
        size_t a = _Alignof(struct tenreg__build);
        acc->build_rec += (double)record;
        acc->build_state += (double)sizeof(struct tenreg__build);
        acc->build_pad += (double)((end + a - 1) / a * a - end);
    }
}

static double slots_of(const struct tenreg__table *t)
{
    return (double)tenreg__table_bytes(t);
}

void bench_slot_bytes(tenreg_t *reg, double out[3])
{
    /* No writer runs while the bench measures: the arrays are stable. */
    out[0] = slots_of(&reg->by_host);
    out[1] = slots_of(&reg->by_id);
    out[2] = slots_of(&reg->by_pattern);
}
