/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Connection classification and the 64-byte multifd handshake. */
#include "wire/multifd.h"

#include <string.h>

#include "base/be.h"
#include "wire/errors.h"
#include "wire/stream.h"

bool wire_classify_channel(const uint8_t first4[4], WireChannelKind *kind,
                           MfError *err)
{
    uint32_t magic = mf_be32_load(first4);

    if (magic == WIRE_VM_FILE_MAGIC) {
        *kind = WIRE_CHANNEL_MAIN;
        return true;
    }
    if (magic == WIRE_MULTIFD_MAGIC) {
        *kind = WIRE_CHANNEL_MULTIFD;
        return true;
    }
    return mf_error_set(err, WIRE_ERR_CHANNEL_MAGIC, 0,
                        "channel magic 0x%08x is neither QEVM 0x%08x "
                        "nor multifd 0x%08x",
                        magic, WIRE_VM_FILE_MAGIC, WIRE_MULTIFD_MAGIC);
}

bool wire_handshake_decode(const uint8_t buf[WIRE_HANDSHAKE_SIZE],
                           WireHandshake *hs, MfError *err)
{
    hs->magic = mf_be32_load(buf);
    hs->version = mf_be32_load(buf + 4);
    memcpy(hs->uuid, buf + 8, WIRE_UUID_SIZE);
    hs->id = buf[24];
    if (hs->magic != WIRE_MULTIFD_MAGIC) {
        return mf_error_set(err, WIRE_ERR_HANDSHAKE_MAGIC, 0,
                            "handshake magic 0x%08x, expected 0x%08x",
                            hs->magic, WIRE_MULTIFD_MAGIC);
    }
    if (hs->version != WIRE_MULTIFD_VERSION) {
        return mf_error_set(err, WIRE_ERR_HANDSHAKE_VERSION, 4,
                            "handshake version %u, expected %u", hs->version,
                            WIRE_MULTIFD_VERSION);
    }
    return true;
}

void wire_handshake_encode(const WireHandshake *hs,
                           uint8_t buf[WIRE_HANDSHAKE_SIZE])
{
    memset(buf, 0, WIRE_HANDSHAKE_SIZE);
    mf_be32_store(buf, hs->magic);
    mf_be32_store(buf + 4, hs->version);
    memcpy(buf + 8, hs->uuid, WIRE_UUID_SIZE);
    buf[24] = hs->id;
}
