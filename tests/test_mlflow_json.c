/*
 * tests/test_mlflow_json.c — the MLflow backend's offline parts
 * (loggers/remote/mlflow/): number encoding the server's parser accepts
 * (NaN/Inf as strings, shortest round-trip doubles, int64 steps beyond 2^53, ms timestamps),
 * byte-identical log-batch bodies, cut param/tag values, the batch limits
 * and duplicate-key splits, the environment checks and the vtable's
 * constructor errors.
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
#include <sys/stat.h>
#include <unistd.h>

#include "remote/mlflow/mlflow_internal.h"

static void test_numbers(void **s)
{
    (void)s;
    char b[40];
    mlflow_json_double(NAN, b, sizeof b);
    assert_string_equal(b, "\"NaN\"");
    mlflow_json_double(INFINITY, b, sizeof b);
    assert_string_equal(b, "\"Infinity\"");
    mlflow_json_double(-INFINITY, b, sizeof b);
    assert_string_equal(b, "\"-Infinity\"");
    mlflow_json_double(0.1, b, sizeof b);
    assert_true(strtod(b, NULL) == 0.1);
    mlflow_json_double(1e300, b, sizeof b);
    assert_true(strtod(b, NULL) == 1e300);
    mlflow_json_double(-0.0, b, sizeof b);
    assert_string_equal(b, "-0.0");
    mlflow_json_double(0.1, b, sizeof b);
    assert_string_equal(b, "0.1"); /* shortest, not %.17g's 0.10000000000000001 */
    assert_int_equal(mlflow_ms(1700000000.123), 1700000000123LL);
    assert_int_equal(mlflow_ms(-5), 0);
    assert_int_equal(mlflow_ms(NAN), 0);
    assert_string_equal(mlflow_status_name(LC_RUN_CRASHED), "FAILED");
    assert_string_equal(mlflow_status_name(LC_RUN_KILLED), "KILLED");
    assert_string_equal(mlflow_status_name(LC_RUN_FINISHED), "FINISHED");
}

static void test_batch_body(void **s)
{
    (void)s;
    char *long_v = malloc(7001);
    memset(long_v, 'x', 7000);
    long_v[7000] = 0;
    lc_outbox_item it[] = {
        {.seq = 1, .kind = LC_OB_PARAM, .key = "lr", .text = "0.1"},
        {.seq = 2, .kind = LC_OB_PARAM, .key = "long", .text = long_v},
        {.seq = 3, .kind = LC_OB_TAG, .key = "t", .text = "v"},
        {.seq = 4, .kind = LC_OB_METRIC, .key = "loss", .value = NAN, .step = 1, .wall_time = 1.5},
        {.seq = 5, .kind = LC_OB_METRIC, .key = "loss", .value = 2.5,
         .step = (int64_t)9007199254740993LL, .wall_time = 1700000000.001},
    };
    size_t cut = 0;
    char *a = mlflow_json_log_batch("r1", it, 5, &cut);
    char *b = mlflow_json_log_batch("r1", it, 5, &cut);
    assert_non_null(a);
    assert_string_equal(a, b); /* a retry is byte-identical */
    assert_int_equal(cut, 1);
    assert_null(strchr(a, '\n'));
    assert_non_null(strstr(a, "\"value\":\"NaN\""));
    assert_non_null(strstr(a, "\"step\":9007199254740993"));
    assert_non_null(strstr(a, "\"timestamp\":1700000000001"));
    assert_non_null(strstr(a, "\"timestamp\":1500"));
    cJSON *j = cJSON_Parse(a);
    assert_non_null(j);
    cJSON *params = cJSON_GetObjectItem(j, "params");
    assert_int_equal(cJSON_GetArraySize(params), 2);
    const char *v = cJSON_GetObjectItem(cJSON_GetArrayItem(params, 1), "value")->valuestring;
    assert_int_equal(strlen(v), 6000);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "metrics")), 2);
    cJSON_Delete(j);
    free(a);
    free(b);
    free(long_v);
    /* code points, not bytes */
    assert_int_equal(mlflow_utf8_prefix("\xc3\xa9\xc3\xa9\xc3\xa9", 2), 4);
    assert_int_equal(mlflow_utf8_prefix("ab", 5), 2);
}

/* Keys with characters JSON must escape, and doubles at the edges of the
 * shortest-text layout, read back exactly by a JSON parser. */
static void test_batch_body_round_trip(void **s)
{
    (void)s;
    static const char *keys[] = {"a\"b", "back\\slash", "new\nline", "ctl\x01\x1f", "caf\xc3\xa9",
                                 "tab\tcr\r"};
    static const double values[] = {-0.0, 1e-07, 123456789.125, 1e16, 5e-324, 1.7976931348623157e308,
                                    0.1 + 0.2};
    enum { NK = sizeof keys / sizeof keys[0], NV = sizeof values / sizeof values[0] };
    lc_outbox_item it[NK * NV];
    for (size_t k = 0; k < NK; k++)
        for (size_t v = 0; v < NV; v++)
            it[k * NV + v] = (lc_outbox_item){.seq = (int64_t)(k * NV + v + 1), .kind = LC_OB_METRIC,
                                              .key = keys[k], .value = values[v],
                                              .step = -(int64_t)v, .wall_time = 2.0};
    size_t cut = 0;
    char *body = mlflow_json_log_batch("run\"x", it, NK * NV, &cut);
    assert_non_null(body);
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "run_id")->valuestring, "run\"x");
    cJSON *m = cJSON_GetObjectItem(j, "metrics");
    assert_int_equal(cJSON_GetArraySize(m), NK * NV);
    for (size_t i = 0; i < NK * NV; i++) {
        cJSON *o = cJSON_GetArrayItem(m, (int)i);
        assert_string_equal(cJSON_GetObjectItem(o, "key")->valuestring, it[i].key);
        double got = cJSON_GetObjectItem(o, "value")->valuedouble;
        assert_memory_equal(&got, &it[i].value, sizeof got); /* bit-exact, -0.0 included */
        assert_int_equal((int64_t)cJSON_GetObjectItem(o, "step")->valuedouble, it[i].step);
        assert_int_equal((int64_t)cJSON_GetObjectItem(o, "timestamp")->valuedouble, 2000);
    }
    cJSON_Delete(j);
    free(body);
    /* an item of another kind is not a log-batch body */
    lc_outbox_item text = {.seq = 1, .kind = LC_OB_TEXT, .key = "t", .text = "x"};
    assert_null(mlflow_json_log_batch("r", &text, 1, &cut));
}

static void test_batch_take(void **s)
{
    (void)s;
    size_t n = 2600;
    lc_outbox_item *it = calloc(n, sizeof *it);
    for (size_t i = 0; i < n; i++) {
        it[i].kind = LC_OB_METRIC;
        it[i].key = "m";
    }
    assert_int_equal(mlflow_batch_take(it, n), 1000);
    /* params: 100 per request */
    char keys[150][8];
    for (size_t i = 0; i < 150; i++) {
        snprintf(keys[i], sizeof keys[i], "p%zu", i);
        it[i].kind = LC_OB_PARAM;
        it[i].key = keys[i];
        it[i].text = "v";
    }
    assert_int_equal(mlflow_batch_take(it, n), 100);
    /* a repeated param key ends the batch before it */
    it[5].key = keys[2];
    assert_int_equal(mlflow_batch_take(it, n), 5);
    /* other kinds end a batch */
    it[3].kind = LC_OB_TEXT;
    assert_int_equal(mlflow_batch_take(it, n), 3);
    assert_int_equal(mlflow_batch_take(it + 3, n - 3), 0);
    /* the byte budget: 200 tags of 8000 bytes do not fit in one request */
    char *big = malloc(8001);
    memset(big, 'y', 8000);
    big[8000] = 0;
    for (size_t i = 0; i < 200; i++) {
        it[i].kind = LC_OB_TAG;
        it[i].key = keys[i % 150];
        it[i].text = big;
    }
    for (size_t i = 100; i < 200; i++) {
        it[i].kind = LC_OB_PARAM;
        it[i].key = keys[i - 100];
    }
    size_t k = mlflow_batch_take(it, 200); /* 100 tags, then params until ~900 kB */
    assert_true(k > 100 && k * 8000 < MLFLOW_MAX_BATCH_BYTES);
    free(big);
    free(it);
}

static void test_other_bodies(void **s)
{
    (void)s;
    const char *tags[] = {"mlflow.runName", "v0", "lightc.run_uuid", "abc", NULL};
    char *c = mlflow_json_create_run("7", "v0", 1700000000000LL, tags);
    assert_string_equal(c, "{\"experiment_id\":\"7\",\"run_name\":\"v0\",\"start_time\":"
                           "1700000000000,\"tags\":[{\"key\":\"mlflow.runName\",\"value\":\"v0\"},"
                           "{\"key\":\"lightc.run_uuid\",\"value\":\"abc\"}]}");
    free(c);
    c = mlflow_json_update_run("r", "FINISHED", 5);
    assert_string_equal(c, "{\"run_id\":\"r\",\"status\":\"FINISHED\",\"end_time\":5}");
    free(c);
    c = mlflow_json_search_uuid("3", "00ff");
    assert_non_null(strstr(c, "tags.`lightc.run_uuid` = '00ff'"));
    free(c);
    assert_null(mlflow_json_search_uuid("3", "x' OR '1'='1"));
    char out[64];
    assert_true(mlflow_json_get("{\"run\":{\"info\":{\"run_id\":\"abc\"}}}", "run.info.run_id", out,
                                sizeof out));
    assert_string_equal(out, "abc");
    assert_true(mlflow_json_get("{\"runs\":[{\"info\":{\"run_id\":\"z\"}}]}", "runs.0.info.run_id",
                                out, sizeof out));
    assert_string_equal(out, "z");
    assert_false(mlflow_json_get("{\"runs\":[]}", "runs.0.info.run_id", out, sizeof out));
    assert_false(mlflow_json_get("not json", "a", out, sizeof out));
}

static void unset_all(void)
{
    const char *v[] = {"MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME",
                       "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_INSECURE_TLS",
                       "MLFLOW_TRACKING_SERVER_CERT_PATH", "MLFLOW_TRACKING_CLIENT_CERT_PATH",
                       "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT",
                       "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        unsetenv(v[i]);
}

static void test_config(void **s)
{
    (void)s;
    unset_all();
    lc_remote r;
    assert_int_equal(lc_remote_mlflow_new(&r), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "MLFLOW_TRACKING_URI is not set"));
    const char *bad[] = {"file:///tmp/mlruns", "sqlite:///x.db", "postgresql://u:pw@h/db",
                         "./mlruns", "mlruns"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("MLFLOW_TRACKING_URI", bad[i], 1);
        assert_int_equal(lc_remote_mlflow_new(&r), LC_ERR_INVALID);
        assert_non_null(strstr(lc_errmsg(), "is not a tracking server: start `mlflow server`"));
    }
    /* the password of a database URI is not shown */
    setenv("MLFLOW_TRACKING_URI", "postgresql://u:s3cr3tpw@h/db", 1);
    lc_remote_mlflow_new(&r);
    assert_null(strstr(lc_errmsg(), "s3cr3tpw"));

    setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000/", 1);
    setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "12", 1);
    assert_int_equal(lc_remote_mlflow_new(&r), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "MLFLOW_HTTP_REQUEST_MAX_RETRIES"));
    setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3", 1);
    setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "abc", 1);
    assert_int_equal(lc_remote_mlflow_new(&r), LC_ERR_INVALID);
    setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30", 1);
    setenv("MLFLOW_TRACKING_INSECURE_TLS", "true", 1);
    setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", "/nonexistent/ca.pem", 1);
    assert_int_equal(lc_remote_mlflow_new(&r), LC_ERR_INVALID);
    unsetenv("MLFLOW_TRACKING_SERVER_CERT_PATH");

    mlflow_config cfg;
    setenv("MLFLOW_TRACKING_TOKEN", "tok", 1);
    assert_int_equal(mlflow_config_load(&cfg), LC_OK);
    assert_string_equal(cfg.uri, "http://127.0.0.1:5000");
    assert_int_equal(cfg.max_retries, 3);
    assert_int_equal(cfg.timeout_ms, 30000);
    assert_true(cfg.insecure);
    assert_string_equal(cfg.token, "tok");
    lc_http_config h = mlflow_config_http(&cfg, NULL);
    assert_int_equal(h.retry.max_attempts, 4);
    mlflow_config_free(&cfg);

    /* ~/.mlflow/credentials fills what the environment leaves unset */
    char home[] = "/tmp/lc-mlflow-home-XXXXXX";
    assert_non_null(mkdtemp(home));
    char dir[256], file[300];
    snprintf(dir, sizeof dir, "%s/.mlflow", home);
    snprintf(file, sizeof file, "%s/credentials", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs("[default]\nmlflow_tracking_username = wrong\n\n[mlflow]\n# a comment\n"
          "MLFLOW_TRACKING_USERNAME = alice\nmlflow_tracking_password: pw from file \n", f);
    fclose(f);
    const char *old_home = getenv("HOME");
    char *saved_home = old_home ? strdup(old_home) : NULL;
    setenv("HOME", home, 1);
    assert_int_equal(mlflow_config_load(&cfg), LC_OK);
    assert_string_equal(cfg.username, "alice");
    assert_string_equal(cfg.password, "pw from file");
    mlflow_config_free(&cfg);
    setenv("MLFLOW_TRACKING_USERNAME", "bob", 1); /* the environment wins, key by key */
    assert_int_equal(mlflow_config_load(&cfg), LC_OK);
    assert_string_equal(cfg.username, "bob");
    assert_string_equal(cfg.password, "pw from file");
    mlflow_config_free(&cfg);
    unsetenv("MLFLOW_TRACKING_USERNAME");
    if (saved_home)
        setenv("HOME", saved_home, 1);
    else
        unsetenv("HOME");
    free(saved_home);
    unlink(file);
    rmdir(dir);
    rmdir(home);

    assert_int_equal(lc_remote_mlflow_new(&r), LC_OK);
    assert_string_equal(r.vt->name, "mlflow");
    assert_null(r.vt->heartbeat);
    lc_remote_run run = {0};
    size_t done = 7;
    assert_int_equal(r.vt->ship(&r, &run, NULL, 0, &done), LC_ERR_STATE);
    assert_int_equal(done, 0);
    r.vt->close_run(&r, &run);
    r.vt->free(&r);
    unset_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),     cmocka_unit_test(test_batch_body),
        cmocka_unit_test(test_batch_body_round_trip),
        cmocka_unit_test(test_batch_take),  cmocka_unit_test(test_other_bodies),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
