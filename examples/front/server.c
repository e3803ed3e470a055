/* server.c - epoll worker threads (see server.h). */
#define _GNU_SOURCE
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#define OUT_HIGH (64 * 1024)      /* answers unsent: stop reading and parsing above this */
#define OUT_KEEP (16 * 1024)      /* a flushed output buffer larger than this is freed */
#define DEFAULT_MAX_CONNS 1024
#define DEFAULT_OUT_BUDGET ((size_t)8 << 20)
#define LINGER_TIMEOUT_S 2        /* draining a closed connection's unread input */
#define ACCEPT_BATCH 64           /* per wake-up: established connections keep their turn */
#define PAUSE_MS 100              /* listener off after an accept that found no descriptor */
#define BALANCE_SLACK 1           /* connections a worker may hold above the least loaded */

struct conn {
    int fd;
    size_t index;               /* in worker.conns */
    char *in;
    size_t in_len, in_cap;
    struct buf out;
    size_t out_off;
    size_t accounted;           /* unsent bytes of out counted in out_buffered */
    uint32_t events;            /* current epoll interest */
    bool closing;               /* close once out is flushed */
    bool lingering;             /* write side shut; draining input before close */
    bool continued;             /* "100 Continue" sent for the request being read */
    time_t last_active;         /* last byte read or written */
    time_t partial_since;       /* when the unanswered bytes in c->in began */
};

struct worker {
    struct server *srv;
    pthread_t tid;
    bool started;
    unsigned index;
    int ep;
    int spare;                  /* a descriptor held back for EMFILE; -1 while spent */
    bool listening;             /* the listener is in this worker's epoll set */
    int64_t paused_until_ms;    /* listener off until then (no descriptors); 0 = not */
    void *tctx;
    struct conn **conns;
    size_t n_conns, cap_conns;
    atomic_size_t n_pub;        /* n_conns, read by the other workers to balance */
    time_t date_sec;
    char date[64];
};

struct server {
    struct server_handler h;
    int lfd;                    /* the listening socket, shared by every worker */
    int stop_fd;                /* eventfd: readable = stop */
    unsigned n_workers;
    struct worker *workers;
    atomic_uint n_listening;    /* workers with the listener in their epoll set */
    struct server_counters *ctr;
    struct server_counters own;
};

static time_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_spare(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Returns the listening fd, or SERVER_EFAIL / SERVER_EADDR. No
 * SO_REUSEPORT: a second process binding this port must fail. */
static int open_listener(const char *ip, uint16_t port, uint16_t *bound, char *err, size_t cap)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
        snprintf(err, cap, "'%s' is not an IPv4 address", ip);
        return SERVER_EADDR;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, cap, "socket: %s", strerror(errno));
        return SERVER_EFAIL;
    }
    /* Only lets a restart bind while old connections sit in TIME_WAIT; on
     * Linux it never lets two sockets listen on one port. */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        close(fd);
        if (e == EADDRINUSE) {
            snprintf(err, cap, "cannot listen on %s:%u: address in use (another process has it)",
                     ip, port);
            return SERVER_EADDR;
        }
        if (e == EADDRNOTAVAIL) {
            snprintf(err, cap, "cannot listen on %s:%u: address not available here", ip, port);
            return SERVER_EADDR;
        }
        snprintf(err, cap, "cannot listen on %s:%u: %s", ip, port, strerror(e));
        return SERVER_EFAIL;
    }
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *bound = ntohs(sa.sin_port);
    return fd;
}

/* ---- output accounting ------------------------------------------------- */

static size_t pending(const struct conn *c)
{
    return c->out.len - c->out_off;
}

/* Brings the server's out_buffered up to date with @c's unsent bytes. */
static void account(struct worker *w, struct conn *c)
{
    struct server_counters *k = w->srv->ctr;
    size_t now = pending(c);
    if (now > c->accounted) {
        uint64_t add = now - c->accounted;
        uint64_t total =
            atomic_fetch_add_explicit(&k->out_buffered, add, memory_order_relaxed) + add;
        uint64_t peak = atomic_load_explicit(&k->out_peak, memory_order_relaxed);
        while (total > peak && !atomic_compare_exchange_weak_explicit(
                                   &k->out_peak, &peak, total, memory_order_relaxed,
                                   memory_order_relaxed)) {
        }
    } else if (now < c->accounted) {
        atomic_fetch_sub_explicit(&k->out_buffered, c->accounted - now, memory_order_relaxed);
    }
    c->accounted = now;
}

/* May @c answer (and read) another request now? Not with OUT_HIGH unsent;
 * with the server's budget spent, only when it has nothing unsent (so every
 * reading client still progresses, one answer at a time). */
static bool may_answer(const struct worker *w, const struct conn *c)
{
    size_t p = pending(c);
    if (p >= OUT_HIGH)
        return false;
    if (p == 0)
        return true;
    const struct server_counters *k = w->srv->ctr;
    uint64_t total = atomic_load_explicit(&k->out_buffered, memory_order_relaxed);
    if (p > c->accounted)
        total += p - c->accounted;
    return total < k->budget;
}

static void set_events(struct worker *w, struct conn *c)
{
    uint32_t ev = 0;
    if (!c->closing && c->in_len < c->in_cap && may_answer(w, c))
        ev |= EPOLLIN;
    if (pending(c) > 0)
        ev |= EPOLLOUT;
    if (ev == c->events)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

/* ---- the listener: balance, descriptors -------------------------------- */

/* Listen unless paused, or holding more than the least loaded other worker
 * (+ slack): the others then take the new connections. */
static bool want_listen(const struct worker *w)
{
    const struct server *s = w->srv;
    if (w->paused_until_ms != 0)
        return false;
    size_t min = SIZE_MAX;
    for (unsigned i = 0; i < s->n_workers; i++) {
        if (&s->workers[i] == w)
            continue;
        size_t n = atomic_load_explicit(&s->workers[i].n_pub, memory_order_relaxed);
        if (n < min)
            min = n;
    }
    return min == SIZE_MAX || w->n_conns <= min + BALANCE_SLACK;
}

static void listener_add(struct worker *w)
{
    struct server *s = w->srv;
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &s->lfd};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, s->lfd, &e) == 0) {
        w->listening = true;
        atomic_fetch_add(&s->n_listening, 1);
    }
}

static void listener_del(struct worker *w)
{
    struct server *s = w->srv;
    epoll_ctl(w->ep, EPOLL_CTL_DEL, s->lfd, NULL);
    w->listening = false;
    atomic_fetch_sub(&s->n_listening, 1);
}

/* Called before every wait. A worker leaves the listener to the others for
 * balance only while another one listens (the count is claimed with a CAS,
 * so two workers cannot both leave it), so a connection never waits for a
 * worker to wake; a pause (no descriptors) takes it off regardless. */
static void update_listening(struct worker *w)
{
    bool want = want_listen(w);
    if (want && !w->listening) {
        listener_add(w);
    } else if (!want && w->listening) {
        if (w->paused_until_ms != 0) {
            listener_del(w);
            return;
        }
        struct server *s = w->srv;
        unsigned n = atomic_load(&s->n_listening);
        while (n > 1) {
            if (atomic_compare_exchange_weak(&s->n_listening, &n, n - 1)) {
                epoll_ctl(w->ep, EPOLL_CTL_DEL, s->lfd, NULL);
                w->listening = false;
                return;
            }
        }
    }
}

static void pause_listener(struct worker *w)
{
    atomic_fetch_add_explicit(&w->srv->ctr->listen_pauses, 1, memory_order_relaxed);
    w->paused_until_ms = now_ms() + PAUSE_MS;
    if (w->listening)
        listener_del(w);
}

static void conn_close(struct worker *w, struct conn *c)
{
    close(c->fd);               /* also removes it from the epoll set */
    c->out_off = c->out.len;    /* nothing of it will be sent */
    account(w, c);
    struct conn *last = w->conns[--w->n_conns];
    w->conns[c->index] = last;
    last->index = c->index;
    atomic_store_explicit(&w->n_pub, w->n_conns, memory_order_relaxed);
    atomic_fetch_sub_explicit(&w->srv->ctr->open, 1, memory_order_relaxed);
    free(c->in);
    buf_free(&c->out);
    free(c);
}

/* Takes @fd on as a connection, or closes it: at the connection limit
 * (counted as a refusal) or out of memory. */
static void conn_admit(struct worker *w, int fd)
{
    struct server_counters *k = w->srv->ctr;
    if (atomic_fetch_add_explicit(&k->open, 1, memory_order_relaxed) >= k->limit) {
        atomic_fetch_sub_explicit(&k->open, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&k->refused_limit, 1, memory_order_relaxed);
        close(fd);
        return;
    }
    struct conn *c = NULL;
    if (w->n_conns == w->cap_conns) {
        size_t cap = w->cap_conns ? w->cap_conns * 2 : 64;
        struct conn **p = realloc(w->conns, cap * sizeof *p);
        if (p != NULL) {
            w->conns = p;
            w->cap_conns = cap;
        }
    }
    if (w->n_conns < w->cap_conns && (c = calloc(1, sizeof *c)) != NULL)
        c->in = malloc(IN_CAP);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
    if (c == NULL || c->in == NULL || epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e) != 0) {
        if (c != NULL)
            free(c->in);
        free(c);
        close(fd);
        atomic_fetch_sub_explicit(&k->open, 1, memory_order_relaxed);
        return;
    }
    /* Responses are written whole, so Nagle would only add delay. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (w->srv->h.sndbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &w->srv->h.sndbuf, sizeof w->srv->h.sndbuf);
    c->fd = fd;
    c->in_cap = IN_CAP;
    c->events = EPOLLIN;
    c->last_active = now_s();
    c->index = w->n_conns;
    w->conns[w->n_conns++] = c;
    atomic_store_explicit(&w->n_pub, w->n_conns, memory_order_relaxed);
}

/* accept failed with EMFILE or ENFILE. Spend the spare descriptor on the
 * connection at the head of the queue - refuse it (accept, close), or with
 * spare_serves serve it - then take the spare back. Returns true when a
 * connection left the queue, so accepting may go on; when even the spare
 * does not help, the listener is paused: a level-triggered listener that
 * stays readable must not be polled in a loop. */
static bool out_of_fds(struct worker *w)
{
    struct server *s = w->srv;
    if (w->spare >= 0) {
        close(w->spare);
        w->spare = -1;
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        int e = errno;
        if (fd >= 0 && s->h.spare_serves) {
            conn_admit(w, fd);  /* the spare comes back once a descriptor does */
            return true;
        }
        if (fd >= 0) {
            close(fd);
            atomic_fetch_add_explicit(&s->ctr->refused_no_fd, 1, memory_order_relaxed);
        }
        w->spare = open_spare();
        if (w->spare >= 0 && (fd >= 0 || e == EAGAIN || e == EWOULDBLOCK))
            return fd >= 0;
    }
    pause_listener(w);
    return false;
}

static void conn_accept(struct worker *w)
{
    struct server *s = w->srv;
    for (int i = 0; i < ACCEPT_BATCH && w->listening; i++) {
        /* Leave the rest to a less loaded worker, if one is listening. */
        if (i > 0 && !want_listen(w) && atomic_load(&s->n_listening) > 1)
            return;
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            conn_admit(w, fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE) {
            if (out_of_fds(w))
                continue;
            return;
        }
        if (errno == ENOBUFS || errno == ENOMEM)
            pause_listener(w);
        return;                 /* EAGAIN: the queue is empty (maybe another worker took it) */
    }
}

/* ---- requests ------------------------------------------------------------ */

static void reject(struct worker *w, struct conn *c, int status, const char *why, unsigned flags)
{
    struct server *s = w->srv;
    if (s->h.rejected != NULL)
        s->h.rejected(s->h.ctx, w->tctx, status);
    c->closing = true;
    if (s->h.json_errors && why != NULL) {
        char body[1024];    /* buf_add_json_str reserves 6 bytes per byte */
        struct buf b = {.p = body, .cap = sizeof body, .fixed = true};
        buf_adds(&b, "{\"error\":\"");
        buf_add_json_str(&b, why, strlen(why));
        buf_adds(&b, "\"}");
        if (!b.failed) {
            http_respond(&c->out, status, w->date, NULL, "application/json", b.p, b.len, flags);
            return;
        }
    }
    http_respond(&c->out, status, w->date, NULL, NULL, NULL, 0, flags);
}

/* Answers every complete request buffered, in order, while the connection
 * may (may_answer); the rest waits in c->in until the client reads. */
static void conn_process(struct worker *w, struct conn *c)
{
    struct server *s = w->srv;
    size_t off = 0;
    while (!c->closing && off < c->in_len && may_answer(w, c)) {
        struct http_request req;
        long r = http_parse(c->in + off, c->in_len - off, &req);
        if (r == 0)
            break;
        if (r < 0) {
            reject(w, c, (int)-r, req.error, 0);
            break;
        }
        size_t limit = s->h.body_limit != NULL ? s->h.body_limit(s->h.ctx, &req) : s->h.max_body;
        if (req.content_length > limit) {
            char why[64];
            snprintf(why, sizeof why, "body over %zu bytes", limit);
            reject(w, c, 413, why, req.head ? HTTP_HEAD_ONLY : 0);
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
            /* The client waits for this before it sends the body. */
            if (req.expect_continue && !c->continued) {
                buf_adds(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
                c->continued = true;
            }
            break;
        }
        bool keep = s->h.handle(s->h.ctx, w->tctx, &req, c->in + off + r, &c->out, w->date);
        if (c->out.failed) {    /* cannot send a truncated response */
            c->out.len = c->out_off = 0;
            c->closing = true;
            break;
        }
        c->continued = false;
        off += need;
        if (!req.keep_alive || !keep)
            c->closing = true;
    }
    if (off > 0) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
        if (c->in_cap > IN_CAP && c->in_len <= IN_CAP) {
            char *p = realloc(c->in, IN_CAP);   /* a big body is done with */
            if (p != NULL) {
                c->in = p;
                c->in_cap = IN_CAP;
            }
        }
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
        if (c->out.cap > OUT_KEEP)  /* a backlog is gone: give its memory back */
            buf_free(&c->out);
        account(w, c);
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
    /* Answer, flush, and go on while that makes progress: input held back
     * by backpressure is answered as soon as the output drains, without
     * waiting for more input that may never come. Each round consumes
     * input or sends output, and nothing is read here: it ends. */
    bool answered = false;
    for (;;) {
        size_t in_before = c->in_len, out_before = pending(c);
        conn_process(w, c);
        answered |= c->in_len != in_before;
        if (eof)
            c->closing = true;
        if (!conn_flush(w, c))
            return;
        bool progress = c->in_len != in_before || pending(c) != out_before;
        if (!progress || c->in_len == 0 || c->closing || !may_answer(w, c))
            break;
    }
    /* Bytes left after answering requests begin the next request: time it
     * from now, so a busy pipelining client is never cut as "too slow". */
    if (answered && c->in_len > 0)
        c->partial_since = now_s();
    account(w, c);
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
        int timeout = 1000;
        if (w->paused_until_ms != 0) {
            int64_t left = w->paused_until_ms - now_ms();
            if (left <= 0)
                w->paused_until_ms = 0;
            else if (left < timeout)
                timeout = (int)left;
        }
        if (w->spare < 0)
            w->spare = open_spare();
        update_listening(w);
        int n = epoll_wait(w->ep, evs, 256, timeout);
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
            else if (p == &s->lfd)
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

static int worker_init(struct server *s, struct worker *w, unsigned index, char *err, size_t cap)
{
    w->srv = s;
    w->index = index;
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->spare = open_spare();
    http_date_line(w->date, sizeof w->date);
    w->date_sec = time(NULL);
    if (w->ep < 0 || w->spare < 0) {
        snprintf(err, cap, "out of descriptors for worker %u: %s", index, strerror(errno));
        return -1;
    }
    struct epoll_event st = {.events = EPOLLIN, .data.ptr = &s->stop_fd};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, s->stop_fd, &st) != 0) {
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
        return SERVER_EFAIL;
    }
    s->h = *h;
    if (s->h.idle_timeout_s == 0)
        s->h.idle_timeout_s = 30;
    if (s->h.request_timeout_s == 0)
        s->h.request_timeout_s = 10;
    s->ctr = s->h.counters != NULL ? s->h.counters : &s->own;
    s->ctr->limit = s->h.max_conns ? s->h.max_conns : DEFAULT_MAX_CONNS;
    s->ctr->budget = s->h.out_budget ? s->h.out_budget : DEFAULT_OUT_BUDGET;
    s->lfd = -1;
    s->workers = calloc(threads, sizeof *s->workers);
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    for (unsigned i = 0; s->workers != NULL && i < threads; i++)
        s->workers[i].ep = s->workers[i].spare = -1;
    s->n_workers = threads;
    int rc = SERVER_EFAIL;
    if (s->workers == NULL || s->stop_fd < 0) {
        snprintf(err, err_cap, "cannot allocate the server");
        goto fail;
    }
    uint16_t bound = port;
    int lfd = open_listener(ip, port, &bound, err, err_cap);
    if (lfd < 0) {
        rc = lfd;
        goto fail;
    }
    s->lfd = lfd;
    for (unsigned i = 0; i < threads; i++)
        if (worker_init(s, &s->workers[i], i, err, err_cap) != 0)
            goto fail;
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
    return rc;
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
        if (w->ep >= 0)
            close(w->ep);
        if (w->spare >= 0)
            close(w->spare);
        free(w->conns);
    }
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    free(s->workers);
    free(s);
}
