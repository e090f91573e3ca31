/*
 * loggers/remote/http_error.h — what an HTTP failure says to a user.
 *
 * The server's own words out of an error body (MLflow's {error_code,
 * message}, GraphQL's and W&B's {errors:[{message}]}, {error: "..."} or
 * {message}, else the start of the text, made printable), the reason phrase
 * of a status code, and which lc_status a status code maps to.
 */
#ifndef LC_REMOTE_HTTP_ERROR_H
#define LC_REMOTE_HTTP_ERROR_H

#include <stddef.h>

#include "lightc/status.h"

/* How many bytes of a non-JSON error body a message shows. */
#define LC_HTTP_TEXT_SNIPPET 300

/* The server's message from body (len bytes, not necessarily
 * NUL-terminated) into out (cap bytes): JSON error shapes as above, else
 * the first LC_HTTP_TEXT_SNIPPET bytes with control characters and
 * invalid UTF-8 replaced and runs of blanks collapsed. "" for an empty body. */
void lc_http_server_message(const char *body, size_t len, char *out, size_t cap);

/* "Bad Request", "Too Many Requests", ...; "" for codes it does not know. */
const char *lc_http_reason(long status);

/* The lc_status of a final non-2xx response: 401/403 LC_ERR_AUTH,
 * 404/410 LC_ERR_NOT_FOUND, 409 LC_ERR_EXISTS, 408 LC_ERR_TIMEOUT, other
 * 4xx LC_ERR_INVALID but 429 LC_ERR_IO, and 5xx, 3xx and anything else
 * LC_ERR_IO. */
lc_status lc_http_status_code(long status);

#endif /* LC_REMOTE_HTTP_ERROR_H */
