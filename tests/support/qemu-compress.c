/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sender-side compression as QEMU does it; see qemu-compress.h. */
#include <stdlib.h>
#include <string.h>

#ifdef MFCOLO_HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef MFCOLO_HAVE_ZLIB
#include <zlib.h>
#endif

#include "qemu-compress.h"

struct QemuCompressor {
    WireCompression method;
    uint32_t page_size;
    uint8_t *out;
    size_t cap;
    size_t len;
#ifdef MFCOLO_HAVE_ZSTD
    ZSTD_CStream *zcs;
#endif
#ifdef MFCOLO_HAVE_ZLIB
    z_stream zs;
    bool zs_live;
#endif
};

bool qemu_compress_supported(WireCompression method)
{
    switch (method) {
    case WIRE_COMP_NONE:
        return true;
#ifdef MFCOLO_HAVE_ZSTD
    case WIRE_COMP_ZSTD:
        return true;
#endif
#ifdef MFCOLO_HAVE_ZLIB
    case WIRE_COMP_ZLIB:
        return true;
#endif
    default:
        return false;
    }
}

/* Make sure at least @room bytes are free after len. */
static bool qc_reserve(QemuCompressor *qc, size_t room)
{
    size_t cap = qc->cap ? qc->cap : 65536;
    uint8_t *p;

    if (qc->cap - qc->len >= room) {
        return true;
    }
    while (cap - qc->len < room) {
        cap *= 2;
    }
    p = realloc(qc->out, cap);
    if (!p) {
        return false;
    }
    qc->out = p;
    qc->cap = cap;
    return true;
}

QemuCompressor *qemu_compressor_new(WireCompression method, uint32_t page_size,
                                    int level)
{
    QemuCompressor *qc;

    if (!qemu_compress_supported(method) || page_size == 0) {
        return NULL;
    }
    qc = calloc(1, sizeof(*qc));
    if (!qc) {
        return NULL;
    }
    qc->method = method;
    qc->page_size = page_size;
#ifdef MFCOLO_HAVE_ZSTD
    if (method == WIRE_COMP_ZSTD) {
        qc->zcs = ZSTD_createCStream();
        if (!qc->zcs || ZSTD_isError(ZSTD_CCtx_setParameter(
                            qc->zcs, ZSTD_c_compressionLevel, level))) {
            qemu_compressor_free(qc);
            return NULL;
        }
    }
#endif
#ifdef MFCOLO_HAVE_ZLIB
    if (method == WIRE_COMP_ZLIB) {
        if (deflateInit(&qc->zs, level) != Z_OK) {
            qemu_compressor_free(qc);
            return NULL;
        }
        qc->zs_live = true;
    }
#endif
    (void)level;
    return qc;
}

#ifdef MFCOLO_HAVE_ZSTD
static bool qc_zstd_page(QemuCompressor *qc, const uint8_t *page, bool last)
{
    ZSTD_inBuffer in = { .src = page, .size = qc->page_size, .pos = 0 };
    ZSTD_EndDirective mode = last ? ZSTD_e_flush : ZSTD_e_continue;
    ZSTD_outBuffer out;
    size_t r;

    do {
        if (!qc_reserve(qc, ZSTD_CStreamOutSize())) {
            return false;
        }
        out.dst = qc->out + qc->len;
        out.size = qc->cap - qc->len;
        out.pos = 0;
        r = ZSTD_compressStream2(qc->zcs, &out, &in, mode);
        if (ZSTD_isError(r)) {
            return false;
        }
        qc->len += out.pos;
        /* continue: until the page is taken; flush: until all is out */
    } while (in.pos < in.size || (last && r != 0));
    return true;
}
#endif

#ifdef MFCOLO_HAVE_ZLIB
static bool qc_zlib_page(QemuCompressor *qc, const uint8_t *page, bool last)
{
    int ret;

    qc->zs.next_in = (Bytef *)page;
    qc->zs.avail_in = qc->page_size;
    do {
        if (!qc_reserve(qc, deflateBound(&qc->zs, qc->page_size) + 64)) {
            return false;
        }
        qc->zs.next_out = qc->out + qc->len;
        qc->zs.avail_out = (uInt)(qc->cap - qc->len);
        ret = deflate(&qc->zs, last ? Z_SYNC_FLUSH : Z_NO_FLUSH);
        if (ret != Z_OK && ret != Z_BUF_ERROR) {
            return false;
        }
        qc->len = qc->cap - qc->zs.avail_out;
    } while (qc->zs.avail_in > 0 || qc->zs.avail_out == 0);
    return true;
}
#endif

const uint8_t *qemu_compressor_packet(QemuCompressor *qc,
                                      const uint8_t *const *pages,
                                      uint32_t npages, size_t *len)
{
    uint32_t i;
    bool ok = true;

    qc->len = 0;
    *len = 0;
    if (!qc_reserve(qc, 1)) {
        return NULL;
    }
    for (i = 0; i < npages && ok; i++) {
        bool last = i + 1 == npages;

        switch (qc->method) {
#ifdef MFCOLO_HAVE_ZSTD
        case WIRE_COMP_ZSTD:
            ok = qc_zstd_page(qc, pages[i], last);
            break;
#endif
#ifdef MFCOLO_HAVE_ZLIB
        case WIRE_COMP_ZLIB:
            ok = qc_zlib_page(qc, pages[i], last);
            break;
#endif
        default:
            ok = qc_reserve(qc, qc->page_size);
            if (ok) {
                memcpy(qc->out + qc->len, pages[i], qc->page_size);
                qc->len += qc->page_size;
            }
            break;
        }
    }
    if (!ok) {
        return NULL;
    }
    *len = qc->len;
    return qc->out;
}

void qemu_compressor_free(QemuCompressor *qc)
{
    if (!qc) {
        return;
    }
#ifdef MFCOLO_HAVE_ZSTD
    ZSTD_freeCStream(qc->zcs);
#endif
#ifdef MFCOLO_HAVE_ZLIB
    if (qc->zs_live) {
        deflateEnd(&qc->zs);
    }
#endif
    free(qc->out);
    free(qc);
}
