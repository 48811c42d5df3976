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
    double seconds;            /* kafka bench: length of each fixed-rate run; 0 = 10 */
    int compare_kcat;          /* kafka bench (mock or kafka): kcat produces the same records too */
    const char *url;           /* analytics bench with backend clickhouse: the server; NULL = start a private one */
    int compare;               /* analytics bench: embedded and ClickHouse in one run */
    int eval;                  /* context bench: the answer-recall evaluation instead of the timings */
    const char *eval_data;     /* context bench: evaluate on this file's conversations (implies eval) */
    const char *uri;           /* graph bench with backend neo4j: bolt://host:port */
    const char *endpoint;      /* http bench: only this endpoint (records|messages|memory|health); NULL = all */
    const char *load_generator; /* http bench: "wrk", or NULL/"helix" for ours (src/bench/loadgen.c) */
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

/* Runs a peer tool (argv[0] on PATH, a Debian package of the same name:
 * kcat, wrk) to completion, its stdout to stdout_path when given; *secs
 * (may be NULL) gets the wall time. HX_ENOTFOUND names the package to
 * install; a non-zero exit is HX_EIO. */
int hx_bench_run_tool(char *const argv[], const char *stdout_path, double *secs, hx_err_t *err);

/* Prints one row of the results table. */
void hx_bench_row(const char *component, const char *metric, const char *value, const char *target,
                  const char *acceptable, const char *verdict);

/* The event log: 100,000 x 1 KiB messages to a 12-partition lz4 topic as
 * fast as a pipelined producer goes (throughput), then fixed-rate runs of
 * `seconds` at 10K msg/s and at 50% of the peak, under fsync interval and
 * always (embedded), every message consumed by a group and verified. *out
 * gets throughput_msg_per_sec, p50/p95/p99/max_ms (saturated), messages,
 * message_bytes, verified, fsync, and fixed_rate: a list of
 * {rate_msg_per_sec, fsync, p50_ms, p95_ms, p99_ms, max_ms, verified, ...};
 * with compare_kcat also kcat_msg_per_sec and ratio_to_kcat. */
int hx_bench_kafka(const hx_bench_opts_t *o, json_t **out, hx_err_t *err);

/* Conversations of 1K, 5K and 10K messages through the context engine:
 * replay+compress cold and warm per strategy at target_ratio 0.30; *out has
 * per size replay_ms_cold, replay_ms_warm, compression_ratio, quality_score,
 * entity_recall (hybrid) and a strategies object. --messages sets the largest size.
 * With o->eval: the answer-recall evaluation on generated multi-session
 * conversations; *out has "eval" -> ratio ("0.30", "0.15") -> strategy ->
 * {answer_recall, ceiling, recent_baseline, random_baseline, quality_score}. */
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

/* 1M provider-metric rows (7 day partitions) and 100K conversation messages
 * written to Parquet with each codec (none, snappy, zstd), then a projected,
 * filtered read and a full verification of the zstd rows. --messages sets the
 * metric rows (messages are a tenth). *out: write_rows_per_sec,
 * write_mb_per_sec (raw value bytes), bytes_per_row, read_rows_per_sec, codec
 * (zstd, the headline), verified, by_codec, conversations. */
int hx_bench_lake(const hx_bench_opts_t *o, json_t **out, hx_err_t *err);

/* The knowledge graph on 100K entities / 300K relationships (messages sets
 * the entity count; relationships are 3x) with a power-law degree
 * distribution: writes through the event path (produce to queryable), 2-hop
 * related, fulltext and shortest path p95 checked against a reference, and
 * extraction on the context bench's messages. *out gets backend, nodes,
 * relationships, write_nodes_per_sec, write_rels_per_sec,
 * upsert_nodes_per_sec, related_2hop_p95_ms, search_p95_ms, path_p95_ms,
 * extract_messages_per_sec, verified and verdicts. backend: graph store
 * (embedded by default, or neo4j at o->uri with neo4j.* from HELIX_NEO4J_*
 * variables; the database must start empty for the counts to verify). */
int hx_bench_graph(const hx_bench_opts_t *o, json_t **out, hx_err_t *err);

/* The HTTP API under a load generator (ours, or wrk with
 * o->load_generator "wrk"; 32 connections, one item per request, `seconds`
 * per endpoint, default 10) against a node started in process with bearer
 * auth and o->fsync: records, conversation messages, memory writes and
 * /health. *out gets <endpoint>_req_per_sec, _p50_ms, _p99_ms, _errors,
 * _cpu_us_per_request (the node's CPU per request) and
 * _written (counted where the writes landed) for records,
 * conversation_messages, memory_writes and health, plus connections, fsync,
 * seconds_per_endpoint, load_generator. o->endpoint runs one endpoint
 * only (records, messages, memory or health; hx_bench_http_endpoint_ok).
 * Fails on any non-2xx answer or a write count that does not match the
 * answers. */
int hx_bench_http(const hx_bench_opts_t *o, json_t **out, hx_err_t *err);
/* 1 if name is an endpoint --endpoint accepts. */
int hx_bench_http_endpoint_ok(const char *name);
/* The ClickHouse server of an analytics bench run (bench_analytics_ch.c):
 * o->url in a database of the bench's own (helix_bench_<pid>, and _http for
 * the HTTP phase; both dropped afterwards), else a private clickhouse-server
 * started in dir. */
struct hx_ch_local;
typedef struct hx_bench_ch {
    struct hx_ch_local *server;
} hx_bench_ch_t;
int hx_bench_ch_setup(const hx_bench_opts_t *o, const char *dir, hx_config_t *cfg, hx_bench_ch_t *ch, hx_err_t *err);
void hx_bench_ch_done(const hx_config_t *cfg, hx_bench_ch_t *ch);

/* `helix bench analytics --compare`: the analytics bench on the embedded
 * store, then on ClickHouse, in one run; *out gets `embedded` and
 * `clickhouse` (each with the keys of hx_bench_analytics) and the ratios. */
int hx_bench_analytics_compare(const hx_bench_opts_t *o, json_t **out, hx_err_t *err);

#endif
