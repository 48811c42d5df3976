/* The events of helixagent.entities.updates (hx_graph.h): ops grouped into
 * envelopes by partition, their data written and read without building
 * JSON trees (json_read.h says why). The item shape is also the body of the
 * knowledge API's batch writes (hx_graph_items_parse). */
#include "graph/graph_int.h"
#include "helix/hx_json_read.h"
#include "helix/hx_hash.h"
#include "helix/hx_topics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "helix/hx_id.h"

static const struct {
    hx_graph_op_kind_t kind;
    const char *type, *batch_key;
} kinds[] = {
    {HX_GRAPH_OP_ENTITY_UPSERT, HX_EV_ENTITY_UPSERTED, "entities"},
    {HX_GRAPH_OP_ENTITY_DELETE, HX_EV_ENTITY_DELETED, "entities"},
    {HX_GRAPH_OP_ENTITY_MERGE, HX_EV_ENTITY_MERGED, "entities"},
    {HX_GRAPH_OP_REL_UPSERT, HX_EV_RELATIONSHIP_UPSERTED, "relationships"},
    {HX_GRAPH_OP_REL_DELETE, HX_EV_RELATIONSHIP_DELETED, "relationships"},
};

static int kind_index(hx_graph_op_kind_t k)
{
    for (int i = 0; i < 5; i++)
        if (kinds[i].kind == k)
            return i;
    return -1;
}

/* ---- writing ---- */

static int put_json_str(hx_buf_t *b, const char *s)
{
    return hx_buf_put_json_str(b, s, strlen(s));
}

static int put_field_str(hx_buf_t *b, int *first, const char *k, const char *v)
{
    if (!v)
        return HX_OK;
    int rc = *first ? HX_OK : hx_buf_putc(b, ',');
    *first = 0;
    rc = rc ? rc : put_json_str(b, k);
    rc = rc ? rc : hx_buf_putc(b, ':');
    return rc ? rc : put_json_str(b, v);
}

static int put_field_raw(hx_buf_t *b, int *first, const char *k, const char *text)
{
    int rc = *first ? HX_OK : hx_buf_putc(b, ',');
    *first = 0;
    rc = rc ? rc : put_json_str(b, k);
    rc = rc ? rc : hx_buf_putc(b, ':');
    return rc ? rc : hx_buf_puts(b, text);
}

static int put_field_num(hx_buf_t *b, int *first, const char *k, double v)
{
    char num[40];
    if (v == (double)(int64_t)v && v > -1e15 && v < 1e15) /* whole numbers (most strengths): no %g */
        snprintf(num, sizeof num, "%" PRId64, (int64_t)v);
    else
        snprintf(num, sizeof num, "%.17g", v);
    return put_field_raw(b, first, k, num);
}

static int put_item(hx_buf_t *b, const hx_graph_op_t *op)
{
    int first = 1, rc = hx_buf_putc(b, '{');
    switch (op->kind) {
    case HX_GRAPH_OP_ENTITY_UPSERT:
        rc = rc ? rc : put_field_str(b, &first, "id", op->id);
        rc = rc ? rc : put_field_str(b, &first, "label", op->label);
        rc = rc ? rc : put_field_str(b, &first, "type", op->type);
        rc = rc ? rc : put_field_str(b, &first, "name", op->name);
        rc = rc ? rc : put_field_str(b, &first, "description", op->description);
        if (!rc && op->n_aliases) {
            rc = put_field_raw(b, &first, "aliases", "[");
            for (size_t i = 0; i < op->n_aliases && !rc; i++) {
                rc = i ? hx_buf_putc(b, ',') : HX_OK;
                rc = rc ? rc : put_json_str(b, op->aliases[i]);
            }
            rc = rc ? rc : hx_buf_putc(b, ']');
        }
        if (!rc && op->properties) {
            char *t = json_dumps(op->properties, JSON_COMPACT | JSON_SORT_KEYS);
            rc = t ? put_field_raw(b, &first, "properties", t) : HX_ENOMEM;
            free(t);
        }
        if (!rc && op->mentions) {
            char num[32];
            snprintf(num, sizeof num, "%" PRId64, op->mentions);
            rc = put_field_raw(b, &first, "mentions", num);
        }
        if (!rc && (op->mentions || op->confidence != 1.0)) /* 1 is what a reader assumes */
            rc = put_field_num(b, &first, "confidence", op->confidence);
        break;
    case HX_GRAPH_OP_ENTITY_DELETE: rc = rc ? rc : put_field_str(b, &first, "id", op->id); break;
    case HX_GRAPH_OP_ENTITY_MERGE:
        rc = rc ? rc : put_field_str(b, &first, "id", op->id);
        rc = rc ? rc : put_field_str(b, &first, "into", op->into);
        break;
    case HX_GRAPH_OP_REL_UPSERT:
    case HX_GRAPH_OP_REL_DELETE:
        rc = rc ? rc : put_field_str(b, &first, "from", op->from);
        rc = rc ? rc : put_field_str(b, &first, "to", op->to);
        rc = rc ? rc : put_field_str(b, &first, "type", op->rel_type);
        if (op->kind == HX_GRAPH_OP_REL_DELETE)
            break;
        rc = rc ? rc : put_field_num(b, &first, "strength", op->strength);
        if (!rc && op->strength_set)
            rc = put_field_raw(b, &first, "strength_set", "true");
        if (!rc && op->properties) {
            char *t = json_dumps(op->properties, JSON_COMPACT | JSON_SORT_KEYS);
            rc = t ? put_field_raw(b, &first, "properties", t) : HX_ENOMEM;
            free(t);
        }
        break;
    }
    return rc ? rc : hx_buf_putc(b, '}');
}

/* One envelope being filled: ops of one kind for one partition. */
typedef struct pending {
    hx_buf_t data;
    int kind;                    /* kinds[] index */
    const char *key;             /* the first item's entity id */
    int64_t ts;
    size_t items;
} pending_t;

typedef struct owner {
    hx_buf_t *frames;            /* one per record */
    char **keys;
    size_t n, cap;
} owner_t;

void hx_graph_records_free(hx_graph_records_t *r)
{
    if (!r)
        return;
    owner_t *o = r->owner_;
    if (o) {
        for (size_t i = 0; i < o->n; i++) {
            hx_buf_free(&o->frames[i]);
            free(o->keys[i]);
        }
        free(o->frames);
        free(o->keys);
        free(o);
    }
    free(r->msgs);
    memset(r, 0, sizeof *r);
}

static const char *op_key(const hx_graph_op_t *op)
{
    return op->kind == HX_GRAPH_OP_REL_UPSERT || op->kind == HX_GRAPH_OP_REL_DELETE ? op->from : op->id;
}

static void hex_id(uint64_t a, uint64_t b, char *out)
{
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, a, b);
}

/* Closes a pending envelope into a record of out. */
static int emit(pending_t *pd, int32_t part, const hx_graph_encode_opts_t *o, const char *tenant, size_t nth,
                hx_graph_records_t *out, hx_err_t *err)
{
    owner_t *ow = out->owner_;
    if (ow->n == ow->cap) {
        size_t nc = ow->cap ? ow->cap * 2 : 16;
        hx_buf_t *f = realloc(ow->frames, nc * sizeof *f);
        if (f)
            ow->frames = f;
        char **k = f ? realloc(ow->keys, nc * sizeof *k) : NULL;
        if (k)
            ow->keys = k;
        hx_msg_t *m = k ? realloc(out->msgs, nc * sizeof *m) : NULL;
        if (!m)
            return hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
        out->msgs = m;
        ow->cap = nc;
    }
    const char *bk = kinds[pd->kind].batch_key;
    char head[32];
    int hn = snprintf(head, sizeof head, "{\"%s\":[", bk);
    hx_buf_t text = HX_BUF_INIT;
    char id[33], seqs[24];
    if (o->src) {
        char buf[HX_GRAPH_CURSOR_NAME_MAX + 48];
        int n = snprintf(buf, sizeof buf, "%s@%" PRId64 "/%d/%zu", o->src, o->src_seq, part, nth);
        hex_id(hx_hash64(buf, (size_t)n), hx_hash64(buf, (size_t)n) * 0x9e3779b97f4a7c15ull + 1, id);
    } else {
        uint64_t rnd[2];
        if (hx_id_random(rnd, sizeof rnd))
            return hx_err_set(err, HX_EIO, "cannot read random bytes for an event id");
        hex_id(rnd[0], rnd[1], id);
    }
    /* A call's envelopes for one partition are numbered: a record's ops of
     * several kinds take several envelopes, and each must be told apart. */
    if (nth > 0xffff || o->src_seq < 0 || o->src_seq > (INT64_MAX >> 16))
        return hx_err_set(err, HX_EINVAL, "a source record gives at most 65536 graph events per partition");
    snprintf(seqs, sizeof seqs, "%" PRId64, o->src_seq << 16 | (int64_t)nth);
    hx_env_header_t hdr[2] = {{"hx-src", (char *)o->src}, {"hx-src-seq", seqs}};
    hx_envelope_t e = {.v = HX_ENVELOPE_VERSION, .id = id, .type = (char *)kinds[pd->kind].type,
                       .source = (char *)(o->source ? o->source : ""), .tenant = (char *)tenant,
                       .key = (char *)pd->key, .ts = pd->ts, .headers = o->src ? hdr : NULL,
                       .n_headers = o->src ? 2 : 0};
    hx_buf_t *frame = &ow->frames[ow->n];
    memset(frame, 0, sizeof *frame);
    int rc = hx_buf_append(&text, head, (size_t)hn);
    rc = rc ? rc : hx_buf_append(&text, pd->data.data, pd->data.len);
    rc = rc ? rc : hx_buf_append(&text, "]}", 2);
    if (rc) {
        hx_buf_free(&text);
        return hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
    }
    rc = hx_envelope_encode_data(&e, (const char *)text.data, text.len, frame, err);
    hx_buf_free(&text);
    if (rc) {
        hx_buf_free(frame);
        return rc;
    }
    if (!(ow->keys[ow->n] = strdup(pd->key))) {
        hx_buf_free(frame);
        return hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
    }
    /* The record's time is when it is produced (retention counts from it);
     * the ops' own time travels in the envelope. */
    out->msgs[ow->n] = (hx_msg_t){.topic = HX_TOPIC_ENTITIES, .partition = part,
                                  .key = ow->keys[ow->n], .key_len = strlen(ow->keys[ow->n]), .value = frame->data,
                                  .value_len = frame->len};
    ow->n++;
    out->n = ow->n;
    hx_buf_reset(&pd->data);
    pd->items = 0;
    return HX_OK;
}

int hx_graph_events_encode(const hx_graph_op_t *ops, size_t n, const hx_graph_encode_opts_t *o,
                           hx_graph_records_t *out, hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (o->partitions < 1 || o->partitions > HX_GRAPH_PARTS_MAX)
        return hx_err_set(err, HX_EINVAL, "graph events need 1 to %d partitions", HX_GRAPH_PARTS_MAX);
    char what[48];
    for (size_t i = 0; i < n; i++) {
        int rc = hx_graph_op_validate(&ops[i], NULL, err);
        if (rc) { /* again, for the message naming the op */
            snprintf(what, sizeof what, "ops[%zu]", i);
            return hx_graph_op_validate(&ops[i], what, err);
        }
        if (strcmp(ops[i].tenant, ops[0].tenant))
            return hx_err_set(err, HX_EINVAL, "ops[%zu]: every op of one encode call must have the same tenant", i);
    }
    if (!n)
        return HX_OK;
    if (!(out->owner_ = calloc(1, sizeof(owner_t))))
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    pending_t *pd = calloc((size_t)o->partitions, sizeof *pd);
    size_t *nth = calloc((size_t)o->partitions, sizeof *nth);
    size_t max = o->src ? SIZE_MAX : o->max_items > 0 ? (size_t)o->max_items : 1000;
    int rc = pd && nth ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && !rc; i++) {
        const char *key = op_key(&ops[i]);
        int32_t p = (int32_t)hx_partition_for_key(key, strlen(key), (uint32_t)o->partitions);
        int k = kind_index(ops[i].kind);
        pending_t *x = &pd[p];
        if (x->items && (x->kind != k || x->items >= max))
            rc = emit(x, p, o, ops[0].tenant, nth[p]++, out, err);
        if (rc)
            break;
        if (!x->items) {
            x->kind = k;
            x->key = key;
            x->ts = ops[i].ts_ms;
        } else if (ops[i].ts_ms > x->ts) {
            x->ts = ops[i].ts_ms;
        }
        if ((x->items && hx_buf_putc(&x->data, ',')) || put_item(&x->data, &ops[i]))
            rc = hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
        x->items++;
    }
    for (int32_t p = 0; pd && p < o->partitions && !rc; p++)
        if (pd[p].items)
            rc = emit(&pd[p], p, o, ops[0].tenant, nth[p]++, out, err);
    for (int32_t p = 0; pd && p < o->partitions; p++)
        hx_buf_free(&pd[p].data);
    free(pd);
    free(nth);
    if (rc)
        hx_graph_records_free(out);
    return rc;
}

/* ---- reading ---- */

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
    if (!hx_jr_eat(&d->r, '{'))
        return hx_err_set(d->err, HX_EINVAL, "%s must be an object", at(d, idx, w));
    if (hx_jr_eat(&d->r, '}'))
        goto check;
    do {
        const char *k;
        size_t kn;
        if (hx_jr_string(&d->r, &k, &kn) || !hx_jr_eat(&d->r, ':'))
            return hx_err_set(d->err, HX_EINVAL, "%s: malformed JSON object (at byte %zu)", at(d, idx, w), d->r.pos);
        int f = key_index(k, kn);
        if (f < 0 || !(ok & (1u << f))) {
            known_list(ok, known, sizeof known);
            return hx_err_set(d->err, HX_EINVAL, "%s: unknown field '%.64s' (known: %s)", at(d, idx, w), k, known);
        }
        if (seen & (1u << f))
            return hx_err_set(d->err, HX_EINVAL, "%s.%s appears twice", at(d, idx, w), key_names[f]);
        seen |= 1u << f;
        const char *s;
        size_t sn;
        double num;
        int is_int, b;
        if (hx_jr_peek(&d->r) == 'n' && f != K_PROPS) { /* null = absent */
            if (hx_jr_null(&d->r))
                return hx_err_set(d->err, HX_EINVAL, "%s.%s is malformed", at(d, idx, w), key_names[f]);
            continue;
        }
        switch (f) {
        case K_ID: case K_LABEL: case K_TYPE: case K_NAME: case K_DESC: case K_INTO: case K_FROM: case K_TO: {
            if (hx_jr_string(&d->r, &s, &sn))
                return hx_err_set(d->err, HX_EINVAL, "%s.%s must be a string", at(d, idx, w), key_names[f]);
            const char *v = arena_copy(d, s, sn);
            if (!v)
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
            if (!hx_jr_eat(&d->r, '['))
                return hx_err_set(d->err, HX_EINVAL, "%s.aliases must be an array of strings", at(d, idx, w));
            const char *tmp[HX_GRAPH_ALIASES_MAX];
            size_t na = 0;
            if (!hx_jr_eat(&d->r, ']')) {
                do {
                    if (na == HX_GRAPH_ALIASES_MAX)
                        return hx_err_set(d->err, HX_EINVAL, "%s.aliases holds more than %d names", at(d, idx, w),
                                          HX_GRAPH_ALIASES_MAX);
                    if (hx_jr_string(&d->r, &s, &sn))
                        return hx_err_set(d->err, HX_EINVAL, "%s.aliases must be an array of strings", at(d, idx, w));
                    if (!(tmp[na++] = arena_copy(d, s, sn)))
                        return hx_err_set(d->err, HX_ENOMEM, "out of memory reading graph events");
                } while (hx_jr_eat(&d->r, ','));
                if (!hx_jr_eat(&d->r, ']'))
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
            if (hx_jr_peek(&d->r) != '{' && hx_jr_peek(&d->r) != 'n')
                return hx_err_set(d->err, HX_EINVAL, "%s.properties must be an object", at(d, idx, w));
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
    } while (hx_jr_eat(&d->r, ','));
    if (!hx_jr_eat(&d->r, '}'))
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

int hx_graph_items_parse(const char *tenant, int64_t ts_ms, hx_graph_op_kind_t kind, const char *json, size_t len,
                         const char *prefix, hx_graph_ops_t *out, hx_err_t *err)
{
    int ki = kind_index(kind);
    if (ki < 0)
        return hx_err_set(err, HX_EINVAL, "kind %d is not a graph op", (int)kind);
    rd_t d = {.out = out, .err = err};
    hx_jr_init(&d.r, json, len);
    const char *bk = kinds[ki].batch_key;
    char pre[64];
    snprintf(pre, sizeof pre, "%s%s%s", prefix ? prefix : "", prefix && prefix[0] ? "." : "", bk);
    d.prefix = pre;
    int rc = HX_OK;
    if (hx_jr_peek(&d.r) != '{') {
        rc = hx_err_set(err, HX_EINVAL, "%s must be a JSON object", prefix && prefix[0] ? prefix : "the body");
        goto done;
    }
    /* {"<batch key>": [items]} or one item. */
    size_t at = d.r.pos;
    d.r.pos++;
    const char *k;
    size_t kn;
    int batch = hx_jr_peek(&d.r) == '"' && !hx_jr_string(&d.r, &k, &kn) && !strcmp(k, bk) && hx_jr_eat(&d.r, ':');
    if (!batch) {
        d.r.pos = at;
        snprintf(pre, sizeof pre, "%s%s", prefix && prefix[0] ? prefix : "", prefix && prefix[0] ? "" : "item");
        rc = read_item(&d, kind, tenant, ts_ms, 0);
    } else {
        if (!hx_jr_eat(&d.r, '[')) {
            rc = hx_err_set(err, HX_EINVAL, "%s must be an array", pre);
            goto done;
        }
        size_t i = 0;
        if (!hx_jr_eat(&d.r, ']')) {
            do
                rc = read_item(&d, kind, tenant, ts_ms, i++);
            while (!rc && hx_jr_eat(&d.r, ','));
            if (!rc && !hx_jr_eat(&d.r, ']'))
                rc = fail(&d, "expected ',' or ']' after an item");
        }
        if (!rc && hx_jr_peek(&d.r) == ',')
            rc = hx_err_set(err, HX_EINVAL, "%s: only the field '%s' is allowed next to the items",
                            prefix && prefix[0] ? prefix : "the body", bk);
        if (!rc && !hx_jr_eat(&d.r, '}'))
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

int hx_graph_events_decode(const void *value, size_t len, hx_graph_ops_t *out, char *src, size_t src_len,
                           int64_t *src_seq, hx_err_t *err)
{
    hx_envelope_t e;
    const char *data;
    size_t dn;
    if (src && src_len)
        src[0] = 0;
    if (src_seq)
        *src_seq = 0;
    int rc = hx_envelope_decode_raw(value, len, &e, &data, &dn, err);
    if (rc)
        return rc;
    int ki = -1;
    for (int i = 0; i < 5; i++)
        if (!strcmp(e.type, kinds[i].type))
            ki = i;
    if (ki < 0) {
        rc = hx_err_set(err, HX_EINVAL, "event type '%s' is not a graph event (entity.upserted|deleted|merged, "
                        "relationship.upserted|deleted)", e.type);
        goto done;
    }
    /* The tenant string must outlive e: copy it into the ops' arena. */
    const char *tenant = hx_graph_arena_strn(&out->arena_, e.tenant, strlen(e.tenant));
    if (!tenant) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        goto done;
    }
    rc = hx_graph_items_parse(tenant, e.ts, kinds[ki].kind, data, dn, "data", out, err);
    const char *hs = hx_envelope_header(&e, "hx-src"), *hq = hx_envelope_header(&e, "hx-src-seq");
    if (!rc && hs && hq) {
        char *end;
        long long v = strtoll(hq, &end, 10);
        if (!hs[0] || strlen(hs) >= HX_GRAPH_CURSOR_NAME_MAX - 24 || *end || v < 0)
            rc = hx_err_set(err, HX_EINVAL, "headers hx-src / hx-src-seq are malformed");
        else {
            if (src && src_len)
                snprintf(src, src_len, "%s", hs);
            if (src_seq)
                *src_seq = v;
        }
    }
done:
    hx_envelope_free(&e);
    return rc;
}
