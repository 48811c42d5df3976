/* Parquet reader: footer, schema, statistics and row-group pruning. Page
 * decoding is in rpage.c. */
#include "lake/parquet/rd_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int col_info(const pq_schema_el_t *e, hx_pq_colinfo_t *ci)
{
    ci->name = strndup((const char *)e->name, e->name_n);
    if (!ci->name)
        return HX_ENOMEM;
    ci->physical = e->type;
    ci->optional = e->repetition != REP_REQUIRED;
    ci->unit = HX_PQ_MILLIS;
    switch (e->type) {
    case PT_BOOLEAN: ci->type = HX_PQ_BOOL; break;
    case PT_INT32: ci->type = e->logical == LT_DATE || e->converted == CT_DATE ? HX_PQ_DATE : HX_PQ_INT32; break;
    case PT_INT64:
        if (e->logical == LT_TIMESTAMP) {
            ci->type = HX_PQ_TIMESTAMP;
            ci->unit = (hx_pq_time_unit_t)e->ts_unit;
            ci->utc = e->ts_utc;
        } else if (e->converted == CT_TIMESTAMP_MILLIS || e->converted == CT_TIMESTAMP_MICROS) {
            ci->type = HX_PQ_TIMESTAMP;
            ci->unit = e->converted == CT_TIMESTAMP_MILLIS ? HX_PQ_MILLIS : HX_PQ_MICROS;
            ci->utc = 1;
        } else {
            ci->type = HX_PQ_INT64;
        }
        break;
    case PT_FLOAT: ci->type = HX_PQ_FLOAT; break;
    case PT_DOUBLE: ci->type = HX_PQ_DOUBLE; break;
    case PT_BYTE_ARRAY:
        ci->type = (e->logical == LT_STRING || e->logical == LT_ENUM || e->logical == LT_JSON ||
                    e->converted == CT_UTF8 || e->converted == CT_ENUM || e->converted == CT_JSON)
                       ? HX_PQ_STRING : HX_PQ_BINARY;
        break;
    default: ci->type = HX_PQ_BINARY;   /* INT96, FIXED_LEN_BYTE_ARRAY: raw bytes */
    }
    return HX_OK;
}

static int open_common(hx_pq_reader_t *r, hx_err_t *err)
{
    const unsigned char *d = r->data;
    if (r->len < 12 || memcmp(d, "PAR1", 4) != 0 || memcmp(d + r->len - 4, "PAR1", 4) != 0)
        return hx_err_set(err, HX_ECORRUPT, "not a Parquet file (no PAR1 magic at both ends; encrypted files are "
                                            "not supported)");
    uint32_t flen = hx_load_u32le(d + r->len - 8);
    if (flen > r->len - 12)
        return hx_err_set(err, HX_ECORRUPT, "Parquet footer length %u is larger than the file", flen);
    int rc = pq_meta_decode(d + r->len - 8 - flen, flen, &r->m, err);
    if (rc)
        return rc;
    r->footer_start = r->len - 8 - flen;
    r->cols = calloc(r->m.ncols ? r->m.ncols : 1, sizeof *r->cols);
    r->kv_vals = calloc(r->m.nkv ? r->m.nkv : 1, sizeof *r->kv_vals);
    if (!r->cols || !r->kv_vals)
        return hx_err_set(err, HX_ENOMEM, "out of memory opening a Parquet file");
    for (size_t i = 0; i < r->m.ncols; i++) {
        if (col_info(&r->m.schema[i + 1], &r->cols[i]))
            return hx_err_set(err, HX_ENOMEM, "out of memory opening a Parquet file");
        r->ncols_done = i + 1;
    }
    for (size_t i = 0; i < r->m.nkv; i++)
        if (r->m.kvs[i].has_val &&
            !(r->kv_vals[i] = strndup((const char *)r->m.kvs[i].val, r->m.kvs[i].val_n)))
            return hx_err_set(err, HX_ENOMEM, "out of memory opening a Parquet file");
    int64_t total = 0;
    for (size_t g = 0; g < r->m.nrg; g++) {
        const pq_rowgroup_t *rg = &r->m.rgs[g];
        for (size_t c = 0; c < r->m.ncols; c++) {
            const pq_chunk_t *ch = &rg->chunks[c];
            if (ch->type != r->m.schema[c + 1].type)
                return hx_err_set(err, HX_ECORRUPT, "Parquet column '%s' chunk type %d differs from its schema type %d",
                                  r->cols[c].name, ch->type, r->m.schema[c + 1].type);
            if (ch->num_values != rg->num_rows)
                return hx_err_set(err, HX_ECORRUPT, "Parquet column '%s' has %lld values in a %lld-row group",
                                  r->cols[c].name, (long long)ch->num_values, (long long)rg->num_rows);
        }
        if (rg->num_rows > INT64_MAX - total)
            return hx_err_set(err, HX_ECORRUPT, "Parquet row counts overflow");
        total += rg->num_rows;
    }
    if (total != r->m.num_rows)
        return hx_err_set(err, HX_ECORRUPT, "Parquet row groups hold %lld rows, footer says %lld", (long long)total,
                          (long long)r->m.num_rows);
    return HX_OK;
}

int hx_pq_reader_open_mem(const void *data, size_t len, hx_pq_reader_t **out, hx_err_t *err)
{
    *out = NULL;
    hx_pq_reader_t *r = calloc(1, sizeof *r);
    if (!r)
        return hx_err_set(err, HX_ENOMEM, "out of memory opening a Parquet file");
    r->data = data;
    r->len = len;
    int rc = open_common(r, err);
    if (rc) {
        hx_pq_reader_close(r);
        return rc;
    }
    *out = r;
    return HX_OK;
}

int hx_pq_reader_open(const char *path, hx_pq_reader_t **out, hx_err_t *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hx_err_set(err, errno == ENOENT ? HX_ENOTFOUND : HX_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return hx_err_set(err, HX_EIO, "%s is not a regular file", path);
    }
    size_t len = (size_t)st.st_size;
    void *map = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (map == MAP_FAILED)
        return hx_err_set(err, len ? HX_EIO : HX_ECORRUPT, "%s: %s", path, len ? strerror(errno) : "empty file");
    hx_pq_reader_t *r = NULL;
    int rc = hx_pq_reader_open_mem(map, len, &r, err);
    if (rc) {
        munmap(map, len);
        return hx_err_wrap(err, "%s", path), rc;
    }
    r->mapped = 1;
    *out = r;
    return HX_OK;
}

void hx_pq_reader_close(hx_pq_reader_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ncols_done; i++)
        free(r->cols[i].name);
    for (size_t i = 0; r->kv_vals && i < r->m.nkv; i++)
        free(r->kv_vals[i]);
    free(r->kv_vals);
    free(r->cols);
    pq_meta_free(&r->m);
    if (r->mapped)
        munmap((void *)r->data, r->len);
    free(r);
}

size_t hx_pq_reader_ncols(const hx_pq_reader_t *r) { return r->m.ncols; }
const hx_pq_colinfo_t *hx_pq_reader_col(const hx_pq_reader_t *r, size_t i) { return i < r->m.ncols ? &r->cols[i] : NULL; }
int64_t hx_pq_reader_nrows(const hx_pq_reader_t *r) { return r->m.num_rows; }
size_t hx_pq_reader_nrowgroups(const hx_pq_reader_t *r) { return r->m.nrg; }

int64_t hx_pq_reader_rowgroup_rows(const hx_pq_reader_t *r, size_t rg)
{
    return rg < r->m.nrg ? r->m.rgs[rg].num_rows : 0;
}

int hx_pq_reader_find(const hx_pq_reader_t *r, const char *name)
{
    for (size_t i = 0; i < r->m.ncols; i++)
        if (strcmp(r->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *hx_pq_reader_kv(const hx_pq_reader_t *r, const char *key)
{
    size_t kn = strlen(key);
    const char *found = NULL;
    for (size_t i = 0; i < r->m.nkv; i++)
        if (r->m.kvs[i].key_n == kn && memcmp(r->m.kvs[i].key, key, kn) == 0)
            found = r->kv_vals[i];
    return found;
}

int hx_pq_reader_codec(const hx_pq_reader_t *r, size_t rg, size_t col)
{
    return rg < r->m.nrg && col < r->m.ncols ? r->m.rgs[rg].chunks[col].codec : -1;
}

int hx_pq_reader_stats(const hx_pq_reader_t *r, size_t rg, size_t col, hx_pq_stats_t *st)
{
    memset(st, 0, sizeof *st);
    if (rg >= r->m.nrg || col >= r->m.ncols)
        return HX_EINVAL;
    const pq_chunk_t *c = &r->m.rgs[rg].chunks[col];
    const pq_schema_el_t *e = &r->m.schema[col + 1];
    st->has_nulls_count = c->has_nulls;
    st->null_count = c->null_count;
    if (!c->has_min || !c->has_max)
        return HX_OK;
    /* Unsigned integers order differently from their signed bytes. */
    if (e->converted >= 11 && e->converted <= 14)
        return HX_OK;
    switch (c->type) {
    case PT_BOOLEAN:
        if (c->min_n != 1 || c->max_n != 1)
            return HX_OK;
        st->imin = c->min[0] != 0;
        st->imax = c->max[0] != 0;
        break;
    case PT_INT32:
    case PT_FLOAT:
        if (c->min_n != 4 || c->max_n != 4)
            return HX_OK;
        if (c->type == PT_INT32) {
            st->imin = (int32_t)hx_load_u32le(c->min);
            st->imax = (int32_t)hx_load_u32le(c->max);
        } else {
            float a, b;
            memcpy(&a, c->min, 4);
            memcpy(&b, c->max, 4);
            st->dmin = a;
            st->dmax = b;
        }
        break;
    case PT_INT64:
    case PT_DOUBLE:
        if (c->min_n != 8 || c->max_n != 8)
            return HX_OK;
        if (c->type == PT_INT64) {
            st->imin = (int64_t)hx_load_u64le(c->min);
            st->imax = (int64_t)hx_load_u64le(c->max);
        } else {
            memcpy(&st->dmin, c->min, 8);
            memcpy(&st->dmax, c->max, 8);
        }
        break;
    case PT_BYTE_ARRAY:
    case PT_FIXED:
        st->smin = c->min;
        st->smin_n = c->min_n;
        st->smax = c->max;
        st->smax_n = c->max_n;
        break;
    default:
        return HX_OK;
    }
    st->has_minmax = 1;
    return HX_OK;
}

static int cmp_bytes(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    int r = memcmp(a, b, an < bn ? an : bn);
    return r ? r : (an < bn ? -1 : an > bn);
}

/* Sign of (value - operand) for a min/max bound of column type t. */
static int cmp_bound(hx_pq_type_t t, const hx_pq_pred_t *p, int64_t i, double d, const unsigned char *s, size_t n)
{
    switch (t) {
    case HX_PQ_DOUBLE:
    case HX_PQ_FLOAT:
        return d < p->d ? -1 : d > p->d;
    case HX_PQ_STRING:
    case HX_PQ_BINARY:
        return cmp_bytes(s, n, (const unsigned char *)p->s, p->n);
    default:
        return i < p->i ? -1 : i > p->i;
    }
}

int hx_pq_rowgroup_pruned(const hx_pq_reader_t *r, size_t rg, const hx_pq_pred_t *preds, size_t npreds)
{
    for (size_t k = 0; k < npreds; k++) {
        const hx_pq_pred_t *p = &preds[k];
        if (p->col < 0 || (size_t)p->col >= r->m.ncols)
            continue;
        hx_pq_stats_t st;
        if (hx_pq_reader_stats(r, rg, (size_t)p->col, &st))
            continue;
        if (st.has_nulls_count && st.null_count == r->m.rgs[rg].num_rows)
            return 1;           /* only nulls: nothing compares true */
        if (!st.has_minmax)
            continue;
        hx_pq_type_t t = r->cols[p->col].type;
        if ((t == HX_PQ_DOUBLE || t == HX_PQ_FLOAT) && (st.dmin != st.dmin || st.dmax != st.dmax))
            continue;           /* NaN bounds say nothing */
        int lo = cmp_bound(t, p, st.imin, st.dmin, st.smin, st.smin_n);
        int hi = cmp_bound(t, p, st.imax, st.dmax, st.smax, st.smax_n);
        switch (p->op) {
        case HX_PQ_EQ: if (lo > 0 || hi < 0) return 1; break;
        case HX_PQ_NE: if (lo == 0 && hi == 0) return 1; break;
        case HX_PQ_LT: if (lo >= 0) return 1; break;
        case HX_PQ_LE: if (lo > 0) return 1; break;
        case HX_PQ_GT: if (hi <= 0) return 1; break;
        case HX_PQ_GE: if (hi < 0) return 1; break;
        }
    }
    return 0;
}

int hx_pq_pred_match(const hx_pq_pred_t *p, const hx_pq_vec_t *v, size_t i)
{
    if (i >= v->n || !v->valid[i])
        return 0;
    int c;
    switch (v->type) {
    case HX_PQ_DOUBLE:
    case HX_PQ_FLOAT:
        if (v->f64[i] != v->f64[i])
            return 0;
        c = v->f64[i] < p->d ? -1 : v->f64[i] > p->d;
        break;
    case HX_PQ_STRING:
    case HX_PQ_BINARY:
        c = cmp_bytes(v->data + v->off[i], (size_t)(v->off[i + 1] - v->off[i]), (const unsigned char *)p->s, p->n);
        break;
    default:
        c = v->i64[i] < p->i ? -1 : v->i64[i] > p->i;
    }
    switch (p->op) {
    case HX_PQ_EQ: return c == 0;
    case HX_PQ_NE: return c != 0;
    case HX_PQ_LT: return c < 0;
    case HX_PQ_LE: return c <= 0;
    case HX_PQ_GT: return c > 0;
    case HX_PQ_GE: return c >= 0;
    }
    return 0;
}
