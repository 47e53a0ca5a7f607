/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "recv-gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rg_init(RgStream *s)
{
    memset(s, 0, sizeof(*s));
}

void rg_free(RgStream *s)
{
    free(s->data);
    rg_init(s);
}

void rg_put(RgStream *s, const void *p, size_t n)
{
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;

        while (cap < s->len + n) {
            cap *= 2;
        }
        s->data = realloc(s->data, cap);
        if (!s->data) {
            fprintf(stderr, "recv-gen: out of memory\n");
            abort();
        }
        s->cap = cap;
    }
    if (n) {
        memcpy(s->data + s->len, p, n);
    }
    s->len += n;
}

void rg_truncate(RgStream *s, size_t len)
{
    if (len < s->len) {
        s->len = len;
    }
}

void rg_handshake(RgStream *s, const uint8_t *uuid, uint8_t id)
{
    WireHandshake hs = { WIRE_MULTIFD_MAGIC, WIRE_MULTIFD_VERSION, { 0 }, id };
    uint8_t buf[WIRE_HANDSHAKE_SIZE];

    memcpy(hs.uuid, uuid, WIRE_UUID_SIZE);
    wire_handshake_encode(&hs, buf);
    rg_put(s, buf, sizeof(buf));
}

size_t rg_header(RgStream *s, uint32_t page_size, uint32_t flags,
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
    rg_put(s, buf, len);
    free(offs);
    free(buf);
    return at;
}

size_t rg_packet(RgStream *s, QemuCompressor *qc, WireCompression comp,
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
            rg_put(s, pages[i], page_size);
        }
    } else {
        rg_put(s, payload, plen);
    }
    free(pages);
    return at;
}

size_t rg_sync(RgStream *s, uint32_t page_size, uint64_t num)
{
    size_t at =
        rg_header(s, page_size, WIRE_FLAG_SYNC, NULL, NULL, 0, 0, 0, num);
    uint8_t *p = s->data + at;

    /* A >= 9.0 pure SYNC has pages_alloc 0. */
    memset(p + 12, 0, 4);
    return at;
}

uint64_t rg_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
