/* One Bolt connection: connect, handshake, HELLO/LOGON, requests and their
 * responses, FAILURE -> RESET recovery. */
#include "graph/neo4j/bolt.h"
#include "graph/neo4j/bolt_io.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef HX_VERSION
#define HX_VERSION "0"
#endif

#define NEWEST_MINOR 8

struct hx_bolt_conn {
    int fd;
    hx_bolt_io_t io;
    char peer[300];
    int major, minor;
    char server[128];
    char db[128];
    int io_timeout_ms;
    int broken, in_tx, pending_begin;
    int commit_unknown;  /* broke after COMMIT was sent, before its answer */
    char last_code[128];
    hx_buf_t out;        /* chunked requests not yet written */
    hx_buf_t tmp;        /* one message being encoded */
    hx_buf_t msg;        /* one message being read */
    hx_ps_arena_t arena; /* responses not kept by a result; freed per request */
};

/* ---- URI ---- */
int hx_bolt_parse_uri(const char *uri, char *host, size_t host_len, int *port, hx_err_t *err)
{
    const char *rest = NULL;
    static const char *const plain[] = {"bolt://", "neo4j://"};
    static const char *const tls[] = {"bolt+s://", "bolt+ssc://", "neo4j+s://", "neo4j+ssc://"};
    for (size_t i = 0; i < sizeof tls / sizeof tls[0]; i++)
        if (strncmp(uri, tls[i], strlen(tls[i])) == 0)
            return hx_err_set(err, HX_ECONFIG,
                              "neo4j.uri '%s': TLS is not supported by Helix's Bolt client; use bolt://host:port "
                              "on a trusted network (or a local TLS-terminating proxy)",
                              uri);
    for (size_t i = 0; i < sizeof plain / sizeof plain[0] && !rest; i++)
        if (strncmp(uri, plain[i], strlen(plain[i])) == 0)
            rest = uri + strlen(plain[i]);
    if (!rest)
        return hx_err_set(err, HX_ECONFIG, "neo4j.uri '%s' must look like bolt://host:port", uri);
    const char *h = rest, *hend;
    if (*h == '[') { /* [::1]:7687 */
        hend = strchr(h, ']');
        if (!hend)
            return hx_err_set(err, HX_ECONFIG, "neo4j.uri '%s': unclosed '[' in the host", uri);
        h++;
    } else {
        hend = h + strcspn(h, ":/?");
    }
    size_t hl = (size_t)(hend - h);
    if (hl == 0 || hl >= host_len)
        return hx_err_set(err, HX_ECONFIG, "neo4j.uri '%s' has no host (or one that is too long)", uri);
    memcpy(host, h, hl);
    host[hl] = '\0';
    const char *p = *hend == ']' ? hend + 1 : hend;
    *port = 7687;
    if (*p == ':') {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || v < 1 || v > 65535 || (*end && *end != '/' && *end != '?'))
            return hx_err_set(err, HX_ECONFIG, "neo4j.uri '%s': the port must be 1..65535", uri);
        *port = (int)v;
        p = end;
    }
    if (*p && strcmp(p, "/") != 0)
        return hx_err_set(err, HX_ECONFIG,
                          "neo4j.uri '%s': unexpected '%s' after host:port (the database goes in neo4j.database)", uri,
                          p);
    return 0;
}

/* ---- connect ---- */
static int tcp_connect(const char *host, int port, int timeout_ms, char *peer, size_t peer_len, int *out,
                       hx_err_t *err)
{
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(peer, peer_len, "%s:%d", host, port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, portstr, &hints, &res);
    if (g)
        return hx_err_set(err, HX_EUNAVAIL, "neo4j at %s: cannot resolve host: %s (check neo4j.uri)", peer,
                          gai_strerror(g));
    int rc = HX_EUNAVAIL;
    char why[160] = "no address";
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            snprintf(why, sizeof why, "socket: %s", strerror(errno));
            continue;
        }
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r < 0 && errno == EINPROGRESS) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            int n;
            do {
                n = poll(&pfd, 1, timeout_ms);
            } while (n < 0 && errno == EINTR);
            if (n == 0) {
                snprintf(why, sizeof why, "no answer in %d ms", timeout_ms);
                close(fd);
                rc = HX_ETIMEOUT;
                continue;
            }
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            r = soerr ? -1 : 0;
            errno = soerr;
        }
        if (r < 0) {
            snprintf(why, sizeof why, "%s", strerror(errno));
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        *out = fd;
        freeaddrinfo(res);
        return 0;
    }
    freeaddrinfo(res);
    return hx_err_set(err, rc, "neo4j at %s is unreachable: %s (is Neo4j running? check neo4j.uri)", peer, why);
}

/* ---- requests ---- */
static void msg_start(hx_bolt_conn_t *c, uint8_t tag, uint8_t nfields)
{
    hx_buf_reset(&c->tmp);
    hx_ps_put_struct_header(&c->tmp, tag, nfields);
}

static int msg_end(hx_bolt_conn_t *c) { return hx_bolt_chunk(&c->out, c->tmp.data, c->tmp.len); }

static void put_kv(hx_buf_t *b, const char *k, const char *v)
{
    hx_ps_put_cstr(b, k);
    hx_ps_put_cstr(b, v);
}

static int broken(hx_bolt_conn_t *c, int rc)
{
    c->broken = 1;
    c->in_tx = c->pending_begin = 0;
    return rc;
}

static int flush(hx_bolt_conn_t *c, hx_err_t *err)
{
    hx_bolt_io_deadline(&c->io, c->io_timeout_ms);
    int rc = hx_bolt_io_write(&c->io, c->out.data, c->out.len, err);
    hx_buf_reset(&c->out);
    return rc ? broken(c, rc) : 0;
}

/* Maps a Neo4j status code to ours: what a caller should do differs by
 * class (fix the statement, fix credentials, retry). */
static int code_of(const char *code)
{
    if (strncmp(code, "Neo.ClientError.Security.", 25) == 0)
        return HX_EAUTH;
    if (strncmp(code, "Neo.TransientError.", 19) == 0)
        return HX_EAGAIN;
    if (strcmp(code, "Neo.ClientError.Schema.ConstraintValidationFailed") == 0)
        return HX_ECONFLICT;
    if (strcmp(code, "Neo.ClientError.Database.DatabaseNotFound") == 0)
        return HX_ECONFIG;
    if (strncmp(code, "Neo.ClientError.", 16) == 0)
        return HX_EINVAL;
    return HX_EUNAVAIL; /* Neo.DatabaseError.*: the server's own trouble */
}

#define R_SUCCESS 0
#define R_FAILURE 1
#define R_IGNORED 2

/* Reads messages until the summary of one request. RECORDs go to res (a
 * protocol error where none may come). Returns R_* or a negative error,
 * after which the connection is broken. *meta gets the summary's map. */
static int read_summary(hx_bolt_conn_t *c, const char *req, hx_bolt_result_t *res, const hx_ps_value_t **meta,
                        hx_err_t *err)
{
    hx_ps_arena_t *a = res ? &res->arena : &c->arena;
    for (;;) {
        hx_ps_value_t m;
        int rc = hx_bolt_io_recv(&c->io, &c->msg, a, &m, err);
        if (rc) {
            if (rc == HX_ETIMEOUT)
                hx_err_set(err, HX_ETIMEOUT, "neo4j at %s did not answer %s within %d ms (neo4j.timeout_ms)",
                           c->peer, req, c->io_timeout_ms);
            else
                hx_err_wrap(err, "neo4j %s", req);
            return broken(c, rc);
        }
        char nb[8];
        switch (m.tag) {
        case HX_BOLT_RECORD:
            if (!res || m.n != 1 || m.u.items[0].type != HX_PS_LIST)
                return broken(c, hx_err_set(err, HX_ECORRUPT, "neo4j at %s sent a stray or malformed RECORD after %s",
                                            c->peer, req));
            if (res->n_records == res->cap) {
                size_t cap = res->cap ? res->cap * 2 : 64;
                const hx_ps_value_t **r = realloc(res->records, cap * sizeof *r);
                if (!r)
                    return broken(c, hx_err_set(err, HX_ENOMEM, "neo4j: out of memory holding %zu records",
                                                res->n_records));
                res->records = r;
                res->cap = cap;
            }
            res->records[res->n_records++] = &m.u.items[0];
            continue;
        case HX_BOLT_SUCCESS:
        case HX_BOLT_FAILURE:
            if (m.n != 1 || m.u.items[0].type != HX_PS_MAP)
                return broken(c, hx_err_set(err, HX_ECORRUPT, "neo4j at %s sent a %s without its metadata map",
                                            c->peer, hx_bolt_msg_name(m.tag, nb, sizeof nb)));
            if (meta) {
                /* The value lives in the arena; copy it out of the stack. */
                hx_ps_value_t *keep = hx_ps_arena_alloc(a, sizeof *keep);
                if (!keep)
                    return broken(c, hx_err_set(err, HX_ENOMEM, "neo4j: out of memory"));
                *keep = m.u.items[0];
                *meta = keep;
            }
            if (m.tag == HX_BOLT_SUCCESS)
                return R_SUCCESS;
            {
                const hx_ps_value_t *map = &m.u.items[0];
                /* Bolt 5.7 renamed "code" to "neo4j_code" (GQL errors). */
                const char *code = hx_ps_map_str(map, "neo4j_code");
                if (!code)
                    code = hx_ps_map_str(map, "code");
                const char *msg = hx_ps_map_str(map, "message");
                snprintf(c->last_code, sizeof c->last_code, "%s", code ? code : "Neo.DatabaseError.General.Unknown");
                hx_err_set(err, code_of(c->last_code), "neo4j: %s: %s", c->last_code, msg ? msg : "(no message)");
            }
            return R_FAILURE;
        case HX_BOLT_IGNORED:
            return R_IGNORED;
        default:
            return broken(c, hx_err_set(err, HX_ECORRUPT, "neo4j at %s answered %s with an unexpected %s", c->peer,
                                        req, hx_bolt_msg_name(m.tag, nb, sizeof nb)));
        }
    }
}

/* After a FAILURE the server ignores everything until RESET. */
static int do_reset(hx_bolt_conn_t *c, hx_err_t *err)
{
    msg_start(c, HX_BOLT_RESET, 0);
    int rc = msg_end(c);
    if (!rc)
        rc = flush(c, err);
    c->in_tx = c->pending_begin = 0;
    if (rc)
        return rc;
    hx_err_t e2 = {0};
    rc = read_summary(c, "RESET", NULL, NULL, &e2);
    if (rc == R_SUCCESS)
        return 0;
    if (rc > 0)
        rc = broken(c, HX_EIO);
    if (err && !err->code)
        *err = e2;
    return rc;
}

/* Reads the answers of n pipelined requests; on the first FAILURE keeps its
 * error, drains the rest (IGNORED) and RESETs. metas may be NULL. */
static int finish(hx_bolt_conn_t *c, const char *const *reqs, int n, hx_bolt_result_t *const *results,
                  const hx_ps_value_t **metas, hx_err_t *err)
{
    int failed = 0;
    hx_err_t first = {0};
    for (int i = 0; i < n; i++) {
        hx_err_t e = {0};
        int rc = read_summary(c, reqs[i], results ? results[i] : NULL, metas ? &metas[i] : NULL, &e);
        if (rc < 0) {
            if (err)
                *err = failed ? first : e;
            return failed ? first.code : rc;
        }
        if (rc == R_FAILURE && !failed) {
            failed = 1;
            first = e;
        } else if (rc == R_IGNORED && !failed) {
            /* IGNORED with no FAILURE before it: the server was already in
             * a failed state we did not know of. */
            failed = 1;
            hx_err_set(&first, HX_EINTERNAL, "neo4j at %s ignored %s (connection out of step); it was reset",
                       c->peer, reqs[i]);
        }
    }
    if (!failed)
        return 0;
    do_reset(c, NULL);
    if (err)
        *err = first;
    return first.code ? first.code : HX_EINTERNAL;
}

static int usable(hx_bolt_conn_t *c, hx_err_t *err)
{
    if (c->broken)
        return hx_err_set(err, HX_EIO, "neo4j connection to %s is broken; open a new one", c->peer);
    hx_ps_arena_free(&c->arena);
    c->last_code[0] = '\0';
    return 0;
}

/* ---- open / close ---- */
static int handshake(hx_bolt_conn_t *c, const hx_bolt_opts_t *o, hx_err_t *err)
{
    int maj = o->max_major ? o->max_major : 5;
    int min = o->max_major ? o->max_minor : NEWEST_MINOR;
    if (!((maj == 5 && min <= NEWEST_MINOR) || (maj == 4 && min == 4)))
        return hx_err_set(err, HX_EINVAL, "bolt: cannot offer version %d.%d (this client speaks 5.0-5.%d and 4.4)",
                          maj, min, NEWEST_MINOR);
    unsigned char hs[20] = {0x60, 0x60, 0xB0, 0x17};
    uint32_t slots[4] = {0};
    if (maj == 5) {
        slots[0] = hx_bolt_version_slot(5, (uint8_t)min, (uint8_t)min);
        slots[1] = hx_bolt_version_slot(4, 4, 0);
    } else {
        slots[0] = hx_bolt_version_slot(4, 4, 0);
    }
    for (int i = 0; i < 4; i++) {
        hs[4 + 4 * i] = (unsigned char)(slots[i] >> 24);
        hs[5 + 4 * i] = (unsigned char)(slots[i] >> 16);
        hs[6 + 4 * i] = (unsigned char)(slots[i] >> 8);
        hs[7 + 4 * i] = (unsigned char)slots[i];
    }
    hx_bolt_io_deadline(&c->io, c->io_timeout_ms);
    int rc = hx_bolt_io_write(&c->io, hs, sizeof hs, err);
    unsigned char v[4];
    if (!rc)
        rc = hx_bolt_io_read(&c->io, v, 4, err);
    if (rc) {
        hx_err_wrap(err, "neo4j at %s: Bolt handshake (is this a Bolt port? Neo4j's is usually 7687)", c->peer);
        return rc;
    }
    if (memcmp(v, "HTTP", 4) == 0)
        return hx_err_set(err, HX_EUNSUPPORTED,
                          "neo4j at %s answered with HTTP: neo4j.uri points at the HTTP port, use the Bolt port "
                          "(usually 7687)",
                          c->peer);
    c->major = v[3];
    c->minor = v[2];
    if (c->major == 0 && c->minor == 0)
        return hx_err_set(err, HX_EUNSUPPORTED,
                          "neo4j at %s speaks none of the Bolt versions offered (5.0-5.%d, 4.4); Neo4j 4.4 or "
                          "newer is needed",
                          c->peer, min);
    if (!((c->major == 5 && maj == 5 && c->minor <= min) || (c->major == 4 && c->minor == 4)))
        return hx_err_set(err, HX_ECORRUPT, "neo4j at %s chose Bolt %d.%d, which was not offered", c->peer, c->major,
                          c->minor);
    return 0;
}

static void put_auth(hx_buf_t *b, const hx_bolt_opts_t *o)
{
    int basic = o->user && *o->user;
    put_kv(b, "scheme", basic ? "basic" : "none");
    if (basic) {
        put_kv(b, "principal", o->user);
        put_kv(b, "credentials", o->password ? o->password : "");
    }
}

static int auth_error(hx_bolt_conn_t *c, const hx_bolt_opts_t *o, int rc, hx_err_t *err)
{
    if (rc == HX_EAUTH)
        hx_err_wrap(err, "neo4j at %s refused user '%s' (check neo4j.user and neo4j.password)", c->peer,
                    o->user ? o->user : "");
    else
        hx_err_wrap(err, "neo4j at %s: HELLO", c->peer);
    return broken(c, rc);
}

static int hello(hx_bolt_conn_t *c, const hx_bolt_opts_t *o, hx_err_t *err)
{
    char agent[128];
    snprintf(agent, sizeof agent, "%s", o->user_agent ? o->user_agent : "helix/" HX_VERSION);
    int logon = c->major == 5 && c->minor >= 1;
    int agent_map = c->major == 5 && c->minor >= 3;
    uint32_t n = 1 + (agent_map ? 1 : 0) + (logon ? 0 : (o->user && *o->user ? 3 : 1));
    msg_start(c, HX_BOLT_HELLO, 1);
    hx_ps_put_map_header(&c->tmp, n);
    put_kv(&c->tmp, "user_agent", agent);
    if (agent_map) {
        hx_ps_put_cstr(&c->tmp, "bolt_agent");
        hx_ps_put_map_header(&c->tmp, 3);
        put_kv(&c->tmp, "product", agent);
        put_kv(&c->tmp, "platform", "Linux");
        put_kv(&c->tmp, "language", "C/11");
    }
    if (!logon)
        put_auth(&c->tmp, o);
    int rc = msg_end(c);
    if (!rc && logon) {
        msg_start(c, HX_BOLT_LOGON, 1);
        hx_ps_put_map_header(&c->tmp, o->user && *o->user ? 3 : 1);
        put_auth(&c->tmp, o);
        rc = msg_end(c);
    }
    if (rc)
        return hx_err_set(err, rc, "neo4j: out of memory");
    if ((rc = flush(c, err)))
        return rc;
    const hx_ps_value_t *meta[2] = {NULL, NULL};
    static const char *const reqs[] = {"HELLO", "LOGON"};
    for (int i = 0; i < (logon ? 2 : 1); i++) {
        hx_err_t e = {0};
        rc = read_summary(c, reqs[i], NULL, &meta[i], &e);
        if (rc == R_FAILURE || rc == R_IGNORED) {
            if (err)
                *err = e;
            /* A failed HELLO is followed by the server closing; nothing to drain. */
            return auth_error(c, o, e.code ? e.code : HX_EAUTH, err);
        }
        if (rc < 0) {
            if (err)
                *err = e;
            return auth_error(c, o, rc, err);
        }
    }
    const char *server = hx_ps_map_str(meta[0], "server");
    snprintf(c->server, sizeof c->server, "%s", server ? server : "Neo4j/unknown");
    return 0;
}

int hx_bolt_open(const hx_bolt_opts_t *o, hx_bolt_conn_t **out, hx_err_t *err)
{
    *out = NULL;
    char host[256];
    int port;
    int rc = hx_bolt_parse_uri(o->uri ? o->uri : "", host, sizeof host, &port, err);
    if (rc)
        return rc;
    hx_bolt_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return hx_err_set(err, HX_ENOMEM, "neo4j: out of memory");
    c->fd = -1;
    c->io_timeout_ms = o->io_timeout_ms > 0 ? o->io_timeout_ms : 30000;
    snprintf(c->db, sizeof c->db, "%s", o->database ? o->database : "");
    int ct = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
    rc = tcp_connect(host, port, ct, c->peer, sizeof c->peer, &c->fd, err);
    if (rc)
        goto cleanup;
    hx_bolt_io_init(&c->io, c->fd, c->peer, o->max_message_bytes);
    if ((rc = handshake(c, o, err)) || (rc = hello(c, o, err)))
        goto cleanup;
    *out = c;
    return 0;
cleanup:
    c->broken = 1;
    hx_bolt_close(c);
    return rc;
}

void hx_bolt_close(hx_bolt_conn_t *c)
{
    if (!c)
        return;
    if (c->fd >= 0) {
        if (!c->broken) {
            hx_buf_reset(&c->out);
            msg_start(c, HX_BOLT_GOODBYE, 0);
            if (!msg_end(c)) {
                hx_bolt_io_deadline(&c->io, 1000);
                hx_bolt_io_write(&c->io, c->out.data, c->out.len, NULL);
            }
        }
        close(c->fd);
    }
    hx_buf_free(&c->out);
    hx_buf_free(&c->tmp);
    hx_buf_free(&c->msg);
    hx_ps_arena_free(&c->arena);
    free(c);
}

void hx_bolt_version(const hx_bolt_conn_t *c, int *major, int *minor)
{
    *major = c->major;
    *minor = c->minor;
}

const char *hx_bolt_server_agent(const hx_bolt_conn_t *c) { return c->server; }
int hx_bolt_broken(const hx_bolt_conn_t *c) { return c->broken; }
int hx_bolt_in_tx(const hx_bolt_conn_t *c) { return c->in_tx; }
int hx_bolt_commit_unknown(const hx_bolt_conn_t *c) { return c->commit_unknown; }
const char *hx_bolt_last_code(const hx_bolt_conn_t *c) { return c->last_code; }

/* ---- results ---- */
void hx_bolt_result_free(hx_bolt_result_t *r)
{
    if (!r)
        return;
    free(r->records);
    hx_ps_arena_free(&r->arena);
    memset(r, 0, sizeof *r);
}

int hx_bolt_result_col(const hx_bolt_result_t *r, const char *name)
{
    if (!r->fields)
        return -1;
    for (uint32_t i = 0; i < r->fields->n; i++) {
        const hx_ps_value_t *f = &r->fields->u.items[i];
        if (f->type == HX_PS_STRING && strcmp(f->u.s, name) == 0)
            return (int)i;
    }
    return -1;
}

const hx_ps_value_t *hx_bolt_result_get(const hx_bolt_result_t *r, size_t row, int col)
{
    if (row >= r->n_records || col < 0 || (uint32_t)col >= r->records[row]->n)
        return NULL;
    return &r->records[row]->u.items[col];
}

/* ---- statements and transactions ---- */
static int queue_begin(hx_bolt_conn_t *c, int write)
{
    msg_start(c, HX_BOLT_BEGIN, 1);
    hx_ps_put_map_header(&c->tmp, (*c->db ? 1u : 0u) + (write ? 0u : 1u));
    if (*c->db)
        put_kv(&c->tmp, "db", c->db);
    if (!write)
        put_kv(&c->tmp, "mode", "r");
    return msg_end(c);
}

int hx_bolt_begin(hx_bolt_conn_t *c, int write, hx_err_t *err)
{
    int rc = usable(c, err);
    if (rc)
        return rc;
    if (c->in_tx)
        return hx_err_set(err, HX_EINVAL, "neo4j: a transaction is already open on this connection");
    if ((rc = queue_begin(c, write)))
        return hx_err_set(err, rc, "neo4j: out of memory");
    c->in_tx = c->pending_begin = 1;
    return 0;
}

int hx_bolt_run(hx_bolt_conn_t *c, const char *cypher, const hx_buf_t *params, hx_bolt_result_t *res,
                hx_err_t *err)
{
    int rc = usable(c, err);
    if (rc)
        return rc;
    hx_bolt_result_t discard = {0};
    hx_bolt_result_t *r = res ? res : &discard;
    msg_start(c, HX_BOLT_RUN, 3);
    hx_ps_put_cstr(&c->tmp, cypher);
    if (params && params->len)
        hx_buf_append(&c->tmp, params->data, params->len);
    else
        hx_ps_put_map_header(&c->tmp, 0);
    int autocommit = !c->in_tx;
    hx_ps_put_map_header(&c->tmp, autocommit && *c->db ? 1 : 0);
    if (autocommit && *c->db)
        put_kv(&c->tmp, "db", c->db);
    rc = msg_end(c);
    int more = 1, first = 1;
    while (!rc && more) {
        msg_start(c, HX_BOLT_PULL, 1);
        hx_ps_put_map_header(&c->tmp, 1);
        hx_ps_put_cstr(&c->tmp, "n");
        hx_ps_put_int(&c->tmp, -1);
        if ((rc = msg_end(c))) {
            hx_err_set(err, rc, "neo4j: out of memory");
            break;
        }
        if ((rc = flush(c, err)))
            break;
        const char *reqs[3];
        hx_bolt_result_t *results[3];
        const hx_ps_value_t *metas[3] = {NULL, NULL, NULL};
        int n = 0;
        if (first && c->pending_begin) {
            reqs[n] = "BEGIN";
            results[n++] = NULL;
        }
        if (first) {
            reqs[n] = "RUN";
            results[n++] = r;
        }
        reqs[n] = "PULL";
        results[n++] = r;
        c->pending_begin = 0;
        if ((rc = finish(c, reqs, n, results, metas, err)))
            break;
        if (first) {
            const hx_ps_value_t *fields = hx_ps_map_get(metas[n - 2], "fields");
            r->fields = fields && fields->type == HX_PS_LIST ? fields : NULL;
        }
        r->summary = metas[n - 1];
        const hx_ps_value_t *hm = hx_ps_map_get(metas[n - 1], "has_more");
        more = hm && hm->type == HX_PS_BOOL && hm->u.b;
        first = 0;
    }
    if (rc == HX_ENOMEM)
        broken(c, rc);
    hx_bolt_result_free(&discard);
    return rc;
}

static int end_tx(hx_bolt_conn_t *c, uint8_t tag, const char *name, hx_err_t *err)
{
    int rc = usable(c, err);
    if (rc)
        return rc;
    if (!c->in_tx)
        return hx_err_set(err, HX_EINVAL, "neo4j: %s without an open transaction", name);
    if (tag == HX_BOLT_ROLLBACK && c->pending_begin) {
        /* Nothing reached the server yet: drop the queued BEGIN. */
        hx_buf_reset(&c->out);
        c->in_tx = c->pending_begin = 0;
        return 0;
    }
    msg_start(c, tag, 0);
    if ((rc = msg_end(c)) || (rc = flush(c, err)))
        return rc;
    const char *reqs[2];
    int n = 0;
    if (c->pending_begin)
        reqs[n++] = "BEGIN";
    reqs[n++] = name;
    c->pending_begin = 0;
    c->in_tx = 0;
    c->commit_unknown = tag == HX_BOLT_COMMIT;
    rc = finish(c, reqs, n, NULL, NULL, err);
    if (!c->broken)
        c->commit_unknown = 0;
    return rc;
}

int hx_bolt_commit(hx_bolt_conn_t *c, hx_err_t *err) { return end_tx(c, HX_BOLT_COMMIT, "COMMIT", err); }
int hx_bolt_rollback(hx_bolt_conn_t *c, hx_err_t *err) { return end_tx(c, HX_BOLT_ROLLBACK, "ROLLBACK", err); }

int hx_bolt_reset(hx_bolt_conn_t *c, hx_err_t *err)
{
    int rc = usable(c, err);
    if (rc)
        return rc;
    hx_buf_reset(&c->out);
    rc = do_reset(c, err);
    if (rc && err && !err->code)
        hx_err_set(err, rc, "neo4j at %s: RESET failed", c->peer);
    return rc;
}
