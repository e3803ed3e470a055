/*
 * schedule.c - background rechecks (docs/design.md §8.4) and the clock
 * the retry and recheck times are measured with.
 *
 * Every registration has one entry in a min-heap of due times (its first
 * check at a random point of the first interval, later ones every
 * interval +- 10%, so a million tenants never check at once). Builder
 * threads run due checks when they have no build to run (builds first: a
 * resolver may be waiting for one); a check goes through the tenant's
 * turnstile like tenreg_recheck, but a builder never sleeps there: a check
 * whose turn has not come is parked, and whoever serves its ticket puts it
 * on the ready queue (turnstile.c), as for builds. An entry holds no
 * tenant reference (so it never keeps a replaced platform alive): the end
 * of a registration takes its entry out (tenreg__sched_forget, under
 * write_lock, before the record is retired), and a builder takes a
 * reference when it pops one, under the heap's lock, while the
 * registration is still current. One slow validator occupies one builder
 * thread for its duration; builds queued meanwhile wait for it only when
 * it was the last free builder (builder_threads = 1).
 *
 * Lock order: write_lock, then sched.lock (registration pushes its first
 * entry under write_lock); builders take sched.lock alone and never hold
 * it while running a check.
 */
#include "internal.h"

#include <stdlib.h>
#include <time.h>

#include "futex.h"

/* ---- the clock ----------------------------------------------------------- */

static _Atomic int64_t fake_now; /* 0: the real monotonic clock */

int64_t tenreg__now_ns(void)
{
    int64_t f = atomic_load_explicit(&fake_now, memory_order_relaxed);
    if (TENREG__UNLIKELY(f != 0))
        return f;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void tenreg__clock_fake(int64_t ns)
{
    atomic_store_explicit(&fake_now, ns, memory_order_relaxed);
}

/* ---- the heap ------------------------------------------------------------ */

static bool sched_on(const struct tenreg *reg)
{
    return reg->cfg.recheck_interval_ms != 0;
}

/* Each tenant knows where its entry is (t->sched_idx), so that the end
 * of its registration can take it out. */
static void place(struct tenreg__sched *s, size_t i, struct tenreg__sched_entry e)
{
    s->heap[i] = e;
    e.t->sched_idx = (uint32_t)i; /* the heap stays below UINT32_MAX: reserve */
}

static void swap(struct tenreg__sched *s, size_t i, size_t j)
{
    struct tenreg__sched_entry t = s->heap[i];
    place(s, i, s->heap[j]);
    place(s, j, t);
}

static void sift_up(struct tenreg__sched *s, size_t i)
{
    while (i > 0 && s->heap[(i - 1) / 2].due_ns > s->heap[i].due_ns) {
        swap(s, (i - 1) / 2, i);
        i = (i - 1) / 2;
    }
}

static void sift_down(struct tenreg__sched *s, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->n && s->heap[l].due_ns < s->heap[m].due_ns)
            m = l;
        if (r < s->n && s->heap[r].due_ns < s->heap[m].due_ns)
            m = r;
        if (m == i)
            return;
        swap(s, i, m);
        i = m;
    }
}

/* splitmix64: cheap, good enough to spread due times; under s->lock. */
static uint64_t next_random(struct tenreg__sched *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A uniform draw in [lo, hi) nanoseconds. */
static int64_t draw(struct tenreg__sched *s, int64_t lo, int64_t hi)
{
    uint64_t span = hi > lo ? (uint64_t)(hi - lo) : 1;
    return lo + (int64_t)(next_random(s) % span);
}

int tenreg__sched_init(struct tenreg *reg)
{
    struct tenreg__sched *s = &reg->sched;
    s->heap = NULL;
    s->n = s->cap = s->inflight = 0;
    s->rng = (uint64_t)tenreg__now_ns() ^ (uint64_t)(uintptr_t)reg;
    cds_wfcq_init(&s->ready_head, &s->ready_tail);
    return pthread_mutex_init(&s->lock, NULL) == 0 ? TENREG_OK : TENREG_ENOMEM;
}

/* Takes entry @i out of the heap. Under s->lock. */
static void take_out(struct tenreg__sched *s, size_t i)
{
    s->heap[i].t->sched_idx = UINT32_MAX;
    if (i != --s->n) {
        place(s, i, s->heap[s->n]);
        sift_down(s, i);
        sift_up(s, i);
    }
}

void tenreg__sched_forget(struct tenreg *reg, struct tenreg__tenant *t)
{
    if (!sched_on(reg))
        return;
    struct tenreg__sched *s = &reg->sched;
    pthread_mutex_lock(&s->lock);
    if (t->sched_idx != UINT32_MAX)
        take_out(s, t->sched_idx);
    pthread_mutex_unlock(&s->lock);
}

void tenreg__sched_drain_ready(struct tenreg *reg)
{
    struct tenreg__sched *s = &reg->sched;
    struct cds_wfcq_node *n = cds_wfcq_dequeue_blocking(&s->ready_head, &s->ready_tail);
    if (!n)
        return;
    struct tenreg__tenant *t = caa_container_of(n, struct tenreg__tenant, check_node);
    TENREG__TSAN_ACQUIRE(&t->check_node);
    /* Its turn came: give it up (which may queue what is parked behind). */
    tenreg__tenant_leave(t);
    tenreg__tenant_unref(t);
}

bool tenreg__sched_ready_empty(struct tenreg *reg)
{
    return cds_wfcq_empty(&reg->sched.ready_head, &reg->sched.ready_tail);
}

void tenreg__sched_destroy(struct tenreg *reg)
{
    struct tenreg__sched *s = &reg->sched;
    /* The builders have stopped and drained the ready queue; entries hold
     * no references. */
    if (s->heap)
        tenreg__dealloc(reg, s->heap, s->cap * sizeof(s->heap[0]));
    s->heap = NULL;
    s->n = s->cap = 0;
    cds_wfcq_destroy(&s->ready_head, &s->ready_tail);
    pthread_mutex_destroy(&s->lock);
}

int tenreg__sched_reserve(struct tenreg *reg)
{
    return tenreg__sched_reserve_n(reg, 1);
}

int tenreg__sched_reserve_n(struct tenreg *reg, size_t more)
{
    if (!sched_on(reg) || more == 0)
        return TENREG_OK;
    struct tenreg__sched *s = &reg->sched;
    int rc = TENREG_OK;
    pthread_mutex_lock(&s->lock);
    /* Room for every entry, the ones builders hold while they run a check
     * (they come back), and these. */
    size_t need = s->n + s->inflight + more;
    if (need >= UINT32_MAX) {
        rc = TENREG_ENOMEM; /* sched_idx is 32-bit: 4G registrations with checks */
    } else if (need > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        while (cap < need)
            cap *= 2;
        struct tenreg__sched_entry *h = tenreg__alloc(reg, cap * sizeof(*h));
        if (!h) {
            rc = TENREG_ENOMEM;
        } else {
            if (s->n)
                memcpy(h, s->heap, s->n * sizeof(*h));
            if (s->heap)
                tenreg__dealloc(reg, s->heap, s->cap * sizeof(*h));
            s->heap = h;
            s->cap = cap;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Wakes a builder when @due became the earliest entry: it may be asleep
 * until a later one. */
static void kick_builders(struct tenreg *reg)
{
    atomic_fetch_add(&reg->builder.kicks, 1);
    tenreg__futex_wake_one(&reg->builder.kicks);
}

/* Pushes @t due at @due (room reserved). Under s->lock. */
static void push(struct tenreg *reg, struct tenreg__tenant *t, int64_t due)
{
    struct tenreg__sched *s = &reg->sched;
    place(s, s->n, (struct tenreg__sched_entry){due, t});
    sift_up(s, s->n++);
    if (s->heap[0].t == t)
        kick_builders(reg);
}

void tenreg__sched_first(struct tenreg *reg, struct tenreg__tenant *t)
{
    if (!sched_on(reg))
        return;
    struct tenreg__sched *s = &reg->sched;
    int64_t interval = (int64_t)reg->cfg.recheck_interval_ms * 1000000;
    pthread_mutex_lock(&s->lock);
    int64_t now = tenreg__now_ns();
    push(reg, t, draw(s, now, now + interval));
    pthread_mutex_unlock(&s->lock);
}

/* After a background check: the next one, interval +- 10% from now,
 * unless the registration ended. Checked under s->lock: the end of a
 * registration sets `removed` before it takes the lock to forget the
 * entry, so either this sees it, or the entry pushed here is forgotten. */
static void reschedule(struct tenreg *reg, struct tenreg__tenant *t)
{
    struct tenreg__sched *s = &reg->sched;
    int64_t interval = (int64_t)reg->cfg.recheck_interval_ms * 1000000;
    pthread_mutex_lock(&s->lock);
    s->inflight--;
    if (!atomic_load(&t->removed)) {
        int64_t now = tenreg__now_ns();
        push(reg, t, draw(s, now + interval - interval / 10, now + interval + interval / 10 + 1));
    }
    pthread_mutex_unlock(&s->lock);
    tenreg__tenant_unref(t); /* the builder's, from the pop */
}

/* The check of @t in its turn (this thread holds the turnstile). */
static void check_in_turn(struct tenreg *reg, struct tenreg__tenant *t)
{
    struct tenreg__record *rec = tenreg__record_new(t, TENREG_PENDING, NULL, 0);
    /* No memory for the record this check would publish: skip this round
     * (the turn is left, the next check is scheduled). */
    if (rec)
        (void)tenreg__check_in_turn(reg, t, rec);
    tenreg__tenant_leave(t);
    reschedule(reg, t);
}

void tenreg__sched_requeue(struct tenreg *reg, struct tenreg__tenant *t)
{
    cds_wfcq_node_init(&t->check_node);
    TENREG__TSAN_RELEASE(&t->check_node);
    cds_wfcq_enqueue(&reg->sched.ready_head, &reg->sched.ready_tail, &t->check_node);
    kick_builders(reg);
}

int64_t tenreg__sched_work(struct tenreg *reg)
{
    if (!sched_on(reg))
        return -1;
    struct tenreg__sched *s = &reg->sched;
    /* A parked check whose turn came first: it already holds a ticket. */
    struct cds_wfcq_node *n = cds_wfcq_dequeue_blocking(&s->ready_head, &s->ready_tail);
    if (n) {
        struct tenreg__tenant *t = caa_container_of(n, struct tenreg__tenant, check_node);
        TENREG__TSAN_ACQUIRE(&t->check_node);
        check_in_turn(reg, t);
        return 0;
    }
    pthread_mutex_lock(&s->lock);
    if (s->n == 0) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    int64_t now = tenreg__now_ns(), due = s->heap[0].due_ns;
    if (due > now) {
        pthread_mutex_unlock(&s->lock);
        return due - now;
    }
    struct tenreg__tenant *t = s->heap[0].t;
    take_out(s, 0);
    s->inflight++;
    /* Still registered (its end would have taken the entry out under this
     * lock), so its current record holds a reference: this one keeps the
     * tenant while the check runs outside the lock. */
    tenreg__tenant_ref(t);
    pthread_mutex_unlock(&s->lock);

    /* Arrival: the ticket now, like tenreg_recheck's. */
    atomic_store_explicit(&t->check_ticket, tenreg__turnstile_ticket(&t->turn),
                          memory_order_relaxed);
    if (tenreg__check_turn(t))
        check_in_turn(reg, t);
    /* else parked: tenreg__tenant_leave of the ticket before it requeues it */
    return 0;
}

size_t tenreg__sched_due_times(struct tenreg *reg, int64_t *out, size_t cap)
{
    struct tenreg__sched *s = &reg->sched;
    pthread_mutex_lock(&s->lock);
    size_t n = s->n;
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = s->heap[i].due_ns;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void tenreg__sched_kick(struct tenreg *reg)
{
    kick_builders(reg);
}
