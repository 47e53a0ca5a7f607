/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Error codes of the recv layer (see base/error.h for the ranges). */
#ifndef MFCOLO_RECV_ERRORS_H
#define MFCOLO_RECV_ERRORS_H

#include "base/error.h"

typedef enum RecvError {
    /* Handshake over the channel set (recv_engine_add_channel). */
    RECV_ERR_CHANNEL_ID = MF_ERR_RECV_RANGE + 1, /* id >= channels */
    RECV_ERR_DUPLICATE_ID,      /* a channel with this id exists */
    RECV_ERR_UUID,              /* uuid differs from the expected one */
    RECV_ERR_TOO_MANY_CHANNELS, /* connection beyond the expected count */
    /* Per-channel stream. */
    RECV_ERR_EOF,           /* end of stream inside handshake/packet */
    RECV_ERR_DEVICE_STATE,  /* device-state packet, no handler */
    RECV_ERR_DEVSTATE_SIZE, /* device-state payload above the bound */
    /* Engine. */
    RECV_ERR_CANCELLED,    /* recv_engine_cancel() */
    RECV_ERR_THREAD,       /* a channel thread could not start */
    RECV_ERR_NOT_READY,    /* sync before every channel was added */
    RECV_ERR_SYNC_EOF,     /* channel ended cleanly, sync expected */
    RECV_ERR_SYNC_PENDING, /* finish while a channel waits at SYNC */
    RECV_ERR_STATE,        /* channel driven after it stopped */
} RecvError;

#endif /* MFCOLO_RECV_ERRORS_H */
