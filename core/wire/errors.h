/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Error codes of the wire layer (see base/error.h for the ranges). */
#ifndef MFCOLO_WIRE_ERRORS_H
#define MFCOLO_WIRE_ERRORS_H

#include "base/error.h"

typedef enum WireError {
    WIRE_ERR_CHANNEL_MAGIC = MF_ERR_WIRE_RANGE + 1, /* not QEVM/multifd */
    WIRE_ERR_HANDSHAKE_MAGIC,
    WIRE_ERR_HANDSHAKE_VERSION,
    WIRE_ERR_PACKET_MAGIC,
    WIRE_ERR_PACKET_VERSION,
    WIRE_ERR_PACKET_DEVICE_STATE,
    WIRE_ERR_PACKET_COMPRESSION,
    WIRE_ERR_PACKET_PAGES_ALLOC,
    WIRE_ERR_PACKET_NORMAL_PAGES,
    WIRE_ERR_PACKET_ZERO_PAGES,
    WIRE_ERR_PACKET_BLOCK_NAME,
    WIRE_ERR_PACKET_BLOCK_NAME_EMPTY,
    WIRE_ERR_DEVSTATE_SYNC,
    WIRE_ERR_DEVSTATE_EMPTY,
    WIRE_ERR_DEVSTATE_IDSTR,
    WIRE_ERR_VM_MAGIC,
    WIRE_ERR_VM_VERSION,
    WIRE_ERR_VM_SECTION_TYPE,
    WIRE_ERR_RAM_FLAGS,
    WIRE_ERR_COLO_MESSAGE,
    WIRE_ERR_VM_FOOTER,     /* section footer missing or wrong id */
    WIRE_ERR_VM_COMMAND,    /* unknown command or bad length */
    WIRE_ERR_RAM_ZERO_FILL, /* ZERO record fill byte not 0 */
} WireError;

#endif /* MFCOLO_WIRE_ERRORS_H */
