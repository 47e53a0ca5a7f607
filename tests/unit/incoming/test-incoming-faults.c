/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The incoming layer under injected faults (core built with libfiu fault
 * points): each allocation of the layer fails with MF_ERR_NOMEM, and an
 * SQLite-style loop fails the Nth fault-point hit of the whole core
 * (allocations, channel reads and writes) for N = 1, 2, ... until a COLO
 * replay completes: every run either succeeds or ends in one located
 * error, never a crash, and (under valgrind) nothing leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#define FIU_ENABLE 1 /* fiu_init() etc. are no-op macros without it */
#include <fiu-control.h>
#include <fiu.h>

#include "colo/colo.h"
#include "incoming/incoming.h"
#include "secondary.h"
#include "stream-build.h"

static int countdown;
static unsigned long hits;

static int nth_cb(const char *name, int *failnum, void **failinfo,
                  unsigned int *flags)
{
    (void)name;
    (void)failnum;
    (void)flags;
    *failinfo = (void *)(intptr_t)EIO;
    hits++;
    return --countdown == 0;
}

static void build_colo(SupBuf *b)
{
    sb_begin(b, true);
    sb_section_part(b, WIRE_VM_SECTION_PART, SB_RAM_SID);
    sb_page(b, "pc.ram", 0, 0x10);
    sb_zero(b, NULL, SB_PAGE, 0);
    sb_page(b, NULL, 2 * SB_PAGE, 0x11);
    sb_eos(b);
    sb_footer(b, SB_RAM_SID);
    sb_end(b);
    sb_cp_begin(b);
    sb_page(b, NULL, 0, 0x80);
    sb_cp_end(b, 100);
}

/*
 * I1 for the guest page at @offset of pc.ram: the block does not exist
 * yet, or the page is still zero, or it is exactly the page the primary
 * sent (every byte @fill).
 */
static bool guest_page_zero_or(Secondary *sec, uint64_t offset, uint8_t fill)
{
    const RamBlock *rb = ram_table_find(&sec->ram, "pc.ram");
    bool zero = true, sent = true;
    uint32_t i;

    if (!rb) {
        return true;
    }
    for (i = 0; i < SB_PAGE; i++) {
        zero = zero && rb->host[offset + i] == 0;
        sent = sent && rb->host[offset + i] == fill;
    }
    return zero || sent;
}

/* A replay of @s: returns the run's result; @err set on failure. */
static bool replay(const SupBuf *s, MfError *err, bool *made)
{
    SecondaryOptions so = { 0 };
    IncomingOutcome out;
    Secondary *sec;
    Chan *main = NULL, *reply = NULL;
    bool ok = false;

    *made = false;
    so.page_size = SB_PAGE;
    so.create_blocks = true;
    so.colo = true;
    so.expect_end = true;
    sec = secondary_build(&so, err);
    if (!sec) {
        return false;
    }
    if (!(main = chan_mem_new(s->data, s->len, 0, "main", err)) ||
        !(reply = chan_mem_sink_new("reply", err))) {
        chan_free(main);
        goto out;
    }
    if (!secondary_attach_main(sec, main, reply, err)) {
        goto out;
    }
    *made = true;
    ok = incoming_run(sec->in, &out, err);
    /*
     * I1, whatever failed: the page the primary sent at 2 * SB_PAGE (never
     * touched by the checkpoint) is in guest memory whole or not at all.
     */
    assert_true(guest_page_zero_or(sec, 2 * SB_PAGE, 0x11));
    if (ok) {
        /* a run that succeeds leaves no error behind */
        assert_int_equal(err->code, MF_OK);
        assert_int_equal(out, INCOMING_FAILED_OVER);
        assert_int_equal(ram_table_find(&sec->ram, "pc.ram")->host[0], 0x80);
    }
out:
    secondary_free(sec);
    return ok;
}

static void fail_point(const char *name)
{
    countdown = 1;
    assert_int_equal(fiu_enable_external(name, 1, NULL, 0, nth_cb), 0);
}

static void test_alloc_points(void **state)
{
    static const char *const points[] = {
        "mfcolo/incoming/alloc",
        "mfcolo/incoming/alloc-page",
    };
    SupBuf s = SUP_BUF_INIT;
    size_t i;

    (void)state;
    build_colo(&s);
    for (i = 0; i < 2; i++) {
        MfError err = { 0 };
        bool made;

        fail_point(points[i]);
        assert_false(replay(&s, &err, &made));
        fiu_disable(points[i]);
        assert_false(made);
        assert_int_equal(err.code, MF_ERR_NOMEM);
    }
    sup_buf_free(&s);
}

/*
 * The receiver's lock cannot be created (base/mutex.h reports the errno
 * of a failed pthread_mutex_init): incoming_new fails with a NOMEM of its
 * own, and nothing is left allocated (the run is leak-checked).
 */
static void test_lock_init_fails(void **state)
{
    SupBuf s = SUP_BUF_INIT;
    MfError err = { 0 };
    bool made;

    (void)state;
    build_colo(&s);
    fail_point("mfcolo/base/mutex-init");
    assert_false(replay(&s, &err, &made));
    fiu_disable("mfcolo/base/mutex-init");
    assert_false(made);
    assert_int_equal(err.code, MF_ERR_NOMEM);
    assert_false(err.located);
    assert_int_equal(err.offset, 0);
    assert_string_equal(err.msg, "incoming: cannot create its lock");
    sup_buf_free(&s);
}

static void test_alloc_devstate(void **state)
{
    SupBuf s = SUP_BUF_INIT;
    MfError err = { 0 };
    bool made;

    (void)state;
    build_colo(&s);
    fail_point("mfcolo/incoming/alloc-devstate");
    assert_false(replay(&s, &err, &made));
    fiu_disable("mfcolo/incoming/alloc-devstate");
    assert_true(made);
    assert_int_equal(err.code, MF_ERR_NOMEM);
    assert_true(err.located);
    assert_string_equal(err.where, "main");
    sup_buf_free(&s);
}

/* Fail the Nth hit of any core fault point, N = 1.. until success. */
static void test_nth_fault_loop(void **state)
{
    SupBuf s = SUP_BUF_INIT;
    unsigned long n;
    bool done = false;

    (void)state;
    build_colo(&s);
    for (n = 1; !done && n < 100000; n++) {
        MfError err = { 0 };
        bool made;

        hits = 0;
        countdown = (int)n;
        assert_int_equal(fiu_enable_external("mfcolo/*", 1, NULL, 0, nth_cb),
                         0);
        done = replay(&s, &err, &made);
        fiu_disable("mfcolo/*");
        if (!done) {
            assert_int_not_equal(err.code, MF_OK);
            assert_true(hits >= n); /* the failure was injected */
        }
    }
    assert_true(done);
    print_message("success after %lu injected failures\n", n - 2);
    sup_buf_free(&s);
}

static unsigned long reads;

/* Counts the hits of a point and never fails it. */
static int count_cb(const char *name, int *failnum, void **failinfo,
                    unsigned int *flags)
{
    (void)name;
    (void)failnum;
    (void)failinfo;
    (void)flags;
    reads++;
    return 0;
}

/*
 * The reads of the main channel (one hit of mfcolo/chan/read each) in a
 * successful plain run whose device section ("timer") holds @n opaque
 * bytes 0x55, none a possible start of the end pattern.
 */
static unsigned long plain_run_reads(size_t n)
{
    SecondaryOptions so = { 0 };
    SupBuf s = SUP_BUF_INIT;
    MfError err = { 0 };
    IncomingOutcome out;
    IncomingStats st;
    Secondary *sec;
    Chan *main;

    sb_begin(&s, false);
    sb_ram_end(&s);
    sb_section_start(&s, WIRE_VM_SECTION_FULL, 0, "timer", 0, 2);
    memset(sup_buf_grow(&s, n), 0x55, n);
    sb_footer(&s, 0);
    sup_buf_put_u8(&s, WIRE_VM_EOF);
    sb_vmdesc(&s);
    so.page_size = SB_PAGE;
    so.create_blocks = true;
    so.expect_end = true;
    sec = secondary_build(&so, &err);
    assert_non_null(sec);
    main = chan_mem_new(s.data, s.len, 0, "main", &err);
    assert_non_null(main);
    assert_true(secondary_attach_main(sec, main, NULL, &err));
    reads = 0;
    assert_int_equal(
        fiu_enable_external("mfcolo/chan/read", 1, NULL, 0, count_cb), 0);
    assert_true(incoming_run(sec->in, &out, &err));
    fiu_disable("mfcolo/chan/read");
    assert_int_equal(out, INCOMING_COMPLETED);
    incoming_get_stats(sec->in, &st);
    assert_int_equal(st.main_bytes, s.len);
    secondary_free(sec);
    sup_buf_free(&s);
    return reads;
}

/*
 * The device sections are read in bulk (precopy.c): END_PATTERN_LEN (24)
 * bytes a read while the bytes held end in no possible start of the end
 * pattern, so 24 and 240 more bytes of such device state cost exactly 1
 * and 10 more reads of the main channel.
 */
static void test_device_state_read_in_bulk(void **state)
{
    unsigned long base;

    (void)state;
    base = plain_run_reads(0);
    assert_int_equal(plain_run_reads(24) - base, 1);
    assert_int_equal(plain_run_reads(240) - base, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_points),
        cmocka_unit_test(test_lock_init_fails),
        cmocka_unit_test(test_alloc_devstate),
        cmocka_unit_test(test_device_state_read_in_bulk),
        cmocka_unit_test(test_nth_fault_loop),
    };

    fiu_init(0);
    return cmocka_run_group_tests_name("incoming-faults", tests, NULL, NULL);
}
