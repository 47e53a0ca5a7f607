/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The multifd RAM packet: common header, sizes, decode and encode. */
#include "wire/multifd.h"

#include <string.h>

#include "base/be.h"
#include "wire/errors.h"

/* Field offsets inside a RAM packet (QEMU MultiFDPacket_t). */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 4,
    OFF_FLAGS = 8,
    OFF_PAGES_ALLOC = 12,
    OFF_NORMAL_PAGES = 16,
    OFF_NEXT_PACKET_SIZE = 20,
    OFF_PACKET_NUM = 24,
    OFF_ZERO_PAGES = 32,
    OFF_RESERVED = 36,
    OFF_RAMBLOCK = 64,
    OFF_OFFSETS = WIRE_PACKET_FIXED_SIZE,
};

const char *wire_compression_name(uint32_t value)
{
    switch (value) {
    case WIRE_COMP_NONE:
        return "none";
    case WIRE_COMP_ZLIB:
        return "zlib";
    case WIRE_COMP_ZSTD:
        return "zstd";
    case WIRE_COMP_QPL:
        return "qpl";
    case WIRE_COMP_UADK:
        return "uadk";
    case WIRE_COMP_QATZIP:
        return "qatzip";
    default:
        return NULL;
    }
}

uint32_t wire_page_count(uint32_t page_size)
{
    if (page_size == 0 || (page_size & (page_size - 1)) != 0 ||
        page_size > WIRE_MULTIFD_PACKET_BYTES) {
        return 0;
    }
    return WIRE_MULTIFD_PACKET_BYTES / page_size;
}

size_t wire_packet_size(uint32_t page_size)
{
    uint32_t count = wire_page_count(page_size);

    if (count == 0) {
        return 0;
    }
    return WIRE_PACKET_FIXED_SIZE + (size_t)count * sizeof(uint64_t);
}

bool wire_packet_hdr_decode(const uint8_t buf[WIRE_PACKET_HDR_SIZE],
                            WirePacketHdr *hdr, MfError *err)
{
    hdr->magic = mf_be32_load(buf + OFF_MAGIC);
    hdr->version = mf_be32_load(buf + OFF_VERSION);
    hdr->flags = mf_be32_load(buf + OFF_FLAGS);
    if (hdr->magic != WIRE_MULTIFD_MAGIC) {
        return mf_error_set(err, WIRE_ERR_PACKET_MAGIC, OFF_MAGIC,
                            "packet magic 0x%08x, expected 0x%08x", hdr->magic,
                            WIRE_MULTIFD_MAGIC);
    }
    if (hdr->version != WIRE_MULTIFD_VERSION) {
        return mf_error_set(err, WIRE_ERR_PACKET_VERSION, OFF_VERSION,
                            "packet version %u, expected %u", hdr->version,
                            WIRE_MULTIFD_VERSION);
    }
    return true;
}

void wire_packet_hdr_encode(uint32_t flags, uint8_t buf[WIRE_PACKET_HDR_SIZE])
{
    mf_be32_store(buf + OFF_MAGIC, WIRE_MULTIFD_MAGIC);
    mf_be32_store(buf + OFF_VERSION, WIRE_MULTIFD_VERSION);
    mf_be32_store(buf + OFF_FLAGS, flags);
}

/* The counts, in QEMU's order; everything before needs no name. */
static bool packet_check_counts(const WirePacket *pkt, uint32_t page_count,
                                MfError *err)
{
    uint32_t left;

    if (pkt->pages_alloc > page_count) {
        return mf_error_set(err, WIRE_ERR_PACKET_PAGES_ALLOC, OFF_PAGES_ALLOC,
                            "packet pages_alloc %u exceeds page_count %u",
                            pkt->pages_alloc, page_count);
    }
    if (pkt->normal_pages > pkt->pages_alloc) {
        return mf_error_set(err, WIRE_ERR_PACKET_NORMAL_PAGES, OFF_NORMAL_PAGES,
                            "packet normal_pages %u exceeds pages_alloc %u",
                            pkt->normal_pages, pkt->pages_alloc);
    }
    left = pkt->pages_alloc - pkt->normal_pages;
    if (pkt->zero_pages > left) {
        return mf_error_set(err, WIRE_ERR_PACKET_ZERO_PAGES, OFF_ZERO_PAGES,
                            "packet zero_pages %u exceeds pages_alloc %u - "
                            "normal_pages %u = %u",
                            pkt->zero_pages, pkt->pages_alloc,
                            pkt->normal_pages, left);
    }
    return true;
}

static bool packet_decode_name(const uint8_t *buf, WirePacket *pkt,
                               MfError *err)
{
    const uint8_t *name = buf + OFF_RAMBLOCK;

    if (!memchr(name, 0, WIRE_RAMBLOCK_NAME_SIZE)) {
        return mf_error_set(err, WIRE_ERR_PACKET_BLOCK_NAME,
                            OFF_RAMBLOCK + WIRE_RAMBLOCK_NAME_SIZE - 1,
                            "packet ramblock has no NUL in its %d bytes "
                            "(byte %d is 0x%02x, limit 255 characters)",
                            WIRE_RAMBLOCK_NAME_SIZE,
                            WIRE_RAMBLOCK_NAME_SIZE - 1,
                            name[WIRE_RAMBLOCK_NAME_SIZE - 1]);
    }
    if (name[0] == 0) {
        return mf_error_set(err, WIRE_ERR_PACKET_BLOCK_NAME_EMPTY, OFF_RAMBLOCK,
                            "packet ramblock is empty but the packet has "
                            "%u normal and %u zero pages",
                            pkt->normal_pages, pkt->zero_pages);
    }
    /* keep the name only: bytes after its NUL are dropped */
    memset(pkt->ramblock, 0, WIRE_RAMBLOCK_NAME_SIZE);
    memcpy(pkt->ramblock, name, strlen((const char *)name));
    return true;
}

bool wire_packet_decode(const uint8_t *buf, uint32_t page_size, WirePacket *pkt,
                        MfError *err)
{
    WirePacketHdr hdr;
    uint32_t page_count = wire_page_count(page_size);
    uint32_t comp;
    uint32_t i;

    if (page_count == 0 || !pkt->offsets) {
        return mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                            "packet decode: page_size %u unusable "
                            "(power of two up to %u required) or no "
                            "offsets array",
                            page_size, WIRE_MULTIFD_PACKET_BYTES);
    }
    if (!wire_packet_hdr_decode(buf, &hdr, err)) {
        return false;
    }
    pkt->flags = hdr.flags;
    pkt->pages_alloc = mf_be32_load(buf + OFF_PAGES_ALLOC);
    pkt->normal_pages = mf_be32_load(buf + OFF_NORMAL_PAGES);
    pkt->next_packet_size = mf_be32_load(buf + OFF_NEXT_PACKET_SIZE);
    pkt->packet_num = mf_be64_load(buf + OFF_PACKET_NUM);
    pkt->zero_pages = mf_be32_load(buf + OFF_ZERO_PAGES);
    pkt->ramblock[0] = '\0';
    if (wire_packet_is_device_state(&hdr)) {
        return mf_error_set(err, WIRE_ERR_PACKET_DEVICE_STATE, OFF_FLAGS,
                            "packet flags 0x%x carry the device-state bit "
                            "0x%x: not a RAM packet",
                            hdr.flags, WIRE_FLAG_DEVICE_STATE);
    }
    comp = hdr.flags & WIRE_FLAG_COMPRESSION_MASK;
    if (!wire_compression_name(comp)) {
        return mf_error_set(err, WIRE_ERR_PACKET_COMPRESSION, OFF_FLAGS,
                            "packet flags 0x%x: compression value 0x%02x "
                            "(mask 0x%02x) is not one of 0x00 0x02 0x04 "
                            "0x08 0x10 0x20",
                            hdr.flags, comp, WIRE_FLAG_COMPRESSION_MASK);
    }
    if (!packet_check_counts(pkt, page_count, err)) {
        return false;
    }
    if (wire_packet_pages(pkt) == 0) {
        /* ramblock and the offsets may be stale copies: never read them */
        return true;
    }
    if (!packet_decode_name(buf, pkt, err)) {
        return false;
    }
    for (i = 0; i < wire_packet_pages(pkt); i++) {
        pkt->offsets[i] = mf_be64_load(buf + OFF_OFFSETS + 8 * (size_t)i);
    }
    return true;
}

void wire_packet_encode(const WirePacket *pkt, uint32_t page_size,
                        const uint64_t *stale_offsets, uint8_t *buf)
{
    uint32_t page_count = wire_page_count(page_size);
    uint32_t used = wire_packet_pages(pkt);
    uint32_t i;

    memset(buf, 0, OFF_OFFSETS);
    wire_packet_hdr_encode(pkt->flags, buf);
    mf_be32_store(buf + OFF_PAGES_ALLOC, pkt->pages_alloc);
    mf_be32_store(buf + OFF_NORMAL_PAGES, pkt->normal_pages);
    mf_be32_store(buf + OFF_NEXT_PACKET_SIZE, pkt->next_packet_size);
    mf_be64_store(buf + OFF_PACKET_NUM, pkt->packet_num);
    mf_be32_store(buf + OFF_ZERO_PAGES, pkt->zero_pages);
    memcpy(buf + OFF_RAMBLOCK, pkt->ramblock,
           strnlen(pkt->ramblock, WIRE_RAMBLOCK_NAME_SIZE));
    for (i = 0; i < page_count; i++) {
        uint64_t v = 0;

        if (i < used) {
            v = pkt->offsets ? pkt->offsets[i] : 0;
        } else if (stale_offsets) {
            v = stale_offsets[i];
        }
        mf_be64_store(buf + OFF_OFFSETS + 8 * (size_t)i, v);
    }
}
