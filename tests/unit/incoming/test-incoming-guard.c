/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The parser never reads outside its buffers, checked without a memory
 * checker: every allocation of the receiver (RAM blocks, the device-state
 * buffer) starts right after a PROT_NONE page and ends on a page
 * boundary, so a read before the start of one faults in the default run.
 * Found by ci/mutate (docs/verification.md): the device-state scan that
 * looks for the end pattern once read up to END_PATTERN_LEN - 1 bytes
 * before the buffer, and only valgrind or ASan noticed.  Also: the same
 * stream delivered in pieces of every size from 1 to 64 bytes parses the
 * same (a read must never go past a possible end pattern, whatever piece
 * ended the last one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "colo/colo.h"
#include "guard-alloc.h"
#include "incoming/incoming.h"
#include "secondary.h"
#include "stream-build.h"

/* Plain precopy of one page into a receiver using @a, read @chunk bytes
 * at most at a time (0: all). */
static void run_plain(const MfAllocator *a, size_t chunk)
{
    static const SecondaryBlock blocks[] = {
        { "pc.ram", SB_RAM_LEN, NULL },
        { "small", SB_SMALL_LEN, NULL },
    };
    SecondaryOptions so = { 0 };
    IncomingOutcome outcome;
    MfError e = { 0 };
    Secondary *sec;
    SupBuf s = { 0 };
    Chan *main, *reply;

    sb_begin(&s, false);
    sb_section_part(&s, WIRE_VM_SECTION_PART, SB_RAM_SID);
    sb_page(&s, "pc.ram", 0, 0xab);
    sb_eos(&s);
    sb_footer(&s, SB_RAM_SID);
    sb_end(&s);

    so.page_size = SB_PAGE;
    so.blocks = blocks;
    so.nblocks = 2;
    so.colo = true;
    so.expect_end = true;
    so.allocator = a;
    sec = secondary_build(&so, &e);
    assert_non_null(sec);
    main = chan_mem_new(s.data, s.len, chunk, "main", &e);
    reply = chan_mem_sink_new("reply", &e);
    assert_non_null(main);
    assert_non_null(reply);
    assert_true(secondary_attach_main(sec, main, reply, &e));
    if (!incoming_run(sec->in, &outcome, &e)) {
        fail_msg("read %zu bytes at a time: %s (code %d at %llu)", chunk, e.msg,
                 e.code, (unsigned long long)e.offset);
    }
    assert_int_equal(outcome, INCOMING_COMPLETED);
    assert_int_equal(ram_table_find(&sec->ram, "pc.ram")->host[0], 0xab);
    secondary_free(sec);
    sup_buf_free(&s);
}

static void test_precopy_reads_inside_buffers(void **state)
{
    SupGuardAlloc g;

    (void)state;
    sup_guard_alloc_init(&g, SUP_GUARD_BEFORE);
    run_plain(&g.ops, 0);
    assert_int_equal(sup_guard_alloc_live(&g), 0);
}

static void test_precopy_any_piece_size(void **state)
{
    size_t chunk;

    (void)state;
    for (chunk = 1; chunk <= 64; chunk++) {
        run_plain(NULL, chunk);
    }
}

/*
 * The guard allocator (end guarded); once @fail_from is set, its calls
 * from the @fail_from-th on fail; once @fail_size is set, its calls for
 * that many bytes fail (counted in @failed).
 */
typedef struct FailingGuard {
    MfAllocator ops;
    SupGuardAlloc g;
    unsigned calls;
    unsigned fail_from;
    size_t fail_size;
    unsigned failed;
} FailingGuard;

static void *fg_alloc(void *opaque, size_t size)
{
    FailingGuard *f = opaque;

    if (++f->calls >= f->fail_from && f->fail_from) {
        return NULL;
    }
    if (f->fail_size && size == f->fail_size) {
        f->failed++;
        return NULL;
    }
    return f->g.ops.alloc(f->g.ops.opaque, size);
}

static void fg_free(void *opaque, void *ptr)
{
    FailingGuard *f = opaque;

    f->g.ops.free(f->g.ops.opaque, ptr);
}

/*
 * A secondary with pc.ram and "small" whose every allocation goes through
 * @f (a guard page after each buffer), attached to a main channel
 * replaying @s and a memory sink for the replies.
 */
static Secondary *fg_secondary(FailingGuard *f, const SupBuf *s, bool colo,
                               bool expect_end)
{
    static const SecondaryBlock blocks[] = {
        { "pc.ram", SB_RAM_LEN, NULL },
        { "small", SB_SMALL_LEN, NULL },
    };
    SecondaryOptions so = { 0 };
    MfError e = { 0 };
    Secondary *sec;
    Chan *main, *reply;

    sup_guard_alloc_init(&f->g, SUP_GUARD_AFTER);
    f->ops.alloc = fg_alloc;
    f->ops.free = fg_free;
    f->ops.opaque = f;
    so.page_size = SB_PAGE;
    so.blocks = blocks;
    so.nblocks = 2;
    so.colo = colo;
    so.expect_end = expect_end;
    so.allocator = &f->ops;
    sec = secondary_build(&so, &e);
    assert_non_null(sec);
    main = chan_mem_new(s->data, s->len, 0, "main", &e);
    reply = chan_mem_sink_new("reply", &e);
    assert_non_null(main);
    assert_non_null(reply);
    assert_true(secondary_attach_main(sec, main, reply, &e));
    return sec;
}

/* The run failed on the growth of the device state to 32 KiB, on main. */
static void expect_growth_nomem(bool ok, const MfError *e, const char *what)
{
    if (ok || e->code != MF_ERR_NOMEM) {
        print_error("a failed growth of %s: want MF_ERR_NOMEM, got ok=%d "
                    "code %d: %s\n",
                    what, ok, e->code, e->msg);
    }
    assert_false(ok);
    assert_int_equal(e->code, MF_ERR_NOMEM);
    assert_string_equal(e->msg,
                        "incoming: out of memory for 32768 bytes of device "
                        "state");
    assert_true(e->located);
    assert_string_equal(e->where, "main");
}

/*
 * The precopy device state grows its buffer (16 KiB first) as it is
 * read; when the growth fails the run stops there: MF_ERR_NOMEM on main,
 * at the stream offset reached (the 16 KiB buffer nearly full, less than
 * one read of END_PATTERN_LEN (24) bytes left), nothing written past the
 * buffer (its end touches a PROT_NONE page), no retry, no device state
 * loaded, every buffer given back; for a replay (@expect_end) and for a
 * live receiver (which does not look past the VM description).
 */
static void check_devices_growth_fails(bool expect_end)
{
    IncomingOutcome outcome = INCOMING_COMPLETED;
    MfError e = { 0 };
    FailingGuard f = { 0 };
    Secondary *sec;
    SupBuf s = { 0 };
    uint64_t dev;
    bool ok;

    sb_begin(&s, false);
    sb_ram_end(&s);
    dev = s.len;
    sb_section_start(&s, WIRE_VM_SECTION_FULL, 0, "timer", 0, 2);
    memset(sup_buf_grow(&s, 20000), 0x5a, 20000);
    sb_footer(&s, 0);
    sup_buf_put_u8(&s, WIRE_VM_EOF);
    sb_vmdesc(&s);

    sec = fg_secondary(&f, &s, false, expect_end);
    /* the run's first allocation (16 KiB of device state) succeeds */
    f.fail_from = f.calls + 2;
    ok = incoming_run(sec->in, &outcome, &e);
    expect_growth_nomem(ok, &e,
                        expect_end ? "the device-state buffer (replay)"
                                   : "the device-state buffer (live)");
    assert_in_range(e.offset, dev + 16384 - 24, dev + 16384);
    assert_int_equal(f.calls, f.fail_from);
    secondary_free(sec);
    assert_int_equal(sup_guard_alloc_live(&f.g), 0);
    sup_buf_free(&s);
}

static void test_devices_growth_fails(void **state)
{
    (void)state;
    check_devices_growth_fails(true);
    check_devices_growth_fails(false);
}

/*
 * The same in a COLO checkpoint: the device state of the precopy (a few
 * bytes) left a 16 KiB buffer; checkpoint 0 announces 20000 bytes, and
 * growing the buffer to 32 KiB fails: the run stops right after the
 * VMSTATE_SIZE value with MF_ERR_NOMEM on main, the device state is not
 * read (nothing written past the 16 KiB buffer, whose end touches a
 * PROT_NONE page), VMSTATE_RECEIVED is not sent, the checkpoint is
 * discarded (precopy memory, failed over), every buffer given back.
 */
static void test_checkpoint_devices_growth_fails(void **state)
{
    static const uint8_t want_replies[] = {
        0, 0, 0, 0, /* CHECKPOINT_READY */
        0, 0, 0, 2, /* CHECKPOINT_REPLY */
    };
    IncomingOutcome outcome = INCOMING_COMPLETED;
    MfError e = { 0 };
    FailingGuard f = { 0 };
    Secondary *sec;
    SupBuf s = { 0 };
    const uint8_t *r;
    size_t len;
    uint64_t size_at;
    bool ok;

    (void)state;
    sb_begin(&s, true);
    sb_section_part(&s, WIRE_VM_SECTION_PART, SB_RAM_SID);
    sb_page(&s, "pc.ram", 0, 0xab);
    sb_eos(&s);
    sb_footer(&s, SB_RAM_SID);
    sb_end(&s);
    sb_cp_begin(&s);
    sb_page(&s, NULL, 0, 0xcd);
    sb_cp_end(&s, 20000);
    size_at = s.len - 20000 - 8; /* the VMSTATE_SIZE value */

    sec = fg_secondary(&f, &s, true, true);
    f.fail_size = 32768;
    ok = incoming_run(sec->in, &outcome, &e);
    expect_growth_nomem(ok, &e, "a checkpoint's device-state buffer");
    assert_int_equal(e.offset, size_at + 8);
    assert_int_equal(f.failed, 1);
    r = chan_mem_data(sec->reply, &len);
    assert_int_equal(len, sizeof(want_replies));
    assert_memory_equal(r, want_replies, len);
    assert_int_equal(ram_table_find(&sec->ram, "pc.ram")->host[0], 0xab);
    assert_int_equal(colo_phase(&sec->colo), COLO_PHASE_FAILED_OVER);
    secondary_free(sec);
    assert_int_equal(sup_guard_alloc_live(&f.g), 0);
    sup_buf_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precopy_reads_inside_buffers),
        cmocka_unit_test(test_precopy_any_piece_size),
        cmocka_unit_test(test_devices_growth_fails),
        cmocka_unit_test(test_checkpoint_devices_growth_fails),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
