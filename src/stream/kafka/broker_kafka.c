/* The kafka backend: lifecycle, client configuration, health and metrics.
 * One producer handle carries produce, metadata, watermarks and admin
 * requests; each hx consumer gets its own consumer handle (consumer.c). */
#include "stream/kafka/kafka.h"
#include "helix/hx_clock.h"
#include "helix/hx_logger.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kf_code(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_NO_ERROR: return HX_OK;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE: return HX_ETOOBIG;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND: return HX_ENOTFOUND;
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION: return HX_EINVAL;
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: return HX_EEXIST;
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE: return HX_ERANGE;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL: return HX_EAGAIN;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT: return HX_ETIMEOUT;
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION: return HX_EUNSUPPORTED;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION: return HX_EAUTH;
    default: return HX_EUNAVAIL;
    }
}

int kf_err(hx_err_t *err, rd_kafka_resp_err_t e, const char *what, const char *name)
{
    return hx_err_set(err, kf_code(e), "kafka: %s%s%s%s: %s", what, name ? " '" : "", name ? name : "",
                      name ? "'" : "", rd_kafka_err2str(e));
}

int kf_unknown_topic(const char *topic, hx_err_t *err)
{
    return hx_err_set(err, HX_ENOTFOUND,
                      "topic '%s' does not exist (create it with `helix topic create %s` or POST /v1/topics)", topic,
                      topic);
}

int kf_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, hx_err_t *err)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        return hx_err_set(err, HX_ECONFIG, "kafka: %s=%s rejected by librdkafka: %s", key, value, errstr);
    return HX_OK;
}

static void kf_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 3)
        HX_ERROR("kafka", "%s: %s", fac, buf);
    else if (level <= 4)
        HX_WARN("kafka", "%s: %s", fac, buf);
    else
        HX_DEBUG("kafka", "%s: %s", fac, buf);
}

int kf_conf_base(kf_t *k, rd_kafka_conf_t *conf, const char *client_id, hx_err_t *err)
{
    int rc;
    if ((rc = kf_conf_set(conf, "bootstrap.servers", k->bootstrap, err)) ||
        (rc = kf_conf_set(conf, "client.id", client_id, err)))
        return rc;
    rd_kafka_conf_set_log_cb(conf, kf_log_cb);
    return HX_OK;
}

/* librdkafka's statistics carry per-topic batch sizes; the gauge is the
 * record-weighted mean of batchcnt.avg, the same unit as the embedded log's
 * records per appended batch. */
static int kf_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk;
    kf_t *k = opaque;
    json_t *root = json_loadb(json, len, 0, NULL);
    json_t *topics = root ? json_object_get(root, "topics") : NULL;
    double sum = 0, weight = 0;
    const char *name;
    json_t *t;
    json_object_foreach(topics, name, t) {
        json_t *bc = json_object_get(json_object_get(t, "batchcnt"), "avg");
        json_t *cnt = json_object_get(json_object_get(t, "batchcnt"), "cnt");
        if (json_is_integer(bc) && json_integer_value(bc) > 0 && json_is_integer(cnt)) {
            sum += (double)json_integer_value(bc) * (double)json_integer_value(cnt);
            weight += (double)json_integer_value(cnt);
        }
    }
    if (weight > 0 && k->m_batch_avg)
        hx_gauge_set_labels(k->m_batch_avg, (const char *[]){"kafka"}, sum / weight);
    json_decref(root);
    return 0; /* librdkafka frees json */
}

static void *poller_main(void *arg)
{
    kf_t *k = arg;
    while (!__atomic_load_n(&k->stopping, __ATOMIC_ACQUIRE))
        rd_kafka_poll(k->prod, 100);
    return NULL;
}

static int make_producer(kf_t *k, hx_err_t *err)
{
    const hx_config_t *c = &k->cfg;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char v[64];
    int rc = kf_conf_base(k, conf, "helix", err);
    int all = strcmp(c->kafka.producer.acks, "all") == 0;
    int64_t maxmsg = c->event_log.max_message_bytes + 1024;
    if (maxmsg < c->kafka.producer.batch_size)
        maxmsg = c->kafka.producer.batch_size;
#define SETI(key, val) (snprintf(v, sizeof v, "%lld", (long long)(val)), kf_conf_set(conf, key, v, err))
    if (rc || (rc = kf_conf_set(conf, "compression.codec", c->kafka.producer.compression_type, err)) ||
        (rc = SETI("batch.size", c->kafka.producer.batch_size)) || (rc = SETI("linger.ms", c->kafka.producer.linger_ms)) ||
        (rc = SETI("queue.buffering.max.kbytes", c->kafka.producer.buffer_memory / 1024 > 0
                                                     ? c->kafka.producer.buffer_memory / 1024 : 1)) ||
        (rc = SETI("max.in.flight.requests.per.connection", c->kafka.producer.max_in_flight_requests)) ||
        (rc = kf_conf_set(conf, "acks", c->kafka.producer.acks, err)) ||
        (rc = SETI("message.timeout.ms", c->kafka.producer.delivery_timeout_ms)) ||
        (rc = kf_conf_set(conf, "enable.idempotence", all ? "true" : "false", err)) ||
        (rc = SETI("message.max.bytes", maxmsg)) ||
        (rc = kf_conf_set(conf, "allow.auto.create.topics", "false", err)) ||
        (rc = kf_conf_set(conf, "statistics.interval.ms", k->metrics ? "1000" : "0", err))) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
#undef SETI
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_dr_msg_cb(conf, kf_dr_cb);
    if (k->metrics)
        rd_kafka_conf_set_stats_cb(conf, kf_stats_cb);
    char errstr[512];
    k->prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!k->prod)
        return hx_err_set(err, HX_ECONFIG, "kafka: creating the producer failed: %s", errstr);
    return HX_OK;
}

static int make_fetcher(kf_t *k, hx_err_t *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = kf_conf_base(k, conf, "helix-fetch", err);
    char v[32];
    snprintf(v, sizeof v, "%d", k->cfg.kafka.consumer.max_partition_fetch_bytes);
    /* A direct fetch wants an answer now, not a batch later. */
    /* librdkafka refuses assign() without a group id; this one never joins
     * (no subscribe) and never commits, so brokers keep no state for it. */
    if (rc || (rc = kf_conf_set(conf, "group.id", "helix-direct-fetch", err)) ||
        (rc = kf_conf_set(conf, "fetch.wait.max.ms", "10", err)) ||
        (rc = kf_conf_set(conf, "max.partition.fetch.bytes", v, err)) ||
        (rc = kf_conf_set(conf, "enable.partition.eof", "true", err)) ||
        (rc = kf_conf_set(conf, "enable.auto.commit", "false", err))) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    char errstr[512];
    k->fetcher = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!k->fetcher)
        return hx_err_set(err, HX_ECONFIG, "kafka: creating the fetch consumer failed: %s", errstr);
    rd_kafka_poll_set_consumer(k->fetcher);
    return HX_OK;
}

static void init_metrics(kf_t *k)
{
    if (!k->metrics)
        return;
    k->m_sent = hx_metrics_counter(k->metrics, "kafka_producer_record_send_total",
                                   "Records acknowledged by the event log", "backend,topic");
    k->m_batch_avg = hx_metrics_gauge(k->metrics, "kafka_producer_batch_size_avg",
                                      "Average records per produced batch", "backend");
    k->m_lag = hx_metrics_gauge(k->metrics, "kafka_consumer_lag_records", "High watermark minus committed offset",
                                "backend,group,topic,partition");
}

static void kf_close(void *impl);
static void meta_free(kf_t *k);

static int kf_health(void *impl, char *detail, size_t len)
{
    kf_t *k = impl;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(k->prod, 0, NULL, &md, 2000);
    if (e) {
        snprintf(detail, len, "kafka %s unreachable: metadata request failed: %s", k->bootstrap, rd_kafka_err2str(e));
        return HX_EUNAVAIL;
    }
    snprintf(detail, len, "kafka %s: %d broker(s)%s", k->bootstrap, md->broker_cnt, k->mock ? " (in-process mock)" : "");
    rd_kafka_metadata_destroy(md);
    return HX_OK;
}

static const hx_broker_ops_t kf_ops = {
    .name = "kafka",
    .close = kf_close,
    .health = kf_health,
    .topic_create = kf_topic_create,
    .topic_delete = kf_topic_delete,
    .topic_list = kf_topic_list,
    .topic_describe = kf_topic_describe,
    .produce_batch = kf_produce_batch,
    .produce_async = kf_produce_async,
    .flush = kf_flush,
    .fetch = kf_fetch,
    .offset_for_time = kf_offset_for_time,
    .group_list = kf_group_list,
    .group_describe = kf_group_describe,
    .consumer_new = kf_consumer_new,
    .consumer_close = kf_consumer_close,
    .consumer_poll = kf_consumer_poll,
    .consumer_commit = kf_consumer_commit,
    .consumer_commit_offset = kf_consumer_commit_offset,
    .consumer_seek = kf_consumer_seek,
    .consumer_seek_time = kf_consumer_seek_time,
    .consumer_assignment = kf_consumer_assignment,
    .consumer_epoch = kf_consumer_epoch,
};

/* "mock" or "mock:N" asks for an in-process mock cluster of N brokers. */
static int parse_mock(const char *bs, int *brokers)
{
    if (strcmp(bs, "mock") == 0) {
        *brokers = 3;
        return 1;
    }
    if (strncmp(bs, "mock:", 5) == 0) {
        char *end;
        long n = strtol(bs + 5, &end, 10);
        *brokers = *end ? -1 : (int)n;
        return 1;
    }
    return 0;
}

int hx_kafka_broker_open(const hx_config_t *cfg, hx_metrics_t *metrics, const hx_broker_ops_t **ops, void **impl,
                         hx_err_t *err)
{
    if (!cfg->kafka.bootstrap_servers[0])
        return hx_err_set(err, HX_ECONFIG,
                          "kafka.bootstrap_servers is empty: set it to HOST:PORT[,HOST:PORT...] (or \"mock\" for an "
                          "in-process mock cluster) when backends.events is kafka");
    kf_t *k = calloc(1, sizeof *k);
    if (!k)
        return hx_err_set(err, HX_ENOMEM, "out of memory opening the kafka backend");
    k->cfg = *cfg;
    k->metrics = metrics;
    k->group_admin = -1;
    k->admin_ok = -1;
    pthread_mutex_init(&k->mu, NULL);
    pthread_mutex_init(&k->fetch_mu, NULL);
    int brokers, rc;
    if (parse_mock(cfg->kafka.bootstrap_servers, &brokers)) {
        if ((rc = hx_kafka_mock_start(brokers, &k->mock, err)))
            goto fail;
        snprintf(k->bootstrap, sizeof k->bootstrap, "%s", hx_kafka_mock_bootstrap(k->mock));
    } else {
        snprintf(k->bootstrap, sizeof k->bootstrap, "%s", cfg->kafka.bootstrap_servers);
    }
    if ((rc = make_producer(k, err)) || (rc = make_fetcher(k, err)))
        goto fail;
    if (pthread_create(&k->poller, NULL, poller_main, k)) {
        rc = hx_err_set(err, HX_EINTERNAL, "kafka: could not start the delivery thread");
        goto fail;
    }
    init_metrics(k);
    HX_INFO("kafka", "connected to %s%s", k->bootstrap, k->mock ? " (in-process mock cluster)" : "");
    *ops = &kf_ops;
    *impl = k;
    return HX_OK;
fail:
    if (k->fetcher)
        rd_kafka_destroy(k->fetcher);
    if (k->prod)
        rd_kafka_destroy(k->prod);
    hx_kafka_mock_stop(k->mock);
    pthread_mutex_destroy(&k->mu);
    pthread_mutex_destroy(&k->fetch_mu);
    free(k);
    return rc;
}

static void kf_close(void *impl)
{
    kf_t *k = impl;
    /* Acknowledged-or-failed for everything queued before we stop polling. */
    rd_kafka_flush(k->prod, 30000);
    __atomic_store_n(&k->stopping, 1, __ATOMIC_RELEASE);
    pthread_join(k->poller, NULL);
    rd_kafka_poll(k->prod, 0);
    rd_kafka_destroy(k->fetcher);
    rd_kafka_destroy(k->prod);
    hx_kafka_mock_stop(k->mock);
    kf_groups_free(k);
    meta_free(k);
    pthread_mutex_destroy(&k->mu);
    pthread_mutex_destroy(&k->fetch_mu);
    free(k);
}

/* Asks for the configs of one broker with a short timeout: a cluster that
 * implements the admin API answers in milliseconds. */
static int probe_admin(kf_t *k)
{
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(k->prod, 0, NULL, &md, 2000) || md->broker_cnt == 0) {
        if (md)
            rd_kafka_metadata_destroy(md);
        return 0;
    }
    char id[16];
    snprintf(id, sizeof id, "%d", md->brokers[0].id);
    rd_kafka_metadata_destroy(md);
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_BROKER, id);
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->prod);
    char errstr[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(k->prod, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(o, 1500, errstr, sizeof errstr);
    rd_kafka_DescribeConfigs(k->prod, &cr, 1, o, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 3000);
    int ok = ev && !rd_kafka_event_error(ev);
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(cr);
    rd_kafka_queue_destroy(q);
    return ok;
}

int kf_admin_supported(kf_t *k)
{
    /* A yes is kept; a no is asked again after a minute, in case the
     * cluster was only unreachable. */
    if (__atomic_load_n(&k->admin_ok, __ATOMIC_RELAXED) == 1)
        return 1;
    uint64_t now = hx_mono_ns(), at = __atomic_load_n(&k->admin_checked_ns, __ATOMIC_RELAXED);
    if (at && now - at < 60ull * 1000000000ull)
        return 0;
    int ok = probe_admin(k);
    __atomic_store_n(&k->admin_ok, ok, __ATOMIC_RELAXED);
    __atomic_store_n(&k->admin_checked_ns, hx_mono_ns(), __ATOMIC_RELAXED);
    if (!ok)
        HX_WARN("kafka", "%s does not answer admin requests (DescribeConfigs); topics must be created where the "
                "cluster runs (librdkafka's mock cluster, `helix kafka-mock`, is like that)", k->bootstrap);
    return ok;
}

hx_kafka_mock_t *kf_mock_of(void *impl) { return ((kf_t *)impl)->mock; }

#define KF_META_TTL_NS (5ull * 1000000000ull)

void kf_meta_forget(kf_t *k, const char *topic)
{
    pthread_mutex_lock(&k->mu);
    for (kf_meta_t **pp = &k->meta; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->name, topic) == 0) {
            kf_meta_t *dead = *pp;
            *pp = dead->next;
            free(dead->name);
            free(dead);
            break;
        }
    pthread_mutex_unlock(&k->mu);
}

static void meta_free(kf_t *k)
{
    while (k->meta) {
        kf_meta_t *next = k->meta->next;
        free(k->meta->name);
        free(k->meta);
        k->meta = next;
    }
}

static int meta_lookup(kf_t *k, const char *topic, int *out)
{
    int hit = 0;
    uint64_t now = hx_mono_ns();
    pthread_mutex_lock(&k->mu);
    for (kf_meta_t *m = k->meta; m; m = m->next)
        if (strcmp(m->name, topic) == 0 && now - m->at_ns < KF_META_TTL_NS) {
            *out = m->partitions;
            hit = 1;
            break;
        }
    pthread_mutex_unlock(&k->mu);
    return hit;
}

static void meta_store(kf_t *k, const char *topic, int partitions)
{
    pthread_mutex_lock(&k->mu);
    kf_meta_t *m = k->meta;
    while (m && strcmp(m->name, topic) != 0)
        m = m->next;
    if (!m && (m = calloc(1, sizeof *m)) && !(m->name = strdup(topic))) {
        free(m);
        m = NULL;
    } else if (m && !m->at_ns) {
        m->next = k->meta;
        k->meta = m;
    }
    if (m) {
        m->partitions = partitions;
        m->at_ns = hx_mono_ns();
    }
    pthread_mutex_unlock(&k->mu);
}

int kf_topic_partitions(kf_t *k, const char *topic, int *out, hx_err_t *err)
{
    if (meta_lookup(k, topic, out))
        return HX_OK;
    /* All-topics metadata: a request naming the topic would auto-create it on
     * brokers that allow that (the mock cluster always does). */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(k->prod, 1, NULL, &md, KF_ADMIN_TIMEOUT_MS);
    if (e)
        return kf_err(err, e, "metadata for topic", topic);
    int rc = HX_ENOTFOUND;
    for (int i = 0; i < md->topic_cnt; i++) {
        const struct rd_kafka_metadata_topic *t = &md->topics[i];
        if (t->err || t->partition_cnt == 0)
            continue;
        meta_store(k, t->topic, t->partition_cnt);
        if (strcmp(t->topic, topic) == 0) {
            *out = t->partition_cnt;
            rc = HX_OK;
        }
    }
    rd_kafka_metadata_destroy(md);
    return rc ? kf_unknown_topic(topic, err) : HX_OK;
}

int kf_watermarks(kf_t *k, const char *topic, int32_t partition, int64_t *lo, int64_t *hi, hx_err_t *err)
{
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(k->prod, topic, partition, lo, hi, KF_ADMIN_TIMEOUT_MS);
    return e ? kf_err(err, e, "watermarks of topic", topic) : HX_OK;
}

void kf_update_lag(kf_t *k, const char *group, const char *topic, int32_t partition, int64_t committed)
{
    if (!k->m_lag)
        return;
    int64_t lo, hi;
    if (kf_watermarks(k, topic, partition, &lo, &hi, NULL))
        return;
    char part[16];
    snprintf(part, sizeof part, "%d", partition);
    const char *l[] = {"kafka", group, topic, part};
    hx_gauge_set_labels(k->m_lag, l, (double)(hi - (committed >= 0 ? committed : lo)));
}

int kf_fetch_build(rd_kafka_message_t **ms, size_t n, hx_fetch_t *out, hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return HX_OK;
    /* One block holds every byte the records point to (hx_fetch_free). */
    size_t bytes = 0, nh_total = 0;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_headers_t *hdrs = NULL;
        bytes += strlen(rd_kafka_topic_name(ms[i]->rkt)) + 1 + ms[i]->key_len + ms[i]->len + 2;
        if (rd_kafka_message_headers(ms[i], &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            size_t cnt = rd_kafka_header_cnt(hdrs);
            nh_total += cnt;
            for (size_t h = 0; h < cnt; h++) {
                const char *name;
                const void *val;
                size_t vlen;
                rd_kafka_header_get_all(hdrs, h, &name, &val, &vlen);
                bytes += strlen(name) + 1 + vlen + 1;
            }
        }
    }
    size_t hdr_off = (bytes + 15) & ~(size_t)15;
    char *block = malloc(hdr_off + nh_total * sizeof(hx_header_t) + 1);
    out->msgs = calloc(n, sizeof *out->msgs);
    if (!block || !out->msgs) {
        free(block);
        free(out->msgs);
        out->msgs = NULL;
        return hx_err_set(err, HX_ENOMEM, "out of memory copying %zu records", n);
    }
    char *p = block;
    hx_header_t *hv = (hx_header_t *)(block + hdr_off);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = ms[i];
        hx_msg_t *o = &out->msgs[i];
        size_t tl = strlen(rd_kafka_topic_name(m->rkt));
        memcpy(p, rd_kafka_topic_name(m->rkt), tl + 1);
        o->topic = p;
        p += tl + 1;
        o->partition = m->partition;
        o->offset = m->offset;
        rd_kafka_timestamp_type_t tt;
        o->timestamp_ms = rd_kafka_message_timestamp(m, &tt);
        if (m->key) {
            memcpy(p, m->key, m->key_len);
            o->key = p;
            o->key_len = m->key_len;
            p += m->key_len;
        }
        if (m->payload) {
            memcpy(p, m->payload, m->len);
            o->value = p;
            o->value_len = m->len;
            p += m->len;
        } else {
            o->value = m->key ? NULL : p; /* a keyed null value is a tombstone */
        }
        *p++ = 0;
        rd_kafka_headers_t *hdrs = NULL;
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            size_t cnt = rd_kafka_header_cnt(hdrs);
            o->headers = hv;
            o->header_count = cnt;
            for (size_t h = 0; h < cnt; h++) {
                const char *name;
                const void *val;
                size_t vlen;
                rd_kafka_header_get_all(hdrs, h, &name, &val, &vlen);
                size_t nl = strlen(name);
                memcpy(p, name, nl + 1);
                hv->name = p;
                p += nl + 1;
                if (vlen)
                    memcpy(p, val, vlen);
                hv->value = p;
                hv->value_len = vlen;
                p += vlen;
                *p++ = 0;
                hv++;
            }
        }
    }
    out->count = n;
    out->owner_ = block;
    return HX_OK;
}
