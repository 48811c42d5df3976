/* Reads of the embedded store: get, related (layered BFS with the ranking of
 * hx_graph.h) and shortest path (bidirectional BFS). Each query borrows a
 * scratch set of per-node arrays from a pool; an epoch stamp instead of a
 * memset makes "visited" free to reset, so a query costs what it touches. */
#include "graph/embedded/store.h"

#include <stdlib.h>
#include <string.h>

/* ---- scratch ---- */

es_scratch_t *es_scratch_get(es_store_t *s)
{
    pthread_mutex_lock(&s->pool_mu);
    es_scratch_t *x = s->pool;
    if (x)
        s->pool = x->next;
    pthread_mutex_unlock(&s->pool_mu);
    return x ? x : calloc(1, sizeof *x);
}

void es_scratch_put(es_store_t *s, es_scratch_t *x)
{
    pthread_mutex_lock(&s->pool_mu);
    x->next = s->pool;
    s->pool = x;
    pthread_mutex_unlock(&s->pool_mu);
}

static void scratch_free(es_scratch_t *x)
{
    free(x->mark);
    free(x->dist);
    free(x->via);
    free(x->score);
    free(x->list);
    free(x);
}

void es_scratch_free_all(es_store_t *s)
{
    while (s->pool) {
        es_scratch_t *x = s->pool;
        s->pool = x->next;
        scratch_free(x);
    }
}

uint32_t es_scratch_begin(es_scratch_t *x, uint32_t n)
{
    x->failed = 0;
    x->n_list = 0;
    if (n > x->cap) {
        uint32_t cap = x->cap ? x->cap : 1024;
        while (cap < n)
            cap *= 2;
        uint32_t *m = realloc(x->mark, cap * sizeof *m), *d = m ? realloc(x->dist, cap * sizeof *d) : NULL;
        if (m)
            x->mark = m;
        if (d)
            x->dist = d;
        uint32_t *v = d ? realloc(x->via, cap * sizeof *v) : NULL;
        if (v)
            x->via = v;
        double *sc = v ? realloc(x->score, cap * sizeof *sc) : NULL;
        if (sc)
            x->score = sc;
        if (!sc) {
            x->failed = 1;
            return 0;
        }
        memset(x->mark + x->cap, 0, (cap - x->cap) * sizeof *x->mark);
        x->cap = cap;
    }
    if (++x->epoch == 0) {
        memset(x->mark, 0, x->cap * sizeof *x->mark);
        x->epoch = 1;
    }
    return x->epoch;
}

int es_scratch_push(es_scratch_t *x, uint32_t v)
{
    if (x->n_list == x->cap_list) {
        uint32_t nc = x->cap_list ? x->cap_list * 2 : 1024;
        uint32_t *p = realloc(x->list, nc * sizeof *p);
        if (!p) {
            x->failed = 1;
            return HX_ENOMEM;
        }
        x->list = p;
        x->cap_list = nc;
    }
    x->list[x->n_list++] = v;
    return HX_OK;
}

/* ---- ranking ---- */

int es_cand_before(const es_store_t *s, const es_cand_t *a, const es_cand_t *b)
{
    if (a->depth != b->depth)
        return a->depth < b->depth;
    if (a->a != b->a)
        return a->a > b->a;
    if (a->b != b->b)
        return a->b > b->b;
    return strcmp(es_nid(&s->nodes[a->node]), es_nid(&s->nodes[b->node])) < 0;
}

static void sift_down(const es_store_t *s, es_cand_t *h, size_t n)
{
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && es_cand_before(s, &h[w], &h[l]))
            w = l;
        if (r < n && es_cand_before(s, &h[w], &h[r]))
            w = r;
        if (w == i)
            return;
        es_cand_t t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

void es_cand_push(const es_store_t *s, es_cand_t *h, size_t *n, size_t k, es_cand_t c)
{
    if (*n == k) {
        if (!es_cand_before(s, &c, &h[0]))
            return;
        h[0] = c;
        sift_down(s, h, *n);
        return;
    }
    size_t i = (*n)++;
    h[i] = c;
    while (i) {
        size_t p = (i - 1) / 2;
        if (!es_cand_before(s, &h[p], &h[i]))
            break;
        es_cand_t t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

void es_cand_sort(const es_store_t *s, es_cand_t *h, size_t n)
{
    while (n > 1) {
        es_cand_t worst = h[0];
        h[0] = h[--n];
        sift_down(s, h, n);
        h[n] = worst;
    }
}

/* ---- results ---- */

int es_add_entity(es_store_t *s, hx_graph_result_t *r, hx_graph_entity_t *dst, uint32_t idx)
{
    const char *al[HX_GRAPH_ALIASES_MAX];
    hx_graph_entity_t v;
    es_node_view(s, idx, &v, al);
    return hx_graph_result_copy_entity(r, dst, &v);
}

int es_add_rel(es_store_t *s, hx_graph_result_t *r, hx_graph_rel_t *dst, uint32_t idx)
{
    hx_graph_rel_t v;
    es_rel_view(s, idx, &v);
    return hx_graph_result_copy_rel(r, dst, &v);
}

int es_get(es_store_t *s, const char *tenant, const char *id, hx_graph_result_t *out, hx_err_t *err)
{
    uint32_t idx = es_node_resolve(s, es_tenant_find(s, tenant), id);
    if (idx == ES_NONE)
        return hx_err_set(err, HX_ENOTFOUND, "entity '%s' does not exist", id);
    hx_graph_entity_t *e = hx_graph_result_add_node(out);
    if (!e || es_add_entity(s, out, e, idx))
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    atomic_fetch_add(&s->reads, 1);
    return HX_OK;
}

/* A scratch set for a search from root, root visited at dist (the side bit
 * of a path search included); NULL when memory runs out. */
static es_scratch_t *search_from(es_store_t *s, uint32_t root, uint32_t dist, uint32_t *ep)
{
    es_scratch_t *x = es_scratch_get(s);
    if (!x)
        return NULL;
    *ep = es_scratch_begin(x, s->n_nodes);
    if (!x->failed) {
        x->mark[root] = *ep;
        x->dist[root] = dist;
        es_scratch_push(x, root);
    }
    return x;
}

/* ---- related ---- */

/* r1 leads to a node better than r2: stronger, then the smaller id. */
static int via_better(const es_store_t *s, uint32_t r1, uint32_t r2)
{
    const es_rel_t *a = &s->rels[r1], *b = &s->rels[r2];
    if (a->strength != b->strength)
        return a->strength > b->strength;
    return strcmp(a->id, b->id) < 0;
}

static void visit(const es_store_t *s, es_scratch_t *x, uint32_t ep, uint32_t v, uint32_t r, uint32_t d)
{
    if (x->mark[v] != ep) {
        x->mark[v] = ep;
        x->dist[v] = d;
        x->via[v] = r;
        es_scratch_push(x, v);
    } else if (x->dist[v] == d && via_better(s, r, x->via[v])) {
        x->via[v] = r;
    }
}

int es_related(es_store_t *s, const hx_graph_related_q_t *q, hx_graph_result_t *out, hx_err_t *err)
{
    uint32_t t = es_tenant_find(s, q->tenant);
    uint32_t start = es_node_resolve(s, t, q->id);
    if (start == ES_NONE)
        return hx_err_set(err, HX_ENOTFOUND, "entity '%s' does not exist", q->id);
    uint32_t rt = q->rel_type ? es_intern((es_strtab_t *)&s->rtypes, q->rel_type, 0) : ES_NONE;
    uint32_t ty = q->type ? es_intern((es_strtab_t *)&s->types, q->type, 0) : ES_NONE;
    out->total = 0;
    if ((q->rel_type && rt == ES_NONE) || (q->type && ty == ES_NONE))
        return HX_OK; /* a type nobody has: nothing can match */
    uint32_t ep;
    es_scratch_t *x = search_from(s, start, 0, &ep);
    if (!x)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    uint64_t reads = 0;
    uint32_t fb = 0, fe = x->n_list;
    for (uint32_t d = 1; d <= (uint32_t)q->depth && fb < fe && !x->failed; d++) {
        for (uint32_t i = fb; i < fe; i++) {
            const es_node_t *u = &s->nodes[x->list[i]];
            if (q->direction != HX_GRAPH_DIR_IN)
                for (uint32_t k = 0; k < u->out.n; k++) {
                    uint32_t r = u->out.r[k];
                    const es_rel_t *rel = &s->rels[r];
                    if ((rt == ES_NONE || rel->type == rt) && rel->strength >= q->min_strength)
                        visit(s, x, ep, rel->to, r, d);
                }
            if (q->direction != HX_GRAPH_DIR_OUT)
                for (uint32_t k = 0; k < u->in.n; k++) {
                    uint32_t r = u->in.r[k];
                    const es_rel_t *rel = &s->rels[r];
                    if ((rt == ES_NONE || rel->type == rt) && rel->strength >= q->min_strength)
                        visit(s, x, ep, rel->from, r, d);
                }
            reads += u->out.n + u->in.n;
        }
        fb = fe;
        fe = x->n_list;
    }
    size_t k = (size_t)q->limit, nh = 0;
    es_cand_t *heap = x->failed ? NULL : malloc(k * sizeof *heap);
    int rc = heap ? HX_OK : HX_ENOMEM;
    for (uint32_t i = 1; !rc && i < x->n_list; i++) {
        uint32_t v = x->list[i];
        if (ty != ES_NONE && s->nodes[v].type != ty)
            continue;
        out->total++;
        es_cand_push(s, heap, &nh, k,
                     (es_cand_t){v, (int)x->dist[v], s->rels[x->via[v]].strength, s->nodes[v].importance});
    }
    if (!rc)
        es_cand_sort(s, heap, nh);
    for (size_t i = 0; !rc && i < nh; i++) {
        hx_graph_hit_t *h = hx_graph_result_add_hit(out);
        if (!h || es_add_entity(s, out, &h->entity, heap[i].node) ||
            es_add_rel(s, out, &h->via, x->via[heap[i].node])) {
            rc = HX_ENOMEM;
            break;
        }
        h->depth = heap[i].depth;
        h->score = heap[i].a;
    }
    free(heap);
    es_scratch_put(s, x);
    atomic_fetch_add(&s->reads, reads + nh);
    return rc ? hx_err_set(err, rc, "out of memory in a related query") : HX_OK;
}

/* ---- shortest path ---- */

#define SIDE_B 0x80000000u

static uint32_t other_end(const es_store_t *s, uint32_t r, uint32_t v)
{
    return s->rels[r].from == v ? s->rels[r].to : s->rels[r].from;
}

/* Expands one layer of one side; returns 1 at a meeting, with the best
 * (shortest) meeting of the layer in *mu, *mv, *mr (mu on this side). */
static int expand(const es_store_t *s, es_scratch_t *x, uint32_t ep, uint32_t side, uint32_t fb, uint32_t fe,
                  uint32_t *mu, uint32_t *mv, uint32_t *mr, uint64_t *reads)
{
    int met = 0;
    uint32_t best = UINT32_MAX;
    for (uint32_t i = fb; i < fe && !x->failed; i++) {
        uint32_t u = x->list[i];
        const es_node_t *n = &s->nodes[u];
        for (int dir = 0; dir < 2; dir++) {
            const es_adj_t *a = dir ? &n->in : &n->out;
            *reads += a->n;
            for (uint32_t k = 0; k < a->n; k++) {
                uint32_t r = a->r[k], v = other_end(s, r, u);
                if (x->mark[v] != ep) {
                    x->mark[v] = ep;
                    x->dist[v] = side | ((x->dist[u] & ~SIDE_B) + 1);
                    x->via[v] = r;
                    es_scratch_push(x, v);
                } else if ((x->dist[v] & SIDE_B) != side) {
                    uint32_t len = (x->dist[v] & ~SIDE_B) + (x->dist[u] & ~SIDE_B) + 1;
                    if (len < best) {
                        best = len;
                        *mu = u;
                        *mv = v;
                        *mr = r;
                        met = 1;
                    }
                }
            }
        }
    }
    return met;
}

/* Appends the chain from v back to its side's root, root last. */
static int chain(const es_store_t *s, const es_scratch_t *x, uint32_t v, uint32_t *nodes, uint32_t *rels,
                 uint32_t *n)
{
    nodes[(*n)] = v;
    rels[(*n)++] = ES_NONE;
    while ((x->dist[v] & ~SIDE_B) > 0) {
        uint32_t r = x->via[v];
        rels[*n - 1] = r;
        v = other_end(s, r, v);
        nodes[*n] = v;
        rels[(*n)++] = ES_NONE;
        if (*n > HX_GRAPH_PATH_DEPTH_MAX + 1)
            return HX_EINTERNAL;
    }
    return HX_OK;
}

int es_path(es_store_t *s, const hx_graph_path_q_t *q, hx_graph_result_t *out, hx_err_t *err)
{
    uint32_t t = es_tenant_find(s, q->tenant);
    uint32_t a = es_node_resolve(s, t, q->from), b = es_node_resolve(s, t, q->to);
    if (a == ES_NONE)
        return hx_err_set(err, HX_ENOTFOUND, "entity '%s' (from) does not exist", q->from);
    if (b == ES_NONE)
        return hx_err_set(err, HX_ENOTFOUND, "entity '%s' (to) does not exist", q->to);
    if (a == b) {
        hx_graph_entity_t *e = hx_graph_result_add_node(out);
        return !e || es_add_entity(s, out, e, a) ? hx_err_set(err, HX_ENOMEM, "out of memory") : HX_OK;
    }
    uint32_t ep;
    es_scratch_t *x = search_from(s, a, 0, &ep);
    if (!x)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    uint64_t reads = 0;
    if (!x->failed) {
        x->mark[b] = ep;
        x->dist[b] = SIDE_B;
        es_scratch_push(x, b);
    }
    /* Frontiers live in one list: side A's and side B's layers interleave, so
     * each side keeps its layer as [begin, end) ranges over a private list. */
    uint32_t *fa = malloc(sizeof *fa), *fbl = malloc(sizeof *fbl);
    uint32_t na = 1, nb = 1, da = 0, db = 0, mu = 0, mv = 0, mr = 0;
    int met = 0, rc = HX_OK;
    if (!fa || !fbl || x->failed)
        rc = HX_ENOMEM;
    else {
        fa[0] = a;
        fbl[0] = b;
    }
    while (!rc && !met && na && nb && da + db < (uint32_t)q->max_depth) {
        /* expand the side whose next layer costs less: the one whose
         * frontier has fewer relationships (hubs make node counts lie) */
        uint64_t wa = 0, wb = 0;
        for (uint32_t i = 0; i < na; i++)
            wa += s->nodes[fa[i]].out.n + s->nodes[fa[i]].in.n;
        for (uint32_t i = 0; i < nb; i++)
            wb += s->nodes[fbl[i]].out.n + s->nodes[fbl[i]].in.n;
        int side_b = wb < wa;
        uint32_t **f = side_b ? &fbl : &fa, *nf = side_b ? &nb : &na;
        /* Lay the frontier at the end of the shared list, expand it, and take
         * what it added as the next frontier. */
        uint32_t base = x->n_list;
        for (uint32_t i = 0; i < *nf; i++)
            es_scratch_push(x, (*f)[i]);
        uint32_t start = x->n_list;
        met = expand(s, x, ep, side_b ? SIDE_B : 0, base, start, &mu, &mv, &mr, &reads);
        if (x->failed) {
            rc = HX_ENOMEM;
            break;
        }
        uint32_t added = x->n_list - start;
        uint32_t *p = realloc(*f, (added ? added : 1) * sizeof *p);
        if (!p) {
            rc = HX_ENOMEM;
            break;
        }
        memcpy(p, x->list + start, added * sizeof *p);
        *f = p;
        *nf = added;
        x->n_list = base; /* the shared list is only a staging area */
        if (side_b)
            db++;
        else
            da++;
        if (met && side_b) { /* keep mu on side A */
            uint32_t tmp = mu;
            mu = mv;
            mv = tmp;
        }
    }
    free(fa);
    free(fbl);
    if (!rc && !met) {
        es_scratch_put(s, x);
        atomic_fetch_add(&s->reads, reads);
        return hx_err_set(err, HX_ENOTFOUND, "no path of at most %d hops between '%s' and '%s'", q->max_depth,
                          q->from, q->to);
    }
    uint32_t an[HX_GRAPH_PATH_DEPTH_MAX + 2], ar[HX_GRAPH_PATH_DEPTH_MAX + 2], bn[HX_GRAPH_PATH_DEPTH_MAX + 2],
        br[HX_GRAPH_PATH_DEPTH_MAX + 2], nan = 0, nbn = 0;
    if (!rc && (chain(s, x, mu, an, ar, &nan) || chain(s, x, mv, bn, br, &nbn)))
        rc = HX_EINTERNAL;
    /* an: mu ... a (a last); bn: mv ... b. The path: reverse(an), mr, bn. */
    for (uint32_t i = nan; !rc && i-- > 0;) {
        hx_graph_entity_t *e = hx_graph_result_add_node(out);
        if (!e || es_add_entity(s, out, e, an[i]))
            rc = HX_ENOMEM;
        else if (i > 0) {
            hx_graph_rel_t *r = hx_graph_result_add_rel(out);
            if (!r || es_add_rel(s, out, r, ar[i - 1]))
                rc = HX_ENOMEM;
        }
    }
    if (!rc) {
        hx_graph_rel_t *r = hx_graph_result_add_rel(out);
        if (!r || es_add_rel(s, out, r, mr))
            rc = HX_ENOMEM;
    }
    for (uint32_t i = 0; !rc && i < nbn; i++) {
        hx_graph_entity_t *e = hx_graph_result_add_node(out);
        if (!e || es_add_entity(s, out, e, bn[i]))
            rc = HX_ENOMEM;
        else if (i + 1 < nbn) {
            hx_graph_rel_t *r = hx_graph_result_add_rel(out);
            if (!r || es_add_rel(s, out, r, br[i]))
                rc = HX_ENOMEM;
        }
    }
    es_scratch_put(s, x);
    atomic_fetch_add(&s->reads, reads + out->n_nodes);
    if (rc == HX_EINTERNAL)
        return hx_err_set(err, rc, "path reconstruction failed (a bug)");
    return rc ? hx_err_set(err, rc, "out of memory in a path query") : HX_OK;
}
