/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals shared by codec.c and the per-method files. */
#ifndef MFCOLO_CODEC_CODEC_INT_H
#define MFCOLO_CODEC_CODEC_INT_H

#include "codec/codec.h"

typedef struct CodecOps {
    /* Create the method's decoder state in c->state. */
    bool (*init)(Codec *c, MfError *err);
    /* As codec_decompress(), @npages > 0. */
    bool (*decompress)(Codec *c, const uint8_t *in, size_t len,
                       uint8_t *const *pages, uint32_t npages, MfError *err);
    void (*cleanup)(Codec *c);
} CodecOps;

struct Codec {
    WireCompression method;
    const char *name;
    uint32_t page_size;
    const CodecOps *ops;
    const MfAllocator *alloc; /* the library's state; NULL: libc */
    void *state;
};

extern const CodecOps codec_none_ops;
#ifdef MFCOLO_HAVE_ZSTD
extern const CodecOps codec_zstd_ops;
#endif
#ifdef MFCOLO_HAVE_ZLIB
extern const CodecOps codec_zlib_ops;
#endif

/* CODEC_ERR_SIZE for output that stopped at @got bytes. */
bool codec_fail_short(const Codec *c, MfError *err, size_t len, size_t got,
                      uint32_t npages);

#endif /* MFCOLO_CODEC_CODEC_INT_H */
