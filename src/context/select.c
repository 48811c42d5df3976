/* Conversation statistics and sentence selection.
 *
 * Scoring: a sentence's value is the sum of its content terms' IDF
 * (ln(1 + N/df), N = messages; phatic and stop words are not terms) plus the
 * weights of the entities it names (1.5 + ln(1 + N/mentions): a name said
 * once is worth more than one said in every session), multiplied by x1.3 for
 * a plan or decision ("decided", "booked", "adopted"), x1.3 for a change of
 * mind ("actually", "instead", "switched"), x1.2 with a number, and
 * 1 + 0.2 x its position in the conversation, so of a fact told twice the
 * newer telling wins.
 *
 * A question answered by the next message of another speaker is not chosen
 * alone: it joins the first sentence of the answer as one unit (its value at
 * half weight), so a question and its answer stay together.
 *
 * Cost of a unit: its sentences' bytes, a separator each, the speaker label
 * of each message not yet in the selection and a date anchor for each day
 * (per group) not yet in it: exactly what ctx_summary_text writes.
 *
 * Redundancy control is maximal marginal relevance with set-coverage
 * similarity: a term or entity already present in the selection counts for
 * only LAMBDA of its weight, so the marginal value of a sentence falls as the
 * selection covers what it says. Selection is greedy by marginal value per
 * byte under the byte budget, evaluated lazily from a max-heap (a popped
 * unit is re-scored; if it is no longer the best it goes back): O(n log n)
 * instead of MMR's O(n k). */
#include "context/ctx_compress.h"

#include "helix/hx_buf.h"
#include "helix/hx_hash.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
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
        uint32_t *st = realloc(g->ent_strong, nc * sizeof *st);
        if (st)
            g->ent_strong = st;
        if (!h || !c || !m || !s || !st)
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
    size_t tot_t = 0, tot_e = 0;
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i]->an)
            goto fail;
        tot_t += msgs[i]->an->n_terms;
        tot_e += msgs[i]->an->n_ents;
    }
    g->tix = malloc((tot_t ? tot_t : 1) * sizeof *g->tix);
    g->eix = malloc((tot_e ? tot_e : 1) * sizeof *g->eix);
    g->tix_off = malloc((n ? n : 1) * sizeof *g->tix_off);
    g->eix_off = malloc((n ? n : 1) * sizeof *g->eix_off);
    if (!g->tix || !g->eix || !g->tix_off || !g->eix_off)
        goto fail;
    tot_t = tot_e = 0;
    for (size_t i = 0; i < n; i++) {
        const ctx_an_t *a = msgs[i]->an;
        g->tix_off[i] = tot_t;
        g->eix_off[i] = tot_e;
        for (uint32_t t = 0; t < a->n_terms; t++) {
            uint32_t *slot;
            int existed;
            if (grow_arrays(g, &cap_t, &cap_e) ||
                ctx_map_put(&g->term_ix, a->terms[t], (uint32_t)g->n_terms, &slot, &existed))
                goto fail;
            uint32_t ix = *slot;
            g->tix[tot_t++] = ix;
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
            g->eix[tot_e++] = ix;
            if (!existed) {
                g->ent_h[ix] = a->ents[e].h;
                g->ent_count[ix] = 0;
                g->ent_msg[ix] = (uint32_t)i;
                g->ent_sent[ix] = e;
                g->ent_strong[ix] = 0;
                g->n_ents++;
            }
            g->ent_count[ix]++;
            if (!a->ents[e].weak && !g->ent_strong[ix]++) {
                g->n_real++;
                /* shown as first named for real, not as a sentence start */
                g->ent_msg[ix] = (uint32_t)i;
                g->ent_sent[ix] = e;
            }
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
    if (!(g->ent_speaker = calloc(g->n_ents ? g->n_ents : 1, 1)) ||
        !(g->ent_w = malloc((g->n_ents ? g->n_ents : 1) * sizeof *g->ent_w)))
        goto fail;
    const char *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        char lb[40];
        const char *u = msgs[i]->user_id;
        if (!u || (prev && strcmp(u, prev) == 0))
            continue;
        prev = u;
        size_t ll = ctx_msg_label(msgs[i], lb, sizeof lb);
        uint32_t *ix = ctx_map_get(&g->ent_ix, hx_hash64(lb, ll));
        if (ix)
            g->ent_speaker[*ix] = 1;
    }
    for (size_t e = 0; e < g->n_ents; e++)
        g->ent_w[e] = g->ent_strong[e] && !g->ent_speaker[e] ? 1.5 + log(1.0 + (double)n / (double)g->ent_count[e])
                                                            : 0;
    if (with_graph)
        for (size_t s = 0; s < edges.cap; s++) {
            if (!edges.keys[s])
                continue;
            uint64_t k = edges.keys[s] - 1;
            uint32_t lo = (uint32_t)(k >> 32), hi = (uint32_t)k;
            if (!g->ent_strong[lo] || !g->ent_strong[hi])
                continue; /* a sentence start that is no name after all */
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
    free(g->ent_strong);
    free(g->ent_speaker);
    free(g->ent_w);
    free(g->tix);
    free(g->eix);
    free(g->tix_off);
    free(g->eix_off);
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

/* Coverage of the selection so far, by global term / entity index. */
typedef struct {
    uint8_t *t, *e;
} cov_t;

static double gain(const ctx_gstats_t *g, const ctx_selparams_t *sp, size_t m, const ctx_sent_t *s,
                   const cov_t *cov)
{
    const uint32_t *ti = g->tix + g->tix_off[m], *ei = g->eix + g->eix_off[m];
    const double *ew = sp->ent_w ? sp->ent_w : g->ent_w;
    double v = 0;
    for (uint32_t t = s->t0; t < s->t0 + s->nt; t++) {
        double w = g->idf[ti[t]];
        v += cov->t[ti[t]] ? LAMBDA * w : w;
    }
    for (uint32_t e = s->e0; e < s->e0 + s->ne; e++) {
        uint32_t ix = ei[e];
        double w = g->ent_strong[ix] && !g->ent_speaker[ix] ? ew[ix] : 0;
        v += cov->e[ix] ? LAMBDA * w : w;
    }
    double boost = 1.0 + 0.2 * (double)m / (double)(g->n ? g->n : 1);
    if (s->flags & CTX_F_DECISION)
        boost *= 1.3;
    if (s->flags & CTX_F_CHANGE)
        boost *= 1.3;
    if (s->flags & CTX_F_NUMBER)
        boost *= 1.2;
    return v * boost;
}

size_t ctx_msg_label(const ctx_msg_t *m, char *out, size_t cap)
{
    const char *l = m->role ? m->role : "user";
    if (m->user_id && m->user_id[0] && strcmp(l, "user") == 0)
        l = m->user_id;
    int k = snprintf(out, cap, "%.32s", l);
    return k > 0 ? ((size_t)k < cap ? (size_t)k : cap - 1) : 0;
}

int64_t ctx_msg_day(const ctx_msg_t *m) { return m->created_at > 0 ? m->created_at / 86400000 : -1; }

static uint64_t day_key(int64_t day, size_t m, size_t group)
{
    return ((uint64_t)day << 24 ^ (uint64_t)(group ? m / group : 0)) + 1;
}

#define DATE_MAX 40
#define LABEL_MAX 40
#define NO_PARTNER UINT32_MAX
#define PAIR_MAX_Q 160         /* longer questions are chosen on their own */

typedef struct {
    uint32_t m, s, pm, ps;     /* sentence, and the question it answers (pm = NO_PARTNER) */
    uint32_t len;              /* the sentence's bytes: a lower bound of the cost without a memory chase */
} unit_t;

/* Per message of the range: what its label and date anchor cost, computed
 * once (formatting them is the expensive part of costing a unit). */
typedef struct {
    uint64_t label_h;          /* hash of the label: a change of speaker */
    int64_t day;
    uint16_t label_cost;       /* "\n<label>: " */
    uint16_t date_cost;        /* "\n[7 May 2023]", 0 without a date */
} msg_cost_t;

typedef struct {
    const ctx_gstats_t *g;
    size_t group;
    uint8_t *msg_on;           /* message m - m0 has a pick */
    msg_cost_t *mc;
    size_t m0;
    ctx_map_t days;            /* day keys anchored */
} cost_t;

static void msg_cost_init(msg_cost_t *c, const ctx_msg_t *m)
{
    char b[LABEL_MAX];
    size_t l = ctx_msg_label(m, b, sizeof b);
    c->label_h = hx_hash64(b, l);
    c->label_cost = (uint16_t)(l + 3);
    c->day = ctx_msg_day(m);
    c->date_cost = c->day >= 0 ? (uint16_t)(ctx_fmt_date(m->created_at, b, sizeof b) + 3) : 0;
}

static size_t date_cost(const cost_t *c, size_t m)
{
    const msg_cost_t *k = &c->mc[m - c->m0];
    if (k->day < 0 || ctx_map_get(&c->days, day_key(k->day, m, c->group)))
        return 0;
    return k->date_cost;
}

static size_t sent_cost(const cost_t *c, size_t m, const ctx_sent_t *s)
{
    if (c->msg_on[m - c->m0])
        return s->len + 1;
    return s->len + c->mc[m - c->m0].label_cost + date_cost(c, m);
}

static size_t unit_cost(const cost_t *c, const unit_t *u, int partner_on)
{
    const ctx_an_t *a = c->g->msgs[u->m]->an;
    size_t k = sent_cost(c, u->m, &a->sents[u->s]);
    if (u->pm != NO_PARTNER && !partner_on) {
        const ctx_an_t *pa = c->g->msgs[u->pm]->an;
        k += sent_cost(c, u->pm, &pa->sents[u->ps]);
        /* one anchor when both are of the same day */
        if (!c->msg_on[u->pm - c->m0] && !c->msg_on[u->m - c->m0] &&
            c->mc[u->pm - c->m0].day == c->mc[u->m - c->m0].day &&
            (c->group == 0 || u->pm / c->group == u->m / c->group))
            k -= date_cost(c, u->m);
    }
    return k;
}

static int take(cost_t *c, size_t m)
{
    c->msg_on[m - c->m0] = 1;
    int64_t d = c->mc[m - c->m0].day;
    return d < 0 ? HX_OK : ctx_map_put(&c->days, day_key(d, m, c->group), 1, NULL, NULL);
}

static int cmp_pick(const void *a, const void *b)
{
    const ctx_pick_t *x = a, *y = b;
    if (x->m != y->m)
        return x->m < y->m ? -1 : 1;
    return x->s < y->s ? -1 : x->s > y->s;
}

static void cover(const ctx_gstats_t *g, size_t m, const ctx_sent_t *s, cov_t *cov)
{
    const uint32_t *ti = g->tix + g->tix_off[m], *ei = g->eix + g->eix_off[m];
    for (uint32_t t = s->t0; t < s->t0 + s->nt; t++)
        cov->t[ti[t]] = 1;
    for (uint32_t e = s->e0; e < s->e0 + s->ne; e++)
        cov->e[ei[e]] = 1;
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
    unit_t *cands = malloc(nc * sizeof *cands);
    ctx_pick_t *out = malloc(nc * sizeof *out);
    heap_el_t *heap = malloc(nc * sizeof *heap);
    cov_t cov = {calloc(g->n_terms ? g->n_terms : 1, 1), calloc(g->n_ents ? g->n_ents : 1, 1)};
    cost_t c = {.g = g, .group = sp->group, .m0 = m0, .msg_on = calloc(m1 - m0, 1),
                .mc = malloc((m1 - m0) * sizeof *c.mc)};
    uint8_t *done = calloc(nc, 1);
    uint32_t *first = malloc((m1 - m0) * sizeof *first); /* index of a message's first candidate */
    int rc = HX_ENOMEM;
    if (!cands || !out || !heap || !c.msg_on || !c.mc || !done || !first || !cov.t || !cov.e ||
        ctx_map_init(&c.days, 64))
        goto done;
    if (sp->ecov) /* entities already covered (the facts block) */
        for (size_t k = 0; k < sp->ecov->cap; k++) {
            uint32_t *ix = sp->ecov->keys[k] ? ctx_map_get(&g->ent_ix, sp->ecov->keys[k] ^ CTX_ENT_SALT) : NULL;
            if (ix)
                cov.e[*ix] = 1;
        }
    for (size_t m = m0; m < m1; m++)
        msg_cost_init(&c.mc[m - m0], g->msgs[m]);
    size_t hn = 0, k = 0;
    uint32_t min_len = UINT32_MAX;
    for (size_t m = m0; m < m1; m++) {
        const ctx_an_t *a = g->msgs[m]->an;
        first[m - m0] = (uint32_t)k;
        const ctx_an_t *pa = m > m0 ? g->msgs[m - 1]->an : NULL;
        int answers = pa && pa->n_sents && (pa->sents[pa->n_sents - 1].flags & CTX_F_QUESTION) &&
                      pa->sents[pa->n_sents - 1].len <= PAIR_MAX_Q && c.mc[m - 1 - m0].label_h != c.mc[m - m0].label_h;
        const ctx_an_t *na = m + 1 < m1 ? g->msgs[m + 1]->an : NULL;
        for (uint32_t s = 0; s < a->n_sents; s++) {
            unit_t u = {(uint32_t)m, s, NO_PARTNER, 0, a->sents[s].len};
            if (s == 0 && answers)
                u.pm = (uint32_t)(m - 1), u.ps = pa->n_sents - 1;
            cands[k] = u;
            /* a question answered next is chosen with its answer */
            int paired = s + 1 == a->n_sents && (a->sents[s].flags & CTX_F_QUESTION) &&
                         a->sents[s].len <= PAIR_MAX_Q && na && na->n_sents &&
                         c.mc[m - m0].label_h != c.mc[m + 1 - m0].label_h;
            if (!paired) {
                double v = gain(g, sp, m, &a->sents[s], &cov);
                if (u.pm != NO_PARTNER)
                    v += 0.5 * gain(g, sp, u.pm, &pa->sents[u.ps], &cov);
                if (v <= 0) { /* says nothing (values only fall): never chosen */
                    k++;
                    continue;
                }
                heap_push(heap, &hn, (heap_el_t){v / (double)unit_cost(&c, &u, 0), (uint32_t)k});
                if (u.len < min_len)
                    min_len = u.len;
            }
            k++;
        }
    }
    size_t left = budget, no = 0;
    while (hn && left >= (size_t)min_len + 1) {
        heap_el_t top = heap_pop(heap, &hn);
        const unit_t *u = &cands[top.c];
        if ((size_t)u->len + 1 > left)
            continue; /* cannot fit whatever else it costs */
        const ctx_an_t *a = g->msgs[u->m]->an;
        const ctx_sent_t *s = &a->sents[u->s];
        size_t pk = u->pm != NO_PARTNER ? first[u->pm - m0] + u->ps : 0;
        int pon = u->pm == NO_PARTNER || done[pk];
        size_t cost = unit_cost(&c, u, pon);
        if (cost > left)
            continue;
        double v = gain(g, sp, u->m, s, &cov);
        if (!pon)
            v += 0.5 * gain(g, sp, u->pm, &g->msgs[u->pm]->an->sents[u->ps], &cov);
        double pri = v / (double)cost;
        if (hn && pri < heap[0].pri - 1e-12) {
            top.pri = pri;
            heap_push(heap, &hn, top);
            continue;
        }
        if (v <= 0)
            break; /* nothing left that says anything */
        if (!pon) {
            const ctx_an_t *pa = g->msgs[u->pm]->an;
            out[no++] = (ctx_pick_t){u->pm, u->ps};
            done[pk] = 1;
            cover(g, u->pm, &pa->sents[u->ps], &cov);
            if (take(&c, u->pm))
                goto done;
        }
        out[no++] = (ctx_pick_t){u->m, u->s};
        done[top.c] = 1;
        left -= cost;
        cover(g, u->m, s, &cov);
        if (take(&c, u->m))
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
    free(c.msg_on);
    free(c.mc);
    free(done);
    free(first);
    ctx_map_free(&c.days);
    free(cov.t);
    free(cov.e);
    return rc;
}

int ctx_summary_text(const ctx_gstats_t *g, const char *header, size_t hl, const ctx_pick_t *picks, size_t np,
                     size_t group, char **out, size_t *len)
{
    hx_buf_t b = HX_BUF_INIT;
    ctx_map_t days = {0};
    int rc = HX_ENOMEM;
    if (ctx_map_init(&days, 64) || hx_buf_append(&b, header, hl))
        goto done;
    size_t prev = SIZE_MAX;
    for (size_t p = 0; p < np; p++) {
        const ctx_msg_t *m = g->msgs[picks[p].m];
        const ctx_sent_t *s = &m->an->sents[picks[p].s];
        if (picks[p].m != prev) {
            int64_t d = ctx_msg_day(m);
            uint64_t dk = d >= 0 ? day_key(d, picks[p].m, group) : 0;
            if (dk && !ctx_map_get(&days, dk)) {
                char db[DATE_MAX];
                size_t dl = ctx_fmt_date(m->created_at, db, sizeof db);
                if (ctx_map_put(&days, dk, 1, NULL, NULL) || hx_buf_puts(&b, "\n[") || hx_buf_append(&b, db, dl) ||
                    hx_buf_putc(&b, ']'))
                    goto done;
            }
            char lb[LABEL_MAX];
            size_t ll = ctx_msg_label(m, lb, sizeof lb);
            if (hx_buf_putc(&b, '\n') || hx_buf_append(&b, lb, ll) || hx_buf_puts(&b, ": "))
                goto done;
        } else if (hx_buf_putc(&b, ' ')) {
            goto done;
        }
        size_t at = b.len;
        if (hx_buf_append(&b, m->content + s->off, s->len))
            goto done;
        if (b.data[at] >= 'a' && b.data[at] <= 'z') /* an opener was trimmed off */
            b.data[at] = (unsigned char)(b.data[at] - 'a' + 'A');
        prev = picks[p].m;
    }
    *len = b.len;
    *out = hx_buf_steal(&b);
    rc = *out ? HX_OK : HX_ENOMEM;
done:
    hx_buf_free(&b);
    ctx_map_free(&days);
    return rc;
}
