/*
 * loggers/bus/redact.h — secrets kept out of what the hub writes.
 *
 * A run's provenance (lightc.argv) and the tags and params a program logs
 * land in the index, event files, hparams.yaml, exports and remote
 * backends. The hub passes them through here first, and "***" replaces:
 *
 *  - the value of an argument whose name looks secret, in both forms
 *    `--api-key VALUE` and `--api-key=VALUE` (also `-name`, `name=VALUE`,
 *    Hydra's `+name=VALUE`), matched case-insensitively;
 *  - the user info of a URL, the `user:pass` in `scheme://user:pass@host`
 *    (any user info before the '@', in fact);
 *  - the whole value of a tag or param whose key looks secret.
 *
 * A name looks secret when one of its words (split at anything not a
 * letter or digit: `api-key`, `db.password`, `wandb/api_key`, `apiKey`)
 * contains "secret", "password", "passwd", "passphrase" or "credential",
 * is "pass", ends in "key" or "token" (`apikey`, `authtoken`; not `keys`,
 * `max_tokens`, `tokenizer`), or starts with "auth" (`authorization`;
 * not `author`). A false alarm costs a value in the provenance; a miss
 * leaks a secret into every backend, so the rule errs on the safe side.
 */
#ifndef LC_REDACT_H
#define LC_REDACT_H

#include <stddef.h>

#define LC_REDACTED "***"

/* 1 if name[0..len) looks like it names a secret (see above). */
int lc_redact_name_is_secret(const char *name, size_t len);

/* A command line from n bytes of NUL-separated arguments (as
 * /proc/self/cmdline holds them), joined with spaces, secrets redacted.
 * malloc'd; NULL when out of memory. */
char *lc_redact_cmdline(const char *args, size_t n);

/* A tag or param value as the hub writes it: "***" if key looks secret;
 * else value with URL user info and secret `--name value` / `name=value`
 * pairs among its space-separated words redacted, and invalid UTF-8
 * replaced by U+FFFD (common/utf8.h). malloc'd; NULL when out of memory.
 * *changed (may be NULL) is set to 1 when the result differs from value. */
char *lc_redact_value(const char *key, const char *value, int *changed);

#endif /* LC_REDACT_H */
