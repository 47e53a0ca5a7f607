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
 * NUL-terminated block; every offset accepted by the RAM table is aligned
 * and inside the block; a packet accepted by the codec announces a
 * payload within the bound; decode(encode(decoded)) gives the same fields.
 *
 * Target functions: wire_packet_hdr_decode wire_packet_decode
 * wire_devstate_decode ram_block_check_offset codec_check_packet
 */
#include "fuzz.h"

#include "codec/codec.h"
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

static void check_ram_packet(const uint8_t *buf, unsigned ps_idx,
                             unsigned m_idx)
{
    uint32_t page_size = page_sizes[ps_idx];
    uint32_t page_count = wire_page_count(page_size);
    size_t len = wire_packet_size(page_size);
    uint64_t offsets[WIRE_MULTIFD_PACKET_BYTES / 512];
    uint64_t offsets2[WIRE_MULTIFD_PACKET_BYTES / 512];
    uint8_t *again;
    WirePacket pkt = { .offsets = offsets };
    WirePacket pkt2 = { .offsets = offsets2 };
    RamTable table;
    RamBlock *block;
    Codec *codec;
    MfError err;
    uint32_t i;

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
    again = malloc(len);
    if (!again) {
        return;
    }
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
    free(again);

    if (wire_packet_pages(&pkt) == 0) {
        return;
    }
    mf_error_clear(&err);
    if (!ram_table_init(&table, page_size, &err)) {
        return;
    }
    /* Two blocks: one of 16 pages, one shorter than a page. */
    if (ram_table_add(&table, "pc.ram", 16ULL * page_size, block_host, &err) &&
        ram_table_add(&table, "tiny", page_size - 1, NULL, &err)) {
        block = ram_table_find(&table, pkt.ramblock);
        for (i = 0; block && i < wire_packet_pages(&pkt); i++) {
            mf_error_clear(&err);
            if (ram_block_check_offset(block, offsets[i], &err)) {
                FUZZ_CHECK(offsets[i] % page_size == 0 &&
                               offsets[i] + page_size <= block->used_length,
                           "offset 0x%llx accepted in %s",
                           (unsigned long long)offsets[i], block->name);
            }
        }
    }
    ram_table_destroy(&table);

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
    uint8_t *buf;
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
    len = wire_packet_size(page_sizes[ps_idx]);
    buf = calloc(1, len);
    if (!buf) {
        return 0;
    }
    memcpy(buf, data, size < len ? size : len);
    check_ram_packet(buf, ps_idx, m_idx);
    free(buf);
    return 0;
}
