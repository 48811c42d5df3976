/* Small checks on JSON request bodies shared by the API groups and the
 * engines behind them (jansson values are borrowed). */
#ifndef HX_JSON_H
#define HX_JSON_H

#include "helix/hx_error.h"

#include <jansson.h>
#include <stdint.h>

/* HX_EINVAL "unknown field 'k' (known: a, b, c)" for the first key of obj
 * that is not in known (NULL-terminated). */
int hx_json_check_known(const json_t *obj, const char *const *known, hx_err_t *err);

/* Optional integer field name of a JSON object: *out untouched when absent or
 * null; HX_EINVAL "field 'name' must be an integer >= min" otherwise. */
int hx_json_opt_int(const json_t *obj, const char *name, int64_t min, int64_t *out, hx_err_t *err);

#endif
