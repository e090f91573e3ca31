/*
 * loggers/remote/cancel.c — see cancel.h. A mutex + condition variable on
 * CLOCK_MONOTONIC (so setting the wall clock never stretches a backoff),
 * plus an atomic copy of the flag for the lock-free check that libcurl's
 * progress callback makes many times a second.
 */
#include "cancel.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct lc_cancel {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool set;
};

lc_cancel *lc_cancel_new(void)
{
    lc_cancel *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        free(c);
        return NULL;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&c->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0 || pthread_mutex_init(&c->mu, NULL) != 0) {
        if (rc == 0)
            pthread_cond_destroy(&c->cv);
        free(c);
        return NULL;
    }
    atomic_init(&c->set, false);
    return c;
}

void lc_cancel_free(lc_cancel *c)
{
    if (!c)
        return;
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void lc_cancel_set(lc_cancel *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->set, true);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void lc_cancel_clear(lc_cancel *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->set, false);
    pthread_mutex_unlock(&c->mu);
}

bool lc_cancel_is_set(const lc_cancel *c)
{
    return c && atomic_load(&((lc_cancel *)c)->set);
}

static struct timespec cancel_deadline(uint64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

bool lc_cancel_sleep_ms(lc_cancel *c, uint64_t ms)
{
    struct timespec until = cancel_deadline(ms);
    if (!c) {
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
            ;
        return false;
    }
    pthread_mutex_lock(&c->mu);
    while (!atomic_load(&c->set)) {
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT)
            break;
    }
    bool set = atomic_load(&c->set);
    pthread_mutex_unlock(&c->mu);
    return set;
}
