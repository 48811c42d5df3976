/* Private: the embedded broker's state, shared by its files. */
#ifndef HX_STREAM_EMBEDDED_H
#define HX_STREAM_EMBEDDED_H

#include "helix/hx_log.h"
#include "helix/hx_metrics.h"
#include "stream/backend.h"

#include <stdatomic.h>
#include <pthread.h>

#define HX_OFFSETS_TOPIC "__consumer_offsets"

typedef struct emb_offset {          /* one committed (group, topic, partition) */
    char *group;
    char *topic;
    int32_t partition;
    int64_t offset;                  /* next offset to read */
    struct emb_offset *next;         /* hash chain */
} emb_offset_t;

typedef struct emb_consumer emb_consumer_t;

typedef struct emb_group {
    char id[256];
    int32_t generation;
    emb_consumer_t **members;        /* sorted by member id */
    size_t n_members;
    int next_member_seq;
    struct emb_group *next;
} emb_group_t;

typedef struct emb_pending emb_pending_t; /* an async record waiting for its batch */

/* A sleeping poll (consumer.c), on the stack of its thread. */
typedef struct emb_waiter {
    pthread_cond_t cv;
    uint64_t mask;                   /* its topics' buckets */
    int woken;
    struct emb_waiter *next;
} emb_waiter_t;

/* syncpool.c: workers that run one batch's partition appends side by side
 * under fsync=always, so their fdatasyncs overlap. */
#define EMB_POOL_MAX 8
typedef struct emb_job emb_job_t;
typedef struct emb_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    emb_job_t *head;
    int stop, n;
    pthread_t th[EMB_POOL_MAX];
} emb_pool_t;

/* Starts up to threads workers; returns how many run (0: emb_pool_run runs
 * jobs on the caller). */
int emb_pool_start(emb_pool_t *p, int threads);
void emb_pool_stop(emb_pool_t *p);
/* Runs fn on each of the n args (arg_size bytes apart), the caller taking a
 * share, and returns when all are done. */
void emb_pool_run(emb_pool_t *p, void (*fn)(void *arg), void *args, size_t arg_size, size_t n);

typedef struct emb {
    hx_log_t *log;
    hx_config_t cfg;
    char log_dir[HX_CFG_STR + 8];

    /* groups and offsets: touched on poll/commit/rebalance only */
    pthread_mutex_t mu;
    /* The data-arrival signal has its own lock so a producer never waits for
     * a consumer that holds mu while it reads. data_seq is atomic; it moves
     * on every append and every rebalance. */
    pthread_mutex_t data_mu;
    pthread_condattr_t wait_attr;    /* CLOCK_MONOTONIC, for the waiters' condition variables */
    uint64_t data_seq;
    /* Sleeping pollers by topic bucket (emb_topic_bit): a produce wakes them
     * only when one waits for its topic's bucket, and then only those
     * pollers (each sleeps on its own condition), so a consumer of one topic
     * is not woken by every append to the others. counts and list under
     * data_mu, mask atomic. */
    int wait_count[64];
    uint64_t wait_mask;
    emb_waiter_t *waiters;
    emb_group_t *groups;
    emb_offset_t *offsets[256];

    uint64_t rr;                     /* round-robin partition counter (atomic) */

    /* async producer */
    pthread_mutex_t qmu;
    pthread_cond_t qcond;            /* sender waits here */
    pthread_cond_t qdone;            /* flush waits here */
    emb_pending_t *qhead, *qtail;
    size_t qbytes;
    uint64_t q_enqueued, q_done;
    int64_t q_oldest_ms;
    pthread_t sender;

    emb_pool_t pool;                 /* started under fsync=always only */
    int pool_on;

    /* background maintenance */
    pthread_t maint;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cond;
    int stopping;

    /* metrics (NULL when no registry) */
    hx_metrics_t *metrics;
    hx_counter_t *m_sent;
    hx_gauge_t *m_batch_avg;
    hx_gauge_t *m_lag;
    hx_gauge_t *m_log_bytes;
    hx_gauge_t *m_log_segments;
    uint64_t batches, batch_records; /* for kafka_producer_batch_size_avg (atomic) */
} emb_t;

struct emb_consumer {
    emb_t *b;
    emb_group_t *group;             /* NULL after expiry: the next poll rejoins */
    char group_id[256];
    char member_id[128];
    char client_id[128];
    char **topics;
    size_t n_topics;
    hx_consumer_opts_t opts;
    int64_t last_seen_ms;
    int32_t known_generation;
    _Atomic uint64_t epoch;      /* assignments taken (hx_consumer_epoch) */
    /* assignment as the coordinator computed it (under b->mu) */
    hx_assignment_t *assigned;
    size_t n_assigned;
    /* this consumer's own view: positions of what it owns */
    struct emb_pos {
        hx_assignment_t tp;
        int64_t position;
    } *pos;
    size_t n_pos;
    size_t rr;
};

/* produce.c */
int emb_produce(void *impl, const hx_msg_t *msgs, size_t n, hx_delivery_t *out, hx_err_t *err);
int emb_produce_batch(void *impl, const hx_msg_t *msgs, size_t n, hx_batch_cb cb, void *ctx, hx_err_t *err);
int emb_produce_async(void *impl, const hx_msg_t *msg, hx_delivery_cb cb, void *ctx, hx_err_t *err);
int emb_flush(void *impl, int timeout_ms, hx_err_t *err);
void *emb_sender_main(void *arg);
void emb_notify_data(emb_t *b);              /* everyone (rebalances) */
void emb_notify_topic(emb_t *b, const char *topic); /* pollers of topic's bucket */
uint64_t emb_topic_bit(const char *topic);

/* fetch.c: records from one or more partitions are staged, then packed into
 * one malloc'd block as hx_fetch_t requires. */
typedef struct emb_stage emb_stage_t;
emb_stage_t *emb_stage_new(void);
void emb_stage_free(emb_stage_t *s);
size_t emb_stage_count(const emb_stage_t *s);
int emb_stage_read(emb_t *b, emb_stage_t *s, const char *topic, int32_t partition, int64_t offset, int max_records,
                   size_t max_bytes, int64_t *next, hx_err_t *err);
int emb_stage_finish(emb_stage_t *s, hx_fetch_t *out, hx_err_t *err);
int emb_fetch(void *impl, const char *topic, int32_t partition, int64_t offset, int max_records, size_t max_bytes,
              hx_fetch_t *out, hx_err_t *err);
int emb_offset_for_time(void *impl, const char *topic, int32_t partition, int64_t ts_ms, int64_t *offset,
                        hx_err_t *err);

/* offsets.c (callers hold b->mu unless noted) */
/* One record of __consumer_offsets, decoded. */
typedef struct emb_offset_rec {
    char group[256];
    char topic[HX_LOG_TOPIC_NAME_MAX + 1];
    int32_t partition;
    int64_t offset;
} emb_offset_rec_t;
#define EMB_OFFSET_KEY_MAX (256 + HX_LOG_TOPIC_NAME_MAX + 1 + 16)
/* The key of a commit record; returns its length (NULs included). */
size_t emb_offset_key(const char *group, const char *topic, int32_t partition, char out[EMB_OFFSET_KEY_MAX]);
/* 1 and out filled when (key, value) is a well-formed commit record; 0 for
 * anything else (skipped at load). Pure: fuzzed. */
int emb_offset_parse(const void *key, size_t klen, const void *value, size_t vlen, emb_offset_rec_t *out);
int emb_offsets_load(emb_t *b, hx_err_t *err);            /* at open, no lock needed */
int emb_offsets_commit(emb_t *b, const char *group, const hx_assignment_t *tps, const int64_t *offs, size_t n,
                       hx_err_t *err);
int64_t emb_offsets_get(emb_t *b, const char *group, const char *topic, int32_t partition); /* -1 if none */
void emb_offsets_free(emb_t *b);
int emb_offsets_groups(emb_t *b, hx_name_list_t *l);
int emb_offsets_of_group(emb_t *b, const char *group, hx_group_offset_t **out, size_t *n);
void emb_update_lag(emb_t *b, const char *group, const char *topic, int32_t partition, int64_t committed);

/* groups.c */
int emb_group_list(void *impl, hx_name_list_t *out, hx_err_t *err);
int emb_group_describe(void *impl, const char *group_id, hx_group_info_t *out, hx_err_t *err);
int emb_group_join(emb_t *b, emb_consumer_t *c, const char *group_id, hx_err_t *err); /* holds b->mu */
void emb_group_leave(emb_t *b, emb_consumer_t *c);                                  /* holds b->mu */
void emb_groups_expire(emb_t *b, int64_t now_ms);                                   /* holds b->mu */
void emb_groups_free(emb_t *b);

/* consumer.c */
int emb_consumer_new(void *impl, const char *group_id, const char *const *topics, size_t n_topics,
                     const hx_consumer_opts_t *opts, void **cimpl, hx_err_t *err);
void emb_consumer_close(void *cimpl);
int emb_consumer_poll(void *cimpl, int timeout_ms, hx_fetch_t *out, hx_err_t *err);
int emb_consumer_commit(void *cimpl, hx_err_t *err);
int emb_consumer_commit_offset(void *cimpl, const char *topic, int32_t partition, int64_t next_offset, hx_err_t *err);
int emb_consumer_seek(void *cimpl, const char *topic, int32_t partition, int64_t offset, hx_err_t *err);
int emb_consumer_seek_time(void *cimpl, const char *topic, int32_t partition, int64_t ts_ms, hx_err_t *err);
int emb_consumer_assignment(void *cimpl, hx_assignment_t **out, size_t *n, hx_err_t *err);
uint64_t emb_consumer_epoch(void *cimpl);

/* Rewrites the log's "topic ... does not exist" into the broker's advice. */
int emb_unknown_topic(const char *topic, hx_err_t *err);

#endif
