/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bounds seen from a multifd channel (core/recv/channel.c over wire and
 * codec), the second guard of checks the lower layers' own unit tests
 * make (docs/verification.md, "Second guards"):
 *
 * - decompressed output shorter than normal_pages x page_size, zstd and
 *   zlib: CODEC_ERR_SIZE on the channel, at the end of the payload, with
 *   the byte counts (the codec's own test: codec/codec-stream);
 * - a compressed payload of exactly codec_max_payload() (1 MiB) is read
 *   and decoded, one byte more is refused at next_packet_size;
 * - a device-state payload of exactly RECV_DEVSTATE_MAX_PAYLOAD reaches
 *   the handler, one byte more is refused; an idstr of 255 characters
 *   too, 256 without a NUL is refused;
 * - pages_alloc, normal_pages and zero_pages at their limits pass, one
 *   more is refused with the field's own code and offset;
 * - a RAM block name of 255 bytes receives pages, 256 without a NUL is
 *   refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/be.h"
#include "codec/codec.h"
#include "codec/errors.h"
#include "recv/channel.h"
#include "recv/errors.h"
#include "wire/errors.h"

#include "recv-fx.h"
#include "recv-gen.h"

#define PS RECV_FX_PAGE
#define NPAGES 256u
#define BASE 64u   /* stream offset after the handshake */
#define PKT 1344u  /* RAM packet header of 4 KiB pages */
#define COUNT 128u /* pages a packet can carry */

static const WireCompression methods[2] = { WIRE_COMP_ZSTD, WIRE_COMP_ZLIB };

static void fx_init(RecvFx *f)
{
    const RecvFxSpec spec = { NPAGES, 7, false, false };

    recv_fx_init(f, &spec);
}

static RecvChannel *fx_channel(RecvFx *f, WireCompression comp)
{
    RecvChannelConfig cfg = { 0 };
    MfError err = { 0 };
    RecvChannel *ch;

    cfg.id = 3;
    cfg.page_size = PS;
    cfg.compression = comp;
    cfg.ram = &f->t;
    cfg.base_offset = BASE;
    ch = recv_channel_new(&cfg, &err);
    assert_non_null(ch);
    return ch;
}

/* Feed all of s[0]; the error (cleared first) in @err. */
static size_t feed_all(RecvChannel *ch, RecvFx *f, MfError *err)
{
    mf_error_clear(err);
    return recv_channel_feed(ch, f->s[0].data, f->s[0].len, err);
}

static const char *method_name(WireCompression m)
{
    return m == WIRE_COMP_ZSTD ? "zstd" : "zlib";
}

static void page_list(RecvFx *f, uint64_t *off, const uint8_t **pages,
                      uint32_t n)
{
    uint32_t i;

    for (i = 0; i < n; i++) {
        off[i] = (uint64_t)i * PS;
        pages[i] = f->src + off[i];
    }
}

/* ---- decompressed output shorter than normal_pages x page_size ---- */

/*
 * A good packet of 2 pages, then one announcing 4 normal pages whose
 * payload holds 3: refused at the end of that payload.
 */
static void t_short_output(void **state)
{
    size_t k;

    (void)state;
    for (k = 0; k < 2; k++) {
        WireCompression m = methods[k];
        uint64_t off[4];
        const uint8_t *pages[4];
        QemuCompressor *qc = qemu_compressor_new(m, PS, 1);
        const uint8_t *pl;
        RecvChannel *ch;
        MfError err;
        RecvFx f;
        size_t at, len;
        char want[200];

        assert_non_null(qc);
        fx_init(&f);
        page_list(&f, off, pages, 4);
        rg_packet(&f.s[0], qc, m, PS, 0, "pc.ram", f.src, off, 2, 0, 1);
        pl = qemu_compressor_packet(qc, pages, 3, &len);
        assert_non_null(pl);
        at = rg_header(&f.s[0], PS, m, "pc.ram", off, 4, 0, (uint32_t)len, 2);
        sup_buf_append(&f.s[0], pl, len);
        ch = fx_channel(&f, m);
        feed_all(ch, &f, &err);
        recv_fx_expect_err(&err, CODEC_ERR_SIZE, "multifd 3",
                           BASE + at + PKT + len);
        assert_string_equal(err.code_name, "CODEC_ERR_SIZE");
        snprintf(want, sizeof(want),
                 "%s payload of %zu bytes gave 12288 bytes, expected 4 "
                 "pages x 4096 = 16384",
                 method_name(m), len);
        assert_string_equal(err.msg, want);
        assert_int_equal(recv_channel_status(ch), RECV_CH_FAILED);
        recv_channel_free(ch);
        recv_fx_destroy(&f);
        qemu_compressor_free(qc);
    }
}

/*
 * A payload that decodes to nothing at all (one empty block after a
 * good packet: zstd's empty raw block, zlib's empty stored block) for
 * one normal page.
 */
static void t_empty_output(void **state)
{
    static const uint8_t empty_zstd[3] = { 0, 0, 0 };
    static const uint8_t empty_zlib[5] = { 0, 0, 0, 0xff, 0xff };
    size_t k;

    (void)state;
    for (k = 0; k < 2; k++) {
        WireCompression m = methods[k];
        const uint8_t *e = k == 0 ? empty_zstd : empty_zlib;
        size_t elen = k == 0 ? sizeof(empty_zstd) : sizeof(empty_zlib);
        QemuCompressor *qc = qemu_compressor_new(m, PS, 1);
        uint64_t off[1] = { 0 };
        RecvChannel *ch;
        MfError err;
        RecvFx f;
        size_t at;
        char want[200];

        assert_non_null(qc);
        fx_init(&f);
        rg_packet(&f.s[0], qc, m, PS, 0, "pc.ram", f.src, off, 1, 0, 1);
        at = rg_header(&f.s[0], PS, m, "pc.ram", off, 1, 0, (uint32_t)elen, 2);
        sup_buf_append(&f.s[0], e, elen);
        ch = fx_channel(&f, m);
        feed_all(ch, &f, &err);
        recv_fx_expect_err(&err, CODEC_ERR_SIZE, "multifd 3",
                           BASE + at + PKT + elen);
        snprintf(want, sizeof(want),
                 "%s payload of %zu bytes gave 0 bytes, expected 1 pages "
                 "x 4096 = 4096",
                 method_name(m), elen);
        assert_string_equal(err.msg, want);
        recv_channel_free(ch);
        recv_fx_destroy(&f);
        qemu_compressor_free(qc);
    }
}

/* ---- the compressed payload bound ---- */

/*
 * Exactly codec_max_payload() bytes: the first n pages of pc.ram
 * compressed, then empty blocks up to the bound (zstd: 3-byte raw
 * blocks, zlib: 5-byte stored blocks; both decode to nothing and leave
 * the stream where the sender's flush left it).  n is the largest page
 * count whose payload leaves room for a whole number of empty blocks.
 */
static void t_payload_at_bound(void **state)
{
    static const uint8_t empty_zstd[3] = { 0, 0, 0 };
    static const uint8_t empty_zlib[5] = { 0, 0, 0, 0xff, 0xff };
    size_t k;

    (void)state;
    assert_int_equal(codec_max_payload(), 1048576);
    for (k = 0; k < 2; k++) {
        WireCompression m = methods[k];
        const uint8_t *e = k == 0 ? empty_zstd : empty_zlib;
        size_t elen = k == 0 ? sizeof(empty_zstd) : sizeof(empty_zlib);
        uint64_t off[COUNT];
        const uint8_t *pages[COUNT];
        QemuCompressor *qc = NULL;
        const uint8_t *pl = NULL;
        RecvChannelStats st;
        RecvChannel *ch;
        MfError err;
        RecvFx f;
        size_t len = 0, at, i;
        uint32_t n;

        fx_init(&f);
        page_list(&f, off, pages, COUNT);
        for (n = COUNT; n > 0; n--) {
            qemu_compressor_free(qc);
            qc = qemu_compressor_new(m, PS, 1);
            assert_non_null(qc);
            pl = qemu_compressor_packet(qc, pages, n, &len);
            assert_non_null(pl);
            if ((codec_max_payload() - len) % elen == 0) {
                break;
            }
        }
        assert_true(n > COUNT - 8);
        assert_true(len > (size_t)n * PS); /* incompressible pages */
        at = rg_header(&f.s[0], PS, m, "pc.ram", off, n, 0,
                       (uint32_t)codec_max_payload(), 1);
        sup_buf_append(&f.s[0], pl, len);
        for (i = len; i < codec_max_payload(); i += elen) {
            sup_buf_append(&f.s[0], e, elen);
        }
        assert_int_equal(f.s[0].len - at - PKT, codec_max_payload());
        ch = fx_channel(&f, m);
        assert_int_equal(feed_all(ch, &f, &err), f.s[0].len);
        if (mf_error_is_set(&err)) {
            fail_msg("%s at the bound: %s", method_name(m), err.msg);
        }
        assert_memory_equal(f.b->host, f.src, (size_t)n * PS);
        recv_channel_stats(ch, &st);
        assert_int_equal(st.normal_pages, n);
        assert_true(recv_channel_eof(ch, &err));
        recv_channel_free(ch);

        /* one byte more: refused at next_packet_size, nothing read */
        mf_be32_store(f.s[0].data + at + 20, (uint32_t)codec_max_payload() + 1);
        sup_buf_put_u8(&f.s[0], 0);
        ch = fx_channel(&f, m);
        feed_all(ch, &f, &err);
        recv_fx_expect_err(&err, CODEC_ERR_PAYLOAD_SIZE, "multifd 3",
                           BASE + at + 20);
        assert_string_equal(err.msg, "next_packet_size 1048577 exceeds the "
                                     "limit 1048576 (2 x 524288)");
        recv_channel_free(ch);
        recv_fx_destroy(&f);
        qemu_compressor_free(qc);
    }
}

/* ---- the device-state payload bound ---- */

typedef struct DevSeen {
    int calls;
    size_t len;
    size_t idstr_len;
} DevSeen;

static bool dev_count(void *opaque, uint8_t id, const WireDevStatePacket *p,
                      const uint8_t *data, size_t len, MfError *err)
{
    DevSeen *seen = opaque;

    (void)id;
    (void)err;
    assert_int_equal(data[len - 1], 0x6b);
    seen->calls++;
    seen->len = len;
    seen->idstr_len = strlen(p->idstr);
    return true;
}

static void t_devstate_at_bound(void **state)
{
    WireDevStatePacket d = { WIRE_FLAG_DEVICE_STATE, "vfio", 0,
                             RECV_DEVSTATE_MAX_PAYLOAD };
    uint8_t hdr[WIRE_DEVSTATE_HDR_SIZE];
    RecvChannelConfig cfg = { 0 };
    DevSeen seen = { 0 };
    RecvChannel *ch;
    MfError err;
    RecvFx f;
    uint8_t *p;

    (void)state;
    assert_int_equal(RECV_DEVSTATE_MAX_PAYLOAD, 16777216);
    fx_init(&f);
    cfg.id = 2;
    cfg.page_size = PS;
    cfg.ram = &f.t;
    cfg.base_offset = BASE;
    cfg.devstate = dev_count;
    cfg.devstate_opaque = &seen;
    wire_devstate_encode(&d, hdr);
    sup_buf_append(&f.s[0], hdr, sizeof(hdr));
    p = sup_buf_grow(&f.s[0], RECV_DEVSTATE_MAX_PAYLOAD);
    memset(p, 0x6b, RECV_DEVSTATE_MAX_PAYLOAD);
    ch = recv_channel_new(&cfg, &err);
    assert_non_null(ch);
    assert_int_equal(feed_all(ch, &f, &err), f.s[0].len);
    assert_false(mf_error_is_set(&err));
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.len, RECV_DEVSTATE_MAX_PAYLOAD);
    recv_channel_free(ch);

    /* one byte more: refused at next_packet_size (the header's last 4) */
    d.next_packet_size = RECV_DEVSTATE_MAX_PAYLOAD + 1;
    wire_devstate_encode(&d, f.s[0].data);
    sup_buf_put_u8(&f.s[0], 0x6b);
    ch = recv_channel_new(&cfg, &err);
    assert_non_null(ch);
    feed_all(ch, &f, &err);
    recv_fx_expect_err(&err, RECV_ERR_DEVSTATE_SIZE, "multifd 2",
                       BASE + WIRE_DEVSTATE_HDR_SIZE - 4);
    assert_string_equal(err.msg, "device-state next_packet_size 16777217 "
                                 "above the limit 16777216");
    assert_int_equal(seen.calls, 1);
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

/*
 * A device-state idstr of 255 characters reaches the handler; one that
 * fills all 256 bytes (no NUL) is refused at its last byte.
 */
static void t_devstate_idstr_at_bound(void **state)
{
    WireDevStatePacket d = { WIRE_FLAG_DEVICE_STATE, "", 0, 1 };
    uint8_t hdr[WIRE_DEVSTATE_HDR_SIZE];
    RecvChannelConfig cfg = { 0 };
    DevSeen seen = { 0 };
    RecvChannel *ch;
    MfError err;
    RecvFx f;

    (void)state;
    fx_init(&f);
    cfg.id = 2;
    cfg.page_size = PS;
    cfg.ram = &f.t;
    cfg.base_offset = BASE;
    cfg.devstate = dev_count;
    cfg.devstate_opaque = &seen;
    memset(d.idstr, 'v', 255);
    wire_devstate_encode(&d, hdr);
    sup_buf_append(&f.s[0], hdr, sizeof(hdr));
    sup_buf_put_u8(&f.s[0], 0x6b);
    ch = recv_channel_new(&cfg, &err);
    assert_non_null(ch);
    assert_int_equal(feed_all(ch, &f, &err), f.s[0].len);
    assert_false(mf_error_is_set(&err));
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.idstr_len, 255);
    recv_channel_free(ch);

    assert_int_equal(f.s[0].data[12 + 255], 0);
    f.s[0].data[12 + 255] = 'v';
    ch = recv_channel_new(&cfg, &err);
    assert_non_null(ch);
    feed_all(ch, &f, &err);
    recv_fx_expect_err(&err, WIRE_ERR_DEVSTATE_IDSTR, "multifd 2",
                       BASE + 12 + 255);
    assert_int_equal(seen.calls, 1);
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

/* ---- page counts of a RAM packet ---- */

/*
 * Raw packets: pages_alloc, normal_pages, zero_pages at their limits are
 * placed; one more of each is refused with its field's code and offset.
 */
static void t_page_counts_at_bound(void **state)
{
    static const struct {
        uint32_t pages_alloc, normal, zero;
        int code;       /* 0: accepted */
        uint32_t field; /* offset of the field in the packet */
    } cases[] = {
        { COUNT, COUNT, 0, 0, 0 },
        { COUNT, 100, 28, 0, 0 },
        { COUNT, 0, COUNT, 0, 0 },
        { COUNT + 1, 1, 0, WIRE_ERR_PACKET_PAGES_ALLOC, 12 },
        { COUNT, COUNT + 1, 0, WIRE_ERR_PACKET_NORMAL_PAGES, 16 },
        { COUNT, 100, 29, WIRE_ERR_PACKET_ZERO_PAGES, 32 },
        { COUNT, 0, COUNT + 1, WIRE_ERR_PACKET_ZERO_PAGES, 32 },
    };
    size_t k;

    (void)state;
    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        uint64_t off[COUNT];
        const uint8_t *pages[COUNT];
        uint32_t n = cases[k].normal, z = cases[k].zero, i;
        RecvChannelStats st;
        RecvChannel *ch;
        MfError err;
        RecvFx f;
        size_t at;

        fx_init(&f);
        page_list(&f, off, pages, COUNT);
        /* all COUNT offsets (pages 0..127 in order), then the counts */
        at = rg_header(&f.s[0], PS, 0, "pc.ram", off, COUNT, 0, 0, 1);
        mf_be32_store(f.s[0].data + at + 12, cases[k].pages_alloc);
        mf_be32_store(f.s[0].data + at + 16, n);
        mf_be32_store(f.s[0].data + at + 32, z);
        for (i = 0; i < n && i < COUNT; i++) {
            sup_buf_append(&f.s[0], pages[i], PS);
        }
        ch = fx_channel(&f, WIRE_COMP_NONE);
        feed_all(ch, &f, &err);
        if (cases[k].code) {
            recv_fx_expect_err(&err, cases[k].code, "multifd 3",
                               BASE + at + cases[k].field);
        } else {
            if (mf_error_is_set(&err)) {
                fail_msg("case %zu: %s", k, err.msg);
            }
            recv_channel_stats(ch, &st);
            assert_int_equal(st.normal_pages, n);
            assert_int_equal(st.zero_pages, z);
            assert_memory_equal(f.b->host, f.src, (size_t)n * PS);
            assert_true(recv_channel_eof(ch, &err));
        }
        recv_channel_free(ch);
        recv_fx_destroy(&f);
    }
}

/* ---- the RAM block name ---- */

/*
 * A block whose name is 255 bytes (the table's limit, the packet's 256
 * bytes with the NUL) receives pages; a name filling all 256 bytes
 * without a NUL is refused at its last byte.
 */
static void t_block_name_at_bound(void **state)
{
    char name[WIRE_RAMBLOCK_NAME_SIZE];
    uint64_t off[1] = { PS };
    RecvChannel *ch;
    RamBlock *b;
    MfError err = { 0 };
    RecvFx f;
    size_t at;

    (void)state;
    assert_int_equal(WIRE_RAMBLOCK_NAME_SIZE, 256);
    memset(name, 'q', 255);
    name[255] = '\0';
    fx_init(&f);
    b = ram_table_add(&f.t, name, 4 * PS, NULL, &err);
    assert_non_null(b);
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, name, f.src, off, 1, 0, 1);
    ch = fx_channel(&f, WIRE_COMP_NONE);
    assert_int_equal(feed_all(ch, &f, &err), f.s[0].len);
    assert_false(mf_error_is_set(&err));
    assert_memory_equal(b->host + PS, f.src + PS, PS);
    recv_channel_free(ch);

    /* the NUL replaced: 256 name bytes */
    at = f.s[0].len;
    rg_packet(&f.s[0], NULL, WIRE_COMP_NONE, PS, 0, name, f.src, off, 1, 0, 2);
    assert_int_equal(f.s[0].data[at + 64 + 255], 0);
    f.s[0].data[at + 64 + 255] = 'q';
    ch = fx_channel(&f, WIRE_COMP_NONE);
    feed_all(ch, &f, &err);
    recv_fx_expect_err(&err, WIRE_ERR_PACKET_BLOCK_NAME, "multifd 3",
                       BASE + at + 64 + 255);
    recv_channel_free(ch);
    recv_fx_destroy(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_short_output),
        cmocka_unit_test(t_empty_output),
        cmocka_unit_test(t_payload_at_bound),
        cmocka_unit_test(t_devstate_at_bound),
        cmocka_unit_test(t_devstate_idstr_at_bound),
        cmocka_unit_test(t_page_counts_at_bound),
        cmocka_unit_test(t_block_name_at_bound),
    };

    if (!codec_supported(WIRE_COMP_ZSTD) || !codec_supported(WIRE_COMP_ZLIB)) {
        fprintf(stderr, "zstd and zlib must be built in\n");
        return 1;
    }
    return cmocka_run_group_tests_name("recv/channel-bounds", tests, NULL,
                                       NULL);
}
