/*
 * tsan.h - private to tenreg: happens-before annotations for
 * ThreadSanitizer builds; empty otherwise.
 *
 * liburcu synchronizes with inline assembly, membarrier and its own
 * threads, none of which TSan can see. Without these edges every RCU
 * publication, call_rcu callback and rcu_barrier would be reported as a
 * race. The edges mirror the RCU guarantees exactly:
 *   - a writer's stores before publishing an object happen before a
 *     reader's loads of it (release before publish, acquire after lookup);
 *   - everything before call_rcu(head) happens before the callback;
 *   - every read section's accesses happen before any callback that runs
 *     after it ends (release on one token at every read_unlock, acquire on
 *     it in callbacks);
 *   - every callback happens before the rcu_barrier that waited for it.
 */
#ifndef TENREG_TSAN_H
#define TENREG_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define TENREG__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TENREG__TSAN 1
#endif
#endif

#ifdef TENREG__TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char tenreg__tsan_grace_period; /* read sections -> callbacks */
extern char tenreg__tsan_callbacks;    /* callbacks -> rcu_barrier */
#define TENREG__TSAN_ACQUIRE(p) __tsan_acquire((void *)(p))
#define TENREG__TSAN_RELEASE(p) __tsan_release((void *)(p))
#else
#define TENREG__TSAN_ACQUIRE(p) ((void)0)
#define TENREG__TSAN_RELEASE(p) ((void)0)
#endif

#endif
