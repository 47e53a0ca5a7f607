/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * base/mutex.h: error-checking mutexes whose misuse aborts.  The correct
 * uses return (lock, unlock, a condition wait woken by another thread,
 * destroy); each misuse runs in a forked child, which must die of
 * SIGABRT after writing exactly one line naming the call site, the
 * pthread call and the errno.  A child that does not abort exits 0, or
 * is killed by its alarm after 5 s if it hangs (a mutex that is not
 * error-checking deadlocks on a second lock): both fail the test.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/mutex.h"

#include "watchdog.h"

typedef struct Child {
    pid_t pid;
    int fd; /* read end of the child's stderr */
} Child;

/*
 * In a coverage build (MFCOLO_COVERAGE, from meson's b_coverage), libgcov's
 * __gcov_dump() writes the counters; a child that aborts never reaches the
 * exit that would, so core/base/mutex.c's abort paths would count as never
 * run.
 */
#ifdef MFCOLO_COVERAGE
extern void __gcov_dump(void);
#endif

/* SIGABRT in the child: dump the counters, then die of SIGABRT still. */
static void child_on_abort(int sig)
{
#ifdef MFCOLO_COVERAGE
    __gcov_dump();
#endif
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Fork; in the child (pid 0) stderr goes to a pipe the parent reads. */
static void child_start(Child *ch)
{
    int fds[2];

    assert_int_equal(pipe(fds), 0);
    ch->pid = fork();
    assert_true(ch->pid >= 0);
    if (ch->pid == 0) {
        const struct rlimit no_core = { 0, 0 };

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setrlimit(RLIMIT_CORE, &no_core);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        alarm(getenv("MFCOLO_UNDER_VALGRIND") ? 100 : 5);
        signal(SIGABRT, child_on_abort);
        ch->fd = -1;
        return;
    }
    close(fds[1]);
    ch->fd = fds[0];
}

/*
 * The child died of SIGABRT and its stderr is exactly
 * "mfcolo: <file>:<line>: <call> failed: <err>\n" (under valgrind,
 * valgrind's own report may follow).
 */
static void child_expect_abort(Child *ch, const char *file, int line,
                               const char *call, const char *err)
{
    char out[4096], want[512];
    size_t got = 0;
    ssize_t n;
    int status;

    watchdog_arm(20, "base/mutex: the child to end (read, waitpid)");
    while (got + 1 < sizeof(out) &&
           (n = read(ch->fd, out + got, sizeof(out) - 1 - got)) > 0) {
        got += (size_t)n;
    }
    out[got] = '\0';
    close(ch->fd);
    assert_int_equal(waitpid(ch->pid, &status, 0), ch->pid);
    watchdog_disarm();
    snprintf(want, sizeof(want), "mfcolo: %s:%d: %s failed: %s\n", file, line,
             call, err);
    if (strncmp(out, want, strlen(want)) != 0 || !WIFSIGNALED(status) ||
        WTERMSIG(status) != SIGABRT) {
        print_error(
            "child status 0x%x (%s %d), stderr:\n%s\nexpected SIGABRT "
            "and:\n%s",
            (unsigned)status, WIFSIGNALED(status) ? "signal" : "exit code",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), out,
            want);
    }
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    if (getenv("MFCOLO_UNDER_VALGRIND")) {
        assert_int_equal(strncmp(out, want, strlen(want)), 0);
    } else {
        assert_string_equal(out, want);
    }
}

typedef struct Waiter {
    pthread_mutex_t m;
    pthread_cond_t c;
    bool ready;
    bool woken;
} Waiter;

static void *wake(void *arg)
{
    Waiter *w = arg;

    mf_mutex_lock(&w->m);
    w->ready = true;
    pthread_cond_broadcast(&w->c);
    mf_mutex_unlock(&w->m);
    return NULL;
}

/* Lock, unlock, a wait another thread ends, destroy: all return. */
static void test_correct_use(void **state)
{
    Waiter w;
    pthread_t th;

    (void)state;
    memset(&w, 0, sizeof(w));
    assert_int_equal(mf_mutex_init(&w.m), 0);
    assert_int_equal(pthread_cond_init(&w.c, NULL), 0);
    mf_mutex_lock(&w.m);
    assert_int_equal(pthread_create(&th, NULL, wake, &w), 0);
    watchdog_arm(10, "base/mutex: the waker thread's broadcast");
    while (!w.ready) {
        mf_cond_wait(&w.c, &w.m);
    }
    watchdog_disarm();
    /* the wait gave the mutex back held by this thread */
    assert_int_equal(pthread_mutex_trylock(&w.m), EBUSY);
    w.woken = true;
    mf_mutex_unlock(&w.m);
    assert_int_equal(pthread_join(th, NULL), 0);
    mf_mutex_lock(&w.m);
    assert_true(w.woken);
    mf_mutex_unlock(&w.m);
    pthread_cond_destroy(&w.c);
    mf_mutex_destroy(&w.m);
}

/*
 * One misuse, run twice: in the parent with run false, to learn the call
 * site it will name, then in a forked child with run true.
 */
typedef struct Misuse {
    pthread_mutex_t m;
    pthread_cond_t c;
    bool run;
    const char *file; /* the call site the abort must name */
    int line;
} Misuse;

static void misuse_expect_abort(void (*act)(Misuse *), const char *call,
                                const char *err)
{
    Misuse mu;
    Child ch;

    memset(&mu, 0, sizeof(mu));
    assert_int_equal(mf_mutex_init(&mu.m), 0);
    assert_int_equal(pthread_cond_init(&mu.c, NULL), 0);
    mu.file = __FILE__;
    act(&mu);
    child_start(&ch);
    if (ch.pid == 0) {
        mu.run = true;
        act(&mu);
        _exit(0);
    }
    child_expect_abort(&ch, mu.file, mu.line, call, err);
    pthread_cond_destroy(&mu.c);
    mf_mutex_destroy(&mu.m);
}

static void unlock_without_lock(Misuse *mu)
{
    mu->line = __LINE__ + 2;
    if (mu->run) {
        mf_mutex_unlock(&mu->m);
    }
}

static void second_lock(Misuse *mu)
{
    mu->line = __LINE__ + 3;
    if (mu->run) {
        mf_mutex_lock(&mu->m);
        mf_mutex_lock(&mu->m);
    }
}

/* The call site is whatever the caller of the _at function names. */
static void *unlock_it(void *arg)
{
    mf_mutex_unlock_at(arg, "other-thread.c", 7);
    return NULL;
}

/* Only the thread that holds the mutex may unlock it. */
static void unlock_by_other_thread(Misuse *mu)
{
    pthread_t th;

    mu->file = "other-thread.c";
    mu->line = 7;
    if (mu->run) {
        mf_mutex_lock(&mu->m);
        if (pthread_create(&th, NULL, unlock_it, &mu->m) == 0) {
            pthread_join(th, NULL);
        }
    }
}

static void wait_without_lock(Misuse *mu)
{
    mu->line = __LINE__ + 2;
    if (mu->run) {
        mf_cond_wait(&mu->c, &mu->m);
    }
}

static void destroy_locked(Misuse *mu)
{
    mu->line = __LINE__ + 3;
    if (mu->run) {
        mf_mutex_lock(&mu->m);
        mf_mutex_destroy(&mu->m);
    }
}

static void test_unlock_without_lock_aborts(void **state)
{
    (void)state;
    misuse_expect_abort(unlock_without_lock, "pthread_mutex_unlock",
                        "EPERM (Operation not permitted)");
}

static void test_second_lock_aborts(void **state)
{
    (void)state;
    misuse_expect_abort(second_lock, "pthread_mutex_lock",
                        "EDEADLK (Resource deadlock avoided)");
}

static void test_unlock_by_other_thread_aborts(void **state)
{
    (void)state;
    misuse_expect_abort(unlock_by_other_thread, "pthread_mutex_unlock",
                        "EPERM (Operation not permitted)");
}

static void test_wait_without_lock_aborts(void **state)
{
    (void)state;
    misuse_expect_abort(wait_without_lock, "pthread_cond_wait",
                        "EPERM (Operation not permitted)");
}

static void test_destroy_locked_aborts(void **state)
{
    (void)state;
    misuse_expect_abort(destroy_locked, "pthread_mutex_destroy",
                        "EBUSY (Device or resource busy)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_correct_use),
        cmocka_unit_test(test_unlock_without_lock_aborts),
        cmocka_unit_test(test_second_lock_aborts),
        cmocka_unit_test(test_unlock_by_other_thread_aborts),
        cmocka_unit_test(test_wait_without_lock_aborts),
        cmocka_unit_test(test_destroy_locked_aborts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
