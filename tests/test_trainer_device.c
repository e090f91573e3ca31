/*
 * tests/test_trainer_device.c — the trainer on a device, without a GPU:
 * an emulated accelerator (support/emu_device.h: the CPU ops behind a
 * backend table whose memory the host cannot read by accident) registered
 * as the CUDA backend.
 *  - accelerator / devices: cpu, auto, cuda ("gpu"), the clear errors
 *    (CUDA not compiled in, no GPU, DDP, unknown names);
 *  - parameters move to the device and back, the host buffers get the
 *    values after fit, the optimizer state follows them, a registry that
 *    is not movable is refused (cuda) or kept on the cpu (auto);
 *  - the dataloader gathers the CPU's batches on the device, bit for bit;
 *  - a fit on the device in every precision gives the CPU's weights and
 *    logged points bit for bit (so the trainer touched device memory only
 *    through the table);
 *  - checkpoints carry no device: written on the device, they are the CPU's
 *    bytes and resume on the CPU, and back, exactly;
 *  - the DeviceStatsMonitor logs the device figures on logging steps only, with
 *    samples/s and GEMM TFLOP/s consistent with the batch and its flops;
 *  - nothing leaks: every device reference and block is released.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "autocast.h"
#include "ckpt_file.h"
#include "cuda_ops.h"
#include "emu_device.h"
#include "testutil.h"
#include "trainer_fixture.h"
#include "trainer_internal.h"

static void assert_emu_clean(void)
{
    if (emu.refs != 0 || emu.nblocks != 0 || emu.bad_pointers != 0)
        fail_msg("emulated device: %d references, %zu blocks (%zu bytes) left, %ld bad pointers",
                 emu.refs, emu.nblocks, emu.live, emu.bad_pointers);
}

static int emu_setup(void **s)
{
    (void)s;
    memset(&emu, 0, sizeof emu);
    return emu_register() ? 0 : -1;
}

static int emu_teardown(void **s)
{
    (void)s;
    emu_unregister();
    return 0;
}

/* ---- accelerator and devices --------------------------------------------------- */

static lc_status try_create(const char *accel, int devices, lc_trainer **out)
{
    lc_trainer_config c;
    lc_trainer_config_default(&c);
    c.accelerator = accel;
    c.devices = devices;
    return lc_trainer_create(out, &c);
}

static void test_accelerator_choices_and_errors(void **s)
{
    (void)s;
    emu_unregister(); /* the real registry first */
    lc_trainer *t = NULL;
    assert_int_equal(try_create("cpu", 1, &t), LC_OK);
    assert_string_equal(lc_trainer_accelerator(t), "cpu");
    lc_trainer_free(t);

    lc_cuda_info info;
    lc_cuda_query(&info);
    assert_int_equal(try_create("auto", 0, &t), LC_OK);
    assert_string_equal(lc_trainer_accelerator(t), info.gpu_count > 0 ? "cuda" : "cpu");
    lc_trainer_free(t);

    const char *cuda_names[] = {"cuda", "gpu"};
    for (int i = 0; i < 2; i++) {
        lc_status st = try_create(cuda_names[i], 1, &t);
        if (info.gpu_count > 0) {
            assert_int_equal(st, LC_OK);
            assert_string_equal(lc_trainer_accelerator(t), "cuda");
            lc_trainer_free(t);
            continue;
        }
        assert_int_equal(st, LC_ERR_UNSUPPORTED);
        assert_null(t);
        print_message("[ INFO     ] accelerator %s: %s\n", cuda_names[i], lc_errmsg());
        if (lc_cuda_compiled())
            assert_non_null(strstr(lc_errmsg(), "CUDA is compiled in but no GPU can be used"));
        else
            assert_non_null(strstr(lc_errmsg(), "built without CUDA"));
        assert_non_null(strstr(lc_errmsg(), "accelerator cpu"));
    }
    /* several devices are ddp: started by a launcher (or, without MPI in
       the build, refused saying how to install it) */
    assert_int_not_equal(try_create("cpu", 2, &t), LC_OK);
    assert_non_null(strstr(lc_errmsg(), "MPI") ? strstr(lc_errmsg(), "MPI")
                                                : strstr(lc_errmsg(), "mpirun -np 2"));
    assert_int_equal(try_create("cpu", -2, &t), LC_ERR_INVALID);
    assert_int_equal(try_create("cpu", -1, &t), LC_OK); /* all of one host */
    lc_trainer_free(t);
    assert_int_equal(try_create("tpu", 1, &t), LC_ERR_UNSUPPORTED);
    assert_int_equal(try_create("quantum", 1, &t), LC_ERR_INVALID);
    assert_non_null(strstr(lc_errmsg(), "auto, cpu or cuda"));

    /* the emulated device: picked by cuda and by auto; a device that cannot
       be opened is an error for cuda and the cpu for auto */
    assert_non_null(emu_register());
    assert_int_equal(try_create("cuda", 1, &t), LC_OK);
    assert_string_equal(lc_trainer_accelerator(t), "cuda");
    assert_int_equal(emu.refs, 1);
    lc_trainer_free(t);
    assert_int_equal(try_create("auto", 1, &t), LC_OK);
    assert_string_equal(lc_trainer_accelerator(t), "cuda");
    lc_trainer_free(t);
    emu.fail_init = 1;
    assert_int_equal(try_create("cuda", 1, &t), LC_ERR_UNSUPPORTED);
    assert_non_null(strstr(lc_errmsg(), "emu device: no device here"));
    assert_int_equal(try_create("auto", 1, &t), LC_OK);
    assert_string_equal(lc_trainer_accelerator(t), "cpu");
    lc_trainer_free(t);
    emu.fail_init = 0;
    assert_emu_clean();
}

/* ---- parameters and optimizer state --------------------------------------------- */

static void test_params_move_and_come_back(void **s)
{
    (void)s;
    const lc_backend *dev = lc_backend_get(LC_DEVICE_CUDA);
    float w[6] = {1, 2, 3, 4, 5, 6}, g[6] = {0.5f, 0, 0, 0, 0, -1}, b[2] = {7, 8};
    int64_t sw[2] = {2, 3}, sb[1] = {2};
    lc_params ps;
    lc_params_init(&ps);
    assert_int_equal(lc_params_add(&ps, "w", w, g, 2, sw), LC_OK);
    assert_int_equal(lc_params_add(&ps, "b", b, NULL, 1, sb), LC_OK); /* frozen */
    /* not movable: refused, nothing moved */
    assert_int_equal(lc_params_to(&ps, dev), LC_ERR_UNSUPPORTED);
    assert_non_null(strstr(lc_errmsg(), "not movable"));
    assert_ptr_equal(ps.items[0].data, w);
    ps.movable = 1;
    assert_int_equal(lc_params_to(&ps, dev), LC_OK);
    assert_ptr_equal(lc_params_backend(&ps), dev);
    assert_int_equal(emu.refs, 1);
    assert_true(ps.items[0].data != w && emu_owns(ps.items[0].data, sizeof w));
    assert_ptr_equal(ps.grad_ptrs[0], ps.items[0].grad); /* the clipping arrays follow */
    assert_null(ps.items[1].grad);
    float got[6];
    assert_int_equal(lc_params_read(&ps, 0, 0, got), LC_OK);
    assert_memory_equal(got, w, sizeof w);
    assert_int_equal(lc_params_read(&ps, 0, 1, got), LC_OK);
    assert_memory_equal(got, g, sizeof g);
    assert_int_equal(lc_params_read(&ps, 1, 1, got), LC_ERR_INVALID); /* frozen: no grad */
    assert_int_equal(lc_params_add(&ps, "late", w, NULL, 2, sw), LC_ERR_STATE);
    tf_assert_close(lc_params_grad_norm(&ps), sqrt(0.25 + 1.0), 1e-7);
    /* values written on the device reach the host buffers only on sync */
    float nw[6] = {-1, -2, -3, -4, -5, -6};
    assert_int_equal(lc_params_write(&ps, 0, nw), LC_OK);
    assert_true(w[0] == 1.0f);
    assert_int_equal(lc_params_sync_host(&ps), LC_OK);
    assert_memory_equal(w, nw, sizeof nw);
    assert_int_equal(lc_params_zero_grad(&ps), LC_OK);

    /* the optimizer's state lives with the parameters; moving them after
       its creation is refused at the next step */
    lc_optim_config oc;
    lc_optim_config_default(&oc, LC_OPTIM_ADAM);
    lc_optim *o;
    assert_int_equal(lc_optim_create(&o, &ps, &oc), LC_OK);
    assert_int_equal(emu.refs, 2);
    assert_int_equal(lc_optim_step(o), LC_OK);
    size_t n = lc_optim_state_size(o);
    uint8_t *blob = malloc(n);
    assert_int_equal(lc_optim_state_save(o, blob, n), LC_OK);
    assert_int_equal(lc_optim_state_load(o, blob, n), LC_OK);
    free(blob);
    assert_int_equal(lc_params_to(&ps, NULL), LC_OK); /* back to the host, values with it */
    assert_null(ps.backend);
    assert_ptr_equal(ps.items[0].data, w);
    assert_ptr_equal(ps.grad_ptrs[0], g);
    assert_int_equal(lc_optim_step(o), LC_ERR_STATE);
    assert_non_null(strstr(lc_errmsg(), "moved"));
    lc_optim_free(o);
    lc_params_free(&ps);
    assert_emu_clean();
}

/* ---- the dataloader ------------------------------------------------------------------ */

static void test_dataloader_gathers_on_the_device(void **s)
{
    (void)s;
    lc_datamodule *dm = tf_data(70, 0, 0, 16);
    const lc_dataset *ds = lc_datamodule_split(dm, LC_SPLIT_TRAIN);
    lc_dataloader_options o;
    lc_dataloader_options_default(&o);
    o.batch_size = 16;
    o.shuffle = 1;
    o.seed = 5;
    lc_dataloader *host, *dev;
    assert_int_equal(lc_dataloader_create(&host, ds, &o), LC_OK);
    assert_int_equal(lc_dataloader_create(&dev, ds, &o), LC_OK);
    assert_int_equal(lc_dataloader_set_backend(dev, lc_backend_get(LC_DEVICE_CUDA)), LC_OK);
    float x[16 * TF_FEATURES];
    int32_t y[16];
    int batches = 0;
    for (int64_t e = 0; e < 3; e++) {
        assert_int_equal(lc_dataloader_set_epoch(host, e), LC_OK);
        assert_int_equal(lc_dataloader_set_epoch(dev, e), LC_OK);
        lc_batch hb, db;
        while (lc_dataloader_next(host, &hb) == 1) {
            assert_int_equal(lc_dataloader_next(dev, &db), 1);
            assert_int_equal(db.size, hb.size);
            assert_true(emu_owns(db.x, db.size * TF_FEATURES * sizeof(float)));
            assert_int_equal(emu_download(x, db.x, db.size * TF_FEATURES * sizeof(float)), LC_OK);
            assert_int_equal(emu_download(y, db.y, db.size * sizeof(int32_t)), LC_OK);
            assert_memory_equal(x, hb.x, hb.size * TF_FEATURES * sizeof(float));
            assert_memory_equal(y, hb.y, hb.size * sizeof(int32_t));
            batches++;
        }
        assert_int_equal(lc_dataloader_next(dev, &db), 0);
    }
    assert_int_equal(batches, 15);
    /* mid-epoch positions (a resume) gather the same batches too */
    lc_data_position pos = {7, 2};
    assert_int_equal(lc_dataloader_set_position(host, pos), LC_OK);
    assert_int_equal(lc_dataloader_set_position(dev, pos), LC_OK);
    lc_batch hb, db;
    assert_int_equal(lc_dataloader_next(host, &hb), 1);
    assert_int_equal(lc_dataloader_next(dev, &db), 1);
    assert_int_equal(emu_download(x, db.x, db.size * TF_FEATURES * sizeof(float)), LC_OK);
    assert_memory_equal(x, hb.x, hb.size * TF_FEATURES * sizeof(float));
    /* back on the host: host batches again, the device copies gone */
    assert_int_equal(lc_dataloader_set_backend(dev, NULL), LC_OK);
    assert_int_equal(lc_dataloader_next(dev, &db), 1);
    assert_false(emu_owns(db.x, 4));
    lc_dataloader_free(host);
    lc_dataloader_free(dev);
    lc_datamodule_free(dm);
    assert_emu_clean();
}

/* ---- a Sequential on its own ---------------------------------------------------------- */

static void test_seq_computes_where_the_context_is(void **s)
{
    (void)s;
    const lc_backend *dev = lc_backend_get(LC_DEVICE_CUDA);
    int64_t hidden[1] = {5};
    lc_seq *a, *b;
    assert_int_equal(lc_seq_mlp(&a, 4, hidden, 1, 3, LC_ACT_GELU, 0.0f, 3), LC_OK);
    assert_int_equal(lc_seq_mlp(&b, 4, hidden, 1, 3, LC_ACT_GELU, 0.0f, 3), LC_OK);
    float x[8] = {0.5f, -1, 2, 0.25f, 1, 1, -0.5f, 0};
    int32_t lab[2] = {2, 0};
    const float *ya, *yb;
    double la, lb;
    int64_t ca, cb;
    assert_int_equal(lc_seq_forward(a, x, 2, 0, NULL, &ya), LC_OK);
    assert_int_equal(lc_seq_cross_entropy(a, lab, &la, &ca), LC_OK);
    assert_int_equal(lc_seq_backward(a, 1.0), LC_OK);

    assert_int_equal(dev->init(0), LC_OK); /* a standalone caller opens the device */
    float *dx, *dl;
    assert_int_equal(dev->mem_alloc((void **)&dx, sizeof x), LC_OK);
    assert_int_equal(dev->mem_alloc((void **)&dl, sizeof lab), LC_OK);
    assert_int_equal(dev->upload(dx, x, sizeof x), LC_OK);
    assert_int_equal(dev->upload(dl, lab, sizeof lab), LC_OK);
    lc_autocast prev = lc_autocast_enter(dev, LC_DTYPE_F32);
    assert_int_equal(lc_seq_forward(b, dx, 2, 0, NULL, &yb), LC_OK);
    assert_int_equal(lc_seq_cross_entropy(b, (const int32_t *)dl, &lb, &cb), LC_OK);
    assert_int_equal(lc_seq_backward(b, 1.0), LC_OK);
    lc_autocast_exit(prev);
    assert_ptr_equal(lc_params_backend(lc_seq_params(b)), dev); /* the weights followed */
    float out[6];
    assert_true(emu_owns(yb, sizeof out));
    assert_int_equal(dev->download(out, yb, sizeof out), LC_OK);
    assert_memory_equal(out, ya, sizeof out);
    assert_memory_equal(&la, &lb, sizeof la);
    assert_int_equal(ca, cb);
    lc_params *pa = lc_seq_params(a), *pb = lc_seq_params(b);
    for (size_t i = 0; i < pa->len; i++) {
        float ga[64], gb[64];
        assert_int_equal(lc_params_read(pa, i, 1, ga), LC_OK);
        assert_int_equal(lc_params_read(pb, i, 1, gb), LC_OK);
        assert_memory_equal(ga, gb, pa->items[i].count * sizeof(float));
    }
    dev->mem_free(dx);
    dev->mem_free(dl);
    dev->release();
    lc_seq_free(a);
    lc_seq_free(b);
    assert_emu_clean();
}

/* ---- fits --------------------------------------------------------------------------------- */

typedef struct dev_run {
    const char *root, *name, *accelerator, *precision, *resume, *save;
    int64_t max_epochs;
    int log_every;
    int device_stats; /* add a DeviceStatsMonitor explicitly */
    int movable;      /* -1: mark the registry not movable */
    lc_status expect;
    /* results */
    float *w;
    size_t n;
    double test_acc, loss_scale;
    char accel[8];
} dev_run;

/* A 16-12-8-3 GELU MLP with dropout, AdamW, clipping and the grad norm
 * logged: every op of the table is exercised. */
static void dev_module(tf_module *tm)
{
    tf_module_init(tm, 7);
    lc_seq_free(tm->seq);
    int64_t hidden[2] = {12, 8};
    assert_int_equal(lc_seq_mlp(&tm->seq, TF_FEATURES, hidden, 2, TF_CLASSES, LC_ACT_GELU, 0.25f, 7),
                     LC_OK);
    tm->base.params = lc_seq_params(tm->seq);
    tm->optimizer = "AdamW";
    tm->lr = 0.02;
}

static void dev_fit(dev_run *r)
{
    lc_datamodule *dm = tf_data(96, 32, 48, 16);
    tf_module tm;
    dev_module(&tm);
    if (r->movable < 0)
        tm.base.params->movable = 0;
    lc_trainer_config c;
    tf_config(&c, r->root);
    c.name = r->name;
    c.accelerator = r->accelerator;
    c.precision = r->precision ? r->precision : "32-true";
    c.max_epochs = r->max_epochs ? r->max_epochs : 2;
    c.log_every_n_steps = r->log_every ? r->log_every : 1;
    c.gradient_clip_val = 1.0;
    c.log_grad_norm = 1;
    lc_trainer *t;
    assert_int_equal(lc_trainer_create(&t, &c), LC_OK);
    if (r->device_stats) {
        lc_callback *cb;
        assert_int_equal(lc_callback_device_stats_monitor(&cb), LC_OK);
        assert_int_equal(lc_trainer_add_callback(t, cb), LC_OK);
    }
    lc_status st = lc_trainer_fit(t, &tm.base, dm, r->resume);
    assert_int_equal(st, r->expect);
    if (st == LC_OK) {
        assert_int_equal(lc_trainer_test(t, &tm.base, dm), LC_OK);
        assert_int_equal(lc_trainer_callback_metric(t, "test/acc", &r->test_acc), LC_OK);
        if (r->save)
            assert_int_equal(lc_trainer_save_checkpoint(t, r->save), LC_OK);
        r->loss_scale = lc_trainer_loss_scale(t);
        lc_params *ps = tm.base.params;
        r->n = lc_params_numel(ps);
        r->w = malloc(r->n * sizeof(float));
        size_t k = 0;
        for (size_t i = 0; i < ps->len; i++) {
            assert_int_equal(lc_params_read(ps, i, 0, r->w + k), LC_OK);
            /* fit gave the module's host buffers the trained values */
            const float *host = ps->items[i].host_data ? ps->items[i].host_data
                                                       : ps->items[i].data;
            assert_memory_equal(host, r->w + k, ps->items[i].count * sizeof(float));
            k += ps->items[i].count;
        }
    }
    snprintf(r->accel, sizeof r->accel, "%s", lc_trainer_accelerator(t));
    lc_trainer_free(t);
    tf_module_free(&tm);
    lc_datamodule_free(dm);
    assert_emu_clean();
}

/* Every metric point but the device figures, one line each. */
static char *dump_metrics(const char *root)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/index.db", root);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT key, step, value FROM metrics WHERE key NOT "
                                            "LIKE 'device/%' ORDER BY key, step",
                                        -1, &q, NULL),
                     SQLITE_OK);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (cap - len < 256)
            out = realloc(out, cap *= 2);
        len += (size_t)snprintf(out + len, cap - len, "%s %lld %.17g\n", sqlite3_column_text(q, 0),
                                (long long)sqlite3_column_int64(q, 1), sqlite3_column_double(q, 2));
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return out;
}

static void test_fit_on_the_device_gives_the_cpu_bits(void **s)
{
    (void)s;
    const char *prec[] = {"32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true"};
    for (int i = 0; i < 5; i++) {
        dev_run cpu = {.root = tu_tmpdir("dev-cpu"), .name = "r", .accelerator = "cpu",
                       .precision = prec[i]};
        dev_run dev = cpu;
        dev.root = tu_tmpdir("dev-emu");
        dev.accelerator = "cuda";
        dev_fit(&cpu);
        long up0 = emu.uploads;
        dev_fit(&dev);
        assert_string_equal(cpu.accel, "cpu");
        assert_string_equal(dev.accel, "cuda");
        assert_true(emu.uploads > up0);
        assert_int_equal(cpu.n, dev.n);
        if (memcmp(cpu.w, dev.w, cpu.n * sizeof(float)) != 0)
            fail_msg("%s: the weights trained on the device differ from the cpu's", prec[i]);
        assert_memory_equal(&cpu.test_acc, &dev.test_acc, sizeof(double));
        assert_memory_equal(&cpu.loss_scale, &dev.loss_scale, sizeof(double));
        char *a = dump_metrics(cpu.root), *b = dump_metrics(dev.root);
        assert_string_equal(a, b);
        assert_non_null(strstr(a, "grad_norm "));
        print_message("[ INFO     ] %-10s test/acc %.4f on cpu and on the device\n", prec[i],
                      cpu.test_acc);
        free(a);
        free(b);
        free(cpu.w);
        free(dev.w);
    }
}

/* The sections of two checkpoints that describe the model's state. */
static void assert_same_state(const char *pa, const char *pb)
{
    lc_ckpt_reader a, b;
    assert_int_equal(lc_ckpt_read(pa, &a), LC_OK);
    assert_int_equal(lc_ckpt_read(pb, &b), LC_OK);
    int compared = 0;
    for (uint32_t i = 0; i < a.nsections; i++) {
        const lc_ckpt_section *x = &a.sections[i];
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)x->name_len, x->name);
        if (strcmp(name, "meta") == 0 || strncmp(name, "callbacks/", 10) == 0)
            continue; /* times, run ids, paths */
        const lc_ckpt_section *y = lc_ckpt_find(&b, name);
        if (!y)
            fail_msg("section %s missing from %s", name, pb);
        if (x->len != y->len || memcmp(x->data, y->data, x->len) != 0)
            fail_msg("section %s differs between %s and %s", name, pa, pb);
        compared++;
    }
    assert_true(compared >= 8); /* 6 tensors, optimizer, precision, scheduler?, rng */
    const lc_ckpt_section *m = lc_ckpt_find(&b, "meta");
    char *meta = strndup((const char *)m->data, m->len);
    assert_null(strstr(meta, "cuda"));
    assert_null(strstr(meta, "emu"));
    free(meta);
    lc_ckpt_reader_free(&a);
    lc_ckpt_reader_free(&b);
}

static void test_checkpoints_move_between_devices(void **s)
{
    (void)s;
    const char *prec[] = {"32-true", "16-mixed"};
    for (int i = 0; i < 2; i++) {
        const char *dir = tu_tmpdir("dev-ckpt");
        char ck_cpu[4200], ck_dev[4200];
        snprintf(ck_cpu, sizeof ck_cpu, "%s/cpu.ckpt", dir);
        snprintf(ck_dev, sizeof ck_dev, "%s/dev.ckpt", dir);
        /* uninterrupted, 3 epochs on the cpu */
        dev_run full = {.root = tu_tmpdir("dev-full"), .name = "r", .accelerator = "cpu",
                        .precision = prec[i], .max_epochs = 3};
        dev_fit(&full);
        /* 1 epoch on each side: the checkpoints hold the same state */
        dev_run c1 = {.root = tu_tmpdir("dev-c1"), .name = "r", .accelerator = "cpu",
                      .precision = prec[i], .max_epochs = 1, .save = ck_cpu};
        dev_run d1 = c1;
        d1.root = tu_tmpdir("dev-d1");
        d1.accelerator = "cuda";
        d1.save = ck_dev;
        dev_fit(&c1);
        dev_fit(&d1);
        assert_same_state(ck_cpu, ck_dev);
        /* device checkpoint -> cpu, and cpu checkpoint -> device: both
           finish as the uninterrupted run */
        dev_run c2 = c1, d2 = d1;
        c2.max_epochs = d2.max_epochs = 3;
        c2.save = d2.save = NULL;
        c2.resume = ck_dev;
        d2.resume = ck_cpu;
        dev_fit(&c2);
        dev_fit(&d2);
        assert_string_equal(c2.accel, "cpu");
        assert_string_equal(d2.accel, "cuda");
        assert_memory_equal(full.w, c2.w, full.n * sizeof(float));
        assert_memory_equal(full.w, d2.w, full.n * sizeof(float));
        assert_memory_equal(&full.loss_scale, &d2.loss_scale, sizeof(double));
        free(full.w), free(c1.w), free(d1.w), free(c2.w), free(d2.w);
    }
}

/* ---- modules that cannot move ------------------------------------------------------------ */

static void test_module_that_cannot_move(void **s)
{
    (void)s;
    dev_run r = {.root = tu_tmpdir("dev-fixed"), .name = "r", .accelerator = "cuda",
                 .movable = -1, .expect = LC_ERR_UNSUPPORTED};
    dev_fit(&r);
    assert_non_null(strstr(lc_errmsg(), "cannot run on emu-cuda"));
    assert_non_null(strstr(lc_errmsg(), "accelerator cpu"));
    dev_run a = {.root = tu_tmpdir("dev-fixed-auto"), .name = "r", .accelerator = "auto",
                 .movable = -1};
    dev_fit(&a);
    assert_string_equal(a.accel, "cpu");
    assert_true(a.test_acc > 0.5);
    free(a.w);
}

/* ---- DeviceStatsMonitor ------------------------------------------------------------------ */

static int metric_points(const char *root, const char *key, int64_t *steps, double *values)
{
    return tf_metric(root, key, steps, values, 64);
}

static void test_device_stats_monitor(void **s)
{
    (void)s;
    /* on the device (added by default), log_every_n_steps = 2 over 12 steps */
    dev_run d = {.root = tu_tmpdir("dev-stats"), .name = "r", .accelerator = "cuda",
                 .log_every = 2};
    dev_fit(&d);
    int64_t ls[64], ms_steps[64], st[64];
    double ms[64], sps[64], tf[64], mem[64], peak[64];
    int nl = metric_points(d.root, "train/loss", ls, NULL);
    int nm = metric_points(d.root, "device/step_ms", ms_steps, ms);
    assert_int_equal(nl, 6);
    assert_int_equal(nm, 6);
    assert_memory_equal(ls, ms_steps, 6 * sizeof(int64_t)); /* the logging steps, only */
    assert_int_equal(metric_points(d.root, "device/samples_per_sec", st, sps), 6);
    assert_int_equal(metric_points(d.root, "device/gemm_tflops", st, tf), 6);
    assert_int_equal(metric_points(d.root, "device/memory_used_mb", st, mem), 6);
    assert_int_equal(metric_points(d.root, "device/memory_peak_mb", st, peak), 6);
    /* batches of 16; GEMM flops of one batch of the 16-12-8-3 MLP: forward
       2*16*(16*12 + 12*8 + 8*3), backward dW of every layer and dx of all
       but the first */
    double flops = 2.0 * 16 * (16 * 12 + 12 * 8 + 8 * 3) * 2 + 2.0 * 16 * (12 * 8 + 8 * 3);
    for (int i = 0; i < 6; i++) {
        assert_true(isfinite(ms[i]) && ms[i] >= 0);
        if (ms[i] > 0) {
            tf_assert_close(sps[i] * ms[i] / 1e3, 16.0, 1e-6);
            tf_assert_close(tf[i] * ms[i] * 1e9, flops, flops * 1e-9);
        }
        assert_true(mem[i] > 0 && peak[i] >= mem[i]);
    }
    free(d.w);

    /* on the cpu: not by default; added, it logs the times but no memory */
    dev_run c = {.root = tu_tmpdir("dev-stats-cpu"), .name = "r", .accelerator = "cpu",
                 .log_every = 3};
    dev_fit(&c);
    assert_int_equal(metric_points(c.root, "device/step_ms", NULL, NULL), 0);
    free(c.w);
    dev_run c2 = c;
    c2.root = tu_tmpdir("dev-stats-cpu2");
    c2.device_stats = 1;
    dev_fit(&c2);
    assert_int_equal(metric_points(c2.root, "device/step_ms", NULL, NULL), 4);
    assert_int_equal(metric_points(c2.root, "device/memory_used_mb", NULL, NULL), 0);
    free(c2.w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_accelerator_choices_and_errors, emu_setup,
                                        emu_teardown),
        cmocka_unit_test_setup_teardown(test_params_move_and_come_back, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(test_dataloader_gathers_on_the_device, emu_setup,
                                        emu_teardown),
        cmocka_unit_test_setup_teardown(test_seq_computes_where_the_context_is, emu_setup,
                                        emu_teardown),
        cmocka_unit_test_setup_teardown(test_fit_on_the_device_gives_the_cpu_bits, emu_setup,
                                        emu_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_move_between_devices, emu_setup,
                                        emu_teardown),
        cmocka_unit_test_setup_teardown(test_module_that_cannot_move, emu_setup, emu_teardown),
        cmocka_unit_test_setup_teardown(test_device_stats_monitor, emu_setup, emu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
