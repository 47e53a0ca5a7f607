#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Negative tests of check_layering.py, check_spdx.py, check_globals.py
check_doclinks.py and check_test_bounds.py.

A checker that always passes proves nothing, so this runs each one on
planted violations and requires it to fail with exactly the expected
reports (file and line), and to pass on a clean tree.  Layering uses the
fixture trees in fixtures/, checked against the repository's own graph
(core/layers.txt: the planted ram -> chan and colo -> codec includes are
refused by the real graph, not by a copy); a malformed graph is
fixtures/badgraph/layers.txt; design.md's copy of the graph and the SPDX
cases are built in a temporary folder (a file without the SPDX line
cannot live in the repository, whose own SPDX check would flag it).
check_globals.py runs on two fixture libraries meson builds from
fixtures/globals/: one with every kind of mutable state, one with only
constant data.

Usage: test_checkers.py --nm NM --globals MUTABLE.a CONSTANT.a
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, 'fixtures')
LAYERING = os.path.join(HERE, 'check_layering.py')
DOCLINKS = os.path.join(HERE, 'check_doclinks.py')
GRAPH = os.path.join(HERE, '..', '..', '..', 'core', 'layers.txt')
SPDX = os.path.join(HERE, 'check_spdx.py')
GLOBALS = os.path.join(HERE, 'check_globals.py')
BOUNDS = os.path.join(HERE, 'check_test_bounds.py')
C_SPDX = '/* SPDX-License-Identifier: GPL-2.0-or-later */\n'
HASH_SPDX = '# SPDX-License-Identifier: GPL-2.0-or-later\n'

failures = []


def run(script, root, opts):
    # Each checker run takes under a second; a hung one fails in 20 s.
    cmd = [sys.executable, script] + opts + [root]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True,
                           timeout=20)
    except subprocess.TimeoutExpired as e:
        return -1, 'watchdog: %s: still waiting after %d s\n' % (
            ' '.join(cmd), e.timeout)
    return p.returncode, p.stdout


def expect(name, script, root, want_rc, want_prefixes, opts=None):
    """Run @script on @root; require exit @want_rc and exactly one report
    line starting with each of @want_prefixes, and no other report."""
    if opts is None:
        opts = ['--graph', GRAPH] if script == LAYERING else []
    rc, out = run(script, root, opts)
    reports = [l for l in out.splitlines() if l.startswith(('core/', 'tests/',
               'ci/', 'meson', 'tools/', 'bench/', '.ci/', 'docs/',
               'README.md',
               'layers.txt'))]
    problems = []
    if rc != want_rc:
        problems.append('exit %d, expected %d' % (rc, want_rc))
    for prefix in want_prefixes:
        hits = [l for l in reports if l.startswith(prefix)]
        if len(hits) != 1:
            problems.append('%d reports start with "%s", expected 1'
                            % (len(hits), prefix))
    extra = [l for l in reports
             if not any(l.startswith(p) for p in want_prefixes)]
    if extra:
        problems.append('unexpected reports: %s' % extra)
    if problems:
        failures.append(name)
        print('FAIL %s: %s\n--- output:\n%s---' % (name, '; '.join(problems),
                                                   out))
    else:
        print('ok   %s' % name)


def fixture(name):
    return os.path.join(FIXTURES, name)


def layering_cases():
    expect('layering accepts own and lower layers', LAYERING,
           fixture('good'), 0, [])
    expect('layering rejects a higher layer', LAYERING, fixture('upward'), 1,
           ['core/wire/fxw.c:5: layer wire includes "ram/fxr.h" is of layer '
            'ram, higher than wire'])
    expect('layering rejects unknown layers and headers', LAYERING,
           fixture('unknown'), 1,
           ['core/misc/fxm.c:1: not in a known layer folder',
            'core/wire/fxw.c:4: layer wire includes "foo/foo.h" is of '
            'unknown layer foo',
            'core/wire/fxw.c:5: layer wire includes "base/nothere.h" does '
            'not exist',
            'core/wire/fxw.c:7: computed include',
            'core/wire/fxw.c:8: layer wire includes "nosuch.h" is not a '
            'header of layer wire'])
    expect('layering rejects tests/', LAYERING, fixture('from-tests'), 1,
           ['core/base/fx.c:3: layer base includes "../../tests/support/'
            'fake.h" leaves core/',
            'core/base/fx.c:4: layer base includes <fake.h> names a header '
            'of tests/',
            'core/base/fx.c:5: layer base includes "tests/support/fake.h" '
            'is under tests/'])
    expect('layering follows the graph, not the order', LAYERING,
           fixture('graph'), 1,
           ['core/ram/fxr.c:4: layer ram includes "chan/fxc.h" is of layer '
            'chan, which ram may not include (ram: base;',
            'core/colo/fxo.c:4: layer colo includes "codec/fxk.h" is of '
            'layer codec, which colo may not include (colo: base ram;',
            'core/colo/fxo.c:5: layer colo includes "chan/fxc.h" is of '
            'layer chan, which colo may not include'])
    expect('layering keeps page placement in colo', LAYERING,
           fixture('placement'), 1,
           ['core/recv/fxv.c:7: layer recv names "->host", which it never '
            'may (layers.txt:',
            'core/recv/fxv.c:8: layer recv names "->host"',
            'core/recv/fxv.c:9: layer recv names "colo_cache"',
            'core/recv/fxv.c:10: layer recv names "COLO_ERR_"',
            'core/incoming/fxi.c:6: layer incoming names "COLO_ERR_"'])
    expect('layering rejects a malformed graph', LAYERING, fixture('good'), 1,
           ['layers.txt:3: layer wire names chan, which is not listed above',
            'layers.txt:5: layer base listed twice',
            'layers.txt:6: not "LAYER: LAYERS"',
            'layers.txt:7: "never" for unknown layer misc',
            'layers.txt:8: layer chan listed twice'],
           ['--graph', os.path.join(FIXTURES, 'badgraph', 'layers.txt')])
    design_cases()


def design_cases():
    """ROOT's own graph: docs/design.md must show it unchanged."""
    with open(GRAPH) as fh:
        graph = fh.read()
    rules = [l for l in graph.split('\n')
             if l.strip() and not l.startswith('#')]
    with tempfile.TemporaryDirectory() as root:
        shutil.copytree(os.path.join(fixture('good'), 'core'),
                        os.path.join(root, 'core'))
        write(root, 'core/layers.txt', graph)
        expect('layering reads ROOT/core/layers.txt', LAYERING, root, 0, [],
               [])
        design = ('# design\n\ntext\n\n<!-- core/layers.txt -->\n```\n%s\n'
                  '```\n' % '\n'.join(rules))
        write(root, 'docs/design.md', design)
        expect('layering accepts design.md showing the graph', LAYERING,
               root, 0, [], [])
        write(root, 'docs/design.md',
              design.replace('colo: base ram', 'colo: base ram codec'))
        expect('layering rejects design.md drifting from the graph',
               LAYERING, root, 1,
               ['docs/design.md:7: the layer graph differs from '
                'core/layers.txt (rule 6: "colo: base ram codec" here, '
                '"colo: base ram" there)'], [])
        write(root, 'docs/design.md', design.replace(
            '<!-- core/layers.txt -->', ''))
        expect('layering rejects design.md without the graph', LAYERING,
               root, 1, ['docs/design.md:1: no copy of core/layers.txt'], [])
        # Spaces after "->" still name the field (not clang-format style,
        # so not a fixture file); a longer name does not.
        write(root, 'docs/design.md', design)
        write(root, 'core/recv/fxs.c', C_SPDX + '#include "base/fx.h"\n'
              'int fx_s(S *b)\n{\n    return *b-> host + b->host_owned;\n}\n')
        expect('layering sees "-> host" in recv', LAYERING, root, 1,
               ['core/recv/fxs.c:5: layer recv names "->host"'], [])


def write(root, path, text, mode=0o644):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'w') as fh:
        fh.write(text)
    os.chmod(full, mode)


def spdx_cases():
    with tempfile.TemporaryDirectory() as root:
        write(root, 'meson.build', HASH_SPDX + "project('x', 'c')\n")
        write(root, 'core/base/a.c', C_SPDX + 'int a;\n')
        write(root, 'ci/run', '#!/bin/sh\n' + HASH_SPDX + 'true\n', 0o755)
        write(root, 'tests/fuzz/corpus/seed', '\x11\x22\x00\x44')
        write(root, 'tests/fuzz/x.dict', 'kw="QEVM"\n')
        expect('spdx accepts a clean tree', SPDX, root, 0, [])
        write(root, 'core/base/b.c', 'int b;\n')
        write(root, 'core/base/c.h', '/* SPDX-License-Identifier: MIT */\n')
        write(root, 'ci/tool', '#!/bin/sh\ntrue\n', 0o755)
        write(root, 'tests/unit/t.py', '# no licence\n')
        write(root, 'tools/meson.build', '# x\n' + HASH_SPDX)
        expect('spdx rejects missing, wrong or misplaced lines', SPDX, root,
               1, ['core/base/b.c:1: expected', 'core/base/c.h:1: expected',
                   'ci/tool:2: expected', 'tests/unit/t.py:1: expected',
                   'tools/meson.build:1: expected'])


def globals_cases(nm, mutable, constant):
    """Every kind of mutable state reported, constant data accepted."""
    name = 'globals reports each mutable symbol'
    rc, out = run(GLOBALS, mutable, ['--nm', nm])
    found = {}
    for line in out.splitlines():
        m = re.match(r'^[^:]+: (\S+) in (\S+): mutable static or global '
                     r'state$', line)
        if m:
            found[re.sub(r'\.\d+$', '', m.group(1))] = m.group(2)
    want = {'fx_counter', 'fx_limit', 'fx_calls', 'fx_name', 'fx_per_thread',
            'fx_hits'}
    problems = []
    if rc != 1:
        problems.append('exit %d, expected 1' % rc)
    if set(found) != want:
        problems.append('reported %s, expected %s' % (sorted(found),
                                                      sorted(want)))
    if found.get('fx_counter') != '.bss' or \
            found.get('fx_per_thread') != '.tbss':
        problems.append('sections %s' % found)
    if problems:
        failures.append(name)
        print('FAIL %s: %s\n--- output:\n%s---' % (name, '; '.join(problems),
                                                   out))
    else:
        print('ok   %s' % name)
    name = 'globals accepts constant data'
    rc, out = run(GLOBALS, constant, ['--nm', nm])
    if rc != 0 or 'none mutable' not in out:
        failures.append(name)
        print('FAIL %s: exit %d\n--- output:\n%s---' % (name, rc, out))
    else:
        print('ok   %s' % name)


def doclinks_cases():
    # fixtures/doclinks: a missing page, a missing anchor, a {#id}
    # heading and a broken same-page link; the good links are not reported.
    expect('doclinks-planted', DOCLINKS, fixture('doclinks'), 1,
           ['README.md:5: docs/missing.md: no such file',
            'README.md:6: docs/page.md#renamed: no anchor "renamed" in '
            'docs/page.md',
            'docs/page.md:7: heading uses {#...}',
            'docs/page.md:9: #nowhere: no anchor "nowhere" in docs/page.md'])


def bounds_cases():
    """check_test_bounds.py on a planted introspection file: programs are
    files with an ELF magic, with or without the watchdog's marker."""
    elf = '\x7fELF'
    mark = 'mfcolo-process-watchdog-v1'
    with tempfile.TemporaryDirectory() as root:
        write(root, 'marked', elf + '..' + mark + '..')
        write(root, 'bare', elf + '....')
        write(root, 'script.py', HASH_SPDX)

        def t(name, prog, suite, timeout, bound=None):
            env = {'MALLOC_PERTURB_': '0'}
            if bound is not None:
                env['MFCOLO_TEST_BOUND_S'] = bound
            return {'name': name, 'cmd': [os.path.join(root, prog), 'arg'],
                    'suite': ['mfcolo:' + suite], 'timeout': timeout,
                    'env': env}

        good = [t('ok', 'marked', 'unit', 20, '15'),
                t('ok-full', 'marked', 'conformance-full', 600, '540'),
                t('qtest-bare', 'bare', 'qtest', 30),
                t('python', 'script.py', 'unit', 20),
                t('no-timeout', 'marked', 'faults', 0, '100')]
        write(root, 'good.json', json.dumps(good))
        expect('test-bounds accepts bounded programs', BOUNDS,
               os.path.join(root, 'good.json'), 0, [], [])
        bad = good + [t('unit-bare', 'bare', 'unit', 20, '10'),
                      t('conf-bare', 'bare', 'conformance-full', 20),
                      t('unset', 'marked', 'unit', 20),
                      t('word', 'marked', 'unit', 20, '10s'),
                      t('zero', 'marked', 'unit', 20, '0'),
                      t('close', 'marked', 'conformance', 20, '16'),
                      t('above', 'marked', 'qemu', 30, '40')]
        write(root, 'bad.json', json.dumps(bad))
        expect('test-bounds reports each unbounded test', BOUNDS,
               os.path.join(root, 'bad.json'), 1,
               ["meson test 'unit-bare' (%s/bare): the program is not "
                "linked with process_watchdog_dep" % root,
                "meson test 'conf-bare' (%s/bare): the program is not "
                "linked with process_watchdog_dep" % root,
                "meson test 'unset': MFCOLO_TEST_BOUND_S is not set: its "
                "program runs without the whole-process watchdog",
                "meson test 'word': MFCOLO_TEST_BOUND_S='10s' is not a "
                "number of seconds from 1 to 86400",
                "meson test 'zero': MFCOLO_TEST_BOUND_S='0' is not a "
                "number of seconds from 1 to 86400",
                "meson test 'close': MFCOLO_TEST_BOUND_S=16 is not at least "
                "5 s below its meson timeout of 20 s",
                "meson test 'above': MFCOLO_TEST_BOUND_S=40 is not at least "
                "5 s below its meson timeout of 30 s"], [])


def main(argv):
    args = argv[1:]
    if len(args) != 5 or args[0] != '--nm' or args[2] != '--globals':
        sys.stderr.write('usage: %s --nm NM --globals MUTABLE.a CONSTANT.a\n'
                         % argv[0])
        return 2
    layering_cases()
    spdx_cases()
    globals_cases(args[1], args[3], args[4])
    doclinks_cases()
    bounds_cases()
    if failures:
        print('%d checker self-test(s) failed' % len(failures))
        return 1
    print('all checker self-tests passed')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
