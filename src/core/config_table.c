/* Every knob of configs/helix.yaml: path, type, default, range and doc. */
#include "core/config_table.h"
#include "helix/hx_config.h"

#include <string.h>

#define F(field) offsetof(hx_config_t, field), sizeof(((hx_config_t *)0)->field)
#define STR(p, field, def, doc) {p, HX_KT_STR, F(field), def, 0, 0, NULL, 0, doc}
#define SECRET(p, field, doc) {p, HX_KT_STR, F(field), "", 0, 0, NULL, 1, doc}
#define INT(p, field, def, lo, hi, doc) {p, HX_KT_INT, F(field), def, lo, hi, NULL, 0, doc}
#define I64(p, field, def, lo, hi, doc) {p, HX_KT_INT64, F(field), def, lo, hi, NULL, 0, doc}
#define DBL(p, field, def, lo, hi, doc) {p, HX_KT_DOUBLE, F(field), def, lo, hi, NULL, 0, doc}
#define BOOL(p, field, def, doc) {p, HX_KT_BOOL, F(field), def, 0, 1, NULL, 0, doc}
#define ENUM(p, field, def, choices, doc) {p, HX_KT_ENUM, F(field), def, 0, 0, choices, 0, doc}

static const hx_knob_t knobs[] = {
    STR("server.host", server.host, "127.0.0.1", "Address the HTTP API listens on."),
    INT("server.port", server.port, "7061", 0, 65535, "HTTP port; 0 picks a free port (logged at startup)."),
    {"server.token", HX_KT_STR, F(server.token), "", 0, 0, NULL, 1,
     "Bearer token that acts as an admin key of the default tenant. Auth is on when this is set or the keys file "
     "exists; then every endpoint but /health and /metrics needs a key."},
    STR("server.keys_file", server.keys_file, "",
        "API keys file (tenant- and role-bound keys, stored as SHA-256; `helix keys add`); empty = <node.data_dir>/api_keys. "
        "Re-read when it changes."),
    I64("server.body_limit_bytes", server.body_limit_bytes, "1048576", 1024, 1073741824,
        "Largest request body accepted; larger bodies get 413."),
    INT("server.threads", server.threads, "4", 1, 256, "HTTP worker threads."),

    STR("cli.server_url", cli.server_url, "",
        "Server the data commands (topic, produce, consume, replay) use over HTTP when a running `helix serve` holds "
        "the data dir, or always with --server; empty = the address in <data_dir>/serve.url (written by serve), else "
        "http://<server.host>:<server.port>."),
    SECRET("cli.api_key", cli.api_key, "Bearer key those commands send over HTTP; empty = server.token."),

    STR("node.data_dir", node.data_dir, "./helix-data", "Directory for all local state (event log, offsets, node id)."),
    STR("node.node_id", node.node_id, "", "This node's id; empty generates one on first start and keeps it in data_dir."),
    ENUM("node.log_level", node.log_level, "info", "debug|info|warn|error", "Log verbosity."),

    ENUM("backends.events", backends.events, "embedded", "embedded|kafka",
         "Event log backend: the embedded log or Kafka (docs/kafka.md)."),
    ENUM("backends.analytics", backends.analytics, "embedded", "embedded|clickhouse",
         "Analytics store backend: our embedded column store or ClickHouse (docs/analytics.md)."),
    ENUM("backends.graph", backends.graph, "embedded", "embedded|neo4j",
         "Knowledge graph store: the embedded store under data_dir/graph or Neo4j over Bolt (docs/graph.md)."),

    {"event_log.fsync", HX_KT_ENUM, F(event_log.fsync), "interval", 0, 0, "always|interval|never", 0,
     "When appends reach disk: always (before the ack), interval (group commit), never (OS decides). Read by issue #3."},
    INT("event_log.flush_interval_ms", event_log.flush_interval_ms, "100", 1, 60000,
        "Group commit period for fsync=interval. Read by issue #3."),
    I64("event_log.segment_bytes", event_log.segment_bytes, "67108864", 4096, 1073741824,
        "A partition's segment rolls past this size. Read by issue #3."),
    I64("event_log.max_message_bytes", event_log.max_message_bytes, "1048576", 64, 104857600,
        "Largest record (key+value+headers) accepted. Read by issue #3."),
    INT("event_log.index_interval_bytes", event_log.index_interval_bytes, "4096", 64, 1048576,
        "Bytes of log between two sparse index entries. Read by issue #3."),

    STR("kafka.bootstrap_servers", kafka.bootstrap_servers, "127.0.0.1:9092",
        "Kafka brokers (host:port,...) when backends.events=kafka; \"mock\" or \"mock:N\" starts librdkafka's mock cluster in process (tests, demos)."),
    ENUM("kafka.producer.compression_type", kafka.producer.compression_type, "lz4", "none|gzip|snappy|lz4|zstd",
         "Producer batch compression (compression.codec). Read by issue #4."),
    INT("kafka.producer.batch_size", kafka.producer.batch_size, "32768", 1, 1000000000,
        "Bytes per producer batch before it is sent (batch.size); also the embedded producer's batch. Read by issue #3/#4."),
    INT("kafka.producer.linger_ms", kafka.producer.linger_ms, "10", 0, 900000,
        "How long a batch waits to fill (linger.ms). Read by issue #3/#4."),
    I64("kafka.producer.buffer_memory", kafka.producer.buffer_memory, "67108864", 1024, 2147483647LL * 1024,
        "Producer queue memory in bytes (queue.buffering.max.kbytes). Read by issue #4."),
    INT("kafka.producer.max_in_flight_requests", kafka.producer.max_in_flight_requests, "5", 1, 1000000,
        "Unacknowledged requests per connection. Read by issue #4."),
    ENUM("kafka.producer.acks", kafka.producer.acks, "1", "0|1|all",
         "Acknowledgements a produce waits for; all turns on idempotence. Read by issue #4."),
    INT("kafka.producer.delivery_timeout_ms", kafka.producer.delivery_timeout_ms, "30000", 1000, 3600000,
        "How long a record may wait for its acknowledgement (message.timeout.ms) before the produce fails with "
        "'unavailable'; covers a broker outage. Kafka backend only."),
    INT("kafka.consumer.fetch_min_bytes", kafka.consumer.fetch_min_bytes, "1024", 1, 100000000,
        "Minimum bytes a fetch waits for (fetch.min.bytes). Read by issue #4."),
    INT("kafka.consumer.fetch_max_wait_ms", kafka.consumer.fetch_max_wait_ms, "500", 0, 300000,
        "Longest a fetch waits for fetch_min_bytes (fetch.wait.max.ms). Read by issue #4."),
    INT("kafka.consumer.max_partition_fetch_bytes", kafka.consumer.max_partition_fetch_bytes, "1048576", 1,
        1000000000, "Bytes fetched per partition per request. Read by issue #4."),
    INT("kafka.consumer.max_poll_records", kafka.consumer.max_poll_records, "500", 1, 1000000,
        "Records returned by one consumer poll. Read by issue #3."),

    INT("analytics.batch_rows", analytics.batch_rows, "50000", 1, 10000000,
        "Rows per stored part from ingest and in-process inserts (the seed used 10K-100K); a batch is also stored "
        "after analytics.flush_ms."),
    INT("analytics.flush_ms", analytics.flush_ms, "1000", 1, 3600000,
        "Longest ingested or inserted rows wait before they are stored as a part."),
    I64("analytics.query_max_rows", analytics.query_max_rows, "100000", 1, 100000000,
        "Largest query result; a query returning more fails with out_of_range (add a LIMIT)."),
    INT("analytics.query_timeout_ms", analytics.query_timeout_ms, "10000", 1, 3600000,
        "A query running longer fails with timeout."),
    INT("analytics.index_granularity", analytics.index_granularity, "8192", 128, 1048576,
        "Rows per granule: the unit of compression and of min/max pruning (embedded store)."),
    INT("analytics.parts_to_throw_insert", analytics.parts_to_throw_insert, "300", 2, 100000,
        "Parts in one partition at which inserts are refused with try_again until merges catch up (ingest waits)."),
    INT("analytics.merge_max_parts", analytics.merge_max_parts, "10", 2, 1000,
        "Parts one background merge combines at most (embedded store)."),
    I64("analytics.merge_max_rows", analytics.merge_max_rows, "10000000", 1000, 10000000000LL,
        "Rows a merged part holds at most (embedded store)."),
    ENUM("analytics.compression", analytics.compression, "lz4", "lz4|zstd|none",
         "Codec of stored column granules (embedded store)."),
    I64("analytics.cache_bytes", analytics.cache_bytes, "268435456", 0, 1099511627776LL,
        "Memory for decompressed columns of stored parts; least recently used columns are dropped past it."),
    INT("analytics.maintain_interval_ms", analytics.maintain_interval_ms, "1000", 10, 3600000,
        "Period of the background merges, TTL and time-based flushes (embedded store)."),
    INT("analytics.ttl_days.provider_metrics", analytics.ttl_days.provider_metrics, "90", 0, 36500,
        "Days provider_metrics rows (and their rollup) are kept; 0 = forever."),
    INT("analytics.ttl_days.debate_metrics", analytics.ttl_days.debate_metrics, "365", 0, 36500,
        "Days debate_metrics rows (and their rollup) are kept; 0 = forever."),
    INT("analytics.ttl_days.debate_participants", analytics.ttl_days.debate_participants, "365", 0, 36500,
        "Days debate_participants rows are kept; 0 = forever."),
    INT("analytics.ttl_days.conversation_metrics", analytics.ttl_days.conversation_metrics, "365", 0, 36500,
        "Days conversation_metrics rows (and their rollup) are kept; 0 = forever."),

    STR("clickhouse.url", clickhouse.url, "http://127.0.0.1:8123",
        "ClickHouse HTTP endpoint (http:// or https://) when backends.analytics=clickhouse (docs/clickhouse.md)."),
    STR("clickhouse.database", clickhouse.database, "helix",
        "ClickHouse database for Helix's tables; created at startup if missing."),
    STR("clickhouse.user", clickhouse.user, "default", "ClickHouse user (HTTP basic auth)."),
    SECRET("clickhouse.password", clickhouse.password, "ClickHouse password."),
    INT("clickhouse.timeout_ms", clickhouse.timeout_ms, "30000", 100, 3600000,
        "Deadline of one HTTP request to ClickHouse (insert or query; queries also stop at analytics' own limit)."),
    INT("clickhouse.connect_timeout_ms", clickhouse.connect_timeout_ms, "2000", 10, 600000,
        "Deadline for connecting to ClickHouse."),
    INT("clickhouse.insert_retries", clickhouse.insert_retries, "5", 0, 1000,
        "Extra attempts for a batch insert that failed on a retryable error; then the batch stays in the log and is "
        "retried later."),
    INT("clickhouse.retry_backoff_ms", clickhouse.retry_backoff_ms, "100", 1, 600000,
        "First pause between insert attempts; doubles each attempt, up to 32 times this."),
    STR("clickhouse.tls.ca_file", clickhouse.tls.ca_file, "",
        "CA bundle (PEM) that verifies an https:// ClickHouse; empty = the system store."),
    STR("clickhouse.tls.cert_file", clickhouse.tls.cert_file, "", "Client certificate (PEM) for mutual TLS."),
    STR("clickhouse.tls.key_file", clickhouse.tls.key_file, "", "Client key (PEM) for mutual TLS."),
    BOOL("clickhouse.tls.insecure_skip_verify", clickhouse.tls.insecure_skip_verify, "false",
         "Do not verify ClickHouse's certificate (tests only)."),

    STR("neo4j.uri", neo4j.uri, "bolt://127.0.0.1:7687",
        "Neo4j Bolt address when backends.graph=neo4j: bolt://host:port (neo4j:// is taken without routing; no TLS) (docs/graph.md)."),
    STR("neo4j.user", neo4j.user, "neo4j", "Neo4j user for basic auth; empty sends no credentials."),
    SECRET("neo4j.password", neo4j.password, "Neo4j password for basic auth."),
    STR("neo4j.database", neo4j.database, "", "Neo4j database the graph lives in; empty = the server's default (usually neo4j)."),
    INT("neo4j.pool_size", neo4j.pool_size, "4", 1, 1024,
        "Bolt connections to Neo4j at most; queries beyond that wait up to neo4j.timeout_ms."),
    INT("neo4j.batch_size", neo4j.batch_size, "1000", 1, 100000,
        "Rows per UNWIND statement when a graph batch is written (a batch is still one transaction)."),
    INT("neo4j.timeout_ms", neo4j.timeout_ms, "30000", 100, 3600000,
        "Longest one Neo4j request (and the connect) may take; a timed-out connection is replaced."),

    ENUM("infinite_context.compression.default_strategy", infinite_context.compression.default_strategy, "hybrid",
         "hybrid|entity_graph|window_summary|full", "Compression strategy when a request names none. Read by issue #5."),
    DBL("infinite_context.compression.target_ratio", infinite_context.compression.target_ratio, "0.30", 0.01, 1.0,
        "Compressed tokens / original tokens to aim for. Read by issue #5."),
    DBL("infinite_context.compression.quality_threshold", infinite_context.compression.quality_threshold, "0.90", 0,
        1, "Below this quality score compression escalates. Read by issue #5."),
    INT("infinite_context.compression.preserve_recent_count", infinite_context.compression.preserve_recent_count,
        "50", 0, 100000, "Most recent messages kept verbatim. Read by issue #5."),
    INT("infinite_context.compression.window_size", infinite_context.compression.window_size, "50", 2, 10000,
        "Messages per summary window. Read by issue #5."),
    INT("infinite_context.compression.min_budget_tokens", infinite_context.compression.min_budget_tokens, "4096", 0,
        100000000,
        "Token budget floor of a replay that gives neither max_tokens nor target_ratio: a conversation this short comes "
        "back whole, a longer one is compressed to max(target_ratio x tokens, this). 0 = no floor."),
    INT("infinite_context.cache.size", infinite_context.cache.size, "1000", 0, 10000000,
        "Cached summaries (LRU entries). Read by issue #5."),
    INT("infinite_context.cache.ttl_seconds", infinite_context.cache.ttl_seconds, "1800", 1, 31536000,
        "Lifetime of a cached summary. Read by issue #5."),
    ENUM("infinite_context.cache.eviction", infinite_context.cache.eviction, "lru", "lru",
         "Cache eviction policy. Read by issue #5."),
    STR("infinite_context.llm.endpoint", infinite_context.llm.endpoint, "",
        "OpenAI-compatible base URL for LLM summaries; empty = extractive only. Read by issue #5."),
    STR("infinite_context.llm.model", infinite_context.llm.model, "", "Model name sent to the LLM endpoint. Read by issue #5."),
    SECRET("infinite_context.llm.api_key", infinite_context.llm.api_key, "Bearer key for the LLM endpoint. Read by issue #5."),
    INT("infinite_context.llm.timeout_ms", infinite_context.llm.timeout_ms, "10000", 100, 600000,
        "LLM request timeout; on timeout the extractive summary is used. Read by issue #5."),

    INT("distributed_memory.sync.batch_size", distributed_memory.sync.batch_size, "100", 1, 100000,
        "Deltas per published batch. Read by issue #6."),
    INT("distributed_memory.sync.interval_ms", distributed_memory.sync.interval_ms, "5", 0, 3600000,
        "Longest a delta waits for its batch to fill before publishing (0 = publish at once). Read by issue #6."),
    INT("distributed_memory.sync.max_lag_ms", distributed_memory.sync.max_lag_ms, "5000", 1, 3600000,
        "Sync lag above which the memory component reports degraded. Read by issue #6."),
    INT("distributed_memory.sync.digest_interval_ms", distributed_memory.sync.digest_interval_ms, "5000", 50, 3600000,
        "Anti-entropy digest (and peer heartbeat) period; a peer silent for 3 periods is down. Read by issue #6."),
    ENUM("distributed_memory.crdt.strategy", distributed_memory.crdt.strategy, "merge_all",
         "merge_all|last_write_wins", "Concurrent content writes: keep all as siblings, or pick one. Read by issue #6."),
    INT("distributed_memory.snapshot.interval_seconds", distributed_memory.snapshot.interval_seconds, "300", 1,
        86400, "Full snapshot period. Read by issue #6."),
    INT("distributed_memory.snapshot.retention_count", distributed_memory.snapshot.retention_count, "12", 1, 10000,
        "Snapshots kept. Read by issue #6."),
    BOOL("distributed_memory.snapshot.compression", distributed_memory.snapshot.compression, "true",
         "Compress snapshots with zstd. Read by issue #6."),

    BOOL("lake.enabled", lake.enabled, "true",
         "Run the archiver (consumer group helix-lake) that writes the topics to the Parquet lake (docs/lake.md)."),
    STR("lake.root", lake.root, "", "Lake directory; empty = <node.data_dir>/lake."),
    ENUM("lake.codec", lake.codec, "snappy", "none|snappy|zstd", "Parquet compression codec of new lake files."),
    INT("lake.zstd_level", lake.zstd_level, "3", 1, 19, "zstd level when lake.codec=zstd."),
    I64("lake.row_group_bytes", lake.row_group_bytes, "134217728", 65536, 1073741824,
        "Raw bytes buffered per Parquet row group (the seed's 128 MB blocks)."),
    I64("lake.page_bytes", lake.page_bytes, "1048576", 4096, 67108864, "Raw bytes per Parquet data page."),
    I64("lake.file_rows", lake.file_rows, "100000", 1, 100000000,
        "The archiver writes its buffered rows once this many are buffered..."),
    INT("lake.flush_ms", lake.flush_ms, "60000", 10, 86400000,
        "...or once the oldest buffered row is this old; then it commits the group offsets."),
    I64("lake.target_file_bytes", lake.target_file_bytes, "134217728", 4096, 17179869184LL,
        "Compaction coalesces a partition's smaller files into files of about this size."),
    INT("lake.retention_days", lake.retention_days, "365", 0, 36500,
        "Day partitions older than this are deleted by the retention job; 0 keeps everything."),
    STR("lake.dataset_retention_days", lake.dataset_retention_days, "",
        "Per-dataset retention overriding lake.retention_days: \"provider_metrics=30,debates=90\"."),
    STR("lake.export_dir", lake.export_dir, "", "Where export jobs write; empty = <lake.root>/_exports."),

    INT("jobs.concurrency", jobs.concurrency, "2", 1, 64, "Batch jobs running at once."),
    STR("jobs.schedules", jobs.schedules, "retention every 1h; compaction every 6h",
        "Jobs submitted on a schedule: \"TYPE every N(s|m|h|d)\" entries separated by ';'; empty = none."),
    INT("jobs.history", jobs.history, "1000", 10, 1000000, "Finished job records kept (oldest dropped first)."),
    INT("graph.batch_size", graph.batch_size, "1000", 1, 100000,
        "Graph ops the graph consumer applies in one store transaction (docs/graph.md)."),
    INT("graph.flush_ms", graph.flush_ms, "50", 1, 60000,
        "Longest the graph consumer holds a partial batch before applying it."),
    INT("graph.wait_ms", graph.wait_ms, "5000", 0, 600000,
        "How long a knowledge API write waits for its events to be applied (0 = answer once produced)."),
    INT("graph.snapshot_interval_seconds", graph.snapshot_interval_seconds, "300", 1, 86400,
        "Embedded graph store: snapshot period; the write-ahead log since the last snapshot is replayed on start."),
    BOOL("graph.extract.enabled", graph.extract.enabled, "true",
         "Run the entity extraction consumer of conversations and memory writes (group helix-graph-extract)."),
    INT("graph.extract.window_sentences", graph.extract.window_sentences, "3", 1, 100,
        "Entities this many sentences apart or closer in one message co-occur (strength 0.5; 1 in one sentence)."),
    INT("graph.extract.max_entities", graph.extract.max_entities, "64", 1, 1000,
        "Most entities taken from one message (the most frequent first)."),
};

const hx_knob_t *hx_config_knobs(size_t *n)
{
    *n = sizeof knobs / sizeof knobs[0];
    return knobs;
}

const hx_knob_t *hx_config_knob_find(const char *path)
{
    for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++)
        if (strcmp(knobs[i].path, path) == 0)
            return &knobs[i];
    return NULL;
}
