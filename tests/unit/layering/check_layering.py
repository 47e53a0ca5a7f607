#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check the include rule of core/.

core/<layer>/ may include only headers of its own layer or of a lower one,
in the order base < wire < chan < codec < ram < colo < recv < incoming.
Project headers are written "layer/file.h" (the include directory is
core/).  core/ never includes anything from tests/.

Violations reported (one line each, "path:line: ..."):
  - a header of a higher layer;
  - a header of an unknown layer, or a quoted header that does not exist;
  - a path that leaves core/ (e.g. "../../tests/support/support.h") or
    names a header that lives under tests/;
  - a computed include (#include MACRO), which cannot be checked;
  - a source file in core/ outside a known layer folder.

Usage: check_layering.py [ROOT]   (ROOT defaults to the repository root)
Exit status: 0 clean, 1 violations, 2 usage error.
"""

import os
import re
import sys

LAYERS = ['base', 'wire', 'chan', 'codec', 'ram', 'colo', 'recv', 'incoming']
RANK = {name: i for i, name in enumerate(LAYERS)}
SOURCE_EXT = ('.c', '.h')
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*(.*?)\s*$')


def strip_comments(text):
    """Blank out /* */ and // comments, keeping line numbers."""
    out = []
    i = 0
    n = len(text)
    in_str = None
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == '\\' and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == in_str or c == '\n':
                in_str = None
            i += 1
        elif c in '"\'':
            in_str = c
            out.append(c)
            i += 1
        elif text.startswith('/*', i):
            end = text.find('*/', i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:end]))
            i = end
        elif text.startswith('//', i):
            end = text.find('\n', i)
            end = n if end < 0 else end
            i = end
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def test_headers(root):
    """Relative paths and base names of every header under tests/."""
    paths, names = set(), set()
    tests = os.path.join(root, 'tests')
    for dirpath, dirnames, filenames in os.walk(tests):
        dirnames[:] = [d for d in dirnames if d != 'fixtures']
        for f in filenames:
            if f.endswith('.h'):
                rel = os.path.relpath(os.path.join(dirpath, f), root)
                paths.add(rel)
                names.add(f)
    return paths, names


def check_include(root, core, path, layer, target, quoted, tests_names):
    """Return an error string for one include, or None when allowed."""
    if '..' in target.split('/') or target.startswith('/'):
        here = os.path.dirname(os.path.join(root, path))
        resolved = os.path.normpath(os.path.join(here, target))
        rel = os.path.relpath(resolved, core)
        if rel.startswith('..'):
            return '"%s" leaves core/ (%s)' % (
                target, os.path.relpath(resolved, root))
        target = rel
    parts = target.split('/')
    if target.startswith('tests/') or 'tests' in parts[:-1]:
        return '"%s" is under tests/: core/ never includes tests/' % target
    if len(parts) >= 2 and parts[0] in RANK:
        dep = parts[0]
        if RANK[dep] > RANK[layer]:
            return ('"%s" is of layer %s, higher than %s (order: %s)'
                    % (target, dep, layer, ' < '.join(LAYERS)))
        if not os.path.isfile(os.path.join(core, target)):
            return '"%s" does not exist in core/' % target
        return None
    if not quoted:
        if os.path.basename(target) in tests_names:
            return '<%s> names a header of tests/' % target
        if len(parts) >= 2 and os.path.isdir(os.path.join(core, parts[0])):
            return '<%s> is of unknown layer %s' % (target, parts[0])
        return None  # system or library header
    if len(parts) >= 2:
        return '"%s" is of unknown layer %s (known: %s)' % (
            target, parts[0], ', '.join(LAYERS))
    # A bare quoted name: same folder only.
    if os.path.isfile(os.path.join(core, layer, target)):
        return None
    if target in tests_names:
        return '"%s" names a header of tests/' % target
    return '"%s" is not a header of layer %s; write "layer/file.h"' % (
        target, layer)


def check_tree(root):
    core = os.path.join(root, 'core')
    errors = []
    if not os.path.isdir(core):
        return ['%s: no core/ folder' % root]
    _, tests_names = test_headers(root)
    for dirpath, dirnames, filenames in os.walk(core):
        dirnames.sort()
        for f in sorted(filenames):
            if not f.endswith(SOURCE_EXT):
                continue
            full = os.path.join(dirpath, f)
            path = os.path.relpath(full, root)
            parts = os.path.relpath(full, core).split(os.sep)
            if len(parts) < 2 or parts[0] not in RANK:
                errors.append('%s:1: not in a known layer folder (%s)'
                              % (path, ', '.join(LAYERS)))
                continue
            layer = parts[0]
            with open(full, encoding='utf-8', errors='replace') as fh:
                text = strip_comments(fh.read())
            for lineno, line in enumerate(text.split('\n'), 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                spec = m.group(1)
                if len(spec) >= 2 and spec[0] == '"' and '"' in spec[1:]:
                    target, quoted = spec[1:spec.index('"', 1)], True
                elif len(spec) >= 2 and spec[0] == '<' and '>' in spec:
                    target, quoted = spec[1:spec.index('>')], False
                else:
                    errors.append('%s:%d: computed include "%s" cannot be '
                                  'checked' % (path, lineno, spec))
                    continue
                err = check_include(root, core, path, layer, target, quoted,
                                    tests_names)
                if err:
                    errors.append('%s:%d: layer %s includes %s'
                                  % (path, lineno, layer, err))
    return errors


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
    errors = check_tree(root)
    for e in errors:
        print(e)
    nfiles = sum(len([f for f in fs if f.endswith(SOURCE_EXT)])
                 for _, _, fs in os.walk(os.path.join(root, 'core')))
    if errors:
        print('layering: %d violation(s) in %d files of %s/core'
              % (len(errors), nfiles, root))
        return 1
    print('layering: %d files of %s/core clean' % (nfiles, root))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
