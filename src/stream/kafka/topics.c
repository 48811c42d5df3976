/* Topic admin through the Kafka admin API, direct fetches on a group-less
 * consumer, and offset lookup by time. Where the broker lacks an admin
 * request (librdkafka's mock cluster), an in-process mock is driven through
 * its handle instead, and topic configs come from what this process created. */
#include "stream/kafka/kafka.h"
#include "helix/hx_clock.h"
#include "helix/hx_logger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_internal(const char *name) { return strncmp(name, "__", 2) == 0; }

static void remember_config(kf_t *k, const char *name, const hx_topic_config_t *tc)
{
    pthread_mutex_lock(&k->mu);
    kf_topic_cfg_t *c = k->topic_cfgs;
    while (c && strcmp(c->name, name) != 0)
        c = c->next;
    if (!c && (c = calloc(1, sizeof *c))) {
        if ((c->name = strdup(name))) {
            c->next = k->topic_cfgs;
            k->topic_cfgs = c;
        } else {
            free(c);
            c = NULL;
        }
    }
    if (c)
        c->tc = *tc;
    pthread_mutex_unlock(&k->mu);
}

static int recall_config(kf_t *k, const char *name, hx_topic_config_t *tc)
{
    int found = 0;
    pthread_mutex_lock(&k->mu);
    for (kf_topic_cfg_t *c = k->topic_cfgs; c; c = c->next)
        if (strcmp(c->name, name) == 0) {
            *tc = c->tc;
            found = 1;
            break;
        }
    pthread_mutex_unlock(&k->mu);
    return found;
}

/* Runs one admin request and returns its result event (caller destroys). */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, int timeout_ms)
{
    return rd_kafka_queue_poll(q, timeout_ms);
}

static rd_kafka_AdminOptions_t *admin_opts(kf_t *k, rd_kafka_admin_op_t op)
{
    char errstr[256];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(k->prod, op);
    rd_kafka_AdminOptions_set_request_timeout(o, KF_ADMIN_TIMEOUT_MS, errstr, sizeof errstr);
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS)
        rd_kafka_AdminOptions_set_operation_timeout(o, KF_ADMIN_TIMEOUT_MS, errstr, sizeof errstr);
    return o;
}

/* Waits until metadata shows the topic with its partitions (or gone), so the
 * next produce or describe sees what the admin call did. */
static void await_metadata(kf_t *k, const char *name, int want_exists)
{
    uint64_t end = hx_mono_ns() + (uint64_t)KF_ADMIN_TIMEOUT_MS * 1000000;
    while (hx_mono_ns() < end) {
        int parts;
        kf_meta_forget(k, name);
        int rc = kf_topic_partitions(k, name, &parts, NULL);
        if ((rc == 0) == want_exists)
            return;
        hx_sleep_ms(20);
    }
}

int kf_topic_create(void *impl, const char *name, const hx_topic_config_t *tc, hx_err_t *err)
{
    kf_t *k = impl;
    if (is_internal(name))
        return hx_err_set(err, HX_EINVAL, "topic names starting with '__' are reserved for Helix");
    if (!name[0] || strlen(name) > HX_TOPIC_NAME_MAX || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(name))
        return hx_err_set(err, HX_EINVAL, "topic name '%s' is invalid: use 1..%d of [a-zA-Z0-9._-]", name,
                          HX_TOPIC_NAME_MAX);
    if (tc->partitions < 1 || tc->partitions > 1024)
        return hx_err_set(err, HX_EINVAL, "topic '%s': partitions must be 1..1024, got %d", name, tc->partitions);
    int rc;
    if (k->mock) {
        if ((rc = hx_kafka_mock_topic_create(k->mock, name, tc->partitions, err)))
            return rc;
        remember_config(k, name, tc);
        await_metadata(k, name, 1);
        return HX_OK;
    }
    if (!kf_admin_supported(k))
        return hx_err_set(err, HX_EUNSUPPORTED,
                          "kafka %s does not answer admin requests, so it cannot create topics (librdkafka's mock "
                          "cluster, as run by `helix kafka-mock`, is like that): create it where the cluster runs, "
                          "`helix kafka-mock --topic %s:%d`", k->bootstrap, name, tc->partitions);
    char errstr[512], v[32];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(name, tc->partitions, -1, errstr, sizeof errstr);
    if (!nt)
        return hx_err_set(err, HX_EINVAL, "topic '%s': %s", name, errstr);
    snprintf(v, sizeof v, "%lld", (long long)tc->retention_ms);
    rd_kafka_NewTopic_set_config(nt, "retention.ms", v);
    snprintf(v, sizeof v, "%lld", (long long)tc->retention_bytes);
    rd_kafka_NewTopic_set_config(nt, "retention.bytes", v);
    rd_kafka_NewTopic_set_config(nt, "compression.type", tc->compression[0] ? tc->compression : "producer");
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", tc->cleanup == HX_CLEANUP_COMPACT ? "compact" : "delete");
    if (tc->max_message_bytes > 0) {
        snprintf(v, sizeof v, "%lld", (long long)tc->max_message_bytes);
        rd_kafka_NewTopic_set_config(nt, "max.message.bytes", v);
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->prod);
    rd_kafka_AdminOptions_t *o = admin_opts(k, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_CreateTopics(k->prod, &nt, 1, o, q);
    rd_kafka_event_t *ev = admin_wait(q, KF_ADMIN_TIMEOUT_MS * 2);
    rc = HX_OK;
    if (!ev) {
        rc = hx_err_set(err, HX_ETIMEOUT, "kafka: creating topic '%s' timed out", name);
    } else if (rd_kafka_event_error(ev)) {
        rc = hx_err_set(err, kf_code(rd_kafka_event_error(ev)),
                        "kafka: creating topic '%s' failed: %s (a broker without CreateTopics, such as `helix "
                        "kafka-mock`, needs topics created where it runs: `helix kafka-mock --topic %s:%d`)",
                        name, rd_kafka_event_error_string(ev), name, tc->partitions);
    } else {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rd_kafka_resp_err_t e = n ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
        if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            rc = hx_err_set(err, HX_EEXIST, "topic '%s' already exists", name);
        else if (e)
            rc = hx_err_set(err, kf_code(e), "kafka: creating topic '%s' failed: %s", name,
                            rd_kafka_topic_result_error_string(res[0]) ? rd_kafka_topic_result_error_string(res[0])
                                                                       : rd_kafka_err2str(e));
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    if (!rc) {
        remember_config(k, name, tc);
        await_metadata(k, name, 1);
    }
    return rc;
}

int kf_topic_delete(void *impl, const char *name, hx_err_t *err)
{
    kf_t *k = impl;
    if (is_internal(name))
        return hx_err_set(err, HX_EINVAL, "topic '%s' is internal to Helix and cannot be deleted", name);
    int parts, rc;
    if ((rc = kf_topic_partitions(k, name, &parts, err)))
        return rc;
    if (k->mock || !kf_admin_supported(k))
        return hx_err_set(err, HX_EUNSUPPORTED,
                          "topic '%s': librdkafka's mock cluster cannot delete topics (a real Kafka can)", name);
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(name);
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->prod);
    rd_kafka_AdminOptions_t *o = admin_opts(k, RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_DeleteTopics(k->prod, &dt, 1, o, q);
    rd_kafka_event_t *ev = admin_wait(q, KF_ADMIN_TIMEOUT_MS * 2);
    if (!ev) {
        rc = hx_err_set(err, HX_ETIMEOUT, "kafka: deleting topic '%s' timed out", name);
    } else if (rd_kafka_event_error(ev)) {
        rc = hx_err_set(err, kf_code(rd_kafka_event_error(ev)), "kafka: deleting topic '%s' failed: %s", name,
                        rd_kafka_event_error_string(ev));
    } else {
        size_t n;
        const rd_kafka_topic_result_t **res =
            rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
        rd_kafka_resp_err_t e = n ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
        if (e)
            rc = kf_err(err, e, "deleting topic", name);
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_queue_destroy(q);
    if (!rc)
        await_metadata(k, name, 0);
    kf_meta_forget(k, name);
    return rc;
}

int kf_topic_list(void *impl, hx_name_list_t *out, hx_err_t *err)
{
    kf_t *k = impl;
    memset(out, 0, sizeof *out);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(k->prod, 1, NULL, &md, KF_ADMIN_TIMEOUT_MS);
    if (e)
        return kf_err(err, e, "listing topics", NULL);
    out->names = calloc((size_t)md->topic_cnt + 1, sizeof *out->names);
    if (!out->names) {
        rd_kafka_metadata_destroy(md);
        return hx_err_set(err, HX_ENOMEM, "out of memory listing topics");
    }
    for (int i = 0; i < md->topic_cnt; i++) {
        const char *t = md->topics[i].topic;
        if (is_internal(t) || md->topics[i].err)
            continue;
        if (!(out->names[out->count] = strdup(t))) {
            rd_kafka_metadata_destroy(md);
            hx_name_list_free(out);
            return hx_err_set(err, HX_ENOMEM, "out of memory listing topics");
        }
        out->count++;
    }
    rd_kafka_metadata_destroy(md);
    /* Sorted, like the embedded backend. */
    for (size_t i = 1; i < out->count; i++)
        for (size_t j = i; j > 0 && strcmp(out->names[j - 1], out->names[j]) > 0; j--) {
            char *t = out->names[j];
            out->names[j] = out->names[j - 1];
            out->names[j - 1] = t;
        }
    return HX_OK;
}

/* Reads retention, compression, cleanup and size limit with DescribeConfigs.
 * Returns 0 when read. */
static int describe_configs(kf_t *k, const char *name, hx_topic_config_t *tc)
{
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name);
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->prod);
    rd_kafka_AdminOptions_t *o = admin_opts(k, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(k->prod, &cr, 1, o, q);
    rd_kafka_event_t *ev = admin_wait(q, KF_ADMIN_TIMEOUT_MS);
    int rc = -1;
    if (ev && !rd_kafka_event_error(ev)) {
        size_t n;
        const rd_kafka_ConfigResource_t **rs =
            rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
        if (n == 1 && !rd_kafka_ConfigResource_error(rs[0])) {
            size_t ne;
            const rd_kafka_ConfigEntry_t **es = rd_kafka_ConfigResource_configs(rs[0], &ne);
            for (size_t i = 0; i < ne; i++) {
                const char *key = rd_kafka_ConfigEntry_name(es[i]), *val = rd_kafka_ConfigEntry_value(es[i]);
                if (!val)
                    continue;
                if (strcmp(key, "retention.ms") == 0)
                    tc->retention_ms = atoll(val);
                else if (strcmp(key, "retention.bytes") == 0)
                    tc->retention_bytes = atoll(val);
                else if (strcmp(key, "compression.type") == 0)
                    snprintf(tc->compression, sizeof tc->compression, "%s", val);
                else if (strcmp(key, "cleanup.policy") == 0)
                    tc->cleanup = strstr(val, "compact") ? HX_CLEANUP_COMPACT : HX_CLEANUP_DELETE;
                else if (strcmp(key, "max.message.bytes") == 0)
                    tc->max_message_bytes = atoll(val);
            }
            rc = 0;
        }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(cr);
    rd_kafka_queue_destroy(q);
    return rc;
}

int kf_topic_describe(void *impl, const char *name, hx_topic_info_t *out, hx_err_t *err)
{
    kf_t *k = impl;
    memset(out, 0, sizeof *out);
    int parts, rc;
    kf_meta_forget(k, name); /* describe is the place to notice new partitions */
    if ((rc = kf_topic_partitions(k, name, &parts, err)))
        return rc;
    snprintf(out->name, sizeof out->name, "%s", name);
    hx_topic_config_defaults(&out->config);
    out->config.max_message_bytes = 0;
    if (k->mock)
        out->config_known = recall_config(k, name, &out->config);
    else
        out->config_known = (kf_admin_supported(k) && describe_configs(k, name, &out->config) == 0) ||
                            recall_config(k, name, &out->config);
    out->config.partitions = parts;
    out->partitions = calloc((size_t)parts, sizeof *out->partitions);
    if (!out->partitions)
        return hx_err_set(err, HX_ENOMEM, "out of memory describing topic '%s'", name);
    for (int p = 0; p < parts; p++) {
        hx_partition_info_t *pi = &out->partitions[p];
        pi->partition = p;
        pi->bytes = -1;
        pi->segments = -1;
        if ((rc = kf_watermarks(k, name, p, &pi->low_watermark, &pi->high_watermark, err))) {
            hx_topic_info_free(out);
            return rc;
        }
    }
    return HX_OK;
}

static int check_partition(kf_t *k, const char *topic, int32_t partition, hx_err_t *err)
{
    int parts;
    int rc = kf_topic_partitions(k, topic, &parts, err);
    if (rc)
        return rc;
    if (partition < 0 || partition >= parts)
        return hx_err_set(err, HX_EINVAL, "partition %d does not exist: topic '%s' has %d partition(s)", partition,
                          topic, parts);
    return HX_OK;
}

/* Direct fetch: assign the fetcher to topic/partition@offset and read until
 * max_records, max_bytes, the high watermark seen up front, or a deadline. */
int kf_fetch(void *impl, const char *topic, int32_t partition, int64_t offset, int max_records, size_t max_bytes,
             hx_fetch_t *out, hx_err_t *err)
{
    kf_t *k = impl;
    memset(out, 0, sizeof *out);
    int rc = check_partition(k, topic, partition, err);
    if (rc)
        return rc;
    int64_t lo, hi;
    if ((rc = kf_watermarks(k, topic, partition, &lo, &hi, err)))
        return rc;
    if (offset < lo)
        return hx_err_set(err, HX_ERANGE, "offset %lld of %s/%d is below the low watermark %lld (older records were "
                          "removed by retention)", (long long)offset, topic, partition, (long long)lo);
    if (offset >= hi || max_records <= 0)
        return HX_OK;
    if (max_bytes == 0)
        max_bytes = (size_t)k->cfg.kafka.consumer.max_partition_fetch_bytes;
    size_t cap = (size_t)max_records, n = 0, bytes = 0;
    if ((int64_t)cap > hi - offset)
        cap = (size_t)(hi - offset);
    rd_kafka_message_t **ms = calloc(cap, sizeof *ms);
    if (!ms)
        return hx_err_set(err, HX_ENOMEM, "out of memory fetching %s/%d", topic, partition);
    pthread_mutex_lock(&k->fetch_mu);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    rd_kafka_resp_err_t e = rd_kafka_assign(k->fetcher, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        pthread_mutex_unlock(&k->fetch_mu);
        free(ms);
        return kf_err(err, e, "fetching from topic", topic);
    }
    int64_t next = offset;
    uint64_t deadline = hx_mono_ns() + (uint64_t)KF_ADMIN_TIMEOUT_MS * 1000000;
    while (n < cap && next < hi && (n == 0 || bytes < max_bytes) && hx_mono_ns() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->fetcher, 100);
        if (!m)
            continue;
        /* An end-of-partition event is not trusted to end the loop: one left
         * over from an earlier fetch of the same partition would cut this
         * one short. The high watermark read up front bounds it instead. */
        int ours = m->partition == partition && m->rkt && !strcmp(rd_kafka_topic_name(m->rkt), topic);
        /* Leftovers of an earlier assignment are filtered by topic, partition
         * and offset; offsets may skip (compaction, transaction markers). */
        if (m->err || !ours || m->offset < next) {
            if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                HX_DEBUG("kafka", "fetch %s/%d: %s", topic, partition, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        bytes += m->len + m->key_len;
        ms[n++] = m;
        next = m->offset + 1;
    }
    rd_kafka_assign(k->fetcher, NULL);
    pthread_mutex_unlock(&k->fetch_mu);
    rc = kf_fetch_build(ms, n, out, err);
    for (size_t i = 0; i < n; i++)
        rd_kafka_message_destroy(ms[i]);
    free(ms);
    if (!rc && n == 0 && next < hi)
        return hx_err_set(err, HX_ETIMEOUT, "kafka: fetching %s/%d@%lld returned nothing within %d ms", topic,
                          partition, (long long)offset, KF_ADMIN_TIMEOUT_MS);
    return rc;
}

static int ts_at(kf_t *k, const char *topic, int32_t partition, int64_t offset, int64_t *ts, hx_err_t *err)
{
    hx_fetch_t f;
    int rc = kf_fetch(k, topic, partition, offset, 1, 0, &f, err);
    if (rc)
        return rc;
    if (f.count != 1) {
        hx_fetch_free(&f);
        return hx_err_set(err, HX_EUNAVAIL, "kafka: record %s/%d@%lld could not be read", topic, partition,
                          (long long)offset);
    }
    *ts = f.msgs[0].timestamp_ms;
    hx_fetch_free(&f);
    return HX_OK;
}

int kf_offset_for_time(void *impl, const char *topic, int32_t partition, int64_t ts_ms, int64_t *offset,
                       hx_err_t *err)
{
    kf_t *k = impl;
    int rc = check_partition(k, topic, partition, err);
    if (rc)
        return rc;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = ts_ms;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(k->prod, l, KF_ADMIN_TIMEOUT_MS);
    int64_t found = l->elems[0].offset;
    if (!e)
        e = l->elems[0].err;
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        return kf_err(err, e, "offset by time in topic", topic);
    int64_t lo, hi;
    if ((rc = kf_watermarks(k, topic, partition, &lo, &hi, err)))
        return rc;
    if (found >= 0) {
        *offset = found;
        return HX_OK;
    }
    /* -1 means "no record that late": the high watermark. Brokers that do
     * not implement the lookup (the mock cluster) also answer -1, so check
     * the last record and, if it is that late, binary search by timestamp. */
    *offset = hi;
    if (hi <= lo)
        return HX_OK;
    int64_t ts = 0; /* ts_at sets it on success; gcc -O2 cannot see that */
    if ((rc = ts_at(k, topic, partition, hi - 1, &ts, err)))
        return rc;
    if (ts < ts_ms)
        return HX_OK;
    int64_t a = lo, b = hi - 1; /* first offset in [a, b] with ts >= ts_ms; b qualifies */
    while (a < b) {
        int64_t mid = a + (b - a) / 2;
        if ((rc = ts_at(k, topic, partition, mid, &ts, err)))
            return rc;
        if (ts >= ts_ms)
            b = mid;
        else
            a = mid + 1;
    }
    *offset = a;
    return HX_OK;
}
