/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The zstd and zlib codecs against real QEMU 7.2 streams
 * (tests/data/qemu-7.2/{zstd,zlib}-2ch): walk each multifd connection
 * (64-byte handshake, then 1344-byte packet headers, big-endian fields at
 * the offsets of docs/qemu-reference.md#packet, a payload of
 * next_packet_size bytes after packets with normal pages), decompress
 * packet after packet with
 * one codec per connection, and check every page:
 *   - its SHA-256 prefix against page_sha256_16 of packets.json (same
 *     connection file and stream offset), when built with jansson;
 *   - its bytes against the page with the same block and offset in the
 *     nocomp capture of the same guest.
 * The captures directory is argv[1]; if it is missing the test fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MFCOLO_HAVE_JANSSON
#include <jansson.h>
#endif

#include "base/be.h"
#include "codec/codec.h"
#include "codec/errors.h"
#include "sha256.h"

#define PS 4096
#define HANDSHAKE 64
#define HDR 1344
#define OFF_FLAGS 8
#define OFF_NORMAL 16
#define OFF_NEXT 20
#define OFF_ZERO 32
#define OFF_BLOCK 64
#define OFF_OFFSETS 320

static const char *captures;

typedef struct Blob {
    uint8_t *data;
    size_t len;
} Blob;

/* A page of the nocomp capture: block name, offset, bytes. */
typedef struct RefPage {
    char block[256];
    uint64_t offset;
    const uint8_t *data;
} RefPage;

typedef struct Ref {
    Blob conn[2];
    RefPage *pages;
    size_t npages;
    size_t cap;
} Ref;

static Ref ref;

static Blob load(const char *dir, const char *file)
{
    char path[1024];
    Blob b = { NULL, 0 };
    FILE *f;
    long n;

    snprintf(path, sizeof(path), "%s/qemu-7.2/%s/%s", captures, dir, file);
    f = fopen(path, "rb");
    if (!f) {
        fail_msg("capture file %s is missing", path);
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    b.data = malloc((size_t)n);
    assert_non_null(b.data);
    assert_int_equal(fread(b.data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b.len = (size_t)n;
    return b;
}

/* One packet header at @p, fields checked for sanity. */
typedef struct Hdr {
    uint32_t flags, normal, next, zero;
    char block[256];
    const uint8_t *offsets;
} Hdr;

static void parse_hdr(const uint8_t *p, Hdr *h)
{
    assert_int_equal(mf_be32_load(p), 0x11223344);
    assert_int_equal(mf_be32_load(p + 4), 1);
    h->flags = mf_be32_load(p + OFF_FLAGS);
    h->normal = mf_be32_load(p + OFF_NORMAL);
    h->next = mf_be32_load(p + OFF_NEXT);
    h->zero = mf_be32_load(p + OFF_ZERO);
    assert_true(h->normal <= 128);
    assert_int_equal(h->zero, 0); /* 7.2: zero pages on the main channel */
    memcpy(h->block, p + OFF_BLOCK, 255);
    h->block[255] = '\0';
    h->offsets = p + OFF_OFFSETS;
}

static const RefPage *ref_find(const char *block, uint64_t offset)
{
    size_t i;

    /* duplicates carry the same bytes; the first one will do */
    for (i = 0; i < ref.npages; i++) {
        if (ref.pages[i].offset == offset &&
            strcmp(ref.pages[i].block, block) == 0) {
            return &ref.pages[i];
        }
    }
    return NULL;
}

static int group_setup(void **state)
{
    static const char *files[2] = { "conn-1.bin", "conn-2.bin" };
    int k;

    (void)state;
    for (k = 0; k < 2; k++) {
        Blob b = load("nocomp-2ch", files[k]);
        size_t pos = HANDSHAKE;
        uint32_t i;
        Hdr h;

        ref.conn[k] = b;
        while (pos < b.len) {
            assert_true(pos + HDR <= b.len);
            parse_hdr(b.data + pos, &h);
            pos += HDR;
            for (i = 0; i < h.normal; i++) {
                RefPage *r;

                if (ref.npages == ref.cap) {
                    ref.cap = ref.cap ? 2 * ref.cap : 1024;
                    ref.pages =
                        realloc(ref.pages, ref.cap * sizeof(*ref.pages));
                    assert_non_null(ref.pages);
                }
                r = &ref.pages[ref.npages++];
                snprintf(r->block, sizeof(r->block), "%s", h.block);
                r->offset = mf_be64_load(h.offsets + 8 * i);
                r->data = b.data + pos + (size_t)i * PS;
            }
            pos += (size_t)h.normal * PS;
        }
        assert_int_equal(pos, b.len);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(ref.conn[0].data);
    free(ref.conn[1].data);
    free(ref.pages);
    return 0;
}

#ifdef MFCOLO_HAVE_JANSSON
/* page_sha256_16 of the packet at (@file, @off) in packets.json. */
static json_t *json_packet(json_t *all, const char *file, size_t off)
{
    size_t i;
    json_t *p;

    json_array_foreach(all, i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "chan_file")), file) ==
                0 &&
            (size_t)json_integer_value(json_object_get(p, "stream_off")) ==
                off) {
            return p;
        }
    }
    return NULL;
}
#endif

static void run_capture(const char *dir, WireCompression method)
{
    static const char *files[2] = { "conn-1.bin", "conn-2.bin" };
    uint8_t *out = malloc(128 * PS);
    uint8_t *pages[128];
    size_t total_pages = 0, data_packets = 0, json_pages = 0;
    int k, i;
#ifdef MFCOLO_HAVE_JANSSON
    char path[1024];
    json_error_t jerr;
    json_t *all, *jp;
    size_t idx;

    snprintf(path, sizeof(path), "%s/qemu-7.2/%s/packets.json", captures, dir);
    all = json_load_file(path, 0, &jerr);
    if (!all) {
        fail_msg("%s: %s", path, jerr.text);
    }
    json_array_foreach(all, idx, jp)
    {
        json_pages +=
            (size_t)json_integer_value(json_object_get(jp, "normal_pages"));
    }
#endif

    assert_non_null(out);
    for (i = 0; i < 128; i++) {
        pages[i] = out + (size_t)i * PS;
    }
    for (k = 0; k < 2; k++) {
        Blob b = load(dir, files[k]);
        MfError err;
        Codec *c;
        size_t pos = HANDSHAKE;
        Hdr h;

        mf_error_clear(&err);
        c = codec_new(method, PS, &err);
        assert_non_null(c);
        while (pos < b.len) {
            WirePacket pkt;
            size_t hdr_off = pos, plen;

            assert_true(pos + HDR <= b.len);
            parse_hdr(b.data + pos, &h);
            pos += HDR;
            memset(&pkt, 0, sizeof(pkt));
            pkt.flags = h.flags;
            pkt.pages_alloc = 128;
            pkt.normal_pages = h.normal;
            pkt.next_packet_size = h.next;
            if (!codec_check_packet(c, &pkt, &err)) {
                fail_msg("%s/%s @%zu: %s", dir, files[k], hdr_off, err.msg);
            }
            plen = codec_payload_len(c, &pkt);
            if (h.normal == 0) {
                assert_int_equal(plen, 0); /* stale next_packet_size */
                continue;
            }
            assert_int_equal(plen, h.next);
            assert_true(pos + plen <= b.len);
            memset(out, 0xee, (size_t)h.normal * PS);
            if (!codec_decompress(c, b.data + pos, plen, pages, h.normal,
                                  &err)) {
                fail_msg("%s/%s @%zu: %s", dir, files[k], hdr_off, err.msg);
            }
            pos += plen;
            data_packets++;
#ifdef MFCOLO_HAVE_JANSSON
            jp = json_packet(all, files[k], hdr_off);
            if (!jp) {
                fail_msg("%s/%s @%zu: not in packets.json", dir, files[k],
                         hdr_off);
            }
            assert_int_equal(
                json_array_size(json_object_get(jp, "page_sha256_16")),
                h.normal);
#endif
            for (i = 0; i < (int)h.normal; i++) {
                uint64_t off = mf_be64_load(h.offsets + 8 * i);
                const RefPage *r = ref_find(h.block, off);
#ifdef MFCOLO_HAVE_JANSSON
                char hex[17];

                sha256_hex(pages[i], PS, 8, hex);
                assert_string_equal(
                    hex,
                    json_string_value(json_array_get(
                        json_object_get(jp, "page_sha256_16"), (size_t)i)));
#endif
                if (!r) {
                    fail_msg("%s %s 0x%llx not in the nocomp capture", dir,
                             h.block, (unsigned long long)off);
                }
                if (memcmp(r->data, pages[i], PS) != 0) {
                    fail_msg("%s/%s @%zu page %d (%s 0x%llx) differs from "
                             "nocomp",
                             dir, files[k], hdr_off, i, h.block,
                             (unsigned long long)off);
                }
                total_pages++;
            }
        }
        assert_int_equal(pos, b.len); /* the walk ends exactly at EOF */
        codec_free(c);
        free(b.data);
    }
    /* 838 distinct non-zero pages, some sent twice */
    assert_true(total_pages >= 838);
    assert_true(data_packets >= 4);
#ifdef MFCOLO_HAVE_JANSSON
    assert_int_equal(total_pages, json_pages);
    json_decref(all);
#else
    (void)json_pages;
#endif
    free(out);
}

static void test_zstd_capture(void **state)
{
    (void)state;
    run_capture("zstd-2ch", WIRE_COMP_ZSTD);
}

static void test_zlib_capture(void **state)
{
    (void)state;
    run_capture("zlib-2ch", WIRE_COMP_ZLIB);
}

/* The nocomp reference itself covers every non-zero page of the guest. */
static void test_reference_is_complete(void **state)
{
    (void)state;
    assert_true(ref.npages >= 838);
    assert_non_null(ref_find("pc.ram", 0x100000));
    assert_non_null(ref_find("pc.ram", 0x1fff000));
    assert_memory_equal(ref_find("pc.ram", 0x400000)->data, "MFDPAGE#", 8);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_is_complete),
#ifdef MFCOLO_HAVE_ZSTD
        cmocka_unit_test(test_zstd_capture),
#endif
#ifdef MFCOLO_HAVE_ZLIB
        cmocka_unit_test(test_zlib_capture),
#endif
    };

    if (argc < 2) {
        fprintf(stderr, "usage: %s CAPTURES_DIR\n", argv[0]);
        return 1;
    }
    captures = argv[1];
    return cmocka_run_group_tests_name("codec/captures", tests, group_setup,
                                       group_teardown);
}
