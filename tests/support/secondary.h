/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One way to build a secondary: the whole receiver of core/ (the RAM
 * table and its blocks, the COLO state, the multifd receive engine, the
 * main-channel parser) wired the same way for every tier and tool.
 *
 * Steps, in the order a live secondary takes them:
 *   secondary_build          RAM table (page size, allocator, blocks or
 *                            none for a stream that creates them), COLO
 *                            state when COLO is on, and the engine when
 *                            the options ask for multifd channels
 *   secondary_start_multifd  the engine, for a caller that learns its
 *                            multifd settings later (a live listener)
 *   secondary_add_channel    each multifd connection
 *   secondary_attach_main    the main channel, its reply channel and the
 *                            parser (incoming_new)
 * Then incoming_run(s->in, ...), and secondary_free.
 *
 * The builder owns what it is given: channels passed to
 * secondary_add_channel and secondary_attach_main are freed by the
 * builder (by the engine, for multifd channels) whether the call succeeds
 * or not.  The members of Secondary are for reading (guest memory, the
 * COLO phase, the engine, the parser); they are torn down by
 * secondary_free, in the reverse order of building.
 *
 * This file depends on core/ alone (not on the rest of tests/support), so
 * it can be compiled into each variant of core/: the fault-point build,
 * the planted-bug twins of the fuzz tier, and tools/replay.  It does not
 * abort: every failure is an MfError (MF_ERR_NOMEM when the Secondary
 * itself cannot be allocated), so fault-injection runs can use it.
 */
#ifndef MFCOLO_SUPPORT_SECONDARY_H
#define MFCOLO_SUPPORT_SECONDARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/alloc.h"
#include "base/error.h"
#include "chan/chan.h"
#include "colo/colo.h"
#include "incoming/incoming.h"
#include "ram/ram.h"
#include "recv/recv.h"
#include "wire/multifd.h"

#define SECONDARY_PAGE_SIZE_DEFAULT 4096u

/* A RAM block of a live secondary's layout. */
typedef struct SecondaryBlock {
    const char *name;
    uint64_t size;
    uint8_t *host; /* guest memory of the caller; NULL: the table's */
} SecondaryBlock;

/* The multifd receive engine's settings (RecvConfig less the shared ones). */
typedef struct SecondaryMultifd {
    uint32_t channels; /* 0: no engine */
    WireCompression compression;
    RecvDriver driver;
    uint64_t seed;    /* deterministic driver's scheduler */
    size_t max_chunk; /* deterministic driver: largest delivery, 0 = any */
    bool expect_uuid; /* false: every handshake carries the first's uuid */
    uint8_t uuid[WIRE_UUID_SIZE];
} SecondaryMultifd;

typedef struct SecondaryOptions {
    uint32_t page_size; /* 0: SECONDARY_PAGE_SIZE_DEFAULT */
    /* The RAM table's memory, the engine's and the parser's device-state
     * buffer; NULL: the C library. */
    const MfAllocator *allocator;
    /*
     * RAM layout.  create_blocks (replay): the table starts empty and the
     * stream's MEM_SIZE list creates the blocks, at most max_ram bytes in
     * all; blocks must then be empty.  Otherwise (live secondary): the
     * table holds these blocks and the stream must name them.
     */
    bool create_blocks;
    const SecondaryBlock *blocks;
    size_t nblocks;
    uint64_t max_ram; /* 0: INCOMING_MAX_RAM_DEFAULT */
    /* x-colo: a ColoState given to the engine and the parser. */
    bool colo;
    /* Built with the rest when multifd.channels > 0. */
    SecondaryMultifd multifd;
    /* The main channel's parser (IncomingConfig). */
    IncomingSyncMode sync;
    bool expect_end;
    uint64_t max_device_state; /* 0: INCOMING_DEVSTATE_MAX_DEFAULT */
    IncomingHooks hooks;
} SecondaryOptions;

typedef struct Secondary {
    SecondaryOptions opts; /* a copy (blocks not kept) */
    RamTable ram;
    ColoState colo;     /* valid when colo_on */
    bool colo_on;       /* colo_init done */
    RecvEngine *engine; /* NULL: no multifd (yet) */
    Chan *main;         /* from secondary_attach_main */
    Chan *reply;
    Incoming *in; /* NULL until secondary_attach_main succeeded */
} Secondary;

/*
 * The RAM table with the layout's blocks, the COLO state (o->colo) and,
 * when o->multifd.channels > 0, the engine.  NULL + @err on failure
 * (whatever was built is freed): the codes of ram_table_init,
 * ram_table_add, colo_init and recv_engine_new, MF_ERR_INVALID_ARG for
 * blocks given with create_blocks, MF_ERR_NOMEM.
 */
Secondary *secondary_build(const SecondaryOptions *o, MfError *err);

/*
 * The engine, with @m (channels > 0), placing pages through the COLO
 * state when COLO is on.  MF_ERR_INVALID_ARG if there is one already, or
 * the codes of recv_engine_new.
 */
bool secondary_start_multifd(Secondary *s, const SecondaryMultifd *m,
                             MfError *err);

/*
 * A multifd connection whose next bytes are its handshake
 * (recv_engine_add_channel).  @c is the engine's from here, even on
 * failure; with no engine it is freed and the result is
 * MF_ERR_INVALID_ARG.
 */
bool secondary_add_channel(Secondary *s, Chan *c, MfError *err);

/*
 * The main channel (@main) and the channel replies go to (@reply, may be
 * NULL: replies dropped), then the parser over the table, the COLO state
 * and the engine built so far.  Both channels are the builder's from
 * here, even on failure.  The codes of incoming_new; MF_ERR_INVALID_ARG
 * when a main channel is attached already.
 */
bool secondary_attach_main(Secondary *s, Chan *main, Chan *reply, MfError *err);

/* The COLO state when COLO is on, else NULL. */
ColoState *secondary_colo(Secondary *s);

/*
 * Cancel the engine, join its threads and free it, once the parser no
 * longer runs (a live secondary closing its multifd connections early).
 * No-op without an engine.
 */
void secondary_stop_multifd(Secondary *s);

/*
 * Free the parser, the engine (recv_engine_free joins its threads), the
 * channels, the COLO state and the table.  NULL is a no-op.
 */
void secondary_free(Secondary *s);

#endif /* MFCOLO_SUPPORT_SECONDARY_H */
