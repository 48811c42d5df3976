/* FileMetaData and PageHeader: Thrift compact encode (our writer) and a
 * tolerant decode (any writer): unknown fields are skipped, required ones
 * checked, every count bounded by the bytes that hold it. */
#include "lake/parquet/pq_int.h"
#include "lake/parquet/thrift.h"

#include <stdlib.h>
#include <string.h>

#define BAD(what) hx_err_set(err, HX_ECORRUPT, "Parquet footer is corrupt (%s)", what)

/* ---- decode ---- */

static void dec_logical(tc_r_t *r, int type, pq_schema_el_t *e)
{
    if (tc_r_struct_begin(r, type))
        return;
    int16_t id;
    int t;
    while (tc_r_field(r, &id, &t)) {
        if (id == LT_TIMESTAMP && t == TC_STRUCT) {
            e->logical = LT_TIMESTAMP;
            tc_r_struct_begin(r, t);
            int16_t id2;
            int t2;
            while (tc_r_field(r, &id2, &t2)) {
                if (id2 == 1 && (t2 == TC_TRUE || t2 == TC_FALSE)) {
                    e->ts_utc = tc_r_bool(r, t2);
                } else if (id2 == 2 && t2 == TC_STRUCT) {
                    tc_r_struct_begin(r, t2);
                    int16_t id3;
                    int t3;
                    while (tc_r_field(r, &id3, &t3)) {
                        if (id3 >= 1 && id3 <= 3)
                            e->ts_unit = id3 - 1;
                        tc_r_skip(r, t3);
                    }
                    tc_r_struct_end(r);
                } else {
                    tc_r_skip(r, t2);
                }
            }
            tc_r_struct_end(r);
        } else {
            if (id == LT_STRING || id == LT_ENUM || id == LT_JSON || id == LT_INTEGER || id == LT_DATE)
                e->logical = id;
            tc_r_skip(r, t);
        }
    }
    tc_r_struct_end(r);
}

static void dec_schema_el(tc_r_t *r, pq_schema_el_t *e)
{
    memset(e, 0, sizeof *e);
    e->type = -1;
    e->repetition = -1;
    e->converted = -1;
    int16_t id;
    int t;
    while (tc_r_field(r, &id, &t)) {
        switch (id) {
        case 1: e->type = tc_r_i32(r, t); break;
        case 2: e->type_length = tc_r_i32(r, t); break;
        case 3: e->repetition = tc_r_i32(r, t); break;
        case 4: tc_r_bin(r, t, &e->name, &e->name_n); break;
        case 5: e->num_children = tc_r_i32(r, t); break;
        case 6: e->converted = tc_r_i32(r, t); break;
        case 10: dec_logical(r, t, e); break;
        default: tc_r_skip(r, t);
        }
    }
}

static void dec_stats(tc_r_t *r, int type, pq_chunk_t *c)
{
    if (tc_r_struct_begin(r, type))
        return;
    const unsigned char *lmin = NULL, *lmax = NULL;
    size_t lmin_n = 0, lmax_n = 0;
    int16_t id;
    int t;
    while (tc_r_field(r, &id, &t)) {
        switch (id) {
        case 1: tc_r_bin(r, t, &lmax, &lmax_n); break;
        case 2: tc_r_bin(r, t, &lmin, &lmin_n); break;
        case 3: c->null_count = tc_r_i64(r, t); c->has_nulls = 1; break;
        case 5: if (!tc_r_bin(r, t, &c->max, &c->max_n)) c->has_max = 1; break;
        case 6: if (!tc_r_bin(r, t, &c->min, &c->min_n)) c->has_min = 1; break;
        default: tc_r_skip(r, t);
        }
    }
    tc_r_struct_end(r);
    /* The deprecated fields used signed byte order for strings, so they are
     * only trusted for numbers. */
    if (!c->has_min && !c->has_max && lmin && lmax && c->type != PT_BYTE_ARRAY && c->type != PT_FIXED) {
        c->min = lmin; c->min_n = lmin_n; c->max = lmax; c->max_n = lmax_n;
        c->has_min = c->has_max = 1;
        c->stats_legacy = 1;
    }
}

static void dec_colmeta(tc_r_t *r, int type, pq_chunk_t *c)
{
    if (tc_r_struct_begin(r, type))
        return;
    int16_t id;
    int t, et;
    size_t n;
    while (tc_r_field(r, &id, &t)) {
        switch (id) {
        case 1: c->type = tc_r_i32(r, t); break;
        case 2:
            if (tc_r_list(r, t, &et, &n))
                break;
            for (size_t i = 0; i < n && !r->fail; i++) {
                int32_t e = tc_r_i32(r, et);
                if (e >= 0 && e < 32)
                    c->enc_mask |= 1u << e;
            }
            break;
        case 4: c->codec = tc_r_i32(r, t); break;
        case 5: c->num_values = tc_r_i64(r, t); break;
        case 6: c->total_uncompressed = tc_r_i64(r, t); break;
        case 7: c->total_compressed = tc_r_i64(r, t); break;
        case 9: c->data_page_offset = tc_r_i64(r, t); break;
        case 11: c->dict_page_offset = tc_r_i64(r, t); break;
        case 12: dec_stats(r, t, c); break;
        default: tc_r_skip(r, t);
        }
    }
    tc_r_struct_end(r);
}

static void dec_chunk(tc_r_t *r, pq_chunk_t *c, int *has_meta)
{
    int16_t id;
    int t;
    while (tc_r_field(r, &id, &t)) {
        if (id == 3) {
            dec_colmeta(r, t, c);
            *has_meta = 1;
        } else if (id == 1) {
            r->fail = 1;      /* external column chunk files are not supported */
        } else {
            tc_r_skip(r, t);
        }
    }
}

static int dec_rowgroup(tc_r_t *r, size_t ncols, pq_rowgroup_t *g, hx_err_t *err)
{
    int16_t id;
    int t, et;
    size_t n;
    int have_cols = 0;
    while (tc_r_field(r, &id, &t)) {
        if (id == 1 && !have_cols) {
            if (tc_r_list(r, t, &et, &n) || et != TC_STRUCT)
                return BAD("row group columns");
            if (n != ncols)
                return hx_err_set(err, HX_ECORRUPT, "Parquet row group has %zu column chunks, schema has %zu columns",
                                  n, ncols);
            g->chunks = calloc(n ? n : 1, sizeof *g->chunks);
            if (!g->chunks)
                return hx_err_set(err, HX_ENOMEM, "out of memory reading a Parquet footer");
            have_cols = 1;
            for (size_t i = 0; i < n && !r->fail; i++) {
                g->chunks[i].dict_page_offset = -1;
                int has_meta = 0;
                if (tc_r_struct_begin(r, TC_STRUCT))
                    break;
                dec_chunk(r, &g->chunks[i], &has_meta);
                tc_r_struct_end(r);
                if (!has_meta && !r->fail)
                    return BAD("column chunk without metadata");
            }
        } else if (id == 2) {
            g->total_byte_size = tc_r_i64(r, t);
        } else if (id == 3) {
            g->num_rows = tc_r_i64(r, t);
        } else {
            tc_r_skip(r, t);
        }
    }
    if (r->fail)
        return BAD("row group");
    if (!have_cols)
        return BAD("row group without columns");
    if (g->num_rows < 0)
        return BAD("negative row count");
    return HX_OK;
}

static int dec_schema(tc_r_t *r, int t, pq_meta_t *m, hx_err_t *err)
{
    int et;
    size_t n;
    if (tc_r_list(r, t, &et, &n) || et != TC_STRUCT || n == 0)
        return BAD("schema");
    m->schema = calloc(n, sizeof *m->schema);
    if (!m->schema)
        return hx_err_set(err, HX_ENOMEM, "out of memory reading a Parquet footer");
    m->nschema = n;
    for (size_t i = 0; i < n && !r->fail; i++) {
        if (tc_r_struct_begin(r, TC_STRUCT))
            break;
        dec_schema_el(r, &m->schema[i]);
        tc_r_struct_end(r);
    }
    return r->fail ? BAD("schema element") : HX_OK;
}

static int dec_kvs(tc_r_t *r, int t, pq_meta_t *m, hx_err_t *err)
{
    int et;
    size_t n;
    if (tc_r_list(r, t, &et, &n) || et != TC_STRUCT)
        return BAD("key-value metadata");
    free(m->kvs);
    m->kvs = calloc(n ? n : 1, sizeof *m->kvs);
    if (!m->kvs)
        return hx_err_set(err, HX_ENOMEM, "out of memory reading a Parquet footer");
    m->nkv = n;
    for (size_t i = 0; i < n && !r->fail; i++) {
        if (tc_r_struct_begin(r, TC_STRUCT))
            break;
        int16_t id;
        int ft;
        while (tc_r_field(r, &id, &ft)) {
            if (id == 1)
                tc_r_bin(r, ft, &m->kvs[i].key, &m->kvs[i].key_n);
            else if (id == 2 && !tc_r_bin(r, ft, &m->kvs[i].val, &m->kvs[i].val_n))
                m->kvs[i].has_val = 1;
            else
                tc_r_skip(r, ft);
        }
        tc_r_struct_end(r);
    }
    return r->fail ? BAD("key-value entry") : HX_OK;
}

/* A flat schema: a root group whose children are all leaves. */
static int check_schema(pq_meta_t *m, hx_err_t *err)
{
    pq_schema_el_t *root = &m->schema[0];
    if (root->num_children < 0 || (size_t)root->num_children != m->nschema - 1)
        return hx_err_set(err, HX_EUNSUPPORTED,
                          "Parquet schema is nested (root has %d children, %zu elements); Helix reads flat schemas only",
                          (int)root->num_children, m->nschema);
    for (size_t i = 1; i < m->nschema; i++) {
        pq_schema_el_t *e = &m->schema[i];
        if (!e->name)
            return BAD("column without a name");
        if (e->num_children > 0 || e->type < 0)
            return hx_err_set(err, HX_EUNSUPPORTED, "Parquet column '%.*s' is a group; Helix reads flat schemas only",
                              (int)e->name_n, (const char *)e->name);
        if (e->repetition == REP_REPEATED)
            return hx_err_set(err, HX_EUNSUPPORTED, "Parquet column '%.*s' is repeated; Helix reads flat schemas only",
                              (int)e->name_n, (const char *)e->name);
        if (e->type > PT_FIXED)
            return hx_err_set(err, HX_ECORRUPT, "Parquet column '%.*s' has unknown physical type %d",
                              (int)e->name_n, (const char *)e->name, e->type);
        if (e->type == PT_FIXED && (e->type_length <= 0 || e->type_length > (1 << 20)))
            return BAD("fixed-length column without a valid length");
    }
    m->ncols = m->nschema - 1;
    return HX_OK;
}

int pq_meta_decode(const unsigned char *p, size_t len, pq_meta_t *m, hx_err_t *err)
{
    memset(m, 0, sizeof *m);
    tc_r_t r;
    tc_r_init(&r, p, len);
    int16_t id;
    int t, rc = HX_OK, have_rows = 0;
    const unsigned char *rg_start = NULL;
    size_t rg_pos = 0;
    int rg_type = 0;
    while (tc_r_field(&r, &id, &t)) {
        if (id == 1) {
            m->version = tc_r_i32(&r, t);
        } else if (id == 2 && !m->schema) {
            if ((rc = dec_schema(&r, t, m, err)))
                goto fail;
        } else if (id == 3) {
            m->num_rows = tc_r_i64(&r, t);
            have_rows = 1;
        } else if (id == 4 && !rg_start) {
            /* Row groups need the column count, which the schema gives: come
             * back to them once the whole struct is read. */
            rg_start = p;
            rg_pos = r.pos;
            rg_type = t;
            tc_r_skip(&r, t);
        } else if (id == 5) {
            if ((rc = dec_kvs(&r, t, m, err)))
                goto fail;
        } else {
            tc_r_skip(&r, t);
        }
    }
    if (r.fail || !m->schema || !have_rows || !rg_start) {
        rc = BAD(r.fail ? "truncated or malformed Thrift" : "missing schema, num_rows or row_groups");
        goto fail;
    }
    if ((rc = check_schema(m, err)))
        goto fail;
    tc_r_t g;
    tc_r_init(&g, p, len);
    g.pos = rg_pos;
    g.depth = 0;
    int et;
    size_t n;
    if (tc_r_list(&g, rg_type, &et, &n) || et != TC_STRUCT) {
        rc = BAD("row groups");
        goto fail;
    }
    m->rgs = calloc(n ? n : 1, sizeof *m->rgs);
    if (!m->rgs) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory reading a Parquet footer");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        m->nrg = i + 1;
        if (tc_r_struct_begin(&g, TC_STRUCT)) {
            rc = BAD("row group");
            goto fail;
        }
        if ((rc = dec_rowgroup(&g, m->ncols, &m->rgs[i], err)))
            goto fail;
        tc_r_struct_end(&g);
    }
    if (m->num_rows < 0) {
        rc = BAD("negative num_rows");
        goto fail;
    }
    return HX_OK;
fail:
    pq_meta_free(m);
    return rc;
}

void pq_meta_free(pq_meta_t *m)
{
    for (size_t i = 0; i < m->nrg; i++)
        free(m->rgs[i].chunks);
    free(m->rgs);
    free(m->schema);
    free(m->kvs);
    memset(m, 0, sizeof *m);
}

int pq_page_hdr_decode(const unsigned char *p, size_t len, pq_page_hdr_t *h, size_t *used, hx_err_t *err)
{
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->is_compressed = 1;
    h->encoding = -1;
    tc_r_t r;
    tc_r_init(&r, p, len);
    int16_t id;
    int t;
    int have_sizes = 0;
    while (tc_r_field(&r, &id, &t)) {
        if (id == 1) {
            h->type = tc_r_i32(&r, t);
        } else if (id == 2) {
            h->uncompressed = tc_r_i32(&r, t);
            have_sizes |= 1;
        } else if (id == 3) {
            h->compressed = tc_r_i32(&r, t);
            have_sizes |= 2;
        } else if ((id == 5 || id == 7 || id == 8) && t == TC_STRUCT) {
            tc_r_struct_begin(&r, t);
            int16_t f;
            int ft;
            while (tc_r_field(&r, &f, &ft)) {
                if (f == 1) h->num_values = tc_r_i32(&r, ft);
                else if (id == 8 && f == 2) h->num_nulls = tc_r_i32(&r, ft);
                else if (id == 8 && f == 3) h->num_rows = tc_r_i32(&r, ft);
                else if ((id == 8 && f == 4) || (id != 8 && f == 2)) h->encoding = tc_r_i32(&r, ft);
                else if (id == 8 && f == 5) h->def_len = tc_r_i32(&r, ft);
                else if (id == 8 && f == 6) h->rep_len = tc_r_i32(&r, ft);
                else if (id == 8 && f == 7) h->is_compressed = tc_r_bool(&r, ft);
                else tc_r_skip(&r, ft);
            }
            tc_r_struct_end(&r);
        } else {
            tc_r_skip(&r, t);
        }
    }
    if (r.fail || have_sizes != 3 || h->type < 0 || h->uncompressed < 0 || h->compressed < 0 ||
        h->num_values < 0 || h->def_len < 0 || h->rep_len < 0 || (uint32_t)h->uncompressed > PQ_MAX_PAGE)
        return hx_err_set(err, HX_ECORRUPT, "Parquet page header is corrupt");
    *used = r.pos;
    return HX_OK;
}

/* ---- encode ---- */

int pq_page_hdr_encode(const pq_page_hdr_t *h, hx_buf_t *out)
{
    tc_w_t w;
    tc_w_init(&w, out);
    tc_w_i32(&w, 1, h->type);
    tc_w_i32(&w, 2, h->uncompressed);
    tc_w_i32(&w, 3, h->compressed);
    if (h->type == PAGE_DATA) {
        tc_w_struct_begin(&w, 5);
        tc_w_i32(&w, 1, h->num_values);
        tc_w_i32(&w, 2, h->encoding);
        tc_w_i32(&w, 3, ENC_RLE);
        tc_w_i32(&w, 4, ENC_RLE);
        tc_w_struct_end(&w);
    } else if (h->type == PAGE_DICT) {
        tc_w_struct_begin(&w, 7);
        tc_w_i32(&w, 1, h->num_values);
        tc_w_i32(&w, 2, ENC_PLAIN);
        tc_w_struct_end(&w);
    }
    hx_buf_putc(out, TC_STOP);
    return w.fail ? HX_ENOMEM : HX_OK;
}

static void enc_schema(tc_w_t *w, const pq_footer_in_t *in)
{
    tc_w_list_begin(w, 2, TC_STRUCT, in->ncols + 1);
    tc_w_elem_struct_begin(w);
    tc_w_str(w, 4, "schema");
    tc_w_i32(w, 5, (int32_t)in->ncols);
    tc_w_struct_end(w);
    for (size_t i = 0; i < in->ncols; i++) {
        const hx_pq_column_t *c = &in->cols[i];
        static const int phys[] = {PT_BOOLEAN, PT_INT32, PT_INT64, PT_DOUBLE, PT_BYTE_ARRAY, PT_INT64};
        tc_w_elem_struct_begin(w);
        tc_w_i32(w, 1, phys[c->type]);
        tc_w_i32(w, 3, c->optional ? REP_OPTIONAL : REP_REQUIRED);
        tc_w_str(w, 4, c->name);
        if (c->type == HX_PQ_STRING) {
            tc_w_i32(w, 6, CT_UTF8);
            tc_w_struct_begin(w, 10);
            tc_w_struct_begin(w, LT_STRING);
            tc_w_struct_end(w);
            tc_w_struct_end(w);
        } else if (c->type == HX_PQ_TIMESTAMP) {
            tc_w_i32(w, 6, CT_TIMESTAMP_MILLIS);
            tc_w_struct_begin(w, 10);
            tc_w_struct_begin(w, LT_TIMESTAMP);
            tc_w_bool(w, 1, 1);
            tc_w_struct_begin(w, 2);
            tc_w_struct_begin(w, 1);      /* MILLIS */
            tc_w_struct_end(w);
            tc_w_struct_end(w);
            tc_w_struct_end(w);
            tc_w_struct_end(w);
        } else if (c->type == HX_PQ_INT32 || c->type == HX_PQ_INT64) {
            tc_w_i32(w, 6, c->type == HX_PQ_INT32 ? CT_INT_32 : CT_INT_64);
            tc_w_struct_begin(w, 10);
            tc_w_struct_begin(w, LT_INTEGER);
            tc_w_field(w, 1, TC_BYTE);
            hx_buf_putc(w->b, c->type == HX_PQ_INT32 ? 32 : 64);
            tc_w_bool(w, 2, 1);
            tc_w_struct_end(w);
            tc_w_struct_end(w);
        }
        tc_w_struct_end(w);
    }
}

static void enc_chunk(tc_w_t *w, const hx_pq_column_t *col, const pq_chunk_t *c)
{
    tc_w_elem_struct_begin(w);
    tc_w_i64(w, 2, c->dict_page_offset >= 0 ? c->dict_page_offset : c->data_page_offset);
    tc_w_struct_begin(w, 3);
    tc_w_i32(w, 1, c->type);
    size_t nenc = 0;
    for (int e = 0; e < 32; e++)
        nenc += (c->enc_mask >> e) & 1;
    tc_w_list_begin(w, 2, TC_I32, nenc);
    for (int e = 0; e < 32; e++)
        if ((c->enc_mask >> e) & 1)
            tc_w_elem_i32(w, e);
    tc_w_list_begin(w, 3, TC_BINARY, 1);
    tc_w_elem_bin(w, col->name, strlen(col->name));
    tc_w_i32(w, 4, c->codec);
    tc_w_i64(w, 5, c->num_values);
    tc_w_i64(w, 6, c->total_uncompressed);
    tc_w_i64(w, 7, c->total_compressed);
    tc_w_i64(w, 9, c->data_page_offset);
    if (c->dict_page_offset >= 0)
        tc_w_i64(w, 11, c->dict_page_offset);
    tc_w_struct_begin(w, 12);
    tc_w_i64(w, 3, c->null_count);
    if (c->has_max)
        tc_w_bin(w, 5, c->maxb, c->max_n);
    if (c->has_min)
        tc_w_bin(w, 6, c->minb, c->min_n);
    tc_w_struct_end(w);
    tc_w_struct_end(w);
    tc_w_struct_end(w);
}

int pq_footer_encode(const pq_footer_in_t *in, hx_buf_t *out)
{
    tc_w_t w;
    tc_w_init(&w, out);
    tc_w_i32(&w, 1, 2);
    enc_schema(&w, in);
    tc_w_i64(&w, 3, in->num_rows);
    tc_w_list_begin(&w, 4, TC_STRUCT, in->nrg);
    for (size_t g = 0; g < in->nrg; g++) {
        const pq_rowgroup_t *rg = &in->rgs[g];
        tc_w_elem_struct_begin(&w);
        tc_w_list_begin(&w, 1, TC_STRUCT, in->ncols);
        int64_t comp = 0;
        for (size_t c = 0; c < in->ncols; c++) {
            enc_chunk(&w, &in->cols[c], &rg->chunks[c]);
            comp += rg->chunks[c].total_compressed;
        }
        tc_w_i64(&w, 2, rg->total_byte_size);
        tc_w_i64(&w, 3, rg->num_rows);
        const pq_chunk_t *c0 = &rg->chunks[0];
        tc_w_i64(&w, 5, c0->dict_page_offset >= 0 ? c0->dict_page_offset : c0->data_page_offset);
        tc_w_i64(&w, 6, comp);
        tc_w_field(&w, 7, TC_I16);
        hx_buf_put_svarint(w.b, (int64_t)g);
        tc_w_struct_end(&w);
    }
    if (in->nkv) {
        tc_w_list_begin(&w, 5, TC_STRUCT, in->nkv);
        for (size_t i = 0; i < in->nkv; i++) {
            tc_w_elem_struct_begin(&w);
            tc_w_str(&w, 1, in->kvs[i].key);
            tc_w_str(&w, 2, in->kvs[i].val);
            tc_w_struct_end(&w);
        }
    }
    tc_w_str(&w, 6, "helix version " HX_VERSION);
    /* TypeDefinedOrder for every column: min_value/max_value are trusted. */
    tc_w_list_begin(&w, 7, TC_STRUCT, in->ncols);
    for (size_t c = 0; c < in->ncols; c++) {
        tc_w_elem_struct_begin(&w);
        tc_w_struct_begin(&w, 1);
        tc_w_struct_end(&w);
        tc_w_struct_end(&w);
    }
    hx_buf_putc(out, TC_STOP);
    return w.fail ? HX_ENOMEM : HX_OK;
}
