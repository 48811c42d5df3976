/* Growable byte buffer and little-endian / varint byte codecs.
 *
 * Ownership: an hx_buf_t owns `data`; hx_buf_free() releases it. A zeroed
 * hx_buf_t (or HX_BUF_INIT) is a valid empty buffer. Readers (hx_rd_t) borrow
 * the bytes they read and never free them. */
#ifndef HX_BUF_H
#define HX_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct hx_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
} hx_buf_t;

#define HX_BUF_INIT {NULL, 0, 0}

int  hx_buf_reserve(hx_buf_t *b, size_t extra);   /* HX_ENOMEM on failure */
int  hx_buf_append(hx_buf_t *b, const void *p, size_t n);
int  hx_buf_putc(hx_buf_t *b, unsigned char c);
int  hx_buf_puts(hx_buf_t *b, const char *s);     /* without the NUL */
int  hx_buf_printf(hx_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s[0..n) as a JSON string the way jansson's dump writes it (\n and the other short
 * escapes, \u00XX for other control bytes); s is UTF-8 already. */
int  hx_buf_put_json_str(hx_buf_t *b, const char *s, size_t n);
/* Decimal digits of v into out (at least 21 bytes, NUL-terminated), without printf; the length. */
size_t hx_fmt_i64(int64_t v, char *out);
/* Ensures data[len] == '\0' (not counted in len) and returns data as a C string. */
const char *hx_buf_cstr(hx_buf_t *b);
void hx_buf_reset(hx_buf_t *b);                   /* len = 0, keeps capacity */
void hx_buf_free(hx_buf_t *b);
/* Transfers ownership of the bytes to the caller (NUL-terminated); b is left empty. */
char *hx_buf_steal(hx_buf_t *b);

int hx_buf_put_u8(hx_buf_t *b, uint8_t v);
int hx_buf_put_u16le(hx_buf_t *b, uint16_t v);
int hx_buf_put_u32le(hx_buf_t *b, uint32_t v);
int hx_buf_put_u64le(hx_buf_t *b, uint64_t v);
int hx_buf_put_uvarint(hx_buf_t *b, uint64_t v);
int hx_buf_put_svarint(hx_buf_t *b, int64_t v);   /* zigzag */
/* uvarint length prefix followed by the bytes. */
int hx_buf_put_bytes(hx_buf_t *b, const void *p, size_t n);

static inline void hx_store_u32le(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}
static inline uint32_t hx_load_u32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void hx_store_u64le(unsigned char *p, uint64_t v)
{
    hx_store_u32le(p, (uint32_t)v);
    hx_store_u32le(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t hx_load_u64le(const unsigned char *p)
{
    return (uint64_t)hx_load_u32le(p) | (uint64_t)hx_load_u32le(p + 4) << 32;
}

/* Bounds-checked reader over borrowed bytes. Every getter returns 0 or
 * HX_ECORRUPT when the input is short or malformed; after the first failure
 * the reader stays failed (ok == 0), so a decoder can check once at the end. */
typedef struct hx_rd {
    const unsigned char *p;
    size_t len;
    size_t pos;
    int ok;
} hx_rd_t;

void hx_rd_init(hx_rd_t *r, const void *p, size_t len);
int  hx_rd_u8(hx_rd_t *r, uint8_t *v);
int  hx_rd_u16le(hx_rd_t *r, uint16_t *v);
int  hx_rd_u32le(hx_rd_t *r, uint32_t *v);
int  hx_rd_u64le(hx_rd_t *r, uint64_t *v);
int  hx_rd_uvarint(hx_rd_t *r, uint64_t *v);
int  hx_rd_svarint(hx_rd_t *r, int64_t *v);
/* Length-prefixed bytes; *p points into the reader's input (borrowed). */
int  hx_rd_bytes(hx_rd_t *r, const unsigned char **p, size_t *n);
int  hx_rd_raw(hx_rd_t *r, size_t n, const unsigned char **p);
static inline size_t hx_rd_left(const hx_rd_t *r) { return r->len - r->pos; }

#endif
