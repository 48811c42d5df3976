/* The semantics of every op (hx_graph.h) on the store's structures: upserts
 * that accumulate, detach delete, merge with redirects, stub endpoints; and
 * es_store_apply, the loop that applies a batch. */
#include "graph/embedded/store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- nodes ---- */

/* A dead or merged slot becomes a fresh, empty live node again. */
static void node_revive(es_store_t *s, uint32_t idx)
{
    es_node_t *n = &s->nodes[idx];
    es_node_strings_free(n);
    n->state = ES_LIVE;
    n->merged_into = ES_NONE;
    n->label = ES_LABEL_ENTITY;
    n->type = 0;
    n->mentions = 0;
    n->conf_sum = n->importance = 0;
    n->created = n->updated = 0;
    n->doclen = 0;
    es_tstats(s, n->tenant)->nodes++;
    s->live_nodes++;
}

/* The live node for (tenant, id), created (or revived) as a stub when absent.
 * *fresh says it is new. h is es_node_hash(tenant, id) (the apply loop has it
 * from prefetching). */
static uint32_t node_obtain(es_store_t *s, uint32_t tenant, const char *id, uint32_t h, int *fresh, int *redirected)
{
    uint32_t slot = es_node_slot_h(s, tenant, id, h);
    *fresh = 0;
    *redirected = 0;
    if (slot == ES_NONE) {
        *fresh = 1;
        return es_node_new_h(s, tenant, id, h);
    }
    uint32_t live = es_follow(s, slot);
    if (live != ES_NONE) {
        *redirected = live != slot;
        return live;
    }
    node_revive(s, slot);
    *fresh = 1;
    return slot;
}

/* ---- relationships ---- */

static void adj_remove_out(es_store_t *s, uint32_t r)
{
    es_adj_t *a = &s->nodes[s->rels[r].from].out;
    uint32_t pos = s->rels[r].pos_out, last = a->r[--a->n];
    a->r[pos] = last;
    s->rels[last].pos_out = pos;
}

static void adj_remove_in(es_store_t *s, uint32_t r)
{
    es_adj_t *a = &s->nodes[s->rels[r].to].in;
    uint32_t pos = s->rels[r].pos_in, last = a->r[--a->n];
    a->r[pos] = last;
    s->rels[last].pos_in = pos;
}

static void rel_detach(es_store_t *s, uint32_t r)
{
    adj_remove_out(s, r);
    adj_remove_in(s, r);
    s->rels[r].alive = 0;
    free(s->rels[r].props);
    s->rels[r].props = NULL;
    es_tstats(s, s->nodes[s->rels[r].from].tenant)->rels--;
    s->live_rels--;
}

/* ---- properties ---- */

/* Merges patch into the JSON text *dst (a null value removes the key);
 * only_missing keeps what dst already has. */
static int props_merge(char **dst, const json_t *patch, int only_missing)
{
    if (!patch || !json_object_size(patch))
        return HX_OK;
    json_t *cur = *dst ? hx_graph_props_load(*dst, 0) : NULL;
    if (!cur && !(cur = json_object()))
        return HX_ENOMEM;
    const char *k;
    json_t *v;
    int changed = 0;
    json_object_foreach((json_t *)patch, k, v)
    {
        json_t *old = json_object_get(cur, k);
        if ((only_missing && old) || (json_is_null(v) ? !old : old && json_equal(old, v)))
            continue;
        changed = 1;
        if (json_is_null(v))
            json_object_del(cur, k);
        else if (json_object_set(cur, k, v)) {
            json_decref(cur);
            return HX_ENOMEM;
        }
    }
    /* An entity mentioned again usually brings the properties it has: the
     * stored text stands (it is the canonical dump of the same object). */
    if (!changed && *dst) {
        json_decref(cur);
        return HX_OK;
    }
    char *text = json_object_size(cur) ? hx_graph_props_dump(cur) : NULL;
    int empty = !json_object_size(cur);
    json_decref(cur);
    if (!text && !empty)
        return HX_ENOMEM;
    free(*dst);
    *dst = text;
    return HX_OK;
}

static int props_merge_text(char **dst, const char *src)
{
    if (!src)
        return HX_OK;
    json_t *p = hx_graph_props_load(src, 0);
    int rc = p ? props_merge(dst, p, 1) : HX_OK;
    json_decref(p);
    return rc;
}

/* ---- entities ---- */

static int same_name(const char *a, const char *b)
{
    char na[HX_GRAPH_NAME_MAX + 1], nb[HX_GRAPH_NAME_MAX + 1];
    hx_graph_normalize_name(a, na, sizeof na);
    hx_graph_normalize_name(b, nb, sizeof nb);
    return !strcmp(na, nb);
}

/* Adds alias unless it is the name or already there; 1 when added. */
static int alias_add(es_node_t *n, const char *a, int *oom)
{
    if (!a || !a[0] || (n->name && same_name(n->name, a)))
        return 0;
    for (int i = 0; i < n->n_aliases; i++)
        if (same_name(n->aliases[i], a))
            return 0;
    if (n->n_aliases >= HX_GRAPH_ALIASES_MAX)
        return 0;
    char **p = realloc(n->aliases, (size_t)(n->n_aliases + 1) * sizeof *p);
    char *d = p ? strdup(a) : NULL;
    if (p)
        n->aliases = p;
    if (!d) {
        *oom = 1;
        return 0;
    }
    n->aliases[n->n_aliases++] = d;
    return 1;
}

static int set_str(char **dst, const char *v)
{
    char *d = strdup(v);
    if (!d)
        return HX_ENOMEM;
    free(*dst);
    *dst = d;
    return HX_OK;
}

static void importance_update(es_node_t *n)
{
    n->importance = n->mentions > 0 ? log1p((double)n->mentions) * (n->conf_sum / (double)n->mentions) : 0;
}

static int entity_upsert(es_store_t *s, uint32_t t, const hx_graph_op_t *op, const uint32_t *h)
{
    int fresh, redirected, oom = 0, text = 0;
    uint32_t idx = node_obtain(s, t, op->id, h ? h[0] : es_node_hash(t, op->id), &fresh, &redirected);
    if (idx == ES_NONE)
        return HX_ENOMEM;
    es_node_t *n = &s->nodes[idx];
    if (!redirected) {
        if (op->label)
            n->label = !strcmp(op->label, HX_GRAPH_LABEL_CONVERSATION) ? ES_LABEL_CONVERSATION
                       : !strcmp(op->label, HX_GRAPH_LABEL_USER)       ? ES_LABEL_USER
                                                                       : ES_LABEL_ENTITY;
        if (op->type) {
            uint32_t ty = es_intern(&s->types, op->type, 1);
            if (ty == ES_NONE || ty > UINT16_MAX)
                return HX_ENOMEM;
            n->type = (uint16_t)ty;
        }
        if (op->name && (!n->name || strcmp(n->name, op->name))) {
            if (set_str(&n->name, op->name))
                return HX_ENOMEM;
            text = 1;
        }
    } else if (op->name) {
        text |= alias_add(n, op->name, &oom);
    }
    if (op->description && (!n->desc || strcmp(n->desc, op->description))) {
        if (set_str(&n->desc, op->description))
            return HX_ENOMEM;
        text = 1;
    }
    for (size_t i = 0; i < op->n_aliases; i++)
        text |= alias_add(n, op->aliases[i], &oom);
    if (oom || props_merge(&n->props, op->properties, 0))
        return HX_ENOMEM;
    if (op->mentions > 0) {
        n->mentions += op->mentions;
        n->conf_sum += op->confidence * (double)op->mentions;
        importance_update(n);
    }
    if (fresh)
        n->created = op->ts_ms;
    n->updated = op->ts_ms;
    return text ? es_ft_index(s, idx) : HX_OK;
}

static void entity_delete(es_store_t *s, uint32_t idx)
{
    es_node_t *n = &s->nodes[idx];
    while (n->out.n)
        rel_detach(s, n->out.r[n->out.n - 1]);
    while (n->in.n)
        rel_detach(s, n->in.r[n->in.n - 1]);
    es_ft_unindex(s, idx);
    es_node_strings_free(n);
    n->state = ES_DEAD;
    n->gen++;
    es_tstats(s, n->tenant)->nodes--;
    s->live_nodes--;
}

/* Moves relationship r (one end at a) so that end is b, or folds it into the
 * relationship that already exists there. */
static int rel_move(es_store_t *s, uint32_t r, uint32_t a, uint32_t b)
{
    es_rel_t x = s->rels[r];
    uint32_t nf = x.from == a ? b : x.from, nt = x.to == a ? b : x.to;
    if (nf == nt && (x.from != x.to)) { /* a relationship between the two */
        rel_detach(s, r);
        return HX_OK;
    }
    uint32_t ex = es_rel_find(s, nf, x.type, nt);
    if (ex != ES_NONE && s->rels[ex].alive && ex != r) {
        es_rel_t *e = &s->rels[ex];
        e->strength += x.strength;
        if (x.created && (!e->created || x.created < e->created))
            e->created = x.created;
        if (x.updated > e->updated)
            e->updated = x.updated;
        if (props_merge_text(&e->props, x.props))
            return HX_ENOMEM;
        rel_detach(s, r);
        return HX_OK;
    }
    if (x.from == a) {
        adj_remove_out(s, r);
        s->rels[r].from = b;
        if (es_adj_push(&s->nodes[b].out, r, &s->rels[r].pos_out))
            return HX_ENOMEM;
    }
    if (x.to == a) {
        adj_remove_in(s, r);
        s->rels[r].to = b;
        if (es_adj_push(&s->nodes[b].in, r, &s->rels[r].pos_in))
            return HX_ENOMEM;
    }
    es_rel_set_id(s, &s->rels[r]);
    return es_rel_index(s, r);
}

static int entity_merge(es_store_t *s, uint32_t a, uint32_t b)
{
    es_node_t *na = &s->nodes[a];
    while (na->out.n)
        if (rel_move(s, na->out.r[na->out.n - 1], a, b))
            return HX_ENOMEM;
    while (na->in.n)
        if (rel_move(s, na->in.r[na->in.n - 1], a, b))
            return HX_ENOMEM;
    na = &s->nodes[a];
    es_node_t *nb = &s->nodes[b];
    nb->mentions += na->mentions;
    nb->conf_sum += na->conf_sum;
    nb->importance += na->importance;
    int oom = 0;
    alias_add(nb, na->name, &oom);
    for (int i = 0; i < na->n_aliases; i++)
        alias_add(nb, na->aliases[i], &oom);
    if (oom)
        return HX_ENOMEM;
    if (!nb->created || (na->created && na->created < nb->created))
        nb->created = na->created;
    es_ft_unindex(s, a);
    es_node_strings_free(na);
    na->state = ES_MERGED;
    na->merged_into = b;
    na->merged_gen = nb->gen;
    es_tstats(s, na->tenant)->nodes--;
    s->live_nodes--;
    return es_ft_index(s, b);
}

/* ---- ops ---- */

/* The tenant of the previous op: a batch is almost always one tenant, and
 * decoded ops share one tenant string. */
typedef struct {
    const char *name;
    uint32_t idx;
} tcache_t;

/* h: the es_node_hash of the op's ids under tenant ht (from prefetching), or NULL. */
static int apply_op(es_store_t *s, const hx_graph_op_t *op, tcache_t *tc, const uint32_t *h, uint32_t ht)
{
    uint32_t t;
    if (tc->name && (tc->name == op->tenant || !strcmp(tc->name, op->tenant))) {
        t = tc->idx;
    } else {
        t = es_intern(&s->tenants, op->tenant, 1);
        if (t == ES_NONE || t > UINT16_MAX || !es_tstats(s, t))
            return HX_ENOMEM;
        tc->name = op->tenant;
        tc->idx = t;
    }
    if (ht != t)
        h = NULL;
    switch (op->kind) {
    case HX_GRAPH_OP_ENTITY_UPSERT: return entity_upsert(s, t, op, h);
    case HX_GRAPH_OP_ENTITY_DELETE: {
        uint32_t idx = es_node_resolve(s, t, op->id);
        if (idx != ES_NONE)
            entity_delete(s, idx);
        return HX_OK;
    }
    case HX_GRAPH_OP_ENTITY_MERGE: {
        uint32_t a = es_node_resolve(s, t, op->id), b = es_node_resolve(s, t, op->into);
        return a == ES_NONE || b == ES_NONE || a == b ? HX_OK : entity_merge(s, a, b);
    }
    case HX_GRAPH_OP_REL_UPSERT: {
        int f1, r1, f2, r2;
        uint32_t a = node_obtain(s, t, op->from, h ? h[0] : es_node_hash(t, op->from), &f1, &r1);
        if (a == ES_NONE)
            return HX_ENOMEM;
        if (f1)
            s->nodes[a].created = s->nodes[a].updated = op->ts_ms;
        uint32_t b = node_obtain(s, t, op->to, h ? h[1] : es_node_hash(t, op->to), &f2, &r2);
        if (b == ES_NONE)
            return HX_ENOMEM;
        if (f2)
            s->nodes[b].created = s->nodes[b].updated = op->ts_ms;
        uint32_t ty = es_intern(&s->rtypes, op->rel_type, 1), r;
        if (ty == ES_NONE || ty > UINT16_MAX || es_rel_link(s, a, (uint16_t)ty, b, &r))
            return HX_ENOMEM;
        es_rel_t *x = &s->rels[r];
        x->strength = op->strength_set ? op->strength : x->strength + op->strength;
        if (!x->created)
            x->created = op->ts_ms;
        x->updated = op->ts_ms;
        return props_merge(&x->props, op->properties, 0);
    }
    case HX_GRAPH_OP_REL_DELETE: {
        uint32_t a = es_node_resolve(s, t, op->from), b = es_node_resolve(s, t, op->to);
        uint32_t ty = es_intern(&s->rtypes, op->rel_type, 0);
        if (a == ES_NONE || b == ES_NONE || ty == ES_NONE)
            return HX_OK;
        uint32_t r = es_rel_find(s, a, (uint16_t)ty, b);
        if (r != ES_NONE && s->rels[r].alive)
            rel_detach(s, r);
        return HX_OK;
    }
    }
    return HX_OK;
}

/* A batch's ids land all over memory, and every lookup is a map slot read
 * then a node read, each likely a cache miss. So lookups are pipelined: the
 * slots of op i + 2D are fetched while op i + D's nodes are, and op i runs
 * on warm lines. Hints only: a map that grows meanwhile just misses. */
#define PF_D 4

typedef struct {
    uint32_t h[2];
    uint8_t n;
} pf_t;

static void pf_hash(const es_store_t *s, const hx_graph_op_t *op, uint32_t t, pf_t *p)
{
    p->n = 0;
    if (t == ES_NONE)
        return;
    if (op->kind == HX_GRAPH_OP_REL_UPSERT || op->kind == HX_GRAPH_OP_REL_DELETE) {
        p->h[p->n++] = es_node_hash(t, op->from);
        p->h[p->n++] = es_node_hash(t, op->to);
    } else if (op->id) {
        p->h[p->n++] = es_node_hash(t, op->id);
    }
    for (int k = 0; k < p->n; k++)
        __builtin_prefetch(&s->node_map.e[p->h[k] & (s->node_map.cap - 1)]);
}

static void pf_nodes(const es_store_t *s, const pf_t *p)
{
    for (int k = 0; k < p->n; k++) {
        uint32_t v = s->node_map.e[p->h[k] & (s->node_map.cap - 1)].val;
        if (v != ES_NONE)
            __builtin_prefetch(&s->nodes[v]);
    }
}

int es_store_apply(es_store_t *s, const hx_graph_batch_t *b)
{
    tcache_t tc = {NULL, 0};
    pf_t ring[2 * PF_D];
    uint32_t pt = b->n_ops ? es_tenant_find(s, b->ops[0].tenant) : ES_NONE;
    for (size_t i = 0; i < 2 * PF_D && i < b->n_ops; i++)
        pf_hash(s, &b->ops[i], pt, &ring[i]);
    for (size_t i = 0; i < b->n_ops; i++) {
        /* op i's hashes are used below, so its ring entry is refilled after */
        if (i + PF_D < b->n_ops)
            pf_nodes(s, &ring[(i + PF_D) % (2 * PF_D)]);
        const pf_t *p = &ring[i % (2 * PF_D)];
        if (apply_op(s, &b->ops[i], &tc, p->n ? p->h : NULL, pt))
            return HX_ENOMEM;
        if (i + 2 * PF_D < b->n_ops)
            pf_hash(s, &b->ops[i + 2 * PF_D], pt, &ring[i % (2 * PF_D)]);
    }
    for (size_t i = 0; i < b->n_cursors; i++)
        if (es_cursor_set(s, b->cursors[i].name, b->cursors[i].value))
            return HX_ENOMEM;
    return HX_OK;
}
