/* The extraction rules (docs/graph.md, "Extraction"), first match wins at
 * each token:
 *   email, URL                      -> email / url (confidence 1)
 *   `code` span                     -> its identifier: dictionary type, else technology (0.6)
 *   dictionary phrase (longest)     -> its type (0.9), written as the dictionary requires
 *   code-like word (camelCase, snake_case, dotted.name, call())
 *                                   -> technology (0.6)
 *   run of capitalised words (leading stopwords and titles cut, "of", "de",
 *   "van", "&" ... allowed inside):
 *     2+ words: org suffix last -> organization (0.8), joined by "of"/"&"
 *               or an org word first ("University of ...") -> organization
 *               (0.7), place suffix -> place (0.7), a given name first or a
 *               title before -> person (0.85), else up to 3 words person
 *               (0.6), longer organization (0.5)
 *     1 word:   never a stopword (pronouns, interjections, greetings, modal
 *               verbs, sentence adverbs) or common word (nationalities,
 *               languages), an acronym not in the dictionary, a word with digits,
 *               or a sentence's first word - unless it is a given name
 *               followed by "," or a verb, or possessive ("Alice, ...",
 *               "Alice said", "Alice's") ->
 *               person (0.5); mid-sentence: a given name or after a title
 *               -> person (0.6 / 0.8), else organization (0.4)
 * Months, weekdays and numbers are never entities; they become the dates
 * and numbers properties of the entities of their sentence. */
#include "graph/extract/extract.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const hx_graph_extractor_t *x;
    const xtoks_t *t;
    xents_t *out;
} ctx_t;

static int tok_is(const xtok_t *t, const char *w)
{
    return t->kind == XT_WORD && strlen(w) == t->len && !strncasecmp(t->s, w, t->len);
}

/* Only spaces between tokens a and b (adjacent in a phrase). */
static int adjacent(const xtok_t *a, const xtok_t *b)
{
    if (a->possessive) /* "Alice's Redis": two names */
        return 0;
    for (const char *p = a->s + a->len; p < b->s; p++)
        if (*p != ' ' && *p != '\t')
            return 0;
    return 1;
}

static int add_prop(ctx_t *c, uint32_t sent, int date, const char *s, size_t n)
{
    xents_t *o = c->out;
    if (o->n_props == o->cap_props) {
        size_t nc = o->cap_props ? o->cap_props * 2 : 16;
        struct xprop *p = realloc(o->props, nc * sizeof *p);
        if (!p)
            return HX_ENOMEM;
        o->props = p;
        o->cap_props = nc;
    }
    struct xprop *p = &o->props[o->n_props++];
    p->sent = sent;
    p->date = (uint8_t)date;
    if (n >= sizeof p->text)
        n = sizeof p->text - 1;
    memcpy(p->text, s, n);
    p->text[n] = 0;
    return HX_OK;
}

/* Records one occurrence of (type, name) at token `at`. */
static int add_entity(ctx_t *c, const char *type, const char *name, size_t nlen, const char *surface, size_t slen,
                      double conf, uint32_t at)
{
    if (!nlen || nlen >= XNAME_MAX || slen >= XNAME_MAX)
        return HX_OK;
    char nm[XNAME_MAX], norm[XNAME_MAX];
    memcpy(nm, name, nlen);
    nm[nlen] = 0;
    hx_graph_normalize_name(nm, norm, sizeof norm);
    if (!hx_utf8_valid(nm, nlen))
        return HX_OK;
    xents_t *o = c->out;
    uint32_t sent = c->t->t[at].sent;
    xent_t *e = NULL;
    for (size_t i = 0; i < o->n && !e; i++)
        if (!strcmp(o->e[i].norm, norm) && !strcmp(o->e[i].type, type))
            e = &o->e[i];
    if (!e) {
        if (o->n == o->cap) {
            size_t nc = o->cap ? o->cap * 2 : 8;
            xent_t *p = realloc(o->e, nc * sizeof *p);
            if (!p)
                return HX_ENOMEM;
            o->e = p;
            o->cap = nc;
        }
        e = &o->e[o->n++];
        memset(e, 0, sizeof *e);
        snprintf(e->type, sizeof e->type, "%s", type);
        memcpy(e->name, nm, nlen + 1);
        memcpy(e->norm, norm, strlen(norm) + 1);
        e->first = at;
    }
    e->count++;
    if (conf > e->confidence)
        e->confidence = conf;
    if (surface && slen && hx_utf8_valid(surface, slen)) {
        char sf[XNAME_MAX], sn[XNAME_MAX];
        memcpy(sf, surface, slen);
        sf[slen] = 0;
        hx_graph_normalize_name(sf, sn, sizeof sn);
        int known = !strcmp(sn, e->norm);
        for (int i = 0; i < e->n_surface && !known; i++) {
            char an[XNAME_MAX];
            hx_graph_normalize_name(e->surface[i], an, sizeof an);
            known = !strcmp(an, sn);
        }
        if (!known && e->n_surface < 4)
            memcpy(e->surface[e->n_surface++], sf, slen + 1);
    }
    if (!e->n_sents || e->sents[e->n_sents - 1] != sent) {
        if (e->n_sents == e->cap_sents) {
            size_t nc = e->cap_sents ? e->cap_sents * 2 : 4;
            uint32_t *p = realloc(e->sents, nc * sizeof *p);
            if (!p)
                return HX_ENOMEM;
            e->sents = p;
            e->cap_sents = nc;
        }
        e->sents[e->n_sents++] = sent;
    }
    return HX_OK;
}

static int is_date_word(const ctx_t *c, size_t i)
{
    const xtok_t *t = &c->t->t[i];
    if (t->kind != XT_WORD || t->cap == XC_LOWER)
        return 0;
    const xd_t *d = &c->x->dict;
    int month = xd_word(d, XW_MONTH, t->s, t->len), day = xd_word(d, XW_WEEKDAY, t->s, t->len);
    if (!month && !day)
        return 0;
    int next_num = i + 1 < c->t->n && c->t->t[i + 1].kind == XT_NUM;
    int prev_num = i > 0 && c->t->t[i - 1].kind == XT_NUM;
    /* Full names are dates; short ones ("Jan", "Sun") and words that are
     * also something else ("May") only next to a number. */
    if ((t->len <= 3 || xd_word(d, XW_STOP, t->s, t->len)) && !next_num && !prev_num)
        return 0;
    return 1;
}

static int iso_date(const xtok_t *t)
{
    const char *s = t->s;
    return t->len >= 10 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[3]) && s[4] == '-' &&
           isdigit((unsigned char)s[5]) && s[7] == '-' && isdigit((unsigned char)s[8]);
}

/* The dictionary phrase starting at token i: entry and token count. */
static const xd_entry_t *phrase_at(const ctx_t *c, size_t i, size_t *ntok)
{
    const xtoks_t *t = c->t;
    char key[256];
    size_t klen = 0;
    size_t ends[16] = {0};
    int words = 0;
    for (size_t j = i; j < t->n && words < c->x->dict.max_words && words < 16; j++) {
        const xtok_t *w = &t->t[j];
        if (w->kind != XT_WORD && w->kind != XT_NUM)
            break;
        if (j > i && !adjacent(&t->t[j - 1], w))
            break;
        if (klen + w->len + 2 >= sizeof key)
            break;
        if (j > i)
            key[klen++] = ' ';
        for (size_t k = 0; k < w->len; k++)
            key[klen++] = (char)tolower((unsigned char)w->s[k]);
        ends[words++] = klen;
        if (w->possessive)
            break;
    }
    /* Most words start no phrase: one probe settles them, not one per length. */
    size_t first = 0;
    while (words && first < ends[0] && key[first] != ' ')
        first++;
    if (words && !xd_may_start(&c->x->dict, key, first))
        return NULL;
    for (int n = words; n >= 1; n--) {
        key[ends[n - 1]] = 0;
        const xd_entry_t *e = xd_find(&c->x->dict, key);
        if (!e)
            continue;
        const xtok_t *f = &t->t[i];
        int ok = 1;
        switch (e->mode) {
        case XM_CAP: ok = f->cap != XC_LOWER; break;
        case XM_UPPER:
            for (int k = 0; k < n && ok; k++)
                ok = t->t[i + k].cap == XC_UPPER || (t->t[i + k].len == 1 && isupper((unsigned char)t->t[i + k].s[0]));
            break;
        case XM_EXACT: {
            size_t flen = strlen(e->form);
            const xtok_t *l = &t->t[i + n - 1];
            ok = !f->initial && (size_t)(l->s + l->len - f->s) == flen && !strncmp(f->s, e->form, flen);
            break;
        }
        default: break;
        }
        /* "Make sure", "Spring is here": a sentence's first word that is also
         * an ordinary word is not the product. */
        if (ok && f->initial && n == 1 && xd_word(&c->x->dict, XW_STOP, f->s, f->len))
            ok = 0;
        if (ok) {
            *ntok = (size_t)n;
            return e;
        }
    }
    return NULL;
}

static const char *const connectors[] = {"of", "de", "del", "della", "di", "da", "van", "von", "der", "den", "la",
                                         "le", "du", "al", "bin", "ibn", "&"};

static int connector(const xtok_t *t)
{
    if (t->kind != XT_WORD && !(t->kind == XT_PUNCT && t->punct == '&'))
        return 0;
    for (size_t i = 0; i < sizeof connectors / sizeof connectors[0]; i++)
        if ((t->kind == XT_PUNCT && !strcmp(connectors[i], "&")) || tok_is(t, connectors[i]))
            return 1;
    return 0;
}

static int name_word(const ctx_t *c, size_t i)
{
    const xtok_t *t = &c->t->t[i];
    if (t->kind != XT_WORD || (t->cap != XC_TITLE && t->cap != XC_UPPER) || t->contraction || t->code)
        return 0;
    for (uint32_t k = 0; k < t->len; k++)
        if (isdigit((unsigned char)t->s[k])) /* "Q3", "V2": not a name */
            return 0;
    return !is_date_word(c, i);
}

static const char *const speech_verbs[] = {"said", "says", "asked", "asks", "thinks", "thought", "wants", "wanted",
                                           "will", "would", "can", "could", "is", "was", "has", "had", "and",
                                           "mentioned", "suggested", "wrote", "told", "agreed", "owns", "joined"};

static int person_follows(const ctx_t *c, size_t i)
{
    if (i + 1 >= c->t->n)
        return 0;
    const xtok_t *n = &c->t->t[i + 1];
    if (n->kind == XT_PUNCT)
        return n->punct == ',' || n->punct == ':';
    for (size_t k = 0; k < sizeof speech_verbs / sizeof speech_verbs[0]; k++)
        if (tok_is(n, speech_verbs[k]))
            return 1;
    return 0;
}

/* A run of capitalised words from token i; returns the tokens consumed. */
static size_t name_run(ctx_t *c, size_t i, int *rc)
{
    const xtoks_t *t = c->t;
    const xd_t *d = &c->x->dict;
    size_t j = i, words[16], nw = 0;
    int institutional = 0; /* joined by "of" or "&": "Bank of England", "Procter & Gamble" */
    while (j < t->n && nw < 16) {
        if (name_word(c, j)) {
            const xtok_t *prev = nw ? &t->t[words[nw - 1]] : NULL;
            int dotted = prev && t->t[j - 1].kind == XT_PUNCT && t->t[j - 1].punct == '.';
            if (prev && !adjacent(prev, &t->t[j]) && !dotted && !connector(&t->t[j - 1]))
                break;
            /* a dictionary entry right after a name word starts a new entity
             * ("Alice Redis"); after a connector it is part of the name
             * ("Bank of America") */
            size_t pn;
            if (prev && !connector(&t->t[j - 1]) && phrase_at(c, j, &pn))
                break;
            words[nw++] = j++;
            if (t->t[j - 1].possessive)
                break;
            /* an initial or a title with its dot: "J. Smith", "Dr. Weber" */
            if (j + 1 < t->n && t->t[j].kind == XT_PUNCT && t->t[j].punct == '.' && adjacent(&t->t[j - 1], &t->t[j]) &&
                (t->t[j - 1].len == 1 || xd_word(d, XW_TITLE, t->t[j - 1].s, t->t[j - 1].len)) &&
                name_word(c, j + 1))
                j++;
            continue;
        }
        if (nw && connector(&t->t[j]) && j + 1 < t->n && name_word(c, j + 1) && adjacent(&t->t[j - 1], &t->t[j]) &&
            adjacent(&t->t[j], &t->t[j + 1])) {
            institutional |= tok_is(&t->t[j], "of") || t->t[j].kind == XT_PUNCT;
            j++;
            continue;
        }
        break;
    }
    size_t consumed = j > i ? j - i : 1;
    if (!nw)
        return consumed;
    /* cut leading stopwords and titles, trailing stopwords */
    size_t a = 0, b = nw;
    int titled = 0;
    while (a < b) {
        const xtok_t *w = &t->t[words[a]];
        if (xd_word(d, XW_TITLE, w->s, w->len)) {
            titled = 1;
            a++;
        } else if (xd_word(d, XW_STOP, w->s, w->len)) {
            a++;
        } else {
            break;
        }
    }
    while (b > a && xd_word(d, XW_STOP, t->t[words[b - 1]].s, t->t[words[b - 1]].len))
        b--;
    if (a == b)
        return consumed;
    const xtok_t *f = &t->t[words[a]], *l = &t->t[words[b - 1]];
    const char *type;
    double conf;
    if (b - a >= 2) {
        if (xd_word(d, XW_ORG_SUFFIX, l->s, l->len))
            type = "organization", conf = 0.8;
        else if (institutional || xd_word(d, XW_ORG_SUFFIX, f->s, f->len))
            type = "organization", conf = 0.7;
        else if (xd_word(d, XW_PLACE_SUFFIX, l->s, l->len))
            type = "place", conf = 0.7;
        else if (titled || xd_word(d, XW_GIVEN, f->s, f->len))
            type = "person", conf = 0.85;
        else if (b - a <= 3) /* "Elon Musk", "J. R. Smith": in conversation mostly people */
            type = "person", conf = 0.6;
        else
            type = "organization", conf = 0.5;
    } else {
        if (f->cap == XC_UPPER && f->len > 1)
            return consumed; /* an acronym the dictionary does not know: "API", "FYI" */
        if (xd_word(d, XW_COMMON, f->s, f->len))
            return consumed;
        int given = xd_word(d, XW_GIVEN, f->s, f->len);
        int initial = f->initial && a == 0;
        if (titled)
            type = "person", conf = 0.8;
        else if (given && (!initial || f->possessive || person_follows(c, words[a])))
            type = "person", conf = initial ? 0.5 : 0.6;
        else if (!initial && !f->initial)
            type = "organization", conf = 0.4;
        else
            return consumed;
    }
    size_t len = (size_t)(l->s + l->len - f->s);
    *rc = add_entity(c, type, f->s, len, NULL, 0, conf, (uint32_t)words[a]);
    return consumed;
}

int xx_extract(const hx_graph_extractor_t *x, const char *text, size_t len, xents_t *out)
{
    memset(out, 0, sizeof *out);
    xtoks_t toks;
    if (xt_tokenize(text, len, &toks)) {
        xt_free(&toks);
        return HX_ENOMEM;
    }
    ctx_t c = {x, &toks, out};
    int rc = HX_OK;
    for (size_t i = 0; i < toks.n && !rc;) {
        const xtok_t *t = &toks.t[i];
        size_t n;
        const xd_entry_t *e;
        switch (t->kind) {
        case XT_PUNCT: i++; continue;
        case XT_NUM:
            rc = add_prop(&c, t->sent, iso_date(t), t->s, t->len);
            i++;
            continue;
        case XT_EMAIL: {
            char low[XNAME_MAX];
            size_t k = t->len < sizeof low ? t->len : 0;
            for (size_t q = 0; q < k; q++)
                low[q] = (char)tolower((unsigned char)t->s[q]);
            rc = add_entity(&c, "email", low, k, NULL, 0, 1.0, (uint32_t)i);
            i++;
            continue;
        }
        case XT_URL: {
            size_t k = t->len;
            while (k > 1 && t->s[k - 1] == '/')
                k--;
            rc = add_entity(&c, "url", t->s, k, NULL, 0, 1.0, (uint32_t)i);
            i++;
            continue;
        }
        case XT_CODE: {
            size_t k = 0;
            while (k < t->len && (isalnum((unsigned char)t->s[k]) || t->s[k] == '_' || t->s[k] == '.' ||
                                  t->s[k] == '-'))
                k++;
            while (k > 0 && (t->s[k - 1] == '.' || t->s[k - 1] == '-'))
                k--;
            char key[XNAME_MAX];
            if (k >= 2 && k < sizeof key && (isalpha((unsigned char)t->s[0]) || t->s[0] == '_')) {
                for (size_t q = 0; q < k; q++)
                    key[q] = (char)tolower((unsigned char)t->s[q]);
                key[k] = 0;
                const xd_entry_t *de = xd_find(&x->dict, key);
                if (de)
                    rc = add_entity(&c, xd_type_name(de->type), de->canonical, strlen(de->canonical), t->s, k, 0.9,
                                    (uint32_t)i);
                else
                    rc = add_entity(&c, "technology", t->s, k, NULL, 0, 0.6, (uint32_t)i);
            }
            i++;
            continue;
        }
        default: break;
        }
        if (t->contraction) {
            i++;
            continue;
        }
        if (is_date_word(&c, i)) {
            const xtok_t *nx = i + 1 < toks.n ? &toks.t[i + 1] : NULL;
            size_t dl = t->len;
            if (nx && nx->kind == XT_NUM && adjacent(t, nx))
                dl = (size_t)(nx->s + nx->len - t->s);
            rc = add_prop(&c, t->sent, 1, t->s, dl);
            i += dl > t->len ? 2 : 1;
            continue;
        }
        if ((e = phrase_at(&c, i, &n))) {
            const xtok_t *l = &toks.t[i + n - 1];
            rc = add_entity(&c, xd_type_name(e->type), e->canonical, strlen(e->canonical), t->s,
                            (size_t)(l->s + l->len - t->s), 0.9, (uint32_t)i);
            i += n;
            continue;
        }
        if (t->code && t->len >= 3) {
            rc = add_entity(&c, "technology", t->s, t->len, NULL, 0, 0.6, (uint32_t)i);
            i++;
            continue;
        }
        if (t->cap == XC_TITLE || t->cap == XC_UPPER) {
            i += name_run(&c, i, &rc);
            continue;
        }
        i++;
    }
    xt_free(&toks);
    if (rc)
        xx_free(out);
    return rc;
}

void xx_free(xents_t *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->e[i].sents);
    free(e->e);
    free(e->props);
    memset(e, 0, sizeof *e);
}
