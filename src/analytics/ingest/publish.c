/* Rows to events on the log (the source of truth): provider.metrics,
 * debate.completed and conversation.metrics envelopes keyed by provider,
 * debate_id and conversation_id. A rows body's objects are published as they
 * came (already validated), so a row costs one parse, not a parse and a
 * re-serialisation. */
#include "analytics/analytics_int.h"
#include "analytics/ingest/ingest.h"
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"
#include "helix/hx_topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define PUBLISH_CHUNK 20000

typedef struct {
    const char *type, *topic;
    int key_col;
} route_t;

static int route_of(hx_an_table_t t, route_t *r, hx_err_t *err)
{
    switch (t) {
    case HX_AN_PROVIDER_METRICS: *r = (route_t){HX_EV_PROVIDER_METRICS, HX_TOPIC_ANALYTICS_PROVIDERS, 2}; return 0;
    case HX_AN_DEBATE_METRICS: *r = (route_t){HX_EV_DEBATE_COMPLETED, HX_TOPIC_ANALYTICS_DEBATES, 2}; return 0;
    case HX_AN_CONVERSATION_METRICS:
        *r = (route_t){HX_EV_CONVERSATION_METRICS, HX_TOPIC_ANALYTICS_CONVERSATIONS, 2};
        return 0;
    default:
        return hx_err_set(err, HX_EINVAL,
                          "debate_participants takes no rows of its own: publish debates with their participants");
    }
}

/* Appends `"name":` */
static int put_key(hx_buf_t *b, const char *name, int *first)
{
    int rc = hx_buf_puts(b, *first ? "\"" : ",\"");
    *first = 0;
    rc = rc ? rc : hx_buf_puts(b, name);
    return rc ? rc : hx_buf_puts(b, "\":");
}

/* The object of one row: every column but tenant and timestamp. */
static int put_row(hx_buf_t *out, const hx_an_batch_t *b, size_t row, int skip_col)
{
    const hx_an_table_def_t *d = hx_an_table(b->table);
    int first = 1, rc = hx_buf_putc(out, '{');
    for (int c = 2; c < d->ncols && !rc; c++) {
        if (c == skip_col)
            continue;
        const hx_an_column_def_t *cd = &d->cols[c];
        rc = put_key(out, cd->name, &first);
        if (rc)
            break;
        if (cd->type == HX_AN_T_STRING) {
            size_t n;
            const char *s = hx_an_batch_str(b, c, row, &n);
            rc = hx_buf_put_json_str(out, s, n);
        } else if (cd->type == HX_AN_T_FLOAT64) {
            rc = hx_buf_printf(out, "%.17g", b->cols[c].f[row]);
        } else if (cd->type == HX_AN_T_UINT8) {
            rc = hx_buf_puts(out, b->cols[c].i[row] ? "true" : "false");
        } else {
            rc = hx_buf_printf(out, "%lld", (long long)b->cols[c].i[row]);
        }
    }
    return rc ? rc : HX_OK;
}

int an_row_json(const hx_an_batch_t *b, const hx_an_batch_t *parts, size_t row, size_t *part_row, hx_buf_t *out)
{
    if (b->table != HX_AN_DEBATE_METRICS) {
        int rc = put_row(out, b, row, -1);
        return rc ? rc : hx_buf_putc(out, '}');
    }
    /* debate.completed: the row without its count, plus participants[]. */
    int rc = put_row(out, b, row, 11);
    rc = rc ? rc : hx_buf_puts(out, ",\"participants\":[");
    size_t n = (size_t)b->cols[11].i[row];
    for (size_t k = 0; k < n && !rc; k++, (*part_row)++) {
        if (!parts || *part_row >= parts->rows)
            return HX_EINVAL;
        if (k)
            rc = hx_buf_putc(out, ',');
        const hx_an_table_def_t *pd = hx_an_table(HX_AN_DEBATE_PARTICIPANTS);
        int first = 1;
        rc = rc ? rc : hx_buf_putc(out, '{');
        for (int c = 3; c < pd->ncols && !rc; c++) {
            rc = put_key(out, pd->cols[c].name, &first);
            if (rc)
                break;
            if (pd->cols[c].type == HX_AN_T_STRING) {
                size_t len;
                const char *s = hx_an_batch_str(parts, c, *part_row, &len);
                rc = hx_buf_put_json_str(out, s, len);
            } else if (pd->cols[c].type == HX_AN_T_FLOAT64) {
                rc = hx_buf_printf(out, "%.17g", parts->cols[c].f[*part_row]);
            } else if (pd->cols[c].type == HX_AN_T_UINT8) {
                rc = hx_buf_puts(out, parts->cols[c].i[*part_row] ? "true" : "false");
            } else {
                rc = hx_buf_printf(out, "%lld", (long long)parts->cols[c].i[*part_row]);
            }
        }
        rc = rc ? rc : hx_buf_putc(out, '}');
    }
    rc = rc ? rc : hx_buf_puts(out, "]}");
    return rc;
}

typedef struct {
    hx_analytics_t *a;
    route_t route;
    char prefix[17];
    uint64_t counter;
    hx_buf_t frames;
    hx_msg_t *msgs;
    size_t *frame_off;
    size_t n, cap;
    size_t events;
    char tenant[HX_ENV_TENANT_MAX + 1]; /* of the encoder below */
    hx_envelope_t env;
    hx_envelope_encoder_t enc;
    int have_enc;
} pub_t;

static int pub_init(pub_t *p, hx_analytics_t *a, hx_an_table_t t, hx_err_t *err)
{
    memset(p, 0, sizeof *p);
    p->a = a;
    if (!a->broker)
        return hx_err_set(err, HX_EUNSUPPORTED, "analytics has no broker to publish to");
    int rc = route_of(t, &p->route, err);
    if (rc)
        return rc;
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return hx_err_set(err, HX_EIO, "cannot read random bytes for event ids");
    for (int i = 0; i < 8; i++)
        snprintf(p->prefix + 2 * i, 3, "%02x", rnd[i]);
    return HX_OK;
}

static int pub_flush(pub_t *p, hx_err_t *err)
{
    if (!p->n)
        return HX_OK;
    for (size_t i = 0; i < p->n; i++) {
        p->msgs[i].value = p->frames.data + p->frame_off[i];
        p->msgs[i].key = (const char *)p->frames.data + (size_t)p->msgs[i].key;
    }
    int rc = hx_broker_produce(p->a->broker, p->msgs, p->n, NULL, err);
    if (!rc)
        p->events += p->n;
    p->n = 0;
    p->frames.len = 0;
    return rc;
}

/* Adds one event: data is the row's JSON text, key the routing key. */
static int pub_add(pub_t *p, const char *tenant, size_t tenant_len, const char *key, size_t key_len, int64_t ts_s,
                   const char *data, size_t data_len, hx_err_t *err)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        hx_msg_t *nm = realloc(p->msgs, cap * sizeof *nm);
        size_t *no = realloc(p->frame_off, cap * sizeof *no);
        if (nm)
            p->msgs = nm;
        if (no)
            p->frame_off = no;
        if (!nm || !no)
            return hx_err_set(err, HX_ENOMEM, "out of memory publishing rows");
        p->cap = cap;
    }
    if (tenant_len > HX_ENV_TENANT_MAX)
        return hx_err_set(err, HX_EINVAL, "tenant of an analytics row is longer than %d bytes", HX_ENV_TENANT_MAX);
    if (!p->have_enc || strlen(p->tenant) != tenant_len || memcmp(p->tenant, tenant, tenant_len)) {
        /* Type, source and tenant are checked once per run of one tenant. */
        memcpy(p->tenant, tenant, tenant_len);
        p->tenant[tenant_len] = 0;
        memset(&p->env, 0, sizeof p->env);
        p->env.v = HX_ENVELOPE_VERSION;
        p->env.type = (char *)p->route.type;
        p->env.source = p->a->node_id;
        p->env.tenant = p->tenant;
        int rc = hx_envelope_encoder_init(&p->enc, &p->env, err);
        if (rc)
            return rc;
        p->have_enc = 1;
    }
    /* The batch's random prefix and a counter: unique without a syscall or
     * printf per event. */
    static const char hex[] = "0123456789abcdef";
    char id[33], k[HX_ENV_KEY_MAX + 1];
    memcpy(id, p->prefix, 16);
    uint64_t c = p->counter++;
    for (int i = 31; i >= 16; i--, c >>= 4)
        id[i] = hex[c & 15];
    id[32] = 0;
    if (key_len > HX_ENV_KEY_MAX || (key_len && memchr(key, 0, key_len)))
        return hx_err_set(err, HX_EINVAL, "the key of an analytics row must be at most %d bytes without NULs",
                          HX_ENV_KEY_MAX);
    memcpy(k, key, key_len);
    k[key_len] = 0;
    /* The key goes first, the frame after it: both live in one buffer. */
    size_t key_off = p->frames.len;
    if (hx_buf_append(&p->frames, k, key_len + 1))
        return hx_err_set(err, HX_ENOMEM, "out of memory publishing rows");
    size_t off = p->frames.len;
    int rc = hx_envelope_encoder_put(&p->enc, id, k, ts_s * 1000, data, data_len, &p->frames, err);
    if (rc)
        return rc;
    p->msgs[p->n] = (hx_msg_t){.topic = p->route.topic, .partition = -1, .key = (const void *)(uintptr_t)key_off,
                               .key_len = key_len, .value_len = p->frames.len - off};
    p->frame_off[p->n] = off;
    p->n++;
    return p->n >= PUBLISH_CHUNK ? pub_flush(p, err) : HX_OK;
}

static void pub_free(pub_t *p)
{
    hx_buf_free(&p->frames);
    free(p->msgs);
    free(p->frame_off);
}

int hx_analytics_publish(hx_analytics_t *a, const hx_an_batch_t *rows, const hx_an_batch_t *parts, size_t *events,
                         hx_err_t *err)
{
    if (events)
        *events = 0;
    int rc = an_batch_check(rows, err);
    if (rc)
        return rc;
    pub_t p;
    if ((rc = pub_init(&p, a, rows->table, err)))
        return rc;
    hx_buf_t data = HX_BUF_INIT;
    size_t prow = 0;
    for (size_t r = 0; r < rows->rows && !rc; r++) {
        data.len = 0;
        if (an_row_json(rows, parts, r, &prow, &data)) {
            rc = hx_err_set(err, HX_EINVAL, "row %zu: its participants are missing from the participants batch", r);
            break;
        }
        size_t tl, kl;
        const char *ten = hx_an_batch_str(rows, HX_AN_COL_TENANT, r, &tl);
        const char *key = hx_an_batch_str(rows, p.route.key_col, r, &kl);
        rc = pub_add(&p, ten, tl, key, kl, rows->cols[HX_AN_COL_TIMESTAMP].i[r], (const char *)data.data, data.len,
                     err);
    }
    if (!rc)
        rc = pub_flush(&p, err);
    if (events)
        *events = p.events;
    hx_buf_free(&data);
    pub_free(&p);
    return rc;
}

int hx_analytics_publish_rows(hx_analytics_t *a, hx_an_table_t t, const char *tenant, const char *body, size_t len,
                              size_t *rows, size_t *events, hx_err_t *err)
{
    if (rows)
        *rows = 0;
    if (events)
        *events = 0;
    hx_an_batch_t b, parts;
    an_spans_t spans = {0};
    if (hx_an_batch_init(&b, t))
        return hx_err_set(err, HX_EINVAL, "unknown analytics table");
    hx_an_batch_init(&parts, HX_AN_DEBATE_PARTICIPANTS);
    pub_t p;
    int rc = pub_init(&p, a, t, err);
    if (!rc)
        rc = an_rows_parse(t, tenant, hx_now_ms() / 1000, body, len, &b, &parts, &spans, err);
    if (!rc)
        rc = an_batch_check(&b, err);
    for (size_t r = 0; r < b.rows && !rc; r++) {
        size_t kl;
        const char *key = hx_an_batch_str(&b, p.route.key_col, r, &kl);
        rc = pub_add(&p, tenant, strlen(tenant), key, kl, b.cols[HX_AN_COL_TIMESTAMP].i[r], body + spans.start[r],
                     spans.len[r], err);
    }
    if (!rc)
        rc = pub_flush(&p, err);
    if (!rc && rows)
        *rows = b.rows;
    if (events)
        *events = p.events;
    pub_free(&p);
    an_spans_free(&spans);
    hx_an_batch_free(&b);
    hx_an_batch_free(&parts);
    return rc;
}
