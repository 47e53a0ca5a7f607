/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Handshake over the channel set (QEMU multifd_recv_initial_packet and
 * multifd_recv_new_channel), without QEMU's gaps: id == channels is
 * refused, a connection beyond the expected count is refused before any
 * byte is read.
 *
 * Order of checks: count, end of stream, magic, version (wire), id range,
 * duplicate id, uuid.  Errors name "connection <N>" (N counts the
 * connections offered, from 0) until the id is known to be valid, then
 * "multifd <id>"; the offset is the stream offset of the field.  Every
 * handshake error is also the engine's first error (the migration
 * fails, as in QEMU).
 */
#include "recv/engine-int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/label.h"
#include "base/plant.h"
#include "recv/errors.h"

#define HS_OFF_UUID 8
#define HS_OFF_ID 24

static void format_uuid(const uint8_t *u, char *out, size_t size)
{
    snprintf(out, size,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
             u[11], u[12], u[13], u[14], u[15]);
}

/* Checks needing the channel set; lock held.  False with @l set. */
static bool check_set_locked(RecvEngine *e, const WireHandshake *hs,
                             uint64_t start, const char *conn, MfError *l)
{
    const uint8_t *want;
    char label[MF_ERROR_WHERE_LEN];
    char got[40], exp[40];

    if (hs->id >= e->cfg.channels + MF_PLANTED(RECV_ID_EQ_COUNT)) {
        mf_error_set(l, RECV_ERR_CHANNEL_ID, 0,
                     "received channel id %u, but there are only %" PRIu32
                     " channels (ids 0..%" PRIu32 ")",
                     (unsigned)hs->id, e->cfg.channels, e->cfg.channels - 1);
        mf_error_locate(l, conn, start + HS_OFF_ID);
        return false;
    }
    if (e->slots[hs->id].chan) {
        mf_label_u32(label, sizeof(label), "multifd ", hs->id);
        mf_error_set(l, RECV_ERR_DUPLICATE_ID, 0,
                     "channel id %u already set up by an earlier "
                     "connection (this is %s)",
                     (unsigned)hs->id, conn);
        mf_error_locate(l, label, start + HS_OFF_ID);
        return false;
    }
    want =
        e->cfg.expect_uuid ? e->cfg.uuid : (e->have_uuid ? e->uuid : hs->uuid);
    if (memcmp(want, hs->uuid, WIRE_UUID_SIZE) != 0) {
        mf_label_u32(label, sizeof(label), "multifd ", hs->id);
        format_uuid(hs->uuid, got, sizeof(got));
        format_uuid(want, exp, sizeof(exp));
        mf_error_set(l, RECV_ERR_UUID, 0, "received uuid %s, expected %s (%s)",
                     got, exp,
                     e->cfg.expect_uuid ? "configured" : "the first channel's");
        mf_error_locate(l, label, start + HS_OFF_UUID);
        return false;
    }
    return true;
}

/* Read and decode the 64 bytes; false with @l set and located. */
static bool read_handshake(Chan *c, const char *conn, WireHandshake *hs,
                           MfError *l)
{
    uint8_t buf[WIRE_HANDSHAKE_SIZE];
    uint64_t start = chan_offset(c);
    int r;

    r = chan_read_full(c, buf, sizeof(buf), "multifd handshake", l);
    if (r == 0) {
        mf_error_set(l, RECV_ERR_EOF, 0,
                     "end of stream before the multifd handshake");
        mf_error_locate(l, conn, start);
        return false;
    }
    if (r < 0) {
        if (!l->located) {
            l->offset = 0;
            mf_error_locate(l, conn, chan_offset(c));
        }
        return false;
    }
    if (!wire_handshake_decode(buf, hs, l)) {
        mf_error_locate(l, conn, start);
        return false;
    }
    return true;
}

static bool refuse(RecvEngine *e, Chan *c, MfError *l, MfError *err)
{
    chan_free(c);
    recv_engine_fail(e, l);
    mf_error_propagate(err, l);
    return false;
}

bool recv_engine_add_channel(RecvEngine *e, Chan *c, MfError *err)
{
    RecvChannelConfig cc = { 0 };
    char conn[MF_ERROR_WHERE_LEN];
    MfError l = { 0 };
    WireHandshake hs;
    RecvSlot *slot;
    uint32_t n, hs_slot;
    uint64_t start;
    bool read_ok;

    mf_mutex_lock(&e->lock);
    n = e->connections++;
    mf_label_u32(conn, sizeof(conn), "connection ", n);
    chan_set_label(c, conn);
    if (e->failed) {
        mf_error_propagate(&l, &e->err);
        mf_mutex_unlock(&e->lock);
        chan_free(c);
        mf_error_propagate(err, &l);
        return false;
    }
    if (e->added + e->handshaking >= e->cfg.channels) {
        mf_error_set(&l, RECV_ERR_TOO_MANY_CHANNELS, 0,
                     "connection beyond the %" PRIu32 " expected multifd "
                     "channels",
                     e->cfg.channels);
        mf_error_locate(&l, conn, chan_offset(c));
        mf_mutex_unlock(&e->lock);
        return refuse(e, c, &l, err);
    }
    /* visible to recv_engine_fail_locked, which shuts it down */
    for (hs_slot = 0; e->slots[hs_slot].hs_chan; hs_slot++) {
        continue; /* a free one exists: added + handshaking < channels */
    }
    e->slots[hs_slot].hs_chan = c;
    e->handshaking++;
    mf_mutex_unlock(&e->lock);

    start = chan_offset(c);
    read_ok = read_handshake(c, conn, &hs, &l);

    mf_mutex_lock(&e->lock);
    e->slots[hs_slot].hs_chan = NULL;
    e->handshaking--;
    if (e->failed) {
        /* cancelled or failed meanwhile: report that first error */
        mf_error_clear(&l);
        mf_error_propagate(&l, &e->err);
        mf_mutex_unlock(&e->lock);
        chan_free(c);
        mf_error_propagate(err, &l);
        return false;
    }
    if (!read_ok) {
        mf_mutex_unlock(&e->lock);
        return refuse(e, c, &l, err);
    }
    if (!check_set_locked(e, &hs, start, conn, &l)) {
        mf_mutex_unlock(&e->lock);
        return refuse(e, c, &l, err);
    }
    cc.id = hs.id;
    cc.page_size = e->cfg.page_size;
    cc.compression = e->cfg.compression;
    cc.ram = e->ram;
    cc.allocator = e->cfg.allocator;
    cc.colo = e->colo;
    cc.base_offset = chan_offset(c);
    cc.devstate = e->devstate;
    cc.devstate_opaque = e->devstate_opaque;
    slot = &e->slots[hs.id];
    slot->ch = recv_channel_new(&cc, &l);
    if (!slot->ch) {
        mf_error_locate(&l, conn, start);
        mf_mutex_unlock(&e->lock);
        return refuse(e, c, &l, err);
    }
    chan_set_label(c, recv_channel_label(slot->ch));
    if (!e->cfg.expect_uuid && !e->have_uuid) {
        memcpy(e->uuid, hs.uuid, WIRE_UUID_SIZE);
        e->have_uuid = true;
    }
    slot->chan = c;
    e->added++;
    if (e->failed) {
        chan_shutdown(c);
    }
    mf_mutex_unlock(&e->lock);

    if (!e->ops->start(e, hs.id, &l)) {
        mf_error_locate(&l, recv_channel_label(slot->ch), cc.base_offset);
        recv_engine_fail(e, &l);
        mf_error_propagate(err, &l);
        return false;
    }
    return true;
}
