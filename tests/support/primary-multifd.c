/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake primary's multifd channels: handshakes, RAM packets (QEMU 9
 * and 7.2 shapes), page payloads, SYNC, and the packet faults.
 */
#include "primary-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/be.h"

/* Field offsets in a RAM packet (QEMU MultiFDPacket_t). */
enum {
    PKT_MAGIC = 0,
    PKT_VERSION = 4,
    PKT_FLAGS = 8,
    PKT_PAGES_ALLOC = 12,
    PKT_NORMAL = 16,
    PKT_NEXT_SIZE = 20,
    PKT_ZERO = 32,
    PKT_RAMBLOCK = 64,
};

typedef struct PktSpec {
    uint32_t sync; /* WIRE_FLAG_SYNC or 0 */
    long block;    /* -1: no pages (SYNC or empty packet) */
    const uint64_t *normal;
    uint32_t nnormal;
    const uint64_t *zero;
    uint32_t nzero;
    uint64_t num;
} PktSpec;

/* Scratch owned by the multifd part (one per Primary). */
struct PmfScratch {
    uint64_t *offsets;     /* page_count */
    const uint8_t **pages; /* page_count */
    uint8_t *padded;       /* page_count pages, for partial last pages */
    SupBuf payload;
    bool dup_pending; /* 7.2: repeat dup_offset in the next packet */
    size_t dup_block;
    uint64_t dup_offset;
};
typedef struct PmfScratch PmfScratch;

static PmfScratch *scratch(Primary *p)
{
    return p->pmf;
}

void pmf_init(Primary *p)
{
    PmfScratch *s = sup_check_alloc(calloc(1, sizeof(*s)), "scratch");
    uint32_t n = p->page_count;

    p->pkt_buf = sup_check_alloc(calloc(1, p->pkt_size), "packet");
    p->pmf = s;
    p->queue.normal_off = sup_check_alloc(calloc(n, 8), "queue");
    p->queue.zero_off = sup_check_alloc(calloc(n, 8), "queue");
    s->offsets = sup_check_alloc(calloc(n, 8), "scratch");
    s->pages = sup_check_alloc(calloc(n, sizeof(*s->pages)), "scratch");
    p->chans = sup_check_alloc(calloc(p->cfg.channels + 1, sizeof(*p->chans)),
                               "channels");
    for (uint32_t i = 0; i < p->cfg.channels; i++) {
        PrimaryChan *c = &p->chans[i];

        c->conn = 1 + i;
        c->stale_offsets = sup_check_alloc(calloc(n, 8), "channel");
        c->held_offsets = sup_check_alloc(calloc(n, 8), "channel");
        if (p->cfg.compression != WIRE_COMP_NONE) {
            c->comp = qemu_compressor_new(p->cfg.compression, p->cfg.page_size,
                                          p->cfg.level);
            if (!c->comp) {
                fprintf(stderr,
                        "mfcolo fake primary: compression %s not "
                        "available\n",
                        wire_compression_name(p->cfg.compression));
                abort();
            }
        }
    }
}

void pmf_cleanup(Primary *p)
{
    PmfScratch *s = scratch(p);

    for (uint32_t i = 0; i < p->cfg.channels; i++) {
        qemu_compressor_free(p->chans[i].comp);
        free(p->chans[i].stale_offsets);
        free(p->chans[i].held_offsets);
    }
    free(p->chans);
    free(s->offsets);
    free(s->pages);
    free(s->padded);
    sup_buf_free(&s->payload);
    free(s);
    free(p->queue.normal_off);
    free(p->queue.zero_off);
    free(p->pkt_buf);
}

static void handshake(Primary *p, size_t conn, uint32_t chan, uint8_t id,
                      bool faults)
{
    WireHandshake hs;
    uint8_t buf[WIRE_HANDSHAKE_SIZE];
    PrimaryFaultSlot *f;

    memset(&hs, 0, sizeof(hs));
    hs.magic = WIRE_MULTIFD_MAGIC;
    hs.version = WIRE_MULTIFD_VERSION;
    memcpy(hs.uuid, p->cfg.uuid, sizeof(hs.uuid));
    hs.id = id;
    if (faults && (f = primary_fault_find(p, PF_HS_ID, chan, 0))) {
        hs.id = (uint8_t)f->f.value;
    }
    if (faults && primary_fault_find(p, PF_HS_UUID, chan, 0)) {
        hs.uuid[0] ^= 0xff;
    }
    wire_handshake_encode(&hs, buf);
    if (faults && (f = primary_fault_find(p, PF_HS_MAGIC, chan, 0))) {
        mf_be32_store(buf, (uint32_t)f->f.value);
    }
    if (faults && (f = primary_fault_find(p, PF_HS_VERSION, chan, 0))) {
        mf_be32_store(buf + 4, (uint32_t)f->f.value);
    }
    p->conns[conn].id = hs.id;
    sup_buf_append(&p->conns[conn].buf, buf, sizeof(buf));
    primary_mark_add(p, PM_HANDSHAKE, conn);
}

/* A pure SYNC packet on an extra connection (no channel state). */
static void extra_sync(Primary *p, size_t conn, uint64_t num)
{
    WirePacket pkt;

    memset(&pkt, 0, sizeof(pkt));
    pkt.flags = WIRE_FLAG_SYNC;
    pkt.pages_alloc = p->cfg.style == PRIMARY_QEMU_7_2 ? p->page_count : 0;
    pkt.packet_num = num;
    pkt.offsets = scratch(p)->offsets;
    memset(pkt.offsets, 0, 8 * p->page_count);
    wire_packet_encode(&pkt, p->cfg.page_size, NULL, p->pkt_buf);
    primary_mark_add(p, PM_PACKET, conn);
    sup_buf_append(&p->conns[conn].buf, p->pkt_buf, p->pkt_size);
}

void pmf_handshakes(Primary *p)
{
    for (uint32_t i = 0; i < p->cfg.channels; i++) {
        handshake(p, 1 + i, i, (uint8_t)i, true);
    }
    for (size_t c = 1 + p->cfg.channels; c < p->nconns; c++) {
        handshake(p, c, 0, (uint8_t)p->conns[c].id, false);
        extra_sync(p, c, p->conns[c].id);
    }
}

/* Page pointers for a packet, zero-padding a partial last page. */
static const uint8_t *const *packet_pages(Primary *p, size_t block,
                                          const uint64_t *off, uint32_t n)
{
    PmfScratch *s = scratch(p);
    uint32_t ps = p->cfg.page_size;

    for (uint32_t i = 0; i < n; i++) {
        uint64_t page = off[i] / ps;

        s->pages[i] = mem_image_page(p->mem, block, page);
        if (mem_image_page_len(p->mem, block, page) < ps) {
            uint32_t len = mem_image_page_len(p->mem, block, page);

            if (!s->padded) {
                s->padded =
                    sup_check_alloc(calloc(p->page_count, ps), "padded pages");
            }
            memset(s->padded + (size_t)i * ps, 0, ps);
            memcpy(s->padded + (size_t)i * ps, s->pages[i], len);
            s->pages[i] = s->padded + (size_t)i * ps;
        }
    }
    return s->pages;
}

/* The payload of @n normal pages, in scratch->payload. */
static void packet_payload(Primary *p, PrimaryChan *c, size_t block,
                           const uint64_t *off, uint32_t n)
{
    PmfScratch *s = scratch(p);
    const uint8_t *const *pages;

    s->payload.len = 0;
    if (n == 0) {
        return;
    }
    pages = packet_pages(p, block, off, n);
    if (c->comp) {
        size_t len = 0;
        const uint8_t *z = qemu_compressor_packet(c->comp, pages, n, &len);

        if (!z) {
            fprintf(stderr, "mfcolo fake primary: compression failed\n");
            abort();
        }
        sup_buf_append(&s->payload, z, len);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        sup_buf_append(&s->payload, pages[i], p->cfg.page_size);
    }
}

static void devstate_packet(Primary *p, size_t conn, const PrimaryFaultSlot *f)
{
    WireDevStatePacket d;
    uint8_t hdr[WIRE_DEVSTATE_HDR_SIZE];
    uint8_t *payload;

    memset(&d, 0, sizeof(d));
    d.flags = WIRE_FLAG_DEVICE_STATE;
    snprintf(d.idstr, sizeof(d.idstr), "%s", f->name[0] ? f->name : "vfio");
    d.next_packet_size = (uint32_t)f->f.value;
    wire_devstate_encode(&d, hdr);
    primary_mark_add(p, PM_PACKET, conn);
    sup_buf_append(&p->conns[conn].buf, hdr, sizeof(hdr));
    payload = sup_buf_grow(&p->conns[conn].buf, (size_t)f->f.value);
    for (uint64_t i = 0; i < f->f.value; i++) {
        payload[i] = (uint8_t)sup_rng_next(&p->fault_rng);
    }
}

/* Patch the encoded packet and its payload for armed faults. */
static void packet_faults(Primary *p, uint32_t chan, uint64_t nth)
{
    PmfScratch *s = scratch(p);
    uint8_t *buf = p->pkt_buf;
    PrimaryFaultSlot *f;
    static const struct {
        PrimaryFaultKind kind;
        size_t off;
    } fields[] = {
        { PF_PKT_MAGIC, PKT_MAGIC },
        { PF_PKT_VERSION, PKT_VERSION },
        { PF_PKT_FLAGS, PKT_FLAGS },
        { PF_PKT_PAGES_ALLOC, PKT_PAGES_ALLOC },
        { PF_PKT_NORMAL_PAGES, PKT_NORMAL },
        { PF_PKT_NEXT_SIZE, PKT_NEXT_SIZE },
        { PF_PKT_ZERO_PAGES, PKT_ZERO },
    };

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if ((f = primary_fault_find(p, fields[i].kind, chan, nth))) {
            mf_be32_store(buf + fields[i].off, (uint32_t)f->f.value);
        }
    }
    if (primary_fault_find(p, PF_PKT_BLOCK_UNTERMINATED, chan, nth)) {
        memset(buf + PKT_RAMBLOCK, 'A', WIRE_RAMBLOCK_NAME_SIZE);
    }
    if ((f = primary_fault_find(p, PF_PKT_BLOCK_NAME, chan, nth))) {
        memset(buf + PKT_RAMBLOCK, 0, WIRE_RAMBLOCK_NAME_SIZE);
        memcpy(buf + PKT_RAMBLOCK, f->name, strlen(f->name));
    }
    if ((f = primary_fault_find(p, PF_PKT_OFFSET, chan, nth)) &&
        f->f.index < p->page_count) {
        mf_be64_store(buf + WIRE_PACKET_FIXED_SIZE + 8 * f->f.index,
                      f->f.value);
    }
    if ((f = primary_fault_find(p, PF_PKT_PAYLOAD_TRUNCATE, chan, nth))) {
        sup_buf_truncate(&s->payload, (size_t)f->f.value);
        mf_be32_store(buf + PKT_NEXT_SIZE, (uint32_t)s->payload.len);
    }
    if (primary_fault_find(p, PF_PKT_PAYLOAD_GARBAGE, chan, nth)) {
        for (size_t i = 0; i < s->payload.len; i++) {
            s->payload.data[i] = (uint8_t)sup_rng_next(&p->fault_rng);
        }
    }
}

static void write_packet(Primary *p, uint32_t chan, const PktSpec *spec)
{
    PrimaryChan *c = &p->chans[chan];
    PmfScratch *s = scratch(p);
    SupBuf *out = &p->conns[c->conn].buf;
    bool qemu9 = p->cfg.style == PRIMARY_QEMU_9;
    bool pages = spec->block >= 0 && spec->nnormal + spec->nzero > 0;
    uint64_t nth = c->npackets++;
    PrimaryFaultSlot *f;
    WirePacket pkt;

    if ((f = primary_fault_find(p, PF_DEVSTATE_PACKET, chan, nth))) {
        devstate_packet(p, c->conn, f);
    }
    if (pages) {
        packet_payload(p, c, (size_t)spec->block, spec->normal, spec->nnormal);
    } else {
        s->payload.len = 0;
    }
    memset(&pkt, 0, sizeof(pkt));
    pkt.packet_num = spec->num;
    pkt.offsets = s->offsets;
    if (spec->nnormal) {
        memcpy(s->offsets, spec->normal, 8 * (size_t)spec->nnormal);
    }
    if (spec->nzero) {
        memcpy(s->offsets + spec->nnormal, spec->zero, 8 * (size_t)spec->nzero);
    }
    if (qemu9) {
        pkt.flags = (pages ? p->cfg.compression : 0) | spec->sync;
        pkt.pages_alloc = pages ? p->page_count : 0;
        pkt.next_packet_size = (uint32_t)s->payload.len;
    } else {
        pkt.flags = (spec->nnormal ? p->cfg.compression : 0) | spec->sync;
        pkt.pages_alloc = p->page_count;
        pkt.next_packet_size =
            spec->nnormal ? (uint32_t)s->payload.len : c->stale_next_size;
    }
    pkt.normal_pages = pages ? spec->nnormal : 0;
    pkt.zero_pages = pages ? spec->nzero : 0;
    if (pages) {
        snprintf(pkt.ramblock, sizeof(pkt.ramblock), "%s",
                 p->mem->blocks[spec->block].name);
    } else if (!qemu9) {
        memcpy(pkt.ramblock, c->stale_block, sizeof(pkt.ramblock));
    }
    wire_packet_encode(&pkt, p->cfg.page_size, qemu9 ? NULL : c->stale_offsets,
                       p->pkt_buf);
    if (!qemu9) {
        /* What QEMU 7.2's reused packet buffer holds from now on. */
        memcpy(c->stale_block, pkt.ramblock, sizeof(c->stale_block));
        c->stale_next_size = pkt.next_packet_size;
        memcpy(c->stale_offsets, s->offsets,
               8 * (size_t)(pkt.normal_pages + pkt.zero_pages));
    }
    packet_faults(p, chan, nth);
    primary_mark_add(p, PM_PACKET, c->conn);
    if (spec->sync) {
        primary_mark_add(p, PM_SYNC, c->conn);
    }
    sup_buf_append(out, p->pkt_buf, p->pkt_size);
    sup_buf_append(out, s->payload.data, s->payload.len);
}

/* QEMU 7.2: write the packet a channel still holds, as plain data. */
static void write_held(Primary *p, uint32_t chan, uint32_t sync, uint64_t num)
{
    PrimaryChan *c = &p->chans[chan];
    PktSpec spec = {
        .sync = sync,
        .block = (long)c->held_block,
        .normal = c->held_offsets,
        .nnormal = c->held_normal,
        .num = num,
    };

    c->held = false;
    write_packet(p, chan, &spec);
}

/* Hand the queued packet to a channel chosen by the seed. */
static void flush_queue(Primary *p, bool full)
{
    PrimaryQueue *q = &p->queue;
    PmfScratch *s = scratch(p);
    uint32_t chan;

    if (!q->active) {
        return;
    }
    q->active = false;
    if (q->normal + q->zero == 0) {
        return;
    }
    s->dup_pending = full && q->normal > 0 && p->cfg.duplicate_pages &&
                     p->cfg.style == PRIMARY_QEMU_7_2;
    s->dup_block = q->block;
    s->dup_offset = q->normal ? q->normal_off[q->normal - 1] : 0;
    chan = (uint32_t)sup_rng_below(&p->rng, p->cfg.channels);
    if (p->cfg.style == PRIMARY_QEMU_9) {
        PktSpec spec = {
            .block = (long)q->block,
            .normal = q->normal_off,
            .nnormal = q->normal,
            .zero = q->zero_off,
            .nzero = q->zero,
            .num = p->packet_num++,
        };

        write_packet(p, chan, &spec);
        return;
    }
    /* QEMU 7.2: the channel sends what it held, then holds this one. */
    if (p->chans[chan].held) {
        write_held(p, chan, 0, p->chans[chan].held_num);
    }
    p->chans[chan].held = true;
    p->chans[chan].held_block = q->block;
    p->chans[chan].held_normal = q->normal;
    p->chans[chan].held_num = p->packet_num++;
    memcpy(p->chans[chan].held_offsets, q->normal_off, 8 * (size_t)q->normal);
}

void pmf_queue_page(Primary *p, size_t block, uint64_t page, bool zero)
{
    PrimaryQueue *q = &p->queue;
    PmfScratch *s = scratch(p);
    uint64_t offset = page * p->cfg.page_size;

    if (q->active && q->block != block) {
        flush_queue(p, false);
    }
    if (!q->active) {
        q->active = true;
        q->block = block;
        q->normal = 0;
        q->zero = 0;
        q->limit = p->cfg.max_packet_pages;
        if (p->cfg.random_split) {
            q->limit = 1 + (uint32_t)sup_rng_below(&p->rng, q->limit);
        }
        if (s->dup_pending && s->dup_block == block && q->limit >= 2) {
            q->normal_off[q->normal++] = s->dup_offset;
        }
        s->dup_pending = false;
    }
    if (zero) {
        q->zero_off[q->zero++] = offset;
    } else {
        q->normal_off[q->normal++] = offset;
    }
    if (q->normal + q->zero >= q->limit) {
        flush_queue(p, true);
    }
}

void pmf_sync(Primary *p)
{
    flush_queue(p, false);
    scratch(p)->dup_pending = false;
    for (uint32_t i = 0; i < p->cfg.channels; i++) {
        PrimaryChan *c = &p->chans[i];
        uint64_t num = p->packet_num++;
        PktSpec sync = { .sync = WIRE_FLAG_SYNC, .block = -1, .num = num };

        if (p->cfg.style == PRIMARY_QEMU_7_2 && c->held) {
            if (sup_rng_percent(&p->rng, p->cfg.sync_ride_percent)) {
                PktSpec empty = { .block = -1, .num = num };

                /* SYNC rides on the data; then an empty stale packet. */
                write_held(p, i, WIRE_FLAG_SYNC, num);
                write_packet(p, i, &empty);
                continue;
            }
            write_held(p, i, 0, c->held_num);
        }
        write_packet(p, i, &sync);
    }
}
