/*
 * tests/helpers/lc_hparams_dump.c — render hparams.yaml text for the
 * PyYAML comparison test (tests/integration/test_hparams_yaml.py).
 *
 * stdin: a JSON array of [type, key, value] with type "s" (string value),
 * "i" (integer), "d" (number, or a string strtod understands: "nan",
 * "-inf"), "b" (true/false). stdout: lc_hparams_yaml_render's text.
 * Exit status 0, or 1 with a message on stderr.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv/hparams_yaml.h"

static char *read_all(FILE *f)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
    }
    if (buf)
        buf[n] = 0;
    return buf;
}

int main(void)
{
    char *in = read_all(stdin);
    cJSON *arr = in ? cJSON_Parse(in) : NULL;
    free(in);
    if (!cJSON_IsArray(arr)) {
        fprintf(stderr, "lc_hparams_dump: stdin is not a JSON array\n");
        return 1;
    }
    int n = cJSON_GetArraySize(arr);
    lc_param_payload *ps = calloc((size_t)n + 1, sizeof *ps);
    const lc_param_payload **pp = calloc((size_t)n + 1, sizeof *pp);
    for (int i = 0; i < n; i++) {
        cJSON *it = cJSON_GetArrayItem(arr, i);
        const char *type = cJSON_GetStringValue(cJSON_GetArrayItem(it, 0));
        const char *key = cJSON_GetStringValue(cJSON_GetArrayItem(it, 1));
        cJSON *v = cJSON_GetArrayItem(it, 2);
        if (!type || !key || !v) {
            fprintf(stderr, "lc_hparams_dump: item %d is not [type, key, value]\n", i);
            return 1;
        }
        lc_param_payload *p = &ps[i];
        p->key = p->original = (char *)key;
        switch (type[0]) {
        case 'i':
            p->type = LC_PARAM_INT;
            p->i = (int64_t)cJSON_GetNumberValue(v);
            break;
        case 'd':
            p->type = LC_PARAM_DOUBLE;
            p->d = cJSON_IsString(v) ? strtod(v->valuestring, NULL) : cJSON_GetNumberValue(v);
            break;
        case 'b':
            p->type = LC_PARAM_BOOL;
            p->i = cJSON_IsTrue(v);
            break;
        default:
            p->type = LC_PARAM_STR;
            p->text = cJSON_GetStringValue(v);
            break;
        }
        pp[i] = p;
    }
    char *text;
    size_t len;
    char err[512];
    if (lc_hparams_yaml_render(pp, (size_t)n, &text, &len, err, sizeof err) != 0) {
        fprintf(stderr, "lc_hparams_dump: %s\n", err);
        return 1;
    }
    fwrite(text, 1, len, stdout);
    free(text);
    free(ps);
    free(pp);
    cJSON_Delete(arr);
    return 0;
}
