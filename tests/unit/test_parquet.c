/* Parquet writer/reader round trips: every type, nulls, long UTF-8, pages,
 * row groups, dictionary fallback, statistics, pruning, atomic visibility. */
#include "../hx_test.h"

#include "helix/hx_parquet.h"
#include "lake/parquet/pq_int.h"

#include <dirent.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_rle_roundtrip(void)
{
    uint32_t v[3000], back[3000];
    for (int round = 0; round < 200; round++) {
        int w = (int)(next() % 33);
        size_t n = 1 + next() % 3000;
        uint32_t mask = w == 32 ? 0xFFFFFFFFu : (w ? (1u << w) - 1 : 0);
        for (size_t i = 0; i < n; i++) {
            /* Mix runs and noise so both run kinds and their joins appear. */
            if (i > 0 && next() % 4 != 0)
                v[i] = v[i - 1];
            else
                v[i] = (uint32_t)next() & mask;
        }
        hx_buf_t b = HX_BUF_INIT;
        CHECK_INT(pq_rle_encode(v, n, w, &b), 0);
        memset(back, 0xAB, sizeof back);
        CHECK_INT(pq_rle_decode(b.data, b.len, w, back, n), 0);
        CHECK(memcmp(v, back, n * sizeof *v) == 0);
        hx_buf_free(&b);
    }
}

static const hx_pq_column_t cols[] = {
    {"ts", HX_PQ_TIMESTAMP, 0}, {"id", HX_PQ_INT64, 0},     {"n32", HX_PQ_INT32, 1},
    {"d", HX_PQ_DOUBLE, 1},     {"ok", HX_PQ_BOOL, 1},      {"role", HX_PQ_STRING, 0},
    {"content", HX_PQ_STRING, 1},
};
#define NC (sizeof cols / sizeof cols[0])

static const char *roles[] = {"user", "assistant", "system", "tool"};

/* Long UTF-8 content with multi-byte characters, or null every 7th row. */
static void make_content(size_t i, char *buf, size_t cap, size_t *n)
{
    const char *pieces[] = {"Grüße ", "日本語のテキスト ", "emoji 🚀 ", "plain ascii words ", "ß∂ƒ© "};
    size_t len = 0, target = 20 + (i * 37) % 3000;
    while (len < target) {
        const char *p = pieces[(i + len) % 5];
        size_t pl = strlen(p);
        if (len + pl >= cap)
            break;
        memcpy(buf + len, p, pl);
        len += pl;
    }
    len += (size_t)snprintf(buf + len, cap - len, "#%zu", i);
    *n = len;
}

static void fill_row(size_t i, hx_pq_value_t *row, char *cbuf, size_t cap)
{
    memset(row, 0, NC * sizeof *row);
    row[0].v.i = 1700000000000LL + (int64_t)i * 1000;
    row[1].v.i = (int64_t)i * 7919 - 5000000;
    row[2].is_null = i % 5 == 0;
    row[2].v.i = (int64_t)(i % 1000) - 500;
    row[3].is_null = i % 11 == 0;
    row[3].v.d = (double)i / 3.0;
    row[4].is_null = i % 13 == 0;
    row[4].v.i = i % 3 == 0;
    row[5].v.str.s = roles[i % 4];
    row[5].v.str.n = strlen(roles[i % 4]);
    row[6].is_null = i % 7 == 0;
    size_t n;
    make_content(i, cbuf, cap, &n);
    row[6].v.str.s = cbuf;
    row[6].v.str.n = n;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void roundtrip(hx_pq_codec_t codec, int no_dict, size_t rows, size_t rg_bytes)
{
    char *dir = hx_test_tmpdir("pq");
    char path[512];
    snprintf(path, sizeof path, "%s/part-0.parquet", dir);
    hx_pq_write_opts_t o = {.codec = codec, .row_group_bytes = rg_bytes, .page_bytes = 64 * 1024,
                            .no_dictionary = no_dict, .no_fsync = 1};
    hx_pq_writer_t *w;
    hx_err_t err;
    CHECK_INT(hx_pq_writer_open(path, cols, NC, &o, &w, &err), 0);
    CHECK_INT(hx_pq_writer_set_kv(w, "helix.offsets", "{\"0\":12}", &err), 0);
    CHECK_INT(hx_pq_writer_set_kv(w, "helix.offsets", "{\"0\":13}", &err), 0);
    static char cbuf[4096];
    hx_pq_value_t row[NC];
    for (size_t i = 0; i < rows; i++) {
        fill_row(i, row, cbuf, sizeof cbuf);
        if (hx_pq_writer_write_row(w, row, &err)) {
            CHECK(!"write_row");
            break;
        }
    }
    /* Not visible before close. */
    CHECK(access(path, F_OK) != 0);
    CHECK_INT(hx_pq_writer_close(w, &err), 0);
    CHECK_INT(count_files(dir), 1);

    hx_pq_reader_t *r;
    CHECK_INT(hx_pq_reader_open(path, &r, &err), 0);
    if (!r) {
        fprintf(stderr, "%s\n", err.msg);
        free(dir);
        return;
    }
    CHECK_INT(hx_pq_reader_nrows(r), rows);
    CHECK_INT(hx_pq_reader_ncols(r), NC);
    CHECK_STR(hx_pq_reader_kv(r, "helix.offsets"), "{\"0\":13}");
    CHECK(hx_pq_reader_col(r, 0)->type == HX_PQ_TIMESTAMP && hx_pq_reader_col(r, 0)->utc);
    CHECK(hx_pq_reader_col(r, 6)->type == HX_PQ_STRING && hx_pq_reader_col(r, 6)->optional);
    if (rg_bytes < 1000000)
        CHECK(hx_pq_reader_nrowgroups(r) > 1);
    size_t base = 0, bad = 0;
    for (size_t g = 0; g < hx_pq_reader_nrowgroups(r); g++) {
        CHECK_INT(hx_pq_reader_codec(r, g, 6), codec);
        hx_pq_batch_t b;
        int rc = hx_pq_read_rowgroup(r, g, NULL, 0, &b, &err);
        CHECK_INT(rc, 0);
        if (rc)
            fprintf(stderr, "%s\n", err.msg);
        for (size_t i = 0; !rc && i < b.nrows; i++) {
            size_t k = base + i;
            fill_row(k, row, cbuf, sizeof cbuf);
            bad += b.vecs[0].i64[i] != row[0].v.i || b.vecs[1].i64[i] != row[1].v.i;
            bad += b.vecs[2].valid[i] != !row[2].is_null || (!row[2].is_null && b.vecs[2].i64[i] != row[2].v.i);
            bad += b.vecs[3].valid[i] != !row[3].is_null || (!row[3].is_null && b.vecs[3].f64[i] != row[3].v.d);
            bad += b.vecs[4].valid[i] != !row[4].is_null || (!row[4].is_null && b.vecs[4].i64[i] != row[4].v.i);
            const hx_pq_vec_t *s = &b.vecs[5];
            bad += s->off[i + 1] - s->off[i] != row[5].v.str.n ||
                   memcmp(s->data + s->off[i], row[5].v.str.s, row[5].v.str.n) != 0;
            const hx_pq_vec_t *c = &b.vecs[6];
            bad += c->valid[i] != !row[6].is_null;
            if (!row[6].is_null)
                bad += c->off[i + 1] - c->off[i] != row[6].v.str.n ||
                       memcmp(c->data + c->off[i], row[6].v.str.s, row[6].v.str.n) != 0;
        }
        hx_pq_stats_t st;
        CHECK_INT(hx_pq_reader_stats(r, g, 1, &st), 0);
        CHECK(st.has_minmax);
        CHECK_INT(st.imin, (int64_t)base * 7919 - 5000000);
        CHECK_INT(st.imax, (int64_t)(base + b.nrows - 1) * 7919 - 5000000);
        CHECK_INT(hx_pq_reader_stats(r, g, 5, &st), 0);
        CHECK(st.has_minmax && st.smin_n == 9 && memcmp(st.smin, "assistant", 9) == 0);
        CHECK_INT(hx_pq_reader_stats(r, g, 6, &st), 0);
        CHECK(st.has_nulls_count && st.null_count > 0);
        base += b.nrows;
        hx_pq_batch_free(&b);
    }
    CHECK_INT(bad, 0);
    CHECK_INT(base, rows);
    hx_pq_reader_close(r);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
    free(dir);
}

static void test_roundtrip_codecs(void)
{
    roundtrip(HX_PQ_NONE, 0, 5000, 1u << 27);
    roundtrip(HX_PQ_SNAPPY, 0, 20000, 1u << 20);
    roundtrip(HX_PQ_ZSTD, 0, 20000, 1u << 20);
    roundtrip(HX_PQ_ZSTD, 1, 3000, 1u << 27);
}

static void test_projection_and_pruning(void)
{
    char *dir = hx_test_tmpdir("pqprune");
    char path[512];
    snprintf(path, sizeof path, "%s/p.parquet", dir);
    hx_pq_column_t c2[] = {{"k", HX_PQ_INT64, 0}, {"s", HX_PQ_STRING, 0}};
    hx_pq_write_opts_t o = {.codec = HX_PQ_ZSTD, .row_group_bytes = 64 * 1024, .no_fsync = 1};
    hx_pq_writer_t *w;
    hx_err_t err;
    CHECK_INT(hx_pq_writer_open(path, c2, 2, &o, &w, &err), 0);
    char s[32];
    for (int i = 0; i < 50000; i++) {
        hx_pq_value_t row[2] = {{0}};
        row[0].v.i = i;
        snprintf(s, sizeof s, "key-%06d", i);
        row[1].v.str.s = s;
        row[1].v.str.n = strlen(s);
        CHECK_INT(hx_pq_writer_write_row(w, row, &err), 0);
    }
    CHECK_INT(hx_pq_writer_close(w, &err), 0);
    hx_pq_reader_t *r;
    CHECK_INT(hx_pq_reader_open(path, &r, &err), 0);
    size_t nrg = hx_pq_reader_nrowgroups(r), kept = 0, matched = 0;
    CHECK(nrg > 4);
    hx_pq_pred_t p = {.col = 0, .op = HX_PQ_GE, .i = 45000};
    for (size_t g = 0; g < nrg; g++) {
        if (hx_pq_rowgroup_pruned(r, g, &p, 1))
            continue;
        kept++;
        int proj = 0;
        hx_pq_batch_t b;
        CHECK_INT(hx_pq_read_rowgroup(r, g, &proj, 1, &b, &err), 0);
        CHECK_INT(b.ncols, 1);
        for (size_t i = 0; i < b.nrows; i++)
            matched += (size_t)hx_pq_pred_match(&p, &b.vecs[0], i);
        hx_pq_batch_free(&b);
    }
    CHECK_INT(matched, 5000);
    CHECK(kept < nrg / 2);
    hx_pq_pred_t ps = {.col = 1, .op = HX_PQ_EQ, .s = "key-000010", .n = 10};
    CHECK(!hx_pq_rowgroup_pruned(r, 0, &ps, 1));
    CHECK(hx_pq_rowgroup_pruned(r, nrg - 1, &ps, 1));
    hx_pq_reader_close(r);
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* Columns that are all null, in a page or a whole file, and an empty file. */
static void test_all_null_and_empty(void)
{
    char *dir = hx_test_tmpdir("pqnull");
    char path[512];
    hx_pq_column_t c3[] = {{"s", HX_PQ_STRING, 1}, {"i", HX_PQ_INT64, 1}, {"d", HX_PQ_DOUBLE, 1}, {"b", HX_PQ_BOOL, 1}};
    for (int rows = 0; rows <= 300; rows += 150) {
        snprintf(path, sizeof path, "%s/n%d.parquet", dir, rows);
        hx_pq_write_opts_t o = {.codec = HX_PQ_ZSTD, .no_fsync = 1};
        hx_pq_writer_t *w;
        hx_err_t err;
        CHECK_INT(hx_pq_writer_open(path, c3, 4, &o, &w, &err), 0);
        for (int i = 0; i < rows; i++) {
            hx_pq_value_t v[4] = {{1, {0}}, {1, {0}}, {1, {0}}, {1, {0}}};
            CHECK_INT(hx_pq_writer_write_row(w, v, &err), 0);
        }
        CHECK_INT(hx_pq_writer_close(w, &err), 0);
        hx_pq_reader_t *r;
        CHECK_INT(hx_pq_reader_open(path, &r, &err), 0);
        if (!r)
            continue;
        CHECK_INT(hx_pq_reader_nrows(r), rows);
        for (size_t g = 0; g < hx_pq_reader_nrowgroups(r); g++) {
            hx_pq_batch_t b;
            CHECK_INT(hx_pq_read_rowgroup(r, g, NULL, 0, &b, &err), 0);
            for (size_t i = 0; i < b.nrows; i++)
                for (size_t k = 0; k < 4; k++)
                    CHECK(!b.vecs[k].valid[i]);
            hx_pq_pred_t p = {.col = 0, .op = HX_PQ_EQ, .s = "x", .n = 1};
            CHECK(hx_pq_rowgroup_pruned(r, g, &p, 1));
            hx_pq_batch_free(&b);
        }
        hx_pq_reader_close(r);
        unlink(path);
    }
    rmdir(dir);
    free(dir);
}

static void test_bad_input(void)
{
    char *dir = hx_test_tmpdir("pqbad");
    char path[512];
    snprintf(path, sizeof path, "%s/x.parquet", dir);
    hx_pq_column_t c1[] = {{"s", HX_PQ_STRING, 0}};
    hx_pq_writer_t *w;
    hx_err_t err;
    CHECK_INT(hx_pq_writer_open(path, c1, 1, NULL, &w, &err), 0);
    hx_pq_value_t v = {0};
    v.v.str.s = "\xC3\x28";
    v.v.str.n = 2;
    CHECK_INT(hx_pq_writer_write_row(w, &v, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "UTF-8");
    v.is_null = 1;
    CHECK_INT(hx_pq_writer_write_row(w, &v, &err), HX_EINVAL);
    CHECK_CONTAINS(err.msg, "required");
    hx_pq_writer_abort(w);
    CHECK_INT(count_files(dir), 0);
    hx_pq_reader_t *r;
    CHECK_INT(hx_pq_reader_open_mem("PAR1xxxxPAR1", 12, &r, &err), HX_ECORRUPT);
    CHECK_INT(hx_pq_reader_open_mem("nope", 4, &r, &err), HX_ECORRUPT);
    CHECK_CONTAINS(err.msg, "not a Parquet file");
    rmdir(dir);
    free(dir);
}

int main(void)
{
    RUN(test_rle_roundtrip);
    RUN(test_roundtrip_codecs);
    RUN(test_projection_and_pruning);
    RUN(test_all_null_and_empty);
    RUN(test_bad_input);
    return HX_TEST_DONE();
}
