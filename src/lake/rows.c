/* Events to lake rows: which dataset an event belongs to, and its columns
 * from the envelope (tenant, ts, seq, id, key, type) and its data. */
#include "lake/rows.h"

#include "helix/hx_json_read.h"
#include "helix/hx_topics.h"

#include <errno.h>
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

/* "2024-05-01T10:00:00Z" / "...:00.123Z" / "+02:00". */
static int parse_time_str(const char *s, int64_t *out)
{
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

/* A time string (above), or ms as a number. */
static int parse_time(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    const char *s = json_string_value(v);
    return s ? parse_time_str(s, out) : 0;
}

static void set_str(hx_pq_value_t *v, const char *s)
{
    v->is_null = s == NULL;
    if (s) {
        v->v.str.s = s;
        v->v.str.n = strlen(s);
    }
}

enum { LAKE_COL_DATA, LAKE_COL_TENANT, LAKE_COL_TS, LAKE_COL_SEQ, LAKE_COL_EVENT_ID, LAKE_COL_EVENT_TYPE,
       LAKE_COL_OP, LAKE_COL_DATA_JSON, LAKE_COL_PARTICIPANTS_JSON };

static int col_kind(const char *n)
{
    static const char *const names[] = {"", "tenant", "ts", "seq", "event_id", "event_type", "op", "data_json",
                                        "participants_json"};
    for (int k = 1; k < (int)(sizeof names / sizeof *names); k++)
        if (!strcmp(n, names[k]))
            return k;
    return LAKE_COL_DATA;
}

/* Columns filled from the envelope itself (kind from col_kind); 0 when
 * the column reads the data. */
static int env_column_kind(int kind, const hx_envelope_t *e, hx_pq_value_t *v)
{
    switch (kind) {
    case LAKE_COL_TENANT: set_str(v, e->tenant && e->tenant[0] ? e->tenant : "default"); return 1;
    case LAKE_COL_TS: v->v.i = e->ts; return 1;
    case LAKE_COL_SEQ: v->v.i = (int64_t)e->seq; return 1;
    case LAKE_COL_EVENT_ID: set_str(v, e->id ? e->id : ""); return 1;
    case LAKE_COL_EVENT_TYPE: set_str(v, e->type); return 1;
    case LAKE_COL_OP: {
        const char *dot = strrchr(e->type, '.');
        set_str(v, dot ? dot + 1 : e->type);
        return 1;
    }
    default: return 0;
    }
}

static int env_column(const hx_pq_column_t *col, const hx_envelope_t *e, hx_pq_value_t *v)
{
    return env_column_kind(col_kind(col->name), e, v);
}

/* The data member a data column reads ("type" for entity_type). */
static const char *member_of(const char *col)
{
    return !strcmp(col, "entity_type") ? "type" : !strcmp(col, "participants_json") ? "participants" : col;
}

/* Required columns the event lacks get neutral values, not a lost row. */
static void neutral(const hx_pq_column_t *col, const hx_envelope_t *e, hx_pq_value_t *v)
{
    if (!v->is_null || col->optional)
        return;
    v->is_null = 0;
    if (col->type == HX_PQ_STRING)
        set_str(v, "");
    else if (col->type == HX_PQ_DOUBLE)
        v->v.d = 0;
    else
        v->v.i = col->type == HX_PQ_TIMESTAMP ? e->ts : 0;
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
        if (env_column(col, e, v)) { /* tenant, ts, seq, ids, type, op: the envelope's */
        } else if ((int)c == ds->key_col && !(json_is_string(json_object_get(d, n)))) {
            set_str(v, e->key ? e->key : "");
        } else if (!strcmp(n, "data_json") && sc->data) {
            v->v.str.s = sc->data;
            v->v.str.n = sc->data_len;
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
            const json_t *j = json_object_get(d, member_of(n));
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
        neutral(col, e, v);
    }
    return HX_OK;
}

/* ---- the same row read straight from the data's JSON text ---- */

typedef struct {
    size_t start, end; /* the member's value text in the data */
    int found;
} span_t;

/* A kept string: borrowed from the text when it has no escapes (hx_jr_skip
 * checked its UTF-8 already) and need not end in a NUL, else a copy. */
static int text_str(const char *text, const span_t *sp, int need_nul, lake_row_scratch_t *sc, hx_pq_value_t *v)
{
    const char *s = text + sp->start + 1;
    size_t n = sp->end - sp->start - 2;
    if (!need_nul && !memchr(s, '\\', n)) {
        v->v.str.s = s;
        v->v.str.n = n;
        return HX_OK;
    }
    hx_jr_t r;
    hx_jr_init(&r, text + sp->start, sp->end - sp->start);
    const char *u;
    size_t un;
    int rc = hx_jr_string(&r, &u, &un) || sc->n >= LAKE_ROW_SCRATCH ? HX_EINVAL : HX_OK;
    char *copy = rc ? NULL : malloc(un + 1);
    if (copy) {
        memcpy(copy, u, un + 1);
        sc->p[sc->n++] = copy;
        v->v.str.s = copy;
        v->v.str.n = un;
    }
    hx_jr_free(&r);
    return copy ? HX_OK : HX_EINVAL;
}

/* An integer member as jansson reads one (no fraction, no exponent, in
 * int64 range); 0 when it is not one, -1 when jansson refuses the text. */
static int text_int(const char *p, size_t n, int64_t *out)
{
    char buf[32];
    if (n >= sizeof buf || memchr(p, '.', n) || memchr(p, 'e', n) || memchr(p, 'E', n))
        return 0;
    memcpy(buf, p, n);
    buf[n] = 0;
    errno = 0;
    long long x = strtoll(buf, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *out = x;
    return 1;
}

/* One data column from its member's text (lake_row_from_envelope's rules). */
static int text_column(const hx_pq_column_t *col, int kind, int is_key, const hx_envelope_t *e, const char *text,
                       const span_t *sp, lake_row_scratch_t *sc, hx_pq_value_t *v)
{
    char k = sp->found ? text[sp->start] : 0;
    if (is_key && k != '"') {
        set_str(v, e->key ? e->key : "");
        return HX_OK;
    }
    if (kind == LAKE_COL_PARTICIPANTS_JSON) {
        v->is_null = !sp->found;
        v->v.str.s = text + sp->start;
        v->v.str.n = sp->found ? sp->end - sp->start : 0;
        return HX_OK;
    }
    v->is_null = 1;
    if (!k || k == 'n')
        return HX_OK;
    int64_t i;
    int r;
    switch (col->type) {
    case HX_PQ_STRING:
        if (k != '"')
            return HX_OK;
        v->is_null = 0;
        return text_str(text, sp, is_key, sc, v);
    case HX_PQ_TIMESTAMP:
        if (k == '"') {
            hx_pq_value_t t = {0};
            if (text_str(text, sp, 1, sc, &t))
                return HX_EINVAL;
            v->is_null = !parse_time_str(t.v.str.s, &v->v.i);
        } else if (k != 't' && k != 'f' && k != '{' && k != '[') {
            if ((r = text_int(text + sp->start, sp->end - sp->start, &v->v.i)) < 0)
                return HX_EINVAL;
            v->is_null = !r;
        }
        return HX_OK;
    case HX_PQ_BOOL:
        v->is_null = k != 't' && k != 'f';
        v->v.i = k == 't';
        return HX_OK;
    case HX_PQ_DOUBLE:
        if (k == '"' || k == 't' || k == 'f' || k == '{' || k == '[')
            return HX_OK;
        if ((r = text_int(text + sp->start, sp->end - sp->start, &i)) < 0)
            return HX_EINVAL;
        v->is_null = 0;
        v->v.d = r ? (double)i : strtod(text + sp->start, NULL);
        return HX_OK;
    default:
        if (k == '"' || k == 't' || k == 'f' || k == '{' || k == '[')
            return HX_OK;
        if ((r = text_int(text + sp->start, sp->end - sp->start, &v->v.i)) < 0)
            return HX_EINVAL;
        v->is_null = !r || (col->type == HX_PQ_INT32 && (v->v.i > INT32_MAX || v->v.i < INT32_MIN));
        return HX_OK;
    }
}

void lake_row_plan(const hx_lake_dataset_t *ds, lake_row_plan_t *p)
{
    memset(p, 0, sizeof *p);
    for (size_t c = 0; c < ds->ncols && c < LAKE_ROW_COLS_MAX; c++) {
        int k = col_kind(ds->cols[c].name);
        p->kind[c] = (unsigned char)k;
        p->member[c] = k == LAKE_COL_DATA || k == LAKE_COL_PARTICIPANTS_JSON ? member_of(ds->cols[c].name) : NULL;
    }
}

int lake_row_from_text(const hx_lake_dataset_t *ds, const hx_envelope_t *e, const char *text, size_t len,
                       hx_pq_value_t *vals, lake_row_scratch_t *sc)
{
    lake_row_plan_t plan;
    lake_row_plan(ds, &plan);
    return lake_row_from_text_planned(ds, &plan, e, text, len, vals, sc);
}

int lake_row_from_text_planned(const hx_lake_dataset_t *ds, const lake_row_plan_t *plan, const hx_envelope_t *e,
                               const char *text, size_t len, hx_pq_value_t *vals, lake_row_scratch_t *sc)
{
    sc->n = 0;
    sc->data = text;
    sc->data_len = len;
    span_t sp[LAKE_ROW_COLS_MAX] = {{0}};
    if (ds->ncols > LAKE_ROW_COLS_MAX)
        return HX_EINVAL;
    const char *const *member = plan->member; /* NULL: the envelope's, or data_json */
    hx_jr_t r;
    hx_jr_init(&r, text, len);
    size_t a, b;
    int rc = HX_OK;
    if (hx_jr_peek(&r) != '{') {
        rc = hx_jr_skip(&r, &a, &b); /* not an object: every data column is absent */
    } else {
        r.pos++;
        int empty = hx_jr_eat(&r, '}');
        if (!empty)
            do {
                const char *key;
                size_t kn;
                if (hx_jr_string(&r, &key, &kn) || !hx_jr_eat(&r, ':')) {
                    rc = HX_EINVAL;
                    break;
                }
                size_t c = 0;
                for (; c < ds->ncols; c++)
                    if (member[c] && member[c][0] == key[0] && !strcmp(member[c], key))
                        break;
                /* a member read twice: jansson's duplicate check decides */
                if ((rc = hx_jr_skip(&r, &a, &b)) || (c < ds->ncols && sp[c].found && (rc = HX_EINVAL)))
                    break;
                if (c < ds->ncols)
                    sp[c] = (span_t){a, b, 1};
            } while (hx_jr_eat(&r, ','));
        if (!rc && !empty && !hx_jr_eat(&r, '}'))
            rc = HX_EINVAL;
    }
    hx_jr_ws(&r);
    if (!rc && r.pos != len)
        rc = HX_EINVAL;
    hx_jr_free(&r);
    for (size_t c = 0; c < ds->ncols && !rc; c++) {
        const hx_pq_column_t *col = &ds->cols[c];
        hx_pq_value_t *v = &vals[c];
        memset(v, 0, sizeof *v);
        if (env_column_kind(plan->kind[c], e, v)) { /* tenant, ts, seq, ids, type, op: the envelope's */
        } else if (plan->kind[c] == LAKE_COL_DATA_JSON) {
            v->v.str.s = text;
            v->v.str.n = len;
        } else {
            rc = text_column(col, plan->kind[c], (int)c == ds->key_col, e, text, &sp[c], sc, v);
        }
        neutral(col, e, v);
    }
    if (rc)
        lake_row_scratch_free(sc);
    return rc;
}

void lake_row_scratch_free(lake_row_scratch_t *sc)
{
    for (size_t i = 0; i < sc->n; i++)
        free(sc->p[i]);
    sc->n = 0;
}
