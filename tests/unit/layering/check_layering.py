#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check the include rule of core/ against the layer graph.

The graph is core/layers.txt (format in that file): for each layer, the
layers it may include, and names its code must never contain.
core/<layer>/ may include only headers of its own layer or of a layer its
line names.  Project headers are written "layer/file.h" (the include
directory is core/).  core/ never includes anything from tests/.

Violations reported (one line each, "path:line: ..."):
  - a header of a higher layer, or of a lower layer the graph does not
    give this layer;
  - a header of an unknown layer, or a quoted header that does not exist;
  - a path that leaves core/ (e.g. "../../tests/support/support.h") or
    names a header that lives under tests/;
  - a computed include (#include MACRO), which cannot be checked;
  - a source file in core/ outside a known layer folder;
  - a name the graph forbids in a layer ("recv never: colo_cache");
  - a malformed graph (unknown layer, a layer named before it is listed,
    a duplicate line);
  - docs/design.md's copy of the graph differing from the file (checked
    when ROOT/docs/design.md exists and the graph is ROOT's own).

Usage: check_layering.py [--graph FILE] [ROOT]
  ROOT defaults to the repository root, FILE to ROOT/core/layers.txt.
Exit status: 0 clean, 1 violations, 2 usage error.
"""

import os
import re
import sys

SOURCE_EXT = ('.c', '.h')
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*(.*?)\s*$')
GRAPH_RE = re.compile(r'^([a-z][a-z0-9_]*)( never)?:(.*)$')
DESIGN_MARK = '<!-- core/layers.txt -->'


class Graph:
    """The layer graph of core/layers.txt."""

    def __init__(self, shown):
        self.shown = shown  # the file's name in reports
        self.layers = []   # bottom-up
        self.rank = {}
        self.deps = {}     # layer -> set of layers it may include
        self.never = {}    # layer -> [(name, regex, line)]
        self.rules = []    # the rule lines, as written
        self.errors = []


def name_regex(name):
    """A forbidden name as a regex: whole word; "_" at the end: prefix."""
    pat = re.escape(name).replace(re.escape('->'), r'->\s*')
    if re.match(r'\w', name):
        pat = r'(?<!\w)' + pat
    if re.search(r'[A-Za-z0-9]$', name):
        pat += r'(?!\w)'
    return re.compile(pat)


def load_graph(path, shown):
    """Parse the graph file at @path (@shown: its name in reports)."""
    g = Graph(shown)
    try:
        with open(path, encoding='utf-8') as fh:
            lines = fh.read().split('\n')
    except OSError as e:
        g.errors.append('%s:1: cannot read the layer graph (%s)'
                        % (shown, e.strerror))
        return g
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        g.rules.append(' '.join(line.split()))
        m = GRAPH_RE.match(line)
        if not m:
            g.errors.append('%s:%d: not "LAYER: LAYERS" nor "LAYER never: '
                            'NAMES": "%s"' % (shown, lineno, line))
            continue
        layer, never, rest = m.group(1), m.group(2), m.group(3).split()
        if never:
            if layer not in g.rank:
                g.errors.append('%s:%d: "never" for unknown layer %s'
                                % (shown, lineno, layer))
                continue
            g.never.setdefault(layer, []).extend(
                (n, name_regex(n), lineno) for n in rest)
            continue
        if layer in g.rank:
            g.errors.append('%s:%d: layer %s listed twice'
                            % (shown, lineno, layer))
            continue
        for dep in rest:
            if dep not in g.rank:
                g.errors.append('%s:%d: layer %s names %s, which is not '
                                'listed above it' % (shown, lineno, layer,
                                                     dep))
        g.rank[layer] = len(g.layers)
        g.layers.append(layer)
        g.deps[layer] = set(d for d in rest if d in g.rank)
    if not g.layers and not g.errors:
        g.errors.append('%s:1: no layer listed' % shown)
    return g


def check_design(root, graph):
    """Errors when docs/design.md's copy of the graph differs."""
    path = os.path.join(root, 'docs', 'design.md')
    shown = 'docs/design.md'
    with open(path, encoding='utf-8') as fh:
        lines = fh.read().split('\n')
    for i, line in enumerate(lines):
        if line.strip() == DESIGN_MARK:
            break
    else:
        return ['%s:1: no copy of core/layers.txt (a fenced block after '
                'the line "%s")' % (shown, DESIGN_MARK)]
    j = i + 1
    while j < len(lines) and not lines[j].strip():
        j += 1
    if j >= len(lines) or not lines[j].startswith('```'):
        return ['%s:%d: a fenced block must follow "%s"'
                % (shown, i + 1, DESIGN_MARK)]
    start = j + 1
    end = start
    while end < len(lines) and not lines[end].startswith('```'):
        end += 1
    shown_rules = [' '.join(l.split()) for l in lines[start:end]
                   if l.strip() and not l.strip().startswith('#')]
    if shown_rules != graph.rules:
        for k, (a, b) in enumerate(zip(shown_rules, graph.rules)):
            if a != b:
                break
        else:
            k = min(len(shown_rules), len(graph.rules))
        return ['%s:%d: the layer graph differs from core/layers.txt '
                '(rule %d: "%s" here, "%s" there)'
                % (shown, start + 1, k + 1,
                   shown_rules[k] if k < len(shown_rules) else '(none)',
                   graph.rules[k] if k < len(graph.rules) else '(none)')]
    return []


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


def check_include(root, core, graph, path, layer, target, quoted,
                  tests_names):
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
    if len(parts) >= 2 and parts[0] in graph.rank:
        dep = parts[0]
        if graph.rank[dep] > graph.rank[layer]:
            return ('"%s" is of layer %s, higher than %s (order: %s)'
                    % (target, dep, layer, ' < '.join(graph.layers)))
        if dep != layer and dep not in graph.deps[layer]:
            return ('"%s" is of layer %s, which %s may not include (%s: %s; '
                    '%s)'
                    % (target, dep, layer, layer,
                       ' '.join(d for d in graph.layers
                                if d in graph.deps[layer]) or 'nothing',
                       graph.shown))
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
            target, parts[0], ', '.join(graph.layers))
    # A bare quoted name: same folder only.
    if os.path.isfile(os.path.join(core, layer, target)):
        return None
    if target in tests_names:
        return '"%s" names a header of tests/' % target
    return '"%s" is not a header of layer %s; write "layer/file.h"' % (
        target, layer)


def check_names(graph, path, layer, lineno, line):
    """Errors for the names @layer must never contain, on one line."""
    errors = []
    for name, regex, gline in graph.never.get(layer, []):
        if regex.search(line):
            errors.append('%s:%d: layer %s names "%s", which it never may '
                          '(%s:%d: %s never: %s)'
                          % (path, lineno, layer, name, graph.shown, gline,
                             layer,
                             ' '.join(n for n, _, _ in graph.never[layer])))
    return errors


def check_tree(root, graph_path=None):
    core = os.path.join(root, 'core')
    own_graph = graph_path is None
    if own_graph:
        graph_path = os.path.join(core, 'layers.txt')
        shown = 'core/layers.txt'
    else:
        shown = os.path.basename(graph_path)
    if not os.path.isdir(core):
        return ['%s: no core/ folder' % root]
    graph = load_graph(graph_path, shown)
    errors = list(graph.errors)
    if errors:
        return errors
    if own_graph and os.path.isfile(os.path.join(root, 'docs', 'design.md')):
        errors.extend(check_design(root, graph))
    _, tests_names = test_headers(root)
    for dirpath, dirnames, filenames in os.walk(core):
        dirnames.sort()
        for f in sorted(filenames):
            if not f.endswith(SOURCE_EXT):
                continue
            full = os.path.join(dirpath, f)
            path = os.path.relpath(full, root)
            parts = os.path.relpath(full, core).split(os.sep)
            if len(parts) < 2 or parts[0] not in graph.rank:
                errors.append('%s:1: not in a known layer folder (%s)'
                              % (path, ', '.join(graph.layers)))
                continue
            layer = parts[0]
            with open(full, encoding='utf-8', errors='replace') as fh:
                text = strip_comments(fh.read())
            for lineno, line in enumerate(text.split('\n'), 1):
                errors.extend(check_names(graph, path, layer, lineno, line))
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
                err = check_include(root, core, graph, path, layer, target,
                                    quoted, tests_names)
                if err:
                    errors.append('%s:%d: layer %s includes %s'
                                  % (path, lineno, layer, err))
    return errors


def main(argv):
    args = argv[1:]
    graph = None
    if len(args) >= 2 and args[0] == '--graph':
        graph = os.path.abspath(args[1])
        args = args[2:]
    if len(args) > 1 or (args and args[0].startswith('-')):
        sys.stderr.write('usage: %s [--graph FILE] [ROOT]\n' % argv[0])
        return 2
    if args:
        root = args[0]
    else:
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            '..', '..', '..')
    root = os.path.abspath(root)
    errors = check_tree(root, graph)
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
