/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A real QEMU primary against mfcolo's secondary (docs/qemu-tier.md,
 * docs/qemu-findings.md C6): a real qemu-system-x86_64 (TCG, -S, the
 * tier's machine, x-colo) migrates into mfcolo-vm -incoming, which is
 * set up as a COLO secondary (x-colo, return-path), then the pair should
 * run COLO checkpoints.
 *
 *   colo-primary NAME plain|multifd CHANNELS
 *
 * Checked, in order:
 *   - the primary's query-migrate status (every status seen is recorded,
 *     bounded wait) reaches "colo";
 *   - mfcolo's secondary enters COLO (CHECKPOINT_READY sent: phase
 *     "colo") and completes at least one checkpoint (REQUEST .. LOADED);
 *   - after failover (x-colo-lost-heartbeat on mfcolo, the primary killed
 *     by pid) mfcolo's pc.ram equals what the primary sent: the pages the
 *     test wrote before the migration (0x200000.., which the firmware
 *     never touches) exactly, against both the written bytes and the
 *     primary's pc.ram file; when the primary never ran its guest (no
 *     COLO) the whole of pc.ram, page for page.
 * Outcomes: ok, primary-never-colo (the primary went to "completed"
 * without entering COLO), primary-failed, no-colo-secondary,
 * no-checkpoint, mismatch.  An outcome other than ok must be listed for
 * NAME in expect/colo-primary-VERSION.txt (or colo-primary-MAJOR.MINOR;
 * format of expect/colo-7.2.txt); MFCOLO_QEMU_GATE=1 expects ok.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "expect.h"
#include "libqtest.h"
#include "qemu-backend.h"

#define PAGE 4096u
#define BOUND_S 20.0
#define TEST_BASE 0x200000u
#define TEST_PAGES 64u

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double t0;

static void cp_log(const char *what)
{
    printf("# %.3f s: %s\n", now_s() - t0, what);
}

/* 64 pages of a byte pattern at TEST_BASE, every 8th page zero. */
static void test_pattern(uint8_t *buf)
{
    uint32_t i;

    for (i = 0; i < TEST_PAGES * PAGE; i++) {
        uint32_t pg = i / PAGE;

        buf[i] = pg % 8 == 0 ? 0 : (uint8_t)(pg * 31u + i * 7u + 1u);
    }
}

/*
 * Poll the primary's query-migrate until "colo", "completed" or
 * "failed", bounded; every distinct status is appended to @seq.
 */
static void primary_statuses(QTestState *src, char *st, size_t size, char *seq,
                             size_t seq_size)
{
    double end = now_s() + BOUND_S;
    char last[64] = "";

    st[0] = '\0';
    do {
        json_t *r = qtest_qmp_timeout(src, 2000,
                                      "{'execute': "
                                      "'query-migrate'}");
        const char *s = json_string_value(
            json_object_get(json_object_get(r, "return"), "status"));

        snprintf(st, size, "%s", s ? s : (r ? "" : "no-reply"));
        json_decref(r);
        if (strcmp(st, last)) {
            size_t n = strlen(seq);

            snprintf(seq + n, seq_size - n, "%s%s", n ? " > " : "", st);
            snprintf(last, sizeof(last), "%s", st);
            cp_log(st);
        }
        if (!strcmp(st, "colo") || !strcmp(st, "completed") ||
            !strcmp(st, "failed") || !strcmp(st, "no-reply")) {
            return;
        }
        usleep(5000);
    } while (now_s() < end);
}

/* mfcolo's secondary: phase and completed checkpoints. */
static void sec_state(QTestState *dst, char *phase, size_t size,
                      uint64_t *ckpts)
{
    json_t *q = qtest_qmp_ok(dst, "{'execute': 'x-mfcolo-query-colo'}");
    const char *p = json_string_value(json_object_get(q, "phase"));

    snprintf(phase, size, "%s", p ? p : "");
    *ckpts = (uint64_t)json_integer_value(json_object_get(q, "checkpoints"));
    json_decref(q);
}

/*
 * mfcolo's own account of the stream (its log lines "checkpoint N: ..."
 * and "incoming ended: ..."), printed; returns the syncs of checkpoint 1.
 */
static long sec_report(QTestState *dst)
{
    FILE *f = fopen(qtest_log_path(dst), "r");
    char line[512];
    long syncs = -1;

    if (!f) {
        qt_fail("cannot read mfcolo-vm's log %s", qtest_log_path(dst));
    }
    while (fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, "] checkpoint 1: ");
        const char *e = strstr(line, "incoming ended: ");

        if (p) {
            const char *z = strstr(p, " zero, ");

            if (z) {
                syncs = strtol(z + 7, NULL, 10);
            }
        }
        if (p || e) {
            printf("# mfcolo: %s", p ? p + 2 : e);
        }
    }
    fclose(f);
    return syncs;
}

/* First differing page of @len bytes (or -1), and how many differ. */
static long diff_pages(const uint8_t *a, const uint8_t *b, size_t len,
                       size_t *count)
{
    long first = -1;
    size_t off;

    *count = 0;
    for (off = 0; off < len; off += PAGE) {
        if (memcmp(a + off, b + off, PAGE)) {
            if (first < 0) {
                first = (long)off;
            }
            (*count)++;
        }
    }
    return first;
}

int main(int argc, char **argv)
{
    const char *name = argc == 4 ? argv[1] : NULL;
    bool multifd = argc == 4 && !strcmp(argv[2], "multifd");
    int channels = argc == 4 ? atoi(argv[3]) : 0;
    const char *bin, *from, *outcome = "ok";
    char vline[160], why[512], st[64], seq[512] = "";
    char phase[32] = "", detail[512] = "", want[128], file[4096];
    QTestOpts so = { 0 };
    QTestState *src, *dst;
    const QTestVersion *ver;
    uint64_t ckpts = 0;
    uint8_t *pat, *pmem, *smem;
    size_t ndiff;
    long first;
    bool colo;
    int port;
    double end;

    if (!name || (!multifd && strcmp(argv[2], "plain")) ||
        (multifd && (channels < 1 || channels > 255))) {
        fprintf(stderr, "usage: %s NAME plain|multifd CHANNELS\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    bin = qt_qemu_binary(&from);
    if (!qt_qemu_probe(bin, qt_timeout_ms(), vline, sizeof(vline), why,
                       sizeof(why))) {
        qt_fail("the QEMU under test (%s, from %s): %s", bin, from, why);
    }
    so.backend = QT_BACKEND_QEMU;
    so.binary = bin;
    src = qtest_start_opts("primary", &so);
    ver = qtest_version(src);
    qtest_version_print(src, stdout);

    dst = qtest_start_vm_for(src, "mfcolo");

    pat = malloc(TEST_PAGES * PAGE);
    pmem = malloc(QT_QEMU_RAM_SIZE);
    smem = malloc(QT_QEMU_RAM_SIZE);
    if (!pat || !pmem || !smem) {
        qt_fail("out of memory");
    }
    test_pattern(pat);
    qtest_memwrite(src, TEST_BASE, pat, TEST_PAGES * PAGE);

    qtest_qmp_assert_success(src,
                             "{'execute': 'migrate-set-capabilities', "
                             "'arguments': {'capabilities': ["
                             "{'capability': 'x-colo', 'state': true}, "
                             "{'capability': 'multifd', 'state': %s}]}}",
                             multifd ? "true" : "false");
    qtest_qmp_assert_success(dst,
                             "{'execute': 'migrate-set-capabilities', "
                             "'arguments': {'capabilities': ["
                             "{'capability': 'x-colo', 'state': true}, "
                             "{'capability': 'return-path', 'state': true}, "
                             "{'capability': 'multifd', 'state': %s}]}}",
                             multifd ? "true" : "false");
    qtest_qmp_assert_success(src, "{'execute': 'migrate-set-parameters', "
                                  "'arguments': {'x-checkpoint-delay': 300}}");
    if (multifd) {
        qtest_qmp_assert_success(src,
                                 "{'execute': 'migrate-set-parameters', "
                                 "'arguments': {'multifd-channels': %d}}",
                                 channels);
        qtest_qmp_assert_success(dst,
                                 "{'execute': 'migrate-set-parameters', "
                                 "'arguments': {'multifd-channels': %d}}",
                                 channels);
    }
    port = qtest_migrate_incoming_port(dst);

    t0 = now_s();
    qtest_qmp_assert_success(src,
                             "{'execute': 'migrate', 'arguments': {'uri': "
                             "'tcp:127.0.0.1:%d'}}",
                             port);
    primary_statuses(src, st, sizeof(st), seq, sizeof(seq));
    colo = !strcmp(st, "colo");
    printf("# primary's statuses: %s\n", seq);

    /* mfcolo: CHECKPOINT_READY (phase colo), then checkpoints. */
    end = now_s() + BOUND_S;
    do {
        sec_state(dst, phase, sizeof(phase), &ckpts);
        if (ckpts >= 1 || (!colo && strcmp(phase, "precopy"))) {
            break;
        }
        usleep(20000);
    } while (now_s() < end);
    snprintf(why, sizeof(why), "mfcolo phase %s, %" PRIu64 " checkpoint(s)",
             phase, ckpts);
    cp_log(why);

    if (!strcmp(st, "completed")) {
        outcome = "primary-never-colo";
        snprintf(detail, sizeof(detail),
                 "the primary went %s without entering COLO; mfcolo phase %s",
                 seq, phase);
    } else if (!colo) {
        outcome = "primary-failed";
        snprintf(detail, sizeof(detail), "the primary's statuses: %s", seq);
    } else if (strcmp(phase, "colo")) {
        outcome = "no-colo-secondary";
        snprintf(detail, sizeof(detail), "mfcolo phase %s", phase);
    } else if (ckpts < 1) {
        outcome = "no-checkpoint";
        snprintf(detail, sizeof(detail), "no checkpoint within %.0f s",
                 BOUND_S);
    }

    /* Failover, then the primary killed by pid. */
    json_decref(
        qtest_qmp_timeout(dst, 5000, "{'execute': 'x-colo-lost-heartbeat'}"));
    qtest_kill_wait(src, NULL);
    cp_log("failover: lost-heartbeat sent, primary killed");
    end = now_s() + BOUND_S;
    do {
        sec_state(dst, phase, sizeof(phase), &ckpts);
        if (strcmp(phase, "colo")) {
            break;
        }
        usleep(20000);
    } while (now_s() < end);
    snprintf(why, sizeof(why),
             "after failover: mfcolo phase %s, %" PRIu64 " checkpoint(s)",
             phase, ckpts);
    cp_log(why);

    /* Memory: mfcolo against the written pages and the primary's file. */
    if (!qtest_ram_read(src, 0, pmem, QT_QEMU_RAM_SIZE)) {
        qt_fail("reading the primary's pc.ram file %s: %s", qtest_ram_path(src),
                strerror(errno));
    }
    qtest_memread(dst, 0, smem, QT_QEMU_RAM_SIZE);
    if (memcmp(pmem + TEST_BASE, pat, TEST_PAGES * PAGE)) {
        qt_fail("the primary's own pc.ram lost the pages the test wrote");
    }
    first = diff_pages(pat, smem + TEST_BASE, TEST_PAGES * PAGE, &ndiff);
    if (first >= 0 && !strcmp(outcome, "ok")) {
        outcome = "mismatch";
        snprintf(detail, sizeof(detail),
                 "%zu of the %u written pages differ on mfcolo, first at "
                 "0x%lx",
                 ndiff, TEST_PAGES, TEST_BASE + (unsigned long)first);
    }
    first = diff_pages(pmem, smem, QT_QEMU_RAM_SIZE, &ndiff);
    printf("# pc.ram: %zu of %u pages differ between the primary's file "
           "and mfcolo%s\n",
           ndiff, QT_QEMU_RAM_SIZE / PAGE,
           colo ? " (the primary's guest ran after the last checkpoint)" : "");
    if (!colo && first >= 0 && !strcmp(outcome, "primary-never-colo")) {
        /* The primary never ran its guest: all of pc.ram must be equal. */
        outcome = "mismatch";
        snprintf(detail, sizeof(detail),
                 "pc.ram page 0x%lx differs (%zu pages) after a plain "
                 "precopy",
                 (unsigned long)first, ndiff);
    }

    if (sec_report(dst) == 0 && multifd && !strcmp(outcome, "ok")) {
        /* Checkpoint 1's pages did not come over multifd. */
        outcome = "no-multifd-sync";
        snprintf(detail, sizeof(detail),
                 "mfcolo's checkpoint 1 had no "
                 "multifd sync");
    }
    qemu_expect_lookup("colo-primary", ver, name, want, sizeof(want), file,
                       sizeof(file));
    if (strcmp(outcome, "ok")) {
        qtest_dump_log(dst);
    }
    qtest_quit(dst);
    qtest_quit(src);
    free(pat);
    free(pmem);
    free(smem);
    printf("%s outcome %s (%s) checkpoints-loaded %" PRIu64 " wall_ms %ld\n",
           name, outcome, detail[0] ? detail : "every check held", ckpts,
           (long)((now_s() - t0) * 1000));
    if (strcmp(want, outcome)) {
        printf("CHANGED: %s: expected %s (%s), got %s\n", name, want, file,
               outcome);
        return 1;
    }
    if (strcmp(outcome, "ok")) {
        printf("KNOWN DEFECT: %s: %s as recorded in %s\n", name, outcome, file);
    }
    printf("ok: %s %s\n", vline, name);
    return 0;
}
