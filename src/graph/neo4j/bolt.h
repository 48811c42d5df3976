/* Bolt client: one connection to a Neo4j server, and a small pool.
 *
 * A connection negotiates Bolt 5.0-5.8 or 4.4 (newest first), says HELLO
 * (and LOGON on 5.1+, where credentials left HELLO) with basic auth, and runs
 * statements in auto-commit or in one explicit transaction
 * (BEGIN/RUN/PULL/COMMIT/ROLLBACK). A FAILURE from the server comes back as
 * our error with the server's code and message ("neo4j: Neo.ClientError.
 * Statement.SyntaxError: Invalid input ..."), mapped to an HX_E* code; the
 * connection then RESETs itself so it is usable again (any open transaction
 * is gone). I/O errors, timeouts and protocol violations leave a connection
 * broken (hx_bolt_broken); the pool replaces broken connections.
 *
 * Threads: a connection is used by one thread at a time; the pool is
 * thread-safe. TLS (bolt+s://, neo4j+s://) is not supported. */
#ifndef HX_BOLT_H
#define HX_BOLT_H

#include "graph/neo4j/packstream.h"
#include "helix/hx_buf.h"
#include "helix/hx_error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hx_bolt_opts {
    const char *uri;                 /* bolt://host[:port] (neo4j:// is accepted, without routing) */
    const char *user, *password;     /* basic auth; empty user = no auth ("none" scheme) */
    const char *database;            /* NULL or "" = the server's default database */
    const char *user_agent;          /* NULL = "helix/<version>" */
    int connect_timeout_ms;          /* <= 0: 5000 */
    int io_timeout_ms;               /* one request and its answer; <= 0: 30000 */
    uint8_t max_major, max_minor;    /* newest version to offer; 0 = 5.8 (tests offer less) */
    size_t max_message_bytes;        /* largest answer accepted; 0 = 64 MiB */
} hx_bolt_opts_t;

/* Splits a bolt:// or neo4j:// URI into host and port (default 7687).
 * HX_ECONFIG naming the knob on anything else. */
int hx_bolt_parse_uri(const char *uri, char *host, size_t host_len, int *port, hx_err_t *err);

typedef struct hx_bolt_conn hx_bolt_conn_t;

/* Connects, negotiates and authenticates. A wrong password is HX_EAUTH, an
 * unreachable server HX_EUNAVAIL, a server speaking no version we offer
 * HX_EUNSUPPORTED. The caller owns *out (hx_bolt_close). */
int hx_bolt_open(const hx_bolt_opts_t *o, hx_bolt_conn_t **out, hx_err_t *err);
/* Says GOODBYE when the connection is healthy, closes and frees. NULL ok. */
void hx_bolt_close(hx_bolt_conn_t *c);

void hx_bolt_version(const hx_bolt_conn_t *c, int *major, int *minor);
const char *hx_bolt_server_agent(const hx_bolt_conn_t *c);   /* "Neo4j/5.20.0" */
int hx_bolt_broken(const hx_bolt_conn_t *c);                 /* must be discarded */
int hx_bolt_in_tx(const hx_bolt_conn_t *c);
/* The connection broke after COMMIT went out and before its answer: the
 * transaction may or may not have committed. */
int hx_bolt_commit_unknown(const hx_bolt_conn_t *c);
/* The server's code of the last FAILURE on this connection ("" if none). */
const char *hx_bolt_last_code(const hx_bolt_conn_t *c);

/* The records and summary of one statement. Everything lives in the arena;
 * hx_bolt_result_free releases it (a zeroed result is empty and valid). */
typedef struct hx_bolt_result {
    hx_ps_arena_t arena;
    const hx_ps_value_t *fields;     /* list of column names */
    const hx_ps_value_t **records;   /* n_records lists, one value per field */
    size_t n_records, cap;
    const hx_ps_value_t *summary;    /* metadata of the closing SUCCESS (map) */
} hx_bolt_result_t;

void hx_bolt_result_free(hx_bolt_result_t *r);
/* Index of a column, -1 when absent. */
int hx_bolt_result_col(const hx_bolt_result_t *r, const char *name);
/* Value of column col in record row (NULL when out of range). */
const hx_ps_value_t *hx_bolt_result_get(const hx_bolt_result_t *r, size_t row, int col);

/* Runs one statement and pulls every record. params is an encoded PackStream
 * map (hx_ps_put_map_header + entries) or NULL for none. Outside a
 * transaction it runs in auto-commit (on the configured database). res may
 * be NULL to discard the records. */
int hx_bolt_run(hx_bolt_conn_t *c, const char *cypher, const hx_buf_t *params, hx_bolt_result_t *res,
                hx_err_t *err);

/* Explicit transaction. write = 0 sends mode "r" (routes reads in a cluster).
 * BEGIN is pipelined with the first RUN. */
int hx_bolt_begin(hx_bolt_conn_t *c, int write, hx_err_t *err);
int hx_bolt_commit(hx_bolt_conn_t *c, hx_err_t *err);
int hx_bolt_rollback(hx_bolt_conn_t *c, hx_err_t *err);
/* Back to a clean READY state (ends any transaction). */
int hx_bolt_reset(hx_bolt_conn_t *c, hx_err_t *err);

/* ---- pool ---- */
typedef struct hx_bolt_pool hx_bolt_pool_t;

typedef struct hx_bolt_pool_stats {
    int idle, in_use;
    uint64_t opened, discarded;      /* connections opened / dropped as broken, since creation */
} hx_bolt_pool_stats_t;

/* Copies o (and its strings). Connections open on demand, at most size at
 * once. The caller owns *out (hx_bolt_pool_free). */
int hx_bolt_pool_new(const hx_bolt_opts_t *o, int size, hx_bolt_pool_t **out, hx_err_t *err);
/* Waits up to the connect timeout for a free slot. */
int hx_bolt_pool_acquire(hx_bolt_pool_t *p, hx_bolt_conn_t **out, hx_err_t *err);
/* Returns a connection: broken ones are closed, an open transaction is
 * rolled back. */
void hx_bolt_pool_release(hx_bolt_pool_t *p, hx_bolt_conn_t *c);
void hx_bolt_pool_free(hx_bolt_pool_t *p);
void hx_bolt_pool_stats(hx_bolt_pool_t *p, hx_bolt_pool_stats_t *out);

/* Runs fn on a pooled connection. When fn fails because the connection
 * broke (a server restart, an idle connection the server dropped), every
 * idle connection is dropped and fn runs once more on a new one: that is the
 * reconnect. Not after a timeout (it already waited its time) nor when the
 * break came after a COMMIT was sent (it may have committed: the caller
 * decides, knowing whether its work can be repeated). */
typedef int (*hx_bolt_work_fn)(hx_bolt_conn_t *c, void *ctx, hx_err_t *err);
int hx_bolt_pool_with(hx_bolt_pool_t *p, hx_bolt_work_fn fn, void *ctx, hx_err_t *err);

#endif
