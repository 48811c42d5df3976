/* The four analytics tables and their rollups: the one schema both backends
 * build from (the embedded store's columns, ClickHouse's CREATE TABLEs). */
#include "analytics/backend.h"
#include "helix/hx_topics.h"

#include <string.h>

#define LC 1
static const hx_an_column_def_t provider_cols[] = {
    {"tenant", HX_AN_T_STRING, LC, "tenant of the event"},
    {"timestamp", HX_AN_T_DATETIME, 0, "event time (envelope ts), seconds UTC"},
    {"provider", HX_AN_T_STRING, LC, "LLM provider"},
    {"model", HX_AN_T_STRING, LC, "model name"},
    {"request_id", HX_AN_T_STRING, 0, "provider request id"},
    {"debate_id", HX_AN_T_STRING, 0, "debate the request belongs to, or empty"},
    {"round", HX_AN_T_UINT32, 0, "debate round"},
    {"response_time_ms", HX_AN_T_FLOAT64, 0, "response time in milliseconds"},
    {"prompt_tokens", HX_AN_T_UINT32, 0, "prompt tokens"},
    {"completion_tokens", HX_AN_T_UINT32, 0, "completion tokens"},
    {"tokens_used", HX_AN_T_UINT32, 0, "tokens used in all"},
    {"confidence", HX_AN_T_FLOAT64, 0, "answer confidence"},
    {"success", HX_AN_T_UINT8, 0, "1 when the request succeeded"},
    {"error_type", HX_AN_T_STRING, LC, "error class when it failed, or empty"},
};
static const int provider_order[] = {0, 2, 3, 1};

static const hx_an_column_def_t debate_cols[] = {
    {"tenant", HX_AN_T_STRING, LC, "tenant of the event"},
    {"timestamp", HX_AN_T_DATETIME, 0, "completion time (envelope ts)"},
    {"debate_id", HX_AN_T_STRING, 0, "debate id"},
    {"conversation_id", HX_AN_T_STRING, 0, "conversation of the debate"},
    {"topic", HX_AN_T_STRING, 0, "debate topic"},
    {"rounds", HX_AN_T_UINT32, 0, "rounds played"},
    {"winner_provider", HX_AN_T_STRING, LC, "winning provider, or empty"},
    {"winner_model", HX_AN_T_STRING, LC, "winning model, or empty"},
    {"confidence", HX_AN_T_FLOAT64, 0, "confidence in the outcome"},
    {"duration_ms", HX_AN_T_FLOAT64, 0, "debate duration"},
    {"outcome", HX_AN_T_STRING, LC, "successful | abandoned | error"},
    {"participants", HX_AN_T_UINT32, 0, "number of participants"},
};
static const int debate_order[] = {0, 2};

static const hx_an_column_def_t participant_cols[] = {
    {"tenant", HX_AN_T_STRING, LC, "tenant of the event"},
    {"timestamp", HX_AN_T_DATETIME, 0, "completion time of the debate"},
    {"debate_id", HX_AN_T_STRING, 0, "debate id"},
    {"provider", HX_AN_T_STRING, LC, "participant provider"},
    {"model", HX_AN_T_STRING, LC, "participant model"},
    {"position", HX_AN_T_STRING, LC, "position taken"},
    {"response_time_ms", HX_AN_T_FLOAT64, 0, "participant response time"},
    {"tokens_used", HX_AN_T_UINT32, 0, "participant tokens"},
    {"confidence", HX_AN_T_FLOAT64, 0, "participant confidence"},
    {"won", HX_AN_T_UINT8, 0, "1 for the winner"},
};
static const int participant_order[] = {0, 2, 3};

static const hx_an_column_def_t conversation_cols[] = {
    {"tenant", HX_AN_T_STRING, LC, "tenant of the conversation"},
    {"timestamp", HX_AN_T_DATETIME, 0, "hour (start) the counts belong to"},
    {"conversation_id", HX_AN_T_STRING, 0, "conversation id"},
    {"user_id", HX_AN_T_STRING, 0, "user of the conversation's messages"},
    {"messages_added", HX_AN_T_UINT32, 0, "conversation.message.added events"},
    {"messages_updated", HX_AN_T_UINT32, 0, "conversation.message.updated events"},
    {"messages_deleted", HX_AN_T_UINT32, 0, "conversation.message.deleted events"},
    {"tokens", HX_AN_T_UINT64, 0, "tokens of added messages (given, else ceil(bytes/4))"},
    {"role_user", HX_AN_T_UINT32, 0, "added messages with role user"},
    {"role_assistant", HX_AN_T_UINT32, 0, "added messages with role assistant"},
    {"role_system", HX_AN_T_UINT32, 0, "added messages with role system"},
    {"role_tool", HX_AN_T_UINT32, 0, "added messages with role tool"},
    {"completed", HX_AN_T_UINT32, 0, "conversation.completed events"},
};
static const int conversation_order[] = {0, 2, 1};

#define N(a) (int)(sizeof a / sizeof a[0])
static const hx_an_table_def_t tables[HX_AN_NTABLES] = {
    {HX_AN_PROVIDER_METRICS, "provider_metrics", provider_cols, N(provider_cols), provider_order, N(provider_order),
     "one row per provider.metrics event"},
    {HX_AN_DEBATE_METRICS, "debate_metrics", debate_cols, N(debate_cols), debate_order, N(debate_order),
     "one row per debate.completed event"},
    {HX_AN_DEBATE_PARTICIPANTS, "debate_participants", participant_cols, N(participant_cols), participant_order,
     N(participant_order), "one row per participant of a debate.completed event"},
    {HX_AN_CONVERSATION_METRICS, "conversation_metrics", conversation_cols, N(conversation_cols), conversation_order,
     N(conversation_order), "per conversation and hour: sum the counters (rows of one hour may be split)"},
};

static const int provider_dims[] = {2, 3};
static const hx_an_measure_def_t provider_measures[] = {
    {"requests", HX_AN_M_COUNT, -1},
    {"successes", HX_AN_M_SUM, 12},
    {"prompt_tokens", HX_AN_M_SUM, 8},
    {"completion_tokens", HX_AN_M_SUM, 9},
    {"tokens_used", HX_AN_M_SUM, 10},
    {"response_time_ms_sum", HX_AN_M_SUM, 7},
    {"response_time_ms_min", HX_AN_M_MIN, 7},
    {"response_time_ms_max", HX_AN_M_MAX, 7},
    {"response_time_ms_quantiles", HX_AN_M_QUANTILES, 7},
    {"confidence_sum", HX_AN_M_SUM, 11},
};

static const int debate_dims[] = {6, 10};
static const hx_an_measure_def_t debate_measures[] = {
    {"debates", HX_AN_M_COUNT, -1},
    {"rounds", HX_AN_M_SUM, 5},
    {"confidence_sum", HX_AN_M_SUM, 8},
    {"duration_ms_sum", HX_AN_M_SUM, 9},
    {"participants", HX_AN_M_SUM, 11},
};

static const hx_an_measure_def_t conversation_measures[] = {
    {"rows", HX_AN_M_COUNT, -1},
    {"messages_added", HX_AN_M_SUM, 4},
    {"messages_updated", HX_AN_M_SUM, 5},
    {"messages_deleted", HX_AN_M_SUM, 6},
    {"tokens", HX_AN_M_SUM, 7},
    {"role_user", HX_AN_M_SUM, 8},
    {"role_assistant", HX_AN_M_SUM, 9},
    {"role_system", HX_AN_M_SUM, 10},
    {"role_tool", HX_AN_M_SUM, 11},
    {"completed", HX_AN_M_SUM, 12},
};

static const hx_an_rollup_def_t rollups[HX_AN_NROLLUPS] = {
    {HX_AN_ROLLUP_PROVIDER_HOURLY, "provider_metrics_hourly", HX_AN_PROVIDER_METRICS, 3600, provider_dims,
     N(provider_dims), provider_measures, N(provider_measures)},
    {HX_AN_ROLLUP_DEBATE_DAILY, "debate_metrics_daily", HX_AN_DEBATE_METRICS, 86400, debate_dims, N(debate_dims),
     debate_measures, N(debate_measures)},
    {HX_AN_ROLLUP_CONVERSATION_DAILY, "conversation_metrics_daily", HX_AN_CONVERSATION_METRICS, 86400, NULL, 0,
     conversation_measures, N(conversation_measures)},
};

const hx_an_table_def_t *hx_an_table(hx_an_table_t t)
{
    return (unsigned)t < HX_AN_NTABLES ? &tables[t] : NULL;
}

int hx_an_table_by_name(const char *name, size_t len, hx_an_table_t *out)
{
    for (int t = 0; t < HX_AN_NTABLES; t++)
        if (strlen(tables[t].name) == len && memcmp(tables[t].name, name, len) == 0) {
            *out = (hx_an_table_t)t;
            return HX_OK;
        }
    return HX_ENOTFOUND;
}

int hx_an_column_index(hx_an_table_t t, const char *name, size_t len)
{
    const hx_an_table_def_t *d = hx_an_table(t);
    for (int c = 0; d && c < d->ncols; c++)
        if (strlen(d->cols[c].name) == len && memcmp(d->cols[c].name, name, len) == 0)
            return c;
    return -1;
}

const hx_an_rollup_def_t *hx_an_rollup(hx_an_rollup_t r)
{
    return (unsigned)r < HX_AN_NROLLUPS ? &rollups[r] : NULL;
}

const char *hx_an_type_name(hx_an_type_t t)
{
    static const char *names[] = {"UInt8", "UInt32", "UInt64", "Int64", "Float64", "String", "DateTime", "Date"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

int hx_an_type_is_int(hx_an_type_t t)
{
    return t != HX_AN_T_FLOAT64 && t != HX_AN_T_STRING;
}

const char *hx_an_src_topic(hx_an_src_t s)
{
    static const char *topics[HX_AN_NSRCS] = {HX_TOPIC_ANALYTICS_PROVIDERS, HX_TOPIC_ANALYTICS_DEBATES,
                                              HX_TOPIC_ANALYTICS_CONVERSATIONS, HX_TOPIC_CONVERSATIONS};
    return (unsigned)s < HX_AN_NSRCS ? topics[s] : NULL;
}

void hx_an_offsets_clear(hx_an_offsets_t *o)
{
    for (int s = 0; s < HX_AN_NSRCS; s++)
        for (int p = 0; p < HX_AN_MAX_PARTITIONS; p++)
            o->next[s][p] = -1;
}
