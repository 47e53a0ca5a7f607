/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The watchdog of tests/support/watchdog.h on planted hangs, one per kind
 * of wait a test makes: joining a thread that never returns, a condition
 * variable nobody signals, a semaphore nobody posts, a socket nobody
 * writes and a child process that never exits.  Each hang runs in a
 * child of this test with a 1 s watchdog; the child must exit 1 within
 * a few seconds with exactly "watchdog: <what>: still waiting after 1 s"
 * on stderr.  A last child disarms the watchdog after a wait that ends
 * and must then outlive the 1 s and exit 0.  The children run side by
 * side, so the whole test takes about 1.5 s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "watchdog.h"

typedef enum HangKind {
    HANG_THREAD,
    HANG_COND,
    HANG_SEM,
    HANG_SOCKET,
    HANG_PROCESS,
    HANG_NONE, /* a wait that ends, then disarm: no watchdog message */
    HANG_COUNT,
} HangKind;

static const char *const hang_what[HANG_COUNT] = {
    "planted: a thread that never returns (pthread_join)",
    "planted: a condition nobody signals (pthread_cond_wait)",
    "planted: a semaphore nobody posts (sem_wait)",
    "planted: a socket nobody writes (read)",
    "planted: a child that never exits (waitpid)",
    "planted: a thread that returns (pthread_join), then disarmed",
};

static void *thread_forever(void *opaque)
{
    (void)opaque;
    for (;;) {
        pause();
    }
    return NULL;
}

static void *thread_returns(void *opaque)
{
    return opaque;
}

/* In the child: arm, then wait the way @kind says. */
static void hang(HangKind kind)
{
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    pthread_t th;
    sem_t sem;
    int sv[2];
    char b;
    pid_t pid;

    /* The bound under test is 1 s, valgrind or not. */
    unsetenv("MFCOLO_UNDER_VALGRIND");
    watchdog_arm(1, hang_what[kind]);
    switch (kind) {
    case HANG_THREAD:
        if (pthread_create(&th, NULL, thread_forever, NULL) == 0) {
            pthread_join(th, NULL);
        }
        break;
    case HANG_COND:
        pthread_mutex_lock(&lock);
        for (;;) {
            pthread_cond_wait(&cond, &lock);
        }
        break;
    case HANG_SEM:
        if (sem_init(&sem, 0, 0) == 0) {
            while (sem_wait(&sem) == 0 || errno == EINTR) {
            }
        }
        break;
    case HANG_SOCKET:
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
            while (read(sv[0], &b, 1) == 1) {
            }
        }
        break;
    case HANG_PROCESS:
        pid = fork();
        if (pid == 0) {
            /* Dies with the child the watchdog ends. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            for (;;) {
                pause();
            }
        }
        if (pid > 0) {
            waitpid(pid, NULL, 0);
        }
        break;
    case HANG_NONE:
        if (pthread_create(&th, NULL, thread_returns, NULL) != 0 ||
            pthread_join(th, NULL) != 0) {
            _exit(3);
        }
        watchdog_disarm();
        /* Outlive the 1 s the watchdog had. */
        sleep(2);
        _exit(0);
    default:
        break;
    }
    /* Only reached when the wait could not be set up. */
    _exit(2);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_planted_hangs(void **state)
{
    pid_t pid[HANG_COUNT];
    int errfd[HANG_COUNT];
    double t0 = now_s();
    int k;

    (void)state;
    fflush(NULL);
    for (k = 0; k < HANG_COUNT; k++) {
        int p[2];

        assert_int_equal(pipe(p), 0);
        pid[k] = fork();
        assert_true(pid[k] >= 0);
        if (pid[k] == 0) {
            close(p[0]);
            if (dup2(p[1], STDERR_FILENO) < 0) {
                _exit(4);
            }
            hang((HangKind)k);
        }
        close(p[1]);
        errfd[k] = p[0];
    }
    for (k = 0; k < HANG_COUNT; k++) {
        char err[512], want[512];
        size_t len = 0;
        ssize_t n;
        double secs;
        int st;

        assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
        secs = now_s() - t0;
        while ((n = read(errfd[k], err + len, sizeof(err) - 1 - len)) > 0) {
            len += (size_t)n;
        }
        close(errfd[k]);
        err[len] = '\0';
        if (k == HANG_NONE) {
            snprintf(want, sizeof(want), "%s", "");
        } else {
            snprintf(want, sizeof(want),
                     "watchdog: %s: still waiting after 1 s\n", hang_what[k]);
        }
        fprintf(stderr, "# %s: exit 0x%x after %.2f s, stderr '%.*s'\n",
                hang_what[k], st, secs, (int)strcspn(err, "\n"), err);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), k == HANG_NONE ? 0 : 1);
        assert_string_equal(err, want);
        /* Fired at 1 s (the disarmed one slept 2 s), not much later. */
        assert_true(secs >= 0.9);
        assert_true(secs < (k == HANG_NONE ? 6.0 : 5.0));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planted_hangs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
