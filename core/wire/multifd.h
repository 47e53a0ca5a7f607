/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Multifd channel formats: the 64-byte handshake, the RAM packet and the
 * device-state packet header (QEMU migration/multifd.h).  All integers
 * big-endian.  Pure functions over byte buffers: no I/O, no allocation.
 *
 * Decoders check every rule that needs no RAM layout and fail with a
 * WIRE_ERR_* code (wire/errors.h); the error offset is the offset of the
 * offending field inside the buffer given.  Fields QEMU leaves stale in
 * packets without pages (ramblock, next_packet_size, offsets past the
 * counts) are neither checked nor returned as meaningful.
 */
#ifndef MFCOLO_WIRE_MULTIFD_H
#define MFCOLO_WIRE_MULTIFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define WIRE_MULTIFD_MAGIC 0x11223344u
#define WIRE_MULTIFD_VERSION 1u
#define WIRE_HANDSHAKE_SIZE 64
#define WIRE_UUID_SIZE 16
#define WIRE_PACKET_HDR_SIZE 12          /* magic, version, flags */
#define WIRE_PACKET_FIXED_SIZE 320       /* RAM packet without offsets */
#define WIRE_DEVSTATE_HDR_SIZE 276       /* device-state packet header */
#define WIRE_MULTIFD_PACKET_BYTES 524288 /* MULTIFD_PACKET_SIZE */
#define WIRE_RAMBLOCK_NAME_SIZE 256      /* idstr incl. its NUL */
#define WIRE_DEFAULT_PAGE_SIZE 4096

#define WIRE_FLAG_SYNC 0x01u
#define WIRE_FLAG_COMPRESSION_MASK 0x3eu
#define WIRE_FLAG_DEVICE_STATE 0x40u

/* Compression values inside WIRE_FLAG_COMPRESSION_MASK (not bits). */
typedef enum WireCompression {
    WIRE_COMP_NONE = 0x00,
    WIRE_COMP_ZLIB = 0x02,
    WIRE_COMP_ZSTD = 0x04,
    WIRE_COMP_QPL = 0x08,
    WIRE_COMP_UADK = 0x10,
    WIRE_COMP_QATZIP = 0x20,
} WireCompression;

/* "none", "zlib", ... for a known value, NULL otherwise. */
const char *wire_compression_name(uint32_t value);

/* Kind of connection, from its first four bytes. */
typedef enum WireChannelKind {
    WIRE_CHANNEL_MAIN,    /* "QEVM" */
    WIRE_CHANNEL_MULTIFD, /* 0x11223344 */
} WireChannelKind;

/* Classify a connection by its first 4 bytes; WIRE_ERR_CHANNEL_MAGIC. */
bool wire_classify_channel(const uint8_t first4[4], WireChannelKind *kind,
                           MfError *err);

typedef struct WireHandshake {
    uint32_t magic;
    uint32_t version;
    uint8_t uuid[WIRE_UUID_SIZE];
    uint8_t id;
} WireHandshake;

/*
 * Decode 64 bytes: WIRE_ERR_HANDSHAKE_MAGIC (offset 0),
 * WIRE_ERR_HANDSHAKE_VERSION (offset 4).  uuid and id are returned
 * unchecked (recv checks them against the channel set); the reserved
 * bytes 25..63 are ignored, as QEMU does.
 */
bool wire_handshake_decode(const uint8_t buf[WIRE_HANDSHAKE_SIZE],
                           WireHandshake *hs, MfError *err);
/* Encode as QEMU does: reserved bytes zero. */
void wire_handshake_encode(const WireHandshake *hs,
                           uint8_t buf[WIRE_HANDSHAKE_SIZE]);

/*
 * Offsets per packet for @page_size (128 for 4 KiB): 524288 / page_size.
 * 0 (unusable) when @page_size is 0, not a power of two or > 512 KiB.
 */
uint32_t wire_page_count(uint32_t page_size);
/*
 * Bytes of a RAM packet header: 320 + 8 * page_count (1344 for 4 KiB);
 * 0 when wire_page_count(@page_size) is 0.
 */
size_t wire_packet_size(uint32_t page_size);

/* The 12 bytes every packet starts with. */
typedef struct WirePacketHdr {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
} WirePacketHdr;

/* WIRE_ERR_PACKET_MAGIC (offset 0), WIRE_ERR_PACKET_VERSION (offset 4). */
bool wire_packet_hdr_decode(const uint8_t buf[WIRE_PACKET_HDR_SIZE],
                            WirePacketHdr *hdr, MfError *err);

static inline bool wire_packet_is_device_state(const WirePacketHdr *hdr)
{
    return (hdr->flags & WIRE_FLAG_DEVICE_STATE) != 0;
}

/* Encode the 12 common bytes (magic, version, @flags). */
void wire_packet_hdr_encode(uint32_t flags, uint8_t buf[WIRE_PACKET_HDR_SIZE]);

/*
 * A decoded RAM packet.  ramblock and offsets are meaningful only when
 * normal_pages + zero_pages > 0; offsets[0..normal_pages) are the normal
 * pages, offsets[normal_pages..normal_pages+zero_pages) the zero pages.
 */
typedef struct WirePacket {
    uint32_t flags;
    uint32_t pages_alloc;
    uint32_t normal_pages;
    uint32_t next_packet_size;
    uint64_t packet_num;
    uint32_t zero_pages;
    char ramblock[WIRE_RAMBLOCK_NAME_SIZE];
    uint64_t *offsets; /* caller's array of page_count entries */
} WirePacket;

/* Pages (normal + zero) a decoded packet carries; 0 for SYNC/empty. */
static inline uint32_t wire_packet_pages(const WirePacket *pkt)
{
    return pkt->normal_pages + pkt->zero_pages;
}

/*
 * Decode a whole RAM packet header of wire_packet_size(@page_size) bytes.
 * pkt->offsets must point to wire_page_count(@page_size) entries.  Checks,
 * in order: magic, version (WIRE_ERR_PACKET_MAGIC/_VERSION), device-state
 * flag (WIRE_ERR_PACKET_DEVICE_STATE: use the device-state decoder),
 * compression value (WIRE_ERR_PACKET_COMPRESSION: not a known value),
 * pages_alloc > page_count (WIRE_ERR_PACKET_PAGES_ALLOC), normal_pages >
 * pages_alloc (WIRE_ERR_PACKET_NORMAL_PAGES), zero_pages > pages_alloc -
 * normal_pages (WIRE_ERR_PACKET_ZERO_PAGES) and, for packets with pages
 * only, an idstr without NUL (WIRE_ERR_PACKET_BLOCK_NAME) or an empty one
 * (WIRE_ERR_PACKET_BLOCK_NAME_EMPTY).  "Without NUL" means no NUL in the
 * 256 bytes (QEMU forces byte 255 to NUL; a name that needs it cannot
 * exist); the error offset is then 319, the last idstr byte.  Bytes 36..63
 * are never checked (QEMU 7.2: unused[4], zero_pages reads 0).  For a
 * packet without pages, ramblock is returned as "" and offsets is left
 * untouched; next_packet_size is returned as sent, stale or not.  An
 * unusable @page_size or a NULL offsets array is MF_ERR_INVALID_ARG.
 */
bool wire_packet_decode(const uint8_t *buf, uint32_t page_size, WirePacket *pkt,
                        MfError *err);

/*
 * Encode @pkt into wire_packet_size(@page_size) bytes, exactly as QEMU
 * does: magic, version, then the fields; bytes 36..63 zero; idstr padded
 * with NULs; offsets[0..normal+zero) written, the rest of the array taken
 * from @stale_offsets when non-NULL (to reproduce QEMU's stale slots),
 * else zero.
 */
void wire_packet_encode(const WirePacket *pkt, uint32_t page_size,
                        const uint64_t *stale_offsets, uint8_t *buf);

/* Device-state packet header (QEMU >= 10.0). */
typedef struct WireDevStatePacket {
    uint32_t flags;
    char idstr[WIRE_RAMBLOCK_NAME_SIZE];
    uint32_t instance_id;
    uint32_t next_packet_size;
} WireDevStatePacket;

/*
 * Decode WIRE_DEVSTATE_HDR_SIZE bytes: magic, version, device-state bit
 * missing (WIRE_ERR_PACKET_DEVICE_STATE: use the RAM decoder), then
 * WIRE_ERR_DEVSTATE_SYNC (SYNC set), WIRE_ERR_DEVSTATE_EMPTY (size 0),
 * WIRE_ERR_DEVSTATE_IDSTR (idstr byte 255 not NUL, QEMU's rule; offset
 * 267).  The compression value is not checked (QEMU does not either).
 * On success pkt->idstr is NUL-terminated; the payload of
 * next_packet_size bytes follows and is opaque here.
 */
bool wire_devstate_decode(const uint8_t *buf, WireDevStatePacket *pkt,
                          MfError *err);
/* Encode as QEMU does: magic, version, fields, idstr NUL-padded. */
void wire_devstate_encode(const WireDevStatePacket *pkt, uint8_t *buf);

#endif /* MFCOLO_WIRE_MULTIFD_H */
