/* Helix configuration: one struct, loaded from YAML (configs/helix.yaml),
 * then overridden by HELIX_<SECTION>_<KEY> environment variables.
 *
 * Every knob is described once, in the table in src/core/config_table.c
 * (path, type, default, range, doc); the parser, the env overrides, the
 * defaults and `helix config check` all read that table, so a knob cannot
 * exist in one place and not another. Unknown keys, wrong types and
 * out-of-range values are HX_ECONFIG errors naming the key and the line.
 *
 * Ownership: hx_config_t is a plain value with fixed-size strings; copy it
 * freely. Nothing to free. */
#ifndef HX_CONFIG_H
#define HX_CONFIG_H

#include "helix/hx_buf.h"
#include "helix/hx_error.h"

#include <stddef.h>
#include <stdint.h>

#define HX_CFG_STR 256

typedef enum { HX_FSYNC_ALWAYS = 0, HX_FSYNC_INTERVAL, HX_FSYNC_NEVER } hx_fsync_t;

typedef struct hx_config {
    struct {
        char host[HX_CFG_STR];       /* listen address, default 127.0.0.1 */
        int port;                    /* default 7061 */
        char token[HX_CFG_STR];      /* bearer token: an admin key of the default tenant */
        char keys_file[HX_CFG_STR];  /* API keys file; empty = <data_dir>/api_keys */
        int64_t body_limit_bytes;    /* default 1048576 */
        int threads;                 /* HTTP worker threads, default 4 */
    } server;
    struct {
        char server_url[HX_CFG_STR]; /* the server the CLI talks to; empty = http://server.host:server.port */
        char api_key[HX_CFG_STR];    /* the CLI's bearer key; empty = server.token */
    } cli;
    struct {
        char data_dir[HX_CFG_STR];   /* default ./helix-data */
        char node_id[HX_CFG_STR];    /* empty = generated once and persisted in data_dir */
        char log_level[16];          /* debug|info|warn|error, default info */
    } node;
    struct {
        char events[32];             /* embedded | kafka */
        char analytics[32];          /* embedded | clickhouse */
        char graph[32];              /* embedded | neo4j (docs/graph.md) */
    } backends;
    struct {
        hx_fsync_t fsync;            /* always | interval | never; default interval */
        int flush_interval_ms;       /* group commit period for fsync=interval, default 100 */
        int64_t segment_bytes;       /* roll a segment past this size, default 67108864 */
        int64_t max_message_bytes;   /* default 1048576 */
        int index_interval_bytes;    /* sparse index granularity, default 4096 */
    } event_log;
    struct {
        char bootstrap_servers[HX_CFG_STR];
        struct {
            char compression_type[16];   /* none|gzip|snappy|lz4|zstd, default lz4 */
            int batch_size;              /* bytes, default 32768 */
            int linger_ms;               /* default 10 */
            int64_t buffer_memory;       /* bytes, default 67108864 */
            int max_in_flight_requests;  /* default 5 */
            char acks[8];                /* 0|1|all, default 1 */
            int delivery_timeout_ms;     /* message.timeout.ms, default 30000 */
        } producer;
        struct {
            int fetch_min_bytes;             /* default 1024 */
            int fetch_max_wait_ms;           /* default 500 */
            int max_partition_fetch_bytes;   /* default 1048576 */
            int max_poll_records;            /* default 500 */
        } consumer;
    } kafka;
    struct {
        int batch_rows;              /* ingest / buffer flush batch, default 50000 */
        int flush_ms;                /* longest rows wait before a flush, default 1000 */
        int64_t query_max_rows;      /* result rows, default 100000 */
        int query_timeout_ms;        /* default 10000 */
        int index_granularity;       /* rows per granule, default 8192 */
        int parts_to_throw_insert;   /* parts in one partition that stop inserts, default 300 */
        int merge_max_parts;         /* parts one merge combines at most, default 10 */
        int64_t merge_max_rows;      /* rows a merged part holds at most, default 10000000 */
        char compression[16];        /* lz4 | zstd | none, default lz4 */
        int64_t cache_bytes;         /* decompressed column cache, default 268435456 */
        int maintain_interval_ms;    /* background merge/TTL period, default 1000 */
        struct {
            int provider_metrics;        /* TTL in days, 0 = forever; default 90 */
            int debate_metrics;          /* default 365 */
            int debate_participants;     /* default 365 */
            int conversation_metrics;    /* default 365 */
        } ttl_days;
    } analytics;
    struct {
        char url[HX_CFG_STR];        /* default http://127.0.0.1:8123 */
        char database[64];           /* default helix */
        char user[64];               /* default default */
        char password[HX_CFG_STR];
        int timeout_ms;              /* one HTTP request, default 30000 */
        int connect_timeout_ms;      /* default 2000 */
        int insert_retries;          /* default 5 */
        int retry_backoff_ms;        /* first backoff, doubles; default 100 */
        struct {
            char ca_file[HX_CFG_STR];
            char cert_file[HX_CFG_STR];
            char key_file[HX_CFG_STR];
            int insecure_skip_verify; /* bool, default 0 */
        } tls;
    } clickhouse;
    struct {
        char uri[HX_CFG_STR];        /* default bolt://127.0.0.1:7687 */
        char user[64];               /* default neo4j */
        char password[HX_CFG_STR];
        char database[128];          /* empty = the server's default database */
        int pool_size;               /* Bolt connections, default 4 */
        int batch_size;              /* rows per UNWIND statement, default 1000 */
        int timeout_ms;              /* one request and its answer, default 30000 */
    } neo4j;
    struct {
        struct {
            char default_strategy[32];   /* hybrid|entity_graph|window_summary|full */
            double target_ratio;         /* 0.30 */
            double quality_threshold;    /* 0.90 */
            int preserve_recent_count;   /* 50 */
            int window_size;             /* 50 */
            int min_budget_tokens;       /* 4096: budget floor without max_tokens or target_ratio */
        } compression;
        struct {
            int size;                    /* 1000 entries */
            int ttl_seconds;             /* 1800 */
            char eviction[16];           /* lru */
        } cache;
        struct {
            char endpoint[HX_CFG_STR];   /* OpenAI-compatible base URL; empty = extractive only */
            char model[128];
            char api_key[HX_CFG_STR];
            int timeout_ms;              /* 10000 */
        } llm;
    } infinite_context;
    struct {
        struct {
            int batch_size;              /* 100 */
            int interval_ms;             /* 5 */
            int max_lag_ms;              /* 5000 */
            int digest_interval_ms;      /* 5000 */
        } sync;
        struct {
            char strategy[32];           /* merge_all | last_write_wins */
        } crdt;
        struct {
            int interval_seconds;        /* 300 */
            int retention_count;         /* 12 */
            int compression;             /* bool, default 1 */
        } snapshot;
    } distributed_memory;
    struct {
        int enabled;                 /* bool: run the archiver, default true */
        char root[HX_CFG_STR];       /* empty = <data_dir>/lake */
        char codec[16];              /* none|snappy|zstd, default snappy */
        int zstd_level;              /* 3 */
        int64_t row_group_bytes;     /* 128 MiB */
        int64_t page_bytes;          /* 1 MiB */
        int64_t file_rows;           /* archiver flush size, 100000 */
        int flush_ms;                /* archiver flush age, 60000 */
        int64_t target_file_bytes;   /* compaction target, 128 MiB */
        int retention_days;          /* 365; 0 = keep forever */
        char dataset_retention_days[HX_CFG_STR]; /* "provider_metrics=30,debates=90" */
        char export_dir[HX_CFG_STR]; /* empty = <lake.root>/_exports */
    } lake;
    struct {
        int concurrency;             /* 2 */
        char schedules[HX_CFG_STR];  /* "retention every 1h; compaction every 6h" */
        int history;                 /* finished job records kept, 1000 */
    } jobs;
    struct {
        int batch_size;                  /* 1000 ops per store transaction */
        int flush_ms;                    /* 50 */
        int wait_ms;                     /* 5000: API writes wait for their events to apply */
        int snapshot_interval_seconds;   /* 300 (embedded store) */
        struct {
            int enabled;                 /* bool, default 1 */
            int window_sentences;        /* 3 */
            int max_entities;            /* 64 per message */
        } extract;
    } graph;
} hx_config_t;

/* Fills cfg with every default from the knob table. */
void hx_config_defaults(hx_config_t *cfg);

/* Loads defaults, then the YAML file at path (NULL = no file), then the
 * environment overrides. HX_ECONFIG with "FILE:LINE: key 'a.b': ..." on error. */
int hx_config_load(hx_config_t *cfg, const char *path, hx_err_t *err);

/* The file `helix serve` and the other commands read when no --config is
 * given and it exists (relative to the working directory). */
#define HX_CONFIG_DEFAULT_PATH "configs/helix.yaml"

/* One command-line override: dotted key and value (NULL value = not given). */
typedef struct hx_config_override {
    const char *key, *value;
} hx_config_override_t;

/* The layered configuration every command runs on: defaults, then the file
 * at path (NULL = HX_CONFIG_DEFAULT_PATH when present), then HELIX_* env,
 * then the n overrides in order. HX_ECONFIG naming the key on error. */
int hx_config_load_layered(hx_config_t *cfg, const char *path, const hx_config_override_t *ov, size_t n,
                           hx_err_t *err);

/* Same as hx_config_load for YAML text in memory (name is used in messages). */
int hx_config_load_string(hx_config_t *cfg, const char *yaml, size_t len, const char *name, hx_err_t *err);

/* Applies HELIX_<SECTION>_<KEY> variables (e.g. HELIX_SERVER_PORT,
 * HELIX_KAFKA_PRODUCER_BATCH_SIZE) from envp (NULL = environ). */
int hx_config_apply_env(hx_config_t *cfg, char **envp, hx_err_t *err);

/* Sets one knob by dotted path from a string, with the same validation as the
 * file ("server.port", "8080"). Used by CLI flags and env overrides. */
int hx_config_set(hx_config_t *cfg, const char *path, const char *value, hx_err_t *err);

/* Fills cfg->node.node_id when it is empty: read from <data_dir>/node_id, or
 * generated once ("node-" + 12 hex digits) and persisted there atomically.
 * Creates data_dir when missing. */
int hx_config_node_id(hx_config_t *cfg, hx_err_t *err);

/* Appends the effective configuration as YAML (token, passwords and api_key
 * shown as "***" when set). */
int hx_config_dump(const hx_config_t *cfg, struct hx_buf *out);

/* Appends the default configuration as commented YAML: configs/helix.yaml. */
int hx_config_template(struct hx_buf *out);

/* Appends the Markdown table of every knob (key, type, default, range, env
 * variable, description): the source of docs/configuration.md. */
int hx_config_docs(struct hx_buf *out);

#endif
