/*
 * tests/test_kernels_loss_scaler.c — GradScaler's math: the defaults, the
 * scale doubling after exactly 2000 clean steps (driven step by step),
 * halving on an overflow with the clean-step count reset, no growth past
 * float32's range, the checkpoint blob, and the fused unscale + Inf/NaN
 * check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <string.h>

#include "loss_scaler.h"

static void test_defaults(void **s)
{
    (void)s;
    lc_loss_scaler sc;
    lc_loss_scaler_init(&sc);
    assert_true(sc.scale == 65536.0f);
    assert_true(sc.growth_factor == 2.0f);
    assert_true(sc.backoff_factor == 0.5f);
    assert_int_equal(sc.growth_interval, 2000);
    assert_int_equal(sc.growth_tracker, 0);
    assert_int_equal(lc_loss_scaler_check(&sc), LC_OK);
}

static void test_growth_after_2000_clean_steps(void **s)
{
    (void)s;
    lc_loss_scaler sc;
    lc_loss_scaler_init(&sc);
    for (int i = 1; i < 2000; i++) {
        lc_loss_scaler_update(&sc, 0);
        assert_true(sc.scale == 65536.0f);
        assert_int_equal(sc.growth_tracker, i);
    }
    lc_loss_scaler_update(&sc, 0); /* the 2000th */
    assert_true(sc.scale == 131072.0f);
    assert_int_equal(sc.growth_tracker, 0);
    /* and again 2000 later */
    for (int i = 0; i < 2000; i++)
        lc_loss_scaler_update(&sc, 0);
    assert_true(sc.scale == 262144.0f);
}

static void test_backoff_resets_the_count(void **s)
{
    (void)s;
    lc_loss_scaler sc;
    lc_loss_scaler_init(&sc);
    for (int i = 0; i < 1500; i++)
        lc_loss_scaler_update(&sc, 0);
    lc_loss_scaler_update(&sc, 1);
    assert_true(sc.scale == 32768.0f);
    assert_int_equal(sc.growth_tracker, 0);
    lc_loss_scaler_update(&sc, 1);
    assert_true(sc.scale == 16384.0f);
    /* 1999 clean steps are not enough after the overflow */
    for (int i = 0; i < 1999; i++)
        lc_loss_scaler_update(&sc, 0);
    assert_true(sc.scale == 16384.0f);
    lc_loss_scaler_update(&sc, 0);
    assert_true(sc.scale == 32768.0f);
}

static void test_no_growth_to_inf(void **s)
{
    (void)s;
    lc_loss_scaler sc;
    lc_loss_scaler_init(&sc);
    sc.scale = 0x1p127f;
    sc.growth_interval = 1;
    lc_loss_scaler_update(&sc, 0);
    assert_true(sc.scale == 0x1p127f);
    assert_int_equal(sc.growth_tracker, 0);
}

static void test_state_blob(void **s)
{
    (void)s;
    lc_loss_scaler a, b;
    lc_loss_scaler_init(&a);
    for (int i = 0; i < 77; i++)
        lc_loss_scaler_update(&a, i == 10);
    uint8_t blob[LC_LOSS_SCALER_STATE_SIZE];
    lc_loss_scaler_state_save(&a, blob);
    lc_loss_scaler_init(&b);
    assert_int_equal(lc_loss_scaler_state_load(&b, blob, sizeof blob), LC_OK);
    assert_memory_equal(&a.scale, &b.scale, sizeof a.scale);
    assert_int_equal(a.growth_tracker, b.growth_tracker);
    assert_int_equal(b.growth_tracker, 66);
    assert_true(b.scale == 32768.0f);
    /* refused: wrong size, bad magic, a tracker past the interval */
    assert_int_equal(lc_loss_scaler_state_load(&b, blob, sizeof blob - 1), LC_ERR_INVALID);
    blob[0] = 'X';
    assert_int_equal(lc_loss_scaler_state_load(&b, blob, sizeof blob), LC_ERR_INVALID);
    lc_loss_scaler bad = a;
    bad.growth_tracker = 5000;
    lc_loss_scaler_state_save(&bad, blob);
    assert_int_equal(lc_loss_scaler_state_load(&b, blob, sizeof blob), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "growth_tracker"));
    assert_int_equal(b.growth_tracker, 66); /* unchanged on error */
    bad = a;
    bad.scale = INFINITY;
    assert_int_equal(lc_loss_scaler_check(&bad), LC_ERR_INVALID);
}

static void test_unscale_inf_check(void **s)
{
    (void)s;
    float a[37], b[5];
    for (int i = 0; i < 37; i++)
        a[i] = (float)(i - 18) * 1024.0f;
    for (int i = 0; i < 5; i++)
        b[i] = 65504.0f;
    float *bufs[3] = {a, NULL, b};
    size_t lens[3] = {37, 9, 5};
    int found = -1;
    lc_unscale_inf_check(bufs, lens, 3, 1.0f / 1024.0f, &found);
    assert_int_equal(found, 0);
    for (int i = 0; i < 37; i++)
        assert_true(a[i] == (float)(i - 18));
    assert_true(b[4] == 65504.0f / 1024.0f);

    /* an Inf anywhere: found, and every buffer still unscaled */
    a[3] = INFINITY;
    lc_unscale_inf_check(bufs, lens, 3, 0.5f, &found);
    assert_int_equal(found, 1);
    assert_true(a[0] == -9.0f);
    assert_true(b[0] == 65504.0f / 2048.0f);
    a[3] = 0.0f;
    a[36] = -INFINITY;
    lc_unscale_inf_check(bufs, lens, 3, 1.0f, &found);
    assert_int_equal(found, 1);
    a[36] = 0.0f;
    b[2] = NAN;
    lc_unscale_inf_check(bufs, lens, 3, 1.0f, &found);
    assert_int_equal(found, 1);
    b[2] = 1.0f;
    lc_unscale_inf_check(bufs, lens, 3, 1.0f, &found);
    assert_int_equal(found, 0);
    /* a finite value that overflows when multiplied counts too */
    a[0] = FLT_MAX;
    lc_unscale_inf_check(bufs, lens, 3, 4.0f, &found);
    assert_int_equal(found, 1);
    assert_int_equal(lc_has_nonfinite(b, 5), 0);
    b[1] = -NAN;
    assert_int_equal(lc_has_nonfinite(b, 5), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_growth_after_2000_clean_steps),
        cmocka_unit_test(test_backoff_resets_the_count),
        cmocka_unit_test(test_no_growth_to_inf),
        cmocka_unit_test(test_state_blob),
        cmocka_unit_test(test_unscale_inf_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
