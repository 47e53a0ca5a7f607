/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for core/codec/codec-zstd.c and codec-zlib.c against the
 * real libraries, compressing exactly as QEMU's sender does
 * (tests/support/qemu-compress.h: one persistent stream per channel,
 * ZSTD_e_flush / Z_SYNC_FLUSH at the end of each packet).  Every test runs
 * for each method built in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef MFCOLO_HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef MFCOLO_HAVE_ZLIB
#include <zlib.h>
#endif

#include "codec/codec.h"
#include "codec/errors.h"
#include "qemu-compress.h"
#include "watchdog.h"

#define PS 4096
#define MAXP 128

typedef struct Fixture {
    WireCompression method;
    Codec *codec;
    QemuCompressor *qc;
    uint8_t *src; /* MAXP source pages */
    uint8_t *dst; /* MAXP + 1 destination pages */
    uint8_t *pages[MAXP + 1];
    const uint8_t *spages[MAXP];
    uint64_t rng;
} Fixture;

static uint64_t rnd(Fixture *f)
{
    f->rng ^= f->rng << 13;
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    return f->rng;
}

/* Page @i of kind (@kind % 5): random, pattern, zero, one byte, text. */
static void fill_page(Fixture *f, uint8_t *p, uint32_t kind, uint32_t i)
{
    uint32_t k;

    switch (kind % 5) {
    case 0:
        for (k = 0; k < PS; k += 8) {
            uint64_t v = rnd(f);

            memcpy(p + k, &v, 8);
        }
        break;
    case 1:
        for (k = 0; k < PS; k++) {
            p[k] = (uint8_t)(k + i);
        }
        break;
    case 2:
        memset(p, 0, PS);
        break;
    case 3:
        memset(p, 0, PS);
        p[rnd(f) % PS] = (uint8_t)(1 + i);
        break;
    default:
        for (k = 0; k < PS; k++) {
            p[k] = (uint8_t)("multifd colo "[k % 13]);
        }
        p[i % PS] = '#';
        break;
    }
}

static int setup(void **state)
{
    Fixture *f = calloc(1, sizeof(*f));
    MfError err;
    int i;

    if (!f) {
        return -1;
    }
    f->method = (WireCompression)(uintptr_t)*state;
    f->rng = 0x9e3779b97f4a7c15ull ^ f->method;
    f->src = malloc((size_t)MAXP * PS);
    f->dst = malloc((size_t)(MAXP + 1) * PS);
    mf_error_clear(&err);
    f->codec = codec_new(f->method, PS, &err);
    f->qc = qemu_compressor_new(f->method, PS, 1);
    if (!f->src || !f->dst || !f->codec || !f->qc) {
        return -1;
    }
    for (i = 0; i <= MAXP; i++) {
        f->pages[i] = f->dst + (size_t)i * PS;
    }
    for (i = 0; i < MAXP; i++) {
        f->spages[i] = f->src + (size_t)i * PS;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;

    codec_free(f->codec);
    qemu_compressor_free(f->qc);
    free(f->src);
    free(f->dst);
    free(f);
    return 0;
}

/* Fill @n source pages (kinds from @seed) and compress them as a packet. */
static const uint8_t *make_packet(Fixture *f, uint32_t n, uint32_t seed,
                                  size_t *len)
{
    const uint8_t *out;
    uint32_t i;

    for (i = 0; i < n; i++) {
        fill_page(f, f->src + (size_t)i * PS, seed + i, i);
    }
    out = qemu_compressor_packet(f->qc, f->spages, n, len);
    assert_non_null(out);
    return out;
}

/* Copy a payload so the next make_packet does not overwrite it. */
static uint8_t *dup_payload(const uint8_t *p, size_t len)
{
    uint8_t *d = malloc(len ? len : 1);

    assert_non_null(d);
    memcpy(d, p, len);
    return d;
}

static void test_stream_roundtrip(void **state)
{
    static const uint32_t sizes[] = { 1,  128, 2, 37, 128, 1, 5,  64,  128, 3,
                                      11, 100, 1, 1,  128, 9, 50, 128, 4,   7 };
    Fixture *f = *state;
    size_t i, len;
    MfError err;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        const uint8_t *payload = make_packet(f, sizes[i], (uint32_t)i, &len);

        assert_true(len > 0);
        assert_true(len <= codec_max_payload());
        memset(f->dst, 0xa5, (size_t)sizes[i] * PS);
        mf_error_clear(&err);
        if (!codec_decompress(f->codec, payload, len, f->pages, sizes[i],
                              &err)) {
            fail_msg("packet %zu: %s", i, err.msg);
        }
        assert_memory_equal(f->dst, f->src, (size_t)sizes[i] * PS);
    }
}

static void test_full_random_packet_fits_the_bound(void **state)
{
    Fixture *f = *state;
    const uint8_t *payload;
    size_t len;
    uint32_t i;
    MfError err;

    for (i = 0; i < MAXP; i++) {
        fill_page(f, f->src + (size_t)i * PS, 0, i); /* all random */
    }
    payload = qemu_compressor_packet(f->qc, f->spages, MAXP, &len);
    assert_non_null(payload);
    /* incompressible: a bit more than 512 KiB, well below 1 MiB */
    assert_true(len > (size_t)MAXP * PS);
    assert_true(len <= codec_max_payload());
    mf_error_clear(&err);
    assert_true(codec_decompress(f->codec, payload, len, f->pages, MAXP, &err));
    assert_memory_equal(f->dst, f->src, (size_t)MAXP * PS);
}

static void test_stream_is_not_reset_between_packets(void **state)
{
    Fixture *f = *state;
    const uint8_t *pl;
    uint8_t *p1, *p2;
    size_t l1, l2;
    Codec *fresh;
    MfError err;

    pl = make_packet(f, 4, 1, &l1);
    p1 = dup_payload(pl, l1);
    pl = make_packet(f, 4, 1, &l2); /* the same pages again */
    p2 = dup_payload(pl, l2);
    /* the second payload refers back to the first: much smaller */
    assert_true(l2 < l1);
    mf_error_clear(&err);
    fresh = codec_new(f->method, PS, &err);
    assert_non_null(fresh);
    assert_false(codec_decompress(fresh, p2, l2, f->pages, 4, &err));
    assert_int_equal(err.code, CODEC_ERR_DECOMPRESS);
    codec_free(fresh);
    /* the channel's own decoder, in order, is fine */
    mf_error_clear(&err);
    assert_true(codec_decompress(f->codec, p1, l1, f->pages, 4, &err));
    assert_true(codec_decompress(f->codec, p2, l2, f->pages, 4, &err));
    assert_memory_equal(f->dst, f->src, 4 * PS);
    free(p1);
    free(p2);
}

static void test_two_channels_are_independent(void **state)
{
    Fixture *f = *state;
    QemuCompressor *qc2 = qemu_compressor_new(f->method, PS, 1);
    Codec *c2;
    const uint8_t *pl;
    size_t len;
    MfError err;
    int round;

    mf_error_clear(&err);
    c2 = codec_new(f->method, PS, &err);
    assert_non_null(qc2);
    assert_non_null(c2);
    for (round = 0; round < 6; round++) {
        uint32_t n = (uint32_t)(1 + round * 20);
        QemuCompressor *qc = round % 2 ? qc2 : f->qc;
        Codec *c = round % 2 ? c2 : f->codec;
        uint32_t i;

        for (i = 0; i < n; i++) {
            fill_page(f, f->src + (size_t)i * PS, (uint32_t)round + i, i);
        }
        pl = qemu_compressor_packet(qc, f->spages, n, &len);
        assert_non_null(pl);
        assert_true(codec_decompress(c, pl, len, f->pages, n, &err));
        assert_memory_equal(f->dst, f->src, (size_t)n * PS);
    }
    codec_free(c2);
    qemu_compressor_free(qc2);
}

/*
 * Cut the first payload of a channel by 1..12 bytes.  zstd: always
 * CODEC_ERR_SIZE (pages missing).  zlib: CODEC_ERR_SIZE for every cut
 * inside the sync-flush marker (00 00 ff ff) or the data; the only cut
 * that may pass is one removing exactly the whole empty stored block on a
 * byte boundary (a no-op PPP strips on purpose), and then the next
 * packet must still decode correctly.
 */
static void test_truncated_payload(void **state)
{
    Fixture *f = *state;
    const uint8_t *pl;
    size_t len, cut, l;
    MfError err;

    for (cut = 1; cut <= 12; cut++) {
        QemuCompressor *qc = qemu_compressor_new(f->method, PS, 1);
        Codec *c = codec_new(f->method, PS, NULL);
        const uint8_t *p;
        uint32_t i;

        assert_non_null(qc);
        assert_non_null(c);
        for (i = 0; i < 8; i++) {
            fill_page(f, f->src + (size_t)i * PS, 1 + i, i);
        }
        p = qemu_compressor_packet(qc, f->spages, 8, &l);
        assert_non_null(p);
        assert_true(l > cut);
        mf_error_clear(&err);
        if (!codec_decompress(c, p, l - cut, f->pages, 8, &err)) {
            assert_int_equal(err.code, CODEC_ERR_SIZE);
            assert_string_equal(err.code_name, "CODEC_ERR_SIZE");
        } else {
            assert_int_equal(f->method, WIRE_COMP_ZLIB);
            assert_true(cut > 4);
            assert_memory_equal(f->dst, f->src, 8 * PS);
            for (i = 0; i < 8; i++) {
                fill_page(f, f->src + (size_t)i * PS, 3 + i, i);
            }
            p = qemu_compressor_packet(qc, f->spages, 8, &l);
            assert_true(codec_decompress(c, p, l, f->pages, 8, &err));
            assert_memory_equal(f->dst, f->src, 8 * PS);
        }
        qemu_compressor_free(qc);
        codec_free(c);
    }
    /* half the payload */
    pl = make_packet(f, 8, 1, &len);
    mf_error_clear(&err);
    assert_false(codec_decompress(f->codec, pl, len / 2, f->pages, 8, &err));
    assert_int_equal(err.code, CODEC_ERR_SIZE);
}

static void test_empty_payload(void **state)
{
    Fixture *f = *state;
    MfError err;

    mf_error_clear(&err);
    assert_false(
        codec_decompress(f->codec, (const uint8_t *)"", 0, f->pages, 1, &err));
    assert_int_equal(err.code, CODEC_ERR_SIZE);
    assert_int_equal(err.offset, 0);
}

static void test_output_too_short(void **state)
{
    Fixture *f = *state;
    const uint8_t *pl;
    size_t len;
    char want[200];
    MfError err;

    pl = make_packet(f, 3, 2, &len);
    mf_error_clear(&err);
    assert_false(codec_decompress(f->codec, pl, len, f->pages, 4, &err));
    assert_int_equal(err.code, CODEC_ERR_SIZE);
    assert_int_equal(err.offset, len);
    snprintf(want, sizeof(want),
             "%s payload of %zu bytes gave 12288 bytes, "
             "expected 4 pages x 4096 = 16384",
             f->method == WIRE_COMP_ZSTD ? "zstd" : "zlib", len);
    assert_string_equal(err.msg, want);
}

static void test_output_too_long(void **state)
{
    Fixture *f = *state;
    const uint8_t *pl;
    size_t len;
    MfError err;

    pl = make_packet(f, 4, 3, &len);
    mf_error_clear(&err);
    assert_false(codec_decompress(f->codec, pl, len, f->pages, 3, &err));
    assert_int_equal(err.code, CODEC_ERR_SIZE);
    assert_non_null(strstr(err.msg, "gives more than 3 pages x 4096"));
}

static void test_two_payloads_in_one(void **state)
{
    Fixture *f = *state;
    uint8_t *both;
    size_t l1, l2;
    const uint8_t *p;
    MfError err;

    p = make_packet(f, 2, 4, &l1);
    both = malloc(l1 + MAXP * PS * 2);
    assert_non_null(both);
    memcpy(both, p, l1);
    p = make_packet(f, 2, 9, &l2);
    memcpy(both + l1, p, l2);
    mf_error_clear(&err);
    /* the first packet's pages with the second's bytes appended */
    assert_false(codec_decompress(f->codec, both, l1 + l2, f->pages, 2, &err));
    assert_int_equal(err.code, CODEC_ERR_SIZE);
    free(both);
}

static void test_garbage(void **state)
{
    Fixture *f = *state;
    uint8_t junk[512];
    size_t i;
    MfError err;

    for (i = 0; i < sizeof(junk); i++) {
        junk[i] = (uint8_t)(rnd(f) | 0x80);
    }
    mf_error_clear(&err);
    assert_false(
        codec_decompress(f->codec, junk, sizeof(junk), f->pages, 1, &err));
    assert_int_equal(err.code, CODEC_ERR_DECOMPRESS);
    if (f->method == WIRE_COMP_ZSTD) {
        assert_string_equal(err.msg, "zstd decompressStream returned Unknown "
                                     "frame descriptor");
    } else {
        assert_string_equal(err.msg, "inflate returned Z_DATA_ERROR (-3): "
                                     "incorrect header check");
    }
}

static void test_corruption_mid_stream(void **state)
{
    Fixture *f = *state;
    const uint8_t *pl;
    uint8_t *bad;
    size_t len, i;
    MfError err;

    pl = make_packet(f, 2, 1, &len);
    mf_error_clear(&err);
    assert_true(codec_decompress(f->codec, pl, len, f->pages, 2, &err));
    pl = make_packet(f, 16, 1, &len);
    bad = dup_payload(pl, len);
    for (i = 0; i < len; i += 3) {
        bad[i] ^= 0x5a;
    }
    assert_false(codec_decompress(f->codec, bad, len, f->pages, 16, &err));
    assert_true(err.code == CODEC_ERR_DECOMPRESS || err.code == CODEC_ERR_SIZE);
    free(bad);
}

static void test_stream_end_and_frames(void **state)
{
    Fixture *f = *state;
    uint8_t page[PS], out[PS * 2];
    uint8_t *pages[1] = { f->pages[0] };
    MfError err;
    uint32_t i;

    mf_error_clear(&err);
#ifdef MFCOLO_HAVE_ZLIB
    if (f->method == WIRE_COMP_ZLIB) {
        /* a finished zlib stream is an error (QEMU: "not Z_OK") */
        uLongf olen = sizeof(out);

        memset(page, 7, sizeof(page));
        assert_int_equal(compress2(out, &olen, page, PS, 1), Z_OK);
        assert_false(codec_decompress(f->codec, out, olen, pages, 1, &err));
        assert_int_equal(err.code, CODEC_ERR_DECOMPRESS);
        assert_string_equal(err.msg, "inflate returned Z_STREAM_END: the "
                                     "sender ended the channel's zlib stream");
    }
#endif
#ifdef MFCOLO_HAVE_ZSTD
    if (f->method == WIRE_COMP_ZSTD) {
        /* complete frames (ZSTD_compress) decode too, one per packet */
        for (i = 0; i < 3; i++) {
            size_t olen;

            memset(page, (int)i + 1, sizeof(page));
            olen = ZSTD_compress(out, sizeof(out), page, PS, 1);
            assert_false(ZSTD_isError(olen));
            assert_true(codec_decompress(f->codec, out, olen, pages, 1, &err));
            assert_memory_equal(f->pages[0], page, PS);
        }
    }
#endif
    (void)i;
}

#ifdef MFCOLO_HAVE_ZLIB
/* Deflate's bit order: fields LSB first, Huffman codes MSB first. */
typedef struct BitWriter {
    uint8_t *buf; /* zeroed, large enough */
    size_t bits;
} BitWriter;

static void put_bits(BitWriter *w, uint32_t value, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++, w->bits++) {
        if (value >> i & 1) {
            w->buf[w->bits / 8] |= 1u << (w->bits % 8);
        }
    }
}

static void put_code(BitWriter *w, uint32_t code, unsigned n)
{
    while (n--) {
        put_bits(w, code >> n & 1, 1);
    }
}

/*
 * One non-final fixed-Huffman block (RFC 1951 3.2.6) of PS literals: @k
 * bytes 0x90 (9-bit codes) then 'a' (8-bit codes), then end-of-block.
 * The expected page goes to @page.
 */
static void put_fixed_block(BitWriter *w, uint32_t k, uint8_t *page)
{
    uint32_t i;

    put_bits(w, 0, 1); /* BFINAL 0 */
    put_bits(w, 1, 2); /* BTYPE 01: fixed codes */
    for (i = 0; i < PS; i++) {
        page[i] = i < k ? 0x90 : 'a';
        if (i < k) {
            put_code(w, 0x190 + (0x90 - 144), 9);
        } else {
            put_code(w, 0x30 + 'a', 8);
        }
    }
    put_code(w, 0, 7); /* 256, end of block */
}

/*
 * zlib: a payload must end between deflate blocks on a byte boundary
 * (data_type 128, no bit of the last byte left over), as Z_SYNC_FLUSH
 * leaves the stream; then the next payload starts at its first bit.  A
 * block ending with @u = 1..7 unused bits in its last byte is refused
 * (the next packet would be read from the wrong bit).  Found by
 * ci/mutate (docs/verification.md): the mask 128 + 63 -> 127 + 63
 * ignored data_type's bit 0 and accepted u = 1.
 */
static void test_zlib_payload_ends_on_a_byte(void **state)
{
    Fixture *f = *state;
    uint8_t buf[PS * 9 / 8 + 16], want[PS];
    uint8_t *pages[1] = { f->pages[0] };
    char msg[128];
    unsigned u;

    for (u = 0; u < 8; u++) {
        Codec *c;
        BitWriter w = { buf, 0 };
        size_t len;
        MfError err;

        memset(buf, 0, sizeof(buf));
        put_bits(&w, 0x0178, 16); /* zlib header 78 01 */
        /* 3 + 8 PS + k + 7 bits: k picks the bits left in the last byte */
        put_fixed_block(&w, (14 - u) % 8, want);
        assert_int_equal((8 - w.bits % 8) % 8, u);
        len = (w.bits + 7) / 8;
        mf_error_clear(&err);
        c = codec_new(WIRE_COMP_ZLIB, PS, &err);
        assert_non_null(c);
        memset(f->pages[0], 0, PS);
        if (u == 0) {
            assert_true(codec_decompress(c, buf, len, pages, 1, &err));
            assert_memory_equal(f->pages[0], want, PS);
            /* the stream goes on at the next byte */
            memset(buf, 0, sizeof(buf));
            w.bits = 0;
            put_fixed_block(&w, 14, want);
            assert_int_equal(w.bits % 8, 0);
            assert_true(codec_decompress(c, buf, w.bits / 8, pages, 1, &err));
            assert_memory_equal(f->pages[0], want, PS);
        } else if (codec_decompress(c, buf, len, pages, 1, &err)) {
            fail_msg("a payload whose last block ends with %u unused bits "
                     "was accepted",
                     u);
        } else {
            snprintf(msg, sizeof(msg),
                     "zlib payload of %zu bytes ends inside a deflate block, "
                     "not at a sync flush",
                     len);
            assert_int_equal(err.code, CODEC_ERR_SIZE);
            assert_int_equal(err.offset, len);
            assert_string_equal(err.msg, msg);
        }
        codec_free(c);
    }
}
#endif

#define T(fn, m) \
    cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, \
                                             (void *)(uintptr_t)(m))
#define ALL(m) \
    T(test_stream_roundtrip, m), T(test_full_random_packet_fits_the_bound, m), \
        T(test_stream_is_not_reset_between_packets, m), \
        T(test_two_channels_are_independent, m), T(test_truncated_payload, m), \
        T(test_empty_payload, m), T(test_output_too_short, m), \
        T(test_output_too_long, m), T(test_two_payloads_in_one, m), \
        T(test_garbage, m), T(test_corruption_mid_stream, m), \
        T(test_stream_end_and_frames, m)

int main(void)
{
    int failed = 0;

    /* single-threaded: a hang is a decode loop that never ends */
    watchdog_arm(10, "codec-stream: the decode steps of every case to end");
#ifdef MFCOLO_HAVE_ZSTD
    const struct CMUnitTest zstd_tests[] = { ALL(WIRE_COMP_ZSTD) };

    failed += cmocka_run_group_tests_name("codec/zstd", zstd_tests, NULL, NULL);
#endif
#ifdef MFCOLO_HAVE_ZLIB
    const struct CMUnitTest zlib_tests[] = {
        ALL(WIRE_COMP_ZLIB),
        T(test_zlib_payload_ends_on_a_byte, WIRE_COMP_ZLIB),
    };

    failed += cmocka_run_group_tests_name("codec/zlib", zlib_tests, NULL, NULL);
#endif
    return failed;
}
