/* Quality of a compression, measured against the original conversation:
 *   entity_recall  share of the original's entities named in the output
 *   term_recall    share of the original's top-50 terms by TF-IDF (tf x idf over
 *                  the whole conversation) present in the output
 *   rouge1_recall  ROUGE-1 recall over content words: sum of min(count in
 *                  original, count in output) / words of the original
 *   date_recall    share of the original's days (created_at, UTC) that the
 *                  output still dates: a verbatim message or a summary
 *                  sentence of that day (summaries anchor them "[7 May 2023]")
 *   name_recall    share of the original's entities that are not a
 *                  speaker's name (people, places, titles, organisations,
 *                  numbers with their units) present in the output
 *   detail_recall  one pool of the details short answers are made of - those
 *                  entities, every content word found in at most DETAIL_DF
 *                  messages, every day - and the share of them kept
 *   fits_budget    output tokens <= budget
 * quality_score = 0.5 x name_recall + 0.5 x detail_recall, 0 over budget.
 * Questions asked later about a conversation are answered by such details,
 * names above all (who, where, which title, how many), so the share kept
 * predicts the share of answerable questions still answerable: `helix bench
 * context --eval` checks it within 0.10 per strategy and ratio. Rare words
 * alone would under-predict (much small talk is rare words nobody asks
 * about), names alone over-predict (an entity list keeps names but not the
 * facts told about them). Extractive output is measured on the sentences it
 * copied (the same analysis as the original);
 * LLM and entity-facts text is analysed afresh. */
#include "context/ctx_compress.h"

#include <stdlib.h>
#include <string.h>

#define TOP_TERMS 50
#define DETAIL_DF 2 /* a content word in at most this many messages is a detail */

static int add_terms(ctx_map_t *tc, const ctx_an_t *a, uint32_t t0, uint32_t nt)
{
    for (uint32_t t = t0; t < t0 + nt; t++) {
        uint32_t *slot;
        int ex;
        if (ctx_map_put(tc, a->terms[t], 0, &slot, &ex))
            return HX_ENOMEM;
        *slot += a->term_n[t];
    }
    return HX_OK;
}

static int add_ents(ctx_map_t *es, const ctx_an_t *a, uint32_t e0, uint32_t ne)
{
    for (uint32_t e = e0; e < e0 + ne; e++)
        if (ctx_map_put(es, a->ents[e].h, 1, NULL, NULL))
            return HX_ENOMEM;
    return HX_OK;
}

static int add_text(ctx_map_t *tc, ctx_map_t *es, const char *text, size_t len)
{
    ctx_an_t a;
    int rc = ctx_analyse(text, len, &a);
    if (rc)
        return rc;
    rc = add_terms(tc, &a, 0, a.n_terms);
    if (!rc)
        rc = add_ents(es, &a, 0, a.n_ents);
    ctx_an_free(&a);
    return rc ? rc : ctx_ngrams(text, len, es);
}

int ctx_quality(const ctx_gstats_t *g, const ctx_item_t *items, size_t n_items, uint64_t orig_tokens, uint64_t budget,
                ctx_quality_t *q)
{
    memset(q, 0, sizeof *q);
    ctx_map_t tc = {0}, es = {0}, days = {0};
    int rc = HX_ENOMEM;
    if (ctx_map_init(&tc, 4096) || ctx_map_init(&es, 1024) || ctx_map_init(&days, 64))
        goto done;
    for (size_t i = 0; i < n_items; i++) {
        const ctx_item_t *it = &items[i];
        if (it->kind == CTX_I_VERBATIM) {
            q->tokens += it->msg->tokens;
            if (ctx_msg_day(it->msg) >= 0 && ctx_map_put(&days, (uint64_t)ctx_msg_day(it->msg) + 1, 1, NULL, NULL))
                goto done;
            const ctx_an_t *a = it->msg->an;
            if (a && (add_terms(&tc, a, 0, a->n_terms) || add_ents(&es, a, 0, a->n_ents)))
                goto done;
            continue;
        }
        q->tokens += it->tokens;
        if (it->kind == CTX_I_FACTS) {
            for (size_t e = 0; e < it->n_ents; e++)
                if (ctx_map_put(&es, it->ents[e], 1, NULL, NULL))
                    goto done;
        }
        if (it->kind == CTX_I_FACTS || it->llm) {
            if (add_text(&tc, &es, it->text, it->len))
                goto done;
            continue;
        }
        for (size_t p = 0; p < it->n_picks; p++) {
            const ctx_msg_t *pm = g->msgs[it->base + it->picks[p].m];
            const ctx_an_t *a = pm->an;
            if (ctx_msg_day(pm) >= 0 && ctx_map_put(&days, (uint64_t)ctx_msg_day(pm) + 1, 1, NULL, NULL))
                goto done;
            const ctx_sent_t *s = &a->sents[it->picks[p].s];
            if (add_terms(&tc, a, s->t0, s->nt) || add_ents(&es, a, s->e0, s->ne))
                goto done;
        }
    }
    size_t hit = 0;
    for (size_t e = 0; e < g->n_ents; e++)
        hit += g->ent_strong[e] && ctx_map_get(&es, g->ent_h[e]) != NULL;
    q->entity_recall = g->n_real ? (double)hit / (double)g->n_real : 1.0;

    size_t top[TOP_TERMS], nt = 0;
    for (size_t t = 0; t < g->n_terms; t++) {
        double s = g->tf[t] * g->idf[t];
        if (nt == TOP_TERMS && s <= g->tf[top[nt - 1]] * g->idf[top[nt - 1]])
            continue;
        size_t k = nt < TOP_TERMS ? nt++ : nt - 1;
        while (k > 0 && g->tf[top[k - 1]] * g->idf[top[k - 1]] < s) {
            top[k] = top[k - 1];
            k--;
        }
        top[k] = t;
    }
    hit = 0;
    for (size_t k = 0; k < nt; k++)
        hit += ctx_map_get(&tc, g->term_h[top[k]]) != NULL;
    q->term_recall = nt ? (double)hit / (double)nt : 1.0;

    uint64_t overlap = 0;
    for (size_t t = 0; t < g->n_terms; t++) {
        uint32_t *c = ctx_map_get(&tc, g->term_h[t]);
        if (c)
            overlap += *c < g->tf[t] ? *c : g->tf[t];
    }
    q->rouge1_recall = g->tf_total ? (double)overlap / (double)g->tf_total : 1.0;

    /* details: what short answers are made of */
    size_t n_items_d = 0, kept = 0, nd = 0, dk = 0;
    for (size_t e = 0; e < g->n_ents; e++)
        if (g->ent_strong[e] && !g->ent_speaker[e]) {
            n_items_d++;
            kept += ctx_map_get(&es, g->ent_h[e]) != NULL;
        }
    q->name_recall = n_items_d ? (double)kept / (double)n_items_d : 1.0;
    for (size_t t = 0; t < g->n_terms; t++)
        if (g->df[t] <= DETAIL_DF) {
            n_items_d++;
            kept += ctx_map_get(&tc, g->term_h[t]) != NULL;
        }
    int64_t last = -2;
    for (size_t m = 0; m < g->n; m++) {
        int64_t d = ctx_msg_day(g->msgs[m]);
        if (d < 0 || d == last)
            continue;
        last = d;
        nd++;
        dk += ctx_map_get(&days, (uint64_t)d + 1) != NULL;
    }
    q->date_recall = nd ? (double)dk / (double)nd : 1.0;
    q->detail_recall = n_items_d + nd ? (double)(kept + dk) / (double)(n_items_d + nd) : 1.0;
    q->ratio = orig_tokens ? (double)q->tokens / (double)orig_tokens : 1.0;
    q->fits = q->tokens <= budget;
    q->score = q->fits ? 0.5 * q->name_recall + 0.5 * q->detail_recall : 0;
    rc = HX_OK;
done:
    ctx_map_free(&tc);
    ctx_map_free(&es);
    ctx_map_free(&days);
    return rc;
}
