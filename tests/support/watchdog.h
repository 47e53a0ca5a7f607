/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A watchdog for tests that wait: watchdog_arm(secs, what) (re)starts a
 * process-wide timer; when it fires, the test prints "watchdog: <what>:
 * still waiting after <secs> s" on stderr and exits 1 at once, so a hang
 * fails within seconds and names what it waited for, instead of waiting
 * for meson's timeout.  watchdog_disarm() stops it.  Under valgrind
 * (MFCOLO_UNDER_VALGRIND set) the time is multiplied by 20.  SIGALRM is
 * the test's: do not combine with alarm() or another SIGALRM handler.
 */
#ifndef MFCOLO_TESTS_SUPPORT_WATCHDOG_H
#define MFCOLO_TESTS_SUPPORT_WATCHDOG_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char watchdog_msg[256];

static inline void watchdog_fired(int sig)
{
    ssize_t r = write(STDERR_FILENO, watchdog_msg, strlen(watchdog_msg));

    (void)sig;
    (void)r;
    _exit(1);
}

static inline void watchdog_arm(unsigned secs, const char *what)
{
    if (getenv("MFCOLO_UNDER_VALGRIND")) {
        secs *= 20;
    }
    snprintf(watchdog_msg, sizeof(watchdog_msg),
             "watchdog: %s: still waiting after %u s\n", what, secs);
    signal(SIGALRM, watchdog_fired);
    alarm(secs);
}

static inline void watchdog_disarm(void)
{
    alarm(0);
}

#endif /* MFCOLO_TESTS_SUPPORT_WATCHDOG_H */
