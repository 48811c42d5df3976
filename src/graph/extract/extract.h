/* Private to src/graph/extract: the dictionary, the tokenizer and the rules
 * that turn text into entities (docs/graph.md, "Extraction"). */
#ifndef HX_GRAPH_EXTRACT_H
#define HX_GRAPH_EXTRACT_H

#include "graph/graph_int.h"

#include <stddef.h>
#include <stdint.h>

/* ---- dictionary (dict.c) ---- */
enum { XD_TECH = 0, XD_PRODUCT, XD_ORG, XD_PLACE, XD_N_TYPED };
enum { XM_ANY = 0, XM_CAP, XM_UPPER, XM_EXACT };
enum { XW_GIVEN = 0, XW_STOP, XW_COMMON, XW_ORG_SUFFIX, XW_PLACE_SUFFIX, XW_TITLE, XW_MONTH, XW_WEEKDAY, XW_N };

typedef struct xd_entry {
    char *key;                   /* lowercase form, words joined by one space */
    char *canonical;
    char *form;                  /* the form as written in the dictionary */
    uint8_t type;                /* XD_* */
    uint8_t mode;                /* XM_*: how text must be written to match (dict.c) */
    uint8_t words;
} xd_entry_t;

typedef struct xd {
    xd_entry_t *e;
    size_t n, cap;
    uint32_t *slots;             /* open addressing over e: index + 1, 0 empty */
    size_t n_slots;
    char **words[XW_N];          /* lowercase, sorted */
    size_t n_words[XW_N];
    /* Hash sets, for the lookups every token makes: words[w] (index + 1,
     * 0 empty) and the hashes of every entry's first word (0 empty). */
    uint32_t *wslots[XW_N];
    size_t n_wslots[XW_N];
    uint64_t *firsts;
    size_t n_firsts;
    int max_words;               /* longest typed phrase */
} xd_t;

extern const unsigned char hx_graph_dictionary[];
extern const size_t hx_graph_dictionary_len;

/* Parses dictionary text (the built-in file, or a test's). Errors name the
 * line: "dictionary line 12: ...". */
int xd_load(xd_t *d, const char *text, size_t len, hx_err_t *err);
void xd_free(xd_t *d);
const xd_entry_t *xd_find(const xd_t *d, const char *key);
/* 1 when the word (any case) is in list w. */
int xd_word(const xd_t *d, int w, const char *word, size_t len);
/* 0 when no entry's key starts with the lowercase word key[0..n) (then
 * xd_find of any phrase starting with it finds nothing); 1 maybe. */
int xd_may_start(const xd_t *d, const char *key, size_t n);
const char *xd_type_name(int type);

/* ---- tokens (tokens.c) ---- */
enum { XT_WORD = 0, XT_NUM, XT_PUNCT, XT_EMAIL, XT_URL, XT_CODE };
enum { XC_LOWER = 0, XC_TITLE, XC_UPPER, XC_CAMEL, XC_OTHER };

typedef struct xtok {
    const char *s;
    uint32_t len;
    uint32_t sent;               /* sentence index */
    uint8_t kind, cap;
    uint8_t initial;             /* first word of a sentence (or after ':' or a list marker) */
    uint8_t contraction;         /* "don't", "we're": never an entity */
    uint8_t code;                /* code-like: snake_case, camelCase, dotted.path, word(...) */
    uint8_t possessive;          /* ended in 's (already cut off) */
    char punct;                  /* XT_PUNCT: the character */
} xtok_t;

typedef struct xtoks {
    xtok_t *t;
    size_t n, cap;
    uint32_t sentences;
} xtoks_t;

int xt_tokenize(const char *text, size_t len, xtoks_t *out);
void xt_free(xtoks_t *t);

/* ---- the extractor (extract.c) ---- */
struct hx_graph_extractor {
    xd_t dict;
    int window;                  /* graph.extract.window_sentences */
    int max_entities;
};

#define XNAME_MAX 128             /* names longer than this in text are not names */

/* One entity of a text, with where it occurs (sentence indices). */
typedef struct xent {
    char type[HX_GRAPH_TYPE_MAX];
    char name[XNAME_MAX];
    char norm[XNAME_MAX];
    char surface[4][XNAME_MAX];  /* other forms seen (aliases) */
    int n_surface;
    double confidence;
    int count;
    uint32_t first;              /* token index of the first occurrence */
    uint32_t *sents;
    size_t n_sents, cap_sents;
} xent_t;

typedef struct xents {
    xent_t *e;
    size_t n, cap;
    /* dates and numbers per sentence, for properties */
    struct xprop {
        uint32_t sent;
        uint8_t date;
        char text[32];
    } *props;
    size_t n_props, cap_props;
} xents_t;

int xx_extract(const hx_graph_extractor_t *x, const char *text, size_t len, xents_t *out);
void xx_free(xents_t *e);

/* srctext.c: the live memories of a memory.delta's data text, for
 * extraction (tenant, user id or NULL, newest live content; deleted states
 * are left out). HX_EINVAL when the text is not one this reader takes: the
 * caller parses it with jansson instead. */
typedef struct xt_memop {
    char *tenant, *user, *content;
} xt_memop_t;

int xt_memory_text(const char *text, size_t len, xt_memop_t **out, size_t *n);
void xt_memops_free(xt_memop_t *ops, size_t n);

/* The fields extraction reads of a conversation message's data text: string
 * members (NULL when absent or not strings) and created_at (0 unless an
 * integer). HX_EINVAL as for xt_memory_text. */
typedef struct xt_msg {
    char *content, *role, *user;
    long long created_at;
} xt_msg_t;

int xt_message_text(const char *text, size_t len, xt_msg_t *m);
void xt_msg_free(xt_msg_t *m);

#endif
