/* Benchmark drivers behind `helix bench`. Each fills a JSON object with its
 * measured numbers (the keys named in its issue) and verdicts against the
 * DESIGN.md performance table, and prints its table rows. */
#ifndef HX_BENCH_H
#define HX_BENCH_H

#include "helix/hx_config.h"
#include "helix/hx_error.h"

#include <jansson.h>

typedef struct hx_bench_opts {
    const char *data_dir;      /* where to put the bench's data; NULL = a fresh temp dir, removed after */
    long messages;             /* 0 = the driver's default */
    hx_fsync_t fsync;
    int quiet;                 /* no progress lines */
    const char *backend;       /* kafka bench: embedded (NULL) | kafka | mock */
    const char *bootstrap;     /* kafka bench with backend kafka: HOST:PORT[,...] */
    const char *topic;         /* kafka bench: use this existing topic instead of creating one */
} hx_bench_opts_t;

/* Verdict of value against the Target / Acceptable thresholds; higher_better
 * says which way is good. Returns "Target", "Acceptable" or "Poor". */
const char *hx_bench_verdict(double value, double target, double acceptable, int higher_better);

/* A bench's working directory: o->data_dir when given (kept), else a fresh
 * /tmp/helix-bench-NAME.XXXXXX in buf. hx_bench_workdir_done removes the
 * temporary one, saying so on stderr when it cannot. */
int hx_bench_workdir(const hx_bench_opts_t *o, const char *name, char *buf, size_t len, const char **dir,
                     hx_err_t *err);
void hx_bench_workdir_done(const hx_bench_opts_t *o, const char *name, const char *dir);

/* Prints one row of the results table. */
void hx_bench_row(const char *component, const char *metric, const char *value, const char *target,
                  const char *acceptable, const char *verdict);

/* 100,000 x 1 KiB messages to a 12-partition lz4 topic through the broker,
 * consumed by a group; *out gets throughput_msg_per_sec, p50_ms, p95_ms,
 * p99_ms, messages, message_bytes, verified, fsync (new reference). */
int hx_bench_kafka(const hx_bench_opts_t *o, json_t **out, hx_err_t *err);

/* Conversations of 1K, 5K and 10K messages through the context engine:
 * replay+compress cold and warm per strategy at target_ratio 0.30; *out has
 * per size replay_ms_cold, replay_ms_warm, compression_ratio, quality_score,
 * entity_recall (hybrid) and a strategies object. --messages sets the largest size. */
int hx_bench_context(const hx_bench_opts_t *o, json_t **out, hx_err_t *err);

/* Three memory engines sharing one embedded broker, 5,000 writes/s in all
 * (messages = total writes, default 30,000); *out gets writes_per_sec,
 * lag_p50_ms, lag_p95_ms, lag_p99_ms, lag_max_ms, lost_writes (must be 0),
 * conflict_resolution_ms and verdicts. */
int hx_bench_memory(const hx_bench_opts_t *o, json_t **out, hx_err_t *err);

/* 1M provider_metrics rows (messages = rows) over 60 days, inserted in process
 * (batches of 10K) and through POST /v1/analytics/provider_metrics/rows, then
 * queries (a) one provider's hourly series for a day, (b1) GROUP BY provider,
 * (b2) GROUP BY hour, provider, 100 runs each, every answer checked exactly;
 * *out gets backend, rows, insert_rows_per_sec, http_insert_rows_per_sec,
 * query_{a,b1,b2}_{p50,p95}_ms and verified (backend: embedded | clickhouse). */
int hx_bench_analytics(const hx_bench_opts_t *o, json_t **out, hx_err_t *err);

#endif
