/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The incoming layer with multifd channels (deterministic recv engine),
 * over streams of the fake primary: both QEMU sync modes (per section,
 * 7.2; per round, >= 8.1) and their auto-detection, a mode mismatch
 * ending in an error instead of a hang, COLO checkpoints whose pages come
 * over multifd, and failover memory (I4) after a hostile message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/bitmap.h"
#include "incoming/errors.h"
#include "incoming/incoming.h"
#include "primary.h"
#include "recv/errors.h"
#include "secondary.h"
#include "sha256.h"
#include "wire/errors.h"

#define PAGE 4096u
#define CHECKPOINTS 3

typedef struct Run {
    Secondary *sec;
    IncomingStats st;
    IncomingOutcome outcome;
    MfError err;
    bool ok;
} Run;

static void touch(Primary *p, uint64_t page, uint8_t v)
{
    MemImage *m = primary_memory(p);

    memset(mem_image_page(m, 0, page), v, PAGE);
    page_set_add(primary_dirty(p), 0, page);
}

/* Precopy then @cps checkpoints; each touches data and zero pages. */
static Primary *make(PrimaryStyle style, uint32_t channels, int cps,
                     const PrimaryFault *fault)
{
    PrimaryConfig cfg;
    MemImage *img = mem_image_new(PAGE);
    Primary *p;
    uint64_t i;
    int k;

    mem_image_add(img, "pc.ram", 300 * PAGE);
    mem_image_add(img, "pc.bios", 8 * PAGE);
    for (i = 0; i < 300; i += 3) {
        memset(mem_image_page(img, 0, i), (int)(i + 1), PAGE);
    }
    memset(mem_image_page(img, 1, 2), 0xb1, PAGE);
    primary_config_init(&cfg, style, channels, WIRE_COMP_NONE);
    cfg.device_section = true;
    cfg.vmdesc = true;
    p = primary_new(&cfg, img);
    mem_image_free(img);
    if (fault) {
        primary_add_fault(p, fault);
    }
    primary_precopy(p);
    for (k = 0; k < cps; k++) {
        for (i = 0; i < 200; i += 7) {
            touch(p, i, (uint8_t)(0x40 + k + i));
        }
        touch(p, 3, 0); /* a data page becomes zero */
        touch(p, 250 + k, 0x77);
        primary_checkpoint(p);
    }
    return p;
}

static void run(Run *r, Primary *p, IncomingSyncMode mode, uint64_t seed)
{
    const PrimaryConfig *pc = primary_config(p);
    SecondaryOptions so = { 0 };
    MfError e = { 0 };
    Chan *main, *reply;
    size_t i;

    memset(r, 0, sizeof(*r));
    so.page_size = PAGE;
    so.create_blocks = true;
    so.colo = true;
    so.multifd.channels = pc->channels;
    so.multifd.compression = WIRE_COMP_NONE;
    so.multifd.driver = RECV_DRIVER_DETERMINISTIC;
    so.multifd.seed = seed;
    so.multifd.max_chunk = 1000;
    so.expect_end = true;
    so.sync = mode;
    r->sec = secondary_build(&so, &e);
    assert_non_null(r->sec);
    for (i = 1; i < primary_nconns(p); i++) {
        const PrimaryConn *c = primary_conn(p, i);
        Chan *ch = chan_mem_new(c->buf.data, c->buf.len, 0, "mfd", &e);

        assert_true(secondary_add_channel(r->sec, ch, &e));
    }
    main = chan_mem_new(primary_conn(p, 0)->buf.data,
                        primary_conn(p, 0)->buf.len, 0, "main", &e);
    reply = chan_mem_sink_new("reply", &e);
    assert_true(secondary_attach_main(r->sec, main, reply, &e));
    r->ok = incoming_run(r->sec->in, &r->outcome, &r->err);
    incoming_get_stats(r->sec->in, &r->st);
}

static void run_free(Run *r)
{
    secondary_free(r->sec);
}

/* Guest memory equals what a correct secondary holds after @stage. */
static void assert_stage(Run *r, Primary *p, size_t stage)
{
    const PrimaryStage *s = primary_stage(p, stage);
    uint8_t d[SHA256_DIGEST_SIZE];
    size_t i;

    assert_int_equal(r->sec->ram.nblocks, 2);
    for (i = 0; i < r->sec->ram.nblocks; i++) {
        sha256_digest(r->sec->ram.blocks[i]->host,
                      r->sec->ram.blocks[i]->used_length, d);
        assert_memory_equal(d, s->digest[i], SHA256_DIGEST_SIZE);
    }
}

static void assert_replies(Run *r, Primary *p)
{
    const SupBuf *want = primary_replies(p);
    const uint8_t *got;
    size_t len;

    got = chan_mem_data(r->sec->reply, &len);
    assert_int_equal(len, want->len);
    assert_memory_equal(got, want->data, len);
}

static void check_ok(PrimaryStyle style, IncomingSyncMode mode,
                     IncomingSyncMode resolved)
{
    Primary *p = make(style, 2, CHECKPOINTS, NULL);
    uint64_t seed;

    for (seed = 1; seed <= 3; seed++) {
        Run r;

        run(&r, p, mode, seed);
        if (!r.ok) {
            char line[300];

            mf_error_format(&r.err, line, sizeof(line));
            print_error("seed %llu: %s\n", (unsigned long long)seed, line);
        }
        assert_true(r.ok);
        assert_int_equal(r.outcome, INCOMING_FAILED_OVER);
        assert_int_equal(r.st.checkpoints, CHECKPOINTS);
        assert_int_equal(r.st.sync_mode, resolved);
        assert_true(r.st.syncs > 0);
        assert_stage(&r, p, CHECKPOINTS);
        assert_replies(&r, p);
        run_free(&r);
    }
    primary_free(p);
}

static void test_section_mode_72(void **state)
{
    (void)state;
    check_ok(PRIMARY_QEMU_7_2, INCOMING_SYNC_SECTION, INCOMING_SYNC_SECTION);
}

static void test_auto_mode_72(void **state)
{
    (void)state;
    check_ok(PRIMARY_QEMU_7_2, INCOMING_SYNC_AUTO, INCOMING_SYNC_SECTION);
}

static void test_round_mode_9(void **state)
{
    (void)state;
    check_ok(PRIMARY_QEMU_9, INCOMING_SYNC_ROUND, INCOMING_SYNC_ROUND);
}

static void test_auto_mode_9(void **state)
{
    (void)state;
    check_ok(PRIMARY_QEMU_9, INCOMING_SYNC_AUTO, INCOMING_SYNC_ROUND);
}

/*
 * A mode mismatch is a located error, never a hang: from the engine, or
 * (@code != 0) that code on the main channel.
 */
static void check_mismatch(PrimaryStyle style, IncomingSyncMode mode, int code)
{
    Primary *p = make(style, 2, 1, NULL);
    Run r;

    run(&r, p, mode, 1);
    assert_false(r.ok);
    if (code) {
        assert_int_equal(r.err.code, code);
        assert_string_equal(r.err.where, "main");
    } else {
        assert_true(r.err.code > MF_ERR_RECV_RANGE &&
                    r.err.code < MF_ERR_INCOMING_RANGE);
    }
    assert_true(r.err.located);
    run_free(&r);
    primary_free(p);
}

/*
 * Per-round mode on a 7.2 stream: no MULTIFD_FLUSH, so the checkpoint's
 * RAM state ends without any multifd sync.  Its multifd pages may still
 * be in flight: the checkpoint must not be flushed (I5,
 * docs/qemu-reference.md#gap-sync-before-flush), and
 * guest memory stays that of the last flushed state (I4).
 */
static void test_round_mode_on_72_fails(void **state)
{
    Primary *p = make(PRIMARY_QEMU_7_2, 2, 1, NULL);
    const PrimaryMark *m;
    Run r;

    (void)state;
    check_mismatch(PRIMARY_QEMU_7_2, INCOMING_SYNC_ROUND, INCOMING_ERR_NO_SYNC);
    run(&r, p, INCOMING_SYNC_ROUND, 1);
    assert_false(r.ok);
    assert_int_equal(r.st.checkpoints, 0);
    m = primary_find_mark(p, PM_VM_EOF, 1, 0);
    assert_non_null(m);
    assert_int_equal(r.err.offset, m->offset);
    run_free(&r);
    primary_free(p);
}

static void test_section_mode_on_9_fails(void **state)
{
    (void)state;
    check_mismatch(PRIMARY_QEMU_9, INCOMING_SYNC_SECTION, 0);
}

/* Unknown COLO message in checkpoint 2: memory of checkpoint 1 (I4). */
static void test_unknown_message_keeps_last_checkpoint(void **state)
{
    PrimaryFault f = { 0 };
    Primary *p;
    Run r;

    (void)state;
    f.kind = PF_COLO_MESSAGE;
    f.stage = 3;
    f.index = WIRE_COLO_VMSTATE_SIZE;
    f.value = 9;
    p = make(PRIMARY_QEMU_7_2, 2, CHECKPOINTS, &f);
    run(&r, p, INCOMING_SYNC_SECTION, 5);
    assert_false(r.ok);
    assert_int_equal(r.err.code, WIRE_ERR_COLO_MESSAGE);
    assert_string_equal(r.err.where, "main");
    assert_int_equal(r.st.checkpoints, 2);
    assert_stage(&r, p, 2);
    assert_int_equal(colo_phase(&r.sec->colo), COLO_PHASE_FAILED_OVER);
    run_free(&r);
    primary_free(p);
}

/* Main stream cut inside the last checkpoint, multifd data complete. */
static void test_cut_main_keeps_last_checkpoint(void **state)
{
    Primary *p;
    const PrimaryMark *m;
    Run r;

    (void)state;
    p = make(PRIMARY_QEMU_9, 2, CHECKPOINTS, NULL);
    m = primary_find_mark(p, PM_VMSTATE_SIZE, CHECKPOINTS, 0);
    assert_non_null(m);
    sup_buf_truncate((SupBuf *)&primary_conn(p, 0)->buf, m->offset + 2);
    run(&r, p, INCOMING_SYNC_AUTO, 2);
    assert_false(r.ok);
    assert_int_equal(r.err.code, INCOMING_ERR_TRUNCATED);
    assert_int_equal(r.err.offset, m->offset + 2);
    assert_stage(&r, p, CHECKPOINTS - 1);
    run_free(&r);
    primary_free(p);
}

/*
 * The first RAM packet of stage @stage, on any multifd connection, with
 * at least @min_normal normal pages: its offset, *@conn its connection,
 * *@pkt decoded (@offsets: the page_count slots).
 */
static uint64_t find_data_packet(Primary *p, uint32_t stage,
                                 uint32_t min_normal, size_t *conn,
                                 WirePacket *pkt, uint64_t *offsets)
{
    MfError e = { 0 };
    size_t i;

    *conn = 0;
    for (i = 0; i < primary_nmarks(p); i++) {
        const PrimaryMark *m = primary_mark(p, i);
        const SupBuf *buf = &primary_conn(p, m->conn)->buf;

        if (m->kind != PM_PACKET || m->stage != stage || m->conn == 0 ||
            m->offset + wire_packet_size(PAGE) > buf->len) {
            continue;
        }
        pkt->offsets = offsets;
        if (wire_packet_decode(buf->data + m->offset, PAGE, pkt, &e) &&
            pkt->normal_pages >= min_normal) {
            *conn = m->conn;
            return m->offset;
        }
        mf_error_clear(&e);
    }
    fail_msg("no packet with %u normal pages in stage %u", min_normal, stage);
    return 0;
}

/*
 * Second guard of "pages are recorded before they are placed"
 * (docs/verification.md, Second guards; the first: colo/recv
 * test_colo_packet_fails_midway).  A multifd channel ends inside the
 * third page of a packet of checkpoint 2: two pages of it and 100 bytes of the
 * third are in the COLO cache, the packet never completes.  Every page it
 * placed was recorded in the dirty bitmap before its first byte landed,
 * so the failover's discard restores each from guest memory: afterwards
 * no dirty bit is left and the cache equals guest memory byte for byte in
 * every block, guest memory being that of checkpoint 1 (I4).  A receiver
 * that records a packet's pages only once it is complete leaves the cut
 * packet's bytes in the cache, unrecorded.
 */
static void test_packet_cut_midway_restored(void **state)
{
    uint64_t offsets[WIRE_MULTIFD_PACKET_BYTES / PAGE];
    WirePacket pkt;
    Primary *p;
    uint64_t at, cut;
    char label[32];
    size_t conn, i;
    Run r;

    (void)state;
    p = make(PRIMARY_QEMU_9, 2, CHECKPOINTS, NULL);
    at = find_data_packet(p, 3, 3, &conn, &pkt, offsets);
    cut = at + wire_packet_size(PAGE) + 2 * PAGE + 100;
    sup_buf_truncate((SupBuf *)&primary_conn(p, conn)->buf, cut);
    snprintf(label, sizeof(label), "multifd %u", primary_conn(p, conn)->id);
    run(&r, p, INCOMING_SYNC_AUTO, 4);
    assert_false(r.ok);
    assert_int_equal(r.err.code, RECV_ERR_EOF);
    assert_string_equal(r.err.where, label);
    assert_int_equal(r.err.offset, cut);
    assert_int_equal(r.st.checkpoints, 2);
    assert_int_equal(colo_phase(&r.sec->colo), COLO_PHASE_FAILED_OVER);
    assert_stage(&r, p, 2);
    for (i = 0; i < r.sec->ram.nblocks; i++) {
        const RamBlock *b = r.sec->ram.blocks[i];
        uint64_t pg;

        if (!mf_bitmap_empty(b->dirty, b->npages)) {
            print_error("%s: dirty bit left at page %llu after failover\n",
                        b->name,
                        (unsigned long long)mf_bitmap_find_next(b->dirty,
                                                                b->npages, 0));
        }
        assert_true(mf_bitmap_empty(b->dirty, b->npages));
        for (pg = 0; pg < b->npages; pg++) {
            uint64_t off = pg * PAGE;

            if (memcmp(b->colo_cache + off, b->host + off, PAGE)) {
                size_t n = 0, k;

                for (k = 0; k < PAGE; k++) {
                    n += b->colo_cache[off + k] != b->host[off + k];
                }
                print_error("%s: page %llu: %zu bytes of the cache differ "
                            "from guest memory (byte 0: cache 0x%02x, guest "
                            "0x%02x); the cut packet's first pages: %llu, "
                            "%llu, %llu\n",
                            b->name, (unsigned long long)pg, n,
                            b->colo_cache[off], b->host[off],
                            (unsigned long long)(pkt.offsets[0] / PAGE),
                            (unsigned long long)(pkt.offsets[1] / PAGE),
                            (unsigned long long)(pkt.offsets[2] / PAGE));
                fail();
            }
        }
    }
    run_free(&r);
    primary_free(p);
}

/*
 * A multifd sync that fails stops the parser on the spot (incoming.h):
 * per-section mode (7.2), multifd channel 1 ends inside its first SYNC
 * packet, so the sync at the first EOS of the main channel fails with
 * that channel's RECV_ERR_EOF, and nothing after the EOS record (its
 * section's footer first) is read from the main channel.
 */
static void test_section_sync_failure_stops_at_eos(void **state)
{
    const PrimaryMark *eos, *sync;
    Primary *p;
    uint64_t cut;
    char label[32];
    Run r;

    (void)state;
    p = make(PRIMARY_QEMU_7_2, 2, 0, NULL);
    eos = primary_find_mark(p, PM_EOS, 0, 0);
    sync = primary_find_mark(p, PM_SYNC, 0, 1);
    assert_non_null(eos);
    assert_non_null(sync);
    /* 7.2: the first EOS of the main channel is a sync point */
    assert_int_equal(primary_find_mark(p, PM_SYNC, 0, 0)->offset, eos->offset);
    cut = sync->offset + 3;
    sup_buf_truncate((SupBuf *)&primary_conn(p, 1)->buf, cut);
    snprintf(label, sizeof(label), "multifd %u", primary_conn(p, 1)->id);
    run(&r, p, INCOMING_SYNC_SECTION, 1);
    assert_false(r.ok);
    assert_int_equal(r.err.code, RECV_ERR_EOF);
    assert_string_equal(r.err.where, label);
    assert_int_equal(r.err.offset, cut);
    assert_int_equal(r.st.syncs, 0);
    /* the main channel was read up to the end of the EOS record */
    assert_int_equal(r.st.main_bytes, eos->offset + 8);
    run_free(&r);
    primary_free(p);
}

/*
 * A precopy error stops the multifd engine too: when incoming_run returns,
 * the engine is cancelled with the run's error and no channel thread is
 * left running (found by the fault tier).
 */
static void test_precopy_error_cancels_engine(void **state)
{
    Primary *p;
    MfError engine_err;
    Run r;

    (void)state;
    p = make(PRIMARY_QEMU_9, 2, 0, NULL);
    sup_buf_truncate((SupBuf *)&primary_conn(p, 0)->buf, 100);
    run(&r, p, INCOMING_SYNC_AUTO, 3);
    assert_false(r.ok);
    assert_int_equal(r.err.code, INCOMING_ERR_TRUNCATED);
    assert_int_equal(r.err.offset, 100);
    recv_engine_error(r.sec->engine, &engine_err);
    assert_int_equal(engine_err.code, INCOMING_ERR_TRUNCATED);
    assert_int_equal(engine_err.offset, 100);
    run_free(&r);
    primary_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_section_mode_72),
        cmocka_unit_test(test_auto_mode_72),
        cmocka_unit_test(test_round_mode_9),
        cmocka_unit_test(test_auto_mode_9),
        cmocka_unit_test(test_round_mode_on_72_fails),
        cmocka_unit_test(test_section_mode_on_9_fails),
        cmocka_unit_test(test_unknown_message_keeps_last_checkpoint),
        cmocka_unit_test(test_cut_main_keeps_last_checkpoint),
        cmocka_unit_test(test_precopy_error_cancels_engine),
        cmocka_unit_test(test_section_sync_failure_stops_at_eos),
        cmocka_unit_test(test_packet_cut_midway_restored),
    };

    return cmocka_run_group_tests_name("incoming-multifd", tests, NULL, NULL);
}
