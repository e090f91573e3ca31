/*
 * tests/test_hub_tags.c — what the hub does to run tags and params before
 * any sink sees them: tag keys follow the metric key rules (cut to 250
 * bytes, the original kept in key_map), values lose their secrets
 * (bus/redact.h) and are made valid UTF-8. Checked in the index and in
 * hparams.yaml, through the public API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "lightc/hub.h"
#include "testutil.h"

static lc_hub *open_hub(const char *root)
{
    lc_hub_options o = {.root = root, .loggers = "sqlite,csv,tensorboard"};
    lc_hub *hub = NULL;
    if (lc_hub_open(&hub, &o) != LC_OK)
        fail_msg("lc_hub_open: %s", lc_errmsg());
    return hub;
}

static sqlite3 *open_index(const char *root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    return db;
}

static long long q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    long long v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static char *q_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    char *v = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

/* A 10 KB tag key, given at run start or set later, is cut like a metric
 * key (250 bytes at most, ending in a hash of the original), and the
 * original is kept in key_map with kind 'tag'. */
static void test_tag_keys_follow_the_key_rules(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-tags");
    char *big = malloc(10001), *big2 = malloc(10001);
    assert_non_null(big);
    assert_non_null(big2);
    memset(big, 'k', 10000);
    big[10000] = 0;
    memset(big2, 'q', 10000);
    big2[10000] = 0;
    lc_hub *hub = open_hub(root);
    const char *tags[] = {big, "start", "my tag!", "x", NULL};
    lc_run_options ro = {.experiment = "e", .name = "keys", .tags = tags, .resume_step = -1};
    lc_run *run = NULL;
    if (lc_run_start(hub, &ro, &run) != LC_OK)
        fail_msg("lc_run_start: %s", lc_errmsg());
    assert_int_equal(lc_run_set_tag(run, big2, "later"), LC_OK);
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    assert_int_equal(lc_hub_close(hub, 0), LC_OK);

    sqlite3 *db = open_index(root);
    assert_int_equal(q_int(db, "SELECT max(length(key)) FROM tags"), 250);
    assert_int_equal(q_int(db, "SELECT count(*) FROM tags WHERE key LIKE 'kkkk%' AND value = 'start'"), 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM tags WHERE key LIKE 'qqqq%' AND value = 'later'"), 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM tags WHERE key = 'my tag_' AND value = 'x'"), 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM key_map WHERE kind = 'tag'"), 3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM key_map k JOIN tag t ON t.run_id = k.run_id"
                               " AND t.key = k.key WHERE k.kind = 'tag' AND length(k.original) = 10000"),
                     2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM key_map WHERE kind = 'tag' AND original = 'my tag!'"
                               " AND key = 'my tag_'"),
                     1);
    sqlite3_close(db);
    free(big);
    free(big2);
}

/* Secrets planted in tags and params never reach the index or
 * hparams.yaml; bad bytes come out as U+FFFD. */
static void test_tag_and_param_values_are_safe(void **s)
{
    (void)s;
    const char *root = tu_tmpdir("hub-tags");
    lc_hub *hub = open_hub(root);
    const char *tags[] = {"api_key", "sk-SECRET1", "note", "see https://u:SECRET2@h/x",
                          "bad", "a\xff" "b", NULL};
    lc_run_options ro = {.experiment = "e", .name = "safe", .tags = tags, .resume_step = -1};
    lc_run *run = NULL;
    if (lc_run_start(hub, &ro, &run) != LC_OK)
        fail_msg("lc_run_start: %s", lc_errmsg());
    assert_int_equal(lc_run_set_tag(run, "cmd", "train --password SECRET3 --lr 1"), LC_OK);
    assert_int_equal(lc_run_log_param_str(run, "db/password", "SECRET4"), LC_OK);
    assert_int_equal(lc_run_log_param_int(run, "auth_pin", 5550123), LC_OK);
    assert_int_equal(lc_run_log_params_json(run, "{\"wandb\":{\"api_key\":\"SECRET5\"}}"), LC_OK);
    assert_int_equal(lc_run_log_param_str(run, "text", "x\xc3"), LC_OK);
    assert_int_equal(lc_run_log_param_int(run, "max_tokens", 512), LC_OK);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", lc_run_dir(run));
    assert_int_equal(lc_run_finish(run, LC_RUN_FINISHED), LC_OK);
    assert_int_equal(lc_hub_close(hub, 0), LC_OK);

    sqlite3 *db = open_index(root);
    assert_int_equal(q_int(db, "SELECT count(*) FROM tags WHERE value LIKE '%SECRET%'"), 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM params WHERE value LIKE '%SECRET%' OR value LIKE '%5550123%'"), 0);
    char *v = q_text(db, "SELECT value FROM tags WHERE key = 'api_key'");
    assert_string_equal(v, "***");
    free(v);
    v = q_text(db, "SELECT value FROM tags WHERE key = 'note'");
    assert_string_equal(v, "see https://***@h/x");
    free(v);
    v = q_text(db, "SELECT value FROM tags WHERE key = 'cmd'");
    assert_string_equal(v, "train --password *** --lr 1");
    free(v);
    v = q_text(db, "SELECT value FROM tags WHERE key = 'bad'");
    assert_string_equal(v, "a" LC_UTF8_REPLACEMENT "b");
    free(v);
    v = q_text(db, "SELECT value || ' ' || type FROM params WHERE key = 'auth_pin'");
    assert_string_equal(v, "*** str");
    free(v);
    v = q_text(db, "SELECT value FROM params WHERE key = 'text'");
    assert_string_equal(v, "x" LC_UTF8_REPLACEMENT);
    free(v);
    v = q_text(db, "SELECT value || ' ' || type FROM params WHERE key = 'max_tokens'");
    assert_string_equal(v, "512 int");
    free(v);
    sqlite3_close(db);

    char path[4200];
    snprintf(path, sizeof path, "%s/hparams.yaml", dir);
    char *yaml = tu_read_file(path, NULL);
    assert_non_null(yaml);
    assert_null(strstr(yaml, "SECRET"));
    assert_null(strstr(yaml, "5550123"));
    assert_true(lc_utf8_valid(yaml, strlen(yaml)));
    free(yaml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag_keys_follow_the_key_rules),
        cmocka_unit_test(test_tag_and_param_values_are_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
