/* The compression strategies. Each turns the old part of a conversation
 * (everything before the verbatim recent messages) into summary items that
 * fit a byte budget of 4 x its token budget, so the estimate
 * ceil(bytes / 4) of every item is within its share by construction.
 *
 *   window_summary  windows of window_size messages, each summarised to the
 *                   same share (q = old budget / old tokens, floored to 1/200
 *                   so the share and the cache key of a closed window do not
 *                   move with every new message); windows run on the pool and
 *                   are cached by content, budget and method.
 *   full            one selection over the whole old part: one summary
 *                   (asked of the LLM first when it is on, like windows).
 *   entity_graph    entities weighted by mentions and co-mention strength; an
 *                   entity facts block (up to a tenth of the budget) lists
 *                   them by weight with their strongest co-mentions, then
 *                   sentences are selected by the entities they carry and
 *                   grouped per window range. */
#include "context/strategies.h"
#include "helix/hx_buf.h"
#include "helix/hx_hash.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX 120
/* The entity facts block gets at most 1/FACTS_SHARE of the budget: names
 * without their sentences answer little, the sentences carry the facts. */
#define FACTS_SHARE 10

const char *ctx_strategy_name(ctx_strategy_t s)
{
    static const char *n[] = {"hybrid", "entity_graph", "window_summary", "full"};
    return n[s];
}

int ctx_strategy_parse(const char *s, ctx_strategy_t *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, ctx_strategy_name((ctx_strategy_t)i)) == 0) {
            *out = (ctx_strategy_t)i;
            return HX_OK;
        }
    return HX_EINVAL;
}

unsigned ctx_role_bit(const char *role)
{
    static const char *r[] = {"user", "assistant", "system", "tool"};
    for (unsigned i = 0; i < 4; i++)
        if (role && strcmp(role, r[i]) == 0)
            return 1u << i;
    return 0;
}

void ctx_item_free(ctx_item_t *it)
{
    free(it->text);
    free(it->picks);
    free(it->ents);
    memset(it, 0, sizeof *it);
}

static int item_copy(ctx_item_t *dst, const ctx_item_t *src)
{
    *dst = *src;
    dst->text = NULL;
    dst->picks = NULL;
    dst->ents = NULL;
    if (src->text && !(dst->text = malloc(src->len + 1)))
        return HX_ENOMEM;
    if (src->text)
        memcpy(dst->text, src->text, src->len + 1);
    if (src->n_picks && !(dst->picks = malloc(src->n_picks * sizeof *dst->picks))) {
        ctx_item_free(dst);
        return HX_ENOMEM;
    }
    if (src->n_picks)
        memcpy(dst->picks, src->picks, src->n_picks * sizeof *dst->picks);
    return HX_OK;
}

int ctx_items_push(ctx_run_t *r, const ctx_item_t *it)
{
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 64;
        ctx_item_t *ni = realloc(r->items, nc * sizeof *ni);
        if (!ni)
            return HX_ENOMEM;
        r->items = ni;
        r->cap = nc;
    }
    r->items[r->n++] = *it;
    return HX_OK;
}

void ctx_run_free(ctx_run_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->items[i].kind != CTX_I_VERBATIM)
            ctx_item_free(&r->items[i]);
    free(r->items);
    memset(r, 0, sizeof *r);
}

/* "[Summary of messages #a-#b]": the count and roles are in the item's JSON
 * (message_count, roles), so the text spends no budget on them. */
static size_t header(char *out, size_t cap, const char *what, uint64_t a, uint64_t b, uint32_t n, unsigned roles)
{
    (void)n;
    (void)roles;
    int k = snprintf(out, cap, "[%s of messages #%llu-#%llu]", what, (unsigned long long)a, (unsigned long long)b);
    return k > 0 ? (size_t)k : 0;
}

static void range_info(const ctx_gstats_t *g, size_t m0, size_t m1, ctx_item_t *it)
{
    it->from_seq = g->msgs[m0]->seq;
    it->to_seq = g->msgs[m1 - 1]->seq;
    it->n_msgs = (uint32_t)(m1 - m0);
    it->roles = 0;
    for (size_t m = m0; m < m1; m++)
        it->roles |= ctx_role_bit(g->msgs[m]->role);
}

/* Builds a summary item over [m0, m1) from picks with global message
 * indices (consumed: stored window-relative in the item); group as given to
 * ctx_select. */
static int build_summary(const ctx_gstats_t *g, size_t m0, size_t m1, const char *what, ctx_pick_t *picks,
                         size_t np, size_t group, ctx_item_t *it)
{
    memset(it, 0, sizeof *it);
    it->kind = CTX_I_SUMMARY;
    range_info(g, m0, m1, it);
    char h[HEADER_MAX];
    size_t hl = header(h, sizeof h, what, it->from_seq, it->to_seq, it->n_msgs, it->roles);
    char *t;
    size_t k;
    if (ctx_summary_text(g, h, hl, picks, np, group, &t, &k)) {
        free(picks);
        return HX_ENOMEM;
    }
    for (size_t p = 0; p < np; p++)
        picks[p].m -= (uint32_t)m0;
    it->text = t;
    it->len = k;
    it->tokens = hx_context_estimate_tokens(t, k);
    it->picks = picks;
    it->n_picks = np;
    it->base = m0;
    return HX_OK;
}

/* ---- window_summary ---- */

typedef struct {
    ctx_obj_t obj;
    ctx_item_t item;
} win_obj_t;

static void win_destroy(ctx_obj_t *o)
{
    win_obj_t *w = (win_obj_t *)o;
    ctx_item_free(&w->item);
    free(w);
}

typedef struct {
    ctx_plan_t *p;
    size_t W;
    double q;
    ctx_item_t *out;
    int *rc;
} win_job_t;

/* What the LLM reads of [m0, m1): "speaker: content" lines under a date line
 * whenever the day changes, as extractive summaries show them, so the model
 * can keep who said it and when. */
static char *transcript(const ctx_gstats_t *g, size_t m0, size_t m1, size_t *len)
{
    hx_buf_t b = HX_BUF_INIT;
    int64_t last = -1;
    for (size_t m = m0; m < m1; m++) {
        const ctx_msg_t *msg = g->msgs[m];
        char lb[48], db[40];
        int64_t d = ctx_msg_day(msg);
        if (d >= 0 && d != last) {
            size_t dl = ctx_fmt_date(msg->created_at, db, sizeof db);
            if (hx_buf_putc(&b, '[') || hx_buf_append(&b, db, dl) || hx_buf_puts(&b, "]\n"))
                goto fail;
            last = d;
        }
        size_t ll = ctx_msg_label(msg, lb, sizeof lb);
        if (hx_buf_append(&b, lb, ll) || hx_buf_puts(&b, ": ") || hx_buf_append(&b, msg->content, msg->content_len) ||
            hx_buf_putc(&b, '\n'))
            goto fail;
    }
    *len = b.len;
    return hx_buf_steal(&b);
fail:
    hx_buf_free(&b);
    return NULL;
}

static void llm_note(ctx_plan_t *p, int global, int ok, const char *why)
{
    pthread_mutex_lock(&p->mu);
    if (global)
        p->llm_global++;
    else
        p->llm_windows++;
    if (ok)
        p->llm_ok++;
    else {
        p->llm_fallbacks++;
        if (!p->llm_reason[0])
            snprintf(p->llm_reason, sizeof p->llm_reason, "%s", why);
    }
    pthread_mutex_unlock(&p->mu);
}

/* What the LLM is given: the transcript of [m0, m1), or, past LLM_INPUT_MAX
 * bytes (a global summary of a long conversation would not fit a model's
 * context), the extractive selection of its key sentences to that size. */
#define LLM_INPUT_MAX (256u * 1024u)

static char *llm_input(const ctx_gstats_t *g, size_t m0, size_t m1, size_t *len)
{
    size_t n = 0;
    for (size_t m = m0; m < m1; m++)
        n += strlen(g->msgs[m]->role) + 4 + g->msgs[m]->content_len;
    if (n <= LLM_INPUT_MAX)
        return transcript(g, m0, m1, len);
    ctx_pick_t *picks;
    size_t np, used;
    ctx_selparams_t sp = {0};
    ctx_item_t it;
    if (ctx_select(g, m0, m1, LLM_INPUT_MAX - HEADER_MAX, &sp, &picks, &np, &used) ||
        build_summary(g, m0, m1, "Key sentences", picks, np, 0, &it))
        return NULL;
    char *t = it.text;
    *len = it.len;
    it.text = NULL;
    ctx_item_free(&it);
    return t;
}

/* Tries the LLM for [m0, m1) within budget bytes (a window, or the whole old
 * part when global); 0 and a filled item on success. Any failure is counted
 * with its reason and the caller builds the extractive summary instead. */
static int llm_summary(ctx_plan_t *p, size_t m0, size_t m1, size_t budget, int global, ctx_item_t *it)
{
    const ctx_gstats_t *g = p->g;
    memset(it, 0, sizeof *it);
    it->kind = CTX_I_SUMMARY;
    range_info(g, m0, m1, it);
    char h[HEADER_MAX];
    size_t hl = header(h, sizeof h, "LLM summary", it->from_seq, it->to_seq, it->n_msgs, it->roles);
    if (budget < hl + 8)
        return HX_ERANGE;
    size_t tl;
    char *tr = llm_input(g, m0, m1, &tl), *sum = NULL;
    hx_err_t e = {0};
    int rc = tr ? ctx_llm_summarise(&p->o->llm, tr, tl, (uint32_t)((budget - hl - 1) / 4), &sum, &e) : HX_ENOMEM;
    free(tr);
    if (!rc && hl + 1 + strlen(sum) > budget)
        rc = hx_err_set(&e, HX_ERANGE, "the LLM summary (%zu bytes) exceeds the %s budget (%zu bytes)", strlen(sum),
                        global ? "summary" : "window", budget - hl - 1);
    if (rc) {
        llm_note(p, global, 0, e.msg[0] ? e.msg : hx_strerror(rc));
        free(sum);
        return rc;
    }
    size_t sl = strlen(sum);
    it->text = malloc(hl + 1 + sl + 1);
    if (!it->text) {
        free(sum);
        return HX_ENOMEM;
    }
    memcpy(it->text, h, hl);
    it->text[hl] = ' ';
    memcpy(it->text + hl + 1, sum, sl + 1);
    free(sum);
    it->len = hl + 1 + sl;
    it->tokens = hx_context_estimate_tokens(it->text, it->len);
    it->llm = 1;
    it->base = m0;
    llm_note(p, global, 1, NULL);
    return HX_OK;
}

/* The tokens of a message's sentences that say something (a content term or
 * an entity): windows share the budget by these, so a window of small talk
 * gets little and one full of details gets more. Only the message's own text
 * counts, so a closed window's share and cache key stay put. */
static uint64_t detail_tokens(const ctx_msg_t *m)
{
    uint64_t b = 0;
    for (uint32_t s = 0; s < m->an->n_sents; s++)
        if (m->an->sents[s].nt || m->an->sents[s].ne)
            b += m->an->sents[s].len + 1;
    return (b + 3) / 4;
}

static void win_one(void *arg, size_t w)
{
    win_job_t *j = arg;
    ctx_plan_t *p = j->p;
    const ctx_gstats_t *g = p->g;
    size_t m0 = w * j->W, m1 = m0 + j->W < p->n_old ? m0 + j->W : p->n_old;
    uint64_t tok = 0, ch = 0x243F6A8885A308D3ull;
    for (size_t m = m0; m < m1; m++) {
        tok += detail_tokens(g->msgs[m]);
        ch = (ch ^ g->msgs[m]->chash) * 0x100000001B3ull;
        /* the summary shows the speaker and the day too (an update may change them alone) */
        const char *u = g->msgs[m]->user_id;
        ch = (ch ^ (u ? hx_hash64(u, strlen(u)) : 0) ^ (uint64_t)ctx_msg_day(g->msgs[m])) * 0x100000001B3ull;
    }
    size_t budget = (size_t)floor(j->q * (double)tok) * 4;
    uint64_t kparts[6] = {p->env->tag, ch, budget, (uint64_t)p->o->use_llm, j->W, 0x57494E44};
    uint64_t key = hx_hash64(kparts, sizeof kparts);
    ctx_item_t *it = &j->out[w];
    win_obj_t *hit = (win_obj_t *)ctx_cache_get(p->env->cache, key);
    pthread_mutex_lock(&p->mu);
    p->win_total++;
    p->win_reused += hit != NULL;
    pthread_mutex_unlock(&p->mu);
    if (hit) {
        if (item_copy(it, &hit->item))
            j->rc[w] = HX_ENOMEM;
        it->base = m0;
        ctx_obj_unref(&hit->obj);
        return;
    }
    if (p->o->use_llm && llm_summary(p, m0, m1, budget, 0, it) == 0)
        goto store;
    char h[HEADER_MAX];
    ctx_item_t tmp = {0};
    range_info(g, m0, m1, &tmp);
    size_t hl = header(h, sizeof h, "Summary", tmp.from_seq, tmp.to_seq, tmp.n_msgs, tmp.roles);
    if (budget <= hl + 1) {
        memset(it, 0, sizeof *it); /* no room even for the header: the window is left out */
        it->kind = -1;
        return;
    }
    ctx_pick_t *picks;
    size_t np, used;
    ctx_selparams_t sp = {0};
    if ((j->rc[w] = ctx_select(g, m0, m1, budget - hl, &sp, &picks, &np, &used)))
        return;
    if ((j->rc[w] = build_summary(g, m0, m1, "Summary", picks, np, 0, it)))
        return;
store:
    if (p->env->cache) {
        win_obj_t *o = calloc(1, sizeof *o);
        if (o && item_copy(&o->item, it) == 0) {
            atomic_init(&o->obj.refs, 1);
            o->obj.destroy = win_destroy;
            ctx_cache_put(p->env->cache, key, p->env->tag, CTX_K_WINDOW, &o->obj);
            ctx_obj_unref(&o->obj);
        } else {
            free(o);
        }
    }
}

int ctx_run_window(ctx_plan_t *p, ctx_run_t *r)
{
    size_t W = (size_t)p->o->window, nw = (p->n_old + W - 1) / W;
    if (!nw)
        return HX_OK;
    uint64_t dt = 0;
    for (size_t m = 0; m < p->n_old; m++)
        dt += detail_tokens(p->g->msgs[m]);
    double q = dt ? floor((double)p->S * 200.0 / (double)dt) / 200.0 : 0;
    ctx_item_t *out = calloc(nw, sizeof *out);
    int *rcs = calloc(nw, sizeof *rcs);
    int rc = HX_ENOMEM;
    if (!out || !rcs)
        goto done;
    win_job_t job = {p, W, q, out, rcs};
    ctx_pool_for(p->env->pool, nw, win_one, &job);
    rc = HX_OK;
    for (size_t w = 0; w < nw; w++) {
        if (rcs[w] && !rc)
            rc = rcs[w];
        if (out[w].kind == CTX_I_SUMMARY && !rc) {
            if ((rc = ctx_items_push(r, &out[w])))
                ctx_item_free(&out[w]);
        } else if (out[w].kind == CTX_I_SUMMARY) {
            ctx_item_free(&out[w]);
        }
    }
done:
    free(out);
    free(rcs);
    return rc;
}

/* ---- full ---- */

int ctx_run_full(ctx_plan_t *p, ctx_run_t *r)
{
    if (!p->n_old)
        return HX_OK;
    ctx_item_t tmp = {0};
    range_info(p->g, 0, p->n_old, &tmp);
    char h[HEADER_MAX];
    size_t hl = header(h, sizeof h, "Summary", tmp.from_seq, tmp.to_seq, tmp.n_msgs, tmp.roles);
    size_t budget = (size_t)p->S * 4;
    ctx_item_t it;
    int rc;
    if (!p->o->use_llm || llm_summary(p, 0, p->n_old, budget, 1, &it) != 0) {
        if (budget <= hl + 1)
            return HX_OK;
        ctx_pick_t *picks;
        size_t np, used;
        ctx_selparams_t sp = {0};
        rc = ctx_select(p->g, 0, p->n_old, budget - hl, &sp, &picks, &np, &used);
        if (rc || (rc = build_summary(p->g, 0, p->n_old, "Summary", picks, np, 0, &it)))
            return rc;
    }
    if ((rc = ctx_items_push(r, &it)))
        ctx_item_free(&it);
    return rc;
}

/* ---- entity_graph ---- */

static const ctx_ent_t *ent_ref(const ctx_gstats_t *g, size_t e, const char **text)
{
    const ctx_msg_t *m = g->msgs[g->ent_msg[e]];
    *text = m->content;
    return &m->an->ents[g->ent_sent[e]];
}

static int by_weight(const void *a, const void *b, void *arg)
{
    const double *w = arg;
    double x = w[*(const uint32_t *)a], y = w[*(const uint32_t *)b];
    if (x != y)
        return x > y ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* The entities co-mentioned most often with e in the old part (up to 2). */
static void top_neighbours(const ctx_gstats_t *g, size_t n_old, size_t e, uint32_t out[2], int *n)
{
    ctx_map_t cnt = {0};
    *n = 0;
    if (ctx_map_init(&cnt, 64))
        return;
    uint64_t eh = g->ent_h[e];
    for (size_t m = g->ent_msg[e]; m < n_old; m++) {
        const ctx_an_t *a = g->msgs[m]->an;
        int has = 0;
        for (uint32_t k = 0; k < a->n_ents && !has; k++)
            has = a->ents[k].h == eh;
        if (!has)
            continue;
        for (uint32_t k = 0; k < a->n_ents; k++) {
            uint32_t *ix = ctx_map_get(&g->ent_ix, a->ents[k].h), *slot;
            if (ix && *ix != e && g->ent_strong[*ix] && ctx_map_put(&cnt, (uint64_t)*ix + 1, 0, &slot, NULL) == 0)
                (*slot)++;
        }
    }
    uint32_t best[2] = {0, 0};
    for (size_t s = 0; s < cnt.cap; s++) {
        if (!cnt.keys[s])
            continue;
        uint32_t c = cnt.vals[s], ix = (uint32_t)(cnt.keys[s] - 1);
        if (c > best[0]) {
            best[1] = best[0];
            out[1] = out[0];
            best[0] = c;
            out[0] = ix;
        } else if (c > best[1]) {
            best[1] = c;
            out[1] = ix;
        }
    }
    *n = best[1] ? 2 : best[0] ? 1 : 0;
    ctx_map_free(&cnt);
}

int ctx_run_entity(ctx_plan_t *p, ctx_run_t *r)
{
    const ctx_gstats_t *g = p->g;
    if (!p->n_old)
        return HX_OK;
    size_t W = (size_t)p->o->window, nw = (p->n_old + W - 1) / W;
    size_t budget = (size_t)p->S * 4;
    double *w = malloc((g->n_ents ? g->n_ents : 1) * sizeof *w);
    uint32_t *order = malloc((g->n_ents ? g->n_ents : 1) * sizeof *order);
    uint64_t *listed = malloc((g->n_ents ? g->n_ents : 1) * sizeof *listed);
    ctx_map_t ecov = {0};
    hx_buf_t facts = HX_BUF_INIT;
    ctx_pick_t *picks = NULL;
    size_t n_ord = 0, n_listed = 0, np = 0, used = 0;
    int rc = HX_ENOMEM;
    if (!w || !order || !listed || ctx_map_init(&ecov, 256))
        goto done;
    /* selection weight: rarity (as in select.c) plus the entity's place in
     * the co-mention graph; facts-block order: mentions and co-mentions */
    for (size_t e = 0; e < g->n_ents; e++) {
        w[e] = g->ent_strong[e] ? 1.5 + log(1.0 + (double)g->n / g->ent_count[e]) + 0.3 * log(1.0 + g->ent_degree[e])
                                : 0;
        if (g->ent_strong[e] && g->ent_msg[e] < p->n_old)
            order[n_ord++] = (uint32_t)e;
    }
    double *fw = malloc((g->n_ents ? g->n_ents : 1) * sizeof *fw);
    if (!fw)
        goto done;
    for (size_t e = 0; e < g->n_ents; e++)
        fw[e] = log(1.0 + g->ent_count[e] + 0.5 * g->ent_strength[e]);
    qsort_r(order, n_ord, sizeof *order, by_weight, fw);
    free(fw);
    /* facts block: up to a quarter of the budget, after the headers' reserve */
    size_t reserve = 0;
    for (size_t k = 0; k < nw; k++) {
        ctx_item_t t = {0};
        char hb[HEADER_MAX];
        range_info(g, k * W, (k + 1) * W < p->n_old ? (k + 1) * W : p->n_old, &t);
        /* + 4: each item's estimate rounds its bytes up to a whole token */
        reserve += header(hb, sizeof hb, "Key points", t.from_seq, t.to_seq, t.n_msgs, t.roles) + 4;
    }
    size_t fbudget = budget > reserve + 16 ? (budget - reserve) / FACTS_SHARE - 4 : 0;
    char h[HEADER_MAX];
    int hl = snprintf(h, sizeof h, "[Entities of messages #%llu-#%llu, by weight]",
                      (unsigned long long)g->msgs[0]->seq, (unsigned long long)g->msgs[p->n_old - 1]->seq);
    if (fbudget > (size_t)hl + 16) {
        if (hx_buf_append(&facts, h, (size_t)hl))
            goto done;
        for (size_t k = 0; k < n_ord; k++) {
            char name[200], piece[700];
            const char *text;
            const ctx_ent_t *er = ent_ref(g, order[k], &text);
            ctx_ent_text(text, er, name, sizeof name);
            int pl = snprintf(piece, sizeof piece, "%s %s (%u", k ? ";" : "", name, g->ent_count[order[k]]);
            if (k < 8) {
                uint32_t nb[2];
                int nn;
                top_neighbours(g, p->n_old, order[k], nb, &nn);
                for (int x = 0; x < nn; x++) {
                    char nbn[200];
                    const ctx_ent_t *nr = ent_ref(g, nb[x], &text);
                    ctx_ent_text(text, nr, nbn, sizeof nbn);
                    pl += snprintf(piece + pl, sizeof piece - (size_t)pl, "%s%s", x ? ", " : "; with ", nbn);
                }
            }
            pl += snprintf(piece + pl, sizeof piece - (size_t)pl, ")");
            if (facts.len + (size_t)pl > fbudget)
                break;
            if (hx_buf_append(&facts, piece, (size_t)pl))
                goto done;
            listed[n_listed++] = g->ent_h[order[k]];
            if (ctx_map_put(&ecov, g->ent_h[order[k]] ^ CTX_ENT_SALT, 1, NULL, NULL))
                goto done;
        }
    }
    size_t left = budget - (facts.len ? facts.len + 4 : 0);
    left = left > reserve ? left - reserve : 0;
    ctx_selparams_t sp = {w, &ecov, W};
    if ((rc = ctx_select(g, 0, p->n_old, left, &sp, &picks, &np, &used)))
        goto done;
    if (n_listed) {
        ctx_item_t it = {.kind = CTX_I_FACTS, .len = facts.len};
        range_info(g, 0, p->n_old, &it);
        it.tokens = hx_context_estimate_tokens((const char *)facts.data, facts.len);
        it.text = hx_buf_steal(&facts);
        it.ents = listed;
        it.n_ents = n_listed;
        listed = NULL;
        if ((rc = ctx_items_push(r, &it))) {
            ctx_item_free(&it);
            goto done;
        }
    }
    /* group picks per window */
    for (size_t a = 0; a < np;) {
        size_t win = picks[a].m / W, b = a;
        while (b < np && picks[b].m / W == win)
            b++;
        ctx_pick_t *grp = malloc((b - a) * sizeof *grp);
        if (!grp) {
            rc = HX_ENOMEM;
            goto done;
        }
        memcpy(grp, picks + a, (b - a) * sizeof *grp);
        size_t m0 = win * W, m1 = m0 + W < p->n_old ? m0 + W : p->n_old;
        ctx_item_t it;
        if ((rc = build_summary(g, m0, m1, "Key points", grp, b - a, W, &it)))
            goto done;
        if ((rc = ctx_items_push(r, &it))) {
            ctx_item_free(&it);
            goto done;
        }
        a = b;
    }
    rc = HX_OK;
done:
    free(w);
    free(order);
    free(listed);
    free(picks);
    ctx_map_free(&ecov);
    hx_buf_free(&facts);
    return rc;
}
