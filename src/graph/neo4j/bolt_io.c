/* Bolt socket I/O with deadlines and chunked framing. */
#include "graph/neo4j/bolt_io.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

const char *hx_bolt_msg_name(uint8_t tag, char *buf, size_t len)
{
    switch (tag) {
    case HX_BOLT_HELLO: return "HELLO";
    case HX_BOLT_GOODBYE: return "GOODBYE";
    case HX_BOLT_RESET: return "RESET";
    case HX_BOLT_RUN: return "RUN";
    case HX_BOLT_BEGIN: return "BEGIN";
    case HX_BOLT_COMMIT: return "COMMIT";
    case HX_BOLT_ROLLBACK: return "ROLLBACK";
    case HX_BOLT_DISCARD: return "DISCARD";
    case HX_BOLT_PULL: return "PULL";
    case HX_BOLT_TELEMETRY: return "TELEMETRY";
    case HX_BOLT_ROUTE: return "ROUTE";
    case HX_BOLT_LOGON: return "LOGON";
    case HX_BOLT_LOGOFF: return "LOGOFF";
    case HX_BOLT_SUCCESS: return "SUCCESS";
    case HX_BOLT_RECORD: return "RECORD";
    case HX_BOLT_IGNORED: return "IGNORED";
    case HX_BOLT_FAILURE: return "FAILURE";
    }
    snprintf(buf, len, "0x%02X", tag);
    return buf;
}

void hx_bolt_io_init(hx_bolt_io_t *io, int fd, const char *peer, size_t max_message)
{
    memset(io, 0, sizeof *io);
    io->fd = fd;
    io->peer = peer ? peer : "peer";
    io->max_message = max_message ? max_message : (size_t)64 << 20;
}

void hx_bolt_io_init_mem(hx_bolt_io_t *io, const void *p, size_t n, size_t max_message)
{
    hx_bolt_io_init(io, -1, "memory", max_message);
    io->mem = p;
    io->mem_len = n;
}

int64_t hx_bolt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hx_bolt_io_deadline(hx_bolt_io_t *io, int timeout_ms)
{
    io->deadline_ms = timeout_ms > 0 ? hx_bolt_now_ms() + timeout_ms : 0;
}

/* Waits for fd to be ready for events; 0, HX_ETIMEOUT or HX_EIO. */
static int wait_fd(hx_bolt_io_t *io, short events, hx_err_t *err)
{
    for (;;) {
        int timeout = -1;
        if (io->deadline_ms) {
            int64_t left = io->deadline_ms - hx_bolt_now_ms();
            if (left <= 0)
                return hx_err_set(err, HX_ETIMEOUT, "bolt: %s did not answer in time", io->peer);
            timeout = left > 1000000 ? 1000000 : (int)left;
        }
        struct pollfd pfd = {io->fd, events, 0};
        int n = poll(&pfd, 1, timeout);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return hx_err_set(err, HX_EIO, "bolt: poll on %s: %s", io->peer, strerror(errno));
    }
}

static int fill(hx_bolt_io_t *io, hx_err_t *err)
{
    io->rpos = io->rlen = 0;
    if (io->fd < 0) {
        size_t n = io->mem_len - io->mem_pos;
        if (n == 0) {
            io->eof = 1;
            return hx_err_set(err, HX_EIO, "bolt: %s closed the connection", io->peer);
        }
        if (n > sizeof io->rbuf)
            n = sizeof io->rbuf;
        memcpy(io->rbuf, io->mem + io->mem_pos, n);
        io->mem_pos += n;
        io->rlen = n;
        return 0;
    }
    for (;;) {
        int rc = wait_fd(io, POLLIN, err);
        if (rc)
            return rc;
        ssize_t n = recv(io->fd, io->rbuf, sizeof io->rbuf, 0);
        if (n > 0) {
            io->rlen = (size_t)n;
            return 0;
        }
        if (n == 0) {
            io->eof = 1;
            return hx_err_set(err, HX_EIO, "bolt: %s closed the connection", io->peer);
        }
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            return hx_err_set(err, HX_EIO, "bolt: reading from %s: %s", io->peer, strerror(errno));
    }
}

int hx_bolt_io_read(hx_bolt_io_t *io, void *p, size_t n, hx_err_t *err)
{
    unsigned char *dst = p;
    while (n) {
        if (io->rpos == io->rlen) {
            int rc = fill(io, err);
            if (rc)
                return rc;
        }
        size_t k = io->rlen - io->rpos;
        if (k > n)
            k = n;
        memcpy(dst, io->rbuf + io->rpos, k);
        io->rpos += k;
        dst += k;
        n -= k;
    }
    return 0;
}

int hx_bolt_io_write(hx_bolt_io_t *io, const void *p, size_t n, hx_err_t *err)
{
    if (io->fd < 0)
        return 0;
    const unsigned char *src = p;
    while (n) {
        ssize_t w = send(io->fd, src, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            src += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(io, POLLOUT, err);
            if (rc)
                return rc;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        return hx_err_set(err, HX_EIO, "bolt: writing to %s: %s", io->peer, w < 0 ? strerror(errno) : "no progress");
    }
    return 0;
}

int hx_bolt_chunk(hx_buf_t *out, const unsigned char *msg, size_t len)
{
    int rc = hx_buf_reserve(out, len + 2 * (len / HX_BOLT_MAX_CHUNK + 2));
    if (rc)
        return rc;
    while (len) {
        size_t k = len > HX_BOLT_MAX_CHUNK ? HX_BOLT_MAX_CHUNK : len;
        unsigned char h[2] = {(unsigned char)(k >> 8), (unsigned char)k};
        hx_buf_append(out, h, 2);
        hx_buf_append(out, msg, k);
        msg += k;
        len -= k;
    }
    return hx_buf_append(out, "\0\0", 2);
}

int hx_bolt_io_read_msg(hx_bolt_io_t *io, hx_buf_t *msg, hx_err_t *err)
{
    hx_buf_reset(msg);
    for (;;) {
        unsigned char h[2];
        int rc = hx_bolt_io_read(io, h, 2, err);
        if (rc)
            return rc;
        size_t k = (size_t)h[0] << 8 | h[1];
        if (k == 0) {
            if (msg->len)
                return 0;
            continue; /* NOOP */
        }
        if (msg->len + k > io->max_message)
            return hx_err_set(err, HX_ETOOBIG, "bolt: message from %s is over %zu bytes", io->peer, io->max_message);
        if ((rc = hx_buf_reserve(msg, k)))
            return hx_err_set(err, rc, "bolt: out of memory reading a message from %s", io->peer);
        if ((rc = hx_bolt_io_read(io, msg->data + msg->len, k, err)))
            return rc;
        msg->len += k;
    }
}

int hx_bolt_msg_decode(hx_ps_arena_t *a, const hx_buf_t *msg, hx_ps_value_t *out, hx_err_t *err)
{
    size_t pos = 0;
    int rc = hx_ps_decode(a, msg->data, msg->len, &pos, out, err);
    if (rc) {
        hx_err_wrap(err, "bolt message");
        return rc;
    }
    if (out->type != HX_PS_STRUCT)
        return hx_err_set(err, HX_ECORRUPT, "bolt: a message must be a structure, got PackStream type %d", out->type);
    if (pos != msg->len)
        return hx_err_set(err, HX_ECORRUPT, "bolt: %zu stray bytes after a message", msg->len - pos);
    return 0;
}

int hx_bolt_io_recv(hx_bolt_io_t *io, hx_buf_t *scratch, hx_ps_arena_t *a, hx_ps_value_t *out, hx_err_t *err)
{
    int rc = hx_bolt_io_read_msg(io, scratch, err);
    return rc ? rc : hx_bolt_msg_decode(a, scratch, out, err);
}
