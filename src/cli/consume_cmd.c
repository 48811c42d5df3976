/* `helix consume TOPIC`: prints records as JSON lines, in the spirit of
 * kcat -C. With -g the records come through a consumer group and offsets are
 * committed after they are printed; without it every partition (or -p) is read
 * directly and nothing is committed. */
#include "cli/commands.h"
#include "cli/remote.h"
#include "helix/hx_broker.h"
#include "helix/hx_clock.h"
#include "helix/hx_envelope.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static void usage(FILE *out)
{
    fprintf(out, "usage: helix consume TOPIC [-g GROUP] [-o beginning|end|N] [-p PARTITION] [-c COUNT] [-e]\n"
                 "                     [--config FILE] [--data-dir DIR] [--server URL]\n\n"
                 "Prints one JSON object per record: topic, partition, offset, timestamp, key and the envelope.\n"
                 "  -g GROUP     consume through a consumer group and commit what was printed\n"
                 "  -o OFFSET    start at beginning, end or offset N (default: committed offset with -g, else beginning)\n"
                 "  -p N         only partition N (without -g)\n"
                 "  -c COUNT     exit after COUNT records\n"
                 "  -e           exit at the end: directly, at the high watermarks; with -g, when no record\n"
                 "               arrives for 0.5 s (kafka: fetch_max_wait_ms + 1.5 s)\n"
                 "  --server URL read through a running server's HTTP API, without -g (also used on its own\n"
                 "               when a server holds the data dir; see `helix topic --help`)\n");
}

static void print_msg(const hx_msg_t *m)
{
    json_t *j = json_pack("{s:s,s:i,s:I,s:I}", "topic", m->topic, "partition", m->partition, "offset",
                          (json_int_t)m->offset, "timestamp", (json_int_t)m->timestamp_ms);
    json_object_set_new(j, "key", m->key ? json_stringn(m->key, m->key_len) : json_null());
    hx_envelope_t e;
    json_t *ej = NULL;
    if (m->value && hx_envelope_decode(m->value, m->value_len, &e, NULL) == 0) {
        hx_envelope_to_json(&e, &ej, NULL);
        hx_envelope_free(&e);
    }
    if (ej)
        json_object_set_new(j, "envelope", ej);
    else
        json_object_set_new(j, "value", m->value ? json_stringn(m->value, m->value_len) : json_null());
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s)
        puts(s);
    free(s);
    json_decref(j);
}

/* Parses -o: beginning, end or a non-negative offset. */
static int parse_offset(const char *s, int64_t *out)
{
    if (strcmp(s, "beginning") == 0)
        *out = HX_OFFSET_BEGINNING;
    else if (strcmp(s, "end") == 0)
        *out = HX_OFFSET_END;
    else {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (!*s || *end || v < 0)
            return -1;
        *out = v;
    }
    return 0;
}

/* -e with a group: exit once no record arrived for idle_ms. */
static int consume_group(hx_broker_t *b, const char *topic, const char *group, int have_off, int64_t off, long count,
                         int exit_at_end, int idle_ms)
{
    hx_err_t err = {0};
    hx_consumer_t *c;
    hx_consumer_opts_t o;
    hx_consumer_opts_defaults(&o);
    o.client_id = "helix-consume";
    const char *topics[] = {topic};
    if (hx_consumer_new(b, group, topics, 1, &o, &c, &err)) {
        fprintf(stderr, "helix consume: %s\n", err.msg);
        return 1;
    }
    if (have_off) {
        hx_assignment_t *as;
        size_t n;
        if (hx_consumer_assignment(c, &as, &n, &err) == 0) {
            for (size_t i = 0; i < n; i++)
                if (hx_consumer_seek(c, as[i].topic, as[i].partition, off, &err))
                    fprintf(stderr, "helix consume: %s\n", err.msg);
            free(as);
        }
    }
    long seen = 0;
    int rc = 0;
    uint64_t last = hx_mono_ns();
    while (!stop && (count <= 0 || seen < count)) {
        hx_fetch_t f;
        if ((rc = hx_consumer_poll(c, 200, &f, &err)))
            break;
        for (size_t i = 0; i < f.count && (count <= 0 || seen < count); i++, seen++) {
            print_msg(&f.msgs[i]);
            hx_consumer_commit_offset(c, f.msgs[i].topic, f.msgs[i].partition, f.msgs[i].offset + 1, &err);
        }
        fflush(stdout);
        size_t got = f.count;
        hx_fetch_free(&f);
        if (got)
            last = hx_mono_ns();
        else if (exit_at_end && hx_mono_ns() - last >= (uint64_t)idle_ms * 1000000)
            break;
    }
    if (rc)
        fprintf(stderr, "helix consume: %s\n", err.msg);
    hx_consumer_close(c);
    return rc ? 1 : 0;
}

static int consume_direct(hx_broker_t *b, const char *topic, int32_t only, int have_off, int64_t off, long count,
                          int exit_at_end)
{
    hx_err_t err = {0};
    hx_topic_info_t ti;
    if (hx_broker_topic_describe(b, topic, &ti, &err)) {
        fprintf(stderr, "helix consume: %s\n", err.msg);
        return 1;
    }
    int np = ti.config.partitions;
    if (only >= np) {
        fprintf(stderr, "helix consume: partition %d does not exist: topic '%s' has %d partition(s)\n", only, topic, np);
        hx_topic_info_free(&ti);
        return 2;
    }
    int64_t *pos = calloc((size_t)np, sizeof *pos);
    for (int p = 0; pos && p < np; p++) {
        int64_t low = ti.partitions[p].low_watermark, high = ti.partitions[p].high_watermark;
        pos[p] = !have_off || off == HX_OFFSET_BEGINNING ? low : off == HX_OFFSET_END ? high : off;
        if (pos[p] < low)
            pos[p] = low;
    }
    hx_topic_info_free(&ti);
    long seen = 0;
    int idle = 0;
    while (pos && !stop && (count <= 0 || seen < count)) {
        size_t got = 0;
        for (int p = 0; p < np && (count <= 0 || seen < count); p++) {
            if (only >= 0 && p != only)
                continue;
            hx_fetch_t f;
            if (hx_broker_fetch(b, topic, p, pos[p], 500, 0, &f, &err)) {
                fprintf(stderr, "helix consume: %s\n", err.msg);
                free(pos);
                return 1;
            }
            for (size_t i = 0; i < f.count && (count <= 0 || seen < count); i++, seen++) {
                print_msg(&f.msgs[i]);
                pos[p] = f.msgs[i].offset + 1;
            }
            got += f.count;
            hx_fetch_free(&f);
        }
        fflush(stdout);
        idle = got ? 0 : idle + 1;
        if (!got && exit_at_end && idle >= 5)
            break;
        if (!got)
            hx_sleep_ms(100);
    }
    free(pos);
    return 0;
}

/* Direct reads over HTTP: GET /v1/topics/{t}/records per partition. The
 * server shows a tenant only its own records, so the cursor (next_offset)
 * can jump past others'. */
static int consume_remote(const hx_cli_remote_t *r, const char *topic, int32_t only, int have_off, int64_t off,
                          long count, int exit_at_end)
{
    hx_err_t err = {0};
    char esc[3 * HX_TOPIC_NAME_MAX + 1], path[sizeof esc + 96];
    hx_cli_escape(topic, esc, sizeof esc);
    snprintf(path, sizeof path, "/v1/topics/%s", esc);
    json_t *t = NULL;
    if (hx_cli_http(r, "GET", path, NULL, NULL, &t, &err)) {
        fprintf(stderr, "helix consume: %s\n", err.msg);
        return hx_cli_exit_code(err.code);
    }
    int np = (int)json_integer_value(json_object_get(t, "partitions"));
    json_decref(t);
    if (only >= np) {
        fprintf(stderr, "helix consume: partition %d does not exist: topic '%s' has %d partition(s)\n", only, topic, np);
        return 2;
    }
    int64_t *pos = calloc((size_t)(np > 0 ? np : 1), sizeof *pos);
    for (int p = 0; pos && p < np; p++)
        pos[p] = !have_off ? HX_OFFSET_BEGINNING : off;
    long seen = 0;
    int idle = 0, rc = 0;
    while (pos && !stop && !rc && (count <= 0 || seen < count)) {
        size_t got = 0;
        for (int p = 0; p < np && !rc && (count <= 0 || seen < count); p++) {
            if (only >= 0 && p != only)
                continue;
            /* "end": learn the high watermark once, then read from there. */
            int learn_end = pos[p] == HX_OFFSET_END;
            /* offset=-1 asks the server to start at the low watermark. */
            snprintf(path, sizeof path, "/v1/topics/%s/records?partition=%d&offset=%lld&max=%d", esc, p,
                     (long long)(pos[p] < 0 ? -1 : pos[p]), learn_end ? 1 : 500);
            json_t *j = NULL;
            if ((rc = hx_cli_http(r, "GET", path, NULL, NULL, &j, &err))) {
                fprintf(stderr, "helix consume: %s\n", err.msg);
                break;
            }
            if (learn_end) {
                pos[p] = json_integer_value(json_object_get(j, "high_watermark"));
                json_decref(j);
                continue;
            }
            json_t *rec;
            size_t i;
            json_array_foreach(json_object_get(j, "records"), i, rec) {
                if (count > 0 && seen >= count)
                    break;
                json_t *o = json_pack("{s:s,s:O,s:O,s:O,s:O}", "topic", topic, "partition",
                                      json_object_get(rec, "partition"), "offset", json_object_get(rec, "offset"),
                                      "timestamp", json_object_get(rec, "timestamp"), "key", json_object_get(rec, "key"));
                json_t *e = json_object_get(rec, "envelope");
                json_object_set(o, e ? "envelope" : "value", e ? e : json_object_get(rec, "value"));
                char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
                if (line)
                    puts(line);
                free(line);
                json_decref(o);
                pos[p] = json_integer_value(json_object_get(rec, "offset")) + 1;
                seen++;
                got++;
            }
            /* Past other tenants' records too, where the server says the cursor is. */
            if (!(count > 0 && seen >= count)) {
                int64_t next = json_integer_value(json_object_get(j, "next_offset"));
                if (next > pos[p])
                    pos[p] = next;
            }
            json_decref(j);
        }
        fflush(stdout);
        idle = got ? 0 : idle + 1;
        if (!got && exit_at_end && idle >= 2)
            break;
        if (!got)
            hx_sleep_ms(200);
    }
    free(pos);
    return rc ? hx_cli_exit_code(rc) : 0;
}

int hx_cmd_consume(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'C'}, {"data-dir", required_argument, 0, 'd'},
                                         {"server", required_argument, 0, 'S'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    hx_cli_common_t co = {0};
    const char *group = NULL;
    int64_t off = 0;
    int have_off = 0, exit_at_end = 0;
    long count = 0;
    int32_t only = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "C:d:g:o:p:c:eh", opts, NULL)) != -1) {
        switch (c) {
        case 'C': co.config = optarg; break;
        case 'd': co.data_dir = optarg; break;
        case 'S': co.server = optarg; break;
        case 'g': group = optarg; break;
        case 'o':
            if (parse_offset(optarg, &off)) {
                fprintf(stderr, "helix consume: -o takes beginning, end or an offset >= 0, got '%s'\n", optarg);
                return 2;
            }
            have_off = 1;
            break;
        case 'p': only = atoi(optarg); break;
        case 'c': count = atol(optarg); break;
        case 'e': exit_at_end = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc || (group && only >= 0)) {
        if (group && only >= 0)
            fprintf(stderr, "helix consume: -p and -g do not go together (a group assigns partitions itself)\n");
        usage(stderr);
        return 2;
    }
    hx_config_t cfg;
    hx_broker_t *b;
    hx_cli_remote_t remote;
    int rc = hx_cli_open_target(&co, &cfg, &b, &remote);
    if (rc)
        return rc;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    const char *topic = argv[optind];
    if (!b) {
        if (group) {
            fprintf(stderr, "helix consume: -g needs the data dir itself: consumer groups are not on the HTTP API, "
                            "and %s (%s). Read without -g (every partition, from -o), or stop the server.\n",
                    remote.why, remote.url);
            return 2;
        }
        return consume_remote(&remote, topic, only, have_off, off, count, exit_at_end);
    }
    /* Kafka fetches wait up to fetch_max_wait_ms for data, so "idle" there
     * has to outlast one fetch. */
    int idle_ms = strcmp(hx_broker_backend(b), "kafka") == 0 ? cfg.kafka.consumer.fetch_max_wait_ms + 1500 : 500;
    rc = group ? consume_group(b, topic, group, have_off, off, count, exit_at_end, idle_ms)
               : consume_direct(b, topic, only, have_off, off, count, exit_at_end);
    hx_broker_close(b);
    return rc;
}
