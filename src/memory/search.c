/* Full-text search over memory content and summary, ranked with Okapi BM25
 * (k1 = 1.2, b = 0.75). Matching is by whole tokens: text is cut at every
 * character that is not a letter or digit and between letters and digits
 * ("OAuth2-PKCE" -> oauth, 2, pkce), ASCII is lowercased, and a memory
 * matches when it holds any query token (no stemming, no prefixes). Corpus statistics (document frequency, average
 * length) are computed over the memories that pass the filters, so a
 * tenant's ranking never depends on another tenant's data. A scan, not an
 * inverted index: memories per tenant are expected in the thousands to low
 * hundreds of thousands (docs/memory.md). */
#include "helix/hx_clock.h"
#include "helix/hx_json.h"
#include "memory/engine.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TERMS 32
#define TERM_MAX 64
#define K1 1.2
#define B 0.75

typedef struct bm25 {
    char terms[MAX_TERMS][TERM_MAX];
    int nterms;
    double df[MAX_TERMS];
    double ndocs, total_len;
    int pass;                  /* 1: collect statistics, 2: score */
} bm25_t;

/* Character classes of the tokenizer: 0 separator, 1 letter (ASCII letters
 * and every non-ASCII byte, so UTF-8 words stay whole), 2 digit. */
static int char_class(unsigned char c)
{
    if (isdigit(c))
        return 2;
    return isalpha(c) || c >= 0x80 ? 1 : 0;
}

/* Next lowercase token of s from *pos: a run of letters or a run of digits,
 * so "OAuth2" is "oauth" and "2" and a search for "oauth" finds it; 0 at the
 * end. Tokens longer than cap-1 bytes are cut. */
static int next_token(const char *s, size_t *pos, char *tok, size_t cap)
{
    size_t i = *pos;
    while (s[i] && !char_class((unsigned char)s[i]))
        i++;
    if (!s[i])
        return 0;
    int cls = char_class((unsigned char)s[i]);
    size_t n = 0;
    while (s[i] && char_class((unsigned char)s[i]) == cls) {
        if (n + 1 < cap)
            tok[n++] = (char)tolower((unsigned char)s[i]);
        i++;
    }
    tok[n] = 0;
    *pos = i;
    return 1;
}

static void count_terms(const bm25_t *q, const char *text, double tf[MAX_TERMS], double *len)
{
    size_t pos = 0;
    char tok[TERM_MAX];
    while (text && next_token(text, &pos, tok, sizeof tok)) {
        (*len)++;
        for (int t = 0; t < q->nterms; t++)
            if (!strcmp(tok, q->terms[t]))
                tf[t]++;
    }
}

static double score(void *ctx, const hx_mcrdt_t *s)
{
    bm25_t *q = ctx;
    double tf[MAX_TERMS] = {0}, len = 0;
    count_terms(q, hx_mmodel_content(s), tf, &len);
    count_terms(q, hx_mmodel_str_field(s, HX_MF_SUMMARY), tf, &len);
    if (q->pass == 1) {
        q->ndocs++;
        q->total_len += len;
        for (int t = 0; t < q->nterms; t++)
            q->df[t] += tf[t] > 0;
        return 0;
    }
    double avg = q->ndocs ? q->total_len / q->ndocs : 1, sc = 0;
    for (int t = 0; t < q->nterms; t++) {
        if (!tf[t])
            continue;
        double idf = log(1.0 + (q->ndocs - q->df[t] + 0.5) / (q->df[t] + 0.5));
        sc += idf * tf[t] * (K1 + 1) / (tf[t] + K1 * (1 - B + B * len / (avg > 0 ? avg : 1)));
    }
    return sc;
}

static int opt_str(const json_t *body, const char *k, const char **out, hx_err_t *err)
{
    json_t *v = json_object_get(body, k);
    if (!v || json_is_null(v))
        return HX_OK;
    if (!json_is_string(v))
        return hx_err_set(err, HX_EINVAL, "field '%s' must be a string", k);
    *out = json_string_value(v);
    return HX_OK;
}

int hx_memory_search(hx_memory_t *m, const char *tenant, const json_t *body, json_t **out, hx_err_t *err)
{
    *out = NULL;
    if (!json_is_object(body))
        return hx_err_set(err, HX_EINVAL, "the body must be a JSON object with a 'query' string");
    static const char *const known[] = {"query", "user_id", "type", "tag", "category", "limit", NULL};
    int krc = hx_json_check_known(body, known, err);
    if (krc)
        return krc;
    const char *text = json_string_value(json_object_get(body, "query"));
    if (!text || !*text)
        return hx_err_set(err, HX_EINVAL, "field 'query' is required (a non-empty string)");
    hx_memory_query_t q = {0};
    int rc;
    if ((rc = opt_str(body, "user_id", &q.user_id, err)) || (rc = opt_str(body, "type", &q.type, err)) ||
        (rc = opt_str(body, "tag", &q.tag, err)) || (rc = opt_str(body, "category", &q.category, err)))
        return rc;
    json_t *lim = json_object_get(body, "limit");
    if (lim && !json_is_integer(lim))
        return hx_err_set(err, HX_EINVAL, "field 'limit' must be an integer between 1 and 1000");
    q.limit = lim ? (int)json_integer_value(lim) : 10;
    if (q.limit < 1 || q.limit > 1000)
        return hx_err_set(err, HX_EINVAL, "field 'limit' must be an integer between 1 and 1000");
    bm25_t *b = calloc(1, sizeof *b);
    if (!b)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    size_t pos = 0;
    char tok[TERM_MAX];
    while (b->nterms < MAX_TERMS && next_token(text, &pos, tok, sizeof tok)) {
        int dup = 0;
        for (int t = 0; t < b->nterms; t++)
            dup |= !strcmp(b->terms[t], tok);
        if (!dup)
            snprintf(b->terms[b->nterms++], TERM_MAX, "%s", tok);
    }
    if (!b->nterms) {
        free(b);
        return hx_err_set(err, HX_EINVAL, "field 'query' has no searchable words (letters or digits)");
    }
    /* Two passes under one lock would be ideal; two scans are consistent
     * enough for ranking (a write between them shifts statistics slightly). */
    b->pass = 1;
    json_t *tmp = NULL;
    hx_memory_query_t all = q;
    all.limit = 1;
    rc = hx_mquery_run(m, tenant, &all, score, b, &tmp, err);
    json_decref(tmp);
    if (!rc) {
        b->pass = 2;
        rc = hx_mquery_run(m, tenant, &q, score, b, out, err);
    }
    if (!rc)
        json_object_set_new(*out, "query", json_string(text));
    free(b);
    return rc;
}
