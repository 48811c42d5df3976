/* What extraction needs of its source records, read from their data text
 * with hx_json_read instead of a jansson tree of the whole data:
 * - a memory.delta: per op of {"ops":[{"d":state,...},...]} the state's
 *   tenant, its newest live content ("content":{"live":[[hlc,node,value],
 *   ...]}), the user of its identity ("ident":[hlc,node,{"user_id":...}])
 *   and whether it is deleted ("del"). The deltas are the memory engine's
 *   canonical text (crdt_text.c), once per memory write; parsing the whole
 *   CRDT state for these four fields was 40% of the extractor.
 * - a conversation message: content, role, user_id, created_at. */
#include "graph/extract/extract.h"
#include "helix/hx_json_read.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The next string, copied (r's scratch is reused by the next string). */
static int take_str(hx_jr_t *r, char **dst)
{
    const char *s;
    size_t n;
    if (!hx_jr_plain(r, &s, &n) && hx_jr_string(r, &s, &n))
        return HX_EINVAL;
    char *c = malloc(n + 1);
    if (!c)
        return HX_ENOMEM;
    memcpy(c, s, n);
    c[n] = 0;
    free(*dst);
    *dst = c;
    return HX_OK;
}

static int skip_value(hx_jr_t *r)
{
    size_t a, b;
    return hx_jr_skip(r, &a, &b);
}

/* Calls fn for each member of an object (r before its '{'). */
typedef int (*member_fn)(hx_jr_t *r, const char *key, void *ctx);

static int each_member(hx_jr_t *r, member_fn fn, void *ctx)
{
    int first = 1, more;
    const char *k;
    size_t kn;
    while ((more = hx_jr_member_next(r, &first, &k, &kn)) > 0) {
        char key[16];
        /* the members read here have short names; longer ones are skipped */
        if (kn >= sizeof key) {
            if (skip_value(r))
                return HX_EINVAL;
            continue;
        }
        memcpy(key, k, kn);
        key[kn] = 0;
        int rc = fn(r, key, ctx);
        if (rc)
            return rc;
    }
    return more;
}

typedef struct {
    char *tenant, *content, *user;
    long long best;  /* hlc of content; -1 none */
    int del, seen_d;
    unsigned seen;   /* members read, to refuse duplicates as jansson does */
} mstate_t;

static int once(mstate_t *st, unsigned bit)
{
    if (st->seen & bit)
        return HX_EINVAL;
    st->seen |= bit;
    return HX_OK;
}

/* An integer as jansson reads one into json_int_t; 0 = not an integer
 * (a real), HX_EINVAL = not a number or out of range. */
static int int_value(hx_jr_t *r, long long *v, int *is_int)
{
    /* a plain integer in range is read here (every live entry's clock, 19
     * digits); anything else as before */
    hx_jr_ws(r);
    size_t i = r->pos, d0;
    unsigned long long u = 0;
    int neg = i < r->n && r->p[i] == '-';
    for (d0 = i += (size_t)neg; i < r->n && r->p[i] >= '0' && r->p[i] <= '9' && i - d0 < 20; i++)
        u = u * 10 + (unsigned)(r->p[i] - '0');
    size_t nd = i - d0;
    if (nd >= 1 && nd <= 19 && !(nd > 1 && r->p[d0] == '0') && u <= (unsigned long long)LLONG_MAX + (unsigned)neg &&
        !(i < r->n && ((r->p[i] >= '0' && r->p[i] <= '9') || r->p[i] == '.' || r->p[i] == 'e' || r->p[i] == 'E'))) {
        r->pos = i;
        *v = neg ? (long long)(0 - u) : (long long)u;
        *is_int = 1;
        return HX_OK;
    }
    size_t a, b;
    if (hx_jr_skip(r, &a, &b))
        return HX_EINVAL;
    char buf[32];
    size_t n = b - a;
    *is_int = 0;
    if (n >= sizeof buf)
        return HX_EINVAL;
    memcpy(buf, r->p + a, n);
    buf[n] = 0;
    if (strpbrk(buf, ".eE"))
        return HX_OK;
    errno = 0;
    *v = strtoll(buf, NULL, 10);
    if (errno)
        return HX_EINVAL;
    *is_int = 1;
    return HX_OK;
}

/* [hlc, node, value] of content.live: a string value with the highest
 * integer hlc wins (the first of equals, like the jansson path). */
static int live_entry(hx_jr_t *r, mstate_t *st)
{
    if (hx_jr_peek(r) != '[')
        return skip_value(r);
    r->pos++;
    if (hx_jr_eat(r, ']'))
        return HX_OK;
    long long h = 0;
    int have_h = 0;
    char c = hx_jr_peek(r);
    if (c == '-' || (c >= '0' && c <= '9')) {
        if (int_value(r, &h, &have_h))
            return HX_EINVAL;
    } else if (skip_value(r)) {
        return HX_EINVAL;
    }
    for (int idx = 1; hx_jr_eat(r, ','); idx++) {
        int rc;
        if (idx == 2 && hx_jr_peek(r) == '"' && have_h && h > st->best) {
            if ((rc = take_str(r, &st->content)))
                return rc;
            st->best = h;
        } else if (skip_value(r)) {
            return HX_EINVAL;
        }
    }
    return hx_jr_eat(r, ']') ? HX_OK : HX_EINVAL;
}

static int content_member(hx_jr_t *r, const char *key, void *ctx)
{
    mstate_t *st = ctx;
    if (strcmp(key, "live"))
        return skip_value(r);
    if (once(st, 1u << 8) || !hx_jr_eat(r, '['))
        return HX_EINVAL;
    if (hx_jr_eat(r, ']'))
        return HX_OK;
    do {
        int rc = live_entry(r, st);
        if (rc)
            return rc;
    } while (hx_jr_eat(r, ','));
    return hx_jr_eat(r, ']') ? HX_OK : HX_EINVAL;
}

static int ident_obj_member(hx_jr_t *r, const char *key, void *ctx)
{
    mstate_t *st = ctx;
    if (strcmp(key, "user_id"))
        return skip_value(r);
    if (once(st, 1u << 9))
        return HX_EINVAL;
    return hx_jr_peek(r) == '"' ? take_str(r, &st->user) : skip_value(r);
}

/* "ident":[hlc, node, {"user_id":...}]: the third element's user_id. */
static int ident(hx_jr_t *r, mstate_t *st)
{
    if (!hx_jr_eat(r, '['))
        return skip_value(r);
    if (hx_jr_eat(r, ']'))
        return HX_OK;
    int idx = 0;
    do {
        int rc = idx == 2 && hx_jr_peek(r) == '{' ? each_member(r, ident_obj_member, st) : skip_value(r);
        if (rc)
            return rc;
        idx++;
    } while (hx_jr_eat(r, ','));
    return hx_jr_eat(r, ']') ? HX_OK : HX_EINVAL;
}

static int state_member(hx_jr_t *r, const char *key, void *ctx)
{
    mstate_t *st = ctx;
    if (!strcmp(key, "tenant")) {
        if (once(st, 1u << 1))
            return HX_EINVAL;
        return hx_jr_peek(r) == '"' ? take_str(r, &st->tenant) : skip_value(r);
    }
    if (!strcmp(key, "del")) {
        st->del = 1;
        return once(st, 1u << 2) ? HX_EINVAL : skip_value(r);
    }
    if (!strcmp(key, "ident")) {
        if (once(st, 1u << 3))
            return HX_EINVAL;
        if (hx_jr_peek(r) != '[')
            return skip_value(r);
        return ident(r, st);
    }
    if (!strcmp(key, "content")) {
        if (once(st, 1u << 4))
            return HX_EINVAL;
        return hx_jr_peek(r) == '{' ? each_member(r, content_member, st) : skip_value(r);
    }
    return skip_value(r);
}

typedef struct {
    xt_memop_t *ops;
    size_t n, cap;
    int seen_ops;
} ops_ctx_t;

static int op_member(hx_jr_t *r, const char *key, void *ctx)
{
    mstate_t *st = ctx;
    if (strcmp(key, "d"))
        return skip_value(r);
    if (st->seen_d++)
        return HX_EINVAL;
    return hx_jr_peek(r) == '{' ? each_member(r, state_member, st) : skip_value(r);
}

static void mstate_free(mstate_t *st)
{
    free(st->tenant);
    free(st->content);
    free(st->user);
}

static int keep(ops_ctx_t *oc, mstate_t *st)
{
    if (oc->n == oc->cap) {
        size_t nc = oc->cap ? oc->cap * 2 : 4;
        xt_memop_t *p = realloc(oc->ops, nc * sizeof *p);
        if (!p)
            return HX_ENOMEM;
        oc->ops = p;
        oc->cap = nc;
    }
    oc->ops[oc->n++] = (xt_memop_t){st->tenant, st->user, st->content};
    st->tenant = st->user = st->content = NULL;
    return HX_OK;
}

static int top_member(hx_jr_t *r, const char *key, void *ctx)
{
    ops_ctx_t *oc = ctx;
    if (strcmp(key, "ops"))
        return skip_value(r);
    if (oc->seen_ops++)
        return HX_EINVAL;
    if (hx_jr_peek(r) != '[')
        return skip_value(r);
    r->pos++;
    if (hx_jr_eat(r, ']'))
        return HX_OK;
    do {
        mstate_t st = {.best = -1};
        int rc = hx_jr_peek(r) == '{' ? each_member(r, op_member, &st) : skip_value(r);
        if (!rc && st.content && st.tenant && !st.del)
            rc = keep(oc, &st);
        mstate_free(&st);
        if (rc)
            return rc;
    } while (hx_jr_eat(r, ','));
    return hx_jr_eat(r, ']') ? HX_OK : HX_EINVAL;
}

void xt_memops_free(xt_memop_t *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ops[i].tenant);
        free(ops[i].user);
        free(ops[i].content);
    }
    free(ops);
}

/* All of text as one JSON value, fn called for the members of an object
 * (anything else is checked and has none): HX_EINVAL when it is not. */
static int read_text(const char *text, size_t len, member_fn fn, void *ctx)
{
    hx_jr_t r;
    hx_jr_init(&r, text, len);
    int rc = hx_jr_peek(&r) == '{' ? each_member(&r, fn, ctx) : skip_value(&r);
    hx_jr_ws(&r);
    if (!rc && r.pos != len)
        rc = HX_EINVAL;
    hx_jr_free(&r);
    return rc == HX_ENOMEM ? HX_ENOMEM : rc ? HX_EINVAL : HX_OK;
}

int xt_memory_text(const char *text, size_t len, xt_memop_t **out, size_t *n)
{
    ops_ctx_t oc = {0};
    int rc = read_text(text, len, top_member, &oc);
    if (rc) {
        xt_memops_free(oc.ops, oc.n);
        *out = NULL;
        *n = 0;
        return rc;
    }
    *out = oc.ops;
    *n = oc.n;
    return HX_OK;
}

/* ---- conversation messages ---- */

typedef struct {
    xt_msg_t *m;
    unsigned seen;
} msg_ctx_t;

static int msg_member(hx_jr_t *r, const char *key, void *ctx)
{
    msg_ctx_t *mc = ctx;
    static const char *const keys[] = {"content", "role", "user_id", "created_at"};
    int i = 0;
    while (i < 4 && strcmp(key, keys[i]))
        i++;
    if (i == 4)
        return skip_value(r);
    if (mc->seen & 1u << i)
        return HX_EINVAL; /* jansson's duplicate check decides */
    mc->seen |= 1u << i;
    if (i == 3) {
        char c = hx_jr_peek(r);
        if (c != '-' && (c < '0' || c > '9'))
            return skip_value(r);
        long long v;
        int is_int;
        if (int_value(r, &v, &is_int))
            return HX_EINVAL;
        mc->m->created_at = is_int ? v : 0;
        return HX_OK;
    }
    char **dst = i == 0 ? &mc->m->content : i == 1 ? &mc->m->role : &mc->m->user;
    return hx_jr_peek(r) == '"' ? take_str(r, dst) : skip_value(r);
}

void xt_msg_free(xt_msg_t *m)
{
    free(m->content);
    free(m->role);
    free(m->user);
    memset(m, 0, sizeof *m);
}

int xt_message_text(const char *text, size_t len, xt_msg_t *m)
{
    memset(m, 0, sizeof *m);
    msg_ctx_t mc = {m, 0};
    int rc = read_text(text, len, msg_member, &mc);
    if (rc)
        xt_msg_free(m);
    return rc;
}
