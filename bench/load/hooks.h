/*
 * hooks.h - the few tenreg internals the load benchmark uses, declared
 * without dragging liburcu's flavor headers into every bench file.
 *
 * hooks.c includes src/internal.h and then this header, so the compiler
 * checks that these prototypes still match the library's. They resolve
 * against the static library (tenreg_static / tenreg-qsbr_static), where
 * every tenreg_* symbol stays global.
 */
#ifndef BENCH_HOOKS_H
#define BENCH_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tenreg.h"

#ifndef TENREG_INTERNAL_H
struct tenreg__hash_key {
    uint64_t k0, k1;
};
#endif

/* The library's keyed hash (SipHash-1-3), used by the baselines so that
 * they hash exactly as tenreg does. */
/* 0, or TENREG_ENOMEM when seed 0 finds no kernel randomness. */
int tenreg__hash_key_init(struct tenreg__hash_key *key, uint64_t seed);
uint64_t tenreg__hash(const struct tenreg__hash_key *key, const void *data, size_t len);
/* Bytes tenreg allocated through its arena for @reg and not yet freed. */
long tenreg__live_bytes(const struct tenreg *reg);
const char *tenreg__allocator_name(void);

/* hooks.c: the per-tenant structures' sizes up to their strings (what
 * each allocation takes before them), for the bytes/tenant note. */
size_t bench_tenant_struct_size(void);
size_t bench_record_struct_size(void);

/* Where a registration's bytes go (bench/README.md, "Bytes per tenant"),
 * as tenreg sizes its allocations: sums over the tenants added with
 * bench_bytes_add. The id and agent URL strings in the tenant are not
 * counted here (every registry must hold them). */
struct bench_bytes {
    double tenant_struct;  /* struct tenreg__tenant up to its strings */
    double tenant_host;    /* the tenant's host key, NUL included */
    double rec_header;     /* struct tenreg__record up to its strings */
    double rec_host;       /* the record's copy of the host key */
    double rec_id;         /* the record's copy of the id */
    double rec_round;      /* to the 8-byte boundary of the tail */
    double rec_tail;       /* struct tenreg__record_tail: tenant, back pointer, rcu_head */
    double build_rec;      /* lazy: the build's record, allocated with the tenant */
    double build_state;    /* lazy: struct tenreg__build, after the tenant's strings */
    double build_pad;      /* lazy: aligning it */
};
void bench_bytes_add(struct bench_bytes *acc, size_t host_len, size_t id_len, size_t url_len,
                     bool lazy);
/* The slot arrays of @reg's by_host, by_id and pattern tables, in bytes. */
void bench_slot_bytes(tenreg_t *reg, double out[3]);

#endif
