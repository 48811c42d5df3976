/* A closed-loop HTTP/1.1 load generator, wrk's model (-c N keep-alive
 * connections, each sends a request and waits for its answer), in one
 * thread and without a scripting language: on a 2-core machine the load
 * generator shares the cores with the node it measures, and wrk's Lua
 * request() cost about 15 us of CPU per request, as much as half of what
 * a records request costs the node. Two threads by default, as wrk ran:
 * the scheduler shares the cores per thread. Latency is the time from a request's
 * first byte written to its answer's last byte read; every latency is kept
 * and sorted for exact percentiles. */
#include "bench/loadgen.h"
#include "helix/hx_clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    hx_buf_t out;                /* the request being sent */
    size_t sent;
    char *in;                    /* the answer being read */
    size_t in_len, in_cap;
    int64_t start_ns;
    int want_out;                /* EPOLLOUT registered */
} conn_t;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int conn_open(int ep, int port, conn_t *c, size_t idx, hx_err_t *err)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return hx_err_set(err, HX_EIO, "load generator: socket: %s", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) && errno != EINPROGRESS)
        return hx_err_set(err, HX_EIO, "load generator: cannot connect to 127.0.0.1:%d: %s", port, strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = idx};
    c->want_out = 1;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev))
        return hx_err_set(err, HX_EIO, "load generator: epoll_ctl: %s", strerror(errno));
    return HX_OK;
}

static void conn_close(int ep, conn_t *c)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
}

static void want_out(int ep, conn_t *c, size_t idx, int on)
{
    if (c->want_out == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u64 = idx};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = on;
}

/* Writes what is left of c's request; -1 on a socket error. */
static int flush_out(int ep, conn_t *c, size_t idx)
{
    while (c->sent < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            want_out(ep, c, idx, 1);
            return 0;
        }
        if (n <= 0)
            return -1;
        c->sent += (size_t)n;
    }
    want_out(ep, c, idx, 0);
    return 0;
}

/* Status of a complete answer in c->in: the code, 0 while incomplete, -1
 * when it cannot be read (no Content-Length: the node always sends one). */
static int answer(conn_t *c, size_t *used)
{
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - c->in) + 4;
    if (c->in_len < 12 || memcmp(c->in, "HTTP/1.", 7))
        return -1;
    int code = atoi(c->in + 9);
    long clen = -1;
    for (char *p = memchr(c->in, '\n', head); p && p < end; p = memchr(p + 1, '\n', (size_t)(end - p))) {
        if (!strncasecmp(p + 1, "Content-Length:", 15)) {
            clen = strtol(p + 16, NULL, 10);
            break;
        }
    }
    if (clen < 0)
        return -1;
    if (c->in_len < head + (size_t)clen)
        return 0;
    *used = head + (size_t)clen;
    return code > 0 ? code : -1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    const hx_loadgen_opts_t *o;
    int first, nc;               /* this worker's connections: first .. first+nc-1 */
    int64_t deadline;
    atomic_uint_fast64_t *next;  /* request numbers, shared: dense over the run */
    hx_loadgen_result_t r;
    uint32_t *lat;
    size_t nlat;
    double cpu;
    int rc;
    hx_err_t err;
} worker_t;

static int work(worker_t *w)
{
    const hx_loadgen_opts_t *o = w->o;
    hx_loadgen_result_t *r = &w->r;
    hx_err_t *err = &w->err;
    size_t nc = (size_t)w->nc;
    conn_t *cs = calloc(nc, sizeof *cs);
    uint32_t *lat = NULL;
    size_t nlat = 0, cap_lat = 0;

    int ep = epoll_create1(EPOLL_CLOEXEC), rc = HX_OK;
    if (!cs || ep < 0) {
        rc = hx_err_set(err, HX_ENOMEM, "load generator: cannot start (%s)", ep < 0 ? strerror(errno) : "memory");
        goto cleanup;
    }
    for (size_t i = 0; i < nc; i++)
        cs[i].fd = -1;
    int64_t deadline = w->deadline;
    for (size_t i = 0; i < nc && !rc; i++) {
        if (!(rc = conn_open(ep, o->port, &cs[i], i, err)) &&
            (rc = o->request(o->ctx, w->first + (int)i, atomic_fetch_add(w->next, 1), &cs[i].out)))
            hx_err_set(err, rc, "load generator: cannot build a request");
        cs[i].start_ns = now_ns();
    }
    struct epoll_event evs[64];
    while (!rc) {
        int64_t t = now_ns();
        if (t >= deadline)
            break;
        int n = epoll_wait(ep, evs, 64, (int)((deadline - t) / 1000000) + 1);
        if (n < 0 && errno != EINTR) {
            rc = hx_err_set(err, HX_EIO, "load generator: epoll_wait: %s", strerror(errno));
            break;
        }
        for (int k = 0; k < n && !rc; k++) {
            size_t i = (size_t)evs[k].data.u64;
            conn_t *c = &cs[i];
            int broken = 0;
            if ((evs[k].events & EPOLLOUT) && flush_out(ep, c, i))
                broken = 1;
            while (!broken && (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                if (c->in_cap - c->in_len < 4096) {
                    size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
                    char *p = realloc(c->in, cap);
                    if (!p) {
                        rc = hx_err_set(err, HX_ENOMEM, "load generator: out of memory");
                        break;
                    }
                    c->in = p, c->in_cap = cap;
                }
                ssize_t got = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
                if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                    break;
                if (got <= 0) {
                    broken = 1;
                    break;
                }
                c->in_len += (size_t)got;
                size_t used = 0;
                int code = answer(c, &used);
                if (code == 0)
                    continue;
                if (code < 0) {
                    broken = 1;
                    break;
                }
                int64_t done = now_ns();
                if (done > deadline)
                    break; /* answered after the end: not counted, as wrk does */
                r->requests++;
                if (code < 200 || code > 299)
                    r->errors++;
                if (nlat == cap_lat) {
                    size_t cap = cap_lat ? cap_lat * 2 : 65536;
                    uint32_t *p = realloc(lat, cap * sizeof *p);
                    if (!p) {
                        rc = hx_err_set(err, HX_ENOMEM, "load generator: out of memory");
                        break;
                    }
                    lat = p, cap_lat = cap;
                }
                int64_t us = (done - c->start_ns) / 1000;
                lat[nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
                memmove(c->in, c->in + used, c->in_len - used);
                c->in_len -= used;
                hx_buf_reset(&c->out);
                c->sent = 0;
                if ((rc = o->request(o->ctx, w->first + (int)i, atomic_fetch_add(w->next, 1), &c->out))) {
                    hx_err_set(err, rc, "load generator: cannot build a request");
                    break;
                }
                c->start_ns = done;
                if (flush_out(ep, c, i))
                    broken = 1;
                if (c->in_len == 0)
                    break; /* the next answer cannot be here yet: no recv just to hear EAGAIN */
            }
            if (broken && !rc) { /* counted as wrk counts socket errors, then a new connection */
                r->requests++;
                r->errors++;
                conn_close(ep, c);
                c->in_len = 0;
                c->sent = 0;
                if (!(rc = conn_open(ep, o->port, c, i, err)))
                    c->start_ns = now_ns();
            }
        }
    }
    w->lat = lat, w->nlat = nlat;
    lat = NULL;
cleanup:
    for (size_t i = 0; cs && i < nc; i++) {
        if (ep >= 0)
            conn_close(ep, &cs[i]);
        hx_buf_free(&cs[i].out);
        free(cs[i].in);
    }
    if (ep >= 0)
        close(ep);
    free(cs);
    free(lat);
    return rc;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    w->rc = work(w);
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    w->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
             ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
    return NULL;
}

int hx_loadgen_run(const hx_loadgen_opts_t *o, hx_loadgen_result_t *r, hx_err_t *err)
{
    memset(r, 0, sizeof *r);
    int nc = o->connections > 0 ? o->connections : 32, nt = o->threads > 0 ? o->threads : 2;
    if (nt > nc)
        nt = nc;
    worker_t *ws = calloc((size_t)nt, sizeof *ws);
    pthread_t *th = calloc((size_t)nt, sizeof *th);
    int rc = ws && th ? HX_OK : hx_err_set(err, HX_ENOMEM, "load generator: out of memory"), started = 0;
    int64_t t0 = now_ns();
    atomic_uint_fast64_t next = 0;
    for (int t = 0; t < nt && !rc; t++) {
        ws[t] = (worker_t){.o = o, .first = nc * t / nt, .nc = nc * (t + 1) / nt - nc * t / nt, .next = &next,
                           .deadline = t0 + (int64_t)(o->seconds * 1e9)};
        if (pthread_create(&th[t], NULL, worker_main, &ws[t]))
            rc = hx_err_set(err, HX_EIO, "load generator: cannot start a thread");
        else
            started++;
    }
    size_t nlat = 0;
    for (int t = 0; t < started; t++) {
        pthread_join(th[t], NULL);
        if (!rc && ws[t].rc)
            rc = hx_err_set(err, ws[t].rc, "%s", ws[t].err.msg);
        r->requests += ws[t].r.requests;
        r->errors += ws[t].r.errors;
        r->cpu_seconds += ws[t].cpu;
        nlat += ws[t].nlat;
    }
    r->seconds = (double)(now_ns() - t0) / 1e9;
    uint32_t *lat = !rc && nlat ? malloc(nlat * sizeof *lat) : NULL;
    if (lat) {
        size_t k = 0;
        for (int t = 0; t < started; t++) {
            memcpy(lat + k, ws[t].lat, ws[t].nlat * sizeof *lat);
            k += ws[t].nlat;
        }
        qsort(lat, nlat, sizeof *lat, cmp_u32);
        r->p50_ms = lat[nlat / 2] / 1000.0;
        r->p99_ms = lat[nlat * 99 / 100] / 1000.0;
    }
    for (int t = 0; ws && t < nt; t++)
        free(ws[t].lat);
    free(lat);
    free(ws);
    free(th);
    return rc;
}
