/* Answer-recall evaluation: compresses each conversation with every strategy
 * at ratios 0.30 and 0.15 and checks which questions' short answers are
 * still in the compressed context.
 *
 * The context is what a model would read: summaries as they are, verbatim
 * messages as "speaker: content" under a "[7 May 2023]" line whenever the
 * date changes (their created_at is in the API answer). Answers match whole
 * words, case-insensitively. All figures are shares of all questions:
 * ceiling = answerable in the uncompressed transcript, answer_recall =
 * answered by the compressed context, so answer_recall / ceiling is the share
 * of the answerable questions kept (reported as of_ceiling). Baselines at the
 * same token budget: the most recent messages that fit, and seeded random
 * messages that fit (mean of RANDOM_RUNS seeds). Escalation is off: every
 * figure is at the requested budget. */
#include "context/ctx_eval.h"
#include "context/ctx_internal.h"
#include "helix/hx_buf.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ctx_opts_resolve(const hx_config_t *cfg, const hx_ctx_request_t *rq, ctx_opts_t *o, hx_err_t *err);

#define RANDOM_RUNS 5

int ctx_eval_contains(const char *hay, size_t hl, const char *needle)
{
    size_t nl = strlen(needle);
    if (!nl || nl > hl)
        return 0;
    for (size_t i = 0; i + nl <= hl; i++) {
        if (tolower((unsigned char)hay[i]) != tolower((unsigned char)needle[0]))
            continue;
        if (i && isalnum((unsigned char)hay[i - 1]) && isalnum((unsigned char)needle[0]))
            continue;
        if (strncasecmp(hay + i, needle, nl) != 0)
            continue;
        if (i + nl < hl && isalnum((unsigned char)hay[i + nl]) && isalnum((unsigned char)needle[nl - 1]))
            continue;
        return 1;
    }
    return 0;
}

/* Appends one verbatim message, with a date line when the date changed. */
static int render_msg(hx_buf_t *b, const char *speaker, const char *content, int64_t created_at, char *last_date)
{
    char d[48] = "";
    if (created_at > 0)
        ctx_fmt_date(created_at, d, sizeof d);
    if (d[0] && strcmp(d, last_date) != 0) {
        if (hx_buf_printf(b, "[%s]\n", d))
            return HX_ENOMEM;
        snprintf(last_date, 48, "%s", d);
    }
    return hx_buf_printf(b, "%s: %s\n", speaker, content) ? HX_ENOMEM : HX_OK;
}

/* The context of a compression answer (its "messages"). */
static int render_json(const json_t *msgs, hx_buf_t *b)
{
    char last[48] = "";
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        const char *c = json_string_value(json_object_get(m, "content"));
        if (json_is_true(json_object_get(m, "summary"))) {
            if (hx_buf_printf(b, "%s\n", c ? c : ""))
                return HX_ENOMEM;
            last[0] = 0;
            continue;
        }
        const char *sp = json_string_value(json_object_get(m, "user_id"));
        if (!sp)
            sp = json_string_value(json_object_get(m, "role"));
        if (render_msg(b, sp ? sp : "", c ? c : "", json_integer_value(json_object_get(m, "created_at")), last))
            return HX_ENOMEM;
    }
    return HX_OK;
}

/* The messages keep[i] != 0 of c, in order. */
static int render_subset(const ctx_eval_conv_t *c, const uint8_t *keep, hx_buf_t *b)
{
    char last[48] = "";
    for (size_t i = 0; i < c->n; i++)
        if ((!keep || keep[i]) &&
            render_msg(b, c->msgs[i].speaker, c->msgs[i].content, c->msgs[i].created_at, last))
            return HX_ENOMEM;
    return HX_OK;
}

static size_t hits(const ctx_eval_conv_t *c, const uint8_t *answerable, hx_buf_t *b)
{
    size_t h = 0;
    for (size_t q = 0; q < c->nq; q++)
        h += (!answerable || answerable[q]) && ctx_eval_contains((const char *)b->data, b->len, c->qs[q].answer);
    return h;
}

static uint64_t tokens_of(const ctx_eval_msg_t *m)
{
    return hx_context_estimate_tokens(m->content, strlen(m->content));
}

static uint64_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 11;
}

typedef struct {
    double recall, quality, ratio, qerr;
} cell_t;

static const char *const strategies[] = {"hybrid", "entity_graph", "window_summary", "full"};
/* quality components averaged into the output, to see what the score is made of */
static const char *const comps[] = {"entity_recall", "term_recall", "rouge1_recall", "name_recall", "detail_recall",
                                    "date_recall"};
static const double ratios[] = {0.30, 0.15};

typedef struct {
    uint64_t questions, answerable, recent, random_x;  /* random_x: summed over RANDOM_RUNS */
    uint64_t hit[4];
    double quality[4], ratio[4], qerr[4], comp[4][6];
} acc_t;

/* One conversation at one ratio: baselines and every strategy. */
static int eval_one(const ctx_eval_conv_t *c, double ratio, ctx_pool_t *pool, const hx_config_t *cfg, acc_t *acc,
                    hx_err_t *err)
{
    hx_buf_t b = HX_BUF_INIT;
    uint8_t *answerable = calloc(c->nq ? c->nq : 1, 1), *keep = calloc(c->n ? c->n : 1, 1);
    size_t *order = malloc((c->n ? c->n : 1) * sizeof *order);
    ctx_conv_t cv;
    const ctx_msg_t **live = NULL;
    size_t nl = 0;
    int rc = HX_ENOMEM, conv_ok = 0;
    if (!answerable || !keep || !order || ctx_conv_init(&cv))
        goto done;
    conv_ok = 1;
    uint64_t T = 0;
    for (size_t i = 0; i < c->n; i++)
        T += tokens_of(&c->msgs[i]);
    uint64_t B = (uint64_t)floor(ratio * (double)T);
    if (render_subset(c, NULL, &b))
        goto done;
    for (size_t q = 0; q < c->nq; q++)
        answerable[q] = (uint8_t)ctx_eval_contains((const char *)b.data, b.len, c->qs[q].answer);
    size_t na = 0;
    for (size_t q = 0; q < c->nq; q++)
        na += answerable[q];
    acc->questions += c->nq;
    acc->answerable += na;
    /* most recent messages that fit */
    uint64_t used = 0;
    for (size_t i = c->n; i-- > 0;) {
        uint64_t t = tokens_of(&c->msgs[i]);
        if (used + t > B)
            break;
        used += t;
        keep[i] = 1;
    }
    hx_buf_reset(&b);
    if (render_subset(c, keep, &b))
        goto done;
    acc->recent += hits(c, answerable, &b);
    /* seeded random messages that fit */
    for (int run = 0; run < RANDOM_RUNS; run++) {
        uint64_t s = 0xC0FFEEull + (uint64_t)run * 7919 + c->n;
        for (size_t i = 0; i < c->n; i++)
            order[i] = i;
        for (size_t i = c->n; i > 1; i--) {
            size_t j = (size_t)(next_rand(&s) % i), t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        memset(keep, 0, c->n);
        used = 0;
        for (size_t k = 0; k < c->n; k++) {
            uint64_t t = tokens_of(&c->msgs[order[k]]);
            if (used + t <= B) {
                used += t;
                keep[order[k]] = 1;
            }
        }
        hx_buf_reset(&b);
        if (render_subset(c, keep, &b))
            goto done;
        acc->random_x += hits(c, answerable, &b);
    }
    /* the strategies */
    for (size_t i = 0; i < c->n; i++) {
        hx_ctx_message_t m = {.seq = i + 1, .role = "user", .content = c->msgs[i].content,
                              .created_at = c->msgs[i].created_at};
        if ((rc = ctx_conv_add_plain(&cv, &m, err)))
            goto done;
        ctx_msg_t *cm = &cv.msgs[cv.n - 1];
        cm->user_id = strdup(c->msgs[i].speaker);
        cm->session_id = strdup(c->msgs[i].session_id);
        if (!cm->user_id || !cm->session_id) {
            rc = HX_ENOMEM;
            goto done;
        }
    }
    rc = HX_ENOMEM;
    if (ctx_conv_live(&cv, &live, &nl))
        goto done;
    for (int s = 0; s < 4; s++) {
        hx_ctx_request_t rq;
        hx_ctx_request_defaults(&rq);
        rq.strategy = strategies[s];
        rq.target_ratio = ratio;
        ctx_opts_t o;
        if ((rc = ctx_opts_resolve(cfg, &rq, &o, err)))
            goto done;
        o.use_llm = 0;
        ctx_env_t env = {.pool = pool};
        json_t *res = NULL;
        if ((rc = ctx_compress(&o, &env, live, nl, &res, err)))
            goto done;
        hx_buf_reset(&b);
        rc = render_json(json_object_get(res, "messages"), &b);
        json_t *st = json_object_get(res, "compression_stats");
        double q = json_number_value(json_object_get(st, "quality_score"));
        size_t h = rc ? 0 : hits(c, answerable, &b);
        acc->hit[s] += h;
        acc->quality[s] += q;
        acc->ratio[s] += json_number_value(json_object_get(st, "compression_ratio"));
        for (int k = 0; k < 6; k++)
            acc->comp[s][k] += json_number_value(json_object_get(st, comps[k]));
        acc->qerr[s] += fabs(q - (na ? (double)h / (double)na : 1.0));
        json_decref(res);
        if (rc)
            goto done;
    }
    rc = HX_OK;
done:
    hx_buf_free(&b);
    free(answerable);
    free(keep);
    free(order);
    free(live);
    if (conv_ok)
        ctx_conv_free(&cv);
    if (rc == HX_ENOMEM)
        hx_err_set(err, rc, "out of memory in the evaluation");
    return rc;
}

int ctx_eval_run(const ctx_eval_conv_t *convs, size_t n, json_t **out, hx_err_t *err)
{
    *out = NULL;
    hx_config_t cfg;
    hx_config_defaults(&cfg);
    cfg.infinite_context.compression.quality_threshold = 0; /* no escalation: measure at the budget asked */
    ctx_pool_t *pool = NULL;
    if (ctx_pool_new(2, &pool))
        pool = NULL;
    json_t *res = json_object();
    int rc = HX_OK;
    for (int r = 0; r < 2 && !rc; r++) {
        acc_t acc = {0};
        for (size_t i = 0; i < n && !rc; i++)
            rc = eval_one(&convs[i], ratios[r], pool, &cfg, &acc, err);
        if (rc)
            break;
        double Q = acc.questions ? (double)acc.questions : 1;
        double ceiling = (double)acc.answerable / Q;
        json_t *per = json_object();
        for (int s = 0; s < 4; s++) {
            double rec = (double)acc.hit[s] / Q;
            json_object_set_new(
                per, strategies[s],
                json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "answer_recall", rec, "ceiling", ceiling,
                          "recent_baseline", (double)acc.recent / Q, "random_baseline",
                          (double)acc.random_x / RANDOM_RUNS / Q, "quality_score", acc.quality[s] / (double)n,
                          "of_ceiling", ceiling > 0 ? rec / ceiling : 0, "quality_error", acc.qerr[s] / (double)n,
                          "compression_ratio", acc.ratio[s] / (double)n));
        }
        for (int s = 0; s < 4; s++) {
            json_t *c = json_object_get(per, strategies[s]);
            for (int k = 0; k < 6; k++)
                json_object_set_new(c, comps[k], json_real(acc.comp[s][k] / (double)n));
        }
        char key[8];
        snprintf(key, sizeof key, "%.2f", ratios[r]);
        json_object_set_new(res, key, per);
    }
    ctx_pool_free(pool);
    if (rc) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return HX_OK;
}
