/*
 * fuzz_fast_rcu.c - linked into the libFuzzer and AFL++ binaries only
 * (never into the replay ctests, never into the library).
 *
 * liburcu's call_rcu thread (0.13) sleeps poll(NULL, 0, 10) after every
 * wake-up to batch callbacks, so each tenreg_free (rcu_barrier) of a
 * registry that retired anything costs >= 10 ms: the API-sequence targets
 * would run at ~90 inputs/s. This file replaces poll() for the process and
 * turns exactly that call (no fds, 10 ms) into a yield; every other poll
 * goes to the kernel unchanged. It changes when callbacks run, never
 * whether or in which order after a grace period, so the targets check the
 * same contract, only faster. (Sanitizer interceptors are weak aliases, so
 * this definition wins over ASan's/TSan's poll interceptor, which only
 * checks the fds array that this call does not have.)
 */
#define _GNU_SOURCE
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__attribute__((visibility("default"))) int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    if (fds == NULL && nfds == 0 && timeout == 10) {
        sched_yield();
        return 0;
    }
    struct timespec ts, *tsp = NULL;
    if (timeout >= 0) {
        ts.tv_sec = timeout / 1000;
        ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
        tsp = &ts;
    }
    return (int)syscall(SYS_ppoll, fds, nfds, tsp, NULL, (size_t)(_NSIG / 8));
}
