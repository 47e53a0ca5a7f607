/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Error codes of the incoming layer (see base/error.h for the ranges).
 * Every one is located on the main channel ("main", stream offset of the
 * first byte of the offending field, or of the end of stream for
 * INCOMING_ERR_TRUNCATED / INCOMING_ERR_VMSTATE_SHORT).
 */
#ifndef MFCOLO_INCOMING_ERRORS_H
#define MFCOLO_INCOMING_ERRORS_H

#include "base/error.h"

typedef enum IncomingError {
    /* The stream ends inside an item (header, section, record, message). */
    INCOMING_ERR_TRUNCATED = MF_ERR_INCOMING_RANGE + 1,
    /* A section type byte that is known but not allowed at this point. */
    INCOMING_ERR_UNEXPECTED_SECTION,
    /* START/PART/END of a section that is not the "ram" section. */
    INCOMING_ERR_UNKNOWN_SECTION,
    /* "ram" SECTION_START with instance_id != 0 or version_id != 4. */
    INCOMING_ERR_SECTION_VERSION,
    /* CONFIGURATION name length 0 or above 255. */
    INCOMING_ERR_CONFIGURATION,
    /* A known QEMU_VM_COMMAND this receiver does not model (postcopy...). */
    INCOMING_ERR_COMMAND_UNSUPPORTED,
    /* OPEN_RETURN_PATH/PING with a length other than 0/4. */
    INCOMING_ERR_COMMAND_LENGTH,
    /* ENABLE_COLO twice or after the RAM section started. */
    INCOMING_ERR_COMMAND_UNEXPECTED,
    /* PING before OPEN_RETURN_PATH (QEMU: "received with no return path"). */
    INCOMING_ERR_NO_RETURN_PATH,
    /* ENABLE_COLO on a receiver without COLO (no ColoState: x-colo off). */
    INCOMING_ERR_COLO_NOT_ENABLED,
    /* MEM_SIZE list: a block longer than what is left of the total, a
     * list outside SECTION_START or a second list. */
    INCOMING_ERR_MEM_SIZE,
    /* Live receiver: a MEM_SIZE block whose length differs from ours. */
    INCOMING_ERR_BLOCK_LENGTH,
    /* Replay: the MEM_SIZE total is above IncomingConfig.max_ram. */
    INCOMING_ERR_RAM_TOO_LARGE,
    /* RAM_SAVE_FLAG_CONTINUE with no block named before. */
    INCOMING_ERR_NO_CURRENT_BLOCK,
    /* VMSTATE_SIZE or precopy device state above the bound. */
    INCOMING_ERR_DEVICE_STATE_SIZE,
    /* Fewer device-state bytes than VMSTATE_SIZE announced. */
    INCOMING_ERR_VMSTATE_SHORT,
    /* VM description JSON length above the bound. */
    INCOMING_ERR_VMDESC_SIZE,
    /* A valid COLO message that is not the one expected here. */
    INCOMING_ERR_COLO_UNEXPECTED,
    /* Bytes after the end of a complete plain migration (expect_end). */
    INCOMING_ERR_TRAILING_DATA,
    /* A hook (stop_guest, load_device_state) reported failure. */
    INCOMING_ERR_HOOK,
    /* A checkpoint's RAM state ended (QEMU_VM_EOF) without a multifd sync:
     * its multifd pages may still be in flight, so it is not flushed. */
    INCOMING_ERR_NO_SYNC,
} IncomingError;

#endif /* MFCOLO_INCOMING_ERRORS_H */
