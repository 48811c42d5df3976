/* PackStream v1 arena, encoder and the hostile-input decoder. */
#include "graph/neo4j/packstream.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* ---- arena ---- */
struct hx_ps_chunk {
    hx_ps_chunk_t *next;
    size_t cap, used;
    _Alignas(8) unsigned char data[];
};

#define HX_PS_CHUNK_MIN 16384

void *hx_ps_arena_alloc(hx_ps_arena_t *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n == 0)
        n = 8;
    hx_ps_chunk_t *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > HX_PS_CHUNK_MIN ? n : HX_PS_CHUNK_MIN;
        /* Chunks grow with the arena so a big result costs few mallocs. */
        if (a->used / 4 > cap && a->used / 4 < ((size_t)1 << 26))
            cap = (a->used / 4 + 7) & ~(size_t)7;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    a->used += n;
    memset(p, 0, n);
    return p;
}

char *hx_ps_arena_strdup(hx_ps_arena_t *a, const char *s, size_t n)
{
    char *p = hx_ps_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void hx_ps_arena_free(hx_ps_arena_t *a)
{
    hx_ps_chunk_t *c = a->head;
    while (c) {
        hx_ps_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}

/* ---- encoding ---- */
static int put_be(hx_buf_t *b, uint8_t marker, uint64_t v, int bytes)
{
    unsigned char tmp[9];
    tmp[0] = marker;
    for (int i = 0; i < bytes; i++)
        tmp[1 + i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    return hx_buf_append(b, tmp, (size_t)bytes + 1);
}

int hx_ps_put_null(hx_buf_t *b) { return hx_buf_putc(b, 0xC0); }
int hx_ps_put_bool(hx_buf_t *b, int v) { return hx_buf_putc(b, v ? 0xC3 : 0xC2); }

int hx_ps_put_int(hx_buf_t *b, int64_t v)
{
    if (v >= -16 && v <= 127)
        return hx_buf_putc(b, (unsigned char)(int8_t)v);
    if (v >= INT8_MIN && v <= INT8_MAX)
        return put_be(b, 0xC8, (uint64_t)v, 1);
    if (v >= INT16_MIN && v <= INT16_MAX)
        return put_be(b, 0xC9, (uint64_t)v, 2);
    if (v >= INT32_MIN && v <= INT32_MAX)
        return put_be(b, 0xCA, (uint64_t)v, 4);
    return put_be(b, 0xCB, (uint64_t)v, 8);
}

int hx_ps_put_float(hx_buf_t *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    return put_be(b, 0xC1, bits, 8);
}

/* tiny is the 4-bit-size marker base, or 0 when the type has none (bytes). */
static int put_sized(hx_buf_t *b, uint8_t tiny, uint8_t m8, uint64_t n)
{
    if (tiny && n < 16)
        return hx_buf_putc(b, (unsigned char)(tiny | n));
    if (n <= 0xFF)
        return put_be(b, m8, n, 1);
    if (n <= 0xFFFF)
        return put_be(b, (uint8_t)(m8 + 1), n, 2);
    return put_be(b, (uint8_t)(m8 + 2), n, 4);
}

int hx_ps_put_bytes(hx_buf_t *b, const void *p, size_t n)
{
    if (n > UINT32_MAX)
        return HX_ETOOBIG;
    int rc = put_sized(b, 0, 0xCC, n);
    return rc ? rc : hx_buf_append(b, p, n);
}

int hx_ps_put_string(hx_buf_t *b, const char *s, size_t n)
{
    if (n > UINT32_MAX)
        return HX_ETOOBIG;
    int rc = put_sized(b, 0x80, 0xD0, n);
    return rc ? rc : hx_buf_append(b, s, n);
}

int hx_ps_put_cstr(hx_buf_t *b, const char *s) { return hx_ps_put_string(b, s, strlen(s)); }
int hx_ps_put_list_header(hx_buf_t *b, uint32_t n) { return put_sized(b, 0x90, 0xD4, n); }
int hx_ps_put_map_header(hx_buf_t *b, uint32_t n) { return put_sized(b, 0xA0, 0xD8, n); }

int hx_ps_put_struct_header(hx_buf_t *b, uint8_t tag, uint8_t nfields)
{
    if (nfields > 15)
        return HX_EINVAL;
    unsigned char h[2] = {(unsigned char)(0xB0 | nfields), tag};
    return hx_buf_append(b, h, 2);
}

int hx_ps_put_value(hx_buf_t *b, const hx_ps_value_t *v)
{
    int rc = 0;
    switch (v->type) {
    case HX_PS_NULL: return hx_ps_put_null(b);
    case HX_PS_BOOL: return hx_ps_put_bool(b, v->u.b);
    case HX_PS_INT: return hx_ps_put_int(b, v->u.i);
    case HX_PS_FLOAT: return hx_ps_put_float(b, v->u.f);
    case HX_PS_BYTES: return hx_ps_put_bytes(b, v->u.s, v->n);
    case HX_PS_STRING: return hx_ps_put_string(b, v->u.s, v->n);
    case HX_PS_LIST:
        rc = hx_ps_put_list_header(b, v->n);
        for (uint32_t i = 0; !rc && i < v->n; i++)
            rc = hx_ps_put_value(b, &v->u.items[i]);
        return rc;
    case HX_PS_MAP:
        rc = hx_ps_put_map_header(b, v->n);
        for (uint32_t i = 0; !rc && i < 2 * v->n; i++)
            rc = hx_ps_put_value(b, &v->u.items[i]);
        return rc;
    case HX_PS_STRUCT:
        if (v->n > 15)
            return HX_EINVAL;
        rc = hx_ps_put_struct_header(b, v->tag, (uint8_t)v->n);
        for (uint32_t i = 0; !rc && i < v->n; i++)
            rc = hx_ps_put_value(b, &v->u.items[i]);
        return rc;
    }
    return HX_EINVAL;
}

/* ---- decoding ---- */
typedef struct dec {
    hx_ps_arena_t *a;
    const unsigned char *p;
    size_t len, pos;
    hx_err_t *err;
} dec_t;

static int bad(dec_t *d, const char *what)
{
    return hx_err_set(d->err, HX_ECORRUPT, "packstream: %s at byte %zu", what, d->pos);
}

static int need(dec_t *d, size_t n)
{
    return d->len - d->pos >= n ? 0 : bad(d, "truncated value");
}

static uint64_t rd_be(dec_t *d, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | d->p[d->pos + (size_t)i];
    d->pos += (size_t)bytes;
    return v;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF):
 * Neo4j rejects invalid strings, and so do the JSON shapes we hand out. */
static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int dec_value(dec_t *d, hx_ps_value_t *out, int depth);

static int key_cmp(const void *a, const void *b)
{
    const hx_ps_value_t *x = *(const hx_ps_value_t *const *)a, *y = *(const hx_ps_value_t *const *)b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->u.s, y->u.s, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* A repeated key has no agreed meaning (first or last wins?), so it is
 * refused; sorting keeps a hostile 100K-key map from costing n^2. */
static int check_keys(dec_t *d, const hx_ps_value_t *m)
{
    if (m->n < 2)
        return 0;
    const hx_ps_value_t *small[16], **keys = small;
    if (m->n > 16 && !(keys = malloc(m->n * sizeof *keys)))
        return hx_err_set(d->err, HX_ENOMEM, "packstream: out of memory checking %u map keys", m->n);
    for (uint32_t i = 0; i < m->n; i++)
        keys[i] = &m->u.items[2 * i];
    qsort(keys, m->n, sizeof *keys, key_cmp);
    int dup = 0;
    for (uint32_t i = 1; i < m->n && !dup; i++)
        dup = key_cmp(&keys[i - 1], &keys[i]) == 0;
    if (keys != small)
        free(keys);
    return dup ? bad(d, "duplicate map key") : 0;
}

static int dec_items(dec_t *d, hx_ps_value_t *out, uint64_t count, int depth)
{
    /* Every item takes at least one byte: a count past the bytes left is a
     * lie, and is refused before it becomes an allocation. */
    if (count > d->len - d->pos)
        return bad(d, "container larger than the message");
    out->n = (uint32_t)(out->type == HX_PS_MAP ? count / 2 : count);
    out->u.items = hx_ps_arena_alloc(d->a, (size_t)(count ? count : 1) * sizeof(hx_ps_value_t));
    if (!out->u.items)
        return hx_err_set(d->err, HX_ENOMEM, "packstream: out of memory decoding %llu items",
                          (unsigned long long)count);
    for (uint64_t i = 0; i < count; i++) {
        int rc = dec_value(d, &out->u.items[i], depth + 1);
        if (rc)
            return rc;
        if (out->type == HX_PS_MAP && i % 2 == 0 && out->u.items[i].type != HX_PS_STRING)
            return bad(d, "map key is not a string");
    }
    return out->type == HX_PS_MAP ? check_keys(d, out) : 0;
}

static int dec_blob(dec_t *d, hx_ps_value_t *out, hx_ps_type_t type, uint64_t n)
{
    int rc = need(d, (size_t)n);
    if (rc)
        return rc;
    if (type == HX_PS_STRING && !utf8_ok(d->p + d->pos, (size_t)n))
        return bad(d, "string is not valid UTF-8");
    out->type = type;
    out->n = (uint32_t)n;
    out->u.s = hx_ps_arena_strdup(d->a, (const char *)d->p + d->pos, (size_t)n);
    if (!out->u.s)
        return hx_err_set(d->err, HX_ENOMEM, "packstream: out of memory decoding %llu bytes", (unsigned long long)n);
    d->pos += (size_t)n;
    return 0;
}

/* Field-type signatures of the known structures: i int, s string, m map,
 * f float, l list, L list of strings, N list of Nodes, U list of
 * UnboundRelationships, I list of ints. Older (4.x) arities are listed too. */
typedef struct sig {
    uint8_t tag;
    const char *fields;
} sig_t;

static const sig_t sigs[] = {
    {HX_PS_TAG_NODE, "iLms"},       {HX_PS_TAG_NODE, "iLm"},
    {HX_PS_TAG_RELATIONSHIP, "iiismsss"}, {HX_PS_TAG_RELATIONSHIP, "iiism"},
    {HX_PS_TAG_UNBOUND_REL, "isms"},  {HX_PS_TAG_UNBOUND_REL, "ism"},
    {HX_PS_TAG_PATH, "NUI"},
    {HX_PS_TAG_DATE, "i"},          {HX_PS_TAG_TIME, "ii"},
    {HX_PS_TAG_LOCAL_TIME, "i"},    {HX_PS_TAG_DATETIME, "iii"},
    {HX_PS_TAG_DATETIME_ZONE_ID, "iis"}, {HX_PS_TAG_LOCAL_DATETIME, "ii"},
    {HX_PS_TAG_DURATION, "iiii"},   {HX_PS_TAG_POINT2D, "iff"},
    {HX_PS_TAG_POINT3D, "ifff"},    {HX_PS_TAG_LEGACY_DATETIME, "iii"},
    {HX_PS_TAG_LEGACY_DATETIME_ZONE_ID, "iis"},
};

static int all_items(const hx_ps_value_t *l, hx_ps_type_t t, int tag)
{
    for (uint32_t i = 0; i < l->n; i++) {
        const hx_ps_value_t *x = &l->u.items[i];
        if (x->type != t || (tag >= 0 && x->tag != tag))
            return 0;
    }
    return 1;
}

static int field_ok(const hx_ps_value_t *v, char f)
{
    switch (f) {
    case 'i': return v->type == HX_PS_INT;
    case 's': return v->type == HX_PS_STRING;
    case 'm': return v->type == HX_PS_MAP;
    case 'f': return v->type == HX_PS_FLOAT;
    case 'L': return v->type == HX_PS_LIST && all_items(v, HX_PS_STRING, -1);
    case 'I': return v->type == HX_PS_LIST && all_items(v, HX_PS_INT, -1);
    case 'N': return v->type == HX_PS_LIST && all_items(v, HX_PS_STRUCT, HX_PS_TAG_NODE);
    case 'U': return v->type == HX_PS_LIST && all_items(v, HX_PS_STRUCT, HX_PS_TAG_UNBOUND_REL);
    }
    return 0;
}

static int check_struct(dec_t *d, const hx_ps_value_t *v)
{
    int known = 0;
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        if (sigs[k].tag != v->tag)
            continue;
        known = 1;
        if (strlen(sigs[k].fields) != v->n)
            continue;
        uint32_t i = 0;
        while (i < v->n && field_ok(&v->u.items[i], sigs[k].fields[i]))
            i++;
        if (i == v->n)
            return 0;
    }
    if (!known)
        return 0;
    char what[96];
    snprintf(what, sizeof what, "structure 0x%02X with %u fields of the wrong arity or types", v->tag, v->n);
    return bad(d, what);
}

static int dec_value(dec_t *d, hx_ps_value_t *out, int depth)
{
    if (depth > HX_PS_MAX_DEPTH)
        return bad(d, "values nested deeper than 64");
    int rc = need(d, 1);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    uint8_t m = d->p[d->pos++];
    if (m < 0x80 || m >= 0xF0) {
        out->type = HX_PS_INT;
        out->u.i = (int8_t)m;
        return 0;
    }
    uint8_t hi = m & 0xF0, lo = m & 0x0F;
    if (hi == 0x80)
        return dec_blob(d, out, HX_PS_STRING, lo);
    if (hi == 0x90) {
        out->type = HX_PS_LIST;
        return dec_items(d, out, lo, depth);
    }
    if (hi == 0xA0) {
        out->type = HX_PS_MAP;
        return dec_items(d, out, 2u * lo, depth);
    }
    if (hi == 0xB0) {
        if ((rc = need(d, 1)))
            return rc;
        out->type = HX_PS_STRUCT;
        out->tag = d->p[d->pos++];
        if ((rc = dec_items(d, out, lo, depth)))
            return rc;
        return check_struct(d, out);
    }
    static const int widths[] = {1, 2, 4};
    switch (m) {
    case 0xC0: out->type = HX_PS_NULL; return 0;
    case 0xC2: case 0xC3: out->type = HX_PS_BOOL; out->u.b = m == 0xC3; return 0;
    case 0xC1: {
        if ((rc = need(d, 8)))
            return rc;
        uint64_t bits = rd_be(d, 8);
        out->type = HX_PS_FLOAT;
        memcpy(&out->u.f, &bits, 8);
        return 0;
    }
    case 0xC8: case 0xC9: case 0xCA: case 0xCB: {
        int w = m == 0xCB ? 8 : widths[m - 0xC8];
        if ((rc = need(d, (size_t)w)))
            return rc;
        uint64_t u = rd_be(d, w);
        out->type = HX_PS_INT;
        /* Sign-extend from w bytes. */
        if (w < 8 && (u >> (8 * w - 1)) & 1)
            u |= ~(uint64_t)0 << (8 * w);
        out->u.i = (int64_t)u;
        return 0;
    }
    case 0xCC: case 0xCD: case 0xCE:
    case 0xD0: case 0xD1: case 0xD2:
    case 0xD4: case 0xD5: case 0xD6:
    case 0xD8: case 0xD9: case 0xDA: {
        uint8_t base = m >= 0xD8 ? 0xD8 : m >= 0xD4 ? 0xD4 : m >= 0xD0 ? 0xD0 : 0xCC;
        int w = widths[m - base];
        if ((rc = need(d, (size_t)w)))
            return rc;
        uint64_t n = rd_be(d, w);
        if (base == 0xCC)
            return dec_blob(d, out, HX_PS_BYTES, n);
        if (base == 0xD0)
            return dec_blob(d, out, HX_PS_STRING, n);
        out->type = base == 0xD4 ? HX_PS_LIST : HX_PS_MAP;
        return dec_items(d, out, base == 0xD4 ? n : 2 * n, depth);
    }
    }
    d->pos--;
    char what[48];
    snprintf(what, sizeof what, "unknown marker 0x%02X", m);
    return bad(d, what);
}

int hx_ps_decode(hx_ps_arena_t *a, const unsigned char *p, size_t len, size_t *pos, hx_ps_value_t *out,
                 hx_err_t *err)
{
    dec_t d = {a, p, len, *pos, err};
    if (d.pos > len)
        return hx_err_set(err, HX_EINVAL, "packstream: start offset %zu past the end (%zu)", d.pos, len);
    int rc = dec_value(&d, out, 0);
    if (!rc)
        *pos = d.pos;
    return rc;
}
