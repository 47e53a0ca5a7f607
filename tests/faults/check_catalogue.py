#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Every fault point of core/ is in the catalogue and in docs/faults.md.

Usage: check_catalogue.py SOURCE_ROOT

Collects the point names core/ passes to mf_fault(), mf_alloc() and
mf_bitmap_new() (string literals "mfcolo/<layer>/<what>" in .c files),
the names of tests/faults/catalogue.c and those of the table in
docs/faults.md, and fails listing any name missing from one of them.
"""
import pathlib
import re
import sys

POINT = re.compile(r'"(mfcolo/[a-z0-9-]+/[a-z0-9-]+)"')
# A fault point is the first argument of mf_fault, mf_alloc and
# mf_bitmap_new, the second (after the allocator) of their *_in/_raw forms.
CALL = re.compile(r'\b(?:mf_fault|mf_alloc|mf_bitmap_new)\s*\(\s*'
                  r'"(mfcolo/[^"]+)"'
                  r'|\b(?:mf_alloc_in|mf_alloc_raw|mf_bitmap_new_in)\s*\('
                  r'\s*[^,()]+,\s*"(mfcolo/[^"]+)"')


def core_points(root):
    names = set()
    for path in sorted((root / 'core').rglob('*.c')):
        text = path.read_text()
        names.update(m.group(1) or m.group(2) for m in CALL.finditer(text))
    return names


def catalogue_points(root):
    text = (root / 'tests/faults/catalogue.c').read_text()
    return set(POINT.findall(text))


def doc_points(root):
    names = set()
    for line in (root / 'docs/faults.md').read_text().splitlines():
        m = re.match(r'\|\s*`(mfcolo/[^`]+)`', line)
        if m:
            names.add(m.group(1))
    return names


def main():
    root = pathlib.Path(sys.argv[1])
    core = core_points(root)
    cat = catalogue_points(root)
    doc = doc_points(root)
    bad = False
    for what, have in (('tests/faults/catalogue.c', cat),
                       ('docs/faults.md', doc)):
        for name in sorted(core - have):
            print(f'{name}: in core/ but not in {what}')
            bad = True
        for name in sorted(have - core):
            print(f'{name}: in {what} but no longer in core/')
            bad = True
    if not core:
        print('no fault point found in core/ (pattern broken?)')
        bad = True
    print(f'{len(core)} points in core/, {len(cat)} catalogued, '
          f'{len(doc)} documented')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
