/* The extractor's tokenizer: words (with their capitalisation and whether
 * they start a sentence), numbers, emails, URLs, `code` spans and
 * punctuation, with sentence indices. Fenced ``` blocks are skipped: code is
 * not conversation. */
#include "graph/extract/extract.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes of a UTF-8 punctuation or space character at s (dashes, curly
 * quotes, ellipsis, no-break space, guillemets, CJK punctuation), else 0. */
static size_t u8_punct(const char *s, size_t n)
{
    unsigned char a = (unsigned char)s[0], b = n > 1 ? (unsigned char)s[1] : 0;
    if (n >= 3 && a == 0xe2 && (b == 0x80 || b == 0x81))
        return 3;
    if (n >= 3 && a == 0xe3 && b == 0x80)
        return 3;
    if (n >= 2 && a == 0xc2 && (b == 0xa0 || b == 0xab || b == 0xbb || b == 0xbf || b == 0xa1))
        return 2;
    return 0;
}

static int is_alnum_at(const char *s, size_t n)
{
    unsigned char c = (unsigned char)s[0];
    return isalnum(c) || (c >= 0x80 && !u8_punct(s, n));
}

static int push(xtoks_t *t, xtok_t tok)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        xtok_t *p = realloc(t->t, nc * sizeof *p);
        if (!p)
            return HX_ENOMEM;
        t->t = p;
        t->cap = nc;
    }
    t->t[t->n++] = tok;
    return HX_OK;
}

/* Uppercase first letter: ASCII, or Latin-1 capitals (U+00C0-U+00DE). */
static int upper_at(const char *s, size_t n)
{
    unsigned char c = (unsigned char)s[0];
    if (isupper(c))
        return 1;
    return n >= 2 && c == 0xc3 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9e &&
           (unsigned char)s[1] != 0x97;
}

static uint8_t cap_class(const char *s, size_t n)
{
    int up = 0, low = 0, inner = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isupper(c)) {
            up++;
            if (i > 0 && islower((unsigned char)s[i - 1]))
                inner = 1;
        } else if (islower(c) || c >= 0x80) {
            low++;
        }
    }
    int first = upper_at(s, n);
    /* Mc/Mac/O' names are capitalised words, not code. */
    if (inner && first && ((n > 2 && !strncmp(s, "Mc", 2)) || (n > 3 && !strncmp(s, "Mac", 3) && isupper((unsigned char)s[3]))))
        inner = 0;
    if (inner)
        return XC_CAMEL;
    if (up >= 2 && !low)
        return XC_UPPER;
    if (first)
        return XC_TITLE;
    if (!up)
        return XC_LOWER;
    return XC_OTHER;
}

static int abbreviation(const char *s, size_t n)
{
    static const char *const ab[] = {"mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "inc",
                                     "ltd", "co", "jr", "sr", "no", "fig", "approx", "capt", "gen", "sen", "mt",
                                     "corp", "dept", "est", "min", "max", "ca", "cf", "al"};
    for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++)
        if (strlen(ab[i]) == n && !strncasecmp(ab[i], s, n))
            return 1;
    return n == 1 && isupper((unsigned char)s[0]); /* an initial: "J. Smith" */
}

static size_t url_len(const char *s, size_t n)
{
    if (!((n > 7 && !strncasecmp(s, "http://", 7)) || (n > 8 && !strncasecmp(s, "https://", 8)) ||
          (n > 4 && !strncasecmp(s, "www.", 4))))
        return 0;
    size_t i = 0;
    while (i < n && !isspace((unsigned char)s[i]) && !strchr("<>\"'`", s[i]))
        i++;
    while (i > 0 && strchr(".,;:!?)]}", s[i - 1]))
        i--;
    return i;
}

/* An email at s: local@domain.tld; 0 when there is none. */
static size_t email_len(const char *s, size_t n)
{
    size_t i = 0, at = 0;
    while (i < n && (isalnum((unsigned char)s[i]) || strchr("._%+-", s[i])))
        i++;
    if (i == 0 || i >= n || s[i] != '@')
        return 0;
    at = i++;
    size_t dom = i, dot = 0;
    while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '.')) {
        if (s[i] == '.')
            dot = i;
        i++;
    }
    while (i > dom && s[i - 1] == '.')
        i--;
    if (!dot || dot <= dom || dot + 2 > i || at == 0)
        return 0;
    return i;
}

void xt_free(xtoks_t *t)
{
    free(t->t);
    memset(t, 0, sizeof *t);
}

int xt_tokenize(const char *text, size_t len, xtoks_t *out)
{
    memset(out, 0, sizeof *out);
    uint32_t sent = 0;
    int initial = 1, in_sent = 0;
    size_t i = 0;
#define NEW_SENTENCE()                                                                                               \
    do {                                                                                                             \
        if (in_sent)                                                                                                 \
            sent++;                                                                                                  \
        in_sent = 0;                                                                                                 \
        initial = 1;                                                                                                 \
    } while (0)
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') {
            NEW_SENTENCE();
            i++;
            continue;
        }
        if (isspace(c)) {
            i++;
            continue;
        }
        xtok_t tok = {.s = text + i, .sent = sent};
        size_t n;
        if (c == '`') {
            if (len - i >= 3 && !strncmp(text + i, "```", 3)) { /* a fenced block: skip it */
                const char *end = NULL;
                for (size_t k = i + 3; k + 3 <= len; k++)
                    if (!strncmp(text + k, "```", 3)) {
                        end = text + k;
                        break;
                    }
                i = end ? (size_t)(end - text) + 3 : len;
                NEW_SENTENCE();
                continue;
            }
            size_t k = i + 1;
            while (k < len && text[k] != '`' && text[k] != '\n' && k - i < 200)
                k++;
            if (k < len && text[k] == '`' && k > i + 1) {
                tok.kind = XT_CODE;
                tok.s = text + i + 1;
                tok.len = (uint32_t)(k - i - 1);
                if (push(out, tok))
                    return HX_ENOMEM;
                in_sent = 1;
                initial = 0;
                i = k + 1;
                continue;
            }
        }
        if ((n = url_len(text + i, len - i))) {
            tok.kind = XT_URL;
            tok.len = (uint32_t)n;
        } else if ((n = email_len(text + i, len - i))) {
            tok.kind = XT_EMAIL;
            tok.len = (uint32_t)n;
        } else if (isdigit(c) || ((c == '$' || c == '#') && i + 1 < len && isdigit((unsigned char)text[i + 1]))) {
            size_t k = i + 1;
            while (k < len && (isalnum((unsigned char)text[k]) || text[k] == '%' ||
                               (strchr(".,:/-", text[k]) && k + 1 < len && isdigit((unsigned char)text[k + 1]))))
                k++;
            tok.kind = XT_NUM;
            tok.len = (uint32_t)(k - i);
        } else if (is_alnum_at(text + i, len - i)) {
            size_t k = i + 1;
            while (k < len) {
                if (is_alnum_at(text + k, len - k)) {
                    k++;
                    continue;
                }
                unsigned char d = (unsigned char)text[k];
                /* "Python-based", "JSON-ish": a name and a lowercase suffix, two tokens */
                if (d == '-' && k + 1 < len && islower((unsigned char)text[k + 1]) &&
                    isalpha((unsigned char)text[k - 1]) && isupper((unsigned char)text[i]))
                    break;
                /* connectors inside a word: GPT-4, snake_case, Node.js, don't, AT&T */
                if (strchr("-_.'&", d) && k + 1 < len && is_alnum_at(text + k + 1, len - k - 1)) {
                    k += 2;
                    continue;
                }
                if (d == 0xe2 && k + 3 < len && (unsigned char)text[k + 1] == 0x80 &&
                    (unsigned char)text[k + 2] == 0x99 && is_alnum_at(text + k + 3, len - k - 3)) {
                    k += 4; /* a typographic apostrophe */
                    continue;
                }
                if ((d == '+' || d == '#') && k - i <= 2) /* C++, C#, F# */
                    while (k < len && (text[k] == '+' || text[k] == '#'))
                        k++;
                break;
            }
            n = k - i;
            tok.kind = XT_WORD;
            tok.len = (uint32_t)n;
            /* 's is a possessive (cut off), other apostrophe endings are contractions */
            for (size_t a = 0; a < tok.len; a++) {
                size_t ap = tok.s[a] == '\'' ? 1 : ((unsigned char)tok.s[a] == 0xe2 && a + 2 < tok.len) ? 3 : 0;
                if (!ap)
                    continue;
                size_t rest = a + ap;
                if (tok.len - rest == 1 && (tok.s[rest] == 's' || tok.s[rest] == 'S')) {
                    tok.possessive = 1;
                    tok.len = (uint32_t)a;
                } else {
                    tok.contraction = 1;
                }
                break;
            }
            tok.cap = cap_class(tok.s, tok.len);
            for (size_t a = 1; a + 1 < tok.len; a++)
                if (tok.s[a] == '_' || (tok.s[a] == '.' && islower((unsigned char)tok.s[a + 1])))
                    tok.code = 1;
            if (tok.cap == XC_CAMEL || (k < len && text[k] == '(' && tok.len > 1))
                tok.code = 1;
        } else if ((n = u8_punct(text + i, len - i)) == 2 && (unsigned char)text[i + 1] == 0xa0) {
            i += 2; /* a no-break space */
            continue;
        } else {
            tok.kind = XT_PUNCT;
            tok.punct = (char)c;
            tok.len = n ? (uint32_t)n : 1;
        }
        if (tok.kind != XT_PUNCT) {
            tok.initial = (uint8_t)initial;
            initial = 0;
            in_sent = 1;
            tok.sent = sent;
            if (push(out, tok))
                return HX_ENOMEM;
            i += tok.kind == XT_WORD ? n : tok.len;
            continue;
        }
        if (push(out, tok))
            return HX_ENOMEM;
        i += tok.len;
        if (c == '.' || c == '!' || c == '?') {
            while (i < len && (text[i] == '.' || text[i] == '!' || text[i] == '?'))
                i++;
            int end = i >= len || isspace((unsigned char)text[i]) || strchr("\"')]", text[i]);
            const xtok_t *prev = out->n >= 2 ? &out->t[out->n - 2] : NULL;
            if (c == '.' && prev && prev->kind == XT_WORD && prev->s + prev->len == text + i - 1 &&
                abbreviation(prev->s, prev->len))
                end = 0;
            if (end)
                NEW_SENTENCE();
        } else if (c == ':' || c == ';') {
            initial = 1; /* "Agreed: Alice will ..." capitalises like a sentence start */
        }
    }
#undef NEW_SENTENCE
    out->sentences = sent + (in_sent ? 1 : 0);
    return HX_OK;
}
