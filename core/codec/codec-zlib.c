/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * zlib: one inflate stream per channel, never reset.  The sender keeps
 * one deflate stream per channel and ends each packet with Z_SYNC_FLUSH
 * (the 00 00 ff ff marker), so every payload decodes completely without
 * the stream ever ending (QEMU multifd-zlib.c).  zlib's own allocations
 * go through mf_alloc (fault point mfcolo/codec/alloc-zlib).
 */
#include <zlib.h>

#include "base/alloc.h"
#include "base/fault.h"
#include "codec/codec-int.h"
#include "codec/errors.h"

/* @opaque: the Codec, whose allocator zlib's state comes from. */
static voidpf codec_zlib_alloc(voidpf opaque, uInt items, uInt size)
{
    const Codec *c = opaque;

    return mf_alloc_in(c->alloc, "mfcolo/codec/alloc-zlib", items, size);
}

static void codec_zlib_free(voidpf opaque, voidpf p)
{
    const Codec *c = opaque;

    mf_free_in(c->alloc, p);
}

static const char *codec_zlib_ret_name(int ret)
{
    switch (ret) {
    case Z_OK:
        return "Z_OK";
    case Z_STREAM_END:
        return "Z_STREAM_END";
    case Z_NEED_DICT:
        return "Z_NEED_DICT";
    case Z_ERRNO:
        return "Z_ERRNO";
    case Z_STREAM_ERROR:
        return "Z_STREAM_ERROR";
    case Z_DATA_ERROR:
        return "Z_DATA_ERROR";
    case Z_MEM_ERROR:
        return "Z_MEM_ERROR";
    case Z_BUF_ERROR:
        return "Z_BUF_ERROR";
    default:
        return "unknown";
    }
}

static bool codec_zlib_init(Codec *c, MfError *err)
{
    z_stream *zs = mf_alloc("mfcolo/codec/alloc", 1, sizeof(*zs));
    int ret;

    if (!zs) {
        return mf_error_set(err, MF_ERR_NOMEM, 0,
                            "out of memory for a zlib stream");
    }
    zs->zalloc = codec_zlib_alloc;
    zs->zfree = codec_zlib_free;
    zs->opaque = c;
    if (mf_fault("mfcolo/codec/init")) {
        ret = Z_MEM_ERROR;
    } else {
        ret = inflateInit(zs);
    }
    if (ret != Z_OK) {
        mf_free(zs);
        return mf_error_set(err, CODEC_ERR_INIT, 0,
                            "inflateInit returned %s (%d)",
                            codec_zlib_ret_name(ret), ret);
    }
    c->state = zs;
    return true;
}

/*
 * One inflate call.  Returns 1 on progress or a harmless no-progress
 * (Z_OK, Z_BUF_ERROR), -1 with @err set on a library error; @len is the
 * payload length for the error offset.  After a call that made progress
 * *@boundary says whether inflate stopped between blocks (data_type bit
 * 128) with no bit of the last input byte left over (data_type bits 0-5,
 * the unused bits; bit 64, the last-block flag, is ignored); a call
 * without progress says nothing (zlib resets that state at the start of
 * every call).
 */
static int codec_zlib_step(z_stream *zs, size_t len, bool *boundary,
                           MfError *err)
{
    int ret;

    if (mf_fault("mfcolo/codec/step")) {
        mf_error_set(err, CODEC_ERR_DECOMPRESS, len - zs->avail_in,
                     "inflate returned Z_DATA_ERROR (fault injected)");
        return -1;
    }
    ret = inflate(zs, Z_SYNC_FLUSH);
    if (ret == Z_OK) {
        *boundary = (zs->data_type & (128 + 63)) == 128;
        return 1;
    }
    if (ret == Z_BUF_ERROR) {
        return 1;
    }
    if (ret == Z_STREAM_END) {
        mf_error_set(err, CODEC_ERR_DECOMPRESS, len - zs->avail_in,
                     "inflate returned Z_STREAM_END: the sender ended the "
                     "channel's zlib stream");
        return -1;
    }
    mf_error_set(err, CODEC_ERR_DECOMPRESS, len - zs->avail_in,
                 "inflate returned %s (%d): %s", codec_zlib_ret_name(ret), ret,
                 zs->msg ? zs->msg : "no message");
    return -1;
}

static bool codec_zlib_decompress(Codec *c, const uint8_t *src, size_t len,
                                  uint8_t *const *pages, uint32_t npages,
                                  MfError *err)
{
    z_stream *zs = c->state;
    uint8_t spare;
    size_t done = 0;
    bool boundary = false;
    uInt in_before, out_before;
    uint32_t i;

    zs->next_in = (Bytef *)src;
    zs->avail_in = (uInt)len; /* len <= codec_max_payload() */
    for (i = 0; i < npages; i++) {
        zs->next_out = pages[i];
        zs->avail_out = c->page_size;
        while (zs->avail_out > 0) {
            in_before = zs->avail_in;
            out_before = zs->avail_out;
            if (codec_zlib_step(zs, len, &boundary, err) < 0) {
                return false;
            }
            if (zs->avail_in == in_before && zs->avail_out == out_before) {
                return codec_fail_short(
                    c, err, len, done + c->page_size - zs->avail_out, npages);
            }
        }
        done += c->page_size;
    }
    /*
     * Every page is full.  The rest of the payload (typically the empty
     * stored block of the sync flush) must decode to nothing, and
     * nothing may be pending.
     */
    for (;;) {
        zs->next_out = &spare;
        zs->avail_out = 1;
        in_before = zs->avail_in;
        if (codec_zlib_step(zs, len, &boundary, err) < 0) {
            return false;
        }
        if (zs->avail_out == 0) {
            return mf_error_set(err, CODEC_ERR_SIZE, len - zs->avail_in,
                                "zlib payload of %zu bytes gives more than "
                                "%u pages x %u = %zu bytes",
                                len, npages, c->page_size, done);
        }
        if (zs->avail_in == 0) {
            break;
        }
        if (zs->avail_in == in_before) {
            return mf_error_set(err, CODEC_ERR_SIZE, len - zs->avail_in,
                                "zlib payload of %zu bytes has %u bytes "
                                "left after %u pages",
                                len, zs->avail_in, npages);
        }
    }
    zs->next_in = Z_NULL;
    zs->next_out = Z_NULL;
    /*
     * A sender's Z_SYNC_FLUSH leaves inflate between blocks (data_type
     * bit 128).  Anything else means the payload was cut inside a block
     * or inside the flush marker, and the next packet would not decode.
     */
    if (!boundary) {
        return mf_error_set(err, CODEC_ERR_SIZE, len,
                            "zlib payload of %zu bytes ends inside a "
                            "deflate block, not at a sync flush",
                            len);
    }
    return true;
}

static void codec_zlib_cleanup(Codec *c)
{
    inflateEnd(c->state);
    mf_free(c->state);
}

const CodecOps codec_zlib_ops = {
    .init = codec_zlib_init,
    .decompress = codec_zlib_decompress,
    .cleanup = codec_zlib_cleanup,
};
