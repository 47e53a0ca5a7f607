/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Model-based tests of core/colo + core/ram against tests/support/model.c:
 * random sequences of packets, main-channel pages, secondary writes,
 * flushes, discards and failovers, each step checked for I1/I2/I3 and
 * compared with the reference model.  Also checks that the oracles and
 * the comparison do catch each kind of violation (a checker that cannot
 * fail proves nothing).
 *
 * MFCOLO_SEED=<n> sets the first sequence's seed (sequence i uses n + i),
 * MFCOLO_SEQS=<k> the number of sequences (default 250; the unit-full
 * suite runs many more).  A failure prints the seed that replays it.
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
#include "colo-check.h"
#include "colo/colo.h"
#include "colo/errors.h"
#include "model.h"
#include "ram/errors.h"
#include "ram/ram.h"

#define DEFAULT_SEED 20261126u
#define DEFAULT_SEQS 250u
#define OPS_PER_SEQ 60

/* A real table + ColoState + model with the same blocks. */
typedef struct Pair {
    RamTable t;
    ColoState s;
    Model m;
} Pair;

static void pair_init(Pair *p, uint32_t ps, const uint64_t *lens, size_t n)
{
    char name[32];
    size_t i;

    assert_true(ram_table_init(&p->t, ps, NULL));
    model_init(&p->m, ps);
    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "ram%zu", i);
        assert_non_null(ram_table_add(&p->t, name, lens[i], NULL, NULL));
        model_add_block(&p->m, name, lens[i]);
    }
    assert_true(colo_init(&p->s, &p->t, NULL));
}

static void pair_destroy(Pair *p)
{
    colo_destroy(&p->s);
    ram_table_destroy(&p->t);
    model_destroy(&p->m);
}

/* Outcome counts over all sequences: the run must not be vacuous. */
typedef struct Tally {
    unsigned ops[MODEL_OP_COUNT];
    unsigned colo_packets;
    unsigned precopy_packets;
    unsigned flushes_ok;
    unsigned rejected[8]; /* by RAM_ERR_* - RAM_ERR_BLOCK_TOO_SMALL */
    unsigned phase_refused;
} Tally;

static void tally_op(Tally *ty, const Model *m, const ModelOp *op)
{
    int code = MF_OK;
    uint32_t i;

    ty->ops[op->kind]++;
    if (op->kind == MODEL_OP_PACKET || op->kind == MODEL_OP_MAIN_PAGE) {
        if (m->phase == COLO_PHASE_FAILED_OVER) {
            ty->phase_refused++;
            return;
        }
        for (i = 0;
             code == MF_OK && op->kind == MODEL_OP_PACKET && i < op->nnormal;
             i++) {
            code = model_offset_error(m, op->block, op->normal[i]);
        }
        for (i = 0;
             code == MF_OK && op->kind == MODEL_OP_PACKET && i < op->nzero;
             i++) {
            code = model_offset_error(m, op->block, op->zero[i]);
        }
        if (op->kind == MODEL_OP_MAIN_PAGE) {
            code = model_offset_error(m, op->block, op->offset);
        }
        if (code != MF_OK) {
            ty->rejected[code - RAM_ERR_BLOCK_TOO_SMALL]++;
        } else if (m->phase == COLO_PHASE_COLO) {
            ty->colo_packets++;
        } else {
            ty->precopy_packets++;
        }
    } else if (op->kind == MODEL_OP_FLUSH && m->phase == COLO_PHASE_COLO) {
        ty->flushes_ok++;
    }
}

/* One random sequence; false (after printing how to replay) on failure. */
static bool run_sequence(uint64_t seed, Tally *ty)
{
    static const uint64_t shapes[] = { 1, 3, 4, 8, 12 };
    SupRng r;
    Pair p;
    uint64_t lens[3];
    size_t nblocks, i;
    uint32_t ps;
    int n;
    bool ok = true;

    sup_rng_seed(&r, seed);
    ps = sup_rng_below(&r, 4) ? 512 : 4096;
    nblocks = 1 + sup_rng_below(&r, 3);
    for (i = 0; i < nblocks; i++) {
        uint64_t pages = shapes[sup_rng_below(&r, 5)];

        /* whole pages, a partial last page, or shorter than a page */
        switch (sup_rng_below(&r, 6)) {
        case 0:
            lens[i] = pages * ps + 1 + sup_rng_below(&r, ps - 1);
            break;
        case 1:
            lens[i] = (i == 0 ? 4 * ps : 1 + sup_rng_below(&r, ps - 1));
            break;
        default:
            lens[i] = pages * ps;
        }
    }
    pair_init(&p, ps, lens, nblocks);
    for (n = 0; n < OPS_PER_SEQ && ok; n++) {
        ModelOp op;
        ModelDiff diff = { 0 };
        MfError err = { 0 };
        char desc[200];

        /* enter COLO early in most sequences */
        if (n == 6 && sup_rng_below(&r, 4)) {
            memset(&op, 0, sizeof(op));
            op.kind = MODEL_OP_ENTER_COLO;
        } else {
            model_random_op(&p.m, &r, &op);
        }
        tally_op(ty, &p.m, &op);
        if (!model_step(&p.m, &p.s, &op, &diff, &err)) {
            model_op_format(&op, desc, sizeof(desc));
            print_error("seed %llu step %d op [%s]: %s (%s)\n"
                        "replay: MFCOLO_SEED=%llu MFCOLO_SEQS=1\n",
                        (unsigned long long)seed, n, desc, err.msg,
                        err.code_name, (unsigned long long)seed);
            ok = false;
        }
    }
    pair_destroy(&p);
    return ok;
}

static void test_random_sequences(void **state)
{
    uint64_t seed = model_seed_from_env("MFCOLO_SEED", DEFAULT_SEED);
    uint64_t seqs = model_seed_from_env("MFCOLO_SEQS", DEFAULT_SEQS);
    Tally ty;
    uint64_t i;
    unsigned k;

    (void)state;
    memset(&ty, 0, sizeof(ty));
    print_message("model sequences: %llu from seed %llu\n",
                  (unsigned long long)seqs, (unsigned long long)seed);
    for (i = 0; i < seqs; i++) {
        if (!run_sequence(seed + i, &ty)) {
            fail_msg("model sequence failed (seed %llu)",
                     (unsigned long long)(seed + i));
        }
    }
    if (seqs >= DEFAULT_SEQS) {
        /* every kind of op and outcome happened, many times */
        for (k = 0; k < MODEL_OP_COUNT; k++) {
            assert_true(ty.ops[k] >= 50);
        }
        assert_true(ty.colo_packets >= 1000);
        assert_true(ty.precopy_packets >= 300);
        assert_true(ty.flushes_ok >= 500);
        assert_true(ty.phase_refused >= 20);
        for (k = 0; k <= RAM_ERR_OFFSET_UNALIGNED - RAM_ERR_BLOCK_TOO_SMALL;
             k++) {
            assert_true(ty.rejected[k] >= 20);
        }
    }
}

/* ---- the oracles catch what they are for ---- */

static const uint64_t two_blocks[2] = { 4 * 4096, 2 * 4096 + 5 };

static void test_i1_catches(void **state)
{
    Pair p;
    MfError err = { 0 };
    uint8_t data[4096];
    uint64_t off = 4096, zoff = 2 * 4096;
    RamBlock *b;

    (void)state;
    pair_init(&p, 4096, two_blocks, 2);
    b = p.t.blocks[0];
    memset(data, 0x5a, sizeof(data));
    assert_true(model_real_packet(&p.s, b, &off, data, 1, &zoff, 1, &err));
    assert_true(colo_check_i1(&p.s, b, &off, 1, &zoff, 1, &err));

    b->host[off + 100] ^= 1;
    assert_false(colo_check_i1(&p.s, b, &off, 1, &zoff, 1, &err));
    assert_int_equal(err.code, CHECK_ERR_I1_MIRROR);
    assert_int_equal(err.offset, off + 100);
    assert_string_equal(err.msg, "I1: block \"ram0\" offset 4196: guest "
                                 "0x5b != cache 0x5a");
    b->host[off + 100] ^= 1;

    mf_error_clear(&err);
    b->host[zoff + 3] = 9;
    b->colo_cache[zoff + 3] = 9;
    assert_false(colo_check_i1(&p.s, b, &off, 1, &zoff, 1, &err));
    assert_int_equal(err.code, CHECK_ERR_I1_ZERO);
    assert_int_equal(err.offset, zoff + 3);
    b->host[zoff + 3] = 0;
    b->colo_cache[zoff + 3] = 0;

    mf_error_clear(&err);
    mf_bitmap_set(p.t.blocks[1]->dirty, 2);
    assert_false(colo_check_i1(&p.s, b, &off, 1, &zoff, 1, &err));
    assert_int_equal(err.code, CHECK_ERR_I1_DIRTY);
    assert_int_equal(err.offset, 2 * 4096);
    assert_string_equal(err.msg, "I1: dirty bit set: block \"ram1\" "
                                 "offset 8192");
    pair_destroy(&p);
}

static void test_i2_catches(void **state)
{
    Pair p;
    MfError err = { 0 };
    ColoCheckSnap snap;
    uint8_t data[4096];
    uint64_t off = 3 * 4096, zoff = 0;
    RamBlock *b;

    (void)state;
    pair_init(&p, 4096, two_blocks, 2);
    b = p.t.blocks[0];
    assert_true(colo_enter(&p.s, NULL));
    memset(data, 0x5a, sizeof(data));
    colo_check_snap_take(&snap, &p.t);
    assert_true(model_real_packet(&p.s, b, &off, data, 1, &zoff, 1, &err));
    assert_true(colo_check_i2(&p.s, &snap, b, &off, 1, &zoff, 1, &err));

    p.t.blocks[1]->host[8196] = 1; /* a guest write */
    assert_false(colo_check_i2(&p.s, &snap, b, &off, 1, &zoff, 1, &err));
    assert_int_equal(err.code, CHECK_ERR_I2_GUEST_WRITTEN);
    assert_int_equal(err.offset, 8196);
    assert_string_equal(err.msg,
                        "I2: block \"ram1\" offset 8196: guest "
                        "changed 0x00 -> 0x01 while receiving in COLO");
    p.t.blocks[1]->host[8196] = 0;

    mf_error_clear(&err);
    mf_bitmap_clear(b->dirty, 0); /* zero page unrecorded */
    assert_false(colo_check_i2(&p.s, &snap, b, &off, 1, &zoff, 1, &err));
    assert_int_equal(err.code, CHECK_ERR_I2_NOT_RECORDED);
    assert_int_equal(err.offset, 0);
    mf_error_clear(&err);
    mf_bitmap_set(b->dirty, 0);
    mf_bitmap_clear(b->dirty, 3); /* normal unrecorded */
    assert_false(colo_check_i2(&p.s, &snap, b, &off, 1, &zoff, 1, &err));
    assert_int_equal(err.code, CHECK_ERR_I2_NOT_RECORDED);
    assert_int_equal(err.offset, off);
    colo_check_snap_free(&snap);
    pair_destroy(&p);
}

static void test_i3_catches(void **state)
{
    Pair p;
    MfError err = { 0 };
    RamBlock *b;

    (void)state;
    pair_init(&p, 4096, two_blocks, 2);
    b = p.t.blocks[1];
    assert_true(colo_enter(&p.s, NULL));
    assert_true(colo_flush(&p.s, NULL, &err));
    assert_true(colo_check_i3(&p.s, &err));

    b->colo_cache[2 * 4096 + 4] = 3; /* in the short page */
    assert_false(colo_check_i3(&p.s, &err));
    assert_int_equal(err.code, CHECK_ERR_I3_MIRROR);
    assert_int_equal(err.offset, 2 * 4096 + 4);
    b->colo_cache[2 * 4096 + 4] = 0;

    mf_error_clear(&err);
    mf_bitmap_set(b->dirty, 1);
    assert_false(colo_check_i3(&p.s, &err));
    assert_int_equal(err.code, CHECK_ERR_I3_DIRTY);
    assert_int_equal(err.offset, 4096);
    mf_bitmap_clear(b->dirty, 1);

    mf_error_clear(&err);
    mf_bitmap_set(b->guest_dirty, 2);
    assert_false(colo_check_i3(&p.s, &err));
    assert_int_equal(err.code, CHECK_ERR_I3_GUEST_DIRTY);
    mf_bitmap_clear(b->guest_dirty, 2);

    mf_error_clear(&err);
    p.s.dirty_pages = 2;
    assert_false(colo_check_i3(&p.s, &err));
    assert_int_equal(err.code, CHECK_ERR_I3_COUNTER);
    p.s.dirty_pages = 0;

    mf_error_clear(&err);
    colo_destroy(&p.s);
    assert_false(colo_check_i3(&p.s, &err));
    assert_int_equal(err.code, CHECK_ERR_NO_CACHE);
    mf_error_clear(&err);
    assert_false(colo_check_i1(&p.s, p.t.blocks[0], NULL, 0, NULL, 0, &err));
    assert_int_equal(err.code, CHECK_ERR_NO_CACHE);
    pair_destroy(&p);
}

/* ---- the comparison catches every kind of difference ---- */

static void expect_diff(Pair *p, int code, size_t block, uint64_t offset)
{
    MfError err = { 0 };
    ModelDiff diff = { 99, 99 };

    assert_false(model_compare(&p->m, &p->s, &diff, &err));
    assert_int_equal(err.code, code);
    if (code >= MODEL_ERR_GUEST && code <= MODEL_ERR_RECEIVED) {
        assert_int_equal(diff.block, block);
        assert_int_equal(diff.offset, offset);
        assert_int_equal(err.offset, offset);
    }
}

static void test_compare_catches(void **state)
{
    Pair p;
    MfError err = { 0 };
    RamBlock *b;

    (void)state;
    pair_init(&p, 4096, two_blocks, 2);
    b = p.t.blocks[1];
    assert_true(model_compare(&p.m, &p.s, NULL, &err));

    b->host[4097] = 1;
    expect_diff(&p, MODEL_ERR_GUEST, 1, 4097);
    assert_true(model_compare(&p.m, &p.s, NULL, NULL) == false);
    b->host[4097] = 0;
    b->colo_cache[8196] = 1;
    expect_diff(&p, MODEL_ERR_CACHE, 1, 8196);
    b->colo_cache[8196] = 0;
    ram_block_set_received(b, 4096);
    expect_diff(&p, MODEL_ERR_RECEIVED, 1, 4096);
    mf_bitmap_clear(b->received, 1);
    mf_bitmap_set(b->dirty, 2);
    expect_diff(&p, MODEL_ERR_DIRTY, 1, 8192);
    p.s.dirty_pages = 1; /* counters are compared first */
    expect_diff(&p, MODEL_ERR_COUNTER, 0, 0);
    mf_bitmap_clear(b->dirty, 2);
    p.s.dirty_pages = 0;
    p.s.flushes = 1;
    expect_diff(&p, MODEL_ERR_COUNTER, 0, 0);
    p.s.flushes = 0;
    mf_bitmap_set(b->guest_dirty, 0);
    expect_diff(&p, MODEL_ERR_GUEST_DIRTY, 1, 0);
    mf_bitmap_clear(b->guest_dirty, 0);
    assert_true(colo_enter(&p.s, NULL));
    expect_diff(&p, MODEL_ERR_PHASE, 0, 0);
    assert_int_equal(model_enter_colo(&p.m), MF_OK);
    assert_true(model_compare(&p.m, &p.s, NULL, &err));
    p.m.blocks[1].used_length++;
    expect_diff(&p, MODEL_ERR_LAYOUT, 0, 0);
    p.m.blocks[1].used_length--;
    p.m.nblocks = 1;
    expect_diff(&p, MODEL_ERR_LAYOUT, 0, 0);
    p.m.nblocks = 2;
    assert_true(model_compare(&p.m, &p.s, NULL, &err));

    /* after the COLO parts are released only guest/received compare */
    colo_destroy(&p.s);
    assert_true(model_compare(&p.m, &p.s, NULL, &err));
    pair_destroy(&p);
}

/*
 * model_step finds a broken implementation: drop the dirty bit a zero
 * page recorded (QEMU's v1 patch did not record zero pages,
 * docs/qemu-reference.md#gap-zero-pages)
 * and the next step reports it.
 */
static void test_step_catches_lost_zero_record(void **state)
{
    Pair p;
    MfError err = { 0 };
    ModelDiff diff;
    ModelOp op;

    (void)state;
    pair_init(&p, 4096, two_blocks, 1);
    memset(&op, 0, sizeof(op));
    op.kind = MODEL_OP_PACKET;
    op.nnormal = 1;
    op.normal[0] = 4096;
    assert_true(model_step(&p.m, &p.s, &op, &diff, &err)); /* precopy */
    op.kind = MODEL_OP_ENTER_COLO;
    assert_true(model_step(&p.m, &p.s, &op, &diff, &err));
    op.kind = MODEL_OP_PACKET;
    op.nnormal = 0;
    op.nzero = 1;
    op.zero[0] = 4096;
    assert_true(model_step(&p.m, &p.s, &op, &diff, &err));
    mf_bitmap_clear(p.t.blocks[0]->dirty, 1); /* the bug */
    p.s.dirty_pages = 0;
    op.kind = MODEL_OP_FLUSH;
    assert_false(model_step(&p.m, &p.s, &op, &diff, &err));
    /* I3 sees it first: the flush left the stale page in the guest */
    assert_int_equal(err.code, CHECK_ERR_I3_MIRROR);
    assert_int_equal(err.offset, 4096);
    pair_destroy(&p);

    /* and model_compare alone, on the same broken state */
    pair_init(&p, 4096, two_blocks, 1);
    op.kind = MODEL_OP_PACKET;
    op.nnormal = 1;
    op.nzero = 0;
    assert_true(model_step(&p.m, &p.s, &op, &diff, &err));
    assert_int_equal(model_enter_colo(&p.m), MF_OK);
    assert_true(colo_enter(&p.s, NULL));
    op.nnormal = 0;
    op.nzero = 1;
    mf_error_clear(&err);
    assert_true(model_step(&p.m, &p.s, &op, &diff, &err));
    mf_bitmap_clear(p.t.blocks[0]->dirty, 1);
    p.s.dirty_pages = 0;
    assert_int_equal(model_flush(&p.m), MF_OK);
    assert_true(colo_flush(&p.s, NULL, NULL));
    assert_false(model_compare(&p.m, &p.s, &diff, &err));
    assert_int_equal(err.code, MODEL_ERR_GUEST);
    assert_int_equal(diff.block, 0);
    assert_int_equal(diff.offset, 4096);
    pair_destroy(&p);
}

static void test_step_result_and_malformed(void **state)
{
    Pair p;
    MfError err = { 0 };
    ModelOp op;
    char buf[200];

    (void)state;
    pair_init(&p, 4096, two_blocks, 2);
    memset(&op, 0, sizeof(op));

    op.kind = MODEL_OP_FLUSH; /* both refuse: fine */
    assert_true(model_step(&p.m, &p.s, &op, NULL, &err));
    p.m.phase = COLO_PHASE_COLO; /* model thinks COLO */
    assert_false(model_step(&p.m, &p.s, &op, NULL, &err));
    assert_int_equal(err.code, MODEL_ERR_RESULT);
    assert_string_equal(err.msg,
                        "flush block 0: model expects code 0, "
                        "real gave 601 (cannot flush the COLO cache in "
                        "phase precopy)");
    p.m.phase = COLO_PHASE_PRECOPY;

    mf_error_clear(&err);
    op.block = 2;
    assert_false(model_step(&p.m, &p.s, &op, NULL, &err));
    assert_int_equal(err.code, MODEL_ERR_OP);
    mf_error_clear(&err);
    op.block = 0;
    op.kind = MODEL_OP_COUNT;
    assert_false(model_step(&p.m, &p.s, &op, NULL, &err));
    assert_int_equal(err.code, MODEL_ERR_OP);
    mf_error_clear(&err);
    op.kind = MODEL_OP_PACKET;
    op.nzero = MODEL_OP_MAX_PAGES + 1;
    assert_false(model_step(&p.m, &p.s, &op, NULL, &err));
    assert_int_equal(err.code, MODEL_ERR_OP);

    /* a guest write in precopy is outside the contract: skipped */
    memset(&op, 0, sizeof(op));
    op.kind = MODEL_OP_GUEST_WRITE;
    op.fill = 7;
    assert_true(model_step(&p.m, &p.s, &op, NULL, &err));
    assert_int_equal(p.t.blocks[0]->host[0], 0);

    /* descriptions */
    op.kind = MODEL_OP_PACKET;
    op.nnormal = 1;
    op.normal[0] = 0x1000;
    op.nzero = 1;
    op.zero[0] = 0x2000;
    model_op_format(&op, buf, sizeof(buf));
    assert_string_equal(buf, "packet block 0 n:0x1000 z:0x2000");
    op.kind = MODEL_OP_MAIN_PAGE;
    op.offset = 0x3000;
    op.use_fill = true;
    op.fill = 0;
    model_op_format(&op, buf, sizeof(buf));
    assert_string_equal(buf, "main-page block 0 off 0x3000 fill 0x00");
    op.kind = MODEL_OP_GUEST_WRITE;
    op.fill = 0xab;
    model_op_format(&op, buf, sizeof(buf));
    assert_string_equal(buf, "guest-write block 0 byte 0x3000 = 0xab");
    op.kind = MODEL_OP_FAILOVER;
    model_op_format(&op, buf, sizeof(buf));
    assert_string_equal(buf, "failover block 0");
    op.kind = (ModelOpKind)77;
    model_op_format(&op, buf, sizeof(buf));
    assert_string_equal(buf, "op 77");
    pair_destroy(&p);
}

static void test_model_offsets(void **state)
{
    Model m;
    size_t a, small;

    (void)state;
    model_init(&m, 512);
    a = model_add_block(&m, "a", 4 * 512);
    small = model_add_block(&m, "s", 511);
    assert_int_equal(model_offset_error(&m, a, 3 * 512), MF_OK);
    assert_int_equal(model_offset_error(&m, a, 4 * 512), RAM_ERR_OFFSET_RANGE);
    assert_int_equal(model_offset_error(&m, a, UINT64_MAX),
                     RAM_ERR_OFFSET_RANGE);
    assert_int_equal(model_offset_error(&m, a, UINT64_MAX - 511),
                     RAM_ERR_OFFSET_RANGE);
    assert_int_equal(model_offset_error(&m, a, 1), RAM_ERR_OFFSET_UNALIGNED);
    assert_int_equal(model_offset_error(&m, small, 0), RAM_ERR_BLOCK_TOO_SMALL);
    model_destroy(&m);
}

static void test_seed_env(void **state)
{
    (void)state;
    unsetenv("MFCOLO_TEST_SEED_X");
    assert_int_equal(model_seed_from_env("MFCOLO_TEST_SEED_X", 5), 5);
    setenv("MFCOLO_TEST_SEED_X", "0x10", 1);
    assert_int_equal(model_seed_from_env("MFCOLO_TEST_SEED_X", 5), 16);
    setenv("MFCOLO_TEST_SEED_X", "123", 1);
    assert_int_equal(model_seed_from_env("MFCOLO_TEST_SEED_X", 5), 123);
    setenv("MFCOLO_TEST_SEED_X", "12x", 1);
    assert_int_equal(model_seed_from_env("MFCOLO_TEST_SEED_X", 5), 5);
    setenv("MFCOLO_TEST_SEED_X", "", 1);
    assert_int_equal(model_seed_from_env("MFCOLO_TEST_SEED_X", 5), 5);
    unsetenv("MFCOLO_TEST_SEED_X");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_sequences),
        cmocka_unit_test(test_i1_catches),
        cmocka_unit_test(test_i2_catches),
        cmocka_unit_test(test_i3_catches),
        cmocka_unit_test(test_compare_catches),
        cmocka_unit_test(test_step_catches_lost_zero_record),
        cmocka_unit_test(test_step_result_and_malformed),
        cmocka_unit_test(test_model_offsets),
        cmocka_unit_test(test_seed_env),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
