/*
 * events.c - health-change events (docs/design.md §8.3), delivered by one
 * registry-owned thread.
 *
 * Every change an event reports happens under write_lock, and the event is
 * queued there, at the change (a wait-free enqueue of a node allocated on
 * the spot): so the queue's order is the order in which the changes became
 * visible to readers. The event thread takes nodes off the queue and calls
 * on_event with no lock held and outside any read section, so the callback
 * may call tenreg (but not tenreg_free) without deadlock, and what it
 * changes is queued behind what it is being told. A node that cannot be
 * allocated is counted as dropped; the change stands.
 */
#include "internal.h"

#include <string.h>

#include "futex.h"

struct event_node {
    struct cds_wfcq_node node;
    int64_t at_ns;
    uint8_t kind, from, to, verdict;
    uint16_t id_len, reason_len;
    char strs[]; /* id NUL, reason NUL */
};

static size_t node_size(size_t id_len, size_t reason_len)
{
    return sizeof(struct event_node) + id_len + 1 + reason_len + 1;
}

void tenreg__event(struct tenreg *reg, tenreg_event_kind kind, const struct tenreg__tenant *t,
                   int from, int to, tenreg_verdict verdict, const char *reason)
{
    if (!reg->cfg.on_event)
        return;
    size_t rlen = reason ? strlen(reason) : 0;
    struct event_node *e = tenreg__alloc(reg, node_size(t->id_len, rlen));
    if (!e) {
        reg->counts.events_dropped++;
        return;
    }
    e->at_ns = tenreg__realtime_ns();
    e->kind = (uint8_t)kind;
    e->from = (uint8_t)from;
    e->to = (uint8_t)to;
    e->verdict = (uint8_t)verdict;
    e->id_len = t->id_len;
    e->reason_len = (uint16_t)rlen;
    memcpy(e->strs, tenreg__tenant_id(t), t->id_len + 1u);
    if (rlen)
        memcpy(e->strs + t->id_len + 1, reason, rlen);
    e->strs[t->id_len + 1 + rlen] = '\0';
    reg->counts.events++;
    cds_wfcq_node_init(&e->node);
    TENREG__TSAN_RELEASE(e); /* the queue is liburcu's: TSan cannot see it */
    cds_wfcq_enqueue(&reg->events.head, &reg->events.tail, &e->node);
    /* After the enqueue: the thread reads kicks before it looks at the
     * queue, so it either sees the node or a changed word. */
    atomic_fetch_add(&reg->events.kicks, 1);
    tenreg__futex_wake_one(&reg->events.kicks);
}

static void deliver(struct tenreg *reg, struct event_node *e)
{
    tenreg_event ev = {
        .kind = (tenreg_event_kind)e->kind,
        .tenant_id = e->strs,
        .from = (tenreg_health)e->from,
        .to = (tenreg_health)e->to,
        .verdict = (tenreg_verdict)e->verdict,
        .reason = e->strs + e->id_len + 1,
        .at_ns = e->at_ns,
    };
    reg->cfg.on_event(reg->cfg.on_event_ctx, &ev);
}

static void *events_main(void *arg)
{
    struct tenreg *reg = arg;
    struct tenreg__events *q = &reg->events;
    for (;;) {
        uint32_t kicks = atomic_load(&q->kicks);
        struct cds_wfcq_node *n = cds_wfcq_dequeue_blocking(&q->head, &q->tail);
        if (n) {
            struct event_node *e = caa_container_of(n, struct event_node, node);
            TENREG__TSAN_ACQUIRE(e);
            deliver(reg, e);
            tenreg__dealloc(reg, e, node_size(e->id_len, e->reason_len));
            continue;
        }
        /* Only once the queue is empty: tenreg_free delivers everything
         * queued before it stops the thread. */
        if (atomic_load(&q->stopping))
            break;
        tenreg__futex_wait(&q->kicks, kicks);
    }
    /* A callback's tenreg calls may have registered this thread. */
    tenreg__rcu_thread_stop();
    return NULL;
}

int tenreg__events_start(struct tenreg *reg)
{
    struct tenreg__events *q = &reg->events;
    cds_wfcq_init(&q->head, &q->tail);
    atomic_init(&q->kicks, 0);
    atomic_init(&q->stopping, false);
    q->running = false;
    if (!reg->cfg.on_event)
        return TENREG_OK;
    if (pthread_create(&q->thread, NULL, events_main, reg) != 0)
        return TENREG_ENOMEM;
    q->running = true;
    return TENREG_OK;
}

void tenreg__events_stop(struct tenreg *reg)
{
    struct tenreg__events *q = &reg->events;
    if (q->running) {
        atomic_store(&q->stopping, true);
        atomic_fetch_add(&q->kicks, 1);
        tenreg__futex_wake_all(&q->kicks);
        pthread_join(q->thread, NULL);
        q->running = false;
    }
    /* Nothing is queued without a thread (and none after it stopped, as
     * teardown announces nothing); free what a bug would have left. */
    struct cds_wfcq_node *n;
    while ((n = cds_wfcq_dequeue_blocking(&q->head, &q->tail)) != NULL) {
        struct event_node *e = caa_container_of(n, struct event_node, node);
        tenreg__dealloc(reg, e, node_size(e->id_len, e->reason_len));
    }
    cds_wfcq_destroy(&q->head, &q->tail);
}
