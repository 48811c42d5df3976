/* `helix replay CONVERSATION_ID`: replays a conversation from the event log
 * and prints its compressed context (the body POST /v1/context/replay
 * returns). Reads with direct fetches only: no consumer offsets move. */
#include "cli/commands.h"
#include "cli/remote.h"
#include "helix/hx_broker.h"
#include "helix/hx_config.h"
#include "helix/hx_context.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: helix replay CONVERSATION_ID [--strategy S] [--max-tokens N] [--ratio R] [--tenant T]\n"
                 "                    [--config FILE] [--data-dir DIR] [--server URL]\n\n"
                 "Prints the compressed context of a conversation as JSON.\n"
                 "  --strategy S     hybrid | entity_graph | window_summary | full (default: config)\n"
                 "  --max-tokens N   token budget of the output\n"
                 "  --ratio R        target compressed/original ratio in (0, 1]\n"
                 "  --tenant T       tenant of the conversation (default: default; over HTTP: the key's)\n"
                 "  --server URL     replay on a running server (also used on its own when a server holds\n"
                 "                   the data dir; see `helix topic --help`)\n");
}

int hx_cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {{"strategy", required_argument, 0, 's'}, {"max-tokens", required_argument, 0, 'm'},
                                         {"ratio", required_argument, 0, 'r'},    {"tenant", required_argument, 0, 't'},
                                         {"config", required_argument, 0, 'c'},   {"data-dir", required_argument, 0, 'd'},
                                         {"server", required_argument, 0, 'S'},   {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    hx_ctx_request_t rq;
    hx_ctx_request_defaults(&rq);
    hx_cli_common_t co = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:m:r:t:c:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': rq.strategy = optarg; break;
        case 'm':
            rq.max_tokens = atoll(optarg);
            if (rq.max_tokens <= 0) {
                fprintf(stderr, "helix replay: --max-tokens must be a positive integer\n");
                return 2;
            }
            break;
        case 'r':
            rq.target_ratio = atof(optarg);
            if (!(rq.target_ratio > 0 && rq.target_ratio <= 1)) {
                fprintf(stderr, "helix replay: --ratio must be in (0, 1]\n");
                return 2;
            }
            break;
        case 't': rq.tenant = optarg; break;
        case 'c': co.config = optarg; break;
        case 'd': co.data_dir = optarg; break;
        case 'S': co.server = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    rq.conversation_id = argv[optind];
    hx_config_t cfg;
    hx_broker_t *b = NULL;
    hx_cli_remote_t remote;
    int rc = hx_cli_open_target(&co, &cfg, &b, &remote);
    if (rc)
        return rc;
    hx_err_t err = {0};
    hx_context_t *ctx = NULL;
    json_t *out = NULL;
    int code = 0;
    if (!b) {
        /* The server replays from its own log: the same body POST /v1/context/replay takes. */
        json_t *body = json_pack("{s:s}", "conversation_id", rq.conversation_id);
        if (rq.strategy)
            json_object_set_new(body, "compression_strategy", json_string(rq.strategy));
        if (rq.max_tokens > 0)
            json_object_set_new(body, "max_tokens", json_integer(rq.max_tokens));
        if (rq.target_ratio > 0)
            json_object_set_new(body, "target_ratio", json_real(rq.target_ratio));
        rc = hx_cli_http(&remote, "POST", "/v1/context/replay", body, rq.tenant, &out, &err);
        json_decref(body);
    } else {
        rc = hx_context_new(&cfg, b, NULL, &ctx, &err) || hx_context_replay(ctx, &rq, &out, &err);
    }
    if (rc) {
        fprintf(stderr, "helix replay: %s\n", err.msg);
        code = err.code == HX_EINVAL || err.code == HX_ENOTFOUND ? 2 : 1;
    } else {
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            puts(s);
        free(s);
    }
    json_decref(out);
    hx_context_free(ctx);
    hx_broker_close(b);
    return code;
}
