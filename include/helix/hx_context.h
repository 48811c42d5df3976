/* Infinite context: conversations kept as event streams on
 * helixagent.conversations, replayed by conversation and compressed to a token
 * budget (docs/context.md).
 *
 * Token estimate: a message's `tokens` field when it is > 0, else
 * hx_context_estimate_tokens(content) = ceil(bytes / 4) (0 for empty text), the
 * usual "4 bytes per token" rule for English BPE vocabularies. Summaries are
 * always counted with the estimator, so a budget check is exact for them.
 *
 * Ownership: hx_context_t borrows its broker and metrics (both must outlive
 * it) and copies the config. Every json_t ** out-param is a new reference the
 * caller owns. Strings in request structs are borrowed for the call. All
 * hx_context_* functions on one engine are thread-safe. */
#ifndef HX_CONTEXT_H
#define HX_CONTEXT_H

#include "helix/hx_broker.h"
#include "helix/hx_config.h"
#include "helix/hx_error.h"
#include "helix/hx_metrics.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hx_context hx_context_t;

/* ceil(len / 4): see the header comment. */
uint32_t hx_context_estimate_tokens(const char *text, size_t len);

/* Creates the engine and builds the conversation index from the log (every
 * partition of helixagent.conversations, read with hx_broker_fetch, so no
 * consumer-group offset is ever committed). metrics may be NULL. */
int hx_context_new(const hx_config_t *cfg, hx_broker_t *broker, hx_metrics_t *metrics, hx_context_t **out,
                   hx_err_t *err);
void hx_context_free(hx_context_t *c); /* NULL ok */

/* Ingest: items are applied in order to one conversation. An item is a
 * message (DESIGN.md fields) with an op: add (message_id is generated when
 * NULL), update (message_id + new fields), delete (message_id) or complete.
 * JSON bodies are parsed into this form in src/api (hx_api_requests.h). */
typedef enum { HX_CTX_ADD = 0, HX_CTX_UPDATE, HX_CTX_DELETE, HX_CTX_COMPLETE } hx_ctx_op_t;

typedef struct hx_ctx_item {
    hx_ctx_op_t op;
    const char *message_id;        /* NULL = absent (add: msg-<seq>) */
    const char *role;              /* user|assistant|system|tool; add needs it */
    const char *content;           /* add needs it */
    const char *model, *provider, *user_id, *session_id; /* NULL = absent */
    int64_t tokens;                /* -1 = absent */
    int64_t created_at;            /* ms; -1 = absent (add: now) */
} hx_ctx_item_t;

void hx_ctx_item_init(hx_ctx_item_t *it); /* op add, every field absent */

typedef struct hx_ctx_ingest {
    const char *tenant;            /* NULL = "default" */
    const char *conversation_id;
    const hx_ctx_item_t *items;
    size_t n;
} hx_ctx_ingest_t;

/* Every item is validated before anything is written: HX_EINVAL for a bad
 * item (the message names messages[i]), HX_ENOTFOUND for an update or delete
 * of a message that does not exist (or no longer) when it applies; seq
 * numbers are assigned per conversation. Ingests of different conversations
 * run side by side; those of one conversation are written in the order their
 * seqs were given. *out:
 * {"conversation_id","accepted","first_seq","last_seq","events":[{seq,type,message_id,partition,offset}]} */
int hx_context_ingest(hx_context_t *c, const hx_ctx_ingest_t *rq, json_t **out, hx_err_t *err);
/* hx_context_ingest with that answer appended to out as compact JSON text
 * (the bytes json_dumps(*out, JSON_COMPACT) gives), written without a tree:
 * the HTTP API's POST /v1/conversations/{id}/messages. */
int hx_context_ingest_text(hx_context_t *c, const hx_ctx_ingest_t *rq, hx_buf_t *out, hx_err_t *err);

/* The live messages (updates applied, deletes removed) with seq >= from_seq
 * and created at or after since_ms (0 = all), at most limit.
 * HX_ENOTFOUND for an unknown conversation. */
int hx_context_messages(hx_context_t *c, const char *tenant, const char *conversation_id, uint64_t from_seq,
                        int64_t since_ms, int limit, json_t **out, hx_err_t *err);

typedef struct hx_ctx_request {
    const char *tenant;            /* NULL = "default" */
    const char *conversation_id;
    int64_t max_tokens;            /* 0 = no cap */
    double target_ratio;           /* 0 = not given (config default unless max_tokens rules) */
    const char *strategy;          /* NULL = config default */
    int preserve_recent_count;     /* -1 = config */
    int window_size;               /* -1 = config */
    int use_llm;                   /* -1 = when an endpoint is configured, 0 = never, 1 = must be configured */
    uint64_t from_seq;             /* replay only messages with seq >= this (0 = all) */
    int64_t since_ms;              /* and created at or after this (0 = all) */
} hx_ctx_request_t;

void hx_ctx_request_defaults(hx_ctx_request_t *r);

/* Replays and compresses one conversation. *out holds messages, entities,
 * total_tokens, compressed and compression_stats (docs/context.md).
 * HX_ENOTFOUND for an unknown conversation, HX_EINVAL for bad options. */
int hx_context_replay(hx_context_t *c, const hx_ctx_request_t *rq, json_t **out, hx_err_t *err);

/* Counts, tokens, seq range, index and cache figures for one conversation. */
int hx_context_stats(hx_context_t *c, const char *tenant, const char *conversation_id, json_t **out, hx_err_t *err);

/* Drops every cached conversation, window summary and result (benchmarks use
 * it to time cold runs). */
void hx_context_cache_clear(hx_context_t *c);

/* ---- compression without a broker (tests, tools) ------------------------ */

typedef struct hx_ctx_message {
    uint64_t seq;
    const char *message_id;
    const char *role;
    const char *content;
    int64_t tokens;                /* 0 = estimate */
    int64_t created_at;
} hx_ctx_message_t;

/* Compresses msgs (in order) with rq's options and cfg's defaults; *out has
 * the same shape as hx_context_replay's. No cache, no LLM. */
int hx_context_compress(const hx_config_t *cfg, const hx_ctx_request_t *rq, const hx_ctx_message_t *msgs, size_t n,
                        json_t **out, hx_err_t *err);

#endif
