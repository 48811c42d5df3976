/* Parsing Bolt stub scripts, JSON to PackStream, and wildcard matching. */
#include "bolt_stub.h"
#include "graph/neo4j/bolt_io.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    uint8_t tag;
} names[] = {
    {"HELLO", HX_BOLT_HELLO},       {"GOODBYE", HX_BOLT_GOODBYE},   {"RESET", HX_BOLT_RESET},
    {"RUN", HX_BOLT_RUN},           {"BEGIN", HX_BOLT_BEGIN},       {"COMMIT", HX_BOLT_COMMIT},
    {"ROLLBACK", HX_BOLT_ROLLBACK}, {"DISCARD", HX_BOLT_DISCARD},   {"PULL", HX_BOLT_PULL},
    {"TELEMETRY", HX_BOLT_TELEMETRY}, {"ROUTE", HX_BOLT_ROUTE},     {"LOGON", HX_BOLT_LOGON},
    {"LOGOFF", HX_BOLT_LOGOFF},     {"SUCCESS", HX_BOLT_SUCCESS},   {"RECORD", HX_BOLT_RECORD},
    {"IGNORED", HX_BOLT_IGNORED},   {"FAILURE", HX_BOLT_FAILURE},
};

int hx_stub_tag(const char *name)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].tag;
    return -1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int from_hex(const char *s, unsigned char **out, size_t *n)
{
    size_t len = 0, cap = strlen(s) / 2 + 1;
    unsigned char *b = malloc(cap);
    if (!b)
        return HX_ENOMEM;
    while (*s) {
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        int hi = hexval(s[0]), lo = s[1] ? hexval(s[1]) : -1;
        if (hi < 0 || lo < 0) {
            free(b);
            return HX_EINVAL;
        }
        b[len++] = (unsigned char)(hi << 4 | lo);
        s += 2;
    }
    *out = b;
    *n = len;
    return 0;
}

int hx_stub_from_json(hx_ps_arena_t *a, json_t *j, hx_ps_value_t *out, hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    switch (json_typeof(j)) {
    case JSON_NULL: out->type = HX_PS_NULL; return 0;
    case JSON_TRUE: out->type = HX_PS_BOOL; out->u.b = 1; return 0;
    case JSON_FALSE: out->type = HX_PS_BOOL; return 0;
    case JSON_INTEGER: out->type = HX_PS_INT; out->u.i = json_integer_value(j); return 0;
    case JSON_REAL: out->type = HX_PS_FLOAT; out->u.f = json_real_value(j); return 0;
    case JSON_STRING:
        out->type = HX_PS_STRING;
        out->n = (uint32_t)json_string_length(j);
        out->u.s = hx_ps_arena_strdup(a, json_string_value(j), out->n);
        return 0;
    case JSON_ARRAY: {
        out->type = HX_PS_LIST;
        out->n = (uint32_t)json_array_size(j);
        out->u.items = hx_ps_arena_alloc(a, (out->n + 1) * sizeof *out);
        for (uint32_t i = 0; i < out->n; i++) {
            int rc = hx_stub_from_json(a, json_array_get(j, i), &out->u.items[i], err);
            if (rc)
                return rc;
        }
        return 0;
    }
    case JSON_OBJECT: {
        const char *k1 = json_object_size(j) == 1 ? json_object_iter_key(json_object_iter(j)) : NULL;
        json_t *v1 = k1 ? json_object_get(j, k1) : NULL;
        if (k1 && strcmp(k1, "$bytes") == 0 && json_is_string(v1)) {
            unsigned char *b;
            size_t n;
            if (from_hex(json_string_value(v1), &b, &n))
                return hx_err_set(err, HX_EINVAL, "$bytes needs hex digits");
            out->type = HX_PS_BYTES;
            out->n = (uint32_t)n;
            out->u.s = hx_ps_arena_strdup(a, (const char *)b, n);
            free(b);
            return 0;
        }
        if (k1 && strcmp(k1, "$repeat") == 0 && json_is_array(v1) && json_array_size(v1) == 2) {
            const char *s = json_string_value(json_array_get(v1, 0));
            json_int_t times = json_integer_value(json_array_get(v1, 1));
            if (!s || times < 0 || times > 100000000)
                return hx_err_set(err, HX_EINVAL, "$repeat takes [string, count]");
            size_t sl = strlen(s), n = sl * (size_t)times;
            char *p = hx_ps_arena_alloc(a, n + 1);
            for (json_int_t i = 0; i < times; i++)
                memcpy(p + (size_t)i * sl, s, sl);
            out->type = HX_PS_STRING;
            out->n = (uint32_t)n;
            out->u.s = p;
            return 0;
        }
        if (k1 && k1[0] == '$' && k1[1] && !k1[2] && json_is_array(v1)) {
            out->type = HX_PS_STRUCT;
            out->tag = (uint8_t)k1[1];
            out->n = (uint32_t)json_array_size(v1);
            out->u.items = hx_ps_arena_alloc(a, (out->n + 1) * sizeof *out);
            for (uint32_t i = 0; i < out->n; i++) {
                int rc = hx_stub_from_json(a, json_array_get(v1, i), &out->u.items[i], err);
                if (rc)
                    return rc;
            }
            return 0;
        }
        out->type = HX_PS_MAP;
        out->n = (uint32_t)json_object_size(j);
        out->u.items = hx_ps_arena_alloc(a, (2 * out->n + 1) * sizeof *out);
        uint32_t i = 0;
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            hx_ps_set_string(a, &out->u.items[2 * i], k);
            int rc = hx_stub_from_json(a, v, &out->u.items[2 * i + 1], err);
            if (rc)
                return rc;
            i++;
        }
        return 0;
    }
    }
    return hx_err_set(err, HX_EINVAL, "unsupported JSON value");
}

static int is_wild(const hx_ps_value_t *v) { return v->type == HX_PS_STRING && v->n == 1 && v->u.s[0] == '*'; }

int hx_stub_match(const hx_ps_value_t *e, const hx_ps_value_t *a)
{
    if (is_wild(e))
        return 1;
    if (e->type == HX_PS_MAP && a->type == HX_PS_MAP) {
        int open = hx_ps_map_get(e, "*") != NULL;
        uint32_t listed = 0;
        for (uint32_t i = 0; i < e->n; i++) {
            const hx_ps_value_t *k = &e->u.items[2 * i];
            if (is_wild(k))
                continue;
            listed++;
            const hx_ps_value_t *av = hx_ps_map_get(a, k->u.s);
            if (!av || !hx_stub_match(&e->u.items[2 * i + 1], av))
                return 0;
        }
        return open || listed == a->n;
    }
    if ((e->type == HX_PS_LIST || e->type == HX_PS_STRUCT) && e->type == a->type) {
        if (e->n != a->n || (e->type == HX_PS_STRUCT && e->tag != a->tag))
            return 0;
        for (uint32_t i = 0; i < e->n; i++)
            if (!hx_stub_match(&e->u.items[i], &a->u.items[i]))
                return 0;
        return 1;
    }
    return hx_ps_equal(e, a);
}

/* "NAME json json ..." -> a message structure. */
static int parse_msg(hx_stub_script_t *s, const char *text, int index, int line, hx_stub_step_t *st, hx_err_t *err)
{
    char name[32];
    size_t nl = strcspn(text, " \t");
    if (nl == 0 || nl >= sizeof name)
        return hx_err_set(err, HX_EINVAL, "script %d line %d: expected a message name", index, line);
    memcpy(name, text, nl);
    name[nl] = '\0';
    int tag = hx_stub_tag(name);
    if (tag < 0)
        return hx_err_set(err, HX_EINVAL, "script %d line %d: unknown message '%s'", index, line, name);
    hx_ps_value_t fields[8];
    uint32_t n = 0;
    const char *p = text + nl;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (n == 8)
            return hx_err_set(err, HX_EINVAL, "script %d line %d: too many fields", index, line);
        json_error_t je;
        json_t *j = json_loads(p, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &je);
        if (!j)
            return hx_err_set(err, HX_EINVAL, "script %d line %d: bad JSON field: %s", index, line, je.text);
        int rc = hx_stub_from_json(&s->arena, j, &fields[n++], err);
        json_decref(j);
        if (rc)
            return rc;
        p += je.position;
    }
    st->tag = (uint8_t)tag;
    st->msg = hx_ps_new(&s->arena, HX_PS_STRUCT, n);
    st->msg->tag = (uint8_t)tag;
    memcpy(st->msg->u.items, fields, n * sizeof fields[0]);
    return 0;
}

static int add_step(hx_stub_script_t *s, hx_stub_step_t *st)
{
    hx_stub_step_t *n = realloc(s->steps, (s->n_steps + 1) * sizeof *n);
    if (!n)
        return HX_ENOMEM;
    s->steps = n;
    s->steps[s->n_steps++] = *st;
    return 0;
}

int hx_stub_script_parse(const char *text, int index, hx_stub_script_t *s, hx_err_t *err)
{
    memset(s, 0, sizeof *s);
    s->max_major = 5;
    s->max_minor = 8;
    int line = 0, rc = 0;
    const char *p = text;
    char buf[1 << 16];
    while (*p && !rc) {
        line++;
        size_t len = strcspn(p, "\n");
        if (len >= sizeof buf) {
            rc = hx_err_set(err, HX_EINVAL, "script %d line %d: line too long", index, line);
            break;
        }
        memcpy(buf, p, len);
        buf[len] = '\0';
        p += len + (p[len] == '\n');
        char *l = buf;
        while (isspace((unsigned char)*l))
            l++;
        size_t ll = strlen(l);
        while (ll && isspace((unsigned char)l[ll - 1]))
            l[--ll] = '\0';
        if (!*l || *l == '#')
            continue;
        hx_stub_step_t st = {0};
        st.line = line;
        if (strncmp(l, "!:", 2) == 0) {
            char *d = l + 2;
            while (*d == ' ')
                d++;
            int a, b;
            if (sscanf(d, "BOLT %d.%d", &a, &b) == 2 && ((a == 5 && b >= 0 && b <= 8) || (a == 4 && b == 4))) {
                s->max_major = a;
                s->max_minor = b;
            } else if (strcmp(d, "AUTO RESET") == 0) {
                s->auto_reset = 1;
            } else if (strcmp(d, "AUTO GOODBYE") == 0) {
                s->auto_goodbye = 1;
            } else if (strcmp(d, "REPEAT") == 0) {
                s->repeat = 1;
            } else if (strncmp(d, "HANDSHAKE ", 10) == 0) {
                unsigned char *raw = NULL;
                size_t n = 0;
                if (from_hex(d + 10, &raw, &n) || n != 4) {
                    free(raw);
                    rc = hx_err_set(err, HX_EINVAL, "script %d line %d: HANDSHAKE takes 4 hex bytes", index, line);
                    break;
                }
                memcpy(s->handshake, raw, 4);
                s->handshake_raw = 1;
                free(raw);
            } else {
                rc = hx_err_set(err, HX_EINVAL, "script %d line %d: unknown directive '%s'", index, line, d);
            }
            continue;
        }
        if ((l[0] != 'C' && l[0] != 'S') || l[1] != ':') {
            rc = hx_err_set(err, HX_EINVAL, "script %d line %d: lines start with C:, S:, !: or #", index, line);
            break;
        }
        char *body = l + 2;
        while (*body == ' ')
            body++;
        if (l[0] == 'C') {
            st.kind = ST_EXPECT;
            rc = parse_msg(s, body, index, line, &st, err);
        } else if (strcmp(body, "<NOOP>") == 0) {
            st.kind = ST_NOOP;
        } else if (strcmp(body, "<EXIT>") == 0) {
            st.kind = ST_EXIT;
        } else if (sscanf(body, "<SLEEP %d>", &st.sleep_ms) == 1) {
            st.kind = ST_SLEEP;
        } else if (strncmp(body, "<RAW ", 5) == 0 && body[strlen(body) - 1] == '>') {
            body[strlen(body) - 1] = '\0';
            st.kind = ST_RAW;
            if (from_hex(body + 5, &st.raw, &st.raw_len))
                rc = hx_err_set(err, HX_EINVAL, "script %d line %d: <RAW> takes hex bytes", index, line);
        } else {
            st.kind = ST_SEND;
            rc = parse_msg(s, body, index, line, &st, err);
        }
        if (!rc && add_step(s, &st)) {
            free(st.raw);
            rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        }
    }
    if (rc)
        hx_stub_script_free(s);
    return rc;
}

void hx_stub_script_free(hx_stub_script_t *s)
{
    for (size_t i = 0; i < s->n_steps; i++)
        free(s->steps[i].raw);
    free(s->steps);
    hx_ps_arena_free(&s->arena);
    memset(s, 0, sizeof *s);
}
