/* `helix produce TOPIC`: one record per stdin line, in the spirit of kcat -P.
 * A line holding a JSON envelope (an object with "type") is sent as it is;
 * any other line becomes the data of an envelope of --type (default
 * helix.raw): a JSON object as is, anything else as {"text": line}. */
#include "cli/commands.h"
#include "cli/remote.h"
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"
#include "helix/hx_id.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 500

static void usage(FILE *out)
{
    fprintf(out, "usage: helix produce TOPIC [-k KEY] [-p PARTITION] [--type TYPE] [--config FILE] [--data-dir DIR]\n"
                 "                     [--server URL]\n\n"
                 "Reads records from stdin, one per line, and prints how many were acknowledged.\n"
                 "  -k KEY          key for every record (default: the envelope's key, else none)\n"
                 "  -p PARTITION    fixed partition (default: hash of the key, round-robin without one)\n"
                 "  --type TYPE     event type for lines that are not envelopes (default helix.raw)\n"
                 "  --server URL    send through a running server's HTTP API (also used on its own when a\n"
                 "                  server holds the data dir; see `helix topic --help`)\n");
}

/* Where s[0..len) stops being UTF-8 text: the offset of the first NUL byte or
 * invalid sequence, or len. */
static size_t text_prefix(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0)
            return i;
        size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!n || n > len - i || !hx_utf8_valid(s + i, n))
            return i;
        i += n;
    }
    return len;
}

int hx_cli_produce_line(const char *line, size_t len, const char *type, const char *key, const char *node,
                        int64_t now_ms, hx_envelope_t *e, hx_err_t *err)
{
    hx_envelope_init(e);
    size_t ok = text_prefix(line, len);
    if (ok < len)
        return hx_err_set(err, HX_EINVAL, "%s at byte %zu (0x%02x): records are UTF-8 text, one per line; encode "
                          "binary data first (for example base64) or put it in a JSON string with \\u escapes",
                          line[ok] ? "not valid UTF-8" : "a NUL byte", ok + 1, (unsigned char)line[ok]);
    json_error_t je;
    json_t *j = json_loadb(line, len, 0, &je);
    int rc;
    if (j && json_is_object(j) && json_object_get(j, "type")) {
        rc = hx_envelope_from_json(j, e, err);
    } else {
        e->type = strdup(type);
        e->data = j && json_is_object(j) ? json_incref(j) : json_pack("{s:s%}", "text", line, len);
        rc = e->type && e->data ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    json_decref(j);
    if (!rc && key) {
        free(e->key);
        e->key = strdup(key);
        if (!e->key)
            rc = hx_err_set(err, HX_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = hx_envelope_fill_defaults(e, node, now_ms, err);
    if (!rc)
        rc = hx_envelope_validate(e, err);
    if (!rc)
        rc = hx_event_validate_data(e->type, e->data, err);
    return rc;
}

static int send_batch(hx_broker_t *b, const char *topic, int32_t part, hx_envelope_t *envs, size_t n, long *sent,
                      hx_err_t *err)
{
    hx_buf_t frames[BATCH];
    hx_msg_t msgs[BATCH] = {{0}};
    int rc = HX_OK;
    size_t built = 0;
    for (; built < n && !rc; built++) {
        frames[built] = (hx_buf_t)HX_BUF_INIT;
        rc = hx_envelope_encode(&envs[built], &frames[built], err);
        msgs[built] = (hx_msg_t){.topic = topic, .partition = part, .timestamp_ms = envs[built].ts,
                                 .key = envs[built].key, .key_len = strlen(envs[built].key),
                                 .value = frames[built].data, .value_len = frames[built].len};
    }
    if (!rc && (rc = hx_broker_produce(b, msgs, built, NULL, err)) == 0)
        *sent += (long)n;
    for (size_t i = 0; i < built; i++)
        hx_buf_free(&frames[i]);
    return rc;
}

/* The same batch over HTTP: POST /v1/topics/{t}/records (all or nothing). */
static int send_remote(const hx_cli_remote_t *r, const char *topic, int32_t part, hx_envelope_t *envs, size_t n,
                       long *sent, hx_err_t *err)
{
    json_t *recs = json_array();
    int rc = recs ? HX_OK : hx_err_set(err, HX_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        json_t *ej = NULL;
        if ((rc = hx_envelope_to_json(&envs[i], &ej, err)) == 0)
            json_array_append_new(recs, ej);
    }
    char esc[3 * HX_TOPIC_NAME_MAX + 1], path[sizeof esc + 48];
    hx_cli_escape(topic, esc, sizeof esc);
    if (part >= 0)
        snprintf(path, sizeof path, "/v1/topics/%s/records?partition=%d", esc, part);
    else
        snprintf(path, sizeof path, "/v1/topics/%s/records", esc);
    json_t *body = rc ? NULL : json_pack("{s:O}", "records", recs), *out = NULL;
    if (!rc && !(rc = hx_cli_http(r, "POST", path, body, NULL, &out, err)))
        *sent += (long)json_array_size(json_object_get(out, "records"));
    json_decref(out);
    json_decref(body);
    json_decref(recs);
    return rc;
}

int hx_cmd_produce(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'}, {"data-dir", required_argument, 0, 'd'},
                                         {"type", required_argument, 0, 't'},   {"server", required_argument, 0, 'S'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    hx_cli_common_t co = {0};
    const char *key = NULL, *type = "helix.raw";
    int32_t part = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:k:p:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': co.config = optarg; break;
        case 'd': co.data_dir = optarg; break;
        case 'S': co.server = optarg; break;
        case 'k': key = optarg; break;
        case 'p': part = atoi(optarg); break;
        case 't': type = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    const char *topic = argv[optind];
    hx_config_t cfg;
    hx_broker_t *b;
    hx_cli_remote_t remote;
    int rc = hx_cli_open_target(&co, &cfg, &b, &remote);
    if (rc)
        return rc;
    hx_envelope_t *envs = calloc(BATCH, sizeof *envs);
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t len;
    long lineno = 0, sent = 0;
    hx_err_t err = {0};
    int out = 0;
    while (envs && (len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (hx_cli_produce_line(line, (size_t)len, type, key, cfg.node.node_id, hx_now_ms(), &envs[n], &err)) {
            fprintf(stderr, "helix produce: stdin line %ld: %s\n", lineno, err.msg);
            hx_envelope_free(&envs[n]);
            out = 2;
            break;
        }
        if (++n == BATCH) {
            rc = b ? send_batch(b, topic, part, envs, n, &sent, &err)
                   : send_remote(&remote, topic, part, envs, n, &sent, &err);
            for (size_t i = 0; i < n; i++)
                hx_envelope_free(&envs[i]);
            n = 0;
            if (rc)
                break;
        }
    }
    if (!rc && !out && n)
        rc = b ? send_batch(b, topic, part, envs, n, &sent, &err) : send_remote(&remote, topic, part, envs, n, &sent, &err);
    for (size_t i = 0; i < n; i++)
        hx_envelope_free(&envs[i]);
    if (rc) {
        fprintf(stderr, "helix produce: %s\n", err.msg);
        out = hx_cli_exit_code(rc);
    }
    fprintf(stderr, "helix produce: %ld record(s) acknowledged on %s\n", sent, topic);
    free(line);
    free(envs);
    hx_broker_close(b);
    return out;
}
