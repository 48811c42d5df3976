/* The typed queries behind /v1/analytics/provider, /debate and /providers,
 * written as SQL of the shared subset so every backend answers them alike
 * (and from rollups where the rollups can). */
#include "analytics/analytics_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run(hx_analytics_t *a, const char *tenant, const char *sql, const hx_an_param_t *p, size_t np,
               hx_an_result_t *out, hx_err_t *err)
{
    hx_an_query_opts_t o = {p, np, 0, 0};
    return hx_analytics_query(a, tenant, sql, strlen(sql), &o, out, err);
}

static double f_or0(const hx_an_cell_t *c)
{
    return c->is_null ? 0 : c->f;
}

static void point_of(const hx_an_result_t *r, size_t row, int with_t, hx_an_provider_point_t *pt)
{
    int k = with_t ? 1 : 0;
    memset(pt, 0, sizeof *pt);
    if (with_t)
        pt->t = hx_an_result_cell(r, row, 0)->i;
    pt->requests = (uint64_t)hx_an_result_cell(r, row, k)->i;
    pt->errors = (uint64_t)hx_an_result_cell(r, row, k + 1)->i;
    pt->tokens = (uint64_t)hx_an_result_cell(r, row, k + 2)->i;
    pt->avg_ms = f_or0(hx_an_result_cell(r, row, k + 3));
    pt->p50_ms = f_or0(hx_an_result_cell(r, row, k + 4));
    pt->p95_ms = f_or0(hx_an_result_cell(r, row, k + 5));
    pt->p99_ms = f_or0(hx_an_result_cell(r, row, k + 6));
    pt->error_rate = pt->requests ? (double)pt->errors / (double)pt->requests : 0;
}

int hx_analytics_provider_stats(hx_analytics_t *a, const char *tenant, const char *provider, const char *model,
                                int64_t from_s, int64_t to_s, hx_an_interval_t interval, hx_an_provider_stats_t *out,
                                hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *fn = interval == HX_AN_MINUTE ? "toStartOfMinute" : interval == HX_AN_DAY ? "toStartOfDay"
                                                                                          : "toStartOfHour";
    if (from_s < 0 || to_s < from_s)
        return hx_err_set(err, HX_EINVAL, "'from' must not be after 'to'");
    char from[24], to[24];
    snprintf(from, sizeof from, "%lld", (long long)from_s);
    snprintf(to, sizeof to, "%lld", (long long)to_s);
    hx_an_param_t p[] = {{"p", provider}, {"from", from}, {"to", to}, {"m", model ? model : ""}};
    const char *aggs = "count() AS requests, count() - sum(success) AS errors, sum(tokens_used) AS tokens, "
                       "avg(response_time_ms) AS avg_ms, quantile(0.5)(response_time_ms) AS p50, "
                       "quantile(0.95)(response_time_ms) AS p95, quantile(0.99)(response_time_ms) AS p99";
    char where[256], sql[1024];
    snprintf(where, sizeof where, "provider = {p:String}%s AND timestamp >= {from:DateTime} AND timestamp < "
             "{to:DateTime}", model ? " AND model = {m:String}" : "");
    snprintf(sql, sizeof sql, "SELECT %s(timestamp) AS t, %s FROM provider_metrics WHERE %s GROUP BY t ORDER BY t",
             fn, aggs, where);
    hx_an_result_t series, totals;
    int rc = run(a, tenant, sql, p, 4, &series, err);
    if (rc)
        return rc;
    snprintf(sql, sizeof sql, "SELECT %s FROM provider_metrics WHERE %s", aggs, where);
    if ((rc = run(a, tenant, sql, p, 4, &totals, err))) {
        hx_an_result_free(&series);
        return rc;
    }
    out->series = calloc(series.nrows ? series.nrows : 1, sizeof *out->series);
    if (!out->series) {
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
    } else {
        out->nseries = series.nrows;
        for (size_t i = 0; i < series.nrows; i++)
            point_of(&series, i, 1, &out->series[i]);
        if (totals.nrows)
            point_of(&totals, 0, 0, &out->totals);
        int rolled = !strcmp(series.source, "rollup") && !strcmp(totals.source, "rollup");
        out->source = rolled ? "rollup" : "raw";
    }
    hx_an_result_free(&series);
    hx_an_result_free(&totals);
    return rc;
}

void hx_an_provider_stats_free(hx_an_provider_stats_t *s)
{
    free(s->series);
    memset(s, 0, sizeof *s);
}

int hx_analytics_debate(hx_analytics_t *a, const char *tenant, const char *debate_id, hx_an_debate_t *out,
                        hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    hx_an_param_t p[] = {{"id", debate_id}};
    int rc = run(a, tenant, "SELECT * FROM debate_metrics WHERE debate_id = {id:String} LIMIT 1", p, 1, &out->debate,
                 err);
    if (!rc && !out->debate.nrows)
        rc = hx_err_set(err, HX_ENOTFOUND, "debate '%s' not found", debate_id);
    if (!rc)
        rc = run(a, tenant,
                 "SELECT provider, model, position, response_time_ms, tokens_used, confidence, won FROM "
                 "debate_participants WHERE debate_id = {id:String} ORDER BY provider, model",
                 p, 1, &out->participants, err);
    if (!rc)
        rc = run(a, tenant,
                 "SELECT round, count() AS requests, count() - sum(success) AS errors, avg(response_time_ms) AS "
                 "avg_response_time_ms, sum(tokens_used) AS tokens_used FROM provider_metrics WHERE debate_id = "
                 "{id:String} GROUP BY round ORDER BY round",
                 p, 1, &out->rounds, err);
    if (rc)
        hx_an_debate_free(out);
    return rc;
}

void hx_an_debate_free(hx_an_debate_t *d)
{
    hx_an_result_free(&d->debate);
    hx_an_result_free(&d->participants);
    hx_an_result_free(&d->rounds);
}

typedef struct {
    const char *provider;
    uint64_t requests, errors, debates, won;
    double p95;
} lb_row_t;

static int cmp_lb(const void *x, const void *y)
{
    const lb_row_t *a = x, *b = y;
    if (a->requests != b->requests)
        return a->requests > b->requests ? -1 : 1;
    return strcmp(a->provider, b->provider);
}

int hx_analytics_leaderboard(hx_analytics_t *a, const char *tenant, int64_t from_s, int64_t to_s,
                             hx_an_result_t *out, hx_err_t *err)
{
    memset(out, 0, sizeof *out);
    char from[24], to[24];
    snprintf(from, sizeof from, "%lld", (long long)from_s);
    snprintf(to, sizeof to, "%lld", (long long)to_s);
    hx_an_param_t p[] = {{"from", from}, {"to", to}};
    hx_an_result_t req, deb;
    int rc = run(a, tenant,
                 "SELECT provider, count(), count() - sum(success), quantile(0.95)(response_time_ms) FROM "
                 "provider_metrics WHERE timestamp >= {from:DateTime} AND timestamp < {to:DateTime} GROUP BY "
                 "provider",
                 p, 2, &req, err);
    if (rc)
        return rc;
    if ((rc = run(a, tenant,
                  "SELECT provider, count(), sum(won) FROM debate_participants WHERE timestamp >= {from:DateTime} "
                  "AND timestamp < {to:DateTime} GROUP BY provider",
                  p, 2, &deb, err))) {
        hx_an_result_free(&req);
        return rc;
    }
    lb_row_t *rows = calloc(req.nrows + deb.nrows + 1, sizeof *rows);
    size_t n = 0;
    if (!rows)
        rc = hx_err_set(err, HX_ENOMEM, "out of memory");
    for (size_t i = 0; rows && i < req.nrows; i++) {
        rows[n].provider = hx_an_result_cell(&req, i, 0)->s;
        rows[n].requests = (uint64_t)hx_an_result_cell(&req, i, 1)->i;
        rows[n].errors = (uint64_t)hx_an_result_cell(&req, i, 2)->i;
        rows[n].p95 = f_or0(hx_an_result_cell(&req, i, 3));
        n++;
    }
    for (size_t i = 0; rows && i < deb.nrows; i++) {
        const char *pv = hx_an_result_cell(&deb, i, 0)->s;
        size_t k = 0;
        while (k < n && strcmp(rows[k].provider, pv))
            k++;
        if (k == n)
            rows[n++].provider = pv;
        rows[k].debates = (uint64_t)hx_an_result_cell(&deb, i, 1)->i;
        rows[k].won = (uint64_t)hx_an_result_cell(&deb, i, 2)->i;
    }
    static const char *names[] = {"provider", "requests", "errors", "error_rate", "p95_ms", "debates",
                                  "debates_won", "win_rate"};
    static const hx_an_type_t types[] = {HX_AN_T_STRING,  HX_AN_T_UINT64, HX_AN_T_UINT64, HX_AN_T_FLOAT64,
                                         HX_AN_T_FLOAT64, HX_AN_T_UINT64, HX_AN_T_UINT64, HX_AN_T_FLOAT64};
    if (!rc) {
        qsort(rows, n, sizeof *rows, cmp_lb);
        rc = hx_an_result_begin_cols(out, names, types, 8, err);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        hx_an_cell_t *c = hx_an_result_add_row(out);
        if (!c || hx_an_result_set_str(out, &c[0], rows[i].provider, strlen(rows[i].provider))) {
            rc = hx_err_set(err, HX_ENOMEM, "out of memory");
            break;
        }
        c[1].i = (int64_t)rows[i].requests;
        c[2].i = (int64_t)rows[i].errors;
        c[3].f = rows[i].requests ? (double)rows[i].errors / (double)rows[i].requests : 0;
        c[4].f = rows[i].p95;
        c[5].i = (int64_t)rows[i].debates;
        c[6].i = (int64_t)rows[i].won;
        c[7].f = rows[i].debates ? (double)rows[i].won / (double)rows[i].debates : 0;
    }
    if (!rc) {
        out->rows_read = req.rows_read + deb.rows_read;
        out->elapsed_ms = req.elapsed_ms + deb.elapsed_ms;
        out->source = !strcmp(req.source, "rollup") ? "rollup" : "raw";
    } else {
        hx_an_result_free(out);
    }
    free(rows);
    hx_an_result_free(&req);
    hx_an_result_free(&deb);
    return rc;
}
