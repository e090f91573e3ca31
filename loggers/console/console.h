/*
 * loggers/console/console.h — the console sink's knobs, for tests and embedders.
 *
 * lc_sink_console_new (sink.h) writes to stdout and decides the style from
 * $LIGHTC_CONSOLE (tty | plain | off), else from isatty(stdout).
 * lc_sink_console_new_opts lets a caller pick the stream, the style, the
 * pace and the line width.
 */
#ifndef LC_CONSOLE_H
#define LC_CONSOLE_H

#include <stdint.h>
#include <stdio.h>

#include "bus/sink.h"

typedef enum lc_console_mode {
    LC_CONSOLE_AUTO = -1,  /* $LIGHTC_CONSOLE, else isatty(out) ? TTY : PLAIN */
    LC_CONSOLE_OFF = 0,    /* print nothing */
    LC_CONSOLE_PLAIN = 1,  /* a line every interval, and one at finish */
    LC_CONSOLE_TTY = 2     /* one live line redrawn with '\r' */
} lc_console_mode;

#define LC_CONSOLE_TTY_INTERVAL_MS 100     /* at most 10 redraws a second */
#define LC_CONSOLE_PLAIN_INTERVAL_MS 10000 /* a plain line every 10 s */

typedef struct lc_console_options {
    FILE *out;             /* NULL: stdout */
    lc_console_mode mode;
    int64_t interval_ms;   /* < 0: the defaults above; 0: after every batch */
    int width;             /* TTY line width; 0: ask the terminal, else 120 */
} lc_console_options;

/* As lc_sink_console_new with explicit options (opt may be NULL).
 * Returns LC_OK, or an error code with err (LC_ERR_INVALID for a bad
 * $LIGHTC_CONSOLE). */
lc_status lc_sink_console_new_opts(const lc_sink_config *cfg, const lc_console_options *opt,
                                   lc_sink *out, char *err, size_t errlen);

#endif /* LC_CONSOLE_H */
