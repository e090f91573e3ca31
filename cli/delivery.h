/*
 * cli/delivery.h — the remote delivery state of a run (index schema 3:
 * the delivery table) as `lightc runs show`, `runs ls` and `runs export`
 * present it. An index without the table has no deliveries.
 */
#ifndef CLI_DELIVERY_H
#define CLI_DELIVERY_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdint.h>

/* How many deliveries of run 'row' are pending or failed (0 without). */
int cli_delivery_undelivered(sqlite3 *db, int64_t row);

/* Print the "deliveries" section of `runs show`. Returns 0, or -1 when
 * the output could not be written. */
int cli_delivery_show(sqlite3 *db, int64_t row);

/* {"<backend>": {"state", "remote_id", "remote_url", "pending_items",
 * "pending_since", "last_error", "shipped"}, ...}; NULL when out of memory. */
cJSON *cli_delivery_json(sqlite3 *db, int64_t row);

#endif /* CLI_DELIVERY_H */
