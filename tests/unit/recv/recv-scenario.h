/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Multi-stage multifd streams for the recv sweeps and the loopback test:
 * a precopy stage (every page) and COLO checkpoints (a random subset),
 * spread over the channels by a seed, in the shapes old and new QEMUs
 * send (zero pages in packets or not, SYNC riding on data followed by a
 * stale empty packet, duplicate pages, one compressed stream per
 * channel).  Each stage ends with a SYNC on every channel.  Records the
 * primary's memory after every stage and the byte range of every stage
 * on every channel.
 *
 * Local to the recv tests: the engine needs only the multifd channels
 * (no main channel), at byte-exact stage boundaries.  Allocation failure
 * aborts (test code).
 */
#ifndef MFCOLO_TESTS_RECV_SCENARIO_H
#define MFCOLO_TESTS_RECV_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include "recv-gen.h"

#define RS_MAX_CHANNELS 8
#define RS_MAX_STAGES 8

typedef struct RsConfig {
    uint32_t channels;
    WireCompression comp;
    uint32_t page_size;
    uint32_t npages;      /* pages of the one block "pc.ram" */
    uint32_t checkpoints; /* stages after precopy */
    uint32_t max_packet;  /* pages per packet, 1..page_count */
    bool old_style;       /* QEMU 7.2 shapes */
    uint64_t seed;
    uint8_t uuid[WIRE_UUID_SIZE];
} RsConfig;

typedef struct Scenario {
    RsConfig cfg;
    RgStream s[RS_MAX_CHANNELS];
    /* Byte after stage k on channel c (stage 0 starts after the 64 B). */
    size_t stage_end[RS_MAX_CHANNELS][RS_MAX_STAGES];
    uint8_t *image[RS_MAX_STAGES]; /* primary memory after stage k */
    uint8_t *sent[RS_MAX_STAGES];  /* per page: sent in stage k */
    uint64_t packets;
} Scenario;

void rs_build(Scenario *sc, const RsConfig *cfg);
void rs_free(Scenario *sc);

#endif /* MFCOLO_TESTS_RECV_SCENARIO_H */
