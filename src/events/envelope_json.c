/* The envelope's JSON form (HTTP API). */
#include "helix/hx_envelope.h"

#include <stdlib.h>
#include <string.h>

static int take_str(const json_t *j, const char *field, char **dst, hx_err_t *err)
{
    json_t *v = json_object_get(j, field);
    if (!v || json_is_null(v))
        return HX_OK;
    if (!json_is_string(v))
        return hx_err_set(err, HX_EINVAL, "field '%s' must be a string", field);
    free(*dst);
    *dst = strdup(json_string_value(v));
    return *dst ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory");
}

int hx_envelope_from_json(const json_t *j, hx_envelope_t *e, hx_err_t *err)
{
    static const char *known[] = {"v", "id", "type", "source", "tenant", "key", "ts", "seq", "headers", "data", NULL};
    int rc = HX_OK;
    hx_envelope_init(e);
    if (!json_is_object(j))
        return hx_err_set(err, HX_EINVAL, "an envelope must be a JSON object");
    const char *name;
    json_t *val;
    json_object_foreach((json_t *)j, name, val)
    {
        int ok = 0;
        for (int i = 0; known[i]; i++)
            ok |= strcmp(name, known[i]) == 0;
        if (!ok)
            return hx_err_set(err, HX_EINVAL,
                              "unknown field '%s' (an envelope has v, id, type, source, tenant, key, ts, seq, headers, data)",
                              name);
    }
    json_t *v = json_object_get(j, "v");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) != HX_ENVELOPE_VERSION)
            return hx_err_set(err, HX_EINVAL, "field 'v' must be %d", HX_ENVELOPE_VERSION);
    }
    if ((rc = take_str(j, "id", &e->id, err)) || (rc = take_str(j, "type", &e->type, err)) ||
        (rc = take_str(j, "source", &e->source, err)) || (rc = take_str(j, "tenant", &e->tenant, err)) ||
        (rc = take_str(j, "key", &e->key, err)))
        goto fail;
    v = json_object_get(j, "ts");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            rc = hx_err_set(err, HX_EINVAL, "field 'ts' must be a non-negative integer (ms since epoch)");
            goto fail;
        }
        e->ts = json_integer_value(v);
    }
    v = json_object_get(j, "seq");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            rc = hx_err_set(err, HX_EINVAL, "field 'seq' must be a non-negative integer");
            goto fail;
        }
        e->seq = (uint64_t)json_integer_value(v);
    }
    v = json_object_get(j, "headers");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v)) {
            rc = hx_err_set(err, HX_EINVAL, "field 'headers' must be an object of string values");
            goto fail;
        }
        json_object_foreach(v, name, val)
        {
            if (!json_is_string(val)) {
                rc = hx_err_set(err, HX_EINVAL, "field 'headers.%s' must be a string", name);
                goto fail;
            }
            if ((rc = hx_envelope_set_header(e, name, json_string_value(val), err)))
                goto fail;
        }
    }
    v = json_object_get(j, "data");
    if (v)
        e->data = json_incref(v);
    return HX_OK;
fail:
    hx_envelope_free(e);
    return rc;
}

int hx_envelope_from_json_text(const char *text, size_t len, hx_envelope_t *e, hx_err_t *err)
{
    json_error_t je;
    hx_envelope_init(e);
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return hx_err_set(err, HX_EINVAL, "malformed JSON at line %d column %d: %s", je.line, je.column, je.text);
    int rc = hx_envelope_from_json(j, e, err);
    json_decref(j);
    return rc;
}

int hx_envelope_to_json(const hx_envelope_t *e, json_t **out, hx_err_t *err)
{
    json_t *j = json_object(), *h = json_object();
    if (!j || !h)
        goto oom;
    for (size_t i = 0; i < e->n_headers; i++)
        if (json_object_set_new(h, e->headers[i].name, json_string(e->headers[i].value)))
            goto oom;
    if (json_object_set_new(j, "v", json_integer(e->v)) ||
        json_object_set_new(j, "id", json_string(e->id ? e->id : "")) ||
        json_object_set_new(j, "type", json_string(e->type ? e->type : "")) ||
        json_object_set_new(j, "source", json_string(e->source ? e->source : "")) ||
        json_object_set_new(j, "tenant", json_string(e->tenant ? e->tenant : "")) ||
        json_object_set_new(j, "key", json_string(e->key ? e->key : "")) ||
        json_object_set_new(j, "ts", json_integer(e->ts)) ||
        json_object_set_new(j, "seq", json_integer((json_int_t)e->seq)) || json_object_set(j, "headers", h) ||
        json_object_set(j, "data", e->data ? e->data : json_null()))
        goto oom;
    json_decref(h);
    *out = j;
    return HX_OK;
oom:
    json_decref(j);
    json_decref(h);
    return hx_err_set(err, HX_ENOMEM, "cannot render envelope as JSON (out of memory or invalid UTF-8)");
}

int hx_envelope_to_json_text(const hx_envelope_t *e, hx_buf_t *out, hx_err_t *err)
{
    json_t *j;
    int rc = hx_envelope_to_json(e, &j, err);
    if (rc)
        return rc;
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        return hx_err_set(err, HX_ENOMEM, "out of memory rendering an envelope");
    rc = hx_buf_puts(out, s);
    free(s);
    return rc ? hx_err_set(err, rc, "out of memory") : HX_OK;
}
