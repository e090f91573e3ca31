/*
 * loggers/remote/http.h — the HTTP layer every remote backend (MLflow,
 * W&B) ships through: one keep-alive libcurl handle per client, timeouts,
 * TLS, proxies, auth headers, retries with backoff, and error text a user
 * can act on. It knows nothing of MLflow or W&B.
 *
 * A client belongs to one thread (a shipper); only its cancel flag
 * (lc_cancel, cancel.h) is touched from others. Typical use:
 *
 *     lc_http_config cfg = {0};               // zeros mean the defaults
 *     cfg.cancel = shutdown_flag;
 *     lc_http_client *c;
 *     if (lc_http_client_new(&cfg, &c) != LC_OK) ... lc_errmsg() ...
 *     lc_http_client_set_bearer(c, getenv("MLFLOW_TRACKING_TOKEN"));
 *     lc_http_response r = {0};
 *     lc_http_request q = {.method = LC_HTTP_POST, .url = url,
 *                          .body = json, .body_len = strlen(json)};
 *     lc_status st = lc_http_send(c, &q, &r);  // r.status, r.body, r.error
 *     lc_http_response_free(&r);
 *     lc_http_client_free(c);
 *
 * What it guarantees:
 * - Timeouts: connect 10 s and 120 s per attempt by default. A body
 *   streamed from a file has no total per-attempt limit; it is cut when no
 *   byte moves for the request timeout instead (a big checkpoint on a slow
 *   link is not a timeout).
 * - TLS: peer and host verification on unless `insecure`; `ca_path` (a
 *   bundle file or a hashed directory), a client certificate and key.
 * - Proxies: libcurl reads http_proxy, https_proxy (or HTTPS_PROXY),
 *   all_proxy and no_proxy itself; the layer never sets CURLOPT_PROXY or
 *   CURLOPT_NOPROXY, so they are honoured. (libcurl ignores upper-case
 *   HTTP_PROXY, as every CGI-safe client does.)
 * - Retries: 408, 429, 500, 502, 503, 504 and connection failures
 *   (refused, reset, timed out, empty reply, DNS) are retried with
 *   exponential backoff and full jitter (a random wait in [0, min(cap,
 *   base * 2^n)]), at least as long as Retry-After (seconds or HTTP-date)
 *   or, on 429/503 without one, a RateLimit-Reset hint; up to max_attempts
 *   and within the request's deadline; a set cancel flag stops the loop and
 *   a sleep at once, a transfer within 100 ms. Every attempt re-sends the
 *   byte-identical body (the same memory, or the file read again from its
 *   start).
 * - Pacing: a response saying RateLimit-Remaining: 0 (or X-RateLimit-*)
 *   with a reset time makes the client's next request wait for the reset.
 * - Secrets (Basic and Bearer credentials, user:password in URLs, anything
 *   added with lc_http_client_add_secret) stay in memory: every message the
 *   layer produces is scrubbed of them, and libcurl's verbose trace is
 *   only ever written through a scrubbing callback (LIGHTC_HTTP_DEBUG=1 or
 *   cfg.debug), never with the raw Authorization header.
 */
#ifndef LC_REMOTE_HTTP_H
#define LC_REMOTE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lightc/status.h"
#include "cancel.h"

/* ---------------------------------------------------------------------- */
/* configuration */

#define LC_HTTP_CONNECT_TIMEOUT_MS 10000L
#define LC_HTTP_REQUEST_TIMEOUT_MS 120000L
#define LC_HTTP_MAX_BODY ((size_t)4 << 20)
#define LC_HTTP_MAX_ATTEMPTS 8 /* 1 + 7 retries, as MLflow's Python client */
#define LC_HTTP_BACKOFF_BASE_MS 1000u
#define LC_HTTP_BACKOFF_CAP_MS 60000u
#define LC_HTTP_RETRY_AFTER_MAX_MS 600000u

/* Retry policy; zero fields mean the defaults above. */
typedef struct lc_http_retry {
    int max_attempts;           /* attempts in all, >= 1 (1: never retry) */
    uint32_t base_ms;           /* backoff before retry n is random in [0, min(cap, base*2^n)] */
    uint32_t cap_ms;            /* the cap of that window */
    uint64_t total_ms;          /* give up when a request has taken this long (0: no limit) */
    uint32_t retry_after_max_ms; /* a longer Retry-After is cut to this */
} lc_http_retry;

typedef struct lc_http_config {
    long connect_timeout_ms;      /* 0: 10 s */
    long request_timeout_ms;      /* per attempt; 0: 120 s; < 0: none */
    const char *ca_path;          /* CA bundle file or directory; NULL: system store */
    const char *client_cert_path; /* PEM client certificate (may hold the key too) */
    const char *client_key_path;  /* its key when in another file */
    bool insecure;                /* skip TLS verification (refused together with ca_path) */
    const char *user_agent;       /* NULL: "lightc/<version>" */
    size_t max_body;              /* response bytes kept; 0: 4 MiB; the rest is discarded */
    lc_http_retry retry;
    lc_cancel *cancel;            /* borrowed; NULL: requests cannot be cancelled */
    FILE *debug;                  /* scrubbed libcurl trace here; NULL: stderr when
                                     LIGHTC_HTTP_DEBUG=1, else no trace */
} lc_http_config;

typedef struct lc_http_client lc_http_client;

/* A client with its own keep-alive connection. The strings of cfg are
 * copied. Fails with LC_ERR_INVALID (ca_path with insecure, an unreadable
 * CA/certificate/key file, a negative timeout where not allowed) or
 * LC_ERR_NOMEM; the message is in lc_errmsg(). */
lc_status lc_http_client_new(const lc_http_config *cfg, lc_http_client **out);

/* Close the connection, zero the secrets, free. NULL is a no-op. */
void lc_http_client_free(lc_http_client *c);

/* ---------------------------------------------------------------------- */
/* auth and secrets */

/* Send "Authorization: Basic base64(user:password)" on every request
 * (libcurl builds it; it is not sent to another host after a redirect).
 * user and password are registered as secrets, and so is their base64.
 * NULL or "" user clears the auth. LC_OK or LC_ERR_NOMEM. */
lc_status lc_http_client_set_basic(lc_http_client *c, const char *user, const char *password);

/* Send "Authorization: Bearer <token>" on every request (same rules).
 * NULL or "" clears the auth. LC_OK or LC_ERR_NOMEM. */
lc_status lc_http_client_set_bearer(lc_http_client *c, const char *token);

/* Register another secret to scrub from every message (an API key sent in
 * a body, a signed upload URL's signature). LC_OK or LC_ERR_NOMEM. */
lc_status lc_http_client_add_secret(lc_http_client *c, const char *secret);

/* Whether the client sends credentials (set_basic or set_bearer). */
bool lc_http_client_has_auth(const lc_http_client *c);

/* text scrubbed of the client's secrets, of user:password@ in URLs and of
 * Authorization header values, into out (cap bytes; see secrets.h).
 * c may be NULL (only the secret-free rules apply). Returns out. */
char *lc_http_redact(const lc_http_client *c, const char *text, char *out, size_t cap);

/* ---------------------------------------------------------------------- */
/* requests */

typedef enum lc_http_method {
    LC_HTTP_GET = 0,
    LC_HTTP_POST,
    LC_HTTP_PUT,
    LC_HTTP_PATCH,
    LC_HTTP_DELETE
} lc_http_method;

typedef enum lc_http_retry_mode {
    LC_HTTP_RETRY_ALL = 0, /* every retryable failure (idempotent requests) */
    LC_HTTP_RETRY_UNSENT,  /* only failures where the server cannot have acted:
                              the connection was never made (refused, DNS,
                              connect timeout) or a 429 refusal */
    LC_HTTP_RETRY_NONE     /* one attempt (a non-idempotent create the caller
                              checks for before trying again) */
} lc_http_retry_mode;
/* UNSENT and NONE requests go on a fresh connection: on a reused one,
 * libcurl itself re-sends a request once when the connection closes
 * without an answer (meant for stale keep-alives), which would repeat a
 * request whose response was lost. */

typedef struct lc_http_request {
    lc_http_method method;
    const char *url;             /* absolute http(s) URL (lc_http_url builds one) */
    const char *const *headers;  /* NULL or NULL-terminated "Name: value" lines */
    const void *body;            /* request body in memory (POST/PUT/PATCH), or NULL */
    size_t body_len;
    const char *body_file;       /* or: stream this regular file (Content-Length = its
                                    size when the request starts; never loaded whole) */
    const char *content_type;    /* NULL: application/json for a memory body,
                                    application/octet-stream for a file (a
                                    Content-Type line in headers wins too) */
    lc_http_retry_mode retry;
    uint64_t deadline_ms;        /* absolute lc_mono_ms() to give up at; 0: none */
    long timeout_ms;             /* per attempt; 0: the client's; < 0: none */
} lc_http_request;

/* How a request ended, finer than lc_status. */
typedef enum lc_http_outcome {
    LC_HTTP_OK = 0,        /* a 2xx response */
    LC_HTTP_E_STATUS,      /* a non-2xx response (status says which) */
    LC_HTTP_E_NETWORK,     /* no response: refused, reset, empty reply, DNS, ... */
    LC_HTTP_E_TIMEOUT,     /* an attempt timed out, or the deadline/total_ms passed */
    LC_HTTP_E_TLS,         /* certificate or handshake refused (not retried) */
    LC_HTTP_E_CANCELLED,   /* the cancel flag was set; after failed attempts
                              the message ends with LC_HTTP_LAST_FAILURE and
                              why the last one failed */
    LC_HTTP_E_LOCAL        /* bad request arguments, unreadable body file, OOM */
} lc_http_outcome;

/* In a cancelled call's message, before why its last attempt failed. */
#define LC_HTTP_LAST_FAILURE "; the last one: "

#define LC_HTTP_ERROR_LEN 768

typedef struct lc_http_response {
    long status;                /* final HTTP status; 0 when no response came */
    char *body;                 /* NUL-terminated, up to max_body bytes (malloc'd; NULL if none) */
    size_t body_len;            /* bytes kept */
    bool body_truncated;        /* the server sent more than was kept */
    char content_type[128];     /* of the final response, "" if none */
    double retry_after_s;       /* Retry-After of the final response, -1 if absent */
    long ratelimit_remaining;   /* RateLimit-Remaining / X-RateLimit-Remaining, -1 if absent */
    double ratelimit_reset_s;   /* seconds until the limit resets, -1 if absent */
    int attempts;               /* attempts made (0: none was started) */
    bool maybe_applied;         /* failed, but some attempt reached the server and got
                                   no answer or a 5xx/408: it may have been applied */
    lc_http_outcome outcome;
    char error[LC_HTTP_ERROR_LEN]; /* "" on success, else the scrubbed message (as
                                      lc_errmsg()): "POST http://host/path: HTTP 400 Bad
                                      Request: <server message> (1 attempt)" */
} lc_http_response;

/* Send req, retrying as configured, and fill resp (zero it before the first
 * use; a reused resp has its old body freed). Returns:
 *   LC_OK               a 2xx response
 *   LC_ERR_AUTH         401 or 403 (the message says whether credentials were sent)
 *   LC_ERR_NOT_FOUND    404 or 410; also a body_file that does not exist
 *   LC_ERR_EXISTS       409
 *   LC_ERR_INVALID      another 4xx (not retried; the server's message is kept),
 *                       or bad arguments (no URL, a body with GET, both bodies)
 *   LC_ERR_TIMEOUT      attempts timed out, 408 to the end, or the deadline /
 *                       retry.total_ms passed
 *   LC_ERR_IO           no response (connection failures to the end, TLS refusal),
 *                       429/5xx to the end, an unexpected 3xx, a body file that
 *                       cannot be read or changed size during the upload
 *   LC_ERR_STATE        cancelled
 *   LC_ERR_NOMEM        out of memory
 * On failure the message (also in lc_errmsg()) names the method, the URL
 * without credentials or secret query values, the HTTP status and the
 * server's own message, and how many attempts were made. */
lc_status lc_http_send(lc_http_client *c, const lc_http_request *req, lc_http_response *resp);

/* Free resp's body; the struct is zeroed (reusable). */
void lc_http_response_free(lc_http_response *resp);

/* Shorthands: GET url; POST a JSON text (Content-Type: application/json). */
lc_status lc_http_get(lc_http_client *c, const char *url, lc_http_response *resp);
lc_status lc_http_post_json(lc_http_client *c, const char *url, const char *json,
                            lc_http_response *resp);

/* The client's retry policy with defaults filled in (for messages and
 * callers that plan their own waits). */
lc_http_retry lc_http_client_retry(const lc_http_client *c);

#endif /* LC_REMOTE_HTTP_H */
