/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Harness: model-based COLO memory.  The input is decoded into a
 * sequence of operations (receive a packet in precopy or in COLO, a main
 * channel page, enter COLO, the secondary dirties a page, sync, flush, a
 * channel fails mid-checkpoint, fail over) applied both to the real
 * ColoState/RamTable and to the tiny reference model of tests/support
 * (model.h), which checks the result codes, I1 after a precopy packet,
 * I2 after a COLO packet, I3 after a flush and compares memory, bitmaps
 * and counters after every operation.
 *
 * On top of the model, the harness keeps its own I4 oracle: the guest
 * memory of the last checkpoint (snapshot at entering COLO and after
 * every flush) plus the secondary's own writes since; at failover the
 * real guest memory must be exactly that.
 *
 * Speed: guest memory, COLO caches, the model's arrays, its I2 snapshot
 * and op page data, and the I4 copy come from fuzz_pool() (through
 * round_pool: sizes rounded up to a power of two, the slack poisoned;
 * buffers recycled between inputs, poisoned while cached; each is zeroed or
 * written before it is read, so nothing of an input is visible to the
 * next); fuzz_pool_check_empty() at the end of each input fails it if one
 * is still out.  A sync op right after a compared op (nothing has run
 * since) does not compare again: the result could not differ.
 *
 * Input: byte 0 = layout (bit 0: 4 KiB pages, else 512 B; bits 1-4: pages
 * of the first block - 1, at most 8 pages of 4 KiB: every operation
 * compares all memory, and more 4 KiB pages cost time and reach nothing
 * that 512-byte pages do not); then operations, each a kind byte followed by
 * its parameters (missing bytes read as 0); at most 64 operations.
 *
 * Target functions: colo_enter colo_place_packet_begin
 * colo_place_packet_end colo_place_main_page colo_guest_dirty colo_flush
 * colo_discard colo_failover ram_block_check_offset
 * ram_block_test_and_set_received
 */
#include "fuzz.h"

#include "colo/colo.h"
#include "fuzz-pool.h"
#include "model.h"

#define MAX_OPS 64
#define NBLOCKS 3

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_MODEL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_MODEL_ASAN 1
#endif
#endif
#ifdef FUZZ_MODEL_ASAN
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#endif

typedef enum FuzzOpKind {
    FOP_PACKET,    /* multifd packet (precopy or COLO, by phase) */
    FOP_MAIN_PAGE, /* PAGE/ZERO record on the main channel */
    FOP_ENTER_COLO,
    FOP_GUEST_WRITE, /* the secondary's vCPU writes a byte */
    FOP_SYNC,        /* checkpoint sync point: state compared */
    FOP_FLUSH,
    FOP_CHANNEL_FAIL, /* a channel dies: the partial checkpoint is
                        * discarded (colo_discard) */
    FOP_FAILOVER,
    FOP_COUNT,
} FuzzOpKind;

typedef struct Expect {
    uint8_t *guest[NBLOCKS]; /* last checkpoint + own writes */
    bool valid;
} Expect;

/*
 * fuzz_pool() with each request rounded up to a power of two (at least
 * 64), the slack poisoned under ASan so exactly the requested bytes stay
 * addressable: the 32 lengths block 0 can have then share 5 buffer
 * sizes and the pool finds them again from input to input.
 */
static void *round_alloc(void *opaque, size_t n)
{
    const MfAllocator *pool = fuzz_pool();
    size_t size = 64;
    uint8_t *p;

    (void)opaque;
    while (size < n && size <= SIZE_MAX / 2) {
        size *= 2;
    }
    size = size < n ? n : size;
    p = pool->alloc(pool->opaque, size);
    if (p) {
        ASAN_POISON_MEMORY_REGION(p + n, size - n);
    }
    return p;
}

static void round_free(void *opaque, void *ptr)
{
    const MfAllocator *pool = fuzz_pool();

    (void)opaque;
    pool->free(pool->opaque, ptr);
}

static const MfAllocator round_pool = { round_alloc, round_free, NULL };

static uint64_t pick_offset(FuzzInput *in, const Model *m, uint32_t block,
                            uint8_t misalign)
{
    uint64_t npages = m->blocks[block].npages;
    uint64_t page = fuzz_u8(in) % (npages + 1); /* npages: out of range */

    return page * m->page_size + (misalign ? m->page_size / 2 : 0);
}

static void decode_op(FuzzInput *in, const Model *m, uint8_t kind_byte,
                      ModelOp *op)
{
    uint8_t p = fuzz_u8(in);
    uint32_t i;

    memset(op, 0, sizeof(*op));
    op->block = (p & 3) % NBLOCKS;
    op->pattern = fuzz_u8(in);
    switch (kind_byte % FOP_COUNT) {
    case FOP_PACKET:
        op->kind = MODEL_OP_PACKET;
        op->nnormal = (p >> 2) % (MODEL_OP_MAX_PAGES + 1);
        op->nzero = (p >> 5) % (MODEL_OP_MAX_PAGES + 1);
        for (i = 0; i < op->nnormal; i++) {
            op->normal[i] = pick_offset(in, m, op->block, 0);
        }
        for (i = 0; i < op->nzero; i++) {
            op->zero[i] = pick_offset(in, m, op->block, 0);
        }
        if (kind_byte & 0x80 && op->nnormal) {
            op->normal[0] += m->page_size / 2; /* misaligned */
        }
        break;
    case FOP_MAIN_PAGE:
        op->kind = MODEL_OP_MAIN_PAGE;
        op->offset = pick_offset(in, m, op->block, kind_byte & 0x80);
        op->use_fill = (p & 4) != 0;
        op->fill = fuzz_u8(in);
        break;
    case FOP_ENTER_COLO:
        op->kind = MODEL_OP_ENTER_COLO;
        break;
    case FOP_GUEST_WRITE:
        op->kind = MODEL_OP_GUEST_WRITE;
        op->offset = pick_offset(in, m, op->block, 0) +
                     fuzz_u8(in) * (m->page_size / 256);
        op->fill = fuzz_u8(in);
        break;
    case FOP_FLUSH:
        op->kind = MODEL_OP_FLUSH;
        break;
    case FOP_CHANNEL_FAIL:
        op->kind = MODEL_OP_DISCARD;
        break;
    case FOP_FAILOVER:
        op->kind = MODEL_OP_FAILOVER;
        break;
    default: /* FOP_SYNC: compared below, like every op */
        op->kind = MODEL_OP_COUNT;
        break;
    }
}

static void expect_take(Expect *x, const RamTable *t)
{
    size_t i;

    for (i = 0; i < NBLOCKS; i++) {
        memcpy(x->guest[i], t->blocks[i]->host, t->blocks[i]->used_length);
    }
    x->valid = true;
}

static void report(const ModelOp *op, const MfError *err, size_t n)
{
    char line[256];

    model_op_format(op, line, sizeof(line));
    FUZZ_FAIL("op %zu (%s): %s: %s", n, line, err->code_name, err->msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[NBLOCKS] = { "pc.ram", "rom", "tiny" };
    const MfAllocator *pool = &round_pool;
    uint64_t lens[NBLOCKS];
    uint32_t page_size;
    FuzzInput in;
    Model m;
    RamTable t;
    ColoState s;
    Expect x = { { NULL }, false };
    MfError err;
    ModelDiff diff;
    ModelOp op;
    bool compared = false; /* state compared, nothing run since */
    size_t i, n;
    uint8_t b0;

    if (size < 1) {
        return 0;
    }
    fuzz_input_init(&in, data, size);
    b0 = fuzz_u8(&in);
    page_size = b0 & 1 ? 4096 : 512;
    lens[0] =
        (uint64_t)(1 + ((b0 >> 1) & (page_size == 4096 ? 7 : 15))) * page_size;
    lens[1] = 2ull * page_size + (b0 & 0x20 ? page_size / 4 : 0);
    lens[2] = page_size / 8; /* shorter than a page */

    model_init(&m, page_size);
    model_set_allocator(&m, pool);
    mf_error_clear(&err);
    if (!ram_table_init(&t, page_size, &err)) {
        FUZZ_FAIL("ram_table_init: %s", err.msg);
    }
    ram_table_set_allocator(&t, pool);
    for (i = 0; i < NBLOCKS; i++) {
        model_add_block(&m, names[i], lens[i]);
        if (!ram_table_add(&t, names[i], lens[i], NULL, &err)) {
            FUZZ_FAIL("ram_table_add: %s", err.msg);
        }
        /* contents unspecified: read only once expect_take wrote them */
        x.guest[i] = pool->alloc(pool->opaque, lens[i]);
        FUZZ_CHECK(x.guest[i] != NULL, "out of memory");
    }
    FUZZ_CHECK(colo_init(&s, &t, &err), "colo_init: %s", err.msg);

    for (n = 0; n < MAX_OPS && fuzz_remaining(&in); n++) {
        uint8_t kind = fuzz_u8(&in);
        ColoPhase before = s.phase;

        decode_op(&in, &m, kind, &op);
        if (op.kind == MODEL_OP_COUNT) {
            /*
             * Sync point: nothing changes, the state must still agree.
             * Once an op has been compared (model_step compares after
             * each, and a skipped guest write calls nothing), nothing
             * has run since: comparing again could not differ.
             */
            if (!compared && !model_compare(&m, &s, &diff, &err)) {
                report(&op, &err, n);
            }
            compared = true;
            continue;
        }
        if (!model_step(&m, &s, &op, &diff, &err)) {
            report(&op, &err, n);
        }
        compared = true;
        /* The harness's own I4 oracle. */
        switch (op.kind) {
        case MODEL_OP_ENTER_COLO:
        case MODEL_OP_FLUSH:
            if (colo_phase(&s) == COLO_PHASE_COLO) {
                expect_take(&x, &t);
            }
            break;
        case MODEL_OP_GUEST_WRITE:
            if (x.valid && colo_phase(&s) == COLO_PHASE_COLO &&
                op.offset < lens[op.block]) {
                x.guest[op.block][op.offset] = op.fill;
            }
            break;
        case MODEL_OP_FAILOVER:
            if (x.valid && before == COLO_PHASE_COLO) {
                for (i = 0; i < NBLOCKS; i++) {
                    FUZZ_CHECK(!memcmp(x.guest[i], t.blocks[i]->host, lens[i]),
                               "I4: after failover %s differs from the "
                               "last checkpoint + own writes (op %zu)",
                               names[i], n);
                }
            }
            break;
        default:
            break;
        }
    }
    colo_destroy(&s);
    ram_table_destroy(&t);
    model_destroy(&m);
    for (i = 0; i < NBLOCKS; i++) {
        pool->free(pool->opaque, x.guest[i]);
    }
    fuzz_pool_check_empty();
    return 0;
}
