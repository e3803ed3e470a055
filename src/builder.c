/*
 * builder.c - the registry's builder threads and the lazy build itself.
 *
 * Resolvers never run a factory: the one that wins a tenant's once-cell
 * queues the build here (a wait-free enqueue and a futex wake), so a bidder
 * thread using TENREG_NOWAIT never runs adopter code and never sleeps.
 * Builds run outside any read section, so a slow factory never holds up
 * reclamation.
 */
#include "internal.h"

#include <stdlib.h>

#include "futex.h"

static bool claim(struct tenreg__tenant *t)
{
    uint32_t s = atomic_load_explicit(&t->cell, memory_order_acquire);
    while (s == TENREG__CELL_EMPTY || s == TENREG__CELL_QUEUED) {
        if (atomic_compare_exchange_weak_explicit(&t->cell, &s, TENREG__CELL_BUILDING,
                                                  memory_order_acq_rel, memory_order_acquire))
            return true;
    }
    return false;
}

/*
 * After a failed build (under write_lock): with build_retry_ms, the next
 * attempt may start build_retry_ms x 2^(failures - 1) from now, at most
 * TENREG_BUILD_RETRY_MAX_MS, and needs a record to publish, allocated here
 * so that a build never fails for memory after its factory ran. Without
 * the setting, or without that memory, the failure is final (the seed's
 * behaviour; register_lazy again recovers).
 */
static void arm_retry(struct tenreg *reg, struct tenreg__tenant *t)
{
    struct tenreg__build *b = t->build;
    uint64_t base = reg->cfg.build_retry_ms;
    if (base && !b->rec)
        b->rec = tenreg__record_new(t, TENREG_PENDING, NULL, 0);
    if (!base || !b->rec) {
        b->factory = NULL; /* never called again */
        atomic_store_explicit(&b->retry_at_ns, 0, memory_order_relaxed);
        return;
    }
    unsigned shift = t->failures > 0 ? t->failures - 1 : 0;
    uint64_t ms = shift >= 32 || (base << shift) > TENREG_BUILD_RETRY_MAX_MS
                      ? (base > TENREG_BUILD_RETRY_MAX_MS ? base : TENREG_BUILD_RETRY_MAX_MS)
                      : base << shift;
    atomic_store_explicit(&b->retry_at_ns, tenreg__now_ns() + (int64_t)ms * 1000000,
                          memory_order_relaxed);
}

/* Runs the build of @t in its turn (this thread holds @t's turnstile) and
 * leaves the turnstile. Outside any read section, offline in QSBR. */
static void build_in_turn(struct tenreg__tenant *t)
{
    struct tenreg *reg = t->reg;
    if (!claim(t)) {
        tenreg__tenant_leave(t);
        return;
    }

    void *platform = NULL;
    uint32_t outcome = TENREG__CELL_STALE;
    tenreg_verdict verdict = TENREG_UNCHECKED;
    bool validated = false;
    struct tenreg__reason_capture said;
    tenreg__reason_begin(&said);
    /* An unregister right after the claim makes the cell STALE: nobody
     * wants the platform any more, so the factory is not called. */
    if (atomic_load_explicit(&t->cell, memory_order_acquire) == TENREG__CELL_BUILDING) {
        int rc = t->build->factory(t->build->factory_ctx, tenreg__tenant_id(t), &platform);
        if (rc < 0 || !platform) {
            platform = NULL; /* a failed factory's output is not ours to free */
            outcome = TENREG__CELL_FAILED_FACTORY;
            verdict = TENREG_BUILD_FAILED;
        } else {
            verdict = tenreg__verdict_of(tenreg__validate(reg, t));
            validated = true;
            outcome = verdict == TENREG_VALID ? TENREG__CELL_READY : TENREG__CELL_FAILED_VALIDATOR;
        }
    }
    tenreg__reason_end(&said);
    char *reason = tenreg__reason_keep(reg, &said, verdict);
    if (outcome == TENREG__CELL_FAILED_VALIDATOR) {
        /* Freed before the failure is published, so whoever learns of the
         * failure also knows the platform is gone. No reader saw it: no
         * grace period is needed. */
        tenreg__platform_free(reg, platform);
        platform = NULL;
    }

    void *discard = platform;
    tenreg__write_lock(reg); /* waits out a batch commit */
    tenreg__rcu_enter();
    if (outcome != TENREG__CELL_STALE) {
        reg->counts.builds++;
        reg->counts.builds_failed += outcome != TENREG__CELL_READY;
        reg->counts.checks += validated;
        reg->counts.checks_failed += validated && verdict != TENREG_VALID;
    }
    if (outcome != TENREG__CELL_STALE && !atomic_load(&t->removed)) {
        struct tenreg__record *rec = t->build->rec;
        tenreg_health from = (tenreg_health)t->rec->health;
        t->build->rec = NULL;
        if (outcome == TENREG__CELL_READY) {
            rec->health = TENREG_HEALTHY;
            rec->platform = platform;
            t->platform = platform;
            discard = NULL;
            reg->counts.lazy_unbuilt--;
        } else {
            rec->health = TENREG_DISABLED; /* a failed build, whatever the rule set */
            rec->flags = TENREG__REC_BUILD_FAILED;
        }
        tenreg__tenant_conclude(t, verdict, reason);
        reason = NULL;
        if (outcome != TENREG__CELL_READY)
            arm_retry(reg, t);
        tenreg__tenant_publish(t, rec);
        /* Under write_lock, so unregister cannot slip between publish and
         * the cell's final state. */
        tenreg__cell_move(&t->cell, TENREG__CELL_BUILDING, outcome);
        tenreg_health to = (tenreg_health)rec->health;
        tenreg__event(reg, outcome == TENREG__CELL_READY ? TENREG_EV_BUILT : TENREG_EV_BUILD_FAILED,
                      t, from, to, verdict, t->reason);
        if (from != to)
            tenreg__event(reg, TENREG_EV_HEALTH, t, from, to, verdict, t->reason);
    } else {
        /* The registration ended (its end made the cell STALE, which this
         * repeats in case a build slipped in after it): waiters wake. */
        tenreg__cell_make_stale(&t->cell);
    }
    tenreg__rcu_exit();
    pthread_mutex_unlock(&reg->write_lock);
    tenreg__reason_free(reg, reason); /* NULL when kept */
    tenreg__tenant_leave(t);
    /* Built for a registration that is gone: never published. */
    tenreg__platform_free(reg, discard);
}

void tenreg__build_inline(struct tenreg__tenant *t)
{
    bool online = tenreg__rcu_offline_begin();
    tenreg__tenant_enter(t);
    build_in_turn(t);
    tenreg__rcu_offline_end(online);
}

/* A build taken off the queue. Returns false when it was parked (its queue
 * reference travels with it), true when it is done with. */
static bool run_queued(struct tenreg *reg, struct tenreg__tenant *t)
{
    if (!tenreg__build_turn(t))
        return false;
    if (atomic_load(&reg->builder.stopping)) {
        /* tenreg_free: builds that have not begun are dropped. */
        tenreg__cell_move(&t->cell, TENREG__CELL_QUEUED, TENREG__CELL_STALE);
        tenreg__tenant_leave(t);
        return true;
    }
    build_in_turn(t);
    return true;
}

/* The tenant whose build @n queued. The queue is liburcu's, whose ordering
 * TSan cannot see: the edge is annotated on the build state, which the
 * node is part of, before its back pointer is read. */
static struct tenreg__tenant *queued_tenant(struct cds_wfcq_node *n)
{
    struct tenreg__build *b = caa_container_of(n, struct tenreg__build, node);
    TENREG__TSAN_ACQUIRE(b);
    return b->tenant;
}

static void *builder_main(void *arg)
{
    struct tenreg *reg = arg;
    struct tenreg__builder *b = &reg->builder;

    tenreg__rcu_ensure_registered();
    for (;;) {
        /* Read the kick counter before looking at the queue: a submit that
         * lands after the look changes it, so the wait below returns. */
        uint32_t kicks = atomic_load(&b->kicks);
        struct cds_wfcq_node *n = cds_wfcq_dequeue_blocking(&b->head, &b->tail);
        if (n) {
            struct tenreg__tenant *t = queued_tenant(n);
            if (run_queued(reg, t))
                tenreg__tenant_unref(t);
            continue;
        }
        if (atomic_load(&b->stopping))
            break;
        /* No build waiting: a background check, if one is due (builds
         * always go first, a resolver may be waiting for one). */
        int64_t wait_ns = tenreg__sched_work(reg);
        if (wait_ns == 0)
            continue;
        if (wait_ns > 0)
            tenreg__futex_wait_ns(&b->kicks, kicks, wait_ns);
        else
            tenreg__futex_wait(&b->kicks, kicks);
    }
    tenreg__rcu_thread_stop();
    return NULL;
}

int tenreg__builder_start(struct tenreg *reg, unsigned nthreads)
{
    struct tenreg__builder *b = &reg->builder;
    cds_wfcq_init(&b->head, &b->tail);
    atomic_init(&b->kicks, 0);
    atomic_init(&b->stopping, false);
    b->nthreads = 0;
    b->capacity = nthreads;
    b->threads = tenreg__alloc(reg, sizeof(pthread_t) * nthreads);
    if (!b->threads)
        return TENREG_ENOMEM;
    for (unsigned i = 0; i < nthreads; i++) {
        if (pthread_create(&b->threads[i], NULL, builder_main, reg) != 0) {
            tenreg__builder_stop(reg);
            return TENREG_ENOMEM;
        }
        b->nthreads++;
    }
    return TENREG_OK;
}

void tenreg__builder_stop(struct tenreg *reg)
{
    struct tenreg__builder *b = &reg->builder;
    atomic_store(&b->stopping, true);
    atomic_fetch_add(&b->kicks, 1);
    tenreg__futex_wake_all(&b->kicks);
    for (unsigned i = 0; i < b->nthreads; i++)
        pthread_join(b->threads[i], NULL);
    /* No thread left. What is still queued holds turnstile tickets: a
     * background check whose turn came (the ready queue), builds queued or
     * requeued when a turn came, and, parked behind them, checks and builds
     * that giving up those turns queues again. Give every turn up in order
     * until both queues are empty, so that nothing parked is left holding
     * its reference (admin calls are over: the gate is closed). */
    for (;;) {
        struct cds_wfcq_node *n = cds_wfcq_dequeue_blocking(&b->head, &b->tail);
        if (n) {
            struct tenreg__tenant *t = queued_tenant(n);
            if (!tenreg__build_turn(t))
                continue; /* parked: queued again when its turn comes */
            tenreg__cell_move(&t->cell, TENREG__CELL_QUEUED, TENREG__CELL_STALE);
            tenreg__tenant_leave(t);
            tenreg__tenant_unref(t);
            continue;
        }
        if (tenreg__sched_ready_empty(reg))
            break;
        tenreg__sched_drain_ready(reg);
    }
    tenreg__dealloc(reg, b->threads, sizeof(pthread_t) * b->capacity);
    b->threads = NULL;
    b->nthreads = 0;
    cds_wfcq_destroy(&b->head, &b->tail);
}

static void enqueue(struct tenreg__builder *b, struct tenreg__tenant *t)
{
    cds_wfcq_node_init(&t->build->node);
    TENREG__TSAN_RELEASE(t->build); /* paired in queued_tenant */
    cds_wfcq_enqueue(&b->head, &b->tail, &t->build->node);
    atomic_fetch_add(&b->kicks, 1);
    tenreg__futex_wake_one(&b->kicks);
}

void tenreg__builder_submit(struct tenreg *reg, struct tenreg__tenant *t)
{
    tenreg__tenant_ref(t);
    /* The ticket is taken now, at arrival: a recheck that arrives later
     * runs after this build, one that arrived earlier before it. */
    atomic_store_explicit(&t->build->ticket, tenreg__turnstile_ticket(&t->turn),
                          memory_order_relaxed);
    enqueue(&reg->builder, t);
}

void tenreg__builder_requeue(struct tenreg *reg, struct tenreg__tenant *t)
{
    enqueue(&reg->builder, t);
}
