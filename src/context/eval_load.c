/* Conversations with questions from a file, for the evaluation on data from
 * outside (`helix bench context --eval-data FILE`). Two shapes:
 *
 *   helix:  {"conversations": [{"messages": [{"speaker", "content",
 *            "created_at" (ms, optional), "session_id" (optional)}...],
 *            "questions": [{"question", "answer", "kind" (optional)}...]}...]}
 *           (one conversation alone, as --data-dir writes them, is accepted too)
 *   LoCoMo: [{"conversation": {"speaker_a", "speaker_b", "session_N":
 *            [{"speaker", "text"}...], "session_N_date_time": "1:56 pm on 8 May,
 *            2023"}, "qa": [{"question", "answer"}...]}...]
 *
 * Answers may be strings or numbers; questions without an answer (LoCoMo's
 * adversarial ones) are skipped. Messages without text are skipped; a LoCoMo
 * turn's image caption is appended as "[shares <caption>]". */
#include "context/ctx_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ctx_eval_push_msg(ctx_eval_conv_t *c, const char *speaker, const char *content, const char *sid, int64_t ts)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        ctx_eval_msg_t *m = realloc(c->msgs, nc * sizeof *m);
        if (!m)
            return HX_ENOMEM;
        c->msgs = m;
        c->cap = nc;
    }
    ctx_eval_msg_t *m = &c->msgs[c->n];
    m->speaker = strdup(speaker);
    m->content = strdup(content);
    m->session_id = strdup(sid);
    m->created_at = ts;
    if (!m->speaker || !m->content || !m->session_id) {
        free(m->speaker);
        free(m->content);
        free(m->session_id);
        return HX_ENOMEM;
    }
    c->n++;
    return HX_OK;
}

int ctx_eval_push_q(ctx_eval_conv_t *c, const char *question, const char *answer, const char *kind)
{
    if (c->nq == c->qcap) {
        size_t nc = c->qcap ? c->qcap * 2 : 64;
        ctx_eval_q_t *n = realloc(c->qs, nc * sizeof *n);
        if (!n)
            return HX_ENOMEM;
        c->qs = n;
        c->qcap = nc;
    }
    ctx_eval_q_t *x = &c->qs[c->nq];
    x->question = strdup(question);
    x->answer = strdup(answer);
    snprintf(x->kind, sizeof x->kind, "%s", kind ? kind : "");
    if (!x->question || !x->answer) {
        free(x->question);
        free(x->answer);
        return HX_ENOMEM;
    }
    c->nq++;
    return HX_OK;
}

static int add_q(ctx_eval_conv_t *c, const json_t *q)
{
    const char *question = json_string_value(json_object_get(q, "question"));
    const json_t *a = json_object_get(q, "answer");
    char num[64];
    const char *answer = json_string_value(a);
    if (!answer && json_is_number(a)) {
        if (json_is_integer(a))
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(a));
        else
            snprintf(num, sizeof num, "%g", json_real_value(a));
        answer = num;
    }
    if (!question || !answer || !answer[0])
        return HX_OK;
    return ctx_eval_push_q(c, question, answer, json_string_value(json_object_get(q, "kind")));
}

static int load_helix(const json_t *conv, ctx_eval_conv_t *c)
{
    size_t i;
    json_t *m;
    int rc = HX_OK;
    json_array_foreach(json_object_get(conv, "messages"), i, m) {
        const char *sp = json_string_value(json_object_get(m, "speaker")),
                   *ct = json_string_value(json_object_get(m, "content")),
                   *sid = json_string_value(json_object_get(m, "session_id"));
        json_int_t ts = json_integer_value(json_object_get(m, "created_at"));
        if (ct && ct[0] && (rc = ctx_eval_push_msg(c, sp ? sp : "user", ct, sid ? sid : "", ts > 0 ? ts : 0)))
            return rc;
    }
    json_array_foreach(json_object_get(conv, "questions"), i, m) {
        if ((rc = add_q(c, m)))
            return rc;
    }
    return HX_OK;
}

/* "1:56 pm on 8 May, 2023" -> ms since epoch (UTC), 0 when unreadable. */
static int64_t locomo_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *e = s ? strptime(s, "%I:%M %p on %d %B, %Y", &tm) : NULL;
    if (!e) {
        memset(&tm, 0, sizeof tm);
        e = s ? strptime(s, "%d %B, %Y", &tm) : NULL;
    }
    if (!e)
        return 0;
    time_t t = timegm(&tm);
    return t > 0 ? (int64_t)t * 1000 : 0;
}

static int load_locomo(const json_t *sample, ctx_eval_conv_t *c)
{
    const json_t *conv = json_object_get(sample, "conversation");
    int rc = HX_OK;
    for (int s = 1; s < 1000; s++) {
        char key[48], tkey[64], sid[32];
        snprintf(key, sizeof key, "session_%d", s);
        snprintf(tkey, sizeof tkey, "session_%d_date_time", s);
        const json_t *turns = json_object_get(conv, key);
        if (!json_is_array(turns)) {
            if (s > 1 && !json_object_get(conv, tkey))
                break;
            continue;
        }
        snprintf(sid, sizeof sid, "session-%d", s);
        int64_t t0 = locomo_time(json_string_value(json_object_get(conv, tkey)));
        size_t i;
        json_t *m;
        json_array_foreach(turns, i, m) {
            const char *sp = json_string_value(json_object_get(m, "speaker")),
                       *tx = json_string_value(json_object_get(m, "text")),
                       *cap = json_string_value(json_object_get(m, "blip_caption"));
            if (!tx || !tx[0])
                continue;
            /* a shared photo is part of what was said: "[shares a photo of ...]" */
            char *full = NULL;
            if (cap && cap[0] && asprintf(&full, "%s [shares %s]", tx, cap) < 0)
                return HX_ENOMEM;
            /* turns a minute apart from the session's time: the order and the date are what matter */
            rc = ctx_eval_push_msg(c, sp ? sp : "user", full ? full : tx, sid, t0 ? t0 + (int64_t)i * 60000 : 0);
            free(full);
            if (rc)
                return rc;
        }
    }
    size_t i;
    json_t *q;
    json_array_foreach(json_object_get(sample, "qa"), i, q) {
        if ((rc = add_q(c, q)))
            return rc;
    }
    return HX_OK;
}

int ctx_eval_load(const char *text, size_t len, ctx_eval_conv_t **out, size_t *n, hx_err_t *err)
{
    *out = NULL;
    *n = 0;
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    if (!doc)
        return hx_err_set(err, HX_EINVAL, "eval data is not JSON: %s (line %d)", je.text, je.line);
    const json_t *list = json_is_array(doc) ? doc : json_object_get(doc, "conversations");
    int single = !list && json_is_array(json_object_get(doc, "messages"));
    size_t cnt = single ? 1 : json_array_size(list);
    int rc = HX_OK;
    if (!single && json_is_array(list) && !cnt) {
        json_decref(doc);
        return hx_err_set(err, HX_EINVAL, "eval data has no conversations");
    }
    ctx_eval_conv_t *cv = calloc(cnt ? cnt : 1, sizeof *cv);
    if (!cv) {
        json_decref(doc);
        return hx_err_set(err, HX_ENOMEM, "out of memory loading eval data");
    }
    if (!single && !json_is_array(list))
        rc = hx_err_set(err, HX_EINVAL,
                        "eval data must be {\"conversations\":[...]}, one {\"messages\",\"questions\"} "
                        "conversation or a LoCoMo-style array of {\"conversation\",\"qa\"}");
    for (size_t i = 0; i < cnt && !rc; i++) {
        const json_t *x = single ? doc : json_array_get(list, i);
        rc = json_object_get(x, "conversation") ? load_locomo(x, &cv[i]) : load_helix(x, &cv[i]);
        if (rc)
            hx_err_set(err, rc, "out of memory loading eval data");
        else if (!cv[i].n || !cv[i].nq)
            rc = hx_err_set(err, HX_EINVAL, "eval data: conversation %zu has no messages or no questions", i + 1);
    }
    json_decref(doc);
    if (rc) {
        for (size_t i = 0; i < cnt; i++)
            ctx_eval_conv_free(&cv[i]);
        free(cv);
        return rc;
    }
    *out = cv;
    *n = cnt;
    return HX_OK;
}
