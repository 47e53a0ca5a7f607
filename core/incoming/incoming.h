/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The secondary's main channel (QEMU migration/savevm.c qemu_loadvm_state,
 * ram.c ram_load_precopy, colo.c colo_incoming_thread), as a pull parser
 * over a Chan.  docs/incoming.md states the subset exactly.
 *
 * What it reads, in order:
 *   precopy     QEVM header; optional CONFIGURATION; QEMU_VM_COMMANDs
 *               (ENABLE_COLO acted upon; OPEN_RETURN_PATH and PING
 *               answered with PONG on the reply channel; the others are
 *               INCOMING_ERR_COMMAND_UNSUPPORTED); the "ram" section
 *               (START with the MEM_SIZE list, PART, END; ZERO, PAGE,
 *               CONTINUE, EOS, MULTIFD_FLUSH records; footers); then the
 *               device sections, kept opaque, up to QEMU_VM_EOF, and the
 *               VM description (found as described in docs/colo-stream.md,
 *               a method that works on a live stream).
 *   COLO        if ENABLE_COLO came: colo_enter, start the guest, send
 *               CHECKPOINT_READY, then checkpoints (the sequence of
 *               docs/qemu-reference.md#checkpoint):
 *               REQUEST -> stop guest, REPLY; VMSTATE_SEND; RAM state up
 *               to QEMU_VM_EOF with the multifd sync; VMSTATE_SIZE + be64
 *               + opaque blob; RECEIVED; colo_flush; load device state;
 *               observe; LOADED; start guest.
 *
 * Sync points with multifd (RecvEngine given): MULTIFD_FLUSH always syncs
 * (recv_engine_sync); EOS syncs in INCOMING_SYNC_SECTION mode (QEMU <= 8.0
 * senders, the 7.2 captures).  INCOMING_SYNC_AUTO decides at the first EOS
 * of the stream: a MULTIFD_FLUSH before it means per-round, none means
 * per-section (a sender always syncs in its RAM setup stage, with a FLUSH
 * record in per-round mode and without one in per-section mode).  A sync
 * that fails ends the run with the engine's error at once: nothing after
 * the EOS or MULTIFD_FLUSH record that asked for it is read.
 *
 * End of the run (incoming_run):
 *   - plain migration (no ENABLE_COLO): INCOMING_COMPLETED after the VM
 *     description (and, with expect_end, the end of stream).  The guest
 *     is not started: the caller does that.
 *   - COLO: the stream ending cleanly where a CHECKPOINT_REQUEST would
 *     start (primary gone between checkpoints), or a failover request,
 *     gives INCOMING_FAILED_OVER.  Any error, or an end of stream inside a
 *     checkpoint, makes the run return false with the error, and the
 *     multifd engine (if any) cancelled and its threads joined; in every COLO
 *     case the receiver has failed over before returning: the partly
 *     received checkpoint is discarded (colo_failover), the multifd engine
 *     is finished or cancelled, the guest was restarted if the parser had
 *     stopped it, and guest memory is the last flushed checkpoint (I4).
 *
 * Errors: INCOMING_ERR_* (incoming/errors.h) and those of the layers below
 * (WIRE_ERR_*, RAM_ERR_*, CHAN_ERR_IO, ...), always located: on "main"
 * with the stream offset of the offending field, or on the multifd
 * channel that failed (recv engine errors keep their channel label).
 *
 * Memory: guest memory the RAM table allocated (host == NULL at
 * ram_table_add) starts zeroed and the guest must not write it during
 * precopy (QEMU's incoming VM does not run then): a ZERO record for a page
 * never received is then not written at all (QEMU 7.2 skips zero pages
 * that are already zero, too).
 *
 * Threads: incoming_run runs in one thread (the "COLO incoming" thread);
 * incoming_request_failover and incoming_stage may be called from any
 * thread while it runs.  Hooks run in the incoming_run thread.
 */
#ifndef MFCOLO_INCOMING_INCOMING_H
#define MFCOLO_INCOMING_INCOMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/alloc.h"
#include "base/error.h"
#include "chan/chan.h"
#include "colo/colo.h"
#include "incoming/errors.h"
#include "ram/ram.h"
#include "recv/recv.h"

/* Bounds (documented in docs/incoming.md). */
#define INCOMING_DEVSTATE_MAX_DEFAULT (64u * 1024 * 1024)
#define INCOMING_VMDESC_MAX (64u * 1024 * 1024)
#define INCOMING_MAX_RAM_DEFAULT (1ull << 32) /* replay: 4 GiB */
#define INCOMING_MAX_BLOCKS 1024u /* replay: blocks a MEM_SIZE list creates */
#define INCOMING_RAM_SECTION_VERSION 4u

typedef enum IncomingSyncMode {
    INCOMING_SYNC_SECTION, /* EOS and MULTIFD_FLUSH sync (QEMU <= 8.0) */
    INCOMING_SYNC_ROUND,   /* only MULTIFD_FLUSH syncs (QEMU >= 8.1) */
    INCOMING_SYNC_AUTO,    /* decided at the first EOS (see above) */
} IncomingSyncMode;

typedef enum IncomingOutcome {
    INCOMING_COMPLETED,   /* plain migration fully loaded */
    INCOMING_FAILED_OVER, /* COLO ended at a checkpoint boundary/request */
} IncomingOutcome;

/* Where the parser is; incoming_stage() and the stage hook report it. */
typedef enum IncomingStage {
    INCOMING_STAGE_PRECOPY,      /* header, commands, RAM section */
    INCOMING_STAGE_DEVICES,      /* precopy device sections */
    INCOMING_STAGE_COLO_IDLE,    /* waiting for CHECKPOINT_REQUEST */
    INCOMING_STAGE_CP_REQUESTED, /* guest stopped, REPLY sent */
    INCOMING_STAGE_CP_RAM,       /* after VMSTATE_SEND: RAM state */
    INCOMING_STAGE_CP_DEVICE,    /* after VMSTATE_SIZE: the blob */
    INCOMING_STAGE_CP_LOADING,   /* RECEIVED sent: flush + load */
    INCOMING_STAGE_DONE,         /* run returned */
} IncomingStage;

typedef enum IncomingDeviceStateKind {
    /* Precopy: the bytes from the first device section's type byte up to
     * and including QEMU_VM_EOF. */
    INCOMING_DEVSTATE_PRECOPY,
    /* A checkpoint's VMSTATE_SIZE blob. */
    INCOMING_DEVSTATE_CHECKPOINT,
} IncomingDeviceStateKind;

/* A completed checkpoint, as the checkpoint hook sees it. */
typedef struct IncomingCheckpoint {
    uint64_t index;            /* 0 for the first checkpoint */
    uint64_t request_offset;   /* main stream offset of its REQUEST */
    uint64_t end_offset;       /* main stream offset after its blob */
    uint64_t pages;            /* PAGE records on the main channel */
    uint64_t zero_pages;       /* ZERO records on the main channel */
    uint64_t syncs;            /* multifd syncs inside the checkpoint */
    uint64_t device_state_len; /* VMSTATE_SIZE */
    ColoFlushStats flush;
} IncomingCheckpoint;

typedef struct IncomingStats {
    uint64_t pages;             /* PAGE records, whole stream */
    uint64_t zero_pages;        /* ZERO records, whole stream */
    uint64_t syncs;             /* recv_engine_sync calls that returned */
    uint64_t checkpoints;       /* completed (flushed + loaded) */
    uint64_t precopy_end;       /* main offset after the VM description */
    uint64_t main_bytes;        /* main offset at the end of the run */
    uint64_t replies;           /* bytes written on the reply channel */
    IncomingSyncMode sync_mode; /* mode in force (AUTO resolved) */
    bool colo;                  /* ENABLE_COLO was received */
} IncomingStats;

/*
 * Hooks; every member may be NULL.  Guest memory may be read by the hook
 * while it runs (the guest is stopped and no receiver writes).
 */
typedef struct IncomingHooks {
    void *opaque;
    /* CHECKPOINT_REQUEST: stop the guest before REPLY is sent.  false =
     * error (INCOMING_ERR_HOOK unless the hook set @err). */
    bool (*stop_guest)(void *opaque, MfError *err);
    /* Start/resume the guest: on entering COLO (before CHECKPOINT_READY),
     * after LOADED, and on failover if the parser had stopped it. */
    void (*start_guest)(void *opaque);
    /* Device state, opaque to the receiver.  Checkpoints: after the flush,
     * before LOADED.  Precopy: once, before precopy_done.  false = error
     * (INCOMING_ERR_HOOK unless the hook set @err). */
    bool (*load_device_state)(void *opaque, IncomingDeviceStateKind kind,
                              const uint8_t *data, size_t len, MfError *err);
    /* Precopy fully loaded (before COLO starts or the run completes).
     * Only then: an error up to and including the optional VM description
     * (a channel error at its peek too) ends the run without this call. */
    void (*precopy_done)(void *opaque);
    /* A checkpoint was flushed and its device state loaded (guest still
     * stopped, LOADED not yet sent). */
    void (*checkpoint_done)(void *opaque, const IncomingCheckpoint *cp);
    /* The stage changed (for kill matrices; keep it cheap). */
    void (*stage)(void *opaque, IncomingStage stage);
} IncomingHooks;

typedef struct IncomingConfig {
    Chan *main;          /* primary -> secondary; required */
    Chan *reply;         /* secondary -> primary; NULL drops replies */
    RamTable *ram;       /* required; page size from ram->page_size */
    ColoState *colo;     /* x-colo on (colo_init done); NULL = off */
    RecvEngine *multifd; /* channels added by the caller; NULL = none */
    /*
     * false (live secondary): the table holds the blocks; each MEM_SIZE
     * entry must name one of them (RAM_ERR_UNKNOWN_BLOCK) with the same
     * length (INCOMING_ERR_BLOCK_LENGTH).  true (replay): the table starts
     * empty and a block is added per MEM_SIZE entry; the total must not
     * exceed max_ram.  With true and the threaded driver, no channel may
     * deliver pages before the first sync (QEMU senders never do).
     */
    bool create_blocks;
    uint64_t max_ram;          /* 0: INCOMING_MAX_RAM_DEFAULT */
    uint64_t max_device_state; /* 0: INCOMING_DEVSTATE_MAX_DEFAULT */
    IncomingSyncMode sync;     /* default (0) INCOMING_SYNC_SECTION */
    /* Plain migration: require the end of stream after the description
     * (replay); live receivers leave it false. */
    bool expect_end;
    IncomingHooks hooks;
    /* The device-state buffer; NULL: the C library. */
    const MfAllocator *allocator;
} IncomingConfig;

typedef struct Incoming Incoming;

/*
 * A parser for one incoming migration.  @cfg is copied; the channels,
 * table, COLO state and engine stay the caller's and must outlive the
 * parser.  NULL + MF_ERR_INVALID_ARG (no main channel or table, page size
 * unusable) or MF_ERR_NOMEM (fault points "mfcolo/incoming/alloc", the
 * parser, and "mfcolo/incoming/alloc-page", its page buffer).  While
 * running, "mfcolo/incoming/alloc-devstate" (the device-state buffer as
 * it grows) fails the run with MF_ERR_NOMEM located where the device
 * state is being read.
 */
Incoming *incoming_new(const IncomingConfig *cfg, MfError *err);

/*
 * Run the whole stream (see the top of this file).  true with *@outcome
 * set, or false with @err set (located).  One call per parser; a second
 * call is MF_ERR_INVALID_ARG.
 */
bool incoming_run(Incoming *in, IncomingOutcome *outcome, MfError *err);

/*
 * Ask for failover (QMP x-colo-lost-heartbeat).  Thread-safe, returns at
 * once.  Outside flush and device load: the main channel and the multifd
 * engine are shut down, the run ends with INCOMING_FAILED_OVER and the
 * partly received checkpoint is discarded.  During flush and device load
 * (INCOMING_STAGE_CP_LOADING): that checkpoint completes first, LOADED is
 * not sent, then the run fails over (QEMU's RELAUNCH).  Before COLO
 * started it only shuts the stream down: the run fails with the error the
 * shutdown caused.
 */
void incoming_request_failover(Incoming *in);

/* Current stage.  Thread-safe. */
IncomingStage incoming_stage(Incoming *in);

/* Counters so far (call when the run returned, or from a hook). */
void incoming_get_stats(Incoming *in, IncomingStats *out);

/* Free the parser (not the channels, table, COLO state or engine). */
void incoming_free(Incoming *in);

/* "section", "round", "auto". */
const char *incoming_sync_mode_name(IncomingSyncMode mode);
/* "precopy", "devices", "colo-idle", ... */
const char *incoming_stage_name(IncomingStage stage);

#endif /* MFCOLO_INCOMING_INCOMING_H */
