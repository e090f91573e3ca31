/*
 * cli/metric_keys.h — turning --metric arguments into the normalised keys
 * the index stores (the hub normalises every key once, with
 * lc_normalize_key, so "val acc%" is found as "val acc_").
 */
#ifndef CLI_METRIC_KEYS_H
#define CLI_METRIC_KEYS_H

#include "args.h"

/* Add each comma-separated key of arg, normalised, to keys. On a key that
 * cannot be a metric name prints a usage error and returns CLI_USAGE;
 * out of memory returns CLI_ERR; else 0. */
int cli_metric_keys_add(const char *verb, cli_strlist *keys, const char *arg);

#endif /* CLI_METRIC_KEYS_H */
