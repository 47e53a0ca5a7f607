/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A whole fake-primary run in one call, for tiers that need "a realistic
 * migration + N checkpoints" without writing the loop: precopy rounds and
 * checkpoints, each preceded by the migration-test increment workload
 * and random page dirtying (with zero pages) on the primary's memory.
 */
#ifndef MFCOLO_SUPPORT_SCENARIO_H
#define MFCOLO_SUPPORT_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "primary.h"

typedef struct ScenarioSpec {
    PrimaryConfig cfg;
    const MemImage *image;   /* NULL: scenario_default_image(seed) */
    uint32_t precopy_rounds; /* PART sections before the END */
    uint32_t checkpoints;
    uint64_t incr_steps; /* increment steps before every stage */
    uint64_t incr_start; /* byte range in block 0, page aligned */
    uint64_t incr_end;
    uint64_t random_pages;        /* random pages before every stage */
    unsigned random_zero_percent; /* of which rewritten as zero pages */
    const PrimaryFault *faults;   /* armed before precopy */
    size_t nfaults;
} ScenarioSpec;

/*
 * Defaults: primary_config_init(style, channels, comp), cfg.seed = seed,
 * 1 precopy round, 3 checkpoints, 300 increment steps over pages
 * 16..80 of block 0, 40 random pages per stage, 25% of them zero.
 */
void scenario_spec_init(ScenarioSpec *s, PrimaryStyle style, uint32_t channels,
                        WireCompression comp, uint64_t seed);

/*
 * "pc.ram" 1 MiB, "pc.bios" 64 KiB, "/rom@etc/acpi/rsdp" 4 KiB; 200
 * random pages of pc.ram/pc.bios written (seeded), the rest zero.
 */
MemImage *scenario_default_image(uint64_t seed);

/* Run the scenario; the caller frees the Primary. */
Primary *scenario_run(const ScenarioSpec *s);

/*
 * Write the streams like the captures: DIR/conn-0.bin (main),
 * DIR/conn-<1 + i>.bin (connection 1 + i), DIR/conn-0.d2s.bin (the
 * replies a correct secondary sends).  False (errno set) on I/O errors.
 */
bool primary_save(const Primary *p, const char *dir);

#endif /* MFCOLO_SUPPORT_SCENARIO_H */
