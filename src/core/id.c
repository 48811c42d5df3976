/* UTF-8 and identifier checks (hx_id.h). */
#include "helix/hx_id.h"

#include <string.h>

int hx_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        size_t n;
        unsigned cp, min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n + 1;
    }
    return 1;
}

int hx_id_check(const char *s, const char *what, hx_err_t *err)
{
    if (!s || !*s)
        return hx_err_set(err, HX_EINVAL, "%s is missing or empty", what);
    size_t len = strlen(s);
    if (len > HX_ID_MAX)
        return hx_err_set(err, HX_EINVAL, "%s is %zu bytes; at most %d are allowed", what, len, HX_ID_MAX);
    if (!hx_utf8_valid(s, len))
        return hx_err_set(err, HX_EINVAL, "%s is not valid UTF-8", what);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return hx_err_set(err, HX_EINVAL, "%s contains a control character (byte %zu)", what, i);
    return HX_OK;
}
