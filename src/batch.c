/*
 * batch.c - recording a batch (docs/design.md §8.5): tenreg_batch_new, the
 * op calls and tenreg_batch_free. Applying it is batch_commit.c's job.
 *
 * Each op is checked and copied as it comes: ids and host texts go to the
 * batch's arena, and a register op makes its registration at once (tenant,
 * first record, lazy build record), so that a commit allocates only what
 * depends on the registry. Every array grows before the op is appended, so
 * an op that fails leaves the batch as it was. Nothing here takes a lock or
 * changes the registry's tables (tenreg_batch_new only reads by_id's key,
 * inside a section): a batch is its thread's alone.
 */
#include "batch.h"

#include <string.h>

/* Grows *@p (of *@cap elements of @size) to hold at least @need. */
static int reserve(struct tenreg *reg, void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return TENREG_OK;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    if (c > SIZE_MAX / size || c > UINT32_MAX)
        return TENREG_ENOMEM;
    void *q = tenreg__alloc(reg, c * size);
    if (!q)
        return TENREG_ENOMEM;
    if (*cap)
        memcpy(q, *p, *cap * size);
    if (*p)
        tenreg__dealloc(reg, *p, *cap * size);
    *p = q;
    *cap = c;
    return TENREG_OK;
}

static uint64_t id_hash(const struct tenreg_batch *b, const char *id, size_t len)
{
    return tenreg__hash(&b->key, id, len);
}

uint32_t tenreg__batch_find(const struct tenreg_batch *b, const char *id, size_t len)
{
    if (!b->index_cap)
        return TENREG__NONE;
    uint64_t h = id_hash(b, id, len);
    size_t mask = b->index_cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t v = b->index[i];
        if (!v)
            return TENREG__NONE;
        const struct tenreg__name *n = &b->names[v - 1];
        if (n->hash == h && n->id_len == len && memcmp(tenreg__name_id(b, n), id, len) == 0)
            return v - 1;
    }
}

static void index_put(uint32_t *index, size_t cap, uint64_t hash, uint32_t name)
{
    size_t mask = cap - 1, i = hash & mask;
    while (index[i])
        i = (i + 1) & mask;
    index[i] = name + 1;
}

/* Room for one more name: the index stays at most half full. */
static int reserve_name(struct tenreg_batch *b)
{
    struct tenreg *reg = b->reg;
    if (reserve(reg, (void **)&b->names, &b->cap_names, b->n_names + 1, sizeof(*b->names)))
        return TENREG_ENOMEM;
    if (2 * (b->n_names + 1) <= b->index_cap)
        return TENREG_OK;
    size_t cap = b->index_cap ? 2 * b->index_cap : 64;
    uint32_t *index = tenreg__alloc(reg, cap * sizeof(*index));
    if (!index)
        return TENREG_ENOMEM;
    memset(index, 0, cap * sizeof(*index));
    for (size_t i = 0; i < b->n_names; i++)
        index_put(index, cap, b->names[i].hash, (uint32_t)i);
    if (b->index)
        tenreg__dealloc(reg, b->index, b->index_cap * sizeof(*index));
    b->index = index;
    b->index_cap = cap;
    return TENREG_OK;
}

/* Copies @len bytes and a NUL into the arena (room reserved). */
static uint32_t arena_put(struct tenreg_batch *b, const char *s, size_t len)
{
    uint32_t off = (uint32_t)b->arena_len;
    memcpy(b->arena + off, s, len);
    b->arena[off + len] = '\0';
    b->arena_len += len + 1;
    return off;
}

/*
 * Appends an op about @id (with @text to copy, if any), making the id's
 * name if it is new. Every allocation comes first: on ENOMEM the batch is
 * as it was. *@op_out receives the op, to be completed by the caller.
 */
static int add_op(struct tenreg_batch *b, enum tenreg__op_kind kind, const char *id, size_t id_len,
                  const char *text, size_t text_len, struct tenreg__op **op_out)
{
    struct tenreg *reg = b->reg;
    uint32_t name = tenreg__batch_find(b, id, id_len);
    size_t arena_need = b->arena_len + (name == TENREG__NONE ? id_len + 1 : 0) +
                        (text ? text_len + 1 : 0);
    uint32_t **list = kind == TENREG__OP_ADD_HOST ? &b->adds
                      : kind == TENREG__OP_KEEP   ? NULL
                                                  : &b->changes;
    size_t *list_n = list == &b->adds ? &b->n_adds : &b->n_changes;
    size_t *list_cap = list == &b->adds ? &b->cap_adds : &b->cap_changes;
    if (b->n_ops + 1 > UINT32_MAX - 1 || arena_need > UINT32_MAX ||
        reserve(reg, (void **)&b->ops, &b->cap_ops, b->n_ops + 1, sizeof(*b->ops)) ||
        reserve(reg, (void **)&b->arena, &b->arena_cap, arena_need, 1) ||
        (list && reserve(reg, (void **)list, list_cap, *list_n + 1, sizeof(**list))) ||
        (name == TENREG__NONE && reserve_name(b)))
        return TENREG_ENOMEM;
    if (list)
        (*list)[(*list_n)++] = (uint32_t)b->n_ops;
    if (name == TENREG__NONE) {
        struct tenreg__name *n = &b->names[b->n_names];
        memset(n, 0, sizeof(*n));
        n->hash = id_hash(b, id, id_len);
        n->id_len = (uint8_t)id_len;
        n->id_off = arena_put(b, id, id_len);
        name = (uint32_t)b->n_names++;
        index_put(b->index, b->index_cap, n->hash, name);
    }
    struct tenreg__op *op = &b->ops[b->n_ops++];
    memset(op, 0, sizeof(*op));
    op->kind = (uint8_t)kind;
    op->name = name;
    if (text) {
        op->arg = arena_put(b, text, text_len);
        op->text_len = (uint16_t)text_len;
    }
    *op_out = op;
    return TENREG_OK;
}

TENREG_API int tenreg_batch_new(tenreg_t *reg, tenreg_batch **out)
{
    if (!reg || !out)
        return TENREG_EINVAL;
    struct tenreg_batch *b = tenreg__alloc(reg, sizeof(*b));
    if (!b)
        return TENREG_ENOMEM;
    memset(b, 0, sizeof(*b));
    b->reg = reg;
    /* The id index (and the commit's key map) have no probe bound, and
     * ids and hosts may be chosen by whoever feeds the batch, so their key
     * must be secret. by_id's is when it came from the kernel: then the
     * index takes it, and a commit that finds by_id still under it uses
     * the names' hashes as they are (a sync names every tenant: SipHash of
     * a million ids is a fifth of its work). A key derived from a known
     * hash_seed is public: then a key of the batch's own. */
    if (!tenreg__table_secret_key(&reg->by_id, &b->key) &&
        tenreg__hash_key_init(&b->key, 0) != TENREG_OK) {
        tenreg__dealloc(reg, b, sizeof(*b));
        return TENREG_ENOMEM;
    }
    *out = b;
    return TENREG_OK;
}

static int add_registration(tenreg_batch *b, const char *id, const char *url, void *platform,
                            tenreg_factory_fn factory, void *factory_ctx)
{
    size_t id_len, key_len;
    char key[TENREG_HOST_KEY_MAX + 1];
    if (!b || b->committed || !url || tenreg__id_len(id, &id_len))
        return TENREG_EINVAL;
    size_t url_len = strlen(url);
    if (url_len > UINT32_MAX - 1 ||
        tenreg_normalize_host(url, url_len, key, sizeof(key), &key_len) != TENREG_OK)
        return TENREG_EINVAL;
    struct tenreg *reg = b->reg;
    if (reserve(reg, (void **)&b->fresh, &b->cap_fresh, b->n_fresh + 1, sizeof(*b->fresh)))
        return TENREG_ENOMEM;
    struct tenreg__tenant *t = tenreg__tenant_new(reg, key, key_len, id, id_len, url, url_len,
                                                  platform, factory, factory_ctx);
    if (!t)
        return TENREG_ENOMEM;
    struct tenreg__op *op;
    if (add_op(b, TENREG__OP_REGISTER, id, id_len, NULL, 0, &op) != TENREG_OK) {
        tenreg__tenant_drop(t); /* never published: the platform stays the caller's */
        return TENREG_ENOMEM;
    }
    op->arg = (uint32_t)b->n_fresh;
    b->fresh[b->n_fresh++] = t;
    return TENREG_OK;
}

TENREG_API int tenreg_batch_register(tenreg_batch *b, const char *tenant_id,
                                     const char *agent_url, void *platform)
{
    if (!platform)
        return TENREG_EINVAL;
    return add_registration(b, tenant_id, agent_url, platform, NULL, NULL);
}

TENREG_API int tenreg_batch_register_lazy(tenreg_batch *b, const char *tenant_id,
                                          const char *agent_url, tenreg_factory_fn factory,
                                          void *factory_ctx)
{
    if (!factory)
        return TENREG_EINVAL;
    return add_registration(b, tenant_id, agent_url, NULL, factory, factory_ctx);
}

TENREG_API int tenreg_batch_add_host(tenreg_batch *b, const char *tenant_id, const char *host)
{
    size_t id_len;
    struct tenreg__host_arg h;
    if (!b || b->committed || tenreg__id_len(tenant_id, &id_len) || tenreg__parse_host(host, &h))
        return TENREG_EINVAL;
    struct tenreg__op *op;
    int rc = add_op(b, TENREG__OP_ADD_HOST, tenant_id, id_len, h.text, h.len, &op);
    if (rc == TENREG_OK)
        op->pattern = h.pattern;
    return rc;
}

static int add_plain(tenreg_batch *b, enum tenreg__op_kind kind, const char *id)
{
    size_t id_len;
    if (!b || b->committed || tenreg__id_len(id, &id_len))
        return TENREG_EINVAL;
    struct tenreg__op *op;
    return add_op(b, kind, id, id_len, NULL, 0, &op);
}

TENREG_API int tenreg_batch_unregister(tenreg_batch *b, const char *tenant_id)
{
    return add_plain(b, TENREG__OP_UNREGISTER, tenant_id);
}

TENREG_API int tenreg_batch_keep(tenreg_batch *b, const char *tenant_id)
{
    return add_plain(b, TENREG__OP_KEEP, tenant_id);
}

TENREG_API void tenreg_batch_free(tenreg_batch *b)
{
    if (!b)
        return;
    struct tenreg *reg = b->reg;
    /* After a commit the registry owns every registration the batch made
     * (or has freed it); before, none was ever published. */
    if (!b->committed)
        for (size_t i = 0; i < b->n_fresh; i++)
            tenreg__tenant_drop(b->fresh[i]);
    if (b->fresh)
        tenreg__dealloc(reg, b->fresh, b->cap_fresh * sizeof(*b->fresh));
    if (b->ops)
        tenreg__dealloc(reg, b->ops, b->cap_ops * sizeof(*b->ops));
    if (b->names)
        tenreg__dealloc(reg, b->names, b->cap_names * sizeof(*b->names));
    if (b->index)
        tenreg__dealloc(reg, b->index, b->index_cap * sizeof(*b->index));
    if (b->arena)
        tenreg__dealloc(reg, b->arena, b->arena_cap);
    if (b->changes)
        tenreg__dealloc(reg, b->changes, b->cap_changes * sizeof(*b->changes));
    if (b->adds)
        tenreg__dealloc(reg, b->adds, b->cap_adds * sizeof(*b->adds));
    tenreg__dealloc(reg, b, sizeof(*b));
}
