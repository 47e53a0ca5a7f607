/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The secondary builder (tests/support/secondary.h): the layouts, COLO on
 * and off, the options reaching the table, the engine and the parser, the
 * contract errors, ownership of the channels it is given, and a whole
 * COLO run over the fake primary's streams.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "count-alloc.h"
#include "primary.h"
#include "ram/errors.h"
#include "secondary.h"
#include "sha256.h"

#define PAGE 4096u

static void test_live_layout(void **state)
{
    static uint8_t guest[8 * PAGE];
    const SecondaryBlock blocks[] = {
        { "pc.ram", sizeof(guest), guest },
        { "pc.bios", 2 * PAGE, NULL },
    };
    SecondaryOptions so = { 0 };
    MfError err = { 0 };
    Secondary *s;

    (void)state;
    so.blocks = blocks;
    so.nblocks = 2;
    s = secondary_build(&so, &err);
    assert_non_null(s);
    assert_int_equal(s->ram.page_size, SECONDARY_PAGE_SIZE_DEFAULT);
    assert_int_equal(s->ram.nblocks, 2);
    assert_ptr_equal(ram_table_find(&s->ram, "pc.ram")->host, guest);
    assert_non_null(ram_table_find(&s->ram, "pc.bios")->host);
    assert_false(s->colo_on);
    assert_null(secondary_colo(s));
    assert_null(ram_table_find(&s->ram, "pc.ram")->colo_cache);
    assert_null(s->engine);
    assert_null(s->in);
    secondary_free(s);
    secondary_free(NULL);
}

static void test_colo_and_engine(void **state)
{
    SecondaryOptions so = { 0 };
    MfError err = { 0 };
    Secondary *s;

    (void)state;
    so.page_size = 8192;
    so.create_blocks = true;
    so.colo = true;
    so.multifd.channels = 3;
    so.multifd.driver = RECV_DRIVER_DETERMINISTIC;
    s = secondary_build(&so, &err);
    assert_non_null(s);
    assert_int_equal(s->ram.page_size, 8192);
    assert_int_equal(s->ram.nblocks, 0);
    assert_true(s->colo_on);
    assert_true(s->ram.colo);
    assert_ptr_equal(secondary_colo(s), &s->colo);
    assert_int_equal(colo_phase(&s->colo), COLO_PHASE_PRECOPY);
    assert_non_null(s->engine);
    assert_false(recv_engine_ready(s->engine));
    /* a second engine is a contract error */
    assert_false(secondary_start_multifd(s, &so.multifd, &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    assert_string_equal(err.msg, "secondary: the engine is running already");
    secondary_free(s);
}

static void test_build_errors(void **state)
{
    const SecondaryBlock dup[] = {
        { "pc.ram", PAGE, NULL },
        { "pc.ram", PAGE, NULL },
    };
    SecondaryOptions so = { 0 };
    MfError err = { 0 };

    (void)state;
    /* blocks for a table the stream fills */
    so.create_blocks = true;
    so.blocks = dup;
    so.nblocks = 1;
    assert_null(secondary_build(&so, &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    assert_string_equal(err.msg, "secondary: 1 blocks given to a table the "
                                 "stream fills");
    /* the table's own errors come through */
    mf_error_clear(&err);
    so.create_blocks = false;
    so.nblocks = 2;
    assert_null(secondary_build(&so, &err));
    assert_int_equal(err.code, RAM_ERR_DUPLICATE_BLOCK);
    mf_error_clear(&err);
    so.nblocks = 0;
    so.page_size = 1000;
    assert_null(secondary_build(&so, &err));
    assert_int_equal(err.code, RAM_ERR_PAGE_SIZE);
    /* the engine's: 0 channels is no engine, an unknown method an error */
    mf_error_clear(&err);
    so.page_size = 0;
    so.multifd.channels = 1;
    so.multifd.compression = (WireCompression)77;
    assert_null(secondary_build(&so, &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
}

static void test_channel_ownership(void **state)
{
    static const uint8_t bytes[4] = "QEVM";
    SecondaryOptions so = { 0 };
    MfError err = { 0 };
    Secondary *s;
    Chan *c;

    (void)state;
    so.create_blocks = true;
    s = secondary_build(&so, &err);
    assert_non_null(s);
    /* no engine: the channel is freed (valgrind checks), an error */
    c = chan_mem_new(bytes, sizeof(bytes), 0, "multifd", &err);
    assert_non_null(c);
    assert_false(secondary_add_channel(s, c, &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    assert_string_equal(err.msg,
                        "secondary: a multifd channel without an engine");
    /* the main channel and the parser */
    mf_error_clear(&err);
    assert_true(secondary_attach_main(
        s, chan_mem_new(bytes, sizeof(bytes), 0, "main", &err),
        chan_mem_sink_new("reply", &err), &err));
    assert_non_null(s->in);
    assert_non_null(s->main);
    assert_non_null(s->reply);
    assert_int_equal(incoming_stage(s->in), INCOMING_STAGE_PRECOPY);
    /* a second main channel: both given channels freed, an error */
    assert_false(secondary_attach_main(
        s, chan_mem_new(bytes, sizeof(bytes), 0, "main", &err),
        chan_mem_sink_new("reply", &err), &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    assert_string_equal(err.msg,
                        "secondary: a main channel is attached already");
    secondary_free(s);
}

static void test_attach_null_main(void **state)
{
    SecondaryOptions so = { 0 };
    MfError err = { 0 };
    Secondary *s;

    (void)state;
    so.create_blocks = true;
    s = secondary_build(&so, &err);
    assert_non_null(s);
    /* incoming_new refuses it; the reply given is still freed */
    assert_false(
        secondary_attach_main(s, NULL, chan_mem_sink_new("r", &err), &err));
    assert_int_equal(err.code, MF_ERR_INVALID_ARG);
    assert_null(s->in);
    secondary_free(s);
}

typedef struct Seen {
    uint64_t checkpoints;
    bool precopy;
} Seen;

static void seen_precopy(void *opaque)
{
    ((Seen *)opaque)->precopy = true;
}

static void seen_checkpoint(void *opaque, const IncomingCheckpoint *cp)
{
    ((Seen *)opaque)->checkpoints = cp->index + 1;
}

/*
 * The fake primary's COLO migration over 2 multifd channels through a
 * builder whose every allocation goes through a counting allocator:
 * failed over after 2 checkpoints, guest memory = stage 2, the replies
 * exact, and nothing left allocated after secondary_free.
 */
static void test_colo_run(void **state)
{
    MemImage *img = mem_image_new(PAGE);
    SecondaryOptions so = { 0 };
    PrimaryConfig pc;
    SupCountAlloc ca;
    IncomingOutcome out;
    MfError err = { 0 };
    uint8_t d[SHA256_DIGEST_SIZE];
    const PrimaryStage *st;
    const uint8_t *got;
    Seen seen = { 0 };
    Secondary *s;
    Primary *p;
    size_t i, len;

    (void)state;
    mem_image_add(img, "pc.ram", 32 * PAGE);
    for (i = 0; i < 32; i += 3) {
        memset(mem_image_page(img, 0, i), (int)(i + 1), PAGE);
    }
    primary_config_init(&pc, PRIMARY_QEMU_9, 2, WIRE_COMP_NONE);
    pc.colo = true;
    p = primary_new(&pc, img);
    mem_image_free(img);
    primary_precopy(p);
    for (i = 0; i < 2; i++) {
        memset(mem_image_page(primary_memory(p), 0, 5 + i), 0x70, PAGE);
        page_set_add(primary_dirty(p), 0, 5 + i);
        primary_checkpoint(p);
    }

    sup_count_alloc_init(&ca);
    so.allocator = &ca.ops;
    so.create_blocks = true;
    so.colo = true;
    so.multifd.channels = 2;
    so.multifd.driver = RECV_DRIVER_DETERMINISTIC;
    so.multifd.seed = 3;
    so.multifd.max_chunk = 700;
    so.sync = INCOMING_SYNC_AUTO;
    so.expect_end = true;
    so.hooks.opaque = &seen;
    so.hooks.precopy_done = seen_precopy;
    so.hooks.checkpoint_done = seen_checkpoint;
    s = secondary_build(&so, &err);
    assert_non_null(s);
    for (i = 1; i < primary_nconns(p); i++) {
        const PrimaryConn *c = primary_conn(p, i);

        assert_true(secondary_add_channel(
            s, chan_mem_new(c->buf.data, c->buf.len, 0, "multifd", &err),
            &err));
    }
    assert_true(recv_engine_ready(s->engine));
    assert_true(secondary_attach_main(s,
                                      chan_mem_new(primary_conn(p, 0)->buf.data,
                                                   primary_conn(p, 0)->buf.len,
                                                   0, "main", &err),
                                      chan_mem_sink_new("reply", &err), &err));
    assert_true(incoming_run(s->in, &out, &err));
    assert_int_equal(out, INCOMING_FAILED_OVER);
    assert_true(seen.precopy);
    assert_int_equal(seen.checkpoints, 2);
    assert_int_equal(colo_phase(&s->colo), COLO_PHASE_FAILED_OVER);
    st = primary_stage(p, 2);
    assert_int_equal(s->ram.nblocks, 1);
    sha256_digest(s->ram.blocks[0]->host, s->ram.blocks[0]->used_length, d);
    assert_memory_equal(d, st->digest[0], sizeof(d));
    got = chan_mem_data(s->reply, &len);
    assert_int_equal(len, primary_replies(p)->len);
    assert_memory_equal(got, primary_replies(p)->data, len);
    /* the table, the caches, the engine and the parser used the allocator */
    assert_true(ca.allocs > 0);
    assert_true(ca.largest >= 32 * PAGE);
    secondary_free(s);
    assert_int_equal(sup_count_alloc_live(&ca), 0);
    primary_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_layout),
        cmocka_unit_test(test_colo_and_engine),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_channel_ownership),
        cmocka_unit_test(test_attach_null_main),
        cmocka_unit_test(test_colo_run),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
