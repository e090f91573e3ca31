/*
 * tests/test_queue.c — the MPSC ring: order, records stay contiguous, full
 * detection, and 4 producers racing one consumer lose or duplicate nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bus/queue.h"

static void test_fifo_and_full(void **s)
{
    (void)s;
    lc_queue q;
    assert_int_equal(lc_queue_init(&q, 100), 0);
    assert_int_equal(q.capacity, 128);
    uint64_t pos = 0;
    for (int i = 0; i < 128; i++) {
        assert_true(lc_queue_reserve(&q, 1, &pos));
        lc_queue_at(&q, pos)->step = i;
        lc_queue_publish(&q, pos);
    }
    assert_false(lc_queue_reserve(&q, 1, &pos)); /* full */
    for (int i = 0; i < 64; i++) {
        lc_event *e = lc_queue_peek(&q, (uint64_t)i);
        assert_non_null(e);
        assert_int_equal(e->step, i);
    }
    lc_queue_release(&q, 64);
    assert_false(lc_queue_reserve(&q, 65, &pos)); /* only 64 free */
    assert_true(lc_queue_reserve(&q, 64, &pos));
    assert_int_equal(pos, 128);
    /* reserved but unpublished slots are invisible */
    assert_null(lc_queue_peek(&q, 128));
    lc_queue_destroy(&q);
}

#define PRODUCERS 4
#define PER_PRODUCER 200000

typedef struct {
    lc_queue *q;
    int id;
} prod_arg;

static void *producer(void *arg)
{
    prod_arg *a = arg;
    for (int i = 0; i < PER_PRODUCER;) {
        uint32_t n = (uint32_t)(1 + (i % 3)); /* records of 1..3 */
        if (i + (int)n > PER_PRODUCER)
            n = (uint32_t)(PER_PRODUCER - i);
        uint64_t pos = 0;
        while (!lc_queue_reserve(a->q, n, &pos))
            lc_queue_wait_space(a->q, n, 1);
        for (uint32_t k = 0; k < n; k++) {
            lc_event *e = lc_queue_at(a->q, pos + k);
            e->tag = (uint32_t)a->id;
            e->step = i + (int)k;
            e->flags = k + 1 == n ? LC_EV_RECORD_END : 0;
        }
        for (uint32_t k = 0; k < n; k++)
            lc_queue_publish(a->q, pos + k);
        i += (int)n;
    }
    return NULL;
}

static void test_four_producers_exactly_once(void **s)
{
    (void)s;
    lc_queue q;
    assert_int_equal(lc_queue_init(&q, 1024), 0);
    pthread_t t[PRODUCERS];
    prod_arg args[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        args[i] = (prod_arg){&q, i};
        pthread_create(&t[i], NULL, producer, &args[i]);
    }
    int64_t next[PRODUCERS] = {0};
    uint64_t pos = 0, total = 0;
    int open_record = -1; /* producer whose record is in progress */
    while (total < (uint64_t)PRODUCERS * PER_PRODUCER) {
        lc_event *e = lc_queue_peek(&q, pos);
        if (!e) {
            lc_queue_release(&q, pos);
            lc_queue_sleep(&q, pos, 1);
            continue;
        }
        int id = (int)e->tag;
        if (open_record >= 0)
            assert_int_equal(id, open_record); /* records are contiguous */
        assert_int_equal(e->step, next[id]);   /* per-producer order, no loss/dup */
        next[id]++;
        open_record = (e->flags & LC_EV_RECORD_END) ? -1 : id;
        pos++;
        total++;
        if ((pos & 63) == 0)
            lc_queue_release(&q, pos);
    }
    lc_queue_release(&q, pos);
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(next[i], PER_PRODUCER);
    }
    lc_queue_destroy(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_full),
        cmocka_unit_test(test_four_producers_exactly_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
