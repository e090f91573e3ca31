/*
 * tests/test_keys.c — key normalisation (MLflow's rules) and name checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bus/keys.h"

static void expect_norm(const char *in, const char *want, int changed)
{
    char out[LC_KEY_MAX + 1];
    int c = lc_normalize_key(in, out, sizeof out);
    assert_int_equal(c, changed);
    assert_string_equal(out, want);
}

static void test_valid_keys_unchanged(void **s)
{
    (void)s;
    expect_norm("train/loss", "train/loss", 0);
    expect_norm("lr-Adam", "lr-Adam", 0);
    expect_norm("a b:c.d_e", "a b:c.d_e", 0);
}

static void test_bad_chars_become_underscore(void **s)
{
    (void)s;
    expect_norm("loss(train)", "loss_train_", 1);
    expect_norm("acc%", "acc_", 1);
    expect_norm("a\tb", "a_b", 1);
    /* one '_' per UTF-8 character */
    expect_norm("r\xc3\xa9sum\xc3\xa9", "r_sum_", 1);
    /* invalid UTF-8: one '_' per byte */
    expect_norm("x\xff\xfey", "x__y", 1);
    /* SQL metacharacters */
    expect_norm("k'; DROP TABLE runs;--", "k__ DROP TABLE runs_--", 1);
}

static void test_slashes_and_dot_segments(void **s)
{
    (void)s;
    expect_norm("/train//loss/", "train/loss", 1);
    expect_norm("a/./b", "a/_/b", 1);
    expect_norm("../../x", "__/__/x", 1);
    expect_norm("a/..", "a/__", 1);
    expect_norm("a.b/..c", "a.b/..c", 0);
}

static void test_empty_keys_rejected(void **s)
{
    (void)s;
    char out[LC_KEY_MAX + 1];
    assert_int_equal(lc_normalize_key("", out, sizeof out), -1);
    assert_int_equal(lc_normalize_key("///", out, sizeof out), -1);
    assert_int_equal(lc_normalize_key(NULL, out, sizeof out), -1);
    /* too small output buffer */
    assert_int_equal(lc_normalize_key("a", out, 10), -1);
}

static void test_long_keys_cut_with_hash(void **s)
{
    (void)s;
    static char big[10 * 1024 + 1], big2[10 * 1024 + 1];
    memset(big, 'k', sizeof big - 1);
    memcpy(big2, big, sizeof big);
    big2[9000] = 'z';
    char a[LC_KEY_MAX + 1], b[LC_KEY_MAX + 1];
    assert_int_equal(lc_normalize_key(big, a, sizeof a), 1);
    assert_int_equal(lc_normalize_key(big2, b, sizeof b), 1);
    assert_int_equal(strlen(a), LC_KEY_MAX);
    assert_int_equal(strlen(b), LC_KEY_MAX);
    assert_string_not_equal(a, b); /* the hash keeps them apart */
    assert_int_equal(a[LC_KEY_MAX - 9], '-');
    /* exactly 250 stays */
    char k250[251];
    memset(k250, 'x', 250);
    k250[250] = 0;
    expect_norm(k250, k250, 0);
    /* normalised again is stable */
    char again[LC_KEY_MAX + 1];
    assert_int_equal(lc_normalize_key(a, again, sizeof again), 0);
    assert_string_equal(a, again);
}

static void test_names(void **s)
{
    (void)s;
    char msg[256];
    assert_int_equal(lc_validate_name("baseline-1", "run name", msg, sizeof msg), 0);
    assert_int_equal(lc_validate_name("lr=0.1,bs=64", "run name", msg, sizeof msg), 0);
    assert_int_equal(lc_validate_name("../../x", "run name", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "'.'"));
    assert_int_equal(lc_validate_name("a/b", "run name", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "'/'"));
    assert_int_equal(lc_validate_name("", "experiment", msg, sizeof msg), -1);
    assert_int_equal(lc_validate_name("x\n", "experiment", msg, sizeof msg), -1);
    assert_int_equal(lc_validate_name("it's", "experiment", msg, sizeof msg), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_keys_unchanged),
        cmocka_unit_test(test_bad_chars_become_underscore),
        cmocka_unit_test(test_slashes_and_dot_segments),
        cmocka_unit_test(test_empty_keys_rejected),
        cmocka_unit_test(test_long_keys_cut_with_hash),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
