/* Private: the table of every configuration knob. One row per knob; the
 * parser, env overrides, defaults, dump and docs all walk this table. */
#ifndef HX_CONFIG_TABLE_H
#define HX_CONFIG_TABLE_H

#include <stddef.h>

typedef enum { HX_KT_STR, HX_KT_INT, HX_KT_INT64, HX_KT_DOUBLE, HX_KT_BOOL, HX_KT_ENUM } hx_knob_type_t;

typedef struct hx_knob {
    const char *path;       /* dotted: "kafka.producer.batch_size" */
    hx_knob_type_t type;
    size_t offset;          /* into hx_config_t */
    size_t size;            /* buffer size for strings and enums */
    const char *def;        /* default, as text */
    double min, max;        /* numeric range (inclusive) */
    const char *choices;    /* enums: "always|interval|never" */
    int secret;             /* masked in dumps */
    const char *doc;
} hx_knob_t;

const hx_knob_t *hx_config_knobs(size_t *n);
const hx_knob_t *hx_config_knob_find(const char *path);

#endif
