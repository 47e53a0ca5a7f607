/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conformance against real QEMU 7.2 streams (tests/data): the
 * memory mfcolo-replay rebuilds must be the memory QEMU produced.
 *
 *   precopy-*     tests/data/qemu-7.2: every RAM block's SHA-256 and length
 *                 (precopy-10.0.2-*: the same for tests/data/qemu-10.0.2)
 *                 equal expected-ramblocks.json (channels in both orders).
 *   colo-kvm-workload-kill, colo-tcg-workload-yank: the replies are
 *                 byte-identical to what QEMU's secondary sent
 *                 (conn-0.d2s.bin); SHA-256 of every block after precopy,
 *                 of pc.ram after every checkpoint and of every block at
 *                 the end equal expected.json; the workload oracle holds
 *                 after precopy and after every checkpoint.
 *   colo-kvm-multifd2: multifd channels on top of COLO; checkpoint 0
 *                 completes (QEMU 7.2's own secondary failed to load the
 *                 kvm-tpr-opt device; the blob is opaque here), replies
 *                 READY REPLY RECEIVED LOADED, the oracle holds.
 *   colo-tcg-returnpath: return-path + x-colo (a QEMU 7.2 defect: the
 *                 primary reads the secondary's CHECKPOINT_READY as a
 *                 return-path message).  Expected outcome defined in
 *                 docs/colo-stream.md: precopy loads, PING is answered
 *                 with PONG on the shared reply channel, COLO starts,
 *                 READY is sent, the stream ends where a checkpoint
 *                 would start: failover with the precopy memory, exit 0,
 *                 replies byte-identical to QEMU's (PONG + READY).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

#define COLO "qemu-7.2-colo/"

/* ---- (1) precopy captures ---- */

static void check_ramblocks(const ConfRun *r, const char *ver)
{
    char rel[128];
    ConfBuf exp;
    const char *blocks, *line;
    size_t blen, nlines = 0;

    snprintf(rel, sizeof(rel), "%s/expected-ramblocks.json", ver);
    exp = conf_read(rel);
    blocks = conf_json_get((const char *)exp.data, exp.len, "ramblocks", &blen);
    assert_non_null(blocks);
    for (line = r->out; line && *line; nlines++) {
        char name[256], hex[65], want[65], lenbuf[32];
        unsigned long long used;
        const char *obj, *v;
        size_t olen, vlen;

        assert_int_equal(sscanf(line, "%255s %llu %64s", name, &used, hex), 3);
        obj = conf_json_get(blocks, blen, name, &olen);
        if (!obj) {
            print_error("block %s not in expected-ramblocks.json\n", name);
            fail();
        }
        v = conf_json_get(obj, olen, "sha256", &vlen);
        assert_non_null(v);
        assert_true(conf_json_str(v, vlen, want, sizeof(want)));
        if (strcmp(hex, want) != 0) {
            print_error("block %s: sha256 %s, QEMU %s\n", name, hex, want);
            fail();
        }
        v = conf_json_get(obj, olen, "used_length", &vlen);
        assert_non_null(v);
        assert_true(vlen < sizeof(lenbuf));
        memcpy(lenbuf, v, vlen);
        lenbuf[vlen] = 0;
        assert_int_equal(used, strtoull(lenbuf, NULL, 10));
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    assert_int_equal(nlines, 8);
    conf_buf_free(&exp);
}

/*
 * Replay "<ver>/<dir>": conn-0.bin and @nchan channel files (in reverse
 * accept order if @reverse), sync mode @sync (NULL: the default).
 */
static void run_precopy_ver(const char *ver, const char *dir, int nchan,
                            const char *comp, bool reverse, const char *sync,
                            const char *dump)
{
    char m[1024], c[8][1024], rel[256];
    const char *args[32];
    ConfRun r;
    int n = 0, i;

    assert_true(nchan >= 1 && nchan <= 8);
    snprintf(rel, sizeof(rel), "%s/%s/conn-0.bin", ver, dir);
    conf_path(m, sizeof(m), rel);
    args[n++] = "--main";
    args[n++] = m;
    for (i = 0; i < nchan; i++) {
        snprintf(rel, sizeof(rel), "%s/%s/conn-%d.bin", ver, dir,
                 reverse ? nchan - i : i + 1);
        conf_path(c[i], sizeof(c[i]), rel);
        args[n++] = "--channel";
        args[n++] = c[i];
    }
    args[n++] = "--compression";
    args[n++] = comp;
    args[n++] = "--uuid";
    args[n++] = "6d756c74-6966-6463-6170-747572652121";
    if (sync) {
        args[n++] = "--sync";
        args[n++] = sync;
    }
    if (dump) {
        args[n++] = "--dump";
        args[n++] = dump;
    }
    args[n] = NULL;
    conf_replay(&r, NULL, args);
    if (r.status != 0) {
        print_error("%s: %s\n", dir, r.err);
    }
    assert_int_equal(r.status, 0);
    assert_int_equal(r.err_len, 0);
    check_ramblocks(&r, ver);
    conf_run_free(&r);
}

static void run_precopy(const char *dir, const char *comp, bool reverse,
                        const char *dump)
{
    run_precopy_ver("qemu-7.2", dir, 2, comp, reverse, NULL, dump);
}

static void test_precopy_nocomp(void **state)
{
    char dump[600], path[700], hex[65];
    ConfBuf f;

    (void)state;
    snprintf(dump, sizeof(dump), "%s/dump", conf_tmpdir());
    run_precopy("nocomp-2ch", "none", false, dump);
    /* --dump: one file per block, name sanitised. */
    snprintf(path, sizeof(path), "%s/_rom_etc_acpi_rsdp.bin", dump);
    f = conf_read_abs(path);
    assert_non_null(f.data);
    assert_int_equal(f.len, 4096);
    conf_sha_hex(f.data, f.len, hex);
    assert_string_equal(hex, "d3cce048d032e92669073af90a06a95b64012486a2a652d7"
                             "c7c92d6c96d97e48");
    conf_buf_free(&f);
    snprintf(path, sizeof(path), "%s/0000_00_02.0_vga.rom.bin", dump);
    f = conf_read_abs(path);
    assert_non_null(f.data);
    assert_int_equal(f.len, 65536);
    conf_buf_free(&f);
    conf_tmp_cleanup();
}

static void test_precopy_nocomp_reversed(void **state)
{
    (void)state;
    run_precopy("nocomp-2ch", "none", true, NULL);
}

static void test_precopy_zstd(void **state)
{
    (void)state;
    run_precopy("zstd-2ch", "zstd", false, NULL);
}

static void test_precopy_zlib(void **state)
{
    (void)state;
    run_precopy("zlib-2ch", "zlib", true, NULL);
}

/*
 * QEMU 10.0.2 (tests/data/qemu-10.0.2): the current shape (zero pages in
 * the packets, MULTIFD_FLUSH per round) with --sync round and auto, the
 * machine's compat shape (per section) with section and auto.
 */
#define Q10 "qemu-10.0.2"

static void test_precopy_10_nocomp(void **state)
{
    (void)state;
    run_precopy_ver(Q10, "nocomp-2ch", 2, "none", false, "round", NULL);
}

static void test_precopy_10_nocomp_reversed(void **state)
{
    (void)state;
    run_precopy_ver(Q10, "nocomp-2ch", 2, "none", true, "auto", NULL);
}

static void test_precopy_10_zstd(void **state)
{
    (void)state;
    run_precopy_ver(Q10, "zstd-2ch", 2, "zstd", false, "round", NULL);
}

static void test_precopy_10_zlib(void **state)
{
    (void)state;
    run_precopy_ver(Q10, "zlib-2ch", 2, "zlib", true, "round", NULL);
}

static void test_precopy_10_zstd_4ch(void **state)
{
    (void)state;
    run_precopy_ver(Q10, "zstd-4ch", 4, "zstd", false, "auto", NULL);
}

static void test_precopy_10_compat_zstd(void **state)
{
    (void)state;
    run_precopy_ver(Q10, "compat-zstd-2ch", 2, "zstd", false, "section", NULL);
    run_precopy_ver(Q10, "compat-zstd-2ch", 2, "zstd", true, "auto", NULL);
}

/* ---- (2) COLO captures with expected.json ---- */

typedef struct ColoObs {
    const char *expected; /* expected.json text */
    size_t exp_len;
    size_t checkpoints;
    bool precopy_seen;
    char failure[300];
} ColoObs;

static void note_fail(ColoObs *o, const char *fmt, const char *a, const char *b)
{
    if (!o->failure[0]) {
        snprintf(o->failure, sizeof(o->failure), fmt, a, b);
    }
}

static const RamBlock *find(const RamTable *ram, const char *name)
{
    return ram_table_find(ram, name);
}

/* Every block of @ram against the object @key of expected.json. */
static void check_all_blocks(ColoObs *o, const RamTable *ram, const char *key)
{
    const char *obj, *v;
    size_t olen, vlen, i;
    char want[65], hex[65];

    obj = conf_json_get(o->expected, o->exp_len, key, &olen);
    if (!obj) {
        note_fail(o, "expected.json has no %s%s", key, "");
        return;
    }
    for (i = 0; i < ram->nblocks; i++) {
        const RamBlock *b = ram->blocks[i];

        v = conf_json_get(obj, olen, b->name, &vlen);
        if (!v || !conf_json_str(v, vlen, want, sizeof(want))) {
            note_fail(o, "%s: no digest for %s", key, b->name);
            continue;
        }
        conf_sha_hex(b->host, b->used_length, hex);
        if (strcmp(hex, want) != 0) {
            note_fail(o, "%s: block %s differs from QEMU", key, b->name);
        }
    }
}

static void obs_precopy(void *opaque, const RamTable *ram)
{
    ColoObs *o = opaque;
    const RamBlock *b = find(ram, "pc.ram");
    char why[200];

    o->precopy_seen = true;
    if (o->expected) {
        check_all_blocks(o, ram, "precopy");
    }
    if (!b ||
        !conf_workload_oracle(b->host, b->used_length, why, sizeof(why))) {
        note_fail(o, "oracle after precopy: %s%s", b ? why : "no pc.ram", "");
    }
}

static void obs_checkpoint(void *opaque, const RamTable *ram,
                           const IncomingCheckpoint *cp)
{
    ColoObs *o = opaque;
    const RamBlock *b = find(ram, "pc.ram");
    char why[200], want[65], hex[65], idx[32];
    const char *arr;
    size_t alen;

    snprintf(idx, sizeof(idx), "%llu", (unsigned long long)cp->index);
    o->checkpoints++;
    if (!b) {
        note_fail(o, "checkpoint %s: no pc.ram%s", idx, "");
        return;
    }
    if (!conf_workload_oracle(b->host, b->used_length, why, sizeof(why))) {
        note_fail(o, "oracle after checkpoint %s: %s", idx, why);
    }
    if (!o->expected) {
        return;
    }
    arr = conf_json_get(o->expected, o->exp_len, "checkpoints", &alen);
    if (!arr ||
        !conf_json_array_str(arr, alen, cp->index, want, sizeof(want))) {
        note_fail(o, "checkpoint %s beyond expected.json%s", idx, "");
        return;
    }
    conf_sha_hex(b->host, b->used_length, hex);
    if (strcmp(hex, want) != 0) {
        note_fail(o, "checkpoint %s: pc.ram %s differs from QEMU", idx, hex);
    }
}

static void obs_end(void *opaque, const RamTable *ram, int status)
{
    ColoObs *o = opaque;

    (void)status;
    if (o->expected) {
        check_all_blocks(o, ram, "final");
    }
}

static void run_colo(const char *dir, bool with_expected, int nchannels,
                     size_t want_cps, const uint8_t *want_replies,
                     size_t want_replies_len)
{
    char m[1024], rel[256], reppath[700], chans[2][1024];
    ReplayObserver obs = { 0 };
    ColoObs o = { 0 };
    ConfBuf exp = { 0 }, d2s = { 0 }, rep;
    const char *args[16];
    size_t n = 0, i;
    ConfRun r;

    snprintf(rel, sizeof(rel), COLO "%s/conn-0.bin", dir);
    conf_path(m, sizeof(m), rel);
    snprintf(reppath, sizeof(reppath), "%s/replies.bin", conf_tmpdir());
    args[n++] = "--main";
    args[n++] = m;
    for (i = 0; i < (size_t)nchannels; i++) {
        snprintf(rel, sizeof(rel), COLO "%s/conn-%zu.bin", dir, i + 1);
        conf_path(chans[i], sizeof(chans[i]), rel);
        args[n++] = "--channel";
        args[n++] = chans[i];
    }
    args[n++] = "--replies";
    args[n++] = reppath;
    args[n] = NULL;
    if (with_expected) {
        snprintf(rel, sizeof(rel), COLO "%s/expected.json", dir);
        exp = conf_read(rel);
        o.expected = (const char *)exp.data;
        o.exp_len = exp.len;
    }
    obs.opaque = &o;
    obs.precopy = obs_precopy;
    obs.checkpoint = obs_checkpoint;
    obs.end = obs_end;
    conf_replay(&r, &obs, args);
    if (r.status != 0) {
        print_error("%s: %s\n", dir, r.err);
    }
    assert_int_equal(r.status, 0);
    assert_int_equal(r.err_len, 0);
    if (o.failure[0]) {
        print_error("%s: %s\n", dir, o.failure);
        fail();
    }
    assert_true(o.precopy_seen);
    assert_int_equal(o.checkpoints, want_cps);
    rep = conf_read_abs(reppath);
    assert_non_null(rep.data);
    if (!want_replies) {
        snprintf(rel, sizeof(rel), COLO "%s/conn-0.d2s.bin", dir);
        d2s = conf_read(rel);
        want_replies = d2s.data;
        want_replies_len = d2s.len;
    }
    assert_int_equal(rep.len, want_replies_len);
    assert_memory_equal(rep.data, want_replies, rep.len);
    conf_buf_free(&rep);
    conf_buf_free(&d2s);
    conf_buf_free(&exp);
    conf_run_free(&r);
    conf_tmp_cleanup();
}

static void test_colo_kvm_workload_kill(void **state)
{
    (void)state;
    run_colo("kvm-workload-kill", true, 0, 20, NULL, 0);
}

static void test_colo_tcg_workload_yank(void **state)
{
    (void)state;
    run_colo("tcg-workload-yank", true, 0, 1, NULL, 0);
}

/* ---- (3) multifd with COLO ---- */

static void test_colo_kvm_multifd2(void **state)
{
    static const uint8_t want[] = {
        0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 6,
    };
    ConfBuf qemu = conf_read(COLO "kvm-multifd2/conn-0.d2s.bin");

    (void)state;
    /* QEMU 7.2 stopped after RECEIVED: its replies are our first 12. */
    assert_int_equal(qemu.len, 12);
    assert_memory_equal(qemu.data, want, 12);
    conf_buf_free(&qemu);
    run_colo("kvm-multifd2", false, 2, 1, want, sizeof(want));
}

/* ---- (4) return path with COLO ---- */

static void test_colo_tcg_returnpath(void **state)
{
    (void)state;
    run_colo("tcg-returnpath", false, 0, 0, NULL, 0);
}

/* The oracle itself rejects what it must reject. */
static void test_oracle_self(void **state)
{
    uint8_t *ram = calloc(1, 0x40000);
    char why[200];
    int i;

    (void)state;
    assert_non_null(ram);
    assert_true(conf_workload_oracle(ram, 0x40000, why, sizeof(why)));
    memset(ram + 0x10000, 5, 0x8000);
    memset(ram + 0x18000, 4, 0x8000); /* one step: fine */
    for (i = 0; i < 16; i++) {
        ram[0x30000 + i * 0x1000] = i < 9 ? 5 : 4;
    }
    assert_true(conf_workload_oracle(ram, 0x40000, why, sizeof(why)));
    ram[0x1c000] = 3; /* a second step */
    assert_false(conf_workload_oracle(ram, 0x40000, why, sizeof(why)));
    ram[0x1c000] = 4;
    ram[0x27fff] = 1; /* zero region */
    assert_false(conf_workload_oracle(ram, 0x40000, why, sizeof(why)));
    ram[0x27fff] = 0;
    ram[0x31001] = 1; /* second byte set */
    assert_false(conf_workload_oracle(ram, 0x40000, why, sizeof(why)));
    ram[0x31001] = 0;
    ram[0x32000] = 9; /* byte 0 jumps */
    assert_false(conf_workload_oracle(ram, 0x40000, why, sizeof(why)));
    free(ram);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precopy_nocomp),
        cmocka_unit_test(test_precopy_nocomp_reversed),
        cmocka_unit_test(test_precopy_zstd),
        cmocka_unit_test(test_precopy_zlib),
        cmocka_unit_test(test_precopy_10_nocomp),
        cmocka_unit_test(test_precopy_10_nocomp_reversed),
        cmocka_unit_test(test_precopy_10_zstd),
        cmocka_unit_test(test_precopy_10_zlib),
        cmocka_unit_test(test_precopy_10_zstd_4ch),
        cmocka_unit_test(test_precopy_10_compat_zstd),
        cmocka_unit_test(test_colo_kvm_workload_kill),
        cmocka_unit_test(test_colo_tcg_workload_yank),
        cmocka_unit_test(test_colo_kvm_multifd2),
        cmocka_unit_test(test_colo_tcg_returnpath),
        cmocka_unit_test(test_oracle_self),
    };
    int rc;

    conf_init(argc, argv);
    rc = cmocka_run_group_tests_name("conformance-captures", tests, NULL, NULL);
    conf_tmp_cleanup();
    return rc;
}
