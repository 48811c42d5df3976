/* `helix lake ls|cat|rm`: the lake read straight from its directory (files
 * appear atomically, so reading beside a running server is safe). */
#include "cli/commands.h"
#include "helix/hx_config.h"
#include "helix/hx_lake.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: helix lake <command> [options]\n\n"
                 "  ls [DATASET]                 datasets, or a dataset's partitions and files\n"
                 "  cat DATASET [--from D] [--to D] [--limit N]\n"
                 "                               a tenant's rows as JSON lines (dates YYYY-MM-DD)\n"
                 "  cat conversations ID         one conversation's archived events\n"
                 "  cat FILE.parquet             any Parquet file (flat schema) as JSON lines\n"
                 "  rm conversations ID          delete a conversation's rows from every file\n\n"
                 "options: --config FILE, --data-dir DIR, --tenant T (default \"default\")\n"
                 "`rm` changes files: stop `helix serve` first or use DELETE /v1/datalake/conversations/ID.\n");
}

static int64_t parse_day(const char *s, int *bad)
{
    int y, m, d;
    if (!s)
        return 0;
    if (sscanf(s, "%d-%d-%d", &y, &m, &d) != 3) {
        fprintf(stderr, "helix lake: '%s' is not a date YYYY-MM-DD\n", s);
        *bad = 1;
        return 0;
    }
    return hx_lake_day_start(y, m, d);
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (s)
        puts(s);
    free(s);
}

static int cat_file(const char *path)
{
    hx_pq_reader_t *r;
    hx_err_t err = {0};
    if (hx_pq_reader_open(path, &r, &err)) {
        fprintf(stderr, "helix lake: %s\n", err.msg);
        return 1;
    }
    /* A synthetic dataset naming the file's columns, for hx_lake_row_json. */
    size_t nc = hx_pq_reader_ncols(r);
    hx_pq_column_t *cols = calloc(nc ? nc : 1, sizeof *cols);
    for (size_t c = 0; cols && c < nc; c++)
        cols[c] = (hx_pq_column_t){hx_pq_reader_col(r, c)->name, hx_pq_reader_col(r, c)->type, 1};
    hx_lake_dataset_t ds = {.name = "file", .cols = cols, .ncols = nc};
    int rc = 0;
    for (size_t g = 0; cols && g < hx_pq_reader_nrowgroups(r) && !rc; g++) {
        hx_pq_batch_t b;
        if (hx_pq_read_rowgroup(r, g, NULL, 0, &b, &err)) {
            fprintf(stderr, "helix lake: %s\n", err.msg);
            rc = 1;
        }
        for (size_t i = 0; !rc && i < b.nrows; i++) {
            json_t *row = hx_lake_row_json(&ds, &b, i);
            print_json(row);
            json_decref(row);
        }
        hx_pq_batch_free(&b);
    }
    free(cols);
    hx_pq_reader_close(r);
    return rc;
}

typedef struct cat_ctx {
    const hx_lake_dataset_t *ds;
    int64_t left;
} cat_ctx_t;

static int cat_cb(void *ctx, const hx_lake_file_t *f, const hx_pq_batch_t *b, const uint8_t *sel, size_t nsel)
{
    cat_ctx_t *c = ctx;
    (void)f;
    (void)nsel;
    for (size_t i = 0; i < b->nrows && c->left; i++) {
        if (!sel[i])
            continue;
        json_t *row = hx_lake_row_json(c->ds, b, i);
        print_json(row);
        json_decref(row);
        c->left--;
    }
    return c->left ? 0 : 1;
}

static int ls(hx_lake_t *l, const char *tenant, const char *dataset)
{
    hx_err_t err = {0};
    json_t *out;
    int rc = dataset ? hx_lake_partitions_json(l, tenant, dataset, &out, &err)
                     : hx_lake_datasets_json(l, tenant, &out, &err);
    if (rc) {
        fprintf(stderr, "helix lake: %s\n", err.msg);
        return 1;
    }
    size_t i;
    json_t *e;
    if (!dataset) {
        printf("lake %s\n%-18s %10s %12s %9s  %s\n", hx_lake_root(l), "DATASET", "PARTITIONS", "ROWS", "RETENTION",
               "SOURCE");
        json_array_foreach(json_object_get(out, "datasets"), i, e)
            printf("%-18s %10lld %12lld %8lldd  %s\n", json_string_value(json_object_get(e, "name")),
                   (long long)json_integer_value(json_object_get(e, "partitions")),
                   (long long)json_integer_value(json_object_get(e, "rows")),
                   (long long)json_integer_value(json_object_get(e, "retention_days")),
                   json_string_value(json_object_get(e, "source_topics")));
    } else {
        printf("%-28s %10s %6s %12s\n", "PARTITION", "ROWS", "FILES", "BYTES");
        json_array_foreach(json_object_get(out, "partitions"), i, e)
            printf("%-28s %10lld %6lld %12lld\n", json_string_value(json_object_get(e, "partition")),
                   (long long)json_integer_value(json_object_get(e, "rows")),
                   (long long)json_integer_value(json_object_get(e, "files")),
                   (long long)json_integer_value(json_object_get(e, "bytes")));
    }
    json_decref(out);
    return 0;
}

int hx_cmd_lake(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'}, {"data-dir", required_argument, 0, 'd'},
                                         {"tenant", required_argument, 0, 't'}, {"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 'T'},     {"limit", required_argument, 0, 'n'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *config = NULL, *data_dir = NULL, *tenant = "default", *from_s = NULL, *to_s = NULL;
    long long limit = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:t:f:T:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'd': data_dir = optarg; break;
        case 't': tenant = optarg; break;
        case 'f': from_s = optarg; break;
        case 'T': to_s = optarg; break;
        case 'n': limit = atoll(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    const char *a1 = optind + 1 < argc ? argv[optind + 1] : NULL, *a2 = optind + 2 < argc ? argv[optind + 2] : NULL;
    if (!strcmp(cmd, "cat") && a1 && !a2 && strlen(a1) > 8 && !strcmp(a1 + strlen(a1) - 8, ".parquet"))
        return cat_file(a1);
    int bad = 0;
    int64_t from = parse_day(from_s, &bad), to = parse_day(to_s, &bad);
    if (bad)
        return 2;
    static hx_config_t cfg;
    if (hx_cli_load_config(config, data_dir, NULL, NULL, &cfg))
        return 2;
    hx_lake_t *l;
    hx_err_t err = {0};
    if (hx_lake_open(&cfg, NULL, &l, &err)) {
        fprintf(stderr, "helix lake: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (!strcmp(cmd, "ls")) {
        rc = ls(l, tenant, a1);
    } else if (!strcmp(cmd, "cat") && a1 && a2 && !strcmp(a1, "conversations")) {
        json_t *out;
        if (hx_lake_conversation_json(l, tenant, a2, &out, &err)) {
            fprintf(stderr, "helix lake: %s\n", err.msg);
            rc = 1;
        } else {
            size_t i;
            json_t *e;
            json_array_foreach(json_object_get(out, "events"), i, e)
                print_json(e);
            json_decref(out);
        }
    } else if (!strcmp(cmd, "cat") && a1 && !a2) {
        const hx_lake_dataset_t *ds = hx_lake_dataset_find(a1);
        if (!ds) {
            fprintf(stderr, "helix lake: no dataset '%s' (helix lake ls lists them)\n", a1);
            rc = 2;
        } else {
            cat_ctx_t cc = {ds, limit};
            int s = hx_lake_scan(hx_lake_root(l), ds, tenant, from, to, NULL, 0, NULL, 0, cat_cb, &cc, NULL, &err);
            if (s < 0) {
                fprintf(stderr, "helix lake: %s\n", err.msg);
                rc = 1;
            }
        }
    } else if (!strcmp(cmd, "rm") && a1 && a2 && !strcmp(a1, "conversations")) {
        json_t *out;
        if (hx_lake_conversation_delete(l, tenant, a2, &out, &err)) {
            fprintf(stderr, "helix lake: %s\n", err.msg);
            rc = 1;
        } else {
            printf("deleted %lld rows of conversation %s (%lld files rewritten, %lld removed)\n",
                   (long long)json_integer_value(json_object_get(out, "deleted_rows")), a2,
                   (long long)json_integer_value(json_object_get(out, "files_rewritten")),
                   (long long)json_integer_value(json_object_get(out, "files_removed")));
            json_decref(out);
        }
    } else {
        usage(stderr);
        rc = 2;
    }
    hx_lake_close(l);
    return rc;
}
