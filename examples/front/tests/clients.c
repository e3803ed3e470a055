/*
 * clients.c - the clients a shell test cannot be: many sockets at once,
 * every wait bounded.
 *
 *   front_clients idle PORT N SECONDS
 *       Opens N connections to 127.0.0.1:PORT and holds them, never
 *       sending. 0.5 s after the last connect it prints
 *       "ready opened=X closed=Y" (Y: connections the server has already
 *       closed, i.e. refused), holds them until SECONDS have passed since
 *       the start, prints "done closed=Z" and exits (closing them all).
 *   front_clients pipeline PORT N SECONDS HOST
 *       Opens N connections with small socket buffers and writes pipelined
 *       "GET / HTTP/1.1" requests for HOST on each, never reading a byte,
 *       until no connection takes more for 1.5 s (or 4 MiB each, enough to
 *       back up far more answers than the kernel buffers hold; or 10 s).
 *       Prints "ready sent=BYTES", holds them until SECONDS have passed
 *       since the start, and exits.
 *
 * Output is one line per event on stdout, flushed at once, so a test can
 * poll for "ready" while the connections are held. Exit status 0, or 2 for
 * usage, 3 when no connection could be opened at all.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Blocking connect bounded by SO_SNDTIMEO (Linux applies it to connect),
 * then non-blocking. Returns the fd or -1. */
static int open_conn(unsigned port, int bufsize)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (bufsize > 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
        /* A small MSS: the server's kernel sizes its send buffer from it
         * (2 x 10 segments at first), so the loopback's 64 KiB segments do
         * not let the kernel hold megabytes of answers per connection and
         * the server's own buffering is what the test sees. */
        int mss = 536;
        setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Closes (and sets to -1) every fd whose peer has closed; returns how many. */
static size_t reap_closed(int *fds, size_t n)
{
    size_t closed = 0;
    for (size_t i = 0; i < n; i++) {
        if (fds[i] < 0)
            continue;
        char c;
        ssize_t r = recv(fds[i], &c, 1, MSG_DONTWAIT | MSG_PEEK);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            close(fds[i]);
            fds[i] = -1;
            closed++;
        }
    }
    return closed;
}

static void close_all(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
}

int main(int argc, char **argv)
{
    if (argc < 5 || (strcmp(argv[1], "idle") != 0 && strcmp(argv[1], "pipeline") != 0) ||
        (strcmp(argv[1], "pipeline") == 0 && argc < 6)) {
        fprintf(stderr, "usage: %s idle PORT N SECONDS | pipeline PORT N SECONDS HOST\n", argv[0]);
        return 2;
    }
    bool pipeline = strcmp(argv[1], "pipeline") == 0;
    unsigned port = (unsigned)strtoul(argv[2], NULL, 10);
    size_t n = strtoul(argv[3], NULL, 10);
    double secs = strtod(argv[4], NULL);
    double t0 = now();
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Our own descriptor limit must not be the one under test. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int *fds = calloc(n ? n : 1, sizeof *fds);
    if (fds == NULL)
        return 3;
    size_t opened = 0;
    for (size_t i = 0; i < n; i++) {
        fds[i] = open_conn(port, pipeline ? 16384 : 0);
        opened += fds[i] >= 0;
    }
    if (opened == 0) {
        puts("ready opened=0 closed=0");
        free(fds);
        return 3;
    }

    if (!pipeline) {
        sleep_s(0.5);
        size_t closed = reap_closed(fds, n);
        printf("ready opened=%zu closed=%zu\n", opened, closed);
        while (now() - t0 < secs) {
            sleep_s(0.1);
            closed += reap_closed(fds, n);
        }
        printf("done closed=%zu\n", closed);
        close_all(fds, n);
        return 0;
    }

    char chunk[16384];
    size_t req_len = (size_t)snprintf(chunk, sizeof chunk, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n",
                                      argv[5]);
    size_t chunk_len = req_len;
    while (chunk_len + req_len <= sizeof chunk) {
        memcpy(chunk + chunk_len, chunk, req_len);
        chunk_len += req_len;
    }
    size_t *off = calloc(n ? n : 1, sizeof *off);         /* position in the chunk */
    size_t *sent = calloc(n ? n : 1, sizeof *sent);
    if (off == NULL || sent == NULL) {
        free(off);
        free(sent);
        close_all(fds, n);
        return 3;
    }
    size_t total = 0;
    double last_progress = now();
    while (now() - last_progress < 1.5 && now() - t0 < 10) {
        bool progress = false;
        for (size_t i = 0; i < n; i++) {
            if (fds[i] < 0 || sent[i] >= (4u << 20))
                continue;
            ssize_t w = send(fds[i], chunk + off[i], chunk_len - off[i],
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                off[i] = (off[i] + (size_t)w) % chunk_len;
                sent[i] += (size_t)w;
                total += (size_t)w;
                progress = true;
            } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                close(fds[i]);
                fds[i] = -1;
            }
        }
        if (progress)
            last_progress = now();
        else
            sleep_s(0.01);
    }
    printf("ready sent=%zu\n", total);
    sleep_s(secs - (now() - t0));
    free(off);
    free(sent);
    close_all(fds, n);
    return 0;
}
