/*
 * main.c - tenreg-front: flags, startup, signal wait, orderly shutdown.
 *
 * Shutdown order matters for tenreg: stop the servers (their workers leave
 * their read sections and unregister as readers), then free the backend
 * (tenreg_free waits for every deferred platform free), then check that the
 * demo saw every platform it created freed exactly once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "admin.h"
#include "backend.h"
#include "demo.h"
#include "front.h"
#include "reload.h"
#include "server.h"
#include "tenants_file.h"

static const char usage[] =
    "usage: tenreg-front [options]\n"
    "  --port N              front port (default 8080; 0 = ephemeral)\n"
    "  --bind ADDR           front IPv4 address (default 127.0.0.1)\n"
    "  --admin-port N        admin port (default 8081; 0 = ephemeral)\n"
    "  --admin-bind ADDR     admin address; only 127.0.0.1 is accepted\n"
    "  --threads N           front worker threads (default: online CPUs)\n"
    "  --tenants FILE        tenant_id,agent_url[,lazy][,host=HOST]... lines, loaded at\n"
    "                        start and again, as one change, on SIGHUP\n"
    "  --factory-delay-ms N  the demo factory sleeps N ms (default 100)\n"
    "  --backend tenreg|rwlock  lookup implementation (default tenreg)\n"
    "  --idle-timeout-s N    close keep-alive connections idle N s (default 30)\n"
    "  --request-timeout-s N close connections whose request is incomplete N s\n"
    "                        after its first byte (default 10)\n"
    "  --ready-file FILE     once listening, write \"FRONT_PORT ADMIN_PORT\\n\" there\n"
    "tenreg backend only (docs/design.md §8.2, §8.4):\n"
    "  --recheck-interval-ms N  recheck every tenant about every N ms in the background\n"
    "                        (first check at a random point of the first interval,\n"
    "                        then every N ms +- 10%); default 0 = off\n"
    "  --build-retry-ms N    a failed lazy build answers 503 EDISABLED for\n"
    "                        N x 2^(failures-1) ms (at most 1 h), then the next request\n"
    "                        starts a new build; default 0 = a failed build is final\n"
    "  --transient-failures  a validator that could not check (< 0) moves healthy to\n"
    "                        unverified and leaves other health alone; invalid (0)\n"
    "                        disables (TENREG_CFG_TRANSIENT_FAILURES)\n"
    "Every tenreg event (registered, unregistered, health, built, build_failed) is\n"
    "logged as one line on stderr: \"tenreg-front: event KIND tenant=ID from=H to=H\n"
    "verdict=V reason=\\\"...\\\" at=ISO8601\".\n"
    "SIGHUP reloads --tenants FILE (PUT /tenants does the same with a JSON set): tenants\n"
    "whose line is unchanged are kept as they are, the rest registered, tenants not in\n"
    "the file unregistered, all as one change; a bad file changes nothing.\n"
    "Exit status: 0 after SIGINT/SIGTERM with every platform freed, 1 bad tenants\n"
    "file, 2 usage error or a port in use, 3 runtime failure.\n";

/* Descriptors kept out of the front's connection limit: the admin API's
 * connections, each worker's epoll instance and spare descriptor (the
 * front's @threads workers and the admin API's one: FD_RESERVE(threads)
 * counts them), and everything else the process opens (the listeners and
 * stop eventfds, the tenants file, the ready file, sanitizer runtimes). */
#define ADMIN_CONNS 64
#define ADMIN_THREADS 1
#define FD_PER_WORKER 2         /* epoll instance + spare */
#define FD_RESERVE(threads) \
    ((rlim_t)ADMIN_CONNS + 64 + (rlim_t)FD_PER_WORKER * ((threads) + ADMIN_THREADS))
#define FRONT_CONNS_MIN 16

struct options {
    unsigned port, admin_port, threads, delay_ms, idle_s, request_s;
    unsigned recheck_ms, retry_ms;
    bool transient, tenreg_only;    /* tenreg_only: a flag the rwlock backend lacks */
    const char *bind, *admin_bind, *tenants, *backend, *ready_file;
};

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (struct options){
        .port = 8080, .admin_port = 8081, .threads = cpus > 0 ? (unsigned)cpus : 1,
        .delay_ms = 100, .idle_s = 30, .request_s = 10, .bind = "127.0.0.1", .admin_bind = "127.0.0.1", .backend = "tenreg",
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (strcmp(a, "--transient-failures") == 0) {   /* the one flag without a value */
            o->transient = o->tenreg_only = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "tenreg-front: %s needs a value\n%s", a, usage);
            return -1;
        }
        const char *v = argv[++i];
        bool ok = true;
        if (strcmp(a, "--port") == 0)
            ok = parse_uint(v, 65535, &o->port);
        else if (strcmp(a, "--admin-port") == 0)
            ok = parse_uint(v, 65535, &o->admin_port);
        else if (strcmp(a, "--threads") == 0)
            ok = parse_uint(v, 1024, &o->threads) && o->threads > 0;
        else if (strcmp(a, "--factory-delay-ms") == 0)
            ok = parse_uint(v, 600000, &o->delay_ms);
        else if (strcmp(a, "--idle-timeout-s") == 0)
            ok = parse_uint(v, 86400, &o->idle_s) && o->idle_s > 0;
        else if (strcmp(a, "--request-timeout-s") == 0)
            ok = parse_uint(v, 86400, &o->request_s) && o->request_s > 0;
        else if (strcmp(a, "--recheck-interval-ms") == 0 || strcmp(a, "--build-retry-ms") == 0) {
            ok = parse_uint(v, UINT32_MAX, a[2] == 'r' ? &o->recheck_ms : &o->retry_ms);
            o->tenreg_only = true;
        }
        else if (strcmp(a, "--bind") == 0)
            o->bind = v;
        else if (strcmp(a, "--admin-bind") == 0)
            o->admin_bind = v;
        else if (strcmp(a, "--tenants") == 0)
            o->tenants = v;
        else if (strcmp(a, "--backend") == 0) {
            ok = strcmp(v, "tenreg") == 0 || strcmp(v, "rwlock") == 0;
            o->backend = v;
        }
        else if (strcmp(a, "--ready-file") == 0)
            o->ready_file = v;
        else {
            fprintf(stderr, "tenreg-front: unknown option %s\n%s", a, usage);
            return -1;
        }
        if (!ok) {
            fprintf(stderr, "tenreg-front: bad value '%s' for %s\n", v, a);
            return -1;
        }
    }
    if (o->tenreg_only && strcmp(o->backend, "tenreg") != 0) {
        fprintf(stderr, "tenreg-front: --recheck-interval-ms, --build-retry-ms and "
                        "--transient-failures need --backend tenreg\n");
        return -1;
    }
    /* The admin API changes who gets traffic and has no authentication:
     * it must only ever be reachable from this machine. */
    if (strcmp(o->admin_bind, "127.0.0.1") != 0) {
        fprintf(stderr, "tenreg-front: refusing to bind the admin API to '%s': only 127.0.0.1\n",
                o->admin_bind);
        return -1;
    }
    return 0;
}

/* Written to a temporary name then renamed, so a reader never sees half. */
static int write_ready_file(const char *path, unsigned front, unsigned admin)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%u %u\n", front, admin);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

/* After the backend is gone every platform must have been freed once. */
static bool check_platforms(struct demo *demo)
{
    uint64_t created, freed;
    demo_platform_counts(demo, &created, &freed);
    fprintf(stderr, "tenreg-front: platforms created %llu, freed %llu\n",
            (unsigned long long)created, (unsigned long long)freed);
    if (created == freed)
        return true;
    fprintf(stderr, "tenreg-front: %llu platforms leaked\n",
            (unsigned long long)(created - freed));
    return false;
}

/*
 * The front's connection limit, from RLIMIT_NOFILE: the soft limit is
 * raised to the hard one first (capped at 2^20, as servers commonly do),
 * then FD_RESERVE(@threads) descriptors are kept for the admin API, the
 * workers' own and the rest of the process, so a flood of clients can
 * never take the descriptors the admin port and established connections
 * need.
 */
static size_t front_conn_limit(unsigned threads)
{
    rlim_t reserve = FD_RESERVE(threads);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        rl.rlim_cur = rl.rlim_max = 1024;
    rlim_t want = rl.rlim_max < ((rlim_t)1 << 20) ? rl.rlim_max : ((rlim_t)1 << 20);
    if (rl.rlim_cur < want) {
        struct rlimit up = {.rlim_cur = want, .rlim_max = rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl.rlim_cur = want;
    }
    if (rl.rlim_cur < reserve + FRONT_CONNS_MIN)
        return FRONT_CONNS_MIN;
    return (size_t)(rl.rlim_cur - reserve);
}

/*
 * SIGHUP, received by sigwait on the main thread (never a handler): the
 * tenants file again, whole, as one change, under the reloader's lock (so
 * never beside an admin request or PUT /tenants). Signals that arrive
 * meanwhile stay pending and make one more reload.
 */
static void reload_on_sighup(struct reloader *r, struct backend *b, const char *path)
{
    if (path == NULL) {
        fprintf(stderr, "tenreg-front: SIGHUP: no --tenants file to reload\n");
        return;
    }
    struct reload_summary sum;
    pthread_mutex_lock(&r->lock);
    b->thread_start(b->impl);
    int rc = tenants_file_load(r, path, &sum);
    b->thread_stop(b->impl);
    if (rc == 0)
        r->ok++;
    else
        r->failed++;
    pthread_mutex_unlock(&r->lock);
    if (rc == 0) {
        char line[160];
        reload_summary_format(&sum, line, sizeof line);
        fprintf(stderr, "tenreg-front: SIGHUP: reloaded %s: %s\n", path, line);
    } else {
        fprintf(stderr, "tenreg-front: SIGHUP: reload of %s failed; nothing changed\n", path);
    }
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) != 0)
        return 2;

    /* Block the stop and reload signals before any thread starts so that
     * every thread inherits the mask and only sigwait below receives them:
     * a reload runs on this thread, never in a signal handler. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct demo *demo = demo_new(o.delay_ms);
    struct backend b;
    struct backend_options bo = {
        .flags = o.transient ? TENREG_CFG_TRANSIENT_FAILURES : 0,
        .recheck_interval_ms = o.recheck_ms,
        .build_retry_ms = o.retry_ms,
        .event_log = true,
    };
    int r = demo == NULL ? TENREG_ENOMEM
            : strcmp(o.backend, "rwlock") == 0 ? backend_rwlock_new(demo, 1024, &b)
                                               : backend_tenreg_new(demo, 1024, &bo, &b);
    if (r != 0) {
        fprintf(stderr, "tenreg-front: cannot create the %s backend: %s\n", o.backend,
                tenreg_strerror(r));
        return 3;
    }
    /* The file is loaded as every reload is (tenants_file.h), into the
     * empty registry. The loader's admin calls run on this thread;
     * register it like the admin thread so tenreg's health_of does not do
     * it implicitly. */
    static struct reloader reloader;
    reloader_init(&reloader, &b, demo);
    struct reload_summary sum = {0};
    if (o.tenants != NULL) {
        pthread_mutex_lock(&reloader.lock);
        b.thread_start(b.impl);
        int lr = tenants_file_load(&reloader, o.tenants, &sum);
        b.thread_stop(b.impl);
        pthread_mutex_unlock(&reloader.lock);
        if (lr != 0) {
            b.destroy(b.impl);
            reloader_fini(&reloader);
            int st = check_platforms(demo) ? 1 : 3;
            demo_free(demo);
            return st;
        }
    }
    long loaded = (long)sum.tenants;

    struct front front;
    struct server_handler fh, ah;
    static struct server_counters front_conns, admin_conns;
    struct admin admin = {.backend = &b, .reloader = &reloader, .demo = demo, .front = &front,
                          .front_conns = &front_conns, .admin_conns = &admin_conns};
    struct server *fs = NULL, *as = NULL;
    uint16_t fport = 0, aport = 0;
    char err[256];
    int status = 0;
    if (front_init(&front, &b, o.threads, &fh) != 0) {
        fprintf(stderr, "tenreg-front: out of memory\n");
        status = 3;
        goto out;
    }
    admin_handler(&admin, &ah);
    fh.idle_timeout_s = ah.idle_timeout_s = o.idle_s;
    fh.request_timeout_s = ah.request_timeout_s = o.request_s;
    fh.max_conns = front_conn_limit(o.threads);
    /* Answers are a few hundred bytes: a fixed 64 KiB send buffer (the
     * kernel doubles it) holds many, and a client that never reads pins
     * that much kernel memory, not an autotuned buffer of up to tcp_wmem's
     * maximum (with BBR on loopback: ~470 KB per connection). */
    fh.sndbuf = 64 * 1024;
    ah.max_conns = ADMIN_CONNS;
    fh.counters = &front_conns;
    ah.counters = &admin_conns;
    int sr = server_start(o.bind, (uint16_t)o.port, o.threads, &fh, &fs, &fport, err, sizeof err);
    if (sr == 0)
        sr = server_start(o.admin_bind, (uint16_t)o.admin_port, ADMIN_THREADS, &ah, &as, &aport,
                          err, sizeof err);
    if (sr != 0) {
        /* A port another process holds is the operator's to fix, like a
         * bad flag: exit 2, nothing left bound. */
        fprintf(stderr, "tenreg-front: %s\n", err);
        status = sr == SERVER_EADDR ? 2 : 3;
        goto stop;
    }
    printf("tenreg-front: backend %s, %ld tenants, %u workers, front %s:%u, admin %s:%u\n",
           b.name, loaded, o.threads, o.bind, fport, o.admin_bind, aport);
    fflush(stdout);
    if (o.ready_file != NULL && write_ready_file(o.ready_file, fport, aport) != 0) {
        fprintf(stderr, "tenreg-front: cannot write %s: %s\n", o.ready_file, strerror(errno));
        status = 3;
        goto stop;
    }

    int sig = 0;
    while (sigwait(&stop, &sig) == 0 && sig == SIGHUP)
        reload_on_sighup(&reloader, &b, o.tenants);
    fprintf(stderr, "tenreg-front: signal %d, stopping\n", sig);

stop:
    server_stop(as);
    server_stop(fs);
    front_fini(&front);
out:
    b.destroy(b.impl);
    reloader_fini(&reloader);
    if (!check_platforms(demo))
        status = 3;
    demo_free(demo);
    return status;
}
