/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-channel packet state machine.  Units of input: the 12-byte
 * header, the rest of the RAM header (or of the device-state header), the
 * payload (raw pages in place, compressed bytes, device-state bytes).
 * A unit completes in recv_channel_advance(), which then processes it.
 */
#include "recv/channel.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/label.h"
#include "base/plant.h"
#include "codec/codec.h"
#include "recv/errors.h"
#include "wire/errors.h"

/* Offsets of RAM packet fields named in errors. */
#define PKT_OFF_FLAGS 8
#define PKT_OFF_RAMBLOCK 64
#define PKT_OFF_OFFSETS WIRE_PACKET_FIXED_SIZE

typedef enum RecvUnit {
    UNIT_HDR,         /* the 12 common bytes */
    UNIT_BODY,        /* rest of the RAM header */
    UNIT_RAW,         /* normal pages, straight into place */
    UNIT_COMP,        /* compressed payload */
    UNIT_DEV_HDR,     /* rest of the device-state header */
    UNIT_DEV_PAYLOAD, /* device-state payload */
} RecvUnit;

struct RecvChannel {
    RecvChannelConfig cfg;
    char label[MF_ERROR_WHERE_LEN];
    RecvChannelStatus status;
    MfError err;
    RecvChannelStats stats;
    Codec *codec;
    bool raw;
    uint32_t page_count;
    size_t packet_len; /* RAM header bytes (1344 for 4 KiB pages) */
    uint8_t *pkt;      /* header buffer, both packet kinds fit */
    uint64_t *offsets; /* page_count entries */
    uint8_t **pages;   /* where each normal page lands (colo's slots) */
    uint8_t *payload;  /* compressed or device-state payload */
    size_t payload_cap;
    RecvUnit unit;
    size_t have;        /* bytes of the current unit received */
    size_t need;        /* bytes of the current unit */
    uint64_t offset;    /* stream offset of the next byte */
    uint64_t pkt_start; /* stream offset of the current packet */
    uint64_t payload_start;
    WirePacket p;
    WireDevStatePacket dev;
    RamBlock *block;
    ColoPacket place; /* where the current packet's pages land */
};

static bool fail_at(RecvChannel *ch, MfError *local, uint64_t base,
                    MfError *err)
{
    mf_error_locate(local, ch->label, base);
    mf_error_propagate(&ch->err, local);
    ch->status = RECV_CH_FAILED;
    mf_error_propagate(err, &ch->err);
    return false;
}

RecvChannel *recv_channel_new(const RecvChannelConfig *cfg, MfError *err)
{
    RecvChannel *ch;
    size_t hdr_cap;
    uint32_t count;

    if (!cfg || !cfg->ram || wire_page_count(cfg->page_size) == 0 ||
        cfg->ram->page_size != cfg->page_size) {
        mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                     "multifd channel: unusable configuration (page size "
                     "%" PRIu32 ")",
                     cfg ? cfg->page_size : 0);
        return NULL;
    }
    count = wire_page_count(cfg->page_size);
    ch = mf_alloc_in(cfg->allocator, "mfcolo/recv/alloc-channel", 1,
                     sizeof(*ch));
    if (!ch) {
        mf_error_set(err, MF_ERR_NOMEM, 0,
                     "multifd %u: cannot allocate channel state",
                     (unsigned)cfg->id);
        return NULL;
    }
    ch->cfg = *cfg;
    mf_label_u32(ch->label, sizeof(ch->label), "multifd ", cfg->id);
    ch->page_count = count;
    ch->packet_len = wire_packet_size(cfg->page_size);
    hdr_cap = ch->packet_len > WIRE_DEVSTATE_HDR_SIZE ? ch->packet_len
                                                      : WIRE_DEVSTATE_HDR_SIZE;
    ch->pkt =
        mf_alloc_in(cfg->allocator, "mfcolo/recv/alloc-packet", 1, hdr_cap);
    ch->offsets = mf_alloc_in(cfg->allocator, "mfcolo/recv/alloc-packet", count,
                              sizeof(*ch->offsets));
    ch->pages = mf_alloc_in(cfg->allocator, "mfcolo/recv/alloc-packet", count,
                            sizeof(*ch->pages));
    if (!ch->pkt || !ch->offsets || !ch->pages) {
        mf_error_set(err, MF_ERR_NOMEM, 0, "%s: cannot allocate packet buffers",
                     ch->label);
        recv_channel_free(ch);
        return NULL;
    }
    ch->codec =
        codec_new_in(cfg->compression, cfg->page_size, cfg->allocator, err);
    if (!ch->codec) {
        recv_channel_free(ch);
        return NULL;
    }
    ch->raw = codec_is_raw(ch->codec);
    ch->p.offsets = ch->offsets;
    ch->status = RECV_CH_RUNNING;
    ch->unit = UNIT_HDR;
    ch->need = WIRE_PACKET_HDR_SIZE;
    ch->offset = cfg->base_offset;
    ch->pkt_start = cfg->base_offset;
    return ch;
}

void recv_channel_free(RecvChannel *ch)
{
    if (!ch) {
        return;
    }
    codec_free(ch->codec);
    mf_free_in(ch->cfg.allocator, ch->payload);
    mf_free_in(ch->cfg.allocator, ch->pages);
    mf_free_in(ch->cfg.allocator, ch->offsets);
    mf_free_in(ch->cfg.allocator, ch->pkt);
    mf_free_in(ch->cfg.allocator, ch);
}

const char *recv_channel_label(const RecvChannel *ch)
{
    return ch->label;
}

RecvChannelStatus recv_channel_status(const RecvChannel *ch)
{
    return ch->status;
}

uint64_t recv_channel_offset(const RecvChannel *ch)
{
    return ch->offset;
}

void recv_channel_stats(const RecvChannel *ch, RecvChannelStats *out)
{
    *out = ch->stats;
}

const MfError *recv_channel_error(const RecvChannel *ch)
{
    return &ch->err;
}

void recv_channel_fail(RecvChannel *ch, const MfError *why)
{
    mf_error_propagate(&ch->err, why);
    ch->status = RECV_CH_FAILED;
}

void recv_channel_release(RecvChannel *ch)
{
    if (ch->status == RECV_CH_SYNC) {
        ch->status = RECV_CH_RUNNING;
    }
}

/* Make the payload buffer hold @len bytes (its content is not kept). */
static bool payload_reserve(RecvChannel *ch, size_t len, MfError *err)
{
    uint8_t *buf;

    if (len <= ch->payload_cap) {
        return true;
    }
    buf = mf_alloc_raw(ch->cfg.allocator, "mfcolo/recv/alloc-payload", len);
    if (!buf) {
        MfError l = { 0 };

        mf_error_set(&l, MF_ERR_NOMEM, 0,
                     "cannot allocate a payload buffer of %zu bytes", len);
        return fail_at(ch, &l, ch->pkt_start, err);
    }
    mf_free_in(ch->cfg.allocator, ch->payload);
    ch->payload = buf;
    ch->payload_cap = len;
    return true;
}

static void start_unit(RecvChannel *ch, RecvUnit unit, size_t need)
{
    ch->unit = unit;
    ch->need = need;
    ch->have = 0;
}

static void next_packet(RecvChannel *ch)
{
    ch->pkt_start = ch->offset;
    start_unit(ch, UNIT_HDR, WIRE_PACKET_HDR_SIZE);
}

/* Every page of the packet is in place: colo's end, stats, SYNC. */
static bool finish_ram_packet(RecvChannel *ch, MfError *err)
{
    const WirePacket *p = &ch->p;

    if (p->normal_pages && !ch->raw) {
        MfError l = { 0 };

        if (!codec_decompress(ch->codec, ch->payload, ch->need, ch->pages,
                              p->normal_pages, &l)) {
            return fail_at(ch, &l, ch->payload_start, err);
        }
    }
    if (wire_packet_pages(p)) {
        colo_place_packet_end(&ch->place);
        ch->stats.normal_pages += p->normal_pages;
        ch->stats.zero_pages += p->zero_pages;
    }
    ch->stats.packets++;
    next_packet(ch);
    if (p->flags & WIRE_FLAG_SYNC) {
        ch->stats.syncs++;
        ch->status = RECV_CH_SYNC;
    }
    return true;
}

/* The whole RAM header is in: validate everything, then touch memory. */
static bool process_ram_header(RecvChannel *ch, MfError *err)
{
    WirePacket *p = &ch->p;
    MfError l = { 0 };
    uint32_t i, npages;
    size_t payload;

    p->offsets = ch->offsets;
    if (!wire_packet_decode(ch->pkt, ch->cfg.page_size, p, &l)) {
        return fail_at(ch, &l, ch->pkt_start, err);
    }
    npages = wire_packet_pages(p);
    if (npages == 0) {
        /* SYNC or empty: ramblock, offsets, next_packet_size are stale. */
        return finish_ram_packet(ch, err);
    }
    ch->block = ram_table_lookup(ch->cfg.ram, p->ramblock, &l);
    if (!ch->block) {
        return fail_at(ch, &l, ch->pkt_start + PKT_OFF_RAMBLOCK, err);
    }
    for (i = 0; i < (MF_PLANTED(RECV_ZERO_OFFSET_UNCHECKED) ? p->normal_pages
                                                            : npages);
         i++) {
        if (!ram_block_check_offset(ch->block, ch->offsets[i], &l)) {
            return fail_at(
                ch, &l, ch->pkt_start + PKT_OFF_OFFSETS + 8 * (uint64_t)i, err);
        }
    }
    if (!codec_check_packet(ch->codec, p, &l)) {
        return fail_at(ch, &l, ch->pkt_start, err);
    }
    /* colo places the pages: errors are relative to the packet start. */
    if (!colo_place_packet_begin(&ch->place, ch->cfg.colo, ch->block,
                                 ch->offsets, p->normal_pages,
                                 ch->offsets + p->normal_pages, p->zero_pages,
                                 ch->pages, PKT_OFF_RAMBLOCK, &l)) {
        return fail_at(ch, &l, ch->pkt_start, err);
    }
    ch->stats.zero_writes += ch->place.zero_writes;
    if (p->normal_pages == 0) {
        return finish_ram_packet(ch, err);
    }
    ch->payload_start = ch->offset;
    if (ch->raw) {
        start_unit(ch, UNIT_RAW, (size_t)p->normal_pages * ch->cfg.page_size);
        return true;
    }
    payload = codec_payload_len(ch->codec, p);
    if (!payload_reserve(ch, payload, err)) {
        return false;
    }
    start_unit(ch, UNIT_COMP, payload);
    if (payload == 0) {
        return finish_ram_packet(ch, err);
    }
    return true;
}

static bool process_hdr(RecvChannel *ch, MfError *err)
{
    WirePacketHdr hdr;
    MfError l = { 0 };

    if (!wire_packet_hdr_decode(ch->pkt, &hdr, &l)) {
        return fail_at(ch, &l, ch->pkt_start, err);
    }
    if (!wire_packet_is_device_state(&hdr)) {
        ch->unit = UNIT_BODY;
        ch->need = ch->packet_len;
        return true;
    }
    if (!ch->cfg.devstate) {
        mf_error_set(&l, RECV_ERR_DEVICE_STATE, 0,
                     "device-state packet (flags 0x%" PRIx32 ") but no "
                     "device-state handler",
                     hdr.flags);
        return fail_at(ch, &l, ch->pkt_start + PKT_OFF_FLAGS, err);
    }
    ch->unit = UNIT_DEV_HDR;
    ch->need = WIRE_DEVSTATE_HDR_SIZE;
    return true;
}

static bool process_dev_hdr(RecvChannel *ch, MfError *err)
{
    MfError l = { 0 };
    size_t len;

    if (!wire_devstate_decode(ch->pkt, &ch->dev, &l)) {
        return fail_at(ch, &l, ch->pkt_start, err);
    }
    len = ch->dev.next_packet_size;
    if (len > RECV_DEVSTATE_MAX_PAYLOAD) {
        mf_error_set(&l, RECV_ERR_DEVSTATE_SIZE, 0,
                     "device-state next_packet_size %zu above the limit "
                     "%u",
                     len, RECV_DEVSTATE_MAX_PAYLOAD);
        return fail_at(ch, &l, ch->pkt_start + WIRE_DEVSTATE_HDR_SIZE - 4, err);
    }
    if (!payload_reserve(ch, len, err)) {
        return false;
    }
    ch->payload_start = ch->offset;
    start_unit(ch, UNIT_DEV_PAYLOAD, len);
    return true;
}

static bool process_dev_payload(RecvChannel *ch, MfError *err)
{
    MfError l = { 0 };

    if (!ch->cfg.devstate(ch->cfg.devstate_opaque, ch->cfg.id, &ch->dev,
                          ch->payload, ch->need, &l)) {
        if (!mf_error_is_set(&l)) {
            mf_error_set(&l, RECV_ERR_DEVICE_STATE, 0,
                         "device state for %s instance %" PRIu32 " refused",
                         ch->dev.idstr, ch->dev.instance_id);
        }
        return fail_at(ch, &l, ch->pkt_start, err);
    }
    ch->stats.devstate++;
    ch->stats.packets++;
    next_packet(ch);
    return true;
}

static bool process_unit(RecvChannel *ch, MfError *err)
{
    switch (ch->unit) {
    case UNIT_HDR:
        return process_hdr(ch, err);
    case UNIT_BODY:
        return process_ram_header(ch, err);
    case UNIT_RAW:
    case UNIT_COMP:
        return finish_ram_packet(ch, err);
    case UNIT_DEV_HDR:
        return process_dev_hdr(ch, err);
    case UNIT_DEV_PAYLOAD:
        return process_dev_payload(ch, err);
    }
    return false;
}

int recv_channel_next_iov(RecvChannel *ch, struct iovec *iov, int max)
{
    size_t ps = ch->cfg.page_size;
    size_t page, in_page;
    int n = 0;

    if (ch->status != RECV_CH_RUNNING || max < 1) {
        return 0;
    }
    switch (ch->unit) {
    case UNIT_HDR:
    case UNIT_BODY:
    case UNIT_DEV_HDR:
        iov[0].iov_base = ch->pkt + ch->have;
        iov[0].iov_len = ch->need - ch->have;
        return 1;
    case UNIT_COMP:
    case UNIT_DEV_PAYLOAD:
        iov[0].iov_base = ch->payload + ch->have;
        iov[0].iov_len = ch->need - ch->have;
        return 1;
    case UNIT_RAW:
        page = ch->have / ps;
        in_page = ch->have % ps;
        while (n < max && page < ch->p.normal_pages) {
            iov[n].iov_base = ch->pages[page] + in_page;
            iov[n].iov_len = ps - in_page;
            in_page = 0;
            page++;
            n++;
        }
        return n;
    }
    return 0;
}

static const char *unit_name(RecvUnit unit)
{
    switch (unit) {
    case UNIT_HDR:
        return "packet header";
    case UNIT_BODY:
        return "RAM packet header";
    case UNIT_RAW:
        return "page data";
    case UNIT_COMP:
        return "compressed payload";
    case UNIT_DEV_HDR:
        return "device-state header";
    case UNIT_DEV_PAYLOAD:
        return "device-state payload";
    }
    return "?";
}

bool recv_channel_advance(RecvChannel *ch, size_t n, MfError *err)
{
    if (ch->status != RECV_CH_RUNNING || n == 0 || n > ch->need - ch->have) {
        MfError l = { 0 };

        if (ch->status == RECV_CH_FAILED) {
            mf_error_propagate(err, &ch->err);
            return false;
        }
        mf_error_set(&l, RECV_ERR_STATE, 0,
                     "advance by %zu bytes in state %d (%zu of %zu bytes "
                     "of the %s)",
                     n, (int)ch->status, ch->have, ch->need,
                     unit_name(ch->unit));
        return fail_at(ch, &l, ch->offset, err);
    }
    ch->have += n;
    ch->offset += n;
    if (ch->have < ch->need) {
        return true;
    }
    return process_unit(ch, err);
}

size_t recv_channel_feed(RecvChannel *ch, const uint8_t *buf, size_t len,
                         MfError *err)
{
    struct iovec iov[16];
    size_t done = 0;

    while (done < len && ch->status == RECV_CH_RUNNING) {
        size_t chunk = 0;
        int i, n = recv_channel_next_iov(ch, iov, 16);

        for (i = 0; i < n && done + chunk < len; i++) {
            size_t take = len - done - chunk;

            if (take > iov[i].iov_len) {
                take = iov[i].iov_len;
            }
            memcpy(iov[i].iov_base, buf + done + chunk, take);
            chunk += take;
        }
        if (!recv_channel_advance(ch, chunk, err)) {
            return done;
        }
        done += chunk;
    }
    if (done < len && ch->status != RECV_CH_SYNC) {
        mf_error_propagate(err, &ch->err);
    }
    return done;
}

bool recv_channel_eof(RecvChannel *ch, MfError *err)
{
    MfError l = { 0 };

    if (ch->status != RECV_CH_RUNNING) {
        if (ch->status == RECV_CH_FAILED) {
            mf_error_propagate(err, &ch->err);
            return false;
        }
        mf_error_set(&l, RECV_ERR_STATE, 0,
                     "end of stream reported in state %d", (int)ch->status);
        return fail_at(ch, &l, ch->offset, err);
    }
    if (ch->unit == UNIT_HDR && ch->have == 0) {
        ch->status = RECV_CH_DONE;
        return true;
    }
    mf_error_set(&l, RECV_ERR_EOF, 0,
                 "end of stream inside the %s (%zu of %zu bytes, packet "
                 "at offset %" PRIu64 ")",
                 unit_name(ch->unit), ch->have, ch->need, ch->pkt_start);
    return fail_at(ch, &l, ch->offset, err);
}
