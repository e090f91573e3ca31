/*
 * tests/test_wandb_text.c — the W&B backend's pure parts: numbers as W&B's
 * extended JSON writes them (NaN, Infinity bare; a double reads back
 * exactly), param values, the config's nesting and
 * config.yaml, the summary line (min/max where asked), run ids, netrc, the configuration from
 * the environment, and the offline file's framing (blocks, padding, CRC).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "remote/wandb/wandb_internal.h"
#include "testutil.h"

static char *num(double v)
{
    static char out[64];
    lc_jw b;
    lc_jw_init(&b, 0);
    wandb_jw_number(&b, v);
    char *t = lc_jw_finish(&b);
    snprintf(out, sizeof out, "%s", t);
    free(t);
    return out;
}

static void test_numbers(void **state)
{
    (void)state;
    assert_string_equal(num(NAN), "NaN");
    assert_string_equal(num(INFINITY), "Infinity");
    assert_string_equal(num(-INFINITY), "-Infinity");
    assert_string_equal(num(0.1), "0.1");
    assert_string_equal(num(1.0 / 3.0), "0.3333333333333333");
    assert_string_equal(num(42), "42.0");
    double odd[] = {0.1 + 0.2, 1e-300, 5e-324, 1.7976931348623157e308, -2.5e-7, 1796506584.441};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        assert_true(strtod(num(odd[i]), NULL) == odd[i]);
}

static void test_param_values(void **state)
{
    (void)state;
    cJSON *v = wandb_param_value("true");
    assert_true(cJSON_IsTrue(v));
    cJSON_Delete(v);
    v = wandb_param_value("None");
    assert_true(cJSON_IsNull(v));
    cJSON_Delete(v);
    v = wandb_param_value("0.001");
    assert_true(cJSON_IsNumber(v) && v->valuedouble == 0.001);
    cJSON_Delete(v);
    v = wandb_param_value("adam");
    assert_string_equal(v->valuestring, "adam");
    cJSON_Delete(v);
    v = wandb_param_value(" 3"); /* not a number as written */
    assert_true(cJSON_IsString(v));
    cJSON_Delete(v);
    v = wandb_param_value("nan"); /* not finite: a string */
    assert_true(cJSON_IsString(v));
    cJSON_Delete(v);
}

static void test_config_nesting(void **state)
{
    (void)state;
    cJSON *c = cJSON_CreateObject();
    assert_true(wandb_config_set(c, "lr", wandb_param_value("0.1")));
    assert_true(wandb_config_set(c, "optimizer/name", wandb_param_value("adam")));
    assert_true(wandb_config_set(c, "optimizer/betas/b1", wandb_param_value("0.9")));
    assert_true(wandb_config_set(c, "optimizer/name", wandb_param_value("sgd"))); /* replaced */
    char *t = cJSON_PrintUnformatted(c);
    assert_string_equal(t, "{\"lr\":{\"value\":0.1},\"optimizer\":{\"value\":{\"name\":\"sgd\","
                           "\"betas\":{\"b1\":0.9}}}}");
    cJSON_free(t);
    char *yaml = wandb_config_yaml(c);
    assert_non_null(strstr(yaml, "wandb_version: 1\n"));
    assert_non_null(strstr(yaml, "\"optimizer\":\n  desc: null\n  value: {\"name\":\"sgd\""));
    free(yaml);
    /* a scalar turned into a group */
    assert_true(wandb_config_set(c, "lr/base", wandb_param_value("1")));
    t = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "lr"));
    assert_string_equal(t, "{\"value\":{\"base\":1}}");
    cJSON_free(t);
    cJSON_Delete(c);
}

static void test_summary(void **state)
{
    (void)state;
    wandb_summary s = {0};
    s.base = cJSON_Parse("{\"old\": 1, \"a\": 5, \"_step\": 3}");
    wandb_summary_set(&s, "a", 1.5);
    wandb_summary_set(&s, "b", NAN);
    wandb_summary_set(&s, "a", 2.5);
    s.have_line = true;
    s.step = 7;
    s.runtime = 1.25;
    s.timestamp = 100;
    char *j = wandb_summary_json(&s);
    assert_string_equal(j, "{\"old\":1,\"a\":2.5,\"b\":NaN,\"_step\":7,\"_runtime\":1.25,"
                           "\"_timestamp\":100.0,\"_wandb\":{\"runtime\":1}}");
    free(j);
    wandb_summary_free(&s);
}

static void test_summary_spec(void **state)
{
    (void)state;
    wandb_summary_spec sp;
    assert_int_equal(wandb_summary_spec_parse("val/acc=max;train/loss=min,last", &sp), LC_OK);
    assert_int_equal(sp.n, 2);
    assert_int_equal(wandb_summary_aggs(&sp, "val/acc"), WANDB_SUM_MAX);
    assert_int_equal(wandb_summary_aggs(&sp, "train/loss"), WANDB_SUM_MIN | WANDB_SUM_LAST);
    assert_int_equal(wandb_summary_aggs(&sp, "other"), WANDB_SUM_LAST);
    wandb_summary s = {0};
    s.spec = &sp;
    s.base = cJSON_Parse("{\"val/acc\": {\"max\": 0.95}}"); /* a resumed run's */
    wandb_summary_set(&s, "val/acc", 0.5);
    wandb_summary_set(&s, "val/acc", NAN);
    wandb_summary_set(&s, "train/loss", NAN);
    wandb_summary_set(&s, "train/loss", 2.0);
    wandb_summary_set(&s, "train/loss", 3.0);
    wandb_summary_set(&s, "other", 1.0);
    char *j = wandb_summary_json(&s);
    assert_string_equal(j, "{\"val/acc\":{\"max\":0.95},\"train/loss\":{\"min\":2.0,\"last\":3.0},"
                           "\"other\":1.0}");
    free(j);
    wandb_summary_free(&s);
    wandb_summary_spec_free(&sp);
    const char *bad[] = {"val/acc", "val/acc=", "val/acc=mean", "=max", "a=max;b", NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(wandb_summary_spec_parse(bad[i], &sp), LC_ERR_INVALID);
        assert_non_null(strstr(lc_errmsg(), "LIGHTC_WANDB_SUMMARY"));
    }
    assert_int_equal(wandb_summary_spec_parse("", &sp), LC_OK);
    assert_int_equal(sp.n, 0);
}

static void test_run_ids(void **state)
{
    (void)state;
    char a[9], b[9];
    wandb_run_id_from_uuid("86f1f0ff40f374c3d4073964fc910811", a);
    wandb_run_id_from_uuid("86f1f0ff40f374c3d4073964fc910811", b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 8);
    for (int i = 0; i < 8; i++)
        assert_true((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'z'));
    wandb_run_id_from_uuid("86f1f0ff40f374c4d4073964fc910811", b);
    assert_string_not_equal(a, b);
    const char *why;
    assert_true(wandb_id_ok("abc-DEF_1", &why));
    assert_false(wandb_id_ok("a/b", &why));
    assert_false(wandb_id_ok(" a", &why));
    assert_false(wandb_id_ok("", &why));
}

static void test_netrc(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/netrc-%d", tu_tmpdir("wandb-text"), (int)getpid());
    FILE *f = fopen(path, "w");
    fputs("machine other.host login a password WRONG\n"
          "machine api.wandb.ai\n  login user\n  password KEY1234\n"
          "default login x password DEFAULTKEY\n", f);
    fclose(f);
    char *k = wandb_netrc_password(path, "api.wandb.ai");
    assert_string_equal(k, "KEY1234");
    free(k);
    k = wandb_netrc_password(path, "127.0.0.1");
    assert_string_equal(k, "DEFAULTKEY");
    free(k);
    assert_null(wandb_netrc_password("/nonexistent/netrc", "api.wandb.ai"));
    unlink(path);
}

static void clear_env(void)
{
    const char *vars[] = {"WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_ENTITY",
                          "WANDB_PROJECT", "WANDB_RUN_ID", "WANDB_TAGS", "WANDB_RESUME",
                          "NETRC", "LIGHTC_WANDB_STREAM_SECS", NULL};
    for (int i = 0; vars[i]; i++)
        unsetenv(vars[i]);
    setenv("HOME", "/nonexistent", 1);
}

static void test_config_env(void **state)
{
    (void)state;
    wandb_config c;
    clear_env();
    /* online without a key: a clear error */
    assert_int_equal(wandb_config_load(&c), LC_ERR_AUTH);
    assert_non_null(strstr(lc_errmsg(), "set WANDB_API_KEY"));
    /* offline needs none */
    setenv("WANDB_MODE", "dryrun", 1);
    assert_int_equal(wandb_config_load(&c), LC_OK);
    assert_int_equal(c.mode, WANDB_OFFLINE);
    wandb_config_free(&c);
    setenv("WANDB_MODE", "sometimes", 1);
    assert_int_equal(wandb_config_load(&c), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "online, offline or disabled"));
    setenv("WANDB_MODE", "online", 1);
    setenv("WANDB_API_KEY", "k0123456789012345678901234567890123456789", 1);
    setenv("WANDB_BASE_URL", "https://api.example.com/", 1);
    setenv("WANDB_TAGS", " a, b ,,c", 1);
    setenv("LIGHTC_WANDB_STREAM_SECS", "0.5", 1);
    assert_int_equal(wandb_config_load(&c), LC_OK);
    assert_string_equal(c.base_url, "https://api.example.com");
    assert_string_equal(c.app_url, "https://example.com");
    assert_string_equal(c.tags[0], "a");
    assert_string_equal(c.tags[1], "b");
    assert_string_equal(c.tags[2], "c");
    assert_null(c.tags[3]);
    assert_true(c.stream_secs == 0.5);
    wandb_config_free(&c);
    setenv("WANDB_RUN_ID", "bad/id", 1);
    assert_int_equal(wandb_config_load(&c), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "WANDB_RUN_ID"));
    unsetenv("WANDB_RUN_ID");
    assert_int_equal(wandb_config_load(&c), LC_OK);
    assert_true(c.checkpoints);
    wandb_config_free(&c);
    setenv("LIGHTC_WANDB_CHECKPOINTS", "0", 1);
    assert_int_equal(wandb_config_load(&c), LC_OK);
    assert_false(c.checkpoints);
    wandb_config_free(&c);
    setenv("LIGHTC_WANDB_CHECKPOINTS", "sometimes", 1);
    assert_int_equal(wandb_config_load(&c), LC_ERR_INVALID);
    unsetenv("LIGHTC_WANDB_CHECKPOINTS");
    setenv("WANDB_RESUME", "maybe", 1);
    assert_int_equal(wandb_config_load(&c), LC_ERR_INVALID);
    /* the key never shows in a message */
    assert_null(strstr(lc_errmsg(), "k0123456789"));
    clear_env();
}

/* The offline log: a record that does not fit the block's rest is split,
   fewer than 7 bytes left are zeros, every chunk's CRC is zlib's crc32. */
static void test_log_framing(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/log-%d.wandb", tu_tmpdir("wandb-text"), (int)getpid());
    unlink(path);
    wandb_log w;
    assert_int_equal(wandb_log_open(&w, path, 0), LC_OK);
    static unsigned char big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 7);
    /* fill block 0 up to 3 bytes before its end: 32768 - 7 (header) - 7 - 3 */
    assert_int_equal(wandb_log_append(&w, big, 32768 - 7 - 7 - 3), LC_OK);
    assert_int_equal(wandb_log_append(&w, "xyz", 3), LC_OK); /* goes to block 1 */
    assert_int_equal(wandb_log_append(&w, big, sizeof big), LC_OK);
    uint64_t end = w.pos;
    wandb_log_close(&w);
    FILE *f = fopen(path, "rb");
    static unsigned char data[200000];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    assert_int_equal(n, end);
    assert_memory_equal(data, ":W&B\xe1\xbe\x00", 7);
    assert_memory_equal(data + 32765, "\0\0\0", 3); /* padding */
    size_t pos = 7;
    int types[16], nt = 0;
    while (pos < n) {
        size_t left = 32768 - pos % 32768;
        if (left < 7) {
            pos += left;
            continue;
        }
        uint32_t crc = data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16 |
                       (uint32_t)data[pos + 3] << 24;
        size_t len = data[pos + 4] | data[pos + 5] << 8;
        unsigned char t = data[pos + 6];
        uLong c = crc32(crc32(0L, &t, 1), data + pos + 7, (uInt)len);
        assert_int_equal(c, crc);
        assert_true(pos / 32768 == (pos + 7 + len - 1) / 32768);
        types[nt++] = t;
        pos += 7 + len;
    }
    assert_int_equal(pos, n);
    /* FULL, FULL (in block 1), FIRST, MIDDLE, LAST */
    assert_int_equal(nt, 5);
    int want[] = {1, 1, 2, 3, 4};
    for (int i = 0; i < 5; i++)
        assert_int_equal(types[i], want[i]);
    /* reopen at an earlier size: cut back and append from there */
    assert_int_equal(wandb_log_open(&w, path, 32768 + 10), LC_OK);
    assert_int_equal(w.pos, 32768 + 10);
    wandb_log_close(&w);
    assert_int_equal(wandb_log_open(&w, path, 10 * 32768), LC_ERR_IO); /* longer than the file */
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_param_values),  cmocka_unit_test(test_config_nesting),
        cmocka_unit_test(test_summary),       cmocka_unit_test(test_summary_spec),
        cmocka_unit_test(test_run_ids),
        cmocka_unit_test(test_netrc),         cmocka_unit_test(test_config_env),
        cmocka_unit_test(test_log_framing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
