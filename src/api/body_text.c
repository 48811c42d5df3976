/* The fast body reader (body_text.h). */
#include "api/body_text.h"

#include <stdlib.h>
#include <string.h>

int hx_body_rd_init(hx_body_rd_t *b, const char *text, size_t len, size_t head)
{
    memset(b, 0, sizeof *b);
    hx_jr_init(&b->r, text, len);
    head = (head + sizeof(void *) - 1) / sizeof(void *) * sizeof(void *);
    /* every string and its NUL fit in the bytes of its quoted text, so the
     * free part of the arena always holds the rest of the input */
    b->cap = head + len + 2;
    b->used = head;
    b->arena = malloc(b->cap);
    return b->arena ? HX_OK : HX_ENOMEM;
}

/* Strings are unescaped straight into the arena: the reader's scratch is
 * pointed at its free part, which always holds the rest of the input, so
 * the reader never reallocates it (it only does for a string longer than
 * its scratch); done takes it back before hx_jr_free. */
static void scratch_here(hx_body_rd_t *b)
{
    b->r.scratch = b->arena + b->used;
    b->r.scratch_cap = b->cap - b->used;
}

void hx_body_rd_done(hx_body_rd_t *b, int keep)
{
    b->r.scratch = NULL;
    b->r.scratch_cap = 0;
    hx_jr_free(&b->r);
    if (!keep)
        free(b->arena);
    b->arena = NULL;
}

int hx_body_key(hx_body_rd_t *b, const char *const *names)
{
    const char *k;
    size_t n;
    scratch_here(b);
    if (hx_jr_peek(&b->r) != '"' || hx_jr_string(&b->r, &k, &n) || !hx_jr_eat(&b->r, ':'))
        return -1;
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == n && !memcmp(names[i], k, n))
            return i;
    return -1;
}

int hx_body_null(hx_body_rd_t *b)
{
    return hx_jr_peek(&b->r) == 'n' && hx_jr_null(&b->r) == HX_OK;
}

int hx_body_str(hx_body_rd_t *b, int nullable, const char **out)
{
    if (nullable && hx_body_null(b)) {
        *out = NULL;
        return HX_OK;
    }
    const char *s;
    size_t n;
    scratch_here(b);
    if (hx_jr_peek(&b->r) != '"' || hx_jr_string(&b->r, &s, &n) || s != b->arena + b->used)
        return HX_EAGAIN;
    b->used += n + 1;
    *out = s;
    return HX_OK;
}

/* The number token ahead: [*start, *end) of its text after white space. */
static int number(hx_body_rd_t *b, double *v, int *is_int, size_t *start)
{
    hx_jr_ws(&b->r);
    *start = b->r.pos;
    char c = hx_jr_peek(&b->r);
    if (c != '-' && (c < '0' || c > '9'))
        return HX_EAGAIN;
    return hx_jr_number(&b->r, v, is_int) ? HX_EAGAIN : HX_OK;
}

int hx_body_int(hx_body_rd_t *b, int64_t *v)
{
    double d;
    int is_int;
    size_t start;
    /* 18 characters keep every integer inside int64: jansson refuses larger */
    if (number(b, &d, &is_int, &start) || !is_int || b->r.pos - start > 18)
        return HX_EAGAIN;
    const char *p = b->r.p + start, *end = b->r.p + b->r.pos;
    int neg = *p == '-';
    int64_t x = 0;
    for (p += neg; p < end; p++)
        x = x * 10 + (*p - '0');
    *v = neg ? -x : x;
    return HX_OK;
}

int hx_body_num(hx_body_rd_t *b, double *v)
{
    int is_int;
    size_t start;
    if (number(b, v, &is_int, &start))
        return HX_EAGAIN;
    /* jansson reads "-0" as the integer 0, and refuses integers past int64 */
    if (is_int && (b->r.pos - start > 18 || (b->r.p[start] == '-' && *v == 0)))
        return HX_EAGAIN;
    return HX_OK;
}

int hx_body_end(hx_body_rd_t *b)
{
    hx_jr_ws(&b->r);
    return b->r.pos == b->r.n ? HX_OK : HX_EAGAIN;
}
