/* Columnar row batches and the typed row adders. */
#include "analytics/analytics_int.h"

#include <stdlib.h>
#include <string.h>

int hx_an_batch_init(hx_an_batch_t *b, hx_an_table_t t)
{
    memset(b, 0, sizeof *b);
    if (!hx_an_table(t))
        return HX_EINVAL;
    b->table = t;
    return HX_OK;
}

void hx_an_batch_reset(hx_an_batch_t *b)
{
    b->rows = 0;
    for (int c = 0; c < HX_AN_MAX_COLS; c++)
        b->cols[c].str_len = 0;
}

void hx_an_batch_free(hx_an_batch_t *b)
{
    for (int c = 0; c < HX_AN_MAX_COLS; c++) {
        free(b->cols[c].i);
        free(b->cols[c].f);
        free(b->cols[c].off);
        free(b->cols[c].str);
    }
    hx_an_table_t t = b->table;
    memset(b, 0, sizeof *b);
    b->table = t;
}

static int grow(hx_an_batch_t *b)
{
    const hx_an_table_def_t *d = hx_an_table(b->table);
    size_t cap = b->cap ? b->cap * 2 : 1024;
    for (int c = 0; c < d->ncols; c++) {
        hx_an_col_t *col = &b->cols[c];
        hx_an_type_t ty = d->cols[c].type;
        if (ty == HX_AN_T_STRING) {
            uint32_t *o = realloc(col->off, (cap + 1) * sizeof *o);
            if (!o)
                return HX_ENOMEM;
            if (!col->off)
                o[0] = 0;
            col->off = o;
        } else if (ty == HX_AN_T_FLOAT64) {
            double *f = realloc(col->f, cap * sizeof *f);
            if (!f)
                return HX_ENOMEM;
            col->f = f;
        } else {
            int64_t *i = realloc(col->i, cap * sizeof *i);
            if (!i)
                return HX_ENOMEM;
            col->i = i;
        }
    }
    b->cap = cap;
    return HX_OK;
}

int hx_an_batch_add_row(hx_an_batch_t *b, size_t *row)
{
    const hx_an_table_def_t *d = hx_an_table(b->table);
    if (!d)
        return HX_EINVAL;
    if (b->rows == b->cap && grow(b))
        return HX_ENOMEM;
    size_t r = b->rows++;
    for (int c = 0; c < d->ncols; c++) {
        hx_an_col_t *col = &b->cols[c];
        switch (d->cols[c].type) {
        case HX_AN_T_STRING:
            if (r == 0)
                col->off[0] = 0;
            col->off[r + 1] = col->off[r];
            break;
        case HX_AN_T_FLOAT64: col->f[r] = 0; break;
        default: col->i[r] = 0; break;
        }
    }
    if (row)
        *row = r;
    return HX_OK;
}

int an_col_reserve(hx_an_col_t *c, size_t need)
{
    if (need > UINT32_MAX)
        return HX_ETOOBIG;
    if (need > c->str_cap) {
        size_t cap = c->str_cap ? c->str_cap : 4096;
        while (cap < need)
            cap *= 2;
        char *p = realloc(c->str, cap);
        if (!p)
            return HX_ENOMEM;
        c->str = p;
        c->str_cap = cap;
    }
    return HX_OK;
}

int hx_an_batch_set_str(hx_an_batch_t *b, int col, const char *s, size_t n)
{
    hx_an_col_t *c = &b->cols[col];
    if (!b->rows || !c->off)
        return HX_EINVAL;
    size_t r = b->rows - 1;
    size_t start = c->off[r];
    size_t need = start + n;
    int rc = an_col_reserve(c, need);
    if (rc)
        return rc;
    if (n)
        memcpy(c->str + start, s, n);
    c->off[r + 1] = (uint32_t)need;
    c->str_len = need;
    return HX_OK;
}

static int set_s(hx_an_batch_t *b, int col, const char *s)
{
    return s && *s ? hx_an_batch_set_str(b, col, s, strlen(s)) : HX_OK;
}

static int oom(hx_err_t *err)
{
    return hx_err_set(err, HX_ENOMEM, "out of memory adding an analytics row");
}

static int want_table(const hx_an_batch_t *b, hx_an_table_t t, hx_err_t *err)
{
    if (b->table != t)
        return hx_err_set(err, HX_EINVAL, "batch is for table %s, not %s", hx_an_table(b->table)->name,
                          hx_an_table(t)->name);
    return HX_OK;
}

int hx_an_batch_add_provider(hx_an_batch_t *b, const char *tenant, const hx_an_provider_row_t *r, hx_err_t *err)
{
    size_t i;
    int rc = want_table(b, HX_AN_PROVIDER_METRICS, err);
    if (rc)
        return rc;
    if (hx_an_batch_add_row(b, &i))
        return oom(err);
    hx_an_col_t *c = b->cols;
    c[1].i[i] = r->timestamp;
    c[6].i[i] = r->round;
    c[7].f[i] = r->response_time_ms;
    c[8].i[i] = r->prompt_tokens;
    c[9].i[i] = r->completion_tokens;
    c[10].i[i] = r->tokens_used;
    c[11].f[i] = r->confidence;
    c[12].i[i] = r->success ? 1 : 0;
    if (set_s(b, 0, tenant) || set_s(b, 2, r->provider) || set_s(b, 3, r->model) || set_s(b, 4, r->request_id) ||
        set_s(b, 5, r->debate_id) || set_s(b, 13, r->error_type))
        return oom(err);
    return HX_OK;
}

int hx_an_batch_add_debate(hx_an_batch_t *debates, hx_an_batch_t *parts, const char *tenant,
                           const hx_an_debate_row_t *r, hx_err_t *err)
{
    size_t i;
    int rc = want_table(debates, HX_AN_DEBATE_METRICS, err);
    if (!rc && parts)
        rc = want_table(parts, HX_AN_DEBATE_PARTICIPANTS, err);
    if (rc)
        return rc;
    if (r->nparticipants && !parts)
        return hx_err_set(err, HX_EINVAL, "a debate with participants needs a debate_participants batch");
    if (hx_an_batch_add_row(debates, &i))
        return oom(err);
    hx_an_col_t *c = debates->cols;
    c[1].i[i] = r->timestamp;
    c[5].i[i] = r->rounds;
    c[8].f[i] = r->confidence;
    c[9].f[i] = r->duration_ms;
    c[11].i[i] = (int64_t)r->nparticipants;
    if (set_s(debates, 0, tenant) || set_s(debates, 2, r->debate_id) || set_s(debates, 3, r->conversation_id) ||
        set_s(debates, 4, r->topic) || set_s(debates, 6, r->winner_provider) ||
        set_s(debates, 7, r->winner_model) || set_s(debates, 10, r->outcome))
        return oom(err);
    for (size_t k = 0; k < r->nparticipants; k++) {
        const hx_an_participant_row_t *p = &r->participants[k];
        size_t j;
        if (hx_an_batch_add_row(parts, &j))
            return oom(err);
        hx_an_col_t *pc = parts->cols;
        pc[1].i[j] = r->timestamp;
        pc[6].f[j] = p->response_time_ms;
        pc[7].i[j] = p->tokens_used;
        pc[8].f[j] = p->confidence;
        pc[9].i[j] = p->won ? 1 : 0;
        if (set_s(parts, 0, tenant) || set_s(parts, 2, r->debate_id) || set_s(parts, 3, p->provider) ||
            set_s(parts, 4, p->model) || set_s(parts, 5, p->position))
            return oom(err);
    }
    return HX_OK;
}

int hx_an_batch_add_conversation(hx_an_batch_t *b, const char *tenant, const hx_an_conversation_row_t *r,
                                 hx_err_t *err)
{
    size_t i;
    int rc = want_table(b, HX_AN_CONVERSATION_METRICS, err);
    if (rc)
        return rc;
    if (hx_an_batch_add_row(b, &i))
        return oom(err);
    hx_an_col_t *c = b->cols;
    int64_t ts = r->timestamp;
    c[1].i[i] = ts - ((ts % 3600) + 3600) % 3600;
    c[4].i[i] = r->messages_added;
    c[5].i[i] = r->messages_updated;
    c[6].i[i] = r->messages_deleted;
    c[7].i[i] = (int64_t)r->tokens;
    c[8].i[i] = r->role_user;
    c[9].i[i] = r->role_assistant;
    c[10].i[i] = r->role_system;
    c[11].i[i] = r->role_tool;
    c[12].i[i] = r->completed;
    if (set_s(b, 0, tenant) || set_s(b, 2, r->conversation_id) || set_s(b, 3, r->user_id))
        return oom(err);
    return HX_OK;
}
