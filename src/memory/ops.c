/* The public CRUD and query calls of the memory engine. A write is: stamp
 * with the HLC, build the delta against the current state (so it supersedes
 * exactly the versions this node saw), append it to the WAL, join it, wait
 * for the group commit, then queue it for publishing. */
#include "helix/hx_clock.h"
#include "memory/engine.h"

#include <stdlib.h>
#include <string.h>

/* Called with m->mu held: logs the delta as op (origin, seq, hlc, wall).
 * The text is written directly (hx_mcrdt_to_text), not built as JSON and
 * dumped: it is what the WAL keeps and what the publisher sends. */
static int log_op(hx_memory_t *m, const hx_mcrdt_t *d, const hx_stamp_t *st, uint64_t *lsn, char **text,
                  size_t *len, uint64_t *seq, hx_err_t *err)
{
    *seq = ++m->seq;
    hx_buf_t b = HX_BUF_INIT;
    size_t cap = 0;
    if (hx_mop_to_text(m->node, *seq, st->hlc, hx_now_us(), d, &b) ||
        (*len = b.len, cap = b.cap, !(*text = hx_buf_steal(&b)))) {
        hx_buf_free(&b);
        m->seq--;
        return hx_err_set(err, HX_ENOMEM, "out of memory encoding a memory op");
    }
    /* The text waits in the publish queue (for as long as the broker is
     * down): it keeps its size, not the reserve it was written into. */
    char *fit = *len + 256 < cap ? realloc(*text, *len + 1) : NULL;
    if (fit)
        *text = fit;
    if (hx_mwal_append(m->wal, *text, *len, lsn)) {
        free(*text);
        *text = NULL;
        m->seq--; /* nothing was applied: the seq stays free, no gap for peers to wait on */
        return hx_err_set(err, HX_EIO, "the memory write-ahead log failed (disk full or I/O error); see the log");
    }
    return HX_OK;
}

/* After the lock: durability, then publishing. Takes text (the publish
 * queue keeps it). */
static int finish_write(hx_memory_t *m, const hx_mcrdt_t *d, uint64_t lsn, char *text, size_t len, uint64_t seq,
                        int wait, hx_err_t *err)
{
    int rc = wait ? hx_mwal_wait(m->wal, lsn, err) : HX_OK;
    if (!rc && m->broker)
        hx_msync_enqueue_owned(m, d->tenant, d->id, text, len, seq);
    else
        free(text);
    return rc;
}

/* One local write, from its stamp to its publishing. */
typedef struct pending {
    hx_stamp_t st;
    hx_mcrdt_t *d;     /* the delta (owned) */
    char *text;        /* the logged op (owned until finish_pending) */
    size_t len;        /* of text */
    uint64_t lsn, seq;
} pending_t;

/* Called with m->mu held: logs the delta, then joins it into the state, so
 * a write the WAL refused is never visible. (A join only fails on ENOMEM;
 * the logged op is then applied at the next start, like any acked write.) */
static int commit_locked(hx_memory_t *m, pending_t *p, const char *what, hx_err_t *err)
{
    int rc = log_op(m, p->d, &p->st, &p->lsn, &p->text, &p->len, &p->seq, err);
    if (rc)
        return rc;
    hx_join_info_t info;
    if ((rc = hx_memory_apply_state(m, p->d, 0, &info)))
        return hx_err_set(err, rc, "out of memory %s", what);
    return HX_OK;
}

/* After the lock: a committed write waits for durability and is queued for
 * publishing; a failed one drops *out. Frees what p owns. */
static int finish_pending(hx_memory_t *m, pending_t *p, int rc, json_t **out, hx_err_t *err)
{
    if (!rc)
        rc = finish_write(m, p->d, p->lsn, p->text, p->len, p->seq, 1, err);
    else
        free(p->text);
    if (rc && out) {
        json_decref(*out);
        *out = NULL;
    }
    hx_mcrdt_free(p->d);
    return rc;
}

static json_t *write_info(const hx_stamp_t *st, const hx_mcrdt_t *d)
{
    json_t *sup = json_array();
    for (size_t i = 0; i < d->content.ndead; i++)
        json_array_append_new(sup, json_pack("[I,s]", (json_int_t)d->content.dead[i].hlc, d->content.dead[i].node));
    return json_pack("{s:I,s:s,s:o}", "hlc", (json_int_t)st->hlc, "node", st->node, "superseded", sup);
}

static void stamp_now(hx_memory_t *m, hx_stamp_t *st)
{
    st->hlc = hx_hlc_now(&m->hlc, hx_now_ms());
    snprintf(st->node, sizeof st->node, "%s", m->node);
}

static int expired(const hx_mcrdt_t *s, int64_t now)
{
    json_t *e = s->fields[HX_MF_EXPIRES_AT].val;
    return json_is_integer(e) && json_integer_value(e) <= now;
}

/* Live memory of tenant, or HX_ENOTFOUND with a message. Called with mu held. */
static hx_mitem_t *find_live(hx_memory_t *m, const char *tenant, const char *id, hx_err_t *err)
{
    if (hx_mmodel_validate_id(id, err))
        return NULL;
    hx_mitem_t *it = hx_mstore_get(&m->store, tenant, id);
    if (!it || !it->s->ident.val || it->s->del.hlc) {
        hx_err_set(err, HX_ENOTFOUND, "memory '%s' does not exist%s", id,
                   it && it->s->del.hlc ? " (it was deleted)" : "");
        return NULL;
    }
    return it;
}

/* write_info as text, the same bytes json_dumps gives. */
static int write_info_text(const hx_stamp_t *st, const hx_mcrdt_t *d, hx_buf_t *b)
{
    int rc = hx_buf_puts(b, "{\"hlc\":");
    rc = rc ? rc : hx_mtext_u64(b, st->hlc);
    rc = rc ? rc : hx_buf_puts(b, ",\"node\":");
    rc = rc ? rc : hx_mtext_str(b, st->node);
    rc = rc ? rc : hx_buf_puts(b, ",\"superseded\":[");
    for (size_t i = 0; i < d->content.ndead && !rc; i++) {
        rc = hx_buf_puts(b, i ? ",[" : "[");
        rc = rc ? rc : hx_mtext_u64(b, d->content.dead[i].hlc);
        rc = rc ? rc : hx_buf_putc(b, ',');
        rc = rc ? rc : hx_mtext_str(b, d->content.dead[i].node);
        rc = rc ? rc : hx_buf_putc(b, ']');
    }
    return rc ? rc : hx_buf_puts(b, "]}");
}

/* hx_memory_create, answering with the view as a tree (out) or as text
 * appended to text. */
static int create(hx_memory_t *m, const char *tenant, const hx_memory_write_t *w, json_t **out, hx_buf_t *text,
                  hx_err_t *err)
{
    if (out)
        *out = NULL;
    pending_t p = {0};
    size_t text_start = text ? text->len : 0;
    int oom = 0;
    pthread_mutex_lock(&m->mu);
    stamp_now(m, &p.st);
    int rc = hx_mmodel_create_delta(m, tenant, w, &p.st, &p.d, err);
    if (rc)
        goto unlock;
    hx_mitem_t *it = hx_mstore_get(&m->store, tenant, p.d->id);
    if (it && (it->s->ident.val || it->s->del.hlc)) {
        rc = hx_err_set(err, HX_EEXIST, "memory '%s' already exists%s; use PATCH to change it", p.d->id,
                        it->s->del.hlc ? " (deleted: ids are not reused)" : "");
        goto unlock;
    }
    if ((rc = commit_locked(m, &p, "storing a memory", err)))
        goto unlock;
    if (out) {
        *out = hx_mmodel_view(m, hx_mstore_get(&m->store, tenant, p.d->id));
        json_object_set_new(*out, "write", write_info(&p.st, p.d));
    } else if (text) {
        /* the view without its '}', then ,"write":{...}}, into one allocation */
        oom = hx_buf_reserve(text, 512 + (w->content ? strlen(w->content) + strlen(w->content) / 8 : 0)) ||
              hx_mmodel_view_text(m, hx_mstore_get(&m->store, tenant, p.d->id), text) ||
              (text->len--, hx_buf_puts(text, ",\"write\":")) || write_info_text(&p.st, p.d, text) ||
              hx_buf_putc(text, '}');
    }
unlock:
    pthread_mutex_unlock(&m->mu);
    rc = finish_pending(m, &p, rc, out, err);
    if (!rc && oom)
        rc = hx_err_set(err, HX_ENOMEM, "out of memory writing the answer; the memory was stored");
    if (rc && text)
        text->len = text_start;
    return rc;
}

int hx_memory_create(hx_memory_t *m, const char *tenant, const hx_memory_write_t *w, json_t **out, hx_err_t *err)
{
    return create(m, tenant, w, out, NULL, err);
}

int hx_memory_create_text(hx_memory_t *m, const char *tenant, const hx_memory_write_t *w, hx_buf_t *out,
                          hx_err_t *err)
{
    return create(m, tenant, w, NULL, out, err);
}

int hx_memory_update(hx_memory_t *m, const char *tenant, const char *id, const hx_memory_write_t *w, json_t **out,
                     hx_err_t *err)
{
    if (out)
        *out = NULL;
    pending_t p = {0};
    int rc = HX_OK;
    pthread_mutex_lock(&m->mu);
    hx_mitem_t *it = find_live(m, tenant, id, err);
    if (!it) {
        rc = err && err->code ? err->code : HX_ENOTFOUND;
        goto unlock;
    }
    stamp_now(m, &p.st);
    if ((rc = hx_mmodel_update_delta(m, it->s, w, &p.st, &p.d, err)) ||
        (rc = commit_locked(m, &p, "updating a memory", err)))
        goto unlock;
    if (out) {
        *out = hx_mmodel_view(m, it);
        json_object_set_new(*out, "write", write_info(&p.st, p.d));
    }
unlock:
    pthread_mutex_unlock(&m->mu);
    return finish_pending(m, &p, rc, out, err);
}

int hx_memory_delete(hx_memory_t *m, const char *tenant, const char *id, hx_err_t *err)
{
    pending_t p = {0};
    int rc = HX_OK;
    pthread_mutex_lock(&m->mu);
    if (!find_live(m, tenant, id, err)) {
        rc = err && err->code ? err->code : HX_ENOTFOUND;
        goto unlock;
    }
    stamp_now(m, &p.st);
    if (!(p.d = hx_mcrdt_new(tenant, id))) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory deleting a memory");
        goto unlock;
    }
    p.d->del = p.st;
    rc = commit_locked(m, &p, "deleting a memory", err);
unlock:
    pthread_mutex_unlock(&m->mu);
    return finish_pending(m, &p, rc, NULL, err);
}

int hx_memory_get(hx_memory_t *m, const char *tenant, const char *id, int count_access, json_t **out,
                  hx_err_t *err)
{
    *out = NULL;
    hx_mcrdt_t *d = NULL;
    char *text = NULL;
    size_t len = 0;
    uint64_t lsn = 0, seq = 0;
    int rc = HX_OK;
    pthread_mutex_lock(&m->mu);
    hx_mitem_t *it = find_live(m, tenant, id, err);
    if (!it) {
        rc = err && err->code ? err->code : HX_ENOTFOUND;
        goto unlock;
    }
    if (expired(it->s, hx_now_ms())) {
        rc = hx_err_set(err, HX_ENOTFOUND, "memory '%s' expired", id);
        goto unlock;
    }
    if (count_access) {
        /* The access counter is a grow-only counter: this node's slot + 1,
         * logged and replicated like any write, but the read does not wait
         * for its fsync. */
        uint64_t mine = 0;
        for (size_t i = 0; i < it->s->naccess; i++)
            if (!strcmp(it->s->access[i].node, m->node))
                mine = it->s->access[i].n;
        hx_stamp_t st;
        stamp_now(m, &st);
        d = hx_mcrdt_new(tenant, id);
        hx_join_info_t info;
        if (d && !hx_counter_set(d, m->node, mine + 1) && log_op(m, d, &st, &lsn, &text, &len, &seq, NULL) == 0 &&
            !hx_memory_apply_state(m, d, 0, &info)) {
            /* logged */
        } else {
            hx_mcrdt_free(d);
            d = NULL;
            free(text);
            text = NULL;
        }
    }
    *out = hx_mmodel_view(m, it);
unlock:
    pthread_mutex_unlock(&m->mu);
    if (d)
        finish_write(m, d, lsn, text, len, seq, 0, NULL);
    hx_mcrdt_free(d);
    return rc;
}

typedef struct hit {
    hx_mitem_t *it;
    double score;
} hit_t;

static int by_score(const void *a, const void *b)
{
    const hit_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return strcmp(x->it->s->id, y->it->s->id);
}

int hx_mquery_matches(const hx_mitem_t *it, const char *tenant, const hx_memory_query_t *q, int64_t now)
{
    const hx_mcrdt_t *s = it->s;
    if (s->del.hlc || !s->ident.val || strcmp(s->tenant, tenant) || expired(s, now))
        return 0;
    const char *u = hx_mmodel_user(s), *t = hx_mmodel_str_field(s, HX_MF_TYPE),
               *c = hx_mmodel_str_field(s, HX_MF_CATEGORY);
    return (!q->user_id || (u && !strcmp(u, q->user_id))) && (!q->type || (t && !strcmp(t, q->type))) &&
           (!q->category || (c && !strcmp(c, q->category))) && (!q->tag || hx_mmodel_has_tag(s, q->tag));
}

int hx_mquery_run(hx_memory_t *m, const char *tenant, const hx_memory_query_t *q, hx_mscore_fn fn, void *ctx,
                  json_t **out, hx_err_t *err)
{
    int limit = q->limit ? q->limit : 50;
    if (limit < 1 || limit > 1000)
        return hx_err_set(err, HX_EINVAL, "limit must be between 1 and 1000");
    pthread_mutex_lock(&m->mu);
    hit_t *hits = malloc((m->store.count + 1) * sizeof *hits);
    if (!hits) {
        pthread_mutex_unlock(&m->mu);
        return hx_err_set(err, HX_ENOMEM, "out of memory listing memories");
    }
    size_t n = 0;
    int64_t now = hx_now_ms();
    for (size_t i = 0; i < m->store.cap; i++) {
        hx_mitem_t *it = m->store.slots[i];
        if (!it || !hx_mquery_matches(it, tenant, q, now))
            continue;
        double sc = fn ? fn(ctx, it->s) : (double)it->updated_ms;
        if (fn && sc <= 0)
            continue;
        hits[n].it = it;
        hits[n++].score = sc;
    }
    qsort(hits, n, sizeof *hits, by_score);
    json_t *arr = json_array();
    for (size_t i = 0; i < n && i < (size_t)limit; i++) {
        json_t *v = hx_mmodel_view(m, hits[i].it);
        if (fn)
            json_object_set_new(v, "score", json_real(hits[i].score));
        json_array_append_new(arr, v);
    }
    pthread_mutex_unlock(&m->mu);
    free(hits);
    *out = json_pack("{s:o,s:I,s:I}", "memories", arr, "count", (json_int_t)json_array_size(arr), "total_matches",
                     (json_int_t)n);
    return *out ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory listing memories");
}

int hx_memory_list(hx_memory_t *m, const char *tenant, const hx_memory_query_t *q, json_t **out, hx_err_t *err)
{
    *out = NULL;
    return hx_mquery_run(m, tenant, q, NULL, NULL, out, err);
}

int hx_memory_conflicts(hx_memory_t *m, const char *tenant, int64_t since_ms, int limit, json_t **out,
                        hx_err_t *err)
{
    *out = NULL;
    if (limit == 0)
        limit = 100;
    if (limit < 1 || limit > 1000)
        return hx_err_set(err, HX_EINVAL, "limit must be between 1 and 1000");
    json_t *arr = json_array();
    pthread_mutex_lock(&m->mu);
    size_t start = m->nconflicts < HX_MEM_CONFLICTS_MAX ? 0 : m->conflict_head;
    for (size_t k = 0; k < m->nconflicts && json_array_size(arr) < (size_t)limit; k++) {
        const hx_conflict_rec_t *r = &m->conflicts[(start + k) % HX_MEM_CONFLICTS_MAX];
        if (r->at_ms < since_ms || strcmp(r->tenant, tenant))
            continue;
        json_t *c = json_deep_copy(r->detail);
        json_object_set_new(c, "detected_at", json_integer(r->at_ms));
        json_array_append_new(arr, c);
    }
    uint64_t total = m->conflicts_resolved;
    pthread_mutex_unlock(&m->mu);
    *out = json_pack("{s:o,s:I,s:I}", "conflicts", arr, "count", (json_int_t)json_array_size(arr),
                     "conflicts_resolved_total", (json_int_t)total);
    return *out ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int hx_memory_canonical(hx_memory_t *m, hx_buf_t *out)
{
    pthread_mutex_lock(&m->mu);
    char **lines = calloc(m->store.count + 1, sizeof *lines);
    size_t n = 0;
    int rc = lines ? HX_OK : HX_ENOMEM;
    for (size_t i = 0; !rc && i < m->store.cap; i++) {
        hx_mitem_t *it = m->store.slots[i];
        json_t *j = NULL;
        if (!it)
            continue;
        if (hx_mcrdt_to_json(it->s, &j) || !(lines[n++] = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)))
            rc = HX_ENOMEM;
        json_decref(j);
    }
    pthread_mutex_unlock(&m->mu);
    if (lines)
        qsort(lines, n, sizeof *lines, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (!rc && lines[i] && (hx_buf_puts(out, lines[i]) || hx_buf_putc(out, '\n')))
            rc = HX_ENOMEM;
        free(lines[i]);
    }
    free(lines);
    return rc;
}
