/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The whole-process watchdog of the in-process tiers.  watchdog.h bounds
 * the waits a test makes; a loop that never waits (a spin in core/, a
 * size that doubles from zero) is bounded by nothing but meson's timeout,
 * which says only TIMEOUT.  A test program linked with
 * process_watchdog_dep (tests/support/meson.build: the unit and
 * conformance tiers) starts, before main, a thread that sleeps until the
 * program's bound.  If the program is still running then, it writes
 *
 *   watchdog: <program> <args>: still running after <N> s (the
 *   whole-process bound MFCOLO_TEST_BOUND_S=<B>): a loop that does not
 *   end, or a wait with no watchdog of its own
 *
 * on stderr, one line, followed by each thread's id, name, scheduler
 * state (R for a thread on the CPU, S for one asleep in a wait) and
 * backtrace (addr2line -f -e <program> <offset> names the function), and
 * exits 1 at once, without the exit handlers (the leak check included).
 *
 * The bound B is MFCOLO_TEST_BOUND_S in the environment, whole seconds.
 * meson sets it for every test of those tiers, below the test's own
 * timeout (tests/unit/layering/check_test_bounds.py checks that from
 * meson's introspection).  Unset, or 0, the watchdog stays off: a program
 * run by hand or under a debugger is never cut short.  Anything else that
 * is not a number of seconds fails the program before main with
 * "watchdog: MFCOLO_TEST_BOUND_S='<value>' is not a number of seconds".
 * N is B times the slowdown of the run: x20 under valgrind
 * (MFCOLO_UNDER_VALGRIND, as meson's valgrind setup multiplies its
 * timeouts by 20), and times MFCOLO_TIMEOUT_MULTIPLIER when set (the
 * scripts that pass meson test -t M set it to M).
 *
 * It uses a thread and a real-time signal (SIGRTMIN + 7, for the
 * backtraces), never SIGALRM: a test keeps watchdog.h and alarm() to
 * itself.  A forked child has no watchdog thread (its parent, which waits
 * for it, is still bounded); an exec'd program starts its own.
 */
#ifndef MFCOLO_SUPPORT_PROCESS_WATCHDOG_H
#define MFCOLO_SUPPORT_PROCESS_WATCHDOG_H

/* The marker string the program carries (check_test_bounds.py looks
 * for it in each test's executable). */
#define SUP_PROCESS_WATCHDOG_MARK "mfcolo-process-watchdog-v1"

/* The environment variable that holds the bound, in seconds. */
#define SUP_PROCESS_WATCHDOG_ENV "MFCOLO_TEST_BOUND_S"

#endif /* MFCOLO_SUPPORT_PROCESS_WATCHDOG_H */
