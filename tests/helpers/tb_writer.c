/*
 * tests/helpers/tb_writer.c — writes runs through the public hub API for the
 * TensorBoard integration tests (tests/integration/test_tensorboard_*.py),
 * which read them back with TensorBoard itself.
 *
 *   tb_writer all ROOT        3 runs (exp/a, exp/b, exp/c) with every event
 *                             kind and every hparam type, finished /
 *                             failed / killed; bad-input calls are made and
 *                             their statuses printed as "bad <what> <status>"
 *   tb_writer forever ROOT    one run logging until killed; prints "ready"
 *                             once 200 steps are on disk
 *   tb_writer many ROOT N     N small runs (exp/r0000 ...)
 *   tb_writer resume1 ROOT    exp/res steps 0..9 (loss = step), killed
 *   tb_writer resume2 ROOT    exp/res resumed from step 4: steps 5..9,
 *                             loss = 100 + step
 *
 * Values come from the formulas below, which the Python tests repeat. Only
 * + - * / are used so both sides round identically. Sinks: $TB_LOGGERS,
 * default "tensorboard".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lightc/hub.h"

#define STEPS 50
#define HIST_N 1000

static double f_loss(int r, int s) { return 1.0 / (s + 1) + 0.01 * r; }
static double f_acc(int r, int s) { return s / 50.0 * (0.9 - 0.1 * r); }
static double f_lr(int r, int s) { return 0.1 / (1 + s) + r * 0.001; }
static double f_scale(int s) { return 65536.0 / (double)(1 << (s / 20)); }
static double f_speed(int r, int s) { return 1000 + s * 1.5 + r; }
static double f_weight(int r, int s, int i) { return (i % 97 - 48) * 0.01 * (r + 1) + s * 0.001; }
static double f_grad(int r, int s, int i) { return (i % 13 - 6) * 1e-5 * (s + 1) - r * 1e-6; }
static uint8_t f_pixel(int x, int y, int c, int s) { return (uint8_t)((x * 7 + y * 13 + c * 50 + s) & 255); }

static int check(lc_status st, const char *what)
{
    if (st != LC_OK) {
        fprintf(stderr, "tb_writer: %s: %s: %s\n", what, lc_status_name(st), lc_errmsg());
        exit(1);
    }
    return 0;
}

static lc_hub *open_hub(const char *root)
{
    const char *loggers = getenv("TB_LOGGERS");
    lc_hub_options o = {.root = root, .loggers = loggers && *loggers ? loggers : "tensorboard"};
    lc_hub *hub;
    check(lc_hub_open(&hub, &o), "lc_hub_open");
    return hub;
}

static void log_image(lc_run *run, const char *key, uint32_t w, uint32_t h, uint32_t c, int step)
{
    uint8_t *px = malloc((size_t)w * h * c);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t k = 0; k < c; k++)
                px[((size_t)y * w + x) * c + k] = f_pixel((int)x, (int)y, (int)k, step);
    check(lc_run_log_image(run, key, px, w, h, c, step), key);
    free(px);
}

static void one_full_run(lc_hub *hub, int r, const char *name, lc_run_status status)
{
    lc_run_options ro = {.experiment = "exp", .name = name};
    lc_run *run;
    check(lc_run_start(hub, &ro, &run), "lc_run_start");
    check(lc_run_log_param_double(run, "lr", 0.1 * (r + 1)), "param lr");
    check(lc_run_log_param_int(run, "batch_size", 32 << r), "param batch");
    check(lc_run_log_param_str(run, "optimizer", r == 1 ? "sgd" : "adam"), "param opt");
    check(lc_run_log_param_bool(run, "augment", r != 2), "param augment");
    check(lc_run_log_param_int(run, "seed", INT64_C(9007199254740993) + r), "param seed");
    check(lc_run_log_param_double(run, "weird", NAN), "param weird");
    check(lc_run_log_params_json(run, "{\"model\":{\"layers\":3,\"act\":\"relu\"}}"), "params json");

    lc_tag t[5] = {lc_run_tag(run, "train/loss"), lc_run_tag(run, "val/acc"),
                   lc_run_tag(run, "lr-Adam"), lc_run_tag(run, "precision/loss_scale"),
                   lc_run_tag(run, "perf/samples_per_sec")};
    float *w = malloc(HIST_N * sizeof *w);
    double *g = malloc(HIST_N * sizeof *g);
    for (int s = 0; s < STEPS; s++) {
        double v[5] = {f_loss(r, s), f_acc(r, s), f_lr(r, s), f_scale(s), f_speed(r, s)};
        check(lc_run_log_scalars(run, s, 5, t, v), "scalars");
        if (s % 10 == 0) {
            char text[128];
            snprintf(text, sizeof text, "**step %d** of run %s", s, name);
            check(lc_run_log_text(run, "notes", text, s), "text");
            log_image(run, "samples/gray", 28, 28, 1, s);
            log_image(run, "samples/rgb", 16, 8, 3, s);
            log_image(run, "samples/rgba", 8, 8, 4, s);
        }
        if (s % 25 == 0) {
            for (int i = 0; i < HIST_N; i++) {
                w[i] = (float)f_weight(r, s, i);
                g[i] = f_grad(r, s, i);
            }
            check(lc_run_log_histogram_f32(run, "weights/layer1", w, HIST_N, s), "hist f32");
            check(lc_run_log_histogram_f64(run, "grads/layer1", g, HIST_N, s), "hist f64");
        }
    }
    free(w);
    free(g);

    if (r == 0) {
        /* bad input: each call must fail cleanly or be harmless */
        float nan3[3] = {NAN, NAN, NAN};
        uint8_t px[4] = {0};
        printf("bad hist_empty %s\n", lc_status_name(lc_run_log_histogram_f32(run, "bad/h", nan3, 0, 1)));
        printf("bad hist_nan %s\n", lc_status_name(lc_run_log_histogram_f32(run, "bad/h", nan3, 3, 2)));
        printf("bad image_zero %s\n", lc_status_name(lc_run_log_image(run, "bad/img", px, 0, 1, 1, 1)));
        printf("bad image_huge %s\n", lc_status_name(lc_run_log_image(run, "bad/img", px, 20000, 1, 1, 1)));
        printf("bad image_channels %s\n", lc_status_name(lc_run_log_image(run, "bad/img", px, 1, 1, 2, 1)));
        lc_tag nt = lc_run_tag(run, "bad/nan");
        printf("bad scalar_nan %s\n", lc_status_name(lc_run_log_scalar(run, nt, NAN, 1)));
        printf("bad scalar_inf %s\n", lc_status_name(lc_run_log_scalar(run, nt, INFINITY, 2)));
        printf("bad key_empty %s\n", lc_status_name(lc_run_log_metric(run, "", 1.0, 1)));
        printf("bad key_mangled %s\n", lc_status_name(lc_run_log_metric(run, "odd key/é+%!", 1.0, 1)));
        /* steps going backwards: written as logged */
        lc_tag back = lc_run_tag(run, "bad/backwards");
        check(lc_run_log_scalar(run, back, 1.0, 10), "back");
        check(lc_run_log_scalar(run, back, 2.0, 5), "back");
    }
    check(lc_run_finish(run, status), "lc_run_finish");
}

static int cmd_all(const char *root)
{
    lc_hub *hub = open_hub(root);
    one_full_run(hub, 0, "a", LC_RUN_FINISHED);
    one_full_run(hub, 1, "b", LC_RUN_FAILED);
    one_full_run(hub, 2, "c", LC_RUN_KILLED);
    check(lc_hub_close(hub, 0), "lc_hub_close");
    printf("done\n");
    return 0;
}

static int cmd_forever(const char *root)
{
    lc_hub *hub = open_hub(root);
    lc_run_options ro = {.experiment = "exp", .name = "forever"};
    lc_run *run;
    check(lc_run_start(hub, &ro, &run), "lc_run_start");
    lc_tag x = lc_run_tag(run, "x");
    for (int64_t s = 0;; s++) {
        check(lc_run_log_scalar(run, x, (double)s * 0.5, s), "scalar");
        if (s % 50 == 0)
            log_image(run, "img", 256, 256, 3, (int)s); /* big records: kills land mid-write */
        if (s == 200) {
            check(lc_hub_flush(hub, 0), "flush");
            printf("ready\n");
            fflush(stdout);
        }
        if (s % 100 == 0)
            usleep(1000);
    }
    return 0;
}

static int cmd_many(const char *root, int n)
{
    lc_hub *hub = open_hub(root);
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "r%04d", i);
        lc_run_options ro = {.experiment = "exp", .name = name};
        lc_run *run;
        check(lc_run_start(hub, &ro, &run), "lc_run_start");
        check(lc_run_log_param_int(run, "i", i), "param");
        check(lc_run_log_param_str(run, "parity", i % 2 ? "odd" : "even"), "param");
        lc_tag t = lc_run_tag(run, "loss");
        for (int s = 0; s < 5; s++)
            check(lc_run_log_scalar(run, t, i + s * 0.25, s), "scalar");
        check(lc_run_finish(run, LC_RUN_FINISHED), "finish");
    }
    check(lc_hub_close(hub, 0), "close");
    printf("done\n");
    return 0;
}

static int cmd_resume(const char *root, int part)
{
    lc_hub *hub = open_hub(root);
    lc_run_options ro = {.experiment = "exp", .name = "res"};
    if (part == 2) {
        ro.resume = 1;
        ro.resume_step = 4;
        ro.discard_after = 1;
    }
    lc_run *run;
    check(lc_run_start(hub, &ro, &run), "lc_run_start");
    check(lc_run_log_param_double(run, "lr", part == 1 ? 0.1 : 0.05), "param");
    if (part == 1)
        check(lc_run_log_param_int(run, "epochs", 10), "param");
    lc_tag t = lc_run_tag(run, "loss");
    for (int s = part == 1 ? 0 : 5; s < 10; s++)
        check(lc_run_log_scalar(run, t, part == 1 ? s : 100 + s, s), "scalar");
    check(lc_run_finish(run, part == 1 ? LC_RUN_KILLED : LC_RUN_FINISHED), "finish");
    check(lc_hub_close(hub, 0), "close");
    printf("done\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "all"))
        return cmd_all(argv[2]);
    if (argc >= 3 && !strcmp(argv[1], "forever"))
        return cmd_forever(argv[2]);
    if (argc >= 4 && !strcmp(argv[1], "many"))
        return cmd_many(argv[2], atoi(argv[3]));
    if (argc >= 3 && !strcmp(argv[1], "resume1"))
        return cmd_resume(argv[2], 1);
    if (argc >= 3 && !strcmp(argv[1], "resume2"))
        return cmd_resume(argv[2], 2);
    fprintf(stderr, "usage: tb_writer all|forever|many N|resume1|resume2 ROOT\n");
    return 2;
}
