/* Text analysis for scoring and quality: sentences, content terms, named
 * entities and the question / decision / number flags, in one pass.
 *
 * Tokens are runs of letters, digits, '_' and UTF-8 bytes, joined across a
 * single '.', '-' or '/' between two such characters ("v2.1", "GPT-4",
 * "api/users"). Sentences end at . ! ? followed by space or end, at a newline,
 * or after MAX_SENT bytes (at a space) so no sentence is too big to select.
 *
 * Entities are what conversations are asked about later; the word lists
 * are in stoplist.c. A capitalised word is part of a name unless it is a
 * NOTNAME word (interjections, pronouns, determiners: "Wow", "Thanks", "It",
 * "The"); runs of capitalised words, with lowercase connectors between them,
 * make one entity of up to six words ("Alice Chen", "Bank of America",
 * "Schitt's Creek"), and a run may begin with a NOTNAME word inside a sentence ("we
 * watched The Grand Budapest Hotel"). A lone capitalised word first in its
 * sentence (after a "Speaker:" prefix or a quote too) is weak: an entity only
 * when the conversation names it elsewhere too. Numbers are entities with the
 * unit that follows them ("24 years", "7:30 pm", "$1,250", "3 kids"), as are
 * tokens with an inner capital (PostgreSQL, GPT-4), an inner '_' or '.'
 * (user_id, helix.yaml) or letters mixed with digits (S3, v2).
 *
 * Openers ("Oh wow, ", "Yeah, ", "By the way, ") are trimmed off the start of
 * a sentence: a leading clause of up to four stop, phatic or opener words
 * ending in ',' ':' or '!' when at least three tokens follow.
 */
#include "context/ctx_internal.h"
#include "helix/hx_hash.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SENT 320
#define MAX_TOK 64

uint32_t hx_context_estimate_tokens(const char *text, size_t len)
{
    (void)text;
    return (uint32_t)((len + 3) / 4);
}

static int tok_char(unsigned char c) { return isalnum(c) || c == '_' || c >= 0x80; }

typedef struct {
    uint32_t off, len;
    uint8_t cap_init, inner_cap, ident, digit, alpha, initial;
    uint8_t after_label;       /* the token follows ':' ';' '"' '(' or '*' */
    char follow;               /* the first non-space character after the token */
} tok_t;

/* Next token at or after *pos, within [*pos, end); 0 when none. Sets *brk if
 * a sentence boundary was crossed before it. */
static int next_tok(const char *s, size_t end, size_t *pos, tok_t *t, int *brk, size_t sent_start)
{
    size_t i = *pos;
    char pre = 0;
    while (i < end && !tok_char((unsigned char)s[i])) {
        char c = s[i];
        if (!isspace((unsigned char)c))
            pre = c;
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
    t->after_label = pre == ':' || pre == ';' || pre == '"' || pre == '(' || pre == '*';
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
        } else if ((c == ',' || c == ':') && j > i && j + 1 < end && isdigit((unsigned char)s[j - 1]) &&
                   isdigit((unsigned char)s[j + 1])) {
            j++; /* 1,250 and 7:30 are one number */
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
    size_t f = j;
    while (f < end && s[f] == ' ')
        f++;
    t->follow = f < end ? s[f] : 0;
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
    char buf[CTX_NGRAM_MAX * (MAX_TOK + 1)];
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

/* The "s" of "Schitt's Creek" (inside a name). */
static int possessive(const char *s, const tok_t *t) { return t->len == 1 && s[t->off] == 's' && t->off && s[t->off - 1] == '\''; }

static int capword(const tok_t *t) { return t->cap_init && t->alpha && !t->digit; }

/* toks[b] directly follows toks[a] (one space at most between them). */
static int adjacent(const tok_t *toks, size_t a, size_t b)
{
    return toks[b].off <= toks[a].off + toks[a].len + 1;
}

static int push_ent(const char *s, const tok_t *toks, size_t k, size_t end, int weak, const ctx_sent_t *st,
                    vec_t *ents)
{
    uint64_t h = span_hash(s, toks, k, end);
    ctx_ent_t *have = ents->p;
    for (size_t q = st->e0; q < ents->n; q++)
        if (have[q].h == h) {
            have[q].weak &= (uint32_t)weak;
            return HX_OK;
        }
    ctx_ent_t e = {h, toks[k].off, toks[end].off + toks[end].len - toks[k].off, (uint32_t)weak};
    return vec_push(ents, &e);
}

/* Analyses one sentence of toks[0..nt) into the output vectors. */
static int add_sentence(const char *s, const tok_t *toks, const unsigned *fl, size_t nt, uint32_t soff,
                        uint32_t slen, int question, vec_t *sents, vec_t *terms, vec_t *term_n, vec_t *ents)
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
        if (fl[k] & CTX_W_DECISION)
            st.flags |= CTX_F_DECISION;
        if (fl[k] & CTX_W_CHANGE)
            st.flags |= CTX_F_CHANGE;
        if (t->len < 2 || (fl[k] & (CTX_W_STOP | CTX_W_PHATIC)))
            continue;
        lower_copy(s, t, lw);
        uint64_t h = hx_hash64(lw, strlen(lw));
        uint32_t *tn = term_n->p;
        size_t found = 0;
        for (size_t q = st.t0; q < terms->n; q++)
            if (((uint64_t *)terms->p)[q] == h) {
                found = q + 1;
                break;
            }
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
        size_t end = k;
        int rc = HX_OK;
        if (t->digit && !t->alpha) {
            /* a number and its unit, chained: "3 hours 8 minutes" */
            while (end + 1 < nt && end - k + 1 < CTX_NGRAM_MAX && (fl[end + 1] & CTX_W_UNIT) &&
                   adjacent(toks, end, end + 1)) {
                end++;
                if (end + 2 < nt && end - k + 3 <= CTX_NGRAM_MAX && toks[end + 1].digit &&
                    (fl[end + 2] & CTX_W_UNIT) && adjacent(toks, end, end + 1))
                    end++;
                else
                    break;
            }
            if (t->len >= 2 || end > k)
                rc = push_ent(s, toks, k, end, 0, &st, ents);
        } else if (strong_entity(t) && !(fl[k] & CTX_W_NOTNAME)) {
            rc = push_ent(s, toks, k, k, 0, &st, ents);
        } else if (capword(t) && t->len >= 2) {
            int inside = !t->initial;
            int starts = !(fl[k] & CTX_W_NOTNAME) ||
                         (inside && k + 1 < nt && capword(&toks[k + 1]) && !(fl[k + 1] & CTX_W_NOTNAME) &&
                          adjacent(toks, k, k + 1));
            if (starts) {
                size_t last_name = k; /* a run ends on a word that is not NOTNAME */
                while (end + 1 < nt && end - k + 1 < CTX_NGRAM_MAX && adjacent(toks, end, end + 1)) {
                    if (capword(&toks[end + 1])) {
                        end++;
                    } else if (((fl[end + 1] & CTX_W_CONNECT) || possessive(s, &toks[end + 1])) &&
                               !toks[end + 1].cap_init && end + 2 < nt &&
                               end + 2 - k < CTX_NGRAM_MAX && capword(&toks[end + 2]) &&
                               adjacent(toks, end + 1, end + 2)) {
                        end += 2;
                    } else {
                        break;
                    }
                    if (!(fl[end] & CTX_W_NOTNAME))
                        last_name = end;
                }
                end = last_name;
                if (!(end == k && (fl[k] & CTX_W_NOTNAME)))
                    rc = push_ent(s, toks, k, end, t->initial && end == k, &st, ents);
            }
        }
        if (rc)
            return rc;
        k = end + 1;
    }
    st.nt = (uint32_t)(terms->n - st.t0);
    st.ne = (uint32_t)(ents->n - st.e0);
    return vec_push(sents, &st);
}

/* Index of the first token after a leading opener clause, 0 if none. */
static size_t opener_end(const tok_t *toks, const unsigned *fl, size_t nt)
{
    for (size_t k = 0; k < nt && k < 4; k++) {
        if (!(fl[k] & (CTX_W_STOP | CTX_W_PHATIC | CTX_W_OPENER)))
            return 0;
        char f = toks[k].follow;
        if ((f == ',' || f == ':' || f == '!') && nt - (k + 1) >= 3)
            return k + 1;
    }
    return 0;
}

int ctx_analyse(const char *s, size_t len, ctx_an_t *out)
{
    memset(out, 0, sizeof *out);
    vec_t sents = {.size = sizeof(ctx_sent_t)}, terms = {.size = sizeof(uint64_t)},
          term_n = {.size = sizeof(uint32_t)}, ents = {.size = sizeof(ctx_ent_t)};
    tok_t toks[MAX_SENT];
    unsigned fl[MAX_SENT];
    char lw[MAX_TOK];
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
            t.initial = nt == 0 || t.after_label;
            if (nt < MAX_SENT) {
                lower_copy(s, &t, lw);
                fl[nt] = t.digit ? 0 : ctx_word_flags(lw);
                toks[nt++] = t;
            }
            continue;
        }
        /* boundary or end: the sentence is [sent_start, pos) */
        size_t e = pos;
        while (e > sent_start && isspace((unsigned char)s[e - 1]))
            e--;
        int question = e > sent_start && s[e - 1] == '?';
        size_t skip = nt ? opener_end(toks, fl, nt) : 0;
        if (skip) {
            toks[skip].initial = 1;
            sent_start = toks[skip].off;
        }
        if (nt && (rc = add_sentence(s, toks + skip, fl + skip, nt - skip, (uint32_t)sent_start,
                                     (uint32_t)(e - sent_start), question, &sents, &terms, &term_n, &ents)))
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
    tok_t toks[CTX_NGRAM_MAX], t;
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
        if (nt == CTX_NGRAM_MAX) {
            memmove(toks, toks + 1, (CTX_NGRAM_MAX - 1) * sizeof *toks);
            nt--;
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

size_t ctx_fmt_date(int64_t ms, char *out, size_t cap)
{
    static const char *const months[] = {"January", "February", "March",     "April",   "May",      "June",
                                         "July",    "August",   "September", "October", "November", "December"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return cap ? (out[0] = 0) : 0;
    int k = snprintf(out, cap, "%d %s %d", tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900);
    return k > 0 ? ((size_t)k < cap ? (size_t)k : cap - 1) : 0;
}
