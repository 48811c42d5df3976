/* The data commands (topic, produce, consume, replay) open the data dir's
 * event log directly, or talk to a running `helix serve` over its HTTP API:
 * always with --server URL, and on their own when a server holds the data
 * dir (they say so on stderr). */
#ifndef HX_CLI_REMOTE_H
#define HX_CLI_REMOTE_H

#include "helix/hx_broker.h"
#include "helix/hx_config.h"
#include "helix/hx_error.h"

#include <jansson.h>

typedef struct hx_cli_remote {
    char url[HX_CFG_STR + 32];  /* base URL without a trailing '/'; "" = not remote */
    char key[HX_CFG_STR];       /* bearer key; "" = none */
    char why[HX_CFG_STR + 64];  /* "--server", or why we went remote */
} hx_cli_remote_t;

/* Options every data command takes. */
typedef struct hx_cli_common {
    const char *config, *data_dir, *server;
} hx_cli_common_t;

/* Loads the configuration, then opens the broker (*broker set) or, with
 * --server or when a running server holds the embedded data dir, prepares
 * remote (remote->url set, *broker NULL). Prints errors. Returns the exit
 * code: 0, 1 (runtime) or 2 (usage/config). */
int hx_cli_open_target(const hx_cli_common_t *co, hx_config_t *cfg, hx_broker_t **broker, hx_cli_remote_t *remote);

/* One request to the server. path is absolute ("/v1/topics"), already
 * escaped; body (borrowed, may be NULL) is sent as JSON; tenant (may be NULL)
 * goes in X-Helix-Tenant. *out gets the parsed response (NULL when empty).
 * A non-2xx answer is an error with the server's message and an HX_E code
 * matching its status; no answer is HX_EUNAVAIL naming the URL. */
int hx_cli_http(const hx_cli_remote_t *r, const char *method, const char *path, const json_t *body, const char *tenant,
                json_t **out, hx_err_t *err);
/* Percent-encodes one path segment or query value into out. */
void hx_cli_escape(const char *s, char *out, size_t len);
/* Exit code for an error from hx_cli_http or a local call: 2 for a bad
 * request (invalid, too big, not allowed for this key, bad config), else 1. */
int hx_cli_exit_code(int rc);

#endif
