/*
 * cli/args.c — flag parsing helpers: getopt_long with lightc's own error
 * messages, the run root default, and comma-separated list splitting.
 */
#include "args.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lightc/hub.h"

/* ---- messages ------------------------------------------------------------ */

int cli_usage_error(const char *verb, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "lightc %s: ", verb);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see `lightc %s --help`)\n", verb);
    return CLI_USAGE;
}

int cli_error(const char *verb, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "lightc %s: ", verb);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_ERR;
}

/* ---- options -------------------------------------------------------------- */

/* The long name of an option value, for "option '--root' needs a value". */
static const char *args_long_name(const struct option *opts, int val)
{
    for (const struct option *o = opts; o && o->name; o++)
        if (o->val == val)
            return o->name;
    return NULL;
}

int cli_next_opt(cli_parser *p, int argc, char **argv)
{
    if (!p->started) {
        /* A leading ':' makes getopt return ':' for a missing value;
           optind = 0 asks glibc to re-initialise (each verb parses anew). */
        snprintf(p->optstring, sizeof p->optstring, ":%s", p->shortopts ? p->shortopts : "");
        optind = 0;
        opterr = 0;
        p->started = 1;
    }
    optopt = 0;
    int c = getopt_long(argc, argv, p->optstring, p->longopts, NULL);
    if (c == '?') {
        if (optopt > 0 && optopt < 256)
            cli_usage_error(p->verb, "unknown option '-%c'", optopt);
        else
            cli_usage_error(p->verb, "unknown option '%s'", argv[optind - 1]);
        return '?';
    }
    if (c == ':') {
        const char *name = args_long_name(p->longopts, optopt);
        if (name)
            cli_usage_error(p->verb, "option '--%s' needs a value", name);
        else
            cli_usage_error(p->verb, "option '-%c' needs a value", optopt);
        return '?';
    }
    return c;
}

const char *cli_root(const char *flag_value)
{
    return flag_value && *flag_value ? flag_value : lc_default_root();
}

/* ---- string lists --------------------------------------------------------- */

int cli_strlist_add(cli_strlist *l, const char *s)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return -1;
        l->items = items;
        l->cap = cap;
    }
    char *copy = strdup(s);
    if (!copy)
        return -1;
    l->items[l->count++] = copy;
    return 0;
}

int cli_strlist_add_csv(cli_strlist *l, const char *s)
{
    const char *p = s;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *a = p, *b = p + n;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a) {
            char *item = strndup(a, (size_t)(b - a));
            if (!item)
                return -1;
            int rc = cli_strlist_has(l, item) ? 0 : cli_strlist_add(l, item);
            free(item);
            if (rc)
                return -1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int cli_strlist_has(const cli_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i], s) == 0)
            return 1;
    return 0;
}

void cli_strlist_free(cli_strlist *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = l->cap = 0;
}
