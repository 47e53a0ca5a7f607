/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Harness: the first bytes of connections.  Each 64-byte piece is
 * classified and decoded on its own (wire), then offered to a receive
 * engine as one multifd connection (recv: handshake validation over the
 * channel set: id range, duplicates, uuid, connection count).
 *
 * Input: byte 0 = configuration (bits 0-1: channels - 1, bit 2: a
 * configured uuid is expected, the one of the QEMU 7.2 captures); then up
 * to 6 connections of 64 bytes each (the last one may be short: that
 * connection ends inside its handshake).
 *
 * Oracles: classification agrees with the magic; a decoded handshake
 * re-encodes to the same 25 meaningful bytes; the engine accepts a
 * connection exactly when an independent check says so (fewer than
 * channels accepted, 64 bytes, valid magic and version, id < channels,
 * id not seen, uuid equal to the configured one or to the first accepted
 * one), and refuses it with the code of the first check that fails;
 * after the first refusal every later connection gets the same code;
 * errors carry a code and a location; ready exactly when all arrived;
 * every buffer core/ took from the harness's allocator is given back.
 *
 * Target functions: wire_classify_channel wire_handshake_decode
 * recv_engine_add_channel
 */
#include "fuzz.h"
#include "fuzz-pool.h"

#include "base/be.h"
#include "chan/chan.h"
#include "chan/errors.h"
#include "recv/errors.h"
#include "recv/recv.h"
#include "wire/errors.h"
#include "wire/multifd.h"
#include "wire/stream.h"

#define MAX_CONNS 6

/* 6d756c74-6966-6463-6170-747572652121, the captures' -uuid. */
static const uint8_t capture_uuid[WIRE_UUID_SIZE] = {
    0x6d, 0x75, 0x6c, 0x74, 0x69, 0x66, 0x64, 0x63,
    0x61, 0x70, 0x74, 0x75, 0x72, 0x65, 0x21, 0x21,
};

/* Wire-level oracles on one 64-byte piece; true when it decodes. */
static bool check_wire(const uint8_t *buf, WireHandshake *hs)
{
    uint8_t again[WIRE_HANDSHAKE_SIZE];
    WireChannelKind kind;
    uint32_t magic = mf_be32_load(buf);
    MfError err;

    mf_error_clear(&err);
    if (wire_classify_channel(buf, &kind, &err)) {
        FUZZ_CHECK(kind == WIRE_CHANNEL_MAIN ? magic == WIRE_VM_FILE_MAGIC
                                             : magic == WIRE_MULTIFD_MAGIC,
                   "classified 0x%08x as %d", magic, kind);
    } else {
        FUZZ_CHECK(err.code == WIRE_ERR_CHANNEL_MAGIC,
                   "classify failed with %d", err.code);
        FUZZ_CHECK(magic != WIRE_VM_FILE_MAGIC && magic != WIRE_MULTIFD_MAGIC,
                   "known magic 0x%08x rejected", magic);
    }

    mf_error_clear(&err);
    if (!wire_handshake_decode(buf, hs, &err)) {
        FUZZ_CHECK(err.code == WIRE_ERR_HANDSHAKE_MAGIC ||
                       err.code == WIRE_ERR_HANDSHAKE_VERSION,
                   "handshake failed with %d", err.code);
        return false;
    }
    FUZZ_CHECK(hs->magic == WIRE_MULTIFD_MAGIC &&
                   hs->version == WIRE_MULTIFD_VERSION,
               "accepted magic 0x%x version %u", hs->magic, hs->version);
    wire_handshake_encode(hs, again);
    FUZZ_CHECK(memcmp(again, buf, 25) == 0, "handshake re-encodes differently");
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    RecvConfig cfg = { 0 };
    RecvEngine *e;
    RamTable ram;
    MfError err, first;
    bool seen[4] = { false };
    bool have_uuid = false, failed = false;
    uint8_t uuid[WIRE_UUID_SIZE];
    uint32_t accepted = 0;
    size_t pos, n;

    if (size < 1) {
        return 0;
    }
    cfg.channels = 1 + (data[0] & 3);
    cfg.page_size = 4096;
    cfg.compression = WIRE_COMP_NONE;
    cfg.expect_uuid = (data[0] & 4) != 0;
    memcpy(cfg.uuid, capture_uuid, sizeof(cfg.uuid));
    cfg.driver = RECV_DRIVER_DETERMINISTIC;
    cfg.seed = 1;
    cfg.allocator = fuzz_pool();

    mf_error_clear(&err);
    if (!ram_table_init(&ram, 4096, &err)) {
        FUZZ_FAIL("ram_table_init: %s", err.msg);
    }
    /* No block: the handshake never touches guest memory, and each
     * block would cost an allocation and a memset per input. */
    e = recv_engine_new(&cfg, &ram, NULL, &err);
    FUZZ_CHECK(e != NULL, "recv_engine_new: %s", err.msg);
    mf_error_clear(&first);

    for (pos = 1, n = 0; pos < size && n < MAX_CONNS; n++) {
        size_t len =
            size - pos < WIRE_HANDSHAKE_SIZE ? size - pos : WIRE_HANDSHAKE_SIZE;
        WireHandshake hs;
        bool decoded, expect, got;
        int want;
        Chan *c;

        /* The engine's verdict, worked out independently, in its order
         * of checks: count, bytes, magic/version, id, duplicate, uuid. */
        decoded = len == WIRE_HANDSHAKE_SIZE && check_wire(data + pos, &hs);
        if (failed) {
            want = first.code;
        } else if (accepted >= cfg.channels) {
            want = RECV_ERR_TOO_MANY_CHANNELS;
        } else if (len < WIRE_HANDSHAKE_SIZE) {
            want = -1; /* end of stream: RECV_ERR_EOF or CHAN_ERR_EOF */
        } else if (!decoded) {
            want = -2; /* WIRE_ERR_HANDSHAKE_MAGIC or _VERSION */
        } else if (hs.id >= cfg.channels) {
            want = RECV_ERR_CHANNEL_ID;
        } else if (seen[hs.id]) {
            want = RECV_ERR_DUPLICATE_ID;
        } else if (memcmp(hs.uuid,
                          cfg.expect_uuid ? cfg.uuid
                                          : (have_uuid ? uuid : hs.uuid),
                          WIRE_UUID_SIZE) != 0) {
            want = RECV_ERR_UUID;
        } else {
            want = MF_OK;
        }
        expect = want == MF_OK;

        mf_error_clear(&err);
        c = chan_mem_new(data + pos, len, 0, "fuzz", &err);
        FUZZ_CHECK(c != NULL, "chan_mem_new: %s", err.msg);
        got = recv_engine_add_channel(e, c, &err);
        if (fuzz_verbose()) {
            printf("handshake: connection %zu of %u: %s %s\n", n, cfg.channels,
                   got ? "accepted" : err.code_name, got ? "" : err.msg);
        }
        FUZZ_CHECK(got == expect,
                   "connection %zu: engine %s, expected %s"
                   " (%s: %s)",
                   n, got ? "accepted" : "refused",
                   expect ? "accept" : "refuse", got ? "-" : err.code_name,
                   got ? "-" : err.msg);
        if (got) {
            FUZZ_CHECK(hs.id < cfg.channels, "id %u accepted of %u", hs.id,
                       cfg.channels);
            seen[hs.id] = true;
            accepted++;
            if (!have_uuid) {
                memcpy(uuid, hs.uuid, sizeof(uuid));
                have_uuid = true;
            }
        } else {
            FUZZ_CHECK_ERROR(&err, true);
            FUZZ_CHECK(want == -1   ? (err.code == RECV_ERR_EOF ||
                                     err.code == CHAN_ERR_EOF)
                       : want == -2 ? (err.code == WIRE_ERR_HANDSHAKE_MAGIC ||
                                       err.code == WIRE_ERR_HANDSHAKE_VERSION)
                                    : err.code == want,
                       "connection %zu refused with %s, expected code %d", n,
                       err.code_name, want);
            if (!failed) {
                first = err;
                failed = true;
            }
        }
        FUZZ_CHECK(recv_engine_ready(e) == (accepted == cfg.channels),
                   "ready %d with %u of %u channels", recv_engine_ready(e),
                   accepted, cfg.channels);
        pos += len;
    }
    recv_engine_free(e);
    ram_table_destroy(&ram);
    fuzz_pool_check_empty();
    return 0;
}
