/*
 * tests/test_tb_series.c — key -> TensorBoard tag per run: one kind per
 * tag, renames for later kinds (chained when the renamed tag is taken too),
 * the reserved HParams tags, invalid UTF-8 and empty keys, and scalar tag
 * ids bound by LC_EV_KEY.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "tensorboard/tb_series.h"

static void test_kinds_and_renames(void **s)
{
    (void)s;
    lc_tb_series_table *t = lc_tb_series_new();
    assert_non_null(t);
    lc_tb_series *a = lc_tb_series_get(t, "x", LC_TB_KIND_SCALAR);
    assert_string_equal(a->tag, "x");
    assert_ptr_equal(lc_tb_series_get(t, "x", LC_TB_KIND_SCALAR), a); /* same series */
    lc_tb_series *b = lc_tb_series_get(t, "x", LC_TB_KIND_TEXT);
    assert_string_equal(b->tag, "x_text");
    assert_true(b->renamed);
    /* "y_histogram" is a scalar already: the histogram "y" goes one further */
    lc_tb_series_get(t, "y", LC_TB_KIND_SCALAR);
    lc_tb_series_get(t, "y_histogram", LC_TB_KIND_SCALAR);
    lc_tb_series *h = lc_tb_series_get(t, "y", LC_TB_KIND_HISTOGRAM);
    assert_string_equal(h->tag, "y_histogram_histogram");
    lc_tb_series *r = lc_tb_series_get(t, "_hparams_/session_end_info", LC_TB_KIND_SCALAR);
    assert_string_equal(r->tag, "_hparams_/session_end_info_scalar");
    assert_string_equal(lc_tb_series_get(t, "", LC_TB_KIND_IMAGE)->tag, "_");
    assert_string_equal(lc_tb_series_get(t, "bad\xff", LC_TB_KIND_TEXT)->tag, "bad?");
    assert_int_equal(lc_tb_series_renamed(t), 5);
    lc_tb_series_free(t);
}

static void test_bind_many_tags(void **s)
{
    (void)s;
    lc_tb_series_table *t = lc_tb_series_new();
    assert_non_null(t);
    char key[32];
    for (uint32_t i = 1; i <= 5000; i++) {
        snprintf(key, sizeof key, "k%u", i);
        assert_int_equal(lc_tb_series_bind(t, i, key), 0);
    }
    for (uint32_t i = 1; i <= 5000; i++) {
        snprintf(key, sizeof key, "k%u", i);
        assert_string_equal(lc_tb_series_of_tag(t, i)->tag, key);
    }
    assert_null(lc_tb_series_of_tag(t, 0));
    assert_null(lc_tb_series_of_tag(t, 999999));
    assert_int_equal(lc_tb_series_bind(t, 1u << 30, "huge"), -1); /* refused, no crash */
    lc_tb_series_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_and_renames),
        cmocka_unit_test(test_bind_many_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
