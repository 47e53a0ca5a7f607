/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The whole-process watchdog (tests/support/process-watchdog.h) on planted
 * loops.  Each case runs this program again (execve of /proc/self/exe, so
 * that the constructor arms the watchdog from the case's environment)
 * with "--child <mode>": a loop in the main thread, a loop in a second
 * thread the main thread joins, programs that end in time or run with the
 * watchdog off, bounds that are not numbers, a multiplier, and a
 * watchdog.h wait inside the bound.  The children run side by side (the
 * group setup starts them all); each test collects its own child and
 * checks its exit status, its whole first stderr line and the elapsed
 * time.  The whole test takes about 1.6 s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "process-watchdog.h"
#include "watchdog.h"

#define PW_LOOP_LINE \
    "still running after %s s (the whole-process bound " \
    "MFCOLO_TEST_BOUND_S=%s): a loop that does not end, or a wait with no " \
    "watchdog of its own"

typedef struct PwCase {
    const char *mode;     /* what the child does */
    const char *bound;    /* MFCOLO_TEST_BOUND_S, or NULL for unset */
    const char *mult;     /* MFCOLO_TIMEOUT_MULTIPLIER, or NULL */
    int status;           /* its exit status */
    const char *fired_at; /* the watchdog's seconds, or NULL: no loop line */
    const char *line;     /* else the exact first stderr line, or "", or
                           * NULL: the refusal of the bound */
    double min_s, max_s;  /* when it must end */
} PwCase;

enum {
    PW_SPIN_MAIN,
    PW_SPIN_THREAD,
    PW_ENDS_IN_TIME,
    PW_UNSET,
    PW_ZERO,
    PW_BAD_WORD,
    PW_BAD_SIGN,
    PW_BAD_BLANK,
    PW_BAD_UNIT,
    PW_BAD_EMPTY,
    PW_BAD_HUGE,
    PW_MULTIPLIER,
    PW_BAD_MULTIPLIER,
    PW_INNER_WATCHDOG,
    PW_CASES,
};

/* A bound that is not a number of seconds: line NULL, fired_at NULL. */
#define PW_BAD_BOUND(b) \
    { \
        "exit-3", b, NULL, 1, NULL, NULL, 0, 8.0 \
    }

static const PwCase pw_cases[PW_CASES] = {
    [PW_SPIN_MAIN] = { "spin-main", "1", NULL, 1, "1", NULL, 0.9, 5.0 },
    [PW_SPIN_THREAD] = { "spin-thread", "1", NULL, 1, "1", NULL, 0.9, 5.0 },
    [PW_ENDS_IN_TIME] = { "sleep-100ms", "2", NULL, 0, NULL, "", 0.05, 8.0 },
    /* Off: the child outlives a second it would otherwise have had. */
    [PW_UNSET] = { "sleep-1500ms", NULL, NULL, 0, NULL, "", 1.4, 5.0 },
    [PW_ZERO] = { "sleep-1500ms", "0", NULL, 0, NULL, "", 1.4, 5.0 },
    /* Refused before main (exit-3 never runs): the line is made from the
     * bound (pw_check). */
    [PW_BAD_WORD] = PW_BAD_BOUND("abc"),
    [PW_BAD_SIGN] = PW_BAD_BOUND("-1"),
    [PW_BAD_BLANK] = PW_BAD_BOUND(" 5"),
    [PW_BAD_UNIT] = PW_BAD_BOUND("5s"),
    [PW_BAD_EMPTY] = PW_BAD_BOUND(""),
    [PW_BAD_HUGE] = PW_BAD_BOUND("86401"),
    [PW_MULTIPLIER] = { "spin-main", "1", "1.5", 1, "1.500", NULL, 1.4, 5.0 },
    [PW_BAD_MULTIPLIER] = { "exit-3", "1", "0", 1, NULL,
                            "watchdog: MFCOLO_TIMEOUT_MULTIPLIER='0' is not "
                            "a positive number",
                            0, 8.0 },
    /* watchdog.h's SIGALRM stays the test's: its 1 s fires first. */
    [PW_INNER_WATCHDOG] = { "inner-watchdog", "5", NULL, 1, NULL,
                            "watchdog: planted: a pipe nobody writes (read): "
                            "still waiting after 1 s",
                            0.9, 4.0 },
};

typedef struct PwChild {
    pid_t pid;
    int errfd;
} PwChild;

static PwChild pw_children[PW_CASES];
static char pw_exe[PATH_MAX];
static double pw_t0;

static double pw_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the children ------------------------------------------------------- */

static void *pw_spinner(void *opaque)
{
    volatile unsigned long *n = opaque;

    pthread_setname_np(pthread_self(), "spinner");
    for (;;) {
        (*n)++;
    }
    return NULL;
}

static int pw_child(const char *mode)
{
    static volatile unsigned long spins;
    pthread_t th;
    int p[2];
    char b;

    if (strcmp(mode, "spin-main") == 0) {
        for (;;) {
            spins++;
        }
    } else if (strcmp(mode, "spin-thread") == 0) {
        if (pthread_create(&th, NULL, pw_spinner, (void *)&spins) != 0) {
            return 2;
        }
        pthread_join(th, NULL);
    } else if (strcmp(mode, "sleep-100ms") == 0) {
        usleep(100 * 1000);
        return 0;
    } else if (strcmp(mode, "sleep-1500ms") == 0) {
        usleep(1500 * 1000);
        return 0;
    } else if (strcmp(mode, "exit-3") == 0) {
        return 3;
    } else if (strcmp(mode, "inner-watchdog") == 0) {
        if (pipe(p) != 0) {
            return 2;
        }
        watchdog_arm(1, "planted: a pipe nobody writes (read)");
        while (read(p[0], &b, 1) != 0) {
            /* nobody writes: the watchdog ends this */
        }
    }
    return 2;
}

/* --- the parent ----------------------------------------------------------- */

static void pw_start_child(int k)
{
    const PwCase *c = &pw_cases[k];
    char bound[64], mult[64];
    char *argv[] = { pw_exe, (char *)"--child", (char *)c->mode, NULL };
    char *envp[3];
    int n = 0;
    int p[2];
    pid_t pid;

    /* Only what the case sets: no valgrind factor, no meson bound. */
    if (c->bound != NULL) {
        snprintf(bound, sizeof(bound), "MFCOLO_TEST_BOUND_S=%s", c->bound);
        envp[n++] = bound;
    }
    if (c->mult != NULL) {
        snprintf(mult, sizeof(mult), "MFCOLO_TIMEOUT_MULTIPLIER=%s", c->mult);
        envp[n++] = mult;
    }
    envp[n] = NULL;
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* A child the watchdog under test fails to end dies with us. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (dup2(p[1], STDERR_FILENO) < 0) {
            _exit(4);
        }
        execve(pw_exe, argv, envp);
        _exit(5);
    }
    close(p[1]);
    pw_children[k].pid = pid;
    pw_children[k].errfd = p[0];
}

static int pw_start_all(void **state)
{
    ssize_t n = readlink("/proc/self/exe", pw_exe, sizeof(pw_exe) - 1);
    int k;

    (void)state;
    if (n <= 0) {
        return -1;
    }
    pw_exe[n] = '\0';
    fflush(NULL);
    pw_t0 = pw_now_s();
    for (k = 0; k < PW_CASES; k++) {
        pw_start_child(k);
    }
    return 0;
}

/* Collect child @k: its status, stderr and when it ended. */
static void pw_collect(int k, int *status, char *err, size_t size, double *secs)
{
    size_t len = 0;
    ssize_t n;

    watchdog_arm(10, "support/process-watchdog: a child's stderr and exit "
                     "(read, waitpid)");
    while ((n = read(pw_children[k].errfd, err + len, size - 1 - len)) > 0) {
        len += (size_t)n;
    }
    err[len] = '\0';
    close(pw_children[k].errfd);
    assert_int_equal(waitpid(pw_children[k].pid, status, 0),
                     pw_children[k].pid);
    *secs = pw_now_s() - pw_t0;
    watchdog_disarm();
}

static void pw_check(int k, char *err, size_t size)
{
    const PwCase *c = &pw_cases[k];
    char want[1024], fmt[512];
    size_t first, len;
    double secs;
    int st;

    pw_collect(k, &st, err, size, &secs);
    len = strlen(err);
    first = strcspn(err, "\n");
    fprintf(stderr, "# %s (bound %s): exit 0x%x after %.2f s: '%.*s'\n",
            c->mode, c->bound ? c->bound : "unset", st, secs, (int)first, err);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), c->status);
    if (c->fired_at != NULL) {
        snprintf(fmt, sizeof(fmt), "watchdog: %%s --child %%s: %s",
                 PW_LOOP_LINE);
        snprintf(want, sizeof(want), fmt, pw_exe, c->mode, c->fired_at,
                 c->bound);
    } else if (c->line == NULL) {
        snprintf(want, sizeof(want),
                 "watchdog: MFCOLO_TEST_BOUND_S='%s' is not a number of "
                 "seconds",
                 c->bound);
    } else {
        snprintf(want, sizeof(want), "%s", c->line);
    }
    err[first] = '\0';
    assert_string_equal(err, want);
    if (c->fired_at == NULL && c->line != NULL && c->line[0] == '\0') {
        /* Nothing at all on stderr. */
        assert_int_equal(len, 0);
    }
    assert_true(secs >= c->min_s);
    assert_true(secs < c->max_s);
    if (first < len) {
        err[first] = '\n';
    }
}

/* The thread report line of thread @name, or NULL. */
static const char *pw_thread_line(const char *err, const char *name)
{
    char pat[64];

    snprintf(pat, sizeof(pat), " (%s) state ", name);
    return strstr(err, pat);
}

static void test_spin_in_main(void **state)
{
    char err[16384];
    const char *t;
    char want[64];

    (void)state;
    pw_check(PW_SPIN_MAIN, err, sizeof(err));
    /* The main thread: its id is the pid, it was on the CPU, and its
     * backtrace names this program. */
    snprintf(want, sizeof(want), "watchdog: thread %ld (",
             (long)pw_children[PW_SPIN_MAIN].pid);
    t = strstr(err, want);
    assert_non_null(t);
    t = strchr(t, ')');
    assert_non_null(t);
    assert_memory_equal(t, ") state R:\n", 11);
    assert_non_null(strstr(t, pw_exe));
    /* The watchdog does not report itself. */
    assert_null(pw_thread_line(err, "mf-watchdog"));
}

static void test_spin_in_a_thread(void **state)
{
    char err[16384];
    const char *t;

    (void)state;
    pw_check(PW_SPIN_THREAD, err, sizeof(err));
    t = pw_thread_line(err, "spinner");
    assert_non_null(t);
    assert_memory_equal(t, " (spinner) state R:\n", 20);
    /* The main thread waits in pthread_join: asleep, not spinning. */
    assert_non_null(strstr(err, ") state S:\n"));
}

#define PW_PLAIN_TEST(fn, k) \
    static void fn(void **state) \
    { \
        char err[4096]; \
\
        (void)state; \
        pw_check(k, err, sizeof(err)); \
    }

PW_PLAIN_TEST(test_ends_in_time, PW_ENDS_IN_TIME)
PW_PLAIN_TEST(test_unset_is_off, PW_UNSET)
PW_PLAIN_TEST(test_zero_is_off, PW_ZERO)
PW_PLAIN_TEST(test_bound_word, PW_BAD_WORD)
PW_PLAIN_TEST(test_bound_sign, PW_BAD_SIGN)
PW_PLAIN_TEST(test_bound_blank, PW_BAD_BLANK)
PW_PLAIN_TEST(test_bound_unit, PW_BAD_UNIT)
PW_PLAIN_TEST(test_bound_empty, PW_BAD_EMPTY)
PW_PLAIN_TEST(test_bound_huge, PW_BAD_HUGE)
PW_PLAIN_TEST(test_multiplier, PW_MULTIPLIER)
PW_PLAIN_TEST(test_bad_multiplier, PW_BAD_MULTIPLIER)
PW_PLAIN_TEST(test_inner_watchdog_first, PW_INNER_WATCHDOG)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spin_in_main),
        cmocka_unit_test(test_spin_in_a_thread),
        cmocka_unit_test(test_ends_in_time),
        cmocka_unit_test(test_unset_is_off),
        cmocka_unit_test(test_zero_is_off),
        cmocka_unit_test(test_bound_word),
        cmocka_unit_test(test_bound_sign),
        cmocka_unit_test(test_bound_blank),
        cmocka_unit_test(test_bound_unit),
        cmocka_unit_test(test_bound_empty),
        cmocka_unit_test(test_bound_huge),
        cmocka_unit_test(test_multiplier),
        cmocka_unit_test(test_bad_multiplier),
        cmocka_unit_test(test_inner_watchdog_first),
    };

    if (argc == 3 && strcmp(argv[1], "--child") == 0) {
        return pw_child(argv[2]);
    }
    return cmocka_run_group_tests(tests, pw_start_all, NULL);
}
