/*
 * trainer/ddp.c — the ddp strategy (Lightning's DDPStrategy) for the
 * trainer: strategy resolution and the process group, rank-0 logging, the
 * parameter broadcast at start, bucketed gradient averaging, sync_dist,
 * rank 0's stop decisions, checkpoints written by rank 0 with every
 * rank's RNG and loop results, and the per-rank perf figures that rank 0
 * logs once. The hook points in the loops are listed in ddp.h; the
 * DistributedSampler shards live in ddp_data.c.
 *
 * Order of collectives: every rank runs the same loops, so every rank
 * reaches the same hook points in the same order. The rules that keep it
 * so: stop decisions (should_stop, a killed run) come from rank 0 at each
 * lc_run_check_live; checkpoint decisions come from rank 0 at each
 * checkpoint boundary; every rank must log the same sync_dist metrics.
 */
#include "ddp.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blas_info.h"
#include "ckpt_file.h"
#include "common/status.h"
#include "ddp_internal.h"
#include "trainer_internal.h"
#ifdef LC_HAVE_CUDA
#include "cuda_ops.h"
#endif

static double ddp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------ */
/* Strategy and process group                                                */

/* rank 0: a run ended from outside (SIGINT/SIGTERM) interrupts a wait */
static int run_interrupted(void *ctx, char *why, size_t cap)
{
    lc_trainer *t = ctx;
    if (!t->run || lc_run_get_status(t->run) == LC_RUN_RUNNING)
        return 0;
    snprintf(why, cap, "run %s/%s was ended as %s", lc_run_experiment(t->run),
             lc_run_name(t->run), lc_run_status_name(lc_run_get_status(t->run)));
    return 1;
}

lc_status lc_ddp_create(lc_trainer *t, const lc_trainer_config *c)
{
    const char *strategy = c->strategy && *c->strategy ? c->strategy : "auto";
    int is_auto = strcmp(strategy, "auto") == 0;
    int is_ddp = strcmp(strategy, "ddp") == 0;
    if (!is_auto && !is_ddp && strcmp(strategy, "single_device") != 0) {
        if (strncmp(strategy, "ddp", 3) == 0 || strncmp(strategy, "fsdp", 4) == 0 ||
            strncmp(strategy, "deepspeed", 9) == 0)
            return lc_fail(LC_ERR_UNSUPPORTED, "strategy '%s' is not available in lightc; use "
                           "ddp (processes started by mpirun/srun, or by lightc train itself)",
                           strategy);
        return lc_fail(LC_ERR_INVALID, "unknown strategy '%s'; use auto, ddp or single_device",
                       strategy);
    }
    int nodes = c->num_nodes > 0 ? c->num_nodes : 1;
    if (c->num_nodes < 0)
        return lc_fail(LC_ERR_INVALID, "num_nodes=%d must be >= 1", c->num_nodes);
    int env_rank = 0;
    const char *launcher = NULL;
    int env_world = lc_dist_env_world_size(&env_rank, &launcher);
    int want = c->devices > 0 ? c->devices * nodes : 0;
    int use = is_ddp || (is_auto && (want > 1 || env_world > 1));
    if (!use) {
        if (want > 1)
            return lc_fail(LC_ERR_INVALID, "devices=%d x num_nodes=%d needs strategy ddp (or "
                           "auto), not %s", c->devices, nodes, strategy);
        return LC_OK;
    }
    if (!lc_dist_have_mpi()) {
        lc_dist *none = NULL;
        return lc_dist_init(&none, 0); /* the message says how to install MPI */
    }
    if (env_world == 0 && want > 1)
        return lc_fail(LC_ERR_INVALID,
                       "strategy ddp with devices=%d x num_nodes=%d: start the %d ranks with "
                       "mpirun -np %d (or srun); `lightc train` launches them itself",
                       c->devices, nodes, want, want);
    if (env_world > 0 && want > 1 && want != env_world)
        return lc_fail(LC_ERR_INVALID,
                       "devices=%d x num_nodes=%d is %d ranks, but %s started %d; give "
                       "--devices so that devices x num_nodes equals the ranks started",
                       c->devices, nodes, want, launcher ? launcher : "the launcher", env_world);
    lc_ddp *d = calloc(1, sizeof *d);
    if (!d)
        return lc_fail(LC_ERR_NOMEM, "ddp: out of memory");
    lc_status st = lc_dist_init(&d->dist, 0);
    if (st != LC_OK) {
        free(d);
        return st;
    }
    d->rank = lc_dist_rank(d->dist);
    d->world = lc_dist_world(d->dist);
    d->nodes = nodes;
    d->train_epoch = -1;
    const char *mb = getenv("LIGHTC_DDP_BUCKET_MB");
    double bucket_mb = mb && *mb ? atof(mb) : 25.0; /* torch's bucket_cap_mb */
    if (!(bucket_mb > 0))
        bucket_mb = 25.0;
    d->bucket_floats = (size_t)(bucket_mb * 1024 * 1024 / sizeof(float));
    if (d->bucket_floats < 1024)
        d->bucket_floats = 1024;
    t->ddp = d;
    /* the machine's cores shared by its ranks (OpenBLAS would take them all in each) */
    if (c->threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        int per = (int)(cores > 0 ? cores : 1) / lc_dist_local_world(d->dist);
        t->cfg.threads = per > 0 ? per : 1;
    }
    lc_dist_set_interrupt(d->dist, run_interrupted, t);
    /* every rank draws its own dropout masks; rank 0 keeps the single-
       process stream */
    if (d->rank > 0) {
        lc_rng_seed(&t->rng, t->cfg.seed, LC_TRAINER_RNG_STREAM + 1000u * (uint64_t)d->rank);
        t->cfg.enable_model_summary = 0; /* printed once, by rank 0 */
        lc_prof_free(t->prof);           /* profiled (and its files written) by rank 0 */
        t->prof = NULL;
    }
    return LC_OK;
}

void lc_ddp_free(lc_trainer *t)
{
    lc_ddp *d = t->ddp;
    if (!d)
        return;
    lc_ddp_release_hub(t);
    lc_ddp_free_shards(d);
    free(d->pids);
    free(d->hosts);
    free(d->bucket);
    free(d->grad_ptrs);
    free(d->grad_counts);
    free(d->states);
    free(d->state_lens);
    lc_dist_free(d->dist);
    free(d);
    t->ddp = NULL;
}

int lc_ddp_rank(const lc_trainer *t) { return t->ddp ? t->ddp->rank : 0; }
int lc_ddp_world(const lc_trainer *t) { return t->ddp ? t->ddp->world : 1; }

int lc_ddp_device_index(const lc_trainer *t)
{
    if (!t->ddp)
        return 0;
    int local = lc_dist_local_rank(t->ddp->dist);
#ifdef LC_HAVE_CUDA
    lc_cuda_info info;
    lc_cuda_query(&info);
    if (info.gpu_count > 0)
        return local % info.gpu_count;
#endif
    (void)local;
    return 0;
}

lc_status lc_ddp_barrier(lc_trainer *t)
{
    return lc_dist_barrier(t->ddp->dist);
}

void lc_ddp_raise(lc_trainer *t, const char *msg)
{
    if (t->ddp && !lc_dist_broken(t->ddp->dist))
        lc_dist_raise(t->ddp->dist, msg);
}

/* ------------------------------------------------------------------------ */
/* Resume, run, parameters                                                   */

typedef struct resume_msg {
    int32_t st, mode;
    int64_t step;
    char ck[4096];
    char msg[1024];
} resume_msg;

lc_status lc_ddp_share_resume(lc_trainer *t, lc_status st, char *ck, size_t cap, int *resume_mode,
                              int64_t *resume_step)
{
    lc_ddp *d = t->ddp;
    resume_msg m;
    memset(&m, 0, sizeof m);
    if (d->rank == 0) {
        m.st = st;
        if (st != LC_OK) {
            snprintf(m.msg, sizeof m.msg, "%s", lc_errmsg());
        } else {
            m.mode = *resume_mode;
            m.step = *resume_step;
            snprintf(m.ck, sizeof m.ck, "%s", ck);
        }
    }
    lc_status bst = lc_dist_broadcast(d->dist, &m, sizeof m, 0);
    if (d->rank == 0)
        return st != LC_OK ? st : bst;
    if (bst != LC_OK)
        return bst;
    if (m.st != LC_OK)
        return lc_fail((lc_status)m.st, "rank 0 could not resume: %s", m.msg);
    if (st != LC_OK)
        return st;
    snprintf(ck, cap, "%s", m.ck);
    *resume_mode = m.mode;
    *resume_step = m.step;
    if (ck[0]) {
        int threads = 0;
        if (lc_ckpt_peek_run(ck, NULL, NULL, &threads, NULL) == LC_OK && threads > 0 &&
            threads != lc_blas_get_threads())
            lc_blas_set_threads(threads);
    }
    return LC_OK;
}

typedef struct run_msg {
    int32_t st;
    char msg[1024];
    char log_dir[4096];
} run_msg;

#define HOST_MAX DDP_HOST_MAX

/* The hub's signal cause on rank 0 (lc_hub_set_signal_cause): when a peer
 * rank dies, Open MPI's launcher stops the surviving ranks with SIGTERM;
 * a peer on this host whose process is gone by then means the job failed,
 * not that someone stopped it. Peers on other hosts cannot be looked at
 * from here: the run is then marked killed, and the launcher's message
 * names the rank. */
static lc_run_status ddp_signal_cause(void *ctx, int sig, char *why, size_t cap)
{
    (void)sig;
    const lc_ddp *d = ctx;
    for (int r = 1; r < d->world; r++) {
        const char *host = d->hosts + (size_t)r * HOST_MAX;
        if (strcmp(host, d->hosts) != 0 || d->pids[r] <= 0)
            continue;
        if (kill((pid_t)d->pids[r], 0) != 0 && errno == ESRCH) {
            snprintf(why, cap, "rank %d of %d (pid %d on %s) died, and the launcher stopped rank 0",
                     r, d->world, (int)d->pids[r], host);
            return LC_RUN_FAILED;
        }
    }
    return LC_RUN_KILLED;
}

void lc_ddp_release_hub(lc_trainer *t)
{
    lc_ddp *d = t->ddp;
    if (d && d->cause_hub) {
        lc_hub_set_signal_cause(d->cause_hub, NULL, NULL);
        d->cause_hub = NULL;
    }
}

static lc_status log_ranks(lc_trainer *t)
{
    lc_ddp *d = t->ddp;
    char mine[HOST_MAX];
    snprintf(mine, sizeof mine, "%s", lc_dist_host(d->dist));
    char *all = d->rank == 0 ? calloc((size_t)d->world, HOST_MAX) : NULL;
    if (d->rank == 0 && !all)
        return lc_fail(LC_ERR_NOMEM, "ddp: out of memory");
    lc_status st = lc_dist_gather(d->dist, mine, HOST_MAX, all, 0);
    int32_t pid = (int32_t)getpid();
    int32_t *pids = d->rank == 0 ? calloc((size_t)d->world, sizeof *pids) : NULL;
    if (d->rank == 0 && !pids)
        st = lc_fail(LC_ERR_NOMEM, "ddp: out of memory");
    if (st == LC_OK)
        st = lc_dist_gather(d->dist, &pid, sizeof pid, pids, 0);
    if (st == LC_OK && d->rank == 0 && !d->pids) {
        for (int r = 0; r < d->world; r++)
            all[(size_t)r * HOST_MAX + HOST_MAX - 1] = 0;
        d->pids = pids;
        d->hosts = all;
        pids = NULL;
        if (t->hub) {
            lc_hub_set_signal_cause(t->hub, ddp_signal_cause, d);
            d->cause_hub = t->hub;
        }
    }
    if (st == LC_OK && d->rank == 0 && t->run) {
        char buf[64];
        snprintf(buf, sizeof buf, "%d", d->world);
        lc_run_log_param_str(t->run, "world_size", buf);
        lc_run_log_param_str(t->run, "strategy", "ddp");
        snprintf(buf, sizeof buf, "%d", d->nodes);
        lc_run_log_param_str(t->run, "num_nodes", buf);
        lc_run_set_tag(t->run, "strategy", "ddp");
        snprintf(buf, sizeof buf, "%d", d->world);
        lc_run_set_tag(t->run, "world_size", buf);
        for (int r = 0; r < d->world; r++) {
            char key[64];
            snprintf(key, sizeof key, "host.rank%d", r);
            all[(size_t)r * HOST_MAX + HOST_MAX - 1] = 0;
            lc_run_set_tag(t->run, key, d->hosts + (size_t)r * HOST_MAX);
        }
    }
    if (all != d->hosts)
        free(all);
    free(pids);
    return st;
}

/* Every rank starts from rank 0's weights. */
static lc_status broadcast_params(lc_trainer *t)
{
    lc_ddp *d = t->ddp;
    lc_params *ps = t->module ? t->module->params : NULL;
    if (!ps)
        return LC_OK;
    int device = lc_params_backend(ps)->device != LC_DEVICE_HOST;
    if (device) {
        lc_status st = lc_dist_nccl_init(d->dist, lc_ddp_device_index(t));
        if (st != LC_OK)
            return lc_fail(st, "ddp on %s: %s", t->be->name, lc_errmsg());
    }
    for (size_t i = 0; i < ps->len; i++) {
        lc_param *p = &ps->items[i];
        lc_status st = device ? lc_dist_broadcast_device(d->dist, p->data, p->count * sizeof(float), 0)
                              : lc_dist_broadcast(d->dist, p->data, p->count * sizeof(float), 0);
        if (st != LC_OK)
            return lc_fail(st, "ddp: broadcasting parameter '%s' from rank 0: %s", p->name,
                           lc_errmsg());
    }
    return LC_OK;
}

lc_status lc_ddp_run_setup(lc_trainer *t, int resume, int64_t resume_step)
{
    lc_ddp *d = t->ddp;
    if (d->run_ready)
        return d->rank == 0 ? lc_run_setup_local(t, resume, resume_step) : LC_OK;
    run_msg m;
    memset(&m, 0, sizeof m);
    lc_status st = LC_OK;
    if (d->rank == 0) {
        st = lc_run_setup_local(t, resume, resume_step);
        m.st = st;
        if (st != LC_OK)
            snprintf(m.msg, sizeof m.msg, "%s", lc_errmsg());
        snprintf(m.log_dir, sizeof m.log_dir, "%s", t->log_dir);
    }
    lc_status bst = lc_dist_broadcast(d->dist, &m, sizeof m, 0);
    if (bst != LC_OK)
        return bst;
    if (m.st != LC_OK)
        return d->rank == 0 ? st : lc_fail((lc_status)m.st, "rank 0 could not start the run: %s",
                                           m.msg);
    if (d->rank != 0)
        snprintf(t->log_dir, sizeof t->log_dir, "%s", m.log_dir);
    st = log_ranks(t);
    if (st == LC_OK)
        st = broadcast_params(t);
    if (st != LC_OK)
        return st;
    d->run_ready = 1;
    d->perf_t0 = ddp_now();
    lc_dist_get_stats(d->dist, &d->perf_stats0);
    return LC_OK;
}

lc_status lc_ddp_check_live(lc_trainer *t)
{
    lc_ddp *d = t->ddp;
    int32_t m[2] = {0, 0};
    lc_status st = LC_OK;
    if (d->rank == 0) {
        st = lc_run_check_live_local(t);
        m[0] = t->should_stop != 0;
        m[1] = st != LC_OK;
    }
    lc_status bst = lc_dist_broadcast(d->dist, m, sizeof m, 0);
    if (d->rank == 0)
        return st != LC_OK ? st : bst;
    if (bst != LC_OK)
        return bst;
    t->should_stop = m[0];
    if (m[1])
        return lc_fail(LC_ERR_STATE, "rank 0's run was ended from outside (SIGINT or SIGTERM) at "
                       "step %lld; rank %d stops there too", (long long)t->global_step, d->rank);
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* Gradients                                                                 */

static lc_status flush_bucket(lc_ddp *d, size_t n, lc_params *ps, size_t first, size_t last)
{
    lc_status st = lc_dist_allreduce(d->dist, d->bucket, n, LC_DIST_FLOAT, LC_DIST_MEAN);
    if (st != LC_OK)
        return lc_fail(st, "ddp: gradient all-reduce: %s", lc_errmsg());
    size_t off = 0;
    for (size_t i = first; i < last; i++) {
        lc_param *p = &ps->items[i];
        if (!p->grad || p->count >= d->bucket_floats)
            continue;
        memcpy(p->grad, d->bucket + off, p->count * sizeof(float));
        off += p->count;
    }
    return LC_OK;
}

lc_status lc_ddp_sync_grads(lc_trainer *t)
{
    lc_ddp *d = t->ddp;
    lc_params *ps = t->module->params;
    double t0 = ddp_now();
    lc_status st = LC_OK;
    if (lc_params_backend(ps)->device != LC_DEVICE_HOST) {
        /* one NCCL group call over every gradient (NCCL fuses them) */
        if (!d->grad_ptrs) {
            d->grad_ptrs = calloc(ps->len ? ps->len : 1, sizeof *d->grad_ptrs);
            d->grad_counts = calloc(ps->len ? ps->len : 1, sizeof *d->grad_counts);
            if (!d->grad_ptrs || !d->grad_counts)
                return lc_fail(LC_ERR_NOMEM, "ddp: out of memory");
        }
        size_t k = 0;
        for (size_t i = 0; i < ps->len; i++)
            if (ps->items[i].grad) {
                d->grad_ptrs[k] = ps->items[i].grad;
                d->grad_counts[k++] = ps->items[i].count;
            }
        st = lc_dist_allreduce_device(d->dist, d->grad_ptrs, d->grad_counts, k, LC_DIST_MEAN);
        if (st != LC_OK)
            return lc_fail(st, "ddp: gradient all-reduce (NCCL): %s", lc_errmsg());
    } else {
        if (!d->bucket) {
            d->bucket = malloc(d->bucket_floats * sizeof(float));
            if (!d->bucket)
                return lc_fail(LC_ERR_NOMEM, "ddp: out of memory for a %zu-float bucket",
                               d->bucket_floats);
        }
        /* tensors in registration order packed into buckets; a tensor as
           large as a bucket is its own all-reduce, in place */
        size_t n = 0, first = 0;
        for (size_t i = 0; st == LC_OK && i < ps->len; i++) {
            lc_param *p = &ps->items[i];
            if (!p->grad)
                continue;
            if (p->count >= d->bucket_floats) {
                st = lc_dist_allreduce(d->dist, p->grad, p->count, LC_DIST_FLOAT, LC_DIST_MEAN);
                continue;
            }
            if (n + p->count > d->bucket_floats) {
                st = flush_bucket(d, n, ps, first, i);
                n = 0;
                first = i;
                if (st != LC_OK)
                    break;
            }
            memcpy(d->bucket + n, p->grad, p->count * sizeof(float));
            n += p->count;
        }
        if (st == LC_OK && n > 0)
            st = flush_bucket(d, n, ps, first, ps->len);
        if (st != LC_OK)
            return st;
    }
    d->grad_sync_s += ddp_now() - t0;
    return LC_OK;
}

/* ------------------------------------------------------------------------ */
/* sync_dist                                                                 */

static lc_status same_count(lc_ddp *d, int64_t n, const char *what)
{
    int64_t v[2] = {n, -n};
    lc_status st = lc_dist_allreduce(d->dist, v, 2, LC_DIST_INT64, LC_DIST_MAX);
    if (st != LC_OK)
        return st;
    if (v[0] != -v[1])
        return lc_fail(LC_ERR_STATE,
                       "ddp: the ranks logged different numbers of sync_dist metrics %s (between "
                       "%lld and %lld; rank %d: %lld); every rank must log the same sync_dist "
                       "names in the same hooks",
                       what, (long long)-v[1], (long long)v[0], d->rank, (long long)n);
    return LC_OK;
}

static int has_sync(const lc_log_result *r)
{
    for (size_t i = 0; i < r->len; i++)
        if (r->items[i].sync_dist)
            return 1;
    return 0;
}

/* The per-rank figures since the last logging step, logged by rank 0. */
static lc_status log_perf(lc_trainer *t, int64_t step)
{
    lc_ddp *d = t->ddp;
    double now = ddp_now();
    lc_dist_stats s;
    lc_dist_get_stats(d->dist, &s);
    double secs = now - d->perf_t0;
    double steps = d->perf_steps > 0 ? (double)d->perf_steps : 1.0;
    double mine[5] = {
        1e3 * secs / steps,                                                    /* step ms */
        secs > 0 ? (double)d->perf_samples / secs : 0,                         /* samples/s */
        1e3 * (s.allreduce_seconds - d->perf_stats0.allreduce_seconds) / steps, /* all-reduce ms */
        (double)(s.allreduce_bytes - d->perf_stats0.allreduce_bytes) / steps,   /* bytes */
        1e3 * d->grad_sync_s / steps,                                          /* grad sync ms */
    };
    d->perf_t0 = now;
    d->perf_stats0 = s;
    d->perf_samples = 0;
    d->perf_steps = 0;
    d->grad_sync_s = 0;
    double *all = d->rank == 0 ? calloc((size_t)d->world * 5, sizeof *all) : NULL;
    if (d->rank == 0 && !all)
        return lc_fail(LC_ERR_NOMEM, "ddp: out of memory");
    lc_status st = lc_dist_gather(d->dist, mine, sizeof mine, all, 0);
    if (st == LC_OK && d->rank == 0 && t->run) {
        double step_max = 0, step_min = INFINITY, sps = 0, ar = 0, bytes = 0, gs = 0;
        int slowest = 0;
        for (int r = 0; r < d->world; r++) {
            const double *v = all + (size_t)r * 5;
            if (v[0] > step_max)
                slowest = r;
            step_max = v[0] > step_max ? v[0] : step_max;
            step_min = v[0] < step_min ? v[0] : step_min;
            sps += v[1];
            ar += v[2] / d->world;
            bytes += v[3] / d->world;
            gs += v[4] / d->world;
        }
        static const char *const keys[] = {"perf/step_ms", "perf/step_ms_min",
                                           "perf/samples_per_sec_all_ranks", "perf/allreduce_ms",
                                           "perf/allreduce_mb", "perf/grad_sync_ms",
                                           "perf/slowest_rank"};
        double vals[7] = {step_max, step_min, sps, ar, bytes / 1e6, gs, (double)slowest};
        if (!d->perf_tags[0])
            for (int i = 0; i < 7; i++)
                d->perf_tags[i] = lc_conn_tag(t, keys[i]);
        lc_run_log_scalars(t->run, step, 7, d->perf_tags, vals);
    }
    free(all);
    return st;
}

lc_status lc_ddp_sync_step(lc_trainer *t, lc_log_result *r, int emit, int64_t step)
{
    lc_ddp *d = t->ddp;
    lc_status st = LC_OK;
    if (r == &t->train_res) {
        d->perf_samples += t->cur_batch_size;
        if (!t->accumulating)
            d->perf_steps++;
    }
    if (has_sync(r)) {
        /* mean, sum, max, min groups of the step values of this batch */
        size_t n = 0;
        for (size_t i = 0; i < r->len; i++)
            n += r->items[i].sync_dist && r->items[i].step_set;
        st = same_count(d, (int64_t)n, "at this step");
        if (st == LC_OK && n > 0) {
            double *v = malloc(n * sizeof *v);
            if (!v)
                return lc_fail(LC_ERR_NOMEM, "ddp: out of memory");
            for (int op = 0; st == LC_OK && op < 4; op++) {
                size_t k = 0;
                for (size_t i = 0; i < r->len; i++) {
                    lc_log_entry *e = &r->items[i];
                    if (e->sync_dist && e->step_set && (int)e->reduce_fx == op)
                        v[k++] = e->step_value;
                }
                if (k == 0)
                    continue;
                static const lc_dist_op ops[4] = {LC_DIST_MEAN, LC_DIST_SUM, LC_DIST_MAX,
                                                  LC_DIST_MIN};
                st = lc_dist_allreduce(d->dist, v, k, LC_DIST_DOUBLE, ops[op]);
                k = 0;
                for (size_t i = 0; st == LC_OK && i < r->len; i++) {
                    lc_log_entry *e = &r->items[i];
                    if (e->sync_dist && e->step_set && (int)e->reduce_fx == op)
                        e->step_value = v[k++];
                }
            }
            free(v);
        }
    }
    if (st == LC_OK && emit && r == &t->train_res)
        st = log_perf(t, step);
    return st;
}

lc_status lc_ddp_sync_epoch(lc_trainer *t, lc_log_result *r)
{
    lc_ddp *d = t->ddp;
    if (!has_sync(r))
        return LC_OK;
    size_t n = 0;
    for (size_t i = 0; i < r->len; i++)
        n += r->items[i].sync_dist && r->items[i].on_epoch && !r->items[i].dist_synced;
    lc_status st = same_count(d, (int64_t)n, "at this epoch end");
    if (st != LC_OK || n == 0)
        return st;
    /* sum/mean: (acc, weight, set) summed; max/min: acc reduced, an
       unset rank contributing the identity */
    double *sums = malloc(3 * n * sizeof *sums);
    double *mx = malloc(n * sizeof *mx), *mn = malloc(n * sizeof *mn);
    if (!sums || !mx || !mn) {
        free(sums), free(mx), free(mn);
        return lc_fail(LC_ERR_NOMEM, "ddp: out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < r->len; i++) {
        lc_log_entry *e = &r->items[i];
        if (!(e->sync_dist && e->on_epoch && !e->dist_synced))
            continue;
        sums[3 * k] = e->epoch_set ? e->acc : 0;
        sums[3 * k + 1] = e->epoch_set ? e->weight : 0;
        sums[3 * k + 2] = e->epoch_set;
        mx[k] = e->epoch_set ? e->acc : -INFINITY;
        mn[k] = e->epoch_set ? e->acc : INFINITY;
        k++;
    }
    st = lc_dist_allreduce(d->dist, sums, 3 * n, LC_DIST_DOUBLE, LC_DIST_SUM);
    if (st == LC_OK)
        st = lc_dist_allreduce(d->dist, mx, n, LC_DIST_DOUBLE, LC_DIST_MAX);
    if (st == LC_OK)
        st = lc_dist_allreduce(d->dist, mn, n, LC_DIST_DOUBLE, LC_DIST_MIN);
    k = 0;
    for (size_t i = 0; st == LC_OK && i < r->len; i++) {
        lc_log_entry *e = &r->items[i];
        if (!(e->sync_dist && e->on_epoch && !e->dist_synced))
            continue;
        e->epoch_set = sums[3 * k + 2] > 0;
        if (e->reduce_fx == LC_REDUCE_MAX)
            e->acc = mx[k];
        else if (e->reduce_fx == LC_REDUCE_MIN)
            e->acc = mn[k];
        else
            e->acc = sums[3 * k];
        e->weight = sums[3 * k + 1];
        e->dist_synced = 1;
        k++;
    }
    free(sums), free(mx), free(mn);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Checkpoints                                                               */

lc_status lc_ddp_ckpt_boundary(lc_trainer *t, int *write)
{
    lc_ddp *d = t->ddp;
    *write = 0;
    /* rank 0's decision: does a checkpoint get written here? (the other
       ranks' ModelCheckpoint requests are dropped: rank 0 decides) */
    int64_t pending = d->rank == 0 ? (int64_t)t->npending : 0;
    lc_status st = lc_dist_broadcast(d->dist, &pending, sizeof pending, 0);
    if (st == LC_OK && d->rank != 0)
        for (; t->npending > 0; t->npending--)
            free(t->pending[t->npending - 1]);
    if (st != LC_OK || pending == 0)
        return st;
    /* every rank's dropout RNG and (mid-epoch) running reductions, to
       rank 0 for the ddp/ranks section */
    int mid = t->stage == LC_STAGE_FIT && t->ckpt_mid_epoch;
    size_t rlen = mid ? lc_log_result_state_size(&t->train_res) : 0;
    uint8_t *mine = malloc(24 + rlen);
    if (!mine)
        return lc_fail(LC_ERR_NOMEM, "ddp: out of memory");
    uint64_t rng[2];
    lc_rng_save(&t->rng, rng);
    uint64_t len = rlen;
    memcpy(mine, rng, 16);
    memcpy(mine + 16, &len, 8);
    if (rlen)
        lc_log_result_state_save(&t->train_res, mine + 24);
    free(d->states);
    d->states = NULL;
    if (!d->state_lens)
        d->state_lens = calloc((size_t)d->world, sizeof *d->state_lens);
    st = d->state_lens ? lc_dist_gatherv(d->dist, mine, 24 + rlen, &d->states, d->state_lens, 0)
                       : lc_fail(LC_ERR_NOMEM, "ddp: out of memory");
    free(mine);
    *write = st == LC_OK && d->rank == 0;
    return st;
}

void lc_ddp_ckpt_add(lc_trainer *t, struct lc_ckpt_writer *w)
{
    lc_ddp *d = t->ddp;
    if (d->rank != 0 || !d->states)
        return;
    size_t total = 0;
    for (int r = 0; r < d->world; r++)
        total += d->state_lens[r];
    size_t head = 4 + 8 * (size_t)d->world;
    uint8_t *out = lc_ckpt_add_space(w, "ddp/ranks", head + total);
    if (out) {
        uint32_t world = (uint32_t)d->world;
        memcpy(out, &world, 4);
        for (int r = 0; r < d->world; r++) {
            uint64_t l = d->state_lens[r];
            memcpy(out + 4 + 8 * (size_t)r, &l, 8);
        }
        memcpy(out + head, d->states, total);
    }
    free(d->states);
    d->states = NULL;
}

lc_status lc_ddp_ckpt_restore(lc_trainer *t, const struct lc_ckpt_reader *r, const char *path)
{
    lc_ddp *d = t->ddp;
    const lc_ckpt_section *s = lc_ckpt_find(r, "ddp/ranks");
    if (!s) {
        if (d->rank == 0)
            lc_trainer_warn("checkpoint '%s' was written by a single process: every rank resumes "
                            "with rank 0's dropout RNG state", path);
        return LC_OK;
    }
    uint32_t world = 0;
    if (s->len < 4)
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s': ddp/ranks section is truncated", path);
    memcpy(&world, s->data, 4);
    size_t head = 4 + 8 * (size_t)world;
    if (world == 0 || s->len < head)
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s': ddp/ranks section is truncated", path);
    if ((int)world != d->world && d->rank == 0)
        lc_trainer_warn("checkpoint '%s' was written by %u ranks and resumes on %d: ranks "
                        "without a saved state keep their fresh RNG and rank 0's loop results",
                        path, world, d->world);
    if ((uint32_t)d->rank >= world)
        return LC_OK;
    size_t off = head;
    for (int q = 0; q < d->rank; q++) {
        uint64_t l;
        memcpy(&l, s->data + 4 + 8 * (size_t)q, 8);
        off += l;
    }
    uint64_t l;
    memcpy(&l, s->data + 4 + 8 * (size_t)d->rank, 8);
    if (off + l > s->len || l < 24)
        return lc_fail(LC_ERR_INVALID, "checkpoint '%s': ddp/ranks entry of rank %d is "
                       "truncated", path, d->rank);
    uint64_t rng[2], rlen;
    memcpy(rng, s->data + off, 16);
    memcpy(&rlen, s->data + off + 16, 8);
    lc_rng_restore(&t->rng, rng);
    if (rlen > 0 && 24 + rlen <= l)
        return lc_log_result_state_load(&t->train_res, s->data + off + 24, (size_t)rlen);
    return LC_OK;
}
