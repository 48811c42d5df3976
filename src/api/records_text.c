/* The body of POST /v1/topics/{t}/records read from its text: the envelope
 * fields straight into the envelope and `data` copied into the frame in the
 * form jansson's compact dump gives it. The tree path (parse the body into a
 * jansson tree, dump `data` back to text) was a fifth of a records request's
 * CPU. The tree path stays the reference: whatever this reader is not sure
 * of (any syntax error, duplicate or escaped keys, fields of the wrong type,
 * integers jansson could not hold, types with a data schema, anything
 * hx_api_records_request would refuse) is handed back to it, so a body is
 * answered the same way, errors included, and the frames are byte for byte
 * the ones the tree path writes (test_records_text checks both). */
#include "api/api.h"
#include "helix/hx_envelope.h"
#include "helix/hx_json.h"
#include "helix/hx_json_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOT_MINE 1 /* let the tree path answer */
#define KEYS_MAX 32

/* The next string into out as jansson would write it. */
static int put_string(hx_jr_t *r, hx_buf_t *out)
{
    hx_jr_ws(r);
    size_t start = r->pos;
    const char *s;
    size_t n;
    if (hx_jr_string(r, &s, &n))
        return NOT_MINE;
    if (!memchr(r->p + start, '\\', r->pos - start)) /* checked by the reader: the text is what jansson writes */
        return hx_buf_append(out, r->p + start, r->pos - start);
    return hx_buf_put_json_str(out, s, n);
}

static int put_number(hx_jr_t *r, hx_buf_t *out)
{
    hx_jr_ws(r);
    size_t start = r->pos;
    double v;
    int is_int;
    if (hx_jr_number(r, &v, &is_int))
        return NOT_MINE; /* bad syntax, or a real out of range: jansson's error */
    const char *t = r->p + start;
    size_t n = r->pos - start;
    if (!is_int) {
        int rc = hx_json_write_real(out, v);
        return rc == HX_OK || rc == HX_ENOMEM ? rc : NOT_MINE;
    }
    if (n - (t[0] == '-') > 18)
        return NOT_MINE; /* maybe past int64: jansson says so */
    if (n == 2 && t[0] == '-' && t[1] == '0')
        return hx_buf_putc(out, '0');
    return hx_buf_append(out, t, n);
}

/* One value into out, compact, as jansson dumps it. */
static int put_value(hx_jr_t *r, hx_buf_t *out, int depth)
{
    if (depth > HX_JR_DEPTH_MAX)
        return NOT_MINE;
    int rc;
    switch (hx_jr_peek(r)) {
    case '"': return put_string(r, out);
    case '{': {
        struct {
            const char *p;
            size_t n;
        } keys[KEYS_MAX];
        size_t nk = 0;
        int first = 1;
        const char *k;
        size_t kn;
        if ((rc = hx_buf_putc(out, '{')))
            return rc;
        while ((rc = hx_jr_member_next(r, &first, &k, &kn)) > 0) {
            /* keys with escapes are not ours: their duplicates need unescaping to be seen */
            if (k == r->scratch || nk == KEYS_MAX)
                return NOT_MINE;
            for (size_t i = 0; i < nk; i++)
                if (keys[i].n == kn && !memcmp(keys[i].p, k, kn))
                    return NOT_MINE; /* jansson keeps the last one */
            keys[nk].p = k, keys[nk].n = kn;
            /* k is in place: with its quotes around it, the text is what jansson writes */
            if ((nk++ && (rc = hx_buf_putc(out, ','))) || (rc = hx_buf_append(out, k - 1, kn + 2)) ||
                (rc = hx_buf_putc(out, ':')) || (rc = put_value(r, out, depth + 1)))
                return rc;
        }
        return rc ? NOT_MINE : hx_buf_putc(out, '}');
    }
    case '[':
        r->pos++;
        if ((rc = hx_buf_putc(out, '[')))
            return rc;
        if (!hx_jr_eat(r, ']')) {
            int first = 1;
            do {
                if ((!first && (rc = hx_buf_putc(out, ','))) || (rc = put_value(r, out, depth + 1)))
                    return rc;
                first = 0;
            } while (hx_jr_eat(r, ','));
            if (!hx_jr_eat(r, ']'))
                return NOT_MINE;
        }
        return hx_buf_putc(out, ']');
    case 't':
    case 'f': {
        int b;
        return hx_jr_bool(r, &b) ? NOT_MINE : hx_buf_puts(out, b ? "true" : "false");
    }
    case 'n': return hx_jr_null(r) ? NOT_MINE : hx_buf_puts(out, "null");
    default: return put_number(r, out);
    }
}

/* A non-negative integer of at most 18 digits, or null (*v untouched). */
static int read_count(hx_jr_t *r, int64_t *v)
{
    if (hx_jr_peek(r) == 'n')
        return hx_jr_null(r) ? NOT_MINE : HX_OK;
    size_t start = r->pos, n = 0;
    int64_t x = 0;
    while (start + n < r->n && r->p[start + n] >= '0' && r->p[start + n] <= '9' && n < 19)
        n++;
    if (n == 0 || n > 18 || (n > 1 && r->p[start] == '0'))
        return NOT_MINE;
    for (size_t i = 0; i < n; i++)
        x = x * 10 + (r->p[start + i] - '0');
    if (start + n < r->n && strchr(".eE-+", r->p[start + n]))
        return NOT_MINE; /* a real: the tree path refuses it with its message */
    r->pos = start + n;
    *v = x;
    return HX_OK;
}

static int read_str(hx_jr_t *r, char **dst)
{
    if (hx_jr_peek(r) == 'n')
        return hx_jr_null(r) ? NOT_MINE : HX_OK;
    const char *s;
    size_t n;
    if (hx_jr_peek(r) != '"' || hx_jr_string(r, &s, &n))
        return NOT_MINE;
    return (*dst = strdup(s)) ? HX_OK : HX_ENOMEM;
}

static int read_headers(hx_jr_t *r, hx_envelope_t *e)
{
    if (hx_jr_peek(r) == 'n')
        return hx_jr_null(r) ? NOT_MINE : HX_OK;
    int first = 1, more;
    const char *k;
    size_t kn;
    while ((more = hx_jr_member_next(r, &first, &k, &kn)) > 0) {
        const char *s;
        size_t n;
        if (k == r->scratch) /* a name with escapes */
            return NOT_MINE;
        char *name = strndup(k, kn);
        if (!name)
            return HX_ENOMEM;
        int rc = hx_envelope_header(e, name) || hx_jr_peek(r) != '"' || hx_jr_string(r, &s, &n) ? NOT_MINE : HX_OK;
        hx_err_t err = {0};
        if (!rc && hx_envelope_set_header(e, name, s, &err))
            rc = NOT_MINE;
        free(name);
        if (rc)
            return rc;
    }
    return more ? NOT_MINE : HX_OK;
}

enum { F_V, F_ID, F_TYPE, F_SOURCE, F_TENANT, F_KEY, F_TS, F_SEQ, F_HEADERS, F_DATA, F_N };
static const char *const fields[F_N] = {"v", "id", "type", "source", "tenant", "key", "ts", "seq", "headers", "data"};

/* One envelope object: its fields into e, its data (an object) into data. */
static int read_envelope(hx_jr_t *r, hx_envelope_t *e, hx_buf_t *data)
{
    unsigned seen = 0;
    int rc = HX_OK, first = 1, more;
    const char *k;
    size_t kn;
    while ((more = hx_jr_member_next(r, &first, &k, &kn)) > 0) {
        int f = 0;
        while (f < F_N && (strncmp(k, fields[f], kn) || fields[f][kn]))
            f++;
        if (f == F_N || (seen & (1u << f)))
            return NOT_MINE;
        seen |= 1u << f;
        int64_t n = -1;
        switch (f) {
        case F_V:
            rc = read_count(r, &n);
            rc = rc ? rc : n >= 0 && n != HX_ENVELOPE_VERSION ? NOT_MINE : HX_OK;
            break;
        case F_ID: rc = read_str(r, &e->id); break;
        case F_TYPE: rc = read_str(r, &e->type); break;
        case F_SOURCE: rc = read_str(r, &e->source); break;
        case F_TENANT: rc = read_str(r, &e->tenant); break;
        case F_KEY: rc = read_str(r, &e->key); break;
        case F_TS: rc = read_count(r, &e->ts); break;
        case F_SEQ:
            rc = read_count(r, &n);
            if (!rc && n >= 0)
                e->seq = (uint64_t)n;
            break;
        case F_HEADERS: rc = read_headers(r, e); break;
        case F_DATA: rc = hx_jr_peek(r) == '{' ? put_value(r, data, 0) : NOT_MINE; break;
        }
        if (rc)
            return rc;
    }
    /* {} too: it has no type, and the tree path names what is missing */
    if (more || !(seen & (1u << F_DATA)) || !e->type || hx_event_has_schema(e->type))
        return NOT_MINE;
    return HX_OK;
}

static int grow(hx_api_records_t *out, size_t *cap)
{
    size_t nc = *cap ? *cap * 2 : 4;
    hx_envelope_t *e = realloc(out->envs, nc * sizeof *e);
    if (e)
        out->envs = e;
    hx_buf_t *f = e ? realloc(out->frames, nc * sizeof *f) : NULL;
    if (f)
        out->frames = f;
    hx_msg_t *m = f ? realloc(out->msgs, nc * sizeof *m) : NULL;
    if (!m)
        return HX_ENOMEM;
    out->msgs = m;
    *cap = nc;
    return HX_OK;
}

/* The next envelope of the body into out (filled, checked and encoded as
 * hx_api_records_request does). */
static int one(hx_jr_t *r, const char *topic, int32_t partition, const char *tenant, const char *node, int64_t now_ms,
               int64_t limit, hx_api_records_t *out, size_t *cap, hx_buf_t *data)
{
    if (out->built == *cap && grow(out, cap))
        return HX_ENOMEM;
    size_t i = out->built++;
    hx_envelope_t *e = &out->envs[i];
    hx_buf_t *frame = &out->frames[i];
    hx_envelope_init(e);
    memset(frame, 0, sizeof *frame);
    hx_buf_reset(data);
    int rc = read_envelope(r, e, data);
    if (rc)
        return rc;
    hx_err_t err = {0};
    if (hx_envelope_fill_defaults(e, node, now_ms, &err))
        return NOT_MINE;
    if (!strcmp(e->tenant, "default") && strcmp(tenant, "default")) {
        free(e->tenant);
        if (!(e->tenant = strdup(tenant)))
            return HX_ENOMEM;
    }
    if (strcmp(e->tenant, tenant) || hx_envelope_encode_data(e, (const char *)data->data, data->len, frame, &err) ||
        (int64_t)(frame->len + strlen(e->key)) > limit)
        return NOT_MINE;
    out->msgs[i] = (hx_msg_t){.topic = topic, .partition = partition, .timestamp_ms = e->ts, .key = e->key,
                              .key_len = strlen(e->key), .value = frame->data, .value_len = frame->len};
    out->n = out->built;
    return HX_OK;
}

int hx_api_records_request_text(const char *body, size_t len, const char *topic, int32_t partition,
                                const char *tenant, const char *node, int64_t now_ms, int64_t limit,
                                hx_api_records_t *out, hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    hx_jr_t r;
    hx_jr_init(&r, body, len);
    hx_buf_t data = HX_BUF_INIT;
    size_t cap = 0;
    int rc = NOT_MINE;
    if (hx_jr_peek(&r) != '{')
        goto done;
    /* {"records":[...]} when that is the first key; else one envelope */
    hx_jr_t probe = r;
    probe.scratch = NULL, probe.scratch_cap = 0;
    const char *k;
    size_t kn;
    probe.pos++;
    int wrapped = hx_jr_string(&probe, &k, &kn) == HX_OK && kn == 7 && !memcmp(k, "records", 7) &&
                  !memchr(probe.p + r.pos, '\\', probe.pos - r.pos) && hx_jr_eat(&probe, ':');
    hx_jr_free(&probe);
    if (wrapped) {
        r.pos = probe.pos;
        if (!hx_jr_eat(&r, '[') || hx_jr_eat(&r, ']'))
            goto done;
        do {
            if ((rc = one(&r, topic, partition, tenant, node, now_ms, limit, out, &cap, &data)))
                goto done;
        } while (hx_jr_eat(&r, ','));
        rc = hx_jr_eat(&r, ']') && hx_jr_eat(&r, '}') ? HX_OK : NOT_MINE;
    } else {
        rc = one(&r, topic, partition, tenant, node, now_ms, limit, out, &cap, &data);
    }
    if (!rc) {
        hx_jr_ws(&r);
        if (r.pos != len)
            rc = NOT_MINE;
    }
done:
    hx_jr_free(&r);
    hx_buf_free(&data);
    if (rc) {
        out->n = 0;
        hx_api_records_free(out);
    }
    if (rc == HX_ENOMEM)
        return hx_err_set(err, HX_ENOMEM, "out of memory reading the records");
    return rc;
}
