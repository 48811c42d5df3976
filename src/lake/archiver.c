/* The archiver: consumer group helix-lake on the conversation, provider,
 * debate and entity topics. It buffers rows per dataset (the lake writer
 * keeps one open file per day partition) until lake.file_rows records or
 * lake.flush_ms, then flushes:
 *   1. every file is completed and fsynced under its hidden temp name, its
 *      key-value metadata holding the flush id and the offsets it covers;
 *   2. a manifest (files + offsets) is written atomically to <root>/_helix;
 *   3. the files are renamed into place (now visible), directories fsynced;
 *   4. the group offsets are committed; 5. the manifest is removed.
 * A crash before 2 leaves only hidden temp files (removed at start, their
 * records re-read from the committed offsets); after 2 the start rolls the
 * manifest forward (publishes what is left, commits its offsets). So a
 * restart neither loses nor duplicates rows and no partial file is visible. */
#include "lake/lake_int.h"
#include "lake/rows.h"

#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"
#include "helix/hx_fs.h"
#include "helix/hx_logger.h"
#include "helix/hx_topics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GROUP "helix-lake"
#define NDS 4

typedef struct arch_pos {
    char topic[HX_TOPIC_NAME_MAX + 1];
    int32_t partition;
    int64_t start, end;
} arch_pos_t;

struct lake_archiver {
    hx_lake_t *l;
    hx_broker_t *b;
    hx_consumer_t *c;
    pthread_t th;
    int started;
    volatile int stop;
    pthread_mutex_t mu;                /* guards the fields below */
    pthread_cond_t cv;
    int flush_req;
    uint64_t flush_gen;
    int64_t rows_archived, files_written, flushes, bad_records, dropped_deleted, buffered;
    char last_error[HX_ERR_MSG_MAX];
    /* Owned by the archiver thread. */
    hx_lake_writer_t *w[NDS];
    lake_row_plan_t plan[NDS];
    arch_pos_t *pos;
    size_t npos, pos_cap;
    int64_t records, first_ms;
    char manifest[1200];
    uint64_t seq;
    int64_t started_ms;
    int connected;                     /* under mu: joined the group and recovered */
};

static const char *const topics[] = {HX_TOPIC_CONVERSATIONS, HX_TOPIC_ANALYTICS_PROVIDERS,
                                     HX_TOPIC_ANALYTICS_DEBATES, HX_TOPIC_ENTITIES};

static int ds_index(const hx_lake_dataset_t *ds)
{
    for (size_t i = 0; i < hx_lake_ndatasets() && i < NDS; i++)
        if (hx_lake_dataset_at(i) == ds)
            return (int)i;
    return -1;
}

static void note_error(lake_archiver_t *a, const hx_err_t *err)
{
    pthread_mutex_lock(&a->mu);
    snprintf(a->last_error, sizeof a->last_error, "%s", err->msg);
    pthread_mutex_unlock(&a->mu);
    HX_WARN("lake", "archiver: %s", err->msg);
}

static int track(lake_archiver_t *a, const hx_msg_t *m)
{
    for (size_t i = 0; i < a->npos; i++)
        if (a->pos[i].partition == m->partition && strcmp(a->pos[i].topic, m->topic) == 0) {
            a->pos[i].end = m->offset + 1;
            return HX_OK;
        }
    if (a->npos == a->pos_cap) {
        size_t nc = a->pos_cap ? a->pos_cap * 2 : 16;
        arch_pos_t *np = realloc(a->pos, nc * sizeof *np);
        if (!np)
            return HX_ENOMEM;
        a->pos = np;
        a->pos_cap = nc;
    }
    arch_pos_t *p = &a->pos[a->npos++];
    snprintf(p->topic, sizeof p->topic, "%s", m->topic);
    p->partition = m->partition;
    p->start = m->offset;
    p->end = m->offset + 1;
    return HX_OK;
}

static json_t *offsets_json(const lake_archiver_t *a)
{
    json_t *o = json_array();
    for (size_t i = 0; i < a->npos; i++)
        json_array_append_new(o, json_pack("{s:s,s:i,s:I,s:I}", "topic", a->pos[i].topic, "partition",
                                           a->pos[i].partition, "start", (json_int_t)a->pos[i].start, "end",
                                           (json_int_t)a->pos[i].end));
    return o;
}

static void commit_positions(lake_archiver_t *a, json_t *offsets)
{
    size_t i;
    json_t *e;
    json_array_foreach(offsets, i, e) {
        const char *t = json_string_value(json_object_get(e, "topic"));
        int32_t p = (int32_t)json_integer_value(json_object_get(e, "partition"));
        int64_t end = json_integer_value(json_object_get(e, "end"));
        hx_err_t err = {0};
        if (!t || hx_consumer_commit_offset(a->c, t, p, end, &err))
            note_error(a, &err);
        hx_err_t ignore;
        (void)hx_consumer_seek(a->c, t, p, end, &ignore);   /* not assigned yet is fine */
    }
}

/* Steps 1-5 of the header. Holds the lake lock while files appear. */
static int flush(lake_archiver_t *a, hx_err_t *err)
{
    if (a->records == 0)
        return HX_OK;
    hx_lake_t *l = a->l;
    char fid[64];
    snprintf(fid, sizeof fid, "%lld-%llu", (long long)hx_now_ms(), (unsigned long long)a->seq++);
    json_t *offs = offsets_json(a);
    char *offs_text = json_dumps(offs, JSON_COMPACT);
    hx_lake_staged_t *all = NULL;
    size_t nall = 0;
    int rc = offs_text ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory");
    int64_t rows = 0;
    for (int d = 0; d < NDS; d++) {
        if (!a->w[d])
            continue;
        hx_lake_writer_t *w = a->w[d];
        a->w[d] = NULL;
        if (rc || (rc = hx_lake_writer_set_kv(w, "helix.lake.offsets", offs_text, err)) ||
            (rc = hx_lake_writer_set_kv(w, "helix.lake.flush", fid, err))) {
            hx_lake_writer_abort(w);
            continue;
        }
        hx_lake_staged_t *st;
        size_t n;
        if ((rc = hx_lake_writer_close_staged(w, &st, &n, err)))
            continue;
        hx_lake_staged_t *grown = realloc(all, (nall + n + 1) * sizeof *grown);
        if (!grown) {
            hx_lake_staged_free(st, n, 1);
            rc = hx_err_set(err, HX_ENOMEM, "out of memory");
            continue;
        }
        all = grown;
        memcpy(all + nall, st, n * sizeof *st);
        nall += n;
        free(st);
    }
    free(offs_text);
    json_t *man = NULL;
    if (rc == HX_OK) {
        json_t *files = json_array();
        for (size_t i = 0; i < nall; i++) {
            json_array_append_new(files, json_pack("{s:s,s:s}", "tmp", all[i].tmp, "path", all[i].path));
            rows += all[i].rows;
        }
        man = json_pack("{s:s,s:o,s:O}", "flush", fid, "files", files, "offsets", offs);
        char *text = man ? json_dumps(man, JSON_COMPACT) : NULL;
        rc = text ? hx_fs_write_atomic(a->manifest, text, strlen(text), err)
                  : hx_err_set(err, HX_ENOMEM, "out of memory");
        free(text);
    }
    if (rc == HX_OK) {
        pthread_mutex_lock(&l->mu);
        for (size_t i = 0; i < nall && rc == HX_OK; i++)
            rc = hx_pq_publish(all[i].tmp, all[i].path, 0, err);
        pthread_mutex_unlock(&l->mu);
        /* A failed rename leaves the manifest: the next start finishes it. */
        if (rc == HX_OK) {
            commit_positions(a, offs);
            unlink(a->manifest);
            hx_fsync_dir(l->meta_dir);
        }
        hx_lake_staged_free(all, nall, 0);
    } else {
        hx_lake_staged_free(all, nall, 1);
    }
    json_decref(man);
    json_decref(offs);
    if (rc == HX_OK) {
        pthread_mutex_lock(&a->mu);
        a->rows_archived += rows;
        a->files_written += (int64_t)nall;
        a->flushes++;
        a->buffered = 0;
        pthread_mutex_unlock(&a->mu);
        a->npos = 0;
        a->records = 0;
    }
    return rc;
}

/* After a failed flush the buffered rows are gone: re-read them. */
static void rewind_positions(lake_archiver_t *a)
{
    for (size_t i = 0; i < a->npos; i++) {
        hx_err_t e;
        (void)hx_consumer_seek(a->c, a->pos[i].topic, a->pos[i].partition, a->pos[i].start, &e);
    }
    for (int d = 0; d < NDS; d++) {
        hx_lake_writer_abort(a->w[d]);
        a->w[d] = NULL;
    }
    a->npos = 0;
    a->records = 0;
    pthread_mutex_lock(&a->mu);
    a->buffered = 0;
    pthread_mutex_unlock(&a->mu);
}

static void archive_one(lake_archiver_t *a, const hx_msg_t *m)
{
    hx_envelope_t e;
    hx_err_t err = {0};
    const char *raw;
    size_t raw_len;
    json_error_t je;
    /* The row is read from the data's text (lake_row_from_text): parsing it
     * into a jansson tree, and serializing data_json back out of it, was
     * most of the archiver's time. Data that reader refuses takes the
     * jansson path, which decides whether the record is bad. */
    if (hx_envelope_decode_raw(m->value, m->value_len, &e, &raw, &raw_len, &err) != 0) {
        pthread_mutex_lock(&a->mu);
        a->bad_records++;
        pthread_mutex_unlock(&a->mu);
        return;
    }
    /* Replays of archived rows (analytics_backfill) are in the lake already. */
    const char *replay = hx_envelope_header(&e, "helix.replay");
    const hx_lake_dataset_t *ds = replay && !strcmp(replay, "lake") ? NULL : lake_dataset_for(m->topic, e.type);
    int d = ds ? ds_index(ds) : -1;
    if (d < 0)
        goto out;
    hx_pq_value_t vals[LAKE_ROW_COLS_MAX];
    lake_row_scratch_t sc = {0};
    if (lake_row_from_text_planned(ds, &a->plan[d], &e, raw, raw_len, vals, &sc)) {
        if (!(e.data = json_loadb(raw, raw_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je))) {
            pthread_mutex_lock(&a->mu);
            a->bad_records++;
            pthread_mutex_unlock(&a->mu);
            goto out;
        }
        sc = (lake_row_scratch_t){.data = raw, .data_len = raw_len};
        lake_row_from_envelope(ds, &e, vals, &sc);
    }
    if (ds->key_col >= 0 && !strcmp(ds->name, "conversations")) {
        pthread_mutex_lock(&a->l->mu);
        int gone = lake_is_deleted(a->l, vals[ds->tenant_col].v.str.s, vals[ds->key_col].v.str.s, e.ts);
        pthread_mutex_unlock(&a->l->mu);
        if (gone) {
            pthread_mutex_lock(&a->mu);
            a->dropped_deleted++;
            pthread_mutex_unlock(&a->mu);
            lake_row_scratch_free(&sc);
            goto out;
        }
    }
    if (!a->w[d]) {
        hx_lake_opts_t o;
        hx_lake_write_opts(a->l, &o);
        /* Nodes sharing one lake root never pick the same file name. */
        char fid[160];
        snprintf(fid, sizeof fid, "%s-%lld-%llu", a->l->cfg->node.node_id[0] ? a->l->cfg->node.node_id : "node",
                 (long long)hx_now_ms(), (unsigned long long)a->seq++);
        if (hx_lake_writer_open(&o, ds, fid, &a->w[d], &err)) {
            note_error(a, &err);
            lake_row_scratch_free(&sc);
            goto out;
        }
    }
    if (hx_lake_writer_write(a->w[d], vals, &err)) {
        /* A row the schema cannot hold (bad UTF-8): count it, keep going. */
        pthread_mutex_lock(&a->mu);
        a->bad_records++;
        pthread_mutex_unlock(&a->mu);
        note_error(a, &err);
    } else {
        pthread_mutex_lock(&a->mu);
        a->buffered++;
        pthread_mutex_unlock(&a->mu);
    }
    lake_row_scratch_free(&sc);
out:
    hx_envelope_free(&e);
}

static int recover(lake_archiver_t *a, hx_err_t *err);

/* Joining the group (seconds on Kafka) and recovery happen here, not in
 * hx_lake_open, so `helix serve` starts without waiting for them. */
static int connect(lake_archiver_t *a)
{
    while (!a->stop) {
        hx_consumer_opts_t co;
        hx_consumer_opts_defaults(&co);
        co.auto_offset_reset = HX_RESET_EARLIEST;
        co.client_id = "helix-lake-archiver";
        co.fetch_wait_ms = 5; /* rows are buffered for lake.flush_ms anyway: read in batches */
        /* Short: a shutdown while the cluster is gone waits about this long to leave the group. */
        co.session_timeout_ms = 6000;
        hx_err_t err = {0};
        int rc = hx_broker_ensure_builtin_topics(a->b, &err);
        if (!rc)
            rc = hx_consumer_new(a->b, GROUP, topics, sizeof topics / sizeof topics[0], &co, &a->c, &err);
        if (!rc && (rc = recover(a, &err))) {
            hx_consumer_close(a->c);
            a->c = NULL;
        }
        if (!rc)
            return HX_OK;
        note_error(a, &err);
        for (int i = 0; i < 20 && !a->stop; i++)
            hx_sleep_ms(100);
    }
    return HX_EUNAVAIL;
}

static void *run(void *arg)
{
    lake_archiver_t *a = arg;
    const hx_config_t *cfg = a->l->cfg;
    if (connect(a))
        return NULL;
    pthread_mutex_lock(&a->mu);
    a->connected = 1;
    a->last_error[0] = 0;
    pthread_mutex_unlock(&a->mu);
    while (!a->stop) {
        hx_fetch_t f = {0};
        hx_err_t err = {0};
        int rc = hx_consumer_poll(a->c, 100, &f, &err);
        if (rc) {
            note_error(a, &err);
            hx_sleep_ms(200);
        }
        for (size_t i = 0; i < f.count; i++) {
            if (a->records == 0)
                a->first_ms = hx_now_ms();
            archive_one(a, &f.msgs[i]);
            if (track(a, &f.msgs[i]) == HX_OK)
                a->records++;
        }
        hx_fetch_free(&f);
        pthread_mutex_lock(&a->mu);
        int req = a->flush_req;
        pthread_mutex_unlock(&a->mu);
        if (a->records && (req || a->records >= cfg->lake.file_rows || hx_now_ms() - a->first_ms >= cfg->lake.flush_ms ||
                           a->stop)) {
            hx_err_t ferr = {0};
            if (flush(a, &ferr)) {
                note_error(a, &ferr);
                rewind_positions(a);
            }
        }
        if (req) {
            pthread_mutex_lock(&a->mu);
            a->flush_req = 0;
            a->flush_gen++;
            pthread_cond_broadcast(&a->cv);
            pthread_mutex_unlock(&a->mu);
        }
    }
    return NULL;
}

/* Removes hidden temp files a crash left in the dataset partitions: only
 * those older than this process, never a job's file being written now. */
static void sweep_tmp(const char *dir, int depth, int64_t before_ms)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "_helix") ||
            !strcmp(e->d_name, "_exports"))
            continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        size_t n = strlen(e->d_name);
        struct stat st;
        if (e->d_name[0] == '.' && n > 4 && !strcmp(e->d_name + n - 4, ".tmp")) {
            if (stat(p, &st) == 0 && (int64_t)st.st_mtim.tv_sec * 1000 < before_ms)
                unlink(p);
        } else if (depth < 4 && e->d_type == DT_DIR) {
            sweep_tmp(p, depth + 1, before_ms);
        }
    }
    closedir(d);
}

static int recover(lake_archiver_t *a, hx_err_t *err)
{
    json_error_t je;
    if (access(a->manifest, F_OK) != 0) {
        sweep_tmp(a->l->root, 0, a->started_ms);
        return HX_OK;
    }
    json_t *man = json_load_file(a->manifest, 0, &je);
    if (man) {
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(man, "files"), i, f) {
            const char *tmp = json_string_value(json_object_get(f, "tmp"));
            const char *path = json_string_value(json_object_get(f, "path"));
            if (tmp && path && access(tmp, F_OK) == 0) {
                int rc = hx_pq_publish(tmp, path, 0, err);
                if (rc) {
                    json_decref(man);
                    return hx_err_wrap(err, "finishing the interrupted lake flush in %s", a->manifest);
                }
            }
        }
        commit_positions(a, json_object_get(man, "offsets"));
        HX_INFO("lake", "archiver: finished flush %s interrupted by a restart",
                json_string_value(json_object_get(man, "flush")) ?: "?");
        json_decref(man);
        unlink(a->manifest);
        hx_fsync_dir(a->l->meta_dir);
    } else if (access(a->manifest, F_OK) == 0) {
        return hx_err_set(err, HX_ECORRUPT, "lake flush manifest %s is unreadable (%s); the flush it describes "
                                            "cannot be finished", a->manifest, je.text);
    }
    sweep_tmp(a->l->root, 0, a->started_ms);
    return HX_OK;
}

int lake_archiver_start(hx_lake_t *l, hx_broker_t *broker, hx_err_t *err)
{
    lake_archiver_t *a = calloc(1, sizeof *a);
    if (!a)
        return hx_err_set(err, HX_ENOMEM, "out of memory starting the archiver");
    a->l = l;
    a->b = broker;
    for (size_t d = 0; d < NDS && d < hx_lake_ndatasets(); d++)
        lake_row_plan(hx_lake_dataset_at(d), &a->plan[d]);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    snprintf(a->manifest, sizeof a->manifest, "%s/archiver-%s.manifest.json", l->meta_dir,
             l->cfg->node.node_id[0] ? l->cfg->node.node_id : "node");
    l->arch = a;
    a->started_ms = hx_now_ms() - 1000;
    int rc = HX_OK;
    if (pthread_create(&a->th, NULL, run, a) != 0)
        rc = hx_err_set(err, HX_EINTERNAL, "cannot start the archiver thread");
    if (rc) {
        hx_err_wrap(err, "lake archiver");
        lake_archiver_stop(l);
        return rc;
    }
    a->started = 1;
    return HX_OK;
}

void lake_archiver_stop(hx_lake_t *l)
{
    lake_archiver_t *a = l->arch;
    if (!a)
        return;
    a->stop = 1;
    uint64_t t0 = hx_mono_ns();
    if (a->started)
        pthread_join(a->th, NULL);   /* the loop flushes what it buffered on the way out */
    uint64_t t1 = hx_mono_ns();
    for (int d = 0; d < NDS; d++)
        hx_lake_writer_abort(a->w[d]);
    hx_consumer_close(a->c);
    HX_INFO("lake", "archiver stopped: loop %.0f ms, leaving group %s %.0f ms", (double)(t1 - t0) / 1e6, GROUP,
            (double)(hx_mono_ns() - t1) / 1e6);
    free(a->pos);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
    l->arch = NULL;
}

int hx_lake_archiver_flush(hx_lake_t *l, int timeout_ms, hx_err_t *err)
{
    lake_archiver_t *a = l->arch;
    if (!a)
        return hx_err_set(err, HX_EUNAVAIL, "the lake archiver is not running (lake.enabled is false or no event log)");
    int64_t deadline = hx_now_ms() + timeout_ms;
    pthread_mutex_lock(&a->mu);
    uint64_t gen = a->flush_gen;
    a->flush_req = 1;
    while (a->flush_gen == gen && hx_now_ms() < deadline) {
        pthread_mutex_unlock(&a->mu);
        hx_sleep_ms(5);
        pthread_mutex_lock(&a->mu);
    }
    int done = a->flush_gen != gen;
    pthread_mutex_unlock(&a->mu);
    return done ? HX_OK : hx_err_set(err, HX_ETIMEOUT, "the archiver did not flush within %d ms", timeout_ms);
}

json_t *hx_lake_archiver_status(hx_lake_t *l)
{
    lake_archiver_t *a = l->arch;
    if (!a)
        return json_pack("{s:b,s:s}", "running", 0, "group", GROUP);
    pthread_mutex_lock(&a->mu);
    json_t *j = json_pack("{s:b,s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "running", 1, "connected", a->connected,
                          "group", GROUP, "rows_archived",
                          (json_int_t)a->rows_archived, "files_written", (json_int_t)a->files_written, "flushes",
                          (json_int_t)a->flushes, "buffered_rows", (json_int_t)a->buffered, "bad_records",
                          (json_int_t)a->bad_records, "dropped_deleted", (json_int_t)a->dropped_deleted,
                          "last_error", a->last_error);
    pthread_mutex_unlock(&a->mu);
    return j;
}

int hx_lake_health(hx_lake_t *l, char *detail, size_t len)
{
    if (access(l->root, W_OK) != 0) {
        snprintf(detail, len, "lake root %s is not writable", l->root);
        return HX_EIO;
    }
    lake_archiver_t *a = l->arch;
    if (!a) {
        snprintf(detail, len, "lake at %s; archiver off", l->root);
        return HX_OK;
    }
    pthread_mutex_lock(&a->mu);
    int up = a->connected || !a->last_error[0];
    snprintf(detail, len, "lake at %s; archived %lld rows in %lld files%s%s%s", l->root, (long long)a->rows_archived,
             (long long)a->files_written, up ? "" : "; archiver not connected", a->last_error[0] ? "; last error: " : "",
             a->last_error);
    pthread_mutex_unlock(&a->mu);
    return up ? HX_OK : HX_EUNAVAIL;
}
