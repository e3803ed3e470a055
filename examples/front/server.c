/* server.c - epoll worker threads (see server.h). */
#define _GNU_SOURCE
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP (HTTP_MAX_HEAD + 4096)  /* grows only for a body that needs it */
#define OUT_HIGH (256 * 1024)     /* stop parsing pipelined input above this */
#define MAX_CONNS 16384           /* per worker; beyond, new connections are closed */
#define LINGER_TIMEOUT_S 2        /* draining a closed connection's unread input */

struct conn {
    int fd;
    size_t index;               /* in worker.conns */
    char *in;
    size_t in_len, in_cap;
    struct buf out;
    size_t out_off;
    uint32_t events;            /* current epoll interest */
    bool closing;               /* close once out is flushed */
    bool lingering;             /* write side shut; draining input before close */
    time_t last_active;         /* last byte read or written */
    time_t partial_since;       /* when the unanswered bytes in c->in began */
};

struct worker {
    struct server *srv;
    pthread_t tid;
    bool started;
    unsigned index;
    int ep;
    int lfd;
    void *tctx;
    struct conn **conns;
    size_t n_conns;
    time_t date_sec;
    char date[64];
};

struct server {
    struct server_handler h;
    int stop_fd;                /* eventfd: readable = stop */
    unsigned n_workers;
    struct worker *workers;
};

static time_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec;
}

static int open_listener(const char *ip, uint16_t port, bool reuseport, uint16_t *bound,
                         char *err, size_t cap)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        snprintf(err, cap, "'%s' is not an IPv4 address", ip);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, cap, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        snprintf(err, cap, "SO_REUSEPORT: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1024) != 0) {
        snprintf(err, cap, "cannot listen on %s:%u: %s", ip, port, strerror(errno));
        close(fd);
        return -1;
    }
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *bound = ntohs(sa.sin_port);
    return fd;
}

static void set_events(struct worker *w, struct conn *c)
{
    uint32_t ev = 0;
    size_t pending = c->out.len - c->out_off;
    if (!c->closing && pending < OUT_HIGH)
        ev |= EPOLLIN;
    if (pending > 0)
        ev |= EPOLLOUT;
    if (ev == c->events)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

static void conn_close(struct worker *w, struct conn *c)
{
    close(c->fd);               /* also removes it from the epoll set */
    struct conn *last = w->conns[--w->n_conns];
    w->conns[c->index] = last;
    last->index = c->index;
    free(c->in);
    buf_free(&c->out);
    free(c);
}

static void conn_accept(struct worker *w)
{
    for (;;) {
        int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;             /* EAGAIN, or an error that a later event retries */
        struct conn *c = NULL;
        if (w->n_conns < MAX_CONNS)
            c = calloc(1, sizeof *c);
        if (c != NULL)
            c->in = malloc(IN_CAP);
        if (c == NULL || c->in == NULL) {
            free(c);
            close(fd);
            continue;
        }
        /* Responses are written whole, so Nagle would only add delay. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->in_cap = IN_CAP;
        c->events = EPOLLIN;
        c->last_active = now_s();
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e) != 0) {
            free(c->in);
            free(c);
            close(fd);
            continue;
        }
        c->index = w->n_conns;
        w->conns[w->n_conns++] = c;
    }
}

static void reject(struct worker *w, struct conn *c, int status)
{
    struct server *s = w->srv;
    if (s->h.rejected != NULL)
        s->h.rejected(s->h.ctx, w->tctx, status);
    http_respond(&c->out, status, w->date, NULL, NULL, NULL, 0, false, false);
    c->closing = true;
}

/* Answers every complete request buffered, in order, until the output
 * backlog is high (the rest waits in c->in until the client reads). */
static void conn_process(struct worker *w, struct conn *c)
{
    struct server *s = w->srv;
    size_t off = 0;
    while (!c->closing && c->out.len - c->out_off < OUT_HIGH && off < c->in_len) {
        struct http_request req;
        long r = http_parse(c->in + off, c->in_len - off, &req);
        if (r == 0)
            break;
        if (r < 0) {
            reject(w, c, (int)-r);
            break;
        }
        if (req.content_length > s->h.max_body) {
            reject(w, c, 413);
            break;
        }
        size_t need = (size_t)r + (size_t)req.content_length;
        if (c->in_len - off < need) {
            if (need > c->in_cap) {
                /* Grow only as far as a request within limits needs. */
                char *p = realloc(c->in, need);
                if (p == NULL) {
                    c->closing = true;
                    break;
                }
                c->in = p;
                c->in_cap = need;
            }
            break;
        }
        s->h.handle(s->h.ctx, w->tctx, &req, c->in + off + r, &c->out, w->date);
        if (c->out.failed) {    /* cannot send a truncated response */
            c->out.len = c->out_off = 0;
            c->closing = true;
            break;
        }
        off += need;
        if (!req.keep_alive)
            c->closing = true;
    }
    if (off > 0) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
}

/* Writes what it can; returns false when the connection was closed. */
static bool conn_flush(struct worker *w, struct conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            conn_close(w, c);
            return false;
        }
        c->out_off += (size_t)n;
        c->last_active = now_s();
    }
    if (c->out_off == c->out.len) {
        c->out.len = c->out_off = 0;
        if (c->closing) {
            /* Closing a socket with unread input makes the kernel send a
             * RST, which can destroy the response still in flight (a 400
             * for a pipelined batch, a 431 for a huge head). Shut the write
             * side, then drain input until the peer closes (or a timeout). */
            shutdown(c->fd, SHUT_WR);
            c->lingering = true;
            c->in_len = 0;
            c->last_active = now_s();
            struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
            epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
            c->events = EPOLLIN;
            return false;
        }
    }
    return true;
}

static void conn_event(struct worker *w, struct conn *c, uint32_t ev)
{
    if ((ev & (EPOLLERR | EPOLLHUP)) && !(ev & EPOLLIN)) {
        conn_close(w, c);
        return;
    }
    if (c->lingering) {
        char sink[4096];
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            conn_close(w, c);
        return;
    }
    bool eof = false;
    if ((ev & EPOLLIN) && c->in_len < c->in_cap) {
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n > 0) {
            if (c->in_len == 0)
                c->partial_since = now_s();
            c->in_len += (size_t)n;
            c->last_active = now_s();
        } else if (n == 0) {
            eof = true;         /* answer what was sent, then close */
        } else if (errno != EAGAIN && errno != EINTR) {
            conn_close(w, c);
            return;
        }
    }
    size_t before;
    bool answered = false;
    do {                        /* drain pipelined input held back by backpressure */
        before = c->in_len;
        conn_process(w, c);
        answered |= c->in_len != before;
        if (eof)
            c->closing = true;
        if (!conn_flush(w, c))
            return;
    } while (c->in_len != before && c->in_len > 0 && c->out.len == 0);
    /* Bytes left after answering requests begin the next request: time it
     * from now, so a busy pipelining client is never cut as "too slow". */
    if (answered && c->in_len > 0)
        c->partial_since = now_s();
    set_events(w, c);
}

static void sweep(struct worker *w, time_t now)
{
    for (size_t i = w->n_conns; i-- > 0;) {
        struct conn *c = w->conns[i];
        /* A request that trickles in (slowloris) is timed from its first
         * byte, not from its last one. Whole seconds: "> T" means more than
         * T s really passed (and the once-a-second sweep closes within T + 2). */
        const struct server_handler *h = &w->srv->h;
        bool stale = c->lingering    ? now - c->last_active > LINGER_TIMEOUT_S
                     : c->in_len > 0 ? now - c->partial_since > (time_t)h->request_timeout_s
                                     : now - c->last_active > (time_t)h->idle_timeout_s;
        if (stale)
            conn_close(w, c);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct server *s = w->srv;
    if (s->h.thread_start != NULL)
        w->tctx = s->h.thread_start(s->h.ctx, w->index);
    struct epoll_event evs[256];
    time_t last_sweep = now_s();
    for (;;) {
        int n = epoll_wait(w->ep, evs, 256, 1000);
        time_t wall = time(NULL);
        if (wall != w->date_sec) {
            w->date_sec = wall;
            http_date_line(w->date, sizeof w->date);
        }
        bool stop = false;
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &s->stop_fd)
                stop = true;
            else if (p == &w->lfd)
                conn_accept(w);
            else
                conn_event(w, p, evs[i].events);
        }
        if (stop)
            break;
        time_t now = now_s();
        if (now != last_sweep) {
            last_sweep = now;
            sweep(w, now);
        }
    }
    while (w->n_conns > 0)
        conn_close(w, w->conns[w->n_conns - 1]);
    if (s->h.thread_stop != NULL)
        s->h.thread_stop(s->h.ctx, w->tctx);
    return NULL;
}

static int worker_init(struct server *s, struct worker *w, unsigned index, int lfd, char *err,
                       size_t cap)
{
    w->srv = s;
    w->index = index;
    w->lfd = lfd;
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->conns = malloc(MAX_CONNS * sizeof *w->conns);
    http_date_line(w->date, sizeof w->date);
    w->date_sec = time(NULL);
    if (w->ep < 0 || w->conns == NULL) {
        snprintf(err, cap, "out of resources for worker %u", index);
        return -1;
    }
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &w->lfd};
    struct epoll_event st = {.events = EPOLLIN, .data.ptr = &s->stop_fd};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, lfd, &e) != 0 ||
        epoll_ctl(w->ep, EPOLL_CTL_ADD, s->stop_fd, &st) != 0) {
        snprintf(err, cap, "epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int server_start(const char *ip, uint16_t port, unsigned threads,
                 const struct server_handler *h, struct server **out, uint16_t *bound_port,
                 char *err, size_t err_cap)
{
    struct server *s = calloc(1, sizeof *s);
    if (s == NULL || threads == 0) {
        snprintf(err, err_cap, "cannot allocate the server");
        free(s);
        return -1;
    }
    s->h = *h;
    if (s->h.idle_timeout_s == 0)
        s->h.idle_timeout_s = 30;
    if (s->h.request_timeout_s == 0)
        s->h.request_timeout_s = 10;
    s->workers = calloc(threads, sizeof *s->workers);
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    for (unsigned i = 0; i < threads; i++)
        s->workers[i].lfd = s->workers[i].ep = -1;
    s->n_workers = threads;
    if (s->workers == NULL || s->stop_fd < 0) {
        snprintf(err, err_cap, "cannot allocate the server");
        goto fail;
    }
    uint16_t bound = port;
    for (unsigned i = 0; i < threads; i++) {
        /* The first socket picks the port (maybe ephemeral); the others
         * join it through SO_REUSEPORT. */
        int lfd = open_listener(ip, bound, threads > 1, &bound, err, err_cap);
        if (lfd < 0)
            goto fail;
        if (worker_init(s, &s->workers[i], i, lfd, err, err_cap) != 0)
            goto fail;
    }
    for (unsigned i = 0; i < threads; i++) {
        int r = pthread_create(&s->workers[i].tid, NULL, worker_main, &s->workers[i]);
        if (r != 0) {
            snprintf(err, err_cap, "pthread_create: %s", strerror(r));
            goto fail;
        }
        s->workers[i].started = true;
    }
    *bound_port = bound;
    *out = s;
    return 0;
fail:
    server_stop(s);
    return -1;
}

void server_stop(struct server *s)
{
    if (s == NULL)
        return;
    if (s->stop_fd >= 0) {
        uint64_t one = 1;
        ssize_t r = write(s->stop_fd, &one, sizeof one);
        (void)r;
    }
    for (unsigned i = 0; s->workers != NULL && i < s->n_workers; i++) {
        struct worker *w = &s->workers[i];
        if (w->started)
            pthread_join(w->tid, NULL);
        if (w->lfd >= 0)
            close(w->lfd);
        if (w->ep >= 0)
            close(w->ep);
        free(w->conns);
    }
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    free(s->workers);
    free(s);
}
