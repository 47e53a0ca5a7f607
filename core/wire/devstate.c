/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The multifd device-state packet header (QEMU >= 10.0). */
#include "wire/multifd.h"

#include <string.h>

#include "base/be.h"
#include "wire/errors.h"

/* Field offsets inside MultiFDPacketDeviceState_t. */
enum {
    OFF_FLAGS = 8,
    OFF_IDSTR = WIRE_PACKET_HDR_SIZE,
    OFF_INSTANCE_ID = OFF_IDSTR + WIRE_RAMBLOCK_NAME_SIZE,
    OFF_NEXT_PACKET_SIZE = OFF_INSTANCE_ID + 4,
    OFF_IDSTR_LAST = OFF_IDSTR + WIRE_RAMBLOCK_NAME_SIZE - 1,
};

bool wire_devstate_decode(const uint8_t *buf, WireDevStatePacket *pkt,
                          MfError *err)
{
    WirePacketHdr hdr;

    if (!wire_packet_hdr_decode(buf, &hdr, err)) {
        return false;
    }
    pkt->flags = hdr.flags;
    pkt->instance_id = mf_be32_load(buf + OFF_INSTANCE_ID);
    pkt->next_packet_size = mf_be32_load(buf + OFF_NEXT_PACKET_SIZE);
    pkt->idstr[0] = '\0';
    if (!wire_packet_is_device_state(&hdr)) {
        return mf_error_set(err, WIRE_ERR_PACKET_DEVICE_STATE, OFF_FLAGS,
                            "packet flags 0x%x lack the device-state bit "
                            "0x%x: not a device-state packet",
                            hdr.flags, WIRE_FLAG_DEVICE_STATE);
    }
    if (hdr.flags & WIRE_FLAG_SYNC) {
        return mf_error_set(err, WIRE_ERR_DEVSTATE_SYNC, OFF_FLAGS,
                            "device-state packet flags 0x%x carry SYNC "
                            "0x%x, not allowed",
                            hdr.flags, WIRE_FLAG_SYNC);
    }
    if (pkt->next_packet_size == 0) {
        return mf_error_set(err, WIRE_ERR_DEVSTATE_EMPTY, OFF_NEXT_PACKET_SIZE,
                            "device-state packet next_packet_size 0, "
                            "expected at least 1");
    }
    if (buf[OFF_IDSTR_LAST] != 0) {
        return mf_error_set(err, WIRE_ERR_DEVSTATE_IDSTR, OFF_IDSTR_LAST,
                            "device-state idstr byte %d is 0x%02x, "
                            "expected NUL (limit 255 characters)",
                            WIRE_RAMBLOCK_NAME_SIZE - 1, buf[OFF_IDSTR_LAST]);
    }
    memset(pkt->idstr, 0, WIRE_RAMBLOCK_NAME_SIZE);
    memcpy(pkt->idstr, buf + OFF_IDSTR, strlen((const char *)buf + OFF_IDSTR));
    return true;
}

void wire_devstate_encode(const WireDevStatePacket *pkt, uint8_t *buf)
{
    memset(buf, 0, WIRE_DEVSTATE_HDR_SIZE);
    wire_packet_hdr_encode(pkt->flags, buf);
    memcpy(buf + OFF_IDSTR, pkt->idstr,
           strnlen(pkt->idstr, WIRE_RAMBLOCK_NAME_SIZE));
    mf_be32_store(buf + OFF_INSTANCE_ID, pkt->instance_id);
    mf_be32_store(buf + OFF_NEXT_PACKET_SIZE, pkt->next_packet_size);
}
