/*
 * replay_main.c - main() for the fuzz targets outside libFuzzer.
 *
 * Replays every file named on the command line, and every regular file in
 * every directory named there (not recursively), through
 * LLVMFuzzerTestOneInput. With no argument, or with "-", it reads one input
 * from stdin. Used by:
 *   - the <target>_replay ctests (gcc, sanitizers from TENREG_SANITIZE),
 *     which replay fuzz/corpus/<target>/;
 *   - AFL++ (afl-clang-fast): `afl-fuzz ... -- ./fuzz_x_afl` reads stdin, or
 *     `@@` passes a file. Under afl-clang-fast the stdin path runs in
 *     AFL++'s persistent mode (__AFL_LOOP) with a shared-memory test case.
 * A failed check abort()s inside the target, so a bad input stops the
 * replay with a non-zero status and its file name on stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_helpers.h"

#define REPLAY_MAX_INPUT (1u << 20)

static int run_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return 1;
    }
    uint8_t *buf = malloc(REPLAY_MAX_INPUT);
    if (!buf) {
        fclose(f);
        fprintf(stderr, "replay: out of memory\n");
        return 1;
    }
    size_t n = fread(buf, 1, REPLAY_MAX_INPUT, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        fprintf(stderr, "replay: %s: read error\n", path);
        return 1;
    }
    /* Exact-size copy, so ASan sees a read past the end of the input. */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, n);
    free(buf);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    (*count)++;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof(*names));
            if (!grown) {
                rc = 1;
                break;
            }
            names = grown;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (!names[n]) {
            rc = 1;
            break;
        }
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    /* Sorted, so a failing replay is reproducible file by file. */
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            rc = run_file(names[i], count);
        free(names[i]);
    }
    free(names);
    return rc;
}

#ifdef __AFL_FUZZ_TESTCASE_LEN
__AFL_FUZZ_INIT();
#endif

static int run_stdin(size_t *count)
{
#ifdef __AFL_FUZZ_TESTCASE_LEN
    /* AFL++ persistent mode: the test case arrives in shared memory. */
    __AFL_INIT();
    unsigned char *afl_buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(10000)) {
        size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
        uint8_t *exact = malloc(len ? len : 1);
        if (!exact)
            return 1;
        memcpy(exact, afl_buf, len);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        (*count)++;
    }
    return 0;
#else
    uint8_t *buf = malloc(REPLAY_MAX_INPUT);
    if (!buf)
        return 1;
    size_t n = fread(buf, 1, REPLAY_MAX_INPUT, stdin);
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    (*count)++;
    return 0;
#endif
}

/* Default visibility: AFL++'s runtime in an instrumented libtenreg.so
 * refers to main, and the project builds with -fvisibility=hidden. */
__attribute__((visibility("default"))) int main(int argc, char **argv)
{
    size_t count = 0;
    int rc = 0;
    if (argc < 2)
        return run_stdin(&count);
    for (int i = 1; i < argc && rc == 0; i++) {
        struct stat st;
        if (strcmp(argv[i], "-") == 0)
            rc = run_stdin(&count);
        else if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
        } else if (S_ISDIR(st.st_mode))
            rc = run_dir(argv[i], &count);
        else
            rc = run_file(argv[i], &count);
    }
    if (rc == 0 && count == 0) {
        /* An empty corpus proves nothing: treat it as a setup error. */
        fprintf(stderr, "replay: no input replayed\n");
        return 1;
    }
    if (rc == 0)
        fprintf(stderr, "replay: %zu inputs OK\n", count);
    return rc;
}
