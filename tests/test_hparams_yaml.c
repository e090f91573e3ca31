/*
 * tests/test_hparams_yaml.c — hparams.yaml text (nesting, types, quoting,
 * folding, clashes) and the atomic file write. The expected texts are what
 * PyYAML 6's yaml.dump gives for the same nested dicts; the integration test
 * tests/integration/test_hparams_yaml.py compares against PyYAML itself on
 * random inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv/hparams_yaml.h"
#include "testutil.h"

/* ---- building params ------------------------------------------------------ */

#define MAXP 64

typedef struct plist {
    lc_param_payload p[MAXP];
    const lc_param_payload *pp[MAXP];
    size_t n;
} plist;

static lc_param_payload *padd(plist *l, const char *key)
{
    assert_true(l->n < MAXP);
    lc_param_payload *p = &l->p[l->n];
    memset(p, 0, sizeof *p);
    p->key = p->original = (char *)key;
    l->pp[l->n] = p;
    l->n++;
    return p;
}

static void pstr(plist *l, const char *key, const char *v)
{
    lc_param_payload *p = padd(l, key);
    p->type = LC_PARAM_STR;
    p->text = (char *)v;
}

static void pint(plist *l, const char *key, int64_t v)
{
    lc_param_payload *p = padd(l, key);
    p->type = LC_PARAM_INT;
    p->i = v;
}

static void pdbl(plist *l, const char *key, double v)
{
    lc_param_payload *p = padd(l, key);
    p->type = LC_PARAM_DOUBLE;
    p->d = v;
}

static void pbool(plist *l, const char *key, int v)
{
    lc_param_payload *p = padd(l, key);
    p->type = LC_PARAM_BOOL;
    p->i = v;
}

static char *render(const plist *l)
{
    char *text = NULL, err[256] = "";
    size_t len = 0;
    int rc = lc_hparams_yaml_render(l->pp, l->n, &text, &len, err, sizeof err);
    if (rc != 0)
        fail_msg("render failed: %s", err);
    assert_int_equal(strlen(text), len);
    return text;
}

static void expect_yaml(const plist *l, const char *want)
{
    char *got = render(l);
    if (strcmp(got, want) != 0)
        fail_msg("hparams.yaml differs\n--- got\n%s--- want\n%s", got, want);
    free(got);
}

/* ---- text ------------------------------------------------------------------ */

static void test_nested_keys_and_types(void **state)
{
    (void)state;
    plist l = {0};
    pint(&l, "seed", 42);
    pdbl(&l, "optimizer/lr", 0.1);
    pstr(&l, "optimizer/name", "adam");
    pstr(&l, "optimizer/betas", "[0.9, 0.999]");
    pdbl(&l, "optimizer/eps", 1e-08);
    pbool(&l, "optimizer/nesterov", 0);
    pint(&l, "model/layers/hidden", 256);
    pdbl(&l, "model/dropout", 0.0);
    pint(&l, "neg", -5);
    expect_yaml(&l, "model:\n"
                    "  dropout: 0.0\n"
                    "  layers:\n"
                    "    hidden: 256\n"
                    "neg: -5\n"
                    "optimizer:\n"
                    "  betas: '[0.9, 0.999]'\n"
                    "  eps: 1.0e-08\n"
                    "  lr: 0.1\n"
                    "  name: adam\n"
                    "  nesterov: false\n"
                    "seed: 42\n");
}

static void test_floats(void **state)
{
    (void)state;
    plist l = {0};
    pdbl(&l, "tiny", 1e-07);
    pdbl(&l, "big", 1e16);
    pdbl(&l, "nan", NAN);
    pdbl(&l, "inf", INFINITY);
    pdbl(&l, "ninf", -INFINITY);
    pdbl(&l, "neg0", -0.0);
    pdbl(&l, "three", 3.0);
    pdbl(&l, "third", 1.0 / 3.0);
    pdbl(&l, "f32", (double)0.1f);
    expect_yaml(&l, "big: 1.0e+16\n"
                    "f32: 0.10000000149011612\n"
                    "inf: .inf\n"
                    "nan: .nan\n"
                    "neg0: -0.0\n"
                    "ninf: -.inf\n"
                    "third: 0.3333333333333333\n"
                    "three: 3.0\n"
                    "tiny: 1.0e-07\n");
}

static void test_string_quoting(void **state)
{
    (void)state;
    plist l = {0};
    pstr(&l, "sci", "1e5");        /* not a YAML 1.1 float: plain */
    pstr(&l, "flt", "1.5");        /* would read as a float */
    pstr(&l, "yes", "yes");        /* the key too reads as a bool */
    pstr(&l, "null", "null");
    pstr(&l, "date", "2024-01-31");
    pstr(&l, "empty", "");
    pstr(&l, "colon", "a: b");
    pstr(&l, "hash", "a #b");
    pstr(&l, "dash", "- x");
    pstr(&l, "apos", "it's");
    pstr(&l, "lead_apos", "'x");
    pstr(&l, "space", " lead");
    pstr(&l, "multi", "a\nb");
    pstr(&l, "tab", "a\tb");
    pstr(&l, "utf8", "caf\xc3\xa9");
    expect_yaml(&l, "apos: it's\n"
                    "colon: 'a: b'\n"
                    "dash: '- x'\n"
                    "date: '2024-01-31'\n"
                    "empty: ''\n"
                    "flt: '1.5'\n"
                    "hash: 'a #b'\n"
                    "lead_apos: '''x'\n"
                    "multi: 'a\n"
                    "\n"
                    "  b'\n"
                    "'null': 'null'\n"
                    "sci: 1e5\n"
                    "space: ' lead'\n"
                    "tab: \"a\\tb\"\n"
                    "utf8: \"caf\\xE9\"\n"
                    "'yes': 'yes'\n");
}

static void test_long_value_folds_and_long_key(void **state)
{
    (void)state;
    plist l = {0};
    char longkey[126];
    memset(longkey, 'k', 125);
    longkey[125] = 0;
    pstr(&l, "note", "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt");
    pint(&l, longkey, 1);
    char want[512];
    snprintf(want, sizeof want,
             "? %s\n: 1\n"
             "note: lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n"
             "  incididunt\n",
             longkey);
    expect_yaml(&l, want);
}

static void test_leaf_and_prefix_clash(void **state)
{
    (void)state;
    const char *want = "a: 1\n"
                       "a/b: 2\n"
                       "x:\n"
                       "  y: 3\n"
                       "  y/z: 4\n"
                       "  y/z/w: 5\n";
    /* the same text whatever the order */
    int orders[3][5] = {{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 4, 0, 3, 1}};
    const char *keys[5] = {"a", "a/b", "x/y", "x/y/z", "x/y/z/w"};
    for (int o = 0; o < 3; o++) {
        plist l = {0};
        for (int i = 0; i < 5; i++)
            pint(&l, keys[orders[o][i]], orders[o][i] + 1);
        expect_yaml(&l, want);
    }
}

static void test_duplicate_key_last_wins(void **state)
{
    (void)state;
    plist l = {0};
    pint(&l, "lr", 1);
    pstr(&l, "opt", "sgd");
    pdbl(&l, "lr", 0.5);
    expect_yaml(&l, "lr: 0.5\nopt: sgd\n");
}

static void test_empty(void **state)
{
    (void)state;
    plist l = {0};
    expect_yaml(&l, "{}\n");
}

static void test_bad_input(void **state)
{
    (void)state;
    plist l = {0};
    pint(&l, "a", 1);
    l.p[0].key = NULL;
    char *text = NULL, err[256] = "";
    size_t len;
    assert_int_equal(lc_hparams_yaml_render(l.pp, l.n, &text, &len, err, sizeof err), -1);
    assert_null(text);
    assert_non_null(strstr(err, "no key"));
}

/* ---- the file -------------------------------------------------------------- */

static void test_write_file(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("hparams");
    assert_non_null(dir);
    plist l = {0};
    pdbl(&l, "optimizer/lr", 0.1);
    pint(&l, "seed", 7);
    char err[512] = "";
    assert_int_equal(lc_hparams_yaml_write(dir, l.pp, l.n, err, sizeof err), 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/hparams.yaml", dir);
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    assert_string_equal(text, "optimizer:\n  lr: 0.1\nseed: 7\n");
    free(text);

    /* rewritten in place with new params; no temp file left behind */
    pbool(&l, "amp", 1);
    assert_int_equal(lc_hparams_yaml_write(dir, l.pp, l.n, err, sizeof err), 0);
    text = tu_read_file(path, NULL);
    assert_string_equal(text, "amp: true\noptimizer:\n  lr: 0.1\nseed: 7\n");
    free(text);
    snprintf(path, sizeof path, "%s/hparams.yaml.tmp", dir);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_write_unwritable(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("hparams");
    char file[2048], sub[4096];
    snprintf(file, sizeof file, "%s/a_file", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(sub, sizeof sub, "%s/run", file); /* a directory under a file */
    plist l = {0};
    pint(&l, "seed", 1);
    char err[512] = "";
    assert_int_equal(lc_hparams_yaml_write(sub, l.pp, l.n, err, sizeof err), -1);
    assert_non_null(strstr(err, "hparams.yaml"));
    assert_non_null(strstr(err, sub));
    assert_non_null(strstr(err, "Not a directory"));
    err[0] = 0;
    assert_int_equal(lc_hparams_yaml_write(NULL, l.pp, l.n, err, sizeof err), -1);
    assert_true(err[0] != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_keys_and_types),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_string_quoting),
        cmocka_unit_test(test_long_value_folds_and_long_key),
        cmocka_unit_test(test_leaf_and_prefix_clash),
        cmocka_unit_test(test_duplicate_key_last_wins),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_write_file),
        cmocka_unit_test(test_write_unwritable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
