/* Bolt transport shared by our client and our test server: a socket (or, for
 * fuzzing, a byte string) with deadlines, the handshake bytes, and chunked
 * message framing.
 *
 * Framing: a message is sent as chunks, each a 2-byte big-endian length and
 * that many bytes (at most 65535), ended by a zero-length chunk. A zero chunk
 * with no message before it is a NOOP (keep-alive) and is skipped.
 *
 * Ownership: hx_bolt_io_t does not own its fd (the caller closes it) nor the
 * memory source. */
#ifndef HX_BOLT_IO_H
#define HX_BOLT_IO_H

#include "graph/neo4j/packstream.h"
#include "helix/hx_buf.h"
#include "helix/hx_error.h"

#include <stddef.h>
#include <stdint.h>

/* Message tags. Requests: */
#define HX_BOLT_HELLO 0x01
#define HX_BOLT_GOODBYE 0x02
#define HX_BOLT_RESET 0x0F
#define HX_BOLT_RUN 0x10
#define HX_BOLT_BEGIN 0x11
#define HX_BOLT_COMMIT 0x12
#define HX_BOLT_ROLLBACK 0x13
#define HX_BOLT_DISCARD 0x2F
#define HX_BOLT_PULL 0x3F
#define HX_BOLT_TELEMETRY 0x54
#define HX_BOLT_ROUTE 0x66
#define HX_BOLT_LOGON 0x6A
#define HX_BOLT_LOGOFF 0x6B
/* Responses: */
#define HX_BOLT_SUCCESS 0x70
#define HX_BOLT_RECORD 0x71
#define HX_BOLT_IGNORED 0x7E
#define HX_BOLT_FAILURE 0x7F

#define HX_BOLT_MAGIC 0x6060B017u
#define HX_BOLT_MAX_CHUNK 65535

/* Name of a message tag ("RUN", "SUCCESS"; "0x??" when unknown): the
 * returned string is static or in buf. */
const char *hx_bolt_msg_name(uint8_t tag, char *buf, size_t len);

typedef struct hx_bolt_io {
    int fd;                          /* -1 with mem set: read from memory, writes are discarded */
    const unsigned char *mem;
    size_t mem_len, mem_pos;
    int64_t deadline_ms;             /* monotonic ms; 0 = no deadline */
    size_t max_message;              /* reading a larger message is HX_ETOOBIG */
    const char *peer;                /* for messages ("127.0.0.1:7687"); borrowed */
    unsigned char rbuf[16384];
    size_t rpos, rlen;
    int eof;                         /* the peer closed */
} hx_bolt_io_t;

void hx_bolt_io_init(hx_bolt_io_t *io, int fd, const char *peer, size_t max_message);
void hx_bolt_io_init_mem(hx_bolt_io_t *io, const void *p, size_t n, size_t max_message);

int64_t hx_bolt_now_ms(void);      /* CLOCK_MONOTONIC */
/* Sets the deadline timeout_ms from now (timeout_ms <= 0 = none). */
void hx_bolt_io_deadline(hx_bolt_io_t *io, int timeout_ms);

/* Exactly n bytes, or HX_EIO (peer closed / error) / HX_ETIMEOUT. */
int hx_bolt_io_read(hx_bolt_io_t *io, void *p, size_t n, hx_err_t *err);
int hx_bolt_io_write(hx_bolt_io_t *io, const void *p, size_t n, hx_err_t *err);

/* Appends msg's bytes to out as chunks plus the end marker. */
int hx_bolt_chunk(hx_buf_t *out, const unsigned char *msg, size_t len);

/* Reads one whole message (de-chunked, NOOPs skipped) into msg (reset first). */
int hx_bolt_io_read_msg(hx_bolt_io_t *io, hx_buf_t *msg, hx_err_t *err);

/* Decodes a de-chunked message: one PackStream structure and nothing after
 * it. *out (tag = message type, items = fields) lives in the arena. */
int hx_bolt_msg_decode(hx_ps_arena_t *a, const hx_buf_t *msg, hx_ps_value_t *out, hx_err_t *err);

/* Reads and decodes one message. */
int hx_bolt_io_recv(hx_bolt_io_t *io, hx_buf_t *scratch, hx_ps_arena_t *a, hx_ps_value_t *out, hx_err_t *err);

/* The 4-byte version slot of the handshake: [0, range, minor, major]. A slot
 * offers major.minor down to major.(minor - range). */
static inline uint32_t hx_bolt_version_slot(uint8_t major, uint8_t minor, uint8_t range)
{
    return (uint32_t)range << 16 | (uint32_t)minor << 8 | major;
}

#endif
