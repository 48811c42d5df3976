/* The reading half of the events of helixagent.entities.updates (events.c
 * writes them): items of one kind from their text without building JSON
 * trees, and whole records with their extraction headers. */
#include "graph/graph_int.h"
#include "helix/hx_json_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_ID, K_LABEL, K_TYPE, K_NAME, K_DESC, K_ALIASES, K_PROPS, K_MENTIONS, K_CONF, K_INTO, K_FROM, K_TO,
       K_STRENGTH, K_SET, K_N };
static const char *const key_names[K_N] = {"id", "label", "type", "name", "description", "aliases", "properties",
                                           "mentions", "confidence", "into", "from", "to", "strength",
                                           "strength_set"};
/* The fields each kind accepts (bit masks over K_*). */
static uint32_t allowed(hx_graph_op_kind_t k)
{
    switch (k) {
    case HX_GRAPH_OP_ENTITY_UPSERT:
        return 1u << K_ID | 1u << K_LABEL | 1u << K_TYPE | 1u << K_NAME | 1u << K_DESC | 1u << K_ALIASES |
               1u << K_PROPS | 1u << K_MENTIONS | 1u << K_CONF;
    case HX_GRAPH_OP_ENTITY_DELETE: return 1u << K_ID;
    case HX_GRAPH_OP_ENTITY_MERGE: return 1u << K_ID | 1u << K_INTO;
    case HX_GRAPH_OP_REL_UPSERT: return 1u << K_FROM | 1u << K_TO | 1u << K_TYPE | 1u << K_STRENGTH | 1u << K_SET | 1u << K_PROPS;
    case HX_GRAPH_OP_REL_DELETE: return 1u << K_FROM | 1u << K_TO | 1u << K_TYPE;
    }
    return 0;
}

/* The field a key names, or -1: by length first, since every item's every
 * key goes through here. */
static int key_index(const char *k, size_t n)
{
    static const uint8_t by_len[13][3] = {
        [2] = {K_ID + 1, K_TO + 1},        [4] = {K_TYPE + 1, K_NAME + 1, K_FROM + 1},
        [5] = {K_LABEL + 1},               [7] = {K_ALIASES + 1},
        [8] = {K_MENTIONS + 1, K_STRENGTH + 1}, [10] = {K_PROPS + 1, K_CONF + 1},
        [11] = {K_DESC + 1},               [12] = {K_SET + 1},
    };
    if (n >= 13)
        return -1;
    for (int i = 0; i < 3 && by_len[n][i]; i++)
        if (!memcmp(k, key_names[by_len[n][i] - 1], n))
            return by_len[n][i] - 1;
    if (n == 4 && !memcmp(k, "into", 4))
        return K_INTO;
    return -1;
}

static void known_list(uint32_t mask, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = 0;
    for (int k = 0; k < K_N; k++)
        if (mask & (1u << k))
            o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? ", " : "", key_names[k]);
}

typedef struct {
    hx_jr_t r;
    hx_graph_ops_t *out;
    const char *prefix;
    hx_err_t *err;
} rd_t;

static int fail(rd_t *d, const char *what)
{
    return hx_err_set(d->err, HX_EINVAL, "%s: %s (at byte %zu)", d->prefix, what, d->r.pos);
}

static const char *arena_copy(rd_t *d, const char *s, size_t n)
{
    return hx_graph_arena_strn(&d->out->arena_, s, n);
}

/* hx_jr_peek / hx_jr_eat, inlined: the reader steps over every byte of
 * every event through them. */
static inline char peek(hx_jr_t *r)
{
    while (r->pos < r->n) {
        char c = r->p[r->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return c;
        r->pos++;
    }
    return 0;
}

static inline int eat(hx_jr_t *r, char c)
{
    if (peek(r) != c)
        return 0;
    r->pos++;
    return 1;
}

/* A string read as hx_jr_string reads it into *v in the ops' arena:
 * HX_EINVAL when it is none (the reader's result), HX_ENOMEM. Strings
 * without escapes, which are most, are copied once, straight from the text. */
static int read_str(rd_t *d, const char **v)
{
    hx_jr_t *r = &d->r;
    const char *s;
    size_t n;
    if (hx_jr_plain(r, &s, &n))
        return (*v = arena_copy(d, s, n)) ? HX_OK : HX_ENOMEM;
    if (hx_jr_string(r, &s, &n))
        return HX_EINVAL;
    return (*v = arena_copy(d, s, n)) ? HX_OK : HX_ENOMEM;
}

/* "entities[3]", for error messages only (formatting it for every item
 * read was a tenth of the graph consumer's decode). */
#define AT_MAX 96
static const char *at(const rd_t *d, size_t idx, char buf[AT_MAX])
{
    snprintf(buf, AT_MAX, "%s[%zu]", d->prefix, idx);
    return buf;
}

static int read_item(rd_t *d, hx_graph_op_kind_t kind, const char *tenant, int64_t ts, size_t idx)
{
    char w[AT_MAX], known[200];
    hx_graph_op_t *op = hx_graph_ops_add(d->out);
    if (!op)
        return hx_err_set(d->err, HX_ENOMEM, "out of memory reading graph events");
    op->kind = kind;
    op->tenant = tenant;
    op->ts_ms = ts;
    op->confidence = 1.0;
    uint32_t seen = 0, ok = allowed(kind);
    if (!eat(&d->r, '{'))
        return hx_err_set(d->err, HX_EINVAL, "%s must be an object", at(d, idx, w));
    if (eat(&d->r, '}'))
        goto check;
    do {
        const char *k;
        size_t kn;
        if ((!hx_jr_plain(&d->r, &k, &kn) && hx_jr_string(&d->r, &k, &kn)) || !eat(&d->r, ':'))
            return hx_err_set(d->err, HX_EINVAL, "%s: malformed JSON object (at byte %zu)", at(d, idx, w), d->r.pos);
        int f = key_index(k, kn);
        if (f < 0 || !(ok & (1u << f))) {
            known_list(ok, known, sizeof known);
            return hx_err_set(d->err, HX_EINVAL, "%s: unknown field '%.*s' (known: %s)", at(d, idx, w),
                              (int)(kn < 64 ? kn : 64), k, known);
        }
        if (seen & (1u << f))
            return hx_err_set(d->err, HX_EINVAL, "%s.%s appears twice", at(d, idx, w), key_names[f]);
        seen |= 1u << f;
        double num;
        int is_int, b;
        if (peek(&d->r) == 'n' && f != K_PROPS) { /* null = absent */
            if (hx_jr_null(&d->r))
                return hx_err_set(d->err, HX_EINVAL, "%s.%s is malformed", at(d, idx, w), key_names[f]);
            continue;
        }
        switch (f) {
        case K_ID: case K_LABEL: case K_TYPE: case K_NAME: case K_DESC: case K_INTO: case K_FROM: case K_TO: {
            const char *v;
            int src = read_str(d, &v);
            if (src == HX_EINVAL)
                return hx_err_set(d->err, HX_EINVAL, "%s.%s must be a string", at(d, idx, w), key_names[f]);
            if (src)
                return hx_err_set(d->err, HX_ENOMEM, "out of memory reading graph events");
            const char **dst[] = {[K_ID] = &op->id, [K_LABEL] = &op->label, [K_NAME] = &op->name,
                                  [K_DESC] = &op->description, [K_INTO] = &op->into, [K_FROM] = &op->from,
                                  [K_TO] = &op->to};
            if (f == K_TYPE)
                *(kind == HX_GRAPH_OP_ENTITY_UPSERT ? &op->type : &op->rel_type) = v;
            else
                *dst[f] = v;
            break;
        }
        case K_ALIASES: {
            if (!eat(&d->r, '['))
                return hx_err_set(d->err, HX_EINVAL, "%s.aliases must be an array of strings", at(d, idx, w));
            const char *tmp[HX_GRAPH_ALIASES_MAX];
            size_t na = 0;
            if (!eat(&d->r, ']')) {
                do {
                    if (na == HX_GRAPH_ALIASES_MAX)
                        return hx_err_set(d->err, HX_EINVAL, "%s.aliases holds more than %d names", at(d, idx, w),
                                          HX_GRAPH_ALIASES_MAX);
                    int src = read_str(d, &tmp[na++]);
                    if (src == HX_EINVAL)
                        return hx_err_set(d->err, HX_EINVAL, "%s.aliases must be an array of strings", at(d, idx, w));
                    if (src)
                        return hx_err_set(d->err, HX_ENOMEM, "out of memory reading graph events");
                } while (eat(&d->r, ','));
                if (!eat(&d->r, ']'))
                    return hx_err_set(d->err, HX_EINVAL, "%s.aliases must be an array of strings", at(d, idx, w));
            }
            const char **al = na ? hx_graph_arena_alloc(&d->out->arena_, na * sizeof *al) : NULL;
            if (na && !al)
                return hx_err_set(d->err, HX_ENOMEM, "out of memory reading graph events");
            if (na)
                memcpy(al, tmp, na * sizeof *al);
            op->aliases = al;
            op->n_aliases = na;
            break;
        }
        case K_PROPS: {
            size_t a, z;
            if (peek(&d->r) != '{' && peek(&d->r) != 'n')
                return hx_err_set(d->err, HX_EINVAL, "%s.properties must be an object", at(d, idx, w));
            if (peek(&d->r) == '{' && (op->properties = hx_graph_props_read(&d->r)))
                break;
            if (hx_jr_skip(&d->r, &a, &z))
                return hx_err_set(d->err, HX_EINVAL, "%s.properties is malformed JSON", at(d, idx, w));
            if (d->r.p[a] == 'n')
                break;
            json_error_t je;
            json_t *pj = json_loadb(d->r.p + a, z - a, JSON_REJECT_DUPLICATES, &je);
            if (!pj)
                return hx_err_set(d->err, HX_EINVAL, "%s.properties: %s", at(d, idx, w), je.text);
            op->properties = pj;
            break;
        }
        case K_MENTIONS:
            if (hx_jr_number(&d->r, &num, &is_int) || !is_int || num < 0 || num > (double)HX_GRAPH_MENTIONS_MAX)
                return hx_err_set(d->err, HX_EINVAL, "%s.mentions must be an integer from 0 to %lld", at(d, idx, w),
                                  (long long)HX_GRAPH_MENTIONS_MAX);
            op->mentions = (int64_t)num;
            break;
        case K_CONF:
        case K_STRENGTH:
            if (hx_jr_number(&d->r, &num, &is_int))
                return hx_err_set(d->err, HX_EINVAL, "%s.%s must be a number", at(d, idx, w), key_names[f]);
            *(f == K_CONF ? &op->confidence : &op->strength) = num;
            break;
        case K_SET:
            if (hx_jr_bool(&d->r, &b))
                return hx_err_set(d->err, HX_EINVAL, "%s.strength_set must be true or false", at(d, idx, w));
            op->strength_set = b;
            break;
        }
    } while (eat(&d->r, ','));
    if (!eat(&d->r, '}'))
        return hx_err_set(d->err, HX_EINVAL, "%s: malformed JSON object (at byte %zu)", at(d, idx, w), d->r.pos);
check:
    if (kind == HX_GRAPH_OP_ENTITY_UPSERT && op->id == NULL && op->type && op->name) {
        /* The pipeline's stable id when the producer gives none. */
        char id[17];
        hx_graph_entity_id(tenant, op->type, op->name, id);
        if (!(op->id = arena_copy(d, id, 16)))
            return hx_err_set(d->err, HX_ENOMEM, "out of memory reading graph events");
    }
    if (kind == HX_GRAPH_OP_REL_UPSERT && !(seen & (1u << K_STRENGTH)))
        op->strength = 1.0;
    if (hx_graph_op_validate(op, NULL, d->err) == HX_OK)
        return HX_OK;
    return hx_graph_op_validate(op, at(d, idx, w), d->err);
}

/* a b c into out (len bytes, truncated as snprintf would): every event's
 * items pass here. */
static void cat3(char *out, size_t len, const char *a, const char *b, const char *c)
{
    size_t o = 0;
    const char *parts[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        for (const char *p = parts[i]; *p && o + 1 < len; p++)
            out[o++] = *p;
    out[o] = 0;
}

int hx_graph_items_parse(const char *tenant, int64_t ts_ms, hx_graph_op_kind_t kind, const char *json, size_t len,
                         const char *prefix, hx_graph_ops_t *out, hx_err_t *err)
{
    int ki = hx_graph_kind_index(kind);
    if (ki < 0)
        return hx_err_set(err, HX_EINVAL, "kind %d is not a graph op", (int)kind);
    rd_t d = {.out = out, .err = err};
    hx_jr_init(&d.r, json, len);
    const char *bk = hx_graph_kinds[ki].batch_key;
    char pre[64];
    cat3(pre, sizeof pre, prefix ? prefix : "", prefix && prefix[0] ? "." : "", bk);
    d.prefix = pre;
    int rc = HX_OK;
    if (peek(&d.r) != '{') {
        rc = hx_err_set(err, HX_EINVAL, "%s must be a JSON object", prefix && prefix[0] ? prefix : "the body");
        goto done;
    }
    /* {"<batch key>": [items]} or one item. */
    size_t at = d.r.pos;
    d.r.pos++;
    const char *k;
    size_t kn;
    int batch = peek(&d.r) == '"' && !hx_jr_string(&d.r, &k, &kn) && !strcmp(k, bk) && eat(&d.r, ':');
    if (!batch) {
        d.r.pos = at;
        snprintf(pre, sizeof pre, "%s%s", prefix && prefix[0] ? prefix : "", prefix && prefix[0] ? "" : "item");
        rc = read_item(&d, kind, tenant, ts_ms, 0);
    } else {
        if (!eat(&d.r, '[')) {
            rc = hx_err_set(err, HX_EINVAL, "%s must be an array", pre);
            goto done;
        }
        size_t i = 0;
        if (!eat(&d.r, ']')) {
            do
                rc = read_item(&d, kind, tenant, ts_ms, i++);
            while (!rc && eat(&d.r, ','));
            if (!rc && !eat(&d.r, ']'))
                rc = fail(&d, "expected ',' or ']' after an item");
        }
        if (!rc && peek(&d.r) == ',')
            rc = hx_err_set(err, HX_EINVAL, "%s: only the field '%s' is allowed next to the items",
                            prefix && prefix[0] ? prefix : "the body", bk);
        if (!rc && !eat(&d.r, '}'))
            rc = fail(&d, "expected '}'");
    }
    hx_jr_ws(&d.r);
    if (!rc && d.r.pos != d.r.n)
        rc = hx_err_set(err, HX_EINVAL, "%s: unexpected text after the JSON value (at byte %zu)",
                        prefix && prefix[0] ? prefix : "the body", d.r.pos);
done:
    hx_jr_free(&d.r);
    return rc;
}

/* What a graph event needs of its frame, borrowed from the record. */
typedef struct ev {
    const char *type, *tenant, *src, *seq, *runs, *data;
    size_t type_len, tenant_len, src_len, seq_len, runs_len, data_len;
    int64_t ts;
} ev_t;

/* The frame read in place (hx_envelope_peek) with every check of
 * hx_envelope_decode_raw; 0 when anything is off, and the caller takes
 * that path for its exact message. Copying each string of every record
 * out and freeing it again was a third of a graph event's decode. */
static int peek_event(const void *value, size_t len, ev_t *ev)
{
    hx_envelope_view_t v;
    hx_err_t ignore;
    if (hx_envelope_peek(value, len, &v, &ignore) || !v.id_len)
        return 0;
    for (size_t i = 0; i < v.type_len; i++) {
        char c = v.type[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return 0;
    }
    for (size_t i = 0; i < v.tenant_len; i++) {
        char c = v.tenant[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return 0;
    }
    *ev = (ev_t){.type = v.type, .type_len = v.type_len, .tenant = v.tenant, .tenant_len = v.tenant_len, .ts = v.ts,
                 .data = v.data, .data_len = v.data_len};
    const unsigned char *names[HX_ENV_HEADERS_MAX];
    size_t name_len[HX_ENV_HEADERS_MAX];
    hx_rd_t r;
    hx_rd_init(&r, v.headers, v.headers_len);
    for (size_t i = 0; i < v.n_headers; i++) {
        const unsigned char *val;
        size_t vn;
        if (hx_rd_bytes(&r, &names[i], &name_len[i]) || hx_rd_bytes(&r, &val, &vn))
            return 0;
        for (size_t j = 0; j < i; j++) /* names are unique */
            if (name_len[j] == name_len[i] && !memcmp(names[j], names[i], name_len[i]))
                return 0;
        if (name_len[i] == 6 && !memcmp(names[i], "hx-src", 6)) {
            ev->src = (const char *)val;
            ev->src_len = vn;
        } else if (name_len[i] == 10 && !memcmp(names[i], "hx-src-seq", 10)) {
            ev->seq = (const char *)val;
            ev->seq_len = vn;
        } else if (name_len[i] == 11 && !memcmp(names[i], "hx-src-runs", 11)) {
            ev->runs = (const char *)val;
            ev->runs_len = vn;
        }
    }
    return 1;
}

static void str_ev(const char *s, const char **p, size_t *n)
{
    *p = s;
    *n = s ? strlen(s) : 0;
}

/* hx-src-seq as strtoll reads it (signs, spaces, clamping): *bad unless
 * all of it is one number >= 0. */
static int seq_strtoll(const char *s, size_t n, long long *v, int *bad, hx_err_t *err)
{
    char small[64], *q = n < sizeof small ? small : malloc(n + 1);
    if (!q)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    memcpy(q, s, n);
    q[n] = 0;
    char *end;
    *v = strtoll(q, &end, 10);
    *bad = *end || *v < 0;
    if (q != small)
        free(q);
    return HX_OK;
}

/* 1 to 18 digits at *i. */
static int read_num(const char *s, size_t n, size_t *i, int64_t *v)
{
    size_t k = 0;
    for (*v = 0; *i < n && s[*i] >= '0' && s[*i] <= '9' && k < 18; (*i)++, k++)
        *v = *v * 10 + (s[*i] - '0');
    return k && !(*i < n && s[*i] >= '0' && s[*i] <= '9') ? 0 : -1;
}

/* Walks hx-src-runs: 0 when well formed, with the items it counts, those
 * of records at offsets <= applied (a prefix: offsets only grow) and the
 * last offset. */
static int runs_walk(const char *r, size_t n, int64_t applied, size_t *total, size_t *upto, int64_t *last)
{
    size_t i = 0;
    int64_t off = 0;
    *total = *upto = 0;
    for (int first = 1;; first = 0) {
        int64_t step, items;
        if (read_num(r, n, &i, &step) || i >= n || r[i++] != ':' || read_num(r, n, &i, &items))
            return -1;
        if ((!first && step < 1) || items < 1 || items > 1000000 || (!first && off > INT64_MAX - step))
            return -1;
        off = first ? step : off + step;
        *total += (size_t)items;
        if (off <= applied)
            *upto += (size_t)items;
        if (i == n)
            break;
        if (r[i++] != ',')
            return -1;
    }
    *last = off;
    return 0;
}

void hx_graph_src_applied(const hx_graph_src_t *src, int64_t applied, size_t *items)
{
    size_t total;
    int64_t last;
    *items = 0;
    if (src->runs && runs_walk(src->runs, src->runs_len, applied, &total, items, &last))
        *items = 0; /* decode checked it */
}

int hx_graph_events_decode(const void *value, size_t len, hx_graph_ops_t *out, hx_graph_src_t *src, hx_err_t *err)
{
    hx_envelope_t e;
    hx_envelope_init(&e);
    ev_t ev;
    if (src)
        *src = (hx_graph_src_t){.seq = 0};
    int rc = HX_OK;
    size_t n0 = out->n;
    if (!peek_event(value, len, &ev)) {
        if ((rc = hx_envelope_decode_raw(value, len, &e, &ev.data, &ev.data_len, err)))
            return rc;
        str_ev(e.type, &ev.type, &ev.type_len);
        str_ev(e.tenant, &ev.tenant, &ev.tenant_len);
        str_ev(hx_envelope_header(&e, "hx-src"), &ev.src, &ev.src_len);
        str_ev(hx_envelope_header(&e, "hx-src-seq"), &ev.seq, &ev.seq_len);
        str_ev(hx_envelope_header(&e, "hx-src-runs"), &ev.runs, &ev.runs_len);
        ev.ts = e.ts;
        /* src->runs must outlive e: the ops' arena keeps it */
        if (ev.runs && !(ev.runs = hx_graph_arena_strn(&out->arena_, ev.runs, ev.runs_len))) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory");
            goto done;
        }
    }
    int ki = -1;
    for (int i = 0; i < HX_GRAPH_KINDS && ki < 0; i++)
        if (strlen(hx_graph_kinds[i].type) == ev.type_len && !memcmp(ev.type, hx_graph_kinds[i].type, ev.type_len))
            ki = i;
    if (ki < 0) {
        rc = hx_err_set(err, HX_EINVAL, "event type '%.*s' is not a graph event (entity.upserted|deleted|merged, "
                        "relationship.upserted|deleted)", (int)ev.type_len, ev.type);
        goto done;
    }
    /* The tenant must outlive the record: it goes into the ops' arena. */
    const char *tenant = hx_graph_arena_strn(&out->arena_, ev.tenant, ev.tenant_len);
    if (!tenant) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        goto done;
    }
    rc = hx_graph_items_parse(tenant, ev.ts, hx_graph_kinds[ki].kind, ev.data, ev.data_len, "data", out, err);
    if (!rc && ev.src && ev.seq) {
        long long v = 0;
        int bad = !ev.seq_len || ev.seq_len > 18; /* plain digits that cannot overflow: read here */
        for (size_t i = 0; i < ev.seq_len && !bad; i++)
            if (ev.seq[i] >= '0' && ev.seq[i] <= '9')
                v = v * 10 + (ev.seq[i] - '0');
            else
                bad = 1;
        if (bad && (rc = seq_strtoll(ev.seq, ev.seq_len, &v, &bad, err)))
            goto done;
        if (!ev.src_len || ev.src_len >= HX_GRAPH_CURSOR_NAME_MAX - 24 || bad) {
            rc = hx_err_set(err, HX_EINVAL, "headers hx-src / hx-src-seq are malformed");
            goto done;
        }
        if (ev.runs) {
            size_t total, upto;
            int64_t last;
            if (ev.src_len > 120 || runs_walk(ev.runs, ev.runs_len, -1, &total, &upto, &last) ||
                total != out->n - n0 || last != v) {
                rc = hx_err_set(err, HX_EINVAL, "header hx-src-runs is malformed or does not match the %zu items "
                                "and hx-src-seq", out->n - n0);
                goto done;
            }
        }
        if (src) {
            memcpy(src->name, ev.src, ev.src_len);
            src->name[ev.src_len] = 0;
            src->seq = v;
            src->runs = ev.runs;
            src->runs_len = ev.runs_len;
        }
    } else if (!rc && ev.runs) {
        rc = hx_err_set(err, HX_EINVAL, "header hx-src-runs needs hx-src and hx-src-seq");
    }
done:
    hx_envelope_free(&e);
    return rc;
}
