/* Read-only queries on ClickHouse: a bound query of the SQL subset printed
 * for ClickHouse (print.c), run with readonly=1, max_execution_time and
 * max_result_rows, and its JSONCompact answer mapped to the same result
 * (names, types, cells) the embedded store gives. */
#include "analytics/clickhouse/ch.h"
#include "analytics/clickhouse/clickhouse.h"
#include "helix/hx_clock.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int cell_from_json(hx_an_result_t *r, hx_an_cell_t *cell, hx_an_type_t t, json_t *v, hx_err_t *err)
{
    if (!v || json_is_null(v)) {
        cell->is_null = 1;
        return HX_OK;
    }
    if (t == HX_AN_T_STRING) {
        if (!json_is_string(v))
            return hx_err_set(err, HX_EINTERNAL, "ClickHouse answered a non-string for a String column");
        return hx_an_result_set_str(r, cell, json_string_value(v), json_string_length(v));
    }
    double f;
    if (json_is_integer(v))
        f = (double)json_integer_value(v);
    else if (json_is_real(v))
        f = json_real_value(v);
    else if (json_is_string(v)) /* 64-bit integers when the server quotes them anyway */
        f = strtod(json_string_value(v), NULL);
    else
        return hx_err_set(err, HX_EINTERNAL, "ClickHouse answered an unexpected JSON value");
    if (t == HX_AN_T_FLOAT64) {
        if (!isfinite(f))
            cell->is_null = 1;
        else
            cell->f = f;
    } else if (json_is_integer(v)) {
        cell->i = json_integer_value(v);
    } else if (json_is_string(v)) {
        cell->i = strtoll(json_string_value(v), NULL, 10);
    } else {
        cell->i = (int64_t)f;
    }
    return HX_OK;
}

static int map_answer(const hx_sql_query_t *q, const hx_buf_t *body, hx_an_result_t *out, hx_err_t *err)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)body->data, body->len, 0, &je);
    json_t *data = json_object_get(j, "data");
    int rc = HX_OK;
    if (!json_is_array(data)) {
        rc = hx_err_set(err, HX_EINTERNAL, "ClickHouse's answer is not JSONCompact: %s", j ? "no data" : je.text);
        goto cleanup;
    }
    if ((rc = hx_an_result_begin(out, q, err)))
        goto cleanup;
    size_t i;
    json_t *row;
    json_array_foreach(data, i, row)
    {
        hx_an_cell_t *cells = hx_an_result_add_row(out);
        if (!cells) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory reading ClickHouse's answer");
            goto cleanup;
        }
        if (json_array_size(row) != (size_t)q->nitems) {
            rc = hx_err_set(err, HX_EINTERNAL, "ClickHouse answered %zu columns, the query has %d",
                            json_array_size(row), q->nitems);
            goto cleanup;
        }
        for (int c = 0; c < q->nitems; c++)
            if ((rc = cell_from_json(out, &cells[c], q->items[c].e->type, json_array_get(row, (size_t)c), err)))
                goto cleanup;
    }
    json_t *rr = json_object_get(json_object_get(j, "statistics"), "rows_read");
    out->rows_read = json_is_integer(rr) ? (uint64_t)json_integer_value(rr) : 0;
cleanup:
    json_decref(j);
    return rc;
}

int ch_backend_query(ch_conn_t *c, hx_sql_query_t *q, const hx_an_exec_opts_t *o, hx_an_result_t *out,
                     hx_err_t *err)
{
    uint64_t t0 = hx_mono_ns();
    if (!o->force_raw)
        hx_sql_match_rollup(q, NULL, 0);
    else
        q->rollup = -1;
    hx_buf_t sql = HX_BUF_INIT, body = HX_BUF_INIT;
    int rc = ch_print_query(c, q, &sql);
    if (rc) {
        rc = hx_err_set(err, rc, "out of memory printing the query for ClickHouse");
        goto cleanup;
    }
    int64_t left_ms = o->deadline_ns ? (int64_t)(o->deadline_ns > t0 ? (o->deadline_ns - t0) / 1000000 : 0)
                                     : o->timeout_ms;
    if (left_ms <= 0) {
        rc = hx_err_set(err, HX_ETIMEOUT, "query ran past analytics.query_timeout_ms (%" PRId64 " ms)", o->timeout_ms);
        goto cleanup;
    }
    /* readonly=1 refuses anything but reads (and table functions) on the
     * server too: the parser already allows only the subset, this is the
     * second lock. wait_end_of_query makes an error mid-query an HTTP 500
     * instead of a truncated 200. */
    char settings[320];
    snprintf(settings, sizeof settings,
             "readonly=1&max_execution_time=%.3f&max_result_rows=%" PRId64
             "&result_overflow_mode=throw&output_format_json_quote_64bit_integers=0&wait_end_of_query=1",
             (double)left_ms / 1000.0, o->max_rows > 0 ? o->max_rows : (int64_t)1 << 40);
    rc = ch_exec(c, hx_buf_cstr(&sql), NULL, 0, settings, 1, &body, err);
    if (rc == HX_ETOOBIG && err && strstr(err->msg, "code 396")) {
        rc = hx_err_set(err, HX_ERANGE, "the result has more than %" PRId64 " rows (analytics.query_max_rows)",
                        o->max_rows);
    } else if (rc == HX_ETIMEOUT) {
        rc = hx_err_set(err, HX_ETIMEOUT, "query ran past analytics.query_timeout_ms (%" PRId64 " ms) on ClickHouse",
                        o->timeout_ms);
    }
    if (rc)
        goto cleanup;
    if ((rc = map_answer(q, &body, out, err)))
        goto cleanup;
    out->source = q->rollup >= 0 ? "rollup" : "raw";
    out->rollup = q->rollup >= 0 ? hx_an_rollup((hx_an_rollup_t)q->rollup)->name : NULL;
    out->elapsed_ms = (double)(hx_mono_ns() - t0) / 1e6;
cleanup:
    hx_buf_free(&sql);
    hx_buf_free(&body);
    return rc;
}
