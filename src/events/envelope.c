/* Envelope lifetime, validation and defaults. */
#include "helix/hx_envelope.h"
#include "helix/hx_id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hx_envelope_init(hx_envelope_t *e)
{
    memset(e, 0, sizeof *e);
    e->v = HX_ENVELOPE_VERSION;
}

void hx_envelope_free(hx_envelope_t *e)
{
    if (!e)
        return;
    free(e->id);
    free(e->type);
    free(e->source);
    free(e->tenant);
    free(e->key);
    for (size_t i = 0; i < e->n_headers; i++) {
        free(e->headers[i].name);
        free(e->headers[i].value);
    }
    free(e->headers);
    json_decref(e->data);
    hx_envelope_init(e);
}

static int dup_str(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return HX_OK;
    *dst = strdup(src);
    return *dst ? HX_OK : HX_ENOMEM;
}

int hx_envelope_copy(hx_envelope_t *dst, const hx_envelope_t *src, hx_err_t *err)
{
    hx_envelope_init(dst);
    dst->v = src->v;
    dst->ts = src->ts;
    dst->seq = src->seq;
    if (dup_str(&dst->id, src->id) || dup_str(&dst->type, src->type) || dup_str(&dst->source, src->source) ||
        dup_str(&dst->tenant, src->tenant) || dup_str(&dst->key, src->key))
        goto oom;
    for (size_t i = 0; i < src->n_headers; i++)
        if (hx_envelope_set_header(dst, src->headers[i].name, src->headers[i].value, err))
            goto oom;
    if (src->data && !(dst->data = json_deep_copy(src->data)))
        goto oom;
    return HX_OK;
oom:
    hx_envelope_free(dst);
    return hx_err_set(err, HX_ENOMEM, "out of memory copying an envelope");
}

static int str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

int hx_envelope_equal(const hx_envelope_t *a, const hx_envelope_t *b)
{
    if (a->v != b->v || a->ts != b->ts || a->seq != b->seq || a->n_headers != b->n_headers)
        return 0;
    if (!str_eq(a->id, b->id) || !str_eq(a->type, b->type) || !str_eq(a->source, b->source) ||
        !str_eq(a->tenant, b->tenant) || !str_eq(a->key, b->key))
        return 0;
    for (size_t i = 0; i < a->n_headers; i++)
        if (!str_eq(a->headers[i].name, b->headers[i].name) || !str_eq(a->headers[i].value, b->headers[i].value))
            return 0;
    if (!a->data || !b->data)
        return a->data == b->data;
    return json_equal(a->data, b->data);
}

int hx_envelope_set_header(hx_envelope_t *e, const char *name, const char *value, hx_err_t *err)
{
    for (size_t i = 0; i < e->n_headers; i++)
        if (strcmp(e->headers[i].name, name) == 0) {
            char *v = strdup(value);
            if (!v)
                return hx_err_set(err, HX_ENOMEM, "out of memory setting header '%s'", name);
            free(e->headers[i].value);
            e->headers[i].value = v;
            return HX_OK;
        }
    if (e->n_headers >= HX_ENV_HEADERS_MAX)
        return hx_err_set(err, HX_EINVAL, "field 'headers' holds more than %d headers", HX_ENV_HEADERS_MAX);
    hx_env_header_t *h = realloc(e->headers, (e->n_headers + 1) * sizeof *h);
    if (!h)
        return hx_err_set(err, HX_ENOMEM, "out of memory adding header '%s'", name);
    e->headers = h;
    h[e->n_headers].name = strdup(name);
    h[e->n_headers].value = strdup(value);
    if (!h[e->n_headers].name || !h[e->n_headers].value) {
        free(h[e->n_headers].name);
        free(h[e->n_headers].value);
        return hx_err_set(err, HX_ENOMEM, "out of memory adding header '%s'", name);
    }
    e->n_headers++;
    return HX_OK;
}

const char *hx_envelope_header(const hx_envelope_t *e, const char *name)
{
    for (size_t i = 0; i < e->n_headers; i++)
        if (strcmp(e->headers[i].name, name) == 0)
            return e->headers[i].value;
    return NULL;
}

static int check_len(const char *field, const char *s, size_t max, int required, hx_err_t *err)
{
    if (!s || !*s) {
        if (required)
            return hx_err_set(err, HX_EINVAL, "field '%s' is required", field);
        return HX_OK;
    }
    if (strlen(s) > max)
        return hx_err_set(err, HX_EINVAL, "field '%s' is %zu bytes; the limit is %zu", field, strlen(s), max);
    return HX_OK;
}

int hx_envelope_validate(const hx_envelope_t *e, hx_err_t *err)
{
    if (e->v != HX_ENVELOPE_VERSION)
        return hx_err_set(err, HX_EINVAL, "field 'v' must be %d, got %d", HX_ENVELOPE_VERSION, e->v);
    int rc;
    if ((rc = check_len("id", e->id, HX_ENV_ID_MAX, 1, err)) || (rc = check_len("type", e->type, HX_ENV_TYPE_MAX, 1, err)) ||
        (rc = check_len("source", e->source, HX_ENV_SOURCE_MAX, 0, err)) ||
        (rc = check_len("tenant", e->tenant, HX_ENV_TENANT_MAX, 1, err)) ||
        (rc = check_len("key", e->key, HX_ENV_KEY_MAX, 0, err)))
        return rc;
    for (const char *p = e->type; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
            return hx_err_set(err, HX_EINVAL, "field 'type' must use only a-z, 0-9, '_' and '.', got '%s'", e->type);
    for (const char *p = e->tenant; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '.' || *p == '-'))
            return hx_err_set(err, HX_EINVAL, "field 'tenant' must use only A-Z, a-z, 0-9, '_', '.' and '-'");
    if (e->ts < 0)
        return hx_err_set(err, HX_EINVAL, "field 'ts' must be a non-negative integer (ms since epoch)");
    if (e->n_headers > HX_ENV_HEADERS_MAX)
        return hx_err_set(err, HX_EINVAL, "field 'headers' holds more than %d headers", HX_ENV_HEADERS_MAX);
    for (size_t i = 0; i < e->n_headers; i++) {
        const char *n = e->headers[i].name, *v = e->headers[i].value;
        if (!n || !*n || strlen(n) > HX_ENV_HEADER_NAME_MAX)
            return hx_err_set(err, HX_EINVAL, "field 'headers': names must be 1..%d bytes", HX_ENV_HEADER_NAME_MAX);
        if (!v || strlen(v) > HX_ENV_HEADER_VALUE_MAX)
            return hx_err_set(err, HX_EINVAL, "field 'headers.%s': values must be at most %d bytes", n,
                              HX_ENV_HEADER_VALUE_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(e->headers[j].name, n) == 0)
                return hx_err_set(err, HX_EINVAL, "field 'headers': name '%s' appears twice", n);
    }
    if (!e->data)
        return hx_err_set(err, HX_EINVAL, "field 'data' is required");
    return HX_OK;
}

int hx_envelope_fill_defaults(hx_envelope_t *e, const char *source, int64_t now_ms, hx_err_t *err)
{
    if (!e->id || !*e->id) {
        unsigned char rnd[16];
        if (hx_id_random(rnd, sizeof rnd))
            return hx_err_set(err, HX_EIO, "cannot read random bytes for an event id");
        char hex[33];
        hx_hex_encode(rnd, sizeof rnd, hex);
        free(e->id);
        if (!(e->id = strdup(hex)))
            return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    if ((!e->source || !*e->source) && source) {
        free(e->source);
        if (!(e->source = strdup(source)))
            return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    if (!e->tenant || !*e->tenant) {
        free(e->tenant);
        if (!(e->tenant = strdup("default")))
            return hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    /* Absent optional strings become "", so readers never meet NULL. */
    if ((!e->key && !(e->key = strdup(""))) || (!e->source && !(e->source = strdup(""))))
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    if (e->ts == 0)
        e->ts = now_ms;
    if (!e->data && !(e->data = json_object()))
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    return HX_OK;
}
