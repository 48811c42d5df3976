/* Embedded broker: reading records into an hx_fetch_t.
 *
 * hx_fetch_free frees `msgs` and one `owner_` block, so reads (possibly from
 * several partitions, for a poll) first gather into a stage of growable
 * buffers, and emb_stage_finish packs everything into one block at the end. */
#include "stream/embedded/embedded.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t offset, ts;
    size_t topic;                 /* offset of the NUL-terminated topic name in bytes */
    int32_t partition;
    size_t key, key_len, val, val_len, hdr, n_hdr;
    int null_key, null_val;
} meta_t;

struct emb_stage {
    size_t cur_topic;
    int32_t cur_partition;
    hx_buf_t bytes;
    meta_t *meta;
    size_t n, cap;
    struct { size_t name, value, value_len; } *hdr;
    size_t n_hdr, cap_hdr;
    int oom;
};

emb_stage_t *emb_stage_new(void) { return calloc(1, sizeof(emb_stage_t)); }

size_t emb_stage_count(const emb_stage_t *s) { return s->n; }

void emb_stage_free(emb_stage_t *s)
{
    if (!s)
        return;
    hx_buf_free(&s->bytes);
    free(s->meta);
    free(s->hdr);
    free(s);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int stage_cb(void *ud, const hx_log_record_t *r)
{
    emb_stage_t *s = ud;
    if (grow((void **)&s->meta, &s->cap, s->n + 1, sizeof *s->meta) ||
        grow((void **)&s->hdr, &s->cap_hdr, s->n_hdr + r->n_headers, sizeof *s->hdr))
        goto oom;
    meta_t *m = &s->meta[s->n];
    m->offset = r->offset;
    m->ts = r->timestamp_ms;
    m->topic = s->cur_topic;
    m->partition = s->cur_partition;
    m->null_key = r->key == NULL;
    m->null_val = r->value == NULL;
    m->key = s->bytes.len;
    m->key_len = r->key_len;
    if (hx_buf_append(&s->bytes, r->key, r->key_len))
        goto oom;
    m->val = s->bytes.len;
    m->val_len = r->value_len;
    if (hx_buf_append(&s->bytes, r->value, r->value_len))
        goto oom;
    m->hdr = s->n_hdr;
    m->n_hdr = r->n_headers;
    for (size_t i = 0; i < r->n_headers; i++) {
        s->hdr[s->n_hdr].name = s->bytes.len;
        if (hx_buf_append(&s->bytes, r->headers[i].name, r->headers[i].name_len) || hx_buf_putc(&s->bytes, 0))
            goto oom;
        s->hdr[s->n_hdr].value = s->bytes.len;
        s->hdr[s->n_hdr].value_len = r->headers[i].value_len;
        if (hx_buf_append(&s->bytes, r->headers[i].value, r->headers[i].value_len))
            goto oom;
        s->n_hdr++;
    }
    s->n++;
    return 0;
oom:
    s->oom = 1;
    return HX_ENOMEM;
}

int emb_stage_read(emb_t *b, emb_stage_t *s, const char *topic, int32_t partition, int64_t offset, int max_records,
                   size_t max_bytes, int64_t *next, hx_err_t *err)
{
    s->cur_topic = s->bytes.len;
    s->cur_partition = partition;
    if (hx_buf_append(&s->bytes, topic, strlen(topic) + 1))
        return hx_err_set(err, HX_ENOMEM, "out of memory reading records");
    int rc = hx_log_read(b->log, topic, partition, offset, max_bytes, max_records, stage_cb, s, next, err);
    if (rc == HX_ENOTFOUND && !hx_log_topic_exists(b->log, topic))
        rc = emb_unknown_topic(topic, err);
    if (!rc && s->oom)
        rc = hx_err_set(err, HX_ENOMEM, "out of memory reading records");
    return rc;
}

int emb_stage_finish(emb_stage_t *s, hx_fetch_t *out, hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (s->n == 0)
        return HX_OK;
    size_t hdr_bytes = s->n_hdr * sizeof(hx_header_t);
    char *blk = malloc(hdr_bytes + s->bytes.len + 1);
    hx_msg_t *msgs = malloc(s->n * sizeof *msgs);
    if (!blk || !msgs) {
        free(blk);
        free(msgs);
        return hx_err_set(err, HX_ENOMEM, "out of memory reading records");
    }
    hx_header_t *harr = (hx_header_t *)blk; /* malloc alignment suits the array */
    char *bytes = blk + hdr_bytes;
    memcpy(bytes, s->bytes.data, s->bytes.len);
    for (size_t i = 0; i < s->n_hdr; i++) {
        harr[i].name = bytes + s->hdr[i].name;
        harr[i].value = bytes + s->hdr[i].value;
        harr[i].value_len = s->hdr[i].value_len;
    }
    for (size_t i = 0; i < s->n; i++) {
        const meta_t *m = &s->meta[i];
        msgs[i] = (hx_msg_t){
            .topic = bytes + m->topic,
            .partition = m->partition,
            .offset = m->offset,
            .timestamp_ms = m->ts,
            .key = m->null_key ? NULL : bytes + m->key,
            .key_len = m->key_len,
            .value = m->null_val ? NULL : bytes + m->val,
            .value_len = m->val_len,
            .headers = m->n_hdr ? harr + m->hdr : NULL,
            .header_count = m->n_hdr,
        };
    }
    out->msgs = msgs;
    out->count = s->n;
    out->owner_ = blk;
    return HX_OK;
}

int emb_fetch(void *impl, const char *topic, int32_t partition, int64_t offset, int max_records, size_t max_bytes,
              hx_fetch_t *out, hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    emb_stage_t *s = emb_stage_new();
    if (!s)
        return hx_err_set(err, HX_ENOMEM, "out of memory reading records");
    int rc = emb_stage_read(impl, s, topic, partition, offset, max_records, max_bytes, NULL, err);
    if (!rc)
        rc = emb_stage_finish(s, out, err);
    emb_stage_free(s);
    return rc;
}

int emb_offset_for_time(void *impl, const char *topic, int32_t partition, int64_t ts_ms, int64_t *offset,
                        hx_err_t *err)
{
    emb_t *b = impl;
    int rc = hx_log_offset_for_time(b->log, topic, partition, ts_ms, offset, err);
    if (rc == HX_ENOTFOUND && !hx_log_topic_exists(b->log, topic))
        rc = emb_unknown_topic(topic, err);
    return rc;
}
