/* The embedded graph backend: the in-memory store (store.c, apply.c,
 * fulltext.c, query.c) made durable by a write-ahead log and snapshots (wal.c,
 * snapshot.c). apply writes the batch's WAL record, then changes memory, so
 * a batch and its cursors are one transaction: after a crash the record is
 * either intact (replayed) or torn (cut, and the consumer reads the batch
 * again from its older cursor). A maintenance thread fsyncs the WAL for
 * fsync=interval and writes a snapshot every graph.snapshot_interval_seconds
 * (or past 256 MiB of WAL). */
#include "graph/embedded/persist.h"
#include "helix/hx_clock.h"
#include "helix/hx_health.h"
#include "helix/hx_logger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAPSHOT_WAL_BYTES (256ull << 20)

typedef struct eb {
    es_store_t st;
    char dir[PATH_MAX];
    es_wal_t wal;
    pthread_mutex_t mu;          /* WAL, seq, snapshots: one writer at a time */
    pthread_cond_t cv;
    uint64_t seq;                /* last record applied */
    int lock_fd;
    int flush_ms, snap_s;
    int64_t last_snap_ms, snap_bytes;
    int broken;                  /* memory and WAL disagree (ENOMEM mid-batch): refuse writes */
    char problem[HX_ERR_MSG_MAX];
    int stop, started;
    pthread_t th;
    hx_buf_t rec, frame;         /* reused per batch */
} eb_t;

static int snapshot_now(eb_t *b, hx_err_t *err)
{
    hx_buf_t img = HX_BUF_INIT;
    pthread_mutex_lock(&b->mu);
    uint64_t seq = b->seq;
    if (seq && b->wal.bytes == 0 && b->snap_bytes) {
        pthread_mutex_unlock(&b->mu);
        return HX_OK; /* nothing new since the last one */
    }
    pthread_rwlock_rdlock(&b->st.lock);
    int rc = es_snapshot_encode(&b->st, seq, &img);
    pthread_rwlock_unlock(&b->st.lock);
    /* New records go to a new file, so the ones this snapshot covers can go. */
    if (!rc)
        rc = es_wal_rotate(&b->wal, seq + 1, err);
    else
        rc = hx_err_set(err, rc, "out of memory writing a graph snapshot");
    pthread_mutex_unlock(&b->mu);
    if (!rc)
        rc = es_snapshot_save(b->dir, seq, &img, err);
    if (!rc) {
        pthread_mutex_lock(&b->mu);
        es_wal_drop_old(&b->wal);
        b->snap_bytes = (int64_t)img.len;
        b->last_snap_ms = hx_now_ms();
        pthread_mutex_unlock(&b->mu);
    }
    hx_buf_free(&img);
    return rc;
}

static void *maint_main(void *arg)
{
    eb_t *b = arg;
    int period = b->flush_ms < 1000 ? b->flush_ms : 1000;
    pthread_mutex_lock(&b->mu);
    while (!b->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)period * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&b->cv, &b->mu, &ts);
        if (b->stop)
            break;
        if (b->wal.fsync == HX_FSYNC_INTERVAL && es_wal_sync(&b->wal))
            snprintf(b->problem, sizeof b->problem, "fsync of the graph WAL failed: %s", strerror(errno));
        int due = b->wal.bytes > 0 &&
                  (hx_now_ms() - b->last_snap_ms >= (int64_t)b->snap_s * 1000 || b->wal.bytes >= SNAPSHOT_WAL_BYTES);
        if (!due || b->broken)
            continue;
        pthread_mutex_unlock(&b->mu);
        hx_err_t err = {0};
        if (snapshot_now(b, &err))
            HX_WARN("graph", "graph snapshot failed (the WAL keeps everything meanwhile): %s", err.msg);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* ---- ops ---- */

static void eb_close(void *impl)
{
    eb_t *b = impl;
    if (b->started) {
        pthread_mutex_lock(&b->mu);
        b->stop = 1;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
        pthread_join(b->th, NULL);
    }
    if (b->wal.fd >= 0 && !b->broken && b->wal.bytes > 0) {
        hx_err_t err = {0};
        if (snapshot_now(b, &err))
            HX_WARN("graph", "graph snapshot at close failed (the WAL is replayed on the next start): %s", err.msg);
    }
    es_wal_close(&b->wal);
    es_store_free(&b->st);
    if (b->lock_fd >= 0)
        close(b->lock_fd);
    hx_buf_free(&b->rec);
    hx_buf_free(&b->frame);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
}

static int eb_health(void *impl, char *detail, size_t len)
{
    eb_t *b = impl;
    pthread_mutex_lock(&b->mu);
    int broken = b->broken;
    char problem[HX_ERR_MSG_MAX];
    snprintf(problem, sizeof problem, "%s", b->problem);
    pthread_mutex_unlock(&b->mu);
    if (broken) {
        snprintf(detail, len, "%s", problem);
        return HX_EIO;
    }
    if (hx_health_check_dir_writable(b->dir, detail, len))
        return HX_EIO;
    if (problem[0]) {
        snprintf(detail, len, "%s", problem);
        return HX_EIO;
    }
    pthread_rwlock_rdlock(&b->st.lock);
    int64_t n = b->st.live_nodes, r = b->st.live_rels;
    pthread_rwlock_unlock(&b->st.lock);
    snprintf(detail, len, "%s: %" PRId64 " nodes, %" PRId64 " relationships", b->dir, n, r);
    return HX_OK;
}

static int eb_apply(void *impl, const hx_graph_batch_t *bt, hx_err_t *err)
{
    eb_t *b = impl;
    pthread_mutex_lock(&b->mu);
    int rc;
    if (b->broken) {
        rc = hx_err_set(err, HX_EIO, "the embedded graph store refuses writes: %s", b->problem);
        goto out;
    }
    hx_buf_reset(&b->rec);
    hx_buf_reset(&b->frame);
    if ((rc = es_batch_encode(bt, &b->rec)) || (rc = es_wal_frame(&b->frame, b->seq + 1, b->rec.data, b->rec.len))) {
        rc = hx_err_set(err, rc, rc == HX_ETOOBIG ? "a graph batch of %zu ops is too big for one WAL record; lower "
                                                   "graph.batch_size" : "out of memory encoding %zu graph ops",
                        bt->n_ops);
        goto out;
    }
    if ((rc = es_wal_append(&b->wal, &b->frame, err))) {
        snprintf(b->problem, sizeof b->problem, "%s", err ? err->msg : "WAL write failed");
        goto out;
    }
    b->problem[0] = 0;
    pthread_rwlock_wrlock(&b->st.lock);
    rc = es_store_apply(&b->st, bt);
    pthread_rwlock_unlock(&b->st.lock);
    if (rc) {
        /* The WAL has the batch and memory has part of it: only a restart
         * (replaying the WAL) makes them agree again. */
        b->broken = 1;
        snprintf(b->problem, sizeof b->problem,
                 "out of memory applying a graph batch; restart helix (the WAL holds every acknowledged batch)");
        rc = hx_err_set(err, HX_ENOMEM, "%s", b->problem);
        goto out;
    }
    b->seq++;
out:
    pthread_mutex_unlock(&b->mu);
    return rc;
}

static int eb_cursors(void *impl, hx_graph_cursor_t **out, size_t *n, hx_err_t *err)
{
    eb_t *b = impl;
    pthread_rwlock_rdlock(&b->st.lock);
    *n = b->st.n_cursors;
    *out = malloc((*n ? *n : 1) * sizeof **out);
    if (*out && *n)
        memcpy(*out, b->st.cursors, *n * sizeof **out);
    pthread_rwlock_unlock(&b->st.lock);
    return *out ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory");
}

static int eb_get(void *impl, const char *tenant, const char *id, hx_graph_result_t *out, hx_err_t *err)
{
    eb_t *b = impl;
    pthread_rwlock_rdlock(&b->st.lock);
    int rc = es_get(&b->st, tenant, id, out, err);
    pthread_rwlock_unlock(&b->st.lock);
    return rc;
}

static int eb_related(void *impl, const hx_graph_related_q_t *q, hx_graph_result_t *out, hx_err_t *err)
{
    eb_t *b = impl;
    pthread_rwlock_rdlock(&b->st.lock);
    int rc = es_related(&b->st, q, out, err);
    pthread_rwlock_unlock(&b->st.lock);
    return rc;
}

static int eb_search(void *impl, const hx_graph_search_q_t *q, hx_graph_result_t *out, hx_err_t *err)
{
    eb_t *b = impl;
    pthread_rwlock_rdlock(&b->st.lock);
    int rc = es_ft_search(&b->st, q, out, err);
    pthread_rwlock_unlock(&b->st.lock);
    return rc;
}

static int eb_path(void *impl, const hx_graph_path_q_t *q, hx_graph_result_t *out, hx_err_t *err)
{
    eb_t *b = impl;
    pthread_rwlock_rdlock(&b->st.lock);
    int rc = es_path(&b->st, q, out, err);
    pthread_rwlock_unlock(&b->st.lock);
    return rc;
}

static int eb_stats(void *impl, hx_graph_stats_t *out, hx_err_t *err)
{
    eb_t *b = impl;
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&b->st.lock);
    out->nodes = b->st.live_nodes;
    out->relationships = b->st.live_rels;
    pthread_rwlock_unlock(&b->st.lock);
    pthread_mutex_lock(&b->mu);
    out->store_bytes = b->snap_bytes + (int64_t)b->wal.bytes;
    pthread_mutex_unlock(&b->mu);
    out->cache_hits = atomic_load(&b->st.reads);
    out->cache_misses = atomic_load(&b->st.loaded);
    return HX_OK;
}

static const hx_graph_backend_ops_t eb_ops = {
    .name = "embedded",
    .close = eb_close,
    .health = eb_health,
    .apply = eb_apply,
    .cursors = eb_cursors,
    .get = eb_get,
    .related = eb_related,
    .search = eb_search,
    .path = eb_path,
    .stats = eb_stats,
};

/* ---- open ---- */

typedef struct {
    eb_t *b;
    uint64_t records, ops;
} replay_ctx_t;

static int replay_one(void *ctx, uint64_t seq, const unsigned char *p, size_t n)
{
    replay_ctx_t *r = ctx;
    hx_graph_ops_t ops = {0};
    hx_graph_cursor_t *cur = NULL;
    size_t nc = 0;
    hx_err_t err = {0};
    int rc = es_batch_decode(p, n, &ops, &cur, &nc, &err);
    if (rc) {
        HX_ERROR("graph", "WAL record %" PRIu64 ": %s", seq, err.msg);
    } else {
        hx_graph_batch_t bt = {ops.ops, ops.n, cur, nc};
        rc = es_store_apply(&r->b->st, &bt);
        r->records++;
        r->ops += ops.n;
    }
    hx_graph_ops_free(&ops);
    free(cur);
    return rc;
}

static int mkdirs(const char *dir)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

int hx_graph_embedded_open(const hx_graph_opts_t *o, const hx_graph_backend_ops_t **ops, void **impl, hx_err_t *err)
{
    if (!o->dir || !o->dir[0])
        return hx_err_set(err, HX_EINVAL, "the embedded graph store needs a directory (serve: <data_dir>/graph)");
    if (strlen(o->dir) >= PATH_MAX - 64)
        return hx_err_set(err, HX_EINVAL, "graph store directory path is too long");
    eb_t *b = calloc(1, sizeof *b);
    if (!b)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    b->lock_fd = -1;
    b->wal.fd = -1;
    b->flush_ms = o->cfg->event_log.flush_interval_ms;
    b->snap_s = o->cfg->graph.snapshot_interval_seconds;
    snprintf(b->dir, sizeof b->dir, "%s", o->dir);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    int rc;
    if (es_store_init(&b->st)) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        goto fail;
    }
    if (mkdirs(b->dir)) {
        rc = hx_err_set(err, HX_EIO, "cannot create graph store directory %s: %s", b->dir, strerror(errno));
        goto fail;
    }
    char lock[PATH_MAX + 8];
    snprintf(lock, sizeof lock, "%s/LOCK", b->dir);
    b->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (b->lock_fd < 0 || flock(b->lock_fd, LOCK_EX | LOCK_NB)) {
        rc = hx_err_set(err, HX_EUNAVAIL, "graph store %s is in use by another process (or not writable: %s)",
                        b->dir, strerror(errno));
        goto fail;
    }
    uint64_t snap_seq = 0;
    uint64_t t0 = hx_mono_ns();
    if ((rc = es_snapshot_load(&b->st, b->dir, &snap_seq, &b->snap_bytes, err)))
        goto fail;
    replay_ctx_t rctx = {b, 0, 0};
    if ((rc = es_wal_open(&b->wal, b->dir, o->cfg->event_log.fsync, snap_seq, replay_one, &rctx, &b->seq, err)))
        goto fail;
    atomic_fetch_add(&b->st.loaded, rctx.ops);
    if (snap_seq || rctx.records)
        HX_INFO("graph", "graph store %s: snapshot at record %" PRIu64 ", %" PRIu64 " WAL records (%" PRIu64
                " ops) replayed; %" PRId64 " nodes, %" PRId64 " relationships in %.0f ms", b->dir, snap_seq,
                rctx.records, rctx.ops, b->st.live_nodes, b->st.live_rels, (double)(hx_mono_ns() - t0) / 1e6);
    b->last_snap_ms = hx_now_ms();
    if (pthread_create(&b->th, NULL, maint_main, b)) {
        rc = hx_err_set(err, HX_EIO, "cannot start the graph store's maintenance thread");
        goto fail;
    }
    b->started = 1;
    *ops = &eb_ops;
    *impl = b;
    return HX_OK;
fail:
    es_wal_close(&b->wal);
    es_store_free(&b->st);
    if (b->lock_fd >= 0)
        close(b->lock_fd);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
    return rc;
}
