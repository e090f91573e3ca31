/*
 * loggers/tensorboard/tb_hparams.c — a run's hyperparameters for the HParams plugin
 * (see tb_hparams.h for the type mapping).
 */
#include "tb_hparams.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hparams_plugin_data.pb-c.h"
#include "struct.pb-c.h"

#define TBH_EXACT_INT (INT64_C(1) << 53) /* doubles hold every integer up to here */

static char *tbh_strdup_utf8(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n + 1);
    lc_tb_utf8_sanitize(d, n);
    return d;
}

int lc_tb_params_set(lc_tb_params *p, const lc_tb_hparam *hp)
{
    char *key = tbh_strdup_utf8(hp->key);
    char *str = hp->kind == LC_TB_HP_STRING ? tbh_strdup_utf8(hp->str) : NULL;
    if (!key || (hp->kind == LC_TB_HP_STRING && !str)) {
        free(key);
        free(str);
        return -1;
    }
    lc_tb_hparam *slot = NULL;
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->items[i].key, key) == 0) {
            slot = &p->items[i];
            free((char *)slot->key);
            free((char *)slot->str);
            break;
        }
    }
    if (!slot) {
        if (p->n == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 16;
            lc_tb_hparam *items = realloc(p->items, cap * sizeof *items);
            if (!items) {
                free(key);
                free(str);
                return -1;
            }
            p->items = items;
            p->cap = cap;
        }
        slot = &p->items[p->n++];
    }
    *slot = *hp;
    slot->key = key;
    slot->str = str;
    return 0;
}

int lc_tb_params_set_payload(lc_tb_params *p, const lc_param_payload *pp)
{
    lc_tb_hparam hp = {.key = pp->key, .kind = LC_TB_HP_STRING, .str = pp->text};
    char buf[32];
    switch (pp->type) {
    case LC_PARAM_BOOL:
        hp.kind = LC_TB_HP_BOOL;
        hp.boolean = pp->i != 0;
        break;
    case LC_PARAM_INT:
        if (pp->i >= -TBH_EXACT_INT && pp->i <= TBH_EXACT_INT) {
            hp.kind = LC_TB_HP_NUMBER;
            hp.num = (double)pp->i;
        } else {
            snprintf(buf, sizeof buf, "%" PRId64, pp->i);
            hp.str = buf;
        }
        break;
    case LC_PARAM_DOUBLE:
        if (isfinite(pp->d)) {
            hp.kind = LC_TB_HP_NUMBER;
            hp.num = pp->d;
        } else {
            hp.str = isnan(pp->d) ? "nan" : pp->d > 0 ? "inf" : "-inf";
        }
        break;
    default:
        break;
    }
    return lc_tb_params_set(p, &hp);
}

int lc_tb_params_merge_start_info(lc_tb_params *p, const uint8_t *content, size_t len)
{
    Tensorboard__Hparams__HParamsPluginData *d =
        tensorboard__hparams__hparams_plugin_data__unpack(NULL, len, content);
    if (!d)
        return -1;
    int merged = 0;
    if (d->data_case == TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_SESSION_START_INFO &&
        d->session_start_info) {
        Tensorboard__Hparams__SessionStartInfo *ssi = d->session_start_info;
        for (size_t i = 0; i < ssi->n_hparams; i++) {
            const Google__Protobuf__Value *v = ssi->hparams[i]->value;
            lc_tb_hparam hp = {.key = ssi->hparams[i]->key, .kind = LC_TB_HP_STRING, .str = ""};
            if (v) {
                switch (v->kind_case) {
                case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
                    hp.kind = LC_TB_HP_NUMBER;
                    hp.num = v->number_value;
                    break;
                case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
                    hp.kind = LC_TB_HP_BOOL;
                    hp.boolean = v->bool_value;
                    break;
                case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
                    hp.str = v->string_value;
                    break;
                default:
                    break; /* null / struct / list: kept as "" */
                }
            }
            if (lc_tb_params_set(p, &hp)) {
                merged = -1;
                break;
            }
            merged++;
        }
    }
    tensorboard__hparams__hparams_plugin_data__free_unpacked(d, NULL);
    return merged;
}

void lc_tb_params_free(lc_tb_params *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free((char *)p->items[i].key);
        free((char *)p->items[i].str);
    }
    free(p->items);
    p->items = NULL;
    p->n = p->cap = 0;
}
