/* The in-memory graph and the semantics of every op (hx_graph.h): upserts
 * that accumulate, detach delete, merge with redirects, stub endpoints. */
#include "graph/embedded/store.h"
#include "helix/hx_hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const label_names[] = {HX_GRAPH_LABEL_ENTITY, HX_GRAPH_LABEL_CONVERSATION, HX_GRAPH_LABEL_USER};

uint32_t es_hash32(const void *p, size_t n)
{
    uint64_t h = hx_hash64(p, n);
    return (uint32_t)(h ^ (h >> 32));
}

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

static void node_strings_free(es_node_t *n)
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
        node_strings_free(&s->nodes[i]);
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

static uint32_t node_hash(uint32_t tenant, const char *id)
{
    char buf[HX_GRAPH_ID_MAX + 4];
    size_t n = strlen(id);
    if (n > HX_GRAPH_ID_MAX)
        n = HX_GRAPH_ID_MAX;
    buf[0] = (char)(tenant & 0xff);
    buf[1] = (char)(tenant >> 8);
    memcpy(buf + 2, id, n);
    return es_hash32(buf, n + 2);
}

/* The slot of (tenant, id) whose node_hash is h. */
static uint32_t node_slot_h(const es_store_t *s, uint32_t tenant, const char *id, uint32_t h)
{
    const es_map_t *m = &s->node_map;
    for (uint32_t i = h & (m->cap - 1); m->e[i].val != ES_NONE; i = (i + 1) & (m->cap - 1)) {
        const es_node_t *n = &s->nodes[m->e[i].val];
        if (m->e[i].hash == h && n->tenant == tenant && !strcmp(es_nid(n), id))
            return m->e[i].val;
    }
    return ES_NONE;
}

uint32_t es_node_slot(const es_store_t *s, uint32_t tenant, const char *id)
{
    return tenant == ES_NONE ? ES_NONE : node_slot_h(s, tenant, id, node_hash(tenant, id));
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

static uint32_t node_new_h(es_store_t *s, uint32_t tenant, const char *id, uint32_t h)
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
    return node_new_h(s, tenant, id, node_hash(tenant, id));
}

/* A dead or merged slot becomes a fresh, empty live node again. */
static void node_revive(es_store_t *s, uint32_t idx)
{
    es_node_t *n = &s->nodes[idx];
    node_strings_free(n);
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
 * *fresh says it is new. h is node_hash(tenant, id) (the apply loop has it
 * from prefetching). */
static uint32_t node_obtain(es_store_t *s, uint32_t tenant, const char *id, uint32_t h, int *fresh, int *redirected)
{
    uint32_t slot = node_slot_h(s, tenant, id, h);
    *fresh = 0;
    *redirected = 0;
    if (slot == ES_NONE) {
        *fresh = 1;
        return node_new_h(s, tenant, id, h);
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

static uint32_t rel_hash(uint32_t from, uint16_t type, uint32_t to)
{
    return mix32(((uint64_t)from << 32 | to) ^ ((uint64_t)type * 0x9e3779b97f4a7c15ull));
}

static uint32_t rel_find(const es_store_t *s, uint32_t from, uint16_t type, uint32_t to)
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

static int rel_index(es_store_t *s, uint32_t r)
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

static int adj_push(es_adj_t *a, uint32_t r, uint32_t *pos)
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

static void rel_set_id(es_store_t *s, es_rel_t *r)
{
    const es_node_t *a = &s->nodes[r->from], *b = &s->nodes[r->to];
    hx_graph_rel_id(es_str(&s->tenants, a->tenant), es_nid(a), es_str(&s->rtypes, r->type), es_nid(b), r->id);
}

static int rel_attach(es_store_t *s, uint32_t r)
{
    es_rel_t *x = &s->rels[r];
    uint32_t from = x->from, to = x->to, po, pi;
    if (adj_push(&s->nodes[from].out, r, &po) || adj_push(&s->nodes[to].in, r, &pi))
        return HX_ENOMEM;
    s->rels[r].pos_out = po;
    s->rels[r].pos_in = pi;
    s->rels[r].alive = 1;
    es_tstats(s, s->nodes[from].tenant)->rels++;
    s->live_rels++;
    return HX_OK;
}

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

int es_rel_link(es_store_t *s, uint32_t from, uint16_t type, uint32_t to, uint32_t *out)
{
    uint32_t r = rel_find(s, from, type, to);
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
    rel_set_id(s, x);
    s->n_rels++;
    if (rel_attach(s, r) || rel_index(s, r))
        return HX_ENOMEM;
    *out = r;
    return HX_OK;
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
    uint32_t idx = node_obtain(s, t, op->id, h ? h[0] : node_hash(t, op->id), &fresh, &redirected);
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
    node_strings_free(n);
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
    uint32_t ex = rel_find(s, nf, x.type, nt);
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
        if (adj_push(&s->nodes[b].out, r, &s->rels[r].pos_out))
            return HX_ENOMEM;
    }
    if (x.to == a) {
        adj_remove_in(s, r);
        s->rels[r].to = b;
        if (adj_push(&s->nodes[b].in, r, &s->rels[r].pos_in))
            return HX_ENOMEM;
    }
    rel_set_id(s, &s->rels[r]);
    return rel_index(s, r);
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
    node_strings_free(na);
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

/* h: the node_hash of the op's ids under tenant ht (from prefetching), or NULL. */
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
        uint32_t a = node_obtain(s, t, op->from, h ? h[0] : node_hash(t, op->from), &f1, &r1);
        if (a == ES_NONE)
            return HX_ENOMEM;
        if (f1)
            s->nodes[a].created = s->nodes[a].updated = op->ts_ms;
        uint32_t b = node_obtain(s, t, op->to, h ? h[1] : node_hash(t, op->to), &f2, &r2);
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
        uint32_t r = rel_find(s, a, (uint16_t)ty, b);
        if (r != ES_NONE && s->rels[r].alive)
            rel_detach(s, r);
        return HX_OK;
    }
    }
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
        p->h[p->n++] = node_hash(t, op->from);
        p->h[p->n++] = node_hash(t, op->to);
    } else if (op->id) {
        p->h[p->n++] = node_hash(t, op->id);
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
