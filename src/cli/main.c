/* The `helix` binary: dispatches to one subcommand. */
#include "cli/commands.h"

#include <stdio.h>
#include <string.h>

static const hx_cmd_t commands[] = {
    {"serve", hx_cmd_serve, "run the HTTP API and every subsystem"},
    {"topic", hx_cmd_topic, "create, list, describe or delete topics"},
    {"produce", hx_cmd_produce, "produce stdin lines to a topic"},
    {"consume", hx_cmd_consume, "print a topic's records as JSON lines"},
    {"replay", hx_cmd_replay, "print a conversation's compressed context"},
    {"keys", hx_cmd_keys, "create, list or revoke API keys"},
    {"kafka-mock", hx_cmd_kafka_mock, "host librdkafka's mock Kafka cluster on loopback"},
    {"lake", hx_cmd_lake, "list, print or delete data lake rows (Parquet)"},
    {"job", hx_cmd_job, "submit, list, watch or cancel batch jobs of a running server"},
    {"clickhouse-run", hx_cmd_clickhouse_run, "run a private clickhouse-server on loopback"},
    {"bench", hx_cmd_bench, "measure performance against the DESIGN.md table"},
    {"config", hx_cmd_config, "check, show or document configuration"},
    {"version", hx_cmd_version, "print version information"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: helix <command> [options]\n\nHelix is the big data layer of an LLM agent platform.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun `helix <command> --help` for the options of one command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return hx_cmd_version(1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "helix: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
