/* A scripted Bolt server for tests: it listens on 127.0.0.1 (port 0), speaks
 * the Bolt handshake, chunking and PackStream with src/graph/neo4j's codec,
 * and plays one script per connection: the messages it expects from the
 * client and the answers it sends back. A message that differs from the
 * script is recorded as an error (with the line and both messages) and ends
 * that connection; hx_bolt_stub_wait reports it.
 *
 * Script (one item per line, '#' comments):
 *   !: BOLT 5.4          newest version this server accepts (default 5.8; "4.4" also)
 *   !: HANDSHAKE 00000000  answer the handshake with these raw 4 bytes instead
 *   !: AUTO RESET        answer RESET with SUCCESS {} wherever it arrives
 *   !: AUTO GOODBYE      accept GOODBYE (and end the connection) anywhere
 *   !: REPEAT            this (last) script also serves every later connection
 *   C: RUN "RETURN 1" {} {}    expect a message: name, then its fields as JSON
 *   S: SUCCESS {"fields": ["x"]}   send a message
 *   S: <NOOP> | <SLEEP ms> | <EXIT> | <RAW hexbytes>
 * Values are JSON with extensions: "*" matches any value; a map key "*"
 * allows keys the script does not list; {"$N": [...]} is a structure with tag
 * 'N' (any one-character tag) and those fields; {"$bytes": "00ff"} is bytes;
 * {"$repeat": ["ab", 3]} is the string "ababab". JSON numbers with a
 * fraction or exponent are floats, others integers.
 *
 * Ownership: the stub copies the scripts; hx_bolt_stub_stop frees it. */
#ifndef HX_BOLT_STUB_H
#define HX_BOLT_STUB_H

#include "graph/neo4j/packstream.h"
#include "helix/hx_buf.h"
#include "helix/hx_error.h"

#include <jansson.h>
#include <stddef.h>

typedef struct hx_bolt_stub hx_bolt_stub_t;

/* Parses the scripts (HX_EINVAL naming the script and line) and starts
 * listening. Connection k plays script k; past the last one, a REPEAT
 * script plays again, otherwise the connection is an error. */
int hx_bolt_stub_start(const char *const *scripts, size_t n, hx_bolt_stub_t **out, hx_err_t *err);
int hx_bolt_stub_port(const hx_bolt_stub_t *s);
/* "bolt://127.0.0.1:PORT" in buf. */
const char *hx_bolt_stub_uri(const hx_bolt_stub_t *s, char *buf, size_t len);

/* Waits until every script has run to its end on a connection that then
 * closed (a REPEAT script: at least once), or an error, or timeout_ms.
 * 0 when all went to plan; otherwise HX_EINVAL with every problem. */
int hx_bolt_stub_wait(hx_bolt_stub_t *s, int timeout_ms, hx_err_t *err);
/* Connections accepted so far. */
int hx_bolt_stub_connections(hx_bolt_stub_t *s);
/* Closes every connection and the listener, joins threads, frees. */
void hx_bolt_stub_stop(hx_bolt_stub_t *s);

/* ---- shared with the script parser (stub_script.c) ---- */
typedef enum { ST_EXPECT, ST_SEND, ST_NOOP, ST_SLEEP, ST_EXIT, ST_RAW } hx_stub_step_kind_t;

typedef struct hx_stub_step {
    hx_stub_step_kind_t kind;
    int line;
    uint8_t tag;                 /* message tag (EXPECT/SEND) */
    hx_ps_value_t *msg;          /* the message as a structure (EXPECT/SEND) */
    int sleep_ms;
    unsigned char *raw;          /* RAW bytes (malloc) */
    size_t raw_len;
} hx_stub_step_t;

typedef struct hx_stub_script {
    hx_ps_arena_t arena;         /* every value of the script */
    hx_stub_step_t *steps;
    size_t n_steps;
    int max_major, max_minor;
    int auto_reset, auto_goodbye, repeat;
    int handshake_raw;           /* 1: answer the handshake with handshake[] */
    unsigned char handshake[4];
} hx_stub_script_t;

int hx_stub_script_parse(const char *text, int index, hx_stub_script_t *out, hx_err_t *err);
void hx_stub_script_free(hx_stub_script_t *s);
/* JSON (with the extensions above) to PackStream in arena. */
int hx_stub_from_json(hx_ps_arena_t *a, json_t *j, hx_ps_value_t *out, hx_err_t *err);
/* Does actual match the expected pattern (wildcards as above)? */
int hx_stub_match(const hx_ps_value_t *expected, const hx_ps_value_t *actual);
/* Message tag from its name ("RUN") or -1. */
int hx_stub_tag(const char *name);

#endif
