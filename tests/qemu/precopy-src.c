/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Real QEMU as the source (docs/qemu-tier.md): a real qemu-system-x86_64
 * (TCG, -S, guest memory written over qtest) migrates over multifd into
 * mfcolo-vm -incoming, where core/ receives it, and mfcolo's memory must
 * equal the source's, page for page.
 *
 *   precopy-src COMP CHANNELS [compat]   COMP none|zstd|zlib
 *
 * The binary is the tier's (qt_qemu_binary()).  The source's RAM block
 * list (HMP info ramblock) becomes mfcolo-vm's -block list, in QEMU's
 * order and with QEMU's used lengths; both sides get the same uuid,
 * capability multifd and the channels and compression asked for.  On a
 * QEMU 10.x source the stream has the current shape (zero pages in the
 * multifd packets, one sync per round): zero-page-detection=multifd and
 * -global migration.multifd-flush-after-each-section=off, which
 * pc-i440fx-7.2 would otherwise turn off; "compat" keeps the machine's
 * defaults (the 7.2 shape).  A 7.2 source always sends the 7.2 shape.
 *
 * Guest memory before migrate (seeded): random pages in low memory, a
 * megabyte of random pages, sparse pages with one non-zero byte, pages
 * written and then zeroed, the last page of pc.ram.  Compared after both
 * sides report completed:
 *   pc.ram   page for page: the source's block from its backing file,
 *            mfcolo's over qtest;
 *   pc.bios  the source's guest-physical 0xfffc0000..0xffffffff;
 *   others   (VGA vram and ROM, pc.rom, the ACPI blobs, unreadable on a
 *            -S source) SHA-256 against the recording of the same QEMU
 *            version (tests/data/qemu-VERSION/expected-ramblocks.json).
 * A mismatch names the block, the page and the first differing byte.
 * mfcolo's receiver (sync mode auto) must also have recognised the shape:
 * "round" for the current one, "section" for 7.2's.
 * Every run also checks the oracle itself on its real pages: a byte
 * changed in the source's copy of pc.ram must be reported with its exact
 * page and byte.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "libqtest.h"
#include "oracle.h"
#include "qemu-backend.h"

#define PAGE 4096u
#define MIGRATE_BOUND_MS 20000 /* good runs finish in about a second */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void rng_fill(uint8_t *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        p[i] = (uint8_t)(rng_next() >> 56);
    }
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Write the test's guest memory on the source (guest-physical = pc.ram
 * offset outside 0xa0000..0xfffff). */
static void write_guest(QTestState *src)
{
    uint8_t *buf = malloc(1u << 20);
    uint32_t i;

    if (!buf) {
        qt_fail("out of memory");
    }
    /* 16 random pages in low memory. */
    rng_fill(buf, 16 * PAGE);
    qtest_memwrite(src, 0x10000, buf, 16 * PAGE);
    /* A megabyte of random pages. */
    rng_fill(buf, 1u << 20);
    qtest_memwrite(src, 0x100000, buf, 1u << 20);
    /* 64 sparse pages: one non-zero byte each, at a moving offset. */
    for (i = 0; i < 64; i++) {
        qtest_writeb(src, 0x400000 + i * PAGE + (i * 37u) % PAGE,
                     (uint8_t)(0x80 | i));
    }
    /* 32 pages written, then every other one zeroed again. */
    rng_fill(buf, 32 * PAGE);
    qtest_memwrite(src, 0x600000, buf, 32 * PAGE);
    for (i = 0; i < 32; i += 2) {
        qtest_memset(src, 0x600000 + i * PAGE, 0, PAGE);
    }
    /* The last page of pc.ram, and a page right below the PCI hole. */
    rng_fill(buf, PAGE);
    qtest_memwrite(src, QT_QEMU_RAM_SIZE - PAGE, buf, PAGE);
    qtest_memset(src, 0x1000000, 0x5a, PAGE);
    free(buf);
}

/* query-migrate until @want or failed, bounded; returns the status. */
static const char *wait_status(QTestState *s, const char *want, char *st,
                               size_t size)
{
    double end = now_s() + MIGRATE_BOUND_MS / 1000.0;

    do {
        qtest_migrate_status(s, st, size);
        if (!strcmp(st, want) || !strcmp(st, "failed")) {
            break;
        }
        usleep(10000);
    } while (now_s() < end);
    return st;
}

static void fail_migration(QTestState *src, QTestState *dst, const char *who,
                           const char *st)
{
    json_t *r =
        qtest_qmp(who[0] == 's' ? src : dst, "{'execute': 'query-migrate'}");
    char *t = r ? json_dumps(r, JSON_COMPACT) : NULL;
    char line[512] = "";

    qtest_log_last_line(dst, line, sizeof(line));
    qt_fail("%s migration status '%s' (%s); mfcolo-vm log: %s", who, st,
            t ? t : "no reply", line);
}

/*
 * Compare @len bytes of block @name, page for page.  false with the first
 * mismatch (block, page offset, byte) in @why.
 */
static bool compare_pages(const char *name, const uint8_t *want,
                          const uint8_t *got, size_t len, char *why,
                          size_t why_size)
{
    size_t off, b;

    for (off = 0; off < len; off += PAGE) {
        size_t n = len - off < PAGE ? len - off : PAGE;

        if (memcmp(want + off, got + off, n) == 0) {
            continue;
        }
        for (b = 0; want[off + b] == got[off + b]; b++) {
        }
        snprintf(
            why, why_size,
            "block %.64s page 0x%zx byte %zu: source 0x%02x, mfcolo 0x%02x",
            name, off, b, want[off + b], got[off + b]);
        return false;
    }
    return true;
}

/*
 * The oracle itself, on the real pages of this run: the source's pc.ram
 * with one byte changed must be reported with that exact page and byte.
 */
static void check_planted(const uint8_t *want, const uint8_t *got, size_t len)
{
    static const size_t at = 0x100000 + 5 * PAGE + 123;
    uint8_t *copy = malloc(len);
    char why[256], exp[256];

    if (!copy) {
        qt_fail("out of memory");
    }
    if (len <= at) {
        qt_fail("planted: pc.ram is 0x%zx bytes, the plant is at 0x%zx", len,
                at);
    }
    memcpy(copy, want, len);
    copy[at] ^= 0x40;
    snprintf(exp, sizeof(exp),
             "block pc.ram page 0x105000 byte 123: source 0x%02x, mfcolo "
             "0x%02x",
             copy[at], got[at]);
    if (compare_pages("pc.ram", copy, got, len, why, sizeof(why))) {
        qt_fail("planted: a changed byte at 0x%zx went unnoticed", at);
    }
    if (strcmp(why, exp)) {
        qt_fail("planted: reported '%s', expected '%s'", why, exp);
    }
    printf("# planted: the oracle reports '%s'\n", why);
    free(copy);
}

/*
 * The sync mode mfcolo's receiver settled on (auto decides at the first
 * EOS), from mfcolo-vm's line "incoming ended: sync mode MODE, ...".
 */
static void check_sync_mode(QTestState *dst, const char *want)
{
    FILE *f = fopen(qtest_log_path(dst), "r");
    char line[512], mode[32] = "";
    const char *p;

    if (!f) {
        qt_fail("cannot read mfcolo-vm's log %s", qtest_log_path(dst));
    }
    while (fgets(line, sizeof(line), f)) {
        p = strstr(line, "incoming ended: sync mode ");
        if (p && sscanf(p + 26, "%31[a-z]", mode) == 1) {
            break;
        }
    }
    fclose(f);
    if (strcmp(mode, want)) {
        qt_fail("mfcolo received the stream with sync mode '%s', expected "
                "'%s' for this shape",
                mode, want);
    }
    printf("# mfcolo's sync mode: %s\n", mode);
}

/* The SHA-256 of block @name in the recording of this QEMU version. */
static const char *recorded_sha(json_t *exp, const char *name)
{
    json_t *b = json_object_get(json_object_get(exp, "ramblocks"), name);

    return json_string_value(json_object_get(b, "sha256"));
}

int main(int argc, char **argv)
{
    const char *root = getenv("MFCOLO_DATA_ROOT");
    const char *comp = argc >= 3 ? argv[1] : NULL;
    int channels = argc >= 3 ? atoi(argv[2]) : 0;
    bool compat = argc == 4 && !strcmp(argv[3], "compat");
    const char *bin, *from, *rec;
    char vline[160], why[512], path[4096], st[64];
    QTestRamBlock blocks[QT_MAX_RAMBLOCKS];
    QTestOpts so = { 0 };
    QTestState *src, *dst;
    const QTestVersion *ver;
    json_t *exp;
    json_error_t jerr;
    uint64_t base = 0;
    uint8_t *want, *got;
    double t0, t_mig;
    bool current;
    int n, i, port;

    if (!comp || channels < 1 || channels > 255 ||
        (strcmp(comp, "none") && strcmp(comp, "zstd") &&
         strcmp(comp, "zlib")) ||
        (argc == 4 && !compat) || argc > 4) {
        fprintf(stderr, "usage: %s none|zstd|zlib CHANNELS [compat]\n",
                argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    qt_set_seed(0x5eed0000u + (uint64_t)channels * 16 + (uint64_t)comp[1],
                argv[1]);
    rng_state = qt_seed() | 1;
    if (!root) {
        qt_fail("MFCOLO_DATA_ROOT is not set (the recordings' root)");
    }
    bin = qt_qemu_binary(&from);
    if (!qt_qemu_probe(bin, qt_timeout_ms(), vline, sizeof(vline), why,
                       sizeof(why))) {
        qt_fail("the QEMU under test (%s, from %s): %s", bin, from, why);
    }

    /* The source: a real QEMU, paused. */
    so.backend = QT_BACKEND_QEMU;
    so.binary = bin;
    src = qtest_start_opts("source", &so);
    ver = qtest_version(src);
    qtest_version_print(src, stdout);
    if (ver->major == 7 && ver->minor == 2) {
        rec = "qemu-7.2";
        current = false;
    } else if (ver->major == 10 && ver->minor == 0) {
        rec = "qemu-10.0.2";
        current = !compat;
    } else {
        qt_fail("no recording for QEMU %d.%d.%d (%s): tests/data has 7.2 and "
                "10.0.2",
                ver->major, ver->minor, ver->micro, ver->line);
    }
    if (current) {
        /* The global must be set before the migration object is used. */
        qtest_quit(src);
        so.args = "-global migration.multifd-flush-after-each-section=off";
        src = qtest_start_opts("source", &so);
    }
    printf("# shape: %s, %s, %d channel(s)\n",
           current ? "current (zero pages in packets, sync per round)"
                   : "7.2 (sync per section, zero pages on main)",
           comp, channels);

    /* mfcolo-vm with the source's RAM blocks. */
    n = qtest_ramblocks(src, blocks, QT_MAX_RAMBLOCKS);
    dst = qtest_start_vm_for(src, "mfcolo");

    write_guest(src);

    qtest_qmp_assert_success(src, "{'execute': 'migrate-set-capabilities', "
                                  "'arguments': {'capabilities': [{"
                                  "'capability': 'multifd', 'state': true}]}}");
    qtest_qmp_assert_success(dst, "{'execute': 'migrate-set-capabilities', "
                                  "'arguments': {'capabilities': [{"
                                  "'capability': 'multifd', 'state': true}]}}");
    qtest_qmp_assert_success(src,
                             "{'execute': 'migrate-set-parameters', "
                             "'arguments': {'multifd-channels': %d, "
                             "'multifd-compression': '%s'}}",
                             channels, comp);
    if (current) {
        qtest_qmp_assert_success(src, "{'execute': 'migrate-set-parameters', "
                                      "'arguments': {'zero-page-detection': "
                                      "'multifd'}}");
    }
    qtest_qmp_assert_success(dst,
                             "{'execute': 'migrate-set-parameters', "
                             "'arguments': {'multifd-channels': %d, "
                             "'multifd-compression': '%s'}}",
                             channels, comp);
    port = qtest_migrate_incoming_port(dst);

    t0 = now_s();
    qtest_qmp_assert_success(src,
                             "{'execute': 'migrate', 'arguments': {'uri': "
                             "'tcp:127.0.0.1:%d'}}",
                             port);
    if (strcmp(wait_status(src, "completed", st, sizeof(st)), "completed")) {
        fail_migration(src, dst, "source", st);
    }
    if (strcmp(wait_status(dst, "completed", st, sizeof(st)), "completed")) {
        fail_migration(src, dst, "mfcolo", st);
    }
    t_mig = now_s() - t0;
    check_sync_mode(dst, current ? "round" : "section");

    /* Every block of mfcolo against the source (or its recording). */
    snprintf(path, sizeof(path), "%s/%s/expected-ramblocks.json", root, rec);
    exp = json_load_file(path, 0, &jerr);
    if (!exp) {
        qt_fail("%s: %s", path, jerr.text);
    }
    for (i = 0; i < n; i++) {
        const QTestRamBlock *b = &blocks[i];
        size_t blen = (size_t)b->used;

        got = malloc(blen);
        want = malloc(blen);
        if (!got || !want) {
            qt_fail("out of memory");
        }
        qtest_memread(dst, base, got, blen);
        if (!strcmp(b->name, "pc.ram")) {
            if (!qtest_ram_read(src, 0, want, blen)) {
                qt_fail("reading the source's pc.ram file %s failed",
                        qtest_ram_path(src));
            }
            if (!compare_pages(b->name, want, got, blen, why, sizeof(why))) {
                qt_fail("%s", why);
            }
            check_planted(want, got, blen);
            printf("# %s: %zu bytes equal to the source, page for page\n",
                   b->name, blen);
        } else if (!strcmp(b->name, "pc.bios")) {
            qtest_memread(src, 0x100000000ull - blen, want, blen);
            if (!compare_pages(b->name, want, got, blen, why, sizeof(why))) {
                qt_fail("%s", why);
            }
            printf("# %s: %zu bytes equal to the source, page for page\n",
                   b->name, blen);
        } else {
            const char *sha = recorded_sha(exp, b->name);
            char hex[65];

            if (!sha) {
                qt_fail("block %s is not in %s", b->name, path);
            }
            oracle_sha256_hex(got, blen, hex);
            if (strcmp(hex, sha)) {
                qt_fail("block %s: SHA-256 %s, the %s recording has %s",
                        b->name, hex, rec, sha);
            }
            printf("# %s: SHA-256 equal to the %s recording\n", b->name, rec);
        }
        base += b->used;
        free(got);
        free(want);
    }
    json_decref(exp);
    printf("# migration: %.3f s (both sides completed)\n", t_mig);
    qtest_quit(dst);
    qtest_quit(src);
    printf("ok: %s %s x %d: %d blocks equal\n", vline, comp, channels, n);
    return 0;
}
