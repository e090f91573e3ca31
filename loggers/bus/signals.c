/*
 * loggers/bus/signals.c — opt-in SIGINT/SIGTERM handling.
 *
 * The handler only writes the signal number to a self-pipe (async-signal
 * safe). A watcher thread reads it, finishes every live run of every
 * registered hub as 'killed' after a bounded flush (LIGHTC_SIGNAL_FLUSH_MS,
 * default 5000 ms), restores the previous handlers and re-raises the
 * signal, so the process ends the way it would have without lightc (or the
 * previous handler runs: handlers are chained). A second signal while the
 * flush is running restores the previous handlers and re-raises at once.
 *
 * A signal that is ignored (SIG_IGN) when the hub registers stays ignored,
 * as Python leaves an inherited SIG_IGN for SIGINT alone: `prog &` from a
 * non-interactive shell starts with SIGINT ignored, and a run must not be
 * marked killed by a signal that would not have stopped the process. Only
 * the signals taken over are restored. A trainer learns that its run was
 * ended by a signal through lc_run_get_status and stops. A hub's signal
 * cause (lc_hub_set_signal_cause) may say the run failed instead: a
 * distributed job whose launcher stops the surviving ranks after one died.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub_internal.h"

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static lc_hub *registered;
static int pipe_fd[2] = {-1, -1};
static pthread_t watcher;
static int installed;
static struct sigaction old_int, old_term;
static int took_int, took_term; /* the signals whose handler is ours */
static volatile sig_atomic_t pending;

static void restore_handlers(void)
{
    if (took_int)
        sigaction(SIGINT, &old_int, NULL);
    if (took_term)
        sigaction(SIGTERM, &old_term, NULL);
}

/* 1 if sig is ignored now (an inherited or chosen SIG_IGN). */
static int signal_ignored(int sig)
{
    struct sigaction cur;
    return sigaction(sig, NULL, &cur) == 0 && !(cur.sa_flags & SA_SIGINFO) &&
           cur.sa_handler == SIG_IGN;
}

static void on_signal(int sig)
{
    if (pending) {
        /* second signal: give up on the flush */
        restore_handlers();
        raise(sig);
        return;
    }
    pending = sig;
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t r = write(pipe_fd[1], &b, 1);
    (void)r;
    errno = saved;
}

static void *watch(void *arg)
{
    (void)arg;
    unsigned char b;
    for (;;) {
        ssize_t r = read(pipe_fd[0], &b, 1);
        if (r == 1)
            break;
        if (r < 0 && errno == EINTR)
            continue;
        return NULL;
    }
    if (b == 0)
        return NULL; /* shutdown request from lc_signals_unregister */
    int sig = b;
    const char *env = getenv("LIGHTC_SIGNAL_FLUSH_MS");
    uint32_t ms = env ? (uint32_t)atoi(env) : 5000;
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    uint64_t deadline = lc_deadline_after(ms);
    pthread_mutex_lock(&reg_mu);
    int said = 0;
    for (lc_hub *h = registered; h; h = h->next_signal) {
        lc_run_status status = LC_RUN_KILLED;
        char why[512] = "";
        if (h->signal_cause)
            status = h->signal_cause(h->signal_cause_ctx, sig, why, sizeof why);
        if (status != LC_RUN_FAILED)
            status = LC_RUN_KILLED;
        if (status == LC_RUN_FAILED)
            fprintf(stderr, "\nlightc: %s received: %s; finishing runs as failed (flush up to %u ms)\n",
                    name, why[0] ? why : "the job failed", ms);
        else if (!said++)
            fprintf(stderr, "\nlightc: %s received, finishing runs as killed (flush up to %u ms)\n",
                    name, ms);
        /* ended, not freed: other threads may still log into them */
        lc_run_end_all(h, status, deadline, NULL, 0);
        uint64_t now = lc_mono_ms();
        lc_hub_flush(h, !deadline ? 0 : deadline > now ? (uint32_t)(deadline - now) : 1);
    }
    pthread_mutex_unlock(&reg_mu);
    restore_handlers();
    raise(sig);
    return NULL;
}

int lc_signals_register(lc_hub *hub, char *err, size_t errlen)
{
    pthread_mutex_lock(&reg_mu);
    int want_int = 0, want_term = 0;
    if (!installed) {
        want_int = !signal_ignored(SIGINT);
        want_term = !signal_ignored(SIGTERM);
    }
    if (!installed && (want_int || want_term)) {
        if (pipe(pipe_fd) != 0) {
            pthread_mutex_unlock(&reg_mu);
            snprintf(err, errlen, "signal handling: pipe: %s", strerror(errno));
            return -1;
        }
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        took_int = want_int && sigaction(SIGINT, &sa, &old_int) == 0;
        took_term = want_term && sigaction(SIGTERM, &sa, &old_term) == 0;
        if (pthread_create(&watcher, NULL, watch, NULL) != 0) {
            restore_handlers();
            took_int = took_term = 0;
            close(pipe_fd[0]);
            close(pipe_fd[1]);
            pipe_fd[0] = pipe_fd[1] = -1;
            pthread_mutex_unlock(&reg_mu);
            snprintf(err, errlen, "signal handling: cannot start the watcher thread");
            return -1;
        }
        installed = 1;
    }
    hub->next_signal = registered;
    registered = hub;
    pthread_mutex_unlock(&reg_mu);
    return 0;
}

void lc_signals_unregister(lc_hub *hub)
{
    /* if a signal is being handled, this waits until the watcher is done */
    pthread_mutex_lock(&reg_mu);
    lc_hub **pp = &registered;
    while (*pp && *pp != hub)
        pp = &(*pp)->next_signal;
    if (*pp)
        *pp = hub->next_signal;
    int last = installed && !registered;
    if (last) {
        restore_handlers();
        took_int = took_term = 0;
        unsigned char zero = 0;
        ssize_t r = write(pipe_fd[1], &zero, 1);
        (void)r;
        installed = 0;
    }
    pthread_mutex_unlock(&reg_mu);
    if (last) {
        pthread_join(watcher, NULL);
        close(pipe_fd[0]);
        close(pipe_fd[1]);
        pipe_fd[0] = pipe_fd[1] = -1;
    }
}

void lc_hub_set_signal_cause(lc_hub *hub, lc_signal_cause_fn fn, void *ctx)
{
    if (!hub)
        return;
    pthread_mutex_lock(&reg_mu);
    hub->signal_cause = fn;
    hub->signal_cause_ctx = fn ? ctx : NULL;
    pthread_mutex_unlock(&reg_mu);
}
