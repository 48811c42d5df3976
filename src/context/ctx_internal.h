/* Internals of the context engine (src/context/), shared by its files only. */
#ifndef HX_CTX_INTERNAL_H
#define HX_CTX_INTERNAL_H

#include "helix/hx_context.h"
#include "helix/hx_envelope.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ---- u64 -> u32 open-addressing map (map.c) ----------------------------- */
typedef struct ctx_map {
    uint64_t *keys;            /* 0 marks an empty slot; key 0 is stored as 1 */
    uint32_t *vals;
    size_t cap, n;
} ctx_map_t;

int ctx_map_init(ctx_map_t *m, size_t hint);
void ctx_map_free(ctx_map_t *m);
uint32_t *ctx_map_get(const ctx_map_t *m, uint64_t k);
/* Inserts k (value v) if absent; *slot points at the stored value either way. */
int ctx_map_put(ctx_map_t *m, uint64_t k, uint32_t v, uint32_t **slot, int *existed);

/* ---- text analysis (text.c) --------------------------------------------- */
#define CTX_F_QUESTION 1u
#define CTX_F_DECISION 2u
#define CTX_F_NUMBER 4u
#define CTX_F_CHANGE 8u        /* a change of mind: actually, instead, switched */

/* Word classes of the text analysis (stoplist.c). */
#define CTX_W_STOP 1u
#define CTX_W_PHATIC 2u
#define CTX_W_NOTNAME 4u
#define CTX_W_UNIT 8u
#define CTX_W_DECISION 16u
#define CTX_W_CHANGE 32u
#define CTX_W_OPENER 64u
#define CTX_W_CONNECT 128u
/* The classes of a lowercased word, 0 when it is in no list. */
unsigned ctx_word_flags(const char *lw);
/* 0 when the table is right (hashes match, sorted), else 1 + the index of
 * the first wrong entry. */
int ctx_word_table_check(void);

typedef struct ctx_sent {
    uint32_t off, len;         /* bytes of the message content */
    uint32_t t0, nt;           /* terms[t0 .. t0+nt) (distinct within the sentence) */
    uint32_t e0, ne;           /* ents[e0 .. e0+ne) (distinct within the sentence) */
    uint8_t flags;
} ctx_sent_t;

typedef struct ctx_ent {
    uint64_t h;                /* hash of the tokens joined by one space, case kept */
    uint32_t off, len;         /* span in the text (for display) */
    uint32_t weak;             /* 1: a lone capitalised word first in its sentence, an entity only if
                                * the conversation also names it elsewhere (ctx_gstats_build) */
} ctx_ent_t;

typedef struct ctx_an {
    ctx_sent_t *sents;
    uint32_t n_sents;
    uint64_t *terms;           /* lowercased content words, stop words removed */
    uint32_t *term_n;          /* occurrences of terms[i] in its sentence */
    uint32_t n_terms;
    ctx_ent_t *ents;
    uint32_t n_ents;
} ctx_an_t;

int ctx_analyse(const char *text, size_t len, ctx_an_t *out);
void ctx_an_free(ctx_an_t *a);
/* Adds the hashes of every 1..CTX_NGRAM_MAX-gram of tokens (case kept) of
 * text to set: the entity hashes an output contains (an entity is at most
 * that many tokens). */
#define CTX_NGRAM_MAX 6
int ctx_ngrams(const char *text, size_t len, ctx_map_t *set);
/* "7 May 2023" for ms since epoch (UTC); returns the length. */
size_t ctx_fmt_date(int64_t ms, char *out, size_t cap);
/* Writes the entity's text with runs of whitespace collapsed; returns bytes. */
size_t ctx_ent_text(const char *text, const ctx_ent_t *e, char *out, size_t cap);

/* ---- conversation model (conv.c) ---------------------------------------- */
typedef struct ctx_msg {
    uint64_t seq;              /* seq of the added event */
    uint64_t edit_seq;         /* seq of the last update, 0 = never edited */
    char *message_id, *role, *content, *model, *provider, *user_id, *session_id;
    size_t content_len;
    int64_t tokens_field, created_at, ts;
    uint32_t tokens;           /* effective: tokens_field or the estimate */
    uint64_t chash;            /* role + content + seq: window cache keys */
    ctx_an_t *an;              /* lazily computed analysis, owned */
    int deleted;
} ctx_msg_t;

typedef struct ctx_conv {
    ctx_msg_t *msgs;
    size_t n, cap;
    ctx_map_t by_id;           /* hash(message_id) -> index in msgs */
    uint64_t max_seq;
    size_t applied;            /* index records applied (engine) */
    int completed;
    pthread_mutex_t mu;        /* engine: held while extending or compressing */
} ctx_conv_t;

int ctx_conv_init(ctx_conv_t *cv);
void ctx_conv_free(ctx_conv_t *cv);
/* Applies one conversation event (added/updated/deleted/completed); unknown
 * targets of update/delete are ignored. */
int ctx_conv_apply(ctx_conv_t *cv, const hx_envelope_t *e, hx_err_t *err);
int ctx_conv_add_plain(ctx_conv_t *cv, const hx_ctx_message_t *m, hx_err_t *err);
/* Live (not deleted) messages in seq order; *out malloc'd. */
int ctx_conv_live(const ctx_conv_t *cv, const ctx_msg_t ***out, size_t *n);
uint32_t ctx_msg_tokens(const ctx_msg_t *m);
/* The key of message ids in ctx_conv_t.by_id and the index. */
uint64_t ctx_msg_id_hash(const char *message_id);

/* ---- thread pool (pool.c) ----------------------------------------------- */
typedef struct ctx_pool ctx_pool_t;
int ctx_pool_new(int threads, ctx_pool_t **out);
void ctx_pool_free(ctx_pool_t *p);
/* Runs fn(arg, i) for i in [0, n) on the pool and the caller; returns when all
 * are done. A NULL pool runs them inline. */
void ctx_pool_for(ctx_pool_t *p, size_t n, void (*fn)(void *arg, size_t i), void *arg);

/* ---- LRU + TTL cache (cache.c) ------------------------------------------ */
typedef struct ctx_obj {
    atomic_int refs;
    void (*destroy)(struct ctx_obj *);
} ctx_obj_t;

void ctx_obj_ref(ctx_obj_t *o);
void ctx_obj_unref(ctx_obj_t *o);

enum { CTX_K_STATE = 1, CTX_K_WINDOW = 2, CTX_K_RESULT = 3 };

typedef struct ctx_cache ctx_cache_t;
int ctx_cache_new(size_t capacity, int64_t ttl_ms, ctx_cache_t **out);
void ctx_cache_free(ctx_cache_t *c);
/* A new reference, or NULL (miss or expired). */
ctx_obj_t *ctx_cache_get(ctx_cache_t *c, uint64_t key);
/* Takes a new reference of o; replaces an entry with the same key. tag groups
 * the entries of one conversation. */
void ctx_cache_put(ctx_cache_t *c, uint64_t key, uint64_t tag, int kind, ctx_obj_t *o);
/* Drops the entries of tag of this kind; 0 = any kind. */
void ctx_cache_drop_tag(ctx_cache_t *c, uint64_t tag, int kind);
/* Restarts the TTL of key. */
void ctx_cache_touch(ctx_cache_t *c, uint64_t key);
void ctx_cache_clear(ctx_cache_t *c);
void ctx_cache_counts(ctx_cache_t *c, size_t *entries, uint64_t *hits, uint64_t *misses);

/* ---- LLM summariser (llm.c) --------------------------------------------- */
typedef struct ctx_llm_cfg {
    const char *endpoint, *model, *api_key;
    int timeout_ms;
} ctx_llm_cfg_t;
/* Asks the chat-completions endpoint for a summary of text in at most
 * max_tokens; *out malloc'd. Any failure is an error with the reason. */
int ctx_llm_summarise(const ctx_llm_cfg_t *cfg, const char *text, size_t len, uint32_t max_tokens, char **out,
                      hx_err_t *err);
/* The summary in a chat-completions reply body (choices[0].message.content,
 * non-empty); *out malloc'd. HX_EINVAL names what is missing. */
int ctx_llm_parse_reply(const char *body, size_t len, char **out, hx_err_t *err);

/* ---- compression (compress.c, select.c, quality.c) ---------------------- */
typedef enum { CTX_S_HYBRID = 0, CTX_S_ENTITY_GRAPH, CTX_S_WINDOW, CTX_S_FULL } ctx_strategy_t;
const char *ctx_strategy_name(ctx_strategy_t s);
int ctx_strategy_parse(const char *s, ctx_strategy_t *out);

typedef struct ctx_opts {
    ctx_strategy_t strategy;
    int64_t max_tokens;        /* 0 = none */
    double ratio;
    int ratio_given;
    int64_t min_budget;        /* budget floor when neither max_tokens nor a ratio is given */
    int preserve;
    int window;
    double quality_threshold;
    int use_llm;               /* 1 = window summaries via LLM */
    ctx_llm_cfg_t llm;
} ctx_opts_t;

typedef struct ctx_env {
    ctx_cache_t *cache;        /* may be NULL */
    uint64_t tag;              /* conversation hash for cache keys */
    ctx_pool_t *pool;          /* may be NULL */
} ctx_env_t;

/* Compresses the live messages msgs[0..n) and builds the response JSON
 * (messages, entities, total_tokens, compressed, compression_stats). */
int ctx_compress(const ctx_opts_t *o, const ctx_env_t *env, const ctx_msg_t *const *msgs, size_t n, json_t **out,
                 hx_err_t *err);

/* Message -> JSON as the API shows it. */
json_t *ctx_msg_json(const ctx_msg_t *m);

#endif
