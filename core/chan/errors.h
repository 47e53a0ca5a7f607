/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Error codes of the chan layer (see base/error.h for the ranges). */
#ifndef MFCOLO_CHAN_ERRORS_H
#define MFCOLO_CHAN_ERRORS_H

#include "base/error.h"

typedef enum ChanError {
    CHAN_ERR_IO = MF_ERR_CHAN_RANGE + 1, /* read/write/poll failed: errno */
    CHAN_ERR_EOF,        /* end of stream inside a chan_read_full/peek */
    CHAN_ERR_SHUTDOWN,   /* chan_shutdown() was called */
    CHAN_ERR_WRONG_KIND, /* read on a sink, write on a memory source */
} ChanError;

#endif /* MFCOLO_CHAN_ERRORS_H */
