/* Conversation statistics and sentence selection.
 *
 * Scoring: a sentence's value is the sum of its content terms' IDF
 * (ln(1 + N/df), N = messages) plus the weights of the entities it names,
 * multiplied by boosts: x1.3 for a question, x1.5 for a decision ("decided",
 * "agreed", "will", ...), x1.25 when it carries a number.
 *
 * Redundancy control is maximal marginal relevance with set-coverage
 * similarity: a term or entity already present in the selection counts for
 * only LAMBDA of its weight, so the marginal value of a sentence falls as the
 * selection covers what it says. Selection is greedy by marginal value per
 * byte under the byte budget, evaluated lazily from a max-heap (marginal
 * values only ever fall, so a stale top that is still the best after
 * re-scoring is the true best): O(n log n) instead of MMR's O(n k). */
#include "context/ctx_compress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LAMBDA 0.25


typedef struct {
    const ctx_msg_t *const *msgs;
    size_t n;
} an_job_t;

static void analyse_one(void *arg, size_t i)
{
    an_job_t *j = arg;
    ctx_msg_t *m = (ctx_msg_t *)j->msgs[i]; /* the analysis is a cache owned by the message */
    if (m->an)
        return;
    ctx_an_t *a = calloc(1, sizeof *a);
    if (a && ctx_analyse(m->content ? m->content : "", m->content_len, a) == 0)
        m->an = a;
    else
        free(a);
}

static int grow_arrays(ctx_gstats_t *g, size_t *cap_t, size_t *cap_e)
{
    if (g->n_terms == *cap_t) {
        size_t nc = *cap_t ? *cap_t * 2 : 1024;
        uint64_t *h = realloc(g->term_h, nc * sizeof *h);
        if (h)
            g->term_h = h;
        uint32_t *tf = realloc(g->tf, nc * sizeof *tf);
        if (tf)
            g->tf = tf;
        uint32_t *df = realloc(g->df, nc * sizeof *df);
        if (df)
            g->df = df;
        if (!h || !tf || !df)
            return HX_ENOMEM;
        *cap_t = nc;
    }
    if (g->n_ents == *cap_e) {
        size_t nc = *cap_e ? *cap_e * 2 : 256;
        uint64_t *h = realloc(g->ent_h, nc * sizeof *h);
        if (h)
            g->ent_h = h;
        uint32_t *c = realloc(g->ent_count, nc * sizeof *c);
        if (c)
            g->ent_count = c;
        uint32_t *m = realloc(g->ent_msg, nc * sizeof *m);
        if (m)
            g->ent_msg = m;
        uint32_t *s = realloc(g->ent_sent, nc * sizeof *s);
        if (s)
            g->ent_sent = s;
        if (!h || !c || !m || !s)
            return HX_ENOMEM;
        *cap_e = nc;
    }
    return HX_OK;
}

int ctx_gstats_build(ctx_gstats_t *g, const ctx_msg_t *const *msgs, size_t n, ctx_pool_t *pool, int with_graph)
{
    memset(g, 0, sizeof *g);
    g->msgs = msgs;
    g->n = n;
    an_job_t job = {msgs, n};
    ctx_pool_for(pool, n, analyse_one, &job);
    size_t cap_t = 0, cap_e = 0;
    uint32_t *last = NULL; /* message that last counted each term's df */
    size_t last_cap = 0;
    ctx_map_t edges = {0};
    int rc = HX_ENOMEM;
    if (ctx_map_init(&g->term_ix, 4096) || ctx_map_init(&g->ent_ix, 512))
        goto fail;
    if (with_graph && ctx_map_init(&edges, 1024))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const ctx_an_t *a = msgs[i]->an;
        if (!a)
            goto fail;
        for (uint32_t t = 0; t < a->n_terms; t++) {
            uint32_t *slot;
            int existed;
            if (grow_arrays(g, &cap_t, &cap_e) ||
                ctx_map_put(&g->term_ix, a->terms[t], (uint32_t)g->n_terms, &slot, &existed))
                goto fail;
            uint32_t ix = *slot;
            if (!existed) {
                g->term_h[ix] = a->terms[t];
                g->tf[ix] = 0;
                g->df[ix] = 0;
                g->n_terms++;
            }
            if (ix >= last_cap) {
                size_t nc = last_cap ? last_cap * 2 : 4096;
                while (nc <= ix)
                    nc *= 2;
                uint32_t *nl = realloc(last, nc * sizeof *nl);
                if (!nl)
                    goto fail;
                memset(nl + last_cap, 0xff, (nc - last_cap) * sizeof *nl);
                last = nl;
                last_cap = nc;
            }
            g->tf[ix] += a->term_n[t];
            g->tf_total += a->term_n[t];
            if (last[ix] != (uint32_t)i) {
                last[ix] = (uint32_t)i;
                g->df[ix]++;
            }
        }
        uint32_t mine[12];
        size_t nm = 0;
        for (uint32_t e = 0; e < a->n_ents; e++) {
            uint32_t *slot;
            int existed;
            if (grow_arrays(g, &cap_t, &cap_e) ||
                ctx_map_put(&g->ent_ix, a->ents[e].h, (uint32_t)g->n_ents, &slot, &existed))
                goto fail;
            uint32_t ix = *slot;
            if (!existed) {
                g->ent_h[ix] = a->ents[e].h;
                g->ent_count[ix] = 0;
                g->ent_msg[ix] = (uint32_t)i;
                g->ent_sent[ix] = e;
                g->n_ents++;
            }
            g->ent_count[ix]++;
            int dup = 0;
            for (size_t k = 0; k < nm; k++)
                dup |= mine[k] == ix;
            if (!dup && nm < 12)
                mine[nm++] = ix;
        }
        if (with_graph)
            for (size_t x = 0; x < nm; x++)
                for (size_t y = x + 1; y < nm; y++) {
                    uint32_t lo = mine[x] < mine[y] ? mine[x] : mine[y], hi = mine[x] ^ mine[y] ^ lo;
                    uint32_t *slot;
                    if (ctx_map_put(&edges, ((uint64_t)lo << 32 | hi) + 1, 0, &slot, NULL))
                        goto fail;
                    (*slot)++;
                }
    }
    g->idf = malloc((g->n_terms ? g->n_terms : 1) * sizeof *g->idf);
    g->ent_strength = calloc(g->n_ents ? g->n_ents : 1, sizeof *g->ent_strength);
    g->ent_degree = calloc(g->n_ents ? g->n_ents : 1, sizeof *g->ent_degree);
    if (!g->idf || !g->ent_strength || !g->ent_degree)
        goto fail;
    for (size_t t = 0; t < g->n_terms; t++)
        g->idf[t] = log(1.0 + (double)n / (double)g->df[t]);
    if (with_graph)
        for (size_t s = 0; s < edges.cap; s++) {
            if (!edges.keys[s])
                continue;
            uint64_t k = edges.keys[s] - 1;
            uint32_t lo = (uint32_t)(k >> 32), hi = (uint32_t)k;
            g->ent_strength[lo] += edges.vals[s];
            g->ent_strength[hi] += edges.vals[s];
            g->ent_degree[lo]++;
            g->ent_degree[hi]++;
        }
    rc = HX_OK;
fail:
    free(last);
    ctx_map_free(&edges);
    if (rc)
        ctx_gstats_free(g);
    return rc;
}

void ctx_gstats_free(ctx_gstats_t *g)
{
    ctx_map_free(&g->term_ix);
    ctx_map_free(&g->ent_ix);
    free(g->term_h);
    free(g->tf);
    free(g->df);
    free(g->idf);
    free(g->ent_h);
    free(g->ent_count);
    free(g->ent_msg);
    free(g->ent_sent);
    free(g->ent_strength);
    free(g->ent_degree);
    memset(g, 0, sizeof *g);
}

/* ---- selection ---- */

typedef struct {
    double pri;
    uint32_t c;
} heap_el_t;

static void heap_push(heap_el_t *h, size_t *n, heap_el_t x)
{
    size_t i = (*n)++;
    while (i && h[(i - 1) / 2].pri < x.pri) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static heap_el_t heap_pop(heap_el_t *h, size_t *n)
{
    heap_el_t top = h[0], x = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, b = i;
        double bp = x.pri;
        if (l < *n && h[l].pri > bp)
            b = l, bp = h[l].pri;
        if (r < *n && h[r].pri > bp)
            b = r;
        if (b == i)
            break;
        h[i] = h[b];
        i = b;
    }
    if (*n)
        h[i] = x;
    return top;
}

static double ent_weight(const ctx_gstats_t *g, const ctx_selparams_t *sp, uint64_t h)
{
    uint32_t *ix = ctx_map_get(&g->ent_ix, h);
    if (!ix)
        return 0;
    if (sp->ent_w)
        return sp->ent_w[*ix];
    return 3.0 + 1.5 * log(1.0 + g->ent_count[*ix]);
}

static double gain(const ctx_gstats_t *g, const ctx_selparams_t *sp, const ctx_an_t *a, const ctx_sent_t *s,
                   const ctx_map_t *tcov, const ctx_map_t *ecov)
{
    double v = 0;
    for (uint32_t t = s->t0; t < s->t0 + s->nt; t++) {
        uint32_t *ix = ctx_map_get(&g->term_ix, a->terms[t]);
        double w = ix ? g->idf[*ix] : 0;
        v += ctx_map_get(tcov, a->terms[t]) ? LAMBDA * w : w;
    }
    for (uint32_t e = s->e0; e < s->e0 + s->ne; e++) {
        double w = ent_weight(g, sp, a->ents[e].h);
        int cov = ctx_map_get(ecov, a->ents[e].h ^ CTX_ENT_SALT) != NULL;
        v += cov ? LAMBDA * w : w;
    }
    double boost = 1.0;
    if (s->flags & CTX_F_QUESTION)
        boost *= 1.3;
    if (s->flags & CTX_F_DECISION)
        boost *= 1.5;
    if (s->flags & CTX_F_NUMBER)
        boost *= 1.25;
    return v * boost;
}

static int cmp_pick(const void *a, const void *b)
{
    const ctx_pick_t *x = a, *y = b;
    if (x->m != y->m)
        return x->m < y->m ? -1 : 1;
    return x->s < y->s ? -1 : x->s > y->s;
}

int ctx_select(const ctx_gstats_t *g, size_t m0, size_t m1, size_t budget, const ctx_selparams_t *sp,
               ctx_pick_t **picks, size_t *n_picks, size_t *used)
{
    *picks = NULL;
    *n_picks = 0;
    *used = 0;
    size_t nc = 0;
    for (size_t m = m0; m < m1; m++)
        nc += g->msgs[m]->an->n_sents;
    if (!nc || !budget)
        return HX_OK;
    ctx_pick_t *cands = malloc(nc * sizeof *cands), *out = malloc(nc * sizeof *out);
    heap_el_t *heap = malloc(nc * sizeof *heap);
    ctx_map_t tcov = {0}, own_ecov = {0};
    ctx_map_t *ecov = sp->ecov ? sp->ecov : &own_ecov;
    int rc = HX_ENOMEM;
    if (!cands || !out || !heap || ctx_map_init(&tcov, 256) || (!sp->ecov && ctx_map_init(&own_ecov, 64)))
        goto done;
    size_t hn = 0, k = 0;
    for (size_t m = m0; m < m1; m++) {
        const ctx_an_t *a = g->msgs[m]->an;
        for (uint32_t s = 0; s < a->n_sents; s++) {
            cands[k] = (ctx_pick_t){(uint32_t)m, s};
            double v = gain(g, sp, a, &a->sents[s], &tcov, ecov);
            heap_push(heap, &hn, (heap_el_t){v / (a->sents[s].len + 1), (uint32_t)k});
            k++;
        }
    }
    size_t left = budget, no = 0;
    while (hn) {
        heap_el_t top = heap_pop(heap, &hn);
        const ctx_pick_t *c = &cands[top.c];
        const ctx_an_t *a = g->msgs[c->m]->an;
        const ctx_sent_t *s = &a->sents[c->s];
        if (s->len + 1 > left)
            continue;
        double pri = gain(g, sp, a, s, &tcov, ecov) / (s->len + 1);
        if (hn && pri < heap[0].pri - 1e-12) {
            top.pri = pri;
            heap_push(heap, &hn, top);
            continue;
        }
        out[no++] = *c;
        left -= s->len + 1;
        for (uint32_t t = s->t0; t < s->t0 + s->nt; t++)
            if (ctx_map_put(&tcov, a->terms[t], 1, NULL, NULL))
                goto done;
        for (uint32_t e = s->e0; e < s->e0 + s->ne; e++)
            if (ctx_map_put(ecov, a->ents[e].h ^ CTX_ENT_SALT, 1, NULL, NULL))
                goto done;
    }
    qsort(out, no, sizeof *out, cmp_pick);
    *picks = out;
    *n_picks = no;
    *used = budget - left;
    out = NULL;
    rc = HX_OK;
done:
    free(cands);
    free(out);
    free(heap);
    ctx_map_free(&tcov);
    ctx_map_free(&own_ecov);
    return rc;
}
