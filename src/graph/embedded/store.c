/* The in-memory graph's structures (store.h): open-addressing maps, interned
 * strings, node slots found by (tenant, id), relationship slots found by
 * (from, type, to) with the adjacency lists that hold them, cursors, and the
 * views queries read. What each op does to them is apply.c. */
#include "graph/embedded/store.h"

#include <stdlib.h>
#include <string.h>

static const char *const label_names[] = {HX_GRAPH_LABEL_ENTITY, HX_GRAPH_LABEL_CONVERSATION, HX_GRAPH_LABEL_USER};

static uint32_t mix32(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return (uint32_t)x;
}

/* ---- open addressing ---- */

static int map_init(es_map_t *m, uint32_t cap)
{
    if (!(m->e = malloc(cap * sizeof *m->e)))
        return HX_ENOMEM;
    memset(m->e, 0xff, cap * sizeof *m->e);
    m->cap = cap;
    m->used = 0;
    return HX_OK;
}

static void map_free(es_map_t *m)
{
    free(m->e);
    memset(m, 0, sizeof *m);
}

static void map_put_raw(es_map_t *m, uint32_t h, uint32_t v)
{
    uint32_t i = h & (m->cap - 1);
    while (m->e[i].val != ES_NONE)
        i = (i + 1) & (m->cap - 1);
    m->e[i].val = v;
    m->e[i].hash = h;
    m->used++;
}

/* Doubles the table, keeping the entries keep() accepts. */
static int map_grow(es_map_t *m, int (*keep)(void *ctx, uint32_t v), void *ctx)
{
    es_map_t n;
    if (map_init(&n, m->cap * 2))
        return HX_ENOMEM;
    for (uint32_t i = 0; i < m->cap; i++)
        if (m->e[i].val != ES_NONE && (!keep || keep(ctx, m->e[i].val)))
            map_put_raw(&n, m->e[i].hash, m->e[i].val);
    map_free(m);
    *m = n;
    return HX_OK;
}

/* ---- interned strings ---- */

uint32_t es_intern(es_strtab_t *t, const char *s, int create)
{
    uint32_t h = es_hash32(s, strlen(s));
    for (uint32_t i = h & (t->map.cap - 1); t->map.e[i].val != ES_NONE; i = (i + 1) & (t->map.cap - 1))
        if (t->map.e[i].hash == h && !strcmp(t->s[t->map.e[i].val], s))
            return t->map.e[i].val;
    if (!create)
        return ES_NONE;
    if (t->n == t->cap) {
        uint32_t nc = t->cap ? t->cap * 2 : 16;
        char **p = realloc(t->s, nc * sizeof *p);
        if (!p)
            return ES_NONE;
        t->s = p;
        t->cap = nc;
    }
    if ((t->map.used + 1) * 2 > t->map.cap && map_grow(&t->map, NULL, NULL))
        return ES_NONE;
    if (!(t->s[t->n] = strdup(s)))
        return ES_NONE;
    map_put_raw(&t->map, h, t->n);
    return t->n++;
}

const char *es_str(const es_strtab_t *t, uint32_t i)
{
    return i < t->n ? t->s[i] : "";
}

static void strtab_free(es_strtab_t *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        free(t->s[i]);
    free(t->s);
    map_free(&t->map);
}

/* ---- store ---- */

int es_store_init(es_store_t *s)
{
    memset(s, 0, sizeof *s);
    pthread_rwlock_init(&s->lock, NULL);
    pthread_mutex_init(&s->pool_mu, NULL);
    if (map_init(&s->node_map, 1024) || map_init(&s->rel_map, 1024) || map_init(&s->tenants.map, 16) ||
        map_init(&s->types.map, 64) || map_init(&s->rtypes.map, 64) || map_init(&s->terms_tab.map, 1024))
        return HX_ENOMEM;
    if (es_intern(&s->types, "", 1) != 0) /* type 0: a stub's empty type */
        return HX_ENOMEM;
    return HX_OK;
}

void es_node_strings_free(es_node_t *n)
{
    free(n->name);
    free(n->desc);
    free(n->props);
    for (int i = 0; i < n->n_aliases; i++)
        free(n->aliases[i]);
    free(n->aliases);
    n->name = n->desc = n->props = NULL;
    n->aliases = NULL;
    n->n_aliases = 0;
}

void es_store_free(es_store_t *s)
{
    for (uint32_t i = 0; i < s->n_nodes; i++) {
        es_node_strings_free(&s->nodes[i]);
        free(s->nodes[i].idlong);
        free(s->nodes[i].out.r);
        free(s->nodes[i].in.r);
        free(s->nodes[i].terms);
    }
    free(s->nodes);
    free(s->ftver);
    for (uint32_t i = 0; i < s->n_rels; i++)
        free(s->rels[i].props);
    free(s->rels);
    for (uint32_t i = 0; i < s->terms_tab.n; i++) {
        free(s->terms[i].p);
        free(s->terms[i].dfs);
    }
    free(s->terms);
    map_free(&s->node_map);
    map_free(&s->rel_map);
    strtab_free(&s->tenants);
    strtab_free(&s->types);
    strtab_free(&s->rtypes);
    strtab_free(&s->terms_tab);
    free(s->tstats);
    free(s->cursors);
    es_scratch_free_all(s);
    pthread_rwlock_destroy(&s->lock);
    pthread_mutex_destroy(&s->pool_mu);
}

es_tenant_stats_t *es_tstats(es_store_t *s, uint32_t tenant)
{
    if (tenant >= s->cap_tstats) {
        uint32_t nc = s->cap_tstats ? s->cap_tstats * 2 : 8;
        while (nc <= tenant)
            nc *= 2;
        es_tenant_stats_t *p = realloc(s->tstats, nc * sizeof *p);
        if (!p)
            return NULL;
        memset(p + s->cap_tstats, 0, (nc - s->cap_tstats) * sizeof *p);
        s->tstats = p;
        s->cap_tstats = nc;
    }
    return &s->tstats[tenant];
}

uint32_t es_tenant_find(const es_store_t *s, const char *tenant)
{
    return es_intern((es_strtab_t *)&s->tenants, tenant, 0);
}

uint32_t es_node_slot(const es_store_t *s, uint32_t tenant, const char *id)
{
    return tenant == ES_NONE ? ES_NONE : es_node_slot_h(s, tenant, id, es_node_hash(tenant, id));
}

uint32_t es_follow(const es_store_t *s, uint32_t slot)
{
    for (int hops = 0; slot != ES_NONE && hops < 1000000; hops++) {
        const es_node_t *n = &s->nodes[slot];
        if (n->state == ES_LIVE)
            return slot;
        if (n->state == ES_DEAD || s->nodes[n->merged_into].gen != n->merged_gen)
            return ES_NONE; /* deleted, or deleted and created again: the redirect died with it */
        slot = n->merged_into;
    }
    return ES_NONE;
}

uint32_t es_node_resolve(const es_store_t *s, uint32_t tenant, const char *id)
{
    return es_follow(s, es_node_slot(s, tenant, id));
}

uint32_t es_node_new_h(es_store_t *s, uint32_t tenant, const char *id, uint32_t h)
{
    if (s->n_nodes == ES_NONE - 1)
        return ES_NONE;
    if (s->n_nodes == s->cap_nodes) {
        uint32_t nc = s->cap_nodes ? s->cap_nodes * 2 : 1024;
        es_node_t *p = realloc(s->nodes, (size_t)nc * sizeof *p);
        if (p)
            s->nodes = p;
        uint32_t *v = p ? realloc(s->ftver, (size_t)nc * sizeof *v) : NULL;
        if (!v)
            return ES_NONE;
        s->ftver = v;
        s->cap_nodes = nc;
    }
    s->ftver[s->n_nodes] = 0;
    if ((s->node_map.used + 1) * 2 > s->node_map.cap && map_grow(&s->node_map, NULL, NULL))
        return ES_NONE;
    es_tenant_stats_t *ts = es_tstats(s, tenant);
    es_node_t *n = &s->nodes[s->n_nodes];
    memset(n, 0, sizeof *n);
    size_t idn = strlen(id);
    if (!ts || (idn >= ES_ID_INLINE && !(n->idlong = strdup(id))))
        return ES_NONE;
    if (idn < ES_ID_INLINE)
        memcpy(n->idbuf, id, idn + 1);
    n->tenant = (uint16_t)tenant;
    n->merged_into = ES_NONE;
    map_put_raw(&s->node_map, h, s->n_nodes);
    ts->nodes++;
    s->live_nodes++;
    return s->n_nodes++;
}

uint32_t es_node_new(es_store_t *s, uint32_t tenant, const char *id)
{
    return es_node_new_h(s, tenant, id, es_node_hash(tenant, id));
}

/* ---- relationships ---- */

static uint32_t rel_hash(uint32_t from, uint16_t type, uint32_t to)
{
    return mix32(((uint64_t)from << 32 | to) ^ ((uint64_t)type * 0x9e3779b97f4a7c15ull));
}

uint32_t es_rel_find(const es_store_t *s, uint32_t from, uint16_t type, uint32_t to)
{
    uint32_t h = rel_hash(from, type, to);
    const es_map_t *m = &s->rel_map;
    for (uint32_t i = h & (m->cap - 1); m->e[i].val != ES_NONE; i = (i + 1) & (m->cap - 1)) {
        const es_rel_t *r = &s->rels[m->e[i].val];
        if (m->e[i].hash == h && r->from == from && r->to == to && r->type == type)
            return m->e[i].val;
    }
    return ES_NONE;
}

/* Map entries of moved or dead relationships are garbage on a rebuild. */
static int rel_entry_keep(void *ctx, uint32_t v)
{
    const es_rel_t *r = &((es_store_t *)ctx)->rels[v];
    return r->alive;
}

int es_rel_index(es_store_t *s, uint32_t r)
{
    if ((s->rel_map.used + 1) * 2 > s->rel_map.cap) {
        /* Rebuild at the same size when garbage is most of the table. */
        uint32_t live = 0;
        for (uint32_t i = 0; i < s->rel_map.cap; i++)
            live += s->rel_map.e[i].val != ES_NONE && s->rels[s->rel_map.e[i].val].alive;
        /* Room for as many insertions again as there are live entries. */
        es_map_t m;
        uint32_t cap = 1024;
        while ((live + 1) * 4 > cap)
            cap *= 2;
        if (map_init(&m, cap))
            return HX_ENOMEM;
        for (uint32_t i = 0; i < s->rel_map.cap; i++)
            if (s->rel_map.e[i].val != ES_NONE && rel_entry_keep(s, s->rel_map.e[i].val))
                map_put_raw(&m, s->rel_map.e[i].hash, s->rel_map.e[i].val);
        map_free(&s->rel_map);
        s->rel_map = m;
    }
    const es_rel_t *x = &s->rels[r];
    map_put_raw(&s->rel_map, rel_hash(x->from, x->type, x->to), r);
    return HX_OK;
}

int es_adj_push(es_adj_t *a, uint32_t r, uint32_t *pos)
{
    if (a->n == a->cap) {
        uint32_t nc = a->cap ? a->cap * 2 : 4;
        uint32_t *p = realloc(a->r, nc * sizeof *p);
        if (!p)
            return HX_ENOMEM;
        a->r = p;
        a->cap = nc;
    }
    *pos = a->n;
    a->r[a->n++] = r;
    return HX_OK;
}

void es_rel_set_id(es_store_t *s, es_rel_t *r)
{
    const es_node_t *a = &s->nodes[r->from], *b = &s->nodes[r->to];
    hx_graph_rel_id(es_str(&s->tenants, a->tenant), es_nid(a), es_str(&s->rtypes, r->type), es_nid(b), r->id);
}

static int rel_attach(es_store_t *s, uint32_t r)
{
    es_rel_t *x = &s->rels[r];
    uint32_t from = x->from, to = x->to, po, pi;
    if (es_adj_push(&s->nodes[from].out, r, &po) || es_adj_push(&s->nodes[to].in, r, &pi))
        return HX_ENOMEM;
    s->rels[r].pos_out = po;
    s->rels[r].pos_in = pi;
    s->rels[r].alive = 1;
    es_tstats(s, s->nodes[from].tenant)->rels++;
    s->live_rels++;
    return HX_OK;
}

int es_rel_link(es_store_t *s, uint32_t from, uint16_t type, uint32_t to, uint32_t *out)
{
    uint32_t r = es_rel_find(s, from, type, to);
    if (r != ES_NONE) {
        if (!s->rels[r].alive) {
            s->rels[r].strength = 0;
            s->rels[r].created = s->rels[r].updated = 0;
            if (rel_attach(s, r))
                return HX_ENOMEM;
        }
        *out = r;
        return HX_OK;
    }
    if (s->n_rels == ES_NONE - 1)
        return HX_ENOMEM;
    if (s->n_rels == s->cap_rels) {
        uint32_t nc = s->cap_rels ? s->cap_rels * 2 : 1024;
        es_rel_t *p = realloc(s->rels, (size_t)nc * sizeof *p);
        if (!p)
            return HX_ENOMEM;
        s->rels = p;
        s->cap_rels = nc;
    }
    r = s->n_rels;
    es_rel_t *x = &s->rels[r];
    memset(x, 0, sizeof *x);
    x->from = from;
    x->to = to;
    x->type = type;
    es_rel_set_id(s, x);
    s->n_rels++;
    if (rel_attach(s, r) || es_rel_index(s, r))
        return HX_ENOMEM;
    *out = r;
    return HX_OK;
}

int es_cursor_set(es_store_t *s, const char *name, int64_t value)
{
    for (size_t i = 0; i < s->n_cursors; i++)
        if (!strcmp(s->cursors[i].name, name)) {
            s->cursors[i].value = value;
            return HX_OK;
        }
    if (s->n_cursors == s->cap_cursors) {
        size_t nc = s->cap_cursors ? s->cap_cursors * 2 : 32;
        hx_graph_cursor_t *p = realloc(s->cursors, nc * sizeof *p);
        if (!p)
            return HX_ENOMEM;
        s->cursors = p;
        s->cap_cursors = nc;
    }
    hx_graph_cursor_t *c = &s->cursors[s->n_cursors++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->value = value;
    return HX_OK;
}

void es_node_view(const es_store_t *s, uint32_t idx, hx_graph_entity_t *v, const char **aliases)
{
    const es_node_t *n = &s->nodes[idx];
    for (int i = 0; i < n->n_aliases; i++)
        aliases[i] = n->aliases[i];
    *v = (hx_graph_entity_t){
        .id = es_nid(n),
        .label = label_names[n->label < 3 ? n->label : 0],
        .type = es_str(&s->types, n->type),
        .name = n->name ? n->name : "",
        .description = n->desc ? n->desc : "",
        .aliases = aliases,
        .n_aliases = n->n_aliases,
        .properties = n->props ? n->props : "{}",
        .mentions = n->mentions,
        .confidence = n->mentions > 0 ? n->conf_sum / (double)n->mentions : 0,
        .importance = n->importance,
        .degree = (int64_t)n->out.n + n->in.n,
        .created_at = n->created,
        .updated_at = n->updated,
    };
}

void es_rel_view(const es_store_t *s, uint32_t idx, hx_graph_rel_t *v)
{
    const es_rel_t *r = &s->rels[idx];
    *v = (hx_graph_rel_t){
        .id = r->id,
        .from = es_nid(&s->nodes[r->from]),
        .to = es_nid(&s->nodes[r->to]),
        .type = es_str(&s->rtypes, r->type),
        .strength = r->strength,
        .properties = r->props ? r->props : "{}",
        .created_at = r->created,
        .updated_at = r->updated,
    };
}
