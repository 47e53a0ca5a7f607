/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for core/codec/codec.c and codec-none.c: method selection,
 * the per-packet checks (method, payload bound, QEMU's assert) and the
 * none codec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec/codec.h"
#include "codec/errors.h"

#define PS 4096

#ifdef MFCOLO_HAVE_ZSTD
#define HAVE_ZSTD true
#else
#define HAVE_ZSTD false
#endif
#ifdef MFCOLO_HAVE_ZLIB
#define HAVE_ZLIB true
#else
#define HAVE_ZLIB false
#endif

static Codec *new_codec(WireCompression m)
{
    MfError err;
    Codec *c;

    mf_error_clear(&err);
    c = codec_new(m, PS, &err);
    assert_non_null(c);
    assert_false(mf_error_is_set(&err));
    return c;
}

static WirePacket packet(uint32_t flags, uint32_t normal, uint32_t zero,
                         uint32_t next)
{
    WirePacket p;

    memset(&p, 0, sizeof(p));
    p.flags = flags;
    p.pages_alloc = 128;
    p.normal_pages = normal;
    p.zero_pages = zero;
    p.next_packet_size = next;
    return p;
}

static void test_supported_methods(void **state)
{
    MfError err;

    (void)state;
    assert_true(codec_supported(WIRE_COMP_NONE));
    assert_int_equal(codec_supported(WIRE_COMP_ZSTD), HAVE_ZSTD);
    assert_int_equal(codec_supported(WIRE_COMP_ZLIB), HAVE_ZLIB);
    assert_false(codec_supported(WIRE_COMP_QPL));
    assert_false(codec_supported(WIRE_COMP_UADK));
    assert_false(codec_supported(WIRE_COMP_QATZIP));
    mf_error_clear(&err);
    assert_null(codec_new(WIRE_COMP_QPL, PS, &err));
    assert_int_equal(err.code, CODEC_ERR_UNSUPPORTED);
    assert_string_equal(err.code_name, "CODEC_ERR_UNSUPPORTED");
    assert_string_equal(err.msg, "compression qpl (0x08) is not supported "
                                 "by this build");
    mf_error_clear(&err);
    assert_null(codec_new((WireCompression)0x06, PS, &err));
    assert_int_equal(err.code, CODEC_ERR_UNSUPPORTED);
    assert_string_equal(err.msg, "compression unknown (0x06) is not "
                                 "supported by this build");
    mf_error_clear(&err);
    assert_null(codec_new(WIRE_COMP_ZSTD, 0, &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    codec_free(NULL);
}

static void test_max_payload_is_qemu_buffer(void **state)
{
    (void)state;
    assert_int_equal(codec_max_payload(), 1048576);
    assert_int_equal(codec_max_payload(), 2 * WIRE_MULTIFD_PACKET_BYTES);
}

static void test_method_mismatch(void **state)
{
    static const struct {
        WireCompression codec;
        uint32_t flags;
        const char *msg;
    } cases[] = {
        { WIRE_COMP_ZSTD, 0x02, "flags received 0x2 flags expected 0x4" },
        { WIRE_COMP_ZSTD, 0x03, "flags received 0x2 flags expected 0x4" },
        { WIRE_COMP_ZSTD, 0x00, "flags received 0x0 flags expected 0x4" },
        { WIRE_COMP_ZLIB, 0x04, "flags received 0x4 flags expected 0x2" },
        { WIRE_COMP_NONE, 0x05, "flags received 0x4 flags expected 0x0" },
        { WIRE_COMP_NONE, 0x20, "flags received 0x20 flags expected 0x0" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        Codec *c = new_codec(cases[i].codec);
        WirePacket p = packet(cases[i].flags, 1, 0, 100);
        MfError err;

        mf_error_clear(&err);
        assert_false(codec_check_packet(c, &p, &err));
        assert_int_equal(err.code, CODEC_ERR_METHOD);
        assert_int_equal(err.offset, 8); /* flags field */
        assert_string_equal(err.msg, cases[i].msg);
        /* zero pages only: checked as well */
        p = packet(cases[i].flags, 0, 3, 0);
        mf_error_clear(&err);
        assert_false(codec_check_packet(c, &p, &err));
        assert_int_equal(err.code, CODEC_ERR_METHOD);
        codec_free(c);
    }
}

static void test_packets_without_pages_are_not_checked(void **state)
{
    Codec *z = new_codec(WIRE_COMP_ZSTD);
    Codec *n = new_codec(WIRE_COMP_NONE);
    /* a 7.2 empty packet after a SYNC data packet: stale size */
    WirePacket p = packet(0x00, 0, 0, 31);
    MfError err;

    (void)state;
    mf_error_clear(&err);
    assert_true(codec_check_packet(z, &p, &err));
    assert_int_equal(codec_payload_len(z, &p), 0);
    p = packet(0x01, 0, 0, 0xffffffffu);
    assert_true(codec_check_packet(z, &p, &err));
    assert_true(codec_check_packet(n, &p, &err));
    assert_int_equal(codec_payload_len(n, &p), 0);
    assert_false(mf_error_is_set(&err));
    codec_free(z);
    codec_free(n);
}

static void test_payload_bound(void **state)
{
    WireCompression ms[] = { WIRE_COMP_ZSTD, WIRE_COMP_ZLIB };
    size_t i;

    (void)state;
    for (i = 0; i < 2; i++) {
        Codec *c = new_codec(ms[i]);
        WirePacket p = packet(ms[i], 128, 0, 1048576);
        MfError err;

        mf_error_clear(&err);
        assert_true(codec_check_packet(c, &p, &err)); /* 1 MiB: accepted */
        assert_int_equal(codec_payload_len(c, &p), 1048576);
        p.next_packet_size = 1048577;
        assert_false(codec_check_packet(c, &p, &err));
        assert_int_equal(err.code, CODEC_ERR_PAYLOAD_SIZE);
        assert_int_equal(err.offset, 20); /* next_packet_size field */
        assert_string_equal(err.msg, "next_packet_size 1048577 exceeds the "
                                     "limit 1048576 (2 x 524288)");
        p.next_packet_size = 0xffffffffu;
        mf_error_clear(&err);
        assert_false(codec_check_packet(c, &p, &err));
        assert_int_equal(err.code, CODEC_ERR_PAYLOAD_SIZE);
        /* normal pages without payload */
        p = packet(ms[i] | 0x01, 5, 0, 0);
        mf_error_clear(&err);
        assert_false(codec_check_packet(c, &p, &err));
        assert_int_equal(err.code, CODEC_ERR_PAYLOAD_SIZE);
        assert_int_equal(err.offset, 20);
        codec_free(c);
    }
}

static void test_zero_pages_with_payload_is_rejected(void **state)
{
    Codec *c = new_codec(WIRE_COMP_ZSTD);
    WirePacket p = packet(WIRE_COMP_ZSTD, 0, 7, 1);
    MfError err;

    (void)state;
    mf_error_clear(&err);
    assert_false(codec_check_packet(c, &p, &err)); /* QEMU asserts here */
    assert_int_equal(err.code, CODEC_ERR_UNEXPECTED_PAYLOAD);
    assert_string_equal(err.code_name, "CODEC_ERR_UNEXPECTED_PAYLOAD");
    assert_int_equal(err.offset, 20);
    assert_string_equal(err.msg, "next_packet_size 1 in a zstd packet "
                                 "without normal pages (must be 0)");
    p.next_packet_size = 0;
    mf_error_clear(&err);
    assert_true(codec_check_packet(c, &p, &err));
    assert_int_equal(codec_payload_len(c, &p), 0);
    codec_free(c);
}

static void test_none_ignores_next_packet_size(void **state)
{
    Codec *c = new_codec(WIRE_COMP_NONE);
    WirePacket p = packet(0x01, 3, 2, 0xffffffffu);
    MfError err;

    (void)state;
    mf_error_clear(&err);
    assert_true(codec_is_raw(c));
    assert_true(codec_check_packet(c, &p, &err));
    assert_int_equal(codec_payload_len(c, &p), 3 * PS);
    p = packet(0x00, 0, 5, 77);
    assert_true(codec_check_packet(c, &p, &err));
    assert_int_equal(codec_payload_len(c, &p), 0);
    codec_free(c);
}

static void test_none_copies_exact_payload(void **state)
{
    static uint8_t in[3 * PS + 1], a[PS], b[PS], d[PS];
    uint8_t *pages[3] = { a, b, d };
    Codec *c = new_codec(WIRE_COMP_NONE);
    MfError err;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(in); i++) {
        in[i] = (uint8_t)(i / PS + 1);
    }
    mf_error_clear(&err);
    assert_true(codec_decompress(c, in, 3 * PS, pages, 3, &err));
    assert_int_equal(a[0], 1);
    assert_int_equal(b[PS - 1], 2);
    assert_int_equal(d[7], 3);
    assert_false(codec_decompress(c, in, 3 * PS - 1, pages, 3, &err));
    assert_int_equal(err.code, CODEC_ERR_SIZE);
    assert_string_equal(err.msg, "none payload of 12287 bytes gave 12287 "
                                 "bytes, expected 3 pages x 4096 = 12288");
    mf_error_clear(&err);
    assert_false(codec_decompress(c, in, 3 * PS + 1, pages, 3, &err));
    assert_int_equal(err.code, CODEC_ERR_SIZE);
    assert_int_equal(err.offset, 3 * PS);
    codec_free(c);
}

static void test_decompress_generic_bounds(void **state)
{
    WireCompression ms[] = { WIRE_COMP_NONE, WIRE_COMP_ZSTD, WIRE_COMP_ZLIB };
    static uint8_t big[1048577];
    uint8_t page[PS], *pages[1] = { page };
    size_t i;

    (void)state;
    for (i = 0; i < 3; i++) {
        Codec *c = new_codec(ms[i]);
        MfError err;

        mf_error_clear(&err);
        assert_true(codec_decompress(c, NULL, 0, pages, 0, &err));
        assert_false(codec_decompress(c, big, 5, pages, 0, &err));
        assert_int_equal(err.code, CODEC_ERR_UNEXPECTED_PAYLOAD);
        mf_error_clear(&err);
        assert_false(codec_decompress(c, big, sizeof(big), pages, 1, &err));
        assert_int_equal(err.code, CODEC_ERR_PAYLOAD_SIZE);
        codec_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_supported_methods),
        cmocka_unit_test(test_max_payload_is_qemu_buffer),
        cmocka_unit_test(test_method_mismatch),
        cmocka_unit_test(test_packets_without_pages_are_not_checked),
        cmocka_unit_test(test_payload_bound),
        cmocka_unit_test(test_zero_pages_with_payload_is_rejected),
        cmocka_unit_test(test_none_ignores_next_packet_size),
        cmocka_unit_test(test_none_copies_exact_payload),
        cmocka_unit_test(test_decompress_generic_bounds),
    };

    return cmocka_run_group_tests_name("codec/codec", tests, NULL, NULL);
}
