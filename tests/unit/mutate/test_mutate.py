#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Self-test of ci/mutate on the fixture project in ./fixture.

1. The sites: every operator on the code, nothing in the comment, the
   string or the #define line (exact list).
2. A seeded run: the negated condition is killed by the test 'calc', the
   boundary listed in fixture/ci/mutate-equivalent.txt is equivalent, the
   two untested boundaries survive; --fail-under 95 then exits 1 and the
   JSON says so.
3. An interrupt: SIGINT while a mutant is applied (the fixture test is
   held asleep) exits 130, and both the copy and the fixture hold the
   original file.

Usage: test_mutate.py REPO_ROOT [--sites]   (--sites: check 1 only)
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

FAILED = []


def check(cond, what):
    print('%s: %s' % ('ok' if cond else 'FAIL', what), flush=True)
    if not cond:
        FAILED.append(what)


def digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


EXPECTED_SITES = [
    'core/calc.c:9 negate if (!(v < lo)) {',
    'core/calc.c:9 boundary if (v <= lo) {',
    'core/calc.c:9 relational if (v >= lo) {',
    'core/calc.c:12 boundary return v >= hi ? hi : v;',
    'core/calc.c:12 relational return v <= hi ? hi : v;',
    'core/calc.c:20 negate if (!(v < 10)) {',
    'core/calc.c:20 boundary if (v <= 10) {',
    'core/calc.c:20 relational if (v >= 10) {',
    'core/calc.c:20 constant if (v < 0) {',
    'core/calc.c:20 incdec if (v < 11) {',
    'core/calc.c:20 incdec if (v < 9) {',
    'core/calc.c:21 bool-return return false;',
    'core/calc.c:23 bool-return return true;',
]


def main():
    repo = os.path.abspath(sys.argv[1])
    mutate = os.path.join(repo, 'ci', 'mutate')
    fixture = os.path.join(repo, 'tests', 'unit', 'mutate', 'fixture')
    calc = os.path.join(fixture, 'core', 'calc.c')
    before = digest(calc)
    work = tempfile.mkdtemp(prefix='mutate-selftest-')
    base = [sys.executable, mutate, '--root', fixture, '--workdir', work,
            '--jobs', '1']
    try:
        # 1. the sites
        # Each run is bounded (a hang raises TimeoutExpired, which names
        # the command): listing takes under a second (bound 20 s), the
        # sample about 20 s (bound 90 s), the interrupted run is killed
        # after 60 s.
        r = subprocess.run(base + ['--sample', '0', '--list'],
                           stdout=subprocess.PIPE, text=True, timeout=20)
        sites = []
        for ln in r.stdout.splitlines()[1:]:
            loc, op, rest = ln.split(None, 2)
            sites.append('%s %s %s' % (loc, op, rest.split('  ->  ')[1]))
        check(r.returncode == 0 and sites == EXPECTED_SITES,
              'the 13 sites, none in comments, strings, #define (got %s)'
              % sites)
        # 1b. the equivalents file: the fixture's entries match sites; a
        # copy with one entry whose line changed is reported as stale,
        # with its file line, and exits 1.
        r = subprocess.run(base + ['--check-equivalents'],
                           stdout=subprocess.PIPE, text=True, timeout=20)
        check(r.returncode == 0 and r.stdout.splitlines()[-1] ==
              'ci/mutate: 2 equivalent entries, 0 stale',
              'the fixture\'s two equivalent entries match (got %d %r)'
              % (r.returncode, r.stdout))
        with open(os.path.join(fixture, 'ci', 'mutate-equivalent.txt')) as f:
            text = f.read()
        stale = os.path.join(work, 'stale.txt')
        with open(stale, 'w') as f:
            f.write(text + '\nfile: core/calc.c\nop: boundary\n'
                    'line: if (v > 99) {\nmutant: if (v >= 99) {\n'
                    'reason: planted: no such line.\n')
        stale_line = text.count('\n') + 2
        r = subprocess.run(base + ['--check-equivalents', '--equivalent',
                                   stale],
                           stdout=subprocess.PIPE, text=True, timeout=20)
        want = ['%s:%d: stale entry: core/calc.c boundary "if (v > 99) {" '
                '-> "if (v >= 99) {" matches no mutation site (the line '
                'changed: triage the new mutant again)' % (stale, stale_line),
                'ci/mutate: 3 equivalent entries, 1 stale']
        check(r.returncode == 1 and r.stdout.splitlines()[1:] == want,
              'a stale entry is reported at its line %d, the others are '
              'not: got %d %r' % (stale_line, r.returncode, r.stdout))
        if '--sites' in sys.argv[2:]:
            return report()

        # 2. a seeded sample: killed, equivalent, survived
        out = os.path.join(work, 'r.json')
        r = subprocess.run(base + ['--sample', '4', '--seed', '1',
                                   '--fail-under', '95', '--json', out],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=90)
        print(r.stdout)
        check(r.returncode == 1, 'survivors fail --fail-under (exit %d)'
              % r.returncode)
        with open(out) as f:
            doc = json.load(f)
        got = [(m['line'], m['op'], m['status'], m['killers'])
               for m in doc['mutants']]
        check(got == [(9, 'negate', 'killed', ['calc']),
                      (12, 'boundary', 'equivalent', []),
                      (20, 'boundary', 'survived', []),
                      (20, 'incdec', 'survived', [])],
              'statuses and killers %s' % got)
        check(doc['mutants'][1].get('reason') ==
              'at v == hi both versions return hi.',
              'the equivalent carries its reason')
        check(abs(doc['total']['kill_rate'] - 100.0 / 3) < 0.01
              and not doc['passed'], 'kill rate 1 of 3, not passed')
        check(digest(os.path.join(work, 'src', 'core', 'calc.c')) == before,
              'the copy is restored after the run')

        # 3. interrupt while a mutant is applied
        hold = os.path.join(work, 'hold')
        env = dict(os.environ, MUTATE_FIXTURE_HOLD=hold)
        p = subprocess.Popen(base + ['--sample', '1', '--seed', '1'],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env=env)
        lines = []
        t_end = time.monotonic() + 60
        # A run that prints nothing more is killed too (the loop below
        # only looks at the clock when a line arrives).
        killer = threading.Timer(60, p.kill)
        killer.start()
        for ln in p.stdout:
            lines.append(ln)
            if ln.startswith('ci/mutate: baseline green'):
                open(hold, 'w').close()
            if ln.startswith('mutant 1/1 applied'):
                applied = digest(os.path.join(work, 'src', 'core', 'calc.c'))
                check(applied != before, 'the mutant is in the copy')
                time.sleep(0.5)
                p.send_signal(signal.SIGINT)
            if time.monotonic() > t_end:
                p.kill()
                break
        rc = p.wait(timeout=30)
        killer.cancel()
        check(time.monotonic() <= t_end,
              'watchdog: the interrupted ci/mutate run ended within 60 s')
        print(''.join(lines))
        check(rc == 130, 'interrupted run exits 130 (got %d)' % rc)
        check(any('copy restored' in ln for ln in lines),
              'it says the copy is restored')
        check(digest(os.path.join(work, 'src', 'core', 'calc.c')) == before,
              'the copy holds the original file after the interrupt')
        check(digest(calc) == before, 'the fixture itself was never written')
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report()


def report():
    if FAILED:
        print('%d checks failed' % len(FAILED))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
