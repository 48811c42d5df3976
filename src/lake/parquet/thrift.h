/* Private: Thrift compact protocol, the encoding of every Parquet footer and
 * page header. The writer appends to an hx_buf_t; the reader is bounded and
 * skips fields it does not know (with a nesting limit), so a hostile footer
 * can only fail with HX_ECORRUPT. */
#ifndef HX_PQ_THRIFT_H
#define HX_PQ_THRIFT_H

#include "helix/hx_buf.h"

#include <stdint.h>

enum {
    TC_STOP = 0, TC_TRUE = 1, TC_FALSE = 2, TC_BYTE = 3, TC_I16 = 4, TC_I32 = 5, TC_I64 = 6,
    TC_DOUBLE = 7, TC_BINARY = 8, TC_LIST = 9, TC_SET = 10, TC_MAP = 11, TC_STRUCT = 12,
};

#define TC_MAX_DEPTH 32

typedef struct tc_w {
    hx_buf_t *b;
    int16_t last[TC_MAX_DEPTH];
    int depth;
    int fail;
} tc_w_t;

void tc_w_init(tc_w_t *w, hx_buf_t *b);
void tc_w_field(tc_w_t *w, int16_t id, int type);
void tc_w_i32(tc_w_t *w, int16_t id, int32_t v);
void tc_w_i64(tc_w_t *w, int16_t id, int64_t v);
void tc_w_bool(tc_w_t *w, int16_t id, int v);
void tc_w_bin(tc_w_t *w, int16_t id, const void *p, size_t n);
void tc_w_str(tc_w_t *w, int16_t id, const char *s);
/* Struct field: begin writes the header and opens a nesting level; end
 * writes the stop byte. The top-level struct uses id 0 (no header). */
void tc_w_struct_begin(tc_w_t *w, int16_t id);
void tc_w_struct_end(tc_w_t *w);
void tc_w_list_begin(tc_w_t *w, int16_t id, int elem_type, size_t n);
/* List elements (no field headers). */
void tc_w_elem_i32(tc_w_t *w, int32_t v);
void tc_w_elem_bin(tc_w_t *w, const void *p, size_t n);
void tc_w_elem_struct_begin(tc_w_t *w);

typedef struct tc_r {
    const unsigned char *p;
    size_t len, pos;
    int16_t last[TC_MAX_DEPTH];
    int depth;
    int fail;
    int bool_val;                /* value of the last boolean field header */
} tc_r_t;

void tc_r_init(tc_r_t *r, const void *p, size_t len);
/* Reads a field header inside the current struct: 1 with id and type set, or 0
 * at the stop byte (or on failure: check r->fail). */
int tc_r_field(tc_r_t *r, int16_t *id, int *type);
int64_t tc_r_varint_i(tc_r_t *r);          /* zigzag i16, i32, i64 */
int32_t tc_r_i32(tc_r_t *r, int type);     /* checks the type is an integer */
int64_t tc_r_i64(tc_r_t *r, int type);
int tc_r_bool(tc_r_t *r, int type);
/* Borrowed bytes of a binary field. */
int tc_r_bin(tc_r_t *r, int type, const unsigned char **p, size_t *n);
/* Opens a nested struct (after its field header) / after the stop byte. */
int tc_r_struct_begin(tc_r_t *r, int type);
void tc_r_struct_end(tc_r_t *r);
/* List header: element type and count (bounded by the bytes left). */
int tc_r_list(tc_r_t *r, int type, int *elem_type, size_t *n);
/* Skips a value of a type (nested up to TC_MAX_DEPTH). */
void tc_r_skip(tc_r_t *r, int type);

#endif
