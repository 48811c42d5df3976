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

/* Writes code point cp (at most U+10FFFF) as UTF-8 to o, which has room for
 * 4 bytes; returns the bytes written. */
size_t hx_utf8_put(char *o, unsigned cp);

/* Writes the n bytes at p as 2n lowercase hex digits and a NUL to out. */
void hx_hex_encode(const void *p, size_t n, char *out);

/* Fills p with n <= 256 bytes for ids (event, memory ids): unique and unpredictable, but not for secrets (keys take
 * getrandom() directly). Bytes come from the kernel's CSPRNG through a per-thread buffer, one getrandom() per 4 KiB
 * rather than one per id; a forked child drops the buffer it inherited, so parent and child never share ids.
 * HX_EIO when the kernel gives no random bytes. */
int hx_id_random(void *p, size_t n);

/* The value of hex digit c (either case), -1 when c is not one. */
int hx_hex_digit(int c);

/* An id is 1..HX_ID_MAX bytes of valid UTF-8 without control characters
 * (U+0000-U+001F, U+007F). HX_EINVAL naming `what` ("conversation_id") and the
 * rule otherwise; NULL is "missing". */
int hx_id_check(const char *s, const char *what, hx_err_t *err);

#endif
