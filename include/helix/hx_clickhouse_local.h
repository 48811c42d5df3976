/* A private clickhouse-server for tests and benchmarks: a plain child
 * process on 127.0.0.1 with its config, data and logs in one directory,
 * never the system service.
 *
 * The server binary is $HX_CLICKHOUSE_SERVER, else `clickhouse-server` on
 * PATH, else `clickhouse server` (current single-binary releases). Only the
 * HTTP port is opened. The child gets PR_SET_PDEATHSIG=SIGKILL, so a test
 * killed by its timeout does not leave a server behind: start it from the
 * thread that lives as long as the server should (the main thread).
 *
 * Ownership: the handle owns the process; hx_ch_local_free stops it. The
 * directory is the caller's (it is kept, so a restart finds its data). */
#ifndef HX_CLICKHOUSE_LOCAL_H
#define HX_CLICKHOUSE_LOCAL_H

#include "helix/hx_error.h"

typedef struct hx_ch_local hx_ch_local_t;

/* Writes DIR/config.xml and DIR/users.xml, starts the server and waits (at
 * most wait_ms; 0 = 30 s) until GET /ping answers "Ok.". port 0 picks a free
 * port (retrying on a lost race). HX_ENOTFOUND when no server binary is
 * installed, with the command that installs it. */
int hx_ch_local_start(const char *dir, int port, int wait_ms, hx_ch_local_t **out, hx_err_t *err);

/* "http://127.0.0.1:PORT" (valid until free) and the port. */
const char *hx_ch_local_url(const hx_ch_local_t *s);
int hx_ch_local_port(const hx_ch_local_t *s);
int hx_ch_local_pid(const hx_ch_local_t *s);

/* Stops the process (SIGTERM, SIGKILL after 10 s); the handle stays valid. */
int hx_ch_local_stop(hx_ch_local_t *s, hx_err_t *err);
/* Starts it again on the same port and data (after hx_ch_local_stop). */
int hx_ch_local_restart(hx_ch_local_t *s, hx_err_t *err);

void hx_ch_local_free(hx_ch_local_t *s);

#endif
