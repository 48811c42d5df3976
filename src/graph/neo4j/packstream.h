/* PackStream v1: the value encoding Bolt carries (Neo4j's binary JSON with
 * structures), every type: null, boolean, integer, float, bytes, string,
 * list, map and structures, with the Bolt 4.4/5.x structure types (Node,
 * Relationship, UnboundRelationship, Path, Date, Time, LocalTime, DateTime,
 * DateTimeZoneId, LocalDateTime, Duration, Point2D, Point3D and the legacy
 * pre-UTC DateTime forms).
 *
 * Encoding is streaming (hx_ps_put_* append to an hx_buf_t), so a batch of
 * 10K rows is written without building a tree. Decoding builds a tree of
 * hx_ps_value_t in an arena: every value, string and array of one decode
 * lives in the arena and is freed with it (hx_ps_arena_free); nothing inside
 * is freed on its own. Decoded strings are NUL-terminated copies.
 *
 * The decoder treats its input as hostile: it checks every length against the
 * bytes left before allocating, bounds nesting at HX_PS_MAX_DEPTH, requires
 * map keys to be strings and UTF-8 to be valid, and checks the arity and field
 * types of every known structure tag (unknown tags decode as generic structs;
 * Bolt may add some). */
#ifndef HX_PS_PACKSTREAM_H
#define HX_PS_PACKSTREAM_H

#include "helix/hx_buf.h"
#include "helix/hx_error.h"

#include <stddef.h>
#include <stdint.h>

#define HX_PS_MAX_DEPTH 64

typedef enum {
    HX_PS_NULL = 0,
    HX_PS_BOOL,
    HX_PS_INT,
    HX_PS_FLOAT,
    HX_PS_BYTES,
    HX_PS_STRING,
    HX_PS_LIST,
    HX_PS_MAP,
    HX_PS_STRUCT,
} hx_ps_type_t;

/* Structure tags (Bolt 5 value structures; 'F'/'f' are the 4.x legacy
 * DateTime forms, still sent by a 4.4 server without the "utc" patch). */
#define HX_PS_TAG_NODE 0x4E              /* 'N' */
#define HX_PS_TAG_RELATIONSHIP 0x52      /* 'R' */
#define HX_PS_TAG_UNBOUND_REL 0x72       /* 'r' */
#define HX_PS_TAG_PATH 0x50              /* 'P' */
#define HX_PS_TAG_DATE 0x44              /* 'D' */
#define HX_PS_TAG_TIME 0x54              /* 'T' */
#define HX_PS_TAG_LOCAL_TIME 0x74        /* 't' */
#define HX_PS_TAG_DATETIME 0x49          /* 'I' */
#define HX_PS_TAG_DATETIME_ZONE_ID 0x69  /* 'i' */
#define HX_PS_TAG_LOCAL_DATETIME 0x64    /* 'd' */
#define HX_PS_TAG_DURATION 0x45          /* 'E' */
#define HX_PS_TAG_POINT2D 0x58           /* 'X' */
#define HX_PS_TAG_POINT3D 0x59           /* 'Y' */
#define HX_PS_TAG_LEGACY_DATETIME 0x46   /* 'F' */
#define HX_PS_TAG_LEGACY_DATETIME_ZONE_ID 0x66 /* 'f' */

typedef struct hx_ps_value hx_ps_value_t;
struct hx_ps_value {
    hx_ps_type_t type;
    uint8_t tag;          /* HX_PS_STRUCT only */
    uint32_t n;           /* bytes/string: byte length; list/struct: items; map: entries */
    union {
        int b;
        int64_t i;
        double f;
        const char *s;            /* bytes and string (string NUL-terminated) */
        hx_ps_value_t *items;     /* list and struct: n values; map: 2n (key, value, ...) */
    } u;
};

/* ---- arena ---- */
typedef struct hx_ps_chunk hx_ps_chunk_t;
typedef struct hx_ps_arena {
    hx_ps_chunk_t *head;
    size_t used;          /* total bytes handed out, for limits */
} hx_ps_arena_t;

#define HX_PS_ARENA_INIT {NULL, 0}

/* 8-byte aligned, zeroed memory owned by the arena; NULL on ENOMEM. */
void *hx_ps_arena_alloc(hx_ps_arena_t *a, size_t n);
char *hx_ps_arena_strdup(hx_ps_arena_t *a, const char *s, size_t n);
void hx_ps_arena_free(hx_ps_arena_t *a);

/* ---- encoding (each returns 0 or HX_ENOMEM) ---- */
int hx_ps_put_null(hx_buf_t *b);
int hx_ps_put_bool(hx_buf_t *b, int v);
int hx_ps_put_int(hx_buf_t *b, int64_t v);         /* smallest form */
int hx_ps_put_float(hx_buf_t *b, double v);
int hx_ps_put_bytes(hx_buf_t *b, const void *p, size_t n);
int hx_ps_put_string(hx_buf_t *b, const char *s, size_t n);
int hx_ps_put_cstr(hx_buf_t *b, const char *s);
int hx_ps_put_list_header(hx_buf_t *b, uint32_t n);
int hx_ps_put_map_header(hx_buf_t *b, uint32_t n);
int hx_ps_put_struct_header(hx_buf_t *b, uint8_t tag, uint8_t nfields); /* nfields <= 15 */
/* A whole decoded (or built) tree. HX_EINVAL for a struct of > 15 fields. */
int hx_ps_put_value(hx_buf_t *b, const hx_ps_value_t *v);

/* ---- decoding ---- */
/* Decodes one value from p[*pos..len), advancing *pos. HX_ECORRUPT with the
 * offset and the reason on malformed input. */
int hx_ps_decode(hx_ps_arena_t *a, const unsigned char *p, size_t len, size_t *pos, hx_ps_value_t *out,
                 hx_err_t *err);

/* ---- building trees (values in the arena; for tests and the stub server) ---- */
hx_ps_value_t *hx_ps_new(hx_ps_arena_t *a, hx_ps_type_t type, uint32_t n); /* items allocated for list/map/struct */
void hx_ps_set_string(hx_ps_arena_t *a, hx_ps_value_t *v, const char *s);

/* ---- reading trees ---- */
/* Map lookup by key; NULL when v is not a map or has no such key. */
const hx_ps_value_t *hx_ps_map_get(const hx_ps_value_t *v, const char *key);
/* The string at key, or NULL when absent or not a string. */
const char *hx_ps_map_str(const hx_ps_value_t *v, const char *key);
/* Deep equality (floats bitwise, so NaN equals NaN and -0 differs from 0;
 * map entries compared in any order). */
int hx_ps_equal(const hx_ps_value_t *a, const hx_ps_value_t *b);
/* Appends a readable, JSON-like rendering ("{a: 1, n: N(3 [Entity] {...})}")
 * for logs and error messages; cut after max bytes. */
int hx_ps_format(const hx_ps_value_t *v, hx_buf_t *out, size_t max);

/* ---- typed views of structures (borrow from the tree) ---- */
typedef struct hx_ps_node {
    int64_t id;
    const hx_ps_value_t *labels;     /* list of strings */
    const hx_ps_value_t *props;      /* map */
    const char *element_id;          /* NULL before Bolt 5 */
} hx_ps_node_t;

typedef struct hx_ps_rel {
    int64_t id, start_id, end_id;    /* start/end are -1 for an unbound relationship */
    const char *type;
    const hx_ps_value_t *props;
    const char *element_id, *start_element_id, *end_element_id; /* NULL when absent */
} hx_ps_rel_t;

/* Each returns 0, or HX_EINVAL when v is not that structure. */
int hx_ps_as_node(const hx_ps_value_t *v, hx_ps_node_t *out);
int hx_ps_as_rel(const hx_ps_value_t *v, hx_ps_rel_t *out);     /* Relationship or UnboundRelationship */

/* A Path resolved into its sequence: node[0] rel[0] node[1] ... with each
 * relationship's direction (1 = from node[k] to node[k+1], -1 = reverse).
 * Arrays live in the arena. HX_EINVAL when the indices are out of range or
 * not alternating (the decoder checks shape, this checks meaning). */
typedef struct hx_ps_path {
    size_t length;                   /* relationships; nodes = length + 1 */
    const hx_ps_value_t **nodes;
    const hx_ps_value_t **rels;      /* UnboundRelationship values */
    int *directions;
} hx_ps_path_t;
int hx_ps_as_path(hx_ps_arena_t *a, const hx_ps_value_t *v, hx_ps_path_t *out);

#endif
