/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reference replay of fake-primary streams (see refdecode.h). */
#include "refdecode.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "base/be.h"
#include "oracle.h"

typedef struct RefChan {
    const SupBuf *buf;
    size_t pos;
    ZSTD_DStream *zstd;
    z_stream zlib;
    bool zlib_init;
} RefChan;

typedef struct Ref {
    const Primary *p;
    const PrimaryConfig *cfg;
    MemImage *img;
    RefChan *chans;
    const SupBuf *main;
    size_t pos;
    long cur_block;
    RefResult *res;
    uint64_t *offsets;
    uint8_t *pages;
} Ref;

static bool fail(Ref *r, const char *fmt, ...)
{
    va_list ap;

    if (r->res->why[0]) {
        return false;
    }
    va_start(ap, fmt);
    vsnprintf(r->res->why, sizeof(r->res->why), fmt, ap);
    va_end(ap);
    return false;
}

static bool take(Ref *r, size_t n, const uint8_t **out)
{
    if (r->main->len - r->pos < n) {
        return fail(r, "main: truncated at %zu (need %zu)", r->pos, n);
    }
    *out = r->main->data + r->pos;
    r->pos += n;
    return true;
}

static bool take_u8(Ref *r, uint8_t *v)
{
    const uint8_t *b = NULL;

    if (!take(r, 1, &b)) {
        return false;
    }
    *v = b[0];
    return true;
}

static bool take_be32(Ref *r, uint32_t *v)
{
    const uint8_t *b = NULL;

    if (!take(r, 4, &b)) {
        return false;
    }
    *v = mf_be32_load(b);
    return true;
}

static bool take_be64(Ref *r, uint64_t *v)
{
    const uint8_t *b = NULL;

    if (!take(r, 8, &b)) {
        return false;
    }
    *v = mf_be64_load(b);
    return true;
}

static bool take_name(Ref *r, char *name)
{
    uint8_t len;
    const uint8_t *b = NULL;

    if (!take_u8(r, &len) || !take(r, len, &b)) {
        return false;
    }
    memcpy(name, b, len);
    name[len] = '\0';
    return true;
}

static bool put_page(Ref *r, long block, uint64_t off, const uint8_t *data,
                     bool zero)
{
    MemBlock *b;
    uint64_t n;

    if (block < 0 || (size_t)block >= r->img->nblocks) {
        return fail(r, "page for unknown block %ld", block);
    }
    b = &r->img->blocks[block];
    if (off % r->cfg->page_size || off >= b->size) {
        return fail(r, "bad offset 0x%" PRIx64 " in %s", off, b->name);
    }
    n = b->size - off < r->cfg->page_size ? b->size - off : r->cfg->page_size;
    if (zero) {
        memset(b->data + off, 0, n);
    } else {
        memcpy(b->data + off, data, n);
    }
    return true;
}

static bool decompress(Ref *r, RefChan *c, const uint8_t *in, size_t len,
                       uint8_t *out, size_t out_len)
{
    if (r->cfg->compression == WIRE_COMP_ZSTD) {
        ZSTD_inBuffer zi = { in, len, 0 };
        ZSTD_outBuffer zo = { out, out_len, 0 };

        while (zi.pos < zi.size) {
            size_t rc = ZSTD_decompressStream(c->zstd, &zo, &zi);

            if (ZSTD_isError(rc)) {
                return fail(r, "zstd: %s", ZSTD_getErrorName(rc));
            }
            if (zo.pos == zo.size && zi.pos < zi.size) {
                break;
            }
        }
        if (zo.pos != out_len || zi.pos != len) {
            return fail(r, "zstd: %zu of %zu bytes out, %zu of %zu in", zo.pos,
                        out_len, zi.pos, len);
        }
        return true;
    }
    c->zlib.next_in = (uint8_t *)in;
    c->zlib.avail_in = (uInt)len;
    c->zlib.next_out = out;
    c->zlib.avail_out = (uInt)out_len;
    while (c->zlib.avail_in > 0) {
        int rc = inflate(&c->zlib, Z_SYNC_FLUSH);

        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return fail(r, "inflate returned %d", rc);
        }
        if (rc == Z_BUF_ERROR) {
            break;
        }
    }
    if (c->zlib.avail_out != 0 || c->zlib.avail_in != 0) {
        return fail(r, "zlib: %u bytes short, %u left", c->zlib.avail_out,
                    c->zlib.avail_in);
    }
    return true;
}

/* Decode packets of channel @i up to and including its next SYNC. */
static bool drain(Ref *r, uint32_t i)
{
    RefChan *c = &r->chans[i];
    uint32_t ps = r->cfg->page_size;
    size_t pkt_size = wire_packet_size(ps);

    for (;;) {
        WirePacket pkt;
        MfError err;
        size_t payload;
        long block;

        memset(&pkt, 0, sizeof(pkt));
        mf_error_clear(&err);
        pkt.offsets = r->offsets;
        if (c->buf->len - c->pos < pkt_size) {
            return fail(r, "multifd %u: no SYNC before the end", i);
        }
        if (!wire_packet_decode(c->buf->data + c->pos, ps, &pkt, &err)) {
            return fail(r, "multifd %u at %zu: %s", i, c->pos, err.msg);
        }
        c->pos += pkt_size;
        r->res->packets++;
        payload = 0;
        if (pkt.normal_pages) {
            payload = r->cfg->compression == WIRE_COMP_NONE
                          ? (size_t)pkt.normal_pages * ps
                          : pkt.next_packet_size;
        }
        if (c->buf->len - c->pos < payload) {
            return fail(r, "multifd %u: payload truncated", i);
        }
        block =
            wire_packet_pages(&pkt) ? mem_image_find(r->img, pkt.ramblock) : -1;
        if (pkt.normal_pages) {
            const uint8_t *data = c->buf->data + c->pos;

            if (r->cfg->compression != WIRE_COMP_NONE) {
                if (!decompress(r, c, data, payload, r->pages,
                                (size_t)pkt.normal_pages * ps)) {
                    return false;
                }
                data = r->pages;
            }
            for (uint32_t k = 0; k < pkt.normal_pages; k++) {
                if (!put_page(r, block, pkt.offsets[k], data + k * ps, false)) {
                    return false;
                }
            }
        }
        for (uint32_t k = 0; k < pkt.zero_pages; k++) {
            if (!put_page(r, block, pkt.offsets[pkt.normal_pages + k], NULL,
                          true)) {
                return false;
            }
        }
        c->pos += payload;
        if (pkt.flags & WIRE_FLAG_SYNC) {
            return true;
        }
    }
}

static bool sync_all(Ref *r)
{
    r->res->syncs++;
    for (uint32_t i = 0; i < r->cfg->channels; i++) {
        if (!drain(r, i)) {
            return false;
        }
    }
    return true;
}

/* RAM records up to and including EOS. */
static bool ram_records(Ref *r)
{
    uint32_t ps = r->cfg->page_size;

    for (;;) {
        uint64_t word, addr;
        uint32_t flags;
        MfError err;
        char name[256];
        const uint8_t *data = NULL;

        mf_error_clear(&err);
        if (!take_be64(r, &word)) {
            return false;
        }
        if (!wire_ram_record_decode(word, ps, &addr, &flags, &err)) {
            return fail(r, "main at %zu: %s", r->pos - 8, err.msg);
        }
        if (flags & WIRE_RAM_MEM_SIZE) {
            uint64_t total = 0;

            for (size_t i = 0; total < addr; i++) {
                uint64_t size;

                if (!take_name(r, name) || !take_be64(r, &size)) {
                    return false;
                }
                if (i >= r->img->nblocks ||
                    strcmp(name, r->img->blocks[i].name) ||
                    size != r->img->blocks[i].size) {
                    return fail(r, "MEM_SIZE block %zu is %s/%" PRIu64, i, name,
                                size);
                }
                total += size;
            }
            continue;
        }
        if (flags & WIRE_RAM_EOS) {
            if (r->cfg->style == PRIMARY_QEMU_7_2 && r->cfg->channels) {
                return sync_all(r);
            }
            return true;
        }
        if (flags & WIRE_RAM_MULTIFD_FLUSH) {
            if (!sync_all(r)) {
                return false;
            }
            continue;
        }
        if (!(flags & WIRE_RAM_CONTINUE)) {
            if (!take_name(r, name)) {
                return false;
            }
            r->cur_block = mem_image_find(r->img, name);
        }
        if (flags & WIRE_RAM_ZERO) {
            uint8_t fill;

            if (!take_u8(r, &fill) || fill != 0) {
                return fail(r, "ZERO fill byte");
            }
            r->res->main_zero++;
            if (!put_page(r, r->cur_block, addr, NULL, true)) {
                return false;
            }
        } else {
            if (!take(r, ps, &data)) {
                return false;
            }
            r->res->main_pages++;
            if (!put_page(r, r->cur_block, addr, data, false)) {
                return false;
            }
        }
    }
}

static bool section_footer(Ref *r, uint32_t sid)
{
    uint8_t t;
    uint32_t id;

    if (!take_u8(r, &t) || !take_be32(r, &id)) {
        return false;
    }
    if (t != WIRE_VM_SECTION_FOOTER || id != sid) {
        return fail(r, "bad footer %02x %u at %zu", t, id, r->pos - 5);
    }
    return true;
}

/*
 * QEMU 7.2 writes an empty non-SYNC packet right after a SYNC that rode
 * on data; a receiver reads it after the sync, so it sits between the
 * SYNC and the end of the stage.  Step over such packets up to @limit.
 */
static void skip_empty(Ref *r, uint32_t i, uint64_t limit)
{
    RefChan *c = &r->chans[i];
    size_t pkt_size = wire_packet_size(r->cfg->page_size);

    while (c->pos + pkt_size <= limit) {
        const uint8_t *pk = c->buf->data + c->pos;

        if ((mf_be32_load(pk + 8) & WIRE_FLAG_SYNC) || mf_be32_load(pk + 16) ||
            mf_be32_load(pk + 32)) {
            return;
        }
        c->pos += pkt_size;
        r->res->packets++;
    }
}

static bool check_stage(Ref *r, size_t stage)
{
    const PrimaryStage *s = primary_stage(r->p, stage);
    OracleDiff d;

    if (!s) {
        return fail(r, "no stage %zu", stage);
    }
    if (r->pos != s->end[0]) {
        return fail(r, "stage %zu ends at %zu, expected %" PRIu64, stage,
                    r->pos, s->end[0]);
    }
    for (uint32_t i = 0; i < r->cfg->channels; i++) {
        skip_empty(r, i, s->end[1 + i]);
        if (r->chans[i].pos != s->end[1 + i]) {
            return fail(r, "stage %zu: multifd %u at %zu, expected %" PRIu64,
                        stage, i, r->chans[i].pos, s->end[1 + i]);
        }
    }
    if (s->image && !oracle_image_equal(s->image, r->img, &d)) {
        return fail(r, "stage %zu: %s", stage, d.msg);
    }
    if (oracle_image_digests(r->img, (const uint8_t(*)[32])s->digest) >= 0) {
        return fail(r, "stage %zu: digest mismatch", stage);
    }
    r->res->stages_checked++;
    return true;
}

static bool precopy(Ref *r)
{
    const uint8_t *b = NULL;
    MfError err;

    mf_error_clear(&err);
    for (uint32_t i = 0; i < r->cfg->channels; i++) {
        WireHandshake hs;

        if (r->chans[i].buf->len < WIRE_HANDSHAKE_SIZE ||
            !wire_handshake_decode(r->chans[i].buf->data, &hs, &err)) {
            return fail(r, "multifd %u handshake: %s", i, err.msg);
        }
        if (hs.id != i || memcmp(hs.uuid, r->cfg->uuid, 16) != 0) {
            return fail(r, "multifd %u handshake id %u", i, hs.id);
        }
        r->chans[i].pos = WIRE_HANDSHAKE_SIZE;
    }
    if (!take(r, WIRE_VM_HEADER_SIZE, &b) || !wire_vm_header_decode(b, &err)) {
        return fail(r, "QEVM header: %s", err.msg);
    }
    for (;;) {
        uint8_t type, ilen;
        uint32_t sid, u32;
        uint16_t cmd;

        if (!take_u8(r, &type)) {
            return false;
        }
        switch (type) {
        case WIRE_VM_CONFIGURATION:
            if (!take_be32(r, &u32) || !take(r, u32, &b)) {
                return false;
            }
            break;
        case WIRE_VM_COMMAND:
            if (!take(r, 4, &b)) {
                return false;
            }
            cmd = mf_be16_load(b);
            if (cmd != WIRE_CMD_ENABLE_COLO || mf_be16_load(b + 2) != 0) {
                return fail(r, "command %u", cmd);
            }
            break;
        case WIRE_VM_SECTION_START:
            if (!take_be32(r, &sid) || !take_u8(r, &ilen) ||
                !take(r, ilen, &b) || ilen != 3 || memcmp(b, "ram", 3) ||
                !take(r, 8, &b) || !ram_records(r) || !section_footer(r, sid)) {
                return fail(r, "ram section start");
            }
            break;
        case WIRE_VM_SECTION_PART:
        case WIRE_VM_SECTION_END:
            if (!take_be32(r, &sid) || !ram_records(r) ||
                !section_footer(r, sid)) {
                return false;
            }
            break;
        case WIRE_VM_SECTION_FULL:
            /* The fake primary's "timer": 24 bytes of state. */
            if (!take_be32(r, &sid) || !take_u8(r, &ilen) ||
                !take(r, ilen + 8u + 24u, &b) || !section_footer(r, sid)) {
                return false;
            }
            break;
        case WIRE_VM_EOF:
            if (r->pos < r->main->len &&
                r->main->data[r->pos] == WIRE_VM_VMDESCRIPTION) {
                r->pos++;
                if (!take_be32(r, &u32) || !take(r, u32, &b)) {
                    return false;
                }
            }
            return check_stage(r, 0);
        default:
            return fail(r, "section type 0x%02x at %zu", type, r->pos - 1);
        }
    }
}

static bool colo_msg(Ref *r, uint32_t want)
{
    uint32_t v;

    if (!take_be32(r, &v)) {
        return false;
    }
    r->res->colo_messages++;
    if (v != want) {
        return fail(r, "COLO message %u, expected %u", v, want);
    }
    return true;
}

static bool checkpoint(Ref *r, size_t stage)
{
    uint8_t t;
    uint32_t sid;
    uint64_t n;
    const uint8_t *b = NULL;

    if (!colo_msg(r, WIRE_COLO_CHECKPOINT_REQUEST) ||
        !colo_msg(r, WIRE_COLO_VMSTATE_SEND) || !take_u8(r, &t) ||
        !take_be32(r, &sid)) {
        return false;
    }
    if (t != WIRE_VM_SECTION_END || sid != r->cfg->ram_section_id) {
        return fail(r, "checkpoint RAM section %02x %u", t, sid);
    }
    if (!ram_records(r) || !section_footer(r, sid) || !take_u8(r, &t)) {
        return false;
    }
    if (t != WIRE_VM_EOF) {
        return fail(r, "no QEMU_VM_EOF after the checkpoint RAM");
    }
    if (!colo_msg(r, WIRE_COLO_VMSTATE_SIZE) || !take_be64(r, &n) ||
        !take(r, n, &b)) {
        return false;
    }
    return check_stage(r, stage);
}

bool ref_replay(const Primary *p, RefResult *res)
{
    Ref r;
    bool ok = true;
    const PrimaryConfig *cfg = primary_config(p);
    const PrimaryStage *s0 = primary_stage(p, 0);

    memset(res, 0, sizeof(*res));
    memset(&r, 0, sizeof(r));
    r.p = p;
    r.cfg = cfg;
    r.res = res;
    r.main = &primary_conn(p, 0)->buf;
    r.cur_block = -1;
    if (!s0) {
        snprintf(res->why, sizeof(res->why), "no finished precopy");
        return false;
    }
    /* The secondary's memory starts zeroed, laid out as the primary's. */
    r.img = mem_image_clone(primary_memory((Primary *)p));
    for (size_t i = 0; i < r.img->nblocks; i++) {
        memset(r.img->blocks[i].data, 0, r.img->blocks[i].size);
    }
    r.offsets = calloc(wire_page_count(cfg->page_size), 8);
    r.pages = malloc(WIRE_MULTIFD_PACKET_BYTES);
    r.chans = calloc(cfg->channels + 1, sizeof(*r.chans));
    for (uint32_t i = 0; i < cfg->channels; i++) {
        r.chans[i].buf = &primary_conn(p, 1 + i)->buf;
        r.chans[i].zstd = ZSTD_createDStream();
        ZSTD_initDStream(r.chans[i].zstd);
        if (cfg->compression == WIRE_COMP_ZLIB) {
            inflateInit(&r.chans[i].zlib);
            r.chans[i].zlib_init = true;
        }
    }
    ok = precopy(&r);
    for (size_t k = 1; ok && k < primary_nstages(p); k++) {
        ok = checkpoint(&r, k);
    }
    if (ok && r.pos != r.main->len) {
        ok = fail(&r, "%zu trailing main bytes", r.main->len - r.pos);
    }
    for (uint32_t i = 0; i < cfg->channels; i++) {
        if (ok && r.chans[i].pos != r.chans[i].buf->len) {
            ok = fail(&r, "multifd %u: trailing bytes", i);
        }
        ZSTD_freeDStream(r.chans[i].zstd);
        if (r.chans[i].zlib_init) {
            inflateEnd(&r.chans[i].zlib);
        }
    }
    free(r.chans);
    free(r.offsets);
    free(r.pages);
    mem_image_free(r.img);
    return ok;
}

bool ref_check_72_shape(const uint8_t *data, size_t len, uint32_t page_size,
                        WireCompression comp, size_t want_syncs, size_t *rides,
                        size_t *dups, char *why, size_t why_len)
{
    uint32_t n = wire_page_count(page_size);
    size_t pkt_size = wire_packet_size(page_size);
    size_t pos = WIRE_HANDSHAKE_SIZE, syncs = 0, npk = 0;
    uint8_t prev[4096];
    bool want_empty = false;
    uint64_t want_num = 0, last_num = 0;
    size_t nrides = 0, ndups = 0;
    WireHandshake hs;
    MfError err;

#define SHAPE_FAIL(...) \
    do { \
        snprintf(why, why_len, __VA_ARGS__); \
        return false; \
    } while (0)

    mf_error_clear(&err);
    if (len < WIRE_HANDSHAKE_SIZE || !wire_handshake_decode(data, &hs, &err)) {
        SHAPE_FAIL("handshake");
    }
    if (pkt_size > sizeof(prev)) {
        SHAPE_FAIL("page size too small for this check");
    }
    memset(prev, 0, sizeof(prev));
    while (pos < len) {
        const uint8_t *pk = data + pos;
        uint32_t flags, alloc, normal, next, zero;
        uint64_t num;
        size_t payload = 0;

        if (len - pos < pkt_size) {
            SHAPE_FAIL("truncated packet at %zu", pos);
        }
        flags = mf_be32_load(pk + 8);
        alloc = mf_be32_load(pk + 12);
        normal = mf_be32_load(pk + 16);
        next = mf_be32_load(pk + 20);
        num = mf_be64_load(pk + 24);
        zero = mf_be32_load(pk + 32);
        if (mf_be32_load(pk) != WIRE_MULTIFD_MAGIC || alloc != n || zero != 0 ||
            normal > n) {
            SHAPE_FAIL("packet %zu at %zu: magic/alloc %u/zero %u", npk, pos,
                       alloc, zero);
        }
        if (npk == 0 &&
            (flags != WIRE_FLAG_SYNC || normal != 0 || num != hs.id)) {
            SHAPE_FAIL("first packet: flags %x normal %u num %" PRIu64 " id %u",
                       flags, normal, num, hs.id);
        }
        if (npk > 0 && num < last_num) {
            SHAPE_FAIL("packet %zu: packet_num went down", npk);
        }
        if (want_empty && (flags != 0 || normal != 0 || num != want_num)) {
            SHAPE_FAIL("packet %zu: no empty packet after a SYNC with data",
                       npk);
        }
        want_empty = false;
        if ((flags & WIRE_FLAG_COMPRESSION_MASK) !=
            (normal ? (uint32_t)comp : 0u)) {
            SHAPE_FAIL("packet %zu: compression bits %x with %u pages", npk,
                       flags & WIRE_FLAG_COMPRESSION_MASK, normal);
        }
        if (npk > 0 && normal == 0 &&
            (memcmp(pk + 64, prev + 64, 256) != 0 ||
             next != mf_be32_load(prev + 20))) {
            SHAPE_FAIL("packet %zu: empty packet without stale fields", npk);
        }
        if (memcmp(pk + WIRE_PACKET_FIXED_SIZE + 8 * (size_t)normal,
                   prev + WIRE_PACKET_FIXED_SIZE + 8 * (size_t)normal,
                   8 * (size_t)(n - normal)) != 0) {
            SHAPE_FAIL("packet %zu: offset slots past %u not stale", npk,
                       normal);
        }
        if (normal > 0 && npk > 0 && mf_be32_load(prev + 16) > 0 &&
            memcmp(pk + 64, prev + 64, 256) == 0) {
            uint32_t pn = mf_be32_load(prev + 16);

            if (memcmp(pk + WIRE_PACKET_FIXED_SIZE,
                       prev + WIRE_PACKET_FIXED_SIZE + 8 * (size_t)(pn - 1),
                       8) == 0) {
                ndups++;
            }
        }
        if (flags & WIRE_FLAG_SYNC) {
            syncs++;
            if (normal > 0) {
                nrides++;
                want_empty = true;
                want_num = num;
            }
        }
        if (normal) {
            payload =
                comp == WIRE_COMP_NONE ? (size_t)normal * page_size : next;
        }
        memcpy(prev, pk, pkt_size);
        last_num = num;
        pos += pkt_size + payload;
        npk++;
    }
    if (pos != len || want_empty) {
        SHAPE_FAIL("stream ends inside a packet or before an empty packet");
    }
    if (syncs != want_syncs) {
        SHAPE_FAIL("%zu SYNC packets, expected %zu", syncs, want_syncs);
    }
    if (rides) {
        *rides = nrides;
    }
    if (dups) {
        *dups = ndups;
    }
    return true;
#undef SHAPE_FAIL
}
