/*
 * record.c - the immutable objects readers see (struct tenreg__record).
 *
 * A record is never modified once a reader can reach it: a change of health
 * or platform publishes a new record, and the old one is freed by call_rcu
 * after every reader that could hold it has finished.
 */
#include "internal.h"

static size_t record_size(size_t host_len, size_t id_len)
{
    return tenreg__record_tail_offset(host_len, id_len) + sizeof(struct tenreg__record_tail);
}

struct tenreg__record *tenreg__record_new(struct tenreg__tenant *t, tenreg_health health,
                                          void *platform, unsigned flags)
{
    struct tenreg__record *rec = tenreg__alloc(t->reg, record_size(t->host_len, t->id_len));
    if (!rec)
        return NULL;
    rec->platform = platform;
    rec->health = (uint8_t)health;
    rec->flags = (uint8_t)flags;
    rec->host_len = t->host_len;
    rec->id_len = t->id_len;
    /* The tenant's strings are host NUL id NUL url NUL: copy the first two. */
    memcpy(rec->strs, t->strs, (size_t)t->host_len + 1 + t->id_len + 1);
    struct tenreg__record_tail *tail = tenreg__record_tail(rec);
    tail->tenant = t;
    tail->record = rec;
    return rec;
}

void tenreg__record_drop(struct tenreg__record *rec)
{
    if (rec)
        tenreg__dealloc(tenreg__record_tenant(rec)->reg, rec,
                        record_size(rec->host_len, rec->id_len));
}

static void record_free_cb(struct rcu_head *head)
{
    tenreg__rcu_cb_begin(head);
    struct tenreg__record_tail *tail = caa_container_of(head, struct tenreg__record_tail, rcu);
    struct tenreg__tenant *t = tail->tenant;
    struct tenreg__record *rec = tail->record;
    TENREG__DEFERRED(t->reg, -1);
    tenreg__record_drop(rec);
    tenreg__tenant_unref(t); /* may free the platform: no reader can see it now */
    tenreg__rcu_cb_end();
}

void tenreg__record_retire(struct tenreg__record *rec)
{
    TENREG__DEFERRED(tenreg__record_tenant(rec)->reg, 1);
    tenreg__call_rcu(&tenreg__record_tail(rec)->rcu, record_free_cb);
}
