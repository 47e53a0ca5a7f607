#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check that every source file carries the project's SPDX line.

Scanned: core/, tests/, tools/, bench/, ci/, .ci/ and the top-level
meson.build and meson_options.txt.  A source file is a .c, .h, .py, .sh
file, a meson.build or meson_options.txt, or any text file starting with
"#!".  Binary and data files (corpora, captures, dictionaries) are not
source files.

The first line (the second when the first is a "#!" line) must be
exactly:
    /* SPDX-License-Identifier: GPL-2.0-or-later */   for .c and .h
    # SPDX-License-Identifier: GPL-2.0-or-later       for the others

Usage: check_spdx.py [ROOT]   (ROOT defaults to the repository root)
Exit status: 0 clean, 1 violations, 2 usage error.
"""

import os
import sys

LICENSE = 'GPL-2.0-or-later'
C_LINE = '/* SPDX-License-Identifier: %s */' % LICENSE
HASH_LINE = '# SPDX-License-Identifier: %s' % LICENSE
DIRS = ['core', 'tests', 'tools', 'bench', 'ci', '.ci']
TOP_FILES = ['meson.build', 'meson_options.txt']
C_EXT = ('.c', '.h')
HASH_EXT = ('.py', '.sh')
HASH_NAMES = ('meson.build', 'meson_options.txt')


def expected_line(path, head):
    """The SPDX line @path must carry, or None if it is not source."""
    name = os.path.basename(path)
    if name.endswith(C_EXT):
        return C_LINE
    if name.endswith(HASH_EXT) or name in HASH_NAMES:
        return HASH_LINE
    if head.startswith(b'#!'):
        return HASH_LINE
    return None


def check_file(root, path):
    """(is_source, error or None) for one file."""
    full = os.path.join(root, path)
    with open(full, 'rb') as fh:
        head = fh.read(4096)
    if b'\0' in head:
        return False, None
    want = expected_line(path, head)
    if want is None:
        return False, None
    lines = head.decode('utf-8', errors='replace').split('\n')
    idx = 1 if lines and lines[0].startswith('#!') else 0
    got = lines[idx].rstrip('\r') if idx < len(lines) else ''
    if got == want:
        return True, None
    return True, '%s:%d: expected "%s", found "%s"' % (path, idx + 1, want,
                                                 got[:60])


def source_files(root):
    for top in TOP_FILES:
        if os.path.isfile(os.path.join(root, top)):
            yield top
    for d in DIRS:
        base = os.path.join(root, d)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for f in sorted(filenames):
                full = os.path.join(dirpath, f)
                if os.path.isfile(full) and not os.path.islink(full):
                    yield os.path.relpath(full, root)


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith('-')):
        sys.stderr.write('usage: %s [ROOT]\n' % argv[0])
        return 2
    if len(argv) == 2:
        root = argv[1]
    else:
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            '..', '..', '..')
    root = os.path.abspath(root)
    checked = 0
    errors = []
    for path in source_files(root):
        is_source, err = check_file(root, path)
        checked += is_source
        if err is not None:
            errors.append(err)
    for e in errors:
        print(e)
    if errors:
        print('spdx: %d of %d source files lack the SPDX line'
              % (len(errors), checked))
        return 1
    print('spdx: %d source files carry "SPDX-License-Identifier: %s"'
          % (checked, LICENSE))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
