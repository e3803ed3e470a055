/*
 * flavors.c - one binary per flavor (libtenreg and libtenreg-qsbr export
 * the same names, so they cannot share one): tenreg-bench, the memb
 * binary, runs tenreg-bench-qsbr from its own directory with the same
 * flags for --flavor both (the default) and execs it for --flavor qsbr.
 */
#include "run.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BENCH_QSBR
/* Text: its table goes straight to our stdout. JSON: its object is
 * captured, and main.c prints both as {"runs": [memb, qsbr]}. */
int flavors_run_qsbr(int argc, char **argv, char **captured)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);
    if (n <= 0)
        return -1;
    self[n] = 0;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s-qsbr", self);
    if (access(path, X_OK) != 0) {
        fprintf(stderr,
                "tenreg-bench: %s not found; build it (TENREG_QSBR=ON) or use --flavor "
                "memb\n",
                path);
        return -1;
    }
    char **av = calloc((size_t)argc + 3, sizeof(char *));
    int k = 0;
    av[k++] = path;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--flavor")) {
            i++;
            continue;
        }
        if (!strncmp(argv[i], "--flavor=", 9))
            continue;
        av[k++] = argv[i];
    }
    av[k++] = "--flavor";
    av[k++] = "qsbr";
    av[k] = NULL;
    int fd[2] = {-1, -1};
    if (captured && pipe(fd) != 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (captured) {
            dup2(fd[1], 1);
            close(fd[0]);
            close(fd[1]);
        }
        execv(path, av);
        _exit(127);
    }
    free(av);
    if (pid < 0)
        return -1;
    if (captured) {
        close(fd[1]);
        size_t cap = 1 << 16, len = 0;
        char *buf = malloc(cap);
        ssize_t r;
        while ((r = read(fd[0], buf + len, cap - len - 1)) > 0) {
            len += (size_t)r;
            if (cap - len < 4096)
                buf = realloc(buf, cap *= 2);
        }
        buf[len] = 0;
        close(fd[0]);
        *captured = buf;
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int flavors_exec_qsbr(char **argv)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);
    if (n > 0) {
        self[n] = 0;
        strcat(self, "-qsbr");
        argv[0] = self;
        execv(self, argv);
    }
    fprintf(stderr, "tenreg-bench: cannot run tenreg-bench-qsbr\n");
    return 1;
}
#endif
