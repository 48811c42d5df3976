/* The ClickHouse analytics backend's ops (clickhouse.h).
 *
 * Writes: every write is one INSERT into the Null-engine ingest_rows table
 * (schema.c), whose views route rows to the raw tables, the rollups and,
 * for ingest, the consumer position (ingest_offsets). So an ingest commit,
 * rows and offsets together, lands whole or not at all, and ingest resumes
 * from the offsets stored with the data (stored_offsets), as it does on the
 * embedded store. A commit whose answer was lost (timeout, dropped
 * connection) is probed by its sequence number before it is sent again.
 *
 * An unreachable ClickHouse is an outage, never a crash: open succeeds, the
 * schema is created on first contact, ingest_commit fails with HX_EUNAVAIL
 * after its retries (the consumer keeps the batch and the log backs up),
 * health reports it. */
#include "analytics/clickhouse/clickhouse.h"
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_metrics.h"
#include "helix/hx_logger.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMORY_CACHE_NS (1000ull * 1000 * 1000)

typedef struct ch_backend {
    ch_conn_t *conn;
    pthread_mutex_t mu;        /* guards everything below */
    int schema_ok;
    uint64_t seq;              /* last ingest commit's sequence number */
    char version[32];
    uint64_t mem_bytes, mem_at_ns;
    uint64_t retention_at_ns;  /* last background retention pass */
    /* A commit that failed after an attempt that may still land: resolved
     * before anything else is written, so it is never stored twice. */
    uint64_t pending_seq;
    int pending_src, pending_part;
    hx_an_offsets_t pending_next;
    /* Ingest lag: what the source topics hold beyond the stored offsets. */
    hx_broker_t *broker;       /* borrowed, may be NULL */
    hx_gauge_child_t *m_lag;
    hx_an_offsets_t stored;
    int stored_known;
} ch_backend_t;

/* Background maintenance comes every analytics.maintain_interval_ms; a
 * retention pass is a handful of queries, once a minute is plenty. */
#define RETENTION_EVERY_NS (60ull * 1000 * 1000 * 1000)

void ch_opts_from_config(const hx_config_t *cfg, ch_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->url = cfg->clickhouse.url;
    o->database = cfg->clickhouse.database;
    o->user = cfg->clickhouse.user;
    o->password = cfg->clickhouse.password;
    o->timeout_ms = cfg->clickhouse.timeout_ms;
    o->connect_timeout_ms = cfg->clickhouse.connect_timeout_ms;
    o->ca_file = cfg->clickhouse.tls.ca_file;
    o->cert_file = cfg->clickhouse.tls.cert_file;
    o->key_file = cfg->clickhouse.tls.key_file;
    o->insecure = cfg->clickhouse.tls.insecure_skip_verify;
    o->insert_retries = cfg->clickhouse.insert_retries;
    o->retry_backoff_ms = cfg->clickhouse.retry_backoff_ms;
    o->index_granularity = cfg->analytics.index_granularity;
    o->ttl_days[HX_AN_PROVIDER_METRICS] = cfg->analytics.ttl_days.provider_metrics;
    o->ttl_days[HX_AN_DEBATE_METRICS] = cfg->analytics.ttl_days.debate_metrics;
    o->ttl_days[HX_AN_DEBATE_PARTICIPANTS] = cfg->analytics.ttl_days.debate_participants;
    o->ttl_days[HX_AN_CONVERSATION_METRICS] = cfg->analytics.ttl_days.conversation_metrics;
}

/* First contact: the schema, the server version and where the commit
 * sequence stands. Called under b->mu. */
static int ensure_schema(ch_backend_t *b, hx_err_t *err)
{
    if (b->schema_ok)
        return HX_OK;
    int rc = ch_schema_create(b->conn, err);
    hx_buf_t out = HX_BUF_INIT;
    if (!rc)
        rc = ch_exec(b->conn, "SELECT version()", NULL, 0, NULL, 0, &out, err);
    if (!rc) {
        snprintf(b->version, sizeof b->version, "%.*s", (int)strcspn(hx_buf_cstr(&out), "\n"),
                 hx_buf_cstr(&out));
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT max(seq) FROM %s." CH_OFFSETS_TABLE, b->conn->database);
        rc = ch_exec(b->conn, sql, NULL, 0, NULL, 0, &out, err);
    }
    if (!rc) {
        b->seq = strtoull(hx_buf_cstr(&out), NULL, 10);
        b->schema_ok = 1;
        HX_INFO("analytics", "ClickHouse %s at %s, database %s: schema ready", b->version, b->conn->url,
                b->conn->database);
    }
    hx_buf_free(&out);
    return rc;
}

static int with_schema(ch_backend_t *b, hx_err_t *err)
{
    pthread_mutex_lock(&b->mu);
    int rc = ensure_schema(b, err);
    pthread_mutex_unlock(&b->mu);
    return rc;
}

static void ch_close(void *impl)
{
    ch_backend_t *b = impl;
    if (!b)
        return;
    ch_conn_close(b->conn);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static int ch_health(void *impl, char *detail, size_t len)
{
    ch_backend_t *b = impl;
    hx_err_t err = {0};
    int rc = ch_ping(b->conn, &err);
    if (!rc)
        rc = with_schema(b, &err);
    if (rc)
        snprintf(detail, len, "%s", err.msg);
    else
        snprintf(detail, len, "ClickHouse %s at %s answers /ping", b->version, b->conn->url);
    return rc ? (rc == HX_EAUTH || rc == HX_ECONFIG ? rc : HX_EUNAVAIL) : HX_OK;
}

static int ch_insert(void *impl, const hx_an_batch_t *batch, hx_err_t *err)
{
    ch_backend_t *b = impl;
    if (!batch->rows)
        return HX_OK;
    int rc = with_schema(b, err);
    if (rc)
        return rc;
    hx_buf_t tsv = HX_BUF_INIT;
    if (ch_encode_batch(batch, &tsv))
        rc = hx_err_set(err, HX_ENOMEM, "out of memory encoding %zu rows for ClickHouse", batch->rows);
    else
        rc = ch_insert_rows(b->conn, &tsv, batch->rows, 0, 0, 0, NULL, NULL, err);
    hx_buf_free(&tsv);
    return rc;
}

/* What ClickHouse acknowledged is durable there: nothing is buffered here. */
static int ch_flush(void *impl, hx_err_t *err) { return HX_OK; }

/* During an outage nothing is committed, so the group's own lag gauge
 * stands still; this one is refreshed on every commit attempt, failed or
 * not (the consumer retries every few seconds). Called under b->mu. */
static void update_lag(ch_backend_t *b)
{
    if (!b->m_lag || !b->broker || !b->stored_known)
        return;
    double lag = 0;
    for (int s = 0; s < HX_AN_NSRCS; s++) {
        hx_topic_info_t ti;
        memset(&ti, 0, sizeof ti);
        if (hx_broker_topic_describe(b->broker, hx_an_src_topic((hx_an_src_t)s), &ti, NULL))
            continue;
        for (int p = 0; p < ti.config.partitions && p < HX_AN_MAX_PARTITIONS; p++) {
            int64_t done = b->stored.next[s][p] >= 0 ? b->stored.next[s][p] : ti.partitions[p].low_watermark;
            if (ti.partitions[p].high_watermark > done)
                lag += (double)(ti.partitions[p].high_watermark - done);
        }
        hx_topic_info_free(&ti);
    }
    hx_gauge_set(b->m_lag, lag);
}

static void note_stored(ch_backend_t *b, const hx_an_offsets_t *next)
{
    for (int s = 0; s < HX_AN_NSRCS; s++)
        for (int p = 0; p < HX_AN_MAX_PARTITIONS; p++)
            if (next->next[s][p] >= 0)
                b->stored.next[s][p] = next->next[s][p];
}

/* 1 = the pending commit landed and is the same as next (nothing to send),
 * 0 = go on and send, <0 = not resolvable yet, or it landed but this call
 * carries different batches (ingest must resume from stored_offsets). */
static int resolve_pending(ch_backend_t *b, const hx_an_offsets_t *next, hx_err_t *err)
{
    int l = ch_probe_insert(b->conn, b->pending_seq, b->pending_src, b->pending_part, err);
    if (l == 2)
        return hx_err_set(err, HX_EAGAIN, "an earlier ingest commit still runs on ClickHouse at %s", b->conn->url);
    if (l < 0)
        return l;
    uint64_t seq = b->pending_seq;
    b->pending_seq = 0;
    if (l == 0)
        return 0;
    b->seq = seq;
    note_stored(b, &b->pending_next);
    if (!memcmp(next, &b->pending_next, sizeof *next))
        return 1;
    return hx_err_set(err, HX_ECONFLICT,
                      "an earlier ingest commit landed on ClickHouse after its answer was lost; resume ingest from "
                      "the stored offsets");
}

static int ch_ingest_commit(void *impl, hx_an_batch_t *const *batches, size_t n, const hx_an_offsets_t *next,
                            hx_err_t *err)
{
    ch_backend_t *b = impl;
    pthread_mutex_lock(&b->mu);
    int rc = ensure_schema(b, err);
    hx_buf_t tsv = HX_BUF_INIT;
    size_t rows = 0;
    if (!rc && b->pending_seq)
        rc = resolve_pending(b, next, err);
    if (rc) {
        if (rc == 1) /* this very commit had landed */
            rc = HX_OK;
        goto cleanup;
    }
    /* Sequence numbers grow across restarts and nodes: newest offsets win in
     * ingest_offsets (ReplacingMergeTree(seq)). */
    uint64_t now_us = (uint64_t)hx_now_us();
    uint64_t seq = b->seq + 1 > now_us ? b->seq + 1 : now_us;
    int probe_src = -1, probe_part = -1;
    for (size_t i = 0; !rc && i < n; i++) {
        rows += batches[i]->rows;
        rc = ch_encode_batch(batches[i], &tsv);
    }
    for (int s = 0; !rc && s < HX_AN_NSRCS; s++)
        for (int p = 0; !rc && p < HX_AN_MAX_PARTITIONS; p++) {
            if (next->next[s][p] < 0)
                continue;
            if (probe_src < 0) {
                probe_src = s;
                probe_part = p;
            }
            rc = ch_encode_offset(seq, s, p, next->next[s][p], &tsv);
            rows++;
        }
    if (rc) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory encoding an ingest commit for ClickHouse");
        goto cleanup;
    }
    if (!rows)
        goto cleanup;
    int maybe = 0;
    rc = ch_insert_rows(b->conn, &tsv, rows, probe_src >= 0 ? seq : 0, probe_src, probe_part, NULL, &maybe, err);
    if (!rc) {
        b->seq = seq;
        note_stored(b, next);
        b->stored_known = 1;
    } else if (maybe && probe_src >= 0) {
        b->pending_seq = seq;
        b->pending_src = probe_src;
        b->pending_part = probe_part;
        b->pending_next = *next;
    }
cleanup:
    update_lag(b);
    pthread_mutex_unlock(&b->mu);
    hx_buf_free(&tsv);
    return rc;
}

static int ch_stored_offsets(void *impl, hx_an_offsets_t *out, hx_err_t *err)
{
    ch_backend_t *b = impl;
    hx_an_offsets_clear(out);
    int rc = with_schema(b, err);
    if (rc)
        return rc;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT src, part, argMax(next, seq) FROM %s." CH_OFFSETS_TABLE " GROUP BY src, part FORMAT TabSeparated",
             b->conn->database);
    hx_buf_t res = HX_BUF_INIT;
    rc = ch_exec(b->conn, sql, NULL, 0, NULL, 0, &res, err);
    if (!rc) {
        ch_parse_offsets(hx_buf_cstr(&res), out);
        pthread_mutex_lock(&b->mu);
        note_stored(b, out);
        b->stored_known = 1;
        pthread_mutex_unlock(&b->mu);
    }
    hx_buf_free(&res);
    return rc;
}

static int ch_query(void *impl, hx_sql_query_t *q, const hx_an_exec_opts_t *o, hx_an_result_t *out, hx_err_t *err)
{
    ch_backend_t *b = impl;
    int rc = with_schema(b, err);
    return rc ? rc : ch_backend_query(b->conn, q, o, out, err);
}

static int ch_table_stats(void *impl, hx_an_table_t t, hx_an_table_stats_t *out, hx_err_t *err)
{
    ch_backend_t *b = impl;
    memset(out, 0, sizeof *out);
    int rc = with_schema(b, err);
    if (rc)
        return rc;
    char sql[640];
    snprintf(sql, sizeof sql,
             "SELECT sum(rows), sum(parts), count(), max(parts), sum(bytes) FROM (SELECT partition, sum(rows) AS "
             "rows, count() AS parts, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = '%s' AND "
             "table = '%s' AND active GROUP BY partition) FORMAT TabSeparated",
             b->conn->database, hx_an_table(t)->name);
    hx_buf_t res = HX_BUF_INIT;
    rc = ch_exec(b->conn, sql, NULL, 0, NULL, 0, &res, err);
    if (!rc) {
        unsigned long long v[5] = {0};
        sscanf(hx_buf_cstr(&res), "%llu\t%llu\t%llu\t%llu\t%llu", &v[0], &v[1], &v[2], &v[3], &v[4]);
        out->rows = v[0];
        out->parts = v[1];
        out->partitions = v[2];
        out->max_parts_in_partition = v[3];
        out->bytes_on_disk = v[4];
    }
    hx_buf_free(&res);
    return rc;
}

static int ch_maintain(void *impl, int64_t now_s, hx_err_t *err)
{
    ch_backend_t *b = impl;
    uint64_t now = hx_mono_ns();
    pthread_mutex_lock(&b->mu);
    int due = now_s || !b->retention_at_ns || now - b->retention_at_ns >= RETENTION_EVERY_NS;
    if (due)
        b->retention_at_ns = now;
    pthread_mutex_unlock(&b->mu);
    if (!due)
        return HX_OK;
    int rc = with_schema(b, err);
    return rc ? rc : ch_schema_retention(b->conn, now_s ? now_s : hx_now_ms() / 1000, err);
}

/* The server's tracked memory, at most once a second (scrapes call this). */
static uint64_t ch_memory_bytes(void *impl)
{
    ch_backend_t *b = impl;
    uint64_t now = hx_mono_ns();
    pthread_mutex_lock(&b->mu);
    int fresh = b->mem_at_ns && now - b->mem_at_ns < MEMORY_CACHE_NS;
    uint64_t v = b->mem_bytes;
    pthread_mutex_unlock(&b->mu);
    if (fresh)
        return v;
    hx_buf_t res = HX_BUF_INIT;
    if (!ch_exec(b->conn, "SELECT value FROM system.metrics WHERE metric = 'MemoryTracking'", NULL, 0, NULL, 0, &res,
                 NULL))
        v = strtoull(hx_buf_cstr(&res), NULL, 10);
    hx_buf_free(&res);
    pthread_mutex_lock(&b->mu);
    b->mem_bytes = v;
    b->mem_at_ns = now;
    pthread_mutex_unlock(&b->mu);
    return v;
}

static const hx_an_backend_ops_t ch_ops = {
    .name = "clickhouse",
    .close = ch_close,
    .health = ch_health,
    .insert = ch_insert,
    .flush = ch_flush,
    .ingest_commit = ch_ingest_commit,
    .stored_offsets = ch_stored_offsets,
    .query = ch_query,
    .table_stats = ch_table_stats,
    .maintain = ch_maintain,
    .memory_bytes = ch_memory_bytes,
};

int hx_an_clickhouse_open(const hx_analytics_opts_t *o, const hx_an_backend_ops_t **ops, void **impl,
                          hx_err_t *err)
{
    ch_opts_t co;
    ch_opts_from_config(o->cfg, &co);
    ch_backend_t *b = calloc(1, sizeof *b);
    if (!b)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    int rc = ch_conn_open(&co, &b->conn, err);
    if (rc) {
        free(b);
        return rc;
    }
    pthread_mutex_init(&b->mu, NULL);
    hx_an_offsets_clear(&b->stored);
    b->broker = o->broker;
    if (o->metrics)
        b->m_lag = hx_gauge_child(hx_metrics_gauge(o->metrics, "clickhouse_ingest_lag_records",
                                                   "Records in the analytics source topics not yet stored", "backend"),
                                  (const char *[]){"clickhouse"});
    /* Down is an outage (ingest waits in the log); refused credentials or a
     * schema the server rejects are configuration errors. */
    hx_err_t first = {0};
    if ((rc = with_schema(b, &first)) && !ch_retryable(rc)) {
        *err = first;
        ch_close(b);
        return rc;
    }
    if (rc)
        HX_WARN("analytics", "%s; ingest waits in the log until ClickHouse answers", first.msg);
    *ops = &ch_ops;
    *impl = b;
    return HX_OK;
}
