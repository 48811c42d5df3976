/* hx-bolt-stub: the scripted Bolt server as its own process, for peers that
 * cannot link it (the Node.js neo4j-driver test). Prints
 * "listening on bolt://127.0.0.1:PORT" as its first stdout line, serves the
 * scripts (one per connection, in order), and exits 0 when each was played
 * to its end, 1 with the mismatches on stderr, 2 on bad usage. */
#include "bolt_stub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)(n > 0 ? n : 0) + 1);
    size_t got = p ? fread(p, 1, (size_t)(n > 0 ? n : 0), f) : 0;
    fclose(f);
    if (p)
        p[got] = '\0';
    return p;
}

int main(int argc, char **argv)
{
    int timeout_s = 30, first = 1;
    if (argc > 2 && strcmp(argv[1], "--timeout") == 0) {
        timeout_s = atoi(argv[2]);
        first = 3;
    }
    if (first >= argc || timeout_s <= 0) {
        fprintf(stderr, "usage: hx-bolt-stub [--timeout SECONDS] SCRIPT...\n");
        return 2;
    }
    int n = argc - first;
    char **texts = calloc((size_t)n, sizeof *texts);
    for (int i = 0; i < n; i++) {
        if (!(texts[i] = slurp(argv[first + i]))) {
            fprintf(stderr, "hx-bolt-stub: cannot read %s\n", argv[first + i]);
            return 2;
        }
    }
    hx_err_t err = {0};
    hx_bolt_stub_t *s;
    if (hx_bolt_stub_start((const char *const *)texts, (size_t)n, &s, &err)) {
        fprintf(stderr, "hx-bolt-stub: %s\n", err.msg);
        return 2;
    }
    char uri[64];
    printf("listening on %s\n", hx_bolt_stub_uri(s, uri, sizeof uri));
    fflush(stdout);
    int rc = hx_bolt_stub_wait(s, timeout_s * 1000, &err);
    if (rc)
        fprintf(stderr, "hx-bolt-stub: %s\n", err.msg);
    else
        fprintf(stderr, "hx-bolt-stub: %d connection(s), every script played to its end\n",
                hx_bolt_stub_connections(s));
    hx_bolt_stub_stop(s);
    for (int i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    return rc ? 1 : 0;
}
