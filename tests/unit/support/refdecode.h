/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small reference receiver for the fake primary's tests: it replays
 * the generated streams the way QEMU's destination does (main channel
 * records in order; at each sync point every multifd channel is drained
 * up to its SYNC) and checks, at the end of every stage, that the
 * rebuilt memory equals the primary's expected image.  Assumes
 * well-formed streams of the subset the fake primary emits; it is a test
 * of the generator, not a receiver to trust with hostile input.
 */
#ifndef MFCOLO_UNIT_SUPPORT_REFDECODE_H
#define MFCOLO_UNIT_SUPPORT_REFDECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "primary.h"

typedef struct RefResult {
    size_t stages_checked; /* stage images compared and equal */
    size_t syncs;          /* sync points replayed */
    size_t packets;        /* multifd packets decoded */
    size_t main_pages;     /* PAGE records */
    size_t main_zero;      /* ZERO records */
    size_t colo_messages;  /* be32 COLO messages read on main */
    char why[256];         /* first problem, "" when none */
} RefResult;

/* Replay every connection of @p; true when all stages matched. */
bool ref_replay(const Primary *p, RefResult *res);

#endif /* MFCOLO_UNIT_SUPPORT_REFDECODE_H */

/*
 * Shape of one QEMU 7.2 multifd channel stream (handshake included), as
 * the captures show it: first packet a pure SYNC with packet_num == id;
 * pages_alloc == page_count everywhere; zero_pages 0; packets without
 * pages repeat the previous packet's ramblock and next_packet_size;
 * offset slots past the count repeat the previous packet's; a SYNC with
 * data is followed by an empty non-SYNC packet with its packet_num;
 * compression bits only with pages; packet_num never decreases; exactly
 * @want_syncs SYNC packets.  @rides / @dups (may be NULL) count SYNCs
 * riding on data and pages repeated from the previous data packet.
 */
bool ref_check_72_shape(const uint8_t *data, size_t len, uint32_t page_size,
                        WireCompression comp, size_t want_syncs, size_t *rides,
                        size_t *dups, char *why, size_t why_len);
