#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check that the repository's cross-references resolve.

Two kinds of reference are checked:
  - Markdown links in README.md and docs/**/*.md: [text](TARGET) where
    TARGET is a relative path (to a file or folder that must exist),
    optionally with #FRAGMENT, or a bare #FRAGMENT into the same page;
  - citations in source files (core/, tests/, tools/, bench/, ci/;
    not this checker's folder, whose self-test names broken links):
    the text docs/<page>.md, optionally with #FRAGMENT.

A fragment must name an anchor of the target page: an explicit
<a id="FRAGMENT"></a>, or a heading's slug as GitHub computes it
(lower case, punctuation other than '-' and '_' dropped, spaces to '-',
repeated slugs numbered -1, -2, ...).  "{#id}" after a heading is not
an anchor on GitHub and is reported.

Usage: check_doclinks.py [ROOT]   (ROOT defaults to the repository root)
Exit status: 0 clean, 1 broken references, 2 usage error.
"""

import os
import re
import sys

SRC_DIRS = ['core', 'tests', 'tools', 'bench', 'ci']
SRC_EXT = ('.c', '.h', '.py', '.sh', '.build', '.txt')
SELF_DIR = os.path.join('tests', 'unit', 'layering')  # names planted links
MD_LINK = re.compile(r'(?<!\!)\[[^\]]*\]\(([^)\s]+)\)')
CITATION = re.compile(r'docs/([A-Za-z0-9_./-]+\.md)(#[A-Za-z0-9_-]+)?')
EXPLICIT = re.compile(r'<a id="([^"]+)"></a>')
HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')
BRACE_ID = re.compile(r'\{#[^}]*\}\s*$')


def github_slug(text):
    """The anchor GitHub gives a heading with @text."""
    text = re.sub(r'`([^`]*)`', r'\1', text)
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', text)
    slug = []
    for ch in text.strip().lower():
        if ch.isalnum() or ch in '-_':
            slug.append(ch)
        elif ch == ' ':
            slug.append('-')
    return ''.join(slug)


def page_anchors(path, problems):
    """The set of anchors of the Markdown page @path."""
    anchors = set()
    seen = {}
    in_code = False
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if line.startswith('```'):
                in_code = not in_code
                continue
            if in_code:
                continue
            anchors.update(EXPLICIT.findall(line))
            m = HEADING.match(line)
            if not m:
                continue
            if BRACE_ID.search(m.group(2)):
                problems.append('%s:%d: heading uses {#...}, which GitHub '
                                'does not render as an anchor' % (path, n))
            slug = github_slug(m.group(2))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else '%s-%d' % (slug, count))
    return anchors


class Resolver:
    """Anchors per page, read once."""

    def __init__(self, problems):
        self.cache = {}
        self.problems = problems

    def anchors(self, path):
        if path not in self.cache:
            self.cache[path] = page_anchors(path, self.problems)
        return self.cache[path]


def check_target(resolver, where, page, target, problems):
    """Check @target, written in @page (a path), reported at @where."""
    path, _, frag = target.partition('#')
    if path:
        full = os.path.normpath(os.path.join(os.path.dirname(page), path))
    else:
        full = page
    if not os.path.exists(full):
        problems.append('%s: %s: no such file' % (where, target))
        return
    if frag and full.endswith('.md'):
        if frag not in resolver.anchors(full):
            problems.append('%s: %s: no anchor "%s" in %s'
                            % (where, target, frag, full))


def markdown_pages(root):
    pages = [os.path.join(root, 'README.md')]
    for d, _, files in os.walk(os.path.join(root, 'docs')):
        pages += [os.path.join(d, f) for f in files if f.endswith('.md')]
    return sorted(p for p in pages if os.path.exists(p))


def source_files(root):
    for top in SRC_DIRS:
        for d, dirs, files in os.walk(os.path.join(root, top)):
            if os.path.relpath(d, root) == SELF_DIR:
                dirs[:] = []
                continue
            dirs[:] = [x for x in dirs if x not in ('fixtures', 'corpus')]
            for f in sorted(files):
                if f.endswith(SRC_EXT):
                    yield os.path.join(d, f)


def check(root):
    problems = []
    resolver = Resolver(problems)
    nrefs = 0
    for page in markdown_pages(root):
        resolver.anchors(page)
        in_code = False
        with open(page, encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                if line.startswith('```'):
                    in_code = not in_code
                    continue
                if in_code:
                    continue
                for target in MD_LINK.findall(line):
                    if re.match(r'[a-z]+:', target):
                        continue
                    nrefs += 1
                    check_target(resolver, '%s:%d' % (page, n), page,
                                 target, problems)
    for src in source_files(root):
        try:
            with open(src, encoding='utf-8') as f:
                lines = f.readlines()
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(lines, 1):
            for name, frag in CITATION.findall(line):
                nrefs += 1
                check_target(resolver, '%s:%d' % (src, n),
                             os.path.join(root, 'docs', 'x'),
                             name + frag, problems)
    return nrefs, sorted(set(problems))


def main(argv):
    if len(argv) > 2:
        sys.stderr.write(__doc__)
        return 2
    root = argv[1] if len(argv) == 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..', '..')
    root = os.path.abspath(root)
    if not os.path.isdir(os.path.join(root, 'docs')):
        sys.stderr.write('doclinks: %s has no docs/ folder\n' % root)
        return 2
    nrefs, problems = check(root)
    for p in problems:
        print(p.replace(root + os.sep, ''))
    print('doclinks: %d of %d references broken' % (len(problems), nrefs))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
