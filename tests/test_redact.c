/*
 * tests/test_redact.c — secrets kept out of provenance, tags and params
 * (loggers/bus/redact.c): which names look secret, both argument forms,
 * URL user info, whole values of secret keys, and the UTF-8 repair that
 * comes with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bus/redact.h"
#include "common/utf8.h"

static int secret(const char *name)
{
    return lc_redact_name_is_secret(name, strlen(name));
}

static void test_secret_names(void **s)
{
    (void)s;
    const char *yes[] = {"key", "api-key", "--API_KEY", "apiKey", "wandb/api_key", "db.password",
                         "Passwd", "pass", "token", "auth_token", "AccessToken", "auth",
                         "Authorization", "client-secret", "aws_secret_access_key", "credentials",
                         "GOOGLE_APPLICATION_CREDENTIALS", "passphrase", "private-key"};
    const char *no[] = {"lr", "max_tokens", "tokenizer", "keys", "console-keys", "author",
                        "lightc.argv", "lightc.cwd", "optimizer/name", "monitor", "hidden",
                        "batch_size", ""};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (!secret(yes[i]))
            fail_msg("'%s' should look secret", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (secret(no[i]))
            fail_msg("'%s' should not look secret", no[i]);
}

static void expect_cmdline(const char *args, size_t n, const char *want)
{
    char *got = lc_redact_cmdline(args, n);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

#define CMDLINE(lit, want) expect_cmdline(lit, sizeof lit - 1, want)

static void test_cmdline(void **s)
{
    (void)s;
    CMDLINE("prog\0--lr\0000.1", "prog --lr 0.1");
    CMDLINE("prog\0--api-key\0sk-abc123\0--lr\0001", "prog --api-key *** --lr 1");
    CMDLINE("prog\0--PASSWORD=hunter2\0-v", "prog --PASSWORD=*** -v");
    /* an argument with spaces is one value */
    CMDLINE("prog\0--token\0two words here", "prog --token ***");
    /* a flag right after a secret flag is not its value */
    CMDLINE("prog\0--auth\0--verbose\0x", "prog --auth --verbose x");
    CMDLINE("prog\0--db\0postgres://bob:s3cret@db.example:5432/runs",
            "prog --db postgres://***@db.example:5432/runs");
    CMDLINE("prog\0--url=https://u:p@h/x?y=1#z", "prog --url=https://***@h/x?y=1#z");
    /* Hydra-style overrides and environment-like words */
    CMDLINE("prog\0+logger.api_key=abc\0WANDB_API_KEY=def\0trainer.max_epochs=3",
            "prog +logger.api_key=*** WANDB_API_KEY=*** trainer.max_epochs=3");
    CMDLINE("prog\0--max-tokens\000512\0--tokenizer\0bpe", "prog --max-tokens 512 --tokenizer bpe");
    /* values that are command lines themselves */
    CMDLINE("prog\0--note=run --token abc\0--x\0cmd=--secret\0xyz", "prog --note=run --token *** --x cmd=--secret ***");
    CMDLINE("prog\0--token abc --lr 1", "prog --token *** --lr 1");
    CMDLINE("", "");
}

static void expect_redacted(const char *key, const char *value, const char *want, int changed)
{
    int c = -1;
    char *got = lc_redact_value(key, value, &c);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(c, changed);
    free(got);
}

static void test_values(void **s)
{
    (void)s;
    expect_redacted("note", "plain text, nothing to hide", "plain text, nothing to hide", 0);
    expect_redacted("api_key", "sk-live-123", "***", 1);
    expect_redacted("wandb/API_KEY", "x", "***", 1);
    expect_redacted("lr", "0.1", "0.1", 0);
    expect_redacted("api_key", "", "", 0); /* nothing to hide */
    expect_redacted("cmd", "train  --password\thunter2 --lr 1", "train  --password\t*** --lr 1", 1);
    expect_redacted("remote", "see https://alice:pw@git.example/r.git and http://h/x",
                 "see https://***@git.example/r.git and http://h/x", 1);
    expect_redacted("remote", "ssh://git@github.com/o/r", "ssh://***@github.com/o/r", 1);
    expect_redacted("note", "x://@h", "x://@h", 0);
    /* invalid UTF-8 is replaced, like Python's errors='replace' */
    expect_redacted("note", "caf\xc3\xa9 \xff!", "caf\xc3\xa9 " LC_UTF8_REPLACEMENT "!", 1);
    expect_redacted(NULL, NULL, "", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_names),
        cmocka_unit_test(test_cmdline),
        cmocka_unit_test(test_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
