/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile variants of the real QEMU 7.2 COLO captures, made at test time:
 * truncations at message boundaries and inside records, a VMSTATE_SIZE
 * larger than what follows, unknown and out-of-order COLO messages, a RAM
 * record naming an unknown block, CONTINUE with no block named before,
 * truncated multifd channels, zstd and zlib payloads that inflate to less
 * than their packet's pages, a zstd payload at the bound and one byte
 * past it.
 * Each must end in ONE specific error line
 * naming the channel and the offset (never a crash or hang), and guest
 * memory must be exactly that of the last complete checkpoint (I4),
 * compared byte for byte with a reference built from the clean run.
 *
 * The cut points come from an independent walk of the stream (not from
 * the parser under test).  The default run samples them; argv "full"
 * (suite conformance-full) takes every boundary and several points inside
 * every record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/be.h"
#include "conformance.h"
#include "wire/stream.h"

#define COLO "qemu-7.2-colo/"
#define PAGE 4096u

typedef struct Cuts {
    uint64_t *off;
    size_t n;
} Cuts;

static void cut_add(Cuts *c, uint64_t off)
{
    if (c->n && c->off[c->n - 1] == off) {
        return;
    }
    c->off = realloc(c->off, (c->n + 1) * sizeof(*c->off));
    assert_non_null(c->off);
    c->off[c->n++] = off;
}

/*
 * RAM records of one section from @o up to and including the footer.
 * @dense: every record; else the first @few and every 500th.
 */
static uint64_t walk_records(const uint8_t *s, uint64_t o, Cuts *c, bool dense,
                             size_t few)
{
    size_t nrec = 0;

    for (;;) {
        uint64_t word = mf_be64_load(s + o);
        uint32_t flags = (uint32_t)(word & (PAGE - 1));
        bool mark = dense || nrec < few || nrec % 4000 == 0;

        if (mark) {
            cut_add(c, o);
            cut_add(c, o + 3);
        }
        o += 8;
        nrec++;
        if (flags & WIRE_RAM_MEM_SIZE) {
            uint64_t left = word & ~(uint64_t)(PAGE - 1);

            bool first = true;

            while (left) {
                if (dense || first) {
                    cut_add(c, o);
                    cut_add(c, o + 1);
                }
                o += 1 + s[o];
                if (dense || first) {
                    cut_add(c, o);
                }
                first = false;
                left -= mf_be64_load(s + o);
                o += 8;
            }
        } else if (flags & (WIRE_RAM_ZERO | WIRE_RAM_PAGE)) {
            if (!(flags & WIRE_RAM_CONTINUE)) {
                if (mark) {
                    cut_add(c, o);
                    cut_add(c, o + 1);
                }
                o += 1 + s[o];
            }
            if (mark) {
                cut_add(c, o);
            }
            if (flags & WIRE_RAM_ZERO) {
                o += 1;
            } else {
                if (mark && dense) {
                    cut_add(c, o + 1);
                    cut_add(c, o + PAGE / 2);
                    cut_add(c, o + PAGE - 1);
                }
                o += PAGE;
            }
        } else if (flags & WIRE_RAM_EOS) {
            break;
        }
    }
    cut_add(c, o); /* footer */
    cut_add(c, o + 1);
    return o + 5;
}

/* A checkpoint from its REQUEST to the end of its blob. */
static uint64_t walk_checkpoint(const uint8_t *s, uint64_t o, Cuts *c,
                                bool dense)
{
    uint64_t n;

    cut_add(c, o);
    cut_add(c, o + 2);
    cut_add(c, o + 4); /* VMSTATE_SEND */
    o += 8;
    for (;;) {
        cut_add(c, o);
        if (s[o] == WIRE_VM_EOF) {
            o++;
            break;
        }
        cut_add(c, o + 1);
        o = walk_records(s, o + 5, c, dense, 2);
    }
    cut_add(c, o); /* VMSTATE_SIZE */
    cut_add(c, o + 3);
    cut_add(c, o + 4); /* be64 */
    cut_add(c, o + 8);
    n = mf_be64_load(s + o + 4);
    o += 12;
    cut_add(c, o); /* blob */
    cut_add(c, o + 1);
    cut_add(c, o + n / 2);
    if (dense) {
        uint64_t i;

        for (i = 0; i < n; i += 997) {
            cut_add(c, o + i);
        }
    }
    cut_add(c, o + n - 1);
    return o + n;
}

/* Precopy: header, commands, ram sections, device region, vmdesc. */
static void walk_precopy(const uint8_t *s, uint64_t end, Cuts *c, bool dense)
{
    uint64_t o = 8, e;

    cut_add(c, 0);
    cut_add(c, 1);
    cut_add(c, 4);
    for (;;) {
        uint8_t t = s[o];

        cut_add(c, o);
        cut_add(c, o + 1);
        if (t == WIRE_VM_CONFIGURATION) {
            o += 5 + mf_be32_load(s + o + 1);
        } else if (t == WIRE_VM_COMMAND) {
            cut_add(c, o + 3);
            o += 5 + mf_be16_load(s + o + 3);
        } else if (t == WIRE_VM_SECTION_START) {
            cut_add(c, o + 6);
            o += 6 + s[o + 5] + 8;
            o = walk_records(s, o, c, dense, 3);
        } else if (t == WIRE_VM_SECTION_PART || t == WIRE_VM_SECTION_END) {
            o = walk_records(s, o + 5, c, dense, 3);
        } else {
            break; /* SECTION_FULL: the device region */
        }
    }
    /* QEMU_VM_EOF + vmdesc: the 0x00 0x06 be32(len) that ends at @end */
    for (e = end - 6; e > o; e--) {
        if (s[e] == 0 && s[e + 1] == WIRE_VM_VMDESCRIPTION &&
            e + 6 + mf_be32_load(s + e + 2) == end) {
            break;
        }
    }
    assert_true(e > o);
    cut_add(c, o + 20);
    cut_add(c, (o + e) / 2);
    if (dense) {
        uint64_t i;

        for (i = o; i < e; i += 211) {
            cut_add(c, i);
        }
    }
    cut_add(c, e - 5); /* last footer */
    cut_add(c, e);     /* EOF */
    cut_add(c, e + 1); /* VMDESCRIPTION */
    cut_add(c, e + 2);
    cut_add(c, e + 6); /* JSON */
    cut_add(c, e + 6 + 13);
    cut_add(c, end - 1);
}

/* ---- running variants ---- */

typedef struct Capture {
    const char *dir;
    int nchannels;
    ConfBuf main;
    ConfRef ref;
    char main_path[1024];
    char chan_path[2][1024];
} Capture;

static void capture_load(Capture *cap, const char *dir, int nchannels)
{
    char rel[256];
    const char *args[8];
    int n = 0, i;

    memset(cap, 0, sizeof(*cap));
    cap->dir = dir;
    cap->nchannels = nchannels;
    snprintf(rel, sizeof(rel), COLO "%s/conn-0.bin", dir);
    cap->main = conf_read(rel);
    conf_path(cap->main_path, sizeof(cap->main_path), rel);
    args[n++] = "--main";
    args[n++] = cap->main_path;
    for (i = 0; i < nchannels; i++) {
        snprintf(rel, sizeof(rel), COLO "%s/conn-%d.bin", dir, i + 1);
        conf_path(cap->chan_path[i], sizeof(cap->chan_path[i]), rel);
        args[n++] = "--channel";
        args[n++] = cap->chan_path[i];
    }
    args[n] = NULL;
    conf_ref_build(&cap->ref, args);
}

static void capture_free(Capture *cap)
{
    conf_buf_free(&cap->main);
    conf_ref_free(&cap->ref);
    conf_tmp_cleanup();
}

typedef struct Expect {
    const ConfRef *ref;
    long stage; /* memory expected at the end; -2: don't check */
    char failure[300];
} Expect;

static void end_check(void *opaque, const RamTable *ram, int status)
{
    Expect *x = opaque;

    (void)status;
    if (x->stage >= -1 && !conf_ref_check(x->ref, ram, x->stage, x->failure,
                                          sizeof(x->failure))) {
        return;
    }
}

/*
 * Replay @main (the capture's channels unless @chans given) and check:
 * status 0 and nothing on stderr when @where is NULL, else one error line
 * for @where at @offset; memory = @stage.
 */
static void run_variant(Capture *cap, const uint8_t *main, size_t len,
                        const char **chans, const char *where, uint64_t offset,
                        long stage)
{
    const char *args[12];
    char mpath[1024];
    ReplayObserver obs = { 0 };
    Expect x = { 0 };
    ConfRun r;
    int n = 0, i;

    snprintf(mpath, sizeof(mpath), "%s", conf_tmp_write("main.bin", main, len));
    args[n++] = "--main";
    args[n++] = mpath;
    for (i = 0; i < cap->nchannels; i++) {
        args[n++] = "--channel";
        args[n++] = chans ? chans[i] : cap->chan_path[i];
    }
    args[n] = NULL;
    x.ref = &cap->ref;
    x.stage = stage;
    obs.opaque = &x;
    obs.quiet = true;
    obs.end = end_check;
    conf_replay(&r, &obs, args);
    if (where) {
        conf_assert_error_line(&r, strcmp(where, "*") ? where : NULL, offset);
    } else {
        if (r.status != 0) {
            print_error("main of %zu bytes: want success, got %d: %s\n", len,
                        r.status, r.err);
        }
        assert_int_equal(r.status, 0);
        assert_int_equal(r.err_len, 0);
    }
    if (x.failure[0]) {
        print_error("%s (variant of %s, %zu bytes): %s\n", where ? where : "",
                    cap->dir, len, x.failure);
        fail();
    }
    conf_run_free(&r);
}

/* Memory stage a secondary holds when the main stream stops at @cut. */
static long stage_at(const ConfRef *ref, uint64_t cut, bool *clean)
{
    size_t k;

    *clean = false;
    if (cut < ref->precopy_end) {
        return -2; /* a failed precopy: nothing to keep */
    }
    if (cut == ref->precopy_end) {
        *clean = true;
        return -1;
    }
    for (k = 0; k < ref->nstages; k++) {
        if (cut < ref->cp_end[k]) {
            return (long)k - 1;
        }
        if (cut == ref->cp_end[k]) {
            *clean = true;
            return (long)k;
        }
    }
    *clean = true; /* past the last checkpoint: trailing REQUEST... */
    return (long)ref->nstages - 1;
}

static void truncation_sweep(const char *dir, int nchannels, const size_t *cps,
                             size_t ncps, bool precopy)
{
    Capture cap;
    Cuts c = { 0 };
    size_t i;
    uint64_t end;

    capture_load(&cap, dir, nchannels);
    if (precopy || conf_full) {
        walk_precopy(cap.main.data, cap.ref.precopy_end, &c, conf_full);
    } else {
        cut_add(&c, 0);
        cut_add(&c, cap.ref.precopy_end / 2);
        cut_add(&c, cap.ref.precopy_end - 1);
    }
    end = cap.ref.precopy_end;
    for (i = 0; i < cap.ref.nstages; i++) {
        bool pick = conf_full;
        size_t j;

        for (j = 0; j < ncps; j++) {
            pick |=
                cps[j] == i || (cps[j] == SIZE_MAX && i == cap.ref.nstages - 1);
        }
        assert_int_equal(cap.ref.cp_start[i], end);
        if (pick) {
            end = walk_checkpoint(cap.main.data, end, &c, conf_full);
            assert_int_equal(end, cap.ref.cp_end[i]);
        } else {
            cut_add(&c, end);
            end = cap.ref.cp_end[i];
        }
    }
    assert_int_equal(end, cap.main.len);
    cut_add(&c, end);
    for (i = 0; i < c.n; i++) {
        bool clean;
        long stage = stage_at(&cap.ref, c.off[i], &clean);

        if (clean && nchannels && c.off[i] < cap.main.len) {
            /* The channels still carry a checkpoint the main stream
             * never announced: a channel error, memory of @stage. */
            run_variant(&cap, cap.main.data, c.off[i], NULL, "*", UINT64_MAX,
                        stage);
            continue;
        }
        run_variant(&cap, cap.main.data, c.off[i], NULL, clean ? NULL : "main",
                    c.off[i], stage);
    }
    print_message("%s: %zu truncations checked\n", dir, c.n);
    free(c.off);
    capture_free(&cap);
}

static void test_truncate_yank(void **state)
{
    static const size_t cps[] = { 0 };

    (void)state;
    truncation_sweep("tcg-workload-yank", 0, cps, 1, true);
}

static void test_truncate_kill(void **state)
{
    static const size_t cps[] = { 1 };

    (void)state;
    truncation_sweep("kvm-workload-kill", 0, cps, 1, false);
}

static void test_truncate_multifd(void **state)
{
    static const size_t cps[] = { 0 };

    (void)state;
    truncation_sweep("kvm-multifd2", 2, cps, 1, false);
}

/* kvm-multifd2: cut a multifd channel at packet boundaries and inside. */
static void test_truncate_channels(void **state)
{
    Capture cap;
    int ch;

    (void)state;
    capture_load(&cap, "kvm-multifd2", 2);
    for (ch = 0; ch < 2; ch++) {
        char rel[64], name[32], cpath[1024];
        const char *chans[2];
        ConfBuf f;
        Cuts c = { 0 };
        uint64_t o = 64, ok_from = 0, pre_from = 0;
        unsigned syncs = 0;
        size_t i;
        uint8_t id;

        snprintf(rel, sizeof(rel), COLO "kvm-multifd2/conn-%d.bin", ch + 1);
        f = conf_read(rel);
        id = f.data[24];
        cut_add(&c, 0);
        cut_add(&c, 30);
        while (o < f.len) {
            uint32_t flags = mf_be32_load(f.data + o + 8);
            uint32_t normal = mf_be32_load(f.data + o + 16);
            uint64_t next = o + 1344 + (uint64_t)normal * PAGE;

            cut_add(&c, o);
            cut_add(&c, o + 12);
            if (normal && (conf_full || syncs >= 3)) {
                cut_add(&c, o + 1344 + PAGE / 2);
            }
            if (flags & 1) {
                syncs++;
                if (syncs == 3) {
                    pre_from = next; /* precopy's last SYNC complete */
                }
                if (syncs == 4) {
                    ok_from = next; /* checkpoint 0's SYNC complete */
                }
            }
            o = next;
        }
        assert_int_equal(o, f.len);
        assert_int_equal(syncs, 4); /* 3 precopy EOS + checkpoint 0 */
        snprintf(name, sizeof(name), "chan%d.bin", ch);
        for (i = 0; i < c.n; i++) {
            uint64_t cut = c.off[i];
            char where[32];
            long stage;

            snprintf(cpath, sizeof(cpath), "%s",
                     conf_tmp_write(name, f.data, cut));
            chans[ch] = cpath;
            chans[1 - ch] = cap.chan_path[1 - ch];
            snprintf(where, sizeof(where), "multifd %u", id);
            /* cut inside checkpoint 0's data: precopy memory; before
             * that the precopy itself failed: nothing to keep */
            stage = cut >= pre_from ? -1 : -2;
            if (cut >= ok_from && (cut - ok_from) % 1344 == 0) {
                /* only empty packets after the last SYNC were cut */
                run_variant(&cap, cap.main.data, cap.main.len, chans, NULL, 0,
                            0);
            } else if (cut >= ok_from) {
                /* checkpoint 0 applied, then a torn trailing packet */
                run_variant(&cap, cap.main.data, cap.main.len, chans, where,
                            cut, 0);
            } else {
                run_variant(&cap, cap.main.data, cap.main.len, chans,
                            cut < 64 ? "*" : where, cut, stage);
            }
        }
        print_message("channel %u: %zu truncations checked\n", id, c.n);
        free(c.off);
        conf_buf_free(&f);
    }
    capture_free(&cap);
}

/* ---- patched variants ---- */

static uint8_t *patched(const Capture *cap)
{
    uint8_t *m = malloc(cap->main.len);

    assert_non_null(m);
    memcpy(m, cap->main.data, cap->main.len);
    return m;
}

/* Offset of checkpoint @k's VMSTATE_SIZE message. */
static uint64_t vmstate_size_at(const Capture *cap, size_t k)
{
    const uint8_t *s = cap->main.data;
    uint64_t end = cap->ref.cp_end[k];
    uint64_t o;

    /* the blob ends at cp_end: find VMSTATE_SIZE be64 that matches */
    for (o = cap->ref.cp_start[k]; o + 12 <= end; o++) {
        if (mf_be32_load(s + o) == WIRE_COLO_VMSTATE_SIZE &&
            o + 12 + mf_be64_load(s + o + 4) == end) {
            return o;
        }
    }
    fail();
    return 0;
}

static void test_vmstate_size_lie(void **state)
{
    Capture cap;
    uint8_t *m;
    uint64_t at, n;
    size_t last;

    (void)state;
    capture_load(&cap, "kvm-workload-kill", 0);
    last = cap.ref.nstages - 1;
    m = patched(&cap);
    at = vmstate_size_at(&cap, last);
    n = mf_be64_load(m + at + 4);
    mf_be64_store(m + at + 4, n + 1000);
    run_variant(&cap, m, cap.main.len, NULL, "main", cap.main.len,
                (long)last - 1);
    free(m);
    capture_free(&cap);
}

static void test_vmstate_size_huge(void **state)
{
    Capture cap;
    uint8_t *m;
    uint64_t at;

    (void)state;
    capture_load(&cap, "kvm-workload-kill", 0);
    m = patched(&cap);
    at = vmstate_size_at(&cap, 7);
    mf_be64_store(m + at + 4, 1ull << 40);
    run_variant(&cap, m, cap.main.len, NULL, "main", at + 4, 6);
    free(m);
    capture_free(&cap);
}

static void test_unknown_message(void **state)
{
    Capture cap;
    uint8_t *m;
    uint64_t at;

    (void)state;
    capture_load(&cap, "kvm-workload-kill", 0);
    /* CHECKPOINT_REQUEST of checkpoint 4 becomes 7 */
    m = patched(&cap);
    at = cap.ref.cp_start[4];
    mf_be32_store(m + at, 7);
    run_variant(&cap, m, cap.main.len, NULL, "main", at, 3);
    free(m);
    /* VMSTATE_SEND of checkpoint 9 becomes 0x1234 */
    m = patched(&cap);
    at = cap.ref.cp_start[9] + 4;
    mf_be32_store(m + at, 0x1234);
    run_variant(&cap, m, cap.main.len, NULL, "main", at, 8);
    free(m);
    capture_free(&cap);
}

static void test_message_out_of_order(void **state)
{
    Capture cap;
    uint8_t *m;
    uint64_t at;

    (void)state;
    capture_load(&cap, "tcg-workload-yank", 0);
    /* REQUEST replaced by VMSTATE_SEND */
    m = patched(&cap);
    at = cap.ref.cp_start[0];
    mf_be32_store(m + at, WIRE_COLO_VMSTATE_SEND);
    run_variant(&cap, m, cap.main.len, NULL, "main", at, -1);
    free(m);
    /* VMSTATE_SIZE replaced by VMSTATE_RECEIVED (a secondary message) */
    m = patched(&cap);
    at = vmstate_size_at(&cap, 0);
    mf_be32_store(m + at, WIRE_COLO_VMSTATE_RECEIVED);
    run_variant(&cap, m, cap.main.len, NULL, "main", at, -1);
    free(m);
    /* a second CHECKPOINT_REQUEST instead of VMSTATE_SEND */
    m = patched(&cap);
    at = cap.ref.cp_start[0] + 4;
    mf_be32_store(m + at, WIRE_COLO_CHECKPOINT_REQUEST);
    run_variant(&cap, m, cap.main.len, NULL, "main", at, -1);
    free(m);
    capture_free(&cap);
}

static void test_unknown_block(void **state)
{
    Capture cap;
    uint8_t *m;
    uint64_t rec, name;

    (void)state;
    capture_load(&cap, "kvm-workload-kill", 0);
    /* checkpoint 0: REQUEST SEND END(5) word(8) then "pc.ram" */
    rec = cap.ref.cp_start[0] + 4 + 4 + 5;
    name = rec + 8;
    assert_int_equal(cap.main.data[name], 6);
    assert_memory_equal(cap.main.data + name + 1, "pc.ram", 6);
    m = patched(&cap);
    m[name + 6] = 'x';
    run_variant(&cap, m, cap.main.len, NULL, "main", name, -1);
    free(m);
    capture_free(&cap);
}

static void test_continue_without_block(void **state)
{
    Capture cap;
    uint8_t *m;
    uint64_t part, rec;

    (void)state;
    capture_load(&cap, "tcg-workload-yank", 0);
    /* the first record of the precopy SECTION_PART names a block */
    part = 201;
    assert_int_equal(cap.main.data[part], WIRE_VM_SECTION_PART);
    rec = part + 5;
    assert_int_equal(cap.main.data[rec + 7] & WIRE_RAM_CONTINUE, 0);
    m = patched(&cap);
    m[rec + 7] |= WIRE_RAM_CONTINUE;
    run_variant(&cap, m, cap.main.len, NULL, "main", rec, -2);
    free(m);
    capture_free(&cap);
}

static void test_returnpath_hostile(void **state)
{
    Capture cap;
    uint8_t *m;

    (void)state;
    capture_load(&cap, "tcg-returnpath", 0);
    /* OPEN_RETURN_PATH at 26 becomes POSTCOPY_ADVISE */
    assert_int_equal(mf_be16_load(cap.main.data + 27), 1);
    m = patched(&cap);
    mf_be16_store(m + 27, 3);
    run_variant(&cap, m, cap.main.len, NULL, "main", 27, -2);
    /* without OPEN_RETURN_PATH the PING has no return path */
    mf_be16_store(m + 27, WIRE_CMD_ENABLE_COLO);
    mf_be16_store(m + 41, 1); /* ENABLE_COLO at 40 -> OPEN_RP */
    run_variant(&cap, m, cap.main.len, NULL, "main", 31, -2);
    free(m);
    capture_free(&cap);
}

/*
 * A multifd packet of the QEMU 7.2 zstd and zlib precopy captures that
 * announces one normal page more than its payload holds (normal_pages
 * + 1, the extra offset a copy of the first): the payload inflates to
 * one page short, which must end the run with the codec's refusal on
 * that channel at the end of the payload, naming the byte counts.
 */
static void test_short_output(void **state)
{
    static const char *const comps[2] = { "zstd", "zlib" };
    size_t k;

    (void)state;
    for (k = 0; k < 2; k++) {
        char rel[128], mpath[1024], c2path[1024], cpath[1024];
        char where[32], want[200];
        const char *args[16];
        uint64_t o = 64, at = 0;
        uint32_t normal = 0, next = 0;
        unsigned seen = 0;
        ConfBuf f;
        ConfRun r;
        uint8_t *m;
        int n = 0;

        snprintf(rel, sizeof(rel), "qemu-7.2/%s-2ch/conn-0.bin", comps[k]);
        conf_path(mpath, sizeof(mpath), rel);
        snprintf(rel, sizeof(rel), "qemu-7.2/%s-2ch/conn-2.bin", comps[k]);
        conf_path(c2path, sizeof(c2path), rel);
        snprintf(rel, sizeof(rel), "qemu-7.2/%s-2ch/conn-1.bin", comps[k]);
        f = conf_read(rel);
        /* the third packet with pages, and room for one page more */
        while (o + 1344 <= f.len) {
            uint32_t nn = mf_be32_load(f.data + o + 16);
            uint32_t nx = mf_be32_load(f.data + o + 20);

            assert_int_equal(mf_be32_load(f.data + o), 0x11223344);
            if (nn && nn < 128 && ++seen == 3) {
                at = o;
                normal = nn;
                next = nx;
                break;
            }
            o += 1344 + (nn ? nx : 0);
        }
        assert_int_equal(seen, 3);
        m = malloc(f.len);
        assert_non_null(m);
        memcpy(m, f.data, f.len);
        mf_be32_store(m + at + 16, normal + 1);
        mf_be64_store(m + at + 320 + 8 * (uint64_t)normal,
                      mf_be64_load(m + at + 320));
        snprintf(cpath, sizeof(cpath), "%s",
                 conf_tmp_write("short.bin", m, f.len));
        args[n++] = "--main";
        args[n++] = mpath;
        args[n++] = "--channel";
        args[n++] = cpath;
        args[n++] = "--channel";
        args[n++] = c2path;
        args[n++] = "--compression";
        args[n++] = comps[k];
        args[n++] = "--uuid";
        args[n++] = "6d756c74-6966-6463-6170-747572652121";
        args[n] = NULL;
        conf_replay(&r, NULL, args);
        snprintf(where, sizeof(where), "multifd %u", f.data[24]);
        conf_assert_error_line(&r, where, at + 1344 + next);
        snprintf(want, sizeof(want),
                 ": %s payload of %u bytes gave %u bytes, expected %u "
                 "pages x 4096 = %u\n",
                 comps[k], next, normal * 4096, normal + 1,
                 (normal + 1) * 4096);
        if (!strstr(r.err, want)) {
            print_error("want \"%s\" in: %s", want, r.err);
            fail();
        }
        print_message("%s: packet at %llu of multifd %u: %s", comps[k],
                      (unsigned long long)at, f.data[24], r.err);
        conf_run_free(&r);
        free(m);
        conf_buf_free(&f);
    }
    conf_tmp_cleanup();
}

/* Replay the QEMU 7.2 "<comp>-2ch" capture with @chan1 as conn-1. */
static void replay_precopy_2ch(ConfRun *r, const char *comp, const char *chan1)
{
    char rel[128], mpath[1024], c1path[1024], c2path[1024];
    const char *args[16];
    int n = 0;

    snprintf(rel, sizeof(rel), "qemu-7.2/%s-2ch/conn-0.bin", comp);
    conf_path(mpath, sizeof(mpath), rel);
    snprintf(rel, sizeof(rel), "qemu-7.2/%s-2ch/conn-1.bin", comp);
    conf_path(c1path, sizeof(c1path), rel);
    snprintf(rel, sizeof(rel), "qemu-7.2/%s-2ch/conn-2.bin", comp);
    conf_path(c2path, sizeof(c2path), rel);
    args[n++] = "--main";
    args[n++] = mpath;
    args[n++] = "--channel";
    args[n++] = chan1 ? chan1 : c1path;
    args[n++] = "--channel";
    args[n++] = c2path;
    args[n++] = "--compression";
    args[n++] = comp;
    args[n++] = "--uuid";
    args[n++] = "6d756c74-6966-6463-6170-747572652121";
    args[n] = NULL;
    conf_replay(r, NULL, args);
}

/*
 * QEMU gap 6 on real QEMU 7.2 zstd and zlib channels: in conn-1 the first
 * packet with pages becomes one with no normal page and one zero page
 * (its first offset), next_packet_size and payload kept.  QEMU asserts
 * next_packet_size == 0 there; mfcolo refuses the packet at that field:
 * CODEC_ERR_UNEXPECTED_PAYLOAD on the channel at packet + 20.
 */
static void test_payload_without_pages(void **state)
{
    static const char *const comps[2] = { "zstd", "zlib" };
    size_t k;

    (void)state;
    for (k = 0; k < 2; k++) {
        char rel[128], cpath[1024], where[32], want[200];
        uint64_t o = 64, at = 0;
        uint32_t next = 0;
        ConfBuf f;
        ConfRun r;
        uint8_t *m;

        snprintf(rel, sizeof(rel), "qemu-7.2/%s-2ch/conn-1.bin", comps[k]);
        f = conf_read(rel);
        while (o + 1344 <= f.len) {
            uint32_t nn = mf_be32_load(f.data + o + 16);
            uint32_t nx = mf_be32_load(f.data + o + 20);

            assert_int_equal(mf_be32_load(f.data + o), 0x11223344);
            if (nn) {
                at = o;
                next = nx;
                break;
            }
            o += 1344;
        }
        assert_true(next > 0);
        m = malloc(f.len);
        assert_non_null(m);
        memcpy(m, f.data, f.len);
        mf_be32_store(m + at + 16, 0); /* normal_pages */
        mf_be32_store(m + at + 32, 1); /* zero_pages: offsets[0] */
        snprintf(cpath, sizeof(cpath), "%s",
                 conf_tmp_write("nopages.bin", m, f.len));
        replay_precopy_2ch(&r, comps[k], cpath);
        snprintf(where, sizeof(where), "multifd %u", f.data[24]);
        conf_assert_error_line(&r, where, at + 20);
        snprintf(want, sizeof(want),
                 ": next_packet_size %u in a %s packet without normal pages "
                 "(must be 0)\n",
                 next, comps[k]);
        if (!strstr(r.err, want)) {
            print_error("want \"%s\" in: %s", want, r.err);
            fail();
        }
        print_message("%s: packet at %llu: %s", comps[k],
                      (unsigned long long)at, r.err);
        conf_run_free(&r);
        free(m);
        conf_buf_free(&f);
    }
    conf_tmp_cleanup();
}

/*
 * QEMU gap 7, its multifd form, on a real QEMU 7.2 channel: in conn-1
 * the first packet with pages names the block "nosuch" (QEMU: "multifd:
 * unknown ram block").  mfcolo refuses it at the name, packet + 64:
 * RAM_ERR_UNKNOWN_BLOCK on that channel.
 */
static void test_multifd_unknown_block(void **state)
{
    char cpath[1024], where[32], want[200];
    uint64_t o = 64, at = UINT64_MAX;
    ConfBuf f;
    ConfRun r;
    uint8_t *m;

    (void)state;
    f = conf_read("qemu-7.2/zstd-2ch/conn-1.bin");
    while (o + 1344 <= f.len) {
        uint32_t nn = mf_be32_load(f.data + o + 16);

        assert_int_equal(mf_be32_load(f.data + o), 0x11223344);
        if (nn) {
            at = o;
            break;
        }
        o += 1344;
    }
    assert_true(at != UINT64_MAX);
    m = malloc(f.len);
    assert_non_null(m);
    memcpy(m, f.data, f.len);
    memset(m + at + 64, 0, 256);
    memcpy(m + at + 64, "nosuch", 6);
    snprintf(cpath, sizeof(cpath), "%s",
             conf_tmp_write("unknown.bin", m, f.len));
    replay_precopy_2ch(&r, "zstd", cpath);
    snprintf(where, sizeof(where), "multifd %u", f.data[24]);
    conf_assert_error_line(&r, where, at + 64);
    snprintf(want, sizeof(want), ": unknown RAM block \"nosuch\"\n");
    if (!strstr(r.err, want)) {
        print_error("want \"%s\" in: %s", want, r.err);
        fail();
    }
    print_message("%s", r.err);
    conf_run_free(&r);
    free(m);
    conf_buf_free(&f);
    conf_tmp_cleanup();
}

/*
 * QEMU gap 8 on a real QEMU 7.2 channel: in nocomp conn-1 the first
 * packet with pages gets the device-state flag (0x40) and
 * next_packet_size 0xffffffff (QEMU would g_malloc that much).  mfcolo,
 * with no device-state handler (mfcolo-replay has none), refuses it at
 * the flags before reading or allocating anything: RECV_ERR_DEVICE_STATE.
 */
static void test_devstate_without_handler(void **state)
{
    char mpath[1024], c2path[1024], cpath[1024], where[32];
    const char *args[12];
    uint64_t o = 64, at = UINT64_MAX;
    ConfBuf f;
    ConfRun r;
    uint8_t *m;
    int n = 0;

    (void)state;
    f = conf_read("qemu-7.2/nocomp-2ch/conn-1.bin");
    while (o + 1344 <= f.len) {
        uint32_t nn = mf_be32_load(f.data + o + 16);

        assert_int_equal(mf_be32_load(f.data + o), 0x11223344);
        if (nn) {
            at = o;
            break;
        }
        o += 1344;
    }
    assert_true(at != UINT64_MAX);
    assert_int_equal(mf_be32_load(f.data + at + 8), 0);
    m = malloc(f.len);
    assert_non_null(m);
    memcpy(m, f.data, f.len);
    mf_be32_store(m + at + 8, 0x40);
    mf_be32_store(m + at + 20, 0xffffffff);
    snprintf(cpath, sizeof(cpath), "%s",
             conf_tmp_write("devstate.bin", m, f.len));
    conf_path(mpath, sizeof(mpath), "qemu-7.2/nocomp-2ch/conn-0.bin");
    conf_path(c2path, sizeof(c2path), "qemu-7.2/nocomp-2ch/conn-2.bin");
    args[n++] = "--main";
    args[n++] = mpath;
    args[n++] = "--channel";
    args[n++] = cpath;
    args[n++] = "--channel";
    args[n++] = c2path;
    args[n++] = "--uuid";
    args[n++] = "6d756c74-6966-6463-6170-747572652121";
    args[n] = NULL;
    conf_replay(&r, NULL, args);
    snprintf(where, sizeof(where), "multifd %u", f.data[24]);
    conf_assert_error_line(&r, where, at + 8);
    if (!strstr(r.err, ": device-state packet (flags 0x40) but no "
                       "device-state handler\n")) {
        print_error("unexpected: %s", r.err);
        fail();
    }
    print_message("%s", r.err);
    conf_run_free(&r);
    free(m);
    conf_buf_free(&f);
    conf_tmp_cleanup();
}

/*
 * QEMU gap 5 with real bytes: the MEM_SIZE list of the QEMU 7.2 nocomp
 * capture declares "/rom@etc/acpi/rsdp" 2048 bytes long instead of 4096
 * (pc.ram 2048 bytes longer, so the total stays whole pages).  QEMU's
 * bound used_length - page_size wraps for such a block; mfcolo refuses
 * the first page sent to it, on the multifd channel that carries it, at
 * that page's offset slot: RAM_ERR_BLOCK_TOO_SMALL.
 */
static void test_block_smaller_than_page(void **state)
{
    static const char rsdp[] = "/rom@etc/acpi/rsdp";
    const char *args[16];
    char mpath[1024], cpath[2][1024], rel[128], where[32], want[300];
    uint64_t at = UINT64_MAX;
    uint8_t *m, *p;
    ConfBuf mc, ch;
    ConfRun r;
    unsigned id = 0;
    int c, n = 0;

    (void)state;
    mc = conf_read("qemu-7.2/nocomp-2ch/conn-0.bin");
    m = malloc(mc.len);
    assert_non_null(m);
    memcpy(m, mc.data, mc.len);
    p = memmem(m, mc.len, "\x06pc.ram", 7);
    assert_non_null(p);
    mf_be64_store(p + 7, mf_be64_load(p + 7) + 2048);
    p = memmem(m, mc.len, rsdp, sizeof(rsdp) - 1);
    assert_non_null(p);
    assert_int_equal(mf_be64_load(p + sizeof(rsdp) - 1), 4096);
    mf_be64_store(p + sizeof(rsdp) - 1, 2048);
    snprintf(mpath, sizeof(mpath), "%s",
             conf_tmp_write("small.bin", m, mc.len));
    /* the packet that carries the block's page, and its offset slot */
    for (c = 0; c < 2; c++) {
        uint64_t o = 64;

        snprintf(rel, sizeof(rel), "qemu-7.2/nocomp-2ch/conn-%d.bin", c + 1);
        conf_path(cpath[c], sizeof(cpath[c]), rel);
        ch = conf_read(rel);
        while (at == UINT64_MAX && o + 1344 <= ch.len) {
            uint32_t nn = mf_be32_load(ch.data + o + 16);

            assert_int_equal(mf_be32_load(ch.data + o), 0x11223344);
            if (nn && !strcmp((const char *)ch.data + o + 64, rsdp)) {
                uint32_t i = 0;

                while (mf_be64_load(ch.data + o + 320 + 8 * (uint64_t)i)) {
                    i++;
                }
                at = o + 320 + 8 * (uint64_t)i;
                id = ch.data[24];
            }
            o += 1344 + 4096 * (uint64_t)nn;
        }
        conf_buf_free(&ch);
    }
    assert_true(at != UINT64_MAX);
    args[n++] = "--main";
    args[n++] = mpath;
    args[n++] = "--channel";
    args[n++] = cpath[0];
    args[n++] = "--channel";
    args[n++] = cpath[1];
    args[n++] = "--uuid";
    args[n++] = "6d756c74-6966-6463-6170-747572652121";
    args[n] = NULL;
    conf_replay(&r, NULL, args);
    snprintf(where, sizeof(where), "multifd %u", id);
    conf_assert_error_line(&r, where, at);
    snprintf(want, sizeof(want),
             ": RAM block \"%s\": used_length 2048 is smaller than "
             "page_size 4096 (offset 0)\n",
             rsdp);
    if (!strstr(r.err, want)) {
        print_error("want \"%s\" in: %s", want, r.err);
        fail();
    }
    print_message("%s", r.err);
    conf_run_free(&r);
    free(m);
    conf_buf_free(&mc);
    conf_tmp_cleanup();
}

/*
 * QEMU gap 14 with real bytes: QEMU 7.2's multifd channel conn-1 offered
 * as the main channel (QEMU asserts migrate_multifd() on a multifd
 * connection without the capability).  mfcolo refuses it at byte 0, the
 * one error line naming the multifd magic.
 */
static void test_multifd_as_main(void **state)
{
    char mpath[1024];
    const char *args[4];
    ConfRun r;

    (void)state;
    conf_path(mpath, sizeof(mpath), "qemu-7.2/nocomp-2ch/conn-1.bin");
    args[0] = "--main";
    args[1] = mpath;
    args[2] = NULL;
    conf_replay(&r, NULL, args);
    conf_assert_error_line(&r, "main", 0);
    assert_string_equal(r.err, "mfcolo-replay: main: offset 0: stream magic "
                               "0x11223344, expected 0x5145564d (QEVM)\n");
    conf_run_free(&r);
}

/*
 * The compressed payload bound (2 x 512 KiB, the same for every method)
 * on a real QEMU 7.2 zstd channel: a packet whose payload is padded with
 * empty raw blocks (3 bytes each, they decode to nothing) to exactly
 * 1048576 bytes loads the same memory as the clean capture (the same
 * digest of every block); with next_packet_size 1048577 (one byte more
 * on the wire) the run ends on that channel at the field.  (zlib's
 * padding, 5-byte empty stored blocks, is recv/channel-bounds'.)
 */
static void test_payload_at_bound(void **state)
{
    static const char *const comps[1] = { "zstd" };
    static const uint8_t empty_raw[3] = { 0, 0, 0 };
    const uint32_t max = 1048576;
    size_t k;

    (void)state;
    for (k = 0; k < 1; k++) {
        size_t elen = sizeof(empty_raw);
        char rel[128], cpath[1024], where[32], want[200];
        uint64_t o = 64, at = 0;
        uint32_t next = 0, i;
        ConfRun clean, r;
        ConfBuf f;
        uint8_t *m, *p;
        size_t mlen;

        snprintf(rel, sizeof(rel), "qemu-7.2/%s-2ch/conn-1.bin", comps[k]);
        f = conf_read(rel);
        /* the first packet with pages whose padding is whole blocks */
        while (o + 1344 <= f.len) {
            uint32_t nn = mf_be32_load(f.data + o + 16);
            uint32_t nx = mf_be32_load(f.data + o + 20);

            if (nn && (max - nx) % elen == 0) {
                at = o;
                next = nx;
                break;
            }
            o += 1344 + (nn ? nx : 0);
        }
        assert_true(next > 0);
        mlen = f.len + (max - next) + 1;
        m = malloc(mlen);
        assert_non_null(m);
        memcpy(m, f.data, at + 1344 + next);
        mf_be32_store(m + at + 20, max);
        p = m + at + 1344 + next;
        for (i = 0; i < (max - next) / elen; i++) {
            memcpy(p, empty_raw, elen);
            p += elen;
        }
        memcpy(p, f.data + at + 1344 + next, f.len - (at + 1344 + next));
        snprintf(cpath, sizeof(cpath), "%s",
                 conf_tmp_write("bound.bin", m, f.len + (max - next)));
        replay_precopy_2ch(&clean, comps[k], NULL);
        assert_int_equal(clean.status, 0);
        replay_precopy_2ch(&r, comps[k], cpath);
        if (r.status != 0) {
            print_error("%s at the bound: %s\n", comps[k], r.err);
        }
        assert_int_equal(r.status, 0);
        assert_int_equal(r.err_len, 0);
        assert_int_equal(r.out_len, clean.out_len);
        assert_memory_equal(r.out, clean.out, clean.out_len);
        conf_run_free(&r);
        conf_run_free(&clean);

        /* one byte more: next_packet_size 1048577, a byte appended */
        mf_be32_store(m + at + 20, max + 1);
        memmove(m + at + 1344 + max + 1, m + at + 1344 + max,
                f.len - (at + 1344 + next));
        m[at + 1344 + max] = 0;
        snprintf(cpath, sizeof(cpath), "%s",
                 conf_tmp_write("bound.bin", m, mlen));
        replay_precopy_2ch(&r, comps[k], cpath);
        snprintf(where, sizeof(where), "multifd %u", f.data[24]);
        conf_assert_error_line(&r, where, at + 20);
        snprintf(want, sizeof(want),
                 ": next_packet_size 1048577 exceeds the limit 1048576 "
                 "(2 x 524288)\n");
        if (!strstr(r.err, want)) {
            print_error("want \"%s\" in: %s", want, r.err);
            fail();
        }
        print_message("%s: packet at %llu (payload %u bytes) padded to the "
                      "bound: same memory; one byte more: %s",
                      comps[k], (unsigned long long)at, next, r.err);
        conf_run_free(&r);
        free(m);
        conf_buf_free(&f);
    }
    conf_tmp_cleanup();
}

/* The memory reference itself catches a changed byte, touched or not. */
static void self_end(void *opaque, const RamTable *ram, int status)
{
    Expect *x = opaque;
    RamBlock *b = ram->blocks[0];
    char why[200];

    assert_int_equal(status, 0);
    assert_true(conf_ref_check(x->ref, ram, x->stage, why, sizeof(why)));
    b->host[0x1000000] ^= 1; /* never-touched page */
    assert_false(conf_ref_check(x->ref, ram, x->stage, why, sizeof(why)));
    b->host[0x1000000] ^= 1;
    b->host[0x10000] ^= 0x80; /* a checkpoint page */
    assert_false(conf_ref_check(x->ref, ram, x->stage, why, sizeof(why)));
    assert_false(conf_ref_check(x->ref, ram, -1, why, sizeof(why)));
    b->host[0x10000] ^= 0x80;
    x->stage = -3; /* checked */
}

static void test_ref_check_self(void **state)
{
    const char *args[3];
    ReplayObserver obs = { 0 };
    Expect x = { 0 };
    Capture cap;
    ConfRun r;

    (void)state;
    capture_load(&cap, "tcg-workload-yank", 0);
    assert_string_equal(cap.ref.names[0], "pc.ram");
    args[0] = "--main";
    args[1] = cap.main_path;
    args[2] = NULL;
    x.ref = &cap.ref;
    x.stage = 0;
    obs.opaque = &x;
    obs.quiet = true;
    obs.end = self_end;
    conf_replay(&r, &obs, args);
    assert_int_equal(x.stage, -3);
    conf_run_free(&r);
    capture_free(&cap);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncate_yank),
        cmocka_unit_test(test_truncate_kill),
        cmocka_unit_test(test_truncate_multifd),
        cmocka_unit_test(test_truncate_channels),
        cmocka_unit_test(test_vmstate_size_lie),
        cmocka_unit_test(test_vmstate_size_huge),
        cmocka_unit_test(test_unknown_message),
        cmocka_unit_test(test_message_out_of_order),
        cmocka_unit_test(test_unknown_block),
        cmocka_unit_test(test_continue_without_block),
        cmocka_unit_test(test_returnpath_hostile),
        cmocka_unit_test(test_short_output),
        cmocka_unit_test(test_payload_at_bound),
        cmocka_unit_test(test_payload_without_pages),
        cmocka_unit_test(test_multifd_unknown_block),
        cmocka_unit_test(test_devstate_without_handler),
        cmocka_unit_test(test_block_smaller_than_page),
        cmocka_unit_test(test_multifd_as_main),
        cmocka_unit_test(test_ref_check_self),
    };
    int rc;

    conf_init(argc, argv);
    rc = cmocka_run_group_tests_name("conformance-hostile", tests, NULL, NULL);
    conf_tmp_cleanup();
    return rc;
}
