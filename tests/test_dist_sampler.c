/*
 * tests/test_dist_sampler.c — DistributedSampler's indices
 * (trainer/dist_sampler.h) against torch's rule (reference/lightning.md
 * §14): num_samples = ceil(n / world) (drop_last: ceil((n - world) /
 * world)), the epoch's order padded by repeating its head (more than once
 * if needed) or cut to total_size, rank r takes indices[r::world].
 * Hand-worked cases without shuffling, and with shuffling a literal
 * transcription of the rule over the trainer's (seed, epoch) order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "dist_sampler.h"

static void expect(size_t n, int world, int rank, int drop_last, const uint32_t *want, size_t nwant)
{
    uint32_t got[64];
    assert_int_equal(lc_dist_sampler_num_samples(n, world, drop_last), nwant);
    size_t k = lc_dist_sampler_indices(got, n, world, rank, 0, 0, 0, drop_last);
    assert_int_equal(k, nwant);
    for (size_t i = 0; i < nwant; i++)
        assert_int_equal(got[i], want[i]);
}

/* n = 10 over 3 ranks: padded to 12 with 0, 1 */
static void test_padding(void **state)
{
    (void)state;
    expect(10, 3, 0, 0, (const uint32_t[]){0, 3, 6, 9}, 4);
    expect(10, 3, 1, 0, (const uint32_t[]){1, 4, 7, 0}, 4);
    expect(10, 3, 2, 0, (const uint32_t[]){2, 5, 8, 1}, 4);
}

/* drop_last: ceil((10 - 3) / 3) = 3 each, total 9, sample 9 dropped */
static void test_drop_last(void **state)
{
    (void)state;
    expect(10, 3, 0, 1, (const uint32_t[]){0, 3, 6}, 3);
    expect(10, 3, 1, 1, (const uint32_t[]){1, 4, 7}, 3);
    expect(10, 3, 2, 1, (const uint32_t[]){2, 5, 8}, 3);
    /* divisible: drop_last changes nothing */
    expect(8, 2, 1, 1, (const uint32_t[]){1, 3, 5, 7}, 4);
    expect(8, 2, 1, 0, (const uint32_t[]){1, 3, 5, 7}, 4);
}

/* fewer samples than ranks: the head repeats more than once (0,1,0,1,0) */
static void test_pad_more_than_once(void **state)
{
    (void)state;
    expect(2, 5, 0, 0, (const uint32_t[]){0}, 1);
    expect(2, 5, 1, 0, (const uint32_t[]){1}, 1);
    expect(2, 5, 2, 0, (const uint32_t[]){0}, 1);
    expect(2, 5, 3, 0, (const uint32_t[]){1}, 1);
    expect(2, 5, 4, 0, (const uint32_t[]){0}, 1);
    assert_int_equal(lc_dist_sampler_num_samples(2, 5, 1), 0);
}

/* The rule written out as torch writes it, over the trainer's order. */
static size_t reference(uint32_t *out, size_t n, int world, int rank, uint64_t seed, int64_t epoch,
                        int drop_last)
{
    uint32_t *ind = malloc((n + (size_t)world) * 4 * sizeof *ind);
    lc_data_shuffle(ind, n, seed, epoch);
    size_t len = n, num, total;
    if (drop_last && n % (size_t)world) {
        num = (n - (size_t)world + (size_t)world - 1) / (size_t)world;
    } else {
        num = (n + (size_t)world - 1) / (size_t)world;
    }
    total = num * (size_t)world;
    if (!drop_last) {
        size_t pad = total - len;
        for (size_t i = 0; i < pad; i++) /* indices += (indices * k)[:pad] */
            ind[len + i] = ind[i % n];
        len = total;
    } else {
        len = total;
    }
    size_t k = 0;
    for (size_t i = (size_t)rank; i < total; i += (size_t)world)
        out[k++] = ind[i];
    free(ind);
    return k;
}

static void test_shuffled_against_rule(void **state)
{
    (void)state;
    static const struct { size_t n; int world; uint64_t seed; int64_t epoch; int drop; } cases[] = {
        {100, 2, 42, 0, 0}, {101, 2, 42, 3, 0}, {101, 4, 7, 1, 1}, {37, 8, 1, 0, 0},
        {1000, 3, 99, 5, 1}, {5, 7, 3, 2, 0},
    };
    uint32_t got[2048], want[2048];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int seen_all = 1;
        char *seen = calloc(cases[c].n, 1);
        for (int r = 0; r < cases[c].world; r++) {
            size_t k = lc_dist_sampler_indices(got, cases[c].n, cases[c].world, r, cases[c].seed,
                                               cases[c].epoch, 1, cases[c].drop);
            size_t kw = reference(want, cases[c].n, cases[c].world, r, cases[c].seed,
                                  cases[c].epoch, cases[c].drop);
            assert_int_equal(k, kw);
            assert_memory_equal(got, want, k * sizeof *got);
            for (size_t i = 0; i < k; i++)
                seen[got[i]] = 1;
        }
        for (size_t i = 0; i < cases[c].n; i++)
            seen_all &= seen[i];
        /* without drop_last every sample is some rank's */
        if (!cases[c].drop)
            assert_true(seen_all);
        free(seen);
    }
}

/* set_epoch: another epoch, another order; world 1 is the plain shuffle;
   the ranks' k-th samples together are the single process's batch */
static void test_epochs_and_world_one(void **state)
{
    (void)state;
    uint32_t a[500], b[500], one[1000], r0[500], r1[500];
    lc_dist_sampler_indices(a, 1000, 2, 0, 42, 0, 1, 0);
    lc_dist_sampler_indices(b, 1000, 2, 0, 42, 1, 1, 0);
    assert_true(memcmp(a, b, sizeof a) != 0);
    lc_dist_sampler_indices(b, 1000, 2, 0, 42, 0, 1, 0);
    assert_memory_equal(a, b, sizeof a); /* (seed, epoch) alone */
    uint32_t order[1000];
    lc_data_shuffle(order, 1000, 42, 3);
    assert_int_equal(lc_dist_sampler_indices(one, 1000, 1, 0, 42, 3, 1, 0), 1000);
    assert_memory_equal(one, order, sizeof order);
    lc_dist_sampler_indices(r0, 1000, 2, 0, 42, 3, 1, 0);
    lc_dist_sampler_indices(r1, 1000, 2, 1, 42, 3, 1, 0);
    /* per-rank batch 64, single batch 128: batch k of the union */
    for (size_t i = 0; i < 500; i++) {
        assert_int_equal(r0[i], order[2 * i]);
        assert_int_equal(r1[i], order[2 * i + 1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_drop_last),
        cmocka_unit_test(test_pad_more_than_once),
        cmocka_unit_test(test_shuffled_against_rule),
        cmocka_unit_test(test_epochs_and_world_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
