/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hostile cases of the qemu tier (hostile-cases.h).  Field offsets of
 * QEMU's multifd formats (all big-endian):
 *   handshake (64 bytes): magic 0, version 4, uuid 8..23, id 24,
 *     reserved 25..63;
 *   RAM packet header (1344 bytes at 4 KiB pages): magic 0, version 4,
 *     flags 8, pages_alloc 12, normal_pages 16, next_packet_size 20,
 *     packet_num 24, zero_pages 32 (QEMU >= 9.0; unused in 7.2),
 *     ramblock 64..319, offsets 320 + 8 * i.
 */
#include "hostile-cases.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/be.h"
#include "sha256.h"
#include "wire/multifd.h"
#include "wire/stream.h"

#define PAGE 4096u
#define HDR 1344u
#define PC_RAM_SIZE 0x2000000ull /* pc.ram of the recordings: 32 MiB */

#define NOCOMP "nocomp-2ch"
#define ZSTD "zstd-2ch"
#define ZLIB "zlib-2ch"

const char *const hostile_recordings[HOSTILE_NRECORDINGS] = { NOCOMP, ZSTD,
                                                              ZLIB };

size_t hostile_recording_index(const char *dir)
{
    size_t i;

    for (i = 0; i < HOSTILE_NRECORDINGS; i++) {
        if (!strcmp(dir, hostile_recordings[i])) {
            return i;
        }
    }
    return 0;
}

/* Trailing members left out of an entry are zero. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
/* clang-format off */
static const HostileCase cases[] = {
    /* controls */
    { "nocomp/clean", "the recording as is", NOCOMP, true, HK_CLEAN },
    { "zstd/clean", "the recording as is", ZSTD, true, HK_CLEAN },
    /* handshake */
    { "nocomp/hs-magic", "channel 0 handshake magic 0xdeadbeef", NOCOMP,
      true, HK_HS_FIELD, 0, 0, 0, 4, 0xdeadbeef },
    { "nocomp/hs-version", "channel 0 handshake version 2", NOCOMP, false,
      HK_HS_FIELD, 0, 0, 4, 4, 2 },
    { "nocomp/hs-uuid", "channel 0 handshake uuid[0] ^ 0xff", NOCOMP, false,
      HK_HS_UUID, 0 },
    { "nocomp/hs-id-range", "channel 0 handshake id 2 (= channels)", NOCOMP,
      true, HK_HS_FIELD, 0, 0, 24, 1, 2 },
    { "nocomp/hs-id-255", "channel 0 handshake id 255", NOCOMP, false,
      HK_HS_FIELD, 0, 0, 24, 1, 255 },
    { "nocomp/hs-id-dup", "channel 1 handshake id 0 (duplicate, no id 1)",
      NOCOMP, false, HK_HS_FIELD, 1, 0, 24, 1, 0 },
    { "nocomp/hs-reserved", "channel 0 handshake bytes 25..63 = 0xff",
      NOCOMP, false, HK_HS_RESERVED, 0 },
    { "nocomp/hs-cut", "channel 0 cut inside its handshake (30 bytes)",
      NOCOMP, false, HK_CUT_AT, 0, 0, 0, 0, 30 },
    { "nocomp/chan-empty", "channel 0 connects, sends nothing, closes",
      NOCOMP, false, HK_CUT_AT, 0, 0, 0, 0, 0 },
    { "nocomp/chan-silent",
      "channel 0 connects and never sends (connections held open)", NOCOMP,
      true, HK_CUT_AT, 0, 0, 0, 0, 0, NULL, true },
    { "nocomp/chan-hs-only", "channel 0 ends after its handshake", NOCOMP,
      false, HK_CUT_AT, 0, 0, 0, 0, 64 },
    { "nocomp/chan-extra-dup",
      "a third connection, a copy of channel 1 (id 1 twice, no id 2)",
      NOCOMP, false, HK_EXTRA_CONN, 1 },
    /* packet header, first data packet of channel 0 */
    { "nocomp/pkt-magic", "packet magic 0xdeadbeef", NOCOMP, true,
      HK_PKT_FIELD, 0, HP_DATA, 0, 4, 0xdeadbeef },
    { "nocomp/pkt-magic-sync", "first (SYNC) packet magic 0xdeadbeef",
      NOCOMP, false, HK_PKT_FIELD, 0, HP_FIRST, 0, 4, 0xdeadbeef },
    { "nocomp/pkt-version", "packet version 2", NOCOMP, false, HK_PKT_FIELD,
      0, HP_DATA, 4, 4, 2 },
    { "nocomp/pkt-flags-zlib", "packet compression zlib on a none stream",
      NOCOMP, false, HK_PKT_FLAGS_COMP, 0, HP_DATA, 0, 0, WIRE_COMP_ZLIB },
    { "nocomp/pkt-flags-unknown", "packet flags |= 0x100 (no such flag)",
      NOCOMP, false, HK_PKT_FLAGS_OR, 0, HP_DATA, 0, 0, 0x100 },
    { "nocomp/pkt-flags-devstate", "packet flags |= 0x40 (device state)",
      NOCOMP, false, HK_PKT_FLAGS_OR, 0, HP_DATA, 0, 0, 0x40 },
    { "nocomp/pkt-devstate-huge",
      "device-state flag, device-state next_packet_size 0xffffffff",
      NOCOMP, false, HK_PKT_DEVSTATE, 0, HP_DATA, 0, 0, 0xffffffff },
    { "nocomp/pkt-pages-alloc-129", "pages_alloc 129 (> 128)", NOCOMP,
      false, HK_PKT_FIELD, 0, HP_DATA, 12, 4, 129 },
    { "nocomp/pkt-pages-alloc-huge", "pages_alloc 0xffffffff", NOCOMP,
      false, HK_PKT_FIELD, 0, HP_DATA, 12, 4, 0xffffffff },
    { "nocomp/pkt-normal-129", "normal_pages 129 (> pages_alloc 128)",
      NOCOMP, false, HK_PKT_FIELD, 0, HP_DATA, 16, 4, 129 },
    { "nocomp/pkt-normal-huge", "normal_pages 0xffffffff", NOCOMP, false,
      HK_PKT_FIELD, 0, HP_DATA, 16, 4, 0xffffffff },
    { "nocomp/pkt-zero-pages", "zero_pages 1 (unused in 7.2)", NOCOMP,
      false, HK_PKT_FIELD, 0, HP_DATA, 32, 4, 1 },
    { "nocomp/pkt-zero-pages-huge", "zero_pages 0xffffffff", NOCOMP, false,
      HK_PKT_FIELD, 0, HP_DATA, 32, 4, 0xffffffff },
    { "nocomp/pkt-next-size-huge", "next_packet_size 0xffffffff", NOCOMP,
      false, HK_PKT_FIELD, 0, HP_DATA, 20, 4, 0xffffffff },
    { "nocomp/pkt-next-size-short", "next_packet_size - 1", NOCOMP, false,
      HK_PKT_NEXT_DELTA, 0, HP_DATA, 0, 0, (uint64_t)-1 },
    { "nocomp/pkt-num-huge", "packet_num 0xffffffffffffffff", NOCOMP, false,
      HK_PKT_FIELD, 0, HP_DATA, 24, 8, UINT64_MAX },
    { "nocomp/pkt-offset-end", "offsets[0] = used_length of pc.ram",
      NOCOMP, false, HK_PKT_OFFSET, 0, HP_DATA, 0, 0, PC_RAM_SIZE },
    { "nocomp/pkt-offset-last-partial",
      "offsets[0] = used_length - 4096 + 1 (page crosses the end)", NOCOMP,
      false, HK_PKT_OFFSET, 0, HP_DATA, 0, 0, PC_RAM_SIZE - PAGE + 1 },
    { "nocomp/pkt-offset-huge", "offsets[0] = 0xfffffffffffff000", NOCOMP,
      false, HK_PKT_OFFSET, 0, HP_DATA, 0, 0, 0xfffffffffffff000ull },
    { "nocomp/pkt-offset-unaligned", "offsets[0] += 0x800", NOCOMP, true,
      HK_PKT_OFFSET_ADD, 0, HP_DATA, 0, 0, 0x800 },
    { "nocomp/pkt-block-unknown", "ramblock \"nosuch\"", NOCOMP, false,
      HK_PKT_NAME, 0, HP_DATA, 0, 0, 0, "nosuch" },
    { "nocomp/pkt-block-unterminated", "ramblock: 256 bytes 'A', no NUL",
      NOCOMP, false, HK_PKT_NAME_FULL, 0, HP_DATA },
    { "nocomp/pkt-block-empty", "ramblock \"\" in a packet with pages",
      NOCOMP, false, HK_PKT_NAME, 0, HP_DATA, 0, 0, 0, "" },
    { "nocomp/pkt-block-bios", "ramblock \"pc.bios\", pc.ram offsets",
      NOCOMP, false, HK_PKT_NAME, 0, HP_DATA, 0, 0, 0, "pc.bios" },
    /* truncations */
    { "nocomp/cut-header", "channel 0 cut 100 bytes into a packet header",
      NOCOMP, false, HK_CUT_PKT, 0, HP_DATA, 0, 0, 100 },
    { "nocomp/cut-payload", "channel 0 cut 2048 bytes into a payload",
      NOCOMP, false, HK_CUT_PKT, 0, HP_DATA, 0, 0, HDR + 2048 },
    { "nocomp/cut-last-sync", "channel 0 ends before its last SYNC packet",
      NOCOMP, false, HK_CUT_LAST_SYNC, 0 },
    { "nocomp/main-cut-ram", "main cut inside the ram SECTION_PART",
      NOCOMP, true, HK_MAIN_CUT_PART, 0, 0, 0, 0, 1000 },
    { "nocomp/main-cut-device", "main cut inside the device state", NOCOMP,
      false, HK_MAIN_CUT_DEV, 0, 0, 0, 0, 1000 },
    { "nocomp/main-unknown-block", "main: MEM_SIZE names an unknown block",
      NOCOMP, false, HK_MAIN_MEM_SIZE },
    /* zstd: the compressed payload */
    { "zstd/pkt-flags-none", "compression none on a zstd packet", ZSTD,
      false, HK_PKT_FLAGS_COMP, 0, HP_DATA, 0, 0, WIRE_COMP_NONE },
    { "zstd/pkt-normal-129", "normal_pages 129 (> pages_alloc 128)", ZSTD,
      false, HK_PKT_FIELD, 0, HP_DATA, 16, 4, 129 },
    { "zstd/pkt-next-size-huge", "next_packet_size 0xffffffff", ZSTD, true,
      HK_PKT_FIELD, 0, HP_DATA, 20, 4, 0xffffffff },
    { "zstd/pkt-next-size-1m1", "next_packet_size 1 MiB + 1 (> buffer)",
      ZSTD, false, HK_PKT_FIELD, 0, HP_DATA, 20, 4, 0x100001 },
    { "zstd/pkt-next-size-short", "next_packet_size - 1", ZSTD, false,
      HK_PKT_NEXT_DELTA, 0, HP_DATA, 0, 0, (uint64_t)-1 },
    { "zstd/pkt-next-size-zero", "next_packet_size 0 with pages", ZSTD,
      false, HK_PKT_FIELD, 0, HP_DATA, 20, 4, 0 },
    { "zstd/pkt-payload-garbage", "the first 64 payload bytes ^ 0x5a", ZSTD, false,
      HK_PKT_PAYLOAD, 0, HP_DATA },
    { "zstd/pkt-zero-only",
      "normal_pages 0, zero_pages 1, next_packet_size and payload kept",
      ZSTD, false, HK_PKT_ZERO_ONLY, 0, HP_DATA, 0, 0, 1 },
    { "zstd/pkt-offset-end", "offsets[0] = used_length of pc.ram", ZSTD,
      false, HK_PKT_OFFSET, 0, HP_DATA, 0, 0, PC_RAM_SIZE },
    { "zstd/pkt-offset-unaligned", "offsets[0] += 0x800", ZSTD, false,
      HK_PKT_OFFSET_ADD, 0, HP_DATA, 0, 0, 0x800 },
    { "zstd/pkt-block-unknown", "ramblock \"nosuch\"", ZSTD, false,
      HK_PKT_NAME, 0, HP_DATA, 0, 0, 0, "nosuch" },
    { "zstd/cut-header", "channel 0 cut 100 bytes into a packet header",
      ZSTD, false, HK_CUT_PKT, 0, HP_DATA, 0, 0, 100 },
    { "zstd/cut-payload", "channel 0 cut 100 bytes into a payload", ZSTD,
      true, HK_CUT_PKT, 0, HP_DATA, 0, 0, HDR + 100 },
    { "zstd/hs-id-range", "channel 0 handshake id 2 (= channels)", ZSTD,
      false, HK_HS_FIELD, 0, 0, 24, 1, 2 },
    /* zlib: the same buffer and assertion as zstd */
    { "zlib/clean", "the recording as is", ZLIB, false, HK_CLEAN },
    { "zlib/pkt-next-size-huge", "next_packet_size 0xffffffff", ZLIB, false,
      HK_PKT_FIELD, 0, HP_DATA, 20, 4, 0xffffffff },
    { "zlib/pkt-zero-only",
      "normal_pages 0, zero_pages 1, next_packet_size and payload kept",
      ZLIB, false, HK_PKT_ZERO_ONLY, 0, HP_DATA, 0, 0, 1 },
    { "zlib/pkt-payload-garbage", "the first 64 payload bytes ^ 0x5a", ZLIB,
      false, HK_PKT_PAYLOAD, 0, HP_DATA },
};
/* clang-format on */
#pragma GCC diagnostic pop

size_t hostile_ncases(void)
{
    return sizeof(cases) / sizeof(cases[0]);
}

const HostileCase *hostile_case(size_t i)
{
    return i < hostile_ncases() ? &cases[i] : NULL;
}

const HostileCase *hostile_case_find(const char *name)
{
    size_t i;

    for (i = 0; i < hostile_ncases(); i++) {
        if (!strcmp(cases[i].name, name)) {
            return &cases[i];
        }
    }
    return NULL;
}

/* ---- loading and walking a recording ---- */

static bool load_file(const char *path, SupBuf *b, char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t chunk[65536];
    size_t n;

    if (!f) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        return false;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        sup_buf_append(b, chunk, n);
    }
    if (ferror(f)) {
        snprintf(why, why_len, "%s: read error", path);
        fclose(f);
        return false;
    }
    fclose(f);
    return true;
}

static bool walk_chan(HostileChan *c, bool sized, const char *path, char *why,
                      size_t why_len)
{
    const uint8_t *s = c->buf.data;
    uint64_t o = WIRE_HANDSHAKE_SIZE;

    if (c->buf.len < WIRE_HANDSHAKE_SIZE ||
        mf_be32_load(s) != WIRE_MULTIFD_MAGIC) {
        snprintf(why, why_len, "%s: not a multifd channel", path);
        return false;
    }
    c->id = s[24];
    while (o < c->buf.len) {
        uint32_t normal, size;

        if (c->npackets == HOSTILE_MAX_PACKETS || o + HDR > c->buf.len ||
            mf_be32_load(s + o) != WIRE_MULTIFD_MAGIC) {
            snprintf(why, why_len, "%s: offset %llu: unexpected packet", path,
                     (unsigned long long)o);
            return false;
        }
        normal = mf_be32_load(s + o + 16);
        size = normal ? (sized ? mf_be32_load(s + o + 20) : normal * PAGE) : 0;
        c->pkt[c->npackets] = o;
        c->normal[c->npackets] = normal;
        c->payload[c->npackets] = size;
        c->npackets++;
        o += HDR + size;
    }
    if (o != c->buf.len) {
        snprintf(why, why_len, "%s: last packet runs past the end", path);
        return false;
    }
    return true;
}

/* Main: header, CONFIGURATION, SECTION_START "ram" (MEM_SIZE), PART... */
static bool walk_main(HostileRecording *r, char *why, size_t why_len)
{
    const uint8_t *s = r->main.data;
    size_t len = r->main.len;
    uint64_t o = WIRE_VM_HEADER_SIZE;
    uint64_t i;

    if (len < 64 || mf_be32_load(s) != WIRE_VM_FILE_MAGIC ||
        s[o] != WIRE_VM_CONFIGURATION) {
        snprintf(why, why_len, "%s/conn-0.bin: unexpected start", r->dir);
        return false;
    }
    o += 5 + mf_be32_load(s + o + 1);
    if (s[o] != WIRE_VM_SECTION_START) {
        snprintf(why, why_len, "%s/conn-0.bin: offset %llu: no SECTION_START",
                 r->dir, (unsigned long long)o);
        return false;
    }
    o += 6 + s[o + 5] + 8;
    /* the MEM_SIZE record word, then u8 length + name */
    if (!(mf_be64_load(s + o) & WIRE_RAM_MEM_SIZE)) {
        snprintf(why, why_len, "%s/conn-0.bin: offset %llu: no MEM_SIZE",
                 r->dir, (unsigned long long)o);
        return false;
    }
    r->mem_size_name = o + 8;
    for (i = o; i + 5 < len; i++) {
        if (s[i] == WIRE_VM_SECTION_PART &&
            s[i - 5] == WIRE_VM_SECTION_FOOTER) {
            r->section_part = i;
            break;
        }
    }
    for (i = r->section_part; i + 5 < len; i++) {
        if (s[i] == WIRE_VM_SECTION_FULL &&
            s[i - 5] == WIRE_VM_SECTION_FOOTER) {
            r->device_state = i;
            break;
        }
    }
    if (!r->section_part || !r->device_state) {
        snprintf(why, why_len,
                 "%s/conn-0.bin: ram section or device state "
                 "not found",
                 r->dir);
        return false;
    }
    return true;
}

bool hostile_recording_load(const char *root, const char *dir,
                            HostileRecording *r, char *why, size_t why_len)
{
    char path[1024];
    bool sized = strcmp(dir, NOCOMP) != 0; /* payload = next_packet_size */
    int k;

    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "%s", dir);
    r->compression = !strcmp(dir, ZSTD)   ? "zstd"
                     : !strcmp(dir, ZLIB) ? "zlib"
                                          : "none";
    snprintf(path, sizeof(path), "%s/qemu-7.2/%s/conn-0.bin", root, dir);
    if (!load_file(path, &r->main, why, why_len) ||
        !walk_main(r, why, why_len)) {
        hostile_recording_free(r);
        return false;
    }
    for (k = 0; k < 2; k++) {
        HostileChan c = { 0 };

        snprintf(path, sizeof(path), "%s/qemu-7.2/%s/conn-%d.bin", root, dir,
                 k + 1);
        if (!load_file(path, &c.buf, why, why_len) ||
            !walk_chan(&c, sized, path, why, why_len)) {
            sup_buf_free(&c.buf);
            hostile_recording_free(r);
            return false;
        }
        if (c.id > 1 || r->chan[c.id].buf.data) {
            snprintf(why, why_len, "%s: unexpected channel id %u", path, c.id);
            sup_buf_free(&c.buf);
            hostile_recording_free(r);
            return false;
        }
        r->chan[c.id] = c;
    }
    r->nchans = 2;
    return true;
}

void hostile_recording_free(HostileRecording *r)
{
    size_t k;

    sup_buf_free(&r->main);
    for (k = 0; k < 2; k++) {
        sup_buf_free(&r->chan[k].buf);
    }
    memset(r, 0, sizeof(*r));
}

/* ---- edits ---- */

static void note(HostileInput *in, const char *fmt, ...)
{
    size_t n = strlen(in->patch);
    va_list ap;

    if (n) {
        snprintf(in->patch + n, sizeof(in->patch) - n, "; ");
        n = strlen(in->patch);
    }
    va_start(ap, fmt);
    vsnprintf(in->patch + n, sizeof(in->patch) - n, fmt, ap);
    va_end(ap);
}

static void hex(char *out, size_t size, const uint8_t *p, size_t n)
{
    size_t i, k = 0;

    out[0] = 0;
    for (i = 0; i < n && i < 16 && k + 3 < size; i++) {
        k += (size_t)snprintf(out + k, size - k, "%02x", p[i]);
    }
    if (n > 16 && k + 4 < size) {
        snprintf(out + k, size - k, "..");
    }
}

/* Replace @n bytes of file @f at @at, noting old -> new. */
static void put(HostileInput *in, size_t f, uint64_t at, const void *bytes,
                size_t n)
{
    HostileFile *file = &in->files[f];
    char old[40], new[40];

    if (at + n > file->buf.len) {
        abort(); /* the walk guarantees it */
    }
    hex(old, sizeof(old), file->buf.data + at, n);
    hex(new, sizeof(new), bytes, n);
    memcpy(file->buf.data + at, bytes, n);
    note(in, "%s@%llu: %s -> %s (%zu bytes)", file->name,
         (unsigned long long)at, old, new, n);
}

static void put_be(HostileInput *in, size_t f, uint64_t at, uint32_t width,
                   uint64_t v)
{
    uint8_t b[8];

    if (width == 1) {
        b[0] = (uint8_t)v;
    } else if (width == 4) {
        mf_be32_store(b, (uint32_t)v);
    } else {
        mf_be64_store(b, v);
    }
    put(in, f, at, b, width);
}

static void cut(HostileInput *in, size_t f, uint64_t len)
{
    HostileFile *file = &in->files[f];

    note(in, "%s: cut at %llu of %zu", file->name, (unsigned long long)len,
         file->buf.len);
    sup_buf_truncate(&file->buf, len);
}

static uint64_t pkt_at(const HostileChan *c, HostilePkt which, size_t *idx)
{
    size_t i;

    for (i = 0; i < c->npackets; i++) {
        if (which == HP_FIRST || c->normal[i]) {
            *idx = i;
            return c->pkt[i];
        }
    }
    abort(); /* every recorded channel carries pages */
}

void hostile_make(const HostileCase *c, const HostileRecording *r,
                  HostileInput *in)
{
    const HostileChan *ch = &r->chan[c->chan];
    size_t f = 1 + c->chan; /* file index of the channel */
    size_t k, idx = 0;
    uint64_t p = 0, v;
    uint8_t name[WIRE_RAMBLOCK_NAME_SIZE];

    memset(in, 0, sizeof(*in));
    in->compression = r->compression;
    in->nfiles = 1 + r->nchans;
    snprintf(in->files[0].name, sizeof(in->files[0].name), "main.bin");
    sup_buf_append(&in->files[0].buf, r->main.data, r->main.len);
    for (k = 0; k < r->nchans; k++) {
        snprintf(in->files[1 + k].name, sizeof(in->files[1 + k].name),
                 "chan-%zu.bin", k);
        sup_buf_append(&in->files[1 + k].buf, r->chan[k].buf.data,
                       r->chan[k].buf.len);
    }
    if (c->kind >= HK_PKT_FIELD && c->kind <= HK_CUT_PKT) {
        p = pkt_at(ch, c->pkt, &idx);
    }
    switch (c->kind) {
    case HK_CLEAN:
        break;
    case HK_HS_FIELD:
        put_be(in, f, c->at, c->width, c->value);
        break;
    case HK_HS_UUID:
        name[0] = ch->buf.data[8] ^ 0xff;
        put(in, f, 8, name, 1);
        break;
    case HK_HS_RESERVED:
        memset(name, 0xff, 39);
        put(in, f, 25, name, 39);
        break;
    case HK_PKT_FIELD:
        put_be(in, f, p + c->at, c->width, c->value);
        break;
    case HK_PKT_FLAGS_OR:
        put_be(in, f, p + 8, 4, mf_be32_load(ch->buf.data + p + 8) | c->value);
        break;
    case HK_PKT_FLAGS_COMP:
        v = mf_be32_load(ch->buf.data + p + 8) & ~WIRE_FLAG_COMPRESSION_MASK;
        put_be(in, f, p + 8, 4, v | c->value);
        break;
    case HK_PKT_NEXT_DELTA:
        v = mf_be32_load(ch->buf.data + p + 20) + c->value;
        put_be(in, f, p + 20, 4, (uint32_t)v);
        break;
    case HK_PKT_NAME:
        memset(name, 0, sizeof(name));
        memcpy(name, c->name2, strlen(c->name2));
        put(in, f, p + 64, name, sizeof(name));
        break;
    case HK_PKT_NAME_FULL:
        memset(name, 'A', sizeof(name));
        put(in, f, p + 64, name, sizeof(name));
        break;
    case HK_PKT_OFFSET:
        put_be(in, f, p + 320, 8, c->value);
        break;
    case HK_PKT_OFFSET_ADD:
        put_be(in, f, p + 320, 8,
               mf_be64_load(ch->buf.data + p + 320) + c->value);
        break;
    case HK_PKT_PAYLOAD:
        memcpy(name, ch->buf.data + p + HDR, 64);
        for (k = 0; k < 64; k++) {
            name[k] ^= 0x5a;
        }
        put(in, f, p + HDR, name, 64);
        break;
    case HK_PKT_ZERO_ONLY:
        put_be(in, f, p + 16, 4, 0);
        put_be(in, f, p + 32, 4, c->value);
        break;
    case HK_PKT_DEVSTATE:
        put_be(in, f, p + 8, 4,
               mf_be32_load(ch->buf.data + p + 8) | WIRE_FLAG_DEVICE_STATE);
        put_be(in, f, p + 272, 4, c->value);
        break;
    case HK_CUT_PKT:
        cut(in, f, p + c->value);
        break;
    case HK_CUT_AT:
        cut(in, f, c->value);
        break;
    case HK_CUT_LAST_SYNC:
        for (k = ch->npackets; k-- > 0;) {
            if (mf_be32_load(ch->buf.data + ch->pkt[k] + 8) & WIRE_FLAG_SYNC) {
                break;
            }
        }
        cut(in, f, ch->pkt[k]);
        break;
    case HK_EXTRA_CONN:
        snprintf(in->files[in->nfiles].name, sizeof(in->files[0].name),
                 "chan-%zu.bin", in->nfiles - 1);
        sup_buf_append(&in->files[in->nfiles].buf, ch->buf.data, ch->buf.len);
        note(in, "%s: a copy of %s", in->files[in->nfiles].name,
             in->files[f].name);
        in->nfiles++;
        break;
    case HK_MAIN_CUT_PART:
        cut(in, 0, r->section_part + c->value);
        break;
    case HK_MAIN_CUT_DEV:
        cut(in, 0, r->device_state + c->value);
        break;
    case HK_MAIN_MEM_SIZE:
        name[0] = 'x';
        put(in, 0, r->mem_size_name + r->main.data[r->mem_size_name], name, 1);
        break;
    }
    if (!in->patch[0]) {
        note(in, "none");
    }
}

void hostile_input_free(HostileInput *in)
{
    size_t k;

    for (k = 0; k < HOSTILE_MAX_FILES; k++) {
        sup_buf_free(&in->files[k].buf);
    }
    memset(in, 0, sizeof(*in));
}

bool hostile_input_write(const HostileInput *in, const char *dir, char *why,
                         size_t why_len)
{
    size_t k;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(why, why_len, "%s: %s", dir, strerror(errno));
        return false;
    }
    for (k = 0; k < in->nfiles; k++) {
        char path[1024];
        FILE *f;
        bool ok;

        snprintf(path, sizeof(path), "%s/%s", dir, in->files[k].name);
        f = fopen(path, "wb");
        if (!f) {
            snprintf(why, why_len, "%s: %s", path, strerror(errno));
            return false;
        }
        ok = in->files[k].buf.len == 0 ||
             fwrite(in->files[k].buf.data, in->files[k].buf.len, 1, f) == 1;
        if (fclose(f) != 0 || !ok) {
            snprintf(why, why_len, "%s: write error", path);
            return false;
        }
    }
    return true;
}

void hostile_manifest_line(const HostileCase *c, const HostileInput *in,
                           char *out, size_t size)
{
    size_t k, n;

    n = (size_t)snprintf(out, size, "%s %s", c->name, in->compression);
    for (k = 0; k < in->nfiles && n < size; k++) {
        char h[65];

        sha256_hex(in->files[k].buf.data ? in->files[k].buf.data
                                         : (const uint8_t *)"",
                   in->files[k].buf.len, 32, h);
        n += (size_t)snprintf(out + n, size - n, " %s:%zu:%s",
                              in->files[k].name, in->files[k].buf.len, h);
    }
    if (n < size) {
        snprintf(out + n, size - n, " | %s", in->patch);
    }
}
