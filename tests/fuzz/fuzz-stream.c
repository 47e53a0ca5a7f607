/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Harness: whole multifd channel streams (handshake, packets, payloads)
 * through the receive engine's deterministic driver, over in-memory
 * channels.  The input also chooses the channel count, the compression,
 * COLO on/off and its phase, the fragmentation (largest delivery and the
 * scheduler's seed) and how many sync points the main thread waits for.
 *
 * Input:
 *   byte 0  bits 0-1 channels - 1; bits 2-3 compression (0 none, 1 zstd,
 *           2 zlib, 3 none); bit 4 COLO on; bit 5 enter COLO before
 *           receiving; bit 6 the 8 RAM blocks of the QEMU 7.2 captures,
 *           each cut to 16 KiB (else a small table); bit 7 accept
 *           device-state packets
 *   byte 1  bits 0-3 sync points to wait for; bits 4-7 largest delivery
 *           (0 any, else 1, 7, 64, 1344, ...), raised to 1/64 of the
 *           input so that an input costs about a hundred deliveries at
 *           most: byte-sized deliveries on a short input (headers),
 *           page payloads of a long one in larger pieces (a page fed byte
 *           by byte costs 4096 scheduler steps and reaches nothing new)
 *   byte 2  scheduler seed
 *   then    channels - 1 times (be16 length, bytes), the last channel
 *           gets the rest; each channel starts with its 64-byte handshake
 *
 * Oracles: every failure has a code and names a channel and an offset
 * inside that channel's stream; COLO phase: guest memory is never
 * written and every received page is dirty (I2); precopy with COLO, after
 * a clean end: every received page is equal in guest and cache and no
 * page is dirty (I1); one channel: the memory and the outcome do not
 * depend on fragmentation (a second run, other seed and delivery sizes);
 * every buffer core/ took from the allocator is given back.
 *
 * Guest memory, caches and decoder state come from fuzz_pool(), which
 * recycles them between inputs under ASan (fuzz-pool.h).
 *
 * Target functions: recv_engine_add_channel recv_engine_sync
 * recv_engine_finish recv_channel_advance codec_decompress
 */
#include "fuzz.h"

#include "base/be.h"
#include "base/bitmap.h"
#include "chan/chan.h"
#include "colo/colo.h"
#include "recv/errors.h"
#include "recv/recv.h"
#include "wire/multifd.h"

#include "fuzz-pool.h"

#define MAX_CHANNELS 4

typedef struct LayoutBlock {
    const char *name;
    uint64_t len;
} LayoutBlock;

/*
 * The RAM blocks of the QEMU 7.2 captures (expected-ramblocks.json) by
 * name, each cut to 16 KiB: every input stays cheap (guest memory and
 * cache are zeroed per run) and every page gets the full oracles.  The
 * capture seeds are rewritten to match (make-seeds.py folds each page
 * offset into its block's new length); the conformance tier replays the
 * captures with their real sizes.
 */
static const LayoutBlock capture_layout[] = {
    { "pc.ram", 16384 },
    { "0000:00:02.0/vga.vram", 16384 },
    { "/rom@etc/acpi/tables", 16384 },
    { "pc.bios", 16384 },
    { "pc.rom", 16384 },
    { "0000:00:02.0/vga.rom", 16384 },
    { "/rom@etc/table-loader", 4096 },
    { "/rom@etc/acpi/rsdp", 4096 },
    { NULL, 0 },
};

/* Small: one block shorter than a page. */
static const LayoutBlock small_layout[] = {
    { "pc.ram", 24 * 4096 },
    { "pc.bios", 4 * 4096 },
    { "tiny", 100 },
    { NULL, 0 },
};

static const size_t chunk_sizes[16] = {
    0, 1, 7, 64, 1344, 4096, 0, 3, 0, 100, 1345, 0, 8192, 13, 0, 65536,
};

typedef struct Run {
    RamTable ram;
    ColoState colo;
    bool with_colo;
    bool ok; /* every sync and the finish succeeded */
    MfError err;
} Run;

static bool devstate_ok(void *opaque, uint8_t channel_id,
                        const WireDevStatePacket *pkt, const uint8_t *data,
                        size_t len, MfError *err)
{
    (void)opaque;
    (void)pkt;
    (void)data;
    (void)err;
    FUZZ_CHECK(len <= RECV_DEVSTATE_MAX_PAYLOAD && channel_id < MAX_CHANNELS,
               "device state of %zu bytes on channel %u", len, channel_id);
    return true;
}

/* Split the input after the 3 configuration bytes into channel slices. */
static uint32_t split(const uint8_t *data, size_t size, uint32_t channels,
                      const uint8_t **part, size_t *len)
{
    size_t pos = 3;
    uint32_t i;

    for (i = 0; i + 1 < channels; i++) {
        size_t want;

        if (size - pos < 2) {
            return i;
        }
        want = mf_be16_load(data + pos);
        pos += 2;
        part[i] = data + pos;
        len[i] = want < size - pos ? want : size - pos;
        pos += len[i];
    }
    part[i] = data + pos;
    len[i] = size - pos;
    return channels;
}

static void run_streams(Run *r, uint8_t conf, uint32_t nsync, size_t max_chunk,
                        uint64_t seed, uint32_t channels, const uint8_t **part,
                        const size_t *len)
{
    static const WireCompression methods[4] = {
        WIRE_COMP_NONE,
        WIRE_COMP_ZSTD,
        WIRE_COMP_ZLIB,
        WIRE_COMP_NONE,
    };
    const LayoutBlock *layout = conf & 0x40 ? capture_layout : small_layout;
    RecvConfig cfg = { 0 };
    RecvEngine *e;
    MfError err;
    uint32_t i;

    memset(r, 0, sizeof(*r));
    mf_error_clear(&err);
    if (!ram_table_init(&r->ram, 4096, &err)) {
        FUZZ_FAIL("ram_table_init: %s", err.msg);
    }
    ram_table_set_allocator(&r->ram, fuzz_pool());
    for (i = 0; layout[i].name; i++) {
        /* Guest memory from the pool, zeroed by the table. */
        if (!ram_table_add(&r->ram, layout[i].name, layout[i].len, NULL,
                           &err)) {
            FUZZ_FAIL("ram_table_add: %s", err.msg);
        }
    }
    r->with_colo = (conf & 0x10) != 0;
    if (r->with_colo) {
        FUZZ_CHECK(colo_init(&r->colo, &r->ram, &err), "colo_init: %s",
                   err.msg);
        if (conf & 0x20) {
            FUZZ_CHECK(colo_enter(&r->colo, &err), "colo_enter: %s", err.msg);
        }
    }

    cfg.channels = channels;
    cfg.page_size = 4096;
    cfg.compression = methods[(conf >> 2) & 3];
    cfg.driver = RECV_DRIVER_DETERMINISTIC;
    cfg.seed = seed;
    cfg.max_chunk = max_chunk;
    cfg.allocator = fuzz_pool();
    e = recv_engine_new(&cfg, &r->ram, r->with_colo ? &r->colo : NULL, &err);
    if (!e) {
        /* A method this build lacks. */
        FUZZ_CHECK(err.code == MF_ERR_INVALID_ARG, "engine: %s", err.msg);
        r->err = err;
        return;
    }
    if (conf & 0x80) {
        recv_engine_set_devstate_handler(e, devstate_ok, NULL);
    }
    r->ok = true;
    for (i = 0; i < channels && r->ok; i++) {
        Chan *c = chan_mem_new(part[i], len[i], 0, "fuzz", &err);

        FUZZ_CHECK(c != NULL, "chan_mem_new: %s", err.msg);
        r->ok = recv_engine_add_channel(e, c, &err);
    }
    for (i = 0; i < nsync && r->ok; i++) {
        r->ok = recv_engine_sync(e, &err);
    }
    if (r->ok) {
        r->ok = recv_engine_finish(e, &err);
    }
    recv_engine_free(e);
    if (!r->ok) {
        FUZZ_CHECK_ERROR(&err, true);
        FUZZ_CHECK(err.code != RECV_ERR_STATE && err.code != MF_ERR_INVALID_ARG,
                   "engine misdriven: %s", err.msg);
    }
    r->err = err;
}

/* Oracles on every page after a run (no receiver runs any more). */
static void check_memory(Run *r)
{
    size_t bi;

    if (!r->with_colo) {
        return;
    }
    for (bi = 0; bi < r->ram.nblocks; bi++) {
        RamBlock *b = r->ram.blocks[bi];
        uint64_t p, off;

        for (p = 0; p < b->npages; p++) {
            off = p * b->page_size;
            if (colo_phase(&r->colo) == COLO_PHASE_COLO) {
                /* I2: guest untouched (it started zeroed). */
                FUZZ_CHECK(b->host[off] == 0 &&
                               !memcmp(b->host + off, b->host + off + 1,
                                       ram_block_page_bytes(b, off) - 1),
                           "I2: COLO receive wrote guest %s+0x%llx", b->name,
                           (unsigned long long)off);
                FUZZ_CHECK(!ram_block_is_received(b, off) ||
                               mf_bitmap_test(b->dirty, p),
                           "I2: received page %s+0x%llx not dirty", b->name,
                           (unsigned long long)off);
            } else if (r->ok) {
                FUZZ_CHECK(!mf_bitmap_test(b->dirty, p),
                           "I1: dirty bit in precopy");
                FUZZ_CHECK(!ram_block_is_received(b, off) ||
                               !memcmp(b->host + off, b->colo_cache + off,
                                       ram_block_page_bytes(b, off)),
                           "I1: guest != cache at %s+0x%llx", b->name,
                           (unsigned long long)off);
            }
        }
    }
}

static void run_free(Run *r)
{
    if (r->with_colo) {
        colo_destroy(&r->colo);
    }
    ram_table_destroy(&r->ram);
}

/* Same outcome and memory from a second, differently fragmented run. */
static void check_same(Run *a, Run *b)
{
    size_t bi;

    FUZZ_CHECK(a->ok == b->ok && a->err.code == b->err.code,
               "fragmentation changed the outcome: %s vs %s",
               a->ok ? "ok" : a->err.code_name,
               b->ok ? "ok" : b->err.code_name);
    if (!a->ok) {
        return;
    }
    for (bi = 0; bi < a->ram.nblocks; bi++) {
        RamBlock *x = a->ram.blocks[bi], *y = b->ram.blocks[bi];

        FUZZ_CHECK(!memcmp(x->host, y->host, x->used_length),
                   "fragmentation changed guest memory of %s", x->name);
        FUZZ_CHECK(!a->with_colo ||
                       !memcmp(x->colo_cache, y->colo_cache, x->used_length),
                   "fragmentation changed the cache of %s", x->name);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[MAX_CHANNELS];
    size_t len[MAX_CHANNELS];
    uint32_t channels;
    uint8_t conf;
    size_t chunk;
    Run a, b;

    if (size < 3) {
        return 0;
    }
    conf = data[0];
    channels = 1 + (conf & 3);
    if (split(data, size, channels, part, len) != channels) {
        return 0;
    }
    chunk = chunk_sizes[data[1] >> 4];
    if (chunk && chunk < size / 64) {
        chunk = size / 64;
    }
    run_streams(&a, conf, data[1] & 15, chunk, data[2], channels, part, len);
    if (fuzz_verbose()) {
        printf("stream: %u channels conf 0x%02x: %s %s\n", channels, conf,
               a.ok ? "ok" : a.err.code_name, a.ok ? "" : a.err.msg);
    }
    check_memory(&a);
    if (channels == 1) {
        run_streams(&b, conf, data[1] & 15,
                    data[1] >> 4 ? 0 : (size / 64 > 61 ? size / 64 : 61),
                    data[2] ^ 0x5a5a, channels, part, len);
        check_same(&a, &b);
        run_free(&b);
    }
    run_free(&a);
    fuzz_pool_check_empty();
    return 0;
}
