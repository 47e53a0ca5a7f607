/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The reference model of COLO memory: see model.h. */
#include "model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bitmap.h"
#include "colo-check.h"

#if defined(__SANITIZE_ADDRESS__)
#define MODEL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MODEL_ASAN 1
#endif
#endif
#ifdef MODEL_ASAN
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#endif
#include "colo/errors.h"
#include "ram/errors.h"

static void *xalloc(const Model *m, size_t n)
{
    void *p;

    n = n ? n : 1;
    p = m->alloc ? m->alloc->alloc(m->alloc->opaque, n) : malloc(n);
    if (!p) {
        fprintf(stderr, "model: out of memory\n");
        abort();
    }
    return p;
}

static void *xcalloc(const Model *m, size_t n)
{
    void *p = xalloc(m, n);

    memset(p, 0, n ? n : 1);
    return p;
}

static void xfree(const Model *m, void *p)
{
    if (!p) {
        return;
    }
    if (m->alloc) {
        m->alloc->free(m->alloc->opaque, p);
    } else {
        free(p);
    }
}

void model_init(Model *m, uint32_t page_size)
{
    memset(m, 0, sizeof(*m));
    m->page_size = page_size;
    m->phase = COLO_PHASE_PRECOPY;
}

void model_set_allocator(Model *m, const MfAllocator *a)
{
    m->alloc = a;
}

/* Room for one more block (arrays grow by doubling: few allocations). */
static void reserve_block(Model *m)
{
    ModelBlock *blocks;
    uint8_t **snap_guest;
    size_t cap;

    if (m->nblocks < m->capacity) {
        return;
    }
    cap = m->capacity ? 2 * m->capacity : 4;
    blocks = xalloc(m, cap * sizeof(*blocks));
    snap_guest = xcalloc(m, cap * sizeof(*snap_guest));
    if (m->nblocks) {
        memcpy(blocks, m->blocks, m->nblocks * sizeof(*blocks));
    }
    xfree(m, m->blocks);
    xfree(m, m->snap_guest);
    m->blocks = blocks;
    m->snap_guest = snap_guest;
    m->capacity = cap;
}

size_t model_add_block(Model *m, const char *name, uint64_t used_length)
{
    ModelBlock *b;
    uint64_t npages = (used_length + m->page_size - 1) / m->page_size;

    reserve_block(m);
    b = &m->blocks[m->nblocks];
    memset(b, 0, sizeof(*b));
    snprintf(b->name, sizeof(b->name), "%s", name);
    b->used_length = used_length;
    b->npages = npages;
    b->guest = xcalloc(m, used_length);
    b->cache = xcalloc(m, used_length);
    /* the three page sets share one buffer (fewer allocations) */
    b->dirty = xcalloc(m, 3 * npages);
    b->guest_dirty = b->dirty + npages;
    b->received = b->dirty + 2 * npages;
    return m->nblocks++;
}

void model_destroy(Model *m)
{
    size_t i;

    for (i = 0; i < m->nblocks; i++) {
        xfree(m, m->blocks[i].guest);
        xfree(m, m->blocks[i].cache);
        xfree(m, m->blocks[i].dirty); /* with guest_dirty, received */
        xfree(m, m->blocks[i].snap);
    }
    xfree(m, m->blocks);
    xfree(m, m->snap_guest);
    xfree(m, m->op_data);
    memset(m, 0, sizeof(*m));
}

/* Bytes of the page at @off (the last page of a block may be short). */
static uint64_t page_len(const Model *m, const ModelBlock *b, uint64_t off)
{
    return b->used_length - off < m->page_size ? b->used_length - off
                                               : m->page_size;
}

int model_offset_error(const Model *m, size_t bi, uint64_t offset)
{
    const ModelBlock *b = &m->blocks[bi];

    if (b->used_length < m->page_size) {
        return RAM_ERR_BLOCK_TOO_SMALL;
    }
    /* offset + page_size > used_length, in 128-bit-safe form */
    if (offset > b->used_length || b->used_length - offset < m->page_size) {
        return RAM_ERR_OFFSET_RANGE;
    }
    if (offset % m->page_size) {
        return RAM_ERR_OFFSET_UNALIGNED;
    }
    return MF_OK;
}

static void put(Model *m, ModelBlock *b, uint64_t off, const uint8_t *data,
                uint8_t fill)
{
    uint64_t p = off / m->page_size;

    if (data) {
        memcpy(b->cache + off, data, m->page_size);
    } else {
        memset(b->cache + off, fill, m->page_size);
    }
    b->received[p] = 1;
    if (m->phase == COLO_PHASE_PRECOPY) {
        memcpy(b->guest + off, b->cache + off, m->page_size);
    } else {
        b->dirty[p] = 1;
    }
}

int model_recv_packet(Model *m, size_t bi, const uint64_t *normal,
                      const uint8_t *data, uint32_t nnormal,
                      const uint64_t *zero, uint32_t nzero)
{
    ModelBlock *b = &m->blocks[bi];
    uint32_t i;
    int code;

    if (m->phase == COLO_PHASE_FAILED_OVER) {
        return COLO_ERR_PHASE;
    }
    for (i = 0; i < nnormal; i++) {
        code = model_offset_error(m, bi, normal[i]);
        if (code != MF_OK) {
            return code;
        }
    }
    for (i = 0; i < nzero; i++) {
        code = model_offset_error(m, bi, zero[i]);
        if (code != MF_OK) {
            return code;
        }
    }
    for (i = 0; i < nzero; i++) {
        put(m, b, zero[i], NULL, 0);
    }
    for (i = 0; i < nnormal; i++) {
        put(m, b, normal[i], data + (size_t)i * m->page_size, 0);
    }
    return MF_OK;
}

int model_main_page(Model *m, size_t bi, uint64_t offset, const uint8_t *data,
                    uint8_t fill)
{
    int code;

    if (m->phase == COLO_PHASE_FAILED_OVER) {
        return COLO_ERR_PHASE;
    }
    code = model_offset_error(m, bi, offset);
    if (code != MF_OK) {
        return code;
    }
    put(m, &m->blocks[bi], offset, data, fill);
    return MF_OK;
}

int model_enter_colo(Model *m)
{
    size_t i;

    if (m->phase != COLO_PHASE_PRECOPY) {
        return COLO_ERR_PHASE;
    }
    for (i = 0; i < m->nblocks; i++) {
        memset(m->blocks[i].dirty, 0, m->blocks[i].npages);
        memset(m->blocks[i].guest_dirty, 0, m->blocks[i].npages);
    }
    m->phase = COLO_PHASE_COLO;
    return MF_OK;
}

void model_guest_write(Model *m, size_t bi, uint64_t byte, uint8_t value)
{
    ModelBlock *b = &m->blocks[bi];

    b->guest[byte] = value;
    b->guest_dirty[byte / m->page_size] = 1;
}

int model_flush(Model *m)
{
    size_t i;
    uint64_t p;

    if (m->phase != COLO_PHASE_COLO) {
        return COLO_ERR_PHASE;
    }
    for (i = 0; i < m->nblocks; i++) {
        ModelBlock *b = &m->blocks[i];

        for (p = 0; p < b->npages; p++) {
            uint64_t off = p * m->page_size;

            if (b->dirty[p] || b->guest_dirty[p]) {
                memcpy(b->guest + off, b->cache + off, page_len(m, b, off));
            }
            b->dirty[p] = 0;
            b->guest_dirty[p] = 0;
        }
    }
    m->flushes++;
    return MF_OK;
}

void model_discard(Model *m)
{
    size_t i;
    uint64_t p;

    if (m->phase != COLO_PHASE_COLO) {
        return;
    }
    for (i = 0; i < m->nblocks; i++) {
        ModelBlock *b = &m->blocks[i];

        for (p = 0; p < b->npages; p++) {
            uint64_t off = p * m->page_size;

            if (b->dirty[p]) {
                memcpy(b->cache + off, b->guest + off, page_len(m, b, off));
                b->received[p] = 1;
                b->dirty[p] = 0;
            }
        }
    }
}

void model_failover(Model *m)
{
    size_t i;

    if (m->phase == COLO_PHASE_FAILED_OVER) {
        return;
    }
    model_discard(m);
    for (i = 0; i < m->nblocks; i++) {
        memset(m->blocks[i].guest_dirty, 0, m->blocks[i].npages);
    }
    m->phase = COLO_PHASE_FAILED_OVER;
}

uint64_t model_dirty_count(const Model *m)
{
    uint64_t n = 0, p;
    size_t i;

    for (i = 0; i < m->nblocks; i++) {
        for (p = 0; p < m->blocks[i].npages; p++) {
            n += m->blocks[i].dirty[p];
        }
    }
    return n;
}

/* ---- compare ---- */

static bool diff_at(ModelDiff *diff, MfError *err, int code,
                    const char *code_name, size_t bi, const char *name,
                    uint64_t off, const char *what, unsigned model,
                    unsigned real)
{
    if (diff) {
        diff->block = bi;
        diff->offset = off;
    }
    return mf_error_set_impl(
        err, code, code_name, off,
        "model differs: block %zu \"%.64s\" offset %" PRIu64
        ": %s model 0x%02x real 0x%02x",
        bi, name, off, what, model, real);
}

static bool compare_bytes(const ModelBlock *mb, const uint8_t *real,
                          const uint8_t *model, size_t bi, int code,
                          const char *code_name, const char *what,
                          ModelDiff *diff, MfError *err)
{
    uint64_t i;

    if (memcmp(real, model, mb->used_length) == 0) {
        return true;
    }
    for (i = 0; i < mb->used_length; i++) {
        if (real[i] != model[i]) {
            return diff_at(diff, err, code, code_name, bi, mb->name, i, what,
                           model[i], real[i]);
        }
    }
    return true;
}

static bool compare_bits(const Model *m, const ModelBlock *mb,
                         const unsigned long *real, const uint8_t *model,
                         size_t bi, int code, const char *code_name,
                         const char *what, ModelDiff *diff, MfError *err)
{
    uint64_t p;

    for (p = 0; p < mb->npages; p++) {
        /* bit p of words of MF_BITS_PER_LONG bits (base/bitmap.h) */
        unsigned r =
            (unsigned)(real[p / MF_BITS_PER_LONG] >> (p % MF_BITS_PER_LONG)) &
            1u;

        if (r != model[p]) {
            return diff_at(diff, err, code, code_name, bi, mb->name,
                           p * m->page_size, what, model[p], r);
        }
    }
    return true;
}

#define CMP_BYTES(code, what, real, model) \
    compare_bytes(mb, (real), (model), i, (code), #code, (what), diff, err)
#define CMP_BITS(code, what, real, model) \
    compare_bits(m, mb, (real), (model), i, (code), #code, (what), diff, err)

bool model_compare(const Model *m, const ColoState *s, ModelDiff *diff,
                   MfError *err)
{
    const RamTable *t = s->ram;
    size_t i;

    if (t->nblocks != m->nblocks || t->page_size != m->page_size) {
        return mf_error_set(err, MODEL_ERR_LAYOUT, 0,
                            "model differs: %zu blocks of page %" PRIu32
                            ", real %zu of page %" PRIu32,
                            m->nblocks, m->page_size, t->nblocks, t->page_size);
    }
    if (colo_phase(s) != m->phase) {
        return mf_error_set(
            err, MODEL_ERR_PHASE, 0, "model differs: phase model %s real %s",
            colo_phase_name(m->phase), colo_phase_name(colo_phase(s)));
    }
    if (s->dirty_pages != model_dirty_count(m) || s->flushes != m->flushes) {
        return mf_error_set(
            err, MODEL_ERR_COUNTER, 0,
            "model differs: dirty_pages model %" PRIu64 " real %" PRIu64
            ", flushes model %" PRIu64 " real %" PRIu64,
            model_dirty_count(m), s->dirty_pages, m->flushes, s->flushes);
    }
    for (i = 0; i < m->nblocks; i++) {
        const ModelBlock *mb = &m->blocks[i];
        const RamBlock *rb = t->blocks[i];

        if (strcmp(rb->name, mb->name) != 0 ||
            rb->used_length != mb->used_length) {
            return mf_error_set(
                err, MODEL_ERR_LAYOUT, 0,
                "model differs: block %zu is \"%.64s\" "
                "(%" PRIu64 " bytes), real \"%.64s\" (%" PRIu64 " bytes)",
                i, mb->name, mb->used_length, rb->name, rb->used_length);
        }
        if (!CMP_BYTES(MODEL_ERR_GUEST, "guest", rb->host, mb->guest) ||
            !CMP_BITS(MODEL_ERR_RECEIVED, "received", rb->received,
                      mb->received)) {
            return false;
        }
        if (!rb->colo_cache) {
            continue;
        }
        if (!CMP_BYTES(MODEL_ERR_CACHE, "cache", rb->colo_cache, mb->cache) ||
            !CMP_BITS(MODEL_ERR_DIRTY, "dirty", rb->dirty, mb->dirty) ||
            !CMP_BITS(MODEL_ERR_GUEST_DIRTY, "guest-dirty", rb->guest_dirty,
                      mb->guest_dirty)) {
            return false;
        }
    }
    return true;
}

/* ---- the real side ---- */

static bool check_offsets(RamBlock *b, const uint64_t *offs, uint32_t n,
                          MfError *err)
{
    uint32_t i;

    for (i = 0; i < n; i++) {
        if (!ram_block_check_offset(b, offs[i], err)) {
            return false;
        }
    }
    return true;
}

/*
 * The model refuses after failover before it looks at offsets: an empty
 * packet asks colo whether it still accepts pages.
 */
static bool phase_accepts(ColoState *s, RamBlock *b, MfError *err)
{
    ColoPacket pk;

    return colo_place_packet_begin(&pk, s, b, NULL, 0, NULL, 0, NULL, 0, err);
}

bool model_real_packet(ColoState *s, RamBlock *b, const uint64_t *normal,
                       const uint8_t *data, uint32_t nnormal,
                       const uint64_t *zero, uint32_t nzero, MfError *err)
{
    uint8_t *slots[MODEL_OP_MAX_PAGES];
    ColoPacket pk;
    uint32_t i;

    if (nnormal > MODEL_OP_MAX_PAGES) {
        return mf_error_set(err, MF_ERR_INVALID_ARG, 0,
                            "%" PRIu32 " normal pages, at most %u", nnormal,
                            MODEL_OP_MAX_PAGES);
    }
    if (!phase_accepts(s, b, err) || !check_offsets(b, normal, nnormal, err) ||
        !check_offsets(b, zero, nzero, err) ||
        !colo_place_packet_begin(&pk, s, b, normal, nnormal, zero, nzero, slots,
                                 0, err)) {
        return false;
    }
    for (i = 0; i < nnormal; i++) {
        memcpy(slots[i], data + (size_t)i * b->page_size, b->page_size);
    }
    colo_place_packet_end(&pk);
    return true;
}

bool model_real_main_page(ColoState *s, RamBlock *b, uint64_t offset,
                          const uint8_t *data, uint8_t fill, MfError *err)
{
    return phase_accepts(s, b, err) && ram_block_check_offset(b, offset, err) &&
           colo_place_main_page(s, b, offset, data, fill, err);
}

/* ---- ops ---- */

void model_page_data(uint8_t pattern, uint32_t index, uint8_t *page,
                     uint32_t page_size)
{
    uint64_t x[4], seed = 0x9e3779b97f4a7c15ull * (pattern + 1u) +
                          0xc2b2ae3d27d4eb4full * (index + 1u);
    uint32_t i, j, k;

    /* four independent xorshift64 lanes, 32 bytes per step */
    for (k = 0; k < 4; k++) {
        x[k] = (seed ^ (0xd6e8feb86659fd93ull * (k + 1))) | 1;
    }
    for (i = 0; i < page_size; i += 32) {
        for (k = 0; k < 4; k++) {
            x[k] ^= x[k] << 13;
            x[k] ^= x[k] >> 7;
            x[k] ^= x[k] << 17;
        }
        if (page_size - i >= 32) {
            /* 8-byte copies: plain stores, no memcpy call under ASan */
            memcpy(page + i, &x[0], 8);
            memcpy(page + i + 8, &x[1], 8);
            memcpy(page + i + 16, &x[2], 8);
            memcpy(page + i + 24, &x[3], 8);
        } else {
            for (j = 0; i + j < page_size; j++) {
                page[i + j] = (uint8_t)(x[j / 8] >> (8 * (j % 8)));
            }
        }
    }
    if (page_size) {
        page[0] |= 1; /* never an all-zero page */
    }
}

static const char *const op_names[MODEL_OP_COUNT] = {
    [MODEL_OP_PACKET] = "packet",
    [MODEL_OP_MAIN_PAGE] = "main-page",
    [MODEL_OP_ENTER_COLO] = "enter-colo",
    [MODEL_OP_GUEST_WRITE] = "guest-write",
    [MODEL_OP_FLUSH] = "flush",
    [MODEL_OP_DISCARD] = "discard",
    [MODEL_OP_FAILOVER] = "failover",
};

void model_op_format(const ModelOp *op, char *buf, size_t size)
{
    size_t used;
    uint32_t i;

    if ((unsigned)op->kind >= MODEL_OP_COUNT) {
        snprintf(buf, size, "op %u", (unsigned)op->kind);
        return;
    }
    used = (size_t)snprintf(buf, size, "%s block %" PRIu32, op_names[op->kind],
                            op->block);
    switch (op->kind) {
    case MODEL_OP_PACKET:
        for (i = 0; i < op->nnormal && used < size; i++) {
            used += (size_t)snprintf(buf + used, size - used, " n:0x%" PRIx64,
                                     op->normal[i]);
        }
        for (i = 0; i < op->nzero && used < size; i++) {
            used += (size_t)snprintf(buf + used, size - used, " z:0x%" PRIx64,
                                     op->zero[i]);
        }
        break;
    case MODEL_OP_MAIN_PAGE:
        if (used < size) {
            snprintf(buf + used, size - used, " off 0x%" PRIx64 " %s 0x%02x",
                     op->offset, op->use_fill ? "fill" : "pattern",
                     op->use_fill ? op->fill : op->pattern);
        }
        break;
    case MODEL_OP_GUEST_WRITE:
        if (used < size) {
            snprintf(buf + used, size - used, " byte 0x%" PRIx64 " = 0x%02x",
                     op->offset, op->fill);
        }
        break;
    default:
        break;
    }
}

static bool result_matches(int want, bool ok, const MfError *real,
                           const ModelOp *op, MfError *err)
{
    char desc[160];
    int got = ok ? MF_OK : real->code;

    if (want == got) {
        return true;
    }
    model_op_format(op, desc, sizeof(desc));
    return mf_error_set(err, MODEL_ERR_RESULT, 0,
                        "%s: model expects code %d, real gave %d (%s)", desc,
                        want, got, ok ? "success" : real->msg);
}

/*
 * Snapshot the real guest memory of every block (for I2) into the model's
 * scratch buffers when the real layout is the model's (as model_compare
 * requires), else into a fresh ColoCheckSnap (*@owned set: free it).
 */
static void snap_take(Model *m, const RamTable *t, ColoCheckSnap *snap,
                      bool *owned)
{
    size_t i;

    *owned = false;
    if (t->nblocks != m->nblocks) {
        goto fresh;
    }
    for (i = 0; i < m->nblocks; i++) {
        if (t->blocks[i]->used_length != m->blocks[i].used_length) {
            goto fresh;
        }
    }
    for (i = 0; i < m->nblocks; i++) {
        ModelBlock *mb = &m->blocks[i];

        if (!mb->snap) {
            mb->snap = xalloc(m, mb->used_length);
        }
        memcpy(mb->snap, t->blocks[i]->host, mb->used_length);
        m->snap_guest[i] = mb->snap;
    }
    snap->nblocks = m->nblocks;
    snap->guest = m->snap_guest;
    return;
fresh:
    colo_check_snap_take(snap, t);
    *owned = true;
}

/*
 * Room for @npages pages of op data: the end of a scratch buffer of
 * MODEL_OP_MAX_PAGES pages kept by the model, with everything before it
 * poisoned under ASan, so that exactly the op's pages are addressable
 * and a read before or past them is reported (as with a buffer of their
 * exact size, without an allocation per op).  Give it back with
 * op_data_put().
 */
static uint8_t *op_data_get(Model *m, uint32_t npages)
{
    size_t max = (size_t)MODEL_OP_MAX_PAGES * m->page_size;
    size_t skip = (size_t)(MODEL_OP_MAX_PAGES - npages) * m->page_size;

    if (!m->op_data) {
        m->op_data = xalloc(m, max);
    }
    ASAN_POISON_MEMORY_REGION(m->op_data, skip);
    return m->op_data + skip;
}

static void op_data_put(Model *m)
{
    ASAN_UNPOISON_MEMORY_REGION(m->op_data,
                                (size_t)MODEL_OP_MAX_PAGES * m->page_size);
}

static bool step_packet(Model *m, ColoState *s, const ModelOp *op, MfError *err)
{
    RamBlock *b = s->ram->blocks[op->block];
    uint8_t *data = op_data_get(m, op->nnormal);
    ColoPhase phase = colo_phase(s);
    ColoCheckSnap snap = { 0 };
    MfError real = { 0 };
    bool owned = false;
    uint32_t i;
    bool ok;
    int want;

    for (i = 0; i < op->nnormal; i++) {
        model_page_data(op->pattern, i, data + (size_t)i * m->page_size,
                        m->page_size);
    }
    if (phase == COLO_PHASE_COLO) {
        snap_take(m, s->ram, &snap, &owned);
    }
    want = model_recv_packet(m, op->block, op->normal, data, op->nnormal,
                             op->zero, op->nzero);
    ok = model_real_packet(s, b, op->normal, data, op->nnormal, op->zero,
                           op->nzero, &real);
    op_data_put(m);
    if (!result_matches(want, ok, &real, op, err)) {
        ok = false;
    } else if (ok && phase == COLO_PHASE_PRECOPY) {
        ok = colo_check_i1(s, b, op->normal, op->nnormal, op->zero, op->nzero,
                           err);
    } else if (ok && phase == COLO_PHASE_COLO) {
        ok = colo_check_i2(s, &snap, b, op->normal, op->nnormal, op->zero,
                           op->nzero, err);
    } else {
        ok = true;
    }
    if (owned) {
        colo_check_snap_free(&snap);
    }
    return ok;
}

static bool step_main_page(Model *m, ColoState *s, const ModelOp *op,
                           MfError *err)
{
    RamBlock *b = s->ram->blocks[op->block];
    uint8_t *data = NULL;
    MfError real = { 0 };
    bool ok;
    int want;

    if (!op->use_fill) {
        data = op_data_get(m, 1);
        model_page_data(op->pattern, 0, data, m->page_size);
    }
    want = model_main_page(m, op->block, op->offset, data, op->fill);
    ok = model_real_main_page(s, b, op->offset, data, op->fill, &real);
    if (data) {
        op_data_put(m);
    }
    return result_matches(want, ok, &real, op, err);
}

bool model_step(Model *m, ColoState *s, const ModelOp *op, ModelDiff *diff,
                MfError *err)
{
    MfError real = { 0 };
    bool ok;
    int want;

    if ((unsigned)op->kind >= MODEL_OP_COUNT || op->block >= m->nblocks ||
        op->block >= s->ram->nblocks || op->nnormal > MODEL_OP_MAX_PAGES ||
        op->nzero > MODEL_OP_MAX_PAGES) {
        return mf_error_set(err, MODEL_ERR_OP, 0,
                            "malformed op: kind %u block %" PRIu32
                            " pages %" PRIu32 "+%" PRIu32,
                            (unsigned)op->kind, op->block, op->nnormal,
                            op->nzero);
    }
    switch (op->kind) {
    case MODEL_OP_PACKET:
        ok = step_packet(m, s, op, err);
        break;
    case MODEL_OP_MAIN_PAGE:
        ok = step_main_page(m, s, op, err);
        break;
    case MODEL_OP_ENTER_COLO:
        want = model_enter_colo(m);
        ok = result_matches(want, colo_enter(s, &real), &real, op, err);
        break;
    case MODEL_OP_GUEST_WRITE:
        if (m->phase == COLO_PHASE_PRECOPY ||
            op->offset >= m->blocks[op->block].used_length) {
            return true; /* outside the contract: skipped */
        }
        model_guest_write(m, op->block, op->offset, op->fill);
        s->ram->blocks[op->block]->host[op->offset] = op->fill;
        colo_guest_dirty(s->ram->blocks[op->block], op->offset);
        ok = true;
        break;
    case MODEL_OP_FLUSH:
        want = model_flush(m);
        ok = result_matches(want, colo_flush(s, NULL, &real), &real, op, err);
        if (ok && want == MF_OK) {
            ok = colo_check_i3(s, err);
        }
        break;
    case MODEL_OP_DISCARD:
        model_discard(m);
        colo_discard(s);
        ok = true;
        break;
    default: /* MODEL_OP_FAILOVER */
        model_failover(m);
        colo_failover(s);
        ok = true;
        break;
    }
    return ok && model_compare(m, s, diff, err);
}

/* ---- random ops ---- */

uint64_t model_seed_from_env(const char *env_name, uint64_t dflt)
{
    const char *v = getenv(env_name);
    char *end;
    unsigned long long seed;

    if (!v || !*v) {
        return dflt;
    }
    seed = strtoull(v, &end, 0);
    return *end ? dflt : (uint64_t)seed;
}

/* A page offset: mostly valid, sometimes at or past the limits. */
static uint64_t random_offset(const Model *m, const ModelBlock *b, SupRng *r)
{
    uint64_t npages = b->used_length / m->page_size; /* whole pages */

    switch (sup_rng_below(r, 20)) {
    case 0: /* the last page that fits (or 0 in a too-small block) */
        return npages ? (npages - 1) * m->page_size : 0;
    case 1: /* one page more than the last that fits */
        return npages * m->page_size;
    case 2: /* unaligned */
        return sup_rng_below(r, b->used_length) | 1;
    case 3: /* offset + page_size overflows 64 bits */
        return UINT64_MAX - sup_rng_below(r, 2 * m->page_size);
    default:
        if (npages == 0) {
            return 0;
        }
        /* half of the time one of a few hot pages, to hit pages again */
        if (sup_rng_below(r, 2)) {
            return sup_rng_below(r, npages < 4 ? npages : 4) * m->page_size;
        }
        return sup_rng_below(r, npages) * m->page_size;
    }
}

void model_random_op(const Model *m, SupRng *r, ModelOp *op)
{
    uint64_t roll = sup_rng_below(r, 100);
    const ModelBlock *b;
    uint32_t i;

    memset(op, 0, sizeof(*op));
    op->block = (uint32_t)sup_rng_below(r, m->nblocks);
    b = &m->blocks[op->block];
    op->pattern = (uint8_t)sup_rng_next(r);
    if (roll < 45) {
        op->kind = MODEL_OP_PACKET;
        op->nnormal = (uint32_t)sup_rng_below(r, MODEL_OP_MAX_PAGES + 1);
        op->nzero = (uint32_t)sup_rng_below(r, 4);
        for (i = 0; i < op->nnormal; i++) {
            op->normal[i] = random_offset(m, b, r);
        }
        for (i = 0; i < op->nzero; i++) {
            op->zero[i] = random_offset(m, b, r);
        }
    } else if (roll < 55) {
        op->kind = MODEL_OP_MAIN_PAGE;
        op->offset = random_offset(m, b, r);
        op->use_fill = sup_rng_below(r, 2);
        op->fill = sup_rng_below(r, 4) ? 0 : (uint8_t)sup_rng_next(r);
    } else if (roll < 62) {
        op->kind = MODEL_OP_ENTER_COLO;
    } else if (roll < 82) {
        op->kind = MODEL_OP_GUEST_WRITE;
        op->offset = sup_rng_below(r, b->used_length);
        op->fill = (uint8_t)sup_rng_next(r);
    } else if (roll < 94) {
        op->kind = MODEL_OP_FLUSH;
    } else if (roll < 99) {
        op->kind = MODEL_OP_DISCARD;
    } else {
        op->kind = MODEL_OP_FAILOVER;
    }
}
