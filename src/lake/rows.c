/* Events to lake rows: which dataset an event belongs to, and its columns
 * from the envelope (tenant, ts, seq, id, key, type) and its data. */
#include "lake/rows.h"

#include "helix/hx_topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const hx_lake_dataset_t *lake_dataset_for(const char *topic, const char *type)
{
    if (strcmp(topic, HX_TOPIC_CONVERSATIONS) == 0)
        return strncmp(type, "conversation.message.", 21) == 0 ? hx_lake_dataset_find("conversations") : NULL;
    if (strcmp(topic, HX_TOPIC_ANALYTICS_PROVIDERS) == 0)
        return strcmp(type, "provider.metrics") == 0 ? hx_lake_dataset_find("provider_metrics") : NULL;
    if (strcmp(topic, HX_TOPIC_ANALYTICS_DEBATES) == 0)
        return strncmp(type, "debate.", 7) == 0 ? hx_lake_dataset_find("debates") : NULL;
    if (strcmp(topic, HX_TOPIC_ENTITIES) == 0)
        return hx_lake_dataset_find("entities");
    return NULL;
}

/* "2024-05-01T10:00:00Z" / "...:00.123Z" / "+02:00", or ms as a number. */
static int parse_time(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    const char *s = json_string_value(v);
    if (!s)
        return 0;
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return 0;
    int64_t ms = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        while (digits > 0 && digits < 3) {
            ms *= 10;
            digits++;
        }
    }
    int64_t off = 0;
    if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return 0;
        off = (hh * 60 + mm) * 60000LL * (*p == '+' ? 1 : -1);
    } else if (*p != 'Z' && *p != 0) {
        return 0;
    }
    *out = (int64_t)timegm(&tm) * 1000 + ms - off;
    return 1;
}

static void set_str(hx_pq_value_t *v, const char *s)
{
    v->is_null = s == NULL;
    if (s) {
        v->v.str.s = s;
        v->v.str.n = strlen(s);
    }
}

int lake_row_from_envelope(const hx_lake_dataset_t *ds, const hx_envelope_t *e, hx_pq_value_t *vals,
                           lake_row_scratch_t *sc)
{
    sc->n = 0;
    const json_t *d = e->data;
    for (size_t c = 0; c < ds->ncols; c++) {
        const hx_pq_column_t *col = &ds->cols[c];
        hx_pq_value_t *v = &vals[c];
        memset(v, 0, sizeof *v);
        const char *n = col->name;
        if (!strcmp(n, "tenant")) {
            set_str(v, e->tenant && e->tenant[0] ? e->tenant : "default");
        } else if (!strcmp(n, "ts")) {
            v->v.i = e->ts;
        } else if (!strcmp(n, "seq")) {
            v->v.i = (int64_t)e->seq;
        } else if (!strcmp(n, "event_id")) {
            set_str(v, e->id ? e->id : "");
        } else if (!strcmp(n, "event_type")) {
            set_str(v, e->type);
        } else if (!strcmp(n, "op")) {
            const char *dot = strrchr(e->type, '.');
            set_str(v, dot ? dot + 1 : e->type);
        } else if ((int)c == ds->key_col && !(json_is_string(json_object_get(d, n)))) {
            set_str(v, e->key ? e->key : "");
        } else if (!strcmp(n, "participants_json") || !strcmp(n, "data_json")) {
            const json_t *src = !strcmp(n, "data_json") ? d : json_object_get(d, "participants");
            char *text = src ? json_dumps(src, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            if (text && sc->n < LAKE_ROW_SCRATCH)
                sc->p[sc->n++] = text;
            else if (text) {
                free(text);
                text = NULL;
            }
            set_str(v, text);
        } else {
            const json_t *j = json_object_get(d, !strcmp(n, "entity_type") ? "type" : n);
            if (!j || json_is_null(j)) {
                v->is_null = 1;
            } else if (col->type == HX_PQ_STRING) {
                if (json_is_string(j)) {
                    v->v.str.s = json_string_value(j);
                    v->v.str.n = json_string_length(j);
                } else {
                    v->is_null = 1;
                }
            } else if (col->type == HX_PQ_TIMESTAMP) {
                v->is_null = !parse_time(j, &v->v.i);
            } else if (col->type == HX_PQ_DOUBLE) {
                v->is_null = !json_is_number(j);
                v->v.d = json_number_value(j);
            } else if (col->type == HX_PQ_BOOL) {
                v->is_null = !json_is_boolean(j);
                v->v.i = json_is_true(j);
            } else {
                v->is_null = !json_is_integer(j);
                v->v.i = json_integer_value(j);
                if (col->type == HX_PQ_INT32 && (v->v.i > INT32_MAX || v->v.i < INT32_MIN))
                    v->is_null = 1;
            }
        }
        /* Required columns the event lacks get neutral values, not a lost row. */
        if (v->is_null && !col->optional) {
            v->is_null = 0;
            if (col->type == HX_PQ_STRING)
                set_str(v, "");
            else if (col->type == HX_PQ_DOUBLE)
                v->v.d = 0;
            else
                v->v.i = col->type == HX_PQ_TIMESTAMP ? e->ts : 0;
        }
    }
    return HX_OK;
}

void lake_row_scratch_free(lake_row_scratch_t *sc)
{
    for (size_t i = 0; i < sc->n; i++)
        free(sc->p[i]);
    sc->n = 0;
}
