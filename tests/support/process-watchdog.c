/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The whole-process watchdog (process-watchdog.h): armed by a constructor
 * before main, from MFCOLO_TEST_BOUND_S.  Linked whole into each test
 * program of the unit and conformance tiers.
 */
#include "process-watchdog.h"

#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PW_VALGRIND_FACTOR 20
#define PW_BOUND_MAX_S 86400
#define PW_FRAMES 48
#define PW_BACKTRACE_WAIT_MS 1000

/* Kept in the executable for check_test_bounds.py. */
__attribute__((used)) static const char pw_mark[] = SUP_PROCESS_WATCHDOG_MARK;

typedef struct ProcessWatchdog {
    unsigned long bound_s;  /* MFCOLO_TEST_BOUND_S */
    unsigned long total_ms; /* the bound times the slowdown of the run */
    pthread_t thread;       /* the watchdog thread, joinable */
    pid_t owner;            /* the process that started it, or 0 */
    pthread_mutex_t lock;   /* guards stopping */
    pthread_cond_t wake;    /* on CLOCK_MONOTONIC: the thread's sleep */
    bool stopping;          /* the program is exiting: end the thread */
} ProcessWatchdog;

/* The watchdog's own state: one per process, set before main. */
static ProcessWatchdog pw = { .lock = PTHREAD_MUTEX_INITIALIZER };
static volatile sig_atomic_t pw_backtrace_done;

static void pw_write(const char *s)
{
    size_t len = strlen(s);

    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, s, len);

        if (w <= 0) {
            if (w < 0 && errno == EINTR) {
                continue;
            }
            return;
        }
        s += w;
        len -= (size_t)w;
    }
}

static void pw_fail_start(const char *msg)
{
    pw_write(msg);
    _exit(1);
}

/* Strict: digits only, no sign, no blanks, at most max. */
static int pw_parse_seconds(const char *s, unsigned long max,
                            unsigned long *out)
{
    unsigned long v = 0;

    if (*s == '\0') {
        return -1;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max) {
            return -1;
        }
    }
    *out = v;
    return 0;
}

/* A positive decimal number (meson test -t takes one), at most 1000. */
static int pw_parse_multiplier(const char *s, double *out)
{
    char *end;
    double v;

    if (*s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !(v > 0) || v > 1000) {
        return -1;
    }
    *out = v;
    return 0;
}

/* The program and its arguments, from /proc/self/cmdline, blank-joined. */
static void pw_command_line(char *buf, size_t size)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = -1;
    ssize_t i;

    buf[0] = '\0';
    if (fd >= 0) {
        n = read(fd, buf, size - 1);
        close(fd);
    }
    if (n <= 0) {
        snprintf(buf, size, "%s", program_invocation_name);
        return;
    }
    while (n > 0 && buf[n - 1] == '\0') {
        n--;
    }
    for (i = 0; i < n; i++) {
        if (buf[i] == '\0') {
            buf[i] = ' ';
        }
    }
    buf[n] = '\0';
}

/* A file of /proc/self/task/<tid>/, first line, without its newline. */
static void pw_task_file(long tid, const char *name, char *buf, size_t size)
{
    char path[64];
    int fd;
    ssize_t n = -1;

    snprintf(path, sizeof(path), "/proc/self/task/%ld/%s", tid, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, buf, size - 1);
        close(fd);
    }
    if (n < 0) {
        n = 0;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

/* The scheduler state: the field after the command's closing paren. */
static char pw_task_state(long tid)
{
    char stat[512];
    char *paren;

    pw_task_file(tid, "stat", stat, sizeof(stat));
    paren = strrchr(stat, ')');
    if (paren == NULL || paren[1] != ' ' || paren[2] == '\0') {
        return '?';
    }
    return paren[2];
}

static void pw_on_backtrace_signal(int sig)
{
    void *frames[PW_FRAMES];
    int n = backtrace(frames, PW_FRAMES);

    (void)sig;
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    pw_backtrace_done = 1;
}

static void pw_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        /* the rest of the sleep is in ts */
    }
}

/* Each thread but this one: its id, name, state and backtrace. */
static void pw_report_threads(long self)
{
    DIR *dir = opendir("/proc/self/task");
    struct dirent *d;
    char line[256];

    if (dir == NULL) {
        pw_write("watchdog: cannot list /proc/self/task\n");
        return;
    }
    while ((d = readdir(dir)) != NULL) {
        char comm[64];
        long tid = strtol(d->d_name, NULL, 10);
        long waited = 0;

        if (tid <= 0 || tid == self) {
            continue;
        }
        pw_task_file(tid, "comm", comm, sizeof(comm));
        snprintf(line, sizeof(line), "watchdog: thread %ld (%s) state %c:\n",
                 tid, comm, pw_task_state(tid));
        pw_write(line);
        pw_backtrace_done = 0;
        if (syscall(SYS_tgkill, (long)getpid(), tid, SIGRTMIN + 7) != 0) {
            continue;
        }
        while (!pw_backtrace_done && waited < PW_BACKTRACE_WAIT_MS) {
            pw_sleep_ms(5);
            waited += 5;
        }
        if (!pw_backtrace_done) {
            pw_write("watchdog:   (no backtrace: the thread did not take "
                     "the signal within 1 s)\n");
        }
    }
    closedir(dir);
}

static void *pw_thread(void *arg)
{
    struct timespec deadline;
    char cmd[512];
    char line[1024];
    char seconds[32];
    char exe[256];
    ssize_t n;

    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(pw.total_ms / 1000);
    deadline.tv_nsec += (long)(pw.total_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pw.lock);
    while (!pw.stopping) {
        if (pthread_cond_timedwait(&pw.wake, &pw.lock, &deadline) ==
            ETIMEDOUT) {
            break;
        }
    }
    if (pw.stopping) {
        /* The program ended in time (pw_stop). */
        pthread_mutex_unlock(&pw.lock);
        return NULL;
    }
    pthread_mutex_unlock(&pw.lock);
    pw_command_line(cmd, sizeof(cmd));
    if (pw.total_ms % 1000 == 0) {
        snprintf(seconds, sizeof(seconds), "%lu", pw.total_ms / 1000);
    } else {
        snprintf(seconds, sizeof(seconds), "%lu.%03lu", pw.total_ms / 1000,
                 pw.total_ms % 1000);
    }
    snprintf(line, sizeof(line),
             "watchdog: %s: still running after %s s (the whole-process "
             "bound %s=%lu): a loop that does not end, or a wait with no "
             "watchdog of its own\n",
             cmd, seconds, SUP_PROCESS_WATCHDOG_ENV, pw.bound_s);
    pw_write(line);
    pw_report_threads((long)syscall(SYS_gettid));
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    snprintf(line, sizeof(line),
             "watchdog: addr2line -f -e %s <offset> names a frame "
             "(+0x... above)\n",
             exe);
    pw_write(line);
    _exit(1);
    return NULL;
}

/*
 * A program that ends in time wakes and joins the thread, so that no
 * thread of ours is left running at exit (valgrind would count its
 * thread-local storage as possibly lost, LeakSanitizer warns that it
 * could not suspend it).  An atexit handler, registered after the
 * sanitizers' own, so it runs before their exit checks.  No
 * pthread_cancel: ASan reports the cancelled thread's unwinding as a
 * stack overflow.  A forked child has no thread.
 */
static void pw_stop(void)
{
    if (pw.owner == 0 || pw.owner != getpid()) {
        return;
    }
    pw.owner = 0;
    pthread_mutex_lock(&pw.lock);
    pw.stopping = true;
    pthread_cond_signal(&pw.wake);
    pthread_mutex_unlock(&pw.lock);
    pthread_join(pw.thread, NULL);
}

__attribute__((constructor)) static void pw_start(void)
{
    const char *bound = getenv(SUP_PROCESS_WATCHDOG_ENV);
    const char *mult = getenv("MFCOLO_TIMEOUT_MULTIPLIER");
    double factor = 1;
    char msg[256];
    struct sigaction sa;
    void *frame[1];
    pthread_condattr_t cattr;

    if (bound == NULL) {
        return;
    }
    if (pw_parse_seconds(bound, PW_BOUND_MAX_S, &pw.bound_s) != 0) {
        snprintf(msg, sizeof(msg),
                 "watchdog: %s='%.64s' is not a number of seconds\n",
                 SUP_PROCESS_WATCHDOG_ENV, bound);
        pw_fail_start(msg);
    }
    if (mult != NULL && pw_parse_multiplier(mult, &factor) != 0) {
        snprintf(msg, sizeof(msg),
                 "watchdog: MFCOLO_TIMEOUT_MULTIPLIER='%.64s' is not a "
                 "positive number\n",
                 mult);
        pw_fail_start(msg);
    }
    if (pw.bound_s == 0) {
        return;
    }
    if (getenv("MFCOLO_UNDER_VALGRIND")) {
        factor *= PW_VALGRIND_FACTOR;
    }
    pw.total_ms = (unsigned long)((double)pw.bound_s * 1000 * factor);

    /* The first backtrace() loads the unwinder: not in a signal handler. */
    backtrace(frame, 1);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = pw_on_backtrace_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGRTMIN + 7, &sa, NULL) != 0) {
        pw_fail_start("watchdog: cannot install the backtrace signal\n");
    }
    if (pthread_condattr_init(&cattr) != 0 ||
        pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&pw.wake, &cattr) != 0) {
        pw_fail_start("watchdog: cannot set up the watchdog's clock\n");
    }
    pthread_condattr_destroy(&cattr);
    if (pthread_create(&pw.thread, NULL, pw_thread, NULL) != 0) {
        pw_fail_start("watchdog: cannot start the whole-process watchdog "
                      "thread\n");
    }
    pw.owner = getpid();
    pthread_setname_np(pw.thread, "mf-watchdog");
    if (atexit(pw_stop) != 0) {
        pw_fail_start("watchdog: cannot register the watchdog's stop\n");
    }
}
