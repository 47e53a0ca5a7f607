/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of tests/support/recording.c: the RAM block list and the device
 * tail cut out of real QEMU 7.2 and 10.0.2 recordings (tests/data), and
 * the test primary sending them: its main channel ends with exactly the
 * recorded bytes and the whole stream replays in mfcolo-replay (core) to
 * the primary's memory.  argv[1]: the data root (a missing recording
 * fails).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/be.h"
#include "buf.h"
#include "oracle.h"
#include "primary.h"
#include "recording.h"
#include "replay.h"
#include "workload.h"

static const char *data_root;

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    SupBuf b = SUP_BUF_INIT;
    uint8_t chunk[65536];
    size_t n;

    if (!f) {
        fail_msg("cannot open %s", path);
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        sup_buf_append(&b, chunk, n);
    }
    fclose(f);
    *len = b.len;
    return b.data;
}

static void rec_path(char *out, size_t size, const char *run)
{
    snprintf(out, size, "%s/qemu-7.2/%s/conn-0.bin", data_root, run);
}

/*
 * The 7.2 recording: the 8 blocks of the captures' pc machine, the tail
 * from byte 104741 (README: where device state starts) to the end, cut
 * byte-exact, starting with the "timer" SECTION_FULL and holding
 * QEMU_VM_EOF + VMDESCRIPTION.
 */
static void test_cut_qemu72(void **state)
{
    static const char *const runs[] = { "nocomp-2ch", "zstd-2ch", "zlib-2ch" };
    MemImage *pc = mem_image_new_pc(32 << 20);

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        char path[4096];
        char why[512];
        RecordedMain r;
        uint8_t *data;
        size_t len;

        rec_path(path, sizeof(path), runs[i]);
        data = slurp(path, &len);
        if (!recorded_main_load(path, 4096, &r, why, sizeof(why))) {
            fail_msg("%s", why);
        }
        assert_string_equal(r.machine, "pc-i440fx-7.2");
        assert_int_equal(r.ram_section_id, 2);
        assert_true(mem_image_same_layout(r.layout, pc));
        assert_int_equal(r.layout->nblocks, 8);
        /* MEM_SIZE right after the "ram" SECTION_START header. */
        assert_int_equal(r.mem_size_offset, 8 + 5 + 13 + 17);
        assert_int_equal(mf_be64_load(data + r.mem_size_offset) & 0xfff, 0x004);
        /* README: 3 EOS (per-section sync), 11596 ZERO records, no
         * PAGE record on main, no MULTIFD_FLUSH in 7.2. */
        assert_int_equal(r.ram_sections, 3);
        assert_int_equal(r.ram_eos, 3);
        assert_int_equal(r.ram_zero, 11596);
        assert_int_equal(r.ram_pages, 0);
        assert_int_equal(r.ram_flushes, 0);
        assert_int_equal(r.tail_offset, 104741);
        assert_int_equal(r.tail_offset + r.tail_len, len);
        assert_memory_equal(r.tail, data + r.tail_offset, r.tail_len);
        /* The byte before the tail closes the RAM section (footer). */
        assert_int_equal(data[r.tail_offset - 5], 0x7e);
        assert_int_equal(mf_be32_load(data + r.tail_offset - 4), 2);
        assert_int_equal(r.tail[0], 0x04); /* SECTION_FULL */
        assert_memory_equal(r.tail + 5, "\x05timer", 6);
        assert_true(r.vmdesc);
        assert_int_equal(r.tail[r.tail_eof], 0x00);
        assert_int_equal(r.tail[r.tail_eof + 1], 0x06);
        assert_int_equal(r.tail_eof + 6 + mf_be32_load(r.tail + r.tail_eof + 2),
                         r.tail_len);
        recorded_main_free(&r);
        free(data);
    }
    mem_image_free(pc);
}

/*
 * The 10.0.2 recording (current shape): the same 8 blocks, no ZERO
 * record on main, a MULTIFD_FLUSH per round; the tail cut here equals,
 * byte for byte, the device state and VM description that the
 * recording's README and tools cut independently (devstate/).
 */
static void test_cut_qemu10(void **state)
{
    MemImage *pc = mem_image_new_pc(32 << 20);
    char path[4096];
    char why[512];
    RecordedMain r;
    uint8_t *dev;
    uint8_t *desc;
    size_t dev_len;
    size_t desc_len;

    (void)state;
    snprintf(path, sizeof(path), "%s/qemu-10.0.2/nocomp-2ch/conn-0.bin",
             data_root);
    if (!recorded_main_load(path, 4096, &r, why, sizeof(why))) {
        fail_msg("%s", why);
    }
    assert_string_equal(r.machine, "pc-i440fx-7.2");
    assert_true(mem_image_same_layout(r.layout, pc));
    /* shape.json: 4 sections, 4 EOS, 3 FLUSH, no ZERO/PAGE, device
     * state from 333, EOF at 14632, a VMDESCRIPTION of 100801 bytes. */
    assert_int_equal(r.ram_sections, 4);
    assert_int_equal(r.ram_eos, 4);
    assert_int_equal(r.ram_flushes, 3);
    assert_int_equal(r.ram_zero, 0);
    assert_int_equal(r.ram_pages, 0);
    assert_int_equal(r.tail_offset, 333);
    assert_int_equal(r.tail_offset + r.tail_eof, 14632);
    assert_true(r.vmdesc);
    assert_int_equal(r.tail_len, r.tail_eof + 6 + 100801);
    snprintf(path, sizeof(path), "%s/qemu-10.0.2/devstate/device-state.bin",
             data_root);
    dev = slurp(path, &dev_len);
    snprintf(path, sizeof(path), "%s/qemu-10.0.2/devstate/vmdesc.json",
             data_root);
    desc = slurp(path, &desc_len);
    assert_int_equal(r.tail_eof, dev_len);
    assert_memory_equal(r.tail, dev, dev_len);
    assert_int_equal(r.tail_len - r.tail_eof - 6, desc_len);
    assert_memory_equal(r.tail + r.tail_eof + 6, desc, desc_len);
    free(dev);
    free(desc);
    recorded_main_free(&r);
    mem_image_free(pc);
}

static void expect_parse_error(const uint8_t *data, size_t len,
                               const char *want)
{
    RecordedMain r;
    char why[512];

    assert_false(recorded_main_parse(data, len, 4096, &r, why, sizeof(why)));
    assert_null(r.layout);
    assert_null(r.tail);
    if (strcmp(why, want) != 0) {
        fail_msg("got \"%s\", want \"%s\"", why, want);
    }
}

/* Damaged recordings are refused with the offset of the bad byte. */
static void test_cut_refuses(void **state)
{
    char path[4096];
    uint8_t *data;
    uint8_t *copy;
    size_t len;

    (void)state;
    rec_path(path, sizeof(path), "nocomp-2ch");
    data = slurp(path, &len);
    copy = malloc(len);
    /* Cut inside the MEM_SIZE list. */
    expect_parse_error(data, 60,
                       "offset 58: MEM_SIZE used_length: 8 bytes needed, "
                       "2 left");
    /* Cut inside the tail: no QEMU_VM_EOF at the end. */
    expect_parse_error(data, 104741 + 100,
                       "offset 104840: the recording does not end with "
                       "QEMU_VM_EOF + a VMDESCRIPTION that reaches its "
                       "last byte");
    /* Cut right after the EOF byte: the VMDESCRIPTION is missing. */
    {
        RecordedMain r;
        char why[512];
        char want[512];
        const char *msg = "the recording does not end with QEMU_VM_EOF + "
                          "a VMDESCRIPTION that reaches its last byte";

        assert_true(recorded_main_load(path, 4096, &r, why, sizeof(why)));
        snprintf(want, sizeof(want), "offset %zu: %s",
                 (size_t)r.tail_offset + r.tail_eof, msg);
        expect_parse_error(data, r.tail_offset + r.tail_eof + 1, want);
        /* A VMDESCRIPTION one byte short of the end. */
        snprintf(want, sizeof(want), "offset %zu: %s", len - 2, msg);
        expect_parse_error(data, len - 1, want);
        recorded_main_free(&r);
    }
    /* Nothing after the RAM section. */
    expect_parse_error(data, 104741,
                       "offset 104741: nothing after the RAM section");
    /* A wrong id in the footer of the "ram" SECTION_END. */
    memcpy(copy, data, len);
    copy[104741 - 1] = 9;
    expect_parse_error(copy, len,
                       "offset 104737: section footer id 9, expected 2 "
                       "(WIRE_ERR_VM_FOOTER)");
    /* A MEM_SIZE entry listed twice: the second one is "pc.ram" again. */
    memcpy(copy, data, len);
    memcpy(copy + 0x42, "\x06pc.ram\x00\x00\x00\x00\x00\x00\x00\x00", 15);
    expect_parse_error(copy, len, "offset 66: block \"pc.ram\" listed twice");
    /* Not a recording at all. */
    expect_parse_error((const uint8_t *)"QEVX\0\0\0\3", 8,
                       "offset 0: stream magic 0x51455658, expected "
                       "0x5145564d (QEVM) (WIRE_ERR_VM_MAGIC)");
    free(copy);
    free(data);
}

/* Replay a finished primary in-process; every block must match stage 0. */
typedef struct ReplayCheck {
    const MemImage *want;
    bool called;
    char diff[256];
} ReplayCheck;

static void check_end(void *opaque, const RamTable *ram, int status)
{
    ReplayCheck *c = opaque;

    c->called = true;
    if (status != 0) {
        snprintf(c->diff, sizeof(c->diff), "status %d", status);
        return;
    }
    if (ram->nblocks != c->want->nblocks) {
        snprintf(c->diff, sizeof(c->diff), "%zu blocks", ram->nblocks);
        return;
    }
    for (size_t i = 0; i < ram->nblocks; i++) {
        const MemBlock *w = &c->want->blocks[i];
        OracleDiff d;

        if (strcmp(ram->blocks[i]->name, w->name) != 0 ||
            ram->blocks[i]->used_length != w->size) {
            snprintf(c->diff, sizeof(c->diff), "block %zu is %.100s", i,
                     ram->blocks[i]->name);
            return;
        }
        if (!oracle_block_range_equal(w->name, 0, w->data, ram->blocks[i]->host,
                                      w->size, 4096, &d)) {
            snprintf(c->diff, sizeof(c->diff), "%s", d.msg);
            return;
        }
    }
}

static void replay_primary(const Primary *p, const char *comp, bool round)
{
    char dir[] = "/tmp/mfcolo-rec-XXXXXX";
    char files[10][64];
    char *argv[32];
    int argc = 0;
    char *out = NULL, *err = NULL;
    size_t out_len, err_len;
    FILE *fo, *fe;
    ReplayCheck c = { 0 };
    ReplayObserver obs = { 0 };
    int status;

    assert_non_null(mkdtemp(dir));
    assert_true(primary_nconns(p) <= 10);
    argv[argc++] = (char *)"mfcolo-replay";
    for (size_t i = 0; i < primary_nconns(p); i++) {
        const SupBuf *b = &primary_conn(p, i)->buf;
        FILE *f;

        snprintf(files[i], sizeof(files[i]), "%s/conn-%zu.bin", dir, i);
        f = fopen(files[i], "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
        fclose(f);
        argv[argc++] = (char *)(i == 0 ? "--main" : "--channel");
        argv[argc++] = files[i];
    }
    argv[argc++] = (char *)"--compression";
    argv[argc++] = (char *)comp;
    argv[argc++] = (char *)"--sync";
    argv[argc++] = (char *)(round ? "round" : "section");
    argv[argc] = NULL;
    c.want = primary_stage(p, 0)->image;
    obs.opaque = &c;
    obs.quiet = true;
    obs.end = check_end;
    fo = open_memstream(&out, &out_len);
    fe = open_memstream(&err, &err_len);
    status = replay_main(argc, argv, fo, fe, &obs);
    fclose(fo);
    fclose(fe);
    for (size_t i = 0; i < primary_nconns(p); i++) {
        unlink(files[i]);
    }
    rmdir(dir);
    if (status != 0 || !c.called || c.diff[0]) {
        fail_msg("replay status %d: %s %s", status, err, c.diff);
    }
    free(out);
    free(err);
}

/*
 * The primary with the recorded block list and tail: contents chosen by
 * the test over several rounds (whole random pages, pages zeroed on a
 * later pass, the last page of every block), the recorded bytes at the
 * end of main, and a replay to the primary's memory.
 */
static void test_primary_with_recording(void **state)
{
    static const struct {
        PrimaryStyle style;
        uint32_t channels;
        WireCompression comp;
        const char *name;
        const char *recording;
    } runs[] = {
        { PRIMARY_QEMU_7_2, 2, WIRE_COMP_NONE, "none", "qemu-7.2" },
        { PRIMARY_QEMU_7_2, 4, WIRE_COMP_ZSTD, "zstd", "qemu-7.2" },
        { PRIMARY_QEMU_7_2, 1, WIRE_COMP_ZLIB, "zlib", "qemu-7.2" },
        { PRIMARY_QEMU_9, 3, WIRE_COMP_NONE, "none", "qemu-10.0.2" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        char path[4096];
        char why[512];
        RecordedMain r;
        uint8_t *rec;
        size_t rec_len;
        PrimaryConfig cfg;
        Primary *p;
        SupRng rng;
        const SupBuf *main_buf;
        const PrimaryMark *m;
        uint64_t zeroed;

        snprintf(path, sizeof(path), "%s/%s/nocomp-2ch/conn-0.bin", data_root,
                 runs[i].recording);
        rec = slurp(path, &rec_len);
        if (!recorded_main_load(path, 4096, &r, why, sizeof(why))) {
            fail_msg("%s", why);
        }
        primary_config_init(&cfg, runs[i].style, runs[i].channels,
                            runs[i].comp);
        cfg.colo = false;
        cfg.seed = 11 + i;
        cfg.machine = r.machine;
        cfg.ram_section_id = r.ram_section_id;
        cfg.device_tail = r.tail;
        cfg.device_tail_len = r.tail_len;
        cfg.device_tail_eof = r.tail_eof;
        p = primary_new(&cfg, r.layout);
        sup_rng_seed(&rng, 100 + i);
        for (uint64_t pg = 0; pg < 300; pg += 3) {
            workload_fill_page(primary_memory(p), &rng, 0, 0x100 + pg, NULL);
        }
        workload_last_pages(primary_memory(p), &rng, NULL);
        primary_precopy_begin(p);
        primary_precopy_round(p);
        zeroed = workload_zero_nonzero(primary_memory(p), &rng, 20,
                                       primary_dirty(p));
        assert_int_equal(zeroed, 20);
        workload_random(primary_memory(p), &rng, 50, 20, primary_dirty(p));
        primary_precopy_round(p);
        workload_zero_nonzero(primary_memory(p), &rng, 5, primary_dirty(p));
        primary_precopy_end(p);

        main_buf = &primary_conn(p, 0)->buf;
        assert_true(main_buf->len > r.tail_len);
        assert_memory_equal(main_buf->data + main_buf->len - r.tail_len,
                            rec + r.tail_offset, r.tail_len);
        m = primary_find_mark(p, PM_DEVICE_SECTION, 0, 0);
        assert_non_null(m);
        assert_int_equal(m->offset, main_buf->len - r.tail_len);
        m = primary_find_mark(p, PM_VM_EOF, 0, 0);
        assert_non_null(m);
        assert_int_equal(m->offset, main_buf->len - r.tail_len + r.tail_eof);
        /* The MEM_SIZE record is the recording's, byte for byte. */
        assert_memory_equal(main_buf->data + r.mem_size_offset,
                            rec + r.mem_size_offset, r.mem_size_len);
        replay_primary(p, runs[i].name, runs[i].style == PRIMARY_QEMU_9);
        primary_free(p);
        recorded_main_free(&r);
        free(rec);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_qemu72),
        cmocka_unit_test(test_cut_qemu10),
        cmocka_unit_test(test_cut_refuses),
        cmocka_unit_test(test_primary_with_recording),
    };

    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA_ROOT\n", argv[0]);
        return 1;
    }
    data_root = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
