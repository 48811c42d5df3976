/* The memory model on top of the CRDT: validating API bodies, turning a
 * create or a patch into a delta state, and reading a state back as the JSON
 * a client sees. */
#include "helix/hx_clock.h"
#include "helix/hx_json.h"
#include "memory/engine.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "helix/hx_id.h"

#define CONTENT_MAX (256 * 1024)
#define ID_MAX 100
#define TAGS_MAX 64
#define META_MAX 64

static const char *const types[] = {"episodic", "semantic", "procedural", "working", NULL};

/* hx_mmodel_view as the text json_dumps(view, JSON_COMPACT) gives, written
 * directly: a write answers with its memory, and building the jansson tree
 * only to serialize it was a fifth of the write. */
static int put_i64(hx_buf_t *b, int64_t v) { return hx_json_write_int(b, v); }

/* ,"k": for the view's own keys (plain ASCII: nothing to escape) */
static int put_key(hx_buf_t *b, const char *k)
{
    int rc = hx_buf_append(b, ",\"", 2);
    rc = rc ? rc : hx_buf_puts(b, k);
    return rc ? rc : hx_buf_append(b, "\":", 2);
}

static int put_stamp_obj(hx_buf_t *b, const hx_stamp_t *st, const json_t *content, int with_content)
{
    int rc = hx_buf_puts(b, "{\"hlc\":");
    rc = rc ? rc : hx_mtext_u64(b, st->hlc);
    rc = rc ? rc : hx_buf_puts(b, ",\"node\":");
    rc = rc ? rc : hx_mtext_str(b, st->node);
    rc = rc ? rc : hx_buf_puts(b, ",\"wall_ms\":");
    rc = rc ? rc : put_i64(b, hx_hlc_wall_ms(st->hlc));
    if (!rc && with_content) {
        rc = hx_buf_puts(b, ",\"content\":");
        rc = rc ? rc : hx_mtext_val(b, content);
    }
    return rc ? rc : hx_buf_putc(b, '}');
}

int hx_mmodel_view_text(const hx_memory_t *m, const hx_mitem_t *it, hx_buf_t *b)
{
    const hx_mcrdt_t *s = it->s;
    int rc = hx_buf_puts(b, "{\"id\":");
    rc = rc ? rc : hx_mtext_str(b, s->id);
    rc = rc ? rc : hx_buf_puts(b, ",\"tenant\":");
    rc = rc ? rc : hx_mtext_str(b, s->tenant);
    static const char *const ident_keys[] = {"user_id", "agent_id", "session_id", NULL};
    for (int i = 0; ident_keys[i] && !rc; i++) {
        rc = put_key(b, ident_keys[i]);
        rc = rc ? rc : hx_mtext_val(b, json_object_get(s->ident.val, ident_keys[i]));
    }
    const hx_entry_t *top = hx_dset_top(&s->content);
    rc = rc ? rc : hx_buf_puts(b, ",\"content\":");
    rc = rc ? rc : hx_mtext_val(b, top ? top->val : NULL);
    for (int i = 0; i < HX_MF_N && !rc; i++) {
        rc = put_key(b, hx_mfield_names[i]);
        rc = rc ? rc : hx_mtext_val(b, s->fields[i].val);
    }
    rc = rc ? rc : hx_buf_puts(b, ",\"tags\":[");
    for (size_t i = 0, n = 0; i < s->ntags && !rc; i++)
        if (s->tags[i].set.nlive) {
            rc = n++ && hx_buf_putc(b, ',') ? HX_ENOMEM : hx_mtext_str(b, s->tags[i].name);
        }
    rc = rc ? rc : hx_buf_puts(b, "],\"metadata\":{");
    for (size_t i = 0, n = 0; i < s->nmeta && !rc; i++) {
        const hx_entry_t *e = hx_dset_top(&s->meta[i].set);
        if (!e)
            continue;
        rc = n++ && hx_buf_putc(b, ',') ? HX_ENOMEM : hx_mtext_str(b, s->meta[i].name);
        rc = rc ? rc : hx_buf_putc(b, ':');
        rc = rc ? rc : hx_mtext_val(b, e->val);
    }
    uint64_t acc = 0;
    for (size_t i = 0; i < s->naccess; i++)
        acc += s->access[i].n;
    rc = rc ? rc : hx_buf_puts(b, "},\"access_count\":");
    rc = rc ? rc : put_i64(b, (int64_t)acc);
    rc = rc ? rc : hx_buf_puts(b, ",\"created_at\":");
    rc = rc ? rc : put_i64(b, hx_hlc_wall_ms(s->ident.st.hlc));
    rc = rc ? rc : hx_buf_puts(b, ",\"updated_at\":");
    rc = rc ? rc : put_i64(b, it->updated_ms);
    rc = rc ? rc : hx_buf_puts(b, ",\"version\":");
    rc = rc ? rc : top ? put_stamp_obj(b, &top->dot, NULL, 0) : hx_buf_puts(b, "null");
    rc = rc ? rc : hx_buf_puts(b, ",\"conflicts\":[");
    /* newest sibling first */
    for (size_t i = top && s->content.nlive > 1 ? s->content.nlive - 1 : 0; i > 0 && !rc; i--) {
        const hx_entry_t *e = &s->content.live[i - 1];
        rc = i != s->content.nlive - 1 && hx_buf_putc(b, ',') ? HX_ENOMEM : HX_OK;
        rc = rc ? rc : put_stamp_obj(b, &e->dot, e->val, 1);
    }
    rc = rc ? rc : hx_buf_puts(b, "]}");
    (void)m;
    return rc;
}

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

static int check_len(const char *v, const char *name, size_t max, hx_err_t *err)
{
    if (v && strlen(v) > max)
        return hx_err_set(err, HX_EINVAL, "field '%s' must be a string of at most %zu bytes", name, max);
    return HX_OK;
}

/* Checks the values of the mutable fields w sets; shared by create and patch. */
static int check_write(const hx_memory_write_t *w, hx_err_t *err)
{
    int rc;
    if ((w->set & HX_MW_CONTENT) && (!w->content || !*w->content || strlen(w->content) > CONTENT_MAX))
        return hx_err_set(err, HX_EINVAL, "field 'content' must be a non-empty string of at most %d bytes",
                          CONTENT_MAX);
    if ((w->set & HX_MW_SUMMARY) && (rc = check_len(w->summary, "summary", 8192, err)))
        return rc;
    if ((w->set & HX_MW_CATEGORY) && (rc = check_len(w->category, "category", 128, err)))
        return rc;
    if (w->set & HX_MW_TYPE) {
        int ok = 0;
        for (int i = 0; w->type && types[i] && !ok; i++)
            ok = !strcmp(w->type, types[i]);
        if (!ok)
            return hx_err_set(err, HX_EINVAL, "field 'type' must be episodic, semantic, procedural or working");
    }
    if ((w->set & HX_MW_IMPORTANCE) && !(w->importance >= 0 && w->importance <= 1))
        return hx_err_set(err, HX_EINVAL, "field 'importance' must be a number between 0 and 1");
    if ((w->set & HX_MW_EXPIRES_AT) && w->expires_at < 0)
        return hx_err_set(err, HX_EINVAL, "field 'expires_at' must be null or ms since the epoch (integer)");
    if ((w->set & HX_MW_ENTITIES) && (!json_is_array(w->entities) || json_array_size(w->entities) > 256))
        return hx_err_set(err, HX_EINVAL, "field 'entities' must be an array of at most 256 items");
    if (w->set & HX_MW_TAGS) {
        if (w->n_tags > TAGS_MAX)
            return hx_err_set(err, HX_EINVAL, "field 'tags' must be an array of at most %d strings", TAGS_MAX);
        for (size_t i = 0; i < w->n_tags; i++)
            if (!w->tags[i] || !*w->tags[i] || strlen(w->tags[i]) > 128)
                return hx_err_set(err, HX_EINVAL, "every tag must be a non-empty string of at most 128 bytes");
    }
    if ((w->set & HX_MW_METADATA) && (!json_is_object(w->metadata) || json_object_size(w->metadata) > META_MAX))
        return hx_err_set(err, HX_EINVAL, "field 'metadata' must be an object of at most %d keys", META_MAX);
    return HX_OK;
}

/* Sets LWW field fi to v (a new reference, taken). */
static int set_field(hx_mcrdt_t *d, int fi, const hx_stamp_t *st, json_t *v)
{
    if (!v)
        return HX_ENOMEM;
    int rc = hx_lww_set(&d->fields[fi], st, v);
    json_decref(v);
    return rc;
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static int has_name(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return 1;
    return 0;
}

/* Applies the mutable fields of w to delta d, as one write stamped st that
 * saw cur (NULL on create). */
static int apply_write(hx_mcrdt_t *d, const hx_mcrdt_t *cur, const hx_memory_write_t *w, const hx_stamp_t *st)
{
    int rc = HX_OK;
    if ((w->set & HX_MW_TYPE) && (rc = set_field(d, HX_MF_TYPE, st, json_string(w->type))))
        return rc;
    if ((w->set & HX_MW_CATEGORY) && (rc = set_field(d, HX_MF_CATEGORY, st, str_or_null(w->category))))
        return rc;
    if ((w->set & HX_MW_IMPORTANCE) && (rc = set_field(d, HX_MF_IMPORTANCE, st, json_real(w->importance))))
        return rc;
    if ((w->set & HX_MW_EXPIRES_AT) &&
        (rc = set_field(d, HX_MF_EXPIRES_AT, st, w->expires_at ? json_integer(w->expires_at) : json_null())))
        return rc;
    if ((w->set & HX_MW_SUMMARY) && (rc = set_field(d, HX_MF_SUMMARY, st, str_or_null(w->summary))))
        return rc;
    if ((w->set & HX_MW_ENTITIES) && (rc = hx_lww_set(&d->fields[HX_MF_ENTITIES], st, (json_t *)w->entities)))
        return rc;
    if (w->set & HX_MW_CONTENT) {
        json_t *v = json_string(w->content);
        rc = v ? hx_dset_add(&d->content, st, v) : HX_ENOMEM;
        json_decref(v);
        if (!rc && cur)
            rc = hx_dset_kill_live_of(&d->content, &cur->content); /* the write saw the siblings */
        if (rc)
            return rc;
    }
    if (w->set & HX_MW_TAGS) {
        for (size_t c = 0; cur && c < cur->ntags && !rc; c++)
            if (!has_name(w->tags, w->n_tags, cur->tags[c].name) && cur->tags[c].set.nlive) {
                hx_dset_t *ds = hx_named_get(&d->tags, &d->ntags, cur->tags[c].name, 1);
                rc = ds ? hx_dset_kill_live_of(ds, &cur->tags[c].set) : HX_ENOMEM;
            }
        for (size_t i = 0; i < w->n_tags && !rc; i++) {
            if (cur && hx_mmodel_has_tag(cur, w->tags[i]))
                continue;
            hx_dset_t *ds = hx_named_get(&d->tags, &d->ntags, w->tags[i], 1);
            rc = ds ? hx_dset_add(ds, st, NULL) : HX_ENOMEM;
        }
        if (rc)
            return rc;
    }
    if (w->set & HX_MW_METADATA) {
        const char *mk;
        json_t *mv;
        json_object_foreach((json_t *)w->metadata, mk, mv)
        {
            hx_dset_t *ds = hx_named_get(&d->meta, &d->nmeta, mk, 1);
            if (!ds)
                return HX_ENOMEM;
            hx_dset_t *old = cur ? hx_named_get((hx_named_dset_t **)&cur->meta, (size_t *)&cur->nmeta, mk, 0) : NULL;
            if (old && (rc = hx_dset_kill_live_of(ds, old)))
                return rc;
            if (!json_is_null(mv) && (rc = hx_dset_add(ds, st, mv)))
                return rc;
        }
    }
    return HX_OK;
}

static void random_id(char *out, size_t n)
{
    unsigned char r[12];
    if (hx_id_random(r, sizeof r)) {
        uint64_t t = (uint64_t)hx_now_us();
        memcpy(r, &t, 8);
        memset(r + 8, 0x5a, 4);
    }
    char *p = out;
    p += snprintf(p, n, "mem_");
    for (size_t i = 0; i < sizeof r && (size_t)(p - out) + 3 < n; i++)
        p += sprintf(p, "%02x", r[i]);
}

int hx_mmodel_create_delta(hx_memory_t *m, const char *tenant, const hx_memory_write_t *w, const hx_stamp_t *st,
                           hx_mcrdt_t **out, hx_err_t *err)
{
    (void)m;
    *out = NULL;
    int rc;
    const struct {
        unsigned bit;
        const char *name, *v;
    } ident[] = {{HX_MW_USER_ID, "user_id", w->user_id},
                 {HX_MW_AGENT_ID, "agent_id", w->agent_id},
                 {HX_MW_SESSION_ID, "session_id", w->session_id}};
    for (size_t i = 0; i < 3; i++)
        if ((w->set & ident[i].bit) && (rc = check_len(ident[i].v, ident[i].name, 128, err)))
            return rc;
    if ((w->set & HX_MW_ID) && (rc = check_len(w->id, "id", 128, err)))
        return rc;
    if ((rc = check_write(w, err)))
        return rc;
    if (!(w->set & HX_MW_USER_ID) || !w->user_id || !*w->user_id)
        return hx_err_set(err, HX_EINVAL, "field 'user_id' is required");
    if (!(w->set & HX_MW_CONTENT))
        return hx_err_set(err, HX_EINVAL, "field 'content' is required");
    char idbuf[64];
    const char *id = (w->set & HX_MW_ID) ? w->id : NULL;
    if (id && (rc = hx_mmodel_validate_id(id, err)))
        return rc;
    if (!id) {
        random_id(idbuf, sizeof idbuf);
        id = idbuf;
    }
    hx_mcrdt_t *d = hx_mcrdt_new(tenant, id);
    json_t *idj = d ? json_object() : NULL;
    for (size_t i = 0; idj && i < 3; i++)
        json_object_set_new(idj, ident[i].name, str_or_null((w->set & ident[i].bit) ? ident[i].v : NULL));
    if (!idj || hx_lww_set(&d->ident, st, idj) ||
        (!(w->set & HX_MW_TYPE) && set_field(d, HX_MF_TYPE, st, json_string("semantic"))) ||
        (!(w->set & HX_MW_IMPORTANCE) && set_field(d, HX_MF_IMPORTANCE, st, json_real(0.5))) ||
        apply_write(d, NULL, w, st)) {
        json_decref(idj);
        hx_mcrdt_free(d);
        return hx_err_set(err, HX_ENOMEM, "out of memory building a memory");
    }
    json_decref(idj);
    *out = d;
    return HX_OK;
}

int hx_mmodel_update_delta(hx_memory_t *m, const hx_mcrdt_t *cur, const hx_memory_write_t *w, const hx_stamp_t *st,
                           hx_mcrdt_t **out, hx_err_t *err)
{
    (void)m;
    *out = NULL;
    if (!w->set)
        return hx_err_set(err, HX_EINVAL, "the body must be a JSON object with the fields to change");
    static const struct {
        unsigned bit;
        const char *name;
    } fixed[] = {{HX_MW_ID, "id"}, {HX_MW_USER_ID, "user_id"}, {HX_MW_AGENT_ID, "agent_id"},
                 {HX_MW_SESSION_ID, "session_id"}};
    for (size_t i = 0; i < 4; i++)
        if (w->set & fixed[i].bit)
            return hx_err_set(err, HX_EINVAL, "field '%s' cannot change after creation", fixed[i].name);
    int rc = check_write(w, err);
    if (rc)
        return rc;
    hx_mcrdt_t *d = hx_mcrdt_new(cur->tenant, cur->id);
    if (!d || apply_write(d, cur, w, st)) {
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
