/*
 * loggers/bus/queue.c — the slow paths of the event queue: setup, sleeping and
 * waking. The fast paths (reserve, publish, peek) are inline in queue.h.
 */
#include "queue.h"

#include "common/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int lc_queue_init(lc_queue *q, uint64_t capacity)
{
    memset(q, 0, sizeof *q);
    uint64_t cap = 64;
    while (cap < capacity && cap < (1ull << 30))
        cap <<= 1;
    q->slots = aligned_alloc(64, cap * sizeof(lc_slot));
    if (!q->slots)
        return -1;
    for (uint64_t i = 0; i < cap; i++) {
        atomic_init(&q->slots[i].seq, i);
        memset(&q->slots[i].ev, 0, sizeof q->slots[i].ev);
    }
    q->capacity = cap;
    q->mask = cap - 1;
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    atomic_init(&q->waiters, 0);
    atomic_init(&q->consumer_asleep, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->space, &ca);
    pthread_cond_init(&q->data, &ca);
    pthread_condattr_destroy(&ca);
    return 0;
}

void lc_queue_destroy(lc_queue *q)
{
    if (!q->slots)
        return;
    pthread_cond_destroy(&q->space);
    pthread_cond_destroy(&q->data);
    pthread_mutex_destroy(&q->mu);
    free(q->slots);
    q->slots = NULL;
}

/* Wake one or all sleepers on c, under the queue's lock (a sleeper checks
   its condition under the same lock, so no wake-up is lost). */
static void wake(lc_queue *q, pthread_cond_t *c, int all)
{
    pthread_mutex_lock(&q->mu);
    if (all)
        pthread_cond_broadcast(c);
    else
        pthread_cond_signal(c);
    pthread_mutex_unlock(&q->mu);
}

void lc_queue_kick(lc_queue *q)
{
    if (atomic_load_explicit(&q->consumer_asleep, memory_order_acquire))
        wake(q, &q->data, 0);
}

void lc_queue_wait_space(lc_queue *q, uint32_t n, uint32_t timeout_ms)
{
    struct timespec ts = lc_mono_deadline(timeout_ms);
    pthread_mutex_lock(&q->mu);
    atomic_fetch_add(&q->waiters, 1);
    pthread_cond_signal(&q->data);
    uint64_t head = atomic_load(&q->head);
    uint64_t tail = atomic_load(&q->tail);
    if (head - tail + n > q->capacity)
        pthread_cond_timedwait(&q->space, &q->mu, &ts);
    atomic_fetch_sub(&q->waiters, 1);
    pthread_mutex_unlock(&q->mu);
}

void lc_queue_release(lc_queue *q, uint64_t upto)
{
    uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    for (; t < upto; t++)
        atomic_store_explicit(&q->slots[t & q->mask].seq, t + q->capacity, memory_order_release);
    atomic_store_explicit(&q->tail, upto, memory_order_release);
    if (atomic_load(&q->waiters) > 0)
        wake(q, &q->space, 1);
}

void lc_queue_sleep(lc_queue *q, uint64_t pos, uint32_t timeout_ms)
{
    struct timespec ts = lc_mono_deadline(timeout_ms);
    pthread_mutex_lock(&q->mu);
    atomic_store(&q->consumer_asleep, 1);
    /* Re-check under the lock: a kick between our last peek and here must not
       be lost (kick takes the same lock). */
    if (!lc_queue_peek(q, pos) && atomic_load(&q->waiters) == 0)
        pthread_cond_timedwait(&q->data, &q->mu, &ts);
    atomic_store(&q->consumer_asleep, 0);
    pthread_mutex_unlock(&q->mu);
}
