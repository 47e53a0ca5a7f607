/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Byte-level builders for the recv unit tests: a handshake, a RAM packet
 * with chosen (also wrong) fields, its payload.  The unit tests need
 * exact control of every field and of the byte offsets errors must name;
 * whole migrations come from the fake primary (tests/support/primary.h).
 * Streams are SupBufs (tests/support/buf.h).  Allocation failure aborts
 * (test code).
 */
#ifndef MFCOLO_TESTS_RECV_GEN_H
#define MFCOLO_TESTS_RECV_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "qemu-compress.h"
#include "wire/multifd.h"

/* The 64-byte handshake. */
void rg_handshake(SupBuf *s, const uint8_t *uuid, uint8_t id);

/*
 * A RAM packet header (no payload): @off holds nnormal + nzero offsets.
 * Returns the offset of the packet in @s.
 */
size_t rg_header(SupBuf *s, uint32_t page_size, uint32_t flags,
                 const char *block, const uint64_t *off, uint32_t nnormal,
                 uint32_t nzero, uint32_t next_size, uint64_t num);

/*
 * Header and payload of a packet whose normal pages are read from
 * @src + off[i] (the sender's memory of the block): raw pages, or
 * compressed by @qc (whose method sets the compression value).  @extra
 * is OR-ed into the flags (SYNC).  Returns the packet offset.
 */
size_t rg_packet(SupBuf *s, QemuCompressor *qc, WireCompression comp,
                 uint32_t page_size, uint32_t extra, const char *block,
                 const uint8_t *src, const uint64_t *off, uint32_t nnormal,
                 uint32_t nzero, uint64_t num);

/* A pure SYNC packet as a >= 9.0 sender writes it.  Returns its offset. */
size_t rg_sync(SupBuf *s, uint32_t page_size, uint64_t num);

#endif /* MFCOLO_TESTS_RECV_GEN_H */
