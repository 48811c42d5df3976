/* The topics of DESIGN.md and their event types: created on first start. */
#ifndef HX_TOPICS_H
#define HX_TOPICS_H

#include <stddef.h>
#include <stdint.h>

#define HX_TOPIC_CONVERSATIONS "helixagent.conversations"
#define HX_TOPIC_MEMORY_EVENTS "helixagent.memory.events"
#define HX_TOPIC_MEMORY_SNAPSHOTS "helixagent.memory.snapshots"
#define HX_TOPIC_ENTITIES "helixagent.entities.updates"
#define HX_TOPIC_ANALYTICS_PROVIDERS "helixagent.analytics.providers"
#define HX_TOPIC_ANALYTICS_DEBATES "helixagent.analytics.debates"
#define HX_TOPIC_ANALYTICS_CONVERSATIONS "helixagent.analytics.conversations"
#define HX_TOPIC_LEARNING_INSIGHTS "helixagent.learning.insights"
#define HX_TOPIC_DLQ "helixagent.dlq"

#define HX_EV_CONVERSATION_MESSAGE_ADDED "conversation.message.added"
#define HX_EV_CONVERSATION_MESSAGE_UPDATED "conversation.message.updated"
#define HX_EV_CONVERSATION_MESSAGE_DELETED "conversation.message.deleted"
#define HX_EV_CONVERSATION_CREATED "conversation.created"
#define HX_EV_CONVERSATION_COMPLETED "conversation.completed"
#define HX_EV_CONVERSATION_DEBATE_ROUND "conversation.debate.round"
#define HX_EV_CONVERSATION_COMPRESSED "conversation.compressed"
#define HX_EV_MEMORY_DELTA "memory.delta"
#define HX_EV_MEMORY_SYNC_REQUEST "memory.sync.request"
#define HX_EV_MEMORY_SNAPSHOT_DIGEST "memory.snapshot.digest"
#define HX_EV_ENTITY_UPSERTED "entity.upserted"
#define HX_EV_ENTITY_DELETED "entity.deleted"
#define HX_EV_ENTITY_MERGED "entity.merged"
#define HX_EV_RELATIONSHIP_UPSERTED "relationship.upserted"
#define HX_EV_RELATIONSHIP_DELETED "relationship.deleted"
#define HX_EV_PROVIDER_METRICS "provider.metrics"
#define HX_EV_DEBATE_METRICS "debate.metrics"
#define HX_EV_DEBATE_COMPLETED "debate.completed"
#define HX_EV_CONVERSATION_METRICS "conversation.metrics"
#define HX_EV_LEARNING_INSIGHT "learning.insight"

typedef struct hx_topic_spec {
    const char *name;
    int partitions;
    int64_t retention_ms;
    const char *compression;   /* "zstd" | "lz4" */
    const char *key_field;     /* what records are keyed by */
    const char *types;         /* event types, "|"-separated */
} hx_topic_spec_t;

const hx_topic_spec_t *hx_topics_builtin(size_t *n);
/* 1 for the platform's own topics (HX_TOPIC_PREFIX*): the stores depend on
 * them, so deleting one needs force (HTTP ?force=true, CLI --force). */
#define HX_TOPIC_PREFIX "helixagent."
int hx_topic_protected(const char *name);
const hx_topic_spec_t *hx_topics_find(const char *name);

#endif
