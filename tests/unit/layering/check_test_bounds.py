#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Every in-process test program is bounded by its own watchdog, below
meson's timeout.

Reads meson's introspection of the tests (BUILD/meson-info/
intro-tests.json, or the JSON file given) and checks, test by test:

- a test of the unit, conformance and faults tiers (suites unit,
  conformance, faults and their -full twins) whose command is a compiled
  program carries the whole-process watchdog (tests/support/process-watchdog.h:
  the marker string is in the executable);
- every test whose program carries it sets MFCOLO_TEST_BOUND_S to a whole
  number of seconds, at least 1, and at least 5 s below the test's meson
  timeout (both grow with the same multipliers), so that a loop that never ends fails with the watchdog's
  message and backtraces, not with meson's TIMEOUT.

One report per broken test, starting with "meson test '<name>'"; exit 1
if there is any.  Usage: check_test_bounds.py BUILD_DIR|INTRO_TESTS.json
"""

import json
import os
import sys

MARK = b'mfcolo-process-watchdog-v1'
ENV = 'MFCOLO_TEST_BOUND_S'
TIERS = ('unit', 'unit-full', 'conformance', 'conformance-full', 'faults',
         'faults-full')
MARGIN_S = 5
BOUND_MAX_S = 86400


def tier(suite):
    # meson names suites '<project>:<suite>'.
    return suite.split(':', 1)[-1]


def is_program(path):
    try:
        with open(path, 'rb') as f:
            return f.read(4) == b'\x7fELF'
    except OSError:
        return False


def has_mark(path, cache):
    if path not in cache:
        with open(path, 'rb') as f:
            cache[path] = MARK in f.read()
    return cache[path]


def check(tests, base):
    reports = []
    marks = {}
    for t in tests:
        name = t['name']
        prog = t['cmd'][0]
        if not os.path.isabs(prog):
            prog = os.path.join(base, prog)
        if not is_program(prog):
            continue
        in_tier = any(tier(s) in TIERS for s in t['suite'])
        marked = has_mark(prog, marks)
        if in_tier and not marked:
            reports.append("meson test '%s' (%s): the program is not linked "
                           "with process_watchdog_dep" % (name, prog))
            continue
        if not marked:
            continue
        env = t.get('env') or {}
        bound = env.get(ENV)
        timeout = t.get('timeout') or 0
        if bound is None:
            reports.append("meson test '%s': %s is not set: its program "
                           "runs without the whole-process watchdog"
                           % (name, ENV))
        elif not bound.isdigit() or not 1 <= int(bound) <= BOUND_MAX_S:
            reports.append("meson test '%s': %s='%s' is not a number of "
                           "seconds from 1 to %d"
                           % (name, ENV, bound, BOUND_MAX_S))
        elif timeout > 0 and int(bound) + MARGIN_S > timeout:
            reports.append("meson test '%s': %s=%s is not at least %d s "
                           "below its meson timeout of %d s"
                           % (name, ENV, bound, MARGIN_S, timeout))
    return reports


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    path = argv[1]
    if os.path.isdir(path):
        path = os.path.join(path, 'meson-info', 'intro-tests.json')
    with open(path) as f:
        tests = json.load(f)
    reports = check(tests, os.path.dirname(os.path.abspath(path)))
    for r in reports:
        print(r)
    print('check_test_bounds: %d tests, %d reports' % (len(tests),
                                                      len(reports)))
    return 1 if reports else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
