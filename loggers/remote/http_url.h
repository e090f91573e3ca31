/*
 * loggers/remote/http_url.h — building request URLs and showing them.
 *
 * Backends build every URL here: a base (the tracking URI, WANDB_BASE_URL)
 * joined to a path, plus a query whose keys and values are percent-encoded
 * (libcurl's curl_easy_escape). Messages show a URL only through
 * lc_http_url_for_message: no `user:password@`, no values of query
 * parameters that carry secrets (token=, api_key=, signature=, ...).
 */
#ifndef LC_REMOTE_HTTP_URL_H
#define LC_REMOTE_HTTP_URL_H

#include <stddef.h>

/* Percent-encode every byte of s but the unreserved ones (A-Z a-z 0-9 - . _
 * ~): one path segment or one query key/value. malloc'd; NULL on OOM. */
char *lc_http_escape(const char *s);

/* The same, keeping '/' (a path of several segments, e.g. an artifact
 * path "checkpoints/epoch=3/model.ckpt"). malloc'd; NULL on OOM. */
char *lc_http_escape_path(const char *s);

/* base + path + query, malloc'd (NULL on OOM or when base is NULL).
 * Exactly one '/' joins base and path (a trailing '/' of base and a leading
 * '/' of path are merged; path may be NULL or ""). path is used as given
 * (escape its segments first). query is NULL or a NULL-terminated array of
 * key, value pairs; each key and value is escaped; a pair whose value is
 * NULL is skipped. A base that already has a query gets '&' pairs. */
char *lc_http_url(const char *base, const char *path, const char *const *query);

/* Whether a query parameter name (len bytes) carries a secret: token,
 * access_token, api_key, apikey, key, password, secret, sig, signature,
 * X-Amz-Signature, X-Amz-Credential, code, session, ... (case-insensitive),
 * or ends in _token, -token, _secret, _password, _apikey, _api_key.
 * Names such as metric_key or experiment_name are not. */
int lc_http_query_key_is_secret(const char *key, size_t len);

/* url as a message may show it, into out (cap bytes, NUL-terminated):
 * the user information removed, the fragment removed, and the value of each
 * secret-carrying query parameter replaced by "***". Returns out. */
char *lc_http_url_for_message(const char *url, char *out, size_t cap);

#endif /* LC_REMOTE_HTTP_URL_H */
