/* The events of helixagent.entities.updates (hx_graph.h): ops grouped into
 * envelopes by partition, their data written without building JSON trees
 * (json_read.h says why); events_read.c reads them. */
#include "graph/graph_int.h"
#include "helix/hx_hash.h"
#include "helix/hx_id.h"
#include "helix/hx_topics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const hx_graph_kind_t hx_graph_kinds[HX_GRAPH_KINDS] = {
    {HX_GRAPH_OP_ENTITY_UPSERT, HX_EV_ENTITY_UPSERTED, "entities"},
    {HX_GRAPH_OP_ENTITY_DELETE, HX_EV_ENTITY_DELETED, "entities"},
    {HX_GRAPH_OP_ENTITY_MERGE, HX_EV_ENTITY_MERGED, "entities"},
    {HX_GRAPH_OP_REL_UPSERT, HX_EV_RELATIONSHIP_UPSERTED, "relationships"},
    {HX_GRAPH_OP_REL_DELETE, HX_EV_RELATIONSHIP_DELETED, "relationships"},
};

int hx_graph_kind_index(hx_graph_op_kind_t k)
{
    for (int i = 0; i < HX_GRAPH_KINDS; i++)
        if (hx_graph_kinds[i].kind == k)
            return i;
    return -1;
}

/* ---- writing ---- */

/* ,"k": (the comma unless first); keys are plain ASCII. */
static int put_key(hx_buf_t *b, int *first, const char *k, size_t kn)
{
    if (hx_buf_reserve(b, kn + 4))
        return HX_ENOMEM;
    unsigned char *p = b->data + b->len;
    if (!*first)
        *p++ = ',';
    *first = 0;
    *p++ = '"';
    memcpy(p, k, kn);
    p += kn;
    *p++ = '"';
    *p++ = ':';
    b->len = (size_t)(p - b->data);
    return HX_OK;
}
#define KEY(b, first, lit) put_key(b, first, lit, sizeof(lit) - 1)

static int put_field_str(hx_buf_t *b, int *first, const char *k, size_t kn, const char *v)
{
    if (!v)
        return HX_OK;
    int rc = put_key(b, first, k, kn);
    return rc ? rc : hx_buf_put_json_str(b, v, strlen(v));
}
#define FIELD_STR(b, first, lit, v) put_field_str(b, first, lit, sizeof(lit) - 1, v)

static int put_num(hx_buf_t *b, double v)
{
    char num[40];
    if (v == (double)(int64_t)v && v > -1e15 && v < 1e15) /* whole numbers (most strengths): no %g */
        return hx_buf_append(b, num, hx_fmt_i64((int64_t)v, num));
    return hx_buf_append(b, num, hx_graph_fmt_g17(v, num));
}

static int put_item(hx_buf_t *b, const hx_graph_op_t *op)
{
    int first = 1, rc = hx_buf_putc(b, '{');
    char num[24];
    switch (op->kind) {
    case HX_GRAPH_OP_ENTITY_UPSERT:
        rc = rc ? rc : FIELD_STR(b, &first, "id", op->id);
        rc = rc ? rc : FIELD_STR(b, &first, "label", op->label);
        rc = rc ? rc : FIELD_STR(b, &first, "type", op->type);
        rc = rc ? rc : FIELD_STR(b, &first, "name", op->name);
        rc = rc ? rc : FIELD_STR(b, &first, "description", op->description);
        if (!rc && op->n_aliases) {
            rc = KEY(b, &first, "aliases");
            rc = rc ? rc : hx_buf_putc(b, '[');
            for (size_t i = 0; i < op->n_aliases && !rc; i++) {
                rc = i ? hx_buf_putc(b, ',') : HX_OK;
                rc = rc ? rc : hx_buf_put_json_str(b, op->aliases[i], strlen(op->aliases[i]));
            }
            rc = rc ? rc : hx_buf_putc(b, ']');
        }
        if (!rc && op->properties) {
            rc = KEY(b, &first, "properties");
            rc = rc ? rc : hx_graph_props_put(b, op->properties);
        }
        if (!rc && op->mentions) {
            rc = KEY(b, &first, "mentions");
            rc = rc ? rc : hx_buf_append(b, num, hx_fmt_i64(op->mentions, num));
        }
        if (!rc && (op->mentions || op->confidence != 1.0)) { /* 1 is what a reader assumes */
            rc = KEY(b, &first, "confidence");
            rc = rc ? rc : put_num(b, op->confidence);
        }
        break;
    case HX_GRAPH_OP_ENTITY_DELETE: rc = rc ? rc : FIELD_STR(b, &first, "id", op->id); break;
    case HX_GRAPH_OP_ENTITY_MERGE:
        rc = rc ? rc : FIELD_STR(b, &first, "id", op->id);
        rc = rc ? rc : FIELD_STR(b, &first, "into", op->into);
        break;
    case HX_GRAPH_OP_REL_UPSERT:
    case HX_GRAPH_OP_REL_DELETE:
        rc = rc ? rc : FIELD_STR(b, &first, "from", op->from);
        rc = rc ? rc : FIELD_STR(b, &first, "to", op->to);
        rc = rc ? rc : FIELD_STR(b, &first, "type", op->rel_type);
        if (op->kind == HX_GRAPH_OP_REL_DELETE)
            break;
        rc = rc ? rc : KEY(b, &first, "strength");
        rc = rc ? rc : put_num(b, op->strength);
        if (!rc && op->strength_set) {
            rc = KEY(b, &first, "strength_set");
            rc = rc ? rc : hx_buf_append(b, "true", 4);
        }
        if (!rc && op->properties) {
            rc = KEY(b, &first, "properties");
            rc = rc ? rc : hx_graph_props_put(b, op->properties);
        }
        break;
    }
    return rc ? rc : hx_buf_putc(b, '}');
}

/* One envelope being filled: ops of one kind for one partition. Its data
 * text is written in place, from the batch key's head on. */
typedef struct pending {
    hx_buf_t data;
    int kind;                    /* kinds[] index */
    const char *key;             /* the first item's entity id */
    int64_t ts;
    size_t items, nth;           /* nth: envelopes of this slot so far */
    /* With src_offsets: hx-src-runs so far ("<offset>:<items>,<step>:<items>
     * ...", the open run's count not yet written) and its offsets. */
    hx_buf_t runs;
    int64_t first_off, last_off;
    size_t run_items;
    int run_open;
    int64_t seen_off;            /* the newest record an op of the envelope came from */
    uint32_t scope;              /* merged items never span two: envelopes, or records with coalesce 1 */
} pending_t;

/* Envelopes of several source records are closed, between two records,
 * once their data reaches half the frame limit (max_bytes, default 512 KiB:
 * what the next record adds, the header and the ids stay under it) or their
 * runs this much (hx-src-runs must stay under HX_ENV_HEADER_VALUE_MAX). */
#define MULTI_BYTES_DEFAULT (512 * 1024)
#define MULTI_RUNS_MAX 3000
#define MULTI_SRC_MAX 120            /* hx-src: the cursor name adds "src:<p>:" and "#<k>.<hash>" */

/* Every frame and key of a call lives in one buffer (one allocation, not
 * three per record); msgs point into it once the call is done. */
typedef struct owner {
    hx_buf_t buf;
    size_t *off;                 /* per record: where its frame starts; its key follows it */
    size_t cap;
} owner_t;

void hx_graph_records_free(hx_graph_records_t *r)
{
    if (!r)
        return;
    owner_t *o = r->owner_;
    if (o) {
        hx_buf_free(&o->buf);
        free(o->off);
        free(o);
    }
    free(r->msgs);
    memset(r, 0, sizeof *r);
}

static const char *op_key(const hx_graph_op_t *op)
{
    return op->kind == HX_GRAPH_OP_REL_UPSERT || op->kind == HX_GRAPH_OP_REL_DELETE ? op->from : op->id;
}

static void hex16(uint64_t h, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, h >>= 4)
        out[i] = d[h & 15];
}

/* 32 hex digits of a then b (an event id). */
static void hex_id(uint64_t a, uint64_t b, char *out)
{
    hex16(a, out);
    hex16(b, out + 16);
    out[32] = 0;
}

/* What the envelopes of one encode call share: the envelope of each kind,
 * validated once (hx_envelope_encoder_t), and the header values. */
typedef struct enc_ctx {
    const hx_graph_encode_opts_t *o;
    int multi;                   /* src_offsets given */
    size_t data_max, runs_max;   /* with multi: where an envelope closes */
    hx_env_header_t hdr[3];      /* hx-src, hx-src-seq, hx-src-runs (multi) */
    char seqs[24];               /* hx-src-seq of the envelope being written: digits only */
    hx_envelope_t env[5];
    hx_envelope_encoder_t enc[5];
    unsigned char ready[5];
    hx_gm_t gm;                  /* with coalesce; map NULL otherwise */
} enc_ctx_t;

/* Closes a pending envelope into a record of out. */
static int drain(enc_ctx_t *cx, pending_t *x, size_t j);

static int emit(enc_ctx_t *cx, pending_t *pd, size_t slot, int32_t part, const char *tenant,
                hx_graph_records_t *out, hx_err_t *err)
{
    const hx_graph_encode_opts_t *o = cx->o;
    if (drain(cx, pd, slot))
        return hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
    owner_t *ow = out->owner_;
    size_t nth = pd->nth++;
    if (out->n == ow->cap) {
        size_t nc = ow->cap ? ow->cap * 2 : 16;
        size_t *f = realloc(ow->off, nc * sizeof *f);
        if (f)
            ow->off = f;
        hx_msg_t *m = f ? realloc(out->msgs, nc * sizeof *m) : NULL;
        if (!m)
            return hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
        out->msgs = m;
        ow->cap = nc;
    }
    char id[33];
    if (cx->multi) {
        /* src@first-last/part/kind/nth, hashed: the same records give the same ids */
        char buf[MULTI_SRC_MAX + 96];
        size_t n = (size_t)snprintf(buf, sizeof buf, "%s@%" PRId64 "-%" PRId64 "/%d/%d/%zu", o->src, pd->first_off,
                                    pd->last_off, part, pd->kind, nth);
        uint64_t h = hx_hash64(buf, n < sizeof buf ? n : sizeof buf - 1);
        hex_id(h, h * 0x9e3779b97f4a7c15ull + 1, id);
    } else if (o->src) {
        /* src@seq/part/nth, hashed: the same record gives the same ids */
        char buf[HX_GRAPH_CURSOR_NAME_MAX + 48];
        size_t sl = strlen(o->src), n = 0;
        char tail[80];
        size_t tn = 0;
        tail[tn++] = '@';
        tn += hx_fmt_i64(o->src_seq, tail + tn);
        tail[tn++] = '/';
        tn += hx_fmt_i64(part, tail + tn);
        tail[tn++] = '/';
        tn += hx_fmt_i64((int64_t)nth, tail + tn);
        if (sl > sizeof buf - 1)
            sl = sizeof buf - 1;
        memcpy(buf, o->src, sl);
        n = sl + tn > sizeof buf - 1 ? sizeof buf - 1 : sl + tn;
        memcpy(buf + sl, tail, n - sl);
        uint64_t h = hx_hash64(buf, n);
        hex_id(h, h * 0x9e3779b97f4a7c15ull + 1, id);
    } else {
        uint64_t rnd[2];
        if (hx_id_random(rnd, sizeof rnd))
            return hx_err_set(err, HX_EIO, "cannot read random bytes for an event id");
        hex_id(rnd[0], rnd[1], id);
    }
    /* A call's envelopes for one partition are numbered: a record's ops of
     * several kinds take several envelopes, and each must be told apart. */
    if (cx->multi) {
        char num[24];
        if (hx_buf_append(&pd->runs, num, hx_fmt_i64((int64_t)pd->run_items, num)) || hx_buf_putc(&pd->runs, 0))
            return hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
        cx->hdr[2].value = (char *)pd->runs.data;
        hx_fmt_i64(pd->last_off, cx->seqs);
    } else {
        if (nth > 0xffff || o->src_seq < 0 || o->src_seq > (INT64_MAX >> 16))
            return hx_err_set(err, HX_EINVAL, "a source record gives at most 65536 graph events per partition");
        hx_fmt_i64(o->src_seq << 16 | (int64_t)nth, cx->seqs);
    }
    int k = pd->kind;
    if (!cx->ready[k]) {
        cx->env[k] = (hx_envelope_t){.v = HX_ENVELOPE_VERSION, .type = (char *)hx_graph_kinds[k].type,
                                     .source = (char *)(o->source ? o->source : ""), .tenant = (char *)tenant,
                                     .headers = o->src ? cx->hdr : NULL,
                                     .n_headers = cx->multi ? 3 : o->src ? 2 : 0};
        int rc = hx_envelope_encoder_init(&cx->enc[k], &cx->env[k], err);
        if (rc)
            return rc;
        cx->ready[k] = 1;
    }
    if (hx_buf_append(&pd->data, "]}", 2))
        return hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
    size_t at = ow->buf.len;
    int rc = hx_envelope_encoder_put(&cx->enc[k], id, pd->key, pd->ts, (const char *)pd->data.data, pd->data.len,
                                     &ow->buf, err);
    if (rc)
        return rc;
    size_t vlen = ow->buf.len - at, kl = strlen(pd->key);
    if (hx_buf_append(&ow->buf, pd->key, kl + 1)) /* with its NUL */
        return hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
    /* The record's time is when it is produced (retention counts from it);
     * the ops' own time travels in the envelope. value and key are set at
     * the end of the call: the buffer may still move. */
    ow->off[out->n] = at;
    out->msgs[out->n++] = (hx_msg_t){.topic = HX_TOPIC_ENTITIES, .partition = part, .key_len = kl,
                                     .value_len = vlen};
    hx_buf_reset(&pd->data);
    hx_buf_reset(&pd->runs);
    pd->items = 0;
    pd->run_open = 0;
    pd->scope++;
    return HX_OK;
}

#define SLOTS_ON_STACK 64

/* Before an item of record off goes into x: its run, when it is the first
 * item of that record there. */
static int begin_item(enc_ctx_t *cx, pending_t *x, int64_t off)
{
    char num[24];
    if (!cx->multi || (x->run_open && off == x->last_off))
        return HX_OK;
    if (!x->run_open) {
        x->first_off = off;
        x->run_open = 1;
        if (hx_buf_append(&x->runs, num, hx_fmt_i64(off, num)) || hx_buf_putc(&x->runs, ':'))
            return HX_ENOMEM;
    } else if (hx_buf_append(&x->runs, num, hx_fmt_i64((int64_t)x->run_items, num)) || hx_buf_putc(&x->runs, ',') ||
               hx_buf_append(&x->runs, num, hx_fmt_i64(off - x->last_off, num)) || hx_buf_putc(&x->runs, ':')) {
        return HX_ENOMEM;
    }
    x->last_off = off;
    x->run_items = 0;
    return HX_OK;
}

static int put_one(pending_t *x, const hx_graph_op_t *op)
{
    if ((x->items && hx_buf_putc(&x->data, ',')) || put_item(&x->data, op))
        return HX_ENOMEM;
    x->items++;
    x->run_items++;
    return HX_OK;
}

typedef struct {
    enc_ctx_t *cx;
    pending_t *x;
} drain_ctx_t;

static int put_rest(void *ctx, const hx_graph_op_t *op)
{
    drain_ctx_t *d = ctx;
    return put_one(d->x, op);
}

/* The merged upserts still pending in slot j, under the envelope's last
 * record (the newest any of them holds). */
static int drain(enc_ctx_t *cx, pending_t *x, size_t j)
{
    if (!cx->gm.map || !cx->gm.pend_n[j])
        return HX_OK;
    if (begin_item(cx, x, x->seen_off))
        return HX_ENOMEM;
    drain_ctx_t d = {cx, x};
    return hx_gm_drain(&cx->gm, (uint32_t)j, put_rest, &d);
}

/* Writes op i of the call into its pending envelope, closing that first
 * when it is full. */
static int add_op(enc_ctx_t *cx, pending_t *pd, size_t nk, const hx_graph_op_t *ops, size_t i, size_t max,
                  hx_graph_records_t *out, hx_err_t *err)
{
    const hx_graph_encode_opts_t *o = cx->o;
    const char *key = op_key(&ops[i]);
    int32_t p = (int32_t)hx_partition_for_key(key, strlen(key), (uint32_t)o->partitions);
    int k = hx_graph_kind_index(ops[i].kind);
    size_t j = (size_t)p * nk + (cx->multi ? (size_t)k : 0);
    pending_t *x = &pd[j];
    int64_t off = cx->multi ? o->src_offsets[i] : 0;
    int rc = HX_OK;
    if (!cx->multi && x->items && (x->kind != k || x->items >= max))
        rc = emit(cx, x, j, p, ops[0].tenant, out, err);
    /* Several source records: closed only between two of them, so that an
     * envelope holds every item a record gives its slot (the graph consumer
     * skips a re-extracted envelope's items by whole records). Merged items
     * still pending count as written. */
    size_t pn = cx->gm.map ? cx->gm.pend_n[j] : 0, pb = cx->gm.map ? cx->gm.pend_bytes[j] : 0;
    if (cx->multi && x->items && off != x->seen_off &&
        (x->items + pn >= max || x->data.len + pb >= cx->data_max || x->runs.len >= cx->runs_max))
        rc = emit(cx, x, j, p, ops[0].tenant, out, err);
    if (rc)
        return rc;
    /* Merging within records only: a record's merged items close with it. */
    if (cx->o->coalesce == 1 && x->items && off != x->seen_off) {
        if (drain(cx, x, j))
            return hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
        x->scope++;
    }
    if (!x->items) {
        x->kind = k;
        x->key = key;
        x->ts = ops[i].ts_ms;
        x->run_open = 0;
        if (hx_buf_reserve(&x->data, 512) || hx_buf_append(&x->data, "{\"", 2) ||
            hx_buf_puts(&x->data, hx_graph_kinds[k].batch_key) || hx_buf_append(&x->data, "\":[", 3))
            return hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
    } else if (ops[i].ts_ms > x->ts) {
        x->ts = ops[i].ts_ms;
    }
    x->seen_off = off;
    if (cx->gm.map && hx_gm_coalescible(&ops[i])) {
        int fresh, held;
        hx_gm_entry_t *e = hx_gm_find(&cx->gm, ops, i, (uint32_t)j, x->scope, &fresh);
        if (fresh) {
            size_t before = x->data.len;
            if (begin_item(cx, x, off) || put_one(x, &ops[i]))
                return hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
            e->first_bytes = x->data.len - before;
            return HX_OK;
        }
        if ((rc = hx_gm_fold(&cx->gm, e, &ops[i], &held)))
            return hx_err_set(err, rc, "out of memory merging graph events");
        if (held)
            return HX_OK;
        /* it does not fold in: what is pending goes first, under this record */
        hx_graph_op_t r;
        hx_gm_op(&cx->gm.rests[e->rest], &r);
        if (begin_item(cx, x, off) || put_one(x, &r) || hx_gm_restart(&cx->gm, e, &ops[i]))
            return hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
        return HX_OK;
    }
    if (begin_item(cx, x, off) || put_one(x, &ops[i]))
        return hx_err_set(err, HX_ENOMEM, "out of memory encoding graph events");
    return HX_OK;
}

int hx_graph_events_encode(const hx_graph_op_t *ops, size_t n, const hx_graph_encode_opts_t *o,
                           hx_graph_records_t *out, hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (o->partitions < 1 || o->partitions > HX_GRAPH_PARTS_MAX)
        return hx_err_set(err, HX_EINVAL, "graph events need 1 to %d partitions", HX_GRAPH_PARTS_MAX);
    int multi = o->src && o->src_offsets;
    if (multi && (!o->src[0] || strlen(o->src) > MULTI_SRC_MAX))
        return hx_err_set(err, HX_EINVAL, "src must be 1 to %d bytes", MULTI_SRC_MAX);
    char what[48];
    for (size_t i = 0; i < n; i++) {
        int rc = o->checked ? HX_OK : hx_graph_op_validate(&ops[i], NULL, err);
        if (rc) { /* again, for the message naming the op */
            snprintf(what, sizeof what, "ops[%zu]", i);
            return hx_graph_op_validate(&ops[i], what, err);
        }
        if (strcmp(ops[i].tenant, ops[0].tenant))
            return hx_err_set(err, HX_EINVAL, "ops[%zu]: every op of one encode call must have the same tenant", i);
        if (multi && (o->src_offsets[i] < 0 || (i && o->src_offsets[i] < o->src_offsets[i - 1])))
            return hx_err_set(err, HX_EINVAL, "src_offsets[%zu]: offsets must be >= 0 and never decrease", i);
    }
    if (!n)
        return HX_OK;
    owner_t *ow = calloc(1, sizeof(owner_t));
    if (!(out->owner_ = ow))
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    /* A slot per partition, or per partition and kind for several records:
     * their envelopes then hold one kind each, whatever order the records
     * give them in (a consumer keeps a cursor per kind). */
    size_t nk = multi ? HX_GRAPH_KINDS : 1, slots = (size_t)o->partitions * nk;
    pending_t stack_pd[SLOTS_ON_STACK];
    pending_t *pd = slots <= SLOTS_ON_STACK ? stack_pd : calloc(slots, sizeof *pd);
    if (pd == stack_pd)
        memset(pd, 0, slots * sizeof *pd);
    enc_ctx_t cx = {.o = o, .multi = multi, .seqs = "0",
                    .hdr = {{"hx-src", (char *)o->src}, {"hx-src-seq", cx.seqs}, {"hx-src-runs", "0:1"}}};
    size_t max = o->src && !multi ? SIZE_MAX : o->max_items > 0 ? (size_t)o->max_items : 1000;
    int64_t mb = o->max_bytes > 0 ? o->max_bytes : MULTI_BYTES_DEFAULT;
    cx.data_max = (size_t)(mb / 2);
    cx.runs_max = (size_t)(mb / 8) < MULTI_RUNS_MAX ? (size_t)(mb / 8) : MULTI_RUNS_MAX;
    int rc = pd && !hx_buf_reserve(&ow->buf, n * 256 + 256) ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory");
    if (!rc && multi && o->coalesce && hx_gm_init(&cx.gm, n, slots))
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && !rc; i++)
        rc = add_op(&cx, pd, nk, ops, i, max, out, err);
    for (size_t j = 0; pd && j < slots && !rc; j++)
        if (pd[j].items)
            rc = emit(&cx, &pd[j], j, (int32_t)(j / nk), ops[0].tenant, out, err);
    for (size_t j = 0; pd && j < slots; j++) {
        hx_buf_free(&pd[j].data);
        hx_buf_free(&pd[j].runs);
    }
    if (pd != stack_pd)
        free(pd);
    if (cx.gm.map)
        hx_gm_free(&cx.gm);
    if (rc) {
        hx_graph_records_free(out);
        return rc;
    }
    for (size_t i = 0; i < out->n; i++) {
        out->msgs[i].value = ow->buf.data + ow->off[i];
        out->msgs[i].key = ow->buf.data + ow->off[i] + out->msgs[i].value_len;
    }
    return HX_OK;
}
