/* DuckDB, the external reader, against our Parquet writer and reader:
 *  - DuckDB reads our files (every codec, nulls, long UTF-8, several row
 *    groups, hive partitions typed as integers) and its rows equal ours;
 *    parquet_metadata() shows our codecs, encodings and statistics;
 *  - our reader reads DuckDB's files (v1 and v2 pages, snappy/zstd/none,
 *    dictionary and delta encodings) and its rows equal DuckDB's. */
#include "../hx_test.h"

#include "helix/hx_parquet.h"

#include <jansson.h>

static char modules[1024];
static char script[1024];

static int duckdb_ready(void)
{
    const char *src = getenv("HX_SOURCE_DIR");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "bash '%s/tests/integration/lib/duckdb.sh'", src ? src : HX_SOURCE_DIR);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    if (!fgets(modules, sizeof modules, p))
        modules[0] = 0;
    int rc = pclose(p);
    modules[strcspn(modules, "\n")] = 0;
    snprintf(script, sizeof script, "%s/tests/integration/lib/duckdb_query.cjs", src ? src : HX_SOURCE_DIR);
    return rc == 0 && modules[0];
}

/* Runs one SQL statement; returns the rows (caller frees) or NULL. */
static json_t *duck(const char *dir, const char *sql)
{
    char qpath[1024], opath[1024];
    snprintf(qpath, sizeof qpath, "%s/q.sql", dir);
    snprintf(opath, sizeof opath, "%s/q.json", dir);
    FILE *f = fopen(qpath, "w");
    fputs(sql, f);
    fclose(f);
    size_t n = strlen(sql) + 4096;
    char *cmd = malloc(n);
    snprintf(cmd, n, "node '%s' '%s' \"$(cat '%s')\" > '%s'", script, modules, qpath, opath);
    int rc = system(cmd);
    free(cmd);
    if (rc != 0) {
        fprintf(stderr, "duckdb failed on: %s\n", sql);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_load_file(opath, 0, &je);
    if (!j)
        fprintf(stderr, "bad duckdb output: %s\n", je.text);
    return j;
}

static long long jint(const json_t *v)
{
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return (long long)json_integer_value(v);
}

/* Our reader and DuckDB read `file`; every cell must agree. */
static int compare_file(const char *dir, const char *file)
{
    hx_pq_reader_t *r;
    hx_err_t err;
    if (hx_pq_reader_open(file, &r, &err)) {
        fprintf(stderr, "our reader: %s\n", err.msg);
        return -1;
    }
    size_t nc = hx_pq_reader_ncols(r);
    char sql[8192];
    size_t o = (size_t)snprintf(sql, sizeof sql, "select ");
    for (size_t c = 0; c < nc; c++) {
        const hx_pq_colinfo_t *ci = hx_pq_reader_col(r, c);
        if (ci->type == HX_PQ_TIMESTAMP)
            o += (size_t)snprintf(sql + o, sizeof sql - o, "epoch_us(\"%s\") as c%zu, ", ci->name, c);
        else if (ci->type == HX_PQ_DATE)
            o += (size_t)snprintf(sql + o, sizeof sql - o, "date_diff('day', date '1970-01-01', \"%s\") as c%zu, ",
                                  ci->name, c);
        else if (ci->type == HX_PQ_BINARY)
            o += (size_t)snprintf(sql + o, sizeof sql - o, "hex(\"%s\") as c%zu, ", ci->name, c);
        else
            o += (size_t)snprintf(sql + o, sizeof sql - o, "\"%s\" as c%zu, ", ci->name, c);
    }
    snprintf(sql + o, sizeof sql - o,
             "file_row_number from read_parquet('%s', file_row_number=true) order by file_row_number", file);
    json_t *rows = duck(dir, sql);
    int bad = rows ? 0 : 1;
    if (rows && (int64_t)json_array_size(rows) != hx_pq_reader_nrows(r)) {
        fprintf(stderr, "%s: duckdb %zu rows, ours %lld\n", file, json_array_size(rows),
                (long long)hx_pq_reader_nrows(r));
        bad++;
    }
    size_t base = 0;
    for (size_t g = 0; rows && !bad && g < hx_pq_reader_nrowgroups(r); g++) {
        hx_pq_batch_t b;
        if (hx_pq_read_rowgroup(r, g, NULL, 0, &b, &err)) {
            fprintf(stderr, "our reader: %s\n", err.msg);
            bad++;
            hx_pq_batch_free(&b);
            break;
        }
        for (size_t i = 0; i < b.nrows && bad < 5; i++) {
            json_t *row = json_array_get(rows, base + i);
            for (size_t c = 0; c < nc; c++) {
                char key[16];
                snprintf(key, sizeof key, "c%zu", c);
                json_t *v = json_object_get(row, key);
                const hx_pq_vec_t *vec = &b.vecs[c];
                const hx_pq_colinfo_t *ci = hx_pq_reader_col(r, c);
                int same;
                if (!vec->valid[i]) {
                    same = json_is_null(v);
                } else if (json_is_null(v)) {
                    same = 0;
                } else if (vec->type == HX_PQ_DOUBLE || vec->type == HX_PQ_FLOAT) {
                    same = json_number_value(v) == vec->f64[i];
                } else if (vec->type == HX_PQ_BOOL) {
                    same = json_is_true(v) == (vec->i64[i] != 0);
                } else if (vec->type == HX_PQ_STRING) {
                    size_t n = (size_t)(vec->off[i + 1] - vec->off[i]);
                    same = json_is_string(v) && json_string_length(v) == n &&
                           memcmp(json_string_value(v), vec->data + vec->off[i], n) == 0;
                } else if (vec->type == HX_PQ_BINARY) {
                    char hex[4096] = "";
                    size_t n = (size_t)(vec->off[i + 1] - vec->off[i]);
                    for (size_t k = 0; k < n && k < 2000; k++)
                        snprintf(hex + 2 * k, 3, "%02X", vec->data[vec->off[i] + k]);
                    same = json_is_string(v) && strcmp(json_string_value(v), hex) == 0;
                } else if (vec->type == HX_PQ_TIMESTAMP) {
                    long long us = ci->unit == HX_PQ_MILLIS ? vec->i64[i] * 1000
                                   : ci->unit == HX_PQ_MICROS ? vec->i64[i] : vec->i64[i] / 1000;
                    same = jint(v) == us;
                } else {
                    same = jint(v) == vec->i64[i];
                }
                if (!same) {
                    char *d = json_dumps(v, JSON_ENCODE_ANY);
                    fprintf(stderr, "%s row %zu column %s: duckdb %.200s disagrees\n", file, base + i, ci->name, d);
                    free(d);
                    bad++;
                }
            }
        }
        base += b.nrows;
        hx_pq_batch_free(&b);
    }
    json_decref(rows);
    hx_pq_reader_close(r);
    return bad;
}

static const hx_pq_column_t cols[] = {
    {"ts", HX_PQ_TIMESTAMP, 0},  {"id", HX_PQ_INT64, 0},   {"tokens", HX_PQ_INT32, 1},
    {"confidence", HX_PQ_DOUBLE, 1}, {"success", HX_PQ_BOOL, 1}, {"role", HX_PQ_STRING, 0},
    {"content", HX_PQ_STRING, 1},
};
#define NC (sizeof cols / sizeof cols[0])

static void write_ours(const char *path, hx_pq_codec_t codec, int day, size_t rows, int64_t *sum_id)
{
    static const char *roles[] = {"user", "assistant", "system", "tool"};
    static const char *words[] = {"Grüße aus Köln ", "日本語のテキスト ", "🚀 launch ", "plain words here ",
                                  "\"quoted\" \\ back\\slash\n newline\t", "ß∂ƒ© "};
    hx_pq_write_opts_t o = {.codec = codec, .row_group_bytes = 256 * 1024, .page_bytes = 32 * 1024, .no_fsync = 1};
    hx_pq_writer_t *w;
    hx_err_t err;
    if (hx_pq_writer_open(path, cols, NC, &o, &w, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(0);
        return;
    }
    hx_pq_writer_set_kv(w, "helix.dataset", "conversations", &err);
    static char content[8192];
    for (size_t i = 0; i < rows; i++) {
        hx_pq_value_t v[NC];
        memset(v, 0, sizeof v);
        int64_t id = (int64_t)day * 1000000 + (int64_t)i;
        *sum_id += id;
        v[0].v.i = 1704067200000LL + (int64_t)(day - 1) * 86400000LL + (int64_t)i * 1000;
        v[1].v.i = id;
        v[2].is_null = i % 6 == 0;
        v[2].v.i = (int64_t)(i * 13 % 4000);
        v[3].is_null = i % 9 == 0;
        v[3].v.d = (double)(i % 1000) / 1000.0;
        v[4].is_null = i % 10 == 0;
        v[4].v.i = i % 4 != 0;
        v[5].v.str.s = roles[i % 4];
        v[5].v.str.n = strlen(roles[i % 4]);
        v[6].is_null = i % 8 == 0;
        size_t len = 0, target = (i * 97) % 6000;
        while (len < target) {
            const char *p = words[(i + len) % 6];
            size_t pl = strlen(p);
            memcpy(content + len, p, pl);
            len += pl;
        }
        v[6].v.str.s = content;
        v[6].v.str.n = len;
        if (hx_pq_writer_write_row(w, v, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            CHECK(0);
            break;
        }
    }
    CHECK_INT(hx_pq_writer_close(w, &err), 0);
}

static char *dir;

static void test_duckdb_reads_ours(void)
{
    char root[1024], path[1200], sql[4096];
    snprintf(root, sizeof root, "%s/lake/conversations", dir);
    const hx_pq_codec_t codecs[] = {HX_PQ_SNAPPY, HX_PQ_ZSTD, HX_PQ_NONE};
    int64_t sum_id = 0;
    size_t total = 0;
    for (int day = 1; day <= 3; day++) {
        snprintf(path, sizeof path, "mkdir -p '%s/year=2024/month=1/day=%d'", root, day);
        CHECK_INT(system(path), 0);
        snprintf(path, sizeof path, "%s/year=2024/month=1/day=%d/part-%d.parquet", root, day, day);
        size_t rows = 3000 + (size_t)day * 1000;
        write_ours(path, codecs[day - 1], day, rows, &sum_id);
        total += rows;
        CHECK_INT(compare_file(dir, path), 0);
    }
    snprintf(sql, sizeof sql,
             "select count(*) n, sum(id)::varchar s, typeof(any_value(year)) ty, count(distinct day) nd, "
             "count(content) nc, min(ts)::varchar t0 from read_parquet('%s/**/*.parquet', hive_partitioning=true)",
             root);
    json_t *j = duck(dir, sql);
    json_t *row = json_array_get(j, 0);
    CHECK_INT(jint(json_object_get(row, "n")), total);
    CHECK_INT(strtoll(json_string_value(json_object_get(row, "s")) ?: "0", NULL, 10), sum_id);
    CHECK_STR(json_string_value(json_object_get(row, "ty")), "BIGINT");
    CHECK_INT(jint(json_object_get(row, "nd")), 3);
    CHECK_STR(json_string_value(json_object_get(row, "t0")), "2024-01-01 00:00:00+00");
    json_decref(j);

    /* Partition pruning and a predicate in DuckDB over our statistics. */
    snprintf(sql, sizeof sql,
             "select count(*) n from read_parquet('%s/**/*.parquet', hive_partitioning=true) where day = 2 and "
             "role = 'tool' and id >= 2000100",
             root);
    j = duck(dir, sql);
    CHECK_INT(jint(json_object_get(json_array_get(j, 0), "n")), (5000 - 100) / 4);
    json_decref(j);

    snprintf(sql, sizeof sql,
             "select compression, path_in_schema p, encodings, stats_min_value mn, stats_max_value mx, "
             "stats_null_count nn, row_group_id rg from parquet_metadata('%s/year=2024/month=1/day=2/part-2.parquet') "
             "order by rg, column_id",
             root);
    j = duck(dir, sql);
    CHECK(json_array_size(j) > NC);   /* several row groups */
    size_t i;
    json_t *m;
    int saw_dict = 0, saw_id0 = 0, saw_nulls = 0;
    json_array_foreach(j, i, m) {
        CHECK_STR(json_string_value(json_object_get(m, "compression")), "ZSTD");
        const char *p = json_string_value(json_object_get(m, "p"));
        const char *enc = json_string_value(json_object_get(m, "encodings"));
        if (p && !strcmp(p, "role") && enc && strstr(enc, "RLE_DICTIONARY"))
            saw_dict = 1;
        if (p && !strcmp(p, "id") && jint(json_object_get(m, "rg")) == 0) {
            saw_id0 = 1;
            CHECK_STR(json_string_value(json_object_get(m, "mn")), "2000000");
        }
        if (p && !strcmp(p, "content") && jint(json_object_get(m, "rg")) == 0)
            saw_nulls = jint(json_object_get(m, "nn")) > 0;
    }
    CHECK(saw_dict);
    CHECK(saw_id0);
    CHECK(saw_nulls);
    json_decref(j);

    snprintf(sql, sizeof sql,
             "select decode(key) k, decode(value) v from parquet_kv_metadata('%s/year=2024/month=1/day=1/part-1.parquet')",
             root);
    j = duck(dir, sql);
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 0), "k")), "helix.dataset");
    CHECK_STR(json_string_value(json_object_get(json_array_get(j, 0), "v")), "conversations");
    json_decref(j);
}

static void test_ours_reads_duckdb(void)
{
    const char *gen =
        "select i::bigint id, (i * 3 - 7000)::int n32, (i %% 100)::smallint small, "
        "case when i %% 5 = 0 then null else i / 4.0 end::double d, (i / 8.0)::float f, "
        "case when i %% 9 = 0 then null else i %% 3 = 0 end b, "
        "case when i %% 7 = 0 then null else repeat('Grüße 日本 🚀 ', (i %% 40)::int) || i::varchar end s, "
        "['alpha','beta','gamma'][(i %% 3) + 1] cat, "
        "make_timestamp(1700000000000000 + i * 1000003) t, "
        "(timestamptz '2024-03-01 00:00:00+00' + to_milliseconds(i)) tz, "
        "(date '2024-01-01' + (i %% 365)::int) dt, "
        "case when i %% 11 = 0 then null else 'x' || (i %% 13)::varchar end lowcard, "
        "('\\x' || lpad(to_hex(i), 8, '0'))::blob bl "
        "from (select range as i from range(%d))";
    struct { const char *opts; int rows; } cases[] = {
        {"compression snappy", 20000},
        {"compression zstd, row_group_size 3000", 20000},
        {"compression uncompressed", 5000},
        {"compression zstd, parquet_version v2", 20000},
        {"compression snappy, parquet_version v2, row_group_size 4096", 9000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[1200], sql[8192], q[4096];
        snprintf(path, sizeof path, "%s/duck-%zu.parquet", dir, c);
        snprintf(q, sizeof q, gen, cases[c].rows);
        snprintf(sql, sizeof sql, "copy (%s) to '%s' (format parquet, %s)", q, path, cases[c].opts);
        json_t *j = duck(dir, sql);
        CHECK(j != NULL);
        json_decref(j);
        hx_pq_reader_t *r;
        hx_err_t err;
        int rc = hx_pq_reader_open(path, &r, &err);
        CHECK_INT(rc, 0);
        if (rc) {
            fprintf(stderr, "%s: %s\n", cases[c].opts, err.msg);
            continue;
        }
        CHECK_INT(hx_pq_reader_nrows(r), cases[c].rows);
        CHECK(hx_pq_reader_col(r, hx_pq_reader_find(r, "s"))->type == HX_PQ_STRING);
        CHECK(hx_pq_reader_col(r, hx_pq_reader_find(r, "t"))->type == HX_PQ_TIMESTAMP);
        /* Pruning by DuckDB's statistics. */
        if (hx_pq_reader_nrowgroups(r) > 1) {
            hx_pq_pred_t p = {.col = hx_pq_reader_find(r, "id"), .op = HX_PQ_LT, .i = 10};
            CHECK(!hx_pq_rowgroup_pruned(r, 0, &p, 1));
            CHECK(hx_pq_rowgroup_pruned(r, hx_pq_reader_nrowgroups(r) - 1, &p, 1));
        }
        hx_pq_reader_close(r);
        int bad = compare_file(dir, path);
        if (bad)
            fprintf(stderr, "case '%s' differs\n", cases[c].opts);
        CHECK_INT(bad, 0);
    }
}

int main(void)
{
    if (!duckdb_ready()) {
        fprintf(stderr, "DuckDB (npm @duckdb/node-api) is required; see the message above\n");
        CHECK(!"duckdb available");
        return HX_TEST_DONE();
    }
    dir = hx_test_tmpdir("pqduck");
    RUN(test_duckdb_reads_ours);
    RUN(test_ours_reads_duckdb);
    if (!hx_t_failed) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    free(dir);
    return HX_TEST_DONE();
}
