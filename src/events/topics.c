#include "helix/hx_topics.h"

#include <string.h>

#define DAY (24LL * 3600 * 1000)

static const hx_topic_spec_t topics[] = {
    {HX_TOPIC_CONVERSATIONS, 16, 365 * DAY, "zstd", "conversation_id",
     "conversation.message.added|conversation.message.updated|conversation.message.deleted|conversation.created|"
     "conversation.completed|conversation.debate.round|conversation.compressed"},
    {HX_TOPIC_MEMORY_EVENTS, 12, 7 * DAY, "lz4", "memory_id", "memory.delta|memory.sync.request"},
    {HX_TOPIC_MEMORY_SNAPSHOTS, 6, 1 * DAY, "zstd", "node_id", "memory.snapshot.digest"},
    {HX_TOPIC_ENTITIES, 8, 30 * DAY, "lz4", "entity_id",
     "entity.upserted|entity.deleted|entity.merged|relationship.upserted|relationship.deleted"},
    {HX_TOPIC_ANALYTICS_PROVIDERS, 6, 7 * DAY, "lz4", "provider", "provider.metrics"},
    {HX_TOPIC_ANALYTICS_DEBATES, 4, 30 * DAY, "lz4", "debate_id", "debate.metrics|debate.completed"},
    {HX_TOPIC_ANALYTICS_CONVERSATIONS, 4, 30 * DAY, "lz4", "conversation_id", "conversation.metrics"},
    {HX_TOPIC_LEARNING_INSIGHTS, 3, 30 * DAY, "lz4", "user_id", "learning.insight"},
    {HX_TOPIC_DLQ, 3, 30 * DAY, "lz4", "original key", "*"},
};

const hx_topic_spec_t *hx_topics_builtin(size_t *n)
{
    *n = sizeof topics / sizeof topics[0];
    return topics;
}

const hx_topic_spec_t *hx_topics_find(const char *name)
{
    for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++)
        if (strcmp(topics[i].name, name) == 0)
            return &topics[i];
    return NULL;
}

int hx_topic_protected(const char *name)
{
    return name && strncmp(name, HX_TOPIC_PREFIX, strlen(HX_TOPIC_PREFIX)) == 0;
}
