/* `helix bench lake`: writes 1M provider-metric rows (7 days, so 7 day
 * partitions) and 100K conversation messages (long UTF-8 content, nulls)
 * through the lake writer with each codec; reads the metrics back with a
 * projection and a predicate; and verifies every written row by reading the
 * whole zstd dataset back and comparing it with the generator. */
#include "helix/hx_bench.h"
#include "helix/hx_clock.h"
#include "helix/hx_fs.h"
#include "helix/hx_lake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* CPU seconds of this process: on a shared machine wall-clock rates mostly
 * measure the neighbours, so the bench reports both. */
static double cpu_sec(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
           (double)u.ru_stime.tv_usec / 1e6;
}

static const char *providers[] = {"openai", "anthropic", "gemini", "mistral", "deepseek", "qwen"};
static const char *models[] = {"large", "medium", "small"};
static const char *errors[] = {"timeout", "rate_limited", "server_error", "invalid_response"};
static const int64_t T0 = 1735689600000LL;   /* 2025-01-01T00:00:00Z */

/* Decimal digits of v after prefix into out; returns the length. The
 * generator avoids snprintf so the bench measures the writer, not libc. */
static size_t put_id(char *out, const char *prefix, uint64_t v)
{
    size_t n = strlen(prefix);
    memcpy(out, prefix, n);
    char tmp[24];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k)
        out[n++] = tmp[--k];
    out[n] = 0;
    return n;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

typedef struct pm_row {
    hx_pq_value_t v[14];
    char req[40], debate[32];
} pm_row_t;

/* Row i of the provider metrics: deterministic, so a reader can check it. */
static void pm_make(int64_t i, int64_t n, pm_row_t *r)
{
    uint64_t h = mix((uint64_t)i);
    memset(r->v, 0, sizeof r->v);
    int p = (int)(h % 6), m = (int)((h >> 8) % 3);
    r->v[0].v.str.s = (h >> 60) < 12 ? "acme" : "globex";
    r->v[0].v.str.n = strlen(r->v[0].v.str.s);
    r->v[1].v.i = T0 + i * (7 * 86400000LL / n);
    r->v[2].v.str.s = providers[p];
    r->v[2].v.str.n = strlen(providers[p]);
    static char model_names[6][3][32];
    if (!model_names[p][m][0])
        snprintf(model_names[p][m], 32, "%s-%s", providers[p], models[m]);
    r->v[3].v.str.s = model_names[p][m];
    r->v[3].v.str.n = strlen(model_names[p][m]);
    static const char hex[] = "0123456789abcdef";
    uint64_t q = mix(h);
    memcpy(r->req, "req-", 4);
    for (int k = 0; k < 16; k++)
        r->req[4 + k] = hex[(q >> (4 * k)) & 15];
    r->v[4].v.str.s = r->req;
    r->v[4].v.str.n = 20;
    r->v[5].is_null = (h >> 20) % 3 != 0;
    r->v[5].v.str.n = put_id(r->debate, "deb-", (uint64_t)(i / 24));
    r->v[5].v.str.s = r->debate;
    r->v[6].is_null = r->v[5].is_null;
    r->v[6].v.i = 1 + (int64_t)((h >> 24) % 5);
    r->v[7].v.i = 40 + (int64_t)((h >> 28) % 4960);
    r->v[8].v.i = 20 + (int64_t)((h >> 36) % 3000);
    r->v[9].v.i = 5 + (int64_t)((h >> 44) % 1500);
    r->v[10].v.i = r->v[8].v.i + r->v[9].v.i;
    r->v[11].is_null = (h >> 52) % 17 == 0;
    r->v[11].v.d = (double)((h >> 12) % 1000) / 1000.0;
    int fail = (h >> 56) % 20 == 0;
    r->v[12].v.i = !fail;
    r->v[13].is_null = !fail;
    r->v[13].v.str.s = errors[(h >> 58) % 4];
    r->v[13].v.str.n = strlen(r->v[13].v.str.s);
}

static const char *words[] = {"the", "latency", "budget", "PostgreSQL", "migration", "Grüße", "naïve", "café",
                              "東京", "データ", "🚀", "résumé", "Kafka", "deploy", "rollback", "we", "should",
                              "decided", "because", "the", "index", "was", "missing", "on", "ticket", "T-1042"};

typedef struct conv_row {
    hx_pq_value_t v[15];
    char conv[24], ev[32], msg[24], user[16], sess[24];
    char content[8192];
} conv_row_t;

static void conv_make(int64_t i, int64_t n, conv_row_t *r)
{
    uint64_t h = mix((uint64_t)i ^ 0xC0FFEE);
    memset(r->v, 0, sizeof r->v);
    static const char *roles[] = {"user", "assistant", "system", "tool"};
    int role = i % 2 ? 1 : ((h >> 10) % 20 == 0 ? 2 : 0);
    r->v[0].v.str.s = (h >> 60) < 12 ? "acme" : "globex";
    r->v[0].v.str.n = strlen(r->v[0].v.str.s);
    r->v[1].v.str.n = (size_t)snprintf(r->conv, sizeof r->conv, "conv-%lld", (long long)(i / 50));
    r->v[1].v.str.s = r->conv;
    r->v[2].v.i = T0 + i * (3 * 86400000LL / n);
    r->v[3].v.i = i % 50 + 1;
    r->v[4].v.str.n = (size_t)snprintf(r->ev, sizeof r->ev, "ev-%016llx", (unsigned long long)h);
    r->v[4].v.str.s = r->ev;
    r->v[5].v.str.s = "added";
    r->v[5].v.str.n = 5;
    r->v[6].v.str.n = (size_t)snprintf(r->msg, sizeof r->msg, "m%lld", (long long)(i % 50 + 1));
    r->v[6].v.str.s = r->msg;
    r->v[7].v.str.s = roles[role];
    r->v[7].v.str.n = strlen(roles[role]);
    /* Assistant turns run long; user turns short. */
    size_t target = role == 1 ? 200 + (h >> 20) % 3000 : 20 + (h >> 20) % 300, len = 0;
    uint64_t s = h;
    while (len < target) {
        s = mix(s);
        const char *w = words[s % (sizeof words / sizeof words[0])];
        size_t wl = strlen(w);
        memcpy(r->content + len, w, wl);
        len += wl;
        r->content[len++] = (s >> 40) % 12 == 0 ? '\n' : ' ';
    }
    r->v[8].v.str.s = r->content;
    r->v[8].v.str.n = len;
    r->v[9].is_null = role != 1;
    r->v[9].v.str.s = "gpt-4o";
    r->v[9].v.str.n = 6;
    r->v[10].is_null = role != 1;
    r->v[10].v.str.s = "openai";
    r->v[10].v.str.n = 6;
    r->v[11].v.i = (int64_t)(len / 4);
    r->v[12].v.i = r->v[2].v.i;
    r->v[13].v.str.n = (size_t)snprintf(r->user, sizeof r->user, "u%lld", (long long)(i / 500));
    r->v[13].v.str.s = r->user;
    r->v[14].is_null = (h >> 30) % 4 == 0;
    r->v[14].v.str.n = (size_t)snprintf(r->sess, sizeof r->sess, "s%lld", (long long)(i / 100));
    r->v[14].v.str.s = r->sess;
}

static size_t raw_bytes(const hx_pq_value_t *v, size_t n)
{
    size_t b = 0;
    for (size_t i = 0; i < n; i++)
        b += v[i].is_null ? 0 : (v[i].v.str.n ? v[i].v.str.n : 8);
    return b;
}

typedef struct wres {
    double rows_per_sec, rows_per_cpu_sec, mb_per_sec, bytes_per_row;
    int64_t bytes;
    size_t files;
} wres_t;

static int write_ds(const char *root, const char *dsname, hx_pq_codec_t codec, int64_t n, wres_t *out,
                    hx_err_t *err)
{
    const hx_lake_dataset_t *ds = hx_lake_dataset_find(dsname);
    hx_lake_opts_t lo = {.root = root, .codec = codec, .no_fsync = 0};
    hx_lake_writer_t *w;
    int rc = hx_lake_writer_open(&lo, ds, "bench", &w, err);
    if (rc)
        return rc;
    static pm_row_t pr;
    static conv_row_t cr;
    int is_pm = strcmp(dsname, "provider_metrics") == 0;
    size_t raw = 0;
    uint64_t t0 = hx_mono_ns();
    double c0 = cpu_sec();
    for (int64_t i = 0; i < n && rc == HX_OK; i++) {
        const hx_pq_value_t *v;
        if (is_pm) {
            pm_make(i, n, &pr);
            v = pr.v;
        } else {
            conv_make(i, n, &cr);
            v = cr.v;
        }
        raw += raw_bytes(v, ds->ncols);
        rc = hx_lake_writer_write(w, v, err);
    }
    if (rc) {
        hx_lake_writer_abort(w);
        return rc;
    }
    if ((rc = hx_lake_writer_close(w, &out->files, &out->bytes, err)))
        return rc;
    double sec = (double)(hx_mono_ns() - t0) / 1e9;
    out->rows_per_sec = (double)n / sec;
    out->rows_per_cpu_sec = (double)n / (cpu_sec() - c0);
    out->mb_per_sec = (double)raw / 1e6 / sec;
    out->bytes_per_row = (double)out->bytes / (double)n;
    return HX_OK;
}

typedef struct rctx {
    int64_t matched, tokens;
} rctx_t;

static int count_cb(void *ctx, const hx_lake_file_t *f, const hx_pq_batch_t *b, const uint8_t *sel, size_t nsel)
{
    rctx_t *c = ctx;
    (void)f;
    c->matched += (int64_t)nsel;
    for (size_t i = 0; i < b->nrows; i++)
        if (sel[i])
            c->tokens += b->vecs[2].i64[i];
    return 0;
}

typedef struct vctx {
    int64_t next, n, bad;
} vctx_t;

static int verify_cb(void *ctx, const hx_lake_file_t *f, const hx_pq_batch_t *b, const uint8_t *sel, size_t nsel)
{
    vctx_t *c = ctx;
    static pm_row_t r;
    (void)f;
    (void)sel;
    (void)nsel;
    for (size_t i = 0; i < b->nrows; i++, c->next++) {
        pm_make(c->next, c->n, &r);
        for (size_t k = 0; k < b->ncols; k++) {
            const hx_pq_vec_t *v = &b->vecs[k];
            const hx_pq_value_t *x = &r.v[b->cols[k]];
            int ok = v->valid[i] == !x->is_null;
            if (ok && !x->is_null) {
                if (v->type == HX_PQ_STRING)
                    ok = v->off[i + 1] - v->off[i] == x->v.str.n &&
                         memcmp(v->data + v->off[i], x->v.str.s, x->v.str.n) == 0;
                else if (v->type == HX_PQ_DOUBLE)
                    ok = v->f64[i] == x->v.d;
                else
                    ok = v->i64[i] == x->v.i;
            }
            c->bad += !ok;
        }
    }
    return 0;
}

static void row(const char *metric, double v, const char *unit, const char *target, const char *acc,
                const char *verdict)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.0f %s", v, unit);
    hx_bench_row("Data lake (Parquet)", metric, buf, target, acc, verdict);
}

int hx_bench_lake(const hx_bench_opts_t *o, json_t **out, hx_err_t *err)
{
    *out = NULL;
    char tmpl[128];
    const char *dir;
    int rc = hx_bench_workdir(o, "lake", tmpl, sizeof tmpl, &dir, err);
    if (rc)
        return rc;
    int64_t n_pm = o->messages ? o->messages : 1000000, n_conv = n_pm / 10;
    const hx_pq_codec_t codecs[] = {HX_PQ_NONE, HX_PQ_SNAPPY, HX_PQ_ZSTD};
    json_t *res = json_object(), *byc = json_object(), *conv = json_object(), *cbyc = json_object();
    wres_t zw = {0};
    char root[1024];
    for (size_t c = 0; c < 3 && rc == HX_OK; c++) {
        const char *cn = hx_pq_codec_name(codecs[c]);
        wres_t wr, cw;
        snprintf(root, sizeof root, "%s/%s", dir, cn);
        if ((rc = write_ds(root, "provider_metrics", codecs[c], n_pm, &wr, err)) ||
            (rc = write_ds(root, "conversations", codecs[c], n_conv, &cw, err)))
            break;
        if (codecs[c] == HX_PQ_ZSTD)
            zw = wr;
        json_object_set_new(byc, cn, json_pack("{s:f,s:f,s:f,s:f,s:I,s:I}", "write_rows_per_sec", wr.rows_per_sec,
                                               "write_rows_per_cpu_sec", wr.rows_per_cpu_sec,
                                               "write_mb_per_sec", wr.mb_per_sec, "bytes_per_row", wr.bytes_per_row,
                                               "bytes", (json_int_t)wr.bytes, "files", (json_int_t)wr.files));
        json_object_set_new(cbyc, cn, json_pack("{s:f,s:f,s:f,s:f,s:I,s:I}", "write_rows_per_sec", cw.rows_per_sec,
                                                "write_rows_per_cpu_sec", cw.rows_per_cpu_sec,
                                                "write_mb_per_sec", cw.mb_per_sec, "bytes_per_row", cw.bytes_per_row,
                                                "bytes", (json_int_t)cw.bytes, "files", (json_int_t)cw.files));
        char m[64];
        snprintf(m, sizeof m, "metrics write %s", cn);
        row(m, wr.rows_per_sec, "rows/s", ">=1M", ">=500K", hx_bench_verdict(wr.rows_per_sec, 999999, 499999, 1));
        char b[64];
        snprintf(m, sizeof m, "metrics write %s per CPU-s", cn);
        snprintf(b, sizeof b, "%.0f rows/s", wr.rows_per_cpu_sec);
        hx_bench_row("Data lake (Parquet)", m, b, "-", "-", "-");
        snprintf(m, sizeof m, "metrics bytes/row %s", cn);
        snprintf(b, sizeof b, "%.1f B (%.0f MB/s raw)", wr.bytes_per_row, wr.mb_per_sec);
        hx_bench_row("Data lake (Parquet)", m, b, "-", "-", "-");
        snprintf(m, sizeof m, "messages write %s", cn);
        snprintf(b, sizeof b, "%.0f rows/s, %.0f B/row", cw.rows_per_sec, cw.bytes_per_row);
        hx_bench_row("Data lake (Parquet)", m, b, "-", "-", "-");
    }
    double read_rps = 0, read_cpu = 0;
    int verified = 0;
    if (rc == HX_OK) {
        snprintf(root, sizeof root, "%s/zstd", dir);
        const hx_lake_dataset_t *ds = hx_lake_dataset_find("provider_metrics");
        const char *cols[] = {"provider", "response_time_ms", "tokens_used"};
        hx_lake_pred_t preds[] = {{.col = "provider", .op = HX_PQ_EQ, .s = "anthropic"},
                                  {.col = "response_time_ms", .op = HX_PQ_GE, .i = 4000}};
        rctx_t rc1 = {0};
        hx_lake_scan_stats_t st;
        uint64_t t0 = hx_mono_ns();
        double c0 = cpu_sec();
        rc = hx_lake_scan(root, ds, NULL, 0, 0, cols, 3, preds, 2, count_cb, &rc1, &st, err);
        double sec = (double)(hx_mono_ns() - t0) / 1e9;
        read_rps = (double)st.rows_read / sec;
        read_cpu = (double)st.rows_read / (cpu_sec() - c0);
        /* Expected answer from the generator. */
        int64_t want = 0, want_tok = 0;
        static pm_row_t r;
        for (int64_t i = 0; i < n_pm; i++) {
            pm_make(i, n_pm, &r);
            if (!strcmp(r.v[2].v.str.s, "anthropic") && r.v[7].v.i >= 4000) {
                want++;
                want_tok += r.v[10].v.i;
            }
        }
        vctx_t vc = {0, n_pm, 0};
        if (rc == HX_OK)
            rc = hx_lake_scan(root, ds, NULL, 0, 0, NULL, 0, NULL, 0, verify_cb, &vc, NULL, err);
        verified = rc == HX_OK && rc1.matched == want && rc1.tokens == want_tok && vc.bad == 0 && vc.next == n_pm &&
                   st.rows_read == n_pm;
        if (!verified && rc == HX_OK)
            fprintf(stderr, "bench lake: verification failed: matched %lld/%lld tokens %lld/%lld bad cells %lld "
                            "rows %lld/%lld\n", (long long)rc1.matched, (long long)want, (long long)rc1.tokens,
                    (long long)want_tok, (long long)vc.bad, (long long)vc.next, (long long)n_pm);
        row("metrics read (3 cols, 2 preds)", read_rps, "rows/s", ">=5M", ">=2.5M",
            hx_bench_verdict(read_rps, 4999999, 2499999, 1));
        char rb[64];
        snprintf(rb, sizeof rb, "%.0f rows/s", read_cpu);
        hx_bench_row("Data lake (Parquet)", "metrics read per CPU-s", rb, "-", "-", "-");
        hx_bench_row("Data lake (Parquet)", "rows verified", verified ? "all" : "MISMATCH", "all", "all",
                     verified ? "Target" : "Poor");
    }
    json_object_set_new(res, "write_rows_per_sec", json_real(zw.rows_per_sec));
    json_object_set_new(res, "write_mb_per_sec", json_real(zw.mb_per_sec));
    json_object_set_new(res, "bytes_per_row", json_real(zw.bytes_per_row));
    json_object_set_new(res, "read_rows_per_sec", json_real(read_rps));
    json_object_set_new(res, "codec", json_string("zstd"));
    json_object_set_new(res, "write_rows_per_cpu_sec", json_real(zw.rows_per_cpu_sec));
    json_object_set_new(res, "read_rows_per_cpu_sec", json_real(read_cpu));
    json_object_set_new(res, "verified", json_boolean(verified));
    json_object_set_new(res, "rows", json_integer(n_pm));
    json_object_set_new(res, "by_codec", byc);
    json_object_set_new(conv, "rows", json_integer(n_conv));
    json_object_set_new(conv, "by_codec", cbyc);
    json_object_set_new(res, "conversations", conv);
    json_object_set_new(res, "write_verdict", json_string(hx_bench_verdict(zw.rows_per_sec, 999999, 499999, 1)));
    json_object_set_new(res, "read_verdict", json_string(hx_bench_verdict(read_rps, 4999999, 2499999, 1)));
    *out = res;
    hx_bench_workdir_done(o, "lake", dir);
    return rc;
}
