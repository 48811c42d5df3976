/* The event log subsystem: opens the broker (embedded log or Kafka), makes
 * sure the DESIGN.md topics exist, and mounts /v1/topics and /v1/groups.
 *
 * A store must never start empty without saying so because its topic
 * vanished (deleted with force, or a log dir replaced): the names of the
 * built-in topics present at each start are kept in <data_dir>/builtin_topics,
 * and one that was there last time but is gone now is logged as an error and
 * keeps the subsystem degraded on /v1/bigdata/health until the next start. */
#include "api/api.h"
#include "helix/hx_broker.h"
#include "helix/hx_buf.h"
#include "helix/hx_fs.h"
#include "helix/hx_logger.h"
#include "helix/hx_topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int listed(const hx_name_list_t *l, const char *name)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->names[i], name) == 0)
            return 1;
    return 0;
}

/* Reads the names of the previous start (one per line); 0 when the file is absent. */
static int read_marker(const char *path, hx_name_list_t *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[HX_TOPIC_NAME_MAX + 8];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#' || !hx_topics_find(line))
            continue;
        char **n = realloc(out->names, (out->count + 1) * sizeof *n);
        if (!n || !(n[out->count] = strdup(line))) {
            if (n)
                out->names = n;
            break;
        }
        out->names = n;
        out->count++;
    }
    fclose(f);
    return 1;
}

/* Compares the built-in topics of the last start with those present now
 * (before they are recreated); sets app->lost_topics. */
static int check_vanished(hx_app_t *app, const char *marker, hx_err_t *err)
{
    hx_name_list_t have, before;
    int rc = hx_broker_topic_list(app->broker, &have, err);
    if (rc)
        return hx_err_wrap(err, "listing topics");
    hx_buf_t lost = HX_BUF_INIT;
    if (read_marker(marker, &before)) {
        for (size_t i = 0; i < before.count; i++) {
            if (listed(&have, before.names[i]))
                continue;
            HX_ERROR("event_log", "built-in topic %s existed at the last start and is gone (deleted with force, or "
                     "the log was replaced); it is recreated empty, so the stores that read it start without its "
                     "records", before.names[i]);
            if ((lost.len && hx_buf_puts(&lost, ", ")) || hx_buf_puts(&lost, before.names[i]))
                rc = hx_err_set(err, HX_ENOMEM, "out of memory");
        }
        hx_name_list_free(&before);
    }
    hx_name_list_free(&have);
    if (!rc && lost.len) {
        app->lost_topics = strdup(hx_buf_cstr(&lost));
        if (!app->lost_topics)
            rc = hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    hx_buf_free(&lost);
    return rc;
}

static int write_marker(const char *marker, hx_err_t *err)
{
    size_t n;
    const hx_topic_spec_t *spec = hx_topics_builtin(&n);
    hx_buf_t b = HX_BUF_INIT;
    int rc = hx_buf_puts(&b, "# built-in topics present at the last start of helix serve (event_log health)\n");
    for (size_t i = 0; !rc && i < n; i++)
        rc = hx_buf_puts(&b, spec[i].name) || hx_buf_putc(&b, '\n') ? HX_ENOMEM : HX_OK;
    rc = rc ? hx_err_set(err, HX_ENOMEM, "out of memory") : hx_fs_write_atomic(marker, b.data, b.len, err);
    hx_buf_free(&b);
    return rc;
}

static int open_log(hx_app_t *app, hx_err_t *err)
{
    char marker[HX_CFG_STR + 32];
    snprintf(marker, sizeof marker, "%s/builtin_topics", app->cfg->node.data_dir);
    int rc = hx_broker_open(app->cfg, app->metrics, &app->broker, err);
    if (!rc && !(rc = check_vanished(app, marker, err)) && !(rc = hx_broker_ensure_builtin_topics(app->broker, err)))
        rc = write_marker(marker, err);
    if (rc) {
        hx_broker_close(app->broker);
        app->broker = NULL;
        free(app->lost_topics);
        app->lost_topics = NULL;
    }
    return rc;
}

static int routes(hx_app_t *app, hx_server_t *srv, hx_err_t *err)
{
    int rc;
    if ((rc = hx_api_topics_routes(app, srv, err)) || (rc = hx_api_records_routes(app, srv, err)) ||
        (rc = hx_api_groups_routes(app, srv, err)))
        return rc;
    return HX_OK;
}

/* An unreachable Kafka degrades the node (local work goes on, producers
 * retry); a failing local log (HX_EIO) makes it unhealthy. A built-in topic
 * that is missing now, or was recreated empty at startup, degrades it. */
static hx_health_t health(void *ctx, char *detail, size_t len)
{
    hx_app_t *app = ctx;
    int rc = hx_broker_health(app->broker, detail, len);
    hx_health_t h = rc == 0 ? HX_HEALTH_HEALTHY : rc == HX_EUNAVAIL ? HX_HEALTH_DEGRADED : HX_HEALTH_UNHEALTHY;
    if (rc)
        return h;
    char missing[512] = "";
    hx_name_list_t have;
    if (hx_broker_topic_list(app->broker, &have, NULL) == 0) {
        size_t n, used = 0;
        const hx_topic_spec_t *spec = hx_topics_builtin(&n);
        for (size_t i = 0; i < n; i++)
            if (!listed(&have, spec[i].name) && used < sizeof missing)
                used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%s", used ? ", " : "",
                                         spec[i].name);
        hx_name_list_free(&have);
    }
    if (!missing[0] && !app->lost_topics)
        return h;
    char base[256];
    snprintf(base, sizeof base, "%s", detail);
    snprintf(detail, len, "%s%s%s%s%s; %s", missing[0] ? "built-in topics missing (deleted while running; "
                                                         "recreated empty at the next start): " : "",
             missing, missing[0] && app->lost_topics ? "; " : "",
             app->lost_topics ? "built-in topics recreated empty at startup, their earlier records are lost: " : "",
             app->lost_topics ? app->lost_topics : "", base);
    return HX_HEALTH_DEGRADED;
}

static void close_log(hx_app_t *app)
{
    hx_broker_close(app->broker);
    app->broker = NULL;
    free(app->lost_topics);
    app->lost_topics = NULL;
}

const hx_subsystem_t hx_subsys_event_log = {"event_log", open_log, routes, health, close_log};
