/*
 * server.h - the epoll HTTP/1.1 loop shared by the front and the admin API.
 *
 * A server is one listening socket and N worker threads, each with its own
 * epoll instance. The socket is bound once, without SO_REUSEPORT, so a
 * second process cannot join the port (the kernel would split the traffic
 * between two processes with different tenants): its bind fails with
 * EADDRINUSE. Every worker polls the shared socket and accepts itself; a
 * worker that holds more connections than the least loaded one (+1) stops
 * polling it, so connections spread evenly without a lock or a handoff. A
 * connection lives on one worker for its whole life, so its buffers are
 * never shared. The handler runs in the worker thread for each complete
 * request (head and body), in arrival order, and appends the whole response
 * to the connection's output buffer: pipelined requests are answered in
 * order, and one write() flushes a batch.
 *
 * Limits that hold whatever the clients do:
 *   - connections: at most max_conns at once across the workers; past it a
 *     connection is accepted and closed at once (refused_limit);
 *   - descriptors: when accept fails for want of one (EMFILE, ENFILE), each
 *     worker closes a spare descriptor it keeps, accepts the waiting
 *     connection on it, closes it (refused_no_fd; or, with spare_serves,
 *     serves it: the admin API stays reachable) and reopens the spare; if
 *     even that fails it stops polling the listener for 100 ms
 *     (listen_pauses). A level-triggered listener is never left readable
 *     and polled in a loop;
 *   - output: a connection with 64 KiB of answers unsent is no longer read
 *     or parsed, and once out_budget bytes are buffered across all its
 *     connections only connections with nothing buffered may answer (one
 *     request at a time), so clients that pipeline and never read cost at
 *     most the budget plus one answer each (and, with sndbuf set, a fixed
 *     kernel send buffer each instead of an autotuned one);
 *   - time: request and idle timeouts (below), and a lingering close.
 */
#ifndef FRONT_SERVER_H
#define FRONT_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"

/* What a server counts, for GET /stats. Owned by the caller (it outlives
 * the server); the workers update it, anyone may read it. limit and budget
 * are set by server_start before any worker runs. */
struct server_counters {
    size_t limit;                           /* max_conns in effect */
    size_t budget;                          /* out_budget in effect */
    atomic_uint_fast64_t open;              /* connections now */
    atomic_uint_fast64_t refused_limit;     /* accepted and closed: at the limit */
    atomic_uint_fast64_t refused_no_fd;     /* accepted on the spare descriptor, closed */
    atomic_uint_fast64_t listen_pauses;     /* no descriptor, not even the spare */
    atomic_uint_fast64_t out_buffered;      /* answer bytes not yet sent */
    atomic_uint_fast64_t out_peak;          /* the most out_buffered has been */
};

struct server_handler {
    void *ctx;
    size_t max_body;            /* larger Content-Length: 413 and close */
    /* Optional: the limit for one request instead (its head parsed, its
     * body not read yet), for a route that takes larger bodies. */
    size_t (*body_limit)(void *ctx, const struct http_request *req);
    unsigned idle_timeout_s;    /* keep-alive connection with nothing to do; 0 = 30 */
    unsigned request_timeout_s; /* a request still incomplete this long after its
                                   first byte (slowloris); 0 = 10 */
    size_t max_conns;           /* connections at once, all workers; 0 = 1024 */
    size_t out_budget;          /* answer bytes buffered, all connections; 0 = 8 MiB */
    int sndbuf;                 /* SO_SNDBUF of each connection; 0 = the kernel's
                                   autotuning (up to tcp_wmem's max) */
    bool json_errors;           /* the server's own refusals carry {"error":"..."} */
    bool spare_serves;          /* out of descriptors: serve the connection accepted
                                   on the spare one instead of refusing it */
    struct server_counters *counters;   /* NULL: kept inside the server */
    /* Run in each worker thread before its loop; returns the thread's
     * context (passed to handle), e.g. after tenreg_thread_register(). */
    void *(*thread_start)(void *ctx, unsigned index);
    void (*thread_stop)(void *ctx, void *tctx);
    /* One complete request; @date is the current "Date: ...\r\n" line.
     * Must append exactly one complete response to @out. Returns false
     * when the connection must be closed once that response is sent (an
     * answer that says "Connection: close" although the client asked to
     * keep it: the server then reads no further request on it); true lets
     * keep-alive go as the request asked. */
    bool (*handle)(void *ctx, void *tctx, const struct http_request *req, const char *body,
                   struct buf *out, const char *date);
    /* Optional: a request the server itself refused (400, 413, 431, 501,
     * 505) - for statistics. */
    void (*rejected)(void *ctx, void *tctx, int status);
};

struct server;

/* server_start failures. */
#define SERVER_EFAIL  (-1)      /* resources, threads: a runtime failure */
#define SERVER_EADDR  (-2)      /* the address: in use (another process), not local */

/*
 * server_start - bind @ip:@port (port 0: an ephemeral port) and start
 * @threads workers. On success *bound_port is the port.
 * Returns 0, or SERVER_EFAIL / SERVER_EADDR with a message in @err
 * ("cannot listen on IP:PORT: address in use" for a port another process
 * holds).
 */
int server_start(const char *ip, uint16_t port, unsigned threads,
                 const struct server_handler *h, struct server **out, uint16_t *bound_port,
                 char *err, size_t err_cap);

/* Stops accepting, closes every connection, joins the workers, frees. */
void server_stop(struct server *s);

#endif
