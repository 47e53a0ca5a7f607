#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check that core/ holds no mutable static or global state.

Reads the symbol tables of the given static libraries or object files
(nm -f sysv, so every symbol comes with its section) and reports each
defined data symbol in a writable section: .data, .bss and their
.data.* / .bss.* variants (file statics, function statics and globals
alike), COMMON, and the thread-local .tdata / .tbss.  Read-only data is
fine: .rodata*, and .data.rel.ro* (constant tables of pointers, which a
position-independent build relocates once at load time).

Symbols whose names start with "__" or ".L" are the compiler's (gcov and
profile counters, sanitizer metadata); C reserves such names, so core/
never defines one.

Usage: check_globals.py [--nm NM] FILE...
Exit status: 0 clean, 1 mutable state found, 2 usage or nm error.
"""

import re
import subprocess
import sys

WRITABLE = re.compile(r'^(\.data|\.bss|\.tdata|\.tbss)(\..*)?$')
READ_ONLY = re.compile(r'^\.data\.rel\.ro(\..*)?$')
MEMBER = re.compile(r'^Symbols from (.*?)(\[(.*)\])?:$')


def writable(section):
    if section in ('*COM*', 'COMMON'):
        return True
    return bool(WRITABLE.match(section)) and not READ_ONLY.match(section)


def scan(nm, path):
    """(reports, symbols seen) for one file; raises OSError/ValueError."""
    # nm takes well under a second; a hung nm fails in 20 s, named.
    p = subprocess.run([nm, '-f', 'sysv', '--defined-only', path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=20)
    if p.returncode != 0:
        raise ValueError('%s: nm failed: %s' % (path, p.stderr.strip()))
    reports = []
    seen = 0
    member = path
    for line in p.stdout.splitlines():
        m = MEMBER.match(line.strip())
        if m:
            member = m.group(3) or m.group(1)
            continue
        fields = [f.strip() for f in line.split('|')]
        if len(fields) < 7 or not fields[1]:
            continue
        name, section = fields[0], fields[6]
        seen += 1
        if name.startswith(('__', '.L')) or not writable(section):
            continue
        reports.append('%s: %s in %s: mutable static or global state'
                       % (member, name, section))
    return reports, seen


def main(argv):
    args = argv[1:]
    nm = 'nm'
    if len(args) >= 2 and args[0] == '--nm':
        nm, args = args[1], args[2:]
    if not args or any(a.startswith('-') for a in args):
        sys.stderr.write('usage: %s [--nm NM] FILE...\n' % argv[0])
        return 2
    reports = []
    seen = 0
    for path in args:
        try:
            r, n = scan(nm, path)
        except (OSError, ValueError) as e:
            sys.stderr.write('check_globals: %s\n' % e)
            return 2
        except subprocess.TimeoutExpired as e:
            sys.stderr.write('watchdog: %s: still waiting after %d s\n'
                             % (' '.join(e.cmd), e.timeout))
            return 2
        reports.extend(r)
        seen += n
    for r in reports:
        print(r)
    if seen == 0:
        # An empty symbol table proves nothing (wrong file, stripped).
        print('globals: no symbols in %s' % ' '.join(args))
        return 1
    if reports:
        print('globals: %d mutable symbol(s) among %d' % (len(reports), seen))
        return 1
    print('globals: %d symbols, none mutable' % seen)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
