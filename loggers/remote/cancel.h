/*
 * loggers/remote/cancel.h — a cancel flag with an interruptible sleep.
 *
 * A shipper thread sleeps between retries (backoff, Retry-After, rate-limit
 * pacing) and runs transfers that may take minutes; on shutdown another
 * thread sets the flag and every sleep on it returns at once (condition
 * variable on CLOCK_MONOTONIC), and every transfer watching it stops at its
 * next progress callback. One flag may be shared by several clients.
 */
#ifndef LC_REMOTE_CANCEL_H
#define LC_REMOTE_CANCEL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct lc_cancel lc_cancel;

/* A new, clear flag (NULL when out of memory). */
lc_cancel *lc_cancel_new(void);

/* Free a flag nobody sleeps on any more. NULL is a no-op. */
void lc_cancel_free(lc_cancel *c);

/* Set the flag and wake every sleeper. Any thread; idempotent. */
void lc_cancel_set(lc_cancel *c);

/* Clear the flag (a client reused after a cancelled drain). */
void lc_cancel_clear(lc_cancel *c);

/* Whether the flag is set; false for NULL. Any thread, lock-free. */
bool lc_cancel_is_set(const lc_cancel *c);

/* Sleep up to ms milliseconds of monotonic time, returning early when the
 * flag is (or becomes) set. Returns true when cancelled, false when the
 * time passed. With c NULL it is a plain sleep that cannot be cut short. */
bool lc_cancel_sleep_ms(lc_cancel *c, uint64_t ms);

#endif /* LC_REMOTE_CANCEL_H */
