/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The multifd receive engine (QEMU migration/multifd.c, receive side).
 *
 * An engine owns N multifd channels.  Each channel is a RecvChannel state
 * machine (recv/channel.h) fed either by a thread of its own (threaded
 * driver, like QEMU) or by a seeded single-threaded scheduler
 * (deterministic driver).  The main channel's reader calls
 * recv_engine_sync() at each sync point (RAM_SAVE_FLAG_MULTIFD_FLUSH, or
 * EOS for senders that sync per section); it returns once every channel
 * has processed every packet before its SYNC and has been released, or
 * with the first error promptly: a dead channel never hangs the caller.
 *
 * The first error of any channel is kept (code, message, channel label,
 * stream offset); every channel is then woken and shut down.  Errors are
 * RECV_ERR_* (recv/errors.h) or those of the layers below.
 *
 * Fault points (base/fault.h) of the recv layer, and what they produce:
 *   "mfcolo/recv/alloc-engine", "mfcolo/recv/alloc-slots"
 *       recv_engine_new: MF_ERR_NOMEM, nothing allocated;
 *   "mfcolo/recv/alloc-channel", "mfcolo/recv/alloc-packet"
 *       a channel's state and packet buffers (recv_engine_add_channel,
 *       recv_channel_new): MF_ERR_NOMEM naming the channel;
 *   "mfcolo/recv/alloc-payload"
 *       a compressed or device-state payload buffer, while a packet is
 *       received: MF_ERR_NOMEM located at the packet's start;
 *   "mfcolo/recv/thread-create"
 *       the threaded driver's channel thread: RECV_ERR_THREAD (the errno
 *       of the test's failinfo, else EAGAIN).
 */
#ifndef MFCOLO_RECV_RECV_H
#define MFCOLO_RECV_RECV_H

#include <stdbool.h>
#include <stdint.h>

#include "base/alloc.h"
#include "base/error.h"
#include "chan/chan.h"
#include "colo/colo.h"
#include "ram/ram.h"
#include "recv/channel.h"
#include "wire/multifd.h"

typedef enum RecvDriver {
    RECV_DRIVER_THREADED,      /* one thread per channel */
    RECV_DRIVER_DETERMINISTIC, /* caller's thread, seeded scheduler */
} RecvDriver;

typedef struct RecvConfig {
    uint32_t channels;           /* expected multifd channels, 1..256 */
    uint32_t page_size;          /* target page size, e.g. 4096 */
    WireCompression compression; /* configured method */
    bool expect_uuid;            /* false: all must match the first */
    uint8_t uuid[WIRE_UUID_SIZE];
    RecvDriver driver;
    uint64_t seed;    /* deterministic driver's scheduler */
    size_t max_chunk; /* deterministic: largest delivery, 0=any */
    /* Everything the engine allocates (its state, each channel's packet
     * buffers, decoder state and payload buffer); NULL: the C library. */
    const MfAllocator *allocator;
} RecvConfig;

typedef struct RecvEngine RecvEngine;

/*
 * A new engine placing pages into @ram, through @colo when non-NULL (COLO
 * capability on: pages land in the cache).  NULL + MF_ERR_NOMEM or
 * MF_ERR_INVALID_ARG (0 or more than 256 channels: a handshake's id is one
 * byte; bad page size, unsupported method).
 */
RecvEngine *recv_engine_new(const RecvConfig *cfg, RamTable *ram,
                            ColoState *colo, MfError *err);

/*
 * Take a multifd connection whose next bytes are its 64-byte handshake.
 * Validates it (magic, version, id < channels, not a duplicate, uuid,
 * not beyond the expected count) and places the channel by id; the
 * engine owns @c from here, even on failure.  Threaded driver: starts the
 * channel's thread.  RECV_ERR_* / WIRE_ERR_HANDSHAKE_* naming the channel.
 */
bool recv_engine_add_channel(RecvEngine *e, Chan *c, MfError *err);

/* True once every expected channel has been added. */
bool recv_engine_ready(const RecvEngine *e);

/*
 * The main thread's sync (QEMU multifd_recv_sync_main): wait until every
 * channel reached its next SYNC, then release them all.  Fails with the
 * engine's first error, or RECV_ERR_CANCELLED after recv_engine_cancel().
 */
bool recv_engine_sync(RecvEngine *e, MfError *err);

/*
 * End of migration: wait until every channel reached a clean end of
 * stream (or an error), join every thread.  Returns the first error.
 */
bool recv_engine_finish(RecvEngine *e, MfError *err);

/*
 * Stop everything: record @why (or RECV_ERR_CANCELLED) as the error if
 * none is kept yet, shut every channel down, wake every waiter.  Safe
 * from any thread; a sync in progress returns promptly.
 */
void recv_engine_cancel(RecvEngine *e, const MfError *why);

/* Copy of the first error (code MF_OK if none). */
void recv_engine_error(RecvEngine *e, MfError *out);

/* Join every thread and free everything, whatever state it is in. */
void recv_engine_free(RecvEngine *e);

/*
 * Options and observation: device-state packets, the event trace,
 * per-channel counters.
 */

/*
 * Accept device-state packets (QEMU >= 10.0) on every channel added
 * after this call and hand them to @fn; without a handler they fail with
 * RECV_ERR_DEVICE_STATE.  Call before the first recv_engine_add_channel.
 * @fn runs inside the channel's driver (its thread, or the deterministic
 * scheduler inside recv_engine_sync/finish) and must not sync, finish or
 * free the engine: with the threaded driver that never returns; the
 * deterministic driver fails it with RECV_ERR_STATE on that channel.
 */
void recv_engine_set_devstate_handler(RecvEngine *e, RecvDevStateFn fn,
                                      void *opaque);

/* What the deterministic scheduler did, one step at a time. */
typedef enum RecvEventKind {
    RECV_EV_DATA,    /* @bytes arrived on @channel */
    RECV_EV_EOF,     /* @channel reached a clean end of stream */
    RECV_EV_SYNC,    /* @channel processed a SYNC and waits */
    RECV_EV_RELEASE, /* the main thread released every channel (channel,
                      * bytes and offset are 0) */
    RECV_EV_ERROR,   /* @channel failed (@bytes is the error code) */
} RecvEventKind;

typedef struct RecvEvent {
    RecvEventKind kind;
    uint32_t channel;
    uint64_t bytes;
    uint64_t offset; /* channel's stream offset after the event */
} RecvEvent;

typedef void (*RecvTraceFn)(void *opaque, const RecvEvent *ev);

/*
 * Call @fn for every event, in order, with the engine lock held (@fn
 * must not call the engine).  Every event also feeds a 64-bit hash
 * (recv_engine_trace_hash) and a counter.  The hash starts at 0 and takes
 * each event as h = m(h ^ kind << 56 ^ channel << 40 ^ bytes), then
 * h = m(h ^ offset), m being splitmix64's output mix, so a recorded trace
 * gives back its run's hash.  With the deterministic driver
 * one seed always gives one sequence, so a test can assert determinism;
 * the threaded driver reports the same events in the order its threads
 * got there (useful to wait for "channel N posted its SYNC").
 */
void recv_engine_set_trace(RecvEngine *e, RecvTraceFn fn, void *opaque);
uint64_t recv_engine_trace_hash(const RecvEngine *e);
uint64_t recv_engine_events(const RecvEngine *e);

/*
 * Counters of channel @id; false when it was never added.  Stable only
 * while no thread runs the channel: after recv_engine_finish() or with
 * the deterministic driver.
 */
bool recv_engine_channel_stats(RecvEngine *e, uint32_t id,
                               RecvChannelStats *out);

#endif /* MFCOLO_RECV_RECV_H */
