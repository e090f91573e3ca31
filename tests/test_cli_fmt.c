/*
 * tests/test_cli_fmt.c — unit tests of the lightc CLI's output helpers:
 * time / duration / number formatting (cli/fmt.c), aligned tables
 * (cli/table.c) and comma-list splitting (cli/args.c).
 *
 * The CLI's sources are not part of the library, so the files under test
 * are compiled into this test directly.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "lightc/hub.h"
#include "../cli/args.c"
#include "../cli/fmt.c"
#include "../cli/table.c"

static void test_duration(void **state)
{
    (void)state;
    char b[32];
    static const struct {
        double s;
        const char *want;
    } cases[] = {{0, "0s"},         {59.9, "59s"},      {60, "1m00s"},   {65, "1m05s"},
                 {3599, "59m59s"},  {3600, "1h00m"},    {3725, "1h02m"}, {86399, "23h59m"},
                 {90000, "1d01h"},  {-1, "-"},          {NAN, "-"},      {INFINITY, "-"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_fmt_duration(cases[i].s, b, sizeof b);
        assert_string_equal(b, cases[i].want);
    }
}

static void test_time(void **state)
{
    (void)state;
    char b[32];
    setenv("TZ", "UTC", 1);
    tzset();
    cli_fmt_time(1764410405.9, b, sizeof b);
    assert_string_equal(b, "2025-11-29 10:00:05");
    cli_fmt_time(NAN, b, sizeof b);
    assert_string_equal(b, "-");
    cli_fmt_time(-5, b, sizeof b);
    assert_string_equal(b, "-");
}

static void test_value(void **state)
{
    (void)state;
    char b[32];
    cli_fmt_value(0.000123456789, b, sizeof b);
    assert_string_equal(b, "0.000123457");
    cli_fmt_value(NAN, b, sizeof b);
    assert_string_equal(b, "nan");
    cli_fmt_value(-INFINITY, b, sizeof b);
    assert_string_equal(b, "-inf");
    cli_fmt_value(1e20, b, sizeof b);
    assert_string_equal(b, "1e+20");
}

static void test_exact_round_trips(void **state)
{
    (void)state;
    const double vals[] = {0.1, 1.0 / 3.0, 1764410405.1239998, 1764410405.123 + 0.001, DBL_MAX, DBL_MIN,
                           4.9406564584124654e-324, -0.0, 123456789012345678.0, 2.5};
    char b[40];
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        cli_fmt_exact(vals[i], b, sizeof b);
        double back = strtod(b, NULL);
        assert_memory_equal(&back, &vals[i], sizeof back); /* bit for bit, -0 included */
    }
    cli_fmt_exact(0.1, b, sizeof b);
    assert_string_equal(b, "0.1"); /* shortest, not 0.10000000000000001 */
    cli_fmt_exact(NAN, b, sizeof b);
    assert_string_equal(b, "nan");
    cli_fmt_exact(INFINITY, b, sizeof b);
    assert_string_equal(b, "inf");
    cli_fmt_exact(-INFINITY, b, sizeof b);
    assert_string_equal(b, "-inf");
}

/* Print t into a string (malloc'd). */
static char *render(cli_table *t, const char *indent, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    *rc = cli_table_print(t, f, indent);
    fclose(f);
    return buf;
}

static void test_table_alignment(void **state)
{
    (void)state;
    const char *h[] = {"KEY", "N", "NOTE"};
    cli_table *t = cli_table_new(3, h);
    assert_non_null(t);
    cli_table_right(t, 1);
    cli_table_row(t);
    cli_table_cell(t, "train/loss");
    cli_table_cell(t, "%d", 7);
    cli_table_cell(t, "short");
    cli_table_row(t);
    cli_table_cell(t, "lr");
    cli_table_cell(t, "%d", 1234);
    cli_table_cell(t, "%s", ""); /* empty last cell: no trailing blanks */
    cli_table_row(t);
    cli_table_cell(t, "caf\xc3\xa9"); /* 4 columns wide, 5 bytes */
    cli_table_cell(t, "1");
    cli_table_cell(t, "x");
    assert_int_equal(cli_table_rows(t), 3);
    int rc;
    char *out = render(t, "  ", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out,
                        "  KEY            N  NOTE\n"
                        "  train/loss     7  short\n"
                        "  lr          1234\n"
                        "  caf\xc3\xa9           1  x\n");
    free(out);
    cli_table_free(t);
}

static void test_table_too_many_cells(void **state)
{
    (void)state;
    cli_table *t = cli_table_new(1, NULL);
    cli_table_cell(t, "no row yet");   /* a cell before any row */
    cli_table_row(t);
    cli_table_cell(t, "a");
    cli_table_cell(t, "b");            /* more cells than columns */
    int rc;
    char *out = render(t, NULL, &rc);
    assert_int_equal(rc, -1);
    free(out);
    cli_table_free(t);
    cli_table_free(NULL); /* safe */
}

static void test_csv_list(void **state)
{
    (void)state;
    cli_strlist l = {0};
    assert_int_equal(cli_strlist_add_csv(&l, " train/loss, val/acc,,train/loss ,\tlr-Adam "), 0);
    assert_int_equal((int)l.count, 3);
    assert_string_equal(l.items[0], "train/loss");
    assert_string_equal(l.items[1], "val/acc");
    assert_string_equal(l.items[2], "lr-Adam");
    assert_true(cli_strlist_has(&l, "val/acc"));
    assert_false(cli_strlist_has(&l, "val"));
    assert_int_equal(cli_strlist_add_csv(&l, ",, ,"), 0);
    assert_int_equal((int)l.count, 3);
    cli_strlist_free(&l);
    assert_int_equal((int)l.count, 0);
}

static void test_root_default(void **state)
{
    (void)state;
    unsetenv("LIGHTC_ROOT");
    assert_string_equal(cli_root(NULL), LC_DEFAULT_ROOT);
    setenv("LIGHTC_ROOT", "/data/runs", 1);
    assert_string_equal(cli_root(NULL), "/data/runs");
    assert_string_equal(cli_root(""), "/data/runs");
    assert_string_equal(cli_root("mine"), "mine"); /* the flag beats the environment */
    unsetenv("LIGHTC_ROOT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),         cmocka_unit_test(test_time),
        cmocka_unit_test(test_value),            cmocka_unit_test(test_exact_round_trips),
        cmocka_unit_test(test_table_alignment),  cmocka_unit_test(test_table_too_many_cells),
        cmocka_unit_test(test_csv_list),         cmocka_unit_test(test_root_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
