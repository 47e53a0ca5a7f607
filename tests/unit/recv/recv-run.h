/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Run a Scenario through a RecvEngine, stage by stage, checking the
 * invariants after every sync: I1 after precopy (guest == cache ==
 * primary), I2 after each checkpoint's sync (guest untouched but for the
 * secondary's own writes, exactly the sent pages recorded), I3 after each
 * flush (guest == primary, bitmaps empty), I5 (a sync returns only when
 * every page before the SYNCs is in place: checked by the comparisons).
 * The transport is the caller's (RsIo): in-memory channels for the
 * deterministic driver, loopback sockets for the threaded one.
 */
#ifndef MFCOLO_TESTS_RECV_RUN_H
#define MFCOLO_TESTS_RECV_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recv/recv.h"
#include "recv-scenario.h"

typedef struct RsIo {
    /* Channel @c, its 64-byte handshake readable. */
    Chan *(*open)(void *opaque, uint32_t c);
    /* Make stage @k's bytes readable on every channel (may be NULL). */
    void (*send_stage)(void *opaque, uint32_t k);
    /* Close the sending side of every channel (may be NULL). */
    void (*send_end)(void *opaque);
    void *opaque;
} RsIo;

typedef struct RsRun {
    RecvDriver driver;
    uint64_t seed; /* scheduler, channel order, secondary writes */
    size_t max_chunk;
    bool colo;           /* COLO capability (cache) */
    uint64_t trace_hash; /* out */
    uint64_t events;     /* out */
} RsRun;

/* False with a message in @why on the first failed check. */
bool rs_run(const Scenario *sc, RsRun *run, const RsIo *io, char *why,
            size_t len);

#endif /* MFCOLO_TESTS_RECV_RUN_H */
