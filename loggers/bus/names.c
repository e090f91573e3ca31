/*
 * loggers/bus/names.c — the library version and run status names.
 */
#include <string.h>

#include "lightc/hub.h"

const char *lc_version(void)
{
    return LC_VERSION_STRING;
}

static const char *const status_names[] = {"running", "finished", "failed", "killed", "crashed"};

const char *lc_run_status_name(lc_run_status s)
{
    if ((unsigned)s < sizeof status_names / sizeof status_names[0])
        return status_names[s];
    return "unknown";
}

int lc_run_status_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof status_names / sizeof status_names[0]); i++)
        if (name && strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}
