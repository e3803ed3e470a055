/*
 * hosts.c - a tenant's extra hosts and wildcard patterns (docs/design.md
 * §8.1): tenreg_add_host, tenreg_remove_host, tenreg_foreach_host, and
 * what register/unregister do with them (tenreg__tenant_drop_aliases).
 *
 * An extra host is an alias entry in by_host, next to the records of
 * agent URL hosts; a pattern "*.NAME" is an alias entry in by_pattern keyed
 * by NAME. Both point at the tenant's current record (alias.c), so they
 * answer what its own host answers. Like every admin call, changes happen
 * under write_lock inside the writer's read section, and every allocation
 * comes before the first change, so an error leaves the registry as it was.
 */
#include "internal.h"

#include <string.h>


static const char *arg_key(const struct tenreg__host_arg *h)
{
    return h->text + (h->pattern ? 2 : 0);
}
static size_t arg_key_len(const struct tenreg__host_arg *h)
{
    return h->len - (h->pattern ? 2 : 0);
}

static bool is_name_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
}

/*
 * "*.NAME": NAME must be a §4 name as written, so only name bytes are
 * let through to the normalizer (it would otherwise drop a scheme, port,
 * path or userinfo, or take an IPv6 literal: all refused in a pattern).
 * Anything else is a Host value or URL, normalized as an agent URL; a '*'
 * anywhere else ("*", "**.a", "a.*.b", "*a.b") fails there.
 */
int tenreg__parse_host(const char *host, struct tenreg__host_arg *h)
{
    if (!host)
        return TENREG_EINVAL;
    size_t n = strlen(host), klen;
    h->pattern = n >= 2 && host[0] == '*' && host[1] == '.';
    if (!h->pattern) {
        if (tenreg_normalize_host(host, n, h->text, TENREG_HOST_KEY_MAX + 1, &klen) != 0)
            return TENREG_EINVAL;
        h->len = klen;
        return TENREG_OK;
    }
    const char *name = host + 2;
    size_t m = n - 2;
    if (m == 0 || m > TENREG_HOST_KEY_MAX + 1)
        return TENREG_EINVAL;
    for (size_t i = 0; i < m; i++)
        if (!is_name_byte((unsigned char)name[i]))
            return TENREG_EINVAL;
    if (tenreg_normalize_host(name, m, h->text + 2, TENREG_HOST_KEY_MAX + 1, &klen) != 0)
        return TENREG_EINVAL;
    h->text[0] = '*';
    h->text[1] = '.';
    h->len = klen + 2;
    return TENREG_OK;
}

static struct tenreg__table *table_of(struct tenreg *reg, bool pattern)
{
    return pattern ? &reg->by_pattern : &reg->by_host;
}

/* Keeps pattern_labels in step with the patterns registered: a bit is
 * raised before the first pattern of its length goes into by_pattern and
 * lowered after the last one's tombstone (see struct tenreg). */
void tenreg__count_pattern(struct tenreg *reg, unsigned labels, int delta)
{
    unsigned bit = labels < 63 ? labels : 63;
    size_t n = reg->patterns_by_labels[bit] += (size_t)(ptrdiff_t)delta;
    if (delta > 0 && n == 1)
        atomic_fetch_or_explicit(&reg->pattern_labels, (uint64_t)1 << bit, memory_order_relaxed);
    else if (delta < 0 && n == 0)
        atomic_fetch_and_explicit(&reg->pattern_labels, ~((uint64_t)1 << bit),
                                  memory_order_relaxed);
}

/* @al, whose slot is gone, leaves the pattern counts and is freed after
 * a grace period. */
static void forget_alias(struct tenreg *reg, struct tenreg__alias *al)
{
    if (al->pattern)
        tenreg__count_pattern(reg, al->labels, -1);
    tenreg__alias_retire(al);
}

/* Takes @al out of its table; it is freed after a grace period. */
static void unlink_alias(struct tenreg *reg, struct tenreg__alias *al)
{
    tenreg__table_remove(table_of(reg, al->pattern), tenreg__ent_of_alias(al));
    forget_alias(reg, al);
}

void tenreg__tenant_forget_aliases(struct tenreg__tenant *t)
{
    for (unsigned i = 0; i < t->n_aliases; i++)
        forget_alias(t->reg, t->aliases[i]);
    if (t->aliases)
        tenreg__dealloc(t->reg, t->aliases, t->alias_cap * sizeof(t->aliases[0]));
    t->aliases = NULL;
    t->n_aliases = t->alias_cap = 0;
}

void tenreg__tenant_drop_aliases(struct tenreg__tenant *t)
{
    for (unsigned i = 0; i < t->n_aliases; i++)
        tenreg__table_remove(table_of(t->reg, t->aliases[i]->pattern),
                             tenreg__ent_of_alias(t->aliases[i]));
    tenreg__tenant_forget_aliases(t);
}

/* Room for one more alias in @t's array, in two steps like the tables'
 * (so that a later ENOMEM leaves even the memory as it was): when the
 * array is full, *@grown receives a bigger one (doubling), which
 * commit_aliases installs. The array is the writer's alone, so the old one
 * is freed at once. */
static int prepare_aliases(struct tenreg__tenant *t, struct tenreg__alias ***grown,
                           unsigned *grown_cap)
{
    *grown = NULL;
    *grown_cap = t->alias_cap;
    if (t->n_aliases < t->alias_cap)
        return TENREG_OK;
    unsigned cap = t->alias_cap ? 2u * t->alias_cap : 4u;
    if (cap > TENREG_HOSTS_MAX - 1)
        cap = TENREG_HOSTS_MAX - 1;
    *grown = tenreg__alloc(t->reg, cap * sizeof(**grown));
    *grown_cap = cap;
    return *grown ? TENREG_OK : TENREG_ENOMEM;
}

static void commit_aliases(struct tenreg__tenant *t, struct tenreg__alias **grown, unsigned cap)
{
    if (!grown)
        return;
    if (t->n_aliases)
        memcpy(grown, t->aliases, t->n_aliases * sizeof(*grown));
    if (t->aliases)
        tenreg__dealloc(t->reg, t->aliases, t->alias_cap * sizeof(*grown));
    t->aliases = grown;
    t->alias_cap = (uint8_t)cap;
}

static int add_locked(struct tenreg *reg, struct tenreg__tenant *t, void *arg)
{
    const struct tenreg__host_arg *h = arg;
    struct tenreg__table *tab = table_of(reg, h->pattern);
    tenreg__ent e = tenreg__table_find(tab, arg_key(h), arg_key_len(h));
    if (e)
        return tenreg__ent_owner(e) == t ? TENREG_OK : TENREG_EEXIST;
    if (1u + t->n_aliases >= TENREG_HOSTS_MAX)
        return TENREG_ENOSPC;
    /* Every allocation before the first change. */
    struct tenreg__alias **aliases = NULL;
    unsigned cap = 0;
    struct tenreg__slots *slots = NULL;
    struct tenreg__alias *al = tenreg__alias_new(reg, h->text, h->len, h->pattern, t->rec);
    if (!al)
        return TENREG_ENOMEM;
    if (prepare_aliases(t, &aliases, &cap) != TENREG_OK ||
        tenreg__table_prepare(reg, tab, 1, &slots) != TENREG_OK) {
        if (aliases)
            tenreg__dealloc(reg, aliases, cap * sizeof(*aliases));
        tenreg__alias_drop(al);
        return TENREG_ENOMEM;
    }
    commit_aliases(t, aliases, cap);
    tenreg__table_commit(tab, slots);
    if (al->pattern)
        tenreg__count_pattern(reg, al->labels, +1);
    /* The release store of the slot publishes the alias whole. */
    tenreg__table_insert(tab, tenreg__ent_of_alias(al));
    t->aliases[t->n_aliases++] = al;
    return TENREG_OK;
}

static int remove_locked(struct tenreg *reg, struct tenreg__tenant *t, void *arg)
{
    const struct tenreg__host_arg *h = arg;
    if (!h->pattern && h->len == t->host_len && memcmp(h->text, tenreg__tenant_host(t), h->len) == 0)
        return TENREG_EINVAL; /* the agent URL's own host: re-register to move it */
    tenreg__ent e = tenreg__table_find(table_of(reg, h->pattern), arg_key(h), arg_key_len(h));
    if (!e || !tenreg__ent_is_alias(e) || tenreg__ent_owner(e) != t)
        return TENREG_ENOENT;
    struct tenreg__alias *al = tenreg__ent_alias(e);
    unsigned i = 0;
    while (t->aliases[i] != al)
        i++;
    memmove(&t->aliases[i], &t->aliases[i + 1], (t->n_aliases - i - 1) * sizeof(t->aliases[0]));
    t->n_aliases--;
    unlink_alias(reg, al);
    return TENREG_OK;
}

/* Runs @op on the current registration of @id, under write_lock, inside
 * the writer's read section: ENOENT when there is none. */
static int with_tenant(struct tenreg *reg, const char *id, size_t id_len, void *arg,
                       int (*op)(struct tenreg *reg, struct tenreg__tenant *t, void *arg))
{
    if (!tenreg__admin_begin(reg))
        return TENREG_EINVAL;
    tenreg__write_lock(reg);
    tenreg__rcu_enter();
    struct tenreg__record *rec = tenreg__find_id(reg, id, id_len);
    int rc = rec ? op(reg, tenreg__record_tenant(rec), arg) : TENREG_ENOENT;
    tenreg__rcu_exit();
    pthread_mutex_unlock(&reg->write_lock);
    tenreg__admin_end(reg);
    return rc;
}

TENREG_API int tenreg_add_host(tenreg_t *reg, const char *tenant_id, const char *host)
{
    size_t id_len;
    struct tenreg__host_arg h;
    if (!reg || tenreg__id_len(tenant_id, &id_len) || tenreg__parse_host(host, &h))
        return TENREG_EINVAL;
    return with_tenant(reg, tenant_id, id_len, &h, add_locked);
}

TENREG_API int tenreg_remove_host(tenreg_t *reg, const char *tenant_id, const char *host)
{
    size_t id_len;
    struct tenreg__host_arg h;
    if (!reg || tenreg__id_len(tenant_id, &id_len) || tenreg__parse_host(host, &h))
        return TENREG_EINVAL;
    return with_tenant(reg, tenant_id, id_len, &h, remove_locked);
}

/* tenreg_foreach_host's snapshot: the texts, NUL-separated, in order. */
struct host_snapshot {
    char *mem;
    size_t size, n;
};

static int snapshot_locked(struct tenreg *reg, struct tenreg__tenant *t, void *arg)
{
    struct host_snapshot *s = arg;
    size_t size = (size_t)t->host_len + 1;
    for (unsigned i = 0; i < t->n_aliases; i++)
        size += strlen(t->aliases[i]->text) + 1;
    char *p = s->mem = tenreg__alloc(reg, size);
    if (!p)
        return TENREG_ENOMEM;
    s->size = size;
    s->n = 1u + t->n_aliases;
    memcpy(p, tenreg__tenant_host(t), (size_t)t->host_len + 1);
    p += t->host_len + 1;
    for (unsigned i = 0; i < t->n_aliases; i++) {
        size_t len = strlen(t->aliases[i]->text) + 1;
        memcpy(p, t->aliases[i]->text, len);
        p += len;
    }
    return TENREG_OK;
}

TENREG_API int tenreg_foreach_host(const tenreg_t *creg, const char *tenant_id,
                                   int (*fn)(void *ctx, const char *host_or_pattern), void *ctx)
{
    size_t id_len;
    if (!creg || !fn || tenreg__id_len(tenant_id, &id_len))
        return TENREG_EINVAL;
    /* Const to the caller; the snapshot is accounted to it all the same. */
    struct tenreg *reg = (struct tenreg *)creg;
    struct host_snapshot s = {NULL, 0, 0};
    int rc = with_tenant(reg, tenant_id, id_len, &s, snapshot_locked);
    if (rc != TENREG_OK)
        return rc;
    /* fn runs on the snapshot, outside the lock and any read section. */
    const char *p = s.mem;
    for (size_t i = 0; i < s.n && rc == 0; i++) {
        rc = fn(ctx, p);
        p += strlen(p) + 1;
    }
    tenreg__dealloc(reg, s.mem, s.size);
    return rc;
}
