/* Subcommands of the `helix` binary. Each takes the arguments after its own
 * name (argv[0] is the subcommand) and returns the process exit code:
 * 0 ok, 1 runtime failure, 2 usage or configuration error. */
#ifndef HX_CLI_COMMANDS_H
#define HX_CLI_COMMANDS_H

typedef int (*hx_cmd_fn)(int argc, char **argv);

typedef struct hx_cmd {
    const char *name;
    hx_cmd_fn fn;
    const char *summary;
} hx_cmd_t;

int hx_cmd_version(int argc, char **argv);
int hx_cmd_config(int argc, char **argv);

/* True when argv holds -h or --help. */
int hx_cli_wants_help(int argc, char **argv);

#endif
