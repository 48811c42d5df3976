/* Subcommands of the `helix` binary. Each takes the arguments after its own
 * name (argv[0] is the subcommand) and returns the process exit code:
 * 0 ok, 1 runtime failure, 2 usage or configuration error. */
#ifndef HX_CLI_COMMANDS_H
#define HX_CLI_COMMANDS_H

#include <signal.h>

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

struct hx_broker;
/* For the data commands: loads the config (as hx_cli_load_config, from the
 * --config and --data-dir values, each may be NULL) into cfg and opens its
 * broker; prints the error (with advice when a running server holds the data
 * dir). Returns 0, 1 (runtime) or 2 (usage/config). */
int hx_cli_open_broker(const char *config, const char *data_dir, struct hx_config *cfg, struct hx_broker **out);

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
