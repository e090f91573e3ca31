/*
 * loggers/tensorboard/tb_hparams.h — the hyperparameters of one run, as the HParams
 * plugin will see them.
 *
 * lightc params are typed (string, int, double, bool); the plugin's values
 * are google.protobuf.Value (string, number, bool). Mapping:
 *
 *     string              -> string_value (invalid UTF-8 bytes become '?')
 *     bool                -> bool_value
 *     int, |v| <= 2^53    -> number_value (exact)
 *     int, |v| >  2^53    -> string_value of its decimal text (a double
 *                            would silently change it)
 *     double, finite      -> number_value
 *     double, NaN/Inf     -> string_value "nan" / "inf" / "-inf" (a NaN
 *                            number breaks the plugin's JSON and sorting)
 *
 * Logging a key again replaces its value. The set also decodes a
 * session_start_info written earlier (used when a run resumes).
 */
#ifndef LC_TB_HPARAMS_H
#define LC_TB_HPARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "bus/event.h"
#include "tb_encode.h"

typedef struct lc_tb_params {
    lc_tb_hparam *items; /* key and str are owned (malloc'd) */
    size_t n, cap;
} lc_tb_params;

/** Add or replace one param from a hub event. 0, or -1 on ENOMEM. */
int lc_tb_params_set_payload(lc_tb_params *p, const lc_param_payload *pp);

/** Add or replace one param (strings are copied). 0, or -1 on ENOMEM. */
int lc_tb_params_set(lc_tb_params *p, const lc_tb_hparam *hp);

/** Merge the hparams of a serialized HParamsPluginData holding a
 *  session_start_info (SummaryMetadata.plugin_data.content) into p.
 *  Returns the number merged, 0 if content is not a session_start_info,
 *  -1 on ENOMEM or undecodable content. */
int lc_tb_params_merge_start_info(lc_tb_params *p, const uint8_t *content, size_t len);

void lc_tb_params_free(lc_tb_params *p);

#endif /* LC_TB_HPARAMS_H */
