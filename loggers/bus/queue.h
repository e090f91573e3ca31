/*
 * loggers/bus/queue.h — the bounded multi-producer, single-consumer event queue.
 *
 * A ring of cache-line slots, each with a sequence word (Vyukov's bounded
 * queue). A producer reserves n consecutive slots with one compare-and-swap
 * on the head, fills them and publishes each by storing its sequence, so a
 * record of several scalars lands contiguously and no lock or syscall is on
 * the path. The one consumer (the dispatcher) reads slots in order.
 *
 * Full queue: lc_queue_reserve fails at once; the caller (the hub) decides
 * whether to drop or to wait with lc_queue_wait_space, which sleeps on a
 * condition variable that the consumer signals only when somebody waits.
 */
#ifndef LC_QUEUE_H
#define LC_QUEUE_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "event.h"

typedef struct lc_slot {
    _Atomic uint64_t seq;
    lc_event ev;
} lc_slot;

typedef struct lc_queue {
    lc_slot *slots;
    uint64_t mask;
    uint64_t capacity;
    alignas(64) _Atomic uint64_t head; /* next position to reserve (producers) */
    alignas(64) _Atomic uint64_t tail; /* next position to read (consumer only writes) */
    alignas(64) _Atomic int waiters;   /* producers sleeping on 'space' */
    _Atomic int consumer_asleep;
    pthread_mutex_t mu;
    pthread_cond_t space;              /* consumer freed slots */
    pthread_cond_t data;               /* wake the consumer */
} lc_queue;

/* capacity is rounded up to a power of two (minimum 64). 0 or -1 (ENOMEM). */
int lc_queue_init(lc_queue *q, uint64_t capacity);
void lc_queue_destroy(lc_queue *q);

/* Reserve n consecutive slots. Returns 1 and the first position in *pos,
 * or 0 if fewer than n slots are free. */
static inline int lc_queue_reserve(lc_queue *q, uint32_t n, uint64_t *pos)
{
    uint64_t p = atomic_load_explicit(&q->head, memory_order_relaxed);
    for (;;) {
        uint64_t last = p + n - 1;
        uint64_t seq = atomic_load_explicit(&q->slots[last & q->mask].seq, memory_order_acquire);
        int64_t d = (int64_t)(seq - last);
        if (d == 0) {
            /* The last slot is free for this lap; the consumer frees slots
               in order, so every earlier one is free too. */
            if (atomic_compare_exchange_weak_explicit(&q->head, &p, p + n, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                *pos = p;
                return 1;
            }
        } else if (d < 0) {
            return 0; /* still holds an event of the previous lap: full */
        } else {
            p = atomic_load_explicit(&q->head, memory_order_relaxed);
        }
    }
}

/* The event at a reserved position, to fill before publishing. */
static inline lc_event *lc_queue_at(lc_queue *q, uint64_t pos)
{
    return &q->slots[pos & q->mask].ev;
}

/* Make a filled slot visible to the consumer. */
static inline void lc_queue_publish(lc_queue *q, uint64_t pos)
{
    atomic_store_explicit(&q->slots[pos & q->mask].seq, pos + 1, memory_order_release);
}

/* Producer side: block until at least n slots may be free or timeout_ms
 * passes; wakes the consumer first. */
void lc_queue_wait_space(lc_queue *q, uint32_t n, uint32_t timeout_ms);

/* Wake the consumer if it sleeps (control events, flush). */
void lc_queue_kick(lc_queue *q);

/* Consumer side: the event at the tail if published, else NULL. */
static inline lc_event *lc_queue_peek(lc_queue *q, uint64_t pos)
{
    lc_slot *s = &q->slots[pos & q->mask];
    if (atomic_load_explicit(&s->seq, memory_order_acquire) != pos + 1)
        return NULL;
    return &s->ev;
}

/* Consumer side: free the slots [tail, upto) and wake waiting producers. */
void lc_queue_release(lc_queue *q, uint64_t upto);

/* Consumer side: sleep until kicked or timeout_ms passes, unless the slot
 * at pos is already published. */
void lc_queue_sleep(lc_queue *q, uint64_t pos, uint32_t timeout_ms);

#endif /* LC_QUEUE_H */
