/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COLO scenarios over two mfcolo-vm processes.
 *
 *   /migration/colo/{plain,multifd}/{primary,secondary}_failover[_checkpoint]
 *       QEMU's eight cases (tests/qtest/migration/colo-tests.c): COLO
 *       state, three completed checkpoints, for _checkpoint the secondary
 *       stopped inside the next checkpoint (the primary pauses there after
 *       CHECKPOINT_REPLY), then yank + x-colo-lost-heartbeat on the
 *       survivor, then the memory oracle on it.
 *   /mfcolo/colo/kill/<none|zstd>/<channels>/<stage>
 *       the kill matrix: the primary dies by SIGKILL at <stage> of
 *       checkpoint K (2..4, from the seed); the secondary must fail over
 *       onto exactly the last checkpoint it flushed.
 *
 * Usage: colo-test -p PATH (one scenario) | colo-test -l (list).
 * MFCOLO_SEED=N replays a seed (printed on failure).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "colo-harness.h"

static void test_qemu_case(const char *path, bool multifd,
                           bool primary_failover, bool mid_checkpoint)
{
    ColoArgs a = { 0 };
    ColoPair p;
    uint64_t sent;
    uint64_t done;

    a.multifd = multifd;
    a.compression = "none";
    a.channels = 4; /* MULTIFD_TEST_CHANNELS */
    a.seed = colo_seed_for(path);
    qt_set_seed(a.seed, path);
    colo_pair_start(&p, &a);
    colo_pair_migrate(&p);
    if (mid_checkpoint) {
        /* Hold the 4th checkpoint after REPLY: the secondary is stopped. */
        qtest_qmp_assert_success(
            p.from, "{'execute': 'x-mfcolo-pause-at', 'arguments': "
                    "{'stage': 'after-reply', 'checkpoint': 4}}");
    }
    colo_wait_checkpoints(&p, 3);
    if (mid_checkpoint) {
        qtest_qmp_eventwait(p.to, "STOP");
        qtest_qmp_eventwait(p.from, "X_MFCOLO_HOOK");
    }
    if (primary_failover) {
        colo_failover(&p, p.from);
        colo_check_primary(&p);
    } else {
        colo_failover(&p, p.to);
        colo_primary_counts(&p, &sent, &done);
        if (mid_checkpoint) {
            colo_check_secondary(&p, 3, 3);
        } else {
            colo_check_secondary(&p, 3, sent);
        }
    }
    colo_pair_end(&p);
}

static const char *const kill_stages[] = {
    "before-request", "after-reply", "ram-partial",
    "sync-partial",   "after-flush", "devstate-partial",
    "after-received", "in-flush",    "cut-channel",
};

static void test_kill(const char *path, const char *comp, int channels,
                      const char *stage, bool sender_72)
{
    ColoArgs a = { 0 };
    ColoPair p;
    uint64_t k;
    uint64_t want;
    int status = 0;
    json_t *ev;

    a.multifd = true;
    a.compression = comp;
    a.channels = channels;
    a.sender_72 = sender_72;
    a.checkpoint_delay_ms = 100;
    a.seed = colo_seed_for(path);
    qt_set_seed(a.seed, path);
    /* Half increment (check_guests_ram applies), then random, sequential. */
    a.workload = (a.seed >> 8) % 4 < 2    ? "increment"
                 : (a.seed >> 8) % 4 == 2 ? "random"
                                          : "sequential";

    k = 2 + a.seed % 3;
    want = (!strcmp(stage, "after-received") || !strcmp(stage, "in-flush"))
               ? k
               : k - 1;
    qt_log("%s: stage %s at checkpoint %" PRIu64 ", expect checkpoint %" PRIu64
           " on the survivor",
           path, stage, k, want);
    colo_pair_start(&p, &a);
    if (!strcmp(stage, "in-flush")) {
        qtest_qmp_assert_success(
            p.to,
            "{'execute': 'x-mfcolo-pause-at', 'arguments': "
            "{'stage': 'checkpoint-loading', 'checkpoint': %" PRIu64 "}}",
            k);
    }
    colo_pair_migrate(&p);
    if (!strcmp(stage, "in-flush")) {
        ev = qtest_qmp_eventwait_ref(p.to, "X_MFCOLO_HOOK", qt_timeout_ms());
        if (!ev) {
            qt_fail("secondary never reached the flush of checkpoint %" PRIu64,
                    k);
        }
        json_decref(ev);
        qtest_kill(p.from, SIGKILL);
        if (!qtest_wait_exit(p.from, qt_timeout_ms(), &status)) {
            qt_fail("primary survived SIGKILL");
        }
        qtest_qmp_assert_success(p.to, "{'execute': 'x-mfcolo-continue'}");
    } else if (!strcmp(stage, "cut-channel")) {
        qtest_qmp_assert_success(p.from,
                                 "{'execute': 'x-mfcolo-kill-at', 'arguments': "
                                 "{'stage': '%s', 'checkpoint': %" PRIu64 "}}",
                                 stage, k);
    } else {
        qtest_expect_death(p.from);
        qtest_qmp_assert_success(p.from,
                                 "{'execute': 'x-mfcolo-kill-at', 'arguments': "
                                 "{'stage': '%s', 'checkpoint': %" PRIu64 "}}",
                                 stage, k);
        if (!qtest_wait_exit(p.from, qt_timeout_ms(), &status)) {
            qt_fail("primary did not die at %s of checkpoint %" PRIu64, stage,
                    k);
        }
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
            qt_fail("primary ended with status 0x%x, not by its SIGKILL "
                    "hook",
                    status);
        }
    }
    /* QEMU: the secondary reports COLO_EXIT (error) and waits. */
    ev = qtest_qmp_eventwait_ref(p.to, "COLO_EXIT", qt_timeout_ms());
    if (!ev) {
        qt_fail("secondary: no COLO_EXIT after the primary's loss");
    }
    if (strcmp(json_string_value(json_object_get(ev, "reason")), "error")) {
        qt_fail("secondary: COLO_EXIT reason is not 'error'");
    }
    json_decref(ev);
    colo_failover(&p, p.to);
    colo_check_secondary(&p, want, want);
    if (!strcmp(stage, "cut-channel")) {
        qtest_qmp_eventwait(p.from, "COLO_EXIT");
    }
    colo_pair_end(&p);
}

/*
 * x-colo-lost-heartbeat while the secondary applies a checkpoint (QEMU's
 * RELAUNCH: the checkpoint completes, LOADED is not sent, then failover):
 * the survivor must hold that checkpoint.  The primary stays alive.
 */
static void test_failover_in_flush(const char *path)
{
    ColoArgs a = { 0 };
    ColoPair p;
    uint64_t k;
    json_t *ev;

    a.multifd = true;
    a.compression = "none";
    a.channels = 2;
    a.seed = colo_seed_for(path);
    qt_set_seed(a.seed, path);
    k = 2 + a.seed % 3;
    colo_pair_start(&p, &a);
    qtest_qmp_assert_success(
        p.to,
        "{'execute': 'x-mfcolo-pause-at', 'arguments': "
        "{'stage': 'checkpoint-loading', 'checkpoint': %" PRIu64 "}}",
        k);
    colo_pair_migrate(&p);
    ev = qtest_qmp_eventwait_ref(p.to, "X_MFCOLO_HOOK", qt_timeout_ms());
    if (!ev) {
        qt_fail("secondary never reached the flush of checkpoint %" PRIu64, k);
    }
    json_decref(ev);
    qtest_qmp_assert_success(p.to, "{'execute': 'x-colo-lost-heartbeat'}");
    qtest_qmp_assert_success(p.to, "{'execute': 'x-mfcolo-continue'}");
    colo_wait_failed_over(&p, p.to);
    colo_check_secondary(&p, k, k);
    colo_pair_end(&p);
}

/*
 * Many checkpoints (timer and on request) with a seeded workload, then a
 * failover of the secondary at an idle moment and the exact oracle.
 */
static void test_soak(const char *path, bool multifd, const char *comp,
                      bool sender_72)
{
    ColoArgs a = { 0 };
    ColoPair p;
    uint64_t sent;
    uint64_t done;
    unsigned i;

    a.multifd = multifd;
    a.compression = comp;
    a.channels = 3;
    a.sender_72 = sender_72;
    a.checkpoint_delay_ms = 50;
    a.seed = colo_seed_for(path);
    qt_set_seed(a.seed, path);
    a.workload = (a.seed >> 8) % 3 == 0   ? "increment"
                 : (a.seed >> 8) % 3 == 1 ? "random"
                                          : "sequential";
    colo_pair_start(&p, &a);
    colo_pair_migrate(&p);
    for (i = 0; i < 10; i++) {
        qtest_qmp_assert_success(p.from, "{'execute': 'x-mfcolo-checkpoint'}");
        colo_wait_checkpoints(&p, 2);
    }
    colo_failover(&p, p.to);
    colo_primary_counts(&p, &sent, &done);
    colo_check_secondary(&p, 20, sent);
    colo_pair_end(&p);
}

static bool run_path(const char *path)
{
    static const char *const modes[] = { "plain", "multifd" };
    static const char *const sides[] = { "primary", "secondary" };
    char name[256];
    int m;
    int s;
    int c;

    for (m = 0; m < 2; m++) {
        for (s = 0; s < 2; s++) {
            for (c = 0; c < 2; c++) {
                snprintf(name, sizeof(name), "/migration/colo/%s/%s_failover%s",
                         modes[m], sides[s], c ? "_checkpoint" : "");
                if (!strcmp(name, path)) {
                    test_qemu_case(path, m == 1, s == 0, c == 1);
                    return true;
                }
            }
        }
    }
    if (!strcmp(path, "/mfcolo/colo/failover-in-flush")) {
        test_failover_in_flush(path);
        return true;
    }
    if (!strcmp(path, "/mfcolo/colo/soak/plain")) {
        test_soak(path, false, "none", false);
        return true;
    }
    if (!strncmp(path, "/mfcolo/colo/soak/multifd-", 26)) {
        test_soak(path, true, path + 26, false);
        return true;
    }
    if (!strncmp(path, "/mfcolo/colo/soak/qemu-7.2/multifd-", 35)) {
        test_soak(path, true, path + 35, true);
        return true;
    }
    if (!strncmp(path, "/mfcolo/colo/kill/", 18) ||
        !strncmp(path, "/mfcolo/colo/kill-7.2/", 22)) {
        bool old = path[17] == '-';
        char comp[16];
        int ch;
        char stage[64];
        size_t i;

        if (sscanf(path + (old ? 22 : 18), "%15[a-z]/%d/%63s", comp, &ch,
                   stage) == 3) {
            for (i = 0; i < sizeof(kill_stages) / sizeof(kill_stages[0]); i++) {
                if (!strcmp(stage, kill_stages[i])) {
                    test_kill(path, comp, ch, stage, old);
                    return true;
                }
            }
        }
    }
    return false;
}

int main(int argc, char **argv)
{
    struct timespec t0;
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (argc == 3 && !strcmp(argv[1], "-p")) {
        if (!run_path(argv[2])) {
            fprintf(stderr, "unknown scenario %s\n", argv[2]);
            return 2;
        }
    } else {
        fprintf(stderr, "usage: colo-test -p PATH\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (getenv("MFCOLO_EXPECT_ORACLE_FAIL")) {
        fprintf(stderr,
                "FAIL: the VM misbehaved (MFCOLO_VM_SABOTAGE=%s) "
                "and the oracle did not notice\n",
                getenv("MFCOLO_VM_SABOTAGE"));
        return 1;
    }
    printf("ok %s seed=%" PRIu64 " scenarios=%u failovers=%u "
           "pages_compared=%" PRIu64 " own_pages=%" PRIu64 " wall_ms=%ld\n",
           argv[2], qt_seed(), colo_stats.scenarios, colo_stats.failovers,
           colo_stats.pages_compared, colo_stats.own_pages,
           (long)((t1.tv_sec - t0.tv_sec) * 1000 +
                  (t1.tv_nsec - t0.tv_nsec) / 1000000));
    return 0;
}
