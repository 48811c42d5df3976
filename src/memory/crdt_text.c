/* The canonical text of a state written straight into a buffer: the same
 * bytes as json_dumps(hx_mcrdt_to_json(s), JSON_COMPACT), without building
 * the JSON tree first. Every memory write logs its delta this way (the WAL
 * op is also what gets published), so it is on the write path. */
#include "helix/hx_json.h"
#include "memory/crdt.h"

#include <stdio.h>
#include <string.h>

static int put_str(hx_buf_t *b, const char *s, size_t n) { return hx_json_write_str(b, s, n); }

static int put_cstr(hx_buf_t *b, const char *s) { return put_str(b, s, strlen(s)); }

int hx_mtext_str(hx_buf_t *b, const char *s)
{
    return put_cstr(b, s);
}

/* Decimal digits of v (printf costs more than the rest of a stamp). */
int hx_mtext_u64(hx_buf_t *b, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do
        tmp[sizeof tmp - ++n] = (char)('0' + v % 10);
    while ((v /= 10) && n < sizeof tmp);
    return hx_buf_append(b, tmp + sizeof tmp - n, n);
}

static int put_i64(hx_buf_t *b, int64_t v) { return hx_json_write_int(b, v); }

int hx_mtext_val(hx_buf_t *b, const json_t *v)
{
    return v ? hx_json_write(b, v) : hx_buf_append(b, "null", 4);
}

static int put_stamp(hx_buf_t *b, const hx_stamp_t *st, const json_t *val, int with_val)
{
    int rc = hx_buf_putc(b, '[');
    rc = rc ? rc : hx_mtext_u64(b, st->hlc);
    rc = rc ? rc : hx_buf_putc(b, ',');
    rc = rc ? rc : put_cstr(b, st->node);
    if (!rc && with_val)
        rc = hx_buf_putc(b, ',') ? HX_ENOMEM : hx_mtext_val(b, val);
    return rc ? rc : hx_buf_putc(b, ']');
}

static int put_dset(hx_buf_t *b, const hx_dset_t *d, int with_val)
{
    int rc = hx_buf_puts(b, "{\"live\":[");
    for (size_t i = 0; i < d->nlive && !rc; i++)
        rc = (i && hx_buf_putc(b, ',')) ? HX_ENOMEM : put_stamp(b, &d->live[i].dot, d->live[i].val, with_val);
    rc = rc ? rc : hx_buf_puts(b, "],\"dead\":[");
    for (size_t i = 0; i < d->ndead && !rc; i++)
        rc = (i && hx_buf_putc(b, ',')) ? HX_ENOMEM : put_stamp(b, &d->dead[i], NULL, 0);
    return rc ? rc : hx_buf_puts(b, "]}");
}

/* ,"key":{name:dset,...} for the non-empty sets; nothing when none is. */
static int put_named(hx_buf_t *b, const char *key, const hx_named_dset_t *arr, size_t n, int with_val)
{
    int rc = HX_OK, first = 1;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!arr[i].set.nlive && !arr[i].set.ndead)
            continue;
        if (first) {
            rc = hx_buf_append(b, ",\"", 2);
            rc = rc ? rc : hx_buf_puts(b, key);
            rc = rc ? rc : hx_buf_append(b, "\":{", 3);
        } else {
            rc = hx_buf_putc(b, ',');
        }
        first = 0;
        rc = rc ? rc : put_cstr(b, arr[i].name);
        rc = rc ? rc : hx_buf_putc(b, ':');
        rc = rc ? rc : put_dset(b, &arr[i].set, with_val);
    }
    return rc || first ? rc : hx_buf_putc(b, '}');
}

int hx_mcrdt_to_text(const hx_mcrdt_t *s, hx_buf_t *b)
{
    const hx_entry_t *top = s->content.nlive ? &s->content.live[s->content.nlive - 1] : NULL;
    if (hx_buf_reserve(b, 512 + (top && json_is_string(top->val) ? json_string_length(top->val) : 0)))
        return HX_ENOMEM; /* one allocation for a typical delta */
    int rc = hx_buf_puts(b, "{\"id\":");
    rc = rc ? rc : put_cstr(b, s->id);
    rc = rc ? rc : hx_buf_puts(b, ",\"tenant\":");
    rc = rc ? rc : put_cstr(b, s->tenant);
    if (s->del.hlc) {
        rc = rc ? rc : hx_buf_puts(b, ",\"del\":");
        rc = rc ? rc : put_stamp(b, &s->del, NULL, 0);
        return rc ? rc : hx_buf_putc(b, '}');
    }
    if (!rc && s->ident.val) {
        rc = hx_buf_puts(b, ",\"ident\":");
        rc = rc ? rc : put_stamp(b, &s->ident.st, s->ident.val, 1);
    }
    int first = 1;
    for (int i = 0; i < HX_MF_N && !rc; i++) {
        if (!s->fields[i].val)
            continue;
        rc = hx_buf_puts(b, first ? ",\"f\":{\"" : ",\"");
        rc = rc ? rc : hx_buf_puts(b, hx_mfield_names[i]);
        rc = rc ? rc : hx_buf_append(b, "\":", 2);
        first = 0;
        rc = rc ? rc : put_stamp(b, &s->fields[i].st, s->fields[i].val, 1);
    }
    if (!rc && !first)
        rc = hx_buf_putc(b, '}');
    if (!rc && (s->content.nlive || s->content.ndead)) {
        rc = hx_buf_puts(b, ",\"content\":");
        rc = rc ? rc : put_dset(b, &s->content, 1);
    }
    rc = rc ? rc : put_named(b, "tags", s->tags, s->ntags, 0);
    rc = rc ? rc : put_named(b, "meta", s->meta, s->nmeta, 1);
    for (size_t i = 0; i < s->naccess && !rc; i++) {
        rc = hx_buf_puts(b, i ? "," : ",\"access\":{");
        rc = rc ? rc : put_cstr(b, s->access[i].node);
        rc = rc ? rc : hx_buf_putc(b, ':');
        rc = rc ? rc : hx_mtext_u64(b, s->access[i].n);
    }
    if (!rc && s->naccess)
        rc = hx_buf_putc(b, '}');
    return rc ? rc : hx_buf_putc(b, '}');
}

int hx_mop_to_text(const char *origin, uint64_t seq, uint64_t hlc, int64_t wall_us, const hx_mcrdt_t *d,
                   hx_buf_t *out)
{
    const hx_entry_t *top = d->content.nlive ? &d->content.live[d->content.nlive - 1] : NULL;
    /* one allocation for a typical op: the delta's own reserve comes after the head */
    if (hx_buf_reserve(out, 640 + (top && json_is_string(top->val) ? json_string_length(top->val) : 0)))
        return HX_ENOMEM;
    int rc = hx_buf_puts(out, "{\"o\":");
    rc = rc ? rc : put_cstr(out, origin);
    rc = rc ? rc : hx_buf_puts(out, ",\"s\":");
    rc = rc ? rc : hx_mtext_u64(out, seq);
    rc = rc ? rc : hx_buf_puts(out, ",\"h\":");
    rc = rc ? rc : hx_mtext_u64(out, hlc);
    rc = rc ? rc : hx_buf_puts(out, ",\"w\":");
    rc = rc ? rc : put_i64(out, wall_us);
    rc = rc ? rc : hx_buf_puts(out, ",\"d\":");
    rc = rc ? rc : hx_mcrdt_to_text(d, out);
    return rc ? rc : hx_buf_putc(out, '}');
}
