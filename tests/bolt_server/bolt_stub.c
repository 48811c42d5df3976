/* The scripted Bolt server: listener, one thread per connection, handshake
 * and script playback. */
#include "bolt_stub.h"
#include "graph/neo4j/bolt_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256

typedef struct conn {
    hx_bolt_stub_t *stub;
    int fd, index, script;
    pthread_t th;
} conn_t;

struct hx_bolt_stub {
    hx_stub_script_t *scripts;
    size_t n_scripts;
    int *done;                   /* per script: runs completed */
    int lfd, port, stopping;
    pthread_t accept_th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    conn_t conns[MAX_CONNS];
    int n_conns, active;
    hx_buf_t errors;
};

static void add_error(hx_bolt_stub_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_error(hx_bolt_stub_t *s, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&s->mu);
    if (s->errors.len < 16384)
        hx_buf_printf(&s->errors, "%s%s", s->errors.len ? "\n" : "", line);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int send_value(hx_bolt_io_t *io, const hx_ps_value_t *msg)
{
    hx_buf_t enc = HX_BUF_INIT, out = HX_BUF_INIT;
    int rc = hx_ps_put_value(&enc, msg);
    if (!rc)
        rc = hx_bolt_chunk(&out, enc.data, enc.len);
    if (!rc)
        rc = hx_bolt_io_write(io, out.data, out.len, NULL);
    hx_buf_free(&enc);
    hx_buf_free(&out);
    return rc;
}

static int send_success(hx_bolt_io_t *io)
{
    hx_ps_value_t fields[1] = {{.type = HX_PS_MAP}};
    hx_ps_value_t m = {.type = HX_PS_STRUCT, .tag = HX_BOLT_SUCCESS, .n = 1, .u.items = fields};
    return send_value(io, &m);
}

/* Picks the first offered slot holding a version this script accepts. */
static int handshake(hx_bolt_stub_t *s, hx_stub_script_t *sc, hx_bolt_io_t *io, int ci)
{
    unsigned char hs[20];
    if (hx_bolt_io_read(io, hs, sizeof hs, NULL))
        return -1;
    if (hs[0] != 0x60 || hs[1] != 0x60 || hs[2] != 0xB0 || hs[3] != 0x17) {
        add_error(s, "connection %d: bad Bolt magic %02x%02x%02x%02x", ci, hs[0], hs[1], hs[2], hs[3]);
        return -1;
    }
    unsigned char v[4] = {0, 0, 0, 0};
    if (sc->handshake_raw) {
        memcpy(v, sc->handshake, 4);
    } else {
        for (int i = 0; i < 4 && !v[3]; i++) {
            int major = hs[7 + 4 * i], minor = hs[6 + 4 * i], range = hs[5 + 4 * i];
            for (int m = minor; m >= minor - range && m >= 0; m--) {
                int ok = (major == 5 && sc->max_major == 5 && m <= sc->max_minor) ||
                         (major == 4 && m == 4);
                if (ok) {
                    v[3] = (unsigned char)major;
                    v[2] = (unsigned char)m;
                    break;
                }
            }
        }
    }
    if (hx_bolt_io_write(io, v, 4, NULL))
        return -1;
    return v[3] || sc->handshake_raw ? 0 : -1;
}

static void describe(const hx_ps_value_t *m, hx_buf_t *out)
{
    char nb[8];
    hx_buf_puts(out, hx_bolt_msg_name(m->tag, nb, sizeof nb));
    for (uint32_t i = 0; i < m->n; i++) {
        hx_buf_putc(out, ' ');
        hx_ps_format(&m->u.items[i], out, 600);
    }
}

static void play(hx_bolt_stub_t *s, conn_t *c)
{
    hx_stub_script_t *sc = &s->scripts[c->script];
    hx_bolt_io_t io;
    char peer[32];
    snprintf(peer, sizeof peer, "client %d", c->index);
    hx_bolt_io_init(&io, c->fd, peer, (size_t)256 << 20);
    hx_buf_t scratch = HX_BUF_INIT;
    hx_ps_arena_t arena = HX_PS_ARENA_INIT;
    if (handshake(s, sc, &io, c->index))
        goto cleanup;
    size_t i = 0;
    int ended = 0;
    while (!ended) {
        hx_stub_step_t *st = i < sc->n_steps ? &sc->steps[i] : NULL;
        if (st && st->kind != ST_EXPECT) {
            i++;
            switch (st->kind) {
            case ST_SEND:
                if (send_value(&io, st->msg))
                    ended = 1;
                break;
            case ST_NOOP:
                hx_bolt_io_write(&io, "\0\0", 2, NULL);
                break;
            case ST_SLEEP: {
                struct timespec ts = {st->sleep_ms / 1000, (long)(st->sleep_ms % 1000) * 1000000L};
                nanosleep(&ts, NULL);
                break;
            }
            case ST_RAW:
                hx_bolt_io_write(&io, st->raw, st->raw_len, NULL);
                break;
            case ST_EXIT:
                ended = 1;
                break;
            default:
                break;
            }
            continue;
        }
        /* Expecting a message (or, past the script, only the end). */
        hx_ps_arena_free(&arena);
        hx_ps_value_t m;
        hx_err_t e = {0};
        int rc = hx_bolt_io_recv(&io, &scratch, &arena, &m, &e);
        if (rc) {
            if (!io.eof || st)
                add_error(s, "connection %d (script %d): %s%s", c->index, c->script, e.msg,
                          st ? ", before the script's end" : "");
            break;
        }
        if (st && hx_stub_match(st->msg, &m)) {
            i++;
            continue;
        }
        if (m.tag == HX_BOLT_RESET && sc->auto_reset) {
            send_success(&io);
            continue;
        }
        if (m.tag == HX_BOLT_GOODBYE && (sc->auto_goodbye || !st))
            break;
        hx_buf_t got = HX_BUF_INIT, want = HX_BUF_INIT;
        describe(&m, &got);
        if (st)
            describe(st->msg, &want);
        add_error(s, "connection %d (script %d line %d): expected %s\n  got %s", c->index, c->script,
                  st ? st->line : 0, st ? hx_buf_cstr(&want) : "the end of the script", hx_buf_cstr(&got));
        hx_buf_free(&got);
        hx_buf_free(&want);
        goto cleanup;
    }
    if (i < sc->n_steps) {
        add_error(s, "connection %d (script %d): the client left at line %d", c->index, c->script,
                  sc->steps[i].line);
    } else {
        pthread_mutex_lock(&s->mu);
        s->done[c->script]++;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
cleanup:
    hx_buf_free(&scratch);
    hx_ps_arena_free(&arena);
}

static void *conn_main(void *arg)
{
    conn_t *c = arg;
    play(c->stub, c);
    pthread_mutex_lock(&c->stub->mu);
    shutdown(c->fd, SHUT_RDWR);
    c->stub->active--;
    pthread_cond_broadcast(&c->stub->cv);
    pthread_mutex_unlock(&c->stub->mu);
    return NULL;
}

static void *accept_main(void *arg)
{
    hx_bolt_stub_t *s = arg;
    for (;;) {
        struct pollfd pfd = {s->lfd, POLLIN, 0};
        int n = poll(&pfd, 1, 100);
        pthread_mutex_lock(&s->mu);
        int stop = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            return NULL;
        if (n <= 0)
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_mutex_lock(&s->mu);
        int k = s->n_conns;
        int script = k < (int)s->n_scripts ? k : (s->scripts[s->n_scripts - 1].repeat ? (int)s->n_scripts - 1 : -1);
        if (k >= MAX_CONNS || script < 0) {
            pthread_mutex_unlock(&s->mu);
            add_error(s, "connection %d: unexpected (the scripts are for %zu connections)", k, s->n_scripts);
            close(fd);
            pthread_mutex_lock(&s->mu);
            s->n_conns++;
            pthread_mutex_unlock(&s->mu);
            continue;
        }
        conn_t *c = &s->conns[k];
        c->stub = s;
        c->fd = fd;
        c->index = k;
        c->script = script;
        s->n_conns++;
        s->active++;
        if (pthread_create(&c->th, NULL, conn_main, c)) {
            s->active--;
            close(fd);
            c->fd = -1;
        }
        pthread_mutex_unlock(&s->mu);
    }
}

int hx_bolt_stub_start(const char *const *scripts, size_t n, hx_bolt_stub_t **out, hx_err_t *err)
{
    *out = NULL;
    if (n == 0)
        return hx_err_set(err, HX_EINVAL, "bolt stub: no script");
    hx_bolt_stub_t *s = calloc(1, sizeof *s);
    s->scripts = calloc(n, sizeof *s->scripts);
    s->done = calloc(n, sizeof *s->done);
    s->lfd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = hx_stub_script_parse(scripts[i], (int)i, &s->scripts[i], err);
        if (!rc)
            s->n_scripts++;
    }
    if (rc)
        goto fail;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    int one = 1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) || listen(s->lfd, 64) ||
        getsockname(s->lfd, (struct sockaddr *)&sa, &sl)) {
        rc = hx_err_set(err, HX_EIO, "bolt stub: listen on 127.0.0.1: %s", strerror(errno));
        goto fail;
    }
    s->port = ntohs(sa.sin_port);
    if (pthread_create(&s->accept_th, NULL, accept_main, s)) {
        rc = hx_err_set(err, HX_EIO, "bolt stub: cannot start a thread");
        goto fail;
    }
    *out = s;
    return 0;
fail:
    if (s->lfd >= 0)
        close(s->lfd);
    for (size_t i = 0; i < s->n_scripts; i++)
        hx_stub_script_free(&s->scripts[i]);
    free(s->scripts);
    free(s->done);
    free(s);
    return rc;
}

int hx_bolt_stub_port(const hx_bolt_stub_t *s) { return s->port; }

const char *hx_bolt_stub_uri(const hx_bolt_stub_t *s, char *buf, size_t len)
{
    snprintf(buf, len, "bolt://127.0.0.1:%d", s->port);
    return buf;
}

int hx_bolt_stub_connections(hx_bolt_stub_t *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->n_conns;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static int all_done(hx_bolt_stub_t *s)
{
    for (size_t i = 0; i < s->n_scripts; i++)
        if (!s->done[i])
            return 0;
    return s->active == 0;
}

int hx_bolt_stub_wait(hx_bolt_stub_t *s, int timeout_ms, hx_err_t *err)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->errors.len && !all_done(s))
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
            break;
    int rc = 0;
    if (s->errors.len) {
        rc = hx_err_set(err, HX_EINVAL, "%s", hx_buf_cstr(&s->errors));
    } else if (!all_done(s)) {
        hx_buf_t why = HX_BUF_INIT;
        for (size_t i = 0; i < s->n_scripts; i++)
            if (!s->done[i])
                hx_buf_printf(&why, " script %zu not played to its end;", i);
        if (s->active)
            hx_buf_printf(&why, " %d connection(s) still open;", s->active);
        rc = hx_err_set(err, HX_ETIMEOUT, "bolt stub after %d ms:%s", timeout_ms, hx_buf_cstr(&why));
        hx_buf_free(&why);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void hx_bolt_stub_stop(hx_bolt_stub_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    for (int i = 0; i < s->n_conns && i < MAX_CONNS; i++)
        if (s->conns[i].stub && s->conns[i].fd >= 0)
            shutdown(s->conns[i].fd, SHUT_RDWR);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->accept_th, NULL);
    for (int i = 0; i < s->n_conns && i < MAX_CONNS; i++) {
        if (s->conns[i].stub && s->conns[i].fd >= 0) {
            pthread_join(s->conns[i].th, NULL);
            close(s->conns[i].fd);
        }
    }
    close(s->lfd);
    for (size_t i = 0; i < s->n_scripts; i++)
        hx_stub_script_free(&s->scripts[i]);
    free(s->scripts);
    free(s->done);
    hx_buf_free(&s->errors);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
