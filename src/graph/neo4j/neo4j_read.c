/* Graph queries on Neo4j: get, related (literal depth), fulltext search and
 * shortest path, decoded into the same hx_graph_result_t the embedded store
 * fills, so the API answers in the same JSON. */
#include "graph/neo4j/neo4j_int.h"

#include <stdio.h>
#include <string.h>

static void put_kv_str(hx_buf_t *b, const char *k, const char *v)
{
    hx_ps_put_cstr(b, k);
    nj_put_opt_str(b, v);
}

static const char *pstr(const hx_ps_value_t *props, const char *key)
{
    const char *s = hx_ps_map_str(props, key);
    return s ? s : "";
}

static int64_t pint(const hx_ps_value_t *props, const char *key)
{
    const hx_ps_value_t *v = hx_ps_map_get(props, key);
    return v && v->type == HX_PS_INT ? v->u.i : v && v->type == HX_PS_FLOAT ? (int64_t)v->u.f : 0;
}

static double pnum(const hx_ps_value_t *props, const char *key)
{
    const hx_ps_value_t *v = hx_ps_map_get(props, key);
    return v && v->type == HX_PS_FLOAT ? v->u.f : v && v->type == HX_PS_INT ? (double)v->u.i : 0;
}

/* A Node value into e (strings copied into r). */
static int node_entity(hx_graph_result_t *r, const hx_ps_value_t *v, int64_t degree, hx_graph_entity_t *e,
                       hx_err_t *err)
{
    hx_ps_node_t n;
    if (hx_ps_as_node(v, &n))
        return hx_err_set(err, HX_ECORRUPT, "neo4j: expected a node in the answer");
    const hx_ps_value_t *p = n.props;
    memset(e, 0, sizeof *e);
    e->id = hx_graph_result_str(r, pstr(p, "id"));
    e->label = hx_graph_result_str(r, *pstr(p, "label") ? pstr(p, "label") : HX_GRAPH_LABEL_ENTITY);
    e->type = hx_graph_result_str(r, pstr(p, "type"));
    e->name = hx_graph_result_str(r, pstr(p, "name"));
    e->description = hx_graph_result_str(r, pstr(p, "description"));
    const hx_ps_value_t *al = hx_ps_map_get(p, "aliases");
    if (al && al->type == HX_PS_LIST && al->n) {
        const char **list = hx_graph_result_alloc(r, al->n * sizeof *list);
        if (!list)
            return hx_err_set(err, HX_ENOMEM, "neo4j: out of memory");
        for (uint32_t i = 0; i < al->n; i++)
            if (al->u.items[i].type == HX_PS_STRING)
                list[e->n_aliases++] = hx_graph_result_str(r, al->u.items[i].u.s);
        e->aliases = list;
    }
    e->properties = nj_props_json(r, p);
    e->mentions = pint(p, "mentions");
    e->confidence = pnum(p, "confidence");
    e->importance = pnum(p, "importance");
    e->created_at = pint(p, "created_at");
    e->updated_at = pint(p, "updated_at");
    e->degree = degree;
    if (!e->id || !e->properties)
        return hx_err_set(err, HX_ENOMEM, "neo4j: out of memory");
    return 0;
}

/* A relationship (bound or not) with its endpoints' ids into out. */
static int rel_of(hx_graph_result_t *r, const char *tenant, const hx_ps_value_t *v, const char *from, const char *to,
                  hx_graph_rel_t *out, hx_err_t *err)
{
    hx_ps_rel_t rel;
    if (hx_ps_as_rel(v, &rel))
        return hx_err_set(err, HX_ECORRUPT, "neo4j: expected a relationship in the answer");
    char id[17];
    hx_graph_rel_id(tenant, from, rel.type, to, id);
    memset(out, 0, sizeof *out);
    out->id = hx_graph_result_str(r, id);
    out->from = hx_graph_result_str(r, from);
    out->to = hx_graph_result_str(r, to);
    out->type = hx_graph_result_str(r, rel.type);
    out->strength = pnum(rel.props, "strength");
    out->properties = nj_props_json(r, rel.props);
    out->created_at = pint(rel.props, "created_at");
    out->updated_at = pint(rel.props, "updated_at");
    return out->properties ? 0 : hx_err_set(err, HX_ENOMEM, "neo4j: out of memory");
}

static void params_tenant_id(hx_buf_t *p, const char *tenant, const char *id)
{
    hx_buf_reset(p);
    hx_ps_put_map_header(p, 2);
    put_kv_str(p, "tenant", tenant);
    put_kv_str(p, "id", id);
}

int nj_resolve(hx_bolt_conn_t *c, const char *tenant, const char *id, char *buf, size_t len, hx_err_t *err)
{
    hx_buf_t p = HX_BUF_INIT;
    hx_bolt_result_t res = {0};
    params_tenant_id(&p, tenant, id);
    int rc = hx_bolt_run(c, hx_cy_resolve, &p, &res, err);
    if (!rc) {
        const hx_ps_value_t *v = hx_bolt_result_get(&res, 0, 0);
        if (v && v->type == HX_PS_STRING)
            snprintf(buf, len, "%s", v->u.s);
        else
            rc = hx_err_set(err, HX_ENOTFOUND, "entity '%s' not found", id);
    }
    hx_bolt_result_free(&res);
    hx_buf_free(&p);
    return rc;
}

/* ---- get ---- */
typedef struct gctx {
    const char *tenant, *id;
    hx_graph_result_t *out;
} gctx_t;

static int get_fn(hx_bolt_conn_t *c, void *ctx, hx_err_t *err)
{
    gctx_t *g = ctx;
    hx_buf_t p = HX_BUF_INIT;
    hx_bolt_result_t res = {0};
    params_tenant_id(&p, g->tenant, g->id);
    int rc = hx_bolt_run(c, hx_cy_get, &p, &res, err);
    if (!rc && res.n_records == 0)
        rc = hx_err_set(err, HX_ENOTFOUND, "entity '%s' not found", g->id);
    if (!rc) {
        const hx_ps_value_t *deg = hx_bolt_result_get(&res, 0, hx_bolt_result_col(&res, "degree"));
        hx_graph_entity_t *e = hx_graph_result_add_node(g->out);
        rc = e ? node_entity(g->out, hx_bolt_result_get(&res, 0, hx_bolt_result_col(&res, "n")),
                             deg && deg->type == HX_PS_INT ? deg->u.i : 0, e, err)
               : hx_err_set(err, HX_ENOMEM, "neo4j: out of memory");
    }
    hx_bolt_result_free(&res);
    hx_buf_free(&p);
    return rc;
}

int nj_get(void *impl, const char *tenant, const char *id, hx_graph_result_t *out, hx_err_t *err)
{
    gctx_t g = {tenant, id, out};
    return hx_bolt_pool_with(((nj_t *)impl)->pool, get_fn, &g, err);
}

/* ---- related ---- */
typedef struct rctx {
    const hx_graph_related_q_t *q;
    hx_graph_result_t *out;
} rctx_t;

static int related_fn(hx_bolt_conn_t *c, void *ctx, hx_err_t *err)
{
    rctx_t *x = ctx;
    const hx_graph_related_q_t *q = x->q;
    char sid[HX_GRAPH_ID_MAX + 1];
    int rc = nj_resolve(c, q->tenant, q->id, sid, sizeof sid, err);
    if (rc)
        return rc;
    hx_buf_t stmt = HX_BUF_INIT, p = HX_BUF_INIT;
    hx_bolt_result_t res = {0};
    if ((rc = hx_cy_related(&stmt, q->depth, (int)q->direction, q->rel_type, err)))
        goto cleanup;
    hx_ps_put_map_header(&p, 5);
    put_kv_str(&p, "tenant", q->tenant);
    put_kv_str(&p, "id", sid);
    hx_ps_put_cstr(&p, "min_strength");
    hx_ps_put_float(&p, q->min_strength);
    put_kv_str(&p, "type", q->type);
    hx_ps_put_cstr(&p, "limit");
    hx_ps_put_int(&p, q->limit);
    if ((rc = hx_bolt_run(c, hx_buf_cstr(&stmt), &p, &res, err)))
        goto cleanup;
    int ct = hx_bolt_result_col(&res, "total"), cn = hx_bolt_result_col(&res, "n"),
        cd = hx_bolt_result_col(&res, "depth"), cv = hx_bolt_result_col(&res, "vias"),
        cg = hx_bolt_result_col(&res, "degree");
    for (size_t i = 0; i < res.n_records && !rc; i++) {
        const hx_ps_value_t *total = hx_bolt_result_get(&res, i, ct), *depth = hx_bolt_result_get(&res, i, cd),
                            *vias = hx_bolt_result_get(&res, i, cv), *deg = hx_bolt_result_get(&res, i, cg);
        if (!total || total->type != HX_PS_INT || !depth || depth->type != HX_PS_INT || !vias ||
            vias->type != HX_PS_LIST || vias->n == 0) {
            rc = hx_err_set(err, HX_ECORRUPT, "neo4j: related answer row %zu is not what the query returns", i);
            break;
        }
        x->out->total = total->u.i;
        hx_graph_hit_t *h = hx_graph_result_add_hit(x->out);
        if (!h) {
            rc = hx_err_set(err, HX_ENOMEM, "neo4j: out of memory");
            break;
        }
        h->depth = (int)depth->u.i;
        rc = node_entity(x->out, hx_bolt_result_get(&res, i, cn), deg && deg->type == HX_PS_INT ? deg->u.i : 0,
                         &h->entity, err);
        /* Among the equally strong vias, the smaller relationship id. */
        for (uint32_t k = 0; k < vias->n && !rc; k++) {
            const hx_ps_value_t *v = &vias->u.items[k];
            const char *from = hx_ps_map_str(v, "from"), *to = hx_ps_map_str(v, "to");
            if (!from || !to) {
                rc = hx_err_set(err, HX_ECORRUPT, "neo4j: a via without its endpoints");
                break;
            }
            hx_graph_rel_t cand;
            rc = rel_of(x->out, q->tenant, hx_ps_map_get(v, "rel"), from, to, &cand, err);
            if (!rc && (k == 0 || strcmp(cand.id, h->via.id) < 0))
                h->via = cand;
        }
        h->score = h->via.strength;
    }
cleanup:
    hx_bolt_result_free(&res);
    hx_buf_free(&stmt);
    hx_buf_free(&p);
    return rc;
}

int nj_related(void *impl, const hx_graph_related_q_t *q, hx_graph_result_t *out, hx_err_t *err)
{
    rctx_t x = {q, out};
    return hx_bolt_pool_with(((nj_t *)impl)->pool, related_fn, &x, err);
}

/* ---- search ---- */
typedef struct terms {
    hx_buf_t q;
    int n;
} terms_t;

static void add_term(void *ctx, const char *term, size_t len)
{
    terms_t *t = ctx;
    if (t->n++)
        hx_buf_puts(&t->q, " OR ");
    hx_buf_append(&t->q, term, len);
}

typedef struct sctx {
    const hx_graph_search_q_t *q;
    const char *lucene;
    hx_graph_result_t *out;
} sctx_t;

static int search_fn(hx_bolt_conn_t *c, void *ctx, hx_err_t *err)
{
    sctx_t *s = ctx;
    hx_buf_t p = HX_BUF_INIT;
    hx_bolt_result_t res = {0};
    hx_ps_put_map_header(&p, 4);
    put_kv_str(&p, "tenant", s->q->tenant);
    put_kv_str(&p, "query", s->lucene);
    hx_ps_put_cstr(&p, "types");
    hx_ps_put_list_header(&p, (uint32_t)s->q->n_types);
    for (size_t i = 0; i < s->q->n_types; i++)
        hx_ps_put_cstr(&p, s->q->types[i]);
    hx_ps_put_cstr(&p, "limit");
    hx_ps_put_int(&p, s->q->limit);
    int rc = hx_bolt_run(c, hx_cy_search, &p, &res, err);
    int ct = hx_bolt_result_col(&res, "total"), cn = hx_bolt_result_col(&res, "n"),
        cs = hx_bolt_result_col(&res, "score"), cg = hx_bolt_result_col(&res, "degree");
    for (size_t i = 0; !rc && i < res.n_records; i++) {
        const hx_ps_value_t *total = hx_bolt_result_get(&res, i, ct), *score = hx_bolt_result_get(&res, i, cs),
                            *deg = hx_bolt_result_get(&res, i, cg);
        hx_graph_hit_t *h = hx_graph_result_add_hit(s->out);
        if (!h) {
            rc = hx_err_set(err, HX_ENOMEM, "neo4j: out of memory");
            break;
        }
        s->out->total = total && total->type == HX_PS_INT ? total->u.i : 0;
        h->score = score && score->type == HX_PS_FLOAT ? score->u.f : 0;
        rc = node_entity(s->out, hx_bolt_result_get(&res, i, cn), deg && deg->type == HX_PS_INT ? deg->u.i : 0,
                         &h->entity, err);
    }
    hx_bolt_result_free(&res);
    hx_buf_free(&p);
    return rc;
}

int nj_search(void *impl, const hx_graph_search_q_t *q, hx_graph_result_t *out, hx_err_t *err)
{
    /* The Lucene query is built from our own terms (alphanumeric runs), so
     * nothing of the user's text is Lucene syntax. */
    terms_t t = {HX_BUF_INIT, 0};
    hx_graph_terms(q->query ? q->query : "", add_term, &t);
    if (t.n == 0) {
        hx_buf_free(&t.q);
        return hx_err_set(err, HX_EINVAL, "search query has no terms (letters or digits)");
    }
    sctx_t s = {q, hx_buf_cstr(&t.q), out};
    int rc = hx_bolt_pool_with(((nj_t *)impl)->pool, search_fn, &s, err);
    hx_buf_free(&t.q);
    return rc;
}

/* ---- path ---- */
typedef struct pctx {
    const hx_graph_path_q_t *q;
    hx_graph_result_t *out;
} pctx_t;

static int path_fn(hx_bolt_conn_t *c, void *ctx, hx_err_t *err)
{
    pctx_t *x = ctx;
    const hx_graph_path_q_t *q = x->q;
    char from[HX_GRAPH_ID_MAX + 1], to[HX_GRAPH_ID_MAX + 1];
    int rc = nj_resolve(c, q->tenant, q->from, from, sizeof from, err);
    if (!rc)
        rc = nj_resolve(c, q->tenant, q->to, to, sizeof to, err);
    if (rc)
        return rc;
    if (strcmp(from, to) == 0) /* shortestPath refuses equal ends: the path is the node */
        return get_fn(c, &(gctx_t){q->tenant, from, x->out}, err);
    hx_buf_t stmt = HX_BUF_INIT, p = HX_BUF_INIT;
    hx_bolt_result_t res = {0};
    hx_ps_put_map_header(&p, 3);
    put_kv_str(&p, "tenant", q->tenant);
    put_kv_str(&p, "from", from);
    put_kv_str(&p, "to", to);
    if ((rc = hx_cy_path(&stmt, q->max_depth, err)) || (rc = hx_bolt_run(c, hx_buf_cstr(&stmt), &p, &res, err)))
        goto cleanup;
    if (res.n_records == 0) {
        rc = hx_err_set(err, HX_ENOTFOUND, "no path from '%s' to '%s' within %d hops", q->from, q->to, q->max_depth);
        goto cleanup;
    }
    hx_ps_path_t path;
    const hx_ps_value_t *degs = hx_bolt_result_get(&res, 0, hx_bolt_result_col(&res, "degrees"));
    if (hx_ps_as_path(&res.arena, hx_bolt_result_get(&res, 0, hx_bolt_result_col(&res, "p")), &path)) {
        rc = hx_err_set(err, HX_ECORRUPT, "neo4j: the path answer is not a valid Path");
        goto cleanup;
    }
    for (size_t i = 0; i <= path.length && !rc; i++) {
        const hx_ps_value_t *d = degs && degs->type == HX_PS_LIST && i < degs->n ? &degs->u.items[i] : NULL;
        hx_graph_entity_t *e = hx_graph_result_add_node(x->out);
        rc = e ? node_entity(x->out, path.nodes[i], d && d->type == HX_PS_INT ? d->u.i : 0, e, err)
               : hx_err_set(err, HX_ENOMEM, "neo4j: out of memory");
    }
    for (size_t i = 0; i < path.length && !rc; i++) {
        const char *a = x->out->nodes[i].id, *b = x->out->nodes[i + 1].id;
        hx_graph_rel_t *r = hx_graph_result_add_rel(x->out);
        rc = r ? rel_of(x->out, q->tenant, path.rels[i], path.directions[i] > 0 ? a : b,
                        path.directions[i] > 0 ? b : a, r, err)
               : hx_err_set(err, HX_ENOMEM, "neo4j: out of memory");
    }
cleanup:
    hx_bolt_result_free(&res);
    hx_buf_free(&stmt);
    hx_buf_free(&p);
    return rc;
}

int nj_path(void *impl, const hx_graph_path_q_t *q, hx_graph_result_t *out, hx_err_t *err)
{
    pctx_t x = {q, out};
    return hx_bolt_pool_with(((nj_t *)impl)->pool, path_fn, &x, err);
}
