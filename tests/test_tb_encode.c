/*
 * tests/test_tb_encode.c — TensorBoard records built with protobuf-c: the
 * scalar template path gives exactly the bytes of the plain path, grouped
 * scalars, text / image / hparams records decode to what was put in, and
 * the UTF-8 checks (overlongs, surrogates, > U+10FFFF, cut sequences).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "event.pb-c.h"
#include "hparams_plugin_data.pb-c.h"
#include "tensorboard/tb_encode.h"

static Tensorboard__Event *only_event(const lc_tfr_buf *b)
{
    size_t off = 0, n;
    const uint8_t *p;
    assert_int_equal(lc_tfr_next(b->data, b->len, &off, &p, &n), LC_TFR_OK);
    assert_int_equal(off, b->len);
    Tensorboard__Event *ev = tensorboard__event__unpack(NULL, n, p);
    assert_non_null(ev);
    return ev;
}

static void test_template_equals_plain(void **s)
{
    (void)s;
    const char *tags[3] = {"train/loss", "a", "x/very/long/tag/name/with/many/parts/0123456789"};
    float vals[3] = {0.25f, -3.5e-7f, 1e30f};
    lc_tb_scalar_tpl t[3] = {{0}};
    const lc_tb_scalar_tpl *pt[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(lc_tb_scalar_tpl_init(&t[i], tags[i]), 0);
        pt[i] = &t[i];
    }
    int64_t steps[] = {0, 1, 127, 128, -1, INT64_MAX};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        for (size_t n = 1; n <= 3; n++) {
            lc_tfr_buf a = {0}, b = {0};
            assert_int_equal(lc_tb_put_scalars(&a, 1.7e9 + 0.125, steps[k], n, tags, vals), 0);
            assert_int_equal(lc_tb_put_scalars_tpl(&b, 1.7e9 + 0.125, steps[k], n, pt, vals), 0);
            assert_int_equal(a.len, b.len);
            assert_memory_equal(a.data, b.data, a.len);
            lc_tfr_free(&a);
            lc_tfr_free(&b);
        }
    }
    lc_tfr_buf b = {0};
    assert_int_equal(lc_tb_put_scalars_tpl(&b, 5.0, 9, 3, pt, vals), 0);
    Tensorboard__Event *ev = only_event(&b);
    assert_int_equal(ev->step, 9);
    assert_int_equal(ev->summary->n_value, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(ev->summary->value[i]->tag, tags[i]);
        assert_true(ev->summary->value[i]->simple_value == vals[i]);
    }
    tensorboard__event__free_unpacked(ev, NULL);
    lc_tfr_free(&b);
    for (int i = 0; i < 3; i++)
        lc_tb_scalar_tpl_free(&t[i]);
}

static void test_text_image_records(void **s)
{
    (void)s;
    lc_tfr_buf b = {0};
    assert_int_equal(lc_tb_put_text(&b, 1.0, 3, "notes", "a\0b", 3, 1), 0);
    Tensorboard__Event *ev = only_event(&b);
    Tensorboard__Summary__Value *v = ev->summary->value[0];
    assert_string_equal(v->metadata->plugin_data->plugin_name, "text");
    assert_int_equal(v->tensor->string_val[0].len, 3); /* bytes, NUL kept */
    assert_int_equal(v->tensor->tensor_shape->n_dim, 0);
    tensorboard__event__free_unpacked(ev, NULL);
    b.len = 0;
    static const uint8_t png[5] = {1, 2, 3, 4, 5};
    assert_int_equal(lc_tb_put_image(&b, 1.0, 4, "img", 7, 9, 4, png, 5), 0);
    ev = only_event(&b);
    v = ev->summary->value[0];
    assert_int_equal(v->image->width, 7);
    assert_int_equal(v->image->height, 9);
    assert_int_equal(v->image->colorspace, 4);
    assert_memory_equal(v->image->encoded_image_string.data, png, 5);
    tensorboard__event__free_unpacked(ev, NULL);
    lc_tfr_free(&b);
}

static void test_hparams_records(void **s)
{
    (void)s;
    lc_tb_hparam hp[3] = {{.key = "lr", .kind = LC_TB_HP_NUMBER, .num = 0.5},
                          {.key = "opt", .kind = LC_TB_HP_STRING, .str = "adam"},
                          {.key = "aug", .kind = LC_TB_HP_BOOL, .boolean = 1}};
    lc_tfr_buf b = {0};
    assert_int_equal(lc_tb_put_hparams_start(&b, 2.0, hp, 3, 1.5), 0);
    Tensorboard__Event *ev = only_event(&b);
    Tensorboard__Summary__Value *v = ev->summary->value[0];
    assert_string_equal(v->tag, LC_TB_TAG_SESSION_START);
    /* the null tensor: DT_FLOAT, shape [0] */
    assert_int_equal(v->tensor->dtype, 1);
    assert_int_equal(v->tensor->tensor_shape->n_dim, 1);
    assert_int_equal(v->tensor->tensor_shape->dim[0]->size, 0);
    ProtobufCBinaryData *c = &v->metadata->plugin_data->content;
    Tensorboard__Hparams__HParamsPluginData *d =
        tensorboard__hparams__hparams_plugin_data__unpack(NULL, c->len, c->data);
    assert_non_null(d);
    assert_int_equal(d->version, 0);
    assert_int_equal(d->session_start_info->n_hparams, 3);
    assert_true(d->session_start_info->start_time_secs == 1.5);
    tensorboard__hparams__hparams_plugin_data__free_unpacked(d, NULL);
    tensorboard__event__free_unpacked(ev, NULL);
    lc_tfr_free(&b);
}

static void test_utf8(void **s)
{
    (void)s;
    struct {
        const char *in;
        int valid;
        const char *clean;
    } cases[] = {
        {"plain/ascii", 1, "plain/ascii"},
        {"caf\xc3\xa9", 1, "caf\xc3\xa9"},
        {"\xe2\x82\xac \xf0\x9f\x98\x80", 1, "\xe2\x82\xac \xf0\x9f\x98\x80"},
        {"caf\xe9", 0, "caf?"},                 /* Latin-1 */
        {"\xc0\xaf", 0, "??"},                  /* overlong '/' */
        {"\xed\xa0\x80", 0, "???"},             /* surrogate */
        {"\xf4\x90\x80\x80", 0, "????"},        /* > U+10FFFF */
        {"ab\xe2\x82", 0, "ab??"},              /* cut sequence */
        {"\x80x", 0, "?x"},                     /* lone continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in);
        assert_int_equal(lc_tb_utf8_valid(cases[i].in, n), cases[i].valid);
        char *c = strdup(cases[i].in);
        size_t replaced = lc_tb_utf8_sanitize(c, n);
        assert_string_equal(c, cases[i].clean);
        assert_int_equal(replaced == 0, cases[i].valid);
        assert_true(lc_tb_utf8_valid(c, n));
        free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_equals_plain),
        cmocka_unit_test(test_text_image_records),
        cmocka_unit_test(test_hparams_records),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
