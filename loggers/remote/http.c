/*
 * loggers/remote/http.c — the HTTP client of the remote backends: one
 * libcurl easy handle kept across requests and driven by a multi handle of
 * its own, whose connection cache gives keep-alive (curl_easy_reset between
 * requests keeps it), options re-applied per attempt, a retry loop with jittered backoff that
 * sleeps on the cancel flag, and messages scrubbed of secrets.
 * See http.h for the contract.
 */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/status.h"
#include "http_error.h"
#include "http_url.h"
#include "lightc/hub.h"
#include "secrets.h"

/* ---------------------------------------------------------------------- */
/* the client */

enum { HTTP_AUTH_NONE, HTTP_AUTH_BASIC, HTTP_AUTH_BEARER };

/* How often a running transfer looks at the cancel flag. */
#define HTTP_CANCEL_POLL_MS 100

struct lc_http_client {
    CURL *h;
    CURLM *multi; /* drives h, so a transfer can watch the cancel flag; its
                     connection cache is the keep-alive */
    long connect_timeout_ms, request_timeout_ms;
    char *ca_path, *cert_path, *key_path, *user_agent;
    bool ca_is_dir, insecure;
    size_t max_body;
    lc_http_retry retry;
    lc_cancel *cancel;
    FILE *debug;
    lc_secrets secrets;
    int auth;
    char *user, *password, *bearer; /* wiped on change and free */
    uint64_t rng;
    uint64_t not_before_ms; /* rate-limit pacing: no request before this */
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc = CURLE_OK;

static void http_global_init(void)
{
    http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void http_wipe_free(char **p)
{
    if (*p) {
        explicit_bzero(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

static char *http_strdup_opt(const char *s, bool *oom)
{
    if (!s || !*s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static lc_status http_check_file(const char *what, const char *path, bool dir_ok, bool *is_dir)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return lc_fail(LC_ERR_INVALID, "http: %s '%s': %s", what, path, strerror(errno));
    if (S_ISDIR(st.st_mode) && dir_ok) {
        if (is_dir)
            *is_dir = true;
        return LC_OK;
    }
    if (!S_ISREG(st.st_mode) || access(path, R_OK) != 0)
        return lc_fail(LC_ERR_INVALID, "http: %s '%s' is not a readable file", what, path);
    return LC_OK;
}

lc_status lc_http_client_new(const lc_http_config *cfg, lc_http_client **out)
{
    static const lc_http_config zero;
    if (!out)
        return lc_fail(LC_ERR_INVALID, "http: no place for the client");
    *out = NULL;
    if (!cfg)
        cfg = &zero;
    pthread_once(&http_once, http_global_init);
    if (http_global_rc != CURLE_OK)
        return lc_fail(LC_ERR_IO, "http: libcurl could not start: %s", curl_easy_strerror(http_global_rc));
    if (cfg->insecure && cfg->ca_path && *cfg->ca_path)
        return lc_fail(LC_ERR_INVALID, "http: a CA bundle ('%s') and insecure TLS together: "
                       "verification is either on with that bundle or off, choose one", cfg->ca_path);
    if (cfg->connect_timeout_ms < 0)
        return lc_fail(LC_ERR_INVALID, "http: the connect timeout must be positive");
    if (cfg->retry.max_attempts < 0)
        return lc_fail(LC_ERR_INVALID, "http: max_attempts must be >= 1");
    bool ca_is_dir = false;
    lc_status st;
    if (cfg->ca_path && *cfg->ca_path &&
        (st = http_check_file("CA bundle", cfg->ca_path, true, &ca_is_dir)) != LC_OK)
        return st;
    if (cfg->client_cert_path && *cfg->client_cert_path &&
        (st = http_check_file("client certificate", cfg->client_cert_path, false, NULL)) != LC_OK)
        return st;
    if (cfg->client_key_path && *cfg->client_key_path &&
        (st = http_check_file("client key", cfg->client_key_path, false, NULL)) != LC_OK)
        return st;

    lc_http_client *c = calloc(1, sizeof *c);
    if (!c)
        return lc_fail(LC_ERR_NOMEM, "http: out of memory");
    lc_secrets_init(&c->secrets);
    bool oom = false;
    c->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : LC_HTTP_CONNECT_TIMEOUT_MS;
    c->request_timeout_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms : LC_HTTP_REQUEST_TIMEOUT_MS;
    c->ca_path = http_strdup_opt(cfg->ca_path, &oom);
    c->ca_is_dir = ca_is_dir;
    c->cert_path = http_strdup_opt(cfg->client_cert_path, &oom);
    c->key_path = http_strdup_opt(cfg->client_key_path, &oom);
    c->user_agent = http_strdup_opt(cfg->user_agent ? cfg->user_agent : "lightc/" LC_VERSION_STRING, &oom);
    c->insecure = cfg->insecure;
    c->max_body = cfg->max_body ? cfg->max_body : LC_HTTP_MAX_BODY;
    c->retry = cfg->retry;
    if (c->retry.max_attempts == 0)
        c->retry.max_attempts = LC_HTTP_MAX_ATTEMPTS;
    if (c->retry.base_ms == 0)
        c->retry.base_ms = LC_HTTP_BACKOFF_BASE_MS;
    if (c->retry.cap_ms == 0)
        c->retry.cap_ms = LC_HTTP_BACKOFF_CAP_MS;
    if (c->retry.retry_after_max_ms == 0)
        c->retry.retry_after_max_ms = LC_HTTP_RETRY_AFTER_MAX_MS;
    c->cancel = cfg->cancel;
    c->debug = cfg->debug;
    if (!c->debug) {
        const char *d = getenv("LIGHTC_HTTP_DEBUG");
        if (d && strcmp(d, "1") == 0)
            c->debug = stderr;
    }
    c->rng = lc_mono_ms() ^ ((uint64_t)(uintptr_t)c << 16) ^ ((uint64_t)getpid() << 40) ^
             0x9E3779B97F4A7C15ull;
    c->h = curl_easy_init();
    c->multi = curl_multi_init();
    if (oom || !c->h || !c->multi) {
        lc_http_client_free(c);
        return lc_fail(LC_ERR_NOMEM, "http: out of memory");
    }
    *out = c;
    return LC_OK;
}

void lc_http_client_free(lc_http_client *c)
{
    if (!c)
        return;
    if (c->multi)
        curl_multi_cleanup(c->multi); /* closes the kept connection */
    if (c->h)
        curl_easy_cleanup(c->h);
    free(c->ca_path);
    free(c->cert_path);
    free(c->key_path);
    free(c->user_agent);
    http_wipe_free(&c->user);
    http_wipe_free(&c->password);
    http_wipe_free(&c->bearer);
    lc_secrets_free(&c->secrets);
    explicit_bzero(c, sizeof *c);
    free(c);
}

lc_http_retry lc_http_client_retry(const lc_http_client *c)
{
    return c->retry;
}

/* ---------------------------------------------------------------------- */
/* auth and secrets */

static void http_clear_auth(lc_http_client *c)
{
    http_wipe_free(&c->user);
    http_wipe_free(&c->password);
    http_wipe_free(&c->bearer);
    c->auth = HTTP_AUTH_NONE;
}

lc_status lc_http_client_set_basic(lc_http_client *c, const char *user, const char *password)
{
    http_clear_auth(c);
    if (!user || !*user)
        return LC_OK;
    if (!password)
        password = "";
    c->user = strdup(user);
    c->password = strdup(password);
    size_t n = strlen(user) + 1 + strlen(password);
    char *pair = malloc(n + 1);
    char *b64 = NULL;
    if (pair) {
        snprintf(pair, n + 1, "%s:%s", user, password);
        b64 = lc_base64_encode(pair, n);
        http_wipe_free(&pair);
    }
    if (!c->user || !c->password || !b64 || lc_secrets_add(&c->secrets, password) != LC_OK ||
        lc_secrets_add(&c->secrets, b64) != LC_OK) {
        http_wipe_free(&b64);
        http_clear_auth(c);
        return lc_fail(LC_ERR_NOMEM, "http: out of memory");
    }
    http_wipe_free(&b64);
    c->auth = HTTP_AUTH_BASIC;
    return LC_OK;
}

lc_status lc_http_client_set_bearer(lc_http_client *c, const char *token)
{
    http_clear_auth(c);
    if (!token || !*token)
        return LC_OK;
    c->bearer = strdup(token);
    if (!c->bearer || lc_secrets_add(&c->secrets, token) != LC_OK) {
        http_clear_auth(c);
        return lc_fail(LC_ERR_NOMEM, "http: out of memory");
    }
    c->auth = HTTP_AUTH_BEARER;
    return LC_OK;
}

lc_status lc_http_client_add_secret(lc_http_client *c, const char *secret)
{
    if (lc_secrets_add(&c->secrets, secret) != LC_OK)
        return lc_fail(LC_ERR_NOMEM, "http: out of memory");
    return LC_OK;
}

bool lc_http_client_has_auth(const lc_http_client *c)
{
    return c && c->auth != HTTP_AUTH_NONE;
}

char *lc_http_redact(const lc_http_client *c, const char *text, char *out, size_t cap)
{
    return lc_secrets_redact(c ? &c->secrets : NULL, text, out, cap);
}

/* The password of a URL's user information is a secret too (libcurl sends
 * it as Basic auth when no other auth is set). *has_user tells whether the
 * URL carries credentials. */
static lc_status http_note_url_secret(lc_http_client *c, const char *url, bool *has_user)
{
    *has_user = false;
    CURLU *u = curl_url();
    if (!u)
        return LC_ERR_NOMEM;
    lc_status st = LC_OK;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        char *user = NULL, *pw = NULL;
        if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK && user) {
            *has_user = *user != 0;
            curl_free(user);
        }
        if (curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK && pw) {
            st = lc_secrets_add(&c->secrets, pw);
            char *dec = NULL;
            if (st == LC_OK && curl_url_get(u, CURLUPART_PASSWORD, &dec, CURLU_URLDECODE) == CURLUE_OK &&
                dec) {
                st = lc_secrets_add(&c->secrets, dec);
                explicit_bzero(dec, strlen(dec));
                curl_free(dec);
            }
            explicit_bzero(pw, strlen(pw));
            curl_free(pw);
        }
    }
    curl_url_cleanup(u);
    return st;
}

/* ---------------------------------------------------------------------- */
/* one transfer: callbacks */

typedef struct {
    lc_http_client *c;
    lc_http_response *resp;
    size_t body_cap;
    FILE *file;
    curl_off_t file_size, file_pos;
    bool file_short; /* the file ended before its size: it changed */
    bool oom;
} http_xfer;

static size_t http_on_body(char *data, size_t size, size_t n, void *ud)
{
    http_xfer *x = ud;
    lc_http_response *r = x->resp;
    size_t len = size * n;
    size_t max = x->c->max_body;
    size_t take = r->body_len < max ? max - r->body_len : 0;
    if (take > len)
        take = len;
    if (take) {
        if (r->body_len + take + 1 > x->body_cap) {
            size_t cap = x->body_cap ? x->body_cap : 4096;
            while (cap < r->body_len + take + 1)
                cap *= 2;
            if (cap > max + 1)
                cap = max + 1;
            char *b = realloc(r->body, cap);
            if (!b) {
                x->oom = true;
                return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
            }
            r->body = b;
            x->body_cap = cap;
        }
        memcpy(r->body + r->body_len, data, take);
        r->body_len += take;
        r->body[r->body_len] = 0;
    }
    if (take < len)
        r->body_truncated = true;
    return len;
}

static size_t http_on_read(char *buf, size_t size, size_t n, void *ud)
{
    http_xfer *x = ud;
    curl_off_t left = x->file_size - x->file_pos;
    size_t want = size * n;
    if ((curl_off_t)want > left)
        want = (size_t)left;
    if (want == 0)
        return 0;
    size_t got = fread(buf, 1, want, x->file);
    if (got == 0) {
        x->file_short = true;
        return CURL_READFUNC_ABORT;
    }
    x->file_pos += (curl_off_t)got;
    return got;
}

static int http_on_seek(void *ud, curl_off_t offset, int origin)
{
    http_xfer *x = ud;
    if (origin != SEEK_SET || offset < 0 || offset > x->file_size)
        return CURL_SEEKFUNC_CANTSEEK;
    if (fseeko(x->file, (off_t)offset, SEEK_SET) != 0)
        return CURL_SEEKFUNC_FAIL;
    x->file_pos = offset;
    return CURL_SEEKFUNC_OK;
}

static int http_on_progress(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
    (void)dlt; (void)dln; (void)ult; (void)uln;
    http_xfer *x = ud;
    return lc_cancel_is_set(x->c->cancel) ? 1 : 0;
}

/* libcurl's trace, scrubbed line by line; bodies are shown as sizes only. */
static int http_on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    (void)h;
    lc_http_client *c = ud;
    const char *prefix;
    switch (type) {
    case CURLINFO_TEXT: prefix = "* "; break;
    case CURLINFO_HEADER_IN: prefix = "< "; break;
    case CURLINFO_HEADER_OUT: prefix = "> "; break;
    case CURLINFO_DATA_IN:
        fprintf(c->debug, "lightc http: < [%zu bytes of body]\n", size);
        return 0;
    case CURLINFO_DATA_OUT:
        fprintf(c->debug, "lightc http: > [%zu bytes of body]\n", size);
        return 0;
    default:
        return 0;
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *clean = lc_secrets_redact_dup(&c->secrets, text);
    explicit_bzero(text, size);
    free(text);
    if (!clean)
        return 0;
    char *save = NULL;
    for (char *line = strtok_r(clean, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save))
        fprintf(c->debug, "lightc http: %s%s\n", prefix, line);
    fflush(c->debug);
    free(clean);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* one transfer: options */

static const char *http_method_name(lc_http_method m)
{
    switch (m) {
    case LC_HTTP_GET: return "GET";
    case LC_HTTP_POST: return "POST";
    case LC_HTTP_PUT: return "PUT";
    case LC_HTTP_PATCH: return "PATCH";
    case LC_HTTP_DELETE: return "DELETE";
    }
    return "GET";
}

static bool http_has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; headers && headers[i]; i++)
        if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
            return true;
    return false;
}

/* The header list of a request: the caller's, a Content-Type when a body
 * goes and none was given, and "Expect:" (no 100-continue round trip). */
static struct curl_slist *http_headers(const lc_http_request *q, bool has_body)
{
    struct curl_slist *list = NULL, *t;
    for (size_t i = 0; q->headers && q->headers[i]; i++) {
        if (!(t = curl_slist_append(list, q->headers[i])))
            goto oom;
        list = t;
    }
    if (has_body && !http_has_header(q->headers, "Content-Type")) {
        char line[256];
        const char *ct = q->content_type ? q->content_type
                         : q->body_file   ? "application/octet-stream"
                                          : "application/json";
        snprintf(line, sizeof line, "Content-Type: %s", ct);
        if (!(t = curl_slist_append(list, line)))
            goto oom;
        list = t;
    }
    if (!http_has_header(q->headers, "Expect")) {
        if (!(t = curl_slist_append(list, "Expect:")))
            goto oom;
        list = t;
    }
    if (!list)
        list = curl_slist_append(NULL, "Expect:");
    return list;
oom:
    curl_slist_free_all(list);
    return NULL;
}

/* Every option of one attempt, on a freshly reset handle. attempt_ms is the
 * attempt's total time limit (0: none). Returns a CURLcode. */
static CURLcode http_setup(lc_http_client *c, const lc_http_request *q, struct curl_slist *hdrs,
                           http_xfer *x, long attempt_ms)
{
    CURL *h = c->h;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                       \
    do {                                                    \
        if ((rc = curl_easy_setopt(h, opt, val)) != CURLE_OK) \
            return rc;                                      \
    } while (0)
    curl_easy_reset(h);
    c->errbuf[0] = 0;
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
    SET(CURLOPT_URL, q->url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, 5L);
    SET(CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_ACCEPT_ENCODING, ""); /* every encoding this libcurl decodes */
    SET(CURLOPT_USERAGENT, c->user_agent);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    /* libcurl silently sends a request again when a reused connection
       closes without answering (a stale keep-alive); for a request that
       must not go twice that is a lost response re-sent, so it gets a
       connection of its own */
    if (q->retry != LC_HTTP_RETRY_ALL)
        SET(CURLOPT_FRESH_CONNECT, 1L);
    if (attempt_ms > 0)
        SET(CURLOPT_TIMEOUT_MS, attempt_ms);
    if (q->body_file) {
        /* a streamed body: cut when nothing moves for the request timeout */
        long stall = q->timeout_ms > 0 ? q->timeout_ms : c->request_timeout_ms;
        if (q->timeout_ms >= 0 && stall > 0) {
            SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
            SET(CURLOPT_LOW_SPEED_TIME, stall < 1000 ? 1L : stall / 1000);
        }
    }
    /* TLS */
    SET(CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
    if (c->ca_path)
        SET(c->ca_is_dir ? CURLOPT_CAPATH : CURLOPT_CAINFO, c->ca_path);
    if (c->cert_path) {
        SET(CURLOPT_SSLCERT, c->cert_path);
        SET(CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (c->key_path)
        SET(CURLOPT_SSLKEY, c->key_path);
    /* auth: libcurl builds the header, and drops it on a redirect to
       another host */
    if (c->auth == HTTP_AUTH_BASIC) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SET(CURLOPT_USERNAME, c->user);
        SET(CURLOPT_PASSWORD, c->password);
    } else if (c->auth == HTTP_AUTH_BEARER) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        SET(CURLOPT_XOAUTH2_BEARER, c->bearer);
    }
    /* The proxy comes from the environment (http_proxy, https_proxy,
       all_proxy, no_proxy): libcurl reads it when CURLOPT_PROXY is unset,
       and nothing here sets it. */
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_WRITEFUNCTION, http_on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_XFERINFOFUNCTION, http_on_progress);
    SET(CURLOPT_XFERINFODATA, x);
    SET(CURLOPT_NOPROGRESS, 0L);
    if (c->debug) {
        SET(CURLOPT_DEBUGFUNCTION, http_on_debug);
        SET(CURLOPT_DEBUGDATA, c);
        SET(CURLOPT_VERBOSE, 1L);
    }
    /* method and body */
    const char *name = http_method_name(q->method);
    if (q->body_file) {
        SET(CURLOPT_READFUNCTION, http_on_read);
        SET(CURLOPT_READDATA, x);
        SET(CURLOPT_SEEKFUNCTION, http_on_seek);
        SET(CURLOPT_SEEKDATA, x);
        if (q->method == LC_HTTP_POST) {
            SET(CURLOPT_POST, 1L);
            SET(CURLOPT_POSTFIELDSIZE_LARGE, x->file_size);
        } else {
            SET(CURLOPT_UPLOAD, 1L);
            SET(CURLOPT_INFILESIZE_LARGE, x->file_size);
            if (q->method != LC_HTTP_PUT)
                SET(CURLOPT_CUSTOMREQUEST, name);
        }
    } else if (q->method == LC_HTTP_GET) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (q->method == LC_HTTP_DELETE && !q->body) {
        SET(CURLOPT_CUSTOMREQUEST, name);
    } else {
        /* the caller's memory, sent as is on every attempt (not copied) */
        SET(CURLOPT_POSTFIELDS, q->body ? (const char *)q->body : "");
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(q->body ? q->body_len : 0));
        if (q->method != LC_HTTP_POST)
            SET(CURLOPT_CUSTOMREQUEST, name);
    }
#undef SET
    return CURLE_OK;
}

/* ---------------------------------------------------------------------- */
/* one transfer: what came back */

static const char *http_header(CURL *h, const char *name)
{
    struct curl_header *hd = NULL;
    if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK || !hd || !hd->value)
        return NULL;
    return hd->value;
}

/* Seconds in a Retry-After value: delta-seconds or an HTTP-date. */
static double http_parse_retry_after(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    char *end = NULL;
    errno = 0;
    double s = strtod(v, &end);
    if (end != v && errno == 0) {
        while (*end == ' ' || *end == '\t')
            end++;
        if (*end == 0)
            return s < 0 ? 0 : s;
    }
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    double d = difftime(t, time(NULL));
    return d < 0 ? 0 : d;
}

/* A reset hint: seconds from now, or a Unix time (GitHub-style
 * X-RateLimit-Reset) when it is that large. */
static double http_parse_reset(const char *v)
{
    char *end = NULL;
    double s = strtod(v, &end);
    if (end == v || s < 0)
        return -1;
    if (s > 1e9) {
        s -= (double)time(NULL);
        if (s < 0)
            s = 0;
    }
    return s;
}

/* The structured "RateLimit:" field: "limit=10, remaining=0, reset=5" or
 * the later '"name";r=0;t=5'. */
static void http_parse_ratelimit_field(const char *v, long *remaining, double *reset)
{
    for (const char *p = v; *p; p++) {
        bool start = p == v || p[-1] == ' ' || p[-1] == ',' || p[-1] == ';';
        if (!start)
            continue;
        if (strncasecmp(p, "remaining=", 10) == 0)
            *remaining = strtol(p + 10, NULL, 10);
        else if (strncmp(p, "r=", 2) == 0)
            *remaining = strtol(p + 2, NULL, 10);
        else if (strncasecmp(p, "reset=", 6) == 0)
            *reset = http_parse_reset(p + 6);
        else if (strncmp(p, "t=", 2) == 0)
            *reset = http_parse_reset(p + 2);
    }
}

static void http_collect(lc_http_client *c, lc_http_response *r)
{
    long status = 0;
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    r->status = status;
    char *ct = NULL;
    r->content_type[0] = 0;
    if (curl_easy_getinfo(c->h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        snprintf(r->content_type, sizeof r->content_type, "%s", ct);
    r->retry_after_s = -1;
    r->ratelimit_remaining = -1;
    r->ratelimit_reset_s = -1;
    if (status == 0)
        return;
    const char *v;
    if ((v = http_header(c->h, "Retry-After")))
        r->retry_after_s = http_parse_retry_after(v);
    if ((v = http_header(c->h, "RateLimit")))
        http_parse_ratelimit_field(v, &r->ratelimit_remaining, &r->ratelimit_reset_s);
    if ((v = http_header(c->h, "RateLimit-Remaining")) || (v = http_header(c->h, "X-RateLimit-Remaining")))
        r->ratelimit_remaining = strtol(v, NULL, 10);
    if ((v = http_header(c->h, "RateLimit-Reset")) || (v = http_header(c->h, "X-RateLimit-Reset")))
        r->ratelimit_reset_s = http_parse_reset(v);
}

/* ---------------------------------------------------------------------- */
/* retry policy */

static bool http_status_retryable(long s)
{
    return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static bool http_curl_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

static bool http_curl_tls(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return true;
    default:
        return false;
    }
}

static uint64_t http_rand(lc_http_client *c)
{
    /* xorshift64*: backoff jitter needs spread, not secrecy */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 0x2545F4914F6CDD1Dull;
}

/* Full jitter: random in [0, min(cap, base * 2^n)]. */
static uint64_t http_backoff_ms(lc_http_client *c, int n)
{
    uint64_t win = c->retry.base_ms;
    for (int i = 0; i < n && win < c->retry.cap_ms; i++)
        win *= 2;
    if (win > c->retry.cap_ms)
        win = c->retry.cap_ms;
    return http_rand(c) % (win + 1);
}

/* The server's own wait hint in ms (Retry-After, else on 429/503 a
 * RateLimit reset), capped; -1 when none. */
static int64_t http_hint_ms(const lc_http_client *c, const lc_http_response *r)
{
    double s = -1;
    if (r->retry_after_s >= 0)
        s = r->retry_after_s;
    else if ((r->status == 429 || r->status == 503) && r->ratelimit_reset_s >= 0 &&
             r->ratelimit_remaining <= 0)
        s = r->ratelimit_reset_s;
    if (s < 0)
        return -1;
    double ms = s * 1000.0;
    if (ms > c->retry.retry_after_max_ms)
        ms = c->retry.retry_after_max_ms;
    return (int64_t)ms;
}

/* ---------------------------------------------------------------------- */
/* the request */

void lc_http_response_free(lc_http_response *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

static void http_resp_reset(lc_http_response *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
    r->retry_after_s = -1;
    r->ratelimit_remaining = -1;
    r->ratelimit_reset_s = -1;
}

/* Finish a failed request: message scrubbed into resp->error and
 * lc_errmsg(); returns st. */
static lc_status http_fail(lc_http_client *c, lc_http_response *r, lc_http_outcome outcome,
                           lc_status st, const char *text)
{
    r->outcome = outcome;
    lc_http_redact(c, text, r->error, sizeof r->error);
    return lc_fail(st, "%s", r->error);
}

static lc_status http_local_fail(lc_http_client *c, lc_http_response *r, lc_status st,
                                 const char *method, const char *url_msg, const char *what)
{
    char text[2048];
    snprintf(text, sizeof text, "%s %s: %s", method, url_msg, what);
    return http_fail(c, r, LC_HTTP_E_LOCAL, st, text);
}

typedef struct {
    const char *method;
    char url[512];
    uint64_t start_ms;
    bool url_auth; /* the URL carries user:password */
    char last[256]; /* why the last attempt failed ("" before any): a
                       cancelled call still says what it was retrying */
} http_ctx;

/* " (3 attempts, 12.4 s)" when there was more than one attempt. */
static void http_attempts_note(const http_ctx *k, const lc_http_response *r, char *out, size_t cap)
{
    out[0] = 0;
    if (r->attempts > 1)
        snprintf(out, cap, " (%d attempts, %.1f s)", r->attempts,
                 (double)(lc_mono_ms() - k->start_ms) / 1000.0);
}

static lc_status http_status_fail(lc_http_client *c, const http_ctx *k, lc_http_response *r,
                                  const char *why)
{
    char server[600], note[64], text[1536];
    lc_http_server_message(r->body, r->body_len, server, sizeof server);
    http_attempts_note(k, r, note, sizeof note);
    const char *reason = lc_http_reason(r->status);
    const char *auth = "";
    if (r->status == 401 || r->status == 403)
        auth = c->auth != HTTP_AUTH_NONE || k->url_auth ? " (the credentials sent were refused)"
                                         : " (no credentials were sent)";
    snprintf(text, sizeof text, "%s %s: HTTP %ld%s%s%s%s%s%s%s", k->method, k->url, r->status,
             *reason ? " " : "", reason, *server ? ": " : "", server, auth, note, why ? why : "");
    if (why) /* the deadline, not the server, ended it */
        return http_fail(c, r, LC_HTTP_E_TIMEOUT, LC_ERR_TIMEOUT, text);
    return http_fail(c, r, LC_HTTP_E_STATUS, lc_http_status_code(r->status), text);
}

static lc_status http_curl_fail(lc_http_client *c, const http_ctx *k, lc_http_response *r,
                                CURLcode rc, const char *why)
{
    char note[64], text[1536];
    http_attempts_note(k, r, note, sizeof note);
    const char *what = curl_easy_strerror(rc);
    lc_http_outcome outcome = LC_HTTP_E_NETWORK;
    lc_status st = LC_ERR_IO;
    const char *hint = "";
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        outcome = LC_HTTP_E_TIMEOUT;
        st = LC_ERR_TIMEOUT;
    } else if (http_curl_tls(rc)) {
        outcome = LC_HTTP_E_TLS;
        hint = c->insecure ? "" : " (check the server's certificate, or give the CA bundle that signed it)";
    }
    /* libcurl's error buffer says it best ("Failed to connect to host port
       5000 after 0 ms: Couldn't connect to server"); its generic text when
       the buffer is empty */
    snprintf(text, sizeof text, "%s %s: %s%s%s%s", k->method, k->url, c->errbuf[0] ? c->errbuf : what,
             hint, note, why ? why : "");
    if (why)
        st = LC_ERR_TIMEOUT, outcome = LC_HTTP_E_TIMEOUT;
    return http_fail(c, r, outcome, st, text);
}

/* Run one transfer on the client's multi handle, looking at the cancel
 * flag every HTTP_CANCEL_POLL_MS (libcurl's own loop would look at it, via
 * the progress callback, only about once a second while a server is
 * silent). A cancelled transfer returns CURLE_ABORTED_BY_CALLBACK. */
static CURLcode http_perform(lc_http_client *c)
{
    if (curl_multi_add_handle(c->multi, c->h) != CURLM_OK)
        return CURLE_FAILED_INIT;
    CURLcode rc = CURLE_OK;
    for (;;) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(c->multi, &running);
        if (mc != CURLM_OK) {
            rc = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
            break;
        }
        bool done = false;
        CURLMsg *msg;
        int left = 0;
        while ((msg = curl_multi_info_read(c->multi, &left)))
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->h) {
                rc = msg->data.result;
                done = true;
            }
        if (done)
            break;
        if (lc_cancel_is_set(c->cancel)) {
            rc = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        mc = curl_multi_poll(c->multi, NULL, 0, HTTP_CANCEL_POLL_MS, NULL);
        if (mc != CURLM_OK) {
            rc = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
            break;
        }
    }
    curl_multi_remove_handle(c->multi, c->h);
    return rc;
}

static lc_status http_cancel_fail(lc_http_client *c, const http_ctx *k, lc_http_response *r)
{
    char text[1400];
    snprintf(text, sizeof text, "%s %s: cancelled (shutting down) after %d attempt%s%s%s", k->method,
             k->url, r->attempts, r->attempts == 1 ? "" : "s", k->last[0] ? LC_HTTP_LAST_FAILURE : "",
             k->last);
    return http_fail(c, r, LC_HTTP_E_CANCELLED, LC_ERR_STATE, text);
}

/* Wait until t (monotonic ms) or the deadline, whichever is first, on the
 * cancel flag. Returns true when cancelled. */
static bool http_wait_until(lc_http_client *c, uint64_t t, uint64_t deadline)
{
    if (deadline && t > deadline)
        t = deadline;
    uint64_t now = lc_mono_ms();
    if (t <= now)
        return lc_cancel_is_set(c->cancel);
    return lc_cancel_sleep_ms(c->cancel, t - now);
}

lc_status lc_http_send(lc_http_client *c, const lc_http_request *q, lc_http_response *r)
{
    if (!r)
        return lc_fail(LC_ERR_INVALID, "http: no response struct");
    http_resp_reset(r);
    if (!c || !q || !q->url || !*q->url) {
        snprintf(r->error, sizeof r->error, "http: no client, request or URL");
        r->outcome = LC_HTTP_E_LOCAL;
        return lc_fail(LC_ERR_INVALID, "%s", r->error);
    }
    http_ctx k = {.method = http_method_name(q->method), .start_ms = lc_mono_ms()};
    if (http_note_url_secret(c, q->url, &k.url_auth) != LC_OK) {
        snprintf(r->error, sizeof r->error, "http: out of memory");
        r->outcome = LC_HTTP_E_LOCAL;
        return lc_fail(LC_ERR_NOMEM, "%s", r->error);
    }
    {
        char raw[sizeof k.url];
        lc_http_url_for_message(q->url, raw, sizeof raw);
        lc_http_redact(c, raw, k.url, sizeof k.url);
    }
    bool has_body = q->body || q->body_file || q->method == LC_HTTP_POST ||
                    q->method == LC_HTTP_PUT || q->method == LC_HTTP_PATCH;
    if (q->method == LC_HTTP_GET && (q->body || q->body_file))
        return http_local_fail(c, r, LC_ERR_INVALID, k.method, k.url, "a GET request cannot carry a body");
    if (q->body && q->body_file)
        return http_local_fail(c, r, LC_ERR_INVALID, k.method, k.url,
                               "a body in memory and a body file: choose one");
    if ((unsigned)q->method > LC_HTTP_DELETE || (unsigned)q->retry > LC_HTTP_RETRY_NONE)
        return http_local_fail(c, r, LC_ERR_INVALID, k.method, k.url, "unknown method or retry mode");

    http_xfer x = {.c = c, .resp = r};
    if (q->body_file) {
        char what[1024];
        x.file = fopen(q->body_file, "rb");
        struct stat st;
        if (!x.file || fstat(fileno(x.file), &st) != 0 || !S_ISREG(st.st_mode)) {
            int e = errno;
            snprintf(what, sizeof what, "body file '%s': %s", q->body_file,
                     x.file ? "not a regular file" : strerror(e));
            if (x.file)
                fclose(x.file);
            return http_local_fail(c, r, x.file || e != ENOENT ? LC_ERR_IO : LC_ERR_NOT_FOUND, k.method,
                                   k.url, what);
        }
        x.file_size = (curl_off_t)st.st_size;
    }
    struct curl_slist *hdrs = http_headers(q, has_body);
    if (!hdrs) {
        if (x.file)
            fclose(x.file);
        return http_local_fail(c, r, LC_ERR_NOMEM, k.method, k.url, "out of memory");
    }

    uint64_t deadline = q->deadline_ms;
    if (c->retry.total_ms && (!deadline || k.start_ms + c->retry.total_ms < deadline))
        deadline = k.start_ms + c->retry.total_ms;
    long timeout = q->timeout_ms ? q->timeout_ms : c->request_timeout_ms;
    int max_attempts = q->retry == LC_HTTP_RETRY_NONE ? 1 : c->retry.max_attempts;
    lc_status st = LC_OK;

    /* rate-limit pacing asked for by an earlier response */
    if (c->not_before_ms && http_wait_until(c, c->not_before_ms, deadline)) {
        st = http_cancel_fail(c, &k, r);
        goto done;
    }
    c->not_before_ms = 0;

    for (;;) {
        if (lc_cancel_is_set(c->cancel)) {
            st = http_cancel_fail(c, &k, r);
            goto done;
        }
        uint64_t now = lc_mono_ms();
        if (deadline && now >= deadline) {
            char text[1024];
            snprintf(text, sizeof text, "%s %s: the deadline passed before %s", k.method, k.url,
                     r->attempts ? "another attempt" : "the first attempt");
            st = http_fail(c, r, LC_HTTP_E_TIMEOUT, LC_ERR_TIMEOUT, text);
            goto done;
        }
        /* this attempt's total time limit */
        long attempt_ms = q->body_file || timeout < 0 ? 0 : timeout;
        if (deadline) {
            uint64_t left = deadline - now;
            if (attempt_ms == 0 || (uint64_t)attempt_ms > left)
                attempt_ms = left > 0 ? (long)left : 1;
        }
        /* a fresh attempt */
        r->attempts++;
        r->body_len = 0;
        r->body_truncated = false;
        if (r->body)
            r->body[0] = 0;
        x.file_pos = 0;
        x.file_short = false;
        if (x.file && fseeko(x.file, 0, SEEK_SET) != 0) {
            st = http_local_fail(c, r, LC_ERR_IO, k.method, k.url, "body file: cannot rewind");
            goto done;
        }
        CURLcode rc = http_setup(c, q, hdrs, &x, attempt_ms);
        if (rc != CURLE_OK) {
            char what[256];
            snprintf(what, sizeof what, "libcurl refused an option: %s", curl_easy_strerror(rc));
            st = http_local_fail(c, r, rc == CURLE_OUT_OF_MEMORY ? LC_ERR_NOMEM : LC_ERR_INVALID, k.method,
                                 k.url, what);
            goto done;
        }
        rc = http_perform(c);
        http_collect(c, r);
        long request_size = 0;
        curl_easy_getinfo(c->h, CURLINFO_REQUEST_SIZE, &request_size);
        bool sent = request_size > 0;

        /* pacing hints ride on any response */
        if (r->ratelimit_remaining == 0 && r->ratelimit_reset_s > 0) {
            double ms = r->ratelimit_reset_s * 1000.0;
            if (ms > c->retry.retry_after_max_ms)
                ms = c->retry.retry_after_max_ms;
            c->not_before_ms = lc_mono_ms() + (uint64_t)ms;
        }

        if (x.oom) {
            st = http_local_fail(c, r, LC_ERR_NOMEM, k.method, k.url, "out of memory for the response");
            goto done;
        }
        if (rc == CURLE_ABORTED_BY_CALLBACK && lc_cancel_is_set(c->cancel)) {
            if (sent)
                r->maybe_applied = true;
            st = http_cancel_fail(c, &k, r);
            goto done;
        }
        if (x.file_short) {
            char what[1024];
            snprintf(what, sizeof what, "body file '%s' changed size during the upload", q->body_file);
            st = http_local_fail(c, r, LC_ERR_IO, k.method, k.url, what);
            goto done;
        }
        if (rc == CURLE_OK && r->status >= 200 && r->status < 300) {
            r->outcome = LC_HTTP_OK;
            r->maybe_applied = false;
            st = LC_OK;
            goto done;
        }

        /* a failure: retry it? */
        bool retryable;
        if (rc == CURLE_OK) {
            retryable = http_status_retryable(r->status);
            if (r->status >= 500 || r->status == 408)
                r->maybe_applied = true;
            if (q->retry == LC_HTTP_RETRY_UNSENT)
                retryable = r->status == 429;
        } else {
            retryable = http_curl_retryable(rc);
            if (sent)
                r->maybe_applied = true;
            if (q->retry == LC_HTTP_RETRY_UNSENT)
                retryable = retryable && !sent;
        }
        if (!retryable || r->attempts >= max_attempts) {
            st = rc == CURLE_OK ? http_status_fail(c, &k, r, NULL) : http_curl_fail(c, &k, r, rc, NULL);
            goto done;
        }
        if (rc == CURLE_OK)
            snprintf(k.last, sizeof k.last, "HTTP %ld %s", r->status, lc_http_reason(r->status));
        else
            snprintf(k.last, sizeof k.last, "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
        uint64_t wait = http_backoff_ms(c, r->attempts - 1);
        int64_t hint = rc == CURLE_OK ? http_hint_ms(c, r) : -1;
        if (hint >= 0 && (uint64_t)hint > wait)
            wait = (uint64_t)hint;
        now = lc_mono_ms();
        if (deadline && now + wait >= deadline) {
            char why[160];
            if (hint >= 0 && (uint64_t)hint >= wait)
                snprintf(why, sizeof why, "; gave up: the server asked to wait %.1f s, past the deadline",
                         (double)hint / 1000.0);
            else
                snprintf(why, sizeof why, "; gave up: the deadline comes before the next attempt");
            st = rc == CURLE_OK ? http_status_fail(c, &k, r, why) : http_curl_fail(c, &k, r, rc, why);
            goto done;
        }
        if (lc_cancel_sleep_ms(c->cancel, wait)) {
            st = http_cancel_fail(c, &k, r);
            goto done;
        }
    }
done:
    curl_slist_free_all(hdrs);
    if (x.file)
        fclose(x.file);
    /* the handle keeps no pointer into this call's memory between calls
       (a reset keeps the live connection) */
    curl_easy_reset(c->h);
    return st;
}

lc_status lc_http_get(lc_http_client *c, const char *url, lc_http_response *resp)
{
    lc_http_request q = {.method = LC_HTTP_GET, .url = url};
    return lc_http_send(c, &q, resp);
}

lc_status lc_http_post_json(lc_http_client *c, const char *url, const char *json, lc_http_response *resp)
{
    lc_http_request q = {.method = LC_HTTP_POST,
                         .url = url,
                         .body = json ? json : "",
                         .body_len = json ? strlen(json) : 0,
                         .content_type = "application/json"};
    return lc_http_send(c, &q, resp);
}
