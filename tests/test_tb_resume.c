/*
 * tests/test_tb_resume.c — preparing a resumed run's directory: hparams
 * session records are dropped from older files (everything else byte for
 * byte), their hyperparameters are collected, a truncated tail goes in a
 * rewritten file, files without session records are left untouched, and a
 * missing directory is not an error. The scalar points a reader sees (for
 * the resume repair): files in name order, SessionLog START purges, steps
 * past the limit ignored, a torn tail ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tensorboard/tb_resume.h"
#include "testutil.h"

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void test_drop_session_records(void **s)
{
    (void)s;
    const char *dir = tu_tmpdir("tb-resume-unit");
    lc_tb_hparam hp[1] = {{.key = "lr", .kind = LC_TB_HP_NUMBER, .num = 0.1}};
    const char *tag = "loss";
    float v = 1.0f;
    lc_tfr_buf a = {0}, want = {0};
    /* old file: version, scalar, start info, scalar, end info, partial */
    assert_int_equal(lc_tb_put_file_version(&a, 1.0), 0);
    assert_int_equal(lc_tb_put_scalars(&a, 1.0, 0, 1, &tag, &v), 0);
    size_t keep1 = a.len;
    assert_int_equal(lc_tb_put_hparams_start(&a, 1.0, hp, 1, 1.0), 0);
    size_t drop1 = a.len;
    assert_int_equal(lc_tb_put_scalars(&a, 1.0, 1, 1, &tag, &v), 0);
    size_t keep2 = a.len;
    assert_int_equal(lc_tb_put_hparams_end(&a, 2.0, LC_TB_STATUS_FAILURE, 2.0), 0);
    size_t full = a.len;
    assert_int_equal(lc_tb_put_scalars(&a, 1.0, 2, 1, &tag, &v), 0);
    size_t cut = full + 7; /* the process died mid-record */
    /* expected: the kept records only */
    assert_int_equal(lc_tfr_reserve(&want, full), 0);
    memcpy(want.data, a.data, keep1);
    memcpy(want.data + keep1, a.data + drop1, keep2 - drop1);
    want.len = keep1 + keep2 - drop1;

    char p1[1024], p2[1024];
    snprintf(p1, sizeof p1, "%s/events.out.tfevents.0000000001.h.1.0", dir);
    snprintf(p2, sizeof p2, "%s/events.out.tfevents.0000000002.h.1.0", dir);
    write_file(p1, a.data, cut);
    write_file(p2, a.data, keep1); /* no session records: untouched */
    struct stat st2;
    assert_int_equal(stat(p2, &st2), 0);

    lc_tb_params p = {0};
    lc_tb_resume_info info;
    char err[256] = "";
    assert_int_equal(lc_tb_resume_scan(dir, &p, &info, err, sizeof err), 0);
    assert_int_equal(info.files, 2);
    assert_int_equal(info.rewritten, 1);
    assert_string_equal(info.last_name, "events.out.tfevents.0000000002.h.1.0");
    assert_int_equal(p.n, 1);
    assert_string_equal(p.items[0].key, "lr");
    size_t len;
    char *got = tu_read_file(p1, &len);
    assert_non_null(got);
    assert_int_equal(len, want.len);
    assert_memory_equal(got, want.data, len);
    free(got);
    struct stat st2b;
    assert_int_equal(stat(p2, &st2b), 0);
    assert_int_equal(st2b.st_ino, st2.st_ino); /* not rewritten */
    /* a second scan finds nothing more to drop */
    assert_int_equal(lc_tb_resume_scan(dir, &p, &info, err, sizeof err), 0);
    assert_int_equal(info.rewritten, 0);
    lc_tb_params_free(&p);
    lc_tfr_free(&a);
    lc_tfr_free(&want);
    tu_rmtree(dir);
}

static void test_missing_dir(void **s)
{
    (void)s;
    const char *dir = tu_tmpdir("tb-resume-none");
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/not/there", dir);
    lc_tb_params p = {0};
    lc_tb_resume_info info;
    char err[256] = "";
    assert_int_equal(lc_tb_resume_scan(sub, &p, &info, err, sizeof err), 0);
    assert_int_equal(info.files, 0);
    assert_string_equal(info.last_name, "");
    tu_rmtree(dir);
}

static void test_points_a_reader_sees(void **s)
{
    (void)s;
    const char *dir = tu_tmpdir("tb-resume-points");
    const char *tags[2] = {"loss", "acc"};
    float v[2] = {1.0f, 2.0f};
    lc_tfr_buf a = {0}, b = {0};
    /* attempt 1: steps 0..9; attempt 2 restarts at 5 (START 5), logs 5..6;
       the third record of step 7 is torn */
    assert_int_equal(lc_tb_put_file_version(&a, 1.0), 0);
    for (int64_t i = 0; i < 10; i++)
        assert_int_equal(lc_tb_put_scalars(&a, 1.0, i, 2, tags, v), 0);
    assert_int_equal(lc_tb_put_file_version(&b, 2.0), 0);
    assert_int_equal(lc_tb_put_session_start(&b, 2.0, 5), 0);
    for (int64_t i = 5; i < 7; i++)
        assert_int_equal(lc_tb_put_scalars(&b, 2.0, i, 1, tags, v), 0);
    size_t whole = b.len;
    assert_int_equal(lc_tb_put_scalars(&b, 2.0, 7, 1, tags, v), 0);
    char p1[1024], p2[1024];
    snprintf(p1, sizeof p1, "%s/events.out.tfevents.0000000001.h.1.0", dir);
    snprintf(p2, sizeof p2, "%s/events.out.tfevents.0000000002.h.2.0", dir);
    write_file(p1, a.data, a.len);
    write_file(p2, b.data, whole + 5);

    lc_tb_point_set set;
    memset(&set, 0, sizeof set);
    char err[256] = "";
    assert_int_equal(lc_tb_resume_points(dir, 8, &set, err, sizeof err), 0);
    for (int64_t i = 0; i < 10; i++) {
        assert_int_equal(lc_tb_point_set_has(&set, "loss", i), i <= 6);
        assert_int_equal(lc_tb_point_set_has(&set, "acc", i), i <= 4);
    }
    assert_int_equal(lc_tb_point_set_has(&set, "other", 0), 0);
    lc_tb_point_set_free(&set);
    memset(&set, 0, sizeof set);
    assert_int_equal(lc_tb_resume_points(dir, 2, &set, err, sizeof err), 0);
    assert_int_equal(lc_tb_point_set_has(&set, "loss", 2), 1);
    assert_int_equal(lc_tb_point_set_has(&set, "loss", 3), 0); /* past max_step */
    lc_tb_point_set_free(&set);
    lc_tfr_free(&a);
    lc_tfr_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drop_session_records),
        cmocka_unit_test(test_missing_dir),
        cmocka_unit_test(test_points_a_reader_sees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
