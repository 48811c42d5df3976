/* The row codec: JSON row objects (POST /v1/analytics/{table}/rows bodies,
 * and the data of provider.metrics / debate.completed / conversation.metrics
 * events) straight into column batches. Strict for request bodies (unknown
 * fields, wrong types and missing fields are errors naming the row and the
 * field), lenient about unknown fields in events. */
#include "analytics/analytics_int.h"
#include "analytics/ingest/ingest.h"
#include "analytics/ingest/json_scan.h"
#include "analytics/sql/sql.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { F_STR = 1, F_U32, F_U64, F_NUM, F_BOOL, F_TIME, F_ENUM, F_PARTS };

typedef struct {
    const char *name;
    int col;
    int kind;
    int required;
    const char *choices;
} field_t;

static const field_t provider_fields[] = {
    {"provider", 2, F_STR, 1, NULL},     {"model", 3, F_STR, 1, NULL},       {"request_id", 4, F_STR, 0, NULL},
    {"debate_id", 5, F_STR, 0, NULL},    {"round", 6, F_U32, 0, NULL},       {"response_time_ms", 7, F_NUM, 1, NULL},
    {"prompt_tokens", 8, F_U32, 0, NULL}, {"completion_tokens", 9, F_U32, 0, NULL},
    {"tokens_used", 10, F_U32, 0, NULL}, {"confidence", 11, F_NUM, 0, NULL}, {"success", 12, F_BOOL, 1, NULL},
    {"error_type", 13, F_STR, 0, NULL},  {"timestamp", 1, F_TIME, 0, NULL},  {NULL, 0, 0, 0, NULL},
};

static const field_t debate_fields[] = {
    {"debate_id", 2, F_STR, 1, NULL},       {"conversation_id", 3, F_STR, 0, NULL},
    {"topic", 4, F_STR, 0, NULL},           {"rounds", 5, F_U32, 1, NULL},
    {"winner_provider", 6, F_STR, 0, NULL}, {"winner_model", 7, F_STR, 0, NULL},
    {"confidence", 8, F_NUM, 0, NULL},      {"duration_ms", 9, F_NUM, 0, NULL},
    {"outcome", 10, F_ENUM, 1, "successful|abandoned|error"},
    {"participants", 11, F_PARTS, 1, NULL}, {"timestamp", 1, F_TIME, 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static const field_t participant_fields[] = {
    {"provider", 3, F_STR, 1, NULL},       {"model", 4, F_STR, 1, NULL},      {"position", 5, F_STR, 0, NULL},
    {"response_time_ms", 6, F_NUM, 0, NULL}, {"tokens_used", 7, F_U32, 0, NULL}, {"confidence", 8, F_NUM, 0, NULL},
    {"won", 9, F_BOOL, 0, NULL},           {NULL, 0, 0, 0, NULL},
};

static const field_t conversation_fields[] = {
    {"conversation_id", 2, F_STR, 1, NULL}, {"user_id", 3, F_STR, 0, NULL},
    {"messages_added", 4, F_U32, 0, NULL},  {"messages_updated", 5, F_U32, 0, NULL},
    {"messages_deleted", 6, F_U32, 0, NULL}, {"tokens", 7, F_U64, 0, NULL},
    {"role_user", 8, F_U32, 0, NULL},       {"role_assistant", 9, F_U32, 0, NULL},
    {"role_system", 10, F_U32, 0, NULL},    {"role_tool", 11, F_U32, 0, NULL},
    {"completed", 12, F_U32, 0, NULL},      {"timestamp", 1, F_TIME, 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static const field_t *fields_of(hx_an_table_t t)
{
    switch (t) {
    case HX_AN_PROVIDER_METRICS: return provider_fields;
    case HX_AN_DEBATE_METRICS: return debate_fields;
    case HX_AN_CONVERSATION_METRICS: return conversation_fields;
    default: return NULL;
    }
}

void an_spans_free(an_spans_t *s)
{
    free(s->start);
    free(s->len);
    memset(s, 0, sizeof *s);
}

typedef struct {
    js_t j;
    int strict;
    hx_err_t *err;
    const char *what;        /* "rows" or "data" */
    long row;                /* rows[row], -1 = none */
    long part;               /* .participants[part], -1 = none */
    const char *tenant;
    size_t tenant_len;
    int64_t ts;              /* default timestamp */
    /* Rows of one body name their fields in one order: after field i
     * (slot i + 1; slot 0 opens an object) the field that came next last
     * time, tried before the table is searched. -1 = none yet. */
    const field_t *hint_fields;
    int8_t hint[33];
} rp_t;

/* "rows[17].participants[2]": formatted only when an error is reported. */
static void where(const rp_t *r, char *out, size_t len)
{
    int n = r->row >= 0 ? snprintf(out, len, "%s[%ld]", r->what, r->row) : snprintf(out, len, "%s", r->what);
    if (r->part >= 0 && n > 0 && (size_t)n < len)
        snprintf(out + n, len - (size_t)n, ".participants[%ld]", r->part);
}

static int bad(rp_t *r, const char *fmt, const char *a, const char *b)
{
    char msg[200], w[80];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    where(r, w, sizeof w);
    return hx_err_set(r->err, HX_EINVAL, "%s%s", w, msg);
}

static int syntax(rp_t *r)
{
    if (!r->j.why)
        return hx_err_set(r->err, HX_ENOMEM, "out of memory parsing rows");
    size_t off = (size_t)(r->j.p - r->j.base);
    size_t line = 1;
    for (const char *q = r->j.base; q < r->j.p; q++)
        line += *q == '\n';
    char w[80];
    where(r, w, sizeof w);
    return hx_err_set(r->err, HX_EINVAL, "%s: invalid JSON at byte %zu (line %zu): %s", w, off, line, r->j.why);
}

static int known_list(const field_t *f, char *out, size_t len)
{
    size_t n = 0;
    out[0] = 0;
    for (; f->name && n + 2 < len; f++)
        n += (size_t)snprintf(out + n, len - n, "%s%s", n ? ", " : "", f->name);
    return 0;
}

/* Sets string column col of the trailing rows [from, b->rows) of b, all
 * of which hold "" in it (participants get their debate's id and tenant once
 * the debate object has been read). */
static int fill_tail_str(hx_an_batch_t *b, int col, size_t from, const char *s, size_t n)
{
    hx_an_col_t *c = &b->cols[col];
    size_t rows = b->rows - from, need = c->off[from] + rows * n;
    int rc = an_col_reserve(c, need);
    if (rc)
        return rc;
    for (size_t r = from; r < b->rows; r++) {
        memcpy(c->str + c->off[r], s, n);
        c->off[r + 1] = c->off[r] + (uint32_t)n;
    }
    c->str_len = need;
    return HX_OK;
}

static int parse_time(rp_t *r, int64_t *out)
{
    int kind = js_peek(&r->j);
    if (kind == JS_NUM) {
        int is_int;
        int64_t i;
        double f;
        if (js_number(&r->j, &is_int, &i, &f))
            return syntax(r);
        if (!is_int || i < 0)
            return bad(r, ".timestamp must be seconds since the epoch (an integer), or 'YYYY-MM-DD hh:mm:ss'", 0, 0);
        *out = i > 100000000000LL ? i / 1000 : i; /* past year 5138 in seconds: it was milliseconds */
    } else if (kind == JS_STR) {
        const char *s;
        size_t n;
        if (js_string(&r->j, &s, &n))
            return syntax(r);
        if (hx_sql_parse_datetime(s, n, out))
            return bad(r, ".timestamp must be 'YYYY-MM-DD hh:mm:ss' or RFC 3339 UTC, or epoch seconds", 0, 0);
    } else {
        return bad(r, ".timestamp must be epoch seconds or a 'YYYY-MM-DD hh:mm:ss' string", 0, 0);
    }
    if (*out > 4294967295LL)
        return bad(r, ".timestamp is past 2106-02-07, the end of the DateTime range", 0, 0);
    return HX_OK;
}

static int in_choices(const char *s, size_t n, const char *choices)
{
    for (const char *c = choices; c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && !memcmp(c, s, n))
            return 1;
        c = bar ? bar + 1 : NULL;
    }
    return 0;
}

static int parse_object(rp_t *r, const field_t *fields, hx_an_batch_t *b, hx_an_batch_t *parts, int depth);

/* participants: [ {...}, ... ] into parts; returns how many. */
static int parse_parts(rp_t *r, hx_an_batch_t *parts, size_t *count)
{
    if (js_peek(&r->j) != JS_ARR)
        return bad(r, ".participants must be an array of objects", 0, 0);
    r->j.p++;
    size_t n = 0;
    js_ws(&r->j);
    if (r->j.p < r->j.end && *r->j.p == ']') {
        r->j.p++;
        *count = 0;
        return HX_OK;
    }
    for (;;) {
        r->part = (long)n;
        if (js_peek(&r->j) != JS_OBJ)
            return bad(r, " must be an object", 0, 0);
        int rc = parse_object(r, participant_fields, parts, NULL, 1);
        if (rc)
            return rc;
        r->part = -1;
        n++;
        js_ws(&r->j);
        if (r->j.p < r->j.end && *r->j.p == ',') {
            r->j.p++;
            continue;
        }
        if (js_expect(&r->j, ']'))
            return syntax(r);
        break;
    }
    *count = n;
    return HX_OK;
}

static int parse_object(rp_t *r, const field_t *fields, hx_an_batch_t *b, hx_an_batch_t *parts, int depth)
{
    size_t row;
    if (hx_an_batch_add_row(b, &row))
        return hx_err_set(r->err, HX_ENOMEM, "out of memory parsing rows");
    if (hx_an_batch_set_str(b, HX_AN_COL_TENANT, r->tenant, r->tenant_len))
        return hx_err_set(r->err, HX_ENOMEM, "out of memory parsing rows");
    b->cols[HX_AN_COL_TIMESTAMP].i[row] = r->ts;
    size_t part_from = parts ? parts->rows : 0, nparts = 0;
    uint32_t seen = 0;
    int prev = -1;
    if (r->hint_fields != fields) {
        r->hint_fields = fields;
        memset(r->hint, -1, sizeof r->hint);
    }
    if (js_expect(&r->j, '{'))
        return syntax(r);
    js_ws(&r->j);
    if (r->j.p < r->j.end && *r->j.p == '}') {
        r->j.p++;
    } else {
        for (;;) {
            const char *k;
            size_t kn;
            if (js_string(&r->j, &k, &kn))
                return syntax(r);
            if (js_expect(&r->j, ':'))
                return syntax(r);
            /* k may point into scratch, which the value's string reuses:
             * messages below name the matched field, not k. */
            int fi = -1, h = r->hint[prev + 1];
            if (h >= 0 && kn && !strncmp(fields[h].name, k, kn) && !fields[h].name[kn])
                fi = h;
            for (int i = 0; fi < 0 && kn && fields[i].name; i++)
                if (fields[i].name[0] == k[0] && !strncmp(fields[i].name, k, kn) && !fields[i].name[kn]) {
                    fi = i;
                    break;
                }
            if (fi < 0) {
                if (r->strict) {
                    char key[64], known[400];
                    size_t kc = kn < sizeof key - 1 ? kn : sizeof key - 1;
                    memcpy(key, k, kc);
                    key[kc] = 0;
                    known_list(fields, known, sizeof known);
                    return bad(r, ": unknown field '%s' (known: %s)", key, known);
                }
                if (js_skip(&r->j, depth))
                    return syntax(r);
                goto next;
            }
            r->hint[prev + 1] = (int8_t)fi;
            prev = fi;
            const field_t *f = &fields[fi];
            const char *key = f->name;
            if (seen & (1u << fi)) {
                if (r->strict)
                    return bad(r, ": field '%s' appears twice", key, 0);
            }
            seen |= 1u << fi;
            int kind = js_peek(&r->j);
            if (kind == JS_NULL && !f->required) { /* null = the default */
                if (js_skip(&r->j, depth))
                    return syntax(r);
                goto next;
            }
            switch (f->kind) {
            case F_STR:
            case F_ENUM: {
                const char *s;
                size_t n;
                if (kind != JS_STR)
                    return bad(r, ".%s must be a string", key, 0);
                int rc = js_string(&r->j, &s, &n);
                if (rc)
                    return rc == -2 ? hx_err_set(r->err, HX_ENOMEM, "out of memory") : syntax(r);
                if (f->kind == F_ENUM && !in_choices(s, n, f->choices))
                    return bad(r, ".%s must be one of %s", key, f->choices);
                if (f->col == HX_AN_COL_TENANT)
                    break;
                if (hx_an_batch_set_str(b, f->col, s, n))
                    return hx_err_set(r->err, HX_ENOMEM, "out of memory parsing rows");
                break;
            }
            case F_U32:
            case F_U64: {
                int is_int;
                int64_t i;
                double d;
                if (kind != JS_NUM)
                    return bad(r, ".%s must be a non-negative integer", key, 0);
                if (js_number(&r->j, &is_int, &i, &d))
                    return syntax(r);
                if (!is_int || i < 0)
                    return bad(r, ".%s must be a non-negative integer", key, 0);
                if (f->kind == F_U32 && i > 4294967295LL)
                    return bad(r, ".%s must be at most 4294967295", key, 0);
                b->cols[f->col].i[row] = i;
                break;
            }
            case F_NUM: {
                int is_int;
                int64_t i;
                double d;
                if (kind != JS_NUM)
                    return bad(r, ".%s must be a number", key, 0);
                if (js_number(&r->j, &is_int, &i, &d))
                    return syntax(r);
                b->cols[f->col].f[row] = d;
                break;
            }
            case F_BOOL:
                if (kind != JS_TRUE && kind != JS_FALSE)
                    return bad(r, ".%s must be true or false", key, 0);
                if (js_skip(&r->j, depth))
                    return syntax(r);
                b->cols[f->col].i[row] = kind == JS_TRUE;
                break;
            case F_TIME: {
                int64_t t;
                int rc = parse_time(r, &t);
                if (rc)
                    return rc;
                b->cols[f->col].i[row] = t;
                break;
            }
            case F_PARTS: {
                if (!parts)
                    return bad(r, ": participants are not allowed here", 0, 0);
                int rc = parse_parts(r, parts, &nparts);
                if (rc)
                    return rc;
                break;
            }
            }
        next:
            js_ws(&r->j);
            if (r->j.p < r->j.end && *r->j.p == ',') {
                r->j.p++;
                continue;
            }
            if (js_expect(&r->j, '}'))
                return syntax(r);
            break;
        }
    }
    for (int i = 0; fields[i].name; i++)
        if (fields[i].required && !(seen & (1u << i)))
            return bad(r, ": field '%s' is required", fields[i].name, 0);
    if (parts) {
        /* The debate's participants carry its tenant, time and id. */
        size_t dn;
        const char *did = hx_an_batch_str(b, 2, row, &dn);
        b->cols[11].i[row] = (int64_t)nparts;
        for (size_t p = part_from; p < parts->rows; p++)
            parts->cols[HX_AN_COL_TIMESTAMP].i[p] = b->cols[HX_AN_COL_TIMESTAMP].i[row];
        if (nparts && fill_tail_str(parts, 2, part_from, did, dn))
            return hx_err_set(r->err, HX_ENOMEM, "out of memory parsing rows");
    }
    return HX_OK;
}

/* The participant rows were added with the debate's tenant in place, and a
 * participant object's own tenant/timestamp/debate_id are not fields. */
static int check_table(hx_an_table_t t, hx_an_batch_t *out, hx_an_batch_t *parts, hx_err_t *err)
{
    if (!fields_of(t)) {
        if (t == HX_AN_DEBATE_PARTICIPANTS)
            return hx_err_set(err, HX_EINVAL,
                              "debate_participants takes no rows of its own: send debates to "
                              "/v1/analytics/debate_metrics/rows with their participants[]");
        return hx_err_set(err, HX_EINVAL, "unknown analytics table");
    }
    if (out->table != t || (t == HX_AN_DEBATE_METRICS && (!parts || parts->table != HX_AN_DEBATE_PARTICIPANTS)))
        return hx_err_set(err, HX_EINVAL, "row batch does not match table %s", hx_an_table(t)->name);
    return HX_OK;
}

static int span_add(an_spans_t *s, size_t start, size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint32_t *a = realloc(s->start, cap * sizeof *a);
        if (!a)
            return HX_ENOMEM;
        s->start = a;
        uint32_t *b = realloc(s->len, cap * sizeof *b);
        if (!b)
            return HX_ENOMEM;
        s->len = b;
        s->cap = cap;
    }
    s->start[s->n] = (uint32_t)start;
    s->len[s->n++] = (uint32_t)len;
    return HX_OK;
}

int an_rows_parse(hx_an_table_t t, const char *tenant, int64_t now_s, const char *body, size_t len,
                  hx_an_batch_t *out, hx_an_batch_t *parts, an_spans_t *spans, hx_err_t *err)
{
    int rc = check_table(t, out, parts, err);
    if (rc)
        return rc;
    if (len > UINT32_MAX)
        return hx_err_set(err, HX_ETOOBIG, "a rows body is at most 4 GiB");
    hx_an_batch_reset(out);
    if (parts)
        hx_an_batch_reset(parts);
    if (spans)
        spans->n = 0;
    rp_t r = {.j = {body, body + len, body, NULL, 0, NULL}, .strict = 1, .err = err, .tenant = tenant,
              .tenant_len = strlen(tenant), .ts = now_s};
    const field_t *fields = fields_of(t);
    hx_an_batch_t *pb = t == HX_AN_DEBATE_METRICS ? parts : NULL;
    r.what = "rows";
    r.row = r.part = -1;
    int first = js_peek(&r.j), array = first == JS_ARR;
    if (!first) {
        rc = r.j.p >= r.j.end ? hx_err_set(err, HX_EINVAL, "no rows: send a JSON array of row objects or NDJSON")
                              : (r.j.why = "expected '[' or '{'", syntax(&r));
        goto done;
    }
    if (array)
        r.j.p++;
    size_t n = 0;
    for (;;) {
        js_ws(&r.j);
        if (array && n == 0 && r.j.p < r.j.end && *r.j.p == ']') {
            r.j.p++;
            break;
        }
        if (!array && r.j.p >= r.j.end)
            break;
        r.row = (long)n;
        if (js_peek(&r.j) != JS_OBJ) {
            rc = r.j.p >= r.j.end ? (r.j.why = "unexpected end of the body", syntax(&r))
                                  : hx_err_set(err, HX_EINVAL, "rows[%zu] must be an object", n);
            goto done;
        }
        size_t start = (size_t)(r.j.p - body);
        if ((rc = parse_object(&r, fields, out, pb, 1)))
            goto done;
        if (spans && span_add(spans, start, (size_t)(r.j.p - body) - start)) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory parsing rows");
            goto done;
        }
        n++;
        js_ws(&r.j);
        if (array) {
            if (r.j.p < r.j.end && *r.j.p == ',') {
                r.j.p++;
                continue;
            }
            if (js_expect(&r.j, ']')) {
                rc = syntax(&r);
                goto done;
            }
            break;
        }
        /* NDJSON: objects one per line (any whitespace between them). */
        if (r.j.p < r.j.end && *r.j.p == ',') {
            rc = hx_err_set(err, HX_EINVAL, "rows[%zu]: NDJSON has one object per line, without commas (or send a "
                                           "JSON array)",
                            n - 1);
            goto done;
        }
    }
    js_ws(&r.j);
    if (!rc && r.j.p < r.j.end) {
        r.j.why = "unexpected text after the rows";
        r.row = -1;
        rc = syntax(&r);
    }
    if (!rc && !n)
        rc = hx_err_set(err, HX_EINVAL, "no rows: the array is empty");
done:
    js_free(&r.j);
    if (rc) {
        hx_an_batch_reset(out);
        if (parts)
            hx_an_batch_reset(parts);
        if (spans)
            spans->n = 0;
    }
    return rc;
}

int hx_an_rows_parse(hx_an_table_t t, const char *tenant, int64_t now_s, const char *body, size_t len,
                     hx_an_batch_t *out, hx_an_batch_t *parts, hx_err_t *err)
{
    return an_rows_parse(t, tenant, now_s, body, len, out, parts, NULL, err);
}

/* Truncates a batch back to rows (an event that failed half way). */
static void truncate_batch(hx_an_batch_t *b, size_t rows)
{
    if (!b || b->rows <= rows)
        return;
    const hx_an_table_def_t *d = hx_an_table(b->table);
    b->rows = rows;
    for (int c = 0; c < d->ncols; c++)
        if (d->cols[c].type == HX_AN_T_STRING)
            b->cols[c].str_len = b->cols[c].off[rows];
}

int an_event_row(hx_an_table_t t, const char *tenant, size_t tenant_len, int64_t ts_s, const char *data,
                 size_t len, hx_an_batch_t *out, hx_an_batch_t *parts, hx_err_t *err)
{
    size_t r0 = out->rows, p0 = parts ? parts->rows : 0;
    rp_t r = {.j = {data, data + len, data, NULL, 0, NULL}, .strict = 0, .err = err, .tenant = tenant,
              .tenant_len = tenant_len, .ts = ts_s};
    r.what = "data";
    r.row = r.part = -1;
    const field_t *fields = fields_of(t);
    int rc = fields ? parse_object(&r, fields, out, t == HX_AN_DEBATE_METRICS ? parts : NULL, 1)
                    : hx_err_set(err, HX_EINVAL, "no event maps to %s", hx_an_table(t)->name);
    if (!rc) {
        js_ws(&r.j);
        if (r.j.p < r.j.end) {
            r.j.why = "unexpected text after the object";
            rc = syntax(&r);
        }
    }
    /* The envelope's time wins over a timestamp field (it is the event's). */
    if (!rc)
        out->cols[HX_AN_COL_TIMESTAMP].i[out->rows - 1] = ts_s;
    if (!rc && parts)
        for (size_t p = p0; p < parts->rows; p++)
            parts->cols[HX_AN_COL_TIMESTAMP].i[p] = ts_s;
    js_free(&r.j);
    if (rc) {
        truncate_batch(out, r0);
        truncate_batch(parts, p0);
    }
    return rc;
}

int an_msg_parse(const char *data, size_t len, an_msg_t *m, char *scratch, size_t scratch_len, hx_err_t *err)
{
    js_t j = {data, data + len, data, NULL, 0, NULL};
    memset(m, 0, sizeof *m);
    m->role = -1;
    m->user_id = "";
    int rc = HX_OK;
    if (js_expect(&j, '{'))
        goto syntax;
    js_ws(&j);
    if (j.p < j.end && *j.p == '}') {
        j.p++;
        goto end;
    }
    for (;;) {
        const char *k, *s;
        size_t kn, n;
        if (js_string(&j, &k, &kn) || js_expect(&j, ':'))
            goto syntax;
        /* Copy the key: the value's unescaping may reuse the scratch. */
        char key[16];
        size_t kc = kn < sizeof key - 1 ? kn : sizeof key - 1;
        memcpy(key, k, kc);
        key[kc] = 0;
        int kind = js_peek(&j);
        if (!strcmp(key, "role") && kn == 4 && kind == JS_STR) {
            if (js_string(&j, &s, &n))
                goto syntax;
            static const char *roles[] = {"user", "assistant", "system", "tool"};
            for (int i = 0; i < 4; i++)
                if (strlen(roles[i]) == n && !memcmp(roles[i], s, n))
                    m->role = i;
        } else if (!strcmp(key, "content") && kn == 7 && kind == JS_STR) {
            if (js_string(&j, &s, &n))
                goto syntax;
            m->content_bytes = n;
        } else if (!strcmp(key, "tokens") && kn == 6 && kind == JS_NUM) {
            int is_int;
            int64_t i;
            double f;
            if (js_number(&j, &is_int, &i, &f))
                goto syntax;
            m->tokens = is_int && i > 0 ? (uint64_t)i : 0;
        } else if (!strcmp(key, "user_id") && kn == 7 && kind == JS_STR) {
            if (js_string(&j, &s, &n))
                goto syntax;
            if (n >= scratch_len)
                n = scratch_len - 1;
            memcpy(scratch, s, n);
            scratch[n] = 0;
            m->user_id = scratch;
            m->user_len = n;
        } else if (js_skip(&j, 1)) {
            goto syntax;
        }
        js_ws(&j);
        if (j.p < j.end && *j.p == ',') {
            j.p++;
            continue;
        }
        if (js_expect(&j, '}'))
            goto syntax;
        break;
    }
end:
    js_ws(&j);
    if (j.p < j.end) {
        j.why = "unexpected text after the object";
        goto syntax;
    }
    js_free(&j);
    return rc;
syntax:
    rc = hx_err_set(err, HX_EINVAL, "message data: invalid JSON at byte %zu: %s", (size_t)(j.p - data),
                    j.why ? j.why : "out of memory");
    js_free(&j);
    return rc;
}
