/*
 * A Criterion-compatible subset for ThreadSanitizer builds.
 *
 * Criterion cannot run under TSan: its BoxFort arena must map memory above
 * 32 TiB, where TSan keeps its shadow, and it aborts with "Could not
 * initialize inheritable arena" (Snaipe/Criterion#274, open). So TSan builds
 * compile the very same tests/test_*.c against this header and
 * tests/tsan/runner.c, which forks each test like Criterion does. Only the
 * parts of Criterion's API that the suites use are provided.
 */
#ifndef TENREG_TSAN_CRITERION_SHIM_H
#define TENREG_TSAN_CRITERION_SHIM_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct tt_case {
    const char *suite;
    const char *name;
    void (*fn)(void);
    void (*init)(void);
    void (*fini)(void);
    double timeout;
    int signal;        /* the test passes only if it dies of this signal */
    struct tt_case *next;
};

struct tt_suite {
    const char *name;
    void (*init)(void);
    void (*fini)(void);
    double timeout;
    struct tt_suite *next;
};

void tt_shim_register_case(struct tt_case *c);
void tt_shim_register_suite(struct tt_suite *s);
/* Reports a failed check; @fatal ends the test (the process) at once. */
void tt_shim_fail(bool fatal, const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void tt_shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define Test(s_, n_, ...)                                                           \
    static void s_##_##n_##_impl(void);                                             \
    __attribute__((constructor)) static void s_##_##n_##_register(void)             \
    {                                                                               \
        static struct tt_case c = {.suite = #s_, .name = #n_, .fn = s_##_##n_##_impl, \
                                   __VA_ARGS__};                                    \
        tt_shim_register_case(&c);                                                  \
    }                                                                               \
    static void s_##_##n_##_impl(void)

#define TestSuite(s_, ...)                                                          \
    __attribute__((constructor)) static void s_##_suite_register(void)              \
    {                                                                               \
        static struct tt_suite s = {.name = #s_, __VA_ARGS__};                      \
        tt_shim_register_suite(&s);                                                 \
    }

#define TT_CHECK_(fatal, cond, expr, ...)                                           \
    do {                                                                            \
        if (!(cond))                                                                \
            tt_shim_fail(fatal, __FILE__, __LINE__, expr, "" __VA_ARGS__);          \
    } while (0)

#define cr_assert(c, ...) TT_CHECK_(true, (c), #c, __VA_ARGS__)
#define cr_assert_fail(...) TT_CHECK_(true, 0, "cr_assert_fail", __VA_ARGS__)
#define cr_assert_eq(a, b, ...) TT_CHECK_(true, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) TT_CHECK_(true, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) TT_CHECK_(true, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) TT_CHECK_(true, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) TT_CHECK_(true, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) TT_CHECK_(true, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_null(a, ...) TT_CHECK_(true, (a) == NULL, #a " == NULL", __VA_ARGS__)
#define cr_assert_not_null(a, ...) TT_CHECK_(true, (a) != NULL, #a " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) \
    TT_CHECK_(true, strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) \
    TT_CHECK_(true, strcmp((a), (b)) != 0, #a " differs from " #b, __VA_ARGS__)

#define cr_expect(c, ...) TT_CHECK_(false, (c), #c, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) TT_CHECK_(false, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) TT_CHECK_(false, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) TT_CHECK_(false, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) TT_CHECK_(false, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) TT_CHECK_(false, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) TT_CHECK_(false, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_expect_null(a, ...) TT_CHECK_(false, (a) == NULL, #a " == NULL", __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) \
    TT_CHECK_(false, strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)

#define cr_log_info(...) tt_shim_log(__VA_ARGS__)

#endif
