/* The event envelope: the one record shape on every topic (DESIGN.md,
 * "Topics and envelope"). JSON on the HTTP API, a compact binary frame inside
 * the log; both forms carry the same fields and round-trip exactly.
 *
 * Ownership: an hx_envelope_t owns every string, header and its data (a
 * jansson reference). hx_envelope_free releases them and leaves a zeroed
 * envelope; hx_envelope_init makes an empty one. Decoders fill an envelope the
 * caller has initialised and free what they built on failure. */
#ifndef HX_ENVELOPE_H
#define HX_ENVELOPE_H

#include "helix/hx_buf.h"
#include "helix/hx_error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define HX_ENVELOPE_VERSION 1
#define HX_ENV_ID_MAX 128
#define HX_ENV_TYPE_MAX 128
#define HX_ENV_SOURCE_MAX 128
#define HX_ENV_TENANT_MAX 64
#define HX_ENV_KEY_MAX 1024
#define HX_ENV_HEADERS_MAX 64
#define HX_ENV_HEADER_NAME_MAX 128
#define HX_ENV_HEADER_VALUE_MAX 4096

typedef struct hx_env_header {
    char *name;
    char *value;
} hx_env_header_t;

typedef struct hx_envelope {
    int v;                    /* always 1 */
    char *id;                 /* unique event id */
    char *type;               /* "conversation.message.added", ... */
    char *source;             /* node id of the producer; may be "" */
    char *tenant;             /* default "default" */
    char *key;                /* ordering key (conversation_id, memory_id, ...); may be "" */
    int64_t ts;               /* ms since epoch, UTC */
    uint64_t seq;             /* per-key sequence; 0 = none */
    hx_env_header_t *headers;
    size_t n_headers;
    json_t *data;             /* owned reference; never NULL after a decode (an empty object at least) */
} hx_envelope_t;

void hx_envelope_init(hx_envelope_t *e);
void hx_envelope_free(hx_envelope_t *e);
/* Deep copy of src into dst (dst is overwritten, not freed first). */
int hx_envelope_copy(hx_envelope_t *dst, const hx_envelope_t *src, hx_err_t *err);
/* Structural equality, data compared with json_equal. */
int hx_envelope_equal(const hx_envelope_t *a, const hx_envelope_t *b);

/* Checks every field's presence, format and limit; messages name the field. */
int hx_envelope_validate(const hx_envelope_t *e, hx_err_t *err);

/* Fills what a producer may leave out: id (32 random hex chars), source,
 * tenant ("default"), ts (now_ms), data ({}). */
int hx_envelope_fill_defaults(hx_envelope_t *e, const char *source, int64_t now_ms, hx_err_t *err);

/* Sets a header, replacing one of the same name. */
int hx_envelope_set_header(hx_envelope_t *e, const char *name, const char *value, hx_err_t *err);
const char *hx_envelope_header(const hx_envelope_t *e, const char *name);

/* JSON form. Unknown top-level fields are rejected by name. Absent id/ts/tenant
 * stay empty/0 for hx_envelope_fill_defaults; validation happens after it. */
int hx_envelope_from_json(const json_t *j, hx_envelope_t *e, hx_err_t *err);
int hx_envelope_from_json_text(const char *text, size_t len, hx_envelope_t *e, hx_err_t *err);
/* *out is a new reference the caller owns. */
int hx_envelope_to_json(const hx_envelope_t *e, json_t **out, hx_err_t *err);
int hx_envelope_to_json_text(const hx_envelope_t *e, hx_buf_t *out, hx_err_t *err);

/* Binary frame, appended to out. Layout (docs/events.md): magic 'H', version,
 * then varint-length strings id, type, source, tenant, key, zigzag ts, varint
 * seq, varint header count + name/value pairs, varint-length compact JSON data. */
int hx_envelope_encode(const hx_envelope_t *e, hx_buf_t *out, hx_err_t *err);
/* The same frame with data given as compact JSON text (e->data is not
 * read): for producers that already hold the data serialized. The caller
 * guarantees data is valid JSON. */
int hx_envelope_encode_data(const hx_envelope_t *e, const char *data, size_t data_len, hx_buf_t *out, hx_err_t *err);
/* 1 when the frame's source is source, without decoding the rest (a
 * consumer skipping its own records). */
int hx_envelope_source_is(const void *p, size_t len, const char *source);
/* Strict: malformed, truncated, over-limit or trailing bytes give HX_ECORRUPT. */
int hx_envelope_decode(const void *p, size_t len, hx_envelope_t *e, hx_err_t *err);

/* hx_envelope_decode with data left unparsed, for readers with their own
 * codec of it (the knowledge graph's events, which hx_envelope_encode_data
 * writes): every other field is decoded and checked, e->data is JSON null,
 * and *data points into p, so p must outlive its use. */
int hx_envelope_decode_raw(const void *p, size_t len, hx_envelope_t *e, const char **data, size_t *data_len,
                           hx_err_t *err);

/* Bulk paths (analytics ingest at a million records a second) that must not
 * build a jansson tree per record. */
typedef struct hx_envelope_view {
    const char *id, *type, *source, *tenant, *key; /* borrowed from the frame, not NUL-terminated */
    size_t id_len, type_len, source_len, tenant_len, key_len;
    int64_t ts;
    uint64_t seq;
    size_t n_headers;
    const void *headers;                          /* the n_headers name/value pairs as framed */
    size_t headers_len;                           /* (varint-length strings), for hx_rd_bytes */
    const char *data;                             /* the data's JSON text, not parsed */
    size_t data_len;
} hx_envelope_view_t;

/* Reads a frame's fields without copying or parsing data; the frame
 * structure is checked as strictly as hx_envelope_decode (HX_ECORRUPT), the
 * data's JSON is the caller's to parse. */
int hx_envelope_peek(const void *p, size_t len, hx_envelope_view_t *v, hx_err_t *err);

/* Many frames that share type, source, tenant and headers: those are
 * validated once (hx_envelope_encoder_init, e's id/key/ts/data ignored), each
 * frame then checks only its own id, key and ts. e must outlive the encoder. */
typedef struct hx_envelope_encoder {
    const hx_envelope_t *e;
} hx_envelope_encoder_t;

int hx_envelope_encoder_init(hx_envelope_encoder_t *enc, const hx_envelope_t *e, hx_err_t *err);
/* id and key NUL-terminated; data as for hx_envelope_encode_data. */
int hx_envelope_encoder_put(const hx_envelope_encoder_t *enc, const char *id, const char *key, int64_t ts,
                            const char *data, size_t data_len, hx_buf_t *out, hx_err_t *err);

/* Validates data against the schema of type where DESIGN.md defines one
 * (conversation messages, provider metrics, debate completion); other types
 * need an object. Messages name the field: "data.role must be one of ...". */
int hx_event_validate_data(const char *type, const json_t *data, hx_err_t *err);
/* 1 when hx_event_validate_data checks more than "data is an object" for type. */
int hx_event_has_schema(const char *type);

#endif
