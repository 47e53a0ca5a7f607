/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fault points of core/codec (libfiu, fault build): allocation and
 * library failures at decoder creation and at each decompression step
 * give their exact codes, and nothing leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#define FIU_ENABLE 1 /* fiu_init() etc. are macros without it */
#include <fiu-control.h>
#include <fiu.h>

#include "codec/codec.h"
#include "codec/errors.h"
#include "qemu-compress.h"

#define PS 4096

/* fiu_disable() of a wildcard removes only that entry: name every point. */
static int reset(void **state)
{
    (void)state;
    fiu_disable("mfcolo/codec/alloc");
    fiu_disable("mfcolo/codec/alloc-zlib");
    fiu_disable("mfcolo/codec/alloc-zstd");
    fiu_disable("mfcolo/codec/init");
    fiu_disable("mfcolo/codec/step");
    return 0;
}

/* External callback: fail only the Nth hit (1-based) of a point. */
static int nth_target, nth_seen;

static int fail_nth(const char *name, int *failnum, void **failinfo,
                    unsigned *flags)
{
    (void)name;
    (void)failnum;
    (void)failinfo;
    (void)flags;
    return ++nth_seen == nth_target;
}

static void arm_nth(const char *name, int n)
{
    nth_target = n;
    nth_seen = 0;
    assert_int_equal(fiu_enable_external(name, 1, NULL, 0, fail_nth), 0);
}

static const WireCompression methods[] = {
#ifdef MFCOLO_HAVE_ZSTD
    WIRE_COMP_ZSTD,
#endif
#ifdef MFCOLO_HAVE_ZLIB
    WIRE_COMP_ZLIB,
#endif
    WIRE_COMP_NONE,
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

static void test_alloc_and_init(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < NMETHODS; i++) {
        MfError err;

        arm_nth("mfcolo/codec/alloc", 1);
        mf_error_clear(&err);
        assert_null(codec_new(methods[i], PS, &err));
        assert_int_equal(err.code, MF_ERR_NOMEM);
        if (methods[i] == WIRE_COMP_NONE) {
            fiu_disable("mfcolo/codec/alloc");
            continue;
        }
        fiu_disable("mfcolo/codec/alloc");
        arm_nth("mfcolo/codec/init", 1);
        mf_error_clear(&err);
        assert_null(codec_new(methods[i], PS, &err));
        assert_int_equal(err.code, CODEC_ERR_INIT);
        assert_string_equal(err.code_name, "CODEC_ERR_INIT");
        assert_string_equal(err.msg,
                            methods[i] == WIRE_COMP_ZSTD
                                ? "ZSTD_createDStream failed"
                                : "inflateInit returned Z_MEM_ERROR (-4)");
        fiu_disable("mfcolo/codec/init");
    }
}

/*
 * Every allocation the library makes goes through @point: failing it at
 * codec_new() (the decoder state) is CODEC_ERR_INIT with @init_msg, and at
 * the first decompress (the window, the buffers) CODEC_ERR_DECOMPRESS with
 * a message containing @step_msg.
 */
static void check_library_allocations(WireCompression method, const char *point,
                                      const char *init_msg,
                                      const char *step_msg)
{
    QemuCompressor *qc = qemu_compressor_new(method, PS, 1);
    uint8_t src[PS], dst[PS], *pages[1] = { dst };
    const uint8_t *sp[1] = { src }, *pl;
    size_t len;
    MfError err;
    Codec *c;

    assert_non_null(qc);
    memset(src, 3, sizeof(src));
    pl = qemu_compressor_packet(qc, sp, 1, &len);
    assert_non_null(pl);
    arm_nth(point, 1);
    mf_error_clear(&err);
    assert_null(codec_new(method, PS, &err));
    assert_int_equal(err.code, CODEC_ERR_INIT);
    assert_string_equal(err.msg, init_msg);
    fiu_disable(point);
    c = codec_new(method, PS, &err);
    assert_non_null(c);
    arm_nth(point, 1);
    mf_error_clear(&err);
    assert_false(codec_decompress(c, pl, len, pages, 1, &err));
    assert_int_equal(err.code, CODEC_ERR_DECOMPRESS);
    assert_non_null(strstr(err.msg, step_msg));
    fiu_disable(point);
    codec_free(c);
    qemu_compressor_free(qc);
}

static void test_zstd_allocations(void **state)
{
    (void)state;
#ifdef MFCOLO_HAVE_ZSTD
    check_library_allocations(WIRE_COMP_ZSTD, "mfcolo/codec/alloc-zstd",
                              "ZSTD_createDStream failed",
                              "zstd decompressStream returned Allocation "
                              "error : not enough memory");
#endif
}

static void test_zlib_allocations(void **state)
{
    (void)state;
#ifdef MFCOLO_HAVE_ZLIB
    MfError err;

    /* the z_stream itself (second hit of mfcolo/codec/alloc) */
    arm_nth("mfcolo/codec/alloc", 2);
    mf_error_clear(&err);
    assert_null(codec_new(WIRE_COMP_ZLIB, PS, &err));
    assert_int_equal(err.code, MF_ERR_NOMEM);
    assert_int_equal(err.offset, 0); /* nothing decoded (codec.h) */
    assert_string_equal(err.msg, "out of memory for a zlib stream");
    fiu_disable("mfcolo/codec/alloc");
    check_library_allocations(WIRE_COMP_ZLIB, "mfcolo/codec/alloc-zlib",
                              "inflateInit returned Z_MEM_ERROR (-4)",
                              "Z_MEM_ERROR");
#endif
}

static void test_step_fault(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i + 1 < NMETHODS; i++) {
        QemuCompressor *qc = qemu_compressor_new(methods[i], PS, 1);
        uint8_t src[2 * PS], dst[2 * PS];
        uint8_t *pages[2] = { dst, dst + PS };
        const uint8_t *sp[2] = { src, src + PS }, *pl;
        size_t len;
        MfError err;
        Codec *c = codec_new(methods[i], PS, NULL);
        int n;

        assert_non_null(qc);
        assert_non_null(c);
        memset(src, 9, sizeof(src));
        pl = qemu_compressor_packet(qc, sp, 2, &len);
        assert_non_null(pl);
        /* fail the first step, then (fresh decoders) later steps */
        for (n = 1; n <= 2; n++) {
            Codec *d = codec_new(methods[i], PS, NULL);

            assert_non_null(d);
            arm_nth("mfcolo/codec/step", n);
            mf_error_clear(&err);
            assert_false(codec_decompress(d, pl, len, pages, 2, &err));
            assert_int_equal(err.code, CODEC_ERR_DECOMPRESS);
            if (!strstr(err.msg, "(fault injected)")) {
                fail_msg("method %d step %d: %s", methods[i], n, err.msg);
            }
            fiu_disable("mfcolo/codec/step");
            codec_free(d);
        }
        /* unarmed, the same payload decodes */
        mf_error_clear(&err);
        assert_true(codec_decompress(c, pl, len, pages, 2, &err));
        assert_memory_equal(dst, src, sizeof(src));
        codec_free(c);
        qemu_compressor_free(qc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_alloc_and_init, reset),
        cmocka_unit_test_teardown(test_zlib_allocations, reset),
        cmocka_unit_test_teardown(test_zstd_allocations, reset),
        cmocka_unit_test_teardown(test_step_fault, reset),
    };

    fiu_init(0);
    return cmocka_run_group_tests_name("codec/faults", tests, NULL, NULL);
}
