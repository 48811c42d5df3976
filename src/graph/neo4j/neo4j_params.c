/* Graph properties <-> Neo4j properties. Neo4j stores primitives and
 * homogeneous lists of primitives only (no maps, no mixed lists, no nulls
 * in lists), so those are kept as `p.KEY`, and anything else as its JSON
 * text in `j.KEY`: every properties object round-trips exactly. */
#include "graph/neo4j/neo4j_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nj_put_opt_str(hx_buf_t *b, const char *s) { return s ? hx_ps_put_cstr(b, s) : hx_ps_put_null(b); }

static int put_key(hx_buf_t *b, char prefix, const char *key)
{
    char k[80];
    int n = snprintf(k, sizeof k, "%c.%s", prefix, key);
    return hx_ps_put_string(b, k, (size_t)(n < (int)sizeof k ? n : (int)sizeof k - 1));
}

static int put_prim(hx_buf_t *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return hx_ps_put_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return hx_ps_put_int(b, json_integer_value(v));
    case JSON_REAL: return hx_ps_put_float(b, json_real_value(v));
    case JSON_TRUE: return hx_ps_put_bool(b, 1);
    case JSON_FALSE: return hx_ps_put_bool(b, 0);
    default: return HX_EINVAL;
    }
}

static int kind_of(const json_t *v)
{
    json_type t = json_typeof(v);
    return t == JSON_TRUE ? JSON_FALSE : (int)t; /* true and false are one type */
}

/* A list Neo4j stores as it is: non-empty (an empty one comes back typeless),
 * all of one primitive type. */
static int storable_list(const json_t *a)
{
    size_t n = json_array_size(a);
    if (n == 0)
        return 0;
    int k = kind_of(json_array_get(a, 0));
    if (k != JSON_STRING && k != JSON_INTEGER && k != JSON_REAL && k != JSON_FALSE)
        return 0;
    for (size_t i = 1; i < n; i++)
        if (kind_of(json_array_get(a, i)) != k)
            return 0;
    return 1;
}

int nj_put_props(hx_buf_t *b, const json_t *props)
{
    size_t n = props && json_is_object(props) ? json_object_size(props) : 0;
    int rc = hx_ps_put_map_header(b, (uint32_t)(2 * n));
    const char *k;
    json_t *v;
    if (!n)
        return rc;
    json_object_foreach((json_t *)props, k, v) {
        int plain = json_is_string(v) || json_is_number(v) || json_is_boolean(v);
        int list = json_is_array(v) && storable_list(v);
        rc |= put_key(b, 'p', k);
        if (plain) {
            rc |= put_prim(b, v);
        } else if (list) {
            rc |= hx_ps_put_list_header(b, (uint32_t)json_array_size(v));
            for (size_t i = 0; i < json_array_size(v); i++)
                rc |= put_prim(b, json_array_get(v, i));
        } else {
            rc |= hx_ps_put_null(b);
        }
        rc |= put_key(b, 'j', k);
        if (plain || list || json_is_null(v)) {
            rc |= hx_ps_put_null(b);
        } else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            rc |= s ? hx_ps_put_cstr(b, s) : HX_ENOMEM;
            free(s);
        }
    }
    return rc ? HX_ENOMEM : 0;
}

static json_t *to_json(const hx_ps_value_t *v)
{
    switch (v->type) {
    case HX_PS_STRING: return json_stringn(v->u.s, v->n);
    case HX_PS_INT: return json_integer(v->u.i);
    case HX_PS_FLOAT: return json_real(v->u.f);
    case HX_PS_BOOL: return json_boolean(v->u.b);
    case HX_PS_LIST: {
        json_t *a = json_array();
        for (uint32_t i = 0; i < v->n; i++) {
            json_t *x = to_json(&v->u.items[i]);
            if (x)
                json_array_append_new(a, x);
        }
        return a;
    }
    default: return NULL; /* a value we never write: ignored */
    }
}

const char *nj_props_json(hx_graph_result_t *r, const hx_ps_value_t *props)
{
    json_t *o = json_object();
    for (uint32_t i = 0; props && props->type == HX_PS_MAP && i < props->n; i++) {
        const hx_ps_value_t *k = &props->u.items[2 * i], *v = &props->u.items[2 * i + 1];
        if (k->n < 3 || k->u.s[1] != '.' || (k->u.s[0] != 'p' && k->u.s[0] != 'j'))
            continue;
        json_t *x = NULL;
        if (k->u.s[0] == 'p')
            x = to_json(v);
        else if (v->type == HX_PS_STRING)
            x = json_loadb(v->u.s, v->n, JSON_DECODE_ANY, NULL);
        if (x)
            json_object_set_new(o, k->u.s + 2, x);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    const char *out = hx_graph_result_str(r, s ? s : "{}");
    free(s);
    return out;
}
