/*
 * trainer/dist/dist_mpi.c — the process group over MPI (dist.h): init and
 * ranks, host all-reduce / broadcast / barrier / gather, the error channel
 * and the deadline that keep a rank from hanging when a peer fails, and
 * the device half handed to dist_nccl.c.
 *
 * Every collective is the non-blocking MPI call (MPI_Iallreduce, ...)
 * completed by wait_req: MPI_Test in a loop that backs off (spin, then
 * sched_yield, then 50 us sleeps: two ranks on two shared cores must not
 * starve each other), and every few milliseconds probes the error channel,
 * calls the interrupt callback and checks the deadline. Errors come back
 * as return codes (MPI_ERRORS_RETURN on both communicators).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/status.h"
#include "dist.h"

#ifdef LC_HAVE_MPI
#include <mpi.h>

#define TAG_ERR 7001
#define ERR_MAX 1024

struct lc_dist {
    MPI_Comm comm;     /* collectives */
    MPI_Comm err_comm; /* "rank R failed" messages */
    int rank, world, local_rank, local_world;
    char host[MPI_MAX_PROCESSOR_NAME + 1];
    double timeout_s;
    size_t chunk_bytes;    /* all-reduce piece (LIGHTC_DIST_CHUNK_KB) */
    lc_dist_interrupt_fn interrupt;
    void *interrupt_ctx;
    lc_dist_stats stats;
    lc_nccl *nccl;
};

/* Process-wide: MPI is initialised once and finalised at exit. */
static int g_users;
static int g_broken;      /* 1: a peer failed or we raised: finalise with a watchdog */
static int g_hung;        /* 1: a peer did not answer: never finalise */
static char g_err[ERR_MAX];
static char g_raise_msg[ERR_MAX];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static lc_status mpi_fail(int rc, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", rc);
    g_broken = 1;
    snprintf(g_err, sizeof g_err, "dist: %s failed: %s", what, text);
    return lc_fail(LC_ERR_IO, "%s", g_err);
}

static lc_status broken_status(void)
{
    return lc_fail(LC_ERR_STATE, "%s", g_err[0] ? g_err : "dist: the process group failed earlier");
}

static void *finalize_watchdog(void *arg)
{
    (void)arg;
    sleep(15);
    fprintf(stderr, "lightc: dist: MPI_Finalize did not return 15 s after the job failed; "
            "leaving without it\n");
    _exit(1);
    return NULL;
}

static void dist_atexit(void)
{
    int fin = 0;
    MPI_Finalized(&fin);
    if (fin || g_hung)
        return; /* a hung peer would keep MPI_Finalize waiting forever */
    if (g_broken) {
        pthread_t th;
        if (pthread_create(&th, NULL, finalize_watchdog, NULL) == 0)
            pthread_detach(th);
    }
    MPI_Finalize();
}

/* Look for a "rank R failed" message; 1 (and the group broken) if one came. */
static int poll_errors(lc_dist *d)
{
    int flag = 0;
    MPI_Status s;
    if (MPI_Iprobe(MPI_ANY_SOURCE, TAG_ERR, d->err_comm, &flag, &s) != MPI_SUCCESS || !flag)
        return 0;
    int n = 0;
    MPI_Get_count(&s, MPI_CHAR, &n);
    char msg[ERR_MAX];
    if (n > (int)sizeof msg)
        n = (int)sizeof msg;
    MPI_Recv(msg, n, MPI_CHAR, s.MPI_SOURCE, TAG_ERR, d->err_comm, MPI_STATUS_IGNORE);
    msg[n > 0 ? n - 1 : 0] = 0;
    g_broken = 1;
    snprintf(g_err, sizeof g_err, "rank %d of %d failed, so rank %d stops: %.900s", s.MPI_SOURCE,
             d->world, d->rank, msg);
    return 1;
}

/* Complete req, watching the error channel, the interrupt and the deadline. */
static lc_status wait_req(lc_dist *d, MPI_Request *req, const char *what)
{
    double t0 = now_s(), next_check = t0 + 0.002;
    for (long spins = 0;; spins++) {
        int flag = 0;
        int rc = MPI_Test(req, &flag, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, what);
        if (flag)
            return LC_OK;
        if (spins < 2000)
            continue;
        double t = now_s();
        if (t >= next_check) {
            next_check = t + 0.005;
            if (poll_errors(d))
                return broken_status();
            char why[512] = "";
            if (d->interrupt && d->interrupt(d->interrupt_ctx, why, sizeof why)) {
                g_broken = 1;
                g_hung = 1; /* the peers may still be waiting in this collective */
                snprintf(g_err, sizeof g_err, "dist: rank %d interrupted in %s: %.400s", d->rank,
                         what, why);
                return broken_status();
            }
            if (t - t0 > d->timeout_s) {
                g_broken = g_hung = 1;
                snprintf(g_err, sizeof g_err,
                         "dist: rank %d of %d waited %.0f s in %s without an answer from the other "
                         "ranks: a peer is hung or dead (LIGHTC_DIST_TIMEOUT_S sets the limit)",
                         d->rank, d->world, t - t0, what);
                return broken_status();
            }
        }
        if (t - t0 < 0.02) {
            sched_yield();
        } else {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
}

int lc_dist_have_mpi(void)
{
    return 1;
}

lc_status lc_dist_init(lc_dist **out, double timeout_s)
{
    *out = NULL;
    if (g_broken)
        return broken_status();
    int inited = 0, fin = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&fin);
    if (fin)
        return lc_fail(LC_ERR_STATE, "dist: MPI was already finalised in this process");
    if (!inited) {
        /* Open MPI's non-blocking all-reduce picks an algorithm that runs
           gradient-sized buffers well below its blocking one; its ring is on
           par up to a few ranks per group (bench/bench_ddp). Beyond 16 ranks
           the ring's 2(p-1) steps cost small messages more than they gain:
           Open MPI's own choice stays. The user's setting always wins. */
        int env_world = lc_dist_env_world_size(NULL, NULL);
        if (env_world > 1 && env_world <= 16)
            setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0);
        int provided = 0;
        int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, "MPI_Init_thread");
        atexit(dist_atexit);
    }
    lc_dist *d = calloc(1, sizeof *d);
    if (!d)
        return lc_fail(LC_ERR_NOMEM, "dist: out of memory");
    if (timeout_s <= 0) {
        const char *e = getenv("LIGHTC_DIST_TIMEOUT_S");
        timeout_s = e && *e ? atof(e) : 0;
        if (!(timeout_s > 0))
            timeout_s = 1800;
    }
    d->timeout_s = timeout_s;
    const char *ck = getenv("LIGHTC_DIST_CHUNK_KB");
    double kb = ck && *ck ? atof(ck) : 256;
    d->chunk_bytes = kb >= 1 && kb <= 1024 * 1024 ? (size_t)(kb * 1024) : 256 * 1024;
    int rc = MPI_Comm_dup(MPI_COMM_WORLD, &d->comm);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_dup(MPI_COMM_WORLD, &d->err_comm);
    if (rc != MPI_SUCCESS) {
        free(d);
        return mpi_fail(rc, "MPI_Comm_dup");
    }
    MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(d->err_comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(d->comm, &d->rank);
    MPI_Comm_size(d->comm, &d->world);
    MPI_Comm local;
    if (MPI_Comm_split_type(d->comm, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &local) ==
        MPI_SUCCESS) {
        MPI_Comm_rank(local, &d->local_rank);
        MPI_Comm_size(local, &d->local_world);
        MPI_Comm_free(&local);
    } else {
        d->local_rank = d->rank;
        d->local_world = d->world;
    }
    int len = 0;
    MPI_Get_processor_name(d->host, &len);
    d->host[len] = 0;
    g_users++;
    *out = d;
    return LC_OK;
}

void lc_dist_free(lc_dist *d)
{
    if (!d)
        return;
    lc_nccl_free(d->nccl);
    if (!g_broken) {
        MPI_Comm_free(&d->comm);
        MPI_Comm_free(&d->err_comm);
    }
    g_users--;
    free(d);
}

int lc_dist_rank(const lc_dist *d) { return d ? d->rank : 0; }
int lc_dist_world(const lc_dist *d) { return d ? d->world : 1; }
int lc_dist_local_rank(const lc_dist *d) { return d ? d->local_rank : 0; }
int lc_dist_local_world(const lc_dist *d) { return d ? d->local_world : 1; }
const char *lc_dist_host(const lc_dist *d) { return d ? d->host : ""; }
int lc_dist_broken(const lc_dist *d) { (void)d; return g_broken; }

void lc_dist_set_interrupt(lc_dist *d, lc_dist_interrupt_fn fn, void *ctx)
{
    d->interrupt = fn;
    d->interrupt_ctx = ctx;
}

static MPI_Datatype mpi_type(lc_dist_type t, size_t *size)
{
    switch (t) {
    case LC_DIST_FLOAT: *size = 4; return MPI_FLOAT;
    case LC_DIST_DOUBLE: *size = 8; return MPI_DOUBLE;
    case LC_DIST_INT32: *size = 4; return MPI_INT32_T;
    default: *size = 8; return MPI_INT64_T;
    }
}

lc_status lc_dist_allreduce(lc_dist *d, void *buf, size_t count, lc_dist_type type, lc_dist_op op)
{
    if (g_broken)
        return broken_status();
    if (op == LC_DIST_MEAN && type != LC_DIST_FLOAT && type != LC_DIST_DOUBLE)
        return lc_fail(LC_ERR_INVALID, "dist: a mean all-reduce needs float or double values");
    if (count == 0)
        return LC_OK;
    size_t esz;
    MPI_Datatype dt = mpi_type(type, &esz);
    MPI_Op mop = op == LC_DIST_MAX ? MPI_MAX : op == LC_DIST_MIN ? MPI_MIN : MPI_SUM;
    double t0 = now_s();
    /* Large buffers go as pieces of LIGHTC_DIST_CHUNK_KB (256 KB), up to
       16 in flight at once: Open MPI's non-blocking all-reduce (libnbc)
       runs one piece at a time much slower than its blocking one, and
       overlapping the pieces wins most of that back (bench/bench_ddp). */
    size_t chunk = d->chunk_bytes / esz;
    if (chunk == 0)
        chunk = 1;
    enum { WINDOW = 16 };
    MPI_Request req[WINDOW];
    size_t off = 0;
    while (off < count) {
        int k = 0;
        for (; k < WINDOW && off < count; k++) {
            size_t n = count - off < chunk ? count - off : chunk;
            int rc = MPI_Iallreduce(MPI_IN_PLACE, (char *)buf + off * esz, (int)n, dt, mop,
                                    d->comm, &req[k]);
            if (rc != MPI_SUCCESS)
                return mpi_fail(rc, "MPI_Iallreduce");
            off += n;
        }
        for (int i = 0; i < k; i++) {
            lc_status st = wait_req(d, &req[i], "all-reduce");
            if (st != LC_OK)
                return st;
        }
    }
    if (op == LC_DIST_MEAN) {
        if (type == LC_DIST_FLOAT) {
            float *f = buf, inv = 1.0f / (float)d->world;
            for (size_t i = 0; i < count; i++)
                f[i] *= inv;
        } else {
            double *f = buf;
            for (size_t i = 0; i < count; i++)
                f[i] /= (double)d->world;
        }
    }
    d->stats.allreduce_calls++;
    d->stats.allreduce_bytes += count * esz;
    d->stats.allreduce_seconds += now_s() - t0;
    return LC_OK;
}

lc_status lc_dist_broadcast(lc_dist *d, void *buf, size_t bytes, int root)
{
    if (g_broken)
        return broken_status();
    const size_t chunk = (size_t)1 << 30;
    for (size_t off = 0; off < bytes; off += chunk) {
        size_t n = bytes - off < chunk ? bytes - off : chunk;
        MPI_Request req;
        int rc = MPI_Ibcast((char *)buf + off, (int)n, MPI_BYTE, root, d->comm, &req);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, "MPI_Ibcast");
        lc_status st = wait_req(d, &req, "broadcast");
        if (st != LC_OK)
            return st;
    }
    return LC_OK;
}

lc_status lc_dist_barrier(lc_dist *d)
{
    if (g_broken)
        return broken_status();
    MPI_Request req;
    int rc = MPI_Ibarrier(d->comm, &req);
    if (rc != MPI_SUCCESS)
        return mpi_fail(rc, "MPI_Ibarrier");
    return wait_req(d, &req, "barrier");
}

lc_status lc_dist_gather(lc_dist *d, const void *mine, size_t bytes, void *all, int root)
{
    if (g_broken)
        return broken_status();
    if (bytes > (size_t)1 << 30)
        return lc_fail(LC_ERR_INVALID, "dist: gather of %zu bytes is too large", bytes);
    MPI_Request req;
    int rc = MPI_Igather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, root, d->comm, &req);
    if (rc != MPI_SUCCESS)
        return mpi_fail(rc, "MPI_Igather");
    return wait_req(d, &req, "gather");
}

lc_status lc_dist_gatherv(lc_dist *d, const void *mine, size_t len, void **out, size_t *lens,
                          int root)
{
    *out = NULL;
    int64_t my = (int64_t)len;
    int64_t *all = d->rank == root ? calloc((size_t)d->world, sizeof *all) : NULL;
    if (d->rank == root && !all)
        return lc_fail(LC_ERR_NOMEM, "dist: out of memory");
    lc_status st = lc_dist_gather(d, &my, sizeof my, all, root);
    int *counts = NULL, *displs = NULL;
    char *buf = NULL;
    if (st == LC_OK && d->rank == root) {
        counts = calloc((size_t)d->world, sizeof *counts);
        displs = calloc((size_t)d->world, sizeof *displs);
        size_t total = 0;
        for (int r = 0; r < d->world; r++)
            total += (size_t)all[r];
        buf = malloc(total ? total : 1);
        if (!counts || !displs || !buf || total > (size_t)1 << 30) {
            st = lc_fail(LC_ERR_NOMEM, "dist: out of memory gathering %zu bytes", total);
        } else {
            size_t off = 0;
            for (int r = 0; r < d->world; r++) {
                counts[r] = (int)all[r];
                displs[r] = (int)off;
                lens[r] = (size_t)all[r];
                off += (size_t)all[r];
            }
        }
    }
    /* the root always takes part, also after a local failure: the
       others are already in the call */
    if (st == LC_OK || d->rank != root) {
        MPI_Request req;
        int rc = MPI_Igatherv(mine, (int)len, MPI_BYTE, buf, counts, displs, MPI_BYTE, root,
                              d->comm, &req);
        if (st == LC_OK)
            st = rc != MPI_SUCCESS ? mpi_fail(rc, "MPI_Igatherv") : wait_req(d, &req, "gather");
    }
    free(all);
    free(counts);
    free(displs);
    if (st != LC_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    return LC_OK;
}

void lc_dist_raise(lc_dist *d, const char *msg)
{
    if (!d || g_broken)
        return;
    g_broken = 1;
    snprintf(g_err, sizeof g_err, "dist: rank %d failed: %.900s", d->rank, msg ? msg : "");
    snprintf(g_raise_msg, sizeof g_raise_msg, "%s", msg ? msg : "");
    int n = (int)strlen(g_raise_msg) + 1;
    MPI_Request *reqs = calloc((size_t)d->world, sizeof *reqs);
    if (!reqs)
        return;
    int k = 0;
    for (int r = 0; r < d->world; r++)
        if (r != d->rank &&
            MPI_Isend(g_raise_msg, n, MPI_CHAR, r, TAG_ERR, d->err_comm, &reqs[k]) == MPI_SUCCESS)
            k++;
    /* small messages leave at once (eager); give them 2 s at most */
    double t0 = now_s();
    int done = 0;
    while (!done && now_s() - t0 < 2.0) {
        MPI_Testall(k, reqs, &done, MPI_STATUSES_IGNORE);
        if (!done) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
    free(reqs);
}

void lc_dist_get_stats(const lc_dist *d, lc_dist_stats *out)
{
    if (d)
        *out = d->stats;
    else
        memset(out, 0, sizeof *out);
}

lc_status lc_dist_nccl_init(lc_dist *d, int device)
{
    if (d->nccl)
        return LC_OK;
    return lc_nccl_create(&d->nccl, d, device);
}

int lc_dist_nccl_ready(const lc_dist *d)
{
    return d && d->nccl != NULL;
}

lc_status lc_dist_allreduce_device(lc_dist *d, float *const *bufs, const size_t *counts, size_t n,
                                   lc_dist_op op)
{
    if (g_broken)
        return broken_status();
    if (!d->nccl)
        return lc_fail(LC_ERR_STATE, "dist: device all-reduce before lc_dist_nccl_init");
    double t0 = now_s();
    lc_status st = lc_nccl_allreduce(d->nccl, bufs, counts, n, op, d->world);
    if (st == LC_OK) {
        d->stats.allreduce_calls++;
        for (size_t i = 0; i < n; i++)
            d->stats.allreduce_bytes += counts[i] * sizeof(float);
        d->stats.allreduce_seconds += now_s() - t0;
    }
    return st;
}

lc_status lc_dist_broadcast_device(lc_dist *d, void *buf, size_t bytes, int root)
{
    if (g_broken)
        return broken_status();
    if (!d->nccl)
        return lc_fail(LC_ERR_STATE, "dist: device broadcast before lc_dist_nccl_init");
    return lc_nccl_broadcast(d->nccl, buf, bytes, root);
}

#else /* built without MPI */

#define NO_MPI_MSG                                                                             \
    "strategy ddp needs MPI, and this lightc was built without it: install Open MPI "          \
    "(Debian: apt-get install openmpi-bin libopenmpi-dev, or run scripts/setup), then "        \
    "reconfigure and rebuild (cmake -S . -B build && cmake --build build); or train on one "   \
    "process (devices=1)"

struct lc_dist {
    int unused;
};

int lc_dist_have_mpi(void) { return 0; }
lc_status lc_dist_init(lc_dist **out, double timeout_s)
{
    (void)timeout_s;
    *out = NULL;
    return lc_fail(LC_ERR_UNSUPPORTED, NO_MPI_MSG);
}
void lc_dist_free(lc_dist *d) { (void)d; }
int lc_dist_rank(const lc_dist *d) { (void)d; return 0; }
int lc_dist_world(const lc_dist *d) { (void)d; return 1; }
int lc_dist_local_rank(const lc_dist *d) { (void)d; return 0; }
int lc_dist_local_world(const lc_dist *d) { (void)d; return 1; }
const char *lc_dist_host(const lc_dist *d) { (void)d; return ""; }
int lc_dist_broken(const lc_dist *d) { (void)d; return 0; }
void lc_dist_set_interrupt(lc_dist *d, lc_dist_interrupt_fn fn, void *ctx)
{
    (void)d, (void)fn, (void)ctx;
}
lc_status lc_dist_allreduce(lc_dist *d, void *buf, size_t count, lc_dist_type type, lc_dist_op op)
{
    (void)d, (void)buf, (void)count, (void)type, (void)op;
    return lc_fail(LC_ERR_UNSUPPORTED, NO_MPI_MSG);
}
lc_status lc_dist_broadcast(lc_dist *d, void *buf, size_t bytes, int root)
{
    (void)d, (void)buf, (void)bytes, (void)root;
    return lc_fail(LC_ERR_UNSUPPORTED, NO_MPI_MSG);
}
lc_status lc_dist_barrier(lc_dist *d)
{
    (void)d;
    return lc_fail(LC_ERR_UNSUPPORTED, NO_MPI_MSG);
}
lc_status lc_dist_gather(lc_dist *d, const void *mine, size_t bytes, void *all, int root)
{
    (void)d, (void)mine, (void)bytes, (void)all, (void)root;
    return lc_fail(LC_ERR_UNSUPPORTED, NO_MPI_MSG);
}
lc_status lc_dist_gatherv(lc_dist *d, const void *mine, size_t len, void **out, size_t *lens,
                          int root)
{
    (void)d, (void)mine, (void)len, (void)lens, (void)root;
    *out = NULL;
    return lc_fail(LC_ERR_UNSUPPORTED, NO_MPI_MSG);
}
void lc_dist_raise(lc_dist *d, const char *msg) { (void)d, (void)msg; }
void lc_dist_get_stats(const lc_dist *d, lc_dist_stats *out)
{
    (void)d;
    memset(out, 0, sizeof *out);
}
lc_status lc_dist_nccl_init(lc_dist *d, int device)
{
    (void)d, (void)device;
    return lc_fail(LC_ERR_UNSUPPORTED, NO_MPI_MSG);
}
int lc_dist_nccl_ready(const lc_dist *d) { (void)d; return 0; }
lc_status lc_dist_allreduce_device(lc_dist *d, float *const *bufs, const size_t *counts, size_t n,
                                   lc_dist_op op)
{
    (void)d, (void)bufs, (void)counts, (void)n, (void)op;
    return lc_fail(LC_ERR_UNSUPPORTED, NO_MPI_MSG);
}
lc_status lc_dist_broadcast_device(lc_dist *d, void *buf, size_t bytes, int root)
{
    (void)d, (void)buf, (void)bytes, (void)root;
    return lc_fail(LC_ERR_UNSUPPORTED, NO_MPI_MSG);
}
#endif
