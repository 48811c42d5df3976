/* Private to src/analytics: the row codec (JSON rows and event data to
 * batches, without a jansson tree per row), publishing to the log and the
 * ingest consumer. */
#ifndef HX_AN_INGEST_H
#define HX_AN_INGEST_H

#include "analytics/backend.h"
#include "helix/hx_broker.h"

/* Byte range of each parsed row object in the body (for publishing the
 * row's own text as the event's data). */
typedef struct an_spans {
    uint32_t *start, *len;
    size_t n, cap;
} an_spans_t;

void an_spans_free(an_spans_t *s);

/* hx_an_rows_parse plus the spans of the row objects (spans may be NULL). */
int an_rows_parse(hx_an_table_t t, const char *tenant, int64_t now_s, const char *body, size_t len,
                  hx_an_batch_t *out, hx_an_batch_t *parts, an_spans_t *spans, hx_err_t *err);

/* One event's data object (lenient: unknown fields are skipped) as a row of
 * table t at time ts_s (a debate.completed also fills parts). On error the
 * batches are as before. */
int an_event_row(hx_an_table_t t, const char *tenant, size_t tenant_len, int64_t ts_s, const char *data,
                 size_t len, hx_an_batch_t *out, hx_an_batch_t *parts, hx_err_t *err);

/* The fields of a conversation message event that metrics need. */
typedef struct an_msg {
    int role;              /* 0 user, 1 assistant, 2 system, 3 tool, -1 absent */
    uint64_t content_bytes;
    uint64_t tokens;       /* 0 = estimate from content */
    const char *user_id;   /* into scratch, NUL-terminated; "" when absent */
    size_t user_len;
} an_msg_t;

int an_msg_parse(const char *data, size_t len, an_msg_t *m, char *scratch, size_t scratch_len, hx_err_t *err);

/* Row text of the in-process publish path (rows from a batch). */
int an_row_json(const hx_an_batch_t *b, const hx_an_batch_t *parts, size_t row, size_t *part_row, hx_buf_t *out);

#endif
