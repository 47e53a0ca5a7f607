/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Harness: the main channel through the incoming state machine (QEVM
 * header, commands, the "ram" section with MEM_SIZE, ZERO, PAGE,
 * CONTINUE, EOS and MULTIFD_FLUSH records, device sections, COLO
 * messages and checkpoints with their device-state blob), optionally with
 * multifd channels on the receive engine's deterministic driver.
 *
 * Input:
 *   byte 0  bit 0 COLO on (x-colo); bits 1-2 multifd channels (0, 1, 2,
 *           3); bits 3-4 sync mode (section, round, auto, section); bits
 *           5-6 compression (none, zstd, zlib, none); bit 7 expect_end
 *   byte 1  scheduler seed (bits 0-3) and largest delivery (bits 4-7)
 *   then    for each multifd channel (be32 length, bytes); the main
 *           channel gets the rest
 *
 * Replay mode (create_blocks): the MEM_SIZE list creates the blocks, at
 * most MAX_RAM (256 KiB) in total; a larger total fails fast with
 * INCOMING_ERR_RAM_TOO_LARGE, itself a tested path.  The limit keeps
 * every accepted input cheap (guest memory + COLO cache + snapshot) and
 * lets I3/I4 check every input.  The real 7.2 captures declare 49.6 MiB:
 * make-seeds.py rewrites their seeds to blocks of at most 16 KiB (same
 * names, page offsets folded into the new lengths; docs/fuzzing.md).
 *
 * Allocation: guest memory, COLO caches, codec state, payload and
 * device-state buffers come from fuzz_pool() (tests/fuzz/fuzz-pool.h),
 * which recycles them under ASan; the snapshot is one static buffer of
 * MAX_RAM bytes, of which an input reads only what it wrote.  Every
 * input must give all pool buffers back (fuzz_pool_check_empty).
 *
 * Oracles: a failure has a code and a location (main or a multifd
 * channel) and is never MF_ERR_INVALID_ARG (the harness keeps every
 * contract, so that code means "failed without an error"); COMPLETED
 * only without ENABLE_COLO, FAILED_OVER only with it; with COLO, after
 * the run (whatever the outcome) the receiver has failed over, no dirty
 * bit is left and guest memory is exactly what it was when the last
 * checkpoint completed (or precopy ended): nothing of a partly received
 * checkpoint reaches the guest (I4); every checkpoint leaves no dirty bit
 * and guest == cache in every block (I3), already when its device state
 * is loaded (RAM is flushed first).  I3 and I4 are checked for
 * every input (no size cut-off).
 *
 * Target functions: incoming_run in_precopy in_ram_load in_checkpoint
 */
#include "fuzz.h"
#include "fuzz-pool.h"

#include "base/be.h"
#include "base/bitmap.h"
#include "chan/chan.h"
#include "colo/colo.h"
#include "incoming/incoming.h"
#include "recv/recv.h"
#include "secondary.h"

#define MAX_RAM (256ull << 10)

/*
 * Guest memory at the last completed checkpoint (or end of precopy), all
 * blocks back to back: at most MAX_RAM bytes, since the incoming layer
 * refuses a larger MEM_SIZE total.  One buffer for the process; an input
 * reads only the snap_len bytes it wrote itself.
 */
static uint8_t snap_buf[MAX_RAM];

typedef struct MainFuzz {
    Secondary *sec;
    size_t snap_len; /* bytes of snap_buf this input wrote */
    bool snap_valid;
} MainFuzz;

static size_t ram_total(const RamTable *t)
{
    size_t i, n = 0;

    for (i = 0; i < t->nblocks; i++) {
        n += t->blocks[i]->used_length;
    }
    return n;
}

/* Guest memory of every block, back to back, into snap_buf. */
static void take_snap(MainFuzz *f)
{
    size_t i, pos = 0, total = ram_total(&f->sec->ram);

    FUZZ_CHECK(total <= MAX_RAM, "%zu bytes of RAM above MEM_SIZE's limit",
               total);
    for (i = 0; i < f->sec->ram.nblocks; i++) {
        memcpy(snap_buf + pos, f->sec->ram.blocks[i]->host,
               f->sec->ram.blocks[i]->used_length);
        pos += f->sec->ram.blocks[i]->used_length;
    }
    f->snap_len = total;
    f->snap_valid = true;
}

static bool guest_equals_snap(const MainFuzz *f)
{
    size_t i, pos = 0;

    if (ram_total(&f->sec->ram) != f->snap_len) {
        return false;
    }
    for (i = 0; i < f->sec->ram.nblocks; i++) {
        if (memcmp(snap_buf + pos, f->sec->ram.blocks[i]->host,
                   f->sec->ram.blocks[i]->used_length)) {
            return false;
        }
        pos += f->sec->ram.blocks[i]->used_length;
    }
    return true;
}

static bool hook_stop(void *opaque, MfError *err)
{
    (void)opaque;
    (void)err;
    return true;
}

/* I3: no dirty bit left, guest == cache in every block; @when for the
 * message. */
static void check_flushed(MainFuzz *f, const char *when)
{
    size_t i;

    for (i = 0; i < f->sec->ram.nblocks; i++) {
        RamBlock *b = f->sec->ram.blocks[i];

        FUZZ_CHECK(mf_bitmap_empty(b->dirty, b->npages),
                   "I3: dirty bits left in %s %s", b->name, when);
        FUZZ_CHECK(!memcmp(b->host, b->colo_cache, b->used_length),
                   "I3: guest != cache in %s %s", b->name, when);
    }
}

static bool hook_load(void *opaque, IncomingDeviceStateKind kind,
                      const uint8_t *data, size_t len, MfError *err)
{
    (void)err;
    FUZZ_CHECK(len <= INCOMING_DEVSTATE_MAX_DEFAULT && (len == 0 || data),
               "device state of %zu bytes", len);
    if (kind == INCOMING_DEVSTATE_CHECKPOINT) {
        /*
         * A checkpoint's RAM is flushed before its device state is
         * loaded: the device sees the checkpoint's memory (docs/
         * verification.md, Second guards).
         */
        check_flushed(opaque, "when a checkpoint's device state is loaded");
    }
    return true;
}

static void hook_precopy_done(void *opaque)
{
    take_snap(opaque);
}

static void hook_checkpoint_done(void *opaque, const IncomingCheckpoint *cp)
{
    MainFuzz *f = opaque;

    (void)cp;
    check_flushed(f, "after a checkpoint"); /* I3 right after the flush */
    take_snap(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const WireCompression methods[4] = {
        WIRE_COMP_NONE,
        WIRE_COMP_ZSTD,
        WIRE_COMP_ZLIB,
        WIRE_COMP_NONE,
    };
    static const IncomingSyncMode modes[4] = {
        INCOMING_SYNC_SECTION,
        INCOMING_SYNC_ROUND,
        INCOMING_SYNC_AUTO,
        INCOMING_SYNC_SECTION,
    };
    MainFuzz f = { 0 };
    SecondaryOptions so = { 0 };
    IncomingOutcome outcome;
    IncomingStats st;
    Chan *main_ch, *reply;
    MfError err;
    uint32_t channels, i;
    size_t pos = 2;
    bool colo, ok = true;

    if (size < 2) {
        return 0;
    }
    colo = data[0] & 1;
    channels = (data[0] >> 1) & 3;
    mf_error_clear(&err);
    so.page_size = 4096;
    so.allocator = fuzz_pool();
    so.create_blocks = true;
    so.max_ram = MAX_RAM;
    so.colo = colo;
    so.max_device_state = 1u << 20;
    so.sync = modes[(data[0] >> 3) & 3];
    so.expect_end = (data[0] & 0x80) != 0;
    so.hooks.opaque = &f;
    so.hooks.stop_guest = hook_stop;
    so.hooks.load_device_state = hook_load;
    so.hooks.precopy_done = hook_precopy_done;
    so.hooks.checkpoint_done = hook_checkpoint_done;
    f.sec = secondary_build(&so, &err);
    FUZZ_CHECK(f.sec != NULL, "secondary_build: %s", err.msg);

    if (channels) {
        SecondaryMultifd m = { 0 };

        m.channels = channels;
        m.compression = methods[(data[0] >> 5) & 3];
        m.driver = RECV_DRIVER_DETERMINISTIC;
        m.seed = data[1] & 15;
        m.max_chunk = (data[1] >> 4) ? (size_t)1 << (data[1] >> 4) : 0;
        if (!secondary_start_multifd(f.sec, &m, &err)) {
            FUZZ_CHECK(err.code == MF_ERR_INVALID_ARG, "engine: %s", err.msg);
            goto out;
        }
        for (i = 0; i < channels; i++) {
            size_t want, len;
            Chan *c;

            if (size - pos < 4) {
                goto out;
            }
            want = mf_be32_load(data + pos);
            pos += 4;
            len = want < size - pos ? want : size - pos;
            c = chan_mem_new(data + pos, len, 0, "fuzz", &err);
            FUZZ_CHECK(c != NULL, "chan_mem_new: %s", err.msg);
            pos += len;
            if (ok) {
                ok = secondary_add_channel(f.sec, c, &err);
            } else {
                chan_free(c);
            }
        }
        if (!ok) {
            FUZZ_CHECK_ERROR(&err, true);
            goto out;
        }
    }

    main_ch = chan_mem_new(data + pos, size - pos, 0, "main", &err);
    reply = chan_mem_sink_new("reply", &err);
    FUZZ_CHECK(main_ch && reply, "channels: %s", err.msg);
    FUZZ_CHECK(secondary_attach_main(f.sec, main_ch, reply, &err),
               "incoming_new: %s", err.msg);

    ok = incoming_run(f.sec->in, &outcome, &err);
    incoming_get_stats(f.sec->in, &st);
    if (fuzz_verbose()) {
        printf("main: conf 0x%02x: %s %s (%llu checkpoints, %llu syncs)\n",
               data[0], ok ? "ok" : err.code_name, ok ? "" : err.msg,
               (unsigned long long)st.checkpoints,
               (unsigned long long)st.syncs);
    }
    if (ok) {
        FUZZ_CHECK(outcome ==
                       (st.colo ? INCOMING_FAILED_OVER : INCOMING_COMPLETED),
                   "outcome %d with colo %d", outcome, st.colo);
    } else {
        FUZZ_CHECK_ERROR(&err, true);
        /* The harness keeps every contract: an INVALID_ARG from the run
         * is the parser's "failed without an error" safety net. */
        FUZZ_CHECK(err.code != MF_ERR_INVALID_ARG, "internal error: %s",
                   err.msg);
    }
    if (st.colo && f.snap_valid) {
        /* I4: the receiver failed over on the last completed checkpoint. */
        FUZZ_CHECK(colo_phase(&f.sec->colo) == COLO_PHASE_FAILED_OVER,
                   "COLO run ended in phase %s",
                   colo_phase_name(colo_phase(&f.sec->colo)));
        FUZZ_CHECK(f.sec->colo.dirty_pages == 0, "dirty pages after failover");
        FUZZ_CHECK(guest_equals_snap(&f),
                   "I4: guest memory differs from the last checkpoint "
                   "(%s)",
                   ok ? "clean end" : err.code_name);
    }
out:
    secondary_free(f.sec);
    fuzz_pool_check_empty();
    return 0;
}
