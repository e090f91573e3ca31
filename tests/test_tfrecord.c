/*
 * tests/test_tfrecord.c — TFRecord framing: the golden scalar record from
 * the fact sheet byte for byte (protobuf-c payload + framing), TensorBoard's
 * 24-byte file_version vector, reading back, truncation at every byte, and
 * corruption detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "event.pb-c.h"
#include "tensorboard/tfrecord.h"

static const uint8_t golden_payload[26] = {0x09, 0x00, 0x00, 0x40, 0x40, 0xfc, 0x54, 0xd9, 0x41,
                                           0x10, 0x01, 0x2a, 0x0d, 0x0a, 0x0b, 0x0a, 0x04, 0x6c,
                                           0x6f, 0x73, 0x73, 0x15, 0x00, 0x00, 0x00, 0x3f};

static size_t pack_golden_event(uint8_t *out, size_t cap)
{
    Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
    Tensorboard__Summary sum = TENSORBOARD__SUMMARY__INIT;
    Tensorboard__Summary__Value val = TENSORBOARD__SUMMARY__VALUE__INIT;
    Tensorboard__Summary__Value *vals[1] = {&val};
    val.tag = "loss";
    val.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
    val.simple_value = 0.5f;
    sum.n_value = 1;
    sum.value = vals;
    ev.wall_time = 1700000001.0;
    ev.step = 1;
    ev.what_case = TENSORBOARD__EVENT__WHAT_SUMMARY;
    ev.summary = &sum;
    size_t n = tensorboard__event__get_packed_size(&ev);
    assert_true(n <= cap);
    return tensorboard__event__pack(&ev, out);
}

static void test_golden_scalar_record(void **s)
{
    (void)s;
    uint8_t payload[64];
    size_t n = pack_golden_event(payload, sizeof payload);
    assert_int_equal(n, 26);
    assert_memory_equal(payload, golden_payload, 26);

    lc_tfr_buf b = {0};
    assert_int_equal(lc_tfr_append(&b, payload, n), 0);
    assert_int_equal(b.len, 42);
    static const uint8_t head[12] = {0x1a, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x9b, 0xd8, 0x2d};
    static const uint8_t tail[4] = {0x97, 0xd6, 0x74, 0x04};
    assert_memory_equal(b.data, head, 12);
    assert_memory_equal(b.data + 12, golden_payload, 26);
    assert_memory_equal(b.data + 38, tail, 4);

    size_t off = 0;
    const uint8_t *p;
    size_t plen;
    assert_int_equal(lc_tfr_next(b.data, b.len, &off, &p, &plen), LC_TFR_OK);
    assert_int_equal(plen, 26);
    assert_int_equal(off, 42);
    Tensorboard__Event *ev = tensorboard__event__unpack(NULL, plen, p);
    assert_non_null(ev);
    assert_int_equal(ev->step, 1);
    assert_string_equal(ev->summary->value[0]->tag, "loss");
    assert_true(ev->summary->value[0]->simple_value == 0.5f);
    tensorboard__event__free_unpacked(ev, NULL);
    assert_int_equal(lc_tfr_next(b.data, b.len, &off, &p, &plen), LC_TFR_END);
    lc_tfr_free(&b);
}

/* TensorBoard data-server vector: Event{wall_time 1599759586.0,
   file_version "brain.Event:2"} is 24 bytes with masked CRC 0xAB364B12. */
static void test_file_version_vector(void **s)
{
    (void)s;
    Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
    ev.wall_time = 1599759586.0;
    ev.what_case = TENSORBOARD__EVENT__WHAT_FILE_VERSION;
    ev.file_version = "brain.Event:2";
    uint8_t buf[64];
    size_t n = tensorboard__event__pack(&ev, buf);
    assert_int_equal(n, 24);
    assert_int_equal(lc_crc32c_mask(lc_crc32c(buf, n)), 0xAB364B12u);
    uint8_t hdr[12];
    lc_tfr_header(hdr, n);
    assert_int_equal(lc_crc32c_mask(lc_crc32c(hdr, 8)), 0x224B7FA3u);
}

static void test_begin_commit_and_many(void **s)
{
    (void)s;
    lc_tfr_buf b = {0};
    for (int i = 0; i < 1000; i++) {
        size_t n = (size_t)(i % 37);
        uint8_t *p = lc_tfr_begin(&b, n);
        assert_non_null(p);
        for (size_t k = 0; k < n; k++)
            p[k] = (uint8_t)(i + k);
        lc_tfr_commit(&b, n);
    }
    size_t off = 0;
    const uint8_t *p;
    size_t plen;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(lc_tfr_next(b.data, b.len, &off, &p, &plen), LC_TFR_OK);
        assert_int_equal(plen, (size_t)(i % 37));
        for (size_t k = 0; k < plen; k++)
            assert_int_equal(p[k], (uint8_t)(i + k));
    }
    assert_int_equal(lc_tfr_next(b.data, b.len, &off, &p, &plen), LC_TFR_END);
    /* an uncommitted begin leaves the buffer as it was */
    size_t len = b.len;
    assert_non_null(lc_tfr_begin(&b, 10));
    assert_int_equal(b.len, len);
    lc_tfr_free(&b);
    assert_null(b.data);
}

/* Cutting the stream anywhere inside the last record reads as truncated
   (a writer still busy), never as corruption; earlier records stay. */
static void test_truncation_every_byte(void **s)
{
    (void)s;
    lc_tfr_buf b = {0};
    assert_int_equal(lc_tfr_append(&b, "first", 5), 0);
    size_t first = b.len;
    assert_int_equal(lc_tfr_append(&b, golden_payload, 26), 0);
    for (size_t cut = first + 1; cut < b.len; cut++) {
        size_t off = 0;
        const uint8_t *p;
        size_t plen;
        assert_int_equal(lc_tfr_next(b.data, cut, &off, &p, &plen), LC_TFR_OK);
        assert_int_equal(plen, 5);
        assert_int_equal(lc_tfr_next(b.data, cut, &off, &p, &plen), LC_TFR_TRUNCATED);
        assert_int_equal(off, first); /* left at the partial record */
    }
    lc_tfr_free(&b);
}

static void test_corruption(void **s)
{
    (void)s;
    lc_tfr_buf b = {0};
    assert_int_equal(lc_tfr_append(&b, golden_payload, 26), 0);
    const uint8_t *p;
    size_t plen, off;
    for (size_t i = 0; i < b.len; i++) {
        b.data[i] ^= 0x01;
        off = 0;
        lc_tfr_status st = lc_tfr_next(b.data, b.len, &off, &p, &plen);
        if (i < LC_TFR_HEADER)
            assert_int_equal(st, LC_TFR_BAD_LENGTH_CRC);
        else
            assert_int_equal(st, LC_TFR_BAD_DATA_CRC);
        assert_int_equal(off, 0);
        b.data[i] ^= 0x01;
    }
    /* a length that passes its CRC but runs past the end is truncation */
    uint8_t hdr[12];
    lc_tfr_header(hdr, 1000);
    off = 0;
    assert_int_equal(lc_tfr_next(hdr, sizeof hdr, &off, &p, &plen), LC_TFR_TRUNCATED);
    assert_string_equal(lc_tfr_status_str(LC_TFR_BAD_DATA_CRC), "bad data CRC");
    lc_tfr_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_scalar_record), cmocka_unit_test(test_file_version_vector),
        cmocka_unit_test(test_begin_commit_and_many), cmocka_unit_test(test_truncation_every_byte),
        cmocka_unit_test(test_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
