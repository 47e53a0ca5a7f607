/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * zstd: one ZSTD_DStream per channel, never reset.  The sender keeps one
 * ZSTD_CStream per channel and ends each packet with ZSTD_e_flush, so a
 * packet's payload is a run of complete blocks of a frame that spans the
 * whole migration (QEMU multifd-zstd.c).
 *
 * The decoder and its window are allocated through the codec's allocator
 * (ZSTD_customMem, a stable part of zstd's advanced API since 1.0), with
 * the fault point mfcolo/codec/alloc-zstd on every allocation.
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createDStream_advanced */
#include <zstd.h>

#include "base/alloc.h"
#include "base/fault.h"
#include "codec/codec-int.h"
#include "codec/errors.h"

static void *codec_zstd_alloc(void *opaque, size_t size)
{
    const Codec *c = opaque;

    return mf_alloc_raw(c->alloc, "mfcolo/codec/alloc-zstd", size);
}

static void codec_zstd_free(void *opaque, void *p)
{
    const Codec *c = opaque;

    mf_free_in(c->alloc, p);
}

static bool codec_zstd_init(Codec *c, MfError *err)
{
    ZSTD_customMem mem = {
        .customAlloc = codec_zstd_alloc,
        .customFree = codec_zstd_free,
        .opaque = c,
    };
    ZSTD_DStream *ds = NULL;
    size_t r;

    if (!mf_fault("mfcolo/codec/init")) {
        ds = ZSTD_createDStream_advanced(mem);
    }
    if (!ds) {
        return mf_error_set(err, CODEC_ERR_INIT, 0,
                            "ZSTD_createDStream failed");
    }
    r = ZSTD_initDStream(ds);
    if (ZSTD_isError(r)) {
        ZSTD_freeDStream(ds);
        return mf_error_set(err, CODEC_ERR_INIT, 0,
                            "ZSTD_initDStream failed: %s",
                            ZSTD_getErrorName(r));
    }
    c->state = ds;
    return true;
}

/* One decompression step; false with @err set on a library error. */
static bool codec_zstd_step(Codec *c, ZSTD_outBuffer *out, ZSTD_inBuffer *in,
                            MfError *err)
{
    size_t r;

    if (mf_fault("mfcolo/codec/step")) {
        return mf_error_set(err, CODEC_ERR_DECOMPRESS, in->pos,
                            "zstd decompressStream returned an error "
                            "(fault injected)");
    }
    r = ZSTD_decompressStream(c->state, out, in);
    if (ZSTD_isError(r)) {
        return mf_error_set(err, CODEC_ERR_DECOMPRESS, in->pos,
                            "zstd decompressStream returned %s",
                            ZSTD_getErrorName(r));
    }
    return true;
}

static bool codec_zstd_decompress(Codec *c, const uint8_t *src, size_t len,
                                  uint8_t *const *pages, uint32_t npages,
                                  MfError *err)
{
    ZSTD_inBuffer in = { .src = src, .size = len, .pos = 0 };
    ZSTD_outBuffer out;
    uint8_t spare;
    size_t done = 0, in_before, out_before;
    uint32_t i;

    for (i = 0; i < npages; i++) {
        out.dst = pages[i];
        out.size = c->page_size;
        out.pos = 0;
        while (out.pos < out.size) {
            in_before = in.pos;
            out_before = out.pos;
            if (!codec_zstd_step(c, &out, &in, err)) {
                return false;
            }
            if (out.pos == out_before && in.pos == in_before) {
                /* Input used up and nothing buffered: too little. */
                return codec_fail_short(c, err, len, done + out.pos, npages);
            }
        }
        done += out.pos;
    }
    /*
     * Every page is full.  What is left of the payload may only be
     * bytes that decode to nothing (block headers); then nothing may be
     * pending in the decoder.
     */
    for (;;) {
        out.dst = &spare;
        out.size = 1;
        out.pos = 0;
        in_before = in.pos;
        if (!codec_zstd_step(c, &out, &in, err)) {
            return false;
        }
        if (out.pos != 0) {
            return mf_error_set(err, CODEC_ERR_SIZE, in.pos,
                                "zstd payload of %zu bytes gives more "
                                "than %u pages x %u = %zu bytes",
                                len, npages, c->page_size, done);
        }
        if (in.pos == in.size) {
            return true;
        }
        if (in.pos == in_before) {
            return mf_error_set(err, CODEC_ERR_SIZE, in.pos,
                                "zstd payload of %zu bytes has %zu bytes "
                                "left after %u pages",
                                len, in.size - in.pos, npages);
        }
    }
}

static void codec_zstd_cleanup(Codec *c)
{
    ZSTD_freeDStream(c->state);
}

const CodecOps codec_zstd_ops = {
    .init = codec_zstd_init,
    .decompress = codec_zstd_decompress,
    .cleanup = codec_zstd_cleanup,
};
