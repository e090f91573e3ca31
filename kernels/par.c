/*
 * kernels/par.c — the kernels' thread pool (par.h): workers that wait on a
 * futex for a job generation, take its tasks from a shared counter with
 * the caller, and count down; the caller waits for the count to reach
 * zero.
 */
#include "par.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "blas_info.h"

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#define PAR_HAVE_POOL 1
#else
#define PAR_HAVE_POOL 0
#endif

#define PAR_MAX_THREADS 64
/* Polls of a flag before sleeping on it: each is a load and a pause
 * (~10 ns on the project's VM, up to ~50 ns on CPUs with a longer pause),
 * so 0.2-1 ms: a step's gaps between jobs (a small layer, the loss, the
 * hooks) are shorter, so workers stay awake through a step, and an idle
 * pool sleeps long before an OS time slice ends. 2000 polls (~20 us) let
 * workers fall asleep inside steps: the bare loop ran ~10% slower. */
#define PAR_SPINS 20000

static _Thread_local int par_in_task;

int lc_par_threads(void)
{
    if (par_in_task || !PAR_HAVE_POOL)
        return 1;
    int n = lc_blas_get_threads();
    return n < 1 ? 1 : n > PAR_MAX_THREADS ? PAR_MAX_THREADS : n;
}

static void par_serial(size_t ntasks, void (*fn)(void *, size_t), void *ctx)
{
    int saved = par_in_task;
    par_in_task = 1;
    for (size_t t = 0; t < ntasks; t++)
        fn(ctx, t);
    par_in_task = saved;
}

#if PAR_HAVE_POOL

static inline void par_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void futex_wait(atomic_int *addr, int val)
{
    syscall(SYS_futex, (int *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_int *addr)
{
    syscall(SYS_futex, (int *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static struct {
    pthread_mutex_t lock;      /* one job at a time */
    atomic_int gen;            /* bumped per job: what workers wait on */
    atomic_int gen_sleepers;   /* workers asleep on gen: a job wakes them */
    atomic_int pending;        /* workers yet to acknowledge the job */
    atomic_int sleepers;       /* the caller sleeps on pending */
    atomic_size_t next;        /* the job's next task to take */
    void (*fn)(void *, size_t);
    void *ctx;
    size_t ntasks;
    int nt;                    /* threads of the job, caller included */
    int nworkers;              /* started workers (ids 1..nworkers) */
    int start_gen[PAR_MAX_THREADS];
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Run tasks of the current job until none is left: each thread takes the
 * next one from a shared counter, so a thread that was late to wake, or
 * got the slower chunks, does fewer (which thread runs a task never
 * changes its result). */
static void par_take_tasks(void)
{
    size_t t;
    while ((t = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed)) < pool.ntasks)
        pool.fn(pool.ctx, t);
}

static void *par_worker(void *arg)
{
    const int id = (int)(intptr_t)arg;
    /* the generation when it was started (under the lock, before the job
       that needed it was published): that job is the first it runs */
    int seen = pool.start_gen[id];
    par_in_task = 1;
    for (;;) {
        int g;
        int spins = 0;
        while ((g = atomic_load_explicit(&pool.gen, memory_order_acquire)) == seen) {
            if (++spins < PAR_SPINS) {
                par_pause();
            } else {
                /* seq_cst against the caller's bump of gen, then its load of
                   gen_sleepers: it wakes us, or we see the new gen here or
                   in the futex's own compare */
                atomic_fetch_add(&pool.gen_sleepers, 1);
                if (atomic_load(&pool.gen) == seen)
                    futex_wait(&pool.gen, seen);
                atomic_fetch_sub(&pool.gen_sleepers, 1);
            }
        }
        seen = g;
        /* every started worker acknowledges every job, those outside it
           (id >= nt) too: no worker may still read this job's fields when
           the caller returns and writes the next one */
        if (id < pool.nt)
            par_take_tasks();
        /* seq_cst against the caller's store to sleepers, then its load of
           pending: one of the two sides sees the other */
        if (atomic_fetch_sub(&pool.pending, 1) == 1 && atomic_load(&pool.sleepers))
            futex_wake(&pool.pending);
    }
    return NULL;
}

/* A forked child has none of the parent's workers. */
static void par_atfork_child(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pool.nworkers = 0;
}

static pthread_once_t par_once = PTHREAD_ONCE_INIT;

static void par_init(void)
{
    pthread_atfork(NULL, NULL, par_atfork_child);
}

/* Start workers up to nt - 1; returns how many threads the job can have. */
static int par_grow(int nt)
{
    while (pool.nworkers < nt - 1) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pool.start_gen[pool.nworkers + 1] = atomic_load(&pool.gen);
        int rc = pthread_create(&th, &attr, par_worker, (void *)(intptr_t)(pool.nworkers + 1));
        pthread_attr_destroy(&attr);
        if (rc != 0)
            break;
        pool.nworkers++;
    }
    return pool.nworkers + 1 < nt ? pool.nworkers + 1 : nt;
}

void lc_par_run(size_t ntasks, int nt, void (*fn)(void *ctx, size_t task), void *ctx)
{
    if ((size_t)nt > ntasks)
        nt = (int)ntasks;
    if (nt <= 1 || par_in_task) {
        par_serial(ntasks, fn, ctx);
        return;
    }
    pthread_once(&par_once, par_init);
    if (pthread_mutex_trylock(&pool.lock) != 0) { /* another thread's job */
        par_serial(ntasks, fn, ctx);
        return;
    }
    nt = par_grow(nt);
    if (nt <= 1) {
        pthread_mutex_unlock(&pool.lock);
        par_serial(ntasks, fn, ctx);
        return;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    pool.ntasks = ntasks;
    pool.nt = nt;
    atomic_store_explicit(&pool.pending, pool.nworkers, memory_order_relaxed);
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    atomic_fetch_add(&pool.gen, 1);
    /* a wake is a system call (~1 us here): only when a worker sleeps, not
       on each of a step's ~20 jobs while they spin */
    if (atomic_load(&pool.gen_sleepers) > 0)
        futex_wake(&pool.gen);

    par_in_task = 1;
    par_take_tasks();
    par_in_task = 0;

    int spins = 0, p;
    while ((p = atomic_load_explicit(&pool.pending, memory_order_acquire)) != 0) {
        if (++spins < PAR_SPINS) {
            par_pause();
        } else {
            atomic_store(&pool.sleepers, 1);
            if ((p = atomic_load(&pool.pending)) != 0)
                futex_wait(&pool.pending, p);
        }
    }
    atomic_store_explicit(&pool.sleepers, 0, memory_order_relaxed);
    pthread_mutex_unlock(&pool.lock);
}

#else

void lc_par_run(size_t ntasks, int nt, void (*fn)(void *ctx, size_t task), void *ctx)
{
    (void)nt;
    par_serial(ntasks, fn, ctx);
}

#endif

/* ---- chunked loops -------------------------------------------------------- */

typedef struct par_chunks_job {
    size_t n;
    void (*fn)(void *, size_t, size_t);
    void *ctx;
} par_chunks_job;

static void par_chunk_task(void *arg, size_t task)
{
    const par_chunks_job *j = arg;
    size_t a = task * LC_PAR_CHUNK;
    j->fn(j->ctx, a, j->n - a < LC_PAR_CHUNK ? j->n - a : LC_PAR_CHUNK);
}

void lc_par_chunks(size_t n, void (*fn)(void *ctx, size_t first, size_t len), void *ctx)
{
    int nt = n < LC_PAR_MIN ? 1 : lc_par_threads();
    if (nt <= 1) {
        if (n)
            fn(ctx, 0, n);
        return;
    }
    par_chunks_job j = {n, fn, ctx};
    lc_par_run((n + LC_PAR_CHUNK - 1) / LC_PAR_CHUNK, nt, par_chunk_task, &j);
}
