/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Error codes of the codec layer (see base/error.h for the ranges). */
#ifndef MFCOLO_CODEC_ERRORS_H
#define MFCOLO_CODEC_ERRORS_H

#include "base/error.h"

typedef enum CodecError {
    CODEC_ERR_UNSUPPORTED = MF_ERR_CODEC_RANGE + 1, /* method not built in */
    CODEC_ERR_INIT,               /* the library could not create a decoder */
    CODEC_ERR_METHOD,             /* packet's compression value != configured */
    CODEC_ERR_PAYLOAD_SIZE,       /* next_packet_size 0 or above the bound */
    CODEC_ERR_UNEXPECTED_PAYLOAD, /* payload announced without pages */
    CODEC_ERR_DECOMPRESS,         /* the library rejected the stream */
    CODEC_ERR_SIZE,               /* output not exactly npages x page_size */
} CodecError;

#endif /* MFCOLO_CODEC_ERRORS_H */
