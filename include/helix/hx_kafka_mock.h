/* librdkafka's mock Kafka cluster, hosted in this process on loopback.
 *
 * Used three ways: `helix kafka-mock` hosts one for other processes; the
 * kafka backend starts a private one when kafka.bootstrap_servers is "mock" or
 * "mock:N" (tests, demos, `helix bench kafka --backend mock`); tests use the
 * handle to take brokers down and up.
 *
 * The mock speaks the Kafka protocol for produce, fetch, list offsets,
 * metadata, consumer groups and offset commits; it does not implement the
 * admin requests (CreateTopics, DeleteTopics, DescribeConfigs, group listing),
 * which is why topics are created through this handle.
 *
 * Ownership: hx_kafka_mock_t is owned by whoever started it and freed by
 * hx_kafka_mock_stop(); the bootstrap string belongs to it. */
#ifndef HX_KAFKA_MOCK_H
#define HX_KAFKA_MOCK_H

#include "helix/hx_error.h"

typedef struct hx_kafka_mock hx_kafka_mock_t;
typedef struct hx_broker hx_broker_t;

/* Starts brokers (1..16) mock brokers on 127.0.0.1 with random ports. */
int hx_kafka_mock_start(int brokers, hx_kafka_mock_t **out, hx_err_t *err);

/* "127.0.0.1:PORT,..." for bootstrap.servers. */
const char *hx_kafka_mock_bootstrap(const hx_kafka_mock_t *m);

int hx_kafka_mock_brokers(const hx_kafka_mock_t *m);

/* Creates topic with partitions, replicated on min(3, brokers) brokers.
 * HX_EEXIST when it exists. */
int hx_kafka_mock_topic_create(hx_kafka_mock_t *m, const char *topic, int partitions, hx_err_t *err);

/* Creates every DESIGN.md topic (hx_topics.h) with its partition count. */
int hx_kafka_mock_create_builtin_topics(hx_kafka_mock_t *m, hx_err_t *err);

/* Takes broker id (1..brokers) down (connections closed, requests refused)
 * or brings it back. */
int hx_kafka_mock_broker_down(hx_kafka_mock_t *m, int broker_id, hx_err_t *err);
int hx_kafka_mock_broker_up(hx_kafka_mock_t *m, int broker_id, hx_err_t *err);

/* Stops the cluster. NULL is a no-op. */
void hx_kafka_mock_stop(hx_kafka_mock_t *m);

/* The mock a kafka broker started for itself ("mock:N" bootstrap), or NULL. */
hx_kafka_mock_t *hx_broker_kafka_mock(hx_broker_t *b);

#endif
