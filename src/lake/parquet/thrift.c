/* Thrift compact protocol: zigzag varints, field-id deltas, list headers. */
#include "lake/parquet/thrift.h"

#include <string.h>

static void w_byte(tc_w_t *w, unsigned char c)
{
    if (hx_buf_putc(w->b, c))
        w->fail = 1;
}

static void w_uvar(tc_w_t *w, uint64_t v)
{
    unsigned char tmp[10];
    int n = 0;
    while (v >= 0x80) {
        tmp[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (unsigned char)v;
    if (hx_buf_append(w->b, tmp, (size_t)n))
        w->fail = 1;
}

static void w_zz(tc_w_t *w, int64_t v)
{
    w_uvar(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void tc_w_init(tc_w_t *w, hx_buf_t *b)
{
    memset(w, 0, sizeof *w);
    w->b = b;
}

void tc_w_field(tc_w_t *w, int16_t id, int type)
{
    int16_t last = w->last[w->depth];
    int delta = id - last;
    if (delta > 0 && delta <= 15) {
        w_byte(w, (unsigned char)(delta << 4 | type));
    } else {
        w_byte(w, (unsigned char)type);
        w_zz(w, id);
    }
    w->last[w->depth] = id;
}

void tc_w_i32(tc_w_t *w, int16_t id, int32_t v)
{
    tc_w_field(w, id, TC_I32);
    w_zz(w, v);
}

void tc_w_i64(tc_w_t *w, int16_t id, int64_t v)
{
    tc_w_field(w, id, TC_I64);
    w_zz(w, v);
}

void tc_w_bool(tc_w_t *w, int16_t id, int v)
{
    tc_w_field(w, id, v ? TC_TRUE : TC_FALSE);
}

void tc_w_bin(tc_w_t *w, int16_t id, const void *p, size_t n)
{
    tc_w_field(w, id, TC_BINARY);
    tc_w_elem_bin(w, p, n);
}

void tc_w_str(tc_w_t *w, int16_t id, const char *s)
{
    tc_w_bin(w, id, s, strlen(s));
}

static void open_level(tc_w_t *w)
{
    if (w->depth + 1 >= TC_MAX_DEPTH) {
        w->fail = 1;
        return;
    }
    w->last[++w->depth] = 0;
}

void tc_w_struct_begin(tc_w_t *w, int16_t id)
{
    if (id)
        tc_w_field(w, id, TC_STRUCT);
    open_level(w);
}

void tc_w_struct_end(tc_w_t *w)
{
    w_byte(w, TC_STOP);
    if (w->depth > 0)
        w->depth--;
}

void tc_w_list_begin(tc_w_t *w, int16_t id, int elem_type, size_t n)
{
    tc_w_field(w, id, TC_LIST);
    if (n < 15) {
        w_byte(w, (unsigned char)(n << 4 | (size_t)elem_type));
    } else {
        w_byte(w, (unsigned char)(0xF0 | elem_type));
        w_uvar(w, n);
    }
}

void tc_w_elem_i32(tc_w_t *w, int32_t v)
{
    w_zz(w, v);
}

void tc_w_elem_bin(tc_w_t *w, const void *p, size_t n)
{
    w_uvar(w, n);
    if (n && hx_buf_append(w->b, p, n))
        w->fail = 1;
}

void tc_w_elem_struct_begin(tc_w_t *w)
{
    open_level(w);
}

/* ---- reader ---- */

void tc_r_init(tc_r_t *r, const void *p, size_t len)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    r->len = len;
}

static int r_byte(tc_r_t *r)
{
    if (r->fail || r->pos >= r->len) {
        r->fail = 1;
        return 0;
    }
    return r->p[r->pos++];
}

static uint64_t r_uvar(tc_r_t *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        int c = r_byte(r);
        if (r->fail)
            return 0;
        v |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->fail = 1;
    return 0;
}

int64_t tc_r_varint_i(tc_r_t *r)
{
    uint64_t u = r_uvar(r);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

int tc_r_field(tc_r_t *r, int16_t *id, int *type)
{
    int c = r_byte(r);
    if (r->fail || c == TC_STOP)
        return 0;
    int t = c & 0x0F, delta = c >> 4;
    int64_t fid = delta ? r->last[r->depth] + delta : tc_r_varint_i(r);
    if (fid < -32768 || fid > 32767 || t > TC_STRUCT || t == TC_STOP) {
        r->fail = 1;
        return 0;
    }
    r->last[r->depth] = (int16_t)fid;
    *id = (int16_t)fid;
    *type = t;
    if (t == TC_TRUE || t == TC_FALSE)
        r->bool_val = t == TC_TRUE;
    return !r->fail;
}

int32_t tc_r_i32(tc_r_t *r, int type)
{
    if (type == TC_BYTE)
        return (int8_t)r_byte(r);
    if (type != TC_I16 && type != TC_I32) {
        r->fail = 1;
        return 0;
    }
    int64_t v = tc_r_varint_i(r);
    if (v < INT32_MIN || v > INT32_MAX)
        r->fail = 1;
    return (int32_t)v;
}

int64_t tc_r_i64(tc_r_t *r, int type)
{
    if (type != TC_I16 && type != TC_I32 && type != TC_I64) {
        r->fail = 1;
        return 0;
    }
    return tc_r_varint_i(r);
}

int tc_r_bool(tc_r_t *r, int type)
{
    if (type != TC_TRUE && type != TC_FALSE) {
        r->fail = 1;
        return 0;
    }
    return r->bool_val;
}

int tc_r_bin(tc_r_t *r, int type, const unsigned char **p, size_t *n)
{
    if (type != TC_BINARY) {
        r->fail = 1;
        return -1;
    }
    uint64_t len = r_uvar(r);
    if (r->fail || len > r->len - r->pos) {
        r->fail = 1;
        return -1;
    }
    *p = r->p + r->pos;
    *n = (size_t)len;
    r->pos += (size_t)len;
    return 0;
}

int tc_r_struct_begin(tc_r_t *r, int type)
{
    if (type != TC_STRUCT || r->depth + 1 >= TC_MAX_DEPTH) {
        r->fail = 1;
        return -1;
    }
    r->last[++r->depth] = 0;
    return 0;
}

void tc_r_struct_end(tc_r_t *r)
{
    if (r->depth > 0)
        r->depth--;
}

int tc_r_list(tc_r_t *r, int type, int *elem_type, size_t *n)
{
    if (type != TC_LIST && type != TC_SET) {
        r->fail = 1;
        return -1;
    }
    int c = r_byte(r);
    uint64_t size = (uint64_t)(c >> 4);
    if (size == 15)
        size = r_uvar(r);
    *elem_type = c & 0x0F;
    /* Every element takes at least one byte except booleans inside a list,
     * which also take one: a count beyond the bytes left is a lie. */
    if (r->fail || size > r->len - r->pos) {
        r->fail = 1;
        return -1;
    }
    *n = (size_t)size;
    return 0;
}

static void skip_n(tc_r_t *r, size_t n)
{
    if (n > r->len - r->pos)
        r->fail = 1;
    else
        r->pos += n;
}

static void skip_depth(tc_r_t *r, int type, int depth)
{
    if (r->fail)
        return;
    if (depth > TC_MAX_DEPTH) {
        r->fail = 1;
        return;
    }
    switch (type) {
    case TC_TRUE:
    case TC_FALSE:
        return;                 /* value lives in the field header */
    case TC_BYTE:
        skip_n(r, 1);
        return;
    case TC_I16:
    case TC_I32:
    case TC_I64:
        (void)r_uvar(r);
        return;
    case TC_DOUBLE:
        skip_n(r, 8);
        return;
    case TC_BINARY: {
        uint64_t len = r_uvar(r);
        if (!r->fail && len > r->len - r->pos)
            r->fail = 1;
        else if (!r->fail)
            r->pos += (size_t)len;
        return;
    }
    case TC_LIST:
    case TC_SET: {
        int et;
        size_t n;
        if (tc_r_list(r, type, &et, &n))
            return;
        for (size_t i = 0; i < n && !r->fail; i++) {
            if (et == TC_TRUE || et == TC_FALSE)
                skip_n(r, 1);   /* booleans in collections take a byte */
            else
                skip_depth(r, et, depth + 1);
        }
        return;
    }
    case TC_MAP: {
        uint64_t n = r_uvar(r);
        if (r->fail || n == 0)
            return;
        if (n > r->len - r->pos) {
            r->fail = 1;
            return;
        }
        int kv = r_byte(r);
        for (uint64_t i = 0; i < n && !r->fail; i++) {
            int kt = kv >> 4, vt = kv & 0x0F;
            if (kt == TC_TRUE || kt == TC_FALSE) skip_n(r, 1); else skip_depth(r, kt, depth + 1);
            if (vt == TC_TRUE || vt == TC_FALSE) skip_n(r, 1); else skip_depth(r, vt, depth + 1);
        }
        return;
    }
    case TC_STRUCT: {
        if (tc_r_struct_begin(r, type))
            return;
        int16_t id;
        int t;
        while (tc_r_field(r, &id, &t))
            skip_depth(r, t, depth + 1);
        tc_r_struct_end(r);
        return;
    }
    default:
        r->fail = 1;
    }
}

void tc_r_skip(tc_r_t *r, int type)
{
    skip_depth(r, type, 0);
}
