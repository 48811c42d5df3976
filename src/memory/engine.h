/* Internals of the memory engine shared by the files of src/memory. */
#ifndef HX_MEMORY_ENGINE_H
#define HX_MEMORY_ENGINE_H

#include "helix/hx_hlc.h"
#include "helix/hx_memory.h"
#include "memory/crdt.h"

#include <pthread.h>
#include <stdatomic.h>

#define HX_MEM_BUCKETS 256
#define HX_MEM_PARTS_MAX 1024

/* ---- store: (tenant, id) -> state ---- */
typedef struct hx_mitem {
    hx_mcrdt_t *s;
    uint64_t hash;             /* xxh3 of the canonical text, valid when hash_ok */
    int hash_ok;
    int snap_dirty;            /* changed since the last snapshot */
    uint32_t bucket;
    int64_t updated_ms;        /* wall ms of the greatest stamp */
} hx_mitem_t;

typedef struct hx_mstore {
    hx_mitem_t **slots;        /* open addressing, NULL = empty */
    uint64_t *hashes;          /* the key hash of each used slot */
    size_t cap, count;
} hx_mstore_t;

int hx_mstore_init(hx_mstore_t *st);
void hx_mstore_free(hx_mstore_t *st);
hx_mitem_t *hx_mstore_get(hx_mstore_t *st, const char *tenant, const char *id);
/* Inserts an empty state for (tenant, id) if absent. NULL on ENOMEM. */
hx_mitem_t *hx_mstore_put(hx_mstore_t *st, const char *tenant, const char *id);
uint32_t hx_mstore_bucket(const char *tenant, const char *id);
void hx_mitem_touch(hx_mitem_t *it);

/* ---- write-ahead log with group commit ---- */
typedef struct hx_mwal hx_mwal_t;
typedef int (*hx_mwal_replay_fn)(void *ctx, const char *rec, size_t len);
/* Opens dir/wal, replays every segment >= from_seg through fn (a torn tail is
 * truncated), and appends to a new segment. */
int hx_mwal_open(const char *dir, hx_fsync_t policy, uint64_t from_seg, hx_mwal_replay_fn fn, void *ctx,
                 hx_mwal_t **out, hx_err_t *err);
void hx_mwal_close(hx_mwal_t *w);
/* Queues a record; returns its lsn (> 0) in *lsn. Cheap; caller may hold locks. */
int hx_mwal_append(hx_mwal_t *w, const void *rec, size_t len, uint64_t *lsn);
/* Returns once lsn is written (and fsynced for fsync=always). Group commit:
 * one caller writes everything queued for all waiters. */
int hx_mwal_wait(hx_mwal_t *w, uint64_t lsn, hx_err_t *err);
/* 1 once a write or fsync failed: every later write is refused until restart. */
int hx_mwal_failed(hx_mwal_t *w);
/* fsync if anything was written since the last one (fsync=interval tick). */
int hx_mwal_sync(hx_mwal_t *w);
/* Starts a new segment; returns its number. Older segments are only covered
 * by a snapshot once it is durable: then call hx_mwal_drop_before. */
int hx_mwal_roll(hx_mwal_t *w, uint64_t *new_seg, hx_err_t *err);
void hx_mwal_drop_before(hx_mwal_t *w, uint64_t seg);

/* ---- version vector entry per origin ---- */
typedef struct hx_origin {
    char node[HX_MNODE_MAX];
    uint64_t contig;           /* every op seq <= contig applied */
    uint64_t *extra;           /* applied seqs above contig+1, sorted */
    size_t nextra, capextra;
    uint64_t extra_min_hlc;    /* stamp of the oldest op applied past a gap */
    uint64_t advertised;       /* the origin's own seq from its last digest */
    int64_t advertised_since;  /* wall ms since advertised > contig */
    int64_t last_heartbeat;    /* wall ms of its last digest; 0 = none */
    int64_t last_apply_lag_ms;
    uint32_t peer_buckets[HX_MEM_BUCKETS]; /* low bits of its last digest, for stability checks */
    uint32_t peer_prev_differ[HX_MEM_BUCKETS / 32];
    int has_digest;
    int64_t digest_rx_ms;      /* when its last digest arrived */
    int digest_equal;          /* that digest matched ours */
    int last_ndiff;            /* buckets that differed in it */
    int64_t push_hold_until;   /* wall ms before which periodic digests push nothing to it */
    int64_t push_backoff_ms;   /* the hold after our last periodic push; 0 = in sync */
} hx_origin_t;

typedef struct hx_conflict_rec {
    int64_t at_ms;
    char tenant[64];
    char id[128];
    json_t *detail;            /* owned */
} hx_conflict_rec_t;

#define HX_MEM_CONFLICTS_MAX 4096

typedef struct hx_pending_op {
    char *key;                 /* memory id */
    char *tenant;
    char *text;                /* op JSON */
    size_t len;
    uint64_t seq;
} hx_pending_op_t;

struct hx_memory {
    hx_config_t cfg;
    char dir[HX_CFG_STR];
    char node[HX_MNODE_MAX];
    hx_crdt_strategy_t strat;
    hx_broker_t *broker;
    hx_metrics_t *metrics;
    int digest_interval_ms, snapshot_interval_ms;

    pthread_mutex_t mu;        /* store, hlc, seq, origins, conflicts */
    hx_mstore_t store;
    hx_hlc_t hlc;
    uint64_t seq;              /* this node's last op seq */
    hx_origin_t *origins;
    size_t norigins;
    hx_conflict_rec_t *conflicts; /* ring */
    size_t nconflicts, conflict_head;
    int64_t part_next[HX_MEM_PARTS_MAX]; /* next offset of helixagent.memory.events per partition applied */
    int nparts;
    hx_mwal_t *wal;
    uint64_t snap_counter;     /* last snapshot file number */
    int64_t last_full_ms, last_snap_ms;

    /* publisher queue */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    hx_pending_op_t *q;
    size_t qn, qcap;
    size_t q_inflight;         /* taken out of q by a publish attempt not yet answered */
    int64_t q_oldest_ms;
    int batch_size;            /* adaptive: cfg, 200, 500 */
    uint64_t published_seq;    /* highest own seq acknowledged by the broker */
    int broker_down;
    /* publish outage bookkeeping (under qmu): consecutive failed attempts,
     * since when, the last error, and when it was last logged */
    uint64_t pub_failures;
    int64_t pub_fail_since_ms, pub_warn_ms;
    char pub_error[256];
    int flush_req;
    uint64_t flush_gen, flushed_gen;
    size_t flush_left;         /* deltas still queued when flushed_gen completed */

    /* threads */
    pthread_t pub_thr, con_thr;
    int threads_started;
    volatile int stop;
    hx_consumer_t *consumer;

    /* counters (under mu) */
    uint64_t events_published, events_consumed, ops_applied, conflicts_resolved, ae_states_pushed,
        ae_states_received, ae_pushes_held, duplicates, drift_rejects;
    hx_latency_t *apply_lag;
    hx_gauge_t *g_lag;
    hx_histogram_t *h_conflict;
    hx_counter_t *c_events;

    /* fault injection (hx_memory_test_drop) */
    _Atomic int drop_in, drop_out;

    /* anti-entropy */
    int64_t force_until_ms;    /* push differing buckets at once until then */
    /* consumer offsets to commit once a snapshot covering them is durable */
    int64_t commit_next[HX_MEM_PARTS_MAX];
    int commit_req;
};

/* engine.c */
/* Joins a decoded op (its deltas) into the store; remote = from the broker. */
int hx_memory_apply_op(hx_memory_t *m, const json_t *op, int remote, hx_err_t *err);
int hx_memory_apply_state(hx_memory_t *m, hx_mcrdt_t *delta, int count_conflicts, hx_join_info_t *info);
hx_origin_t *hx_memory_origin(hx_memory_t *m, const char *node, int create);
int64_t hx_memory_origin_lag_ms(const hx_origin_t *o, int64_t now);
void hx_memory_record_conflict(hx_memory_t *m, const hx_mitem_t *it, const hx_join_info_t *info, double secs);

/* model.c */
int hx_mmodel_create_delta(hx_memory_t *m, const char *tenant, const hx_memory_write_t *w, const hx_stamp_t *st,
                           hx_mcrdt_t **out, hx_err_t *err);
int hx_mmodel_update_delta(hx_memory_t *m, const hx_mcrdt_t *cur, const hx_memory_write_t *w, const hx_stamp_t *st,
                           hx_mcrdt_t **out, hx_err_t *err);
json_t *hx_mmodel_view(const hx_memory_t *m, const hx_mitem_t *it);
/* The same view as compact JSON text (what json_dumps of it gives), appended
 * to b; it ends with its closing '}'. */
int hx_mmodel_view_text(const hx_memory_t *m, const hx_mitem_t *it, hx_buf_t *b);
int hx_mmodel_validate_id(const char *id, hx_err_t *err);
/* Text of the primary content ("" if none). */
const char *hx_mmodel_content(const hx_mcrdt_t *s);
const char *hx_mmodel_str_field(const hx_mcrdt_t *s, int field);
const char *hx_mmodel_user(const hx_mcrdt_t *s);
int hx_mmodel_has_tag(const hx_mcrdt_t *s, const char *tag);

/* ops.c: queries. Filters of q on a live, unexpired memory of tenant. */
int hx_mquery_matches(const hx_mitem_t *it, const char *tenant, const hx_memory_query_t *q, int64_t now);
/* Scores every match (fn NULL = recency; a score <= 0 drops the memory) and
 * returns the best q->limit as {"memories", "count", "total_matches"}. fn runs
 * with m->mu held. */
typedef double (*hx_mscore_fn)(void *ctx, const hx_mcrdt_t *s);
int hx_mquery_run(hx_memory_t *m, const char *tenant, const hx_memory_query_t *q, hx_mscore_fn fn, void *ctx,
                  json_t **out, hx_err_t *err);

/* sync.c */
int hx_msync_start(hx_memory_t *m, hx_err_t *err);
void hx_msync_stop(hx_memory_t *m);
/* Queues an op for publishing (never fails a write: memory permitting). */
void hx_msync_enqueue(hx_memory_t *m, const char *tenant, const char *id, const char *text, size_t len,
                      uint64_t seq);
/* The same taking text (malloc'd, NUL-terminated at len), freed in any case. */
void hx_msync_enqueue_owned(hx_memory_t *m, const char *tenant, const char *id, char *text, size_t len,
                            uint64_t seq);
int hx_msync_digest(hx_memory_t *m, uint64_t out[HX_MEM_BUCKETS]);
int hx_msync_publish_digest(hx_memory_t *m, int request, hx_err_t *err);

/* snapshot.c */
int hx_msnap_take(hx_memory_t *m, int full, hx_err_t *err);
/* Restores the newest full snapshot and later incrementals; *wal_seg gets
 * the WAL segment to replay from. */
int hx_msnap_restore(hx_memory_t *m, uint64_t *wal_seg, hx_err_t *err);

#endif
