/*
 * tests/test_utf8.c — UTF-8 checking and repair (common/utf8.c): the
 * expected outputs are what Python's bytes.decode('utf-8', 'replace')
 * gives, one U+FFFD per maximal invalid subpart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

#define R LC_UTF8_REPLACEMENT

static void expect_repair(const char *in, size_t n, const char *want)
{
    char *out = lc_utf8_repair(in, n);
    assert_non_null(out);
    assert_string_equal(out, want);
    assert_true(lc_utf8_valid(out, strlen(out)));
    assert_int_equal(lc_utf8_valid(in, n), strcmp(in, want) == 0 && strlen(want) == n);
    free(out);
}

#define REPAIR(lit, want) expect_repair(lit, sizeof lit - 1, want)

static void test_valid_text_is_kept(void **s)
{
    (void)s;
    REPAIR("", "");
    REPAIR("plain ascii, \"quotes\" and \\", "plain ascii, \"quotes\" and \\");
    REPAIR("\xe2\x82\xac \xc3\xa9 \xf0\x9f\x98\x80", "\xe2\x82\xac \xc3\xa9 \xf0\x9f\x98\x80");
    REPAIR("\xed\x9f\xbf", "\xed\x9f\xbf");         /* U+D7FF, just below the surrogates */
    REPAIR("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"); /* U+10FFFF, the last code point */
}

static void test_invalid_sequences_like_python(void **s)
{
    (void)s;
    REPAIR("\xff", R);
    REPAIR("a\xc3", "a" R);                 /* truncated at the end */
    REPAIR("\xe2\x82", R);                  /* one U+FFFD for a truncated character */
    REPAIR("\xe2\x82(", R "(");             /* broken off by an ASCII byte */
    REPAIR("\xf0\x9f\x98", R);
    REPAIR("\xf1\x80\x80\xc3\xa9", R "\xc3\xa9");
    REPAIR("\x80\x80", R R);                /* lone continuation bytes */
    REPAIR("\xc0\xaf", R R);                /* overlong '/' */
    REPAIR("\xe0\x80\x80", R R R);          /* overlong */
    REPAIR("\xf0\x80\x80", R R R);          /* overlong */
    REPAIR("\xed\xa0\x80", R R R);          /* a surrogate */
    REPAIR("\xf4\x90\x80\x80", R R R R);    /* above U+10FFFF */
    REPAIR("ok\xfe\xfftoo", "ok" R R "too");
}

static void test_char_lengths(void **s)
{
    (void)s;
    size_t bad;
    assert_int_equal(lc_utf8_char((const unsigned char *)"a", 1, &bad), 1);
    assert_int_equal(lc_utf8_char((const unsigned char *)"\xc3\xa9", 2, &bad), 2);
    assert_int_equal(lc_utf8_char((const unsigned char *)"\xc3\xa9", 1, &bad), 0);
    assert_int_equal(bad, 1);
    assert_int_equal(lc_utf8_char((const unsigned char *)"\xf0\x9f\x98x", 4, &bad), 0);
    assert_int_equal(bad, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_text_is_kept),
        cmocka_unit_test(test_invalid_sequences_like_python),
        cmocka_unit_test(test_char_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
