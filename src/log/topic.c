/* Topics: DIR/<topic>/topic.meta (settings, written atomically) and one
 * sub-directory per partition, DIR/<topic>/<n>/. A topic exists exactly when
 * its topic.meta exists: create writes it last, delete removes it first. */
#include "log_internal.h"

#include "helix/hx_logger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_FILE "topic.meta"
#define META_HEAD "helix-topic 1"

void hx_topic_opts_default(hx_topic_opts_t *o)
{
    o->partitions = 1;
    o->retention_ms = -1;
    o->retention_bytes = -1;
    o->compression = HX_CODEC_NONE;
    o->cleanup = HX_LOG_CLEANUP_DELETE;
    o->max_message_bytes = 0;
}

const char *hx_log_cleanup_name(hx_log_cleanup_t c) { return c == HX_LOG_CLEANUP_COMPACT ? "compact" : "delete"; }

int hx_log_cleanup_parse(const char *s, hx_log_cleanup_t *out)
{
    if (!s) return HX_EINVAL;
    if (strcmp(s, "delete") == 0) *out = HX_LOG_CLEANUP_DELETE;
    else if (strcmp(s, "compact") == 0) *out = HX_LOG_CLEANUP_COMPACT;
    else return HX_EINVAL;
    return HX_OK;
}

int hx_topic_name_valid(const char *name, hx_err_t *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > HX_LOG_TOPIC_NAME_MAX)
        return hx_err_set(err, HX_EINVAL, "topic name must be 1..%d characters, got %zu", HX_LOG_TOPIC_NAME_MAX, n);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return hx_err_set(err, HX_EINVAL, "topic name '%s' is reserved", name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return hx_err_set(err, HX_EINVAL,
                              "topic name '%.64s' has invalid character '%c'; use letters, digits, '.', '_' and '-'",
                              name, c >= 32 && c < 127 ? c : '?');
    }
    return HX_OK;
}

static int opts_valid(const hx_topic_opts_t *o, hx_err_t *err)
{
    if (o->partitions < 1 || o->partitions > HX_LOG_MAX_PARTITIONS)
        return hx_err_set(err, HX_EINVAL, "partitions must be 1..%d, got %d", HX_LOG_MAX_PARTITIONS, o->partitions);
    if (o->retention_ms < -1 || o->retention_bytes < -1)
        return hx_err_set(err, HX_EINVAL, "retention_ms and retention_bytes must be -1 (unlimited) or >= 0");
    if (o->compression < HX_CODEC_NONE || o->compression > HX_CODEC_ZSTD)
        return hx_err_set(err, HX_EINVAL, "compression must be none, lz4 or zstd");
    if (o->cleanup != HX_LOG_CLEANUP_DELETE && o->cleanup != HX_LOG_CLEANUP_COMPACT)
        return hx_err_set(err, HX_EINVAL, "cleanup policy must be delete or compact");
    if (o->max_message_bytes < 0 || o->max_message_bytes > (1 << 30))
        return hx_err_set(err, HX_EINVAL, "max_message_bytes must be 0 (log default) .. 1 GiB");
    return HX_OK;
}

static int meta_write(const char *tdir, const hx_topic_opts_t *o, hx_err_t *err)
{
    char fn[4096], text[512];
    snprintf(fn, sizeof fn, "%s/%s", tdir, META_FILE);
    int n = snprintf(text, sizeof text,
                     META_HEAD "\npartitions=%d\nretention_ms=%" PRId64 "\nretention_bytes=%" PRId64
                               "\ncompression=%s\ncleanup=%s\nmax_message_bytes=%" PRId64 "\n",
                     o->partitions, o->retention_ms, o->retention_bytes, hx_codec_name(o->compression),
                     hx_log_cleanup_name(o->cleanup), o->max_message_bytes);
    return hx_fs_write_atomic(fn, text, (size_t)n, err);
}

static int meta_read(const char *tdir, hx_topic_opts_t *o, hx_err_t *err)
{
    char fn[4096], line[512];
    snprintf(fn, sizeof fn, "%s/%s", tdir, META_FILE);
    FILE *f = fopen(fn, "r");
    if (!f)
        return hx_err_set(err, errno == ENOENT ? HX_ENOTFOUND : HX_EIO, "cannot read %s: %s", fn, strerror(errno));
    hx_topic_opts_default(o);
    int rc = HX_OK, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (lineno == 1) {
            if (strcmp(line, META_HEAD) != 0) {
                rc = hx_err_set(err, HX_ECORRUPT, "%s: unknown format '%s'", fn, line);
                break;
            }
            continue;
        }
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *k = line, *v = eq + 1;
        if (strcmp(k, "partitions") == 0) o->partitions = atoi(v);
        else if (strcmp(k, "retention_ms") == 0) o->retention_ms = strtoll(v, NULL, 10);
        else if (strcmp(k, "retention_bytes") == 0) o->retention_bytes = strtoll(v, NULL, 10);
        else if (strcmp(k, "max_message_bytes") == 0) o->max_message_bytes = strtoll(v, NULL, 10);
        else if (strcmp(k, "compression") == 0) rc = hx_codec_parse(v, &o->compression);
        else if (strcmp(k, "cleanup") == 0) rc = hx_log_cleanup_parse(v, &o->cleanup);
        if (rc) {
            rc = hx_err_set(err, HX_ECORRUPT, "%s:%d: bad value '%s' for %s", fn, lineno, v, k);
            break;
        }
    }
    fclose(f);
    if (rc == HX_OK && lineno == 0)
        rc = hx_err_set(err, HX_ECORRUPT, "%s is empty", fn);
    if (rc == HX_OK && opts_valid(o, err))
        rc = hx_err_wrap(err, "%s", fn);
    return rc;
}

void hx_topic_free(hx_log_t *log, hx_topic_t *t)
{
    if (!t)
        return;
    if (t->parts)
        for (int i = 0; i < t->nparts; i++)
            if (t->parts[i].dir)
                hx_part_destroy(&t->parts[i], log ? &log->opts : NULL);
    free(t->parts);
    free(t->dir);
    free(t);
}

int hx_topic_load(hx_log_t *log, const char *name, hx_topic_t **out, hx_err_t *err)
{
    int rc;
    hx_topic_t *t = calloc(1, sizeof *t);
    size_t n = strlen(log->dir) + strlen(name) + 2;
    if (!t || !(t->dir = malloc(n))) {
        free(t);
        return hx_err_set(err, HX_ENOMEM, "out of memory loading topic '%s'", name);
    }
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->dir, n, "%s/%s", log->dir, name);
    if ((rc = meta_read(t->dir, &t->opts, err)))
        goto fail;
    t->parts = calloc((size_t)t->opts.partitions, sizeof *t->parts);
    if (!t->parts) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory loading topic '%s'", name);
        goto fail;
    }
    t->nparts = t->opts.partitions;
    for (int i = 0; i < t->nparts; i++) {
        char pdir[4096];
        snprintf(pdir, sizeof pdir, "%s/%d", t->dir, i);
        if (mkdir(pdir, 0755) != 0 && errno != EEXIST) {
            rc = hx_err_set(err, HX_EIO, "cannot create %s: %s", pdir, strerror(errno));
            goto fail;
        }
        if ((rc = hx_part_init(&t->parts[i], t, i, pdir, err)) || (rc = hx_part_recover(log, &t->parts[i], err)))
            goto fail;
    }
    *out = t;
    return HX_OK;
fail:
    hx_topic_free(NULL, t);
    return rc;
}

static int topic_add(hx_log_t *log, hx_topic_t *t)
{
    if (log->ntopics == log->captopics) {
        size_t cap = log->captopics ? log->captopics * 2 : 16;
        hx_topic_t **n = realloc(log->topics, cap * sizeof *n);
        if (!n)
            return HX_ENOMEM;
        log->topics = n;
        log->captopics = cap;
    }
    log->topics[log->ntopics++] = t;
    return HX_OK;
}

int hx_log_topic_create(hx_log_t *log, const char *name, const hx_topic_opts_t *opts, hx_err_t *err)
{
    hx_topic_opts_t def;
    if (!opts) {
        hx_topic_opts_default(&def);
        opts = &def;
    }
    int rc;
    if ((rc = hx_topic_name_valid(name, err)) || (rc = opts_valid(opts, err)))
        return rc;
    char tdir[4096];
    snprintf(tdir, sizeof tdir, "%s/%s", log->dir, name);
    hx_topic_t *t = NULL;
    pthread_rwlock_wrlock(&log->topics_lock);
    for (size_t i = 0; i < log->ntopics; i++)
        if (strcmp(log->topics[i]->name, name) == 0) {
            rc = hx_err_set(err, HX_EEXIST, "topic '%s' already exists", name);
            goto out;
        }
    /* A directory without topic.meta is debris of an interrupted create or delete. */
    hx_rm_rf(tdir);
    if (mkdir(tdir, 0755) != 0) {
        rc = hx_err_set(err, HX_EIO, "cannot create %s: %s", tdir, strerror(errno));
        goto out;
    }
    if ((rc = meta_write(tdir, opts, err)))
        goto undo;
    hx_fsync_dir(log->dir);
    if ((rc = hx_topic_load(log, name, &t, err)))
        goto undo;
    if (topic_add(log, t)) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory creating topic '%s'", name);
        hx_topic_free(log, t);
        goto undo;
    }
    HX_INFO(HX_LOG_COMP, "created topic '%s' (%d partitions, %s, %s)", name, opts->partitions,
            hx_codec_name(opts->compression), hx_log_cleanup_name(opts->cleanup));
    goto out;
undo:
    hx_rm_rf(tdir);
out:
    pthread_rwlock_unlock(&log->topics_lock);
    return rc;
}

int hx_log_topic_delete(hx_log_t *log, const char *name, hx_err_t *err)
{
    pthread_rwlock_wrlock(&log->topics_lock);
    int rc = HX_OK;
    size_t i;
    for (i = 0; i < log->ntopics; i++)
        if (strcmp(log->topics[i]->name, name) == 0)
            break;
    if (i == log->ntopics) {
        rc = hx_log_find_topic(log, name, err) ? HX_OK : HX_ENOTFOUND;
        goto out;
    }
    hx_topic_t *t = log->topics[i];
    log->topics[i] = log->topics[--log->ntopics];
    char fn[4096];
    snprintf(fn, sizeof fn, "%s/%s", t->dir, META_FILE);
    if (unlink(fn) != 0 && errno != ENOENT)
        HX_WARN(HX_LOG_COMP, "cannot remove %s: %s", fn, strerror(errno));
    hx_fsync_dir(t->dir);
    char *dir = strdup(t->dir);
    hx_topic_free(NULL, t);
    if (dir && hx_rm_rf(dir) != HX_OK)
        HX_WARN(HX_LOG_COMP, "topic '%s' deleted but %s could not be fully removed", name, dir);
    free(dir);
    HX_INFO(HX_LOG_COMP, "deleted topic '%s'", name);
out:
    pthread_rwlock_unlock(&log->topics_lock);
    return rc;
}

int hx_log_topic_exists(hx_log_t *log, const char *name)
{
    pthread_rwlock_rdlock(&log->topics_lock);
    int found = hx_log_find_topic(log, name, NULL) != NULL;
    pthread_rwlock_unlock(&log->topics_lock);
    return found;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int hx_log_topic_list(hx_log_t *log, char ***names, size_t *n, hx_err_t *err)
{
    pthread_rwlock_rdlock(&log->topics_lock);
    int rc = HX_OK;
    size_t cnt = log->ntopics;
    char **v = calloc(cnt + 1, sizeof *v);
    for (size_t i = 0; v && i < cnt; i++)
        if (!(v[i] = strdup(log->topics[i]->name))) {
            hx_log_names_free(v, i);
            v = NULL;
        }
    pthread_rwlock_unlock(&log->topics_lock);
    if (!v)
        return hx_err_set(err, HX_ENOMEM, "out of memory listing topics");
    qsort(v, cnt, sizeof *v, cmp_str);
    *names = v;
    *n = cnt;
    return rc;
}

void hx_log_names_free(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int hx_log_topic_describe(hx_log_t *log, const char *name, hx_log_topic_info_t *out, hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&log->topics_lock);
    int rc = HX_OK;
    hx_topic_t *t = hx_log_find_topic(log, name, err);
    if (!t) {
        rc = HX_ENOTFOUND;
        goto out;
    }
    snprintf(out->name, sizeof out->name, "%s", t->name);
    out->opts = t->opts;
    out->partitions = calloc((size_t)t->nparts, sizeof *out->partitions);
    if (!out->partitions) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory describing topic '%s'", name);
        goto out;
    }
    out->n_partitions = t->nparts;
    for (int i = 0; i < t->nparts; i++)
        hx_part_info(&t->parts[i], &out->partitions[i]);
out:
    pthread_rwlock_unlock(&log->topics_lock);
    return rc;
}

void hx_log_topic_info_free(hx_log_topic_info_t *info)
{
    if (!info)
        return;
    free(info->partitions);
    info->partitions = NULL;
    info->n_partitions = 0;
}
