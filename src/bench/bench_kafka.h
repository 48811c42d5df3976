/* Private to the kafka bench: one measured run (bench_kafka.c), the driver
 * that chooses the runs and reports them (bench_kafka_report.c) and the kcat
 * comparison (bench_kcat.c). */
#ifndef HX_BENCH_KAFKA_H
#define HX_BENCH_KAFKA_H

#include "helix/hx_bench.h"
#include "helix/hx_broker.h"
#include "helix/hx_metrics.h"

#define BK_MSG_BYTES 1024
#define BK_MAX_PARTITIONS 1024 /* of a topic given with --topic */

typedef struct {
    const hx_bench_opts_t *o;
    hx_broker_t *b;
    const unsigned char *bodies; /* BODIES pre-generated payload bodies */
    int runs;                    /* runs so far: each gets its own consumer group */
} bk_env_t;

typedef struct {
    /* in */
    const char *topic;
    long messages;
    double rate;        /* msg/s; 0 = as fast as the pipelined producer goes */
    const char *fsync;  /* label */
    int fresh_topic;    /* the topic was created for this run */
    /* out */
    double produce_secs, throughput; /* first produce to last acknowledgement */
    double p50, p95, p99, max;       /* produce->consume ms */
    long received, dupes, disorder;
    int verified;
} bk_run_t;

/* Runs r against env->b: a fresh consumer group joins r->topic (latest),
 * then r->messages records are produced and each is checked on arrival. */
int bk_run(bk_env_t *env, bk_run_t *r, hx_err_t *err);

/* Deterministic text-like filler of n bytes. */
void bk_fill_payload(unsigned char *p, size_t n, uint64_t seed);

/* Produces n records of the bench's shape with kcat into a new topic of the
 * cluster at bootstrap (created through b) and returns kcat's msg/s, checked
 * against the topic's watermarks. */
int bk_kcat(hx_broker_t *b, const char *bootstrap, const char *workdir, long n, int partitions, double *msg_per_sec,
            hx_err_t *err);

#endif
