/* Upserts merged inside one envelope (hx_graph_encode_opts_t.coalesce): an
 * extraction poll mentions the same people, tools and conversations over and
 * over, and every repeat used to cost an item to encode, read, apply and
 * archive. The first upsert of a key stays where it is (it may create the
 * node or relationship, so it sets created_at and creates endpoint stubs);
 * the later ones fold into one pending item, written when the envelope
 * closes or when the next upsert of the key cannot fold in. Applying the
 * envelope then gives what applying every item in order would have: counts
 * and strengths add, aliases join in order, properties overlay, and the
 * last upsert's time is the updated time (hx_graph.h). */
#include "graph/graph_int.h"
#include "helix/hx_hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t key_hash(const hx_graph_op_t *op)
{
    if (op->kind == HX_GRAPH_OP_ENTITY_UPSERT)
        return hx_hash64(op->id, strlen(op->id));
    uint64_t h = hx_hash64(op->from, strlen(op->from));
    h = h * 0x9e3779b97f4a7c15ull ^ hx_hash64(op->to, strlen(op->to));
    return h * 0x9e3779b97f4a7c15ull ^ hx_hash64(op->rel_type, strlen(op->rel_type));
}

static int same_key(const hx_graph_op_t *a, const hx_graph_op_t *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == HX_GRAPH_OP_ENTITY_UPSERT)
        return !strcmp(a->id, b->id);
    return !strcmp(a->from, b->from) && !strcmp(a->to, b->to) && !strcmp(a->rel_type, b->rel_type);
}

int hx_gm_init(hx_gm_t *m, size_t n_ops, size_t n_slots)
{
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < 2 * n_ops)
        cap *= 2;
    m->map = calloc(cap, sizeof *m->map);
    m->head = malloc(n_slots * sizeof *m->head);
    m->tail = malloc(n_slots * sizeof *m->tail);
    m->pend_n = calloc(n_slots, sizeof *m->pend_n);
    m->pend_bytes = calloc(n_slots, sizeof *m->pend_bytes);
    if (!m->map || !m->head || !m->tail || !m->pend_n || !m->pend_bytes) {
        hx_gm_free(m);
        return HX_ENOMEM;
    }
    m->cap = cap;
    for (size_t i = 0; i < n_slots; i++)
        m->head[i] = m->tail[i] = -1;
    return HX_OK;
}

static void rest_clear(hx_gm_rest_t *r)
{
    free(r->aliases);
    json_decref(r->props);
    r->aliases = NULL;
    r->props = NULL;
    r->n_aliases = r->cap_aliases = 0;
}

void hx_gm_free(hx_gm_t *m)
{
    for (size_t i = 0; i < m->n_rests; i++)
        rest_clear(&m->rests[i]);
    free(m->rests);
    free(m->map);
    free(m->head);
    free(m->tail);
    free(m->pend_n);
    free(m->pend_bytes);
    memset(m, 0, sizeof *m);
}

int hx_gm_coalescible(const hx_graph_op_t *op)
{
    return op->kind == HX_GRAPH_OP_ENTITY_UPSERT || op->kind == HX_GRAPH_OP_REL_UPSERT;
}

hx_gm_entry_t *hx_gm_find(hx_gm_t *m, const hx_graph_op_t *ops, size_t i, uint32_t slot, uint32_t gen, int *fresh)
{
    uint64_t h = key_hash(&ops[i]);
    size_t at = (size_t)h & (m->cap - 1);
    for (;; at = (at + 1) & (m->cap - 1)) {
        hx_gm_entry_t *e = &m->map[at];
        if (!e->used) {
            *e = (hx_gm_entry_t){.used = 1, .h = h, .op = (uint32_t)i, .slot = slot, .gen = gen, .rest = -1};
            *fresh = 1;
            return e;
        }
        if (e->h == h && e->slot == slot && same_key(&ops[e->op], &ops[i])) {
            *fresh = e->gen != gen; /* from an envelope of the slot closed since */
            if (*fresh)
                *e = (hx_gm_entry_t){.used = 1, .h = h, .op = (uint32_t)i, .slot = slot, .gen = gen, .rest = -1};
            return e;
        }
    }
}

static int aliases_add(hx_gm_rest_t *r, const char *const *al, size_t n, size_t *bytes)
{
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        for (size_t k = 0; k < r->n_aliases && !seen; k++)
            seen = !strcmp(r->aliases[k], al[i]);
        if (seen)
            continue;
        if (r->n_aliases == HX_GRAPH_ALIASES_MAX)
            return 0;
        if (r->n_aliases == r->cap_aliases) {
            size_t nc = r->cap_aliases ? r->cap_aliases * 2 : 4;
            const char **p = realloc(r->aliases, nc * sizeof *p);
            if (!p)
                return HX_ENOMEM;
            r->aliases = p;
            r->cap_aliases = nc;
        }
        r->aliases[r->n_aliases++] = al[i];
        *bytes += strlen(al[i]) + 3;
    }
    return 1;
}

/* props overlaid by patch (a null value stays: it removes the key when
 * applied); 0 when the result would break the properties limits. */
static int props_overlay(hx_gm_rest_t *r, const json_t *patch, size_t *bytes)
{
    if (!patch)
        return 1;
    if (!r->props) {
        r->props = json_incref((json_t *)patch);
        return 1;
    }
    /* The usual case: the later upsert names every key the earlier ones did. */
    int covers = 1;
    const char *k;
    json_t *v;
    json_object_foreach(r->props, k, v) if (!json_object_get(patch, k))
    {
        covers = 0;
        break;
    }
    if (covers) {
        json_decref(r->props);
        r->props = json_incref((json_t *)patch);
        return 1;
    }
    json_t *o = json_copy(r->props);
    if (!o || json_object_update(o, (json_t *)patch)) {
        json_decref(o);
        return HX_ENOMEM;
    }
    hx_err_t e;
    if (hx_graph_props_validate(o, "", &e)) {
        json_decref(o);
        return 0;
    }
    size_t n = json_dumpb(o, NULL, 0, JSON_COMPACT);
    json_decref(r->props);
    r->props = o;
    *bytes += n;
    return 1;
}

/* b folded into r; 0 when it cannot be (the caller writes r first). */
static int rest_fold(hx_gm_rest_t *r, const hx_graph_op_t *b, size_t *bytes)
{
    hx_graph_op_t *a = &r->op;
    if (b->kind == HX_GRAPH_OP_ENTITY_UPSERT) {
        /* A different name, type or description is a change of value; the
         * order of changes matters, so they are not folded. */
#define SAME(f) (!a->f || !b->f || !strcmp(a->f, b->f))
        if (!SAME(label) || !SAME(type) || !SAME(name) || !SAME(description))
            return 0;
#undef SAME
        int64_t m = a->mentions + b->mentions;
        if (m > HX_GRAPH_MENTIONS_MAX)
            return 0;
        int rc = aliases_add(r, b->aliases, b->n_aliases, bytes);
        if (rc <= 0)
            return rc;
        if ((rc = props_overlay(r, b->properties, bytes)) <= 0)
            return rc;
        if (!a->label)
            a->label = b->label;
        if (!a->type)
            a->type = b->type;
        if (!a->name)
            a->name = b->name;
        if (!a->description)
            a->description = b->description;
        a->mentions = m;
        r->conf_sum += b->confidence * (double)b->mentions;
        if (b->mentions > 0 || !r->weighted)
            r->last_conf = b->confidence;
        r->weighted |= b->mentions > 0;
    } else {
        double s = b->strength_set ? b->strength : a->strength + b->strength;
        if (!(s <= HX_GRAPH_STRENGTH_MAX))
            return 0;
        int rc = props_overlay(r, b->properties, bytes);
        if (rc <= 0)
            return rc;
        a->strength = s;
        a->strength_set |= b->strength_set;
    }
    a->ts_ms = b->ts_ms;
    return 1;
}

static int rest_start(hx_gm_rest_t *r, const hx_graph_op_t *b, size_t first_bytes, size_t *bytes)
{
    rest_clear(r);
    r->op = *b;
    r->op.aliases = NULL;
    r->op.n_aliases = 0;
    r->op.properties = NULL;
    r->op.mentions = 0;
    r->op.strength = 0;
    r->op.strength_set = 0;
    r->conf_sum = 0;
    r->weighted = 0;
    /* about what the first item took: the same ids and names */
    *bytes = first_bytes;
    int rc = rest_fold(r, b, bytes);
    return rc < 0 ? rc : HX_OK;
}

int hx_gm_fold(hx_gm_t *m, hx_gm_entry_t *e, const hx_graph_op_t *op, int *held)
{
    *held = 1;
    if (e->rest < 0) {
        if (m->n_rests == m->cap_rests) {
            size_t nc = m->cap_rests ? m->cap_rests * 2 : 64;
            hx_gm_rest_t *p = realloc(m->rests, nc * sizeof *p);
            if (!p)
                return HX_ENOMEM;
            m->rests = p;
            m->cap_rests = nc;
        }
        hx_gm_rest_t *r = &m->rests[m->n_rests];
        memset(r, 0, sizeof *r);
        size_t bytes = 0;
        int rc = rest_start(r, op, e->first_bytes, &bytes);
        if (rc)
            return rc;
        r->bytes = bytes;
        r->next = -1;
        e->rest = (int32_t)m->n_rests++;
        if (m->tail[e->slot] >= 0)
            m->rests[m->tail[e->slot]].next = e->rest;
        else
            m->head[e->slot] = e->rest;
        m->tail[e->slot] = e->rest;
        m->pend_n[e->slot]++;
        m->pend_bytes[e->slot] += bytes;
        return HX_OK;
    }
    hx_gm_rest_t *r = &m->rests[e->rest];
    size_t bytes = r->bytes;
    int rc = rest_fold(r, op, &bytes);
    if (rc < 0)
        return rc;
    if (!rc) {
        *held = 0;
        return HX_OK;
    }
    m->pend_bytes[e->slot] += bytes - r->bytes;
    r->bytes = bytes;
    return HX_OK;
}

int hx_gm_restart(hx_gm_t *m, hx_gm_entry_t *e, const hx_graph_op_t *op)
{
    hx_gm_rest_t *r = &m->rests[e->rest];
    size_t bytes = 0;
    int rc = rest_start(r, op, e->first_bytes, &bytes);
    m->pend_bytes[e->slot] += bytes - r->bytes;
    r->bytes = bytes;
    return rc;
}

void hx_gm_op(const hx_gm_rest_t *r, hx_graph_op_t *out)
{
    *out = r->op;
    out->aliases = r->aliases;
    out->n_aliases = r->n_aliases;
    out->properties = r->props;
    if (r->op.kind == HX_GRAPH_OP_ENTITY_UPSERT) {
        double c = r->op.mentions > 0 ? r->conf_sum / (double)r->op.mentions : r->last_conf;
        out->confidence = c > 1 ? 1 : c < 0 ? 0 : c;
    }
}

int hx_gm_drain(hx_gm_t *m, uint32_t slot, hx_gm_put_fn put, void *ctx)
{
    int rc = HX_OK;
    for (int32_t i = m->head[slot]; i >= 0 && !rc; i = m->rests[i].next) {
        hx_graph_op_t op;
        hx_gm_op(&m->rests[i], &op);
        rc = put(ctx, &op);
        rest_clear(&m->rests[i]);
    }
    m->head[slot] = m->tail[slot] = -1;
    m->pend_n[slot] = 0;
    m->pend_bytes[slot] = 0;
    return rc;
}
