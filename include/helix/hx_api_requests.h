/* JSON request bodies parsed into the engines' typed requests: what the HTTP
 * handlers in src/api do before they call an engine, shared with the benches,
 * tests and fuzz targets that feed engines JSON. Parsing checks shape (known
 * fields, types); the engine checks meaning (required fields, choices, what
 * exists).
 *
 * Ownership: the typed request borrows its strings and JSON values from the
 * body, which must outlive it; the arrays it allocates are freed by the
 * matching *_free (safe on a zeroed or failed request). */
#ifndef HX_API_REQUESTS_H
#define HX_API_REQUESTS_H

#include "helix/hx_context.h"
#include "helix/hx_error.h"
#include "helix/hx_memory.h"

#include <jansson.h>

/* POST /v1/conversations/{id}/messages: one item or {"messages":[item...]}.
 * rq->items is allocated; tenant and conversation_id are left to the caller. */
int hx_api_ctx_ingest_parse(const json_t *body, hx_ctx_ingest_t *rq, hx_err_t *err);
void hx_api_ctx_ingest_free(hx_ctx_ingest_t *rq);
/* The same for a one-message body read from its text without a jansson
 * tree: HX_OK with rq->items (and the strings they point to) in one
 * allocation hx_api_ctx_ingest_free frees, or HX_EAGAIN when the body is
 * anything else, valid or not ({"messages":[...]}, a bad value, malformed
 * JSON): hx_api_ctx_ingest_parse of its tree then gives the items or the
 * error. Accepts only what that path accepts, with the same items. */
int hx_api_ctx_ingest_parse_text(const char *text, size_t len, hx_ctx_ingest_t *rq);
/* Parse, then hx_context_ingest. */
int hx_api_ctx_ingest_json(hx_context_t *c, const char *tenant, const char *conversation_id, const json_t *body,
                           json_t **out, hx_err_t *err);

/* POST /v1/memory and PATCH /v1/memory/{id} bodies. w->tags is allocated. */
int hx_api_memory_write_parse(const json_t *body, hx_memory_write_t *w, hx_err_t *err);
void hx_api_memory_write_free(hx_memory_write_t *w);
/* The same from the body's text without a jansson tree, for the bodies of a
 * simple shape (strings, numbers, tags; no metadata or entities): HX_OK with
 * w borrowing from *arena (free it; hx_api_memory_write_free is not for this
 * w), or HX_EAGAIN when the body is anything else, valid or not: parse its
 * tree with hx_api_memory_write_parse then, which gives the same w or the
 * error. Accepts only what that path accepts. */
int hx_api_memory_write_parse_text(const char *text, size_t len, hx_memory_write_t *w, char **arena);
/* Parse, then hx_memory_create / hx_memory_update. */
int hx_api_memory_create_json(hx_memory_t *m, const char *tenant, const json_t *body, json_t **out, hx_err_t *err);
/* The same answer as JSON text appended to out (hx_memory_create_text). */
int hx_api_memory_create_text(hx_memory_t *m, const char *tenant, const json_t *body, hx_buf_t *out, hx_err_t *err);
int hx_api_memory_update_json(hx_memory_t *m, const char *tenant, const char *id, const json_t *patch, json_t **out,
                              hx_err_t *err);

#endif
