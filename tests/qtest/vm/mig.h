/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Migration sides of the simulated VM.  migrate-src.c is the primary (an
 * outgoing migration, then COLO checkpoints); migrate-dst.c is the
 * secondary (every received byte goes to core/incoming).  Both are driven
 * from QMP on the main thread and run their own threads.
 */
#ifndef MFCOLO_QTEST_MIG_H
#define MFCOLO_QTEST_MIG_H

#include <jansson.h>
#include <stdbool.h>

#include "vm.h"

/*
 * Test-side hook points in a primary's checkpoint (x-mfcolo-kill-at and
 * x-mfcolo-pause-at; MFCOLO_KILL_AT=<stage>[:<checkpoint>] in the
 * environment).  "kill" raises SIGKILL at the point; "pause" blocks there
 * until yank, failover or x-mfcolo-continue.
 */
typedef enum SrcStage {
    SRC_STAGE_NONE,
    SRC_STAGE_BEFORE_REQUEST,   /* vCPU stopped, nothing sent yet */
    SRC_STAGE_AFTER_REPLY,      /* CHECKPOINT_REPLY read */
    SRC_STAGE_RAM_PARTIAL,      /* half a RAM packet on one channel */
    SRC_STAGE_SYNC_PARTIAL,     /* SYNC sent on some channels, not all */
    SRC_STAGE_AFTER_FLUSH,      /* MULTIFD_FLUSH (or EOS) written */
    SRC_STAGE_DEVSTATE_PARTIAL, /* half the device-state blob */
    SRC_STAGE_AFTER_RECEIVED,   /* VMSTATE_RECEIVED read */
    SRC_STAGE_CUT_CHANNEL,      /* shut one multifd socket mid-packet */
    SRC_STAGE__MAX,
} SrcStage;

const char *src_stage_name(SrcStage s);
/* SRC_STAGE_NONE and false for an unknown name. */
bool src_stage_parse(const char *name, SrcStage *s);

/* Error text for QMP, filled by the functions below on failure. */
typedef struct MigErr {
    char desc[256];
} MigErr;

/* migrate-src.c */
bool src_migrate(Vm *vm, const char *uri, MigErr *e);
bool src_set_hook(Vm *vm, SrcStage stage, bool kill, uint64_t checkpoint,
                  MigErr *e);
void src_continue(Vm *vm);
bool src_checkpoint_now(Vm *vm, MigErr *e);
void src_yank(Vm *vm);
bool src_failover(Vm *vm, MigErr *e);
void src_query(Vm *vm, json_t *ret);
void src_free(Vm *vm);

/* migrate-dst.c */
bool dst_incoming(Vm *vm, const char *uri, MigErr *e);
void dst_yank(Vm *vm);
bool dst_failover(Vm *vm, MigErr *e);
void dst_query(Vm *vm, json_t *ret);
void dst_query_colo(Vm *vm, json_t *ret);
/*
 * Pause the receiver when it enters incoming stage @stage
 * ("checkpoint-loading", ...) for the @checkpoint-th time (0: the next
 * time); released by x-mfcolo-continue.
 */
bool dst_set_pause(Vm *vm, const char *stage, uint64_t checkpoint, MigErr *e);
void dst_continue(Vm *vm);
void dst_free(Vm *vm);

#endif /* MFCOLO_QTEST_MIG_H */
