/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Error codes of the ram layer (see base/error.h for the ranges). */
#ifndef MFCOLO_RAM_ERRORS_H
#define MFCOLO_RAM_ERRORS_H

#include "base/error.h"

typedef enum RamError {
    RAM_ERR_PAGE_SIZE = MF_ERR_RAM_RANGE + 1,
    RAM_ERR_NAME_LENGTH,
    RAM_ERR_DUPLICATE_BLOCK,
    RAM_ERR_BLOCK_LENGTH,
    RAM_ERR_UNKNOWN_BLOCK,
    RAM_ERR_BLOCK_TOO_SMALL,
    RAM_ERR_OFFSET_RANGE,
    RAM_ERR_OFFSET_UNALIGNED,
} RamError;

#endif /* MFCOLO_RAM_ERRORS_H */
