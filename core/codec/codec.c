/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Method selection and the packet checks common to every method. */
#include "base/alloc.h"
#include "base/plant.h"
#include "codec/codec-int.h"
#include "codec/errors.h"

/* Offsets of the fields named in errors, inside the RAM packet header. */
#define CODEC_OFF_FLAGS 8
#define CODEC_OFF_NEXT_PACKET_SIZE 20

static const CodecOps *codec_ops(WireCompression method)
{
    switch (method) {
    case WIRE_COMP_NONE:
        return &codec_none_ops;
#ifdef MFCOLO_HAVE_ZSTD
    case WIRE_COMP_ZSTD:
        return &codec_zstd_ops;
#endif
#ifdef MFCOLO_HAVE_ZLIB
    case WIRE_COMP_ZLIB:
        return &codec_zlib_ops;
#endif
    default:
        return NULL;
    }
}

bool codec_supported(WireCompression method)
{
    return codec_ops(method) != NULL;
}

size_t codec_max_payload(void)
{
    return 2 * (size_t)WIRE_MULTIFD_PACKET_BYTES;
}

Codec *codec_new(WireCompression method, uint32_t page_size, MfError *err)
{
    return codec_new_in(method, page_size, NULL, err);
}

Codec *codec_new_in(WireCompression method, uint32_t page_size,
                    const MfAllocator *a, MfError *err)
{
    const CodecOps *ops = codec_ops(method);
    const char *name = wire_compression_name(method);
    Codec *c;

    if (!ops) {
        mf_error_set(err, CODEC_ERR_UNSUPPORTED, 0,
                     "compression %s (0x%02x) is not supported by this "
                     "build",
                     name ? name : "unknown", (unsigned)method);
        return NULL;
    }
    if (page_size == 0 || page_size > WIRE_MULTIFD_PACKET_BYTES) {
        mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                     "codec page size %u out of range 1..%u", page_size,
                     (unsigned)WIRE_MULTIFD_PACKET_BYTES);
        return NULL;
    }
    c = mf_alloc("mfcolo/codec/alloc", 1, sizeof(*c));
    if (!c) {
        mf_error_set(err, MF_ERR_NOMEM, 0, "out of memory for a %s decoder",
                     name);
        return NULL;
    }
    c->method = method;
    c->name = name;
    c->page_size = page_size;
    c->ops = ops;
    c->alloc = a;
    if (!ops->init(c, err)) {
        mf_free(c);
        return NULL;
    }
    return c;
}

bool codec_check_packet(const Codec *c, const WirePacket *pkt, MfError *err)
{
    uint32_t comp = pkt->flags & WIRE_FLAG_COMPRESSION_MASK;

    if (pkt->normal_pages == 0 && pkt->zero_pages == 0) {
        return true;
    }
    if (comp != (uint32_t)c->method) {
        return mf_error_set(err, CODEC_ERR_METHOD, CODEC_OFF_FLAGS,
                            "flags received 0x%x flags expected 0x%x", comp,
                            (unsigned)c->method);
    }
    if (c->method == WIRE_COMP_NONE) {
        return true; /* next_packet_size is not used (QEMU ignores it) */
    }
    if (pkt->normal_pages == 0 && pkt->next_packet_size != 0) {
        return mf_error_set(err, CODEC_ERR_UNEXPECTED_PAYLOAD,
                            CODEC_OFF_NEXT_PACKET_SIZE,
                            "next_packet_size %u in a %s packet without "
                            "normal pages (must be 0)",
                            pkt->next_packet_size, c->name);
    }
    if (pkt->normal_pages != 0 && pkt->next_packet_size == 0) {
        return mf_error_set(err, CODEC_ERR_PAYLOAD_SIZE,
                            CODEC_OFF_NEXT_PACKET_SIZE,
                            "next_packet_size 0 in a %s packet with %u "
                            "normal pages",
                            c->name, pkt->normal_pages);
    }
    if (pkt->next_packet_size > codec_max_payload() &&
        !MF_PLANTED(CODEC_NO_PAYLOAD_BOUND)) {
        return mf_error_set(err, CODEC_ERR_PAYLOAD_SIZE,
                            CODEC_OFF_NEXT_PACKET_SIZE,
                            "next_packet_size %u exceeds the limit %zu "
                            "(2 x %u)",
                            pkt->next_packet_size, codec_max_payload(),
                            (unsigned)WIRE_MULTIFD_PACKET_BYTES);
    }
    return true;
}

size_t codec_payload_len(const Codec *c, const WirePacket *pkt)
{
    if (pkt->normal_pages == 0) {
        return 0;
    }
    if (c->method == WIRE_COMP_NONE) {
        return (size_t)pkt->normal_pages * c->page_size;
    }
    return pkt->next_packet_size;
}

bool codec_is_raw(const Codec *c)
{
    return c->method == WIRE_COMP_NONE;
}

bool codec_fail_short(const Codec *c, MfError *err, size_t len, size_t got,
                      uint32_t npages)
{
    return mf_error_set(err, CODEC_ERR_SIZE, len,
                        "%s payload of %zu bytes gave %zu bytes, expected "
                        "%u pages x %u = %zu",
                        c->name, len, got, npages, c->page_size,
                        (size_t)npages * c->page_size);
}

bool codec_decompress(Codec *c, const uint8_t *in, size_t len,
                      uint8_t *const *pages, uint32_t npages, MfError *err)
{
    if (len > codec_max_payload()) {
        return mf_error_set(err, CODEC_ERR_PAYLOAD_SIZE, 0,
                            "%s payload of %zu bytes exceeds the limit %zu",
                            c->name, len, codec_max_payload());
    }
    if (npages == 0) {
        if (len != 0) {
            return mf_error_set(err, CODEC_ERR_UNEXPECTED_PAYLOAD, 0,
                                "%s payload of %zu bytes for 0 pages", c->name,
                                len);
        }
        return true;
    }
    return c->ops->decompress(c, in, len, pages, npages, err);
}

void codec_free(Codec *c)
{
    if (!c) {
        return;
    }
    if (c->ops->cleanup) {
        c->ops->cleanup(c);
    }
    mf_free(c);
}
