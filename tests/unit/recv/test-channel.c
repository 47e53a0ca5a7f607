/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-channel state machine (core/recv/channel.h): placement, COLO,
 * SYNC, old-sender quirks, fragmentation, and every error with its exact
 * code, channel label and stream offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/bitmap.h"
#include "codec/codec.h"
#include "codec/errors.h"
#include "colo/errors.h"
#include "ram/errors.h"
#include "recv/channel.h"
#include "recv/errors.h"
#include "wire/errors.h"

#include "recv-fx.h"
#include "recv-gen.h"

#define PS RECV_FX_PAGE
#define NPAGES 64u
#define BASE 64u /* stream offset after the handshake */

/* The shared recv fixture (recv-fx.h); this file's stream is s[0]. */
typedef RecvFx Fx;

/* pc.ram of NPAGES pages and the "tiny" block, COLO on or off. */
static void fx_init(Fx *f, bool colo)
{
    const RecvFxSpec spec = { NPAGES, 42, true, colo };

    recv_fx_init(f, &spec);
}

static RecvChannel *fx_channel(Fx *f, uint8_t id, WireCompression comp)
{
    RecvChannelConfig cfg = { 0 };
    MfError err = { 0 };
    RecvChannel *ch;

    cfg.id = id;
    cfg.page_size = PS;
    cfg.compression = comp;
    cfg.ram = &f->t;
    cfg.colo = f->has_colo ? &f->colo : NULL;
    cfg.base_offset = BASE;
    ch = recv_channel_new(&cfg, &err);
    assert_non_null(ch);
    assert_int_equal(recv_channel_status(ch), RECV_CH_RUNNING);
    return ch;
}

/* Feed the whole stream in chunks of @chunk bytes; true if all taken. */
static bool feed_chunks(RecvChannel *ch, const SupBuf *s, size_t chunk,
                        MfError *err)
{
    size_t at = 0;

    while (at < s->len) {
        size_t n = s->len - at < chunk ? s->len - at : chunk;
        size_t got = recv_channel_feed(ch, s->data + at, n, err);

        at += got;
        if (got < n) {
            if (recv_channel_status(ch) == RECV_CH_SYNC) {
                recv_channel_release(ch);
                continue;
            }
            return false;
        }
    }
    return true;
}

static void check_pages(const uint8_t *mem, const Fx *f, const uint64_t *off,
                        uint32_t n)
{
    uint32_t i;

    for (i = 0; i < n; i++) {
        assert_memory_equal(mem + off[i], f->src + off[i], PS);
    }
}

static const uint64_t OFFS[4] = { 0, 5 * PS, 6 * PS, 63 * PS };

static void t_raw_whole(void **state)
{
    Fx f;
    RecvChannel *ch;
    MfError err = { 0 };
    RecvChannelStats st;

    (void)state;
    fx_init(&f, false);
    ch = fx_channel(&f, 0, WIRE_COMP_NONE);
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, OFFS, 4, 0,
              1);
    assert_int_equal(recv_channel_feed(ch, f.s[0].data, f.s[0].len, &err),
                     f.s[0].len);
    assert_int_equal(err.code, MF_OK);
    check_pages(f.b->host, &f, OFFS, 4);
    assert_true(ram_block_is_received(f.b, 5 * PS));
    assert_false(ram_block_is_received(f.b, 4 * PS));
    recv_channel_stats(ch, &st);
    assert_int_equal(st.packets, 1);
    assert_int_equal(st.normal_pages, 4);
    assert_int_equal(recv_channel_offset(ch), BASE + f.s[0].len);
    assert_true(recv_channel_eof(ch, &err));
    assert_int_equal(recv_channel_status(ch), RECV_CH_DONE);
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

/* Every fragmentation from 1 byte up gives the same memory. */
static void t_raw_fragmented(void **state)
{
    static const size_t chunks[] = { 1,    2,    3,    7,    12,  13,
                                     1343, 1344, 1345, 4095, 4097 };
    size_t k;

    (void)state;
    for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        Fx f;
        RecvChannel *ch;
        MfError err = { 0 };

        fx_init(&f, false);
        ch = fx_channel(&f, 1, WIRE_COMP_NONE);
        rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, OFFS,
                  4, 0, 1);
        rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src,
                  OFFS + 1, 2, 1, 2);
        assert_true(feed_chunks(ch, &f.s[0], chunks[k], &err));
        check_pages(f.b->host, &f, OFFS, 3);
        assert_true(recv_channel_eof(ch, &err));
        recv_channel_free(ch);
        recv_fx_destroy(&f);
    }
}

/* Raw pages are read straight into the page slots. */
static void t_iov_zero_copy(void **state)
{
    Fx f;
    RecvChannel *ch;
    MfError err = { 0 };
    struct iovec iov[8];
    int n;

    (void)state;
    fx_init(&f, true);
    ch = fx_channel(&f, 0, WIRE_COMP_NONE);
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, OFFS, 4, 0,
              1);
    n = recv_channel_next_iov(ch, iov, 8);
    assert_int_equal(n, 1);
    assert_int_equal(iov[0].iov_len, 12);
    memcpy(iov[0].iov_base, f.s[0].data, 12);
    assert_true(recv_channel_advance(ch, 12, &err));
    n = recv_channel_next_iov(ch, iov, 8);
    assert_int_equal(n, 1);
    assert_int_equal(iov[0].iov_len, wire_packet_size(PS) - 12);
    memcpy(iov[0].iov_base, f.s[0].data + 12, iov[0].iov_len);
    assert_true(recv_channel_advance(ch, iov[0].iov_len, &err));
    /* COLO capability: the slots are in the cache. */
    n = recv_channel_next_iov(ch, iov, 3);
    assert_int_equal(n, 3);
    assert_ptr_equal(iov[0].iov_base, f.b->colo_cache + OFFS[0]);
    assert_ptr_equal(iov[1].iov_base, f.b->colo_cache + OFFS[1]);
    assert_ptr_equal(iov[2].iov_base, f.b->colo_cache + OFFS[2]);
    assert_int_equal(iov[2].iov_len, PS);
    /* Half a page, then the slot continues mid-page. */
    memcpy(iov[0].iov_base, f.src + OFFS[0], PS);
    memcpy(iov[1].iov_base, f.src + OFFS[1], 100);
    assert_true(recv_channel_advance(ch, PS + 100, &err));
    n = recv_channel_next_iov(ch, iov, 8);
    assert_int_equal(n, 3);
    assert_ptr_equal(iov[0].iov_base, f.b->colo_cache + OFFS[1] + 100);
    assert_int_equal(iov[0].iov_len, PS - 100);
    assert_ptr_equal(iov[2].iov_base, f.b->colo_cache + OFFS[3]);
    assert_int_equal(
        recv_channel_feed(ch, f.s[0].data + wire_packet_size(PS) + PS + 100,
                          f.s[0].len - wire_packet_size(PS) - PS - 100, &err),
        f.s[0].len - wire_packet_size(PS) - PS - 100);
    /* Precopy: mirrored to the guest, no dirty bit (I1). */
    check_pages(f.b->colo_cache, &f, OFFS, 4);
    check_pages(f.b->host, &f, OFFS, 4);
    assert_true(mf_bitmap_empty(f.b->dirty, f.b->npages));
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

/* COLO phase: cache only, every page recorded (I2), zero pages too. */
static void t_colo_phase(void **state)
{
    Fx f;
    RecvChannel *ch;
    MfError err = { 0 };
    uint64_t off[3] = { 2 * PS, 9 * PS, 10 * PS };
    uint8_t *before;

    (void)state;
    fx_init(&f, true);
    assert_true(colo_enter(&f.colo, &err));
    before = malloc(f.b->used_length);
    assert_non_null(before);
    memcpy(before, f.b->host, f.b->used_length);
    ch = fx_channel(&f, 0, WIRE_COMP_NONE);
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, off, 2, 1,
              1);
    assert_true(feed_chunks(ch, &f.s[0], 1000, &err));
    assert_memory_equal(f.b->host, before, f.b->used_length);
    check_pages(f.b->colo_cache, &f, off, 2);
    assert_true(mf_bitmap_test(f.b->dirty, 2));
    assert_true(mf_bitmap_test(f.b->dirty, 9));
    assert_true(mf_bitmap_test(f.b->dirty, 10));
    assert_int_equal(mf_bitmap_count(f.b->dirty, f.b->npages), 3);
    free(before);
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

/* A SYNC stops the machine after the packet is processed. */
static void t_sync(void **state)
{
    Fx f;
    RecvChannel *ch;
    MfError err = { 0 };
    size_t first, got;
    RecvChannelStats st;

    (void)state;
    fx_init(&f, false);
    ch = fx_channel(&f, 0, WIRE_COMP_NONE);
    rg_sync(&f.s[0], PS, 0);
    first = f.s[0].len;
    /* QEMU < 9.0: SYNC riding on a data packet, then an empty packet. */
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, WIRE_FLAG_SYNC, "pc.ram",
              f.src, OFFS, 2, 0, 7);
    rg_header(&f.s[0], PS, 0, "pc.ram", OFFS, 0, 0, 2 * PS, 7);
    got = recv_channel_feed(ch, f.s[0].data, f.s[0].len, &err);
    assert_int_equal(got, first);
    assert_int_equal(recv_channel_status(ch), RECV_CH_SYNC);
    assert_int_equal(recv_channel_next_iov(ch, NULL, 0), 0);
    assert_int_equal(recv_channel_feed(ch, f.s[0].data + got, 1, &err), 0);
    recv_channel_release(ch);
    got += recv_channel_feed(ch, f.s[0].data + got, f.s[0].len - got, &err);
    assert_int_equal(recv_channel_status(ch), RECV_CH_SYNC);
    /* Data of the SYNC packet is in place before the sync is reported. */
    check_pages(f.b->host, &f, OFFS, 2);
    recv_channel_release(ch);
    got += recv_channel_feed(ch, f.s[0].data + got, f.s[0].len - got, &err);
    assert_int_equal(got, f.s[0].len);
    assert_int_equal(err.code, MF_OK);
    recv_channel_stats(ch, &st);
    assert_int_equal(st.syncs, 2);
    assert_int_equal(st.packets, 3);
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

/*
 * Packets without pages: ramblock, next_packet_size, offsets are stale
 * (here: an unknown block, a huge size, wild offsets) and ignored.
 */
static void t_stale_empty_packet(void **state)
{
    static const uint64_t wild[2] = { 3, 1ull << 60 };
    WireCompression comps[] = { WIRE_COMP_NONE, WIRE_COMP_ZSTD,
                                WIRE_COMP_ZLIB };
    size_t k;

    (void)state;
    for (k = 0; k < 3; k++) {
        Fx f;
        RecvChannel *ch;
        MfError err = { 0 };
        size_t at;

        if (!codec_supported(comps[k])) {
            continue;
        }
        fx_init(&f, false);
        ch = fx_channel(&f, 0, comps[k]);
        rg_header(&f.s[0], PS, 0, "no-such-block", wild, 0, 0, 0x7fffffff, 3);
        at = rg_header(&f.s[0], PS, WIRE_FLAG_SYNC, "ghost", wild, 0, 0, 4096,
                       4);
        rg_header(&f.s[0], PS, 0, "", NULL, 0, 0, 0, 5);
        assert_int_equal(recv_channel_feed(ch, f.s[0].data, f.s[0].len, &err),
                         at + wire_packet_size(PS));
        recv_channel_release(ch);
        assert_int_equal(
            recv_channel_feed(ch, f.s[0].data + at + wire_packet_size(PS),
                              wire_packet_size(PS), &err),
            wire_packet_size(PS));
        assert_int_equal(err.code, MF_OK);
        assert_true(recv_channel_eof(ch, &err));
        recv_channel_free(ch);
        recv_fx_destroy(&f);
    }
}

/* The zero-page rule: zeros are written only over a received page. */
static void t_zero_page_rule(void **state)
{
    Fx f;
    RecvChannel *ch;
    MfError err = { 0 };
    RecvChannelStats st;
    uint64_t z[1] = { 8 * PS };

    (void)state;
    fx_init(&f, false);
    ch = fx_channel(&f, 0, WIRE_COMP_NONE);
    /* Not received before: memory is already zero, nothing written. */
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, z, 0, 1,
              1);
    /* Received, then zero: must be written. */
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, z, 1, 0,
              2);
    assert_int_equal(recv_channel_feed(ch, f.s[0].data, f.s[0].len, &err),
                     f.s[0].len);
    assert_memory_equal(f.b->host + z[0], f.src + z[0], PS);
    recv_channel_stats(ch, &st);
    assert_int_equal(st.zero_writes, 0);
    sup_buf_truncate(&f.s[0], 0);
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, z, 0, 1,
              3);
    assert_int_equal(recv_channel_feed(ch, f.s[0].data, f.s[0].len, &err),
                     f.s[0].len);
    recv_channel_stats(ch, &st);
    assert_int_equal(st.zero_writes, 1);
    assert_int_equal(st.zero_pages, 2);
    assert_true(f.b->host[z[0]] == 0 && f.b->host[z[0] + PS - 1] == 0);
    assert_int_equal(memcmp(f.b->host + z[0], f.b->host + z[0] + 1, PS - 1), 0);
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

/* zstd and zlib: one stream per channel across packets, any split. */
static void run_compressed(WireCompression comp)
{
    static const size_t chunks[] = { 1, 5, 100, 1 << 20 };
    size_t k;

    for (k = 0; k < 4; k++) {
        Fx f;
        RecvChannel *ch;
        MfError err = { 0 };
        QemuCompressor *qc;
        uint64_t all[NPAGES];
        uint32_t i;

        fx_init(&f, true);
        for (i = 0; i < NPAGES; i++) {
            all[i] = (uint64_t)i * PS;
        }
        /* Some compressible pages. */
        memset(f.src + 3 * PS, 'x', PS);
        qc = qemu_compressor_new(comp, PS, 1);
        assert_non_null(qc);
        ch = fx_channel(&f, 2, comp);
        rg_packet(&f.s[0], qc, comp, PS, 0, "pc.ram", f.src, all, 40, 0, 1);
        rg_packet(&f.s[0], qc, comp, PS, 0, "pc.ram", f.src, all + 40, 3, 2, 2);
        rg_header(&f.s[0], PS, 0, "pc.ram", all, 0, 0, 999, 2);
        rg_packet(&f.s[0], qc, comp, PS, 0, "pc.ram", f.src, all + 45, 19, 0,
                  3);
        assert_true(feed_chunks(ch, &f.s[0], chunks[k], &err));
        check_pages(f.b->host, &f, all, 43);
        check_pages(f.b->host, &f, all + 45, 19);
        check_pages(f.b->colo_cache, &f, all + 45, 19);
        assert_true(recv_channel_eof(ch, &err));
        qemu_compressor_free(qc);
        recv_channel_free(ch);
        recv_fx_destroy(&f);
    }
}

static void t_zstd(void **state)
{
    (void)state;
    if (codec_supported(WIRE_COMP_ZSTD)) {
        run_compressed(WIRE_COMP_ZSTD);
    }
}

static void t_zlib(void **state)
{
    (void)state;
    if (codec_supported(WIRE_COMP_ZLIB)) {
        run_compressed(WIRE_COMP_ZLIB);
    }
}

/* ---- errors ---- */

/*
 * Feed @f->s[0] (after a good first packet of @lead bytes, if any) to a new
 * channel 3 and expect the error.
 */
static void expect_feed_error(Fx *f, WireCompression comp, int code,
                              uint64_t stream_off)
{
    RecvChannel *ch = fx_channel(f, 3, comp);
    MfError err = { 0 };
    size_t got;

    got = recv_channel_feed(ch, f->s[0].data, f->s[0].len, &err);
    assert_true(got <= f->s[0].len);
    recv_fx_expect_err(&err, code, "multifd 3", stream_off);
    assert_int_equal(recv_channel_status(ch), RECV_CH_FAILED);
    recv_fx_expect_err(recv_channel_error(ch), code, "multifd 3", stream_off);
    /* Nothing more is accepted, the error stays the first one. */
    mf_error_clear(&err);
    assert_int_equal(recv_channel_feed(ch, f->s[0].data, 1, &err), 0);
    recv_fx_expect_err(&err, code, "multifd 3", stream_off);
    recv_channel_free(ch);
}

static void t_err_packet_magic(void **state)
{
    Fx f;
    size_t at;

    (void)state;
    fx_init(&f, false);
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, OFFS, 1, 0,
              1);
    at = rg_sync(&f.s[0], PS, 2);
    f.s[0].data[at] ^= 0x01;
    expect_feed_error(&f, WIRE_COMP_NONE, WIRE_ERR_PACKET_MAGIC, BASE + at);
    recv_fx_destroy(&f);
}

static void t_err_packet_version(void **state)
{
    Fx f;
    size_t at;

    (void)state;
    fx_init(&f, false);
    at = rg_sync(&f.s[0], PS, 2);
    f.s[0].data[at + 7] = 2;
    expect_feed_error(&f, WIRE_COMP_NONE, WIRE_ERR_PACKET_VERSION,
                      BASE + at + 4);
    recv_fx_destroy(&f);
}

static void t_err_pages_alloc(void **state)
{
    Fx f;

    (void)state;
    fx_init(&f, false);
    rg_header(&f.s[0], PS, 0, "pc.ram", OFFS, 1, 0, PS, 1);
    f.s[0].data[12 + 2] = 1; /* pages_alloc 128 + 65536 */
    expect_feed_error(&f, WIRE_COMP_NONE, WIRE_ERR_PACKET_PAGES_ALLOC,
                      BASE + 12);
    recv_fx_destroy(&f);
}

static void t_err_unknown_block(void **state)
{
    Fx f;

    (void)state;
    fx_init(&f, false);
    rg_header(&f.s[0], PS, 0, "pc.rom", OFFS, 1, 0, PS, 1);
    expect_feed_error(&f, WIRE_COMP_NONE, RAM_ERR_UNKNOWN_BLOCK, BASE + 64);
    recv_fx_destroy(&f);
}

static void t_err_offset_range(void **state)
{
    Fx f;
    uint64_t off[3] = { 0, PS, (uint64_t)NPAGES * PS };

    (void)state;
    fx_init(&f, false);
    rg_header(&f.s[0], PS, 0, "pc.ram", off, 1, 2, PS, 1);
    expect_feed_error(&f, WIRE_COMP_NONE, RAM_ERR_OFFSET_RANGE,
                      BASE + 320 + 16);
    /* The last full page is fine, one byte more is not (no wrap). */
    sup_buf_truncate(&f.s[0], 0);
    off[2] = UINT64_MAX - PS + 1;
    rg_header(&f.s[0], PS, 0, "pc.ram", off, 3, 0, 3 * PS, 1);
    expect_feed_error(&f, WIRE_COMP_NONE, RAM_ERR_OFFSET_RANGE,
                      BASE + 320 + 16);
    recv_fx_destroy(&f);
}

static void t_err_offset_unaligned(void **state)
{
    Fx f;
    uint64_t off[2] = { PS, 2 * PS + 8 };

    (void)state;
    fx_init(&f, false);
    rg_header(&f.s[0], PS, 0, "pc.ram", off, 2, 0, 2 * PS, 1);
    expect_feed_error(&f, WIRE_COMP_NONE, RAM_ERR_OFFSET_UNALIGNED,
                      BASE + 320 + 8);
    recv_fx_destroy(&f);
}

static void t_err_block_too_small(void **state)
{
    Fx f;
    uint64_t off[1] = { 0 };

    (void)state;
    fx_init(&f, false);
    rg_header(&f.s[0], PS, 0, "tiny", off, 0, 1, 0, 1);
    expect_feed_error(&f, WIRE_COMP_NONE, RAM_ERR_BLOCK_TOO_SMALL, BASE + 320);
    recv_fx_destroy(&f);
}

/* A bad offset anywhere in the packet: no page of it is written. */
static void t_err_validate_before_touch(void **state)
{
    Fx f;
    uint64_t off[3] = { PS, 7 * PS, 2 * PS + 1 };
    RecvChannel *ch;
    MfError err = { 0 };
    uint8_t zero[PS];

    (void)state;
    fx_init(&f, true);
    memset(zero, 0, sizeof(zero));
    /* A received page, so a zero page would be written. */
    ch = fx_channel(&f, 0, WIRE_COMP_NONE);
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, off + 1, 1,
              0, 1);
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, off, 1, 2,
              2);
    recv_channel_feed(ch, f.s[0].data, f.s[0].len, &err);
    assert_int_equal(err.code, RAM_ERR_OFFSET_UNALIGNED);
    assert_memory_equal(f.b->colo_cache + PS, zero, PS);
    assert_memory_equal(f.b->host + PS, zero, PS);
    assert_memory_equal(f.b->host + 7 * PS, f.src + 7 * PS, PS);
    assert_false(ram_block_is_received(f.b, PS));
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

static void t_err_compression_mismatch(void **state)
{
    Fx f;

    (void)state;
    fx_init(&f, false);
    rg_header(&f.s[0], PS, WIRE_COMP_ZLIB, "pc.ram", OFFS, 1, 0, 100, 1);
    expect_feed_error(&f, WIRE_COMP_NONE, CODEC_ERR_METHOD, BASE + 8);
    if (codec_supported(WIRE_COMP_ZSTD)) {
        expect_feed_error(&f, WIRE_COMP_ZSTD, CODEC_ERR_METHOD, BASE + 8);
    }
    recv_fx_destroy(&f);
}

/* QEMU reads next_packet_size bytes into a 1 MiB buffer unchecked. */
static void t_err_next_size_bound(void **state)
{
    Fx f;

    (void)state;
    if (!codec_supported(WIRE_COMP_ZSTD)) {
        return;
    }
    fx_init(&f, false);
    rg_header(&f.s[0], PS, WIRE_COMP_ZSTD, "pc.ram", OFFS, 1, 0,
              (uint32_t)codec_max_payload() + 1, 1);
    expect_feed_error(&f, WIRE_COMP_ZSTD, CODEC_ERR_PAYLOAD_SIZE, BASE + 20);
    recv_fx_destroy(&f);
}

/* QEMU asserts here (zero pages only, next_packet_size != 0). */
static void t_err_unexpected_payload(void **state)
{
    Fx f;

    (void)state;
    if (!codec_supported(WIRE_COMP_ZLIB)) {
        return;
    }
    fx_init(&f, false);
    rg_header(&f.s[0], PS, WIRE_COMP_ZLIB, "pc.ram", OFFS, 0, 2, 10, 1);
    expect_feed_error(&f, WIRE_COMP_ZLIB, CODEC_ERR_UNEXPECTED_PAYLOAD,
                      BASE + 20);
    recv_fx_destroy(&f);
}

static void t_err_decompress(void **state)
{
    Fx f;
    size_t at;
    uint8_t junk[64];

    (void)state;
    if (!codec_supported(WIRE_COMP_ZSTD)) {
        return;
    }
    fx_init(&f, false);
    memset(junk, 0xa5, sizeof(junk));
    at = rg_header(&f.s[0], PS, WIRE_COMP_ZSTD, "pc.ram", OFFS, 1, 0,
                   sizeof(junk), 1);
    sup_buf_append(&f.s[0], junk, sizeof(junk));
    {
        RecvChannel *ch = fx_channel(&f, 3, WIRE_COMP_ZSTD);
        MfError err = { 0 };

        recv_channel_feed(ch, f.s[0].data, f.s[0].len, &err);
        assert_int_equal(err.code, CODEC_ERR_DECOMPRESS);
        assert_string_equal(err.where, "multifd 3");
        assert_true(err.offset >= BASE + at + wire_packet_size(PS));
        assert_true(err.offset <= BASE + f.s[0].len);
        recv_channel_free(ch);
    }
    recv_fx_destroy(&f);
}

static void t_err_device_state(void **state)
{
    Fx f;
    WireDevStatePacket d = { WIRE_FLAG_DEVICE_STATE, "vfio", 0, 16 };
    uint8_t buf[WIRE_DEVSTATE_HDR_SIZE];
    size_t at;

    (void)state;
    fx_init(&f, false);
    rg_sync(&f.s[0], PS, 0);
    at = f.s[0].len;
    wire_devstate_encode(&d, buf);
    sup_buf_append(&f.s[0], buf, sizeof(buf));
    {
        RecvChannel *ch = fx_channel(&f, 3, WIRE_COMP_NONE);
        MfError err = { 0 };

        recv_channel_feed(ch, f.s[0].data, f.s[0].len, &err);
        assert_int_equal(recv_channel_status(ch), RECV_CH_SYNC);
        recv_channel_release(ch);
        recv_channel_feed(ch, f.s[0].data + at, f.s[0].len - at, &err);
        recv_fx_expect_err(&err, RECV_ERR_DEVICE_STATE, "multifd 3",
                           BASE + at + 8);
        recv_channel_free(ch);
    }
    recv_fx_destroy(&f);
}

typedef struct DevSeen {
    int calls;
    char idstr[WIRE_RAMBLOCK_NAME_SIZE];
    uint32_t instance;
    size_t len;
    uint8_t first;
} DevSeen;

static bool dev_handler(void *opaque, uint8_t id, const WireDevStatePacket *p,
                        const uint8_t *data, size_t len, MfError *err)
{
    DevSeen *seen = opaque;

    (void)err;
    assert_int_equal(id, 1);
    seen->calls++;
    snprintf(seen->idstr, sizeof(seen->idstr), "%s", p->idstr);
    seen->instance = p->instance_id;
    seen->len = len;
    seen->first = data[0];
    return true;
}

static void t_devstate_handler(void **state)
{
    Fx f;
    WireDevStatePacket d = { WIRE_FLAG_DEVICE_STATE, "vfio", 7, 300 };
    uint8_t buf[WIRE_DEVSTATE_HDR_SIZE], payload[300];
    RecvChannelConfig cfg = { 0 };
    MfError err = { 0 };
    RecvChannel *ch;
    DevSeen seen = { 0 };

    (void)state;
    fx_init(&f, false);
    memset(payload, 0x5a, sizeof(payload));
    wire_devstate_encode(&d, buf);
    sup_buf_append(&f.s[0], buf, sizeof(buf));
    sup_buf_append(&f.s[0], payload, sizeof(payload));
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, OFFS, 1, 0,
              1);
    cfg.id = 1;
    cfg.page_size = PS;
    cfg.ram = &f.t;
    cfg.devstate = dev_handler;
    cfg.devstate_opaque = &seen;
    ch = recv_channel_new(&cfg, &err);
    assert_non_null(ch);
    assert_true(feed_chunks(ch, &f.s[0], 33, &err));
    assert_int_equal(seen.calls, 1);
    assert_string_equal(seen.idstr, "vfio");
    assert_int_equal(seen.instance, 7);
    assert_int_equal(seen.len, 300);
    assert_int_equal(seen.first, 0x5a);
    check_pages(f.b->host, &f, OFFS, 1);
    recv_channel_free(ch);
    /* Above the bound: refused before any allocation. */
    sup_buf_truncate(&f.s[0], 0);
    d.next_packet_size = RECV_DEVSTATE_MAX_PAYLOAD + 1;
    wire_devstate_encode(&d, buf);
    sup_buf_append(&f.s[0], buf, sizeof(buf));
    cfg.id = 3;
    ch = recv_channel_new(&cfg, &err);
    assert_non_null(ch);
    recv_channel_feed(ch, f.s[0].data, f.s[0].len, &err);
    recv_fx_expect_err(&err, RECV_ERR_DEVSTATE_SIZE, "multifd 3", 272);
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

static bool dev_refuse(void *opaque, uint8_t id, const WireDevStatePacket *p,
                       const uint8_t *data, size_t len, MfError *err)
{
    (void)opaque;
    (void)id;
    (void)p;
    (void)data;
    (void)len;
    (void)err;
    return false;
}

/* A handler's refusal, and a malformed device-state header. */
static void t_devstate_errors(void **state)
{
    Fx f;
    WireDevStatePacket d = { WIRE_FLAG_DEVICE_STATE, "vfio", 1, 8 };
    uint8_t buf[WIRE_DEVSTATE_HDR_SIZE], payload[8] = { 0 };
    RecvChannelConfig cfg = { 0 };
    MfError err = { 0 };
    RecvChannel *ch;

    (void)state;
    fx_init(&f, false);
    wire_devstate_encode(&d, buf);
    sup_buf_append(&f.s[0], buf, sizeof(buf));
    sup_buf_append(&f.s[0], payload, sizeof(payload));
    cfg.id = 2;
    cfg.page_size = PS;
    cfg.ram = &f.t;
    cfg.base_offset = BASE;
    cfg.devstate = dev_refuse;
    ch = recv_channel_new(&cfg, &err);
    assert_non_null(ch);
    recv_channel_feed(ch, f.s[0].data, f.s[0].len, &err);
    recv_fx_expect_err(&err, RECV_ERR_DEVICE_STATE, "multifd 2", BASE);
    assert_non_null(strstr(err.msg, "vfio"));
    recv_channel_free(ch);
    /* SYNC on a device-state packet: the wire rule, located. */
    sup_buf_truncate(&f.s[0], 0);
    d.flags |= WIRE_FLAG_SYNC;
    wire_devstate_encode(&d, buf);
    sup_buf_append(&f.s[0], buf, sizeof(buf));
    ch = recv_channel_new(&cfg, &err);
    assert_non_null(ch);
    mf_error_clear(&err);
    recv_channel_feed(ch, f.s[0].data, f.s[0].len, &err);
    assert_int_equal(err.code, WIRE_ERR_DEVSTATE_SYNC);
    assert_string_equal(err.where, "multifd 2");
    assert_true(err.offset >= BASE && err.offset < BASE + sizeof(buf));
    recv_channel_free(ch);
    /* End of stream inside a device-state header and payload. */
    sup_buf_truncate(&f.s[0], 0);
    d.flags = WIRE_FLAG_DEVICE_STATE;
    wire_devstate_encode(&d, buf);
    sup_buf_append(&f.s[0], buf, sizeof(buf));
    sup_buf_append(&f.s[0], payload, 3);
    cfg.devstate = dev_handler;
    ch = recv_channel_new(&cfg, &err);
    assert_non_null(ch);
    mf_error_clear(&err);
    assert_int_equal(recv_channel_feed(ch, f.s[0].data, 100, &err), 100);
    assert_false(recv_channel_eof(ch, &err));
    recv_fx_expect_err(&err, RECV_ERR_EOF, "multifd 2", BASE + 100);
    assert_non_null(strstr(err.msg, "device-state header"));
    recv_channel_free(ch);
    ch = recv_channel_new(&cfg, &err);
    assert_non_null(ch);
    mf_error_clear(&err);
    assert_int_equal(recv_channel_feed(ch, f.s[0].data, f.s[0].len, &err),
                     f.s[0].len);
    assert_false(recv_channel_eof(ch, &err));
    recv_fx_expect_err(&err, RECV_ERR_EOF, "multifd 2", BASE + f.s[0].len);
    assert_non_null(strstr(err.msg, "device-state payload"));
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

/* End of stream inside a compressed payload; a failed machine stays so. */
static void t_eof_compressed(void **state)
{
    Fx f;
    RecvChannel *ch;
    MfError err = { 0 };
    QemuCompressor *qc;
    size_t cut;

    (void)state;
    if (!codec_supported(WIRE_COMP_ZLIB)) {
        return;
    }
    fx_init(&f, false);
    qc = qemu_compressor_new(WIRE_COMP_ZLIB, PS, 1);
    assert_non_null(qc);
    rg_packet(&f.s[0], qc, WIRE_COMP_ZLIB, PS, 0, "pc.ram", f.src, OFFS, 4, 0,
              1);
    cut = wire_packet_size(PS) + 10;
    ch = fx_channel(&f, 6, WIRE_COMP_ZLIB);
    assert_int_equal(recv_channel_feed(ch, f.s[0].data, cut, &err), cut);
    assert_false(recv_channel_eof(ch, &err));
    recv_fx_expect_err(&err, RECV_ERR_EOF, "multifd 6", BASE + cut);
    assert_non_null(strstr(err.msg, "compressed payload"));
    mf_error_clear(&err);
    assert_false(recv_channel_advance(ch, 1, &err));
    recv_fx_expect_err(&err, RECV_ERR_EOF, "multifd 6", BASE + cut);
    mf_error_clear(&err);
    assert_false(recv_channel_eof(ch, &err));
    recv_fx_expect_err(&err, RECV_ERR_EOF, "multifd 6", BASE + cut);
    assert_int_equal(recv_channel_next_iov(ch, NULL, 0), 0);
    qemu_compressor_free(qc);
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

/*
 * Every packet's 12-byte common header is decoded after exactly 12 bytes,
 * not only the first one's: 12 bytes into the second packet the machine
 * wants the rest of the RAM header, and an end of stream there is inside
 * the RAM packet header, 12 of 1344 bytes.
 */
static void t_second_packet_header(void **state)
{
    Fx f;
    RecvChannel *ch;
    MfError err = { 0 };
    struct iovec iov[4];
    size_t first, cut;
    char line[256];

    (void)state;
    fx_init(&f, false);
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, OFFS, 1, 0,
              1);
    first = f.s[0].len;
    assert_int_equal(first, 1344 + 4096);
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, OFFS + 1,
              1, 0, 2);
    cut = first + 12;
    ch = fx_channel(&f, 5, WIRE_COMP_NONE);
    assert_int_equal(recv_channel_feed(ch, f.s[0].data, cut, &err), cut);
    assert_int_equal(err.code, MF_OK);
    assert_int_equal(recv_channel_next_iov(ch, iov, 4), 1);
    assert_int_equal(iov[0].iov_len, 1344 - 12);
    assert_false(recv_channel_eof(ch, &err));
    recv_fx_expect_err(&err, RECV_ERR_EOF, "multifd 5", BASE + cut);
    mf_error_format(&err, line, sizeof(line));
    assert_string_equal(line, "multifd 5: offset 5516: end of stream inside "
                              "the RAM packet header (12 of 1344 bytes, "
                              "packet at offset 5504)");
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

/*
 * A compressed payload is next_packet_size bytes, however small: after
 * the header of a zlib packet announcing 1 byte (and one announcing 2)
 * the machine wants exactly that many.
 */
static void t_tiny_compressed_payload(void **state)
{
    uint32_t size;

    (void)state;
    for (size = 1; size <= 2; size++) {
        Fx f;
        RecvChannel *ch;
        MfError err = { 0 };
        struct iovec iov[4];
        size_t len;

        fx_init(&f, false);
        rg_header(&f.s[0], PS, WIRE_COMP_ZLIB, "pc.ram", OFFS, 1, 0, size, 1);
        len = f.s[0].len;
        assert_int_equal(len, 1344);
        ch = fx_channel(&f, 3, WIRE_COMP_ZLIB);
        assert_int_equal(recv_channel_feed(ch, f.s[0].data, len, &err), len);
        assert_int_equal(err.code, MF_OK);
        assert_int_equal(recv_channel_status(ch), RECV_CH_RUNNING);
        assert_int_equal(recv_channel_next_iov(ch, iov, 4), 1);
        assert_int_equal(iov[0].iov_len, size);
        recv_channel_free(ch);
        recv_fx_destroy(&f);
    }
}

/* End of stream: between packets clean, elsewhere at the exact byte. */
static void t_eof(void **state)
{
    Fx f;
    size_t len,
        cut[] = { 0,   1,    5,    11,   12,          13,
                  700, 1343, 1344, 1345, 1344 + 4096, 1344 + 3 * 4096 - 1 };
    size_t k;

    (void)state;
    fx_init(&f, false);
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, OFFS, 3, 0,
              1);
    len = f.s[0].len;
    assert_int_equal(len, 1344 + 3 * 4096);
    for (k = 0; k < sizeof(cut) / sizeof(cut[0]); k++) {
        RecvChannel *ch = fx_channel(&f, 5, WIRE_COMP_NONE);
        MfError err = { 0 };

        assert_int_equal(recv_channel_feed(ch, f.s[0].data, cut[k], &err),
                         cut[k]);
        if (cut[k] == 0) {
            assert_true(recv_channel_eof(ch, &err));
            assert_int_equal(recv_channel_status(ch), RECV_CH_DONE);
        } else {
            assert_false(recv_channel_eof(ch, &err));
            recv_fx_expect_err(&err, RECV_ERR_EOF, "multifd 5", BASE + cut[k]);
        }
        recv_channel_free(ch);
    }
    {
        RecvChannel *ch = fx_channel(&f, 5, WIRE_COMP_NONE);
        MfError err = { 0 };
        char line[256];

        recv_channel_feed(ch, f.s[0].data, 700, &err);
        assert_false(recv_channel_eof(ch, &err));
        mf_error_format(&err, line, sizeof(line));
        assert_string_equal(line, "multifd 5: offset 764: end of stream inside "
                                  "the RAM packet header (700 of 1344 bytes, "
                                  "packet at offset 64)");
        recv_channel_free(ch);
    }
    recv_fx_destroy(&f);
}

static void t_err_failed_over(void **state)
{
    Fx f;

    (void)state;
    fx_init(&f, true);
    colo_failover(&f.colo);
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, OFFS, 1, 0,
              1);
    expect_feed_error(&f, WIRE_COMP_NONE, COLO_ERR_PHASE, BASE);
    recv_fx_destroy(&f);
}

/* A block without a COLO cache (QEMU asserts): refused, nothing written. */
static void t_err_no_cache(void **state)
{
    Fx f;
    uint8_t *cache;

    (void)state;
    fx_init(&f, true);
    cache = f.b->colo_cache;
    f.b->colo_cache = NULL;
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, "pc.ram", f.src, OFFS, 1, 0,
              1);
    expect_feed_error(&f, WIRE_COMP_NONE, COLO_ERR_NO_CACHE, BASE + 64);
    f.b->colo_cache = cache;
    assert_false(ram_block_is_received(f.b, 0));
    recv_fx_destroy(&f);
}

static void t_err_advance_state(void **state)
{
    Fx f;
    RecvChannel *ch;
    MfError err = { 0 };

    (void)state;
    fx_init(&f, false);
    ch = fx_channel(&f, 4, WIRE_COMP_NONE);
    assert_false(recv_channel_advance(ch, 13, &err));
    recv_fx_expect_err(&err, RECV_ERR_STATE, "multifd 4", BASE);
    recv_channel_free(ch);
    ch = fx_channel(&f, 4, WIRE_COMP_NONE);
    mf_error_clear(&err);
    assert_true(recv_channel_eof(ch, &err));
    assert_false(recv_channel_eof(ch, &err));
    assert_int_equal(err.code, RECV_ERR_STATE);
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

/*
 * recv_channel_fail() without a reason: the machine stops without an
 * error of its own, and no later call makes one up (advance and eof
 * return false, leaving @err unset); a later reason becomes its error.
 */
static void t_fail_without_reason(void **state)
{
    Fx f;
    RecvChannel *ch;
    MfError err = { 0 }, why = { 0 };
    struct iovec iov[1];

    (void)state;
    fx_init(&f, false);
    ch = fx_channel(&f, 4, WIRE_COMP_NONE);
    recv_channel_fail(ch, NULL);
    assert_int_equal(recv_channel_status(ch), RECV_CH_FAILED);
    assert_false(recv_channel_eof(ch, &err));
    assert_int_equal(err.code, MF_OK);
    assert_int_equal(recv_channel_error(ch)->code, MF_OK);
    assert_false(recv_channel_advance(ch, 1, &err));
    assert_int_equal(err.code, MF_OK);
    assert_int_equal(recv_channel_error(ch)->code, MF_OK);
    assert_int_equal(recv_channel_next_iov(ch, iov, 1), 0);
    mf_error_set(&why, RECV_ERR_CANCELLED, 0, "stopped by the test");
    mf_error_locate(&why, "multifd 4", BASE + 7);
    recv_channel_fail(ch, &why);
    assert_false(recv_channel_eof(ch, &err));
    recv_fx_expect_err(&err, RECV_ERR_CANCELLED, "multifd 4", BASE + 7);
    assert_string_equal(err.msg, "stopped by the test");
    assert_int_equal(recv_channel_status(ch), RECV_CH_FAILED);
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

static void t_bad_config(void **state)
{
    Fx f;
    RecvChannelConfig cfg = { 0 };
    MfError err = { 0 };

    (void)state;
    fx_init(&f, false);
    cfg.page_size = 1000;
    cfg.ram = &f.t;
    assert_null(recv_channel_new(&cfg, &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    cfg.page_size = 8192; /* table has 4096 */
    mf_error_clear(&err);
    assert_null(recv_channel_new(&cfg, &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    cfg.page_size = PS;
    cfg.compression = WIRE_COMP_QPL;
    mf_error_clear(&err);
    assert_null(recv_channel_new(&cfg, &err));
    assert_int_equal(err.code, CODEC_ERR_UNSUPPORTED);
    recv_fx_destroy(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_raw_whole),
        cmocka_unit_test(t_raw_fragmented),
        cmocka_unit_test(t_iov_zero_copy),
        cmocka_unit_test(t_colo_phase),
        cmocka_unit_test(t_sync),
        cmocka_unit_test(t_stale_empty_packet),
        cmocka_unit_test(t_zero_page_rule),
        cmocka_unit_test(t_zstd),
        cmocka_unit_test(t_zlib),
        cmocka_unit_test(t_err_packet_magic),
        cmocka_unit_test(t_err_packet_version),
        cmocka_unit_test(t_err_pages_alloc),
        cmocka_unit_test(t_err_unknown_block),
        cmocka_unit_test(t_err_offset_range),
        cmocka_unit_test(t_err_offset_unaligned),
        cmocka_unit_test(t_err_block_too_small),
        cmocka_unit_test(t_err_validate_before_touch),
        cmocka_unit_test(t_err_compression_mismatch),
        cmocka_unit_test(t_err_next_size_bound),
        cmocka_unit_test(t_err_unexpected_payload),
        cmocka_unit_test(t_err_decompress),
        cmocka_unit_test(t_err_device_state),
        cmocka_unit_test(t_devstate_handler),
        cmocka_unit_test(t_eof),
        cmocka_unit_test(t_devstate_errors),
        cmocka_unit_test(t_eof_compressed),
        cmocka_unit_test(t_err_failed_over),
        cmocka_unit_test(t_err_no_cache),
        cmocka_unit_test(t_err_advance_state),
        cmocka_unit_test(t_fail_without_reason),
        cmocka_unit_test(t_second_packet_header),
        cmocka_unit_test(t_tiny_compressed_payload),
        cmocka_unit_test(t_bad_config),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
