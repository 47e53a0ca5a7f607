/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Checkpoint timing against a real QEMU COLO secondary (issue 16, part
 * b): mfcolo's test primary (tests/support/primary.h) drives a fresh
 * qemu-system-x86_64, started through the qtest seam (tests/qtest/lib,
 * QT_BACKEND_QEMU, -incoming defer, x-colo), through precopy and
 * @checkpoints COLO checkpoints, the way tests/qemu/colo-real.c does
 * (same machine, same recorded halted guest and device state from
 * tests/data/qemu-colo-halted, same stream shape per version).
 *
 * The secondary is a black box; each checkpoint is timed on the primary:
 *   received  VMSTATE_SEND written .. VMSTATE_RECEIVED read (RAM state
 *             received, multifd sync, device blob read)
 *   loaded    VMSTATE_RECEIVED read .. VMSTATE_LOADED read (COLO cache
 *             flush and device state applied)
 *   total     the sum
 *
 * The primary ACKs every COLO message it reads at once (TCP_QUICKACK):
 * QEMU writes RECEIVED and then LOADED on its main channel without
 * TCP_NODELAY, so with the kernel's delayed ACK (40 ms on Linux) LOADED
 * waits for the ACK of RECEIVED (Nagle) and every checkpoint gets about
 * 40 ms that have nothing to do with memory.  MFCOLO_BENCH_DELAYED_ACK=1
 * keeps the kernel's default, to see that stall.
 *
 * Workloads touch only pc.ram from COLO_QEMU_WIN_START on (the recorded
 * firmware and option ROM pages stay as recorded): idle writes
 * @idle_pages whole random pages per checkpoint, load writes
 * @load_bytes sequential seeded bytes per checkpoint (an upload),
 * wrapping inside the window.  After the last LOADED, pc.ram (read from
 * its backing file) is compared with the primary's memory; then QEMU is
 * killed by its pid with SIGKILL.  Every wait is bounded by @reply_ms.
 */
#ifndef MFCOLO_BENCH_COLO_QEMU_H
#define MFCOLO_BENCH_COLO_QEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "primary.h"

/*
 * The guest RAM of the seam's machine (-m 32) and the workload window:
 * 4 MiB .. 31 MiB of pc.ram (the recorded pages lie below 2 MiB and from
 * 0x1fa2000 on: SeaBIOS's high tables).
 */
#define COLO_QEMU_GUEST_BYTES (32ull << 20)
#define COLO_QEMU_WIN_START (4ull << 20)
#define COLO_QEMU_WIN_BYTES ((31ull << 20) - COLO_QEMU_WIN_START)
#define COLO_QEMU_MAX_CHANNELS 8

typedef struct ColoQemuConfig {
    const char *binary;    /* NULL: qt_qemu_binary() */
    const char *data_root; /* folder holding qemu-colo-halted/ */
    uint32_t channels;     /* 0: plain */
    WireCompression comp;  /* NONE or ZSTD */
    uint32_t checkpoints;
    uint64_t seed;
    uint64_t load_bytes; /* per checkpoint; 0: idle */
    uint32_t idle_pages; /* per checkpoint when idle */
    int reply_ms;        /* bound of every wait for a COLO message */
} ColoQemuConfig;

typedef struct ColoQemuSample {
    double total, received, loaded; /* seconds */
    uint64_t pages;                 /* pages of the checkpoint */
    uint64_t bytes;                 /* stream bytes, every connection */
} ColoQemuSample;

typedef struct ColoQemuResult {
    char version[160]; /* first line of BIN -version */
    uint32_t measured; /* checkpoints with LOADED (samples filled) */
    bool memory_equal; /* pc.ram == primary memory after the last */
    uint64_t pages_differ;
    Primary *primary; /* the streams, for baselines; caller frees */
} ColoQemuResult;

/*
 * One session on a fresh QEMU.  Fills @out[0..measured).  Returns false
 * with the reason in @why when a checkpoint did not complete (the
 * samples of the earlier ones are kept); fails the process (qt_fail)
 * when QEMU cannot be started or set up.
 */
bool colo_qemu_session(const ColoQemuConfig *cfg, ColoQemuSample *out,
                       ColoQemuResult *res, char *why, size_t why_size);

#endif /* MFCOLO_BENCH_COLO_QEMU_H */
