/* Small checks on JSON request bodies shared by the API groups and the
 * engines behind them (jansson values are borrowed). */
#ifndef HX_JSON_H
#define HX_JSON_H

#include "helix/hx_buf.h"
#include "helix/hx_error.h"

#include <jansson.h>
#include <stdint.h>

/* HX_EINVAL "unknown field 'k' (known: a, b, c)" for the first key of obj
 * that is not in known (NULL-terminated). */
int hx_json_check_known(const json_t *obj, const char *const *known, hx_err_t *err);

/* Optional integer field name of a JSON object: *out untouched when absent or
 * null; HX_EINVAL "field 'name' must be an integer >= min" otherwise. */
int hx_json_opt_int(const json_t *obj, const char *name, int64_t min, int64_t *out, hx_err_t *err);

/* ---- writing (json_write.c): the bytes json_dumps(v, JSON_COMPACT |
 * JSON_ENCODE_ANY) gives, appended to b without building or dumping a tree
 * for the writer's own parts. Object keys in the order jansson keeps them. */
/* v as JSON text; HX_EINVAL (b unchanged) when jansson could not dump it
 * (a string that is not UTF-8), HX_ENOMEM. */
int hx_json_write(hx_buf_t *b, const json_t *v);
/* s[0..n) as a JSON string (hx_buf_put_json_str: escaped as jansson
 * escapes it); HX_EINVAL, b unchanged, when it is not valid UTF-8. */
int hx_json_write_str(hx_buf_t *b, const char *s, size_t n);
int hx_json_write_int(hx_buf_t *b, int64_t v);
/* A real as jansson dumps it; HX_EINVAL for NaN and infinities. */
int hx_json_write_real(hx_buf_t *b, double v);

#endif
