/* Configuration loading: defaults from the knob table, then YAML, then env. */
#include "core/config_table.h"
#include "helix/hx_buf.h"
#include "helix/hx_config.h"
#include "helix/hx_logger.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

extern char **environ;

static const char *fsync_names[] = {"always", "interval", "never"};

/* Parses text for one knob and stores it. Messages say what was expected;
 * callers prefix where ("FILE:LINE: key 'x'" or "HELIX_X"). */
static int knob_store(hx_config_t *cfg, const hx_knob_t *k, const char *text, hx_err_t *err)
{
    char *field = (char *)cfg + k->offset;
    switch (k->type) {
    case HX_KT_STR:
        if (strlen(text) >= k->size)
            return hx_err_set(err, HX_ECONFIG, "value is %zu bytes, the limit is %zu", strlen(text), k->size - 1);
        /* Zero the whole buffer: no stale tail of an older (maybe secret) value. */
        memset(field, 0, k->size);
        strcpy(field, text);
        return HX_OK;
    case HX_KT_ENUM: {
        size_t n = strlen(text);
        const char *c = k->choices;
        int index = 0;
        while (c && *c) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            if (len == n && strncmp(c, text, n) == 0) {
                if (strcmp(k->path, "event_log.fsync") == 0) {
                    *(hx_fsync_t *)field = (hx_fsync_t)index;
                } else {
                    memset(field, 0, k->size);
                    strcpy(field, text);
                }
                return HX_OK;
            }
            c = bar ? bar + 1 : NULL;
            index++;
        }
        return hx_err_set(err, HX_ECONFIG, "must be one of %s, got '%s'", k->choices, text);
    }
    case HX_KT_BOOL: {
        static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
        for (int i = 0; i < 4; i++) {
            if (strcasecmp(text, yes[i]) == 0) {
                *(int *)field = 1;
                return HX_OK;
            }
            if (strcasecmp(text, no[i]) == 0) {
                *(int *)field = 0;
                return HX_OK;
            }
        }
        return hx_err_set(err, HX_ECONFIG, "expected true or false, got '%s'", text);
    }
    case HX_KT_INT:
    case HX_KT_INT64: {
        const char *p = text;
        if (*p == '-' || *p == '+')
            p++;
        if (!*p)
            return hx_err_set(err, HX_ECONFIG, "expected an integer, got '%s'", text);
        for (; *p; p++)
            if (!isdigit((unsigned char)*p))
                return hx_err_set(err, HX_ECONFIG, "expected an integer, got '%s'", text);
        errno = 0;
        long long v = strtoll(text, NULL, 10);
        if (errno == ERANGE || v < (long long)k->min || v > (long long)k->max)
            return hx_err_set(err, HX_ECONFIG, "must be between %.0f and %.0f, got %s", k->min, k->max, text);
        if (k->type == HX_KT_INT)
            *(int *)field = (int)v;
        else
            *(int64_t *)field = v;
        return HX_OK;
    }
    case HX_KT_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (!*text || *end || errno == ERANGE || !isfinite(v))
            return hx_err_set(err, HX_ECONFIG, "expected a number, got '%s'", text);
        if (v < k->min || v > k->max)
            return hx_err_set(err, HX_ECONFIG, "must be between %g and %g, got %s", k->min, k->max, text);
        *(double *)field = v;
        return HX_OK;
    }
    }
    return hx_err_set(err, HX_EINTERNAL, "knob '%s' has an unknown type", k->path);
}

void hx_config_defaults(hx_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    size_t n;
    const hx_knob_t *k = hx_config_knobs(&n);
    for (size_t i = 0; i < n; i++) {
        hx_err_t e;
        /* The table's defaults are checked by test_config; a bad one is a bug. */
        if (knob_store(cfg, &k[i], k[i].def, &e))
            HX_ERROR("config", "default of %s is invalid: %s", k[i].path, e.msg);
    }
}

int hx_config_set(hx_config_t *cfg, const char *path, const char *value, hx_err_t *err)
{
    const hx_knob_t *k = hx_config_knob_find(path);
    if (!k)
        return hx_err_set(err, HX_ECONFIG, "unknown key '%s' (see `helix config docs`)", path);
    if (knob_store(cfg, k, value, err))
        return hx_err_wrap(err, "key '%s'", path);
    return HX_OK;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* True when some knob lives under prefix "a.b" (so "a.b" is a section). */
static int is_section(const char *prefix)
{
    size_t n, len = strlen(prefix);
    const hx_knob_t *k = hx_config_knobs(&n);
    for (size_t i = 0; i < n; i++)
        if (strncmp(k[i].path, prefix, len) == 0 && k[i].path[len] == '.')
            return 1;
    return 0;
}

static int unknown_key(const char *where, const char *path, hx_err_t *err)
{
    size_t n;
    const hx_knob_t *k = hx_config_knobs(&n);
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(path, k[i].path);
        if (d < best_d) {
            best_d = d;
            best = k[i].path;
        }
    }
    if (best)
        return hx_err_set(err, HX_ECONFIG, "%s: unknown key '%s'; did you mean '%s'?", where, path, best);
    return hx_err_set(err, HX_ECONFIG, "%s: unknown key '%s' (see `helix config docs` for every key)", where, path);
}

typedef struct {
    yaml_document_t *doc;
    const char *name;
    hx_config_t *cfg;
} walk_t;

static int walk_mapping(walk_t *w, yaml_node_t *map, const char *prefix, hx_err_t *err)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
        char where[HX_ERR_MSG_MAX / 2];
        unsigned long line = kn ? (unsigned long)kn->start_mark.line + 1 : 0;
        snprintf(where, sizeof where, "%s:%lu", w->name, line);
        if (!kn || kn->type != YAML_SCALAR_NODE || !vn)
            return hx_err_set(err, HX_ECONFIG, "%s: keys must be plain names", where);
        const char *key = (const char *)kn->data.scalar.value;
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *prev = yaml_document_get_node(w->doc, q->key);
            if (prev && prev->type == YAML_SCALAR_NODE && strcmp((const char *)prev->data.scalar.value, key) == 0)
                return hx_err_set(err, HX_ECONFIG, "%s: key '%s%s%s' appears twice (first on line %lu)", where,
                                  prefix, *prefix ? "." : "", key, (unsigned long)prev->start_mark.line + 1);
        }
        char path[256];
        int plen = snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", key);
        if (plen < 0 || (size_t)plen >= sizeof path)
            return hx_err_set(err, HX_ECONFIG, "%s: key path too long", where);
        const hx_knob_t *k = hx_config_knob_find(path);
        if (k) {
            if (vn->type != YAML_SCALAR_NODE)
                return hx_err_set(err, HX_ECONFIG, "%s: key '%s': expected a single value, got a %s", where, path,
                                  vn->type == YAML_MAPPING_NODE ? "mapping" : "list");
            const char *text = (const char *)vn->data.scalar.value;
            /* An unquoted ~ or null means "the default": keep it. */
            if (vn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && (strcmp(text, "~") == 0 || strcmp(text, "null") == 0))
                continue;
            if (knob_store(w->cfg, k, text, err))
                return hx_err_wrap(err, "%s: key '%s'", where, path);
        } else if (is_section(path)) {
            if (vn->type == YAML_SCALAR_NODE && vn->data.scalar.length == 0)
                continue; /* "section:" with nothing under it */
            if (vn->type != YAML_MAPPING_NODE)
                return hx_err_set(err, HX_ECONFIG, "%s: key '%s' is a section; expected a mapping of keys under it",
                                  where, path);
            int rc = walk_mapping(w, vn, path, err);
            if (rc)
                return rc;
        } else {
            return unknown_key(where, path, err);
        }
    }
    return HX_OK;
}

int hx_config_load_string(hx_config_t *cfg, const char *yaml, size_t len, const char *name, hx_err_t *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = HX_OK, have_doc = 0;
    if (!yaml_parser_initialize(&parser))
        return hx_err_set(err, HX_ENOMEM, "out of memory starting the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = hx_err_set(err, HX_ECONFIG, "%s:%lu: YAML syntax error: %s%s%s", name,
                        (unsigned long)parser.problem_mark.line + 1, parser.problem ? parser.problem : "unknown",
                        parser.context ? " " : "", parser.context ? parser.context : "");
        goto cleanup;
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root)
        goto cleanup; /* empty file: all defaults */
    if (root->type != YAML_MAPPING_NODE) {
        if (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)
            goto cleanup;
        rc = hx_err_set(err, HX_ECONFIG, "%s:%lu: the top level must be a mapping of sections (server:, node:, ...)",
                        name, (unsigned long)root->start_mark.line + 1);
        goto cleanup;
    }
    /* A second document in the stream would be silently ignored; refuse it. */
    yaml_document_t extra;
    if (yaml_parser_load(&parser, &extra)) {
        int more = yaml_document_get_root_node(&extra) != NULL;
        yaml_document_delete(&extra);
        if (more) {
            rc = hx_err_set(err, HX_ECONFIG, "%s: holds more than one YAML document; keep one", name);
            goto cleanup;
        }
    }
    walk_t w = {&doc, name, cfg};
    rc = walk_mapping(&w, root, "", err);
cleanup:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

static void env_name(const char *path, char *out, size_t len)
{
    size_t j = snprintf(out, len, "HELIX_");
    for (const char *p = path; *p && j + 1 < len; p++)
        out[j++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
    out[j] = '\0';
}

int hx_config_apply_env(hx_config_t *cfg, char **envp, hx_err_t *err)
{
    if (!envp)
        envp = environ;
    size_t n;
    const hx_knob_t *k = hx_config_knobs(&n);
    for (char **e = envp; e && *e; e++) {
        if (strncmp(*e, "HELIX_", 6) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        size_t nlen = (size_t)(eq - *e);
        int matched = 0;
        for (size_t i = 0; i < n; i++) {
            char name[256];
            env_name(k[i].path, name, sizeof name);
            if (strlen(name) == nlen && strncmp(name, *e, nlen) == 0) {
                matched = 1;
                if (knob_store(cfg, &k[i], eq + 1, err))
                    return hx_err_wrap(err, "environment variable %s (key '%s')", name, k[i].path);
            }
        }
        /* HELIX_BIN and friends belong to scripts and tests, not to the config. */
        if (!matched && strncmp(*e, "HELIX_BIN=", 10) != 0)
            HX_WARN("config", "ignoring %.*s: it names no configuration key", (int)nlen, *e);
    }
    return HX_OK;
}

int hx_config_load(hx_config_t *cfg, const char *path, hx_err_t *err)
{
    hx_config_defaults(cfg);
    if (path) {
        FILE *f = fopen(path, "rb");
        if (!f)
            return hx_err_set(err, HX_ECONFIG, "cannot open config file %s: %s", path, strerror(errno));
        hx_buf_t b = HX_BUF_INIT;
        char chunk[8192];
        size_t got;
        int rc = HX_OK;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
            if ((rc = hx_buf_append(&b, chunk, got)))
                break;
        int io = ferror(f);
        fclose(f);
        if (!rc && io)
            rc = hx_err_set(err, HX_ECONFIG, "cannot read config file %s", path);
        if (!rc)
            rc = hx_config_load_string(cfg, b.data ? (const char *)b.data : "", b.len, path, err);
        hx_buf_free(&b);
        if (rc)
            return rc;
    }
    return hx_config_apply_env(cfg, NULL, err);
}

int hx_config_load_layered(hx_config_t *cfg, const char *path, const hx_config_override_t *ov, size_t n,
                           hx_err_t *err)
{
    if (!path && access(HX_CONFIG_DEFAULT_PATH, R_OK) == 0)
        path = HX_CONFIG_DEFAULT_PATH;
    int rc = hx_config_load(cfg, path, err);
    for (size_t i = 0; !rc && i < n; i++)
        if (ov[i].value)
            rc = hx_config_set(cfg, ov[i].key, ov[i].value, err);
    return rc;
}

/* Formats a knob's current value as YAML scalar text. */
static void knob_format(const hx_config_t *cfg, const hx_knob_t *k, char *out, size_t len)
{
    const char *field = (const char *)cfg + k->offset;
    switch (k->type) {
    case HX_KT_STR:
        snprintf(out, len, "\"%s\"", k->secret && *field ? "***" : field);
        break;
    case HX_KT_ENUM:
        if (strcmp(k->path, "event_log.fsync") == 0)
            snprintf(out, len, "%s", fsync_names[*(const hx_fsync_t *)field]);
        else
            snprintf(out, len, "\"%s\"", field);
        break;
    case HX_KT_BOOL: snprintf(out, len, "%s", *(const int *)field ? "true" : "false"); break;
    case HX_KT_INT: snprintf(out, len, "%d", *(const int *)field); break;
    case HX_KT_INT64: snprintf(out, len, "%lld", (long long)*(const int64_t *)field); break;
    case HX_KT_DOUBLE: snprintf(out, len, "%.6g", *(const double *)field); break;
    }
}

/* Splits a dotted path into its components (at most 8). */
static size_t split_path(const char *path, char parts[8][64])
{
    size_t n = 0;
    const char *p = path;
    while (*p && n < 8) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        snprintf(parts[n++], 64, "%.*s", (int)len, p);
        if (!dot)
            break;
        p = dot + 1;
    }
    return n;
}

static int dump(const hx_config_t *cfg, hx_buf_t *out, int with_docs)
{
    size_t n;
    const hx_knob_t *k = hx_config_knobs(&n);
    char prev[8][64], cur[8][64];
    size_t prev_n = 0;
    int rc = HX_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        size_t cur_n = split_path(k[i].path, cur);
        /* Sections are every component but the last; reopen from the first one
         * that differs from the previous knob's sections. */
        size_t same = 0;
        while (same + 1 < cur_n && same + 1 < prev_n && strcmp(cur[same], prev[same]) == 0)
            same++;
        for (size_t d = same; d + 1 < cur_n && !rc; d++)
            rc = hx_buf_printf(out, "%*s%s:\n", (int)(2 * d), "", cur[d]);
        char val[HX_CFG_STR + 8];
        knob_format(cfg, &k[i], val, sizeof val);
        if (!rc && with_docs)
            rc = hx_buf_printf(out, "%*s# %s\n", (int)(2 * (cur_n - 1)), "", k[i].doc);
        if (!rc)
            rc = hx_buf_printf(out, "%*s%s: %s\n", (int)(2 * (cur_n - 1)), "", cur[cur_n - 1], val);
        memcpy(prev, cur, sizeof prev);
        prev_n = cur_n;
    }
    return rc;
}

int hx_config_dump(const hx_config_t *cfg, hx_buf_t *out) { return dump(cfg, out, 0); }

int hx_config_template(hx_buf_t *out)
{
    hx_config_t def;
    hx_config_defaults(&def);
    int rc = hx_buf_puts(out, "# Helix configuration: every knob with its default. Generated by `helix config template`;\n"
                              "# environment variables HELIX_<SECTION>_<KEY> override this file, flags override both.\n"
                              "# Full table: docs/configuration.md\n");
    return rc ? rc : dump(&def, out, 1);
}

int hx_config_docs(hx_buf_t *out)
{
    size_t n;
    const hx_knob_t *k = hx_config_knobs(&n);
    static const char *types[] = {"string", "int", "int64", "number", "bool", "enum"};
    int rc = hx_buf_puts(out, "| key | type | default | allowed | env | description |\n|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < n && !rc; i++) {
        char range[128], env[256];
        if (k[i].type == HX_KT_ENUM)
            snprintf(range, sizeof range, "%s", k[i].choices);
        else if (k[i].type == HX_KT_INT || k[i].type == HX_KT_INT64)
            snprintf(range, sizeof range, "%.0f .. %.0f", k[i].min, k[i].max);
        else if (k[i].type == HX_KT_DOUBLE)
            snprintf(range, sizeof range, "%g .. %g", k[i].min, k[i].max);
        else if (k[i].type == HX_KT_BOOL)
            snprintf(range, sizeof range, "true, false");
        else
            snprintf(range, sizeof range, "up to %zu bytes", k[i].size - 1);
        env_name(k[i].path, env, sizeof env);
        rc = hx_buf_printf(out, "| `%s` | %s | `%s` | %s | `%s` | %s |\n", k[i].path, types[k[i].type],
                           *k[i].def ? k[i].def : "\"\"", range, env, k[i].doc);
    }
    return rc;
}
