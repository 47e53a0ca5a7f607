/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Real QEMU as the destination (docs/qemu-tier.md): the test primary
 * (tests/support/primary.h) migrates into a real qemu-system-x86_64
 * started with -incoming defer, and the destination's memory must equal
 * what was sent, page for page.
 *
 *   precopy-dst COMP CHANNELS   one migration (COMP none|zstd|zlib)
 *   precopy-dst planted         one migration, then the oracle must name
 *                               a byte flipped in the expected image
 *
 * The binary is the tier's (qt_qemu_binary()); its version picks the
 * stream shape and the recording that supplies the RAM block list and
 * the device sections (recording.h):
 *   7.2    PRIMARY_QEMU_7_2 (per-section sync, zero pages as ZERO
 *          records on main), tests/data/qemu-7.2/nocomp-2ch/conn-0.bin
 *   10.0   PRIMARY_QEMU_9 (per-round sync, zero pages in the packets),
 *          tests/data/qemu-10.0.2/nocomp-2ch/conn-0.bin; the destination
 *          gets -global migration.multifd-flush-after-each-section=off
 *          and zero-page-detection=multifd (on pc-i440fx-7.2 10.0.2
 *          would otherwise expect the 7.2 shape, see that README).
 * Any other version fails with the reason.
 *
 * Guest memory is chosen by the test over three passes (SECTION_START,
 * two rounds, SECTION_END): whole random pages in every block, the last
 * page of every block, pages zeroed after being sent as data, pages
 * written between rounds.  Read back: pc.ram from its backing file;
 * pc.bios at the top of 4 GiB and its last 128 KiB at 0xe0000; pc.rom at
 * 0xc0000; the VGA vram and ROM after programming the device's BARs
 * over port I/O (guest-physical reads over qtest).  The ACPI blobs
 * (/rom@etc/...) are mapped nowhere and are not compared.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "libqtest.h"
#include "oracle.h"
#include "primary.h"
#include "qemu-backend.h"
#include "recording.h"
#include "sender.h"
#include "workload.h"

#define PAGE 4096u
#define MIGRATE_BOUND_MS 10000 /* good runs finish in well under 1 s */

typedef struct DstShape {
    int major, minor;
    PrimaryStyle style;
    const char *recording; /* under the data root */
    const char *args;      /* extra destination arguments */
    bool zero_multifd;     /* zero-page-detection=multifd */
} DstShape;

static const DstShape shapes[] = {
    { 7, 2, PRIMARY_QEMU_7_2, "qemu-7.2/nocomp-2ch/conn-0.bin", NULL, false },
    { 10, 0, PRIMARY_QEMU_9, "qemu-10.0.2/nocomp-2ch/conn-0.bin",
      "-global migration.multifd-flush-after-each-section=off", true },
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* "QEMU emulator version 7.2.22 (Debian ...)" -> 7, 2. */
static const DstShape *shape_for(const char *line)
{
    const char *v = strstr(line, "version ");
    int major = 0, minor = 0;

    if (!v || sscanf(v + 8, "%d.%d", &major, &minor) != 2) {
        qt_fail("cannot read a version in '%s'", line);
    }
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        if (shapes[i].major == major && shapes[i].minor == minor) {
            return &shapes[i];
        }
    }
    qt_fail("no recording of QEMU %d.%d in the data root (7.2: "
            "qemu-7.2, 10.0: qemu-10.0.2): cannot build a stream its "
            "destination accepts ('%s')",
            major, minor, line);
}

static WireCompression comp_of(const char *name)
{
    if (!strcmp(name, "none")) {
        return WIRE_COMP_NONE;
    }
    if (!strcmp(name, "zstd")) {
        return WIRE_COMP_ZSTD;
    }
    if (!strcmp(name, "zlib")) {
        return WIRE_COMP_ZLIB;
    }
    qt_fail("unknown compression '%s'", name);
}

/* The destination's blocks must be the recording's, in its order. */
static void check_ramblocks(QTestState *s, const MemImage *layout)
{
    QTestRamBlock b[QT_MAX_RAMBLOCKS];
    int n = qtest_ramblocks(s, b, QT_MAX_RAMBLOCKS);

    for (size_t i = 0; i < layout->nblocks; i++) {
        const QTestRamBlock *q =
            qtest_ramblock_find(b, n, layout->blocks[i].name);

        if (!q) {
            qt_fail("the recording lists block %s (%" PRIu64 " bytes); the "
                    "destination has no such block",
                    layout->blocks[i].name, layout->blocks[i].size);
        }
        if (q->used != layout->blocks[i].size) {
            qt_fail("the recording lists block %s with %" PRIu64 " bytes; "
                    "the destination's has %" PRIu64,
                    layout->blocks[i].name, layout->blocks[i].size, q->used);
        }
    }
    if ((size_t)n != layout->nblocks) {
        qt_fail("the destination has %d RAM blocks, the recording %zu", n,
                layout->nblocks);
    }
}

/* Pick a page uniformly over all pages of every block. */
static void pick_page(const MemImage *img, SupRng *rng, size_t *block,
                      uint64_t *page)
{
    uint64_t total = 0;
    uint64_t k;

    for (size_t i = 0; i < img->nblocks; i++) {
        total += img->blocks[i].npages;
    }
    k = sup_rng_below(rng, total);
    for (*block = 0; k >= img->blocks[*block].npages; (*block)++) {
        k -= img->blocks[*block].npages;
    }
    *page = k;
}

/* Contents before the first pass: random pages everywhere, last pages. */
static void content_initial(MemImage *img, SupRng *rng)
{
    for (size_t b = 0; b < img->nblocks; b++) {
        uint64_t n = img->blocks[b].npages;
        uint64_t want = n / 8 < 600 ? (n + 7) / 8 : 600;

        for (uint64_t i = 0; i < want; i++) {
            workload_fill_page(img, rng, b, sup_rng_below(rng, n), NULL);
        }
    }
    workload_last_pages(img, rng, NULL);
}

/* Between passes: data pages become zero, new pages get data. */
static uint64_t content_change(Primary *p, SupRng *rng, uint64_t zero,
                               uint64_t fill)
{
    MemImage *img = primary_memory(p);
    uint64_t z = workload_zero_nonzero(img, rng, zero, primary_dirty(p));

    for (uint64_t i = 0; i < fill; i++) {
        size_t b;
        uint64_t pg;

        pick_page(img, rng, &b, &pg);
        workload_fill_page(img, rng, b, pg, primary_dirty(p));
    }
    workload_random(img, rng, fill / 2, 30, primary_dirty(p));
    return z;
}

/* query-migrate's status, bounded; "" when QMP does not answer. */
static void migrate_status(QTestState *s, int timeout_ms, char *buf,
                           size_t size, char *desc, size_t desc_size)
{
    json_t *r =
        qtest_qmp_timeout(s, timeout_ms, "{'execute': 'query-migrate'}");
    json_t *ret = r ? json_object_get(r, "return") : NULL;
    const char *st =
        ret ? json_string_value(json_object_get(ret, "status")) : NULL;
    const char *err =
        ret ? json_string_value(json_object_get(ret, "error-desc")) : NULL;

    snprintf(buf, size, "%s", st ? st : "");
    snprintf(desc, desc_size, "%s", err ? err : "");
    json_decref(r);
}

/* Send every connection of @p into @port; wait until completed. */
static void migrate(QTestState *s, const Primary *p, int port, bool main_first)
{
    size_t n = primary_nconns(p);
    SenderConn *conns = calloc(n, sizeof(*conns));
    SenderResult *res = calloc(n, sizeof(*res));
    SenderOptions opts = { 0 };
    Sender *snd;
    double deadline = now_ms() + MIGRATE_BOUND_MS;
    char status[64] = "";
    char desc[512] = "";

    qt_assert(conns && res);
    /*
     * 7.2 takes the first connection it accepts as the main channel: one
     * QMP round trip after connecting it (QEMU's main loop has run, the
     * listener accepted it), then the multifd channels.  Not on 10.0:
     * it tells the channels apart by their first bytes, and it waits for
     * them in its main loop, so QMP does not answer while a connection
     * has sent nothing.
     */
    for (size_t i = 0; i < n; i++) {
        conns[i].fd = qtest_connect_port(port);
        conns[i].stop_at = UINT64_MAX;
        conns[i].at_end = SENDER_SHUTDOWN;
        if (i == 0 && main_first) {
            json_decref(qtest_qmp_ok(s, "{'execute': 'query-status'}"));
        }
    }
    snd = sender_start(p, conns, &opts);
    while (now_ms() < deadline) {
        int left = (int)(deadline - now_ms());

        migrate_status(s, left > 0 ? left : 1, status, sizeof(status), desc,
                       sizeof(desc));
        if (!strcmp(status, "completed") || !strcmp(status, "failed") ||
            !qtest_alive(s)) {
            break;
        }
        usleep(5000);
    }
    if (strcmp(status, "completed") != 0) {
        char last[512] = "";

        sender_abort(snd);
        sender_join(snd, res);
        qtest_log_last_line(s, last, sizeof(last));
        qt_fail("migration did not complete within %d ms: status '%s'%s%s, "
                "QEMU %s, its last message: %s",
                MIGRATE_BOUND_MS, status[0] ? status : "(no QMP answer)",
                desc[0] ? ", " : "", desc, qtest_alive(s) ? "alive" : "gone",
                last[0] ? last : "none");
    }
    sender_join(snd, res);
    for (size_t i = 0; i < n; i++) {
        const SupBuf *b = &primary_conn(p, i)->buf;

        if (res[i].err || res[i].written != b->len) {
            qt_fail("connection %zu: %" PRIu64 " of %zu bytes written (%s)", i,
                    res[i].written, b->len, strerror(res[i].err));
        }
        close(conns[i].fd);
    }
    free(conns);
    free(res);
}

static void pio(QTestState *s, const char *fmt, uint32_t port, uint32_t v)
{
    char line[80];
    char *r;

    snprintf(line, sizeof(line), fmt, port, v);
    r = qtest_raw(s, line);
    if (strcmp(r, "OK") != 0) {
        qt_fail("qtest '%s' answered '%s'", line, r);
    }
    free(r);
}

/* Map BAR 0 at @bar0 and the ROM BAR at @rom of PCI function @dev. */
static void pci_map_vga(QTestState *s, const char *dev, uint32_t bar0,
                        uint32_t rom)
{
    unsigned dom, bus, slot, fn;
    uint32_t cfg;

    if (sscanf(dev, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4) {
        qt_fail("cannot read a PCI address in block name '%s'", dev);
    }
    cfg = 0x80000000u | bus << 16 | slot << 11 | fn << 8;
    pio(s, "outl 0x%x 0x%x", 0xcf8, cfg | 0x10);
    pio(s, "outl 0x%x 0x%x", 0xcfc, bar0);
    pio(s, "outl 0x%x 0x%x", 0xcf8, cfg | 0x30);
    pio(s, "outl 0x%x 0x%x", 0xcfc, rom | 1);
    pio(s, "outl 0x%x 0x%x", 0xcf8, cfg | 0x04);
    pio(s, "outw 0x%x 0x%x", 0xcfc, 0x0002); /* memory space on */
}

/* One region read back: block bytes [off, off + len) at @gpa (or file). */
typedef struct Region {
    size_t block;
    uint64_t off;
    uint64_t len;
    uint64_t gpa; /* UINT64_MAX: pc.ram's backing file */
} Region;

#define VGA_BAR0 0xfd000000u
#define VGA_ROM 0xfebc0000u

/* The regions QEMU lets the test read; the rest is listed in @skipped. */
static size_t plan_regions(QTestState *s, const MemImage *img, Region *r,
                           char *skipped, size_t skipped_size)
{
    size_t n = 0;
    bool vga_mapped = false;

    skipped[0] = '\0';
    for (size_t b = 0; b < img->nblocks; b++) {
        const MemBlock *mb = &img->blocks[b];
        const char *slash = strrchr(mb->name, '/');
        const char *base = slash ? slash + 1 : mb->name;

        if (!strcmp(mb->name, "pc.ram")) {
            r[n++] = (Region){ b, 0, mb->size, UINT64_MAX };
        } else if (!strcmp(mb->name, "pc.bios")) {
            uint64_t isa = mb->size < 0x20000 ? mb->size : 0x20000;

            r[n++] = (Region){ b, 0, mb->size, 0x100000000ull - mb->size };
            r[n++] = (Region){ b, mb->size - isa, isa, 0x100000 - isa };
        } else if (!strcmp(mb->name, "pc.rom")) {
            r[n++] = (Region){ b, 0, mb->size, 0xc0000 };
        } else if (slash && mb->name[0] != '/' &&
                   (!strcmp(base, "vga.vram") || !strcmp(base, "vga.rom"))) {
            if (!vga_mapped) {
                pci_map_vga(s, mb->name, VGA_BAR0, VGA_ROM);
                vga_mapped = true;
            }
            r[n++] = (Region){ b, 0, mb->size,
                               !strcmp(base, "vga.vram") ? VGA_BAR0 : VGA_ROM };
        } else {
            size_t used = strlen(skipped);

            snprintf(skipped + used, skipped_size - used, "%s%s",
                     used ? ", " : "", mb->name);
        }
    }
    return n;
}

static void read_region(QTestState *s, const Region *r, uint8_t *buf)
{
    if (r->gpa == UINT64_MAX) {
        if (!qtest_ram_read(s, r->off, buf, r->len)) {
            qt_fail("reading pc.ram's file %s: %s", qtest_ram_path(s),
                    strerror(errno));
        }
    } else {
        qtest_memread(s, r->gpa, buf, r->len);
    }
}

typedef struct RunResult {
    double gen_ms, migrate_ms, read_ms;
    uint64_t pages, zero_pages, zeroed_later, bytes;
    size_t regions;
    uint64_t compared;
} RunResult;

/* Every readable region equals @want; fails with the first mismatch. */
static void compare_all(QTestState *s, const MemImage *want, const Region *r,
                        size_t nr, RunResult *rr)
{
    char first[256] = "";
    size_t bad = 0;

    for (size_t i = 0; i < nr; i++) {
        const MemBlock *mb = &want->blocks[r[i].block];
        uint8_t *got = malloc(r[i].len);
        OracleDiff d;

        qt_assert(got);
        read_region(s, &r[i], got);
        if (!oracle_block_range_equal(mb->name, r[i].off, mb->data + r[i].off,
                                      got, r[i].len, want->page_size, &d)) {
            qt_log("mismatch (%s): %s",
                   r[i].gpa == UINT64_MAX ? "pc.ram file" : "qtest", d.msg);
            if (!bad++) {
                snprintf(first, sizeof(first), "%s", d.msg);
            }
        }
        rr->compared += r[i].len;
        free(got);
    }
    if (bad) {
        qt_fail("%zu of %zu regions differ; first: %s", bad, nr, first);
    }
}

/*
 * The oracle on real read-back bytes: a byte flipped in the expected
 * image of @block at page @page, byte @byte must be reported exactly.
 */
static void planted(QTestState *s, const MemImage *want, const Region *r,
                    size_t nr, const char *block, uint64_t page_off,
                    uint32_t byte)
{
    for (size_t i = 0; i < nr; i++) {
        const MemBlock *mb = &want->blocks[r[i].block];
        uint64_t at = page_off + byte;
        uint8_t *exp;
        uint8_t *got;
        OracleDiff d;
        char msg[256];

        if (strcmp(mb->name, block) != 0 || at < r[i].off ||
            at >= r[i].off + r[i].len) {
            continue;
        }
        exp = malloc(r[i].len);
        got = malloc(r[i].len);
        qt_assert(exp && got);
        memcpy(exp, mb->data + r[i].off, r[i].len);
        exp[at - r[i].off] ^= 0x5a;
        read_region(s, &r[i], got);
        qt_check(!oracle_block_range_equal(block, r[i].off, exp, got, r[i].len,
                                           want->page_size, &d),
                 "planted: a flipped byte of %s was not reported", block);
        snprintf(msg, sizeof(msg),
                 "block %s page %" PRIu64 " (offset 0x%" PRIx64
                 "): first difference at byte 0x%x of the page: "
                 "expected 0x%02x, got 0x%02x",
                 block, page_off / want->page_size, page_off, byte,
                 (uint8_t)(mb->data[at] ^ 0x5a), mb->data[at]);
        qt_check(!strcmp(d.msg, msg), "planted: oracle said '%s', want '%s'",
                 d.msg, msg);
        qt_log("planted (%s): %s",
               r[i].gpa == UINT64_MAX ? "pc.ram file" : "qtest", d.msg);
        free(exp);
        free(got);
        return;
    }
    qt_fail("planted: no readable region holds %s offset 0x%" PRIx64, block,
            page_off + byte);
}

int main(int argc, char **argv)
{
    const char *root = getenv("MFCOLO_DATA_ROOT");
    bool plant = argc == 2 && !strcmp(argv[1], "planted");
    const char *comp_name = plant ? "zstd" : (argc == 3 ? argv[1] : NULL);
    uint32_t channels = plant ? 2 : (argc == 3 ? (uint32_t)atoi(argv[2]) : 0);
    const char *bin;
    const char *src;
    char vline[160], why[512], path[4096], skipped[512];
    const DstShape *sh;
    RecordedMain rec;
    QTestOpts o = { 0 };
    QTestState *s;
    PrimaryConfig cfg;
    Primary *p;
    SupRng rng;
    Region regions[16];
    size_t nr;
    RunResult rr = { 0 };
    double t0;
    int port;

    if (!comp_name || channels < 1 || channels > 64) {
        fprintf(stderr, "usage: %s none|zstd|zlib CHANNELS | planted\n",
                argv[0]);
        return 2;
    }
    qt_set_seed(channels * 10 + (uint64_t)comp_of(comp_name), argv[1]);
    if (!root) {
        qt_fail("MFCOLO_DATA_ROOT is not set (the recordings' root)");
    }
    bin = qt_qemu_binary(&src);
    if (!qt_qemu_probe(bin, qt_timeout_ms(), vline, sizeof(vline), why,
                       sizeof(why))) {
        qt_fail("the QEMU under test (%s, from %s): %s", bin, src, why);
    }
    sh = shape_for(vline);
    snprintf(path, sizeof(path), "%s/%s", root, sh->recording);
    if (!recorded_main_load(path, PAGE, &rec, why, sizeof(why))) {
        qt_fail("recording: %s", why);
    }

    /* The stream: generated before QEMU starts. */
    t0 = now_ms();
    primary_config_init(&cfg, sh->style, channels, comp_of(comp_name));
    cfg.colo = false;
    cfg.seed = qt_seed();
    cfg.machine = rec.machine;
    cfg.ram_section_id = rec.ram_section_id;
    cfg.device_tail = rec.tail;
    cfg.device_tail_len = rec.tail_len;
    cfg.device_tail_eof = rec.tail_eof;
    cfg.keep_images = false; /* the live memory is the expected image */
    p = primary_new(&cfg, rec.layout);
    sup_rng_seed(&rng, cfg.seed * 31 + 7);
    content_initial(primary_memory(p), &rng);
    primary_precopy_begin(p);
    primary_precopy_round(p);
    rr.zeroed_later = content_change(p, &rng, 300, 400);
    primary_precopy_round(p);
    rr.zeroed_later += content_change(p, &rng, 60, 100);
    primary_precopy_end(p);
    qt_check(rr.zeroed_later == 360, "only %" PRIu64 " pages to zero",
             rr.zeroed_later);
    rr.pages = primary_stage(p, 0)->pages;
    rr.zero_pages = primary_stage(p, 0)->zero_pages;
    for (size_t i = 0; i < primary_nconns(p); i++) {
        rr.bytes += primary_conn(p, i)->buf.len;
    }
    rr.gen_ms = now_ms() - t0;

    o.backend = QT_BACKEND_QEMU;
    o.incoming = true;
    o.args = sh->args;
    s = qtest_start_opts("dst", &o);
    qt_check(qtest_version(s)->major == sh->major &&
                 qtest_version(s)->minor == sh->minor,
             "QMP query-version %d.%d, -version said '%s'",
             qtest_version(s)->major, qtest_version(s)->minor, vline);
    check_ramblocks(s, rec.layout);
    qtest_qmp_assert_success(s, "{'execute': 'migrate-set-capabilities', "
                                "'arguments': {'capabilities': [{"
                                "'capability': 'multifd', 'state': true}]}}");
    qtest_qmp_assert_success(s,
                             "{'execute': 'migrate-set-parameters', "
                             "'arguments': {'multifd-channels': %u, "
                             "'multifd-compression': '%s'}}",
                             channels, comp_name);
    if (sh->zero_multifd) {
        qtest_qmp_assert_success(s, "{'execute': 'migrate-set-parameters', "
                                    "'arguments': {'zero-page-detection': "
                                    "'multifd'}}");
    }
    port = qtest_migrate_incoming_port(s);
    t0 = now_ms();
    migrate(s, p, port, sh->style == PRIMARY_QEMU_7_2);
    rr.migrate_ms = now_ms() - t0;

    t0 = now_ms();
    nr = plan_regions(s, primary_memory(p), regions, skipped, sizeof(skipped));
    rr.regions = nr;
    compare_all(s, primary_memory(p), regions, nr, &rr);
    if (plant) {
        const MemImage *img = primary_memory(p);
        long ram = mem_image_find(img, "pc.ram");
        long bios = mem_image_find(img, "pc.bios");

        qt_assert(ram >= 0 && bios >= 0);
        /* The last page of a block always holds test-chosen data. */
        planted(s, img, regions, nr, "pc.ram", img->blocks[ram].size - PAGE,
                0x123);
        planted(s, img, regions, nr, "pc.bios", img->blocks[bios].size - PAGE,
                0xffe);
    }
    rr.read_ms = now_ms() - t0;
    qt_log("%s %s x %u (%s): %" PRIu64 " pages sent (%" PRIu64 " zero, %" PRIu64
           " zeroed after a data pass), %" PRIu64
           " stream bytes; generate %.0f ms, migrate %.0f ms, read back "
           "%" PRIu64 " bytes in %zu regions %.0f ms; not readable: %s",
           vline, comp_name, channels,
           sh->style == PRIMARY_QEMU_7_2 ? "7.2 shape" : "current shape",
           rr.pages, rr.zero_pages, rr.zeroed_later, rr.bytes, rr.gen_ms,
           rr.migrate_ms, rr.compared, rr.regions, rr.read_ms,
           skipped[0] ? skipped : "none");
    qtest_quit(s);
    primary_free(p);
    recorded_main_free(&rec);
    printf("ok\n");
    return 0;
}
