/* Hosting librdkafka's mock cluster (hx_kafka_mock.h). */
#include "helix/hx_kafka_mock.h"
#include "helix/hx_topics.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hx_kafka_mock {
    rd_kafka_t *rk; /* the mock cluster lives on this handle's threads */
    rd_kafka_t *client; /* a client of the cluster, for existence checks */
    rd_kafka_mock_cluster_t *mc;
    int brokers;
};

int hx_kafka_mock_start(int brokers, hx_kafka_mock_t **out, hx_err_t *err)
{
    *out = NULL;
    if (brokers < 1 || brokers > 16)
        return hx_err_set(err, HX_EINVAL, "mock cluster: --brokers must be 1..16, got %d", brokers);
    hx_kafka_mock_t *m = calloc(1, sizeof *m);
    if (!m)
        return hx_err_set(err, HX_ENOMEM, "out of memory starting the mock cluster");
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!m->rk) {
        free(m);
        return hx_err_set(err, HX_EINTERNAL, "mock cluster: creating its host handle failed: %s", errstr);
    }
    m->mc = rd_kafka_mock_cluster_new(m->rk, brokers);
    if (!m->mc) {
        rd_kafka_destroy(m->rk);
        free(m);
        return hx_err_set(err, HX_EIO, "mock cluster: could not start %d broker(s) on loopback", brokers);
    }
    m->brokers = brokers;
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(m->mc), errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", errstr, sizeof errstr);
    /* Its connection errors while a test takes brokers down are noise. */
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    if (!(m->client = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr))) {
        rd_kafka_mock_cluster_destroy(m->mc);
        rd_kafka_destroy(m->rk);
        free(m);
        return hx_err_set(err, HX_EINTERNAL, "mock cluster: creating its client failed: %s", errstr);
    }
    *out = m;
    return HX_OK;
}

const char *hx_kafka_mock_bootstrap(const hx_kafka_mock_t *m) { return rd_kafka_mock_cluster_bootstraps(m->mc); }

int hx_kafka_mock_brokers(const hx_kafka_mock_t *m) { return m->brokers; }

static int topic_exists(hx_kafka_mock_t *m, const char *topic)
{
    /* All-topics metadata: naming the topic would make the mock create it. */
    const struct rd_kafka_metadata *md = NULL;
    int exists = 0;
    if (rd_kafka_metadata(m->client, 1, NULL, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < md->topic_cnt; i++)
            exists |= strcmp(md->topics[i].topic, topic) == 0 && md->topics[i].partition_cnt > 0;
        rd_kafka_metadata_destroy(md);
    }
    return exists;
}

int hx_kafka_mock_topic_create(hx_kafka_mock_t *m, const char *topic, int partitions, hx_err_t *err)
{
    if (partitions < 1 || partitions > 1024)
        return hx_err_set(err, HX_EINVAL, "topic '%s': partitions must be 1..1024, got %d", topic, partitions);
    if (topic_exists(m, topic))
        return hx_err_set(err, HX_EEXIST, "topic '%s' already exists", topic);
    int rf = m->brokers < 3 ? m->brokers : 3;
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(m->mc, topic, partitions, rf);
    if (e)
        return hx_err_set(err, HX_EIO, "mock cluster: creating topic '%s' failed: %s", topic, rd_kafka_err2str(e));
    return HX_OK;
}

int hx_kafka_mock_create_builtin_topics(hx_kafka_mock_t *m, hx_err_t *err)
{
    size_t n;
    const hx_topic_spec_t *spec = hx_topics_builtin(&n);
    for (size_t i = 0; i < n; i++) {
        int rc = hx_kafka_mock_topic_create(m, spec[i].name, spec[i].partitions, err);
        if (rc && rc != HX_EEXIST)
            return rc;
    }
    return HX_OK;
}

static int set_state(hx_kafka_mock_t *m, int id, int up, hx_err_t *err)
{
    if (id < 1 || id > m->brokers)
        return hx_err_set(err, HX_EINVAL, "mock cluster: broker id must be 1..%d, got %d", m->brokers, id);
    rd_kafka_resp_err_t e = up ? rd_kafka_mock_broker_set_up(m->mc, id) : rd_kafka_mock_broker_set_down(m->mc, id);
    if (e)
        return hx_err_set(err, HX_EIO, "mock cluster: setting broker %d %s failed: %s", id, up ? "up" : "down",
                          rd_kafka_err2str(e));
    return HX_OK;
}

int hx_kafka_mock_broker_down(hx_kafka_mock_t *m, int broker_id, hx_err_t *err) { return set_state(m, broker_id, 0, err); }

int hx_kafka_mock_broker_up(hx_kafka_mock_t *m, int broker_id, hx_err_t *err) { return set_state(m, broker_id, 1, err); }

void hx_kafka_mock_stop(hx_kafka_mock_t *m)
{
    if (!m)
        return;
    rd_kafka_destroy(m->client);
    rd_kafka_mock_cluster_destroy(m->mc);
    rd_kafka_destroy(m->rk);
    free(m);
}
