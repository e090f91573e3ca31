/*
 * cli/metric_keys.c — normalise --metric arguments (see metric_keys.h).
 */
#include "metric_keys.h"

#include "lightc/hub.h"

int cli_metric_keys_add(const char *verb, cli_strlist *keys, const char *arg)
{
    cli_strlist raw = {0};
    if (cli_strlist_add_csv(&raw, arg) != 0) {
        cli_strlist_free(&raw);
        return cli_error(verb, "out of memory");
    }
    if (raw.count == 0) {
        cli_strlist_free(&raw);
        return cli_usage_error(verb, "--metric needs a metric name such as train/loss");
    }
    int rc = 0;
    for (size_t i = 0; i < raw.count && rc == 0; i++) {
        char norm[256];
        if (lc_normalize_key(raw.items[i], norm, sizeof norm) < 0)
            rc = cli_usage_error(verb, "'%s' cannot be a metric name", raw.items[i]);
        else if (!cli_strlist_has(keys, norm) && cli_strlist_add(keys, norm) != 0)
            rc = cli_error(verb, "out of memory");
    }
    cli_strlist_free(&raw);
    return rc;
}
