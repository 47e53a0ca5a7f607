/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "recv-gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rg_handshake(SupBuf *s, const uint8_t *uuid, uint8_t id)
{
    WireHandshake hs = { WIRE_MULTIFD_MAGIC, WIRE_MULTIFD_VERSION, { 0 }, id };
    uint8_t buf[WIRE_HANDSHAKE_SIZE];

    memcpy(hs.uuid, uuid, WIRE_UUID_SIZE);
    wire_handshake_encode(&hs, buf);
    sup_buf_append(s, buf, sizeof(buf));
}

size_t rg_header(SupBuf *s, uint32_t page_size, uint32_t flags,
                 const char *block, const uint64_t *off, uint32_t nnormal,
                 uint32_t nzero, uint32_t next_size, uint64_t num)
{
    uint32_t count = wire_page_count(page_size);
    size_t len = wire_packet_size(page_size);
    uint64_t *offs = calloc(count, sizeof(*offs));
    uint8_t *buf = calloc(1, len);
    WirePacket p = { 0 };
    size_t at = s->len;

    if (!offs || !buf) {
        abort();
    }
    if (off && nnormal + nzero) {
        memcpy(offs, off, sizeof(*offs) * (nnormal + nzero));
    }
    p.flags = flags;
    p.pages_alloc = count;
    p.normal_pages = nnormal;
    p.zero_pages = nzero;
    p.next_packet_size = next_size;
    p.packet_num = num;
    snprintf(p.ramblock, sizeof(p.ramblock), "%s", block ? block : "");
    p.offsets = offs;
    wire_packet_encode(&p, page_size, NULL, buf);
    sup_buf_append(s, buf, len);
    free(offs);
    free(buf);
    return at;
}

size_t rg_packet(SupBuf *s, QemuCompressor *qc, WireCompression comp,
                 uint32_t page_size, uint32_t extra, const char *block,
                 const uint8_t *src, const uint64_t *off, uint32_t nnormal,
                 uint32_t nzero, uint64_t num)
{
    const uint8_t **pages = calloc(nnormal + 1, sizeof(*pages));
    const uint8_t *payload = NULL;
    size_t plen = 0, at;
    uint32_t i;

    if (!pages) {
        abort();
    }
    for (i = 0; i < nnormal; i++) {
        pages[i] = src + off[i];
    }
    if (comp != WIRE_COMP_NONE && nnormal) {
        payload = qemu_compressor_packet(qc, pages, nnormal, &plen);
        if (!payload) {
            abort();
        }
    }
    at = rg_header(
        s, page_size, comp | extra, block, off, nnormal, nzero,
        comp == WIRE_COMP_NONE ? nnormal * page_size : (uint32_t)plen, num);
    if (comp == WIRE_COMP_NONE) {
        for (i = 0; i < nnormal; i++) {
            sup_buf_append(s, pages[i], page_size);
        }
    } else {
        sup_buf_append(s, payload, plen);
    }
    free(pages);
    return at;
}

size_t rg_sync(SupBuf *s, uint32_t page_size, uint64_t num)
{
    size_t at =
        rg_header(s, page_size, WIRE_FLAG_SYNC, NULL, NULL, 0, 0, 0, num);
    uint8_t *p = s->data + at;

    /* A >= 9.0 pure SYNC has pages_alloc 0. */
    memset(p + 12, 0, 4);
    return at;
}
