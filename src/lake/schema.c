/* The lake's datasets: their schemas, source topics and partition dates. */
#include "helix/hx_lake.h"

#include <stdio.h>
#include <string.h>

static const hx_pq_column_t conv_cols[] = {
    {"tenant", HX_PQ_STRING, 0},        {"conversation_id", HX_PQ_STRING, 0}, {"ts", HX_PQ_TIMESTAMP, 0},
    {"seq", HX_PQ_INT64, 0},            {"event_id", HX_PQ_STRING, 0},        {"op", HX_PQ_STRING, 0},
    {"message_id", HX_PQ_STRING, 1},    {"role", HX_PQ_STRING, 1},            {"content", HX_PQ_STRING, 1},
    {"model", HX_PQ_STRING, 1},         {"provider", HX_PQ_STRING, 1},        {"tokens", HX_PQ_INT32, 1},
    {"created_at", HX_PQ_TIMESTAMP, 1}, {"user_id", HX_PQ_STRING, 1},         {"session_id", HX_PQ_STRING, 1},
};

static const hx_pq_column_t pm_cols[] = {
    {"tenant", HX_PQ_STRING, 0},        {"ts", HX_PQ_TIMESTAMP, 0},           {"provider", HX_PQ_STRING, 0},
    {"model", HX_PQ_STRING, 0},         {"request_id", HX_PQ_STRING, 1},      {"debate_id", HX_PQ_STRING, 1},
    {"round", HX_PQ_INT32, 1},          {"response_time_ms", HX_PQ_INT64, 0}, {"prompt_tokens", HX_PQ_INT32, 1},
    {"completion_tokens", HX_PQ_INT32, 1}, {"tokens_used", HX_PQ_INT32, 1},   {"confidence", HX_PQ_DOUBLE, 1},
    {"success", HX_PQ_BOOL, 0},         {"error_type", HX_PQ_STRING, 1},
};

static const hx_pq_column_t deb_cols[] = {
    {"tenant", HX_PQ_STRING, 0},          {"debate_id", HX_PQ_STRING, 0},       {"ts", HX_PQ_TIMESTAMP, 0},
    {"event_type", HX_PQ_STRING, 0},      {"conversation_id", HX_PQ_STRING, 1}, {"topic", HX_PQ_STRING, 1},
    {"rounds", HX_PQ_INT32, 1},           {"winner_provider", HX_PQ_STRING, 1}, {"winner_model", HX_PQ_STRING, 1},
    {"confidence", HX_PQ_DOUBLE, 1},      {"duration_ms", HX_PQ_INT64, 1},      {"outcome", HX_PQ_STRING, 1},
    {"participants_json", HX_PQ_STRING, 1},
};

static const hx_pq_column_t ent_cols[] = {
    {"tenant", HX_PQ_STRING, 0},      {"entity_id", HX_PQ_STRING, 0}, {"ts", HX_PQ_TIMESTAMP, 0},
    {"event_type", HX_PQ_STRING, 0},  {"name", HX_PQ_STRING, 1},      {"entity_type", HX_PQ_STRING, 1},
    {"data_json", HX_PQ_STRING, 1},
};

#define N(a) (sizeof a / sizeof a[0])

static const hx_lake_dataset_t datasets[] = {
    {"conversations", conv_cols, N(conv_cols), 2, 0, 1, "helixagent.conversations",
     "conversation message events (added, updated, deleted), one row per event"},
    {"provider_metrics", pm_cols, N(pm_cols), 1, 0, -1, "helixagent.analytics.providers",
     "one row per provider call (provider.metrics)"},
    {"debates", deb_cols, N(deb_cols), 2, 0, 1, "helixagent.analytics.debates",
     "debate.metrics and debate.completed events; participants as a JSON array"},
    {"entities", ent_cols, N(ent_cols), 2, 0, 1, "helixagent.entities.updates",
     "entity and relationship events from the knowledge graph topic"},
};

size_t hx_lake_ndatasets(void)
{
    return N(datasets);
}

const hx_lake_dataset_t *hx_lake_dataset_at(size_t i)
{
    return i < N(datasets) ? &datasets[i] : NULL;
}

const hx_lake_dataset_t *hx_lake_dataset_find(const char *name)
{
    for (size_t i = 0; i < N(datasets); i++)
        if (strcmp(datasets[i].name, name) == 0)
            return &datasets[i];
    return NULL;
}

/* Days since 1970-01-01 to civil date (Howard Hinnant's algorithm). */
void hx_lake_civil(int64_t ts_ms, int *y, int *m, int *d)
{
    int64_t days = ts_ms >= 0 ? ts_ms / 86400000 : -((-ts_ms + 86399999) / 86400000);
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

int64_t hx_lake_day_start(int y, int m, int d)
{
    int64_t yy = y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (era * 146097 + doe - 719468) * 86400000;
}

int hx_lake_partition_dir(const char *root, const char *dataset, int64_t ts_ms, char *buf, size_t len)
{
    int y, m, d;
    hx_lake_civil(ts_ms, &y, &m, &d);
    int n = snprintf(buf, len, "%s/%s/year=%d/month=%d/day=%d", root, dataset, y, m, d);
    return n < 0 || (size_t)n >= len ? HX_ERANGE : HX_OK;
}
