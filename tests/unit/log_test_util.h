/* Helpers shared by the test_log_*.c unit tests (header-only, not a test itself). */
#ifndef LOG_TEST_UTIL_H
#define LOG_TEST_UTIL_H

#include "helix/hx_log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct got_rec {
    int64_t offset, ts;
    char key[64];
    size_t key_len;
    char *value;      /* NULL for tombstones */
    size_t value_len;
    size_t n_headers;
    char h0name[32], h0value[32];
} got_rec_t;

typedef struct got {
    got_rec_t *v;
    size_t n, cap;
} got_t;

static inline int got_cb(void *ud, const hx_log_record_t *r)
{
    got_t *g = ud;
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->v = realloc(g->v, g->cap * sizeof *g->v);
    }
    got_rec_t *x = &g->v[g->n++];
    memset(x, 0, sizeof *x);
    x->offset = r->offset;
    x->ts = r->timestamp_ms;
    x->key_len = r->key_len < sizeof x->key ? r->key_len : sizeof x->key - 1;
    if (r->key_len)
        memcpy(x->key, r->key, x->key_len);
    if (r->value) {
        x->value = malloc(r->value_len + 1);
        if (r->value_len)
            memcpy(x->value, r->value, r->value_len);
        x->value[r->value_len] = 0;
    }
    x->value_len = r->value_len;
    x->n_headers = r->n_headers;
    if (r->n_headers) {
        snprintf(x->h0name, sizeof x->h0name, "%.*s", (int)r->headers[0].name_len, (const char *)r->headers[0].name);
        snprintf(x->h0value, sizeof x->h0value, "%.*s", (int)r->headers[0].value_len,
                 (const char *)r->headers[0].value);
    }
    return 0;
}

static inline void got_free(got_t *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->v[i].value);
    free(g->v);
    memset(g, 0, sizeof *g);
}

/* Reads everything from offset to the high watermark. */
static inline int read_all(hx_log_t *log, const char *topic, int part, int64_t from, got_t *g)
{
    hx_err_t err = {0};
    int64_t off = from, hw = 0;
    hx_log_watermarks(log, topic, part, NULL, &hw, NULL);
    while (off < hw) {
        int64_t next = off;
        int rc = hx_log_read(log, topic, part, off, 1 << 20, 1000, got_cb, g, &next, &err);
        if (rc) {
            fprintf(stderr, "read_all: %s\n", err.msg);
            return rc;
        }
        if (next <= off)
            return -1;
        off = next;
    }
    return 0;
}

static inline hx_log_t *open_log(const char *dir, hx_fsync_t fs, int64_t seg_bytes, int idx_interval)
{
    hx_log_opts_t o;
    hx_log_opts_default(&o);
    o.fsync = fs;
    o.segment_bytes = seg_bytes;
    o.index_interval_bytes = idx_interval;
    o.flush_interval_ms = 20;
    hx_log_t *log = NULL;
    hx_err_t err = {0};
    if (hx_log_open(dir, &o, &log, &err)) {
        fprintf(stderr, "open %s: %s\n", dir, err.msg);
        exit(2);
    }
    return log;
}

static inline int mk_topic(hx_log_t *log, const char *name, int parts, hx_codec_t c, hx_log_cleanup_t cl)
{
    hx_topic_opts_t o;
    hx_topic_opts_default(&o);
    o.partitions = parts;
    o.compression = c;
    o.cleanup = cl;
    hx_err_t err = {0};
    int rc = hx_log_topic_create(log, name, &o, &err);
    if (rc)
        fprintf(stderr, "topic create %s: %s\n", name, err.msg);
    return rc;
}

/* Appends one record with key/value strings (key NULL = no key; value NULL = tombstone). */
static inline int64_t put1(hx_log_t *log, const char *topic, int part, const char *key, const char *value, int64_t ts)
{
    hx_log_record_t r = {0};
    r.key = key;
    r.key_len = key ? strlen(key) : 0;
    r.value = value;
    r.value_len = value ? strlen(value) : 0;
    r.timestamp_ms = ts;
    int64_t off = -1;
    hx_err_t err = {0};
    if (hx_log_append(log, topic, part, &r, 1, &off, &err))
        fprintf(stderr, "append: %s\n", err.msg);
    return off;
}

#endif
