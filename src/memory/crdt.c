/* Join and canonical codec of the memory CRDT; see crdt.h. */
#include "memory/crdt.h"

#include "helix/hx_buf.h"
#include "helix/hx_hash.h"

#include <stdlib.h>
#include <string.h>

const char *const hx_mfield_names[HX_MF_N] = {"type", "category", "importance", "expires_at", "summary", "entities"};

int hx_stamp_cmp(const hx_stamp_t *a, const hx_stamp_t *b)
{
    if (a->hlc != b->hlc)
        return a->hlc < b->hlc ? -1 : 1;
    return strcmp(a->node, b->node);
}

static void stamp_set(hx_stamp_t *d, uint64_t hlc, const char *node)
{
    d->hlc = hlc;
    snprintf(d->node, sizeof d->node, "%s", node);
}

/* ---- dotted sets -------------------------------------------------------- */

void hx_dset_free(hx_dset_t *d)
{
    for (size_t i = 0; i < d->nlive; i++)
        json_decref(d->live[i].val);
    free(d->live);
    free(d->dead);
    memset(d, 0, sizeof *d);
}

static int dead_find(const hx_dset_t *d, const hx_stamp_t *dot)
{
    size_t lo = 0, hi = d->ndead;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = hx_stamp_cmp(&d->dead[mid], dot);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int hx_dset_kill(hx_dset_t *d, const hx_stamp_t *dot)
{
    size_t pos = 0;
    while (pos < d->ndead && hx_stamp_cmp(&d->dead[pos], dot) < 0)
        pos++;
    if (pos < d->ndead && hx_stamp_cmp(&d->dead[pos], dot) == 0)
        goto drop_live;
    hx_stamp_t *n = realloc(d->dead, (d->ndead + 1) * sizeof *n);
    if (!n)
        return HX_ENOMEM;
    d->dead = n;
    memmove(&d->dead[pos + 1], &d->dead[pos], (d->ndead - pos) * sizeof *n);
    d->dead[pos] = *dot;
    d->ndead++;
drop_live:
    for (size_t i = 0; i < d->nlive; i++)
        if (hx_stamp_cmp(&d->live[i].dot, dot) == 0) {
            json_decref(d->live[i].val);
            memmove(&d->live[i], &d->live[i + 1], (d->nlive - i - 1) * sizeof d->live[0]);
            d->nlive--;
            break;
        }
    return HX_OK;
}

int hx_dset_add(hx_dset_t *d, const hx_stamp_t *dot, json_t *val)
{
    if (dead_find(d, dot))
        return HX_OK;
    size_t pos = 0;
    while (pos < d->nlive && hx_stamp_cmp(&d->live[pos].dot, dot) < 0)
        pos++;
    if (pos < d->nlive && hx_stamp_cmp(&d->live[pos].dot, dot) == 0)
        return HX_OK; /* a dot names one write: same value everywhere */
    hx_entry_t *n = realloc(d->live, (d->nlive + 1) * sizeof *n);
    if (!n)
        return HX_ENOMEM;
    d->live = n;
    memmove(&d->live[pos + 1], &d->live[pos], (d->nlive - pos) * sizeof *n);
    d->live[pos].dot = *dot;
    d->live[pos].val = val ? json_incref(val) : NULL;
    d->nlive++;
    return HX_OK;
}

int hx_dset_kill_live_of(hx_dset_t *dst, const hx_dset_t *src)
{
    for (size_t i = 0; i < src->nlive; i++) {
        int rc = hx_dset_kill(dst, &src->live[i].dot);
        if (rc)
            return rc;
    }
    return HX_OK;
}

const hx_entry_t *hx_dset_top(const hx_dset_t *d)
{
    return d->nlive ? &d->live[d->nlive - 1] : NULL; /* sorted by (hlc, node) */
}

/* dst := dst join src. *from_dst / *from_src tell whether entries only one
 * side had are still live afterwards (concurrency). */
static int dset_join(hx_dset_t *dst, const hx_dset_t *src, int *from_dst, int *from_src)
{
    int rc;
    *from_dst = *from_src = 0;
    for (size_t i = 0; i < src->ndead; i++)
        if ((rc = hx_dset_kill(dst, &src->dead[i])))
            return rc;
    size_t before = dst->nlive;
    for (size_t i = 0; i < src->nlive; i++) {
        size_t n = dst->nlive;
        if ((rc = hx_dset_add(dst, &src->live[i].dot, src->live[i].val)))
            return rc;
        if (dst->nlive > n)
            *from_src = 1;
    }
    /* Entries dst had that src neither carries nor killed. */
    for (size_t i = 0; i < dst->nlive && before; i++) {
        int in_src = 0;
        for (size_t j = 0; j < src->nlive && !in_src; j++)
            in_src = hx_stamp_cmp(&src->live[j].dot, &dst->live[i].dot) == 0;
        if (!in_src) {
            *from_dst = 1;
            break;
        }
    }
    return HX_OK;
}

/* Last-write-wins: everything but the greatest live entry becomes superseded. */
static int dset_prune_lww(hx_dset_t *d)
{
    while (d->nlive > 1) {
        hx_stamp_t dot = d->live[0].dot;
        int rc = hx_dset_kill(d, &dot);
        if (rc)
            return rc;
    }
    return HX_OK;
}

hx_dset_t *hx_named_get(hx_named_dset_t **arr, size_t *n, const char *name, int create)
{
    size_t lo = 0, hi = *n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp((*arr)[mid].name, name);
        if (c == 0)
            return &(*arr)[mid].set;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!create)
        return NULL;
    char *copy = strdup(name);
    hx_named_dset_t *na = copy ? realloc(*arr, (*n + 1) * sizeof *na) : NULL;
    if (!na) {
        free(copy);
        return NULL;
    }
    *arr = na;
    memmove(&na[lo + 1], &na[lo], (*n - lo) * sizeof *na);
    memset(&na[lo], 0, sizeof *na);
    na[lo].name = copy;
    (*n)++;
    return &na[lo].set;
}

static void named_free(hx_named_dset_t *arr, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(arr[i].name);
        hx_dset_free(&arr[i].set);
    }
    free(arr);
}

/* ---- registers and counter ---------------------------------------------- */

int hx_lww_set(hx_lww_t *r, const hx_stamp_t *st, json_t *val)
{
    json_t *old = r->val;
    r->st = *st;
    r->val = val ? json_incref(val) : json_null();
    json_decref(old);
    return r->val ? HX_OK : HX_ENOMEM;
}

int hx_counter_set(hx_mcrdt_t *s, const char *node, uint64_t n)
{
    size_t pos = 0;
    while (pos < s->naccess && strcmp(s->access[pos].node, node) < 0)
        pos++;
    if (pos < s->naccess && strcmp(s->access[pos].node, node) == 0) {
        if (n > s->access[pos].n)
            s->access[pos].n = n;
        return HX_OK;
    }
    hx_counter_slot_t *a = realloc(s->access, (s->naccess + 1) * sizeof *a);
    if (!a)
        return HX_ENOMEM;
    s->access = a;
    memmove(&a[pos + 1], &a[pos], (s->naccess - pos) * sizeof *a);
    snprintf(a[pos].node, sizeof a[pos].node, "%s", node);
    a[pos].n = n;
    s->naccess++;
    return HX_OK;
}

/* ---- state --------------------------------------------------------------- */

hx_mcrdt_t *hx_mcrdt_new(const char *tenant, const char *id)
{
    hx_mcrdt_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->id = strdup(id);
    s->tenant = strdup(tenant);
    if (!s->id || !s->tenant) {
        hx_mcrdt_free(s);
        return NULL;
    }
    return s;
}

/* Drops every component but identity and the tombstone: a delete really
 * removes the content. */
static void clear_body(hx_mcrdt_t *s)
{
    json_decref(s->ident.val);
    memset(&s->ident, 0, sizeof s->ident);
    for (int i = 0; i < HX_MF_N; i++) {
        json_decref(s->fields[i].val);
        memset(&s->fields[i], 0, sizeof s->fields[i]);
    }
    hx_dset_free(&s->content);
    named_free(s->tags, s->ntags);
    named_free(s->meta, s->nmeta);
    free(s->access);
    s->tags = s->meta = NULL;
    s->access = NULL;
    s->ntags = s->nmeta = s->naccess = 0;
}

void hx_mcrdt_free(hx_mcrdt_t *s)
{
    if (!s)
        return;
    clear_body(s);
    free(s->id);
    free(s->tenant);
    free(s);
}

static int named_join(hx_named_dset_t **arr, size_t *n, const hx_named_dset_t *src, size_t nsrc, int *changed)
{
    for (size_t i = 0; i < nsrc; i++) {
        hx_dset_t *d = hx_named_get(arr, n, src[i].name, 1);
        if (!d)
            return HX_ENOMEM;
        size_t nl = d->nlive, nd = d->ndead;
        int a, b, rc = dset_join(d, &src[i].set, &a, &b);
        if (rc)
            return rc;
        if (d->nlive != nl || d->ndead != nd)
            *changed = 1;
    }
    return HX_OK;
}

int hx_mcrdt_join(hx_mcrdt_t *dst, const hx_mcrdt_t *src, hx_crdt_strategy_t strat, hx_join_info_t *info)
{
    hx_join_info_t dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    int rc = HX_OK;
    if (dst == src)
        return HX_OK;
    if (src->del.hlc || dst->del.hlc) {
        /* Remove wins over every concurrent and later update. */
        int had_body = dst->del.hlc == 0;
        if (src->del.hlc && hx_stamp_cmp(&src->del, &dst->del) > 0) {
            dst->del = src->del;
            info->changed = 1;
        }
        if (had_body) {
            clear_body(dst);
            info->changed = 1;
        }
        return HX_OK;
    }
    if (src->ident.val && (!dst->ident.val || hx_stamp_cmp(&src->ident.st, &dst->ident.st) < 0)) {
        if ((rc = hx_lww_set(&dst->ident, &src->ident.st, src->ident.val)))
            return rc;
        info->changed = 1;
    }
    for (int i = 0; i < HX_MF_N; i++)
        if (src->fields[i].val && hx_stamp_cmp(&src->fields[i].st, &dst->fields[i].st) > 0) {
            if ((rc = hx_lww_set(&dst->fields[i], &src->fields[i].st, src->fields[i].val)))
                return rc;
            info->changed = 1;
        }
    hx_dset_t *c = &dst->content;
    size_t nl = c->nlive, nd = c->ndead;
    int from_dst, from_src;
    if ((rc = dset_join(c, &src->content, &from_dst, &from_src)))
        return rc;
    info->concurrent = from_dst && from_src;
    if (strat == HX_CRDT_LWW && (rc = dset_prune_lww(c)))
        return rc;
    info->siblings = c->nlive;
    if (c->nlive != nl || c->ndead != nd)
        info->changed = 1;
    if ((rc = named_join(&dst->tags, &dst->ntags, src->tags, src->ntags, &info->changed)) ||
        (rc = named_join(&dst->meta, &dst->nmeta, src->meta, src->nmeta, &info->changed)))
        return rc;
    for (size_t i = 0; i < src->naccess; i++) {
        uint64_t before = 0;
        for (size_t j = 0; j < dst->naccess; j++)
            if (strcmp(dst->access[j].node, src->access[i].node) == 0)
                before = dst->access[j].n;
        if (src->access[i].n > before) {
            if ((rc = hx_counter_set(dst, src->access[i].node, src->access[i].n)))
                return rc;
            info->changed = 1;
        }
    }
    return HX_OK;
}

uint64_t hx_mcrdt_max_hlc(const hx_mcrdt_t *s)
{
    uint64_t m = s->del.hlc > s->ident.st.hlc ? s->del.hlc : s->ident.st.hlc;
#define UP(x) if ((x) > m) m = (x)
    for (int i = 0; i < HX_MF_N; i++)
        UP(s->fields[i].st.hlc);
    for (size_t i = 0; i < s->content.nlive; i++)
        UP(s->content.live[i].dot.hlc);
    for (size_t i = 0; i < s->content.ndead; i++)
        UP(s->content.dead[i].hlc);
    for (size_t t = 0; t < s->ntags; t++)
        for (size_t i = 0; i < s->tags[t].set.nlive; i++)
            UP(s->tags[t].set.live[i].dot.hlc);
    for (size_t t = 0; t < s->nmeta; t++)
        for (size_t i = 0; i < s->meta[t].set.nlive; i++)
            UP(s->meta[t].set.live[i].dot.hlc);
#undef UP
    return m;
}

/* ---- canonical JSON ------------------------------------------------------ */

static json_t *stamp_json(const hx_stamp_t *st, json_t *val, int with_val)
{
    json_t *a = json_array();
    json_array_append_new(a, json_integer((json_int_t)st->hlc));
    json_array_append_new(a, json_string(st->node));
    if (with_val)
        json_array_append(a, val ? val : json_null());
    return a;
}

static json_t *dset_json(const hx_dset_t *d, int with_val)
{
    json_t *o = json_object(), *live = json_array(), *dead = json_array();
    for (size_t i = 0; i < d->nlive; i++)
        json_array_append_new(live, stamp_json(&d->live[i].dot, d->live[i].val, with_val));
    for (size_t i = 0; i < d->ndead; i++)
        json_array_append_new(dead, stamp_json(&d->dead[i], NULL, 0));
    json_object_set_new(o, "live", live);
    json_object_set_new(o, "dead", dead);
    return o;
}

static json_t *named_json(const hx_named_dset_t *arr, size_t n, int with_val)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        if (arr[i].set.nlive || arr[i].set.ndead)
            json_object_set_new(o, arr[i].name, dset_json(&arr[i].set, with_val));
    return o;
}

int hx_mcrdt_to_json(const hx_mcrdt_t *s, json_t **out)
{
    json_t *o = json_object();
    if (!o)
        return HX_ENOMEM;
    json_object_set_new(o, "id", json_string(s->id));
    json_object_set_new(o, "tenant", json_string(s->tenant));
    if (s->del.hlc) {
        json_object_set_new(o, "del", stamp_json(&s->del, NULL, 0));
        *out = o;
        return HX_OK;
    }
    if (s->ident.val)
        json_object_set_new(o, "ident", stamp_json(&s->ident.st, s->ident.val, 1));
    json_t *f = json_object();
    for (int i = 0; i < HX_MF_N; i++)
        if (s->fields[i].val)
            json_object_set_new(f, hx_mfield_names[i], stamp_json(&s->fields[i].st, s->fields[i].val, 1));
    if (json_object_size(f))
        json_object_set_new(o, "f", f);
    else
        json_decref(f);
    if (s->content.nlive || s->content.ndead)
        json_object_set_new(o, "content", dset_json(&s->content, 1));
    /* Empty named sets are left out (as by the hash), so the canonical text
     * decodes to a state that re-encodes identically. */
    json_t *tags = s->ntags ? named_json(s->tags, s->ntags, 0) : NULL,
           *meta = s->nmeta ? named_json(s->meta, s->nmeta, 1) : NULL;
    if (json_object_size(tags))
        json_object_set(o, "tags", tags);
    if (json_object_size(meta))
        json_object_set(o, "meta", meta);
    json_decref(tags);
    json_decref(meta);
    if (s->naccess) {
        json_t *a = json_object();
        for (size_t i = 0; i < s->naccess; i++)
            json_object_set_new(a, s->access[i].node, json_integer((json_int_t)s->access[i].n));
        json_object_set_new(o, "access", a);
    }
    *out = o;
    return HX_OK;
}

static int parse_stamp(const json_t *a, hx_stamp_t *st, json_t **val, hx_err_t *err)
{
    size_t want = val ? 3 : 2;
    if (!json_is_array(a) || json_array_size(a) != want || !json_is_integer(json_array_get(a, 0)) ||
        json_integer_value(json_array_get(a, 0)) <= 0 || !json_is_string(json_array_get(a, 1)) ||
        json_string_length(json_array_get(a, 1)) == 0 || json_string_length(json_array_get(a, 1)) >= HX_MNODE_MAX)
        return hx_err_set(err, HX_ECORRUPT, "memory state: malformed stamp (want [hlc, \"node\"%s])",
                          val ? ", value" : "");
    stamp_set(st, (uint64_t)json_integer_value(json_array_get(a, 0)), json_string_value(json_array_get(a, 1)));
    if (val)
        *val = json_array_get(a, 2);
    return HX_OK;
}

static int parse_dset(const json_t *o, hx_dset_t *d, int with_val, hx_err_t *err)
{
    const json_t *live = json_object_get(o, "live"), *dead = json_object_get(o, "dead");
    if (!json_is_object(o) || (live && !json_is_array(live)) || (dead && !json_is_array(dead)))
        return hx_err_set(err, HX_ECORRUPT, "memory state: a dotted set needs arrays 'live' and 'dead'");
    size_t i;
    json_t *e;
    int rc;
    json_array_foreach(dead, i, e)
    {
        hx_stamp_t st;
        if ((rc = parse_stamp(e, &st, NULL, err)) || (rc = hx_dset_kill(d, &st)))
            return rc;
    }
    json_array_foreach(live, i, e)
    {
        hx_stamp_t st;
        json_t *v = NULL;
        if ((rc = parse_stamp(e, &st, with_val ? &v : NULL, err)))
            return rc;
        if ((rc = hx_dset_add(d, &st, with_val && !json_is_null(v) ? v : NULL)))
            return rc;
    }
    return HX_OK;
}

static int parse_named(const json_t *o, hx_named_dset_t **arr, size_t *n, int with_val, hx_err_t *err)
{
    if (!json_is_object(o))
        return hx_err_set(err, HX_ECORRUPT, "memory state: tags/meta must be objects");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        hx_dset_t *d = hx_named_get(arr, n, k, 1);
        if (!d)
            return HX_ENOMEM;
        int rc = parse_dset(v, d, with_val, err);
        if (rc)
            return rc;
    }
    return HX_OK;
}

int hx_mcrdt_from_json(const json_t *j, hx_mcrdt_t **out, hx_err_t *err)
{
    *out = NULL;
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *tenant = json_string_value(json_object_get(j, "tenant"));
    if (!json_is_object(j) || !id || !*id || !tenant || !*tenant)
        return hx_err_set(err, HX_ECORRUPT, "memory state: 'id' and 'tenant' are required strings");
    hx_mcrdt_t *s = hx_mcrdt_new(tenant, id);
    if (!s)
        return hx_err_set(err, HX_ENOMEM, "out of memory decoding a memory state");
    int rc = HX_OK;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
        json_t *val = NULL;
        if (!strcmp(k, "id") || !strcmp(k, "tenant"))
            continue;
        if (!strcmp(k, "del")) {
            rc = parse_stamp(v, &s->del, NULL, err);
        } else if (!strcmp(k, "ident")) {
            hx_stamp_t st;
            if (!(rc = parse_stamp(v, &st, &val, err)))
                rc = hx_lww_set(&s->ident, &st, val);
        } else if (!strcmp(k, "f")) {
            if (!json_is_object(v)) {
                rc = hx_err_set(err, HX_ECORRUPT, "memory state: 'f' must be an object");
                break;
            }
            const char *fk;
            json_t *fv;
            json_object_foreach(v, fk, fv)
            {
                int idx = -1;
                for (int i = 0; i < HX_MF_N; i++)
                    if (!strcmp(fk, hx_mfield_names[i]))
                        idx = i;
                hx_stamp_t st;
                if (idx < 0)
                    rc = hx_err_set(err, HX_ECORRUPT, "memory state: unknown field '%s'", fk);
                else if (!(rc = parse_stamp(fv, &st, &val, err)))
                    rc = hx_lww_set(&s->fields[idx], &st, val);
                if (rc)
                    break;
            }
        } else if (!strcmp(k, "content")) {
            rc = parse_dset(v, &s->content, 1, err);
        } else if (!strcmp(k, "tags")) {
            rc = parse_named(v, &s->tags, &s->ntags, 0, err);
        } else if (!strcmp(k, "meta")) {
            rc = parse_named(v, &s->meta, &s->nmeta, 1, err);
        } else if (!strcmp(k, "access")) {
            const char *nk;
            json_t *nv;
            if (!json_is_object(v))
                rc = hx_err_set(err, HX_ECORRUPT, "memory state: 'access' must be an object");
            else
                json_object_foreach(v, nk, nv)
                {
                    if (!json_is_integer(nv) || json_integer_value(nv) < 0 || strlen(nk) >= HX_MNODE_MAX) {
                        rc = hx_err_set(err, HX_ECORRUPT, "memory state: bad access counter for '%s'", nk);
                        break;
                    }
                    if ((rc = hx_counter_set(s, nk, (uint64_t)json_integer_value(nv))))
                        break;
                }
        } else {
            rc = hx_err_set(err, HX_ECORRUPT, "memory state: unknown key '%s'", k);
        }
        if (rc)
            break;
    }
    if (!rc && s->del.hlc)
        clear_body(s);
    if (rc) {
        if (rc == HX_ENOMEM)
            hx_err_set(err, HX_ENOMEM, "out of memory decoding a memory state");
        hx_mcrdt_free(s);
        return rc;
    }
    *out = s;
    return HX_OK;
}

/* ---- digest hash ----------------------------------------------------------
 * A dot names exactly one write and so one value, so the stamps of a state
 * determine it: hashing them (in canonical order) is equivalent to hashing
 * the canonical text, and about two orders of magnitude cheaper. */

static void put_stamp(hx_buf_t *b, char tag, const hx_stamp_t *st)
{
    hx_buf_putc(b, (unsigned char)tag);
    hx_buf_put_u64le(b, st->hlc);
    hx_buf_puts(b, st->node);
    hx_buf_putc(b, 0);
}

static void put_dset(hx_buf_t *b, const hx_dset_t *d)
{
    for (size_t i = 0; i < d->nlive; i++)
        put_stamp(b, 'L', &d->live[i].dot);
    for (size_t i = 0; i < d->ndead; i++)
        put_stamp(b, 'D', &d->dead[i]);
}

uint64_t hx_mcrdt_hash(const hx_mcrdt_t *s, hx_buf_t *scratch)
{
    /* Covers exactly what hx_mcrdt_to_json writes: a state and its decoded
     * canonical copy (what anti-entropy ships) must hash equal, or their
     * buckets would differ forever. */
    hx_buf_reset(scratch);
    hx_buf_puts(scratch, s->tenant);
    hx_buf_putc(scratch, 0);
    hx_buf_puts(scratch, s->id);
    hx_buf_putc(scratch, 0);
    put_stamp(scratch, 'X', &s->del);
    if (s->del.hlc)
        return hx_hash64(scratch->data, scratch->len);
    if (s->ident.val)
        put_stamp(scratch, 'I', &s->ident.st);
    for (int i = 0; i < HX_MF_N; i++)
        if (s->fields[i].val)
            put_stamp(scratch, (char)('0' + i), &s->fields[i].st);
    put_dset(scratch, &s->content);
    for (size_t t = 0; t < s->ntags; t++) {
        if (!s->tags[t].set.nlive && !s->tags[t].set.ndead)
            continue;
        hx_buf_putc(scratch, 'T');
        hx_buf_puts(scratch, s->tags[t].name);
        hx_buf_putc(scratch, 0);
        put_dset(scratch, &s->tags[t].set);
    }
    for (size_t t = 0; t < s->nmeta; t++) {
        if (!s->meta[t].set.nlive && !s->meta[t].set.ndead)
            continue;
        hx_buf_putc(scratch, 'M');
        hx_buf_puts(scratch, s->meta[t].name);
        hx_buf_putc(scratch, 0);
        put_dset(scratch, &s->meta[t].set);
    }
    for (size_t i = 0; i < s->naccess; i++) {
        hx_buf_putc(scratch, 'A');
        hx_buf_puts(scratch, s->access[i].node);
        hx_buf_putc(scratch, 0);
        hx_buf_put_u64le(scratch, s->access[i].n);
    }
    return hx_hash64(scratch->data, scratch->len);
}
