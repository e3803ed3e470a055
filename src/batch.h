/*
 * batch.h - private to batch.c (recording) and batch_commit.c (applying):
 * what a tenreg_batch holds.
 */
#ifndef TENREG_BATCH_H
#define TENREG_BATCH_H

#include "internal.h"

#define TENREG__NONE UINT32_MAX

enum tenreg__op_kind {
    TENREG__OP_REGISTER,   /* arg: index into fresh */
    TENREG__OP_UNREGISTER,
    TENREG__OP_KEEP,
    TENREG__OP_ADD_HOST,   /* arg: arena offset of the normalized text */
};

struct tenreg__op {
    uint8_t kind;          /* enum tenreg__op_kind */
    uint8_t pattern;       /* ADD_HOST: the text is "*." NAME */
    uint16_t text_len;     /* ADD_HOST */
    uint32_t name;         /* the id it is about: index into names */
    uint32_t arg;
    uint32_t next;         /* commit: the next add of the same registration */
};

/* What a commit decides for an id, running the ops in order. */
enum tenreg__name_state {
    TENREG__NAME_ABSENT,   /* not registered (at this point of the batch) */
    TENREG__NAME_CURRENT,  /* registered, untouched so far (adds only) */
    TENREG__NAME_KEPT,     /* registered and kept */
    TENREG__NAME_NEW,      /* registered by the batch */
    TENREG__NAME_GONE,     /* unregistered by the batch */
};

/* One per id the batch names. */
struct tenreg__name {
    uint64_t hash;         /* of the id, under the batch's key */
    uint32_t id_off;       /* in the arena, NUL-terminated */
    uint8_t id_len;
    /* Commit scratch, set anew by every commit attempt: */
    uint8_t state;         /* enum tenreg__name_state */
    uint8_t arr_n, arr_cap;           /* the planned alias array */
    uint32_t decider;      /* the op that made it NEW or GONE, or TENREG__NONE */
    uint32_t fresh;        /* NEW: index into fresh */
    uint32_t add_head, add_tail;      /* its registration's adds (ops) */
    struct tenreg__tenant *cur;       /* registered at commit, or NULL */
    struct tenreg__alias **arr;       /* NULL: its aliases do not change */
};

struct tenreg_batch {
    struct tenreg *reg;
    struct tenreg__hash_key key;      /* for the id index */
    struct tenreg__op *ops;
    size_t n_ops, cap_ops;
    struct tenreg__name *names;
    size_t n_names, cap_names;
    uint32_t *index;                  /* open addressing: name index + 1, 0 empty */
    size_t index_cap;                 /* a power of two, at least twice n_names */
    char *arena;                      /* ids and host texts */
    size_t arena_len, arena_cap;
    struct tenreg__tenant **fresh;    /* every registration a register op made */
    size_t n_fresh, cap_fresh;
    /* The register and unregister ops, and the add_host ops, in batch
     * order: only their names can leave, be new or gain hosts, so a commit
     * walks these instead of every name (a sync names every tenant). */
    uint32_t *changes;
    size_t n_changes, cap_changes;
    uint32_t *adds;
    size_t n_adds, cap_adds;
    bool committed;
};

static inline const char *tenreg__name_id(const struct tenreg_batch *b,
                                          const struct tenreg__name *n)
{
    return b->arena + n->id_off;
}

/* batch.c: the name of @id, or TENREG__NONE. */
uint32_t tenreg__batch_find(const struct tenreg_batch *b, const char *id, size_t len);

#endif /* TENREG_BATCH_H */
