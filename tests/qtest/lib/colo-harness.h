/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO scenarios over two mfcolo-vm processes: start a primary and a
 * secondary, migrate into COLO state, count checkpoints, fail over, and
 * check the survivor's memory (the oracles of the qtest tier).
 */
#ifndef MFCOLO_QTEST_COLO_HARNESS_H
#define MFCOLO_QTEST_COLO_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "libqtest.h"

typedef struct ColoArgs {
    bool multifd;
    const char *compression; /* "none", "zstd", "zlib" */
    int channels;            /* multifd-channels (both sides) */
    int checkpoint_delay_ms; /* x-checkpoint-delay */
    uint64_t seed;
    const char *workload; /* vCPU workload spec (increment) */
    bool sender_72;       /* the primary sends like QEMU 7.2 */
} ColoArgs;

typedef struct ColoPair {
    ColoArgs a;
    QTestState *from; /* primary */
    QTestState *to;   /* secondary */
    char ckpt_dir[4200];
    char layout[256]; /* -block arguments */
    char spec[128];   /* -workload argument */
    uint64_t ram_size;
    uint64_t resumes; /* RESUME events seen on the secondary */
} ColoPair;

/* Totals printed at the end of a test program. */
typedef struct ColoStats {
    unsigned scenarios;
    unsigned failovers;
    uint64_t pages_compared;
    uint64_t own_pages;
} ColoStats;

extern ColoStats colo_stats;

/* Seed for @scenario: $MFCOLO_SEED, else a hash of the name. */
uint64_t colo_seed_for(const char *scenario);

/*
 * Start both VMs (layout and workload derived from a->seed), set
 * capabilities and parameters on both, start the incoming side.
 */
void colo_pair_start(ColoPair *p, const ColoArgs *a);
/* migrate; wait for "colo" on the primary and RESUME on the secondary. */
void colo_pair_migrate(ColoPair *p);
/* Wait for @n more completed checkpoints (RESUME on the secondary). */
void colo_wait_checkpoints(ColoPair *p, unsigned n);
/* QEMU's failover on @survivor: exec-oob yank, x-colo-lost-heartbeat,
 * then wait for status "completed" and the guest running. */
void colo_failover(ColoPair *p, QTestState *survivor);
/* After a failover was requested: wait for "completed" and running. */
void colo_wait_failed_over(ColoPair *p, QTestState *survivor);
/*
 * The secondary survived: its memory keeps changing; then, stopped, it
 * must equal exactly ckpt-<f>.img plus its own guest steps since f,
 * replayed here from ckpt-<f>.vcpu (I4), where f is the checkpoint whose
 * device state it last applied and must lie in [f_min, f_max]; for the
 * increment workload check_guests_ram holds too.  Restarts the guest.
 */
void colo_check_secondary(ColoPair *p, uint64_t f_min, uint64_t f_max);
/* The primary survived: memory keeps changing, equals its last
 * checkpoint image plus its steps since; check_guests_ram. */
void colo_check_primary(ColoPair *p);
/* Checkpoints the primary started / saw acknowledged. */
void colo_primary_counts(ColoPair *p, uint64_t *sent, uint64_t *done);
/* Quit what is still running and free; the tmp files go too. */
void colo_pair_end(ColoPair *p);

#endif /* MFCOLO_QTEST_COLO_HARNESS_H */
