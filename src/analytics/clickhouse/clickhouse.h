/* The ClickHouse analytics backend (backends.analytics: clickhouse): the
 * hx_an_backend_ops_t of backend.h over ClickHouse's HTTP interface. */
#ifndef HX_ANALYTICS_CLICKHOUSE_H
#define HX_ANALYTICS_CLICKHOUSE_H

#include "analytics/backend.h"
#include "analytics/clickhouse/ch.h"

/* hx_an_clickhouse_open (backend.h) connects lazily: an unreachable server
 * at startup is an outage, not a failure; the schema is created on first
 * contact. */

/* The connection settings of cfg's clickhouse.* (and analytics.*) knobs. */
void ch_opts_from_config(const hx_config_t *cfg, ch_opts_t *o);

/* Runs a bound query (query.c). */
int ch_backend_query(ch_conn_t *c, hx_sql_query_t *q, const hx_an_exec_opts_t *o, hx_an_result_t *out,
                     hx_err_t *err);

#endif
