/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Error codes of the colo layer (see base/error.h for the ranges). */
#ifndef MFCOLO_COLO_ERRORS_H
#define MFCOLO_COLO_ERRORS_H

#include "base/error.h"

typedef enum ColoError {
    COLO_ERR_PHASE = MF_ERR_COLO_RANGE + 1, /* operation not in this phase */
    COLO_ERR_NO_CACHE,                      /* COLO not enabled on the table */
} ColoError;

#endif /* MFCOLO_COLO_ERRORS_H */
