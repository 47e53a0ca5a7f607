/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fault-tier scenarios: a fake primary's streams (generated once, before
 * any fault is armed) received by the real path (RamTable, ColoState,
 * RecvEngine, Incoming), then checked:
 *
 *   success     outcome as expected, guest memory == the primary's memory
 *               at the expected stage, replies == the primary's replies;
 *   failure     guest memory == the last flushed checkpoint when precopy
 *               had completed (I4; phase failed-over in COLO runs), else
 *               the precopy mirror still holds (I1: guest == cache in
 *               every block, no dirty bit); replies a prefix of the
 *               expected ones; an error from the run located on a channel
 *               (MfError.where set).
 *
 * Everything the receiver allocated is freed before scenario_run returns.
 */
#ifndef MFCOLO_FAULTS_SCENARIO_H
#define MFCOLO_FAULTS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "incoming/incoming.h"
#include "primary.h"
#include "recv/recv.h"

typedef struct ScenarioDef {
    const char *name;
    uint32_t channels;
    WireCompression comp;
    PrimaryStyle style;
    int checkpoints; /* 0: plain precopy (no ENABLE_COLO) */
    int failover_at; /* -1, or request failover when checkpoint k's
                         * RAM state starts arriving */
    RecvDriver driver;
    size_t chunk; /* largest read of every channel (0: any) */
    /*
     * Sender threads write a socket (main, replies read back) and pipes
     * (multifd), paced like QEMU's primary in COLO runs.  Threaded COLO
     * scenarios need this: unpaced memory channels let channel threads
     * place a checkpoint's pages while the receiver is still in precopy
     * (a stream no primary sends), which then reach guest memory.
     */
    bool fd;
    bool full_only; /* only in the exhaustive suite */
} ScenarioDef;

size_t scenario_count(void);
const ScenarioDef *scenario_def(size_t i);
const ScenarioDef *scenario_find(const char *name);

typedef struct Scenario Scenario;

/* Generate the streams of @def (aborts on allocation failure). */
Scenario *scenario_new(const ScenarioDef *def);
void scenario_free(Scenario *s);

typedef enum ScenarioCheck {
    SCEN_OK,        /* every check passed */
    SCEN_MEMORY,    /* guest memory not the expected stage (I4) */
    SCEN_INVARIANT, /* I1 end state, phase or replies wrong */
    SCEN_UNLOCATED, /* run error without a channel name */
    SCEN_OUTCOME,   /* success but wrong outcome or stage count */
} ScenarioCheck;

typedef struct ScenarioResult {
    bool setup_failed; /* failed before incoming_run */
    bool ok;           /* receiver succeeded */
    MfError err;       /* the error when !ok */
    IncomingOutcome outcome;
    IncomingStats st;
    ScenarioCheck check;
    char why[300]; /* what a failed check found */
} ScenarioResult;

void scenario_run(const Scenario *s, ScenarioResult *res);
const char *scenario_check_name(ScenarioCheck c);

#endif /* MFCOLO_FAULTS_SCENARIO_H */
