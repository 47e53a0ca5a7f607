/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Harness: one multifd packet header, RAM or device state, decoded and
 * then validated against a small RAM table and a codec, as the receive
 * engine does before it touches memory.
 *
 * Input: byte 0 picks the page size (4 KiB most of the time) and the
 * configured compression; the rest is the packet.
 *
 * Oracles: an accepted RAM packet respects every count limit and names a
 * NUL-terminated block; the RAM table accepts an offset exactly when it
 * is aligned and its page lies inside the block, and the first refused
 * offset of a packet carries a RAM error code and a message; a packet
 * accepted by the codec announces a payload within the bound;
 * decode(encode(decoded)) gives the same fields.
 *
 * Speed: the RAM tables, codecs and packet buffers are made once per page
 * size and kept (each is only read, or rewritten in full, per input; see
 * below), and ASan's quarantine is 4 MiB (fuzz-pool.c).
 *
 * Target functions: wire_packet_hdr_decode wire_packet_decode
 * wire_devstate_decode ram_block_check_offset codec_check_packet
 */
#include "fuzz.h"

#include "codec/codec.h"
#include "ram/errors.h"
#include "ram/ram.h"
#include "wire/errors.h"
#include "wire/multifd.h"

static const uint32_t page_sizes[4] = { 4096, 4096, 65536, 512 };
static const WireCompression methods[4] = {
    WIRE_COMP_NONE,
    WIRE_COMP_ZSTD,
    WIRE_COMP_ZLIB,
    WIRE_COMP_NONE,
};

/*
 * Guest memory of the 16-page block.  ram_block_check_offset() never
 * reads or writes it, so one zero buffer serves every input (a fresh
 * allocation of up to 1 MiB per input, mapped and poisoned anew under
 * ASan, cost more than everything else the harness does).
 */
static uint8_t block_host[16 * 65536];

/*
 * Per page size, kept between inputs (each is a function of the page
 * size alone, and nothing an input does can change it, so a kept one
 * answers exactly as a new one would):
 *  - the RAM table with its two blocks: ram_table_find() and
 *    ram_block_check_offset() only read it;
 *  - the zero-padded copy of the packet and the buffer it is re-encoded
 *    into, each malloc'ed at exactly wire_packet_size() bytes so ASan
 *    still catches a read past the end; the first is rewritten in full
 *    (input bytes, then zeros) and the second by wire_packet_encode()
 *    (every byte) for each input.
 * Building these per input (a dozen allocations, each a fresh chunk
 * under ASan's quarantine) cost more than the checks themselves.
 */
typedef struct PageSizeState {
    bool ready;
    bool have_table;
    RamTable table;
    uint8_t *packet;
    uint8_t *again;
} PageSizeState;

static PageSizeState ps_state[4];

static PageSizeState *get_state(unsigned ps_idx)
{
    PageSizeState *s = &ps_state[ps_idx];
    uint32_t page_size = page_sizes[ps_idx];
    size_t len = wire_packet_size(page_size);
    MfError err;

    if (s->ready) {
        return s->packet && s->again ? s : NULL;
    }
    s->ready = true;
    s->packet = malloc(len);
    s->again = malloc(len);
    mf_error_clear(&err);
    if (!ram_table_init(&s->table, page_size, &err)) {
        return s->packet && s->again ? s : NULL;
    }
    /* Two blocks: one of 16 pages, one shorter than a page. */
    s->have_table = ram_table_add(&s->table, "pc.ram", 16ULL * page_size,
                                  block_host, &err) &&
                    ram_table_add(&s->table, "tiny", page_size - 1, NULL, &err);
    return s->packet && s->again ? s : NULL;
}

/*
 * One codec per (page size, method), created on first use and kept:
 * codec_check_packet() and codec_payload_len() only read it (no
 * decompression happens here), so a kept codec answers exactly as a new
 * one would.  Creating a zstd decoder per input dominated the run time.
 */
static Codec *codec_cache[4][4];

static Codec *get_codec(unsigned ps_idx, unsigned m_idx)
{
    MfError err;

    if (!codec_cache[ps_idx][m_idx]) {
        mf_error_clear(&err);
        codec_cache[ps_idx][m_idx] =
            codec_new(methods[m_idx], page_sizes[ps_idx], &err);
    }
    return codec_cache[ps_idx][m_idx];
}

static void check_ram_packet(PageSizeState *s, unsigned ps_idx, unsigned m_idx)
{
    uint32_t page_size = page_sizes[ps_idx];
    uint32_t page_count = wire_page_count(page_size);
    size_t len = wire_packet_size(page_size);
    uint64_t offsets[WIRE_MULTIFD_PACKET_BYTES / 512];
    uint64_t offsets2[WIRE_MULTIFD_PACKET_BYTES / 512];
    const uint8_t *buf = s->packet;
    uint8_t *again = s->again;
    WirePacket pkt = { .offsets = offsets };
    WirePacket pkt2 = { .offsets = offsets2 };
    RamBlock *block;
    Codec *codec;
    MfError err;
    uint32_t i;
    bool refused;

    mf_error_clear(&err);
    if (!wire_packet_decode(buf, page_size, &pkt, &err)) {
        FUZZ_CHECK(err.code > MF_ERR_WIRE_RANGE && err.code < MF_ERR_CHAN_RANGE,
                   "code %d", err.code);
        FUZZ_CHECK(err.offset < len, "offset %llu outside the packet",
                   (unsigned long long)err.offset);
        return;
    }
    FUZZ_CHECK(pkt.pages_alloc <= page_count, "pages_alloc %u > %u",
               pkt.pages_alloc, page_count);
    FUZZ_CHECK(pkt.normal_pages <= pkt.pages_alloc, "normal %u > alloc %u",
               pkt.normal_pages, pkt.pages_alloc);
    FUZZ_CHECK(pkt.zero_pages <= pkt.pages_alloc - pkt.normal_pages,
               "zero %u too many", pkt.zero_pages);
    FUZZ_CHECK(memchr(pkt.ramblock, 0, sizeof(pkt.ramblock)) != NULL,
               "unterminated block name accepted");

    /* Round trip: the decoded fields encode to a packet that decodes
     * to the same fields. */
    wire_packet_encode(&pkt, page_size, NULL, again);
    mf_error_clear(&err);
    FUZZ_CHECK(wire_packet_decode(again, page_size, &pkt2, &err),
               "re-encoded packet rejected: %s", err.msg);
    FUZZ_CHECK(pkt2.flags == pkt.flags &&
                   pkt2.normal_pages == pkt.normal_pages &&
                   pkt2.zero_pages == pkt.zero_pages &&
                   pkt2.pages_alloc == pkt.pages_alloc &&
                   pkt2.packet_num == pkt.packet_num &&
                   strcmp(pkt2.ramblock, pkt.ramblock) == 0,
               "round trip changed the fields");
    for (i = 0; i < wire_packet_pages(&pkt); i++) {
        FUZZ_CHECK(offsets2[i] == offsets[i], "offset %u changed", i);
    }

    if (wire_packet_pages(&pkt) == 0) {
        return;
    }
    /*
     * Each offset is accepted exactly when it is page-aligned and its page
     * lies inside the block.  The first refusal must carry a RAM error
     * code and a message; later ones are checked with a NULL error (the
     * verdict is the same, and formatting a message per offset cost a
     * quarter of the run time).
     */
    block = s->have_table ? ram_table_find(&s->table, pkt.ramblock) : NULL;
    refused = false;
    for (i = 0; block && i < wire_packet_pages(&pkt); i++) {
        uint64_t off = offsets[i];
        bool inside = block->used_length >= page_size &&
                      off <= block->used_length - page_size &&
                      off % page_size == 0;
        bool ok;

        mf_error_clear(&err);
        ok = ram_block_check_offset(block, off, refused ? NULL : &err);
        FUZZ_CHECK(ok == inside, "offset 0x%llx %s in %s (used_length %llu)",
                   (unsigned long long)off, ok ? "accepted" : "refused",
                   block->name, (unsigned long long)block->used_length);
        if (!ok && !refused) {
            FUZZ_CHECK((err.code == RAM_ERR_BLOCK_TOO_SMALL ||
                        err.code == RAM_ERR_OFFSET_RANGE ||
                        err.code == RAM_ERR_OFFSET_UNALIGNED) &&
                           err.msg[0],
                       "offset refused with code %d '%s'", err.code, err.msg);
            refused = true;
        }
    }

    codec = get_codec(ps_idx, m_idx);
    if (codec) {
        mf_error_clear(&err);
        if (codec_check_packet(codec, &pkt, &err)) {
            FUZZ_CHECK(codec_payload_len(codec, &pkt) <= codec_max_payload(),
                       "payload over the bound");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned ps_idx, m_idx;
    WirePacketHdr hdr;
    WireDevStatePacket dev;
    PageSizeState *st;
    size_t len;
    MfError err;

    if (size < 1 + WIRE_PACKET_HDR_SIZE) {
        return 0;
    }
    ps_idx = data[0] & 3;
    m_idx = (data[0] >> 2) & 3;
    data++;
    size--;

    mf_error_clear(&err);
    if (!wire_packet_hdr_decode(data, &hdr, &err)) {
        FUZZ_CHECK(err.code == WIRE_ERR_PACKET_MAGIC ||
                       err.code == WIRE_ERR_PACKET_VERSION,
                   "code %d", err.code);
        return 0;
    }
    if (wire_packet_is_device_state(&hdr)) {
        uint8_t dbuf[WIRE_DEVSTATE_HDR_SIZE] = { 0 };

        memcpy(dbuf, data, size < sizeof(dbuf) ? size : sizeof(dbuf));
        mf_error_clear(&err);
        if (wire_devstate_decode(dbuf, &dev, &err)) {
            FUZZ_CHECK(dev.next_packet_size > 0 &&
                           !(dev.flags & WIRE_FLAG_SYNC) &&
                           memchr(dev.idstr, 0, sizeof(dev.idstr)),
                       "bad device-state packet accepted");
        }
        return 0;
    }
    /* A short input is zero-padded: the engine would wait for bytes. */
    st = get_state(ps_idx);
    if (!st) {
        return 0;
    }
    len = wire_packet_size(page_sizes[ps_idx]);
    if (size < len) {
        memcpy(st->packet, data, size);
        memset(st->packet + size, 0, len - size);
    } else {
        memcpy(st->packet, data, len);
    }
    check_ram_packet(st, ps_idx, m_idx);
    return 0;
}
