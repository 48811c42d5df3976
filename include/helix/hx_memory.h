/* Distributed long-term memory: CRDT-replicated memories that every node
 * accepts writes for and that converge without losing an acknowledged write
 * (docs/memory.md).
 *
 * A memory engine owns one directory (its write-ahead log and snapshots) and
 * one node id. Replication uses only the public broker API: deltas go to
 * helixagent.memory.events keyed by memory_id, digests to
 * helixagent.memory.snapshots keyed by node id, and every engine consumes
 * every partition with its own group ("helix-memory-<node_id>"). Several
 * engines may share one hx_broker_t (tests and `helix bench memory` run three
 * in one process); on the Kafka backend each node is its own process.
 *
 * Requests and results are JSON (the HTTP API's bodies): the engine validates
 * input and reports errors a user can act on (HX_EINVAL -> 400, HX_ENOTFOUND
 * -> 404). Every call is scoped to a tenant; a tenant never sees another's
 * memories.
 *
 * Ownership: hx_memory_t is thread-safe. The broker and metrics registry are
 * borrowed and must outlive the engine. Every json_t ** out is a new
 * reference the caller owns; json_t inputs are borrowed. */
#ifndef HX_MEMORY_H
#define HX_MEMORY_H

#include "helix/hx_broker.h"
#include "helix/hx_buf.h"
#include "helix/hx_config.h"
#include "helix/hx_error.h"
#include "helix/hx_metrics.h"

#include <jansson.h>
#include <stdint.h>

typedef struct hx_memory hx_memory_t;
typedef struct hx_latency hx_latency_t;

typedef struct hx_memory_opts {
    const hx_config_t *cfg;    /* distributed_memory.*, event_log.fsync/flush_interval_ms; copied */
    const char *dir;           /* the engine's directory (serve: <node.data_dir>/memory); created */
    const char *node_id;       /* persistent node id, 1..63 chars of [A-Za-z0-9._-] */
    hx_broker_t *broker;       /* borrowed; NULL = a single node without sync */
    hx_metrics_t *metrics;     /* borrowed; NULL = none */
    int digest_interval_ms;    /* anti-entropy digest period; 0 = distributed_memory.sync.digest_interval_ms */
    int snapshot_interval_ms;  /* 0 = distributed_memory.snapshot.interval_seconds */
    int64_t max_drift_ms;      /* HLC drift guard; 0 = 60000 */
} hx_memory_opts_t;

void hx_memory_opts_defaults(hx_memory_opts_t *o);

/* Restores the newest full snapshot, later incrementals and the WAL, then
 * starts the sync threads (when a broker is given), resuming consumption
 * from the offsets stored with the snapshot. */
int hx_memory_open(const hx_memory_opts_t *o, hx_memory_t **out, hx_err_t *err);
/* Publishes what is queued (bounded wait), stops the threads, closes the WAL.
 * NULL is a no-op. */
void hx_memory_close(hx_memory_t *m);

/* ---- CRUD (bodies as in docs/memory.md) ----
 * A write is typed: JSON bodies are parsed into hx_memory_write_t in src/api
 * (hx_api_requests.h). `set` says which fields the write sets; the engine
 * checks the values (lengths, ranges, choices, required fields). */
enum {
    HX_MW_ID = 1u << 0,         /* create only, like the three below */
    HX_MW_USER_ID = 1u << 1,
    HX_MW_AGENT_ID = 1u << 2,
    HX_MW_SESSION_ID = 1u << 3,
    HX_MW_CONTENT = 1u << 4,
    HX_MW_SUMMARY = 1u << 5,    /* NULL clears */
    HX_MW_TYPE = 1u << 6,
    HX_MW_CATEGORY = 1u << 7,   /* NULL clears */
    HX_MW_IMPORTANCE = 1u << 8,
    HX_MW_EXPIRES_AT = 1u << 9, /* 0 clears */
    HX_MW_ENTITIES = 1u << 10,
    HX_MW_TAGS = 1u << 11,
    HX_MW_METADATA = 1u << 12,
};

typedef struct hx_memory_write {
    unsigned set;               /* HX_MW_* */
    const char *id, *user_id, *agent_id, *session_id; /* NULL = null */
    const char *content;
    const char *summary, *type, *category;
    double importance;          /* 0..1 */
    int64_t expires_at;         /* ms since the epoch; 0 = none */
    const json_t *entities;     /* array */
    const char *const *tags;    /* n_tags names: the whole tag set after the write */
    size_t n_tags;
    const json_t *metadata;     /* object: keys to set, a null value removes the key */
} hx_memory_write_t;

/* Writes return once the delta is in the WAL per event_log.fsync; *out (may
 * be NULL) gets the memory as read afterwards, plus "write": {hlc, node,
 * superseded: [[hlc,node]...]} naming the sibling versions the write saw.
 * Create needs user_id and content; id is generated when not set. */
int hx_memory_create(hx_memory_t *m, const char *tenant, const hx_memory_write_t *w, json_t **out, hx_err_t *err);
/* hx_memory_create with that answer appended to out as compact JSON text
 * (the bytes json_dumps(*out, JSON_COMPACT) gives), written without a tree:
 * the HTTP API's POST /v1/memory. */
int hx_memory_create_text(hx_memory_t *m, const char *tenant, const hx_memory_write_t *w, hx_buf_t *out,
                          hx_err_t *err);
/* Counts an access (access_count) unless count_access is 0. */
int hx_memory_get(hx_memory_t *m, const char *tenant, const char *id, int count_access, json_t **out,
                  hx_err_t *err);
/* Sets at least one field; id, user_id, agent_id and session_id cannot change. */
int hx_memory_update(hx_memory_t *m, const char *tenant, const char *id, const hx_memory_write_t *w, json_t **out,
                     hx_err_t *err);
int hx_memory_delete(hx_memory_t *m, const char *tenant, const char *id, hx_err_t *err);

typedef struct hx_memory_query {
    const char *user_id;       /* NULL = any */
    const char *type;          /* NULL = any */
    const char *tag;           /* NULL = any */
    const char *category;      /* NULL = any */
    int limit;                 /* 0 = 50; max 1000 */
} hx_memory_query_t;

/* Newest first (updated_at). *out = {"memories": [...], "count": n}. */
int hx_memory_list(hx_memory_t *m, const char *tenant, const hx_memory_query_t *q, json_t **out, hx_err_t *err);
/* BM25 over content (and summary) with the filters of hx_memory_query_t:
 * body {"query": "...", "user_id", "type", "tag", "category", "limit"}. */
int hx_memory_search(hx_memory_t *m, const char *tenant, const json_t *body, json_t **out, hx_err_t *err);
/* Conflicts detected since since_ms (wall ms), oldest first. */
int hx_memory_conflicts(hx_memory_t *m, const char *tenant, int64_t since_ms, int limit, json_t **out,
                        hx_err_t *err);

/* ---- sync ---- */
int hx_memory_sync_status(hx_memory_t *m, json_t **out, hx_err_t *err);
/* For /v1/bigdata/health: 0 healthy, HX_EIO (unhealthy) once the WAL failed
 * (writes refused until restart), HX_EUNAVAIL (degraded) when publishing
 * deltas is failing, when the sync lag from some origin (or of our own queued
 * deltas) exceeds distributed_memory.sync.max_lag_ms. detail gets the reason
 * (or a summary when healthy). */
int hx_memory_health(hx_memory_t *m, char *detail, size_t len);
/* Digest exchange with every peer and a pull of the buckets that differ;
 * waits up to timeout_ms for the peers' answers. */
int hx_memory_sync_force(hx_memory_t *m, int timeout_ms, json_t **out, hx_err_t *err);
/* Writes a snapshot now (full, or incremental over the last one). */
int hx_memory_snapshot(hx_memory_t *m, int full, hx_err_t *err);
/* Publishes every queued delta now and waits for the broker's acks. */
int hx_memory_flush(hx_memory_t *m, int timeout_ms, hx_err_t *err);

/* ---- introspection (tests and bench) ---- */
/* Canonical text of every state (all tenants), sorted: equal on converged replicas. */
int hx_memory_canonical(hx_memory_t *m, hx_buf_t *out);
/* Remote-op apply lag (apply time minus the origin's write time), borrowed. */
hx_latency_t *hx_memory_apply_lag(hx_memory_t *m);
/* Remote ops applied so far. */
uint64_t hx_memory_ops_applied(hx_memory_t *m);
const char *hx_memory_node_id(const hx_memory_t *m);
/* Fault injection for tests: drop_in discards incoming deltas (as if
 * retention removed them before this node read them; offsets still advance),
 * drop_out acknowledges outgoing deltas without producing them (lost in
 * transit). Digests and sync requests still flow, so anti-entropy
 * (hx_memory_sync_force) can repair the divergence. */
void hx_memory_test_drop(hx_memory_t *m, int drop_in, int drop_out);

#endif
