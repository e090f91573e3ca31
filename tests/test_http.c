/*
 * tests/test_http.c — the HTTP layer (loggers/remote/) against a real
 * server on 127.0.0.1: tests/fault_proxy.py, started here on a free port,
 * scripted through its control endpoints and read back through its request
 * log. Covers retries and their count, Retry-After (seconds and HTTP-date)
 * and RateLimit hints, byte-identical retried bodies, no retry on 400 with
 * the server's message, 401 -> LC_ERR_AUTH without the token, a streamed
 * file upload arriving intact, cancel stopping a retry loop, keep-alive on
 * one connection, a lost response after the upstream applied the request,
 * proxies from the environment, TLS options, and a planted token that never
 * shows in any message or any file written. Waits are checked with lower
 * bounds only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "common/clock.h"
#include "remote/cancel.h"
#include "remote/http.h"
#include "remote/http_error.h"
#include "remote/http_url.h"
#include "remote/secrets.h"
#include "testutil.h"

/* ---------------------------------------------------------------------- */
/* the fault proxy as a child process */

typedef struct {
    pid_t pid;
    int port;
    int stdin_fd; /* its stdin: closed (by us, or by our death) it exits */
    char url[64];
} proxy_proc;

static char proxy_script[4096];
static proxy_proc srv;           /* the echo server most tests use */
static lc_http_client *ctl;      /* talks to the control endpoints */
static const char *tmp;
static proxy_proc *running[8];   /* stopped at teardown if a test failed */

static int proxy_start(proxy_proc *p, const char *const *extra)
{
    int out[2], in[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(in, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    const char *argv[16] = {"python3", "-u", proxy_script, "--watch-stdin"};
    int n = 4;
    for (int i = 0; extra && extra[i] && n < 15; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(in[0]);
    FILE *f = fdopen(out[0], "r");
    char line[128] = "";
    if (!f || !fgets(line, sizeof line, f) || sscanf(line, "PORT %d", &p->port) != 1) {
        if (f)
            fclose(f);
        close(in[1]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    fclose(f);
    p->pid = pid;
    p->stdin_fd = in[1];
    snprintf(p->url, sizeof p->url, "http://127.0.0.1:%d", p->port);
    for (int i = 0; i < 8; i++)
        if (!running[i]) {
            running[i] = p;
            break;
        }
    return 0;
}

static void proxy_stop(proxy_proc *p)
{
    if (p->pid > 0) {
        close(p->stdin_fd);
        kill(p->pid, SIGTERM);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    for (int i = 0; i < 8; i++)
        if (running[i] == p)
            running[i] = NULL;
}

static void ctl_post(const proxy_proc *p, const char *path, const char *json)
{
    char url[128];
    snprintf(url, sizeof url, "%s%s", p->url, path);
    lc_http_response r = {0};
    lc_status st = lc_http_post_json(ctl, url, json, &r);
    if (st != LC_OK)
        fail_msg("control %s: %s", path, r.error);
    lc_http_response_free(&r);
}

static void faults(const proxy_proc *p, const char *json)
{
    ctl_post(p, "/__fault__", json);
}

static void reset(const proxy_proc *p)
{
    ctl_post(p, "/__reset__", "{}");
}

/* The proxy's request log (the "requests" array is in the returned tree). */
static cJSON *proxy_log(const proxy_proc *p)
{
    char url[128];
    snprintf(url, sizeof url, "%s/__log__", p->url);
    lc_http_response r = {0};
    assert_int_equal(lc_http_get(ctl, url, &r), LC_OK);
    cJSON *j = cJSON_Parse(r.body);
    lc_http_response_free(&r);
    assert_non_null(j);
    return j;
}

static cJSON *log_requests(cJSON *log)
{
    cJSON *a = cJSON_GetObjectItem(log, "requests");
    assert_true(cJSON_IsArray(a));
    return a;
}

static int log_count(const proxy_proc *p)
{
    cJSON *j = proxy_log(p);
    int n = cJSON_GetArraySize(log_requests(j));
    cJSON_Delete(j);
    return n;
}

static const char *entry_str(const cJSON *e, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(e, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *entry_header(const cJSON *e, const char *name)
{
    const cJSON *h = cJSON_GetObjectItem(e, "headers");
    const cJSON *v = cJSON_GetObjectItem(h, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double entry_num(const cJSON *e, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(e, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* ---------------------------------------------------------------------- */
/* clients */

static lc_http_client *client_with(lc_http_config cfg)
{
    if (!cfg.retry.base_ms)
        cfg.retry.base_ms = 5;
    if (!cfg.retry.cap_ms)
        cfg.retry.cap_ms = 20;
    lc_http_client *c = NULL;
    lc_status st = lc_http_client_new(&cfg, &c);
    if (st != LC_OK)
        fail_msg("client: %s", lc_errmsg());
    return c;
}

static lc_http_client *client(void)
{
    lc_http_config cfg = {0};
    return client_with(cfg);
}

static char *url_of(const proxy_proc *p, const char *path)
{
    static char buf[4][512];
    static int k;
    char *u = buf[k++ & 3];
    snprintf(u, 512, "%s%s", p->url, path);
    return u;
}

/* ---------------------------------------------------------------------- */
/* setup */

static int group_setup(void **s)
{
    (void)s;
    /* the tests talk to 127.0.0.1 directly unless a test sets a proxy */
    static const char *const proxy_vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                             "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
                                             "LIGHTC_HTTP_DEBUG", NULL};
    for (int i = 0; proxy_vars[i]; i++)
        unsetenv(proxy_vars[i]);
    signal(SIGPIPE, SIG_IGN);
    const char *src = getenv("LC_SOURCE_DIR");
    snprintf(proxy_script, sizeof proxy_script, "%s/tests/fault_proxy.py", src ? src : ".");
    tmp = tu_tmpdir("http");
    if (!tmp || access(proxy_script, R_OK) != 0 || proxy_start(&srv, NULL) != 0) {
        fprintf(stderr, "test_http: cannot start %s with python3\n", proxy_script);
        return -1;
    }
    lc_http_config cfg = {.retry = {.max_attempts = 1}};
    if (lc_http_client_new(&cfg, &ctl) != LC_OK)
        return -1;
    return 0;
}

static int group_teardown(void **s)
{
    (void)s;
    lc_http_client_free(ctl);
    for (int i = 0; i < 8; i++)
        if (running[i])
            proxy_stop(running[i]);
    return 0;
}

static int each_setup(void **s)
{
    (void)s;
    reset(&srv);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* plain requests */

static void test_get_ok(void **s)
{
    (void)s;
    lc_http_client *c = client();
    lc_http_response r = {0};
    assert_int_equal(lc_http_get(c, url_of(&srv, "/hello?x=1"), &r), LC_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.outcome, LC_HTTP_OK);
    assert_string_equal(r.error, "");
    assert_non_null(strstr(r.content_type, "application/json"));
    assert_non_null(strstr(r.body, "\"GET\""));
    assert_false(r.body_truncated);
    cJSON *log = proxy_log(&srv);
    cJSON *e = cJSON_GetArrayItem(log_requests(log), 0);
    assert_string_equal(entry_str(e, "path"), "/hello?x=1");
    assert_non_null(strstr(entry_header(e, "user-agent"), "lightc/"));
    assert_non_null(entry_header(e, "accept-encoding")); /* compression accepted */
    assert_null(entry_header(e, "authorization"));
    cJSON_Delete(log);
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

static void test_methods_and_bodies(void **s)
{
    (void)s;
    lc_http_client *c = client();
    lc_http_response r = {0};
    const char *json = "{\"run_id\":\"abc\",\"metrics\":[]}";
    static const lc_http_method methods[] = {LC_HTTP_POST, LC_HTTP_PUT, LC_HTTP_PATCH, LC_HTTP_DELETE};
    static const char *const names[] = {"POST", "PUT", "PATCH", "DELETE"};
    for (int i = 0; i < 4; i++) {
        lc_http_request q = {.method = methods[i], .url = url_of(&srv, "/m"), .body = json,
                             .body_len = strlen(json)};
        assert_int_equal(lc_http_send(c, &q, &r), LC_OK);
    }
    const char *hdrs[] = {"X-Custom: 1", "Content-Type: text/plain", NULL};
    lc_http_request q = {.method = LC_HTTP_POST, .url = url_of(&srv, "/h"), .headers = hdrs,
                         .body = "hi", .body_len = 2};
    assert_int_equal(lc_http_send(c, &q, &r), LC_OK);
    cJSON *log = proxy_log(&srv);
    cJSON *a = log_requests(log);
    assert_int_equal(cJSON_GetArraySize(a), 5);
    for (int i = 0; i < 4; i++) {
        cJSON *e = cJSON_GetArrayItem(a, i);
        assert_string_equal(entry_str(e, "method"), names[i]);
        assert_string_equal(entry_str(e, "body"), json);
        assert_string_equal(entry_header(e, "content-type"), "application/json");
        assert_null(entry_header(e, "expect"));
    }
    cJSON *e = cJSON_GetArrayItem(a, 4);
    assert_string_equal(entry_header(e, "content-type"), "text/plain");
    assert_string_equal(entry_header(e, "x-custom"), "1");
    cJSON_Delete(log);
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

static void test_invalid_requests(void **s)
{
    (void)s;
    lc_http_client *c = client();
    lc_http_response r = {0};
    lc_http_request q = {.method = LC_HTTP_GET, .url = url_of(&srv, "/x"), .body = "a", .body_len = 1};
    assert_int_equal(lc_http_send(c, &q, &r), LC_ERR_INVALID);
    assert_int_equal(r.outcome, LC_HTTP_E_LOCAL);
    q = (lc_http_request){.method = LC_HTTP_PUT, .url = url_of(&srv, "/x"), .body = "a", .body_len = 1,
                          .body_file = "/etc/hostname"};
    assert_int_equal(lc_http_send(c, &q, &r), LC_ERR_INVALID);
    q = (lc_http_request){.method = LC_HTTP_GET};
    assert_int_equal(lc_http_send(c, &q, &r), LC_ERR_INVALID);
    q = (lc_http_request){.method = LC_HTTP_PUT, .url = url_of(&srv, "/x"), .body_file = "/nonexistent/f"};
    assert_int_equal(lc_http_send(c, &q, &r), LC_ERR_NOT_FOUND);
    assert_int_equal(r.attempts, 0);
    assert_non_null(strstr(r.error, "/nonexistent/f"));
    assert_int_equal(log_count(&srv), 0);
    /* configuration refused */
    lc_http_config cfg = {.insecure = true, .ca_path = "/etc/hostname"};
    lc_http_client *bad = NULL;
    assert_int_equal(lc_http_client_new(&cfg, &bad), LC_ERR_INVALID);
    assert_null(bad);
    cfg = (lc_http_config){.ca_path = "/nonexistent/ca.pem"};
    assert_int_equal(lc_http_client_new(&cfg, &bad), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "/nonexistent/ca.pem"));
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

/* ---------------------------------------------------------------------- */
/* retries */

static void test_retry_statuses_identical_body(void **s)
{
    (void)s;
    faults(&srv, "[{\"status\":500},{\"status\":502},{\"status\":503},{\"status\":504},"
                 "{\"status\":408},{\"status\":429}]");
    lc_http_client *c = client();
    lc_http_response r = {0};
    const char *json = "{\"run_id\":\"r1\",\"metrics\":[{\"key\":\"loss\",\"value\":0.25,"
                       "\"timestamp\":1700000000123,\"step\":7}]}";
    assert_int_equal(lc_http_post_json(c, url_of(&srv, "/api/2.0/mlflow/runs/log-batch"), json, &r), LC_OK);
    assert_int_equal(r.attempts, 7);
    assert_int_equal(r.status, 200);
    assert_false(r.maybe_applied);
    cJSON *log = proxy_log(&srv);
    cJSON *a = log_requests(log);
    assert_int_equal(cJSON_GetArraySize(a), 7);
    const char *sha0 = entry_str(cJSON_GetArrayItem(a, 0), "sha256");
    for (int i = 0; i < 7; i++) {
        cJSON *e = cJSON_GetArrayItem(a, i);
        assert_string_equal(entry_str(e, "body"), json);
        assert_string_equal(entry_str(e, "sha256"), sha0);
        assert_string_equal(entry_header(e, "content-type"), "application/json");
    }
    cJSON_Delete(log);
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

static void test_retry_connection_errors(void **s)
{
    (void)s;
    faults(&srv, "[{\"drop\":\"close\"},{\"drop\":\"reset\"}]");
    lc_http_client *c = client();
    lc_http_response r = {0};
    assert_int_equal(lc_http_post_json(c, url_of(&srv, "/drop"), "{\"a\":1}", &r), LC_OK);
    assert_int_equal(r.attempts, 3);
    cJSON *log = proxy_log(&srv);
    cJSON *a = log_requests(log);
    assert_int_equal(cJSON_GetArraySize(a), 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(entry_str(cJSON_GetArrayItem(a, i), "body"), "{\"a\":1}");
    cJSON_Delete(log);
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

static void test_max_attempts(void **s)
{
    (void)s;
    faults(&srv, "[{\"status\":503,\"times\":-1,\"body\":"
                 "{\"error_code\":\"TEMPORARILY_UNAVAILABLE\",\"message\":\"store busy\"}}]");
    lc_http_config cfg = {.retry = {.max_attempts = 3}};
    lc_http_client *c = client_with(cfg);
    lc_http_response r = {0};
    assert_int_equal(lc_http_post_json(c, url_of(&srv, "/busy"), "{}", &r), LC_ERR_IO);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(r.status, 503);
    assert_int_equal(r.outcome, LC_HTTP_E_STATUS);
    assert_true(r.maybe_applied);
    assert_non_null(strstr(r.error, "HTTP 503 Service Unavailable"));
    assert_non_null(strstr(r.error, "TEMPORARILY_UNAVAILABLE: store busy"));
    assert_non_null(strstr(r.error, "3 attempts"));
    assert_string_equal(lc_errmsg(), r.error);
    assert_int_equal(log_count(&srv), 3);
    /* no retry when the caller says so */
    reset(&srv);
    faults(&srv, "[{\"status\":503,\"times\":-1}]");
    lc_http_request q = {.method = LC_HTTP_POST, .url = url_of(&srv, "/busy"), .body = "{}", .body_len = 2,
                         .retry = LC_HTTP_RETRY_NONE};
    assert_int_equal(lc_http_send(c, &q, &r), LC_ERR_IO);
    assert_int_equal(r.attempts, 1);
    q.retry = LC_HTTP_RETRY_UNSENT; /* a 503 may have been processed */
    assert_int_equal(lc_http_send(c, &q, &r), LC_ERR_IO);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(log_count(&srv), 2);
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

static void test_retry_after_seconds(void **s)
{
    (void)s;
    faults(&srv, "[{\"status\":429,\"headers\":{\"Retry-After\":\"1\"}}]");
    lc_http_client *c = client();
    lc_http_response r = {0};
    uint64_t t0 = lc_mono_ms();
    assert_int_equal(lc_http_get(c, url_of(&srv, "/ra"), &r), LC_OK);
    uint64_t took = lc_mono_ms() - t0;
    assert_int_equal(r.attempts, 2);
    assert_true(took >= 900);
    cJSON *log = proxy_log(&srv);
    cJSON *a = log_requests(log);
    double gap = entry_num(cJSON_GetArrayItem(a, 1), "t") - entry_num(cJSON_GetArrayItem(a, 0), "t");
    assert_true(gap >= 0.9);
    cJSON_Delete(log);
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

static void test_retry_after_date(void **s)
{
    (void)s;
    /* an HTTP-date 2 s ahead (1 s resolution): at least ~1 s of wait */
    faults(&srv, "[{\"status\":503,\"retry_after_date\":2}]");
    lc_http_client *c = client();
    lc_http_response r = {0};
    uint64_t t0 = lc_mono_ms();
    assert_int_equal(lc_http_get(c, url_of(&srv, "/rd"), &r), LC_OK);
    assert_int_equal(r.attempts, 2);
    assert_true(lc_mono_ms() - t0 >= 900);
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

static void test_ratelimit_hints(void **s)
{
    (void)s;
    /* a 429 without Retry-After but with W&B-style RateLimit headers */
    faults(&srv, "[{\"status\":429,\"headers\":{\"RateLimit-Remaining\":\"0\",\"RateLimit-Reset\":\"1\"}}]");
    lc_http_client *c = client();
    lc_http_response r = {0};
    uint64_t t0 = lc_mono_ms();
    assert_int_equal(lc_http_get(c, url_of(&srv, "/rl"), &r), LC_OK);
    assert_int_equal(r.attempts, 2);
    assert_true(lc_mono_ms() - t0 >= 900);
    /* a success saying "none left, resets in 1 s" paces the next request */
    reset(&srv);
    faults(&srv, "[{\"status\":200,\"body\":\"{}\",\"headers\":{\"X-RateLimit-Remaining\":\"0\","
                 "\"X-RateLimit-Reset\":\"1\"}}]");
    assert_int_equal(lc_http_get(c, url_of(&srv, "/p1"), &r), LC_OK);
    assert_int_equal(r.ratelimit_remaining, 0);
    assert_true(r.ratelimit_reset_s >= 0.99);
    assert_true(r.retry_after_s < 0);
    assert_int_equal(lc_http_get(c, url_of(&srv, "/p2"), &r), LC_OK);
    cJSON *log = proxy_log(&srv);
    cJSON *a = log_requests(log);
    assert_int_equal(cJSON_GetArraySize(a), 2);
    double gap = entry_num(cJSON_GetArrayItem(a, 1), "t") - entry_num(cJSON_GetArrayItem(a, 0), "t");
    assert_true(gap >= 0.9);
    cJSON_Delete(log);
    /* the structured RateLimit field */
    reset(&srv);
    faults(&srv, "[{\"status\":200,\"body\":\"{}\",\"headers\":{\"RateLimit\":\"limit=10, remaining=3, reset=7\"}}]");
    assert_int_equal(lc_http_get(c, url_of(&srv, "/p3"), &r), LC_OK);
    assert_int_equal(r.ratelimit_remaining, 3);
    assert_true(r.ratelimit_reset_s >= 6.99);
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

static void test_deadline(void **s)
{
    (void)s;
    faults(&srv, "[{\"status\":503,\"times\":-1,\"headers\":{\"Retry-After\":\"30\"}}]");
    lc_http_client *c = client();
    lc_http_response r = {0};
    lc_http_request q = {.method = LC_HTTP_GET, .url = url_of(&srv, "/dl"), .deadline_ms = lc_mono_ms() + 2000};
    assert_int_equal(lc_http_send(c, &q, &r), LC_ERR_TIMEOUT);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.error, "past the deadline"));
    /* retry.total_ms does the same from the client's config */
    lc_http_config cfg = {.retry = {.total_ms = 300}};
    lc_http_client *c2 = client_with(cfg);
    assert_int_equal(lc_http_get(c2, url_of(&srv, "/dl"), &r), LC_ERR_TIMEOUT);
    assert_int_equal(r.attempts, 1);
    lc_http_response_free(&r);
    lc_http_client_free(c2);
    lc_http_client_free(c);
}

static void test_attempt_timeout(void **s)
{
    (void)s;
    /* the first answer comes too late: cut, retried, the second works (a
       1 s limit: a loaded machine must not make the prompt answer late) */
    faults(&srv, "[{\"delay\":4,\"status\":200,\"body\":\"late\"}]");
    lc_http_config cfg = {.request_timeout_ms = 1000};
    lc_http_client *c = client_with(cfg);
    lc_http_response r = {0};
    assert_int_equal(lc_http_get(c, url_of(&srv, "/slow"), &r), LC_OK);
    assert_int_equal(r.attempts, 2);
    assert_string_not_equal(r.body, "late");
    /* too late every time: LC_ERR_TIMEOUT */
    reset(&srv);
    faults(&srv, "[{\"delay\":4,\"status\":200,\"times\":2}]");
    lc_http_request q = {.method = LC_HTTP_POST, .url = url_of(&srv, "/slow"), .body = "{}", .body_len = 2,
                         .timeout_ms = 1000};
    lc_http_client_free(c);
    cfg.retry.max_attempts = 2;
    c = client_with(cfg);
    assert_int_equal(lc_http_send(c, &q, &r), LC_ERR_TIMEOUT);
    assert_int_equal(r.outcome, LC_HTTP_E_TIMEOUT);
    assert_int_equal(r.attempts, 2);
    assert_true(r.maybe_applied);
    assert_non_null(strstr(r.error, "timed out"));
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

/* ---------------------------------------------------------------------- */
/* errors the caller sees */

static void test_no_retry_on_400(void **s)
{
    (void)s;
    faults(&srv, "[{\"status\":400,\"body\":{\"error_code\":\"INVALID_PARAMETER_VALUE\","
                 "\"message\":\"Missing value for required parameter 'run_id'.\"}}]");
    lc_http_client *c = client();
    lc_http_response r = {0};
    const char *u = url_of(&srv, "/api/2.0/mlflow/runs/log-batch");
    assert_int_equal(lc_http_post_json(c, u, "{}", &r), LC_ERR_INVALID);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.status, 400);
    assert_false(r.maybe_applied);
    char want[512];
    snprintf(want, sizeof want,
             "POST %s: HTTP 400 Bad Request: INVALID_PARAMETER_VALUE: Missing value for required "
             "parameter 'run_id'.", u);
    assert_string_equal(r.error, want);
    assert_string_equal(lc_errmsg(), want);
    assert_int_equal(log_count(&srv), 1);
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

static void test_error_shapes(void **s)
{
    (void)s;
    faults(&srv, "[{\"status\":404,\"body\":{\"errors\":[{\"message\":\"project not found\"},"
                 "{\"message\":\"second\"}]}},"
                 "{\"status\":409,\"body\":{\"error\":\"run exists\"}},"
                 "{\"status\":422,\"body\":\"\"}]");
    lc_http_client *c = client();
    lc_http_response r = {0};
    assert_int_equal(lc_http_post_json(c, url_of(&srv, "/graphql"), "{}", &r), LC_ERR_NOT_FOUND);
    assert_non_null(strstr(r.error, "HTTP 404 Not Found: project not found; second"));
    assert_int_equal(lc_http_post_json(c, url_of(&srv, "/graphql"), "{}", &r), LC_ERR_EXISTS);
    assert_non_null(strstr(r.error, "HTTP 409 Conflict: run exists"));
    assert_int_equal(lc_http_post_json(c, url_of(&srv, "/graphql"), "{}", &r), LC_ERR_INVALID);
    assert_true(strstr(r.error, "HTTP 422 Unprocessable Content") != NULL);
    assert_int_equal(log_count(&srv), 3);
    lc_http_response_free(&r);
    lc_http_client_free(c);

    /* text bodies: the first 300 bytes, printable */
    char body[1200], out[700];
    for (int i = 0; i < 1199; i++)
        body[i] = (char)(i % 50 == 0 ? '\x01' : i % 7 == 0 ? '\n' : 'a' + i % 26);
    body[1199] = 0;
    lc_http_server_message(body, strlen(body), out, sizeof out);
    assert_true(strlen(out) <= 303);
    for (const char *p = out; *p; p++)
        assert_true((unsigned char)*p >= 0x20);
    assert_string_equal(out + strlen(out) - 3, "...");
    lc_http_server_message("<html>\r\n  <b>Bad\tGateway</b>\xff</html>", 36, out, sizeof out);
    assert_string_equal(out, "<html> <b>Bad Gateway</b>?</html>");
    lc_http_server_message("{\"detail\":\"Not authenticated\"}", 30, out, sizeof out);
    assert_string_equal(out, "Not authenticated");
    lc_http_server_message("", 0, out, sizeof out);
    assert_string_equal(out, "");
    assert_int_equal(lc_http_status_code(401), LC_ERR_AUTH);
    assert_int_equal(lc_http_status_code(403), LC_ERR_AUTH);
    assert_int_equal(lc_http_status_code(429), LC_ERR_IO);
    assert_int_equal(lc_http_status_code(501), LC_ERR_IO);
    assert_string_equal(lc_status_name(LC_ERR_AUTH), "LC_ERR_AUTH");
}

static void test_auth_401_and_403(void **s)
{
    (void)s;
    const char *token = "tok-1234567890-abcdef";
    faults(&srv, "[{\"status\":401,\"body\":{\"error_code\":\"UNAUTHENTICATED\",\"message\":\"bad token\"}},"
                 "{\"status\":403,\"body\":\"Forbidden\"}]");
    lc_http_client *c = client();
    assert_false(lc_http_client_has_auth(c));
    assert_int_equal(lc_http_client_set_bearer(c, token), LC_OK);
    assert_true(lc_http_client_has_auth(c));
    lc_http_response r = {0};
    assert_int_equal(lc_http_post_json(c, url_of(&srv, "/api/2.0/mlflow/runs/create"), "{}", &r), LC_ERR_AUTH);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.error, "HTTP 401 Unauthorized: UNAUTHENTICATED: bad token"));
    assert_non_null(strstr(r.error, "credentials sent were refused"));
    assert_null(strstr(r.error, token));
    assert_null(strstr(lc_errmsg(), token));
    lc_http_client *anon = client();
    assert_int_equal(lc_http_get(anon, url_of(&srv, "/x"), &r), LC_ERR_AUTH);
    assert_non_null(strstr(r.error, "HTTP 403 Forbidden: Forbidden (no credentials were sent)"));
    cJSON *log = proxy_log(&srv);
    cJSON *e = cJSON_GetArrayItem(log_requests(log), 0);
    char want[128];
    snprintf(want, sizeof want, "Bearer %s", token);
    assert_string_equal(entry_header(e, "authorization"), want); /* it was sent */
    cJSON_Delete(log);
    lc_http_response_free(&r);
    lc_http_client_free(anon);
    lc_http_client_free(c);
}

static void test_basic_auth(void **s)
{
    (void)s;
    lc_http_client *c = client();
    assert_int_equal(lc_http_client_set_basic(c, "api", "0123456789abcdef0123456789abcdef01234567"), LC_OK);
    lc_http_response r = {0};
    assert_int_equal(lc_http_get(c, url_of(&srv, "/viewer"), &r), LC_OK);
    /* cleared: nothing sent */
    assert_int_equal(lc_http_client_set_basic(c, NULL, NULL), LC_OK);
    assert_int_equal(lc_http_get(c, url_of(&srv, "/viewer"), &r), LC_OK);
    cJSON *log = proxy_log(&srv);
    cJSON *a = log_requests(log);
    assert_string_equal(entry_header(cJSON_GetArrayItem(a, 0), "authorization"),
                        "Basic YXBpOjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc=");
    assert_null(entry_header(cJSON_GetArrayItem(a, 1), "authorization"));
    cJSON_Delete(log);
    char *b = lc_base64_encode("api:0123456789abcdef0123456789abcdef01234567", 44);
    assert_string_equal(b, "YXBpOjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc=");
    free(b);
    b = lc_base64_encode("ab", 2);
    assert_string_equal(b, "YWI=");
    free(b);
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

/* ---------------------------------------------------------------------- */
/* uploads, bodies */

static void test_streamed_upload(void **s)
{
    (void)s;
    char path[4096];
    snprintf(path, sizeof path, "%s/upload.bin", tmp);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    size_t size = (5u << 20) + 12345;
    unsigned char *buf = malloc(size);
    assert_non_null(buf);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    assert_int_equal(fwrite(buf, 1, size, f), size);
    fclose(f);
    unsigned long crc = crc32(0L, buf, (uInt)size);
    free(buf);

    faults(&srv, "[{\"status\":503}]");
    lc_http_client *c = client();
    lc_http_response r = {0};
    lc_http_request q = {.method = LC_HTTP_PUT,
                         .url = url_of(&srv, "/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model.ckpt"),
                         .body_file = path};
    assert_int_equal(lc_http_send(c, &q, &r), LC_OK);
    assert_int_equal(r.attempts, 2);
    q.method = LC_HTTP_POST;
    assert_int_equal(lc_http_send(c, &q, &r), LC_OK);
    cJSON *log = proxy_log(&srv);
    cJSON *a = log_requests(log);
    assert_int_equal(cJSON_GetArraySize(a), 3);
    char len[32];
    snprintf(len, sizeof len, "%zu", size);
    for (int i = 0; i < 3; i++) {
        cJSON *e = cJSON_GetArrayItem(a, i);
        assert_string_equal(entry_str(e, "method"), i < 2 ? "PUT" : "POST");
        assert_true(entry_num(e, "length") == (double)size);
        assert_true(entry_num(e, "crc32") == (double)crc);
        assert_string_equal(entry_header(e, "content-length"), len);
        assert_null(entry_header(e, "transfer-encoding"));
        assert_string_equal(entry_header(e, "content-type"), "application/octet-stream");
    }
    cJSON_Delete(log);
    lc_http_response_free(&r);
    lc_http_client_free(c);
    unlink(path);
}

static void test_body_bounded(void **s)
{
    (void)s;
    faults(&srv, "[{\"status\":200,\"body_size\":3145728}]");
    lc_http_config cfg = {.max_body = 1 << 20};
    lc_http_client *c = client_with(cfg);
    lc_http_response r = {0};
    assert_int_equal(lc_http_get(c, url_of(&srv, "/big"), &r), LC_OK);
    assert_int_equal(r.body_len, 1 << 20);
    assert_true(r.body_truncated);
    assert_int_equal(r.body[r.body_len], 0);
    assert_int_equal(r.body[0], 'x');
    lc_http_response_free(&r);
    assert_null(r.body);
    lc_http_client_free(c);
}

/* ---------------------------------------------------------------------- */
/* cancel */

typedef struct {
    lc_cancel *flag;
    unsigned ms;
} cancel_arg;

static void *cancel_later(void *p)
{
    cancel_arg *a = p;
    usleep(a->ms * 1000u);
    lc_cancel_set(a->flag);
    return NULL;
}

static void test_cancel_flag(void **s)
{
    (void)s;
    lc_cancel *f = lc_cancel_new();
    assert_non_null(f);
    assert_false(lc_cancel_is_set(f));
    uint64_t t0 = lc_mono_ms();
    assert_false(lc_cancel_sleep_ms(f, 50));
    assert_true(lc_mono_ms() - t0 >= 50);
    pthread_t th;
    cancel_arg a = {f, 100};
    pthread_create(&th, NULL, cancel_later, &a);
    assert_true(lc_cancel_sleep_ms(f, 600000)); /* returns when set */
    pthread_join(th, NULL);
    assert_true(lc_cancel_is_set(f));
    assert_true(lc_cancel_sleep_ms(f, 600000));
    lc_cancel_clear(f);
    assert_false(lc_cancel_is_set(f));
    assert_false(lc_cancel_is_set(NULL));
    assert_false(lc_cancel_sleep_ms(NULL, 1));
    lc_cancel_free(f);
}

static void test_cancel_stops_retry_loop(void **s)
{
    (void)s;
    faults(&srv, "[{\"status\":503,\"times\":-1,\"headers\":{\"Retry-After\":\"60\"}}]");
    lc_cancel *f = lc_cancel_new();
    lc_http_config cfg = {.cancel = f};
    lc_http_client *c = client_with(cfg);
    lc_http_response r = {0};
    pthread_t th;
    cancel_arg a = {f, 200};
    pthread_create(&th, NULL, cancel_later, &a);
    uint64_t t0 = lc_mono_ms();
    assert_int_equal(lc_http_post_json(c, url_of(&srv, "/c"), "{}", &r), LC_ERR_STATE);
    print_message("cancel during a 60 s Retry-After returned after %llu ms\n",
                  (unsigned long long)(lc_mono_ms() - t0));
    pthread_join(th, NULL);
    assert_int_equal(r.outcome, LC_HTTP_E_CANCELLED);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(r.error, "cancelled"));
    assert_int_equal(log_count(&srv), 1);
    /* already cancelled: nothing is sent */
    assert_int_equal(lc_http_get(c, url_of(&srv, "/c2"), &r), LC_ERR_STATE);
    assert_int_equal(r.attempts, 0);
    assert_int_equal(log_count(&srv), 1);
    /* cancel during a slow response */
    lc_cancel_clear(f);
    reset(&srv);
    faults(&srv, "[{\"delay\":60,\"status\":200}]");
    a.ms = 200;
    pthread_create(&th, NULL, cancel_later, &a);
    t0 = lc_mono_ms();
    assert_int_equal(lc_http_post_json(c, url_of(&srv, "/c3"), "{}", &r), LC_ERR_STATE);
    print_message("cancel during a 60 s response returned after %llu ms\n",
                  (unsigned long long)(lc_mono_ms() - t0));
    pthread_join(th, NULL);
    assert_int_equal(r.outcome, LC_HTTP_E_CANCELLED);
    assert_true(r.maybe_applied);
    assert_int_equal(log_count(&srv), 1);
    lc_http_response_free(&r);
    lc_http_client_free(c);
    lc_cancel_free(f);
}

/* ---------------------------------------------------------------------- */
/* connections */

static void test_keepalive_one_connection(void **s)
{
    (void)s;
    faults(&srv, "[{\"status\":500},{\"status\":429,\"headers\":{\"Retry-After\":\"0\"}}]");
    lc_http_client *c = client();
    lc_http_response r = {0};
    for (int i = 0; i < 5; i++)
        assert_int_equal(lc_http_get(c, url_of(&srv, "/k"), &r), LC_OK);
    assert_int_equal(lc_http_post_json(c, url_of(&srv, "/k"), "{\"x\":1}", &r), LC_OK);
    lc_http_request q = {.method = LC_HTTP_PUT, .url = url_of(&srv, "/k"), .body = "abc", .body_len = 3};
    assert_int_equal(lc_http_send(c, &q, &r), LC_OK);
    cJSON *log = proxy_log(&srv);
    cJSON *a = log_requests(log);
    assert_int_equal(cJSON_GetArraySize(a), 9); /* 5 + 2 retries + POST + PUT */
    double conn = entry_num(cJSON_GetArrayItem(a, 0), "conn");
    for (int i = 1; i < 9; i++)
        assert_true(entry_num(cJSON_GetArrayItem(a, i), "conn") == conn);
    cJSON_Delete(log);
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

static void test_lost_response(void **s)
{
    (void)s;
    static proxy_proc up, front;
    assert_int_equal(proxy_start(&up, NULL), 0);
    const char *args[] = {"--upstream", up.url, NULL};
    assert_int_equal(proxy_start(&front, args), 0);
    faults(&front, "[{\"lose_response\":true}]");
    lc_http_client *c = client();
    lc_http_response r = {0};
    /* retried: the upstream applied it twice (a caller makes such requests
       idempotent, e.g. byte-identical log-batch bodies) */
    assert_int_equal(lc_http_post_json(c, url_of(&front, "/api/2.0/mlflow/runs/log-batch"), "{\"n\":1}", &r),
                     LC_OK);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(log_count(&up), 2);
    /* a create is not retried blindly: the caller learns it may have been applied */
    reset(&up);
    faults(&front, "[{\"lose_response\":true}]");
    lc_http_request q = {.method = LC_HTTP_POST, .url = url_of(&front, "/api/2.0/mlflow/runs/create"),
                         .body = "{}", .body_len = 2, .retry = LC_HTTP_RETRY_UNSENT};
    assert_int_equal(lc_http_send(c, &q, &r), LC_ERR_IO);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.outcome, LC_HTTP_E_NETWORK);
    assert_true(r.maybe_applied);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.error, "POST http://127.0.0.1:"));
    assert_int_equal(log_count(&up), 1);
    lc_http_response_free(&r);
    lc_http_client_free(c);
    proxy_stop(&front);
    proxy_stop(&up);
}

static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

static void test_connection_refused(void **s)
{
    (void)s;
    int port = closed_port();
    assert_true(port > 0);
    char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/api/2.0/mlflow/runs/create", port);
    lc_http_config cfg = {.retry = {.max_attempts = 3}};
    lc_http_client *c = client_with(cfg);
    lc_http_response r = {0};
    lc_http_request q = {.method = LC_HTTP_POST, .url = u, .body = "{}", .body_len = 2,
                         .retry = LC_HTTP_RETRY_UNSENT}; /* never sent: safe to retry */
    assert_int_equal(lc_http_send(c, &q, &r), LC_ERR_IO);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(r.outcome, LC_HTTP_E_NETWORK);
    assert_false(r.maybe_applied);
    assert_non_null(strstr(r.error, "Couldn't connect"));
    assert_non_null(strstr(r.error, u));
    assert_non_null(strstr(r.error, "3 attempts"));
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

static void test_proxy_from_environment(void **s)
{
    (void)s;
    lc_http_config cfg = {.retry = {.max_attempts = 1}};
    lc_http_client *c = client_with(cfg);
    lc_http_response r = {0};
    setenv("http_proxy", srv.url, 1);
    lc_status st = lc_http_get(c, "http://lightc-proxy-test.invalid/via/proxy?q=1", &r);
    /* no_proxy exempts the host: it is then resolved directly, and fails */
    setenv("no_proxy", "lightc-proxy-test.invalid", 1);
    lc_status st2 = lc_http_get(c, "http://lightc-proxy-test.invalid/direct", &r);
    unsetenv("http_proxy");
    unsetenv("no_proxy");
    assert_int_equal(st, LC_OK);
    assert_int_equal(st2, LC_ERR_IO);
    cJSON *log = proxy_log(&srv);
    cJSON *a = log_requests(log);
    assert_int_equal(cJSON_GetArraySize(a), 1);
    assert_string_equal(entry_str(cJSON_GetArrayItem(a, 0), "path"),
                        "http://lightc-proxy-test.invalid/via/proxy?q=1");
    cJSON_Delete(log);
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

/* ---------------------------------------------------------------------- */
/* TLS */

static int run_cmd(const char *cmd)
{
    int rc = system(cmd);
    return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_tls(void **s)
{
    (void)s;
    if (run_cmd("openssl version >/dev/null 2>&1") != 0)
        skip();
    char cert[1024], key[1024], ccert[1024], ckey[1024], cmd[8192];
    assert_true(strlen(tmp) < 900);
    snprintf(cert, sizeof cert, "%s/server.pem", tmp);
    snprintf(key, sizeof key, "%s/server.key", tmp);
    snprintf(ccert, sizeof ccert, "%s/client.pem", tmp);
    snprintf(ckey, sizeof ckey, "%s/client.key", tmp);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' >/dev/null 2>&1 && "
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=lightc-client "
             "-keyout '%s' -out '%s' >/dev/null 2>&1",
             key, cert, ckey, ccert);
    assert_int_equal(run_cmd(cmd), 0);
    static proxy_proc tls;
    const char *args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    assert_int_equal(proxy_start(&tls, args), 0);
    char u[128];
    snprintf(u, sizeof u, "https://127.0.0.1:%d/tls", tls.port);
    lc_http_response r = {0};

    /* verification on by default: a self-signed server is refused, once */
    lc_http_client *c = client();
    assert_int_equal(lc_http_get(c, u, &r), LC_ERR_IO);
    assert_int_equal(r.outcome, LC_HTTP_E_TLS);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(r.error, "CA bundle"));
    lc_http_client_free(c);
    /* with the CA bundle that signed it */
    lc_http_config cfg = {.ca_path = cert};
    c = client_with(cfg);
    assert_int_equal(lc_http_get(c, u, &r), LC_OK);
    assert_non_null(strstr(r.body, "\"GET\""));
    lc_http_client_free(c);
    /* the explicit insecure switch */
    cfg = (lc_http_config){.insecure = true};
    c = client_with(cfg);
    assert_int_equal(lc_http_get(c, u, &r), LC_OK);
    lc_http_client_free(c);
    proxy_stop(&tls);

    /* a server that wants a client certificate */
    const char *args2[] = {"--tls-cert", cert, "--tls-key", key, "--tls-client-ca", ccert, NULL};
    assert_int_equal(proxy_start(&tls, args2), 0);
    snprintf(u, sizeof u, "https://127.0.0.1:%d/mtls", tls.port);
    cfg = (lc_http_config){.ca_path = cert, .retry = {.max_attempts = 2}};
    c = client_with(cfg);
    assert_int_not_equal(lc_http_get(c, u, &r), LC_OK);
    lc_http_client_free(c);
    cfg = (lc_http_config){.ca_path = cert, .client_cert_path = ccert, .client_key_path = ckey};
    c = client_with(cfg);
    assert_int_equal(lc_http_get(c, u, &r), LC_OK);
    lc_http_client_free(c);
    proxy_stop(&tls);
    lc_http_response_free(&r);
}

/* ---------------------------------------------------------------------- */
/* URLs and secrets */

static void test_url_building(void **s)
{
    (void)s;
    const char *qs[] = {"experiment_name", "a b&c/\xc3\xa9", "max_results", "10", "skip", NULL, NULL};
    char *u = lc_http_url("http://h:1/base/", "/api/2.0/mlflow/experiments/get-by-name", qs);
    assert_string_equal(u, "http://h:1/base/api/2.0/mlflow/experiments/get-by-name"
                           "?experiment_name=a%20b%26c%2F%C3%A9&max_results=10");
    free(u);
    u = lc_http_url("http://h", NULL, NULL);
    assert_string_equal(u, "http://h");
    free(u);
    const char *q2[] = {"b", "2", NULL};
    u = lc_http_url("http://h/x?a=1", "", q2);
    assert_string_equal(u, "http://h/x?a=1&b=2");
    free(u);
    char *p = lc_http_escape_path("checkpoints/epoch=3/m k.ckpt");
    assert_string_equal(p, "checkpoints/epoch%3D3/m%20k.ckpt");
    free(p);
    p = lc_http_escape("run:1/x");
    assert_string_equal(p, "run%3A1%2Fx");
    free(p);
    /* such a URL reaches the server as built */
    lc_http_client *c = client();
    lc_http_response r = {0};
    const char *q3[] = {"experiment_name", "my exp/1", NULL};
    u = lc_http_url(srv.url, "/api/2.0/mlflow/experiments/get-by-name", q3);
    assert_int_equal(lc_http_get(c, u, &r), LC_OK);
    free(u);
    cJSON *log = proxy_log(&srv);
    assert_string_equal(entry_str(cJSON_GetArrayItem(log_requests(log), 0), "path"),
                        "/api/2.0/mlflow/experiments/get-by-name?experiment_name=my%20exp%2F1");
    cJSON_Delete(log);
    lc_http_response_free(&r);
    lc_http_client_free(c);
}

static void test_url_for_message(void **s)
{
    (void)s;
    char out[512];
    lc_http_url_for_message("https://user:pw@host:5000/p?experiment_name=x&token=abc&"
                            "X-Amz-Signature=zz&metric_key=loss#frag", out, sizeof out);
    assert_string_equal(out, "https://host:5000/p?experiment_name=x&token=***&X-Amz-Signature=***&metric_key=loss");
    lc_http_url_for_message("http://h/a?api_key=k1&wandb_token=t", out, sizeof out);
    assert_string_equal(out, "http://h/a?api_key=***&wandb_token=***");
    lc_http_url_for_message("http://h/a", out, 10);
    assert_string_equal(out, "http://h/");
}

static void test_redact(void **s)
{
    (void)s;
    lc_http_client *c = client();
    assert_int_equal(lc_http_client_set_bearer(c, "tok SECRET/123"), LC_OK);
    assert_int_equal(lc_http_client_add_secret(c, "key-abc"), LC_OK);
    char out[512];
    lc_http_redact(c, "a tok SECRET/123 b tok%20SECRET%2F123 c key-abc", out, sizeof out);
    assert_string_equal(out, "a *** b *** c ***");
    lc_http_redact(c, "see http://u:p@h:1/x and https://only@h/y, ftp://h/z", out, sizeof out);
    assert_string_equal(out, "see http://***@h:1/x and https://***@h/y, ftp://h/z");
    lc_http_redact(NULL, "> Authorization: Bearer zzz\r\n> Proxy-Authorization: Basic qqq\nnext", out,
                   sizeof out);
    assert_string_equal(out, "> Authorization: ***\r\n> Proxy-Authorization: ***\nnext");
    /* a cut never shows a secret */
    lc_http_redact(c, "key-abc", out, 3);
    assert_string_equal(out, "**");
    lc_secrets set = {0};
    assert_int_equal(lc_secrets_add(&set, "ab"), LC_OK);
    assert_int_equal(lc_secrets_add(&set, "abcd"), LC_OK);
    assert_int_equal(lc_secrets_add(&set, ""), LC_OK);
    char *d = lc_secrets_redact_dup(&set, "xabcdx abx");
    assert_string_equal(d, "x***x ***x");
    free(d);
    lc_secrets_free(&set);
    lc_http_client_free(c);
}

/* Does any file under dir contain needle? */
static int tree_contains(const char *dir, const char *needle, char *found, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int hit = 0;
    while (!hit && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            hit = tree_contains(p, needle, found, cap);
        } else if (S_ISREG(st.st_mode)) {
            size_t n = 0;
            char *text = tu_read_file(p, &n);
            if (text && memmem(text, n, needle, strlen(needle))) {
                hit = 1;
                snprintf(found, cap, "%s", p);
            }
            free(text);
        }
    }
    closedir(d);
    return hit;
}

static void test_planted_token_never_leaks(void **s)
{
    (void)s;
    const char *token = "lightc-planted-TOKEN-5f3a9e";
    const char *password = "lightc-planted-PASSWORD-77b1";
    char dir[2048], dbg[4096], msgs[4096];
    assert_true(strlen(tmp) < 2000);
    snprintf(dir, sizeof dir, "%s/leak", tmp);
    mkdir(dir, 0700);
    snprintf(dbg, sizeof dbg, "%s/curl-trace.log", dir);
    snprintf(msgs, sizeof msgs, "%s/messages.log", dir);
    FILE *trace = fopen(dbg, "w");
    FILE *out = fopen(msgs, "w");
    assert_non_null(trace);
    assert_non_null(out);
    lc_http_config cfg = {.debug = trace, .retry = {.max_attempts = 2}};
    lc_http_client *c = client_with(cfg);
    assert_int_equal(lc_http_client_set_bearer(c, token), LC_OK);

    char body[1024];
    snprintf(body, sizeof body,
             "[{\"status\":401,\"body\":{\"error_code\":\"UNAUTHENTICATED\",\"message\":\"token %s is invalid\"}},"
             "{\"status\":500,\"times\":2,\"body\":\"error for Bearer %s\"},"
             "{\"status\":400,\"body\":{\"errors\":[{\"message\":\"bad key %s\"}]}}]",
             token, token, token);
    faults(&srv, body);
    lc_http_response r = {0};
    char u[512];
    for (int i = 0; i < 3; i++) {
        lc_status st = lc_http_post_json(c, url_of(&srv, "/api/2.0/mlflow/runs/create"), "{}", &r);
        assert_int_not_equal(st, LC_OK);
        fprintf(out, "%s\n%s\n", r.error, lc_errmsg());
    }
    /* a secret in the query and credentials in the URL, to a closed port */
    snprintf(u, sizeof u, "http://admin:%s@127.0.0.1:%d/x?token=%s&name=n", password, closed_port(), token);
    assert_int_equal(lc_http_get(c, u, &r), LC_ERR_IO);
    fprintf(out, "%s\n%s\n", r.error, lc_errmsg());
    assert_non_null(strstr(r.error, "?token=***&name=n"));
    /* Basic credentials from the URL reach the server, never the messages */
    lc_http_client *c2 = client_with(cfg);
    faults(&srv, "[{\"status\":403,\"body\":\"no\"}]");
    snprintf(u, sizeof u, "http://admin:%s@127.0.0.1:%d/basic", password, srv.port);
    assert_int_equal(lc_http_get(c2, u, &r), LC_ERR_AUTH);
    fprintf(out, "%s\n%s\n", r.error, lc_errmsg());
    assert_non_null(strstr(r.error, "http://127.0.0.1:"));
    assert_non_null(strstr(r.error, "credentials sent were refused"));
    lc_http_client_free(c2);
    lc_http_client_free(c);
    fclose(trace);
    fclose(out);

    /* the trace was written, with the Authorization line scrubbed */
    size_t n = 0;
    char *t = tu_read_file(dbg, &n);
    assert_non_null(t);
    assert_non_null(strstr(t, "> Authorization: ***"));
    assert_non_null(strstr(t, "< HTTP/1.1 401"));
    free(t);
    /* the server did receive them */
    cJSON *log = proxy_log(&srv);
    char want[128];
    snprintf(want, sizeof want, "Bearer %s", token);
    assert_string_equal(entry_header(cJSON_GetArrayItem(log_requests(log), 0), "authorization"), want);
    cJSON_Delete(log);
    /* ... and no file in the test's directory holds any form of them */
    char *b64 = NULL;
    {
        char pair[128];
        snprintf(pair, sizeof pair, "admin:%s", password);
        b64 = lc_base64_encode(pair, strlen(pair));
    }
    const char *needles[] = {token, password, b64, NULL};
    for (int i = 0; needles[i]; i++) {
        char found[4096] = "";
        if (tree_contains(tmp, needles[i], found, sizeof found))
            fail_msg("secret %d found in %s", i, found);
    }
    free(b64);
    lc_http_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_get_ok, each_setup),
        cmocka_unit_test_setup(test_methods_and_bodies, each_setup),
        cmocka_unit_test_setup(test_invalid_requests, each_setup),
        cmocka_unit_test_setup(test_retry_statuses_identical_body, each_setup),
        cmocka_unit_test_setup(test_retry_connection_errors, each_setup),
        cmocka_unit_test_setup(test_max_attempts, each_setup),
        cmocka_unit_test_setup(test_retry_after_seconds, each_setup),
        cmocka_unit_test_setup(test_retry_after_date, each_setup),
        cmocka_unit_test_setup(test_ratelimit_hints, each_setup),
        cmocka_unit_test_setup(test_deadline, each_setup),
        cmocka_unit_test_setup(test_attempt_timeout, each_setup),
        cmocka_unit_test_setup(test_no_retry_on_400, each_setup),
        cmocka_unit_test_setup(test_error_shapes, each_setup),
        cmocka_unit_test_setup(test_auth_401_and_403, each_setup),
        cmocka_unit_test_setup(test_basic_auth, each_setup),
        cmocka_unit_test_setup(test_streamed_upload, each_setup),
        cmocka_unit_test_setup(test_body_bounded, each_setup),
        cmocka_unit_test(test_cancel_flag),
        cmocka_unit_test_setup(test_cancel_stops_retry_loop, each_setup),
        cmocka_unit_test_setup(test_keepalive_one_connection, each_setup),
        cmocka_unit_test_setup(test_lost_response, each_setup),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test_setup(test_proxy_from_environment, each_setup),
        cmocka_unit_test(test_tls),
        cmocka_unit_test_setup(test_url_building, each_setup),
        cmocka_unit_test(test_url_for_message),
        cmocka_unit_test(test_redact),
        cmocka_unit_test_setup(test_planted_token_never_leaks, each_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
