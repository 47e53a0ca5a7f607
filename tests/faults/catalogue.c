/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "base/error.h"
#include "catalogue.h"
#include "chan/errors.h"
#include "codec/errors.h"
#include "recv/errors.h"

#define NOMEM \
    { \
        MF_ERR_NOMEM \
    }

static const FaultPoint points[] = {
    /* base */
    { "mfcolo/base/mutex-init",
      "pthread_mutex_init of a lock fails with EAGAIN",
      { MF_ERR_NOMEM, RECV_ERR_THREAD } },
    /* chan */
    { "mfcolo/chan/alloc", "calloc of the Chan struct returns NULL", NOMEM },
    { "mfcolo/chan/alloc-peek", "growing the peek buffer returns NULL", NOMEM },
    { "mfcolo/chan/alloc-sink", "growing a memory sink returns NULL", NOMEM },
    { "mfcolo/chan/read",
      "read/readv/recv: -1, errno EIO (failinfo)",
      { CHAN_ERR_IO } },
    { "mfcolo/chan/write",
      "write/send: -1, errno EIO (failinfo)",
      { CHAN_ERR_IO } },
    { "mfcolo/chan/poll",
      "poll before a blocking fd op: -1, errno EIO",
      { CHAN_ERR_IO } },
    { "mfcolo/chan/wakeup-pipe",
      "pipe2 of the wake-up pipe: errno EMFILE",
      { CHAN_ERR_IO } },
    /* codec */
    { "mfcolo/codec/alloc", "calloc of the codec / z_stream returns NULL",
      NOMEM },
    { "mfcolo/codec/alloc-zlib",
      "a zlib internal allocation returns NULL",
      { MF_ERR_NOMEM, CODEC_ERR_INIT, CODEC_ERR_DECOMPRESS } },
    { "mfcolo/codec/alloc-zstd",
      "a zstd internal allocation (decoder, buffers) returns NULL",
      { CODEC_ERR_INIT, CODEC_ERR_DECOMPRESS } },
    { "mfcolo/codec/init",
      "ZSTD_createDStream NULL / inflateInit "
      "Z_MEM_ERROR",
      { CODEC_ERR_INIT } },
    { "mfcolo/codec/step",
      "one decompress call reports a data error",
      { CODEC_ERR_DECOMPRESS } },
    /* ram */
    { "mfcolo/ram/alloc-table", "growing the block array returns NULL", NOMEM },
    { "mfcolo/ram/alloc-block", "calloc of a RamBlock returns NULL", NOMEM },
    { "mfcolo/ram/alloc-host", "guest memory of a block returns NULL", NOMEM },
    { "mfcolo/ram/alloc-received", "the received bitmap returns NULL", NOMEM },
    { "mfcolo/ram/alloc-cache", "a block's COLO cache returns NULL", NOMEM },
    { "mfcolo/ram/alloc-dirty", "a block's dirty bitmap returns NULL", NOMEM },
    { "mfcolo/ram/alloc-guest-dirty",
      "a block's guest-dirty bitmap "
      "returns NULL",
      NOMEM },
    /* recv */
    { "mfcolo/recv/alloc-engine", "calloc of the engine returns NULL", NOMEM },
    { "mfcolo/recv/alloc-slots", "the channel slot array returns NULL", NOMEM },
    { "mfcolo/recv/alloc-channel", "a channel's state returns NULL", NOMEM },
    { "mfcolo/recv/alloc-packet", "a channel's packet buffers return NULL",
      NOMEM },
    { "mfcolo/recv/alloc-payload", "a payload buffer returns NULL", NOMEM },
    { "mfcolo/recv/thread-create",
      "pthread_create fails with EAGAIN",
      { RECV_ERR_THREAD } },
    /* incoming */
    { "mfcolo/incoming/alloc", "calloc of the parser returns NULL", NOMEM },
    { "mfcolo/incoming/alloc-page", "the page buffer returns NULL", NOMEM },
    { "mfcolo/incoming/alloc-devstate",
      "the device-state buffer returns "
      "NULL",
      NOMEM },
};

size_t catalogue_count(void)
{
    return sizeof(points) / sizeof(points[0]);
}

const FaultPoint *catalogue_point(size_t i)
{
    return i < catalogue_count() ? &points[i] : NULL;
}

const FaultPoint *catalogue_find(const char *name)
{
    size_t i;

    for (i = 0; i < catalogue_count(); i++) {
        if (!strcmp(points[i].name, name)) {
            return &points[i];
        }
    }
    return NULL;
}

bool catalogue_allows(const FaultPoint *fp, int code)
{
    size_t i;

    for (i = 0; fp && i < CATALOGUE_MAX_CODES && fp->codes[i]; i++) {
        if (fp->codes[i] == code) {
            return true;
        }
    }
    return false;
}
