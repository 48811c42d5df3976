/* UTF-8 and identifier checks (hx_id.h). */
#include "helix/hx_id.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

int hx_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    const uint64_t high = 0x8080808080808080ull;
    while (p < end) {
        unsigned c = *p;
        size_t n;
        unsigned cp, min;
        if (c < 0x80) {
            /* ASCII runs (most strings are all ASCII) eight bytes at a time:
             * the byte loop was not vectorised at -O2 and was most of a long
             * string's read */
            uint64_t v;
            while ((size_t)(end - p) >= 8 && (memcpy(&v, p, 8), !(v & high)))
                p += 8;
            if (p < end && *p < 0x80)
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

size_t hx_utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

void hx_hex_encode(const void *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int hx_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
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

/* Per thread, so the hot path takes no lock; the buffer's bytes are handed out once and wiped. */
#define RND_BUF 4096
static _Thread_local unsigned char rnd_buf[RND_BUF];
static _Thread_local size_t rnd_left;
static pthread_once_t rnd_once = PTHREAD_ONCE_INIT;

/* Runs in the child, in the thread that forked: the only copy of the parent's buffer there. */
static void rnd_drop_after_fork(void)
{
    explicit_bzero(rnd_buf, sizeof rnd_buf);
    rnd_left = 0;
}

static void rnd_register(void)
{
    pthread_atfork(NULL, NULL, rnd_drop_after_fork);
}

int hx_id_random(void *p, size_t n)
{
    if (n > 256)
        return HX_EINVAL;
    pthread_once(&rnd_once, rnd_register);
    if (rnd_left < n) {
        size_t got = 0;
        while (got < RND_BUF) {
            ssize_t r = getrandom(rnd_buf + got, RND_BUF - got, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                rnd_left = 0;
                return HX_EIO;
            }
            got += (size_t)r;
        }
        rnd_left = RND_BUF;
    }
    unsigned char *src = rnd_buf + (RND_BUF - rnd_left);
    memcpy(p, src, n);
    explicit_bzero(src, n);
    rnd_left -= n;
    return HX_OK;
}
