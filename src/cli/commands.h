/* Subcommands of the `helix` binary. Each takes the arguments after its own
 * name (argv[0] is the subcommand) and returns the process exit code:
 * 0 ok, 1 runtime failure, 2 usage or configuration error. */
#ifndef HX_CLI_COMMANDS_H
#define HX_CLI_COMMANDS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct hx_config;

typedef int (*hx_cmd_fn)(int argc, char **argv);

typedef struct hx_cmd {
    const char *name;
    hx_cmd_fn fn;
    const char *summary;
} hx_cmd_t;

int hx_cmd_version(int argc, char **argv);
int hx_cmd_config(int argc, char **argv);
int hx_cmd_serve(int argc, char **argv);
int hx_cmd_topic(int argc, char **argv);
int hx_cmd_produce(int argc, char **argv);
int hx_cmd_consume(int argc, char **argv);
int hx_cmd_bench(int argc, char **argv);
int hx_cmd_kafka_mock(int argc, char **argv);
int hx_cmd_clickhouse_run(int argc, char **argv);
int hx_cmd_replay(int argc, char **argv);
int hx_cmd_lake(int argc, char **argv);
int hx_cmd_job(int argc, char **argv);
int hx_cmd_keys(int argc, char **argv);

struct hx_envelope;
struct hx_err;
/* One `helix produce` stdin line (without its newline) as an envelope: a
 * JSON envelope as is, else the data of an envelope of type (a JSON object
 * as is, other text as {"text": line}); key overrides the envelope's key
 * when not NULL. Lines that are not UTF-8 text (binary, NUL bytes) are
 * HX_EINVAL saying where and what to do. e is always initialised (free it). */
int hx_cli_produce_line(const char *line, size_t len, const char *type, const char *key, const char *node,
                        int64_t now_ms, struct hx_envelope *e, struct hx_err *err);
/* Loads defaults, then FILE (or configs/helix.yaml when present), then
 * HELIX_* env, then the given flag values (each may be NULL), and sets the log
 * level. Prints the error and returns 2 on failure, else 0. */
int hx_cli_load_config(const char *path, const char *data_dir, const char *port, const char *host,
                       struct hx_config *cfg);

/* Blocks SIGINT and SIGTERM in the calling thread (and so in every thread it
 * starts afterwards) and fills sigs for sigwait(): long-running commands
 * take their stop signal synchronously. */
void hx_cli_block_stop_signals(sigset_t *sigs);

/* True when argv holds -h or --help. */
int hx_cli_wants_help(int argc, char **argv);

#endif
