/* Query results: building them (shared by the backends) and their JSON. */
#include "analytics/backend.h"

#include <stdlib.h>
#include <string.h>

typedef struct res_block {
    struct res_block *next;
    size_t used, cap;
    char data[];
} res_block_t;

typedef struct {
    res_block_t *head;
    size_t cell_cap;         /* rows allocated in cells */
} res_owner_t;

static res_owner_t *owner(hx_an_result_t *r)
{
    if (!r->owner_)
        r->owner_ = calloc(1, sizeof(res_owner_t));
    return r->owner_;
}

static char *res_alloc(hx_an_result_t *r, size_t n)
{
    res_owner_t *o = owner(r);
    if (!o)
        return NULL;
    res_block_t *b = o->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        if (!(b = malloc(sizeof *b + cap)))
            return NULL;
        b->next = o->head;
        b->used = 0;
        b->cap = cap;
        o->head = b;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

int hx_an_result_begin(hx_an_result_t *r, const hx_sql_query_t *q, hx_err_t *err)
{
    memset(r, 0, sizeof *r);
    r->ncols = (size_t)q->nitems;
    r->cols = calloc(r->ncols ? r->ncols : 1, sizeof *r->cols);
    if (!r->cols || !owner(r))
        goto oom;
    for (size_t c = 0; c < r->ncols; c++) {
        size_t n = strlen(q->items[c].name);
        if (!(r->cols[c].name = res_alloc(r, n + 1)))
            goto oom;
        memcpy(r->cols[c].name, q->items[c].name, n + 1);
        r->cols[c].type = q->items[c].e->type;
    }
    r->source = "raw";
    return HX_OK;
oom:
    hx_an_result_free(r);
    return hx_err_set(err, HX_ENOMEM, "out of memory building a query result");
}

int hx_an_result_begin_cols(hx_an_result_t *r, const char *const *names, const hx_an_type_t *types, size_t n,
                            hx_err_t *err)
{
    memset(r, 0, sizeof *r);
    r->ncols = n;
    r->cols = calloc(n ? n : 1, sizeof *r->cols);
    if (!r->cols || !owner(r))
        goto oom;
    for (size_t c = 0; c < n; c++) {
        size_t len = strlen(names[c]);
        if (!(r->cols[c].name = res_alloc(r, len + 1)))
            goto oom;
        memcpy(r->cols[c].name, names[c], len + 1);
        r->cols[c].type = types[c];
    }
    r->source = "raw";
    return HX_OK;
oom:
    hx_an_result_free(r);
    return hx_err_set(err, HX_ENOMEM, "out of memory building a query result");
}

hx_an_cell_t *hx_an_result_add_row(hx_an_result_t *r)
{
    res_owner_t *o = owner(r);
    if (!o)
        return NULL;
    if (r->nrows == o->cell_cap) {
        size_t cap = o->cell_cap ? o->cell_cap * 2 : 64;
        hx_an_cell_t *nc = realloc(r->cells, cap * (r->ncols ? r->ncols : 1) * sizeof *nc);
        if (!nc)
            return NULL;
        r->cells = nc;
        o->cell_cap = cap;
    }
    hx_an_cell_t *row = r->cells + r->nrows++ * r->ncols;
    memset(row, 0, r->ncols * sizeof *row);
    return row;
}

int hx_an_result_set_str(hx_an_result_t *r, hx_an_cell_t *cell, const char *s, size_t len)
{
    char *p = res_alloc(r, len + 1);
    if (!p)
        return HX_ENOMEM;
    if (len)
        memcpy(p, s, len);
    p[len] = 0;
    cell->s = p;
    cell->len = (uint32_t)len;
    return HX_OK;
}

void hx_an_result_free(hx_an_result_t *r)
{
    if (!r)
        return;
    res_owner_t *o = r->owner_;
    while (o && o->head) {
        res_block_t *n = o->head->next;
        free(o->head);
        o->head = n;
    }
    free(o);
    free(r->cols);
    free(r->cells);
    memset(r, 0, sizeof *r);
}

json_t *hx_an_cell_json(const hx_an_result_t *r, size_t row, size_t col)
{
    const hx_an_cell_t *c = hx_an_result_cell(r, row, col);
    if (c->is_null)
        return json_null();
    char buf[32];
    switch (r->cols[col].type) {
    case HX_AN_T_STRING: return json_stringn(c->s ? c->s : "", c->len);
    case HX_AN_T_FLOAT64: return json_real(c->f);
    case HX_AN_T_DATETIME: hx_sql_format_datetime(c->i, buf, sizeof buf); return json_string(buf);
    case HX_AN_T_DATE: hx_sql_format_date(c->i, buf, sizeof buf); return json_string(buf);
    default: return json_integer(c->i);
    }
}

json_t *hx_an_result_row_object(const hx_an_result_t *r, size_t row)
{
    json_t *o = json_object();
    for (size_t c = 0; o && c < r->ncols; c++)
        if (json_object_set_new(o, r->cols[c].name, hx_an_cell_json(r, row, c))) {
            json_decref(o);
            return NULL;
        }
    return o;
}

json_t *hx_an_result_json(const hx_an_result_t *r)
{
    json_t *cols = json_array(), *rows = json_array();
    int bad = !cols || !rows;
    for (size_t c = 0; !bad && c < r->ncols; c++)
        bad = json_array_append_new(cols, json_pack("{s:s,s:s}", "name", r->cols[c].name, "type",
                                                    hx_an_type_name(r->cols[c].type)));
    for (size_t i = 0; !bad && i < r->nrows; i++) {
        json_t *row = json_array();
        for (size_t c = 0; row && c < r->ncols && !bad; c++)
            bad = json_array_append_new(row, hx_an_cell_json(r, i, c));
        bad = bad || !row || json_array_append_new(rows, row);
    }
    json_t *out = bad ? NULL : json_object();
    if (!out) {
        json_decref(cols);
        json_decref(rows);
        return NULL;
    }
    json_object_set_new(out, "columns", cols);
    json_object_set_new(out, "rows", rows);
    json_object_set_new(out, "row_count", json_integer((json_int_t)r->nrows));
    json_object_set_new(out, "rows_read", json_integer((json_int_t)r->rows_read));
    json_object_set_new(out, "elapsed_ms", json_real(r->elapsed_ms));
    json_object_set_new(out, "source", json_string(r->source ? r->source : "raw"));
    if (r->rollup)
        json_object_set_new(out, "rollup", json_string(r->rollup));
    return out;
}
