/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One multifd channel's packet state machine (QEMU multifd_recv_thread's
 * loop body, without the read() calls).
 *
 * The machine never reads: it is told "these bytes arrived"
 * (recv_channel_feed) or asked "where do the next bytes go"
 * (recv_channel_next_iov, then recv_channel_advance with the count that
 * was written there).  The buffers it hands out are the header buffer,
 * the page slots themselves (raw pages go straight to where colo placed
 * them, no copy) or the compressed-payload buffer.
 *
 * Per packet: 12-byte header; device-state packets are rejected
 * (RECV_ERR_DEVICE_STATE) unless a handler is set; the rest of the RAM
 * header is decoded (wire) and validated against the RAM table (block
 * name, every offset, codec rules) before any memory is touched; then
 * colo_place_packet_begin (phase sample, COLO_ERR_* refusals, recording,
 * zero pages, the page slots); the normal pages are written into their
 * slots (raw scatter, or decompressed from the payload);
 * colo_place_packet_end (received bits, precopy mirror).  The channel
 * itself never touches guest memory or the cache.  A packet with the SYNC
 * flag is
 * processed first, then the machine stops in RECV_CH_SYNC until
 * recv_channel_release().  Fields of packets without pages are stale in
 * old senders and are never used (no payload follows such a packet).
 *
 * Errors are located: the channel label and the stream offset of the
 * offending field (packet start + field offset).  After an error the
 * machine is RECV_CH_FAILED and accepts nothing more.  Not thread-safe:
 * one driver at a time.
 */
#ifndef MFCOLO_RECV_CHANNEL_H
#define MFCOLO_RECV_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/error.h"
#include "colo/colo.h"
#include "ram/ram.h"
#include "wire/multifd.h"

/* Largest device-state payload accepted (QEMU: unbounded g_malloc). */
#define RECV_DEVSTATE_MAX_PAYLOAD (16u * 1024 * 1024)

typedef enum RecvChannelStatus {
    RECV_CH_RUNNING, /* wants bytes */
    RECV_CH_SYNC,    /* processed a SYNC packet, waits for release */
    RECV_CH_DONE,    /* clean end of stream between packets */
    RECV_CH_FAILED,  /* an error was reported; nothing more accepted */
} RecvChannelStatus;

/*
 * A device-state packet (QEMU >= 10.0) and its payload.  Return false
 * with @err set to refuse it (the error is located at the packet start).
 */
typedef bool (*RecvDevStateFn)(void *opaque, uint8_t channel_id,
                               const WireDevStatePacket *pkt,
                               const uint8_t *data, size_t len, MfError *err);

typedef struct RecvChannelConfig {
    uint8_t id; /* channel id, names it "multifd <id>" */
    uint32_t page_size;
    WireCompression compression;
    RamTable *ram;
    ColoState *colo;         /* NULL: pages go to guest memory */
    uint64_t base_offset;    /* stream offset of the first byte fed */
    RecvDevStateFn devstate; /* NULL: device state is an error */
    void *devstate_opaque;
    const MfAllocator *allocator; /* all of the channel's memory; NULL: libc */
} RecvChannelConfig;

typedef struct RecvChannelStats {
    uint64_t packets;      /* packets processed (incl. SYNC/empty) */
    uint64_t syncs;        /* SYNC packets processed */
    uint64_t normal_pages; /* normal pages placed */
    uint64_t zero_pages;   /* zero pages processed */
    uint64_t zero_writes;  /* zero pages that had to be written */
    uint64_t devstate;     /* device-state packets handed over */
} RecvChannelStats;

typedef struct RecvChannel RecvChannel;

/*
 * A machine at the start of a packet.  MF_ERR_INVALID_ARG (page size,
 * missing table), MF_ERR_NOMEM (fault points "mfcolo/recv/alloc-channel",
 * "mfcolo/recv/alloc-packet"), codec errors (CODEC_ERR_UNSUPPORTED...).
 */
RecvChannel *recv_channel_new(const RecvChannelConfig *cfg, MfError *err);
void recv_channel_free(RecvChannel *ch);

/* "multifd <id>": the label errors carry. */
const char *recv_channel_label(const RecvChannel *ch);
RecvChannelStatus recv_channel_status(const RecvChannel *ch);
/* Stream offset of the next byte the machine expects. */
uint64_t recv_channel_offset(const RecvChannel *ch);
void recv_channel_stats(const RecvChannel *ch, RecvChannelStats *out);
/* The error that failed the machine (code MF_OK if none). */
const MfError *recv_channel_error(const RecvChannel *ch);

/*
 * Where the next bytes go: fills up to @max (>= 1) iovecs and returns how
 * many; their total is what the machine can take before it must process
 * something (the rest of the header, or of the page, pages or payload).
 * Returns 0 unless RECV_CH_RUNNING.  The memory stays valid until the
 * next advance/feed/free.  Only the first @n bytes of the iovecs may be
 * written before recv_channel_advance(@n).
 */
int recv_channel_next_iov(RecvChannel *ch, struct iovec *iov, int max);

/*
 * @n bytes (1 .. the total of the last next_iov) were written into the
 * iovecs.  Processes whatever they complete.  False with @err set (and
 * the machine FAILED) on any error; RECV_ERR_STATE if not RUNNING or @n
 * is out of range.
 */
bool recv_channel_advance(RecvChannel *ch, size_t n, MfError *err);

/*
 * Copy in @len bytes that arrived; stops early after a SYNC packet (the
 * machine is then RECV_CH_SYNC) or on an error.  Returns the bytes
 * consumed; on error (@err set) the count up to the failure.
 */
size_t recv_channel_feed(RecvChannel *ch, const uint8_t *buf, size_t len,
                         MfError *err);

/*
 * The stream ended.  Between packets: RECV_CH_DONE, true.  Inside a
 * header or payload: RECV_ERR_EOF naming the channel and the offset where
 * the data stopped.  RECV_ERR_STATE when parked at a SYNC (the caller
 * decides what an end at a sync point means) or already stopped.
 */
bool recv_channel_eof(RecvChannel *ch, MfError *err);

/* Leave RECV_CH_SYNC for the next packet; no effect in other states. */
void recv_channel_release(RecvChannel *ch);

/*
 * Mark the machine FAILED with @why (first error kept).  A NULL or empty
 * @why stops it without an error of its own: later calls report none
 * (advance and eof return false, @err untouched) until a reason is given.
 */
void recv_channel_fail(RecvChannel *ch, const MfError *why);

#endif /* MFCOLO_RECV_CHANNEL_H */
