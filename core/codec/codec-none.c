/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * none: the payload is the pages themselves.  Receivers normally read
 * them straight into place (codec_is_raw()); codec_decompress() copies a
 * payload already in memory (replay), which must be exactly the pages.
 */
#include <string.h>

#include "codec/codec-int.h"
#include "codec/errors.h"

static bool codec_none_init(Codec *c, MfError *err)
{
    (void)c;
    (void)err;
    return true;
}

static bool codec_none_decompress(Codec *c, const uint8_t *in, size_t len,
                                  uint8_t *const *pages, uint32_t npages,
                                  MfError *err)
{
    size_t want = (size_t)npages * c->page_size;
    uint32_t i;

    if (len != want) {
        if (len < want) {
            return codec_fail_short(c, err, len, len, npages);
        }
        return mf_error_set(err, CODEC_ERR_SIZE, want,
                            "none payload of %zu bytes, expected %u pages "
                            "x %u = %zu",
                            len, npages, c->page_size, want);
    }
    for (i = 0; i < npages; i++) {
        memcpy(pages[i], in + (size_t)i * c->page_size, c->page_size);
    }
    return true;
}

const CodecOps codec_none_ops = {
    .init = codec_none_init,
    .decompress = codec_none_decompress,
    .cleanup = NULL,
};
