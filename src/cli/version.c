#include "cli/commands.h"

#include <pthread.h>

#include <librdkafka/rdkafka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

int hx_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

int hx_cmd_version(int argc, char **argv)
{
    if (hx_cli_wants_help(argc, argv)) {
        printf("usage: helix version\n\nPrints the Helix version and the versions of the libraries it runs on.\n");
        return 0;
    }
    printf("helix %s (librdkafka %s, sqlite %s)\n", HX_VERSION, rd_kafka_version_str(), sqlite3_libversion());
    return 0;
}

void hx_cli_block_stop_signals(sigset_t *sigs)
{
    sigemptyset(sigs);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
}
