/* A part's files: data.bin (every column's compressed granules, column after
 * column) and meta.bin (the granule index, the sorted dictionaries of LC
 * columns and the part's rollup states), written into a temp directory,
 * fsynced, renamed into place and the table directory fsynced. */
#include "analytics/embedded/emb.h"
#include "helix/hx_fs.h"
#include "helix/hx_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_MAGIC 0x50415848u /* "HXAP" */
#define META_VERSION 1

static void part_dir(const an_part_t *p, const char *prefix, char *out, size_t len)
{
    snprintf(out, len, "%s/%s/%s%s", p->tab->st->dir, p->tab->def->name, prefix, p->name);
}

static int is_lc(const hx_an_column_def_t *c)
{
    return c->type == HX_AN_T_STRING && c->low_cardinality;
}

/* Bytes per value of an integer column in data.bin (in memory: int64). */
static size_t int_width(hx_an_type_t t)
{
    switch (t) {
    case HX_AN_T_UINT8: return 1;
    case HX_AN_T_UINT32:
    case HX_AN_T_DATETIME: return 4;
    default: return 8;
    }
}

/* Raw bytes of granule [a, b) of column c (LC as local codes via lmap). */
static int granule_bytes(const an_part_t *p, int c, size_t a, size_t b, uint32_t *const *lmap, hx_buf_t *raw)
{
    const hx_an_column_def_t *cd = &p->tab->def->cols[c];
    const an_vec_t *v = &p->v[c];
    raw->len = 0;
    size_t n = b - a;
    if (cd->type == HX_AN_T_FLOAT64)
        return hx_buf_append(raw, v->f + a, n * sizeof *v->f);
    if (is_lc(cd)) {
        if (hx_buf_reserve(raw, n * 4))
            return HX_ENOMEM;
        uint32_t *out = (uint32_t *)raw->data;
        for (size_t i = 0; i < n; i++)
            out[i] = lmap[c][v->code[a + i]];
        raw->len = n * 4;
        return HX_OK;
    }
    if (cd->type == HX_AN_T_STRING) {
        size_t bytes = v->off[b] - v->off[a];
        if (hx_buf_reserve(raw, (n + 1) * 4 + bytes))
            return HX_ENOMEM;
        uint32_t *o = (uint32_t *)raw->data;
        for (size_t i = 0; i <= n; i++)
            o[i] = v->off[a + i] - v->off[a];
        memcpy(raw->data + (n + 1) * 4, v->str + v->off[a], bytes);
        raw->len = (n + 1) * 4 + bytes;
        return HX_OK;
    }
    /* Integers at their type's width: less to compress and to read. */
    size_t w = int_width(cd->type);
    if (w == 8)
        return hx_buf_append(raw, v->i + a, n * sizeof *v->i);
    if (hx_buf_reserve(raw, n * w))
        return HX_ENOMEM;
    if (w == 1)
        for (size_t i = 0; i < n; i++)
            raw->data[i] = (uint8_t)v->i[a + i];
    else
        for (size_t i = 0; i < n; i++)
            ((uint32_t *)raw->data)[i] = (uint32_t)v->i[a + i];
    raw->len = n * w;
    return HX_OK;
}

int an_part_write_built(an_part_t *p, uint32_t *const *lmap, const an_rollup_t *rollup, hx_err_t *err)
{
    an_store_t *s = p->tab->st;
    const hx_an_table_def_t *d = p->tab->def;
    hx_buf_t data = HX_BUF_INIT, meta = HX_BUF_INIT, raw = HX_BUF_INIT;
    char tmp[HX_CFG_STR + 160], fin[HX_CFG_STR + 160], path[HX_CFG_STR + 200];
    int rc = HX_OK;
    size_t ncols = (size_t)d->ncols;
    p->loc = calloc(p->ngran ? p->ngran * ncols : 1, sizeof *p->loc);
    /* data.bin in one allocation (the raw size plus the codecs' worst-case
     * growth), not a realloc copy per doubling. */
    size_t raw_total = 0;
    for (int c = 0; c < d->ncols; c++) {
        const hx_an_column_def_t *cd = &d->cols[c];
        if (cd->type == HX_AN_T_STRING)
            raw_total += (p->rows + p->ngran) * 4 + (!is_lc(cd) && p->v[c].off ? p->v[c].off[p->rows] : 0);
        else
            raw_total += p->rows * (cd->type == HX_AN_T_FLOAT64 ? 8 : int_width(cd->type));
    }
    if (p->loc && hx_buf_reserve(&data, raw_total + raw_total / 128 + 64 * (p->ngran * ncols + 1)))
        rc = HX_ENOMEM;
    if (!p->loc || rc) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory writing a part");
        goto cleanup;
    }
    for (int c = 0; c < d->ncols && !rc; c++)
        for (size_t k = 0; k < p->ngran && !rc; k++) {
            size_t a = k * p->gran_rows, b = a + p->gran_rows < p->rows ? a + p->gran_rows : p->rows;
            if (granule_bytes(p, c, a, b, lmap, &raw)) {
                rc = hx_err_set(err, HX_ENOMEM, "out of memory writing a part");
                break;
            }
            an_loc_t *l = &p->loc[k * ncols + (size_t)c];
            l->off = data.len;
            l->rlen = (uint32_t)raw.len;
            if ((rc = an_compress(s->cfg.analytics.compression, raw.data, raw.len, &data, err)))
                break;
            l->clen = (uint32_t)(data.len - l->off);
            l->crc = hx_crc32c(0, data.data + l->off, l->clen);
        }
    if (rc)
        goto cleanup;
    /* meta.bin */
    rc = hx_buf_put_u32le(&meta, META_MAGIC);
    rc = rc ? rc : hx_buf_put_u32le(&meta, META_VERSION);
    rc = rc ? rc : hx_buf_put_u32le(&meta, (uint32_t)d->id);
    rc = rc ? rc : hx_buf_put_u32le(&meta, (uint32_t)ncols);
    rc = rc ? rc : hx_buf_put_u64le(&meta, p->rows);
    rc = rc ? rc : hx_buf_put_u64le(&meta, (uint64_t)p->partition);
    rc = rc ? rc : hx_buf_put_u64le(&meta, p->id);
    rc = rc ? rc : hx_buf_put_u32le(&meta, (uint32_t)p->level);
    rc = rc ? rc : hx_buf_put_u32le(&meta, p->gran_rows);
    rc = rc ? rc : hx_buf_put_u32le(&meta, (uint32_t)p->ngran);
    rc = rc ? rc : hx_buf_put_u8(&meta, (uint8_t)an_codec_id(s->cfg.analytics.compression));
    for (size_t k = 0; k < p->ngran && !rc; k++)
        for (size_t c = 0; c < ncols && !rc; c++) {
            const an_stat_t *st = &p->stats[k * ncols + c];
            const an_loc_t *l = &p->loc[k * ncols + c];
            uint64_t lo, hi;
            memcpy(&lo, &st->lo, 8);
            memcpy(&hi, &st->hi, 8);
            rc = hx_buf_put_u64le(&meta, lo);
            rc = rc ? rc : hx_buf_put_u64le(&meta, hi);
            rc = rc ? rc : hx_buf_put_u64le(&meta, l->off);
            rc = rc ? rc : hx_buf_put_u32le(&meta, l->clen);
            rc = rc ? rc : hx_buf_put_u32le(&meta, l->rlen);
            rc = rc ? rc : hx_buf_put_u32le(&meta, l->crc);
        }
    for (int c = 0; c < d->ncols && !rc; c++) {
        if (!is_lc(&d->cols[c]))
            continue;
        rc = hx_buf_put_u32le(&meta, p->pd[c].n);
        for (uint32_t k = 0; k < p->pd[c].n && !rc; k++) {
            rc = hx_buf_put_u32le(&meta, p->pd[c].len[k]);
            rc = rc ? rc : hx_buf_append(&meta, p->pd[c].s[k], p->pd[c].len[k]);
        }
    }
    if (!rc && rollup) {
        hx_buf_t blob = HX_BUF_INIT;
        rc = an_rollup_encode(rollup, lmap, &blob);
        rc = rc ? rc : hx_buf_put_u32le(&meta, 1);
        rc = rc ? rc : hx_buf_put_u32le(&meta, (uint32_t)blob.len);
        rc = rc ? rc : hx_buf_append(&meta, blob.data, blob.len);
        hx_buf_free(&blob);
    } else if (!rc) {
        rc = hx_buf_put_u32le(&meta, 0);
    }
    rc = rc ? rc : hx_buf_put_u32le(&meta, hx_crc32c(0, meta.data, meta.len));
    if (rc) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory writing a part");
        goto cleanup;
    }
    part_dir(p, "tmp_", tmp, sizeof tmp);
    part_dir(p, "", fin, sizeof fin);
    hx_rm_rf(tmp);
    if (mkdir(tmp, 0755)) {
        rc = hx_err_set(err, HX_EIO, "cannot create %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    snprintf(path, sizeof path, "%s/data.bin", tmp);
    if ((rc = hx_fs_write_file(path, data.data, data.len, s->fsync, err)))
        goto cleanup;
    snprintf(path, sizeof path, "%s/meta.bin", tmp);
    if ((rc = hx_fs_write_file(path, meta.data, meta.len, s->fsync, err)))
        goto cleanup;
    if (s->fsync && hx_fsync_dir(tmp)) {
        rc = hx_err_set(err, HX_EIO, "cannot fsync %s", tmp);
        goto cleanup;
    }
    if (rename(tmp, fin)) {
        rc = hx_err_set(err, HX_EIO, "cannot rename %s to %s: %s", tmp, fin, strerror(errno));
        goto cleanup;
    }
    snprintf(path, sizeof path, "%s/%s", s->dir, d->name);
    if (s->fsync && hx_fsync_dir(path)) {
        rc = hx_err_set(err, HX_EIO, "cannot fsync %s", path);
        goto cleanup;
    }
    p->bytes_disk = data.len + meta.len;
    p->codec = (uint8_t)an_codec_id(s->cfg.analytics.compression);
    p->mem = 0;
    for (int c = 0; c < d->ncols; c++) {
        size_t bytes = an_vec_bytes(&d->cols[c], &p->v[c], p->rows);
        an_cache_put(&s->cache, p, c, &p->v[c], bytes);
        an_vec_free(&p->v[c]);
    }
cleanup:
    if (rc)
        hx_rm_rf(tmp);
    hx_buf_free(&data);
    hx_buf_free(&meta);
    hx_buf_free(&raw);
    return rc;
}

void an_part_remove_files(an_part_t *p)
{
    char dir[HX_CFG_STR + 160];
    part_dir(p, "", dir, sizeof dir);
    hx_rm_rf(dir);
}

/* Reads n bytes at off (short only at end of file or on an error). */
static size_t pread_all(int fd, unsigned char *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

static int read_file(const char *path, unsigned char **out, size_t *len, hx_err_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hx_err_set(err, HX_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st)) {
        close(fd);
        return hx_err_set(err, HX_EIO, "cannot stat %s: %s", path, strerror(errno));
    }
    unsigned char *buf = malloc((size_t)st.st_size ? (size_t)st.st_size : 1);
    if (!buf) {
        close(fd);
        return hx_err_set(err, HX_ENOMEM, "out of memory reading %s", path);
    }
    size_t got = pread_all(fd, buf, (size_t)st.st_size, 0);
    close(fd);
    if (got != (size_t)st.st_size) {
        free(buf);
        return hx_err_set(err, HX_EIO, "cannot read %s", path);
    }
    *out = buf;
    *len = got;
    return HX_OK;
}

int an_part_open(an_table_t *t, const char *name, an_rollup_t *rollup, an_part_t **out, hx_err_t *err)
{
    const hx_an_table_def_t *d = t->def;
    char path[HX_CFG_STR + 200];
    snprintf(path, sizeof path, "%s/%s/%s/meta.bin", t->st->dir, d->name, name);
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len, err);
    if (rc)
        return rc;
    an_part_t *p = an_part_new(t);
    if (!p) {
        free(buf);
        return hx_err_set(err, HX_ENOMEM, "out of memory opening part %s", name);
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    hx_rd_t r;
    hx_rd_init(&r, buf, len >= 4 ? len - 4 : 0);
    uint32_t magic = 0, ver = 0, table = 0, ncols = 0, level = 0, gran = 0, ngran = 0;
    uint64_t rows = 0, part = 0, id = 0;
    uint8_t codec = 0;
    const char *what = "header";
    if (len < 4 || hx_load_u32le(buf + len - 4) != hx_crc32c(0, buf, len - 4)) {
        what = "checksum";
        goto corrupt;
    }
    hx_rd_u32le(&r, &magic);
    hx_rd_u32le(&r, &ver);
    hx_rd_u32le(&r, &table);
    hx_rd_u32le(&r, &ncols);
    hx_rd_u64le(&r, &rows);
    hx_rd_u64le(&r, &part);
    hx_rd_u64le(&r, &id);
    hx_rd_u32le(&r, &level);
    hx_rd_u32le(&r, &gran);
    hx_rd_u32le(&r, &ngran);
    hx_rd_u8(&r, &codec);
    if (!r.ok || magic != META_MAGIC || ver != META_VERSION || table != (uint32_t)d->id ||
        ncols != (uint32_t)d->ncols || !gran || (uint64_t)ngran != (rows + gran - 1) / gran || codec > 2)
        goto corrupt;
    p->rows = rows;
    p->partition = (int64_t)part;
    p->id = id;
    p->level = (int)level;
    p->gran_rows = gran;
    p->ngran = ngran;
    p->local_codes = 1;
    p->sorted = 1;
    p->codec = codec;
    what = "granule index";
    if (hx_rd_left(&r) / 36 < (size_t)ngran * ncols)
        goto corrupt;
    p->stats = calloc(ngran ? (size_t)ngran * ncols : 1, sizeof *p->stats);
    p->loc = calloc(ngran ? (size_t)ngran * ncols : 1, sizeof *p->loc);
    if (!p->stats || !p->loc)
        goto oom;
    for (size_t k = 0; k < (size_t)ngran * ncols; k++) {
        uint64_t lo, hi;
        hx_rd_u64le(&r, &lo);
        hx_rd_u64le(&r, &hi);
        memcpy(&p->stats[k].lo, &lo, 8);
        memcpy(&p->stats[k].hi, &hi, 8);
        hx_rd_u64le(&r, &p->loc[k].off);
        hx_rd_u32le(&r, &p->loc[k].clen);
        hx_rd_u32le(&r, &p->loc[k].rlen);
        hx_rd_u32le(&r, &p->loc[k].crc);
        p->bytes_disk += p->loc[k].clen;
    }
    what = "dictionaries";
    for (int c = 0; c < d->ncols && r.ok; c++) {
        if (!is_lc(&d->cols[c]))
            continue;
        uint32_t n = 0;
        hx_rd_u32le(&r, &n);
        if (!r.ok || n > hx_rd_left(&r) / 4)
            goto corrupt;
        an_pdict_t *pd = &p->pd[c];
        pd->n = n;
        pd->to_store = malloc((n ? n : 1) * sizeof *pd->to_store);
        pd->s = malloc((n ? n : 1) * sizeof *pd->s);
        pd->len = malloc((n ? n : 1) * sizeof *pd->len);
        if (!pd->to_store || !pd->s || !pd->len)
            goto oom;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t l = 0;
            const unsigned char *sp;
            if (hx_rd_u32le(&r, &l) || hx_rd_raw(&r, l, &sp))
                goto corrupt;
            if (an_dict_intern(&t->dict[c], (const char *)sp, l, &pd->to_store[k]))
                goto oom;
            const an_dent_t *e = an_dict_get(&t->dict[c], pd->to_store[k]);
            pd->s[k] = e->s;
            pd->len[k] = e->len;
        }
    }
    what = "rollup states";
    uint32_t nroll = 0;
    if (hx_rd_u32le(&r, &nroll) || nroll > 1)
        goto corrupt;
    if (nroll) {
        uint32_t blen = 0;
        const unsigned char *blob;
        if (hx_rd_u32le(&r, &blen) || hx_rd_raw(&r, blen, &blob))
            goto corrupt;
        if (rollup) {
            hx_rd_t br;
            hx_rd_init(&br, blob, blen);
            int brc = an_rollup_decode(rollup, &br, p->pd);
            if (brc == HX_ENOMEM)
                goto oom;
            if (brc || hx_rd_left(&br))
                goto corrupt;
        }
    }
    if (!r.ok || hx_rd_left(&r))
        goto corrupt;
    for (size_t k = 0; k < ngran; k++) {
        const an_stat_t *ts = &p->stats[k * ncols + HX_AN_COL_TIMESTAMP];
        p->min_ts = ts->lo.i < p->min_ts ? ts->lo.i : p->min_ts;
        p->max_ts = ts->hi.i > p->max_ts ? ts->hi.i : p->max_ts;
    }
    p->bytes_disk += len;
    free(buf);
    *out = p;
    return HX_OK;
oom:
    free(buf);
    an_part_unref(p);
    return hx_err_set(err, HX_ENOMEM, "out of memory opening part %s", name);
corrupt:
    free(buf);
    an_part_unref(p);
    return hx_err_set(err, HX_ECORRUPT, "analytics part %s/%s is corrupt (%s); move it away to start without it",
                      d->name, name, what);
}

int an_part_load_column(an_part_t *p, int c, an_vec_t *out, size_t *bytes, hx_err_t *err)
{
    const hx_an_table_def_t *d = p->tab->def;
    const hx_an_column_def_t *cd = &d->cols[c];
    size_t ncols = (size_t)d->ncols, n = p->rows;
    char path[HX_CFG_STR + 200];
    snprintf(path, sizeof path, "%s/%s/%s/data.bin", p->tab->st->dir, d->name, p->name);
    memset(out, 0, sizeof *out);
    if (!p->ngran)
        return HX_OK;
    const an_loc_t *first = &p->loc[c], *last = &p->loc[(p->ngran - 1) * ncols + (size_t)c];
    size_t span = (size_t)(last->off + last->clen - first->off);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hx_err_set(err, HX_EIO, "cannot open %s: %s", path, strerror(errno));
    unsigned char *buf = malloc(span ? span : 1), *raw = NULL;
    int rc = HX_OK;
    if (!buf) {
        close(fd);
        return hx_err_set(err, HX_ENOMEM, "out of memory loading a column");
    }
    size_t got = pread_all(fd, buf, span, first->off);
    close(fd);
    if (got != span) {
        free(buf);
        return hx_err_set(err, HX_EIO, "cannot read %s", path);
    }
    int codec = p->codec;
    size_t str_len = 0, str_cap = 0;
    if (cd->type == HX_AN_T_FLOAT64)
        out->f = malloc(n * sizeof *out->f);
    else if (is_lc(cd))
        out->code = malloc(n * sizeof *out->code);
    else if (cd->type == HX_AN_T_STRING)
        out->off = malloc((n + 1) * sizeof *out->off);
    else
        out->i = malloc(n * sizeof *out->i);
    if (!out->f && !out->code && !out->off && !out->i) {
        rc = HX_ENOMEM;
        goto done;
    }
    if (out->off)
        out->off[0] = 0;
    for (size_t k = 0; k < p->ngran && !rc; k++) {
        const an_loc_t *l = &p->loc[k * ncols + (size_t)c];
        size_t a = k * p->gran_rows, rows = a + p->gran_rows < n ? p->gran_rows : n - a;
        if (l->off < first->off || l->off + l->clen > first->off + span ||
            hx_crc32c(0, buf + (l->off - first->off), l->clen) != l->crc) {
            rc = HX_ECORRUPT;
            break;
        }
        const unsigned char *src = buf + (l->off - first->off);
        size_t w = cd->type == HX_AN_T_FLOAT64 ? 8 : int_width(cd->type);
        if (w == 8 && !is_lc(cd) && cd->type != HX_AN_T_STRING) {
            if (l->rlen != rows * 8) {
                rc = HX_ECORRUPT;
                break;
            }
            rc = an_decompress(codec, src, l->clen, out->f ? (void *)(out->f + a) : (void *)(out->i + a), l->rlen);
            continue;
        }
        unsigned char *nr = realloc(raw, l->rlen ? l->rlen : 1);
        if (!nr) {
            rc = HX_ENOMEM;
            break;
        }
        raw = nr;
        if ((rc = an_decompress(codec, src, l->clen, raw, l->rlen)))
            break;
        if (!is_lc(cd) && cd->type != HX_AN_T_STRING) { /* a narrow integer */
            if (l->rlen != rows * w) {
                rc = HX_ECORRUPT;
                break;
            }
            if (w == 1)
                for (size_t i = 0; i < rows; i++)
                    out->i[a + i] = raw[i];
            else
                for (size_t i = 0; i < rows; i++)
                    out->i[a + i] = ((const uint32_t *)raw)[i];
            continue;
        }
        if (is_lc(cd)) {
            if (l->rlen != rows * 4) {
                rc = HX_ECORRUPT;
                break;
            }
            const uint32_t *lc = (const uint32_t *)raw;
            for (size_t i = 0; i < rows && !rc; i++) {
                if (lc[i] >= p->pd[c].n)
                    rc = HX_ECORRUPT;
                else
                    out->code[a + i] = p->pd[c].to_store[lc[i]];
            }
            continue;
        }
        /* Plain strings: offsets then bytes. */
        if (l->rlen < (rows + 1) * 4) {
            rc = HX_ECORRUPT;
            break;
        }
        const uint32_t *o = (const uint32_t *)raw;
        size_t blen = l->rlen - (rows + 1) * 4;
        if (o[0] != 0 || o[rows] != blen) {
            rc = HX_ECORRUPT;
            break;
        }
        for (size_t i = 0; i < rows; i++)
            if (o[i + 1] < o[i]) {
                rc = HX_ECORRUPT;
                break;
            }
        if (rc)
            break;
        if (str_len + blen > UINT32_MAX) {
            rc = HX_ECORRUPT;
            break;
        }
        if (str_len + blen > str_cap) {
            size_t cap = str_cap ? str_cap : 65536;
            while (cap < str_len + blen)
                cap *= 2;
            char *ns = realloc(out->str, cap);
            if (!ns) {
                rc = HX_ENOMEM;
                break;
            }
            out->str = ns;
            str_cap = cap;
        }
        if (blen) /* empty strings: no text, and maybe no buffer yet */
            memcpy(out->str + str_len, raw + (rows + 1) * 4, blen);
        for (size_t i = 0; i < rows; i++)
            out->off[a + i + 1] = (uint32_t)(str_len + o[i + 1]);
        str_len += blen;
    }
    if (!rc && out->off && !out->str && !(out->str = malloc(1)))
        rc = HX_ENOMEM;
done:
    free(buf);
    free(raw);
    if (rc) {
        an_vec_free(out);
        if (rc == HX_ENOMEM)
            return hx_err_set(err, rc, "out of memory loading column %s of part %s", cd->name, p->name);
        return hx_err_set(err, HX_ECORRUPT, "column %s of analytics part %s/%s is corrupt", cd->name, d->name,
                          p->name);
    }
    *bytes = an_vec_bytes(cd, out, n);
    return HX_OK;
}
