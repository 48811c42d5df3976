/* The memory model on top of the CRDT: validating API bodies, turning a
 * create or a patch into a delta state, and reading a state back as the JSON
 * a client sees. */
#include "helix/hx_clock.h"
#include "memory/engine.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define CONTENT_MAX (256 * 1024)
#define ID_MAX 100
#define TAGS_MAX 64
#define META_MAX 64

static const char *const types[] = {"episodic", "semantic", "procedural", "working", NULL};

int hx_mmodel_validate_id(const char *id, hx_err_t *err)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > ID_MAX)
        return hx_err_set(err, HX_EINVAL, "memory id must be 1..%d characters", ID_MAX);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)id[i]) && !strchr("-_.:", id[i]))
            return hx_err_set(err, HX_EINVAL, "memory id '%s' may only contain letters, digits, '-', '_', '.', ':'",
                              id);
    return HX_OK;
}

static int check_short_str(const json_t *v, const char *name, size_t max, hx_err_t *err)
{
    if (!json_is_string(v) || json_string_length(v) > max)
        return hx_err_set(err, HX_EINVAL, "field '%s' must be a string of at most %zu bytes", name, max);
    return HX_OK;
}

/* Validates the value of a mutable field; shared by create and patch. */
static int check_field(const char *k, const json_t *v, hx_err_t *err)
{
    if (!strcmp(k, "content")) {
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > CONTENT_MAX)
            return hx_err_set(err, HX_EINVAL, "field 'content' must be a non-empty string of at most %d bytes",
                              CONTENT_MAX);
    } else if (!strcmp(k, "summary")) {
        if (!json_is_null(v))
            return check_short_str(v, k, 8192, err);
    } else if (!strcmp(k, "category")) {
        if (!json_is_null(v))
            return check_short_str(v, k, 128, err);
    } else if (!strcmp(k, "type")) {
        const char *t = json_string_value(v);
        for (int i = 0; t && types[i]; i++)
            if (!strcmp(t, types[i]))
                return HX_OK;
        return hx_err_set(err, HX_EINVAL, "field 'type' must be episodic, semantic, procedural or working");
    } else if (!strcmp(k, "importance")) {
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
            return hx_err_set(err, HX_EINVAL, "field 'importance' must be a number between 0 and 1");
    } else if (!strcmp(k, "expires_at")) {
        if (!json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) <= 0))
            return hx_err_set(err, HX_EINVAL, "field 'expires_at' must be null or ms since the epoch (integer)");
    } else if (!strcmp(k, "entities")) {
        if (!json_is_array(v) || json_array_size(v) > 256)
            return hx_err_set(err, HX_EINVAL, "field 'entities' must be an array of at most 256 items");
    } else if (!strcmp(k, "tags")) {
        size_t i;
        json_t *t;
        if (!json_is_array(v) || json_array_size(v) > TAGS_MAX)
            return hx_err_set(err, HX_EINVAL, "field 'tags' must be an array of at most %d strings", TAGS_MAX);
        json_array_foreach(v, i, t) if (!json_is_string(t) || json_string_length(t) == 0 ||
                                        json_string_length(t) > 128) return hx_err_set(err, HX_EINVAL,
                                                                                      "every tag must be a "
                                                                                      "non-empty string of at "
                                                                                      "most 128 bytes");
    } else if (!strcmp(k, "metadata")) {
        if (!json_is_object(v) || json_object_size(v) > META_MAX)
            return hx_err_set(err, HX_EINVAL, "field 'metadata' must be an object of at most %d keys", META_MAX);
    } else {
        return hx_err_set(err, HX_EINVAL, "field '%s' cannot be set here", k);
    }
    return HX_OK;
}

static int field_index(const char *k)
{
    for (int i = 0; i < HX_MF_N; i++)
        if (!strcmp(k, hx_mfield_names[i]))
            return i;
    return -1;
}

/* Applies the mutable fields of body to delta d, as one write stamped st
 * that saw cur (NULL on create). */
static int apply_fields(hx_mcrdt_t *d, const hx_mcrdt_t *cur, const json_t *body, const hx_stamp_t *st)
{
    const char *k;
    json_t *v;
    int rc = HX_OK;
    json_object_foreach((json_t *)body, k, v)
    {
        int fi = field_index(k);
        if (fi >= 0) {
            rc = hx_lww_set(&d->fields[fi], st, v);
        } else if (!strcmp(k, "content")) {
            if (!(rc = hx_dset_add(&d->content, st, v)) && cur)
                rc = hx_dset_kill_live_of(&d->content, &cur->content); /* the write saw the siblings */
        } else if (!strcmp(k, "tags")) {
            size_t i;
            json_t *t;
            for (size_t c = 0; cur && c < cur->ntags && !rc; c++) {
                int keep = 0;
                json_array_foreach(v, i, t) keep |= !strcmp(json_string_value(t), cur->tags[c].name);
                if (!keep && cur->tags[c].set.nlive) {
                    hx_dset_t *ds = hx_named_get(&d->tags, &d->ntags, cur->tags[c].name, 1);
                    rc = ds ? hx_dset_kill_live_of(ds, &cur->tags[c].set) : HX_ENOMEM;
                }
            }
            json_array_foreach(v, i, t)
            {
                if (rc)
                    break;
                const char *name = json_string_value(t);
                if (cur && hx_mmodel_has_tag(cur, name))
                    continue;
                hx_dset_t *ds = hx_named_get(&d->tags, &d->ntags, name, 1);
                rc = ds ? hx_dset_add(ds, st, NULL) : HX_ENOMEM;
            }
        } else if (!strcmp(k, "metadata")) {
            const char *mk;
            json_t *mv;
            json_object_foreach(v, mk, mv)
            {
                hx_dset_t *ds = hx_named_get(&d->meta, &d->nmeta, mk, 1);
                if (!ds)
                    return HX_ENOMEM;
                hx_dset_t *old = cur ? hx_named_get((hx_named_dset_t **)&cur->meta, (size_t *)&cur->nmeta, mk, 0)
                                     : NULL;
                if (old && (rc = hx_dset_kill_live_of(ds, old)))
                    return rc;
                if (!json_is_null(mv) && (rc = hx_dset_add(ds, st, mv)))
                    return rc;
            }
        }
        if (rc)
            return rc;
    }
    return HX_OK;
}

static void random_id(char *out, size_t n)
{
    unsigned char r[12];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        uint64_t t = (uint64_t)hx_now_us();
        memcpy(r, &t, 8);
        memset(r + 8, 0x5a, 4);
    }
    char *p = out;
    p += snprintf(p, n, "mem_");
    for (size_t i = 0; i < sizeof r && (size_t)(p - out) + 3 < n; i++)
        p += sprintf(p, "%02x", r[i]);
}

int hx_mmodel_create_delta(hx_memory_t *m, const char *tenant, const json_t *body, const hx_stamp_t *st,
                           hx_mcrdt_t **out, hx_err_t *err)
{
    (void)m;
    *out = NULL;
    if (!json_is_object(body))
        return hx_err_set(err, HX_EINVAL, "the body must be a JSON object with at least user_id and content");
    static const char *const ident_keys[] = {"user_id", "agent_id", "session_id", NULL};
    const char *k;
    json_t *v;
    int rc;
    json_object_foreach((json_t *)body, k, v)
    {
        int ident = !strcmp(k, "id");
        for (int i = 0; ident_keys[i]; i++)
            ident |= !strcmp(k, ident_keys[i]);
        if (ident) {
            if (!json_is_null(v) && (rc = check_short_str(v, k, 128, err)))
                return rc;
        } else if (field_index(k) < 0 && strcmp(k, "content") && strcmp(k, "tags") && strcmp(k, "metadata")) {
            return hx_err_set(err, HX_EINVAL,
                              "unknown field '%s' (known: id, user_id, agent_id, session_id, content, summary, "
                              "type, category, tags, metadata, entities, importance, expires_at)",
                              k);
        } else if ((rc = check_field(k, v, err))) {
            return rc;
        }
    }
    const char *user = json_string_value(json_object_get(body, "user_id"));
    if (!user || !*user)
        return hx_err_set(err, HX_EINVAL, "field 'user_id' is required");
    if (!json_object_get(body, "content"))
        return hx_err_set(err, HX_EINVAL, "field 'content' is required");
    char idbuf[64];
    const char *id = json_string_value(json_object_get(body, "id"));
    if (id && (rc = hx_mmodel_validate_id(id, err)))
        return rc;
    if (!id) {
        random_id(idbuf, sizeof idbuf);
        id = idbuf;
    }
    hx_mcrdt_t *d = hx_mcrdt_new(tenant, id);
    json_t *ident = json_object();
    if (!d || !ident)
        goto nomem;
    for (int i = 0; ident_keys[i]; i++) {
        const char *s = json_string_value(json_object_get(body, ident_keys[i]));
        json_object_set_new(ident, ident_keys[i], s ? json_string(s) : json_null());
    }
    json_t *dflt = json_pack("{s:s,s:f}", "type", "semantic", "importance", 0.5);
    json_object_foreach(dflt, k, v) if (!json_object_get(body, k)) hx_lww_set(&d->fields[field_index(k)], st, v);
    json_decref(dflt);
    if (hx_lww_set(&d->ident, st, ident) || apply_fields(d, NULL, body, st))
        goto nomem;
    json_decref(ident);
    *out = d;
    return HX_OK;
nomem:
    json_decref(ident);
    hx_mcrdt_free(d);
    return hx_err_set(err, HX_ENOMEM, "out of memory building a memory");
}

int hx_mmodel_update_delta(hx_memory_t *m, const hx_mcrdt_t *cur, const json_t *patch, const hx_stamp_t *st,
                           hx_mcrdt_t **out, hx_err_t *err)
{
    (void)m;
    *out = NULL;
    if (!json_is_object(patch) || json_object_size(patch) == 0)
        return hx_err_set(err, HX_EINVAL, "the body must be a JSON object with the fields to change");
    const char *k;
    json_t *v;
    int rc;
    json_object_foreach((json_t *)patch, k, v)
    {
        if (!strcmp(k, "id") || !strcmp(k, "user_id") || !strcmp(k, "agent_id") || !strcmp(k, "session_id"))
            return hx_err_set(err, HX_EINVAL, "field '%s' cannot change after creation", k);
        if ((rc = check_field(k, v, err)))
            return rc;
    }
    hx_mcrdt_t *d = hx_mcrdt_new(cur->tenant, cur->id);
    if (!d || apply_fields(d, cur, patch, st)) {
        hx_mcrdt_free(d);
        return hx_err_set(err, HX_ENOMEM, "out of memory building an update");
    }
    *out = d;
    return HX_OK;
}

const char *hx_mmodel_content(const hx_mcrdt_t *s)
{
    const hx_entry_t *e = hx_dset_top(&s->content);
    return e && json_is_string(e->val) ? json_string_value(e->val) : "";
}

const char *hx_mmodel_str_field(const hx_mcrdt_t *s, int field)
{
    return json_string_value(s->fields[field].val);
}

const char *hx_mmodel_user(const hx_mcrdt_t *s)
{
    return json_string_value(json_object_get(s->ident.val, "user_id"));
}

int hx_mmodel_has_tag(const hx_mcrdt_t *s, const char *tag)
{
    hx_dset_t *d = hx_named_get((hx_named_dset_t **)&s->tags, (size_t *)&s->ntags, tag, 0);
    return d && d->nlive;
}

static json_t *stamp_obj(const hx_stamp_t *st)
{
    return json_pack("{s:I,s:s,s:I}", "hlc", (json_int_t)st->hlc, "node", st->node, "wall_ms",
                     (json_int_t)hx_hlc_wall_ms(st->hlc));
}

json_t *hx_mmodel_view(const hx_memory_t *m, const hx_mitem_t *it)
{
    const hx_mcrdt_t *s = it->s;
    json_t *o = json_pack("{s:s,s:s}", "id", s->id, "tenant", s->tenant);
    if (!o)
        return NULL;
    static const char *const ident_keys[] = {"user_id", "agent_id", "session_id", NULL};
    for (int i = 0; ident_keys[i]; i++) {
        json_t *v = json_object_get(s->ident.val, ident_keys[i]);
        json_object_set(o, ident_keys[i], v ? v : json_null());
    }
    const hx_entry_t *top = hx_dset_top(&s->content);
    json_object_set(o, "content", top && top->val ? top->val : json_null());
    for (int i = 0; i < HX_MF_N; i++)
        json_object_set(o, hx_mfield_names[i], s->fields[i].val ? s->fields[i].val : json_null());
    json_t *tags = json_array();
    for (size_t i = 0; i < s->ntags; i++)
        if (s->tags[i].set.nlive)
            json_array_append_new(tags, json_string(s->tags[i].name));
    json_object_set_new(o, "tags", tags);
    json_t *meta = json_object();
    for (size_t i = 0; i < s->nmeta; i++) {
        const hx_entry_t *e = hx_dset_top(&s->meta[i].set);
        if (e)
            json_object_set(meta, s->meta[i].name, e->val ? e->val : json_null());
    }
    json_object_set_new(o, "metadata", meta);
    uint64_t acc = 0;
    for (size_t i = 0; i < s->naccess; i++)
        acc += s->access[i].n;
    json_object_set_new(o, "access_count", json_integer((json_int_t)acc));
    json_object_set_new(o, "created_at", json_integer(hx_hlc_wall_ms(s->ident.st.hlc)));
    json_object_set_new(o, "updated_at", json_integer(it->updated_ms));
    json_object_set_new(o, "version", top ? stamp_obj(&top->dot) : json_null());
    json_t *conf = json_array();
    for (size_t i = 0; top && i + 1 < s->content.nlive; i++) {
        const hx_entry_t *e = &s->content.live[i];
        json_t *c = stamp_obj(&e->dot);
        json_object_set(c, "content", e->val ? e->val : json_null());
        json_array_insert_new(conf, 0, c); /* newest sibling first */
    }
    json_object_set_new(o, "conflicts", conf);
    (void)m;
    return o;
}
