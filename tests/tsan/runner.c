/*
 * runner.c - main() of the TSan test executables (see criterion/criterion.h
 * here for why). Runs every registered test in a forked child with its
 * suite's init/fini and a timeout, and prints Criterion's synthesis line so
 * that a run with no test cannot pass unnoticed.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criterion/criterion.h"

static struct tt_case *cases;
static struct tt_suite *suites;
static bool expect_failed;

void tt_shim_register_case(struct tt_case *c)
{
    c->next = cases;
    cases = c;
}

void tt_shim_register_suite(struct tt_suite *s)
{
    s->next = suites;
    suites = s;
}

void tt_shim_fail(bool fatal, const char *file, int line, const char *expr, const char *fmt, ...)
{
    fprintf(stderr, "[----] %s:%d: %s failed: %s", file, line, fatal ? "Assertion" : "Expectation",
            expr);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputs(" -- ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    fflush(stderr);
    if (fatal)
        _exit(1);
    expect_failed = true;
}

void tt_shim_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("[----] ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

static const struct tt_suite *suite_of(const struct tt_case *c)
{
    for (const struct tt_suite *s = suites; s; s = s->next)
        if (!strcmp(s->name, c->suite))
            return s;
    return NULL;
}

static int run_one(const struct tt_case *c)
{
    const struct tt_suite *s = suite_of(c);
    void (*init)(void) = c->init ? c->init : (s ? s->init : NULL);
    void (*fini)(void) = c->fini ? c->fini : (s ? s->fini : NULL);
    double timeout = c->timeout > 0 ? c->timeout : (s && s->timeout > 0 ? s->timeout : 0);
    /* TSan runs several times slower than a plain build. */
    unsigned limit = timeout > 0 ? (unsigned)(timeout * 5) : 0;

    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        if (limit)
            alarm(limit);
        if (init)
            init();
        c->fn();
        if (fini)
            fini();
        fflush(stdout);
        _exit(expect_failed ? 1 : 0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (c->signal) { /* Criterion's .signal: it must die of exactly that */
        if (WIFSIGNALED(status) && WTERMSIG(status) == c->signal)
            return 0;
        if (WIFSIGNALED(status))
            fprintf(stderr, "[----] %s::%s: killed by signal %d, expected %d\n", c->suite,
                    c->name, WTERMSIG(status), c->signal);
        else
            fprintf(stderr, "[----] %s::%s: exited with %d, expected signal %d\n", c->suite,
                    c->name, WIFEXITED(status) ? WEXITSTATUS(status) : -1, c->signal);
        return 1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFSIGNALED(status))
        fprintf(stderr, "[----] %s::%s: killed by signal %d%s\n", c->suite, c->name,
                WTERMSIG(status), WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
    return 1;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int tested = 0, failed = 0;
    /* TT_FILTER=substring runs only the tests whose suite::name contains it. */
    const char *filter = getenv("TT_FILTER");
    for (const struct tt_case *c = cases; c; c = c->next) {
        char full[256];
        snprintf(full, sizeof(full), "%s::%s", c->suite, c->name);
        if (filter && !strstr(full, filter))
            continue;
        int rc = run_one(c);
        printf("[%s] %s::%s\n", rc ? "FAIL" : "PASS", c->suite, c->name);
        tested++;
        failed += rc != 0;
    }
    printf("[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: 0\n", tested,
           tested - failed, failed);
    return failed || tested == 0 ? 1 : 0;
}
