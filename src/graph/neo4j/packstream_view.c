/* Reading PackStream trees: lookups, equality, rendering and typed views of
 * the graph structures. */
#include "graph/neo4j/packstream.h"

#include <inttypes.h>
#include <string.h>

hx_ps_value_t *hx_ps_new(hx_ps_arena_t *a, hx_ps_type_t type, uint32_t n)
{
    hx_ps_value_t *v = hx_ps_arena_alloc(a, sizeof *v);
    if (!v)
        return NULL;
    v->type = type;
    if (type == HX_PS_LIST || type == HX_PS_MAP || type == HX_PS_STRUCT) {
        size_t count = (size_t)n * (type == HX_PS_MAP ? 2 : 1);
        v->n = n;
        v->u.items = hx_ps_arena_alloc(a, (count ? count : 1) * sizeof *v);
        if (!v->u.items)
            return NULL;
    }
    return v;
}

void hx_ps_set_string(hx_ps_arena_t *a, hx_ps_value_t *v, const char *s)
{
    size_t n = strlen(s);
    v->type = HX_PS_STRING;
    v->u.s = hx_ps_arena_strdup(a, s, n);
    v->n = v->u.s ? (uint32_t)n : 0;
    if (!v->u.s)
        v->u.s = "";
}

const hx_ps_value_t *hx_ps_map_get(const hx_ps_value_t *v, const char *key)
{
    if (!v || v->type != HX_PS_MAP)
        return NULL;
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < v->n; i++) {
        const hx_ps_value_t *k = &v->u.items[2 * i];
        if (k->n == kl && memcmp(k->u.s, key, kl) == 0)
            return &v->u.items[2 * i + 1];
    }
    return NULL;
}

const char *hx_ps_map_str(const hx_ps_value_t *v, const char *key)
{
    const hx_ps_value_t *x = hx_ps_map_get(v, key);
    return x && x->type == HX_PS_STRING ? x->u.s : NULL;
}

int hx_ps_equal(const hx_ps_value_t *a, const hx_ps_value_t *b)
{
    if (a->type != b->type || a->n != b->n)
        return 0;
    switch (a->type) {
    case HX_PS_NULL: return 1;
    case HX_PS_BOOL: return !a->u.b == !b->u.b;
    case HX_PS_INT: return a->u.i == b->u.i;
    case HX_PS_FLOAT: return memcmp(&a->u.f, &b->u.f, sizeof a->u.f) == 0;
    case HX_PS_BYTES:
    case HX_PS_STRING: return a->n == 0 || memcmp(a->u.s, b->u.s, a->n) == 0;
    case HX_PS_STRUCT:
        if (a->tag != b->tag)
            return 0;
        /* fall through */
    case HX_PS_LIST:
        for (uint32_t i = 0; i < a->n; i++)
            if (!hx_ps_equal(&a->u.items[i], &b->u.items[i]))
                return 0;
        return 1;
    case HX_PS_MAP:
        for (uint32_t i = 0; i < a->n; i++) {
            const hx_ps_value_t *k = &a->u.items[2 * i];
            const hx_ps_value_t *other = NULL;
            for (uint32_t j = 0; j < b->n && !other; j++) {
                const hx_ps_value_t *bk = &b->u.items[2 * j];
                if (bk->n == k->n && memcmp(bk->u.s, k->u.s, k->n) == 0)
                    other = &b->u.items[2 * j + 1];
            }
            if (!other || !hx_ps_equal(&a->u.items[2 * i + 1], other))
                return 0;
        }
        return 1;
    }
    return 0;
}

static int fmt(const hx_ps_value_t *v, hx_buf_t *out, size_t max, int depth)
{
    if (out->len >= max)
        return 0;
    if (depth > HX_PS_MAX_DEPTH)
        return hx_buf_puts(out, "...");
    int rc = 0;
    switch (v->type) {
    case HX_PS_NULL: return hx_buf_puts(out, "null");
    case HX_PS_BOOL: return hx_buf_puts(out, v->u.b ? "true" : "false");
    case HX_PS_INT: return hx_buf_printf(out, "%" PRId64, v->u.i);
    case HX_PS_FLOAT: return hx_buf_printf(out, "%.17g", v->u.f);
    case HX_PS_STRING: {
        size_t n = v->n < max - out->len ? v->n : max - out->len;
        return hx_buf_printf(out, "\"%.*s\"", (int)n, v->u.s);
    }
    case HX_PS_BYTES:
        rc = hx_buf_puts(out, "#");
        for (uint32_t i = 0; !rc && i < v->n && out->len < max; i++)
            rc = hx_buf_printf(out, "%02x", (unsigned char)v->u.s[i]);
        return rc;
    case HX_PS_LIST:
    case HX_PS_STRUCT:
        if (v->type == HX_PS_STRUCT)
            rc = hx_buf_printf(out, "%c(", v->tag >= 0x20 && v->tag < 0x7F ? v->tag : '?');
        else
            rc = hx_buf_puts(out, "[");
        for (uint32_t i = 0; !rc && i < v->n; i++) {
            if (i)
                rc = hx_buf_puts(out, ", ");
            if (!rc)
                rc = fmt(&v->u.items[i], out, max, depth + 1);
        }
        return rc ? rc : hx_buf_puts(out, v->type == HX_PS_STRUCT ? ")" : "]");
    case HX_PS_MAP:
        rc = hx_buf_puts(out, "{");
        for (uint32_t i = 0; !rc && i < v->n; i++) {
            const hx_ps_value_t *k = &v->u.items[2 * i];
            rc = hx_buf_printf(out, "%s%.*s: ", i ? ", " : "", (int)k->n, k->u.s);
            if (!rc)
                rc = fmt(&v->u.items[2 * i + 1], out, max, depth + 1);
        }
        return rc ? rc : hx_buf_puts(out, "}");
    }
    return 0;
}

int hx_ps_format(const hx_ps_value_t *v, hx_buf_t *out, size_t max)
{
    size_t limit = out->len + max;
    int rc = fmt(v, out, limit, 0);
    if (!rc && out->len > limit) {
        out->len = limit;
        rc = hx_buf_puts(out, "...");
    }
    return rc;
}

static int is_struct(const hx_ps_value_t *v, uint8_t tag) { return v && v->type == HX_PS_STRUCT && v->tag == tag; }

static const char *opt_str(const hx_ps_value_t *v, uint32_t i)
{
    return i < v->n && v->u.items[i].type == HX_PS_STRING ? v->u.items[i].u.s : NULL;
}

/* The decoder checked arity and field types of these tags; trees built by
 * hand are checked here too, since a view must never read past a struct. */
int hx_ps_as_node(const hx_ps_value_t *v, hx_ps_node_t *out)
{
    if (!is_struct(v, HX_PS_TAG_NODE) || v->n < 3 || v->u.items[0].type != HX_PS_INT ||
        v->u.items[1].type != HX_PS_LIST || v->u.items[2].type != HX_PS_MAP)
        return HX_EINVAL;
    out->id = v->u.items[0].u.i;
    out->labels = &v->u.items[1];
    out->props = &v->u.items[2];
    out->element_id = opt_str(v, 3);
    return 0;
}

int hx_ps_as_rel(const hx_ps_value_t *v, hx_ps_rel_t *out)
{
    memset(out, 0, sizeof *out);
    if (is_struct(v, HX_PS_TAG_RELATIONSHIP) && v->n >= 5 && v->u.items[0].type == HX_PS_INT &&
        v->u.items[1].type == HX_PS_INT && v->u.items[2].type == HX_PS_INT && v->u.items[3].type == HX_PS_STRING &&
        v->u.items[4].type == HX_PS_MAP) {
        out->id = v->u.items[0].u.i;
        out->start_id = v->u.items[1].u.i;
        out->end_id = v->u.items[2].u.i;
        out->type = v->u.items[3].u.s;
        out->props = &v->u.items[4];
        out->element_id = opt_str(v, 5);
        out->start_element_id = opt_str(v, 6);
        out->end_element_id = opt_str(v, 7);
        return 0;
    }
    if (is_struct(v, HX_PS_TAG_UNBOUND_REL) && v->n >= 3 && v->u.items[0].type == HX_PS_INT &&
        v->u.items[1].type == HX_PS_STRING && v->u.items[2].type == HX_PS_MAP) {
        out->id = v->u.items[0].u.i;
        out->start_id = out->end_id = -1;
        out->type = v->u.items[1].u.s;
        out->props = &v->u.items[2];
        out->element_id = opt_str(v, 3);
        return 0;
    }
    return HX_EINVAL;
}

/* Path indices alternate: a 1-based relationship index (negative when the
 * relationship points backwards), then a 0-based node index; node 0 is the
 * start and is implicit. */
int hx_ps_as_path(hx_ps_arena_t *a, const hx_ps_value_t *v, hx_ps_path_t *out)
{
    memset(out, 0, sizeof *out);
    if (!is_struct(v, HX_PS_TAG_PATH) || v->n != 3)
        return HX_EINVAL;
    const hx_ps_value_t *nodes = &v->u.items[0], *rels = &v->u.items[1], *idx = &v->u.items[2];
    if (nodes->type != HX_PS_LIST || rels->type != HX_PS_LIST || idx->type != HX_PS_LIST || nodes->n == 0 ||
        idx->n % 2)
        return HX_EINVAL;
    size_t len = idx->n / 2;
    out->nodes = hx_ps_arena_alloc(a, (len + 1) * sizeof *out->nodes);
    out->rels = hx_ps_arena_alloc(a, (len ? len : 1) * sizeof *out->rels);
    out->directions = hx_ps_arena_alloc(a, (len ? len : 1) * sizeof *out->directions);
    if (!out->nodes || !out->rels || !out->directions)
        return HX_ENOMEM;
    out->nodes[0] = &nodes->u.items[0];
    for (size_t k = 0; k < len; k++) {
        const hx_ps_value_t *ri = &idx->u.items[2 * k], *ni = &idx->u.items[2 * k + 1];
        if (ri->type != HX_PS_INT || ni->type != HX_PS_INT || ri->u.i == 0 || ri->u.i > (int64_t)rels->n ||
            ri->u.i < -(int64_t)rels->n || ni->u.i < 0 || ni->u.i >= (int64_t)nodes->n)
            return HX_EINVAL;
        int64_t r = ri->u.i > 0 ? ri->u.i : -ri->u.i;
        out->rels[k] = &rels->u.items[r - 1];
        out->directions[k] = ri->u.i > 0 ? 1 : -1;
        out->nodes[k + 1] = &nodes->u.items[ni->u.i];
    }
    out->length = len;
    return 0;
}
