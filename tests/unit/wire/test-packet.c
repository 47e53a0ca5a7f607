/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for core/wire/packet.c: sizes, header, RAM packet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/be.h"
#include "guard-alloc.h"
#include "wire/errors.h"
#include "wire/multifd.h"

#define PS WIRE_DEFAULT_PAGE_SIZE
#define NPAGES 128
#define PKT_SIZE 1344

typedef struct Fixture {
    uint8_t buf[PKT_SIZE];
    uint64_t offs[NPAGES];
    WirePacket pkt;
    uint64_t out_offs[NPAGES];
    WirePacket out;
    MfError err;
} Fixture;

static Fixture fx;

/* A valid packet: @normal + @zero pages of "pc.ram", encoded into fx.buf. */
static void build(uint32_t flags, uint32_t alloc, uint32_t normal,
                  uint32_t zero)
{
    uint32_t i;

    memset(&fx, 0, sizeof(fx));
    for (i = 0; i < NPAGES; i++) {
        fx.offs[i] = (uint64_t)i * PS;
    }
    fx.pkt.flags = flags;
    fx.pkt.pages_alloc = alloc;
    fx.pkt.normal_pages = normal;
    fx.pkt.zero_pages = zero;
    fx.pkt.next_packet_size = normal * PS;
    fx.pkt.packet_num = 7;
    strcpy(fx.pkt.ramblock, "pc.ram");
    fx.pkt.offsets = fx.offs;
    wire_packet_encode(&fx.pkt, PS, NULL, fx.buf);
    fx.out.offsets = fx.out_offs;
    mf_error_clear(&fx.err);
}

static bool decode(void)
{
    return wire_packet_decode(fx.buf, PS, &fx.out, &fx.err);
}

static void expect_error(int code, uint64_t offset)
{
    assert_false(decode());
    assert_int_equal(fx.err.code, code);
    assert_int_equal(fx.err.offset, offset);
}

static void test_page_count(void **state)
{
    (void)state;
    assert_int_equal(wire_page_count(4096), 128);
    assert_int_equal(wire_page_count(1), 524288);
    assert_int_equal(wire_page_count(1024), 512);
    assert_int_equal(wire_page_count(65536), 8);
    assert_int_equal(wire_page_count(524288), 1);
    assert_int_equal(wire_page_count(0), 0);
    assert_int_equal(wire_page_count(524288 * 2), 0);
    assert_int_equal(wire_page_count(3000), 0);
    assert_int_equal(wire_page_count(4097), 0);
    assert_int_equal(wire_page_count(0x80000000u), 0);
    assert_int_equal(wire_page_count(0xffffffffu), 0);
    assert_int_equal(wire_packet_size(4096), 1344);
    assert_int_equal(wire_packet_size(65536), 320 + 64);
    assert_int_equal(wire_packet_size(1), 320 + 8 * 524288);
    assert_int_equal(wire_packet_size(0), 0);
    assert_int_equal(wire_packet_size(6000), 0);
}

static void test_compression_names(void **state)
{
    static const struct {
        uint32_t v;
        const char *name;
    } known[] = {
        { 0x00, "none" }, { 0x02, "zlib" }, { 0x04, "zstd" },
        { 0x08, "qpl" },  { 0x10, "uadk" }, { 0x20, "qatzip" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        assert_string_equal(wire_compression_name(known[i].v), known[i].name);
    }
    assert_null(wire_compression_name(0x06));
    assert_null(wire_compression_name(0x3e));
    assert_null(wire_compression_name(0x01));
    assert_null(wire_compression_name(0x40));
}

static void test_hdr(void **state)
{
    uint8_t b[WIRE_PACKET_HDR_SIZE];
    static const uint8_t want[WIRE_PACKET_HDR_SIZE] = {
        0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1, 0, 0, 0, 0x45,
    };
    WirePacketHdr hdr;
    MfError err;

    (void)state;
    wire_packet_hdr_encode(0x45, b);
    assert_memory_equal(b, want, sizeof(want));
    mf_error_clear(&err);
    assert_true(wire_packet_hdr_decode(b, &hdr, &err));
    assert_int_equal(hdr.magic, WIRE_MULTIFD_MAGIC);
    assert_int_equal(hdr.version, 1);
    assert_int_equal(hdr.flags, 0x45);
    assert_true(wire_packet_is_device_state(&hdr));
    hdr.flags = 0x05;
    assert_false(wire_packet_is_device_state(&hdr));

    b[3] = 0x45;
    assert_false(wire_packet_hdr_decode(b, &hdr, &err));
    assert_int_equal(err.code, WIRE_ERR_PACKET_MAGIC);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg,
                        "packet magic 0x11223345, expected 0x11223344");

    b[3] = 0x44;
    b[7] = 2;
    mf_error_clear(&err);
    assert_false(wire_packet_hdr_decode(b, &hdr, &err));
    assert_int_equal(err.code, WIRE_ERR_PACKET_VERSION);
    assert_int_equal(err.offset, 4);
    assert_string_equal(err.msg, "packet version 2, expected 1");
    /* version 0 too (below the limit) */
    b[7] = 0;
    mf_error_clear(&err);
    assert_false(wire_packet_hdr_decode(b, &hdr, &err));
    assert_int_equal(err.code, WIRE_ERR_PACKET_VERSION);
}

/* The exact bytes QEMU writes, field by field. */
static void test_encode_layout(void **state)
{
    uint8_t want[PKT_SIZE];
    uint32_t i;

    (void)state;
    build(0x04, 128, 2, 1);
    memset(want, 0, sizeof(want));
    mf_be32_store(want, 0x11223344);
    mf_be32_store(want + 4, 1);
    mf_be32_store(want + 8, 0x04);
    mf_be32_store(want + 12, 128);
    mf_be32_store(want + 16, 2);
    mf_be32_store(want + 20, 2 * PS);
    mf_be64_store(want + 24, 7);
    mf_be32_store(want + 32, 1);
    memcpy(want + 64, "pc.ram", 6);
    for (i = 0; i < 3; i++) {
        mf_be64_store(want + 320 + 8 * i, (uint64_t)i * PS);
    }
    assert_memory_equal(fx.buf, want, PKT_SIZE);
    assert_int_equal(wire_packet_pages(&fx.pkt), 3);
}

static void test_encode_stale_offsets(void **state)
{
    uint64_t stale[NPAGES];
    uint32_t i;

    (void)state;
    build(0, 128, 2, 0);
    for (i = 0; i < NPAGES; i++) {
        stale[i] = 0xdead0000u + i;
    }
    wire_packet_encode(&fx.pkt, PS, stale, fx.buf);
    assert_int_equal(mf_be64_load(fx.buf + 320), 0);
    assert_int_equal(mf_be64_load(fx.buf + 328), PS);
    assert_int_equal(mf_be64_load(fx.buf + 336), 0xdead0002u);
    assert_int_equal(mf_be64_load(fx.buf + 320 + 8 * 127), 0xdead007fu);
    /* without a stale array the unused slots are zero */
    wire_packet_encode(&fx.pkt, PS, NULL, fx.buf);
    assert_int_equal(mf_be64_load(fx.buf + 336), 0);
    /* used slots with no offsets array encode as zero */
    fx.pkt.offsets = NULL;
    wire_packet_encode(&fx.pkt, PS, stale, fx.buf);
    assert_int_equal(mf_be64_load(fx.buf + 328), 0);
    assert_int_equal(mf_be64_load(fx.buf + 336), 0xdead0002u);
}

/*
 * Encode and decode at every page count (512 down to 1 offsets) with the
 * packet, the offsets, the stale offsets and the decoded offsets each
 * ending right before a PROT_NONE page: no access past any of them (one
 * faults), and the last slot holds what it should.
 */
static void test_encode_stays_inside(void **state)
{
    static const uint32_t sizes[] = { 1024, 4096, 65536, 524288 };
    SupGuardAlloc g;
    size_t k;

    (void)state;
    sup_guard_alloc_init(&g, SUP_GUARD_AFTER);
    for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint32_t ps = sizes[k], n = wire_page_count(ps), i;
        size_t bytes = wire_packet_size(ps);
        uint8_t *buf = g.ops.alloc(g.ops.opaque, bytes);
        uint64_t *offs = g.ops.alloc(g.ops.opaque, n * sizeof(uint64_t));
        uint64_t *stale = g.ops.alloc(g.ops.opaque, n * sizeof(uint64_t));
        uint64_t *got = g.ops.alloc(g.ops.opaque, n * sizeof(uint64_t));
        WirePacket pkt = { .pages_alloc = n, .normal_pages = n };
        WirePacket out = { .offsets = got };
        MfError err;

        assert_int_equal(bytes, 320 + 8 * (size_t)n);
        assert_non_null(buf);
        assert_non_null(offs);
        assert_non_null(stale);
        assert_non_null(got);
        assert_int_equal((uintptr_t)(buf + bytes) % g.page, 0);
        assert_int_equal((uintptr_t)(offs + n) % g.page, 0);
        assert_int_equal((uintptr_t)(stale + n) % g.page, 0);
        assert_int_equal((uintptr_t)(got + n) % g.page, 0);
        for (i = 0; i < n; i++) {
            offs[i] = (uint64_t)i * ps;
            stale[i] = 0xdead0000u + i;
        }
        strcpy(pkt.ramblock, "pc.ram");
        pkt.offsets = offs;
        /* every slot used */
        wire_packet_encode(&pkt, ps, stale, buf);
        assert_int_equal(mf_be64_load(buf + bytes - 8), (uint64_t)(n - 1) * ps);
        mf_error_clear(&err);
        assert_true(wire_packet_decode(buf, ps, &out, &err));
        assert_int_equal(out.normal_pages, n);
        assert_memory_equal(got, offs, n * sizeof(uint64_t));
        /* one slot used, the others stale */
        pkt.normal_pages = 1;
        wire_packet_encode(&pkt, ps, stale, buf);
        assert_int_equal(mf_be64_load(buf + 320), 0);
        if (n > 1) {
            assert_int_equal(mf_be64_load(buf + bytes - 8),
                             0xdead0000u + n - 1);
        }
        g.ops.free(g.ops.opaque, got);
        g.ops.free(g.ops.opaque, stale);
        g.ops.free(g.ops.opaque, offs);
        g.ops.free(g.ops.opaque, buf);
    }
    assert_int_equal(sup_guard_alloc_live(&g), 0);
}

static void test_roundtrip_full(void **state)
{
    uint8_t again[PKT_SIZE];

    (void)state;
    build(0x02, 128, 100, 28);
    assert_true(decode());
    assert_false(mf_error_is_set(&fx.err));
    assert_int_equal(fx.out.flags, 0x02);
    assert_int_equal(fx.out.pages_alloc, 128);
    assert_int_equal(fx.out.normal_pages, 100);
    assert_int_equal(fx.out.zero_pages, 28);
    assert_int_equal(fx.out.next_packet_size, 100 * PS);
    assert_int_equal(fx.out.packet_num, 7);
    assert_string_equal(fx.out.ramblock, "pc.ram");
    assert_memory_equal(fx.out.offsets, fx.offs, sizeof(fx.offs));
    wire_packet_encode(&fx.out, PS, NULL, again);
    assert_memory_equal(again, fx.buf, PKT_SIZE);
}

static void test_invalid_args(void **state)
{
    (void)state;
    build(0, 128, 1, 0);
    assert_false(wire_packet_decode(fx.buf, 0, &fx.out, &fx.err));
    assert_int_equal(fx.err.code, MF_ERR_INVALID_ARG);
    mf_error_clear(&fx.err);
    assert_false(wire_packet_decode(fx.buf, 3000, &fx.out, &fx.err));
    assert_int_equal(fx.err.code, MF_ERR_INVALID_ARG);
    mf_error_clear(&fx.err);
    fx.out.offsets = NULL;
    assert_false(wire_packet_decode(fx.buf, PS, &fx.out, &fx.err));
    assert_int_equal(fx.err.code, MF_ERR_INVALID_ARG);
    /* a NULL error pointer is allowed */
    assert_false(wire_packet_decode(fx.buf, PS, &fx.out, NULL));
}

static void test_magic_version(void **state)
{
    (void)state;
    build(0, 128, 1, 0);
    fx.buf[0] = 0;
    expect_error(WIRE_ERR_PACKET_MAGIC, 0);
    build(0, 128, 1, 0);
    mf_be32_store(fx.buf + 4, 2);
    expect_error(WIRE_ERR_PACKET_VERSION, 4);
}

static void test_device_state_flag(void **state)
{
    (void)state;
    build(WIRE_FLAG_DEVICE_STATE, 128, 1, 0);
    expect_error(WIRE_ERR_PACKET_DEVICE_STATE, 8);
    assert_string_equal(fx.err.msg, "packet flags 0x40 carry the "
                                    "device-state bit 0x40: not a RAM packet");
}

static void test_compression_values(void **state)
{
    static const uint32_t ok[] = { 0x00, 0x02, 0x04, 0x08, 0x10, 0x20 };
    static const uint32_t bad[] = { 0x06, 0x3e, 0x0a, 0x0c,
                                    0x0e, 0x12, 0x22, 0x30 };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        build(ok[i], 128, 1, 0);
        assert_true(decode());
        build(ok[i] | WIRE_FLAG_SYNC, 128, 1, 0);
        assert_true(decode());
        /* bits outside the mask (but not device state) are ignored */
        build(ok[i] | 0x80 | 0x100, 128, 1, 0);
        assert_true(decode());
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        build(bad[i], 128, 1, 0);
        expect_error(WIRE_ERR_PACKET_COMPRESSION, 8);
    }
    build(0x3e, 128, 0, 0);
    expect_error(WIRE_ERR_PACKET_COMPRESSION, 8);
    assert_string_equal(fx.err.msg,
                        "packet flags 0x3e: compression value "
                        "0x3e (mask 0x3e) is not one of 0x00 0x02 0x04 "
                        "0x08 0x10 0x20");
}

static void test_pages_alloc_limit(void **state)
{
    (void)state;
    build(0, 128, 0, 0);
    assert_true(decode());
    build(0, 129, 0, 0);
    expect_error(WIRE_ERR_PACKET_PAGES_ALLOC, 12);
    assert_string_equal(fx.err.msg,
                        "packet pages_alloc 129 exceeds page_count 128");
    build(0, 0xffffffffu, 0, 0);
    expect_error(WIRE_ERR_PACKET_PAGES_ALLOC, 12);
    /* the limit follows the page size: 64 KiB pages -> 8 */
    build(0, 8, 0, 0);
    assert_true(wire_packet_decode(fx.buf, 65536, &fx.out, &fx.err));
    mf_be32_store(fx.buf + 12, 9);
    assert_false(wire_packet_decode(fx.buf, 65536, &fx.out, &fx.err));
    assert_int_equal(fx.err.code, WIRE_ERR_PACKET_PAGES_ALLOC);
    /* smaller than page_count is accepted (QEMU does too) */
    build(0, 1, 1, 0);
    assert_true(decode());
}

static void test_normal_pages_limit(void **state)
{
    (void)state;
    build(0, 128, 128, 0);
    assert_true(decode());
    build(0, 128, 129, 0);
    expect_error(WIRE_ERR_PACKET_NORMAL_PAGES, 16);
    assert_string_equal(fx.err.msg,
                        "packet normal_pages 129 exceeds pages_alloc 128");
    build(0, 10, 10, 0);
    assert_true(decode());
    build(0, 10, 11, 0);
    expect_error(WIRE_ERR_PACKET_NORMAL_PAGES, 16);
    build(0, 0, 1, 0);
    expect_error(WIRE_ERR_PACKET_NORMAL_PAGES, 16);
}

static void test_zero_pages_limit(void **state)
{
    (void)state;
    build(0, 128, 100, 28);
    assert_true(decode());
    build(0, 128, 100, 29);
    expect_error(WIRE_ERR_PACKET_ZERO_PAGES, 32);
    assert_string_equal(fx.err.msg, "packet zero_pages 29 exceeds "
                                    "pages_alloc 128 - normal_pages 100 = 28");
    build(0, 128, 0, 128);
    assert_true(decode());
    assert_int_equal(fx.out.offsets[127], 127 * PS);
    build(0, 128, 0, 129);
    expect_error(WIRE_ERR_PACKET_ZERO_PAGES, 32);
    build(0, 128, 128, 1);
    expect_error(WIRE_ERR_PACKET_ZERO_PAGES, 32);
    /* a huge value must not wrap around */
    build(0, 128, 1, 0xffffffffu);
    expect_error(WIRE_ERR_PACKET_ZERO_PAGES, 32);
}

static void test_block_name(void **state)
{
    char name[256];

    (void)state;
    /* 255 characters + NUL: the longest name */
    memset(name, 'a', 255);
    name[255] = '\0';
    build(0, 128, 1, 0);
    memcpy(fx.buf + 64, name, 256);
    assert_true(decode());
    assert_int_equal(strlen(fx.out.ramblock), 255);
    /* no NUL in 256 bytes */
    fx.buf[64 + 255] = 'a';
    mf_error_clear(&fx.err);
    expect_error(WIRE_ERR_PACKET_BLOCK_NAME, 319);
    assert_string_equal(fx.err.msg,
                        "packet ramblock has no NUL in its 256 "
                        "bytes (byte 255 is 0x61, limit 255 characters)");
    /* the byte the message shows is the last one, not byte 254 */
    fx.buf[64 + 254] = 0x01;
    fx.buf[64 + 255] = 0xfe;
    mf_error_clear(&fx.err);
    expect_error(WIRE_ERR_PACKET_BLOCK_NAME, 319);
    assert_string_equal(fx.err.msg,
                        "packet ramblock has no NUL in its 256 "
                        "bytes (byte 255 is 0xfe, limit 255 characters)");
    /* a short name with garbage after its NUL is accepted */
    build(0, 128, 1, 0);
    memset(fx.buf + 64 + 7, 0xee, 256 - 7);
    assert_true(decode());
    assert_string_equal(fx.out.ramblock, "pc.ram");
    assert_int_equal(fx.out.ramblock[7], 0); /* the garbage is dropped */
    assert_int_equal(fx.out.ramblock[255], 0);
    /* empty name with pages */
    build(0, 128, 1, 0);
    memset(fx.buf + 64, 0, 256);
    expect_error(WIRE_ERR_PACKET_BLOCK_NAME_EMPTY, 64);
    assert_string_equal(fx.err.msg, "packet ramblock is empty but the "
                                    "packet has 1 normal and 0 zero pages");
    build(0, 128, 0, 1);
    memset(fx.buf + 64, 0, 256);
    expect_error(WIRE_ERR_PACKET_BLOCK_NAME_EMPTY, 64);
    /* unterminated and empty are both checked only with pages */
    build(0, 128, 0, 0);
    memset(fx.buf + 64, 'x', 256);
    assert_true(decode());
    assert_string_equal(fx.out.ramblock, "");
}

/* QEMU 7.2: unused[4] at 32..63; 9.0+: reserved 36..63 never checked. */
static void test_reserved_bytes(void **state)
{
    (void)state;
    build(0, 128, 3, 0);
    assert_true(decode());
    assert_int_equal(fx.out.zero_pages, 0); /* 7.2: bytes 32..35 zero */
    memset(fx.buf + 36, 0xa5, 28);
    mf_error_clear(&fx.err);
    assert_true(decode());
    assert_int_equal(fx.out.normal_pages, 3);
    assert_int_equal(fx.out.zero_pages, 0);
}

/* Empty packets carry stale copies: never trusted, never checked. */
static void test_stale_fields_ignored(void **state)
{
    uint32_t i;

    (void)state;
    build(0, 128, 0, 0);
    mf_be32_store(fx.buf + 20, 188416); /* stale next_packet_size */
    memset(fx.buf + 64, 0, 256);
    memset(fx.buf + 64, 0xff, 256); /* stale, even unterminated */
    for (i = 0; i < NPAGES; i++) {
        mf_be64_store(fx.buf + 320 + 8 * i, 0xffffffffffffffffULL);
    }
    for (i = 0; i < NPAGES; i++) {
        fx.out_offs[i] = 42;
    }
    assert_true(decode());
    assert_int_equal(fx.out.next_packet_size, 188416);
    assert_string_equal(fx.out.ramblock, "");
    assert_int_equal(wire_packet_pages(&fx.out), 0);
    for (i = 0; i < NPAGES; i++) {
        assert_int_equal(fx.out_offs[i], 42); /* untouched */
    }
    /* offsets past the counts are stale in packets with pages too */
    build(0, 128, 2, 1);
    mf_be64_store(fx.buf + 320 + 8 * 3, 0xffffffffffffffffULL);
    fx.out_offs[3] = 42;
    assert_true(decode());
    assert_int_equal(fx.out_offs[2], 2 * PS);
    assert_int_equal(fx.out_offs[3], 42);
}

/* QEMU < 9.0 puts pages in SYNC packets; 9.0+ SYNC has pages_alloc 0. */
static void test_sync_packets(void **state)
{
    (void)state;
    build(WIRE_FLAG_SYNC | WIRE_COMP_ZSTD, 128, 46, 0);
    assert_true(decode());
    assert_int_equal(fx.out.flags, 0x05);
    assert_int_equal(fx.out.normal_pages, 46);
    assert_string_equal(fx.out.ramblock, "pc.ram");
    build(WIRE_FLAG_SYNC, 0, 0, 0);
    assert_true(decode());
    assert_int_equal(fx.out.pages_alloc, 0);
    build(WIRE_FLAG_SYNC, 0, 1, 0);
    expect_error(WIRE_ERR_PACKET_NORMAL_PAGES, 16);
}

/* First failing rule wins, in the documented order. */
static void test_check_order(void **state)
{
    (void)state;
    build(0x40 | 0x06, 200, 300, 300);
    expect_error(WIRE_ERR_PACKET_DEVICE_STATE, 8);
    build(0x06, 200, 300, 300);
    expect_error(WIRE_ERR_PACKET_COMPRESSION, 8);
    build(0, 200, 300, 300);
    expect_error(WIRE_ERR_PACKET_PAGES_ALLOC, 12);
    build(0, 128, 300, 300);
    expect_error(WIRE_ERR_PACKET_NORMAL_PAGES, 16);
    build(0, 128, 1, 300);
    memset(fx.buf + 64, 'x', 256);
    expect_error(WIRE_ERR_PACKET_ZERO_PAGES, 32);
    build(0, 128, 1, 0);
    fx.buf[0] = 0;
    mf_be32_store(fx.buf + 8, 0x46);
    expect_error(WIRE_ERR_PACKET_MAGIC, 0);
}

/* Other page sizes: the offset array follows page_count. */
static void test_other_page_size(void **state)
{
    uint8_t buf[320 + 8 * 8];
    uint64_t offs[8] = { 0, 65536, 131072, 3, 4, 5, 6, 7 };
    uint64_t out_offs[8];
    WirePacket pkt = { .flags = 0,
                       .pages_alloc = 8,
                       .normal_pages = 2,
                       .zero_pages = 1,
                       .offsets = offs };
    WirePacket out = { .offsets = out_offs };
    MfError err;

    (void)state;
    strcpy(pkt.ramblock, "big");
    mf_error_clear(&err);
    wire_packet_encode(&pkt, 65536, NULL, buf);
    assert_true(wire_packet_decode(buf, 65536, &out, &err));
    assert_int_equal(out_offs[1], 65536);
    assert_int_equal(out_offs[2], 131072);
    assert_int_equal(mf_be64_load(buf + 320 + 8 * 7), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_count),
        cmocka_unit_test(test_compression_names),
        cmocka_unit_test(test_hdr),
        cmocka_unit_test(test_encode_layout),
        cmocka_unit_test(test_encode_stale_offsets),
        cmocka_unit_test(test_encode_stays_inside),
        cmocka_unit_test(test_roundtrip_full),
        cmocka_unit_test(test_invalid_args),
        cmocka_unit_test(test_magic_version),
        cmocka_unit_test(test_device_state_flag),
        cmocka_unit_test(test_compression_values),
        cmocka_unit_test(test_pages_alloc_limit),
        cmocka_unit_test(test_normal_pages_limit),
        cmocka_unit_test(test_zero_pages_limit),
        cmocka_unit_test(test_block_name),
        cmocka_unit_test(test_reserved_bytes),
        cmocka_unit_test(test_stale_fields_ignored),
        cmocka_unit_test(test_sync_packets),
        cmocka_unit_test(test_check_order),
        cmocka_unit_test(test_other_page_size),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
