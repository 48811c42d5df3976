/* `helix config check|show|docs|template` */
#include "cli/commands.h"
#include "helix/hx_buf.h"
#include "helix/hx_config.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: helix config <check FILE | show [FILE] | docs | template>\n\n"
                 "  check FILE     validate FILE (and HELIX_* overrides); exit 0 if valid, 2 with the key and line if not\n"
                 "  show [FILE]    print the effective configuration (defaults, FILE, environment), secrets masked\n"
                 "  docs           print the table of every key as Markdown\n"
                 "  template       print the default configuration as commented YAML (configs/helix.yaml)\n");
}

static int emit(hx_buf_t *b, int rc)
{
    if (rc) {
        fprintf(stderr, "helix config: out of memory\n");
        hx_buf_free(b);
        return 1;
    }
    fwrite(b->data, 1, b->len, stdout);
    hx_buf_free(b);
    return 0;
}

int hx_cmd_config(int argc, char **argv)
{
    if (argc < 2 || hx_cli_wants_help(argc, argv)) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    hx_buf_t b = HX_BUF_INIT;
    if (strcmp(sub, "docs") == 0 && argc == 2)
        return emit(&b, hx_config_docs(&b));
    if (strcmp(sub, "template") == 0 && argc == 2)
        return emit(&b, hx_config_template(&b));
    if ((strcmp(sub, "check") == 0 && argc == 3) || (strcmp(sub, "show") == 0 && argc <= 3)) {
        hx_config_t cfg;
        hx_err_t err = {0};
        const char *path = argc == 3 ? argv[2] : NULL;
        if (hx_config_load(&cfg, path, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 2;
        }
        if (sub[0] == 'c') {
            printf("%s: ok\n", path);
            return 0;
        }
        return emit(&b, hx_config_dump(&cfg, &b));
    }
    usage(stderr);
    return 2;
}
