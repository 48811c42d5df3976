/* Identifiers that arrive from outside (path segments, body fields): checked
 * once, before anything is written, so a bad id is a clear 400 rather than a
 * record nobody can read back. */
#ifndef HX_ID_H
#define HX_ID_H

#include "helix/hx_error.h"

#include <stddef.h>

#define HX_ID_MAX 256

/* 1 when s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points past U+10FFFF). */
int hx_utf8_valid(const char *s, size_t len);

/* An id is 1..HX_ID_MAX bytes of valid UTF-8 without control characters
 * (U+0000-U+001F, U+007F). HX_EINVAL naming `what` ("conversation_id") and the
 * rule otherwise; NULL is "missing". */
int hx_id_check(const char *s, const char *what, hx_err_t *err);

#endif
