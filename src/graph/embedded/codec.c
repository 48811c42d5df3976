/* The binary form of a batch: what one write-ahead log record carries. It
 * holds the ops exactly as applied (properties as JSON text), so replaying
 * the log rebuilds the same graph. Layout (little endian, varints):
 *   u8 version 1, uvarint n_ops, ops..., uvarint n_cursors, (str, svarint)...
 *   op: u8 kind, u16 present-fields mask, str tenant, svarint ts, then each
 *   present string field in mask order, uvarint n_aliases + strs, svarint
 *   mentions, f64 confidence, f64 strength, u8 strength_set. */
#include "graph/embedded/store.h"

#include <stdlib.h>
#include <string.h>

#define CODEC_VERSION 1

enum { F_ID, F_LABEL, F_TYPE, F_NAME, F_DESC, F_INTO, F_FROM, F_TO, F_RTYPE, F_PROPS, F_N };

static int put_str(hx_buf_t *b, const char *s)
{
    return hx_buf_put_bytes(b, s, strlen(s));
}

static int put_f64(hx_buf_t *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return hx_buf_put_u64le(b, u);
}

int es_batch_encode(const hx_graph_batch_t *bt, hx_buf_t *out)
{
    int rc = hx_buf_put_u8(out, CODEC_VERSION);
    rc = rc ? rc : hx_buf_put_uvarint(out, bt->n_ops);
    for (size_t i = 0; i < bt->n_ops && !rc; i++) {
        const hx_graph_op_t *op = &bt->ops[i];
        char *props = op->properties ? hx_graph_props_dump(op->properties) : NULL;
        if (op->properties && !props)
            return HX_ENOMEM;
        const char *f[F_N] = {op->id, op->label, op->type, op->name, op->description, op->into, op->from, op->to,
                              op->rel_type, props};
        uint16_t mask = 0;
        for (int k = 0; k < F_N; k++)
            if (f[k])
                mask |= (uint16_t)(1u << k);
        rc = hx_buf_put_u8(out, (uint8_t)op->kind);
        rc = rc ? rc : hx_buf_put_u16le(out, mask);
        rc = rc ? rc : put_str(out, op->tenant);
        rc = rc ? rc : hx_buf_put_svarint(out, op->ts_ms);
        for (int k = 0; k < F_N && !rc; k++)
            if (f[k])
                rc = put_str(out, f[k]);
        rc = rc ? rc : hx_buf_put_uvarint(out, op->n_aliases);
        for (size_t k = 0; k < op->n_aliases && !rc; k++)
            rc = put_str(out, op->aliases[k]);
        rc = rc ? rc : hx_buf_put_svarint(out, op->mentions);
        rc = rc ? rc : put_f64(out, op->confidence);
        rc = rc ? rc : put_f64(out, op->strength);
        rc = rc ? rc : hx_buf_put_u8(out, (uint8_t)(op->strength_set != 0));
        free(props);
    }
    rc = rc ? rc : hx_buf_put_uvarint(out, bt->n_cursors);
    for (size_t i = 0; i < bt->n_cursors && !rc; i++) {
        rc = put_str(out, bt->cursors[i].name);
        rc = rc ? rc : hx_buf_put_svarint(out, bt->cursors[i].value);
    }
    return rc;
}

/* A length-prefixed string copied into the ops' arena (NUL-free, bounded). */
static const char *get_str(hx_rd_t *r, hx_graph_ops_t *o, size_t max)
{
    const unsigned char *p;
    size_t n;
    if (hx_rd_bytes(r, &p, &n) || n > max || memchr(p, 0, n))
        return NULL;
    return hx_graph_arena_strn(&o->arena_, (const char *)p, n);
}

static int get_f64(hx_rd_t *r, double *v)
{
    uint64_t u;
    if (hx_rd_u64le(r, &u))
        return HX_ECORRUPT;
    memcpy(v, &u, sizeof *v);
    return HX_OK;
}

int es_batch_decode(const unsigned char *p, size_t n, hx_graph_ops_t *out, hx_graph_cursor_t **cur, size_t *n_cur,
                    hx_err_t *err)
{
    hx_rd_t r;
    hx_rd_init(&r, p, n);
    *cur = NULL;
    *n_cur = 0;
    uint8_t ver;
    uint64_t nops, nc;
    const char *why = "header";
    if (hx_rd_u8(&r, &ver) || ver != CODEC_VERSION || hx_rd_uvarint(&r, &nops) || nops > n)
        goto bad;
    why = "op";
    for (uint64_t i = 0; i < nops; i++) {
        hx_graph_op_t *op = hx_graph_ops_add(out);
        if (!op)
            return hx_err_set(err, HX_ENOMEM, "out of memory decoding a graph batch");
        uint8_t kind, set;
        uint16_t mask;
        uint64_t na;
        if (hx_rd_u8(&r, &kind) || hx_rd_u16le(&r, &mask) || mask >> F_N || !(op->tenant = get_str(&r, out, 64)) ||
            hx_rd_svarint(&r, &op->ts_ms))
            goto bad;
        op->kind = (hx_graph_op_kind_t)kind;
        const char **f[F_N] = {&op->id, &op->label, &op->type, &op->name, &op->description, &op->into, &op->from,
                               &op->to, &op->rel_type, NULL};
        const char *props = NULL;
        for (int k = 0; k < F_N; k++) {
            if (!(mask & (1u << k)))
                continue;
            const char *v = get_str(&r, out, k == F_DESC ? HX_GRAPH_DESC_MAX : k == F_PROPS ? HX_GRAPH_PROPS_BYTES * 2
                                                                                             : HX_GRAPH_NAME_MAX);
            if (!v)
                goto bad;
            if (f[k])
                *f[k] = v;
            else
                props = v;
        }
        if (hx_rd_uvarint(&r, &na) || na > HX_GRAPH_ALIASES_MAX)
            goto bad;
        const char **al = na ? hx_graph_arena_alloc(&out->arena_, na * sizeof *al) : NULL;
        if (na && !al)
            return hx_err_set(err, HX_ENOMEM, "out of memory decoding a graph batch");
        for (uint64_t k = 0; k < na; k++)
            if (!(al[k] = get_str(&r, out, HX_GRAPH_NAME_MAX)))
                goto bad;
        op->aliases = al;
        op->n_aliases = na;
        if (hx_rd_svarint(&r, &op->mentions) || get_f64(&r, &op->confidence) || get_f64(&r, &op->strength) ||
            hx_rd_u8(&r, &set))
            goto bad;
        op->strength_set = set;
        if (props && !(op->properties = hx_graph_props_load(props, JSON_REJECT_DUPLICATES)))
            goto bad;
        char what[48];
        hx_err_t ve = {0};
        snprintf(what, sizeof what, "ops[%llu]", (unsigned long long)i);
        if (hx_graph_op_validate(op, what, &ve))
            return hx_err_set(err, HX_ECORRUPT, "graph batch holds an invalid op: %s", ve.msg);
    }
    why = "cursors";
    if (hx_rd_uvarint(&r, &nc) || nc > n)
        goto bad;
    if (nc && !(*cur = calloc(nc, sizeof **cur)))
        return hx_err_set(err, HX_ENOMEM, "out of memory decoding a graph batch");
    for (uint64_t i = 0; i < nc; i++) {
        const unsigned char *s;
        size_t sn;
        if (hx_rd_bytes(&r, &s, &sn) || !sn || sn >= HX_GRAPH_CURSOR_NAME_MAX || memchr(s, 0, sn) ||
            hx_rd_svarint(&r, &(*cur)[i].value))
            goto bad;
        memcpy((*cur)[i].name, s, sn);
        *n_cur = i + 1;
    }
    why = "trailing bytes";
    if (hx_rd_left(&r))
        goto bad;
    return HX_OK;
bad:
    free(*cur);
    *cur = NULL;
    *n_cur = 0;
    return hx_err_set(err, HX_ECORRUPT, "malformed graph batch (%s) at byte %zu of %zu", why, r.pos, n);
}
