/* Parquet writer: buffers a row group per column, then writes each column
 * chunk as an optional dictionary page and data pages, and at close the
 * footer; the file becomes visible by rename only when complete. */
#include "lake/parquet/wcol.h"

#include "helix/hx_fs.h"
#include "helix/hx_id.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

struct hx_pq_writer {
    hx_pq_write_opts_t o;
    char *path, *tmp;
    int fd;
    int64_t pos;                 /* bytes written to the file */
    hx_buf_t out;                /* pending file bytes */
    pq_wcol_t *cols;
    size_t ncols;
    int64_t rows, rg_rows;
    pq_rowgroup_t *rgs;
    size_t nrg, rg_cap;
    pq_kv_own_t *kvs;
    size_t nkv;
    void *zctx;
    hx_buf_t page, comp, tmpb;   /* scratch */
    uint32_t *u32;               /* scratch for levels and indices */
    size_t u32_cap;
};

static int out_flush(hx_pq_writer_t *w, hx_err_t *err)
{
    size_t off = 0;
    while (off < w->out.len) {
        ssize_t n = write(w->fd, w->out.data + off, w->out.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return hx_err_set(err, HX_EIO, "writing %s: %s", w->tmp, strerror(errno));
        off += (size_t)n;
    }
    hx_buf_reset(&w->out);
    return HX_OK;
}

static int out_put(hx_pq_writer_t *w, const void *p, size_t n, hx_err_t *err)
{
    if (hx_buf_append(&w->out, p, n))
        return hx_err_set(err, HX_ENOMEM, "out of memory writing %s", w->path);
    w->pos += (int64_t)n;
    return w->out.len >= (4u << 20) ? out_flush(w, err) : HX_OK;
}

int hx_pq_writer_open(const char *path, const hx_pq_column_t *cols, size_t ncols, const hx_pq_write_opts_t *o,
                      hx_pq_writer_t **out, hx_err_t *err)
{
    *out = NULL;
    if (ncols == 0)
        return hx_err_set(err, HX_EINVAL, "a Parquet file needs at least one column");
    hx_pq_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return hx_err_set(err, HX_ENOMEM, "out of memory opening %s", path);
    w->fd = -1;
    if (o)
        w->o = *o;
    if (!w->o.row_group_bytes)
        w->o.row_group_bytes = 128u << 20;
    if (!w->o.page_bytes)
        w->o.page_bytes = 1u << 20;
    if (!w->o.dictionary_bytes)
        w->o.dictionary_bytes = 1u << 20;
    int rc = HX_OK;
    if (w->o.codec != HX_PQ_NONE && w->o.codec != HX_PQ_SNAPPY && w->o.codec != HX_PQ_ZSTD) {
        rc = hx_err_set(err, HX_EINVAL, "Parquet codec %d cannot be written (use none, snappy or zstd)", w->o.codec);
        goto fail;
    }
    w->cols = calloc(ncols, sizeof *w->cols);
    w->path = strdup(path);
    char *dcopy = strdup(path), *bcopy = strdup(path);
    if (w->cols && w->path && dcopy && bcopy) {
        size_t n = strlen(path) + 16;
        w->tmp = malloc(n);
        if (w->tmp)
            snprintf(w->tmp, n, "%s/.%s.tmp", dirname(dcopy), basename(bcopy));
    }
    free(dcopy);
    free(bcopy);
    if (!w->tmp) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory opening %s", path);
        goto fail;
    }
    for (size_t i = 0; i < ncols; i++) {
        if (!cols[i].name || !cols[i].name[0] || (int)cols[i].type < 0 || cols[i].type > HX_PQ_TIMESTAMP) {
            rc = hx_err_set(err, HX_EINVAL, "column %zu needs a name and a writable type", i);
            goto fail;
        }
        if (pq_wcol_init(&w->cols[i], &cols[i], !w->o.no_dictionary)) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory opening %s", path);
            goto fail;
        }
        w->ncols = i + 1;
    }
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        rc = hx_err_set(err, HX_EIO, "cannot create %s: %s", w->tmp, strerror(errno));
        goto fail;
    }
    if ((rc = out_put(w, "PAR1", 4, err)))
        goto fail;
    *out = w;
    return HX_OK;
fail:
    hx_pq_writer_abort(w);
    return rc;
}

int hx_pq_writer_set_kv(hx_pq_writer_t *w, const char *key, const char *value, hx_err_t *err)
{
    for (size_t i = 0; i < w->nkv; i++) {
        if (strcmp(w->kvs[i].key, key) == 0) {
            char *v = strdup(value);
            if (!v)
                return hx_err_set(err, HX_ENOMEM, "out of memory");
            free(w->kvs[i].val);
            w->kvs[i].val = v;
            return HX_OK;
        }
    }
    pq_kv_own_t *k = realloc(w->kvs, (w->nkv + 1) * sizeof *k);
    if (!k)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    w->kvs = k;
    k[w->nkv].key = strdup(key);
    k[w->nkv].val = strdup(value);
    if (!k[w->nkv].key || !k[w->nkv].val) {
        free(k[w->nkv].key);
        free(k[w->nkv].val);
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    w->nkv++;
    return HX_OK;
}

static uint32_t *scratch_u32(hx_pq_writer_t *w, size_t n)
{
    if (n > w->u32_cap) {
        uint32_t *p = realloc(w->u32, n * sizeof *p);
        if (!p)
            return NULL;
        w->u32 = p;
        w->u32_cap = n;
    }
    return w->u32;
}

/* PLAIN values [v0, v1) of a column into b. */
static int plain_values(const pq_wcol_t *c, size_t v0, size_t v1, hx_buf_t *b)
{
    if (v1 <= v0)
        return HX_OK;   /* a page of nulls: the value arrays may not even exist */
    switch (c->def.type) {
    case HX_PQ_BOOL: {
        size_t nb = (v1 - v0 + 7) / 8;
        if (hx_buf_reserve(b, nb))
            return HX_ENOMEM;
        unsigned char *p = b->data + b->len;
        memset(p, 0, nb);
        for (size_t i = v0; i < v1; i++)
            if (c->i64[i])
                p[(i - v0) >> 3] |= (unsigned char)(1u << ((i - v0) & 7));
        b->len += nb;
        return HX_OK;
    }
    case HX_PQ_INT32:
        if (hx_buf_reserve(b, (v1 - v0) * 4))
            return HX_ENOMEM;
        for (size_t i = v0; i < v1; i++, b->len += 4)
            hx_store_u32le(b->data + b->len, (uint32_t)(int32_t)c->i64[i]);
        return HX_OK;
    case HX_PQ_DOUBLE:
        return hx_buf_append(b, c->f64 + v0, (v1 - v0) * 8);   /* little-endian host */
    case HX_PQ_STRING: {
        size_t bytes = (size_t)(c->soff[v1] - c->soff[v0]) + 4 * (v1 - v0);
        if (hx_buf_reserve(b, bytes))
            return HX_ENOMEM;
        for (size_t i = v0; i < v1; i++) {
            uint32_t n = (uint32_t)(c->soff[i + 1] - c->soff[i]);
            hx_store_u32le(b->data + b->len, n);
            memcpy(b->data + b->len + 4, c->sdata.data + c->soff[i], n);
            b->len += 4 + n;
        }
        return HX_OK;
    }
    default:
        return hx_buf_append(b, c->i64 + v0, (v1 - v0) * 8);
    }
}

static int dict_values(const pq_wcol_t *c, hx_buf_t *b)
{
    if (c->def.type == HX_PQ_STRING) {
        for (size_t k = 0; k < c->ndict; k++) {
            if (hx_buf_put_u32le(b, c->dict_len[k]) ||
                hx_buf_append(b, c->sdata.data + c->dict_off[k], c->dict_len[k]))
                return HX_ENOMEM;
        }
        return HX_OK;
    }
    if (c->def.type == HX_PQ_INT32) {
        for (size_t k = 0; k < c->ndict; k++)
            if (hx_buf_put_u32le(b, (uint32_t)(int32_t)c->dict_i[k]))
                return HX_ENOMEM;
        return HX_OK;
    }
    return hx_buf_append(b, c->dict_i, c->ndict * 8);   /* int64 and double bits */
}

/* Compresses w->page and writes it with its header; sizes go to ch. */
static int emit_page(hx_pq_writer_t *w, pq_page_hdr_t *h, pq_chunk_t *ch, hx_err_t *err)
{
    int rc;
    hx_buf_reset(&w->comp);
    if ((rc = pq_compress(w->o.codec, w->o.zstd_level, w->page.data, w->page.len, &w->comp, &w->zctx, err)))
        return rc;
    if (w->page.len > PQ_MAX_PAGE || w->comp.len > PQ_MAX_PAGE)
        return hx_err_set(err, HX_ETOOBIG, "a Parquet page of %zu bytes is over the 1 GiB limit", w->page.len);
    h->uncompressed = (int32_t)w->page.len;
    h->compressed = (int32_t)w->comp.len;
    hx_buf_reset(&w->tmpb);
    if (pq_page_hdr_encode(h, &w->tmpb))
        return hx_err_set(err, HX_ENOMEM, "out of memory writing a page header");
    ch->total_uncompressed += (int64_t)(w->tmpb.len + w->page.len);
    ch->total_compressed += (int64_t)(w->tmpb.len + w->comp.len);
    if ((rc = out_put(w, w->tmpb.data, w->tmpb.len, err)))
        return rc;
    return out_put(w, w->comp.data, w->comp.len, err);
}

static int write_chunk(hx_pq_writer_t *w, pq_wcol_t *c, pq_chunk_t *ch, hx_err_t *err)
{
    int rc = HX_OK;
    memset(ch, 0, sizeof *ch);
    ch->type = c->phys;
    ch->codec = w->o.codec;
    ch->num_values = (int64_t)c->rows;
    ch->dict_page_offset = -1;
    if (pq_wcol_build_dict(c, w->o.dictionary_bytes))
        return hx_err_set(err, HX_ENOMEM, "out of memory building a dictionary");
    pq_wcol_stats(c, ch);
    int use_dict = c->dict_on && c->ndict > 0;
    int bw = use_dict ? pq_bit_width((uint32_t)(c->ndict - 1)) : 0;
    ch->enc_mask = 1u << ENC_PLAIN | 1u << ENC_RLE | (use_dict ? 1u << ENC_RLE_DICT : 0);
    if (use_dict) {
        ch->dict_page_offset = w->pos;
        hx_buf_reset(&w->page);
        if (dict_values(c, &w->page))
            return hx_err_set(err, HX_ENOMEM, "out of memory writing a dictionary page");
        pq_page_hdr_t h = {.type = PAGE_DICT, .num_values = (int32_t)c->ndict};
        if ((rc = emit_page(w, &h, ch, err)))
            return rc;
    }
    ch->data_page_offset = w->pos;
    /* Rows per page from the column's average raw width. */
    size_t per_row = c->rows ? c->raw_bytes / c->rows + 1 : 1;
    if (use_dict)
        per_row = (size_t)bw / 8 + 1;
    size_t page_rows = w->o.page_bytes / per_row;
    if (page_rows < 64)
        page_rows = 64;
    if (page_rows > INT32_MAX / 2)
        page_rows = INT32_MAX / 2;
    size_t v = 0;
    for (size_t r0 = 0; r0 < c->rows || (r0 == 0 && c->rows == 0);) {
        size_t r1 = r0 + page_rows < c->rows ? r0 + page_rows : c->rows;
        hx_buf_reset(&w->page);
        size_t v0 = v;
        if (c->def.optional) {
            uint32_t *lv = scratch_u32(w, r1 - r0 + 1);
            if (!lv)
                return hx_err_set(err, HX_ENOMEM, "out of memory writing levels");
            for (size_t r = r0; r < r1; r++) {
                lv[r - r0] = c->defs[r];
                v += c->defs[r];
            }
            if (hx_buf_put_u32le(&w->page, 0) || pq_rle_encode(lv, r1 - r0, 1, &w->page))
                return hx_err_set(err, HX_ENOMEM, "out of memory writing levels");
            hx_store_u32le(w->page.data, (uint32_t)(w->page.len - 4));
        } else {
            v += r1 - r0;
        }
        if (use_dict) {
            if (hx_buf_putc(&w->page, (unsigned char)bw) || pq_rle_encode(c->idx + v0, v - v0, bw, &w->page))
                return hx_err_set(err, HX_ENOMEM, "out of memory writing dictionary indices");
        } else if (plain_values(c, v0, v, &w->page)) {
            return hx_err_set(err, HX_ENOMEM, "out of memory writing values");
        }
        pq_page_hdr_t h = {.type = PAGE_DATA, .num_values = (int32_t)(r1 - r0),
                           .encoding = use_dict ? ENC_RLE_DICT : ENC_PLAIN};
        if ((rc = emit_page(w, &h, ch, err)))
            return rc;
        if (c->rows == 0)
            break;
        r0 = r1;
    }
    return HX_OK;
}

static int flush_rowgroup(hx_pq_writer_t *w, hx_err_t *err)
{
    if (w->rg_rows == 0)
        return HX_OK;
    if (w->nrg == w->rg_cap) {
        size_t nc = w->rg_cap ? w->rg_cap * 2 : 4;
        pq_rowgroup_t *g = realloc(w->rgs, nc * sizeof *g);
        if (!g)
            return hx_err_set(err, HX_ENOMEM, "out of memory cutting a row group");
        w->rgs = g;
        w->rg_cap = nc;
    }
    pq_rowgroup_t *rg = &w->rgs[w->nrg];
    memset(rg, 0, sizeof *rg);
    rg->chunks = calloc(w->ncols, sizeof *rg->chunks);
    if (!rg->chunks)
        return hx_err_set(err, HX_ENOMEM, "out of memory cutting a row group");
    w->nrg++;
    rg->num_rows = w->rg_rows;
    for (size_t i = 0; i < w->ncols; i++) {
        int rc = write_chunk(w, &w->cols[i], &rg->chunks[i], err);
        if (rc)
            return hx_err_wrap(err, "column '%s'", w->cols[i].def.name), rc;
        rg->total_byte_size += rg->chunks[i].total_uncompressed;
        pq_wcol_reset(&w->cols[i], !w->o.no_dictionary);
    }
    w->rg_rows = 0;
    return HX_OK;
}

static size_t buffered_bytes(const hx_pq_writer_t *w)
{
    size_t b = 0;
    for (size_t i = 0; i < w->ncols; i++)
        b += w->cols[i].raw_bytes + w->cols[i].rows / 8;
    return b;
}

int hx_pq_writer_write_row(hx_pq_writer_t *w, const hx_pq_value_t *row, hx_err_t *err)
{
    /* Check first so a bad row leaves every column untouched. */
    for (size_t i = 0; i < w->ncols; i++) {
        const pq_wcol_t *c = &w->cols[i];
        if (row[i].is_null && !c->def.optional)
            return hx_err_set(err, HX_EINVAL, "column '%s' is required and got a null", c->def.name);
        if (!row[i].is_null && c->def.type == HX_PQ_STRING &&
            !hx_utf8_valid(row[i].v.str.s, row[i].v.str.n))
            return hx_err_set(err, HX_EINVAL, "column '%s': value is not valid UTF-8", c->def.name);
        if (!row[i].is_null && c->def.type == HX_PQ_INT32 && (row[i].v.i < INT32_MIN || row[i].v.i > INT32_MAX))
            return hx_err_set(err, HX_ERANGE, "column '%s' is INT32 and %lld does not fit", c->def.name,
                              (long long)row[i].v.i);
    }
    for (size_t i = 0; i < w->ncols; i++) {
        int rc = pq_wcol_add(&w->cols[i], &row[i], w->o.dictionary_bytes, err);
        if (rc)
            return rc;
    }
    w->rows++;
    w->rg_rows++;
    if ((w->rg_rows & 1023) == 0 && buffered_bytes(w) >= w->o.row_group_bytes)
        return flush_rowgroup(w, err);
    if (w->rg_rows >= INT32_MAX / 2)
        return flush_rowgroup(w, err);
    return HX_OK;
}

int64_t hx_pq_writer_rows(const hx_pq_writer_t *w)
{
    return w->rows;
}

int64_t hx_pq_writer_bytes(const hx_pq_writer_t *w)
{
    return w->pos + (int64_t)buffered_bytes(w);
}

static void writer_free(hx_pq_writer_t *w)
{
    for (size_t i = 0; i < w->ncols; i++)
        pq_wcol_free(&w->cols[i]);
    free(w->cols);
    for (size_t i = 0; i < w->nrg; i++)
        free(w->rgs[i].chunks);
    free(w->rgs);
    for (size_t i = 0; i < w->nkv; i++) {
        free(w->kvs[i].key);
        free(w->kvs[i].val);
    }
    free(w->kvs);
    if (w->zctx)
        ZSTD_freeCCtx(w->zctx);
    hx_buf_free(&w->out);
    hx_buf_free(&w->page);
    hx_buf_free(&w->comp);
    hx_buf_free(&w->tmpb);
    free(w->u32);
    free(w->path);
    free(w->tmp);
    free(w);
}

void hx_pq_writer_abort(hx_pq_writer_t *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        close(w->fd);
        unlink(w->tmp);
    }
    writer_free(w);
}

/* Footer, flush, fsync and close of the temp file; w keeps its paths. */
static int finish(hx_pq_writer_t *w, hx_err_t *err)
{
    int rc = flush_rowgroup(w, err);
    if (rc)
        return rc;
    hx_pq_column_t *defs = calloc(w->ncols, sizeof *defs);
    if (!defs)
        return hx_err_set(err, HX_ENOMEM, "out of memory writing the footer");
    for (size_t i = 0; i < w->ncols; i++)
        defs[i] = w->cols[i].def;
    pq_footer_in_t in = {defs, w->ncols, w->rgs, w->nrg, w->rows, w->kvs, w->nkv};
    hx_buf_reset(&w->tmpb);
    rc = pq_footer_encode(&in, &w->tmpb);
    free(defs);
    if (rc || hx_buf_put_u32le(&w->tmpb, (uint32_t)w->tmpb.len) || hx_buf_append(&w->tmpb, "PAR1", 4))
        return hx_err_set(err, HX_ENOMEM, "out of memory writing the footer");
    if ((rc = out_put(w, w->tmpb.data, w->tmpb.len, err)) || (rc = out_flush(w, err)))
        return rc;
    if (!w->o.no_fsync && fsync(w->fd) != 0)
        return hx_err_set(err, HX_EIO, "fsync %s: %s", w->tmp, strerror(errno));
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0) {
        unlink(w->tmp);
        return hx_err_set(err, HX_EIO, "close %s: %s", w->tmp, strerror(errno));
    }
    return HX_OK;
}

int hx_pq_writer_close_staged(hx_pq_writer_t *w, char **tmp_path, char **final_path, hx_err_t *err)
{
    *tmp_path = *final_path = NULL;
    int rc = finish(w, err);
    if (rc) {
        hx_pq_writer_abort(w);
        return rc;
    }
    *tmp_path = w->tmp;
    *final_path = w->path;
    w->tmp = w->path = NULL;
    writer_free(w);
    return HX_OK;
}

int hx_pq_publish(const char *tmp_path, const char *final_path, int no_fsync, hx_err_t *err)
{
    if (rename(tmp_path, final_path) != 0)
        return hx_err_set(err, HX_EIO, "rename %s -> %s: %s", tmp_path, final_path, strerror(errno));
    if (no_fsync)
        return HX_OK;
    char *d = strdup(final_path);
    int rc = d ? hx_fsync_dir(dirname(d)) : HX_ENOMEM;
    free(d);
    return rc ? hx_err_set(err, HX_EIO, "fsync of the directory of %s failed", final_path) : HX_OK;
}

int hx_pq_writer_close(hx_pq_writer_t *w, hx_err_t *err)
{
    int no_fsync = w->o.no_fsync;
    char *tmp, *fin;
    int rc = hx_pq_writer_close_staged(w, &tmp, &fin, err);
    if (rc)
        return rc;
    rc = hx_pq_publish(tmp, fin, no_fsync, err);
    if (rc)
        unlink(tmp);
    free(tmp);
    free(fin);
    return rc;
}
