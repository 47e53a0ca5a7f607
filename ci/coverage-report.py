#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Per-layer coverage of core/ from a gcovr --json-summary file.

Usage: coverage-report.py SUMMARY.json ROOT "layer:lines:branches ..."

Prints one row per core/ layer (lines and branches covered, percentages,
floor, verdict) and a last line
    coverage: PASS|FAIL core lines L% branches B% [below floor: ...]
Layers in the floor list are checked once core/<layer>/ has a .c file: a
checked layer fails when under a floor or when gcovr saw none of its
code.  Exit status 0 when every checked layer meets its floors.
"""

import json
import os
import sys

LAYERS = ['base', 'wire', 'chan', 'codec', 'ram', 'colo', 'recv', 'incoming']


def pct(covered, total):
    return 100.0 * covered / total if total else 0.0


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1]) as fh:
        summary = json.load(fh)
    root = argv[2]
    floors = {}
    for item in argv[3].split():
        name, lines, branches = item.split(':')
        floors[name] = (float(lines), float(branches))

    sums = {l: [0, 0, 0, 0] for l in LAYERS}
    for f in summary['files']:
        parts = f['filename'].replace(os.sep, '/').split('/')
        if len(parts) < 3 or parts[0] != 'core' or parts[1] not in sums:
            continue
        s = sums[parts[1]]
        s[0] += f['line_covered']
        s[1] += f['line_total']
        s[2] += f['branch_covered']
        s[3] += f['branch_total']

    failed = []
    print('%-9s %15s %8s %15s %8s %11s  %s' % (
        'layer', 'lines', '%', 'branches', '%', 'floor', 'verdict'))
    tot = [0, 0, 0, 0]
    for layer in LAYERS:
        lc, lt, bc, bt = sums[layer]
        tot = [a + b for a, b in zip(tot, sums[layer])]
        ldir = os.path.join(root, 'core', layer)
        has_c = os.path.isdir(ldir) and any(
            n.endswith('.c') for n in os.listdir(ldir))
        floor = floors.get(layer)
        if floor is None:
            verdict, floor_s = 'info', '-'
        else:
            floor_s = '%g/%g' % floor
            if not has_c:
                verdict = 'no sources'
            elif lt == 0:
                verdict = 'FAIL (no data)'
                failed.append(layer)
            elif pct(lc, lt) < floor[0] or pct(bc, bt) < floor[1]:
                verdict = 'FAIL'
                failed.append(layer)
            else:
                verdict = 'PASS'
        print('%-9s %7d/%-7d %7.1f%% %7d/%-7d %7.1f%% %11s  %s' % (
            layer, lc, lt, pct(lc, lt), bc, bt, pct(bc, bt), floor_s,
            verdict))
    print('%-9s %7d/%-7d %7.1f%% %7d/%-7d %7.1f%%' % (
        'core', tot[0], tot[1], pct(tot[0], tot[1]), tot[2], tot[3],
        pct(tot[2], tot[3])))
    line = 'coverage: %s core lines %.1f%% branches %.1f%%' % (
        'FAIL' if failed else 'PASS', pct(tot[0], tot[1]),
        pct(tot[2], tot[3]))
    if failed:
        line += ' [below floor: %s]' % ', '.join(
            '%s %.1f/%.1f' % (l, pct(sums[l][0], sums[l][1]),
                              pct(sums[l][2], sums[l][3])) for l in failed)
    print(line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
