/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of the fake primary (tests/support/primary.h): its streams replay
 * to the expected memory of every stage, in both QEMU styles, with every
 * compression and channel count; the shapes match QEMU's; a seed gives
 * the same bytes; the COLO sequence and the replies are QEMU's; every
 * misbehaviour knob yields the bytes the core decoders must reject.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/be.h"
#include "oracle.h"
#include "primary.h"
#include "refdecode.h"
#include "scenario.h"
#include "wire/errors.h"
#include "workload.h"

/* Seeds per configuration: 1 by default, 40 with --full (unit-full). */
static uint64_t n_seeds = 1;

typedef struct Scenario {
    PrimaryStyle style;
    uint32_t channels;
    WireCompression comp;
    uint64_t seed;
    int checkpoints;
    int rounds;
    void (*tweak)(PrimaryConfig *cfg);
    void (*arm)(Primary *p);
} Scenario;

static MemImage *test_image(uint64_t seed)
{
    MemImage *img = mem_image_new(4096);
    SupRng rng;

    mem_image_add(img, "pc.ram", 1024 * 1024);
    mem_image_add(img, "pc.bios", 64 * 1024);
    mem_image_add(img, "/rom@etc/acpi/rsdp", 4096);
    sup_rng_seed(&rng, seed);
    workload_random(img, &rng, 200, 0, NULL);
    return img;
}

/* Precopy with workloads between rounds, then checkpoints. */
static Primary *run_scenario(const Scenario *s)
{
    PrimaryConfig cfg;
    MemImage *img = test_image(s->seed);
    Primary *p;
    WorkloadIncrement inc;
    SupRng rng;

    primary_config_init(&cfg, s->style, s->channels, s->comp);
    cfg.seed = s->seed;
    if (s->tweak) {
        s->tweak(&cfg);
    }
    p = primary_new(&cfg, img);
    mem_image_free(img);
    if (s->arm) {
        s->arm(p);
    }
    sup_rng_seed(&rng, s->seed * 7 + 3);
    workload_increment_init(&inc, 0, 64 * 4096, 192 * 4096);
    primary_precopy_begin(p);
    for (int r = 0; r < s->rounds; r++) {
        workload_increment_run(&inc, primary_memory(p), 300, primary_dirty(p));
        workload_random(primary_memory(p), &rng, 40, 25, primary_dirty(p));
        primary_precopy_round(p);
    }
    workload_increment_run(&inc, primary_memory(p), 77, primary_dirty(p));
    primary_precopy_end(p);
    for (int k = 0; k < s->checkpoints; k++) {
        workload_increment_run(&inc, primary_memory(p), 150 + 13 * k,
                               primary_dirty(p));
        workload_random(primary_memory(p), &rng, 30, 30, primary_dirty(p));
        primary_checkpoint(p);
    }
    return p;
}

static void assert_replays(Primary *p)
{
    RefResult res;
    bool ok = ref_replay(p, &res);

    if (!ok) {
        fail_msg("replay: %s", res.why);
    }
    assert_int_equal(res.stages_checked, primary_nstages(p));
}

/* Every style x channels x compression replays to every stage image. */
static void test_roundtrip_matrix(void **state)
{
    static const WireCompression comps[] = {
        WIRE_COMP_NONE,
        WIRE_COMP_ZSTD,
        WIRE_COMP_ZLIB,
    };
    static const uint32_t chans[] = { 0, 1, 2, 4 };

    (void)state;
    for (int style = 0; style < 2; style++) {
        for (size_t c = 0; c < 4; c++) {
            for (size_t z = 0; z < 3; z++) {
                for (uint64_t seed = 1; seed <= n_seeds; seed++) {
                    Scenario s = {
                        .style = style ? PRIMARY_QEMU_7_2 : PRIMARY_QEMU_9,
                        .channels = chans[c],
                        .comp = chans[c] ? comps[z] : WIRE_COMP_NONE,
                        .seed = seed,
                        .checkpoints = 3,
                        .rounds = 2,
                    };
                    Primary *p;

                    if (chans[c] == 0 && z > 0) {
                        continue;
                    }
                    p = run_scenario(&s);
                    assert_int_equal(primary_nstages(p), 4);
                    assert_replays(p);
                    primary_free(p);
                }
            }
        }
    }
}

static void tweak_small_packets(PrimaryConfig *cfg)
{
    cfg->max_packet_pages = 5;
    cfg->random_split = true;
    cfg->device_section = true;
    cfg->vmdesc = true;
    cfg->duplicate_pages = true;
    cfg->keep_images = false;
}

static void tweak_zero_legacy(PrimaryConfig *cfg)
{
    cfg->zero_pages = PRIMARY_ZERO_LEGACY;
}

static void tweak_zero_none(PrimaryConfig *cfg)
{
    cfg->zero_pages = PRIMARY_ZERO_NONE;
}

/* Options that change the shape still replay to the same memory. */
static void test_roundtrip_options(void **state)
{
    void (*tweaks[])(PrimaryConfig *) = {
        tweak_small_packets,
        tweak_zero_legacy,
        tweak_zero_none,
    };

    (void)state;
    for (size_t t = 0; t < 3; t++) {
        for (int style = 0; style < 2; style++) {
            Scenario s = {
                .style = style ? PRIMARY_QEMU_7_2 : PRIMARY_QEMU_9,
                .channels = 3,
                .comp = WIRE_COMP_ZSTD,
                .seed = 5 + t,
                .checkpoints = 2,
                .rounds = 1,
                .tweak = tweaks[t],
            };
            Primary *p = run_scenario(&s);

            assert_replays(p);
            primary_free(p);
        }
    }
}

static bool same_streams(const Primary *a, const Primary *b)
{
    if (primary_nconns(a) != primary_nconns(b)) {
        return false;
    }
    for (size_t i = 0; i < primary_nconns(a); i++) {
        const SupBuf *x = &primary_conn(a, i)->buf;
        const SupBuf *y = &primary_conn(b, i)->buf;

        if (x->len != y->len || memcmp(x->data, y->data, x->len) != 0) {
            return false;
        }
    }
    return true;
}

static void test_determinism(void **state)
{
    Scenario s = {
        .style = PRIMARY_QEMU_7_2,
        .channels = 4,
        .comp = WIRE_COMP_ZLIB,
        .seed = 42,
        .checkpoints = 2,
        .rounds = 1,
    };
    Primary *a, *b, *c;

    (void)state;
    a = run_scenario(&s);
    b = run_scenario(&s);
    s.seed = 43;
    c = run_scenario(&s);
    assert_true(same_streams(a, b));
    assert_false(same_streams(a, c));
    assert_int_equal(primary_replies(a)->len, primary_replies(b)->len);
    primary_free(a);
    primary_free(b);
    primary_free(c);
}

static size_t count_marks(const Primary *p, PrimaryMarkKind kind, size_t conn)
{
    size_t n = 0;

    for (size_t i = 0; i < primary_nmarks(p); i++) {
        if (primary_mark(p, i)->kind == kind &&
            primary_mark(p, i)->conn == conn) {
            n++;
        }
    }
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Normal pages sent more than once over multifd during stage 0. */
static size_t stage0_duplicates(const Primary *p)
{
    size_t pkt_size = wire_packet_size(4096), n = 0, dups = 0;
    uint64_t *keys = NULL;
    const PrimaryConfig *cfg = primary_config(p);

    for (uint32_t i = 0; i < cfg->channels; i++) {
        const SupBuf *b = &primary_conn(p, 1 + i)->buf;
        uint64_t end = primary_stage(p, 0)->end[1 + i];
        size_t pos = WIRE_HANDSHAKE_SIZE;

        while (pos < end) {
            const uint8_t *pk = b->data + pos;
            uint32_t normal = mf_be32_load(pk + 16);
            long block = mem_image_find(primary_stage(p, 0)->image,
                                        (const char *)pk + 64);

            keys = realloc(keys, (n + normal + 1) * sizeof(*keys));
            for (uint32_t k = 0; k < normal; k++) {
                keys[n++] =
                    ((uint64_t)block << 48) | mf_be64_load(pk + 320 + 8 * k);
            }
            pos += pkt_size;
            if (normal) {
                pos += cfg->compression == WIRE_COMP_NONE
                           ? (size_t)normal * 4096
                           : mf_be32_load(pk + 20);
            }
        }
    }
    qsort(keys, n, sizeof(*keys), cmp_u64);
    for (size_t k = 1; k < n; k++) {
        dups += keys[k] == keys[k - 1];
    }
    free(keys);
    return dups;
}

/* QEMU 7.2 style has the shape of the real 7.2 captures. */
static void test_qemu72_shape(void **state)
{
    static const WireCompression comps[] = {
        WIRE_COMP_NONE,
        WIRE_COMP_ZSTD,
        WIRE_COMP_ZLIB,
    };

    (void)state;
    for (size_t z = 0; z < 3; z++) {
        for (unsigned ride = 0; ride <= 100; ride += 50) {
            PrimaryConfig cfg;
            MemImage *img = test_image(9 + ride);
            SupRng rng;
            Primary *p;
            size_t eos, total_rides = 0;
            RefResult res;

            primary_config_init(&cfg, PRIMARY_QEMU_7_2, 2, comps[z]);
            cfg.seed = 9 + ride;
            cfg.sync_ride_percent = ride;
            cfg.duplicate_pages = true;
            cfg.max_packet_pages = 16;
            p = primary_new(&cfg, img);
            mem_image_free(img);
            primary_precopy(p);
            sup_rng_seed(&rng, 3);
            workload_random(primary_memory(p), &rng, 300, 0, primary_dirty(p));
            primary_checkpoint(p);
            if (!ref_replay(p, &res)) {
                fail_msg("replay: %s", res.why);
            }
            eos = count_marks(p, PM_EOS, 0);
            assert_int_equal(eos, 4); /* START, PART, END, checkpoint */
            for (uint32_t i = 0; i < 2; i++) {
                const SupBuf *b = &primary_conn(p, 1 + i)->buf;
                size_t rides = 0;
                char why[200] = "";

                if (!ref_check_72_shape(b->data, b->len, 4096, comps[z], eos,
                                        &rides, NULL, why, sizeof(why))) {
                    fail_msg("multifd %u: %s", i, why);
                }
                total_rides += rides;
            }
            if (ride == 0) {
                assert_int_equal(total_rides, 0);
            } else if (ride == 100) {
                assert_true(total_rides > 0);
            }
            /* duplicate_pages: the last page of a full packet again. */
            assert_true(stage0_duplicates(p) > 0);
            /* Zero pages travel as ZERO records on main. */
            assert_true(res.main_zero > 0);
            primary_free(p);
        }
    }
}

/* QEMU >= 9: pure SYNC packets, MULTIFD_FLUSH per sync, global numbers. */
static void test_no_duplicates_by_default(void **state)
{
    Scenario s = {
        .style = PRIMARY_QEMU_7_2,
        .channels = 2,
        .comp = WIRE_COMP_NONE,
        .seed = 4,
        .checkpoints = 0,
        .rounds = 1,
    };
    PrimaryConfig cfg;
    MemImage *img = test_image(4);
    Primary *p;

    (void)state;
    (void)s;
    primary_config_init(&cfg, PRIMARY_QEMU_7_2, 2, WIRE_COMP_NONE);
    p = primary_new(&cfg, img);
    mem_image_free(img);
    primary_precopy(p);
    assert_int_equal(stage0_duplicates(p), 0);
    primary_free(p);
}

static void test_qemu9_shape(void **state)
{
    Scenario s = {
        .style = PRIMARY_QEMU_9,
        .channels = 3,
        .comp = WIRE_COMP_ZSTD,
        .seed = 11,
        .checkpoints = 2,
        .rounds = 2,
    };
    Primary *p;
    RefResult res;
    size_t flushes, pkt_size = wire_packet_size(4096);
    uint8_t *seen;
    uint64_t total_packets = 0;
    bool zero_only_seen = false;

    (void)state;
    p = run_scenario(&s);
    assert_true(ref_replay(p, &res));
    assert_int_equal(res.main_zero, 0);
    assert_int_equal(res.main_pages, 0);
    flushes = count_marks(p, PM_SYNC, 0);
    assert_int_equal(flushes, res.syncs);
    assert_int_equal(flushes, 1 + 2 + 1 + 2); /* setup, rounds, end, cps */
    seen = calloc(4096, 1);
    for (uint32_t i = 0; i < 3; i++) {
        const SupBuf *b = &primary_conn(p, 1 + i)->buf;
        size_t pos = WIRE_HANDSHAKE_SIZE, syncs = 0;
        uint64_t last = 0;
        bool first = true;

        while (pos < b->len) {
            const uint8_t *pk = b->data + pos;
            uint32_t flags = mf_be32_load(pk + 8);
            uint32_t normal = mf_be32_load(pk + 16);
            uint32_t zero = mf_be32_load(pk + 32);
            uint64_t num = mf_be64_load(pk + 24);

            assert_true(num < 4096);
            assert_int_equal(seen[num], 0); /* unique across channels */
            seen[num] = 1;
            assert_true(first || num > last);
            if (first) {
                assert_int_equal(num, i); /* setup sync in id order */
            }
            first = false;
            last = num;
            total_packets++;
            if (flags & WIRE_FLAG_SYNC) {
                uint8_t zeros[1344];

                memset(zeros, 0, sizeof(zeros));
                syncs++;
                assert_int_equal(flags, WIRE_FLAG_SYNC);
                assert_memory_equal(pk + 12, zeros, 12);
                assert_memory_equal(pk + 32, zeros, pkt_size - 32);
                pos += pkt_size;
                continue;
            }
            assert_int_equal(flags, WIRE_COMP_ZSTD);
            assert_int_equal(mf_be32_load(pk + 12), 128);
            assert_memory_equal(pk + 36, (uint8_t[28]){ 0 }, 28);
            if (normal == 0) {
                assert_true(zero > 0);
                assert_int_equal(mf_be32_load(pk + 20), 0);
                zero_only_seen = true;
            }
            pos += pkt_size + (normal ? mf_be32_load(pk + 20) : 0);
        }
        assert_int_equal(syncs, flushes);
    }
    assert_int_equal(total_packets, res.packets);
    (void)zero_only_seen;
    free(seen);
    primary_free(p);
}

static uint32_t be32_at(const Primary *p, size_t conn, uint64_t off)
{
    return mf_be32_load(primary_conn(p, conn)->buf.data + off);
}

/* The COLO exchange: messages, sizes, replies, CONTINUE across stages. */
static void test_colo_sequence(void **state)
{
    PrimaryConfig cfg;
    MemImage *img = test_image(1);
    Primary *p;
    static const uint8_t want_replies[] = {
        0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0,
        0, 6, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 6,
    };
    WorkloadIncrement inc;

    (void)state;
    primary_config_init(&cfg, PRIMARY_QEMU_7_2, 0, WIRE_COMP_NONE);
    cfg.device_state_size = 13429;
    p = primary_new(&cfg, img);
    mem_image_free(img);
    workload_increment_init(&inc, 0, 0, 16 * 4096);
    primary_precopy(p);
    for (int k = 0; k < 2; k++) {
        workload_increment_run(&inc, primary_memory(p), 16, primary_dirty(p));
        primary_checkpoint(p);
    }
    assert_int_equal(primary_replies(p)->len, sizeof(want_replies));
    assert_memory_equal(primary_replies(p)->data, want_replies,
                        sizeof(want_replies));
    for (uint32_t st = 1; st <= 2; st++) {
        const PrimaryMark *req =
            primary_find_mark(p, PM_CHECKPOINT_REQUEST, st, 0);
        const PrimaryMark *snd = primary_find_mark(p, PM_VMSTATE_SEND, st, 0);
        const PrimaryMark *ram = primary_find_mark(p, PM_RAM_SECTION, st, 0);
        const PrimaryMark *eof = primary_find_mark(p, PM_VM_EOF, st, 0);
        const PrimaryMark *size = primary_find_mark(p, PM_VMSTATE_SIZE, st, 0);
        const PrimaryMark *dev = primary_find_mark(p, PM_DEVICE_STATE, st, 0);
        const PrimaryStage *stage = primary_stage(p, st);
        const uint8_t *m = primary_conn(p, 0)->buf.data;
        uint64_t word;

        assert_non_null(req);
        assert_int_equal(req->offset, stage->start[0]);
        assert_int_equal(be32_at(p, 0, req->offset), 1);
        assert_int_equal(snd->offset, req->offset + 4);
        assert_int_equal(be32_at(p, 0, snd->offset), 3);
        assert_int_equal(ram->offset, snd->offset + 4);
        assert_int_equal(m[ram->offset], WIRE_VM_SECTION_END);
        assert_int_equal(be32_at(p, 0, ram->offset + 1), 2);
        word = mf_be64_load(m + ram->offset + 5);
        /* Stage 1 names pc.ram (precopy ended on another block); stage
         * 2 continues it. */
        assert_int_equal(word & 0xfff, st == 1
                                           ? WIRE_RAM_PAGE
                                           : WIRE_RAM_PAGE | WIRE_RAM_CONTINUE);
        assert_int_equal(m[eof->offset], WIRE_VM_EOF);
        assert_int_equal(size->offset, eof->offset + 1);
        assert_int_equal(be32_at(p, 0, size->offset), 4);
        assert_int_equal(mf_be64_load(m + size->offset + 4), 13429);
        assert_int_equal(dev->offset, size->offset + 12);
        assert_int_equal(stage->end[0] - dev->offset, 13429);
        assert_int_equal(stage->pages, 16);
    }
    assert_replays(p);
    primary_free(p);
}

/* ---- misbehaviour knobs: the core decoders see what they must ---- */

static Primary *faulty(PrimaryStyle style, WireCompression comp,
                       const PrimaryFault *f)
{
    PrimaryConfig cfg;
    MemImage *img = test_image(3);
    Primary *p;

    primary_config_init(&cfg, style, 2, comp);
    p = primary_new(&cfg, img);
    mem_image_free(img);
    primary_add_fault(p, f);
    primary_precopy(p);
    workload_random(primary_memory(p), &(SupRng){ 5 }, 60, 20,
                    primary_dirty(p));
    primary_checkpoint(p);
    return p;
}

/* Byte offset of packet @nth on multifd channel @chan (PM_PACKET marks). */
static uint64_t packet_at(const Primary *p, uint32_t chan, uint64_t nth)
{
    uint64_t k = 0;

    for (size_t i = 0; i < primary_nmarks(p); i++) {
        const PrimaryMark *m = primary_mark(p, i);

        if (m->kind == PM_PACKET && m->conn == 1 + chan && k++ == nth) {
            return m->offset;
        }
    }
    fail_msg("no packet %" PRIu64 " on channel %u", nth, chan);
    return 0;
}

static int decode_packet_err(const Primary *p, uint32_t chan, uint64_t nth,
                             WirePacket *pkt, uint64_t *offsets)
{
    MfError err;

    mf_error_clear(&err);
    memset(pkt, 0, sizeof(*pkt));
    pkt->offsets = offsets;
    wire_packet_decode(primary_conn(p, 1 + chan)->buf.data +
                           packet_at(p, chan, nth),
                       4096, pkt, &err);
    return err.code;
}

static void test_fault_handshake(void **state)
{
    struct {
        PrimaryFault f;
        int code;
    } cases[] = {
        { { .kind = PF_HS_MAGIC, .chan = 1, .value = 0x11223345 },
          WIRE_ERR_HANDSHAKE_MAGIC },
        { { .kind = PF_HS_VERSION, .chan = 0, .value = 2 },
          WIRE_ERR_HANDSHAKE_VERSION },
    };

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        Primary *p = faulty(PRIMARY_QEMU_9, WIRE_COMP_NONE, &cases[i].f);
        WireHandshake hs;
        MfError err;

        mf_error_clear(&err);
        assert_false(wire_handshake_decode(
            primary_conn(p, 1 + cases[i].f.chan)->buf.data, &hs, &err));
        assert_int_equal(err.code, cases[i].code);
        /* The other channel is untouched. */
        assert_true(wire_handshake_decode(
            primary_conn(p, 2 - cases[i].f.chan)->buf.data, &hs, &err));
        primary_free(p);
    }
}

static void test_fault_handshake_fields(void **state)
{
    PrimaryFault id_eq = { .kind = PF_HS_ID, .chan = 1, .value = 2 };
    PrimaryFault dup = { .kind = PF_HS_ID, .chan = 1, .value = 0 };
    PrimaryFault uuid = { .kind = PF_HS_UUID, .chan = 0 };
    PrimaryFault extra = { .kind = PF_EXTRA_CONN, .value = 1 };
    Primary *p;
    WireHandshake hs;
    MfError err;

    (void)state;
    mf_error_clear(&err);
    p = faulty(PRIMARY_QEMU_9, WIRE_COMP_NONE, &id_eq);
    assert_true(wire_handshake_decode(primary_conn(p, 2)->buf.data, &hs, &err));
    assert_int_equal(hs.id, 2); /* == channel count */
    assert_int_equal(primary_conn(p, 2)->id, 2);
    primary_free(p);

    p = faulty(PRIMARY_QEMU_9, WIRE_COMP_NONE, &dup);
    assert_true(wire_handshake_decode(primary_conn(p, 2)->buf.data, &hs, &err));
    assert_int_equal(hs.id, 0);
    primary_free(p);

    p = faulty(PRIMARY_QEMU_9, WIRE_COMP_NONE, &uuid);
    assert_true(wire_handshake_decode(primary_conn(p, 1)->buf.data, &hs, &err));
    assert_int_equal(hs.uuid[0], 0x6d ^ 0xff);
    primary_free(p);

    p = faulty(PRIMARY_QEMU_9, WIRE_COMP_NONE, &extra);
    assert_int_equal(primary_nconns(p), 4);
    assert_int_equal(primary_conn(p, 3)->kind, PRIMARY_CONN_MULTIFD);
    assert_int_equal(primary_conn(p, 3)->buf.len,
                     WIRE_HANDSHAKE_SIZE + wire_packet_size(4096));
    assert_true(wire_handshake_decode(primary_conn(p, 3)->buf.data, &hs, &err));
    assert_int_equal(hs.id, 1);
    primary_free(p);
}

static void test_fault_packet_fields(void **state)
{
    struct {
        PrimaryFault f;
        int code;
    } cases[] = {
        { { .kind = PF_PKT_MAGIC, .chan = 0, .nth = 1, .value = 1 },
          WIRE_ERR_PACKET_MAGIC },
        { { .kind = PF_PKT_VERSION, .chan = 1, .nth = 0, .value = 7 },
          WIRE_ERR_PACKET_VERSION },
        { { .kind = PF_PKT_FLAGS, .chan = 0, .nth = 1, .value = 0x40 },
          WIRE_ERR_PACKET_DEVICE_STATE },
        { { .kind = PF_PKT_FLAGS, .chan = 0, .nth = 1, .value = 0x06 },
          WIRE_ERR_PACKET_COMPRESSION },
        { { .kind = PF_PKT_PAGES_ALLOC, .chan = 0, .nth = 1, .value = 129 },
          WIRE_ERR_PACKET_PAGES_ALLOC },
        { { .kind = PF_PKT_NORMAL_PAGES, .chan = 0, .nth = 1, .value = 200 },
          WIRE_ERR_PACKET_NORMAL_PAGES },
        { { .kind = PF_PKT_ZERO_PAGES, .chan = 0, .nth = 1, .value = 128 },
          WIRE_ERR_PACKET_ZERO_PAGES },
        { { .kind = PF_PKT_BLOCK_UNTERMINATED, .chan = 0, .nth = 1 },
          WIRE_ERR_PACKET_BLOCK_NAME },
    };
    uint64_t offsets[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        Primary *p = faulty(PRIMARY_QEMU_9, WIRE_COMP_NONE, &cases[i].f);
        WirePacket pkt;

        assert_int_equal(decode_packet_err(p, cases[i].f.chan, cases[i].f.nth,
                                           &pkt, offsets),
                         cases[i].code);
        /* The packet before is intact. */
        if (cases[i].f.nth > 0) {
            assert_int_equal(
                decode_packet_err(p, cases[i].f.chan, 0, &pkt, offsets), MF_OK);
        }
        primary_free(p);
    }
}

static void test_fault_packet_values(void **state)
{
    PrimaryFault name = {
        .kind = PF_PKT_BLOCK_NAME, .chan = 0, .nth = 1, .name = "no.such.block"
    };
    PrimaryFault off = { .kind = PF_PKT_OFFSET,
                         .chan = 0,
                         .nth = 1,
                         .index = 0,
                         .value = 0x1000 + 1 };
    PrimaryFault next = { .kind = PF_PKT_NEXT_SIZE,
                          .chan = 0,
                          .nth = 1,
                          .value = 2 * 1024 * 1024 + 1 };
    PrimaryFault trunc = {
        .kind = PF_PKT_PAYLOAD_TRUNCATE, .chan = 0, .nth = 1, .value = 10
    };
    uint64_t offsets[128];
    WirePacket pkt;
    Primary *p;
    const uint8_t *pk;

    (void)state;
    p = faulty(PRIMARY_QEMU_9, WIRE_COMP_NONE, &name);
    assert_int_equal(decode_packet_err(p, 0, 1, &pkt, offsets), MF_OK);
    assert_string_equal(pkt.ramblock, "no.such.block");
    primary_free(p);

    p = faulty(PRIMARY_QEMU_9, WIRE_COMP_NONE, &off);
    assert_int_equal(decode_packet_err(p, 0, 1, &pkt, offsets), MF_OK);
    assert_int_equal(pkt.offsets[0], 0x1001);
    primary_free(p);

    p = faulty(PRIMARY_QEMU_9, WIRE_COMP_ZSTD, &next);
    assert_int_equal(decode_packet_err(p, 0, 1, &pkt, offsets), MF_OK);
    assert_int_equal(pkt.next_packet_size, 2 * 1024 * 1024 + 1);
    primary_free(p);

    p = faulty(PRIMARY_QEMU_9, WIRE_COMP_ZSTD, &trunc);
    assert_int_equal(decode_packet_err(p, 0, 1, &pkt, offsets), MF_OK);
    assert_int_equal(pkt.next_packet_size, 10);
    /* The next packet header follows 10 payload bytes later. */
    pk = primary_conn(p, 1)->buf.data;
    assert_int_equal(packet_at(p, 0, 2),
                     packet_at(p, 0, 1) + wire_packet_size(4096) + 10);
    assert_int_equal(mf_be32_load(pk + packet_at(p, 0, 2)), WIRE_MULTIFD_MAGIC);
    primary_free(p);
}

static void test_fault_payload_garbage(void **state)
{
    PrimaryFault f = { .kind = PF_PKT_PAYLOAD_GARBAGE, .chan = 1, .nth = 1 };
    Primary *p, *clean;
    RefResult res;
    PrimaryConfig cfg;
    MemImage *img = test_image(3);
    uint64_t at;
    size_t hdr = wire_packet_size(4096);

    (void)state;
    p = faulty(PRIMARY_QEMU_9, WIRE_COMP_ZLIB, &f);
    assert_false(ref_replay(p, &res));
    primary_config_init(&cfg, PRIMARY_QEMU_9, 2, WIRE_COMP_ZLIB);
    clean = primary_new(&cfg, img);
    mem_image_free(img);
    primary_precopy(clean);
    at = packet_at(p, 1, 1);
    assert_int_equal(at, packet_at(clean, 1, 1));
    /* Same header, different payload of the same length. */
    assert_memory_equal(primary_conn(p, 2)->buf.data + at,
                        primary_conn(clean, 2)->buf.data + at, hdr);
    assert_memory_not_equal(primary_conn(p, 2)->buf.data + at + hdr,
                            primary_conn(clean, 2)->buf.data + at + hdr, 8);
    primary_free(clean);
    primary_free(p);
}

static void test_fault_devstate(void **state)
{
    PrimaryFault f = { .kind = PF_DEVSTATE_PACKET,
                       .chan = 0,
                       .nth = 1,
                       .value = 100,
                       .name = "0000:00:05.0/vfio" };
    Primary *p;
    WireDevStatePacket d;
    WirePacketHdr hdr;
    MfError err;
    const uint8_t *b;
    uint64_t at;

    (void)state;
    mf_error_clear(&err);
    p = faulty(PRIMARY_QEMU_9, WIRE_COMP_NONE, &f);
    /* PM_PACKET marks the device-state packet too: it is packet 1. */
    at = packet_at(p, 0, 1);
    b = primary_conn(p, 1)->buf.data + at;
    assert_true(wire_packet_hdr_decode(b, &hdr, &err));
    assert_true(wire_packet_is_device_state(&hdr));
    assert_true(wire_devstate_decode(b, &d, &err));
    assert_string_equal(d.idstr, "0000:00:05.0/vfio");
    assert_int_equal(d.next_packet_size, 100);
    assert_int_equal(packet_at(p, 0, 2), at + WIRE_DEVSTATE_HDR_SIZE + 100);
    primary_free(p);
}

static void test_fault_main_channel(void **state)
{
    PrimaryFault msg = {
        .kind = PF_COLO_MESSAGE, .stage = 1, .index = 1, .value = 7
    };
    PrimaryFault order = { .kind = PF_COLO_MESSAGE,
                           .stage = 1,
                           .index = 3,
                           .value = WIRE_COLO_VMSTATE_SIZE };
    PrimaryFault lie = { .kind = PF_VMSTATE_SIZE_LIE,
                         .stage = 1,
                         .value = 1000 };
    Primary *p;
    MfError err;
    const PrimaryMark *m;

    (void)state;
    mf_error_clear(&err);
    p = faulty(PRIMARY_QEMU_9, WIRE_COMP_NONE, &msg);
    m = primary_find_mark(p, PM_CHECKPOINT_REQUEST, 1, 0);
    assert_int_equal(be32_at(p, 0, m->offset), 7);
    assert_false(wire_colo_message_check(7, &err));
    assert_int_equal(err.code, WIRE_ERR_COLO_MESSAGE);
    primary_free(p);

    p = faulty(PRIMARY_QEMU_9, WIRE_COMP_NONE, &order);
    m = primary_find_mark(p, PM_VMSTATE_SEND, 1, 0);
    assert_int_equal(be32_at(p, 0, m->offset), WIRE_COLO_VMSTATE_SIZE);
    primary_free(p);

    p = faulty(PRIMARY_QEMU_9, WIRE_COMP_NONE, &lie);
    m = primary_find_mark(p, PM_VMSTATE_SIZE, 1, 0);
    assert_int_equal(mf_be64_load(primary_conn(p, 0)->buf.data + m->offset + 4),
                     4096 + 1000);
    assert_int_equal(primary_stage(p, 1)->end[0] - (m->offset + 12), 4096);
    primary_free(p);
}

/* Skip one RAM record at *pos; @zero tells the body when the word lies. */
static void skip_record(const uint8_t *m, size_t *pos, bool named, bool zero)
{
    *pos += 8;
    if (named) {
        *pos += 1 + m[*pos];
    }
    *pos += zero ? 1 : 4096;
}

static bool image_page_zero(const MemImage *img, size_t block, uint64_t pg)
{
    const uint8_t *d = mem_image_page(img, block, pg);

    for (uint32_t i = 0; i < 4096; i++) {
        if (d[i]) {
            return false;
        }
    }
    return true;
}

static void test_fault_ram_records(void **state)
{
    PrimaryConfig cfg;
    MemImage *img = test_image(3);
    PrimaryFault flags = { .kind = PF_RAM_RECORD_FLAGS,
                           .nth = 2,
                           .value = WIRE_RAM_ZERO | WIRE_RAM_PAGE };
    PrimaryFault name = { .kind = PF_RAM_RECORD_NAME,
                          .nth = 3,
                          .name = "bogus" };
    PrimaryFault off = { .kind = PF_RAM_RECORD_OFFSET,
                         .nth = 4,
                         .value = 0x40000000 };
    Primary *p;
    const uint8_t *m;
    const MemImage *pre;
    size_t pos;
    uint64_t addr;
    uint32_t fl;
    MfError err;

    (void)state;
    mf_error_clear(&err);
    primary_config_init(&cfg, PRIMARY_QEMU_9, 0, WIRE_COMP_NONE);
    p = primary_new(&cfg, img);
    mem_image_free(img);
    primary_add_fault(p, &flags);
    primary_add_fault(p, &name);
    primary_add_fault(p, &off);
    primary_precopy(p);
    m = primary_conn(p, 0)->buf.data;
    pre = primary_stage(p, 0)->image;
    /* The PART section: the second "ram" section header. */
    pos = 0;
    for (size_t i = 0, seen = 0; i < primary_nmarks(p); i++) {
        const PrimaryMark *mk = primary_mark(p, i);

        if (mk->kind == PM_RAM_SECTION && mk->conn == 0 && seen++ == 1) {
            pos = mk->offset;
            break;
        }
    }
    assert_int_equal(m[pos], WIRE_VM_SECTION_PART);
    pos += 5;
    /* Records 0 (named) and 1 (CONTINUE) are clean. */
    for (int r = 0; r < 2; r++) {
        assert_true(wire_ram_record_decode(mf_be64_load(m + pos), 4096, &addr,
                                           &fl, &err));
        assert_int_equal(addr, (uint64_t)r * 4096);
        assert_int_equal(!!(fl & WIRE_RAM_CONTINUE), r == 1);
        skip_record(m, &pos, r == 0, fl & WIRE_RAM_ZERO);
    }
    /* Record 2: flags replaced, body as the page really is. */
    assert_false(
        wire_ram_record_decode(mf_be64_load(m + pos), 4096, &addr, &fl, &err));
    assert_int_equal(err.code, WIRE_ERR_RAM_FLAGS);
    assert_int_equal(mf_be64_load(m + pos), 2 * 4096 + 0x0a);
    skip_record(m, &pos, false, image_page_zero(pre, 0, 2));
    /* Record 3: names "bogus" instead of continuing. */
    mf_error_clear(&err);
    assert_true(
        wire_ram_record_decode(mf_be64_load(m + pos), 4096, &addr, &fl, &err));
    assert_int_equal(addr, 3 * 4096);
    assert_int_equal(fl & WIRE_RAM_CONTINUE, 0);
    assert_int_equal(m[pos + 8], 5);
    assert_memory_equal(m + pos + 9, "bogus", 5);
    skip_record(m, &pos, true, fl & WIRE_RAM_ZERO);
    /* Record 4: offset far out of range. */
    assert_true(
        wire_ram_record_decode(mf_be64_load(m + pos), 4096, &addr, &fl, &err));
    assert_int_equal(addr, 0x40000000);
    primary_free(p);
}

/* The one-call scenario replays, and saves like the captures. */
static void test_scenario_and_save(void **state)
{
    ScenarioSpec spec;
    Primary *p;
    char dir[] = "/tmp/mfcolo-primary-XXXXXX";
    char path[128];
    struct stat st;

    (void)state;
    scenario_spec_init(&spec, PRIMARY_QEMU_9, 2, WIRE_COMP_ZSTD, 8);
    spec.precopy_rounds = 2;
    p = scenario_run(&spec);
    assert_int_equal(primary_nstages(p), 4);
    assert_true(primary_stage(p, 3)->pages > 0);
    assert_replays(p);
    assert_non_null(mkdtemp(dir));
    assert_true(primary_save(p, dir));
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/conn-%zu.bin", dir, i);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal((size_t)st.st_size, primary_conn(p, i)->buf.len);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/conn-0.d2s.bin", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 4 + 3 * 12);
    unlink(path);
    rmdir(dir);
    primary_free(p);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_matrix),
        cmocka_unit_test(test_roundtrip_options),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_qemu72_shape),
        cmocka_unit_test(test_no_duplicates_by_default),
        cmocka_unit_test(test_qemu9_shape),
        cmocka_unit_test(test_colo_sequence),
        cmocka_unit_test(test_fault_handshake),
        cmocka_unit_test(test_fault_handshake_fields),
        cmocka_unit_test(test_fault_packet_fields),
        cmocka_unit_test(test_fault_packet_values),
        cmocka_unit_test(test_fault_payload_garbage),
        cmocka_unit_test(test_fault_devstate),
        cmocka_unit_test(test_fault_main_channel),
        cmocka_unit_test(test_fault_ram_records),
        cmocka_unit_test(test_scenario_and_save),
    };

    if (argc > 1 && strcmp(argv[1], "--full") == 0) {
        n_seeds = 40;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
