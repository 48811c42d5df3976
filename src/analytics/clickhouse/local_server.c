/* hx_clickhouse_local.h: clickhouse-server as a child process. */
#include "helix/hx_clickhouse_local.h"
#include "helix/hx_clock.h"
#include "helix/hx_http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP_GRACE_MS 10000

struct hx_ch_local {
    char dir[1024];
    char url[64];
    int port;
    int wait_ms;
    pid_t pid;
};

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int on_path(const char *name, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        snprintf(out, cap, "%.*s/%s", (int)n, path, name);
        if (n && access(out, X_OK) == 0)
            return 1;
        path += n + (end ? 1 : 0);
    }
    /* Debian installs the server in /usr/sbin, which a non-root PATH lacks. */
    snprintf(out, cap, "/usr/sbin/%s", name);
    return access(out, X_OK) == 0;
}

/* bin gets the executable; *sub is "server" for the single-binary layout. */
static int find_binary(char *bin, size_t cap, const char **sub)
{
    *sub = NULL;
    const char *env = getenv("HX_CLICKHOUSE_SERVER");
    if (env && *env) {
        snprintf(bin, cap, "%s", env);
        return access(bin, X_OK) == 0;
    }
    if (on_path("clickhouse-server", bin, cap))
        return 1;
    if (on_path("clickhouse", bin, cap)) {
        *sub = "server";
        return 1;
    }
    return 0;
}

static int write_file(const char *dir, const char *name, const char *text, hx_err_t *err)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        int e = errno;
        if (f)
            fclose(f);
        return hx_err_set(err, HX_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return HX_OK;
}

/* Small caches and few background threads: the machine is shared, and a
 * test server holds little data. UTC so text dates mean the same thing on
 * every machine. */
static int write_config(hx_ch_local_t *s, hx_err_t *err)
{
    char cfg[4096];
    snprintf(cfg, sizeof cfg,
             "<?xml version=\"1.0\"?>\n<yandex>\n"
             "  <logger><level>warning</level><log>%1$s/server.log</log><errorlog>%1$s/server.err.log</errorlog>"
             "<console>0</console></logger>\n"
             "  <listen_host>127.0.0.1</listen_host>\n  <http_port>%2$d</http_port>\n"
             "  <path>%1$s/data/</path>\n  <tmp_path>%1$s/tmp/</tmp_path>\n"
             "  <user_files_path>%1$s/user_files/</user_files_path>\n"
             "  <format_schema_path>%1$s/format_schemas/</format_schema_path>\n"
             "  <users_config>%1$s/users.xml</users_config>\n"
             "  <default_profile>default</default_profile>\n  <default_database>default</default_database>\n"
             "  <mark_cache_size>67108864</mark_cache_size>\n"
             "  <uncompressed_cache_size>67108864</uncompressed_cache_size>\n"
             "  <max_concurrent_queries>64</max_concurrent_queries>\n"
             "  <timezone>UTC</timezone>\n  <mlock_executable>false</mlock_executable>\n"
             "</yandex>\n",
             s->dir, s->port);
    static const char users[] =
        "<?xml version=\"1.0\"?>\n<yandex>\n"
        "  <profiles><default><background_pool_size>4</background_pool_size>"
        "<max_threads>2</max_threads></default></profiles>\n"
        "  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>"
        "<profile>default</profile><quota>default</quota></default></users>\n"
        "  <quotas><default></default></quotas>\n</yandex>\n";
    int rc = write_file(s->dir, "config.xml", cfg, err);
    return rc ? rc : write_file(s->dir, "users.xml", users, err);
}

static void err_tail(const char *dir, char *out, size_t cap)
{
    out[0] = 0;
    const char *names[] = {"server.err.log", "stdout.log"};
    for (size_t i = 0; i < 2 && !out[0]; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, sz > (long)cap - 1 ? sz - (long)cap + 1 : 0, SEEK_SET);
        size_t n = fread(out, 1, cap - 1, f);
        out[n] = 0;
        fclose(f);
        for (char *p = out; *p; p++)
            if (*p == '\n')
                *p = ' ';
    }
}

static int spawn(hx_ch_local_t *s, hx_err_t *err)
{
    char bin[1024];
    const char *sub;
    if (!find_binary(bin, sizeof bin, &sub))
        return hx_err_set(err, HX_ENOTFOUND,
                          "no clickhouse-server found (set HX_CLICKHOUSE_SERVER, or install it: "
                          "`bash scripts/deps.sh` or `apt-get install clickhouse-server clickhouse-client`)");
    char cfgarg[1200], out[1200];
    snprintf(cfgarg, sizeof cfgarg, "--config-file=%s/config.xml", s->dir);
    snprintf(out, sizeof out, "%s/stdout.log", s->dir);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return hx_err_set(err, HX_EIO, "cannot fork clickhouse-server: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (sub)
            execl(bin, bin, sub, cfgarg, (char *)NULL);
        else
            execl(bin, bin, cfgarg, (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    return HX_OK;
}

/* 1 = answered Ok., 0 = not yet, <0 = the process is gone. */
static int wait_ready(hx_ch_local_t *s, hx_err_t *err)
{
    char url[96];
    snprintf(url, sizeof url, "%s/ping", s->url);
    hx_http_opts_t o = {.timeout_ms = 500, .connect_timeout_ms = 200};
    hx_http_client_t *c = NULL;
    int rc = hx_http_client_new(&o, &c, err);
    if (rc)
        return rc;
    uint64_t deadline = hx_mono_ns() + (uint64_t)s->wait_ms * 1000000ull;
    rc = HX_ETIMEOUT;
    while (hx_mono_ns() < deadline) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            rc = HX_EUNAVAIL;
            break;
        }
        hx_http_resp_t r = {0};
        int up = hx_http_request(c, "GET", url, NULL, NULL, 0, &r, NULL) == 0 && r.status == 200 &&
                 strncmp(hx_buf_cstr(&r.body), "Ok.", 3) == 0;
        hx_http_resp_free(&r);
        if (up) {
            rc = HX_OK;
            break;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    hx_http_client_free(c);
    if (rc) {
        char tail[400];
        err_tail(s->dir, tail, sizeof tail);
        hx_err_set(err, rc, "clickhouse-server in %s %s on port %d: %s", s->dir,
                   rc == HX_ETIMEOUT ? "did not answer /ping in time" : "exited", s->port,
                   tail[0] ? tail : "(no log)");
    }
    return rc;
}

static int start_once(hx_ch_local_t *s, hx_err_t *err)
{
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    int rc = write_config(s, err);
    if (!rc)
        rc = spawn(s, err);
    if (!rc && (rc = wait_ready(s, err)))
        hx_ch_local_stop(s, NULL);
    return rc;
}

int hx_ch_local_start(const char *dir, int port, int wait_ms, hx_ch_local_t **out, hx_err_t *err)
{
    *out = NULL;
    hx_ch_local_t *s = calloc(1, sizeof *s);
    if (!s)
        return hx_err_set(err, HX_ENOMEM, "out of memory");
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->wait_ms = wait_ms > 0 ? wait_ms : 30000;
    mkdir(dir, 0755);
    int rc = HX_EIO;
    /* A port picked here can be taken before the server binds it: retry. */
    for (int attempt = 0; attempt < (port ? 1 : 4); attempt++) {
        s->port = port ? port : free_port();
        if (s->port <= 0) {
            rc = hx_err_set(err, HX_EIO, "cannot find a free loopback port: %s", strerror(errno));
            break;
        }
        hx_err_clear(err);
        if (!(rc = start_once(s, err)) || rc != HX_EUNAVAIL || !err || !strstr(err->msg, "ddress already in use"))
            break;
    }
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return HX_OK;
}

const char *hx_ch_local_url(const hx_ch_local_t *s) { return s->url; }
int hx_ch_local_port(const hx_ch_local_t *s) { return s->port; }
int hx_ch_local_pid(const hx_ch_local_t *s) { return (int)s->pid; }

int hx_ch_local_stop(hx_ch_local_t *s, hx_err_t *err)
{
    if (!s || s->pid <= 0)
        return HX_OK;
    kill(s->pid, SIGTERM);
    uint64_t deadline = hx_mono_ns() + STOP_GRACE_MS * 1000000ull;
    int status;
    while (waitpid(s->pid, &status, WNOHANG) == 0) {
        if (hx_mono_ns() > deadline) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            break;
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    s->pid = 0;
    return HX_OK;
}

int hx_ch_local_restart(hx_ch_local_t *s, hx_err_t *err)
{
    hx_ch_local_stop(s, NULL);
    return start_once(s, err);
}

void hx_ch_local_free(hx_ch_local_t *s)
{
    if (!s)
        return;
    hx_ch_local_stop(s, NULL);
    free(s);
}
