/*
 * tests/test_tb_hparams.c — a run's hyperparameters for the HParams plugin:
 * the type mapping (2^53 boundary, non-finite doubles, bools), replacement
 * of a key logged again, and merging a session_start_info written earlier
 * (resume), including undecodable content.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "event.pb-c.h"
#include "hparams_plugin_data.pb-c.h"
#include "tensorboard/tb_hparams.h"

static const lc_tb_hparam *get(const lc_tb_params *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->items[i].key, key) == 0)
            return &p->items[i];
    return NULL;
}

static void test_mapping(void **s)
{
    (void)s;
    lc_tb_params p = {0};
    lc_param_payload in[] = {
        {.type = LC_PARAM_INT, .key = "exact", .i = INT64_C(9007199254740992)},
        {.type = LC_PARAM_INT, .key = "neg", .i = -INT64_C(9007199254740992)},
        {.type = LC_PARAM_INT, .key = "big", .i = INT64_C(9007199254740993)},
        {.type = LC_PARAM_INT, .key = "min", .i = INT64_MIN},
        {.type = LC_PARAM_DOUBLE, .key = "d", .d = 0.1},
        {.type = LC_PARAM_DOUBLE, .key = "inf", .d = INFINITY},
        {.type = LC_PARAM_BOOL, .key = "b", .i = 0},
        {.type = LC_PARAM_STR, .key = "s", .text = "x"},
        {.type = LC_PARAM_STR, .key = "s", .text = "y"},
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        assert_int_equal(lc_tb_params_set_payload(&p, &in[i]), 0);
    assert_int_equal(p.n, 8);
    assert_int_equal(get(&p, "exact")->kind, LC_TB_HP_NUMBER);
    assert_true(get(&p, "exact")->num == 9007199254740992.0);
    assert_int_equal(get(&p, "neg")->kind, LC_TB_HP_NUMBER);
    assert_int_equal(get(&p, "big")->kind, LC_TB_HP_STRING);
    assert_string_equal(get(&p, "big")->str, "9007199254740993");
    assert_string_equal(get(&p, "min")->str, "-9223372036854775808");
    assert_true(get(&p, "d")->num == 0.1);
    assert_string_equal(get(&p, "inf")->str, "inf");
    assert_int_equal(get(&p, "b")->kind, LC_TB_HP_BOOL);
    assert_int_equal(get(&p, "b")->boolean, 0);
    assert_string_equal(get(&p, "s")->str, "y");
    lc_tb_params_free(&p);
    assert_int_equal(p.n, 0);
}

static void test_merge_start_info(void **s)
{
    (void)s;
    lc_tb_hparam hp[2] = {{.key = "lr", .kind = LC_TB_HP_NUMBER, .num = 0.5},
                          {.key = "opt", .kind = LC_TB_HP_STRING, .str = "adam"}};
    lc_tfr_buf b = {0};
    assert_int_equal(lc_tb_put_hparams_start(&b, 1.0, hp, 2, 1.0), 0);
    /* dig the plugin content out of the record */
    size_t off = 0, n;
    const uint8_t *rec;
    assert_int_equal(lc_tfr_next(b.data, b.len, &off, &rec, &n), LC_TFR_OK);
    Tensorboard__Event *ev = tensorboard__event__unpack(NULL, n, rec);
    ProtobufCBinaryData c = ev->summary->value[0]->metadata->plugin_data->content;

    lc_tb_params p = {0};
    lc_tb_hparam keep = {.key = "opt", .kind = LC_TB_HP_STRING, .str = "sgd"};
    assert_int_equal(lc_tb_params_set(&p, &keep), 0);
    assert_int_equal(lc_tb_params_merge_start_info(&p, c.data, c.len), 2);
    assert_int_equal(p.n, 2);
    assert_true(get(&p, "lr")->num == 0.5);
    assert_string_equal(get(&p, "opt")->str, "adam"); /* merged values replace */
    /* garbage is refused, an end info merges nothing */
    static const uint8_t junk[] = {0xff, 0xff, 0xff};
    assert_int_equal(lc_tb_params_merge_start_info(&p, junk, sizeof junk), -1);
    Tensorboard__Hparams__SessionEndInfo sei = TENSORBOARD__HPARAMS__SESSION_END_INFO__INIT;
    Tensorboard__Hparams__HParamsPluginData d = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__INIT;
    d.data_case = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_SESSION_END_INFO;
    d.session_end_info = &sei;
    uint8_t buf[64];
    size_t len = tensorboard__hparams__hparams_plugin_data__pack(&d, buf);
    assert_int_equal(lc_tb_params_merge_start_info(&p, buf, len), 0);
    assert_int_equal(p.n, 2);
    lc_tb_params_free(&p);
    tensorboard__event__free_unpacked(ev, NULL);
    lc_tfr_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_merge_start_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
