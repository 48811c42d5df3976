/* Text analysis for scoring and quality: sentences, content terms, named
 * entities and the question / decision / number flags, in one pass.
 *
 * Tokens are runs of letters, digits, '_' and UTF-8 bytes, joined across a
 * single '.', '-' or '/' between two such characters ("v2.1", "GPT-4",
 * "api/users"). Sentences end at . ! ? followed by space or end, at a newline,
 * or after MAX_SENT bytes (at a space) so no sentence is too big to select.
 *
 * An entity is a token that carries evidence of being a name: an inner
 * capital (PostgreSQL, GPT-4, API), an inner '_' or '.' (user_id, helix.yaml),
 * letters mixed with digits (S3, v2), or a capital initial when it is not the
 * first word of its sentence. Adjacent capitalised words merge into one entity
 * of up to three words ("Alice Chen", "New York City"), also when the first is
 * sentence-initial. */
#include "context/ctx_internal.h"
#include "helix/hx_hash.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SENT 320
#define MAX_TOK 64

uint32_t hx_context_estimate_tokens(const char *text, size_t len)
{
    (void)text;
    return (uint32_t)((len + 3) / 4);
}

static const char *const stop[] = {
    "a",     "about", "after", "again", "all",   "also",  "am",    "an",    "and",   "any",   "are",   "as",
    "at",    "be",    "been",  "but",   "by",    "can",   "could", "did",   "do",    "does",  "doing", "done",
    "for",   "from",  "get",   "got",   "had",   "has",   "have",  "he",    "her",   "here",  "him",   "his",
    "how",   "i",     "if",    "in",    "into",  "is",    "it",    "its",   "just",  "let",   "lets",  "like",
    "me",    "more",  "most",  "my",    "no",    "not",   "now",   "of",    "ok",    "okay",  "on",    "one",
    "only",  "or",    "our",   "out",   "over",  "please", "so",   "some",  "such",  "than",  "that",  "the",
    "their", "them",  "then",  "there", "these", "they",  "this",  "those", "to",    "too",   "up",    "us",
    "very",  "was",   "we",    "well",  "were",  "what",  "when",  "where", "which", "while", "who",   "why",
    "will",  "with",  "would", "yes",   "you",   "your",
};

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static int is_stop(const char *lw)
{
    const char *k = lw;
    return bsearch(&k, stop, sizeof stop / sizeof stop[0], sizeof stop[0], cmp_str) != NULL;
}

static const char *const decision_words[] = {"agreed", "approve", "approved", "chose", "chosen", "concluded",
                                             "decide", "decided", "decision", "final", "finalized", "go",
                                             "resolved", "settled", "ship", "will", NULL};

static int is_decision(const char *lw)
{
    for (int i = 0; decision_words[i]; i++)
        if (strcmp(lw, decision_words[i]) == 0)
            return 1;
    return 0;
}

static int tok_char(unsigned char c) { return isalnum(c) || c == '_' || c >= 0x80; }

typedef struct {
    uint32_t off, len;
    uint8_t cap_init, inner_cap, ident, digit, alpha, initial;
} tok_t;

/* Next token at or after *pos, within [*pos, end); 0 when none. Sets *brk if
 * a sentence boundary was crossed before it. */
static int next_tok(const char *s, size_t end, size_t *pos, tok_t *t, int *brk, size_t sent_start)
{
    size_t i = *pos;
    while (i < end && !tok_char((unsigned char)s[i])) {
        char c = s[i];
        if (c == '\n' || ((c == '.' || c == '!' || c == '?') && (i + 1 >= end || isspace((unsigned char)s[i + 1]))))
            *brk = 1;
        i++;
        if (*brk)
            break;
    }
    if (*brk) {
        *pos = i;
        return 0;
    }
    if (i >= end)
        return *pos = i, 0;
    if (i - sent_start >= MAX_SENT) {
        *brk = 1;
        *pos = i;
        return 0;
    }
    memset(t, 0, sizeof *t);
    t->off = (uint32_t)i;
    t->cap_init = isupper((unsigned char)s[i]) != 0;
    size_t j = i;
    while (j < end) {
        unsigned char c = (unsigned char)s[j];
        if (tok_char(c)) {
            if (isdigit(c))
                t->digit = 1;
            else if (isalpha(c) || c >= 0x80)
                t->alpha = 1;
            if (j > i && isupper(c))
                t->inner_cap = 1;
            if (j > i && c == '_')
                t->ident = 1;
            j++;
        } else if ((c == '.' || c == '-' || c == '/') && j + 1 < end && tok_char((unsigned char)s[j + 1]) &&
                   j > i) {
            if (c == '.' && !isdigit((unsigned char)s[j + 1]))
                t->ident = 1;
            j++;
        } else {
            break;
        }
    }
    t->len = (uint32_t)(j - i);
    *pos = j;
    return 1;
}

static void lower_copy(const char *s, const tok_t *t, char *out)
{
    size_t n = t->len < MAX_TOK - 1 ? t->len : MAX_TOK - 1;
    for (size_t k = 0; k < n; k++)
        out[k] = (char)tolower((unsigned char)s[t->off + k]);
    out[n] = 0;
}

static int strong_entity(const tok_t *t)
{
    if (t->len < 2)
        return 0;
    return t->inner_cap || t->ident || (t->digit && t->alpha);
}

typedef struct {
    void *p;
    size_t n, cap, size;
} vec_t;

static int vec_push(vec_t *v, const void *item)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 16;
        void *np = realloc(v->p, nc * v->size);
        if (!np)
            return HX_ENOMEM;
        v->p = np;
        v->cap = nc;
    }
    memcpy((char *)v->p + v->n * v->size, item, v->size);
    v->n++;
    return HX_OK;
}

/* Hash of tokens [a, b] joined by single spaces. */
static uint64_t span_hash(const char *s, const tok_t *toks, size_t a, size_t b)
{
    char buf[3 * MAX_TOK + 4];
    size_t n = 0;
    for (size_t k = a; k <= b; k++) {
        size_t l = toks[k].len < MAX_TOK ? toks[k].len : MAX_TOK;
        if (k > a)
            buf[n++] = ' ';
        memcpy(buf + n, s + toks[k].off, l);
        n += l;
    }
    return hx_hash64(buf, n);
}

/* Analyses one sentence of toks[0..nt) into the output vectors. */
static int add_sentence(const char *s, const tok_t *toks, size_t nt, uint32_t soff, uint32_t slen, int question,
                        vec_t *sents, vec_t *terms, vec_t *term_n, vec_t *ents)
{
    if (slen == 0)
        return HX_OK;
    ctx_sent_t st = {.off = soff, .len = slen, .t0 = (uint32_t)terms->n, .e0 = (uint32_t)ents->n};
    if (question)
        st.flags |= CTX_F_QUESTION;
    char lw[MAX_TOK];
    for (size_t k = 0; k < nt; k++) {
        const tok_t *t = &toks[k];
        if (t->digit)
            st.flags |= CTX_F_NUMBER;
        lower_copy(s, t, lw);
        if (is_decision(lw))
            st.flags |= CTX_F_DECISION;
        if (t->len < 2 || is_stop(lw))
            continue;
        uint64_t h = hx_hash64(lw, strlen(lw));
        uint32_t *tv = terms->p, *tn = term_n->p;
        size_t found = 0;
        for (size_t q = st.t0; q < terms->n; q++)
            if (((uint64_t *)terms->p)[q] == h) {
                found = q + 1;
                break;
            }
        (void)tv;
        if (found) {
            tn[found - 1]++;
            continue;
        }
        uint32_t one = 1;
        if (vec_push(terms, &h) || vec_push(term_n, &one))
            return HX_ENOMEM;
    }
    for (size_t k = 0; k < nt;) {
        const tok_t *t = &toks[k];
        int capw = t->cap_init && t->alpha && t->len >= 2;
        size_t end = k;
        if (capw) {
            while (end + 1 < nt && end - k < 2 && toks[end + 1].cap_init && toks[end + 1].alpha &&
                   toks[end + 1].len >= 2 && toks[end + 1].off == toks[end].off + toks[end].len + 1)
                end++;
        }
        int is_ent = strong_entity(t) || (capw && (!t->initial || end > k));
        if (!is_ent) {
            k++;
            continue;
        }
        uint64_t h = span_hash(s, toks, k, end);
        int dup = 0;
        for (size_t q = st.e0; q < ents->n; q++)
            dup |= ((ctx_ent_t *)ents->p)[q].h == h;
        if (!dup) {
            ctx_ent_t e = {h, t->off, toks[end].off + toks[end].len - t->off};
            if (vec_push(ents, &e))
                return HX_ENOMEM;
        }
        k = end + 1;
    }
    st.nt = (uint32_t)(terms->n - st.t0);
    st.ne = (uint32_t)(ents->n - st.e0);
    return vec_push(sents, &st);
}

int ctx_analyse(const char *s, size_t len, ctx_an_t *out)
{
    memset(out, 0, sizeof *out);
    vec_t sents = {.size = sizeof(ctx_sent_t)}, terms = {.size = sizeof(uint64_t)},
          term_n = {.size = sizeof(uint32_t)}, ents = {.size = sizeof(ctx_ent_t)};
    tok_t toks[MAX_SENT];
    size_t nt = 0, pos = 0, sent_start = 0;
    int rc = HX_OK;
    while (sent_start < len && isspace((unsigned char)s[sent_start]))
        sent_start++;
    pos = sent_start;
    for (;;) {
        int brk = 0;
        tok_t t;
        int got = next_tok(s, len, &pos, &t, &brk, sent_start);
        if (got) {
            t.initial = nt == 0;
            if (nt < MAX_SENT)
                toks[nt++] = t;
            continue;
        }
        /* boundary or end: the sentence is [sent_start, pos) */
        size_t e = pos;
        while (e > sent_start && isspace((unsigned char)s[e - 1]))
            e--;
        int question = e > sent_start && s[e - 1] == '?';
        if (nt && (rc = add_sentence(s, toks, nt, (uint32_t)sent_start, (uint32_t)(e - sent_start), question, &sents,
                                     &terms, &term_n, &ents)))
            goto fail;
        nt = 0;
        if (pos >= len)
            break;
        sent_start = pos;
        while (sent_start < len && isspace((unsigned char)s[sent_start]))
            sent_start++;
        pos = sent_start;
        if (pos >= len)
            break;
    }
    out->sents = sents.p;
    out->n_sents = (uint32_t)sents.n;
    out->terms = terms.p;
    out->term_n = term_n.p;
    out->n_terms = (uint32_t)terms.n;
    out->ents = ents.p;
    out->n_ents = (uint32_t)ents.n;
    return HX_OK;
fail:
    free(sents.p);
    free(terms.p);
    free(term_n.p);
    free(ents.p);
    return rc;
}

void ctx_an_free(ctx_an_t *a)
{
    if (!a)
        return;
    free(a->sents);
    free(a->terms);
    free(a->term_n);
    free(a->ents);
    memset(a, 0, sizeof *a);
}

int ctx_ngrams(const char *s, size_t len, ctx_map_t *set)
{
    tok_t toks[3], t;
    size_t nt = 0, pos = 0, sent_start = 0;
    for (;;) {
        int brk = 0;
        int got = next_tok(s, len, &pos, &t, &brk, sent_start);
        if (!got) {
            if (pos >= len)
                break;
            nt = 0;
            sent_start = pos;
            continue;
        }
        if (nt == 3) {
            toks[0] = toks[1];
            toks[1] = toks[2];
            nt = 2;
        }
        toks[nt++] = t;
        for (size_t a = 0; a < nt; a++)
            if (ctx_map_put(set, span_hash(s, toks, a, nt - 1), 1, NULL, NULL))
                return HX_ENOMEM;
    }
    return HX_OK;
}

size_t ctx_ent_text(const char *text, const ctx_ent_t *e, char *out, size_t cap)
{
    size_t n = 0;
    int sp = 0;
    for (uint32_t i = 0; i < e->len && n + 1 < cap; i++) {
        char c = text[e->off + i];
        if (isspace((unsigned char)c)) {
            sp = 1;
            continue;
        }
        if (sp && n + 2 < cap)
            out[n++] = ' ';
        sp = 0;
        out[n++] = c;
    }
    if (cap)
        out[n] = 0;
    return n;
}
