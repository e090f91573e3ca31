/*
 * loggers/remote/secrets.h — the secrets a remote client holds, and the
 * redaction every message of the HTTP layer goes through.
 *
 * Secrets (tokens, passwords, API keys, and the Basic credentials built
 * from them) live only in memory: a set keeps them so that any text about
 * to leave the layer (error messages, the debug trace) can be scrubbed of
 * them, and zeroes them when freed. Redaction also removes what needs no
 * registration: the `user:password@` of any URL in the text and the value
 * of Authorization / Proxy-Authorization header lines.
 */
#ifndef LC_REMOTE_SECRETS_H
#define LC_REMOTE_SECRETS_H

#include <stddef.h>

#include "lightc/status.h"

typedef struct lc_secrets {
    char **items; /* longest first, so a secret containing another goes first */
    size_t n, cap;
} lc_secrets;

/* An empty set (a zeroed struct is one too). */
void lc_secrets_init(lc_secrets *s);

/* Zero and free every secret. The set is empty (and reusable) after. */
void lc_secrets_free(lc_secrets *s);

/* Remember a secret (copied; "" and NULL are ignored, duplicates kept once).
 * Its percent-encoded form is remembered too, as it appears in URLs.
 * Returns LC_OK or LC_ERR_NOMEM. */
lc_status lc_secrets_add(lc_secrets *s, const char *secret);

/* A malloc'd copy of text with every secret of s (s may be NULL) replaced
 * by "***", the user information of every URL ("scheme://user:pw@host")
 * replaced by "***@", and the rest of any "Authorization:" or
 * "Proxy-Authorization:" line replaced by " ***". NULL when out of memory. */
char *lc_secrets_redact_dup(const lc_secrets *s, const char *text);

/* The same into out (cap bytes, always NUL-terminated, cut to fit; a cut
 * never exposes a secret: redaction happens before the cut). When out of
 * memory it writes "(message withheld: out of memory)". Returns out. */
char *lc_secrets_redact(const lc_secrets *s, const char *text, char *out, size_t cap);

/* Standard base64 (RFC 4648, with padding) of len bytes; malloc'd, NULL
 * when out of memory. */
char *lc_base64_encode(const void *data, size_t len);

#endif /* LC_REMOTE_SECRETS_H */
