/* What every graph op must satisfy before any backend sees it (the limits of
 * hx_graph.h), and the ids and fulltext terms both backends share. The
 * character sets are Cypher-safe on purpose: relationship types and labels
 * cannot be query parameters in Neo4j, so they are spliced into statements
 * and must never need quoting. */
#include "graph/backend.h"
#include "graph/graph_int.h"
#include "helix/hx_hash.h"
#include "helix/hx_id.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void hx_graph_normalize_name(const char *name, char *out, size_t len)
{
    size_t o = 0;
    int space = 0;
    if (!len)
        return;
    for (const unsigned char *p = (const unsigned char *)(name ? name : ""); *p && o + 1 < len; p++) {
        unsigned char c = *p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < len)
            out[o++] = ' ';
        space = 0;
        out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[o] = 0;
}

static void hex16(uint64_t h, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, h >>= 4)
        out[i] = d[h & 15];
    out[16] = 0;
}

void hx_graph_entity_id(const char *tenant, const char *type, const char *name, char *out)
{
    /* every extracted entity computes this: no printf */
    char buf[HX_ENV_TENANT_MAX + HX_GRAPH_TYPE_MAX + HX_GRAPH_NAME_MAX + 8];
    const char *parts[2] = {tenant ? tenant : "", type ? type : ""};
    size_t n = 0;
    for (int i = 0; i < 2; i++) { /* tenant \0 type \0, cut as snprintf would */
        size_t k = strlen(parts[i]);
        if (k > sizeof buf - 1 - n)
            k = sizeof buf - 1 - n;
        memcpy(buf + n, parts[i], k);
        n += k;
        if (n < sizeof buf - 1)
            buf[n++] = 0;
    }
    hx_graph_normalize_name(name, buf + n, sizeof buf - n);
    n += strlen(buf + n);
    hex16(hx_hash64(buf, n), out);
}

void hx_graph_rel_id(const char *tenant, const char *from, const char *type, const char *to, char *out)
{
    /* every relationship write computes this: no printf */
    char buf[HX_ENV_TENANT_MAX + 2 * HX_GRAPH_ID_MAX + HX_GRAPH_TYPE_MAX + 8];
    const char *parts[4] = {tenant, from, type, to};
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        size_t k = strlen(parts[i]);
        if (n + k + 1 > sizeof buf)
            k = sizeof buf - n - 1;
        memcpy(buf + n, parts[i], k);
        n += k;
        if (i < 3 && n < sizeof buf)
            buf[n++] = 0;
    }
    hex16(hx_hash64(buf, n), out);
}

size_t hx_graph_terms(const char *text, hx_graph_term_fn fn, void *ctx)
{
    char term[HX_GRAPH_TERM_MAX];
    size_t n = 0, k = 0;
    for (const unsigned char *p = (const unsigned char *)(text ? text : "");; p++) {
        unsigned char c = *p;
        int word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80 || (c >= 'A' && c <= 'Z');
        if (word) {
            if (k < sizeof term)
                term[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            continue;
        }
        if (k) {
            if (fn)
                fn(ctx, term, k);
            n++;
            k = 0;
        }
        if (!c)
            break;
    }
    return n;
}

/* Character classes as bitmaps over ASCII (bit c of word c / 64): every op of
 * every graph event is validated on the producing and the consuming side,
 * and a per-character chain of range compares plus a strlen was a tenth of
 * an event's decode. */
typedef struct {
    uint64_t w[2];
} charset_t;

static const charset_t id_chars = {{0x07ff600000000000ull, 0x07fffffe87ffffffull}};     /* [A-Za-z0-9._:@-] */
static const charset_t tenant_chars = {{0x03ff600000000000ull, 0x07fffffe87fffffeull}}; /* [A-Za-z0-9._-] */
static const charset_t rtype_chars = {{0x03ff000000000000ull, 0x0000000087fffffeull}};  /* [A-Z0-9_] */

/* 1 when s is 1..max characters of cs. */
static int all_in(const char *s, size_t max, const charset_t *cs)
{
    if (!s || !s[0])
        return 0;
    size_t n = 0;
    for (unsigned char c; (c = (unsigned char)s[n]); n++)
        if (n >= max || c >= 128 || !((cs->w[c >> 6] >> (c & 63)) & 1))
            return 0;
    return 1;
}

int hx_graph_id_valid(const char *s)
{
    return all_in(s, HX_GRAPH_ID_MAX, &id_chars);
}

int hx_graph_tenant_valid(const char *s)
{
    return all_in(s, HX_ENV_TENANT_MAX, &tenant_chars);
}

int hx_graph_type_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || n > HX_GRAPH_TYPE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

int hx_graph_rel_type_valid(const char *s)
{
    return s && s[0] >= 'A' && s[0] <= 'Z' && all_in(s, HX_GRAPH_TYPE_MAX, &rtype_chars);
}

int hx_graph_label_valid(const char *s)
{
    return s && (!strcmp(s, HX_GRAPH_LABEL_ENTITY) || !strcmp(s, HX_GRAPH_LABEL_CONVERSATION) ||
                 !strcmp(s, HX_GRAPH_LABEL_USER));
}

static int prop_key_valid(const char *k)
{
    size_t n = strlen(k);
    if (!n || n > 64 || !((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z') || k[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= '0' && k[i] <= '9') ||
              k[i] == '_'))
            return 0;
    return 1;
}

static int kind_of(const json_t *v)
{
    if (json_is_string(v))
        return 1;
    if (json_is_number(v))
        return 2;
    if (json_is_boolean(v))
        return 3;
    return 0;
}

/* At least the length of v's compact JSON: a string escapes to at most 6
 * bytes per byte, a number to at most 40, and the loop below has checked
 * the shape (primitives or arrays of them). */
static size_t text_bound(const json_t *v)
{
    if (json_is_string(v))
        return 6 * json_string_length(v) + 2;
    if (json_is_array(v)) {
        size_t n = 2, i;
        json_t *x;
        json_array_foreach(v, i, x)
            n += text_bound(x) + 1;
        return n;
    }
    return 40;
}

int hx_graph_props_validate(const json_t *props, const char *what, hx_err_t *err)
{
    if (!props)
        return HX_OK;
    if (!json_is_object(props))
        return hx_err_set(err, HX_EINVAL, "%sproperties must be an object", what);
    if (json_object_size(props) > HX_GRAPH_PROPS_MAX)
        return hx_err_set(err, HX_EINVAL, "%sproperties has %zu keys; at most %d are allowed", what,
                          json_object_size(props), HX_GRAPH_PROPS_MAX);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)props, k, v)
    {
        if (!prop_key_valid(k))
            return hx_err_set(err, HX_EINVAL,
                              "%sproperties key '%.64s' must be 1-64 characters of [A-Za-z0-9_], not starting with a digit",
                              what, k);
        if (json_is_null(v) || kind_of(v))
            continue;
        if (json_is_object(v))
            return hx_err_set(err, HX_EINVAL,
                              "%sproperties.%s is a map; values must be primitives or arrays of primitives (Neo4j "
                              "stores no maps)", what, k);
        size_t i;
        json_t *x;
        int kind = 0;
        json_array_foreach(v, i, x)
        {
            int kx = kind_of(x);
            if (!kx || (kind && kx != kind))
                return hx_err_set(err, HX_EINVAL,
                                  "%sproperties.%s must be an array of strings, of numbers or of booleans (one kind, "
                                  "no nesting)", what, k);
            kind = kx;
        }
    }
    /* Serializing to measure is only needed when a bound of the size can
     * exceed the limit (every graph event's ops pass here, twice). */
    size_t bound = 2;
    json_object_foreach((json_t *)props, k, v)
        bound += 6 * strlen(k) + 3 + text_bound(v) + 1;
    if (bound <= HX_GRAPH_PROPS_BYTES)
        return HX_OK;
    char *text = json_dumps(props, JSON_COMPACT);
    size_t n = text ? strlen(text) : 0;
    free(text);
    if (n > HX_GRAPH_PROPS_BYTES)
        return hx_err_set(err, HX_EINVAL, "%sproperties is %zu bytes of JSON; at most %d are allowed", what, n,
                          HX_GRAPH_PROPS_BYTES);
    return HX_OK;
}

static int text_check(const char *s, size_t max, int nonempty, const char *what, const char *field, hx_err_t *err)
{
    size_t n = strlen(s);
    if (nonempty && !n)
        return hx_err_set(err, HX_EINVAL, "%s%s must not be empty", what, field);
    if (n > max)
        return hx_err_set(err, HX_EINVAL, "%s%s is %zu bytes; at most %zu are allowed", what, field, n, max);
    if (!hx_utf8_valid(s, n))
        return hx_err_set(err, HX_EINVAL, "%s%s is not valid UTF-8", what, field);
    return HX_OK;
}

static int id_check(const char *id, const char *what, const char *field, hx_err_t *err)
{
    if (!id)
        return hx_err_set(err, HX_EINVAL, "%s%s is required", what, field);
    if (!hx_graph_id_valid(id))
        return hx_err_set(err, HX_EINVAL, "%s%s '%.140s' must be 1-%d characters of [A-Za-z0-9._:@-]", what, field,
                          id, HX_GRAPH_ID_MAX);
    return HX_OK;
}

static int op_check(const hx_graph_op_t *op, const char *what, hx_err_t *err);

int hx_graph_op_validate(const hx_graph_op_t *op, const char *prefix, hx_err_t *err)
{
    /* Every op of every graph event passes here: the message prefix is only
     * formatted for an op that fails (the check is pure, so it runs again). */
    if (!prefix || !prefix[0])
        return op_check(op, "", err);
    hx_err_t ignore;
    if (op_check(op, "", &ignore) == HX_OK)
        return HX_OK;
    char what[96];
    snprintf(what, sizeof what, "%s.", prefix);
    return op_check(op, what, err);
}

static int op_check(const hx_graph_op_t *op, const char *what, hx_err_t *err)
{
    int rc;
    if (!hx_graph_tenant_valid(op->tenant))
        return hx_err_set(err, HX_EINVAL, "%stenant must be 1-%d characters of [A-Za-z0-9._-]", what,
                          HX_ENV_TENANT_MAX);
    switch (op->kind) {
    case HX_GRAPH_OP_ENTITY_UPSERT:
        if ((rc = id_check(op->id, what, "id", err)))
            return rc;
        if (op->label && !hx_graph_label_valid(op->label))
            return hx_err_set(err, HX_EINVAL, "%slabel must be one of Entity, Conversation, User", what);
        if (op->type && !hx_graph_type_valid(op->type))
            return hx_err_set(err, HX_EINVAL, "%stype '%.64s' must be 1-%d characters of [a-z0-9_]", what, op->type,
                              HX_GRAPH_TYPE_MAX);
        if ((op->name && (rc = text_check(op->name, HX_GRAPH_NAME_MAX, 1, what, "name", err))) ||
            (op->description && (rc = text_check(op->description, HX_GRAPH_DESC_MAX, 0, what, "description", err))))
            return rc;
        if (op->n_aliases > HX_GRAPH_ALIASES_MAX)
            return hx_err_set(err, HX_EINVAL, "%saliases has %zu entries; at most %d are allowed", what, op->n_aliases,
                              HX_GRAPH_ALIASES_MAX);
        for (size_t i = 0; i < op->n_aliases; i++)
            if (!op->aliases[i] || (rc = text_check(op->aliases[i], HX_GRAPH_NAME_MAX, 1, what, "aliases[]", err)))
                return op->aliases[i] ? rc : hx_err_set(err, HX_EINVAL, "%saliases[%zu] is missing", what, i);
        if (op->mentions < 0 || op->mentions > HX_GRAPH_MENTIONS_MAX)
            return hx_err_set(err, HX_EINVAL, "%smentions must be an integer from 0 to %lld", what,
                              (long long)HX_GRAPH_MENTIONS_MAX);
        if (!(op->confidence >= 0 && op->confidence <= 1))
            return hx_err_set(err, HX_EINVAL, "%sconfidence must be a number from 0 to 1", what);
        return hx_graph_props_validate(op->properties, what, err);
    case HX_GRAPH_OP_ENTITY_DELETE: return id_check(op->id, what, "id", err);
    case HX_GRAPH_OP_ENTITY_MERGE:
        if ((rc = id_check(op->id, what, "id", err)))
            return rc;
        return id_check(op->into, what, "into", err);
    case HX_GRAPH_OP_REL_UPSERT:
    case HX_GRAPH_OP_REL_DELETE:
        if ((rc = id_check(op->from, what, "from", err)) || (rc = id_check(op->to, what, "to", err)))
            return rc;
        if (!hx_graph_rel_type_valid(op->rel_type))
            return hx_err_set(err, HX_EINVAL,
                              "%stype '%.64s' must be 1-%d characters of [A-Z0-9_] starting with a letter (e.g. "
                              "WORKS_WITH)", what, op->rel_type ? op->rel_type : "", HX_GRAPH_TYPE_MAX);
        if (op->kind == HX_GRAPH_OP_REL_DELETE)
            return HX_OK;
        if (!(op->strength >= 0 && op->strength <= HX_GRAPH_STRENGTH_MAX))
            return hx_err_set(err, HX_EINVAL, "%sstrength must be a number from 0 to %g", what, HX_GRAPH_STRENGTH_MAX);
        return hx_graph_props_validate(op->properties, what, err);
    }
    return hx_err_set(err, HX_EINVAL, "%skind %d is not a graph op", what, (int)op->kind);
}
