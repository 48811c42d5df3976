/* The fulltext index: term -> postings (node, version, weighted tf), BM25
 * with each tenant's own statistics. A node's postings are retired by
 * bumping its version; a term's list is compacted once most of it is stale. */
#include "graph/embedded/store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BM25_K1 1.2
#define BM25_B 0.75
#define DOC_TERMS_MAX 512

typedef struct {
    char t[HX_GRAPH_TERM_MAX + 1];
    float tf;
} doc_term_t;

#define DOC_TERMS_INLINE 32

/* A document's distinct terms: on the stack for the usual few (a name and a
 * short description), on the heap past DOC_TERMS_INLINE. */
typedef struct {
    doc_term_t *terms;
    size_t n, cap;
    float w;
    int oom;
    doc_term_t inline_[DOC_TERMS_INLINE];
} doc_t;

static void collect(void *ctx, const char *term, size_t len)
{
    doc_t *d = ctx;
    for (size_t i = 0; i < d->n; i++)
        if (!strncmp(d->terms[i].t, term, len) && !d->terms[i].t[len]) {
            d->terms[i].tf += d->w;
            return;
        }
    if (d->n == DOC_TERMS_MAX)
        return;
    if (d->n == d->cap) {
        size_t nc = d->cap * 4 < DOC_TERMS_MAX ? d->cap * 4 : DOC_TERMS_MAX;
        doc_term_t *p = d->terms == d->inline_ ? malloc(nc * sizeof *p) : realloc(d->terms, nc * sizeof *p);
        if (!p) {
            d->oom = 1;
            return;
        }
        if (d->terms == d->inline_)
            memcpy(p, d->inline_, d->n * sizeof *p);
        d->terms = p;
        d->cap = nc;
    }
    memcpy(d->terms[d->n].t, term, len);
    d->terms[d->n].t[len] = 0;
    d->terms[d->n++].tf = d->w;
}

static void term_compact(es_store_t *s, es_term_t *t)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < t->n; i++)
        if (s->ftver[t->p[i].node] == t->p[i].ver)
            t->p[k++] = t->p[i];
    t->n = k;
    t->stale = 0;
}

static es_df_t *df_of(es_term_t *t, uint32_t tenant, int create)
{
    for (uint32_t i = 0; i < t->n_dfs; i++)
        if (t->dfs[i].tenant == tenant)
            return &t->dfs[i];
    if (!create)
        return NULL;
    es_df_t *p = realloc(t->dfs, (t->n_dfs + 1) * sizeof *p);
    if (!p)
        return NULL;
    t->dfs = p;
    p[t->n_dfs] = (es_df_t){tenant, 0};
    return &p[t->n_dfs++];
}

void es_ft_unindex(es_store_t *s, uint32_t idx)
{
    es_node_t *n = &s->nodes[idx];
    s->ftver[idx]++; /* every posting of the old version is stale from here */
    for (uint32_t i = 0; i < n->n_terms; i++) {
        es_term_t *t = &s->terms[n->terms[i]];
        es_df_t *df = df_of(t, n->tenant, 0);
        if (df && df->df)
            df->df--;
        if (++t->stale * 2 > t->n && t->n > 8)
            term_compact(s, t);
    }
    if (n->n_terms) {
        es_tenant_stats_t *ts = es_tstats(s, n->tenant);
        ts->docs -= 1;
        ts->len -= n->doclen;
    }
    free(n->terms);
    n->terms = NULL;
    n->n_terms = 0;
    n->doclen = 0;
}

static int posting_add(es_store_t *s, const char *term, uint32_t node, float tf, float dl, uint32_t *term_idx)
{
    uint32_t ti = es_intern(&s->terms_tab, term, 1);
    if (ti == ES_NONE)
        return HX_ENOMEM;
    if (ti >= s->terms_cap) {
        uint32_t nc = s->terms_cap ? s->terms_cap * 2 : 1024;
        while (nc <= ti)
            nc *= 2;
        es_term_t *p = realloc(s->terms, (size_t)nc * sizeof *p);
        if (!p)
            return HX_ENOMEM;
        memset(p + s->terms_cap, 0, (size_t)(nc - s->terms_cap) * sizeof *p);
        s->terms = p;
        s->terms_cap = nc;
    }
    es_term_t *t = &s->terms[ti];
    t->s = s->terms_tab.s[ti];
    if (t->n == t->cap) {
        uint32_t nc = t->cap ? t->cap * 2 : 4;
        es_posting_t *p = realloc(t->p, (size_t)nc * sizeof *p);
        if (!p)
            return HX_ENOMEM;
        t->p = p;
        t->cap = nc;
    }
    uint32_t tenant = s->nodes[node].tenant;
    es_df_t *df = df_of(t, tenant, 1);
    if (!df)
        return HX_ENOMEM;
    df->df++;
    t->p[t->n++] = (es_posting_t){node, s->ftver[node], tf, dl, tenant};
    *term_idx = ti;
    return HX_OK;
}

int es_ft_index(es_store_t *s, uint32_t idx)
{
    es_ft_unindex(s, idx);
    es_node_t *n = &s->nodes[idx];
    doc_t d;
    d.terms = d.inline_;
    d.n = 0;
    d.cap = DOC_TERMS_INLINE;
    d.w = 2.0f;
    d.oom = 0;
    hx_graph_terms(n->name, collect, &d);
    for (int i = 0; i < n->n_aliases; i++)
        hx_graph_terms(n->aliases[i], collect, &d);
    d.w = 1.0f;
    hx_graph_terms(n->desc, collect, &d);
    doc_term_t *terms = d.terms;
    int rc = d.oom ? HX_ENOMEM : HX_OK;
    if (d.n && !(n->terms = malloc(d.n * sizeof *n->terms)))
        rc = HX_ENOMEM;
    float len = 0;
    for (size_t i = 0; i < d.n; i++)
        len += terms[i].tf;
    for (size_t i = 0; !rc && i < d.n; i++) {
        rc = posting_add(s, terms[i].t, idx, terms[i].tf, len, &n->terms[i]);
        n = &s->nodes[idx];
        if (!rc)
            n->n_terms++;
    }
    if (terms != d.inline_)
        free(terms);
    if (n->n_terms) {
        es_tenant_stats_t *ts = es_tstats(s, n->tenant);
        ts->docs += 1;
        ts->len += len;
        n->doclen = len;
    }
    return rc;
}

/* ---- search ---- */

typedef struct {
    const es_store_t *s;
    uint32_t terms[HX_GRAPH_TERMS_MAX];
    size_t n;
} qterms_t;

static void qterm(void *ctx, const char *term, size_t len)
{
    qterms_t *q = ctx;
    char t[HX_GRAPH_TERM_MAX + 1];
    memcpy(t, term, len);
    t[len] = 0;
    uint32_t ti = es_intern((es_strtab_t *)&q->s->terms_tab, t, 0);
    if (ti == ES_NONE || q->n == HX_GRAPH_TERMS_MAX)
        return;
    for (size_t i = 0; i < q->n; i++)
        if (q->terms[i] == ti)
            return;
    q->terms[q->n++] = ti;
}

int es_ft_search(es_store_t *s, const hx_graph_search_q_t *q, hx_graph_result_t *out, hx_err_t *err)
{
    uint32_t t = es_tenant_find(s, q->tenant);
    out->total = 0;
    if (t == ES_NONE || t >= s->cap_tstats || s->tstats[t].docs <= 0)
        return HX_OK;
    uint32_t types[16];
    size_t nt = 0;
    for (size_t i = 0; i < q->n_types; i++) {
        uint32_t ty = es_intern((es_strtab_t *)&s->types, q->types[i], 0);
        if (ty != ES_NONE)
            types[nt++] = ty;
    }
    if (q->n_types && !nt)
        return HX_OK;
    qterms_t qt = {.s = s};
    hx_graph_terms(q->query, qterm, &qt);
    double N = s->tstats[t].docs, avgdl = s->tstats[t].len / N;
    es_scratch_t *x = es_scratch_get(s);
    if (!x)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    uint32_t ep = es_scratch_begin(x, s->n_nodes);
    uint64_t reads = 0;
    for (size_t k = 0; k < qt.n && !x->failed; k++) {
        es_term_t *term = &s->terms[qt.terms[k]];
        es_df_t *dfe = df_of(term, t, 0);
        double df = dfe ? dfe->df : 0;
        if (df == 0)
            continue;
        reads += term->n;
        double idf = log(1.0 + (N - df + 0.5) / (df + 0.5));
        /* With nothing stale in the list (the common case: text rarely
         * changes) no posting needs its node's version looked up. */
        const uint32_t *ver = s->ftver;
        int clean = term->stale == 0;
        for (uint32_t i = 0; i < term->n; i++) {
            const es_posting_t *p = &term->p[i];
            if (p->tenant != t || (!clean && ver[p->node] != p->ver))
                continue;
            if (x->mark[p->node] != ep) {
                x->mark[p->node] = ep;
                x->score[p->node] = 0;
                es_scratch_push(x, p->node);
            }
            double tf = p->tf;
            x->score[p->node] += idf * tf * (BM25_K1 + 1) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * p->dl / avgdl));
        }
    }
    size_t k = (size_t)q->limit, nh = 0;
    es_cand_t *heap = x->failed ? NULL : malloc(k * sizeof *heap);
    int rc = heap ? HX_OK : HX_ENOMEM;
    for (uint32_t i = 0; !rc && i < x->n_list; i++) {
        uint32_t node = x->list[i];
        if (nt) {
            int ok = 0;
            for (size_t j = 0; j < nt; j++)
                ok |= s->nodes[node].type == types[j];
            if (!ok)
                continue;
        }
        out->total++;
        es_cand_push(s, heap, &nh, k, (es_cand_t){node, 0, x->score[node], 0});
    }
    if (!rc)
        es_cand_sort(s, heap, nh);
    for (size_t i = 0; !rc && i < nh; i++) {
        hx_graph_hit_t *h = hx_graph_result_add_hit(out);
        if (!h || es_add_entity(s, out, &h->entity, heap[i].node)) {
            rc = HX_ENOMEM;
            break;
        }
        h->score = heap[i].a;
    }
    free(heap);
    es_scratch_put(s, x);
    atomic_fetch_add(&s->reads, reads + nh);
    return rc ? hx_err_set(err, rc, "out of memory searching") : HX_OK;
}
