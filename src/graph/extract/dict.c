/* The extractor's dictionary: the curated file (dictionary.txt, compiled in)
 * parsed into a phrase table and word lists. The file's header documents the
 * format. */
#include "graph/extract/extract.h"
#include "helix/hx_hash.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const typed_sections[XD_N_TYPED] = {"technology", "product", "organization", "place"};
static const char *const word_sections[XW_N] = {"given_names",    "stopwords", "common_words", "org_suffixes",
                                                "place_suffixes", "titles",    "months",       "weekdays"};

const char *xd_type_name(int type)
{
    return type >= 0 && type < XD_N_TYPED ? typed_sections[type] : "";
}

static void lower_key(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t') {
            space = o > 0;
            continue;
        }
        if (space)
            out[o++] = ' ';
        space = 0;
        out[o++] = (char)tolower(c);
    }
    out[o] = 0;
}

static int slot_put(xd_t *d, size_t idx)
{
    uint64_t h = hx_hash64(d->e[idx].key, strlen(d->e[idx].key));
    for (size_t i = h & (d->n_slots - 1);; i = (i + 1) & (d->n_slots - 1)) {
        if (!d->slots[i]) {
            d->slots[i] = (uint32_t)idx + 1;
            return HX_OK;
        }
        if (!strcmp(d->e[d->slots[i] - 1].key, d->e[idx].key))
            return HX_EEXIST;
    }
}

const xd_entry_t *xd_find(const xd_t *d, const char *key)
{
    if (!d->n_slots)
        return NULL;
    uint64_t h = hx_hash64(key, strlen(key));
    for (size_t i = h & (d->n_slots - 1); d->slots[i]; i = (i + 1) & (d->n_slots - 1))
        if (!strcmp(d->e[d->slots[i] - 1].key, key))
            return &d->e[d->slots[i] - 1];
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int xd_word(const xd_t *d, int w, const char *word, size_t len)
{
    char key[64];
    if (len >= sizeof key || !d->n_words[w])
        return 0;
    for (size_t i = 0; i < len; i++)
        key[i] = (char)tolower((unsigned char)word[i]);
    key[len] = 0;
    size_t mask = d->n_wslots[w] - 1;
    for (size_t i = hx_hash64(key, len) & mask; d->wslots[w][i]; i = (i + 1) & mask)
        if (!strcmp(d->words[w][d->wslots[w][i] - 1], key))
            return 1;
    return 0;
}

static uint64_t first_hash(const char *key, size_t n)
{
    uint64_t h = hx_hash64(key, n);
    return h ? h : 1;
}

int xd_may_start(const xd_t *d, const char *key, size_t n)
{
    if (!d->n_firsts)
        return 1;
    uint64_t h = first_hash(key, n);
    size_t mask = d->n_firsts - 1;
    for (size_t i = h & mask; d->firsts[i]; i = (i + 1) & mask)
        if (d->firsts[i] == h)
            return 1;
    return 0;
}

/* The hash sets of xd_t, once the entries and word lists are in. */
static int build_sets(xd_t *d)
{
    for (int w = 0; w < XW_N; w++) {
        size_t n = 16;
        while (n < d->n_words[w] * 2)
            n *= 2;
        if (!(d->wslots[w] = calloc(n, sizeof *d->wslots[w])))
            return HX_ENOMEM;
        d->n_wslots[w] = n;
        for (size_t k = 0; k < d->n_words[w]; k++) {
            size_t i = hx_hash64(d->words[w][k], strlen(d->words[w][k])) & (n - 1);
            while (d->wslots[w][i])
                i = (i + 1) & (n - 1);
            d->wslots[w][i] = (uint32_t)k + 1;
        }
    }
    size_t n = 16;
    while (n < d->n * 2)
        n *= 2;
    if (!(d->firsts = calloc(n, sizeof *d->firsts)))
        return HX_ENOMEM;
    d->n_firsts = n;
    for (size_t k = 0; k < d->n; k++) {
        const char *key = d->e[k].key, *sp = strchr(key, ' ');
        uint64_t h = first_hash(key, sp ? (size_t)(sp - key) : strlen(key));
        size_t i = h & (n - 1);
        while (d->firsts[i] && d->firsts[i] != h)
            i = (i + 1) & (n - 1);
        d->firsts[i] = h;
    }
    return HX_OK;
}

/* How text must be written to match a form:
 *   any    lowercase forms ("kubectl"), inner capitals ("MySQL"), digits
 *          ("Neo4j", "EC2"), symbols ("C++", ".NET"): unmistakable in any case
 *   upper  acronyms ("AWS", "WHO", "US"): only in capitals, or "who" and "us"
 *          would be entities
 *   cap    plain capitalised words ("Redis", "Node"): ordinary words when
 *          lowercase, so only capitalised (or in capitals)
 * A line's "~" makes it any, "=" exact: as written, never a sentence's first
 * word. */
static int match_mode(const char *f)
{
    int upper = 0, lower = 0, inner = 0, other = 0;
    for (size_t i = 0; f[i]; i++) {
        unsigned char c = (unsigned char)f[i];
        if (isupper(c)) {
            upper = 1;
            if (i > 0 && f[i - 1] != ' ' && islower((unsigned char)f[i - 1]))
                inner = 1;
        } else if (islower(c)) {
            lower = 1;
        } else if (c != ' ' && c != '\'') {
            other = 1;
        }
    }
    if (other || inner || !upper)
        return XM_ANY;
    return lower ? XM_CAP : XM_UPPER;
}

static int add_entry(xd_t *d, int type, int mode, const char *form, size_t n, const char *canonical, int line,
                     hx_err_t *err)
{
    char key[256], fbuf[256];
    if (n >= sizeof fbuf)
        return hx_err_set(err, HX_EINVAL, "dictionary line %d: an entry is longer than 255 bytes", line);
    memcpy(fbuf, form, n);
    fbuf[n] = 0;
    lower_key(form, n, key, sizeof key);
    if (!key[0])
        return hx_err_set(err, HX_EINVAL, "dictionary line %d: an empty name", line);
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 512;
        xd_entry_t *p = realloc(d->e, nc * sizeof *p);
        if (!p)
            return hx_err_set(err, HX_ENOMEM, "out of memory");
        d->e = p;
        d->cap = nc;
    }
    xd_entry_t *e = &d->e[d->n];
    memset(e, 0, sizeof *e);
    e->key = strdup(key);
    e->canonical = strdup(canonical);
    e->form = strdup(fbuf);
    if (!e->key || !e->canonical || !e->form) {
        free(e->key);
        free(e->canonical);
        free(e->form);
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    e->type = (uint8_t)type;
    e->mode = (uint8_t)(mode >= 0 ? mode : match_mode(fbuf));
    e->words = 1;
    for (const char *p = key; *p; p++)
        e->words += *p == ' ';
    if (e->words > d->max_words)
        d->max_words = e->words;
    d->n++;
    return HX_OK;
}

static char *trim(char *s, char *end)
{
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    *end = 0;
    return s;
}

static int add_word(xd_t *d, int w, const char *word, hx_err_t *err)
{
    if (!word[0])
        return HX_OK;
    char **p = realloc(d->words[w], (d->n_words[w] + 1) * sizeof *p);
    if (!p)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    d->words[w] = p;
    char key[64];
    lower_key(word, strlen(word), key, sizeof key);
    if (!(p[d->n_words[w]] = strdup(key)))
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    d->n_words[w]++;
    return HX_OK;
}

int xd_load(xd_t *d, const char *text, size_t len, hx_err_t *err)
{
    memset(d, 0, sizeof *d);
    char *buf = malloc(len + 1);
    if (!buf)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    memcpy(buf, text, len);
    buf[len] = 0;
    int section = -1, typed = 0, line = 0, rc = HX_OK;
    for (char *p = buf, *nl; p && *p && !rc; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        char *end = nl ? nl : p + strlen(p);
        line++;
        char *s = trim(p, end);
        if (!*s || *s == '#')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1])
                rc = hx_err_set(err, HX_EINVAL, "dictionary line %d: a section is [name]", line);
            else {
                *close = 0;
                section = -1;
                for (int i = 0; i < XD_N_TYPED; i++)
                    if (!strcmp(s + 1, typed_sections[i]))
                        section = i, typed = 1;
                for (int i = 0; i < XW_N; i++)
                    if (!strcmp(s + 1, word_sections[i]))
                        section = i, typed = 0;
                if (section < 0)
                    rc = hx_err_set(err, HX_EINVAL, "dictionary line %d: unknown section [%s]", line, s + 1);
            }
            continue;
        }
        if (section < 0) {
            rc = hx_err_set(err, HX_EINVAL, "dictionary line %d: an entry before the first [section]", line);
            break;
        }
        if (!typed) {
            for (char *w = s, *c; w && !rc; w = c ? c + 1 : NULL) {
                c = strchr(w, ',');
                rc = add_word(d, section, trim(w, c ? c : w + strlen(w)), err);
            }
            continue;
        }
        int exact = *s == '=', any = *s == '~';
        if (exact || any)
            s++;
        char *bar = strchr(s, '|');
        char *cend = bar ? bar : s + strlen(s);
        char canon[256];
        char *c0 = s;
        while (cend > c0 && isspace((unsigned char)cend[-1]))
            cend--;
        if ((size_t)(cend - c0) >= sizeof canon) {
            rc = hx_err_set(err, HX_EINVAL, "dictionary line %d: a name is longer than 255 bytes", line);
            break;
        }
        memcpy(canon, c0, (size_t)(cend - c0));
        canon[cend - c0] = 0;
        for (char *f = s, *b; f && !rc; f = b ? b + 1 : NULL) {
            b = strchr(f, '|');
            char *fe = b ? b : f + strlen(f);
            while (f < fe && isspace((unsigned char)*f))
                f++;
            while (fe > f && isspace((unsigned char)fe[-1]))
                fe--;
            rc = add_entry(d, section, exact ? XM_EXACT : any ? XM_ANY : -1, f, (size_t)(fe - f), canon, line, err);
        }
    }
    free(buf);
    if (!rc) {
        d->n_slots = 16;
        while (d->n_slots < d->n * 2)
            d->n_slots *= 2;
        if (!(d->slots = calloc(d->n_slots, sizeof *d->slots)))
            rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        for (size_t i = 0; !rc && i < d->n; i++)
            if (slot_put(d, i))
                rc = hx_err_set(err, HX_EEXIST, "dictionary: '%s' is listed twice (as %s)", d->e[i].form,
                                xd_type_name(d->e[i].type));
        for (int w = 0; !rc && w < XW_N; w++) {
            if (d->n_words[w] > 1)
                qsort(d->words[w], d->n_words[w], sizeof(char *), cmp_str);
            /* duplicates in a word list are harmless: drop them */
            size_t k = 0;
            for (size_t i = 0; i < d->n_words[w]; i++) {
                if (k && !strcmp(d->words[w][k - 1], d->words[w][i])) {
                    free(d->words[w][i]);
                    continue;
                }
                d->words[w][k++] = d->words[w][i];
            }
            d->n_words[w] = k;
        }
        if (!rc && build_sets(d))
            rc = hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    if (rc)
        xd_free(d);
    return rc;
}

void xd_free(xd_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->e[i].key);
        free(d->e[i].canonical);
        free(d->e[i].form);
    }
    free(d->e);
    free(d->slots);
    free(d->firsts);
    for (int w = 0; w < XW_N; w++) {
        free(d->wslots[w]);
        for (size_t i = 0; i < d->n_words[w]; i++)
            free(d->words[w][i]);
        free(d->words[w]);
    }
    memset(d, 0, sizeof *d);
}
