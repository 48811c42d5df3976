/* The embedded analytics backend: opening and recovering the store, inserts
 * into mem parts, ingest commits with offsets, the background flusher and
 * merger, stats and health. */
#include "analytics/embedded/emb.h"
#include "helix/hx_clock.h"
#include "helix/hx_health.h"
#include "helix/hx_logger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_p(const char *dir)
{
    char tmp[HX_CFG_STR + 64];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

static int table_ttl(const hx_config_t *cfg, hx_an_table_t t)
{
    switch (t) {
    case HX_AN_PROVIDER_METRICS: return cfg->analytics.ttl_days.provider_metrics;
    case HX_AN_DEBATE_METRICS: return cfg->analytics.ttl_days.debate_metrics;
    case HX_AN_DEBATE_PARTICIPANTS: return cfg->analytics.ttl_days.debate_participants;
    default: return cfg->analytics.ttl_days.conversation_metrics;
    }
}

/* The rollup as defined plus coarser levels kept from it at commit time
 * (whole days; only the first dim; no dims), so a query reads the fewest
 * entries that answer it: GROUP BY provider over two months merges 300
 * daily states, not 21,600 hourly ones. */
static int init_levels(an_table_t *t, const hx_an_rollup_def_t *rd)
{
    int64_t buckets[2] = {rd->bucket_s, 86400};
    int nb = rd->bucket_s < 86400 ? 2 : 1, n = 0;
    int dims[3] = {rd->ndims, 1, 0}, nd = rd->ndims > 1 ? 3 : rd->ndims == 1 ? 2 : 1;
    if (!(t->lv = calloc((size_t)(nb * nd), sizeof *t->lv)))
        return HX_ENOMEM;
    for (int b = 0; b < nb; b++)
        for (int d = 0; d < nd; d++) {
            int rc = n == 0 ? an_rollup_init(&t->lv[0], rd) : an_rollup_init_level(&t->lv[n], rd, buckets[b], dims[d]);
            if (rc)
                return rc;
            n++;
            t->nlv = n;
        }
    t->rollup = &t->lv[0];
    return HX_OK;
}

static size_t mem_rows(an_table_t *t, uint64_t *oldest_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i]->mem) {
            n += t->parts[i]->rows;
            if (oldest_ms && (!*oldest_ms || t->parts[i]->created_ms < *oldest_ms))
                *oldest_ms = t->parts[i]->created_ms;
        }
    return n;
}

/* Parts in the fullest partition (disk parts); caller holds t->lock. */
static size_t max_parts(const an_table_t *t, int64_t *which)
{
    size_t best = 0;
    for (size_t i = 0; i < t->nparts; i++) {
        if (t->parts[i]->mem)
            continue;
        size_t n = 0;
        for (size_t k = 0; k < t->nparts; k++)
            n += !t->parts[k]->mem && t->parts[k]->partition == t->parts[i]->partition;
        if (n > best) {
            best = n;
            if (which)
                *which = t->parts[i]->partition;
        }
    }
    return best;
}

static int parts_limit(an_store_t *s, an_table_t *t, hx_err_t *err)
{
    int64_t part = 0;
    pthread_rwlock_rdlock(&t->lock);
    size_t n = max_parts(t, &part);
    pthread_rwlock_unlock(&t->lock);
    if ((int64_t)n >= s->cfg.analytics.parts_to_throw_insert)
        return hx_err_set(err, HX_EAGAIN,
                          "too many parts (%zu) in partition %lld of %s: merges are behind inserts; retry later or "
                          "raise analytics.parts_to_throw_insert (%d)",
                          n, (long long)part, t->def->name, s->cfg.analytics.parts_to_throw_insert);
    return HX_OK;
}

static void wake(an_store_t *s)
{
    pthread_mutex_lock(&s->maint_mu);
    s->flush_req = 1;
    pthread_cond_signal(&s->maint_cv);
    pthread_mutex_unlock(&s->maint_mu);
}

static int emb_insert(void *impl, const hx_an_batch_t *b, hx_err_t *err)
{
    an_store_t *s = impl;
    an_table_t *t = &s->tabs[b->table];
    int rc = parts_limit(s, t, err);
    if (rc)
        return rc;
    pthread_rwlock_rdlock(&t->lock);
    size_t buffered = mem_rows(t, NULL);
    pthread_rwlock_unlock(&t->lock);
    if (buffered > (size_t)s->cfg.analytics.batch_rows * 8 + b->rows)
        return hx_err_set(err, HX_EAGAIN,
                          "%zu rows of %s wait to be written: inserts are ahead of the disk; retry later", buffered,
                          t->def->name);
    an_part_t *p = NULL;
    size_t dropped = 0;
    int64_t now = s->now_override ? s->now_override : hx_now_ms() / 1000;
    if ((rc = an_mempart_from_batch(t, b, an_ttl_cutoff(t, now), 1, &p, &dropped, err)))
        return rc;
    t->rows_expired += dropped;
    if (!p)
        return HX_OK;
    /* Rollups take these rows when they are flushed into a part; until then
     * a rollup query aggregates mem parts from their rows. */
    pthread_rwlock_wrlock(&t->lock);
    if (t->nparts == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        an_part_t **np = realloc(t->parts, cap * sizeof *np);
        if (np) {
            t->parts = np;
            t->cap = cap;
        } else {
            rc = HX_ENOMEM;
        }
    }
    if (!rc) {
        t->parts[t->nparts++] = p;
        t->rows_inserted += p->rows;
    }
    size_t now_buffered = mem_rows(t, NULL);
    pthread_rwlock_unlock(&t->lock);
    if (rc) {
        an_part_unref(p);
        return hx_err_set(err, HX_ENOMEM, "out of memory inserting %zu rows into %s", b->rows, t->def->name);
    }
    if (now_buffered >= (size_t)s->cfg.analytics.batch_rows)
        wake(s);
    return HX_OK;
}

static int emb_flush(void *impl, hx_err_t *err)
{
    an_store_t *s = impl;
    pthread_mutex_lock(&s->flush_mu);
    int rc = an_flush_mem(s, err);
    pthread_mutex_unlock(&s->flush_mu);
    return rc;
}

static int emb_ingest_commit(void *impl, hx_an_batch_t *const *batches, size_t n, const hx_an_offsets_t *next,
                             hx_err_t *err)
{
    an_store_t *s = impl;
    an_part_t **mem = calloc(n ? n : 1, sizeof *mem);
    an_part_t **built[HX_AN_NTABLES] = {0};
    size_t nbuilt[HX_AN_NTABLES] = {0};
    an_change_t ch[HX_AN_NTABLES];
    size_t nch = 0;
    int rc = mem ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory storing an ingest batch");
    int64_t now = s->now_override ? s->now_override : hx_now_ms() / 1000;
    for (size_t i = 0; i < n && !rc; i++)
        if (batches[i]->rows)
            rc = parts_limit(s, &s->tabs[batches[i]->table], err);
    for (size_t i = 0; i < n && !rc; i++) {
        an_table_t *t = &s->tabs[batches[i]->table];
        size_t dropped = 0;
        rc = an_mempart_from_batch(t, batches[i], an_ttl_cutoff(t, now), 0, &mem[i], &dropped, err);
        t->rows_expired += dropped;
    }
    for (int ti = 0; ti < HX_AN_NTABLES && !rc; ti++) {
        an_part_t *src[64];
        size_t ns = 0;
        for (size_t i = 0; i < n && ns < 64; i++)
            if (mem[i] && (int)batches[i]->table == ti)
                src[ns++] = mem[i];
        if (!ns)
            continue;
        int64_t *parts = NULL;
        size_t np = 0;
        if ((rc = an_partitions_of(src, ns, &parts, &np, err)))
            break;
        built[ti] = calloc(np ? np : 1, sizeof *built[ti]);
        if (!built[ti])
            rc = hx_err_set(err, HX_ENOMEM, "out of memory storing an ingest batch");
        for (size_t k = 0; k < np && !rc; k++) {
            an_part_t *p = NULL;
            rc = an_part_build(&s->tabs[ti], src, ns, parts[k], INT64_MIN, 0, &p, err);
            if (!rc && p)
                built[ti][nbuilt[ti]++] = p;
        }
        free(parts);
        if (!rc && nbuilt[ti])
            ch[nch++] = (an_change_t){&s->tabs[ti], built[ti], nbuilt[ti], NULL, 0};
    }
    if (!rc) {
        pthread_mutex_lock(&s->commit_mu);
        rc = an_commit(s, ch, nch, next, 1, err);
        pthread_mutex_unlock(&s->commit_mu);
        if (!rc)
            for (int ti = 0; ti < HX_AN_NTABLES; ti++)
                nbuilt[ti] = 0; /* the tables own them now */
    }
    for (int ti = 0; ti < HX_AN_NTABLES; ti++) {
        for (size_t k = 0; k < nbuilt[ti]; k++) {
            built[ti][k]->doomed = 1;
            an_part_unref(built[ti][k]);
        }
        free(built[ti]);
    }
    for (size_t i = 0; i < n && mem; i++)
        an_part_unref(mem[i]);
    free(mem);
    return rc;
}

static int emb_stored_offsets(void *impl, hx_an_offsets_t *out, hx_err_t *err)
{
    an_store_t *s = impl;
    pthread_mutex_lock(&s->commit_mu);
    *out = s->offsets;
    pthread_mutex_unlock(&s->commit_mu);
    return HX_OK;
}

static int emb_query(void *impl, hx_sql_query_t *q, const hx_an_exec_opts_t *o, hx_an_result_t *out, hx_err_t *err)
{
    return an_exec(impl, q, o, out, err);
}

static int emb_table_stats(void *impl, hx_an_table_t tid, hx_an_table_stats_t *out, hx_err_t *err)
{
    an_store_t *s = impl;
    an_table_t *t = &s->tabs[tid];
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&t->lock);
    int64_t seen[256];
    size_t nseen = 0;
    for (size_t i = 0; i < t->nparts; i++) {
        an_part_t *p = t->parts[i];
        out->rows += p->rows;
        if (p->mem) {
            out->buffered_rows += p->rows;
            continue;
        }
        out->parts++;
        out->bytes_on_disk += p->bytes_disk;
        int dup = 0;
        for (size_t k = 0; k < nseen && !dup; k++)
            dup = seen[k] == p->partition;
        if (!dup && nseen < 256)
            seen[nseen++] = p->partition;
    }
    out->partitions = nseen;
    out->max_parts_in_partition = max_parts(t, NULL);
    out->merges = t->merges;
    out->rows_expired = t->rows_expired;
    pthread_rwlock_unlock(&t->lock);
    (void)err;
    return HX_OK;
}

static int emb_maintain(void *impl, int64_t now_s, hx_err_t *err)
{
    an_store_t *s = impl;
    pthread_mutex_lock(&s->flush_mu);
    int rc = an_flush_mem(s, err), did = 1;
    pthread_mutex_unlock(&s->flush_mu);
    pthread_mutex_lock(&s->merge_mu);
    for (int i = 0; i < 100000 && !rc && did; i++)
        rc = an_maintain_once(s, now_s, 1, &did, err);
    pthread_mutex_unlock(&s->merge_mu);
    return rc;
}

static uint64_t emb_memory_bytes(void *impl)
{
    an_store_t *s = impl;
    pthread_mutex_lock(&s->cache.mu);
    uint64_t b = s->cache.bytes;
    pthread_mutex_unlock(&s->cache.mu);
    for (int ti = 0; ti < HX_AN_NTABLES; ti++) {
        an_table_t *t = &s->tabs[ti];
        pthread_rwlock_rdlock(&t->lock);
        for (size_t i = 0; i < t->nparts; i++)
            b += t->parts[i]->mem ? t->parts[i]->bytes_mem : 0;
        if (t->rollup)
            b += an_rollup_bytes(t->rollup);
        pthread_rwlock_unlock(&t->lock);
        for (int c = 0; c < t->def->ncols; c++)
            b += t->dict[c].bytes;
    }
    return b;
}

static int emb_health(void *impl, char *detail, size_t len)
{
    an_store_t *s = impl;
    if (hx_health_check_dir_writable(s->dir, detail, len))
        return HX_EIO;
    pthread_mutex_lock(&s->maint_mu);
    int rc = s->health_rc;
    if (rc)
        snprintf(detail, len, "%s", s->health_detail);
    pthread_mutex_unlock(&s->maint_mu);
    if (rc)
        return rc;
    for (int ti = 0; ti < HX_AN_NTABLES; ti++) {
        hx_err_t e = {0};
        if (parts_limit(s, &s->tabs[ti], &e)) {
            snprintf(detail, len, "%s", e.msg);
            return HX_EAGAIN;
        }
    }
    uint64_t rows = 0, parts = 0;
    for (int ti = 0; ti < HX_AN_NTABLES; ti++) {
        hx_an_table_stats_t st;
        emb_table_stats(s, (hx_an_table_t)ti, &st, NULL);
        rows += st.rows;
        parts += st.parts;
    }
    snprintf(detail, len, "embedded column store at %s: %llu rows in %llu parts", s->dir, (unsigned long long)rows,
             (unsigned long long)parts);
    return HX_OK;
}

static void set_health(an_store_t *s, int rc, const char *msg)
{
    pthread_mutex_lock(&s->maint_mu);
    s->health_rc = rc;
    if (rc)
        snprintf(s->health_detail, sizeof s->health_detail, "background work failing: %s", msg);
    pthread_mutex_unlock(&s->maint_mu);
}

static void *maint_main(void *arg)
{
    an_store_t *s = arg;
    int interval = s->cfg.analytics.maintain_interval_ms;
    if (s->cfg.analytics.flush_ms < interval)
        interval = s->cfg.analytics.flush_ms;
    int64_t last_warn = 0;
    for (;;) {
        pthread_mutex_lock(&s->maint_mu);
        if (!s->stop && !s->flush_req) {
            struct timespec ts;
            hx_deadline_after_ms(&ts, interval);
            pthread_cond_timedwait(&s->maint_cv, &s->maint_mu, &ts);
        }
        int stop = s->stop;
        s->flush_req = 0;
        pthread_mutex_unlock(&s->maint_mu);
        if (stop)
            break;
        hx_err_t err = {0};
        int rc = HX_OK, flush = 0;
        uint64_t now_ms = (uint64_t)hx_now_ms();
        for (int ti = 0; ti < HX_AN_NTABLES; ti++) {
            uint64_t oldest = 0;
            pthread_rwlock_rdlock(&s->tabs[ti].lock);
            size_t n = mem_rows(&s->tabs[ti], &oldest);
            pthread_rwlock_unlock(&s->tabs[ti].lock);
            if (n >= (size_t)s->cfg.analytics.batch_rows ||
                (n && now_ms - oldest >= (uint64_t)s->cfg.analytics.flush_ms))
                flush = 1;
        }
        if (flush) {
            pthread_mutex_lock(&s->flush_mu);
            rc = an_flush_mem(s, &err);
            pthread_mutex_unlock(&s->flush_mu);
        }
        int did = 0;
        if (!rc) {
            pthread_mutex_lock(&s->merge_mu);
            rc = an_maintain_once(s, 0, 0, &did, &err);
            pthread_mutex_unlock(&s->merge_mu);
        }
        set_health(s, rc == HX_OK ? 0 : HX_EIO, err.msg);
        if (rc && now_ms - (uint64_t)last_warn > 10000) {
            HX_ERROR("analytics", "background flush/merge failed: %s (retrying)", err.msg);
            last_warn = (int64_t)now_ms;
        }
        if (did) { /* more merges may be due: go again soon */
            pthread_mutex_lock(&s->maint_mu);
            s->flush_req = 1;
            pthread_mutex_unlock(&s->maint_mu);
        }
    }
    return NULL;
}

static void store_free(an_store_t *s)
{
    for (int ti = 0; ti < HX_AN_NTABLES; ti++) {
        an_table_t *t = &s->tabs[ti];
        if (!t->def)
            continue;
        for (size_t i = 0; i < t->nparts; i++)
            an_part_unref(t->parts[i]);
        free(t->parts);
        for (int l = 0; l < t->nlv; l++)
            an_rollup_free(&t->lv[l]);
        free(t->lv);
        for (int c = 0; c < t->def->ncols; c++)
            if (t->dict[c].slots)
                an_dict_free(&t->dict[c]);
        pthread_rwlock_destroy(&t->lock);
    }
    an_cache_free(&s->cache);
    pthread_mutex_destroy(&s->commit_mu);
    pthread_mutex_destroy(&s->flush_mu);
    pthread_mutex_destroy(&s->merge_mu);
    pthread_mutex_destroy(&s->maint_mu);
    pthread_cond_destroy(&s->maint_cv);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s);
}

static void emb_close(void *impl)
{
    an_store_t *s = impl;
    if (!s)
        return;
    if (s->maint_started) {
        pthread_mutex_lock(&s->maint_mu);
        s->stop = 1;
        pthread_cond_signal(&s->maint_cv);
        pthread_mutex_unlock(&s->maint_mu);
        pthread_join(s->maint, NULL);
    }
    hx_err_t err = {0};
    if (emb_flush(s, &err))
        HX_ERROR("analytics", "flush at close failed: %s (buffered rows not from the log are lost)", err.msg);
    store_free(s);
}

static const hx_an_backend_ops_t emb_ops = {
    .name = "embedded",
    .close = emb_close,
    .health = emb_health,
    .insert = emb_insert,
    .flush = emb_flush,
    .ingest_commit = emb_ingest_commit,
    .stored_offsets = emb_stored_offsets,
    .query = emb_query,
    .table_stats = emb_table_stats,
    .maintain = emb_maintain,
    .memory_bytes = emb_memory_bytes,
};

int hx_an_embedded_open(const hx_analytics_opts_t *o, const hx_an_backend_ops_t **ops, void **impl, hx_err_t *err)
{
    an_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return hx_err_set(err, HX_ENOMEM, "out of memory opening the analytics store");
    s->cfg = *o->cfg;
    s->lock_fd = -1;
    s->metrics = o->metrics;
    s->fsync = o->cfg->event_log.fsync != HX_FSYNC_NEVER;
    pthread_mutex_init(&s->commit_mu, NULL);
    pthread_mutex_init(&s->flush_mu, NULL);
    pthread_mutex_init(&s->merge_mu, NULL);
    pthread_mutex_init(&s->maint_mu, NULL);
    pthread_cond_init(&s->maint_cv, NULL);
    an_cache_init(&s->cache, (uint64_t)o->cfg->analytics.cache_bytes);
    if (o->dir)
        snprintf(s->dir, sizeof s->dir, "%s", o->dir);
    else
        snprintf(s->dir, sizeof s->dir, "%s/analytics", o->cfg->node.data_dir);
    int rc = HX_OK;
    for (int ti = 0; ti < HX_AN_NTABLES && !rc; ti++) {
        an_table_t *t = &s->tabs[ti];
        t->st = s;
        t->def = hx_an_table((hx_an_table_t)ti);
        t->ttl_days = table_ttl(o->cfg, (hx_an_table_t)ti);
        pthread_rwlock_init(&t->lock, NULL);
        for (int c = 0; c < t->def->ncols && !rc; c++)
            if (t->def->cols[c].type == HX_AN_T_STRING && t->def->cols[c].low_cardinality)
                rc = an_dict_init(&t->dict[c]);
        for (int r = 0; r < HX_AN_NROLLUPS && !rc; r++) {
            const hx_an_rollup_def_t *rd = hx_an_rollup((hx_an_rollup_t)r);
            if (rd->table == (hx_an_table_t)ti)
                rc = init_levels(t, rd);
        }
    }
    if (rc) {
        store_free(s);
        return hx_err_set(err, HX_ENOMEM, "out of memory opening the analytics store");
    }
    if (mkdir_p(s->dir)) {
        rc = hx_err_set(err, HX_EIO, "cannot create analytics directory %s: %s", s->dir, strerror(errno));
        goto fail;
    }
    char path[HX_CFG_STR + 96];
    snprintf(path, sizeof path, "%s/LOCK", s->dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->lock_fd < 0) {
        rc = hx_err_set(err, HX_EIO, "cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB)) {
        rc = hx_err_set(err, HX_EUNAVAIL, "analytics store %s is in use by another process (one helix per data dir)",
                        s->dir);
        goto fail;
    }
    for (int ti = 0; ti < HX_AN_NTABLES; ti++) {
        snprintf(path, sizeof path, "%s/%s", s->dir, s->tabs[ti].def->name);
        if (mkdir(path, 0755) && errno != EEXIST) {
            rc = hx_err_set(err, HX_EIO, "cannot create %s: %s", path, strerror(errno));
            goto fail;
        }
    }
    if ((rc = an_recover(s, err)))
        goto fail;
    if (pthread_create(&s->maint, NULL, maint_main, s)) {
        rc = hx_err_set(err, HX_EIO, "cannot start the analytics maintenance thread");
        goto fail;
    }
    s->maint_started = 1;
    *ops = &emb_ops;
    *impl = s;
    return HX_OK;
fail:
    store_free(s);
    return rc;
}
