/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conformance of core/wire with real QEMU 7.2 multifd streams.
 *
 * argv[1] is the captures root (tests/data).  Every multifd channel
 * file qemu-7.2/<run>/conn-[1-9].bin (and qemu-7.2-colo/<run>/conn-[1-9]
 * .bin where present) is walked: handshake, then packet headers and their
 * payloads.  Each header must decode without error, re-encoding the
 * decoded fields must reproduce the handshake, the packet's first 64 bytes
 * and its used offsets exactly (and, for packets with pages, the whole
 * header once the stale offset slots are supplied), the walk must end
 * exactly at the end of the file, and every packet must match the entry
 * of the run's packets.json.  A missing captures directory is a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "base/be.h"
#include "wire/errors.h"
#include "wire/multifd.h"

#define PS WIRE_DEFAULT_PAGE_SIZE
#define NPAGES 128
#define PKT_SIZE 1344
#define MAX_ENTRIES 4096

typedef struct JsonPacket {
    char file[32];
    uint64_t stream_off;
    uint64_t packet_num;
    uint32_t flags;
    uint32_t pages_alloc;
    uint32_t normal_pages;
    uint32_t next_packet_size;
    char ramblock[WIRE_RAMBLOCK_NAME_SIZE];
    uint32_t n_offsets;
    uint64_t offsets[NPAGES];
    bool matched;
} JsonPacket;

typedef struct Totals {
    unsigned files;
    unsigned packets;
    unsigned with_pages;
    unsigned sync;
    unsigned json_checked;
} Totals;

static const char *captures_root;
static JsonPacket *json;
static unsigned json_count;

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    uint8_t *data;

    if (!f) {
        return NULL;
    }
    assert_int_equal(fstat(fileno(f), &st), 0);
    *size = (size_t)st.st_size;
    data = malloc(*size + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, *size, f), *size);
    data[*size] = 0;
    fclose(f);
    return data;
}

static uint64_t json_u64(const char *from, const char *to, const char *key)
{
    const char *p = strstr(from, key);

    assert_non_null(p);
    assert_true(p < to);
    return strtoull(p + strlen(key), NULL, 0);
}

/* Read the fields this test compares from a packets.json (fixed shape). */
static void json_load(const char *dir)
{
    static const char key[] = "\"chan_file\": \"";
    char path[4096];
    size_t size;
    char *text;
    char *p;

    json_count = 0;
    snprintf(path, sizeof(path), "%s/packets.json", dir);
    text = (char *)read_file(path, &size);
    if (!text) {
        return;
    }
    p = strstr(text, key);
    while (p) {
        char *next = strstr(p + 1, key);
        char *end = next ? next : text + size;
        JsonPacket *e;
        char *q;
        char *r;

        assert_true(json_count < MAX_ENTRIES);
        e = &json[json_count++];
        memset(e, 0, sizeof(*e));
        q = p + strlen(key);
        r = strchr(q, '"');
        assert_true(r - q < (long)sizeof(e->file));
        memcpy(e->file, q, (size_t)(r - q));
        e->stream_off = json_u64(p, end, "\"stream_off\": ");
        e->packet_num = json_u64(p, end, "\"packet_num\": ");
        e->flags = (uint32_t)json_u64(p, end, "\"flags\": ");
        e->pages_alloc = (uint32_t)json_u64(p, end, "\"pages_alloc\": ");
        e->normal_pages = (uint32_t)json_u64(p, end, "\"normal_pages\": ");
        e->next_packet_size =
            (uint32_t)json_u64(p, end, "\"next_packet_size\": ");
        q = strstr(p, "\"ramblock\": \"");
        assert_true(q && q < end);
        q += strlen("\"ramblock\": \"");
        r = strchr(q, '"');
        assert_true(r - q < WIRE_RAMBLOCK_NAME_SIZE);
        memcpy(e->ramblock, q, (size_t)(r - q));
        q = strstr(p, "\"offsets\": [");
        assert_true(q && q < end);
        q += strlen("\"offsets\": [");
        while (*q != ']') {
            if (*q == '"') {
                assert_true(e->n_offsets < NPAGES);
                e->offsets[e->n_offsets++] = strtoull(q + 1, &r, 16);
                q = strchr(r, '"');
            }
            q++;
        }
        p = next;
    }
    free(text);
}

static void json_check(const char *file, uint64_t off, const WirePacket *pkt,
                       Totals *t)
{
    unsigned i;
    uint32_t k;

    if (json_count == 0) {
        return;
    }
    for (i = 0; i < json_count; i++) {
        JsonPacket *e = &json[i];

        if (strcmp(e->file, file) != 0 || e->stream_off != off) {
            continue;
        }
        assert_false(e->matched);
        e->matched = true;
        assert_int_equal(e->flags, pkt->flags);
        assert_int_equal(e->pages_alloc, pkt->pages_alloc);
        assert_int_equal(e->normal_pages, pkt->normal_pages);
        assert_int_equal(e->next_packet_size, pkt->next_packet_size);
        assert_int_equal(e->packet_num, pkt->packet_num);
        if (pkt->normal_pages > 0) {
            assert_string_equal(e->ramblock, pkt->ramblock);
            assert_int_equal(e->n_offsets, pkt->normal_pages);
            for (k = 0; k < e->n_offsets; k++) {
                assert_int_equal(e->offsets[k], pkt->offsets[k]);
            }
        } else {
            assert_int_equal(e->n_offsets, 0);
        }
        t->json_checked++;
        return;
    }
    fail_msg("%s offset %llu: packet not in packets.json", file,
             (unsigned long long)off);
}

/* Walk one multifd channel file; every check failing is fatal. */
static void walk_channel(const char *path, const char *file, Totals *t)
{
    uint8_t again[PKT_SIZE];
    uint64_t offs[NPAGES];
    uint64_t stale[NPAGES];
    WireHandshake hs;
    WirePacket pkt;
    MfError err;
    size_t size;
    size_t off;
    uint8_t *data = read_file(path, &size);
    uint32_t i;

    assert_non_null(data);
    assert_true(size >= WIRE_HANDSHAKE_SIZE);
    mf_error_clear(&err);
    assert_true(wire_handshake_decode(data, &hs, &err));
    wire_handshake_encode(&hs, again);
    assert_memory_equal(again, data, WIRE_HANDSHAKE_SIZE);
    off = WIRE_HANDSHAKE_SIZE;
    while (off < size) {
        uint32_t used;
        uint8_t *b = data + off;

        if (size - off < PKT_SIZE) {
            fail_msg("%s: %zu trailing bytes at %zu, short of a packet", path,
                     size - off, off);
        }
        memset(&pkt, 0, sizeof(pkt));
        pkt.offsets = offs;
        if (!wire_packet_decode(b, PS, &pkt, &err)) {
            fail_msg("%s offset %zu: %s (%s)", path, off + err.offset, err.msg,
                     err.code_name);
        }
        used = wire_packet_pages(&pkt);
        wire_packet_encode(&pkt, PS, NULL, again);
        assert_memory_equal(again, b, 64);
        assert_memory_equal(again + 320, b + 320, 8 * (size_t)used);
        if (used > 0) {
            /* with the stale slots supplied, the whole header is exact */
            for (i = 0; i < NPAGES; i++) {
                stale[i] = mf_be64_load(b + 320 + 8 * i);
            }
            wire_packet_encode(&pkt, PS, stale, again);
            assert_memory_equal(again, b, PKT_SIZE);
            t->with_pages++;
        }
        if (pkt.flags & WIRE_FLAG_SYNC) {
            t->sync++;
        }
        json_check(file, off, &pkt, t);
        t->packets++;
        off += PKT_SIZE;
        if (pkt.normal_pages > 0) {
            if ((pkt.flags & WIRE_FLAG_COMPRESSION_MASK) == WIRE_COMP_NONE) {
                off += (size_t)pkt.normal_pages * PS;
            } else {
                off += pkt.next_packet_size;
            }
        }
    }
    assert_int_equal(off, size);
    t->files++;
    free(data);
}

/* Walk every run folder of @set; returns the number of channel files. */
static unsigned walk_set(const char *set, Totals *t)
{
    char dir[1024];
    char path[3072];
    char file[16];
    struct dirent *de;
    DIR *d;
    unsigned before = t->files;
    unsigned i;
    int n;

    snprintf(dir, sizeof(dir), "%s/%s", captures_root, set);
    d = opendir(dir);
    if (!d) {
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        char run[2048];

        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(run, sizeof(run), "%s/%s", dir, de->d_name);
        json_load(run);
        for (n = 1; n <= 9; n++) {
            struct stat st;

            snprintf(file, sizeof(file), "conn-%d.bin", n);
            snprintf(path, sizeof(path), "%s/%s", run, file);
            if (stat(path, &st) == 0) {
                walk_channel(path, file, t);
            }
        }
        for (i = 0; i < json_count; i++) {
            if (!json[i].matched) {
                fail_msg("%s: packets.json entry %s@%llu never seen", run,
                         json[i].file, (unsigned long long)json[i].stream_off);
            }
        }
    }
    closedir(d);
    return t->files - before;
}

static void test_qemu72_multifd(void **state)
{
    Totals t = { 0 };

    (void)state;
    /* nocomp-2ch, zstd-2ch, zlib-2ch: two channels each */
    assert_true(walk_set("qemu-7.2", &t) >= 6);
    assert_true(t.packets >= 54);
    assert_int_equal(t.json_checked, t.packets);
    assert_true(t.with_pages > 0);
    assert_true(t.sync >= 18);
    print_message("qemu-7.2: %u files, %u packets (%u with pages, %u SYNC), "
                  "%u matched packets.json\n",
                  t.files, t.packets, t.with_pages, t.sync, t.json_checked);
}

static void test_qemu72_colo_multifd(void **state)
{
    Totals t = { 0 };

    (void)state;
    /* kvm-multifd2: COLO checkpoint 0 over two multifd channels */
    assert_true(walk_set("qemu-7.2-colo", &t) >= 2);
    assert_true(t.packets > 0);
    print_message("qemu-7.2-colo: %u files, %u packets (%u with pages, "
                  "%u SYNC)\n",
                  t.files, t.packets, t.with_pages, t.sync);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu72_multifd),
        cmocka_unit_test(test_qemu72_colo_multifd),
    };
    struct stat st;
    int rc;

    if (argc < 2 || stat(argv[1], &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "test-captures: captures directory %s missing\n",
                argc < 2 ? "(none given)" : argv[1]);
        return 1;
    }
    captures_root = argv[1];
    json = calloc(MAX_ENTRIES, sizeof(*json));
    if (!json) {
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(json);
    return rc;
}
